//! The event contract (events.md): EventBridge envelopes in, `EmailSent`/`CouponIssued`/`FollowUpDue` out.

use crate::domain::{
    Cart, Customer, CustomerId, EmailAddress, Order, OrderId, Product, Shipment, ShipmentId, ShipmentStatus, Text,
};
use crate::message::{MessageKey, Step};
use jiff::Timestamp;
use jiff::civil::Date;
use serde::{Deserialize, Serialize};

pub(crate) mod detail;
mod emitted;
pub mod feedback;
pub mod routing;
mod tracking;
use detail::{Lenient, deserialize_at};
pub use emitted::{
    Attention, AttentionNeeded, CouponIssued, CouponType, CustomerUnsubscribed, EmailHeldOut, EmailSent, Emitted,
};
pub use tracking::{Scanned, TrackingNumber, TrackingUpdated};

/// Why an event was rejected (or an optional field of it dropped): the field (a JSON path) and
/// what is wrong with it. Never the value itself: errors reach logs and dead-letter queues.
#[derive(Clone, Debug, thiserror::Error, PartialEq, Eq)]
#[error("{field}: {reason}")]
pub struct EventError {
    /// Path of the offending field, e.g. `detail.order.customer.email`.
    pub field: String,
    /// What is wrong.
    pub reason: String,
}

/// An inbound event that tidings understands, with the envelope facts the engine needs.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct InboundEvent {
    /// Delivery id (not an idempotency key: duplicates may carry new ids).
    pub id: String,
    /// Who sent it.
    pub source: String,
    /// When it happened in the store: the base of every timing decision.
    pub time: Timestamp,
    /// What happened.
    pub event: Event,
}

/// The result of parsing one envelope.
#[derive(Clone, Debug, PartialEq)]
pub enum Parsed {
    /// A detail-type tidings handles.
    Known(Box<InboundEvent>),
    /// Any other detail-type: ignored with a log line.
    Unknown {
        /// The detail-type that was not recognised.
        detail_type: String,
    },
}

/// Every inbound detail-type (serialized like its envelope, to hold events for orders not yet seen).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "detail-type", content = "detail")]
pub enum Event {
    /// `CustomerSignedUp`.
    CustomerSignedUp(Customer),
    /// `CustomerUpdated`.
    CustomerUpdated(Customer),
    /// `CustomerRedacted`.
    CustomerRedacted(CustomerRedacted),
    /// `OrderConfirmed`.
    OrderConfirmed(Box<Order>),
    /// `OrderCancelled`.
    OrderCancelled(OrderCancelled),
    /// `OrderShipped`.
    OrderShipped(OrderShipped),
    /// `ShipmentUpdated`.
    ShipmentUpdated(ShipmentUpdated),
    /// `OrderDelivered`.
    OrderDelivered(OrderDelivered),
    /// `TrackingUpdated`: a carrier service's scan, known by its tracking number only.
    TrackingUpdated(TrackingUpdated),
    /// `ReviewSubmitted`.
    ReviewSubmitted(ReviewSubmitted),
    /// `CartUpdated`.
    CartUpdated(Box<Cart>),
    /// `CartAbandoned` (same handling as `CartUpdated`).
    CartAbandoned(Box<Cart>),
    /// `ProductUpdated`: a product's image, page and category for the emails.
    ProductUpdated(Product),
    /// `FollowUpDue`, emitted by the sweeper and routed back to the owning step.
    FollowUpDue(FollowUpDue),
    /// An SES event (`source` = `aws.ses`): bounce, complaint, delivery, open, click, …
    SesFeedback(crate::feedback::Feedback),
    /// A one-click unsubscribe, as a line of a replay (`source` = `tidings.unsubscribe`): handled
    /// as the POST of its token would be, at the envelope's `time` (when it was clicked).
    UnsubscribeRequested(UnsubscribeRequested),
}

impl Event {
    /// The detail-type name.
    pub fn detail_type(&self) -> &'static str {
        match self {
            Self::CustomerSignedUp(_) => "CustomerSignedUp",
            Self::CustomerUpdated(_) => "CustomerUpdated",
            Self::CustomerRedacted(_) => "CustomerRedacted",
            Self::OrderConfirmed(_) => "OrderConfirmed",
            Self::OrderCancelled(_) => "OrderCancelled",
            Self::OrderShipped(_) => "OrderShipped",
            Self::ShipmentUpdated(_) => "ShipmentUpdated",
            Self::OrderDelivered(_) => "OrderDelivered",
            Self::TrackingUpdated(_) => "TrackingUpdated",
            Self::ReviewSubmitted(_) => "ReviewSubmitted",
            Self::CartUpdated(_) => "CartUpdated",
            Self::CartAbandoned(_) => "CartAbandoned",
            Self::ProductUpdated(_) => "ProductUpdated",
            Self::FollowUpDue(_) => "FollowUpDue",
            Self::SesFeedback(_) => "SesFeedback",
            Self::UnsubscribeRequested(_) => "UnsubscribeRequested",
        }
    }

    /// The order this event is about, when it needs the order to exist first.
    pub fn awaited_order(&self) -> Option<&OrderId> {
        match self {
            Self::OrderCancelled(e) => Some(&e.order_id),
            Self::OrderShipped(e) => Some(&e.order_id),
            Self::ShipmentUpdated(e) => Some(&e.order_id),
            Self::OrderDelivered(e) => Some(&e.order_id),
            Self::ReviewSubmitted(e) => Some(&e.order_id),
            _ => None,
        }
    }
}

