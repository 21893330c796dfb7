//! Shopify orders: `orders/create` (and `orders/paid`) → `OrderConfirmed`, `orders/cancelled` →
//! `OrderCancelled`. Amounts are the customer's: the presentment money of each `*_set`.

use super::customers::buyer;
use super::payload::{Address, LineItem, MoneySet, Order};
use super::{Routed, error, given};
use crate::domain::Currency;
use crate::event::EventError;
use crate::vendor::Amount;
use serde_json::{Value, json};

/// `orders/create`, `orders/paid`: the confirmation (a second one for the same order is a duplicate
/// by its id and sends nothing). `orders/paid` comes days later for a bank transfer: what its
/// buyer ticked at checkout is no statement of now, so it `restates` no consent.
pub(super) fn confirmed(order: &Order, restates: bool) -> Result<Routed, EventError> {
    let Some(email) = given(&order.email).or(given(&order.contact_email)) else {
        // Point of sale, draft and phone orders often have no address to write to.
        return Ok(Routed::Ignored("an order without an email address"));
    };
    let pricing = Pricing::of(order)?;
    let items = order
        .line_items
        .iter()
        .enumerate()
        .map(|(i, line)| pricing.line(line, &format!("detail.payload.line_items[{i}]")))
        .collect::<Result<Vec<_>, _>>()?;
    let shipping = match &order.total_shipping_price_set {
        Some(set) => pricing.amount(Some(set), None, "detail.payload.total_shipping_price_set")?,
        None => order
            .shipping_lines
            .iter()
            .enumerate()
            .try_fold(0u64, |sum, (i, line)| {
                let path = format!("detail.payload.shipping_lines[{i}].price");
                Ok::<_, EventError>(sum.saturating_add(pricing.amount(
                    line.price_set.as_ref(),
                    line.price.as_ref(),
                    &path,
                )?))
            })?,
    };
    // The contract's subtotal is the lines' sum; Shopify's `subtotal_price` is after discounts,
    // which the email shows as their own line.
    let subtotal = match (&order.total_line_items_price_set, &order.total_line_items_price) {
        (None, None) => pricing.amount(
            order.subtotal_price_set.as_ref(),
            order.subtotal_price.as_ref(),
            "detail.payload.subtotal_price",
        )?,
        (set, plain) => pricing.amount(set.as_ref(), plain.as_ref(), "detail.payload.total_line_items_price")?,
    };
    let number = given(&order.name)
        .map(str::to_owned)
        .or_else(|| order.order_number.as_ref().map(|n| format!("#{}", n.0)))
        .unwrap_or_else(|| order.id.0.clone());
    let mut customer = buyer(
        order.customer.as_ref(),
        email,
        given(&order.customer_locale),
        order.shipping_address.as_ref(),
        order.buyer_accepts_marketing,
    );
    if !restates {
        customer["marketing_consent"] = Value::Null;
        customer["consent_updated_at"] = Value::Null;
    }
    let detail = json!({ "order": {
        "id": order.id.0,
        "number": number,
        "customer": customer,
        "currency": pricing.currency.code(),
        "items": items,
        "subtotal": subtotal,
        "shipping": shipping,
        "discount": pricing.amount(order.total_discounts_set.as_ref(), order.total_discounts.as_ref(), "detail.payload.total_discounts")?,
        "tax": pricing.amount(order.total_tax_set.as_ref(), order.total_tax.as_ref(), "detail.payload.total_tax")?,
        "total": pricing.amount(order.total_price_set.as_ref(), order.total_price.as_ref(), "detail.payload.total_price")?,
        "shipping_address": order.shipping_address.as_ref().map(address),
        "cart_id": given(&order.checkout_token),
        "coupon_code": order.discount_codes.iter().find_map(|d| given(&d.code)),
        "placed_at": given(&order.created_at),
        "status_url": given(&order.order_status_url),
    }});
    Ok(Routed::Events(vec![("OrderConfirmed", detail)]))
}

/// `orders/updated`: nothing new for an order already confirmed, except that it was cancelled.
pub(super) fn updated(order: &Order) -> Result<Routed, EventError> {
    if given(&order.cancelled_at).is_some() {
        return Ok(cancelled(order));
    }
    Ok(Routed::Ignored(
        "an order update: the order was confirmed by orders/create",
    ))
}

/// `orders/cancelled` → `OrderCancelled`.
pub(super) fn cancelled(order: &Order) -> Routed {
    Routed::Events(vec![(
        "OrderCancelled",
        json!({ "order_id": order.id.0, "reason": given(&order.cancel_reason) }),
    )])
}

