//! AfterShip's tracking webhooks (`event: tracking_update`): the tracking's `tag` and `subtag`
//! onto the contract's statuses, its latest checkpoint as the scan, `expected_delivery` as the
//! new estimate.

use super::{Scan, date, instant, place, status};
use crate::domain::ShipmentStatus;
use crate::event::{EventError, Scanned};
use crate::vendor::{at, error, given, list};
use crate::webhook::Routed;
use serde::Deserialize;

/// The header AfterShip signs each delivery in.
pub const SIGNATURE_HEADER: &str = "aftership-hmac-sha256";

#[derive(Debug, Deserialize)]
struct Body {
    #[serde(default)]
    event: Option<String>,
    #[serde(default)]
    msg: Option<Tracking>,
    #[serde(default)]
    ts: Option<i64>,
}

#[derive(Debug, Deserialize)]
struct Tracking {
    #[serde(default)]
    tracking_number: Option<String>,
    #[serde(default)]
    tag: Option<String>,
    #[serde(default)]
    subtag: Option<String>,
    #[serde(default)]
    subtag_message: Option<String>,
    #[serde(default)]
    expected_delivery: Option<String>,
    #[serde(default, deserialize_with = "list")]
    checkpoints: Vec<Checkpoint>,
}

#[derive(Debug, Deserialize)]
struct Checkpoint {
    #[serde(default)]
    checkpoint_time: Option<String>,
    #[serde(default)]
    message: Option<String>,
    #[serde(default)]
    location: Option<String>,
    #[serde(default)]
    city: Option<String>,
    #[serde(default)]
    state: Option<String>,
    #[serde(default)]
    country_name: Option<String>,
}

/// What a tag (and subtag) says; `Err` with why when it says nothing the customer is told.
fn scanned(tag: &str, subtag: &str) -> Result<Scanned, &'static str> {
    match tag {
        "InTransit" => status(ShipmentStatus::InTransit),
        "OutForDelivery" => status(ShipmentStatus::OutForDelivery),
        "AvailableForPickup" => status(ShipmentStatus::AvailableForPickup),
        "AttemptFail" => status(ShipmentStatus::Exception),
        "Delivered" => Ok(Scanned::Delivered),
        // Exception_010 returning, Exception_011 returned to sender; 004 and 005 are delays
        // (customs, external factors).
        "Exception" => match subtag.to_ascii_lowercase().as_str() {
            "exception_010" | "exception_011" => status(ShipmentStatus::ReturnedToSender),
            "exception_004" | "exception_005" => status(ShipmentStatus::Delayed),
            _ => status(ShipmentStatus::Exception),
        },
        "Pending" | "InfoReceived" => Err("a parcel not handed to the carrier yet"),
        "Expired" => Err("AfterShip stopped tracking the parcel"),
        _ => Err("a tag tidings does not read"),
    }
}

/// Translates one delivery's body.
pub fn translate(body: &str) -> Result<Routed, EventError> {
    let body: Body = at("body", &mut serde_json::Deserializer::from_str(body))?;
    if body.event.as_deref() != Some("tracking_update") {
        return Ok(Routed::Ignored("an AfterShip event other than tracking_update"));
    }
    let tracking = body.msg.ok_or_else(|| error("body.msg", "is required"))?;
    let number = given(&tracking.tracking_number).ok_or_else(|| error("body.msg.tracking_number", "is required"))?;
    let tag = given(&tracking.tag).ok_or_else(|| error("body.msg.tag", "is required"))?;
    let subtag = given(&tracking.subtag).unwrap_or_default();
    let status = match scanned(tag, subtag) {
        Ok(status) => status,
        Err(why) => return Ok(Routed::Ignored(why)),
    };
    let latest = tracking.checkpoints.last();
    let time = latest
        .and_then(|c| instant(c.checkpoint_time.as_deref()))
        .or_else(|| body.ts.and_then(|ts| jiff::Timestamp::from_second(ts).ok()));
    Ok(Scan {
        service: "aftership",
        tracking_number: number,
        status,
        description: latest
            .and_then(|c| given(&c.message))
            .or(given(&tracking.subtag_message))
            .map(str::to_owned),
        location: latest.and_then(|c| {
            given(&c.location)
                .map(str::to_owned)
                .or_else(|| place(&[given(&c.city), given(&c.state), given(&c.country_name)]))
        }),
        estimated_delivery: date(given(&tracking.expected_delivery)),
        time,
    }
    .routed())
}
