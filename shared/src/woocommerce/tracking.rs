//! The parcels of a completed order, from the Shipment Tracking plugins' order meta
//! (`_wc_shipment_tracking_items`: WooCommerce's own extension and "Advanced Shipment Tracking"
//! write the same list). The first parcel is the order's shipment (`<order id>`), so a number
//! added after the order was completed fills in the parcel already announced; further parcels are
//! `<order id>-<tracking_id>`.

use super::payload::{Order, meta};
use crate::vendor::given;
use jiff::Timestamp;
use serde::Deserialize;
use serde_json::{Value, json};

/// The meta key the plugins keep their parcels under.
pub(super) const META_KEY: &str = "_wc_shipment_tracking_items";

#[derive(Debug, Deserialize)]
struct Item {
    #[serde(default)]
    tracking_provider: Option<String>,
    #[serde(default)]
    custom_tracking_provider: Option<String>,
    #[serde(default)]
    custom_tracking_link: Option<String>,
    #[serde(default, deserialize_with = "super::payload::text")]
    tracking_number: Option<String>,
    #[serde(default)]
    date_shipped: Option<Value>,
    #[serde(default)]
    tracking_id: Option<String>,
}

/// The order's parcels as contract shipments: one per tracking item with a number; without any,
/// one without a number when the order ships at all (`ships`), none for digital goods. An item
/// that does not read (another plugin's shape) is left out: it never costs the confirmation.
pub(super) fn shipments(order: &Order, time: Option<Timestamp>, ships: bool) -> Vec<Value> {
    let items: Vec<Item> = match meta(&order.meta_data, META_KEY).map(|m| &m.value) {
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(|item| serde_json::from_value::<Item>(item.clone()).ok())
            .filter(|item| given(&item.tracking_number).is_some())
            .collect(),
        // Nothing, `null`, or a plugin's empty string.
        _ => vec![],
    };
    let order_id = &order.id.0;
    let shipped_at = time.map(|t| t.to_string());
    if items.is_empty() {
        return if ships {
            vec![json!({ "id": order_id, "carrier": "", "shipped_at": shipped_at })]
        } else {
            vec![]
        };
    }
    items
        .iter()
        .enumerate()
        .map(|(n, item)| {
            let id = match (n, given(&item.tracking_id)) {
                (0, _) => order_id.clone(),
                (_, Some(tracking)) => format!("{order_id}-{tracking}"),
                (_, None) => format!("{order_id}-{}", n + 1),
            };
            let provider = given(&item.tracking_provider);
            let custom = given(&item.custom_tracking_provider);
            let code = provider.and_then(crate::shopify::carrier_code);
            json!({
                "id": id,
                "carrier": code.unwrap_or_default(),
                "carrier_name": custom.or(provider.filter(|_| code.is_none())),
                "tracking_number": given(&item.tracking_number),
                "tracking_url": given(&item.custom_tracking_link),
                "shipped_at": unix(item.date_shipped.as_ref()).or(time).map(|t| t.to_string()),
            })
        })
        .collect()
}

/// `date_shipped`: unix seconds as a number or a string.
fn unix(value: Option<&Value>) -> Option<Timestamp> {
    let seconds = match value? {
        Value::Number(n) => n.as_i64()?,
        Value::String(s) => s.trim().parse().ok()?,
        _ => return None,
    };
    Timestamp::from_second(seconds).ok()
}