impl Event {
    /// The event with every guest named by pseudonym instead of address (see [`crate::guest`]):
    /// done once at the edge, so no key, tag or log line the engine makes holds an address.
    pub fn with_guest_pseudonyms(mut self, ids: &crate::guest::GuestIds) -> Self {
        let id = |id: &mut CustomerId| *id = ids.customer_id(id);
        match &mut self {
            Self::CustomerSignedUp(customer) | Self::CustomerUpdated(customer) => id(&mut customer.id),
            Self::OrderConfirmed(order) => id(&mut order.customer.id),
            Self::CartUpdated(cart) | Self::CartAbandoned(cart) => id(&mut cart.customer.id),
            Self::CustomerRedacted(redacted) => id(&mut redacted.customer_id),
            Self::ReviewSubmitted(review) => id(&mut review.customer_id),
            Self::FollowUpDue(due) => {
                due.key = ids.message_key(&due.key);
                due.subject_id = ids.rewrite(&due.subject_id).into_owned();
            }
            Self::SesFeedback(feedback) => {
                feedback.customer_id.as_mut().map(id);
                feedback.message_key = feedback.message_key.as_ref().map(|key| ids.message_key(key));
            }
            Self::OrderCancelled(_)
            | Self::OrderShipped(_)
            | Self::ShipmentUpdated(_)
            | Self::OrderDelivered(_)
            | Self::TrackingUpdated(_)
            | Self::ProductUpdated(_)
            | Self::UnsubscribeRequested(_) => {}
        }
        self
    }
}

/// `CustomerRedacted` detail.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CustomerRedacted {
    /// Whose data to erase.
    pub customer_id: CustomerId,
    /// Their address (kept only as a hashed suppression).
    pub email: EmailAddress,
}

/// `UnsubscribeRequested` detail.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct UnsubscribeRequested {
    /// The token of a `List-Unsubscribe` URL.
    pub token: String,
}

/// `OrderCancelled` detail.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OrderCancelled {
    /// Which order.
    pub order_id: OrderId,
    /// Store's reason code.
    #[serde(default)]
    pub reason: Option<Text>,
}

/// `OrderShipped` detail.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OrderShipped {
    /// Which order.
    pub order_id: OrderId,
    /// The shipment.
    pub shipment: Shipment,
}

/// `ShipmentUpdated` detail.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ShipmentUpdated {
    /// Which order.
    pub order_id: OrderId,
    /// Which shipment.
    pub shipment_id: ShipmentId,
    /// Carrier status.
    pub status: ShipmentStatus,
    /// Carrier's words.
    #[serde(default)]
    pub description: Option<Text>,
    /// Where the scan happened.
    #[serde(default)]
    pub location: Option<Text>,
    /// New delivery estimate.
    #[serde(default)]
    pub estimated_delivery: Option<Date>,
}

/// `OrderDelivered` detail.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OrderDelivered {
    /// Which order.
    pub order_id: OrderId,
    /// Which shipment, for split orders.
    #[serde(default)]
    pub shipment_id: Option<ShipmentId>,
    /// When the carrier delivered it (shown only).
    #[serde(default, deserialize_with = "crate::domain::plausible_time_opt")]
    pub delivered_at: Option<Timestamp>,
}

/// `ReviewSubmitted` detail.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ReviewSubmitted {
    /// Which order.
    pub order_id: OrderId,
    /// Who reviewed.
    pub customer_id: CustomerId,
    /// Stars, if given.
    #[serde(default)]
    pub rating: Option<u8>,
}

/// `FollowUpDue` detail (also emitted; see [`Emitted`]).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FollowUpDue {
    /// Message key of the follow-up.
    pub key: MessageKey,
    /// The step that owns it.
    pub step: Step,
    /// Order, cart or customer id it is about.
    pub subject_id: String,
    /// When it became due.
    pub due_at: Timestamp,
}

#[derive(Deserialize)]
struct Envelope {
    #[serde(default)]
    #[allow(dead_code)]
    version: Option<String>,
    id: String,
    #[serde(rename = "detail-type")]
    detail_type: String,
    source: String,
    #[serde(deserialize_with = "crate::domain::plausible_time")]
    time: Timestamp,
    detail: serde_json::Value,
}

