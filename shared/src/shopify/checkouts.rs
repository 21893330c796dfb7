//! Shopify checkouts: `checkouts/create|update` → `CartUpdated`, with the checkout's
//! `abandoned_checkout_url` as the way back. A completed checkout is a cart emptied by its order.

use super::customers::buyer;
use super::orders::Pricing;
use super::payload::Checkout;
use super::{Routed, error, given};
use crate::domain::Currency;
use crate::event::EventError;
use serde_json::json;

pub(super) fn updated(checkout: &Checkout) -> Result<Routed, EventError> {
    let Some(email) = given(&checkout.email).or(checkout.customer.as_ref().and_then(|c| given(&c.email))) else {
        return Ok(Routed::Ignored("a checkout without an email address yet"));
    };
    let Some(url) = given(&checkout.abandoned_checkout_url) else {
        return Ok(Routed::Ignored("a checkout without a link back to it"));
    };
    // The checkout's token is what its order names as `checkout_token`.
    let id = given(&checkout.token)
        .map(str::to_owned)
        .or_else(|| checkout.id.as_ref().map(|id| id.0.clone()))
        .ok_or_else(|| error("detail.payload.token", "is required"))?;
    let (code, field) = match (given(&checkout.presentment_currency), given(&checkout.currency)) {
        (Some(code), _) => (code, "detail.payload.presentment_currency"),
        (None, Some(code)) => (code, "detail.payload.currency"),
        (None, None) => return Err(error("detail.payload.presentment_currency", "is required")),
    };
    let pricing = Pricing::plain(Currency::parse(code).map_err(|e| error(field, e))?);
    let bought = given(&checkout.completed_at).is_some();
    let items = if bought {
        vec![]
    } else {
        checkout
            .line_items
            .iter()
            .enumerate()
            .map(|(i, line)| pricing.line(line, &format!("detail.payload.line_items[{i}]")))
            .collect::<Result<Vec<_>, _>>()?
    };
    let subtotal = if bought {
        0
    } else {
        pricing.amount(None, checkout.subtotal_price.as_ref(), "detail.payload.subtotal_price")?
    };
    let customer = buyer(
        checkout.customer.as_ref(),
        email,
        given(&checkout.customer_locale),
        None,
        checkout.buyer_accepts_marketing,
    );
    let cart = json!({
        "id": id,
        "customer": customer,
        "currency": pricing.currency.code(),
        "items": items,
        "subtotal": subtotal,
        "checkout_url": url,
        "updated_at": given(&checkout.completed_at).or(given(&checkout.updated_at)).or(given(&checkout.created_at)),
    });
    Ok(Routed::Events(vec![("CartUpdated", json!({ "cart": cart }))]))
}
