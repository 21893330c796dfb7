//! How long each kind of record is kept (DynamoDB's TTLs; the memory store expires the same
//! records at the same times against the injected clock, `MemoryStore::expire`), and the sort
//! keys both stores give held events.

use crate::event::InboundEvent;
use jiff::{SignedDuration, Timestamp};

/// Message claims are kept 400 days from the claim (a yearly message must still see last
/// year's claim); so are the owners of shipment ids.
pub const CLAIM_TTL: SignedDuration = SignedDuration::from_hours(400 * 24);
/// Frequency-cap ledger items outlive any cap window: 30 days from the claim.
pub const LEDGER_TTL: SignedDuration = SignedDuration::from_hours(30 * 24);
/// Carts are personal data: kept 30 days after their last update; so is the record that a cart
/// was bought, from the order.
pub const CART_TTL: SignedDuration = SignedDuration::from_hours(30 * 24);
/// Held events older than the orphan limit are useless: kept 2 days from their arrival (or their
/// time, when later).
pub const HELD_TTL: SignedDuration = SignedDuration::from_hours(2 * 24);
/// Soft bounces count over 7 days: kept 8.
pub const BOUNCE_TTL: SignedDuration = SignedDuration::from_hours(8 * 24);
/// The marker that an SES event (open, click) was counted: 30 days.
pub const MARKER_TTL: SignedDuration = SignedDuration::from_hours(30 * 24);
/// A follow-up is kept a week past its expiry.
pub const FOLLOW_UP_GRACE: SignedDuration = SignedDuration::from_hours(7 * 24);
/// An issued coupon is kept a year past its expiry (its order may name it).
pub const COUPON_GRACE: SignedDuration = SignedDuration::from_hours(365 * 24);
/// A tracking number's order and shipment are kept 180 days from the shipment (carriers report
/// for weeks; some reuse numbers after months).
pub const TRACKING_TTL: SignedDuration = SignedDuration::from_hours(180 * 24);
/// A day's count of sends (the send rate and the daily quota) is kept two days.
pub const SEND_DAY_TTL: SignedDuration = SignedDuration::from_hours(2 * 24);

/// The UTC day a send at `at` is counted in (the send rate's and the daily quota's counter).
pub fn send_day(at: Timestamp) -> jiff::civil::Date {
    jiff::tz::TimeZone::UTC.to_datetime(at).date()
}

/// When a held event that arrived at `now` expires.
pub fn held_until(event: &InboundEvent, now: Timestamp) -> Timestamp {
    event.time.max(now) + HELD_TTL
}

/// Fixed-width, lexicographically ordered instant (RFC 3339 text is not: fractions vary in length).
pub fn sortable(at: Timestamp) -> String {
    format!("{:012}.{:09}", at.as_second(), at.subsec_nanosecond())
}

/// A held event's id (DynamoDB's sort key): its time, then a digest of the event as stored
/// (`json`), so that held events list oldest first and the same event is held once.
pub fn held_event_id(time: Timestamp, json: &str) -> String {
    format!("HELD#{}#{}", sortable(time), crate::signing::digest_hex(&[json], 16))
}

#[cfg(test)]
mod tests {
    #[test]
    fn sortable_instants_order_as_text() {
        let a = super::sortable("2026-11-02T10:00:00.5Z".parse().expect("time"));
        let b = super::sortable("2026-11-02T10:00:00.25Z".parse().expect("time"));
        assert!(b < a, "{b} < {a}");
    }
}
