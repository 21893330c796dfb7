//! EasyPost's `tracker.updated` (and `tracker.created`) events: the tracker's `status` onto the
//! contract's, its latest tracking detail as the scan, `est_delivery_date` as the new estimate.

use super::{Scan, date, instant, place, status};
use crate::domain::ShipmentStatus;
use crate::event::{EventError, Scanned};
use crate::vendor::{at, error, given, list};
use crate::webhook::Routed;
use serde::Deserialize;

/// The header EasyPost signs each delivery in (`hmac-sha256-hex=<hex>`).
pub const SIGNATURE_HEADER: &str = "x-hmac-signature";

#[derive(Debug, Deserialize)]
struct Event {
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    result: Option<Tracker>,
}

#[derive(Debug, Deserialize)]
struct Tracker {
    #[serde(default)]
    tracking_code: Option<String>,
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    est_delivery_date: Option<String>,
    #[serde(default)]
    updated_at: Option<String>,
    #[serde(default, deserialize_with = "list")]
    tracking_details: Vec<Detail>,
}

#[derive(Debug, Deserialize)]
struct Detail {
    #[serde(default)]
    message: Option<String>,
    #[serde(default)]
    datetime: Option<String>,
    #[serde(default)]
    tracking_location: Option<Location>,
}

#[derive(Debug, Deserialize)]
struct Location {
    #[serde(default)]
    city: Option<String>,
    #[serde(default)]
    state: Option<String>,
    #[serde(default)]
    country: Option<String>,
}

fn scanned(status_: &str) -> Result<Scanned, &'static str> {
    match status_ {
        "in_transit" => status(ShipmentStatus::InTransit),
        "out_for_delivery" => status(ShipmentStatus::OutForDelivery),
        "available_for_pickup" => status(ShipmentStatus::AvailableForPickup),
        "delivered" => Ok(Scanned::Delivered),
        "return_to_sender" => status(ShipmentStatus::ReturnedToSender),
        "failure" => status(ShipmentStatus::Exception),
        "pre_transit" | "unknown" => Err("a parcel not handed to the carrier yet"),
        "error" => Err("EasyPost could not track the parcel"),
        "cancelled" => Err("a tracker cancelled"),
        _ => Err("a status tidings does not read"),
    }
}

/// Translates one delivery's body.
pub fn translate(body: &str) -> Result<Routed, EventError> {
    let event: Event = at("body", &mut serde_json::Deserializer::from_str(body))?;
    if !matches!(
        event.description.as_deref(),
        Some("tracker.updated" | "tracker.created")
    ) {
        return Ok(Routed::Ignored("an EasyPost event other than a tracker's"));
    }
    let tracker = event.result.ok_or_else(|| error("body.result", "is required"))?;
    let number = given(&tracker.tracking_code).ok_or_else(|| error("body.result.tracking_code", "is required"))?;
    let status = given(&tracker.status).ok_or_else(|| error("body.result.status", "is required"))?;
    let status = match scanned(status) {
        Ok(status) => status,
        Err(why) => return Ok(Routed::Ignored(why)),
    };
    let latest = tracker.tracking_details.last();
    Ok(Scan {
        service: "easypost",
        tracking_number: number,
        status,
        description: latest.and_then(|d| given(&d.message)).map(str::to_owned),
        location: latest
            .and_then(|d| d.tracking_location.as_ref())
            .and_then(|l| place(&[given(&l.city), given(&l.state), given(&l.country)])),
        estimated_delivery: date(given(&tracker.est_delivery_date)),
        time: latest
            .and_then(|d| instant(d.datetime.as_deref()))
            .or_else(|| instant(tracker.updated_at.as_deref())),
    }
    .routed())
}
