//! Quiet hours and the frequency cap: when a marketing message may go out (delay, don't drop).

use crate::config::MarketingRules;
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp};

/// The earliest instant at or after `at` that is outside quiet hours in `tz` and at least `window`
/// after the previous marketing send `last` (a send exactly `window` later is allowed).
pub fn next_slot(
    at: Timestamp,
    tz: &TimeZone,
    rules: &MarketingRules,
    last: Option<Timestamp>,
    window: SignedDuration,
) -> Timestamp {
    let mut slot = at;
    // Leaving quiet hours lands on their end, which the cap already allows: two rounds at most.
    loop {
        if let Some(last) = last {
            slot = slot.max(last + window);
        }
        let after_quiet = leave_quiet_hours(slot, tz, rules);
        if after_quiet == slot {
            return slot;
        }
        slot = after_quiet;
    }
}

/// `at` itself when it is outside [start, end) local time, else the next local `end:00`.
fn leave_quiet_hours(at: Timestamp, tz: &TimeZone, rules: &MarketingRules) -> Timestamp {
    let (start, end) = (rules.quiet_start_hour, rules.quiet_end_hour);
    if start == end {
        return at;
    }
    let local = at.to_zoned_datetime(tz.clone());
    let hour = local.hour();
    let wraps = start > end;
    let quiet = if wraps {
        hour >= start || hour < end
    } else {
        hour >= start && hour < end
    };
    if !quiet {
        return at;
    }
    let mut date = local.date();
    if wraps && hour >= start {
        date = date.tomorrow().unwrap_or(date);
    }
    // `to_zoned` resolves a DST gap or fold the compatible way (later instant in a gap).
    date.at(end, 0, 0, 0)
        .to_zoned_datetime(tz.clone())
        .map(|zoned| zoned.timestamp())
        .unwrap_or(at)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(text: &str) -> Timestamp {
        text.parse().expect("timestamp")
    }

    fn new_york() -> TimeZone {
        TimeZone::get("America/New_York").expect("zone")
    }

    const DAY: SignedDuration = SignedDuration::from_hours(24);

    #[test]
    fn nine_is_allowed_and_twenty_one_is_not() {
        let rules = MarketingRules::default();
        // 09:00 in New York (EST) is 14:00Z: allowed as is.
        assert_eq!(
            next_slot(ts("2026-11-02T14:00:00Z"), &new_york(), &rules, None, DAY),
            ts("2026-11-02T14:00:00Z")
        );
        // 21:00 local is quiet: moved to 09:00 the next morning.
        assert_eq!(
            next_slot(ts("2026-11-03T02:00:00Z"), &new_york(), &rules, None, DAY),
            ts("2026-11-03T14:00:00Z")
        );
        // 08:59 local waits a minute.
        assert_eq!(
            next_slot(ts("2026-11-02T13:59:00Z"), &new_york(), &rules, None, DAY),
            ts("2026-11-02T14:00:00Z")
        );
    }

    #[test]
    fn the_cap_moves_to_exactly_one_window_after_the_last_send() {
        let rules = MarketingRules::default();
        let last = ts("2026-11-02T14:00:00Z");
        assert_eq!(
            next_slot(ts("2026-11-02T15:20:00Z"), &new_york(), &rules, Some(last), DAY),
            ts("2026-11-03T14:00:00Z")
        );
        assert_eq!(
            next_slot(ts("2026-11-03T14:00:00Z"), &new_york(), &rules, Some(last), DAY),
            ts("2026-11-03T14:00:00Z")
        );
    }

    #[test]
    fn a_cap_slot_inside_quiet_hours_moves_on_to_the_morning() {
        let rules = MarketingRules::default();
        let london = TimeZone::get("Europe/London").expect("zone");
        // Last send at 21:30Z the day before: the cap frees 21:30 local, which is quiet → 09:00.
        let slot = next_slot(
            ts("2026-11-11T19:00:00Z"),
            &london,
            &rules,
            Some(ts("2026-11-10T21:30:00Z")),
            DAY,
        );
        assert_eq!(slot, ts("2026-11-12T09:00:00Z"));
    }

    #[test]
    fn quiet_hours_follow_daylight_saving_time() {
        let rules = MarketingRules::default();
        // Sat 2027-03-13 21:30 EST; clocks spring forward that night, so 09:00 Sunday is EDT = 13:00Z.
        assert_eq!(
            next_slot(ts("2027-03-14T02:30:00Z"), &new_york(), &rules, None, DAY),
            ts("2027-03-14T13:00:00Z")
        );
        // And fall back: Sat 2026-10-31 22:00 EDT; 09:00 Sunday is EST = 14:00Z.
        assert_eq!(
            next_slot(ts("2026-11-01T02:00:00Z"), &new_york(), &rules, None, DAY),
            ts("2026-11-01T14:00:00Z")
        );
    }
}
