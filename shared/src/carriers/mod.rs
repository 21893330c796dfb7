//! Carrier tracking services (AfterShip, EasyPost), as their webhooks report a parcel's scans:
//! translated into `TrackingUpdated`, which the engine matches to the order by the tracking number.
//! Pure: the signature is checked before (crate::webhook). Each service's statuses map onto the
//! contract's by the table in docs/spec/events.md.

pub mod aftership;
pub mod easypost;

use crate::domain::ShipmentStatus;
use crate::event::Scanned;
use crate::webhook::Routed;
use jiff::Timestamp;
use serde_json::json;

/// One scan, in the terms of the contract.
struct Scan<'a> {
    service: &'static str,
    tracking_number: &'a str,
    status: Scanned,
    description: Option<String>,
    location: Option<String>,
    estimated_delivery: Option<jiff::civil::Date>,
    time: Option<Timestamp>,
}

impl Scan<'_> {
    fn routed(self) -> Routed {
        let detail = json!({
            "tracking_number": self.tracking_number,
            "status": self.status,
            "description": self.description,
            "location": self.location,
            "estimated_delivery": self.estimated_delivery,
            "service": self.service,
        });
        Routed::Events(vec![("TrackingUpdated", detail)], self.time)
    }
}

const fn status(status: ShipmentStatus) -> Result<Scanned, &'static str> {
    Ok(Scanned::Status(status))
}

/// A time as services write it: RFC 3339 with an offset (a time without one is the carrier's
/// local time, which says nothing exact: `None`).
fn instant(text: Option<&str>) -> Option<Timestamp> {
    text.map(str::trim).filter(|t| !t.is_empty())?.parse().ok()
}

/// The date of a `YYYY-MM-DD…` text (an estimated delivery, with or without a time).
fn date(text: Option<&str>) -> Option<jiff::civil::Date> {
    let text = text.map(str::trim)?;
    text.get(..10)?.parse().ok()
}

/// Places joined as a location (`ORLANDO, FL`), leaving out the blank ones.
fn place(parts: &[Option<&str>]) -> Option<String> {
    let parts: Vec<&str> = parts
        .iter()
        .flatten()
        .map(|p| p.trim())
        .filter(|p| !p.is_empty())
        .collect();
    (!parts.is_empty()).then(|| parts.join(", "))
}
