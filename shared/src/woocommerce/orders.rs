//! WooCommerce orders by `status`: `processing` (or `on-hold`, a bank transfer awaiting payment) →
//! `OrderConfirmed`; `completed` → `OrderConfirmed` and, for goods that ship, `OrderShipped` with
//! the Shipment Tracking plugins' parcels (WooCommerce has no shipped state); `cancelled`,
//! `refunded` → `OrderCancelled`; `failed` → `OrderCancelled` only for an order once paid.
//! Amounts are the order's, in its currency: strings, sometimes numbers.

use super::payload::{Address, LineItem, Order, meta};
use super::{Routed, Store, consent, gmt, plain, tracking};
use crate::domain::Currency;
use crate::event::EventError;
use crate::vendor::{Amount, error, given, guest_id};
use serde_json::{Value, json};

/// `order.created` / `order.updated` (`created`: the checkout's own statement of consent).
pub(super) fn changed(order: &Order, store: Store<'_>, created: bool) -> Result<Routed, EventError> {
    let time = gmt(&order.date_modified_gmt);
    if anonymized(order) {
        // WordPress's personal-data eraser saves the order with `deleted@site.invalid`: no order
        // of a customer any more (erase the customer with a `CustomerRedacted`).
        return Ok(Routed::Ignored("an order anonymized by the personal-data eraser"));
    }
    let status = given(&order.status).unwrap_or_default();
    let events = match status {
        "processing" | "on-hold" => vec![("OrderConfirmed", confirmed(order, store, created)?)],
        "completed" => {
            let mut events = vec![("OrderConfirmed", confirmed(order, store, created)?)];
            events.extend(
                tracking::shipments(order, time, ships(order))
                    .into_iter()
                    .map(|shipment| ("OrderShipped", json!({ "order_id": order.id.0, "shipment": shipment }))),
            );
            events
        }
        "cancelled" | "refunded" => vec![cancelled(order, status)],
        "failed" if given(&order.date_paid_gmt).is_some() => vec![cancelled(order, status)],
        "failed" => {
            return Ok(Routed::Ignored(
                "a failed payment of an order never paid: the customer may pay again",
            ));
        }
        "pending" | "checkout-draft" => return Ok(Routed::Ignored("an order not paid yet")),
        _ => return Ok(Routed::Ignored("an order status tidings does not read")),
    };
    if events
        .iter()
        .any(|(kind, detail)| *kind == "OrderConfirmed" && detail.is_null())
    {
        // Point of sale and phone orders often have no address to write to.
        return Ok(Routed::Ignored("an order without an email address"));
    }
    Ok(Routed::Events(events, time))
}

/// Whether an order was anonymized by WordPress's personal-data eraser.
fn anonymized(order: &Order) -> bool {
    meta(&order.meta_data, "_anonymized").and_then(|m| m.text()).as_deref() == Some("yes")
        || order
            .billing
            .as_ref()
            .and_then(|b| given(&b.email))
            .is_some_and(|e| e.ends_with("@site.invalid"))
}

/// Whether an order's goods go by carrier: a shipping address and a shipping line that is not
/// a local pickup (digital goods have neither; a pickup order may still carry an address).
fn ships(order: &Order) -> bool {
    let pickup = |method: &str| matches!(method, "local_pickup" | "pickup_location");
    shipping_address(order.shipping.as_ref()).is_some()
        && order
            .shipping_lines
            .iter()
            .any(|line| !given(&line.method_id).is_some_and(pickup))
}

fn cancelled(order: &Order, status: &str) -> (&'static str, Value) {
    ("OrderCancelled", json!({ "order_id": order.id.0, "reason": status }))
}

