//! `birthday`: a gift on the day, every year.

use super::{Anchor, Spec, with_coupon};
use crate::domain::Customer;
use jiff::tz::TimeZone;

pub(super) const SPEC: Spec = Spec {
    trigger: "a customer with a birthday (engine/profiles.rs); each one schedules next year's (engine/schedule.rs)",
    timing: "[timing] occasion_hour local time on the day; dropped at local midnight",
    exits: with_coupon,
    occasion: Some(anchor),
    coupon: true,
    ..Spec::PLAIN
};

fn anchor(customer: &Customer, _: &TimeZone) -> Option<Anchor> {
    customer.birthday.map(|b| Anchor {
        month: b.month,
        day: b.day,
        first_year: None,
    })
}
