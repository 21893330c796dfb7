//! `signup_anniversary`: a thank-you on the day the customer signed up, from the next year on.

use super::{Anchor, Content, Due, Spec, Verdict};
use crate::domain::Customer;
use crate::ports::Subject;
use jiff::tz::TimeZone;

pub(super) const SPEC: Spec = Spec {
    trigger: "CustomerSignedUp (engine/profiles.rs); each one schedules next year's (engine/schedule.rs)",
    timing: "[timing] occasion_hour local time on the day; dropped at local midnight",
    exits,
    occasion: Some(anchor),
    coupon: true,
    ..Spec::PLAIN
};

fn anchor(customer: &Customer, tz: &TimeZone) -> Option<Anchor> {
    let signup = customer.signed_up_at?.to_zoned_datetime(tz.clone()).date();
    Some(Anchor {
        month: signup.month(),
        day: signup.day(),
        first_year: Some(signup.year() + 1),
    })
}

/// Counts the years.
fn exits(due: &Due<'_>) -> Verdict {
    let profile = &due.customer.profile;
    let count = match due.subject {
        Subject::Occasion { year } => {
            let signed_up = profile.signed_up_at.map(|t| t.to_zoned_datetime(due.zone.clone()).year());
            signed_up.and_then(|first| u32::try_from(year - first).ok())
        }
        _ => None,
    };
    Verdict::Send(Content {
        coupon: Some(due.default_currency()),
        count,
        recommend: None,
    })
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{customer, verdict};
    use super::*;
    use crate::message::MessageKind;

    #[test]
    fn the_anniversary_counts_the_years_since_the_signup() {
        let c = customer("2024-03-05T10:00:00Z");
        let v = verdict(
            MessageKind::SignupAnniversary,
            &Subject::Occasion { year: 2026 },
            &c,
            &[],
            "2026-03-05T09:00:00Z",
        );
        assert!(matches!(v, Verdict::Send(content) if content.count == Some(2)));
    }
}
