//! `subscription_confirmation`: the double opt-in link (transactional: never a coupon).

use super::Spec;

pub(super) const SPEC: Spec = Spec {
    trigger: "CustomerSignedUp with [marketing] double_opt_in (engine/profiles.rs)",
    timing: "at once; the welcome follows the confirmation",
    confirms_subscription: true,
    ..Spec::PLAIN
};
