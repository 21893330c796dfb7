//! `TrackingUpdated`: a carrier service's scan of a parcel (AfterShip, EasyPost), which knows the
//! parcel by its tracking number only. The engine finds the order and shipment by the number
//! (recorded with each `OrderShipped` that has one) and handles the scan as the `ShipmentUpdated`
//! or `OrderDelivered` it is; a scan of a number not seen yet waits like any early event.

use super::{Event, OrderDelivered, ShipmentUpdated};
use crate::domain::{OrderId, ShipmentId, ShipmentStatus, Text};
use jiff::Timestamp;
use jiff::civil::Date;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// What a scan says of the parcel.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scanned {
    /// A status of `ShipmentUpdated`.
    Status(ShipmentStatus),
    /// Delivered: `OrderDelivered` for the parcel.
    Delivered,
}

impl Scanned {
    /// The wire name (`delivered`, or the `ShipmentUpdated.status`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Status(status) => status.as_str(),
            Self::Delivered => "delivered",
        }
    }
}

impl Serialize for Scanned {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Scanned {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        if text == "delivered" {
            return Ok(Self::Delivered);
        }
        ShipmentStatus::deserialize(serde::de::value::StrDeserializer::<D::Error>::new(&text))
            .map(Self::Status)
            .map_err(|_| serde::de::Error::custom("expected delivered or a ShipmentUpdated status"))
    }
}

/// A tracking number as carriers print it (`1Z 999 AA1 01 2345 6784`), kept as its letters and
/// digits in upper case, so every service's spelling of one parcel is one number.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct TrackingNumber(String);

/// The longest tracking number kept (carriers' run to 40; the rest is noise).
const MAX_TRACKING_LEN: usize = 64;

impl TrackingNumber {
    /// The number in `raw`, or `None` when it has no letter or digit (or is absurdly long).
    pub fn parse(raw: &str) -> Option<Self> {
        let kept: String = raw
            .chars()
            .filter(char::is_ascii_alphanumeric)
            .map(|c| c.to_ascii_uppercase())
            .collect();
        (!kept.is_empty() && kept.len() <= MAX_TRACKING_LEN).then_some(Self(kept))
    }

    /// The number.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The name scans of this number wait under while no shipment has it: an order id no store
    /// gives (its held events live with the order records, and expire like them).
    pub fn awaiting(&self) -> OrderId {
        OrderId::parse(&format!("tidings-tracking:{}", self.0))
            .unwrap_or_else(|_| unreachable!("a short, non-empty id"))
    }
}

impl<'de> Deserialize<'de> for TrackingNumber {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(deserializer)?;
        Self::parse(&raw)
            .ok_or_else(|| serde::de::Error::custom("not a tracking number (letters and digits, at most 64)"))
    }
}

impl std::fmt::Display for TrackingNumber {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// `TrackingUpdated` detail.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TrackingUpdated {
    /// The parcel's number.
    pub tracking_number: TrackingNumber,
    /// What the scan says.
    pub status: Scanned,
    /// The carrier's words.
    #[serde(default)]
    pub description: Option<Text>,
    /// Where the scan happened.
    #[serde(default)]
    pub location: Option<Text>,
    /// The new delivery estimate.
    #[serde(default)]
    pub estimated_delivery: Option<Date>,
    /// The service that reported it (`aftership`, `easypost`), for logs.
    #[serde(default)]
    pub service: Option<Text>,
}

impl TrackingUpdated {
    /// The event this scan is for the shipment `shipment_id` of `order_id`, scanned at `at`.
    pub fn resolve(&self, order_id: OrderId, shipment_id: ShipmentId, at: Timestamp) -> Event {
        match self.status {
            Scanned::Delivered => Event::OrderDelivered(OrderDelivered {
                order_id,
                shipment_id: Some(shipment_id),
                delivered_at: Some(at),
            }),
            Scanned::Status(status) => Event::ShipmentUpdated(ShipmentUpdated {
                order_id,
                shipment_id,
                status,
                description: self.description.clone(),
                location: self.location.clone(),
                estimated_delivery: self.estimated_delivery,
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_number_is_its_letters_and_digits_in_upper_case() {
        let spaced = TrackingNumber::parse(" 1z 999-aa1 01 2345 6784 ").expect("number");
        assert_eq!(spaced.as_str(), "1Z999AA10123456784");
        assert_eq!(TrackingNumber::parse(" - "), None);
        assert_eq!(TrackingNumber::parse(&"9".repeat(65)), None);
        assert_eq!(spaced.awaiting().as_str(), "tidings-tracking:1Z999AA10123456784");
    }

    #[test]
    fn statuses_are_the_shipment_statuses_and_delivered() {
        let parse = |s: &str| serde_json::from_value::<Scanned>(serde_json::json!(s));
        assert_eq!(parse("delivered").ok(), Some(Scanned::Delivered));
        assert_eq!(
            parse("exception").ok(),
            Some(Scanned::Status(ShipmentStatus::Exception))
        );
        assert!(parse("label_printed").is_err());
        assert_eq!(
            serde_json::to_value(Scanned::Delivered).ok(),
            Some(serde_json::json!("delivered"))
        );
    }
}
