//! `welcome_offer`: a first-order coupon a couple of days after signup.

use super::{After, Due, Moment, Spec, Verdict, with_coupon};
use crate::engine::hours;
use crate::skip::SkipReason;

pub(super) const SPEC: Spec = Spec {
    trigger: "CustomerSignedUp (engine/profiles.rs)",
    timing: "[timing] welcome_offer_after_hours after the signup",
    exits,
    coupon: true,
    after: Some(After {
        moment: Moment::SignedUp,
        delay: |timing| hours(timing.welcome_offer_after_hours),
    }),
    ..Spec::PLAIN
};

fn exits(due: &Due<'_>) -> Verdict {
    if due.customer.orders_confirmed > 0 {
        return SkipReason::CustomerOrdered.into();
    }
    with_coupon(due)
}
