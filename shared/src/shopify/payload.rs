//! Shopify's REST webhook resources, as much of them as tidings reads. Everything is optional
//! unless an event cannot mean anything without it; unknown fields are ignored.

pub(super) use crate::vendor::Id;
use crate::vendor::{Amount, list};
use serde::Deserialize;

/// An amount in the shop's and in the customer's currency (`price_set`, `total_price_set`, …).
#[derive(Debug, Deserialize)]
pub(super) struct MoneySet {
    pub(super) presentment_money: Option<Money>,
}

#[derive(Debug, Deserialize)]
pub(super) struct Money {
    pub(super) amount: Amount,
    pub(super) currency_code: String,
}

#[derive(Debug, Deserialize)]
pub(super) struct Order {
    pub(super) id: Id,
    pub(super) name: Option<String>,
    pub(super) order_number: Option<Id>,
    pub(super) email: Option<String>,
    pub(super) contact_email: Option<String>,
    pub(super) created_at: Option<String>,
    pub(super) currency: Option<String>,
    pub(super) presentment_currency: Option<String>,
    pub(super) customer: Option<Customer>,
    pub(super) customer_locale: Option<String>,
    #[serde(default, deserialize_with = "list")]
    pub(super) line_items: Vec<LineItem>,
    pub(super) subtotal_price: Option<Amount>,
    pub(super) subtotal_price_set: Option<MoneySet>,
    pub(super) total_line_items_price: Option<Amount>,
    pub(super) total_line_items_price_set: Option<MoneySet>,
    pub(super) total_price: Option<Amount>,
    pub(super) total_price_set: Option<MoneySet>,
    pub(super) total_tax: Option<Amount>,
    pub(super) total_tax_set: Option<MoneySet>,
    pub(super) total_discounts: Option<Amount>,
    pub(super) total_discounts_set: Option<MoneySet>,
    pub(super) total_shipping_price_set: Option<MoneySet>,
    #[serde(default, deserialize_with = "list")]
    pub(super) shipping_lines: Vec<ShippingLine>,
    pub(super) shipping_address: Option<Address>,
    #[serde(default, deserialize_with = "list")]
    pub(super) discount_codes: Vec<DiscountCode>,
    pub(super) order_status_url: Option<String>,
    pub(super) checkout_token: Option<String>,
    pub(super) cancel_reason: Option<String>,
    pub(super) cancelled_at: Option<String>,
    pub(super) buyer_accepts_marketing: Option<bool>,
}

#[derive(Debug, Deserialize)]
pub(super) struct LineItem {
    pub(super) id: Option<Id>,
    pub(super) title: Option<String>,
    /// The title in the customer's language (checkouts).
    pub(super) presentment_title: Option<String>,
    pub(super) name: Option<String>,
    pub(super) variant_title: Option<String>,
    pub(super) presentment_variant_title: Option<String>,
    pub(super) sku: Option<String>,
    pub(super) product_id: Option<Id>,
    pub(super) variant_id: Option<Id>,
    pub(super) quantity: Option<u32>,
    pub(super) price: Option<Amount>,
    pub(super) price_set: Option<MoneySet>,
}

#[derive(Debug, Deserialize)]
pub(super) struct ShippingLine {
    pub(super) price: Option<Amount>,
    pub(super) price_set: Option<MoneySet>,
}

#[derive(Debug, Deserialize)]
pub(super) struct DiscountCode {
    pub(super) code: Option<String>,
}

#[derive(Debug, Deserialize)]
pub(super) struct Address {
    pub(super) name: Option<String>,
    pub(super) first_name: Option<String>,
    pub(super) last_name: Option<String>,
    pub(super) address1: Option<String>,
    pub(super) address2: Option<String>,
    pub(super) city: Option<String>,
    pub(super) province_code: Option<String>,
    pub(super) province: Option<String>,
    pub(super) zip: Option<String>,
    pub(super) country_code: Option<String>,
}