#[derive(Deserialize)]
struct CustomerDetail {
    customer: Customer,
}

#[derive(Deserialize)]
struct OrderDetail {
    order: Order,
}

#[derive(Deserialize)]
struct CartDetail {
    cart: Cart,
}

#[derive(Deserialize)]
struct ProductDetail {
    product: Product,
}

/// Parses one EventBridge envelope given as JSON text (a replay line or a Lambda payload). An
/// optional field that does not parse is dropped with a warning in the log.
pub fn parse_envelope(json: &str) -> Result<Parsed, EventError> {
    let mut warnings = Vec::new();
    let parsed = parse_envelope_noting(json, &mut warnings);
    log_warnings(&warnings, &parsed);
    parsed
}

/// Parses one EventBridge envelope already decoded as JSON (dropped optional fields are logged).
pub fn parse_envelope_value(value: serde_json::Value) -> Result<Parsed, EventError> {
    let mut warnings = Vec::new();
    let parsed = parse_value(value, &mut warnings);
    log_warnings(&warnings, &parsed);
    parsed
}

/// Parses one envelope, adding to `warnings` every optional field dropped because it did not
/// parse (the replay reports them with their line).
pub fn parse_envelope_noting(json: &str, warnings: &mut Vec<EventError>) -> Result<Parsed, EventError> {
    let value: serde_json::Value = serde_json::from_str(json).map_err(|e| EventError {
        field: "(line)".into(),
        reason: format!("not valid JSON: {e}"),
    })?;
    parse_value(value, warnings)
}

/// Parses one envelope already decoded as JSON, adding dropped optional fields to `warnings`.
pub fn parse_envelope_value_noting(
    value: serde_json::Value,
    warnings: &mut Vec<EventError>,
) -> Result<Parsed, EventError> {
    parse_value(value, warnings)
}

fn log_warnings(warnings: &[EventError], parsed: &Result<Parsed, EventError>) {
    let detail_type = match parsed {
        Ok(Parsed::Known(event)) => event.event.detail_type(),
        _ => "(rejected)",
    };
    for warning in warnings {
        tracing::warn!(detail_type, field = %warning.field, reason = %warning.reason, "optional field dropped");
    }
}

fn parse_value(value: serde_json::Value, warnings: &mut Vec<EventError>) -> Result<Parsed, EventError> {
    // The inbound rules (see `domain::inbound`); records read back from the store skip them.
    crate::domain::inbound::parsing(|| parse_inbound(value, warnings))
}

