//! WooCommerce, as it reaches tidings through its webhooks: the REST API v3 representation of an
//! order, customer or product, with the topic in `X-WC-Webhook-Topic`, translated into the events
//! of the contract (events.md). Pure: no network. The `webhooks` function and `tidings replay` run
//! the same code; the signature is checked before (crate::webhook).
//!
//! What each topic and order status becomes is in docs/webhooks.md. The translated envelopes go
//! through the contract's own parser, so a WooCommerce order is held to the same rules as any.

mod customers;
pub mod import;
mod orders;
mod payload;
mod tracking;

use crate::event::EventError;
use crate::vendor::at;
use crate::webhook::Routed;
use jiff::Timestamp;

/// The `source` of the contract events translated from WooCommerce's.
pub const SOURCE: &str = "tidings.woocommerce";

/// What tidings knows of the store, for the translation.
#[derive(Clone, Copy, Debug, Default)]
pub struct Store<'a> {
    /// The site (`https://shop.example`, no trailing slash): order pages link under it.
    pub site: Option<&'a str>,
    /// The meta key a consent plugin keeps the marketing opt-in under.
    pub consent_meta: Option<&'a str>,
}

/// Translates the body of a delivery of `topic` (`order.updated`). Errors name the field by its
/// path in the body, never its value.
pub fn translate(topic: &str, body: &str, store: Store<'_>) -> Result<Routed, EventError> {
    Ok(match topic {
        "order.created" => orders::changed(&parse(body)?, store, true)?,
        "order.updated" => orders::changed(&parse(body)?, store, false)?,
        "order.deleted" | "order.restored" => Routed::Ignored("a deleted or restored order changes nothing sent"),
        "customer.created" | "customer.updated" if is_order(body) => {
            // The topic header is not signed: a signed order body under a customer topic is not
            // read as a customer.
            return Err(crate::vendor::error(
                "body",
                "is an order, not a customer: the topic does not fit",
            ));
        }
        "customer.created" => customers::profile(&parse(body)?, store, "CustomerSignedUp")?,
        "customer.updated" => customers::profile(&parse(body)?, store, "CustomerUpdated")?,
        "customer.deleted" => Routed::Ignored(
            "a deleted customer: WooCommerce sends only the id; erase the address with a CustomerRedacted (docs/webhooks.md)",
        ),
        "product.created" | "product.updated" => customers::product(&parse(body)?)?,
        "product.deleted" | "product.restored" => Routed::Ignored("a deleted product: past orders keep its lines"),
        _ => Routed::Ignored("a topic tidings does not read"),
    })
}

/// Whether a body is an order (it has order lines).
fn is_order(body: &str) -> bool {
    #[derive(serde::Deserialize)]
    struct Peek {
        line_items: Option<serde::de::IgnoredAny>,
    }
    serde_json::from_str::<Peek>(body).is_ok_and(|p| p.line_items.is_some())
}

fn parse<T: serde::de::DeserializeOwned>(body: &str) -> Result<T, EventError> {
    at("body", &mut serde_json::Deserializer::from_str(body))
}

/// A `*_gmt` time (`2017-03-22T19:28:08`: UTC, written without an offset).
fn gmt(text: &Option<String>) -> Option<Timestamp> {
    let text = crate::vendor::given(text)?;
    let civil: jiff::civil::DateTime = text.parse().ok()?;
    jiff::tz::TimeZone::UTC.to_timestamp(civil).ok()
}

/// WooCommerce keeps names as HTML (`Ship Your Idea &ndash; Color: Black`): the text they show.
fn plain(text: &Option<String>) -> Option<String> {
    crate::vendor::given(text).map(|t| html_escape::decode_html_entities(t).trim().to_owned())
}

/// A consent plugin's value: `yes`, `1`, `true`, `on` say yes; `no`, `0`, `false`, `off` and an
/// empty value say no; anything else says nothing.
fn consent(value: Option<String>) -> Option<bool> {
    match value?.trim().to_ascii_lowercase().as_str() {
        "yes" | "1" | "true" | "on" => Some(true),
        "no" | "0" | "false" | "off" | "" => Some(false),
        _ => None,
    }
}

#[cfg(test)]
mod tests;
