//! Shopify, as it reaches tidings through Amazon EventBridge: a `shopifyWebhook` envelope from the
//! store's partner event source, translated into the events of the contract (events.md). Pure: no
//! network, no AWS. The Lambda (`functions/shopify`) and `tidings replay` run the same code.
//!
//! Each topic becomes zero or more contract envelopes, which then go through the contract's own
//! parser, so a Shopify order is held to the same rules (and warnings) as any other.

mod carriers;
mod checkouts;
mod customers;
mod fulfillments;
pub mod import;
mod orders;
mod payload;
mod products;

use crate::event::EventError;
pub(crate) use crate::vendor::{at, error, given, guest_id};
pub(crate) use carriers::code as carrier_code;
use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::{Value, json};
use std::collections::BTreeMap;

/// The `detail-type` of every webhook Shopify delivers to EventBridge.
pub const DETAIL_TYPE: &str = "shopifyWebhook";
/// Every Shopify partner event source starts so (`aws.partner/shopify.com/<app id>/<name>`).
pub const PARTNER_SOURCE_PREFIX: &str = "aws.partner/shopify.com/";
/// The `source` of the contract events translated from Shopify's.
pub const SOURCE: &str = "tidings.shopify";
/// The Admin API version the translation is tested against (`X-Shopify-API-Version`).
pub const TESTED_API_VERSION: &str = "2025-10";

/// One webhook, as EventBridge delivers it.
#[derive(Debug, Deserialize)]
struct Envelope {
    id: String,
    #[serde(rename = "detail-type")]
    detail_type: String,
    source: String,
    time: Value,
    detail: Detail,
}

#[derive(Debug, Deserialize)]
struct Detail {
    payload: Box<RawValue>,
    /// The webhook's headers (`X-Shopify-Topic`, …), as Shopify documents the envelope.
    #[serde(default)]
    metadata: BTreeMap<String, Value>,
    /// Some descriptions show the topic beside the payload instead: read there too.
    #[serde(rename = "X-Shopify-Topic", default)]
    topic: Option<String>,
}

/// A webhook translated into contract envelopes.
#[derive(Debug)]
pub struct Translated {
    /// `X-Shopify-Topic` (`orders/create`).
    pub topic: String,
    /// `X-Shopify-API-Version`, when given.
    pub api_version: Option<String>,
    /// The partner event source it came from.
    pub source: String,
    /// The contract envelopes, in order (often one; none when the topic means nothing to send).
    pub events: Vec<Value>,
    /// Why nothing came of it, for the one log line (no customer data).
    pub ignored: Option<&'static str>,
}

/// Whether a decoded envelope is one of Shopify's (by its detail-type).
pub fn is_webhook(detail_type: &str) -> bool {
    detail_type == DETAIL_TYPE
}

/// Whether `source` is a Shopify partner event source the configuration accepts: the one named,
/// or, when none is named (the sample store), any.
pub fn accepts_source(named: Option<&str>, source: &str) -> bool {
    match named {
        Some(named) => source == named,
        None => source.starts_with(PARTNER_SOURCE_PREFIX),
    }
}

/// Translates one `shopifyWebhook` envelope given as JSON text. Money is read from the text, so
/// no amount passes through a float. Errors name the field by its path in the envelope.
pub fn translate(json: &str) -> Result<Translated, EventError> {
    let envelope: Envelope = at("", &mut serde_json::Deserializer::from_str(json))?;
    if envelope.detail_type != DETAIL_TYPE {
        return Err(error("detail-type", format!("expected {DETAIL_TYPE}")));
    }
    let header = |name: &str| {
        envelope
            .detail
            .metadata
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .and_then(|(_, value)| value.as_str())
            .map(str::to_owned)
    };
    let topic = header("X-Shopify-Topic")
        .or_else(|| envelope.detail.topic.clone())
        .ok_or_else(|| error("detail.metadata.X-Shopify-Topic", "is required"))?;
    // A redelivery keeps Shopify's webhook id; the contract's business keys make it a duplicate
    // either way, and the id makes the translated envelopes' ids stable across redeliveries.
    let delivery = header("X-Shopify-Webhook-Id")
        .or_else(|| header("X-Shopify-Event-Id"))
        .unwrap_or_else(|| envelope.id.clone());
    let payload = envelope.detail.payload.get();
    let shop = header("X-Shopify-Shop-Domain");
    let (details, ignored) = match topics::route(&topic, payload, shop.as_deref())? {
        Routed::Events(details) => (details, None),
        Routed::Ignored(why) => (vec![], Some(why)),
    };
    let events = details
        .into_iter()
        .enumerate()
        .map(|(n, (detail_type, detail))| {
            json!({
                "version": "0",
                "id": format!("shopify-{delivery}-{n}"),
                "detail-type": detail_type,
                "source": SOURCE,
                "time": envelope.time,
                "resources": [],
                "detail": detail,
            })
        })
        .collect();
    Ok(Translated {
        topic,
        api_version: header("X-Shopify-API-Version"),
        source: envelope.source,
        events,
        ignored,
    })
}

/// What a topic's payload became.
enum Routed {
    /// Contract events: detail-type and detail.
    Events(Vec<(&'static str, Value)>),
    /// Nothing to do, and why.
    Ignored(&'static str),
}

mod topics {
    use super::{Routed, checkouts, customers, fulfillments, orders, payload, products};
    use crate::event::EventError;

    /// The topics tidings reads, and what each becomes.
    pub(super) fn route(topic: &str, payload: &str, shop: Option<&str>) -> Result<Routed, EventError> {
        Ok(match topic {
            "orders/create" => orders::confirmed(&parse(payload)?, true)?,
            "orders/paid" => orders::confirmed(&parse(payload)?, false)?,
            "orders/updated" => orders::updated(&parse(payload)?)?,
            "orders/cancelled" => orders::cancelled(&parse(payload)?),
            "fulfillments/create" => fulfillments::created(&parse(payload)?)?,
            "fulfillments/update" => fulfillments::updated(&parse(payload)?)?,
            "fulfillment_events/create" => fulfillments::event(&parse(payload)?),
            "checkouts/create" | "checkouts/update" => checkouts::updated(&parse(payload)?)?,
            "checkouts/delete" => Routed::Ignored("a deleted checkout: its reminders end with its order or expiry"),
            "customers/create" => customers::profile(&parse(payload)?, "CustomerSignedUp")?,
            "customers/update" => customers::profile(&parse(payload)?, "CustomerUpdated")?,
            "customers_email_marketing_consent/update" => {
                customers::consent(&parse::<payload::ConsentUpdate>(payload)?)?
            }
            "customers/redact" => customers::redact(&parse(payload)?)?,
            "carts/create" | "carts/update" => Routed::Ignored("carts carry no email; checkouts do"),
            "shop/redact" => Routed::Ignored("shop/redact: delete the stack's table (docs/shopify.md)"),
            "customers/data_request" => {
                Routed::Ignored("customers/data_request: export with `tidings data` (docs/shopify.md)")
            }
            "products/create" | "products/update" => products::updated(&parse(payload)?, shop),
            "products/delete" => Routed::Ignored("a deleted product: past orders keep its lines"),
            _ => Routed::Ignored("a topic tidings does not read"),
        })
    }

    fn parse<T: serde::de::DeserializeOwned>(payload: &str) -> Result<T, EventError> {
        super::at("detail.payload", &mut serde_json::Deserializer::from_str(payload))
    }
}

#[cfg(test)]
mod tests;