fn parse_inbound(value: serde_json::Value, warnings: &mut Vec<EventError>) -> Result<Parsed, EventError> {
    let envelope: Envelope = deserialize_at("", value)?;
    let mut detail = Lenient {
        value: envelope.detail,
        warnings,
    };
    let event = match envelope.detail_type.as_str() {
        "CustomerSignedUp" => Event::CustomerSignedUp(detail.parse::<CustomerDetail>()?.customer),
        "CustomerUpdated" => Event::CustomerUpdated(detail.parse::<CustomerDetail>()?.customer),
        "CustomerRedacted" => Event::CustomerRedacted(detail.parse()?),
        "OrderConfirmed" => {
            let mut order = detail.parse::<OrderDetail>()?.order;
            detail.note(order.fit_items(), "detail.order.items");
            Event::OrderConfirmed(Box::new(order))
        }
        "OrderCancelled" => Event::OrderCancelled(detail.parse()?),
        "OrderShipped" => Event::OrderShipped(detail.parse()?),
        "ShipmentUpdated" => Event::ShipmentUpdated(detail.parse()?),
        "OrderDelivered" => Event::OrderDelivered(detail.parse()?),
        "TrackingUpdated" => Event::TrackingUpdated(detail.parse()?),
        "ReviewSubmitted" => Event::ReviewSubmitted(detail.parse()?),
        "CartUpdated" | "CartAbandoned" => {
            let mut cart = detail.parse::<CartDetail>()?.cart;
            detail.note(cart.fit_items(), "detail.cart.items");
            match envelope.detail_type.as_str() {
                "CartUpdated" => Event::CartUpdated(Box::new(cart)),
                _ => Event::CartAbandoned(Box::new(cart)),
            }
        }
        "ProductUpdated" => Event::ProductUpdated(detail.parse::<ProductDetail>()?.product),
        "FollowUpDue" => Event::FollowUpDue(detail.parse()?),
        "UnsubscribeRequested" => Event::UnsubscribeRequested(detail.parse()?),
        ses if crate::feedback::SES_DETAIL_TYPES.contains(&ses) => {
            Event::SesFeedback(crate::feedback::parse_feedback(&detail.value, envelope.time)?)
        }
        _ => {
            return Ok(Parsed::Unknown {
                detail_type: envelope.detail_type,
            });
        }
    };
    Ok(Parsed::Known(Box::new(InboundEvent {
        id: envelope.id,
        source: envelope.source,
        time: envelope.time,
        event,
    })))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn envelope(detail_type: &str, detail: &str) -> String {
        format!(
            r#"{{"version":"0","id":"e-1","detail-type":"{detail_type}","source":"shop.example","account":"1","time":"2026-11-22T10:15:00+09:00","region":"eu-west-1","resources":[],"detail":{detail}}}"#
        )
    }

    const CUSTOMER: &str = r#"{"id":"c-1","email":"minji@example.com","first_name":"Min\r\nji","locale":"ko-KR","time_zone":"Asia/Seoul","marketing_consent":true,"tags":null,"extra":1}"#;

    #[test]
    fn a_signup_parses_into_domain_types() {
        let parsed =
            parse_envelope(&envelope("CustomerSignedUp", &format!(r#"{{"customer":{CUSTOMER}}}"#))).expect("valid");
        let Parsed::Known(event) = parsed else {
            panic!("known type")
        };
        assert_eq!(event.time.to_string(), "2026-11-22T01:15:00Z");
        let Event::CustomerSignedUp(customer) = event.event else {
            panic!("signup")
        };
        assert_eq!(customer.first_name.expect("given").as_str(), "Min  ji");
        assert_eq!(customer.time_zone.expect("given").name(), "Asia/Seoul");
        assert!(customer.tags.is_empty());
    }

    #[test]
    fn a_bad_email_names_the_field() {
        let bad = CUSTOMER.replace("minji@example.com", "minji.example.com");
        let error =
            parse_envelope(&envelope("CustomerUpdated", &format!(r#"{{"customer":{bad}}}"#))).expect_err("invalid");
        assert_eq!(error.field, "detail.customer.email");
        assert!(error.reason.contains("exactly one '@'"), "{}", error.reason);
    }

    #[test]
    fn a_missing_field_is_named() {
        let error = parse_envelope(&envelope("OrderCancelled", r#"{"reason":"x"}"#)).expect_err("invalid");
        assert_eq!(error.to_string(), "detail.order_id: is required");
        let error = parse_envelope(r#"{"id":"1","detail-type":"X","source":"s","detail":{}}"#).expect_err("no time");
        assert_eq!(error.to_string(), "time: is required");
    }

    #[test]
    fn an_unknown_shipment_status_is_rejected() {
        let error = parse_envelope(&envelope(
            "ShipmentUpdated",
            r#"{"order_id":"o-1","shipment_id":"s-1","status":"teleported"}"#,
        ))
        .expect_err("invalid");
        assert_eq!(error.field, "detail.status");
    }

    #[test]
    fn errors_name_the_kind_of_value_never_the_value() {
        let address = r#""Ada Lovelace, 12 St James's Sq, London""#;
        let detail = format!(r#"{{"order_id":"o-1","shipment":{address}}}"#);
        let error = parse_envelope(&envelope("OrderShipped", &detail)).expect_err("invalid");
        assert_eq!(error.field, "detail.shipment");
        assert!(!error.reason.contains("Lovelace"), "{}", error.reason);
        assert!(
            error.reason.starts_with("invalid type: string, expected"),
            "{}",
            error.reason
        );
    }

    #[test]
    fn a_required_country_missing_from_an_address_drops_the_address_not_the_order() {
        let mut warnings = Vec::new();
        let order = r#"{"order":{"id":"o-1","number":"1","customer":{"id":"c-1","email":"a@example.com","marketing_consent":false},"currency":"USD","items":[],"subtotal":0,"shipping":0,"discount":0,"tax":0,"total":0,"placed_at":"2026-11-02T10:00:00Z","shipping_address":{"name":"A","line1":"1 Main St","city":"X","postal_code":"1","country":null}}}"#;
        let parsed = parse_envelope_noting(&envelope("OrderConfirmed", order), &mut warnings).expect("accepted");
        let Parsed::Known(event) = parsed else { panic!("known") };
        let Event::OrderConfirmed(order) = event.event else {
            panic!("order")
        };
        assert!(order.shipping_address.is_none());
        assert_eq!(warnings.len(), 1, "{warnings:?}");
        assert!(
            warnings[0].field.starts_with("detail.order.shipping_address"),
            "{warnings:?}"
        );
    }

    #[test]
    fn unknown_detail_types_are_not_errors() {
        let parsed = parse_envelope(&envelope("InventoryChanged", "{}")).expect("ignored, not rejected");
        assert_eq!(
            parsed,
            Parsed::Unknown {
                detail_type: "InventoryChanged".into()
            }
        );
    }
}
