//! `welcome`: hello at signup (after the confirmation, with double opt-in).

use super::Spec;

pub(super) const SPEC: Spec = Spec {
    trigger: "CustomerSignedUp (engine/profiles.rs), or the subscription confirmed (engine/consent.rs)",
    timing: "at once",
    ..Spec::PLAIN
};
