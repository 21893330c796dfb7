//! Yearly occasions: birthdays and signup anniversaries, at a fixed local hour on the day.

use super::kinds::{self, Anchor};
use crate::domain::Customer;
use crate::message::MessageKind;
use jiff::civil::Date;
use jiff::tz::TimeZone;
use jiff::{Timestamp, ToSpan};

/// One occurrence of an occasion.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Occurrence {
    /// The year it celebrates (part of the message key).
    pub year: i16,
    /// The local day.
    pub date: Date,
    /// When to send: the local hour on the day, or right away when that hour has passed.
    pub due: Timestamp,
    /// The end of the local day: dropped rather than sent late.
    pub expires: Timestamp,
}

/// `month`-`day` in `year`; 29 February falls on the 28th in common years.
pub fn day_in(year: i16, month: i8, day: i8) -> Option<Date> {
    Date::new(year, month, day)
        .ok()
        .or_else(|| (month == 2 && day == 29).then(|| Date::new(year, 2, 28).ok()).flatten())
}

/// The occurrence in `year`, if the customer has the occasion then.
pub fn in_year(kind: MessageKind, customer: &Customer, tz: &TimeZone, hour: i8, year: i16) -> Option<Occurrence> {
    let Anchor {
        month,
        day,
        first_year: first,
    } = (kinds::spec(kind).occasion?)(customer, tz)?;
    if first.is_some_and(|first| year < first) {
        return None;
    }
    let date = day_in(year, month, day)?;
    let due = date.at(hour, 0, 0, 0).to_zoned_datetime(tz.clone()).ok()?.timestamp();
    let expires = date
        .checked_add(1.day())
        .ok()?
        .to_zoned_datetime(tz.clone())
        .ok()?
        .timestamp();
    Some(Occurrence {
        year,
        date,
        due,
        expires,
    })
}

/// The next occurrence whose day has not ended by `now` (sent right away on the day itself).
pub fn next(kind: MessageKind, customer: &Customer, tz: &TimeZone, hour: i8, now: Timestamp) -> Option<Occurrence> {
    let this_year = now.to_zoned_datetime(tz.clone()).year();
    (this_year..=this_year.saturating_add(2))
        .filter_map(|year| in_year(kind, customer, tz, hour, year))
        .find(|o| o.expires > now)
        .map(|o| Occurrence {
            due: o.due.max(now),
            ..o
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Birthday;

    fn customer(birthday: Option<&str>, signed_up: Option<&str>) -> Customer {
        Customer {
            birthday: birthday.map(|b| Birthday::parse(b).expect("birthday")),
            signed_up_at: signed_up.map(|t| t.parse().expect("time")),
            marketing_consent: Some(true),
            ..Customer::bare("c-1", "a@example.com")
        }
    }

    fn seoul() -> TimeZone {
        TimeZone::get("Asia/Seoul").expect("zone")
    }

    fn at(raw: &str) -> Timestamp {
        raw.parse().expect("time")
    }

    #[test]
    fn a_birthday_is_due_at_nine_local_on_the_day() {
        let c = customer(Some("--12-10"), None);
        let next = next(MessageKind::Birthday, &c, &seoul(), 9, at("2026-11-20T00:00:00Z")).expect("next");
        assert_eq!(next.year, 2026);
        assert_eq!(next.due, at("2026-12-10T00:00:00Z"), "09:00 in Seoul");
        assert_eq!(next.expires, at("2026-12-10T15:00:00Z"), "midnight in Seoul");
    }

    #[test]
    fn a_birthday_that_passed_this_year_is_next_year() {
        let c = customer(Some("1990-03-01"), None);
        let next = next(MessageKind::Birthday, &c, &seoul(), 9, at("2026-11-20T00:00:00Z")).expect("next");
        assert_eq!(next.date, Date::new(2027, 3, 1).expect("date"));
    }

    #[test]
    fn the_twenty_ninth_of_february_is_celebrated_on_the_twenty_eighth_in_common_years() {
        let c = customer(Some("--02-29"), None);
        let tz = seoul();
        let common = in_year(MessageKind::Birthday, &c, &tz, 9, 2027).expect("2027");
        assert_eq!(common.date, Date::new(2027, 2, 28).expect("date"));
        let leap = in_year(MessageKind::Birthday, &c, &tz, 9, 2028).expect("2028");
        assert_eq!(leap.date, Date::new(2028, 2, 29).expect("date"));
    }

    #[test]
    fn on_the_day_itself_after_nine_it_is_due_right_away() {
        let c = customer(Some("--12-10"), None);
        let now = at("2026-12-10T05:00:00Z"); // 14:00 in Seoul
        let next = next(MessageKind::Birthday, &c, &seoul(), 9, now).expect("next");
        assert_eq!((next.year, next.due), (2026, now));
    }

    #[test]
    fn the_first_anniversary_is_a_year_after_signup_in_local_time() {
        // 23:30 UTC on 20 November is 21 November in Seoul.
        let c = customer(None, Some("2026-11-20T23:30:00Z"));
        let next = next(
            MessageKind::SignupAnniversary,
            &c,
            &seoul(),
            9,
            at("2026-11-21T00:00:00Z"),
        )
        .expect("next");
        assert_eq!(next.date, Date::new(2027, 11, 21).expect("date"));
        assert_eq!(in_year(MessageKind::SignupAnniversary, &c, &seoul(), 9, 2026), None);
    }

    #[test]
    fn customers_without_the_date_have_no_occasion() {
        let c = customer(None, None);
        let now = at("2026-11-20T00:00:00Z");
        assert_eq!(next(MessageKind::Birthday, &c, &seoul(), 9, now), None);
        assert_eq!(next(MessageKind::SignupAnniversary, &c, &seoul(), 9, now), None);
    }
}