/// The order as the contract's `OrderConfirmed` detail; `null` without a billing email.
pub(super) fn confirmed(order: &Order, store: Store<'_>, created: bool) -> Result<Value, EventError> {
    let billing = order.billing.as_ref();
    let Some(email) = billing.and_then(|b| given(&b.email)) else {
        return Ok(Value::Null);
    };
    let currency = given(&order.currency).ok_or_else(|| error("body.currency", "is required"))?;
    let currency = Currency::parse(currency).map_err(|e| error("body.currency", e))?;
    let money = |amount: &Option<Amount>, path: &str| -> Result<u64, EventError> {
        amount.as_ref().map_or(Ok(0), |a| {
            a.minor_rounded(currency.exponent()).map_err(|r| error(path, r))
        })
    };
    let items = order
        .line_items
        .iter()
        .enumerate()
        .map(|(i, line)| item(line, currency, &format!("body.line_items[{i}]")))
        .collect::<Result<Vec<_>, _>>()?;
    let subtotal = order.line_items.iter().enumerate().try_fold(0u64, |sum, (i, line)| {
        Ok::<_, EventError>(sum.saturating_add(money(&line.subtotal, &format!("body.line_items[{i}].subtotal"))?))
    })?;
    let registered = order.customer_id.as_ref().filter(|id| id.0 != "0");
    // A checkbox ticked at checkout is a statement of then: read from the order's creation only,
    // and only as a yes (an unticked box does not undo a subscription made elsewhere).
    let stated = store
        .consent_meta
        .filter(|_| created)
        .and_then(|key| consent(meta(&order.meta_data, key).and_then(|m| m.text())))
        .filter(|yes| *yes);
    let customer = json!({
        "id": registered.map_or_else(|| guest_id(email), |id| id.0.clone()),
        "email": email,
        "first_name": billing.and_then(|b| given(&b.first_name)),
        "last_name": billing.and_then(|b| given(&b.last_name)),
        "country": billing.and_then(|b| given(&b.country)).or(order.shipping.as_ref().and_then(|s| given(&s.country))),
        "marketing_consent": stated,
    });
    let status_url = store.site.map(|site| match (registered, given(&order.order_key)) {
        (Some(_), _) | (None, None) => format!("{site}/my-account/view-order/{}/", order.id.0),
        (None, Some(key)) => format!("{site}/checkout/order-received/{}/?key={key}", order.id.0),
    });
    Ok(json!({ "order": {
        "id": order.id.0,
        "number": given(&order.number).map_or_else(|| format!("#{}", order.id.0), |n| format!("#{n}")),
        "customer": customer,
        "currency": currency.code(),
        "items": items,
        "subtotal": subtotal,
        "shipping": money(&order.shipping_total, "body.shipping_total")?,
        "discount": money(&order.discount_total, "body.discount_total")?,
        "tax": money(&order.total_tax, "body.total_tax")?,
        "total": money(&order.total, "body.total")?,
        "shipping_address": shipping_address(order.shipping.as_ref()),
        "cart_id": given(&order.cart_hash),
        "coupon_code": order.coupon_lines.iter().find_map(|c| given(&c.code)),
        "placed_at": gmt(&order.date_created_gmt),
        "status_url": status_url,
    }}))
}

/// A line: its unit price is the line's subtotal (before discounts) over its quantity, since
/// `price` is a float WooCommerce rounds as it likes.
fn item(line: &LineItem, currency: Currency, path: &str) -> Result<Value, EventError> {
    let product = line.product_id.as_ref().filter(|p| p.0 != "0").map(|p| p.0.clone());
    let variation = line.variation_id.as_ref().filter(|v| v.0 != "0").map(|v| v.0.clone());
    let sku = given(&line.sku)
        .map(str::to_owned)
        .or_else(|| variation.as_ref().map(|v| format!("variation-{v}")))
        .or_else(|| product.as_ref().map(|p| format!("product-{p}")))
        .ok_or_else(|| error(&format!("{path}.sku"), "is required (or a product_id)"))?;
    let quantity = line.quantity.map_or(1, |q| q.0).max(1);
    let subtotal = line
        .subtotal
        .as_ref()
        .ok_or_else(|| error(&format!("{path}.subtotal"), "is required"))?
        .minor_rounded(currency.exponent())
        .map_err(|r| error(&format!("{path}.subtotal"), r))?;
    // Attributes of a variation (`pa_color: black`), shown as the variant; WooCommerce's own
    // entries start with `_`.
    let attributes: Vec<String> = line
        .meta_data
        .iter()
        .filter(|m| m.key.as_deref().is_some_and(|k| !k.starts_with('_')))
        .filter_map(|m| {
            let shown = m.display_value.as_ref().and_then(super::payload::scalar);
            plain(&shown.or_else(|| m.text()))
        })
        .collect();
    Ok(json!({
        "sku": sku,
        "product_id": product.unwrap_or_else(|| format!("custom-{sku}")),
        "name": plain(&line.name).ok_or_else(|| error(&format!("{path}.name"), "is required"))?,
        "variant": (!attributes.is_empty()).then(|| attributes.join(" / ")),
        "quantity": quantity,
        "unit_price": u64::try_from((u128::from(subtotal) + u128::from(quantity) / 2) / u128::from(quantity)).unwrap_or(u64::MAX),
        "image_url": line.image.as_ref().and_then(|i| given(&i.src)),
    }))
}

/// The contract's address, when the order ships somewhere (digital goods have blank fields).
fn shipping_address(address: Option<&Address>) -> Option<Value> {
    let address = address?;
    let line1 = given(&address.address_1)?;
    let names: Vec<&str> = [given(&address.first_name), given(&address.last_name)]
        .into_iter()
        .flatten()
        .collect();
    Some(json!({
        "name": names.join(" "),
        "line1": line1,
        "line2": given(&address.address_2),
        "city": given(&address.city),
        "region": given(&address.state),
        "postal_code": given(&address.postcode),
        "country": given(&address.country),
    }))
}