/// A line's SKU, or a stand-in the order's fulfillments repeat (Shopify allows lines without one).
pub(super) fn sku(line: &LineItem) -> Option<String> {
    given(&line.sku)
        .map(str::to_owned)
        .or_else(|| line.variant_id.as_ref().map(|v| format!("variant-{}", v.0)))
        .or_else(|| line.id.as_ref().map(|v| format!("line-{}", v.0)))
}

fn address(address: &Address) -> Value {
    let name = given(&address.name).map(str::to_owned).or_else(|| {
        let parts: Vec<&str> = [given(&address.first_name), given(&address.last_name)]
            .into_iter()
            .flatten()
            .collect();
        (!parts.is_empty()).then(|| parts.join(" "))
    });
    json!({
        "name": name,
        "line1": given(&address.address1),
        "line2": given(&address.address2),
        "city": given(&address.city),
        "region": given(&address.province_code).or(given(&address.province)),
        "postal_code": given(&address.zip),
        "country": given(&address.country_code),
    })
}

/// Which amounts count: the presentment money (what the customer paid in) when the order has
/// `*_set` fields (API 2019-10 on), else the plain fields in the order's `currency`.
pub(super) struct Pricing {
    pub(super) currency: Currency,
    presentment: bool,
    shop: Option<String>,
}

impl Pricing {
    fn of(order: &Order) -> Result<Self, EventError> {
        let presentment = order
            .total_price_set
            .as_ref()
            .and_then(|s| s.presentment_money.as_ref())
            .map(|m| m.currency_code.as_str());
        let (code, field) = match (presentment, given(&order.presentment_currency), given(&order.currency)) {
            (Some(code), _, _) => (code, "detail.payload.total_price_set.presentment_money.currency_code"),
            (None, _, Some(code)) => (code, "detail.payload.currency"),
            (None, Some(code), None) => (code, "detail.payload.presentment_currency"),
            (None, None, None) => return Err(error("detail.payload.currency", "is required")),
        };
        Ok(Self {
            currency: Currency::parse(code).map_err(|e| error(field, e))?,
            presentment: presentment.is_some(),
            shop: given(&order.currency).map(str::to_owned),
        })
    }

    /// The plain amounts of a checkout, in its presentment currency.
    pub(super) fn plain(currency: Currency) -> Self {
        Self {
            currency,
            presentment: false,
            shop: None,
        }
    }

    /// One amount in minor units: from `set` (its presentment money) or the plain field.
    pub(super) fn amount(&self, set: Option<&MoneySet>, plain: Option<&Amount>, path: &str) -> Result<u64, EventError> {
        let exponent = self.currency.exponent();
        let set_path = if path.ends_with("_set") {
            path.to_owned()
        } else {
            format!("{path}_set")
        };
        if self.presentment {
            if let Some(money) = set.and_then(|s| s.presentment_money.as_ref()) {
                if money.currency_code != self.currency.code() {
                    return Err(error(
                        &format!("{set_path}.presentment_money.currency_code"),
                        "differs from the order's",
                    ));
                }
                return money
                    .amount
                    .minor(exponent)
                    .map_err(|r| error(&format!("{set_path}.presentment_money.amount"), r));
            }
            // A field without its set is the shop's money: usable only when that is the customer's.
            if self.shop.as_deref() != Some(self.currency.code()) {
                return Err(error(&format!("{set_path}.presentment_money"), "is required"));
            }
        }
        let in_set = set.and_then(|s| s.presentment_money.as_ref());
        match (plain, in_set) {
            (Some(amount), _) => amount.minor(exponent).map_err(|r| error(path, r)),
            (None, Some(money)) if money.currency_code == self.currency.code() => money
                .amount
                .minor(exponent)
                .map_err(|r| error(&format!("{set_path}.presentment_money.amount"), r)),
            // Not given at all (an order without shipping lines has no shipping).
            (None, None) if set.is_none() => Ok(0),
            _ => Err(error(path, "is required")),
        }
    }

    /// A line item in the contract's shape.
    pub(super) fn line(&self, line: &LineItem, path: &str) -> Result<Value, EventError> {
        let sku = sku(line).ok_or_else(|| error(&format!("{path}.sku"), "is required"))?;
        let product = line
            .product_id
            .as_ref()
            .map_or_else(|| format!("custom-{sku}"), |p| p.0.clone());
        let name = given(&line.presentment_title)
            .or(given(&line.title))
            .or(given(&line.name))
            .ok_or_else(|| error(&format!("{path}.title"), "is required"))?;
        Ok(json!({
            "sku": sku,
            "product_id": product,
            "name": name,
            "variant": given(&line.presentment_variant_title).or(given(&line.variant_title)),
            "quantity": line.quantity.unwrap_or(1),
            "unit_price": self.amount(line.price_set.as_ref(), line.price.as_ref(), &format!("{path}.price"))?,
        }))
    }
}