#[derive(Debug, Deserialize)]
pub(super) struct Customer {
    pub(super) id: Option<Id>,
    pub(super) email: Option<String>,
    pub(super) first_name: Option<String>,
    pub(super) last_name: Option<String>,
    pub(super) locale: Option<String>,
    pub(super) created_at: Option<String>,
    pub(super) tags: Option<String>,
    pub(super) accepts_marketing: Option<bool>,
    pub(super) accepts_marketing_updated_at: Option<String>,
    pub(super) email_marketing_consent: Option<Consent>,
    pub(super) default_address: Option<Address>,
}

/// `email_marketing_consent` (API 2022-04 on; `accepts_marketing` before).
#[derive(Debug, Deserialize)]
pub(super) struct Consent {
    pub(super) state: Option<String>,
    pub(super) consent_updated_at: Option<String>,
}

/// `customers_email_marketing_consent/update`: the consent alone.
#[derive(Debug, Deserialize)]
pub(super) struct ConsentUpdate {
    pub(super) customer_id: Id,
    pub(super) email_address: Option<String>,
    pub(super) email_marketing_consent: Option<Consent>,
}

#[derive(Debug, Deserialize)]
pub(super) struct Fulfillment {
    pub(super) id: Id,
    pub(super) order_id: Id,
    pub(super) created_at: Option<String>,
    pub(super) status: Option<String>,
    pub(super) shipment_status: Option<String>,
    pub(super) tracking_company: Option<String>,
    pub(super) tracking_number: Option<String>,
    #[serde(default, deserialize_with = "list")]
    pub(super) tracking_numbers: Vec<String>,
    pub(super) tracking_url: Option<String>,
    #[serde(default, deserialize_with = "list")]
    pub(super) tracking_urls: Vec<String>,
    #[serde(default, deserialize_with = "list")]
    pub(super) line_items: Vec<LineItem>,
    pub(super) updated_at: Option<String>,
}

#[derive(Debug, Deserialize)]
pub(super) struct FulfillmentEvent {
    pub(super) fulfillment_id: Id,
    pub(super) order_id: Id,
    pub(super) status: Option<String>,
    pub(super) message: Option<String>,
    pub(super) happened_at: Option<String>,
    pub(super) city: Option<String>,
    pub(super) province: Option<String>,
    pub(super) country: Option<String>,
    pub(super) estimated_delivery_at: Option<String>,
}

#[derive(Debug, Deserialize)]
pub(super) struct Checkout {
    pub(super) id: Option<Id>,
    pub(super) token: Option<String>,
    pub(super) email: Option<String>,
    pub(super) customer: Option<Customer>,
    pub(super) customer_locale: Option<String>,
    pub(super) created_at: Option<String>,
    pub(super) updated_at: Option<String>,
    pub(super) completed_at: Option<String>,
    pub(super) currency: Option<String>,
    pub(super) presentment_currency: Option<String>,
    #[serde(default, deserialize_with = "list")]
    pub(super) line_items: Vec<LineItem>,
    pub(super) subtotal_price: Option<Amount>,
    pub(super) abandoned_checkout_url: Option<String>,
    pub(super) buyer_accepts_marketing: Option<bool>,
}

/// `customers/redact`.
#[derive(Debug, Deserialize)]
pub(super) struct Redact {
    pub(super) customer: RedactCustomer,
}

#[derive(Debug, Deserialize)]
pub(super) struct RedactCustomer {
    pub(super) id: Option<Id>,
    pub(super) email: Option<String>,
}

/// `products/create|update`.
#[derive(Debug, Deserialize)]
pub(super) struct Product {
    pub(super) id: Id,
    pub(super) title: Option<String>,
    pub(super) handle: Option<String>,
    pub(super) status: Option<String>,
    pub(super) product_type: Option<String>,
    pub(super) category: Option<Category>,
    pub(super) image: Option<Image>,
    #[serde(default, deserialize_with = "list")]
    pub(super) images: Vec<Image>,
}

#[derive(Debug, Deserialize)]
pub(super) struct Category {
    pub(super) name: Option<String>,
}

#[derive(Debug, Deserialize)]
pub(super) struct Image {
    pub(super) src: Option<String>,
}
