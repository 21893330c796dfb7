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

#[cfg(test)]
mod tests {
    use super::super::test_support::{customer, verdict};
    use super::*;
    use crate::message::MessageKind;
    use crate::ports::{CustomerRecord, Subject};

    #[test]
    fn the_offer_is_not_sent_after_a_first_order() {
        let mut c = customer("2026-01-01T00:00:00Z");
        let offer =
            |c: &CustomerRecord| verdict(MessageKind::WelcomeOffer, &Subject::Customer, c, &[], "2026-01-03T00:00:00Z");
        assert!(matches!(offer(&c), Verdict::Send(content) if content.coupon.is_some()));
        c.orders_confirmed = 1;
        assert!(matches!(offer(&c), Verdict::Skip(SkipReason::CustomerOrdered)));
    }
}
