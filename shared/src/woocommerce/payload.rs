//! WooCommerce's REST API v3 resources (what its webhooks carry), as much of them as tidings
//! reads. Everything is optional unless an event cannot mean anything without it; unknown fields
//! are ignored, and `null` reads as absent.

use crate::vendor::{Amount, Id, list};
use serde::{Deserialize, Deserializer};
use serde_json::Value;

#[derive(Debug, Deserialize)]
pub(super) struct Order {
    pub(super) id: Id,
    #[serde(default, deserialize_with = "text")]
    pub(super) number: Option<String>,
    #[serde(default)]
    pub(super) order_key: Option<String>,
    #[serde(default)]
    pub(super) status: Option<String>,
    #[serde(default)]
    pub(super) currency: Option<String>,
    #[serde(default)]
    pub(super) date_created_gmt: Option<String>,
    #[serde(default)]
    pub(super) date_modified_gmt: Option<String>,
    #[serde(default)]
    pub(super) date_paid_gmt: Option<String>,
    pub(super) discount_total: Option<Amount>,
    pub(super) shipping_total: Option<Amount>,
    pub(super) total: Option<Amount>,
    pub(super) total_tax: Option<Amount>,
    #[serde(default)]
    pub(super) customer_id: Option<Id>,
    #[serde(default)]
    pub(super) billing: Option<Address>,
    #[serde(default)]
    pub(super) shipping: Option<Address>,
    #[serde(default, deserialize_with = "list")]
    pub(super) meta_data: Vec<Meta>,
    #[serde(default, deserialize_with = "list")]
    pub(super) line_items: Vec<LineItem>,
    #[serde(default, deserialize_with = "list")]
    pub(super) coupon_lines: Vec<CouponLine>,
    #[serde(default)]
    pub(super) cart_hash: Option<String>,
    #[serde(default, deserialize_with = "list")]
    pub(super) shipping_lines: Vec<ShippingLine>,
}

#[derive(Debug, Deserialize)]
pub(super) struct ShippingLine {
    #[serde(default)]
    pub(super) method_id: Option<String>,
}

/// A line's quantity: a whole number, or (measurement plugins) a decimal, rounded up.
#[derive(Debug, Clone, Copy)]
pub(super) struct Quantity(pub(super) u64);

impl<'de> Deserialize<'de> for Quantity {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let number = match Value::deserialize(deserializer)? {
            Value::Number(n) => n.as_u64().or_else(|| {
                n.as_f64()
                    .filter(|f| f.is_finite() && *f >= 0.0)
                    .map(|f| f.ceil() as u64)
            }),
            Value::String(s) => s
                .trim()
                .parse::<f64>()
                .ok()
                .filter(|f| f.is_finite() && *f >= 0.0)
                .map(|f| f.ceil() as u64),
            _ => None,
        };
        number
            .map(|n| Self(n.min(u64::from(u32::MAX))))
            .ok_or_else(|| serde::de::Error::custom("not a quantity"))
    }
}

#[derive(Debug, Default, Deserialize)]
pub(super) struct Address {
    #[serde(default)]
    pub(super) first_name: Option<String>,
    #[serde(default)]
    pub(super) last_name: Option<String>,
    #[serde(default)]
    pub(super) address_1: Option<String>,
    #[serde(default)]
    pub(super) address_2: Option<String>,
    #[serde(default)]
    pub(super) city: Option<String>,
    #[serde(default)]
    pub(super) state: Option<String>,
    #[serde(default)]
    pub(super) postcode: Option<String>,
    #[serde(default)]
    pub(super) country: Option<String>,
    #[serde(default)]
    pub(super) email: Option<String>,
}

/// A `meta_data` entry: plugins store anything under any key.
#[derive(Debug, Deserialize)]
pub(super) struct Meta {
    #[serde(default)]
    pub(super) key: Option<String>,
    #[serde(default)]
    pub(super) value: Value,
    #[serde(default)]
    pub(super) display_value: Option<Value>,
}

#[derive(Debug, Deserialize)]
pub(super) struct LineItem {
    #[serde(default)]
    pub(super) name: Option<String>,
    #[serde(default)]
    pub(super) product_id: Option<Id>,
    #[serde(default)]
    pub(super) variation_id: Option<Id>,
    #[serde(default)]
    pub(super) quantity: Option<Quantity>,
    pub(super) subtotal: Option<Amount>,
    #[serde(default)]
    pub(super) sku: Option<String>,
    #[serde(default, deserialize_with = "list")]
    pub(super) meta_data: Vec<Meta>,
    #[serde(default)]
    pub(super) image: Option<Image>,
}

#[derive(Debug, Deserialize)]
pub(super) struct Image {
    #[serde(default)]
    pub(super) src: Option<String>,
}

#[derive(Debug, Deserialize)]
pub(super) struct CouponLine {
    #[serde(default)]
    pub(super) code: Option<String>,
}

#[derive(Debug, Deserialize)]
pub(super) struct Customer {
    pub(super) id: Id,
    #[serde(default)]
    pub(super) email: Option<String>,
    #[serde(default)]
    pub(super) first_name: Option<String>,
    #[serde(default)]
    pub(super) last_name: Option<String>,
    #[serde(default)]
    pub(super) date_created_gmt: Option<String>,
    #[serde(default)]
    pub(super) date_modified_gmt: Option<String>,
    #[serde(default)]
    pub(super) billing: Option<Address>,
    #[serde(default, deserialize_with = "list")]
    pub(super) meta_data: Vec<Meta>,
}

#[derive(Debug, Deserialize)]
pub(super) struct Product {
    pub(super) id: Id,
    #[serde(default)]
    pub(super) name: Option<String>,
    #[serde(default)]
    pub(super) permalink: Option<String>,
    #[serde(default)]
    pub(super) date_modified_gmt: Option<String>,
    #[serde(default, deserialize_with = "list")]
    pub(super) images: Vec<Image>,
    #[serde(default, deserialize_with = "list")]
    pub(super) categories: Vec<Category>,
}

#[derive(Debug, Deserialize)]
pub(super) struct Category {
    #[serde(default)]
    pub(super) name: Option<String>,
}

/// Text that may come as a number (`"number": "727"`, or `727` from some plugins).
pub(super) fn text<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<String>, D::Error> {
    Ok(match Option::<Value>::deserialize(deserializer)? {
        Some(Value::String(s)) => Some(s),
        Some(Value::Number(n)) => Some(n.to_string()),
        _ => None,
    })
}

impl Meta {
    /// The entry's value as text, when it is a string, number or bool.
    pub(super) fn text(&self) -> Option<String> {
        scalar(&self.value)
    }
}

/// A JSON scalar as text.
pub(super) fn scalar(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// The value of meta `key`, when present.
pub(super) fn meta<'a>(entries: &'a [Meta], key: &str) -> Option<&'a Meta> {
    entries.iter().find(|m| m.key.as_deref() == Some(key))
}
