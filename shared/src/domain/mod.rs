//! The store's world as tidings sees it: parsed once at the edge, trusted everywhere else.

mod email;
pub mod guest_id;
pub mod inbound;
mod locale;
mod money;
pub mod parcel;
mod text;
mod time;
mod url;

pub use email::{EmailAddress, EmailError, Masked, Redacted};
pub use locale::{Locale, LocaleError};
pub use money::{Currency, CurrencyError, Money};
pub use text::{CartId, CustomerId, IdError, MAX_ID_LEN, MAX_TEXT_CHARS, OrderId, ProductId, ShipmentId, Text, clean};
pub use time::{Birthday, BirthdayError, TimeZoneError, Zone, plausible, plausible_time, plausible_time_opt};
pub use url::{MAX_URL_LEN, UrlError, WebUrl};

use jiff::Timestamp;
use jiff::civil::Date;
use serde::{Deserialize, Serialize};

/// A customer as embedded in events (events.md, `Customer`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Customer {
    /// Store's customer id; guests are `guest:<email>`.
    pub id: CustomerId,
    /// Where mail goes.
    pub email: EmailAddress,
    /// Given name.
    #[serde(default)]
    pub first_name: Option<Text>,
    /// Family name.
    #[serde(default)]
    pub last_name: Option<Text>,
    /// Preferred language; store default when absent.
    #[serde(default)]
    pub locale: Option<Locale>,
    /// ISO 3166 alpha-2 country.
    #[serde(default)]
    pub country: Option<Text>,
    /// Home time zone; store default when absent.
    #[serde(default)]
    pub time_zone: Option<Zone>,
    /// Birthday (year optional).
    #[serde(default)]
    pub birthday: Option<Birthday>,
    /// When the customer created an account.
    #[serde(default, deserialize_with = "plausible_time_opt")]
    pub signed_up_at: Option<Timestamp>,
    /// Explicit opt-in for marketing mail; absent when the event states nothing about it (a
    /// Shopify order whose buyer did not tick the box): what is known stands.
    #[serde(default)]
    pub marketing_consent: Option<bool>,
    /// When the customer made that statement at the store (Shopify's `consent_updated_at`); only a
    /// statement with its own time can lift a tidings unsubscribe.
    #[serde(default, deserialize_with = "plausible_time_opt")]
    pub consent_updated_at: Option<Timestamp>,
    /// Store segments such as `vip`.
    #[serde(default, deserialize_with = "null_as_default")]
    pub tags: Vec<Text>,
}

impl Customer {
    /// A customer known by an id and an address alone, who said nothing about consent.
    pub fn new(id: CustomerId, email: EmailAddress) -> Self {
        Self {
            id,
            email,
            first_name: None,
            last_name: None,
            locale: None,
            country: None,
            time_zone: None,
            birthday: None,
            signed_up_at: None,
            marketing_consent: None,
            consent_updated_at: None,
            tags: vec![],
        }
    }

    /// `new` from text, with consent refused (unit tests fill in the rest).
    #[cfg(test)]
    pub(crate) fn bare(id: &str, email: &str) -> Self {
        Self {
            marketing_consent: Some(false),
            ..Self::new(
                CustomerId::parse(id).expect("id"),
                EmailAddress::parse(email).expect("email"),
            )
        }
    }
}

/// A product line of an order or cart.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LineItem {
    /// Stock keeping unit.
    pub sku: Text,
    /// The product this is a variant of.
    pub product_id: ProductId,
    /// Product title.
    pub name: Text,
    /// Variant title (`Blue`).
    #[serde(default)]
    pub variant: Option<Text>,
    /// Store category, used for recommendations.
    #[serde(default)]
    pub category: Option<Text>,
    /// How many.
    pub quantity: u32,
    /// Price of one, in minor units of the order currency (at most `MAX_AMOUNT`).
    #[serde(deserialize_with = "bounded_amount")]
    pub unit_price: u64,
    /// Product image (dropped unless http(s)).
    #[serde(default, deserialize_with = "image_url")]
    pub image_url: Option<WebUrl>,
    /// Product page (dropped unless http(s)).
    #[serde(default, deserialize_with = "product_url")]
    pub url: Option<WebUrl>,
}

/// A product as the store describes it (`ProductUpdated`): what emails show of the lines that
/// name it when the order's own lines carry no image or link (Shopify's do not).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Product {
    /// The id order lines name it by.
    pub id: ProductId,
    /// Title.
    pub name: Text,
    /// Store category.
    #[serde(default)]
    pub category: Option<Text>,
    /// Product image (dropped unless http(s)).
    #[serde(default, deserialize_with = "image_url")]
    pub image_url: Option<WebUrl>,
    /// Product page (dropped unless http(s)).
    #[serde(default, deserialize_with = "product_url")]
    pub url: Option<WebUrl>,
}

/// A postal address.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Address {
    /// Recipient.
    pub name: Text,
    /// Street line.
    pub line1: Text,
    /// Second street line.
    #[serde(default)]
    pub line2: Option<Text>,
    /// City.
    pub city: Text,
    /// State, province or region.
    #[serde(default)]
    pub region: Option<Text>,
    /// Postal code.
    pub postal_code: Text,
    /// ISO 3166 alpha-2 country.
    pub country: Text,
}

/// An order as confirmed by the store.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Order {
    /// Store's order id.
    pub id: OrderId,
    /// Display number (`#1001`).
    pub number: Text,
    /// Who ordered.
    pub customer: Customer,
    /// Currency of every amount below.
    pub currency: Currency,
    /// What was bought.
    #[serde(deserialize_with = "bounded_items")]
    pub items: Vec<LineItem>,
    /// Sum of the items.
    #[serde(deserialize_with = "bounded_amount")]
    pub subtotal: u64,
    /// Shipping charged.
    #[serde(deserialize_with = "bounded_amount")]
    pub shipping: u64,
    /// Discount granted.
    #[serde(deserialize_with = "bounded_amount")]
    pub discount: u64,
    /// Tax charged.
    #[serde(deserialize_with = "bounded_amount")]
    pub tax: u64,
    /// Amount paid.
    #[serde(deserialize_with = "bounded_amount")]
    pub total: u64,
    /// Where it goes (absent for digital goods).
    #[serde(default)]
    pub shipping_address: Option<Address>,
    /// Expected delivery date.
    #[serde(default)]
    pub estimated_delivery: Option<Date>,
    /// Made-to-order / pre-order wait before shipping (at most `MAX_LEAD_TIME_DAYS`).
    #[serde(default, deserialize_with = "bounded_lead_time")]
    pub lead_time_days: Option<u32>,
    /// The cart this order was placed from.
    #[serde(default)]
    pub cart_id: Option<CartId>,
    /// Coupon used.
    #[serde(default)]
    pub coupon_code: Option<Text>,
    /// When it was placed.
    #[serde(deserialize_with = "plausible_time")]
    pub placed_at: Timestamp,
    /// The store's order page (dropped unless http(s)).
    #[serde(default, deserialize_with = "status_url")]
    pub status_url: Option<WebUrl>,
}

impl Order {
    /// Shrinks the lines to fit a stored record (see `MAX_ITEMS_BYTES`); what was done, if anything.
    pub fn fit_items(&mut self) -> Option<String> {
        fit(&mut self.items)
    }

    /// An amount of this order's currency. Parsed amounts and line totals are at most
    /// `MAX_AMOUNT`, so this never saturates for them.
    pub fn money(&self, minor: u64) -> Money {
        Money::new(i64::try_from(minor).unwrap_or(i64::MAX), self.currency)
    }
}

/// A shipment of (part of) an order.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Shipment {
    /// Shipment id.
    pub id: ShipmentId,
    /// Carrier code (`ups`, `cj`).
    pub carrier: Text,
    /// Display name overriding the carrier table.
    #[serde(default)]
    pub carrier_name: Option<Text>,
    /// Tracking number (absent for a parcel sent without one: a local delivery, a letter).
    #[serde(default)]
    pub tracking_number: Option<Text>,
    /// Tracking page; built from the carrier table when absent (or not http(s)).
    #[serde(default, deserialize_with = "tracking_url")]
    pub tracking_url: Option<WebUrl>,
    /// When it left.
    #[serde(deserialize_with = "plausible_time")]
    pub shipped_at: Timestamp,
    /// Expected delivery date.
    #[serde(default)]
    pub estimated_delivery: Option<Date>,
    /// What is inside a parcel of a split order; absent means the whole order (see `parcel`).
    #[serde(default, deserialize_with = "parcel_items")]
    pub items: Option<Vec<ShipmentItem>>,
}

/// One line of a parcel: matched to the order's line by `sku`, else by `product_id` + `variant`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ShipmentItem {
    /// SKU shipped.
    #[serde(default)]
    pub sku: Option<Text>,
    /// The product, when the sender has no SKU.
    #[serde(default)]
    pub product_id: Option<ProductId>,
    /// The variant of that product.
    #[serde(default)]
    pub variant: Option<Text>,
    /// How many.
    pub quantity: u32,
}

fn parcel_items<'de, D>(deserializer: D) -> Result<Option<Vec<ShipmentItem>>, D::Error>
where
    D: serde::Deserializer<'de>,
{
    let items = Option::<Vec<ShipmentItem>>::deserialize(deserializer)?;
    if let Some(items) = &items {
        if items.len() > MAX_ITEMS {
            return Err(serde::de::Error::custom(format!(
                "{} items; at most {MAX_ITEMS} are accepted",
                items.len()
            )));
        }
        if let Some(index) = items.iter().position(|i| i.sku.is_none() && i.product_id.is_none()) {
            return Err(serde::de::Error::custom(format!(
                "line {index} has neither a sku nor a product_id"
            )));
        }
    }
    Ok(items)
}

/// A carrier scan status (events.md; anything else is rejected).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ShipmentStatus {
    /// Moving; sends nothing.
    InTransit,
    /// On the van today.
    OutForDelivery,
    /// Late.
    Delayed,
    /// Carrier problem.
    Exception,
    /// Waiting at a pickup point.
    AvailableForPickup,
    /// Coming back to the store.
    ReturnedToSender,
}

impl ShipmentStatus {
    /// The wire name, used in message keys and template strings.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::InTransit => "in_transit",
            Self::OutForDelivery => "out_for_delivery",
            Self::Delayed => "delayed",
            Self::Exception => "exception",
            Self::AvailableForPickup => "available_for_pickup",
            Self::ReturnedToSender => "returned_to_sender",
        }
    }
}

/// A cart as last seen.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Cart {
    /// Cart id.
    pub id: CartId,
    /// Whose cart (guests still have an email).
    pub customer: Customer,
    /// Currency of the amounts.
    pub currency: Currency,
    /// What is in it; empty means emptied.
    #[serde(deserialize_with = "bounded_items")]
    pub items: Vec<LineItem>,
    /// Sum of the items.
    #[serde(deserialize_with = "bounded_amount")]
    pub subtotal: u64,
    /// Where to finish the purchase: required, so a link that is not http(s) rejects the cart.
    pub checkout_url: WebUrl,
    /// Last change; the latest version wins.
    #[serde(deserialize_with = "plausible_time")]
    pub updated_at: Timestamp,
}

impl Cart {
    /// Shrinks the lines to fit a stored record (see `MAX_ITEMS_BYTES`); what was done, if anything.
    pub fn fit_items(&mut self) -> Option<String> {
        fit(&mut self.items)
    }

    /// An amount of this cart's currency (bounded like `Order::money`).
    pub fn money(&self, minor: u64) -> Money {
        Money::new(i64::try_from(minor).unwrap_or(i64::MAX), self.currency)
    }
}

/// The most an order's or a cart's lines may take, serialized: with the rest of the record and
/// the shipments and scans added later, well inside DynamoDB's 400 KB item limit.
pub const MAX_ITEMS_BYTES: usize = 200 * 1024;

/// Shrinks `items` until they fit `MAX_ITEMS_BYTES`: first the links go (images, product pages),
/// then the texts are cut short. `Some(what was done)` when anything was.
fn fit(items: &mut [LineItem]) -> Option<String> {
    let size = |items: &[LineItem]| serde_json::to_vec(items).map_or(usize::MAX, |json| json.len());
    if size(items) <= MAX_ITEMS_BYTES {
        return None;
    }
    for item in items.iter_mut() {
        item.image_url = None;
        item.url = None;
    }
    if size(items) <= MAX_ITEMS_BYTES {
        return Some(format!(
            "lines over {MAX_ITEMS_BYTES} bytes: images and product links left out"
        ));
    }
    let cut = |text: &Text| Text::new(&text.as_str().chars().take(60).collect::<String>());
    for item in items.iter_mut() {
        item.name = cut(&item.name);
        item.sku = cut(&item.sku);
        item.variant = item.variant.as_ref().map(cut);
        item.category = item.category.as_ref().map(cut);
    }
    Some(format!(
        "lines over {MAX_ITEMS_BYTES} bytes: images and product links left out, texts cut to 60 characters"
    ))
}

/// Most lines an order or cart may have: an email lists them all, and must stay readable and
/// under Gmail's 102 KB clipping limit.
pub const MAX_ITEMS: usize = 250;

fn bounded_items<'de, D>(deserializer: D) -> Result<Vec<LineItem>, D::Error>
where
    D: serde::Deserializer<'de>,
{
    let items = Vec::<LineItem>::deserialize(deserializer)?;
    if items.len() > MAX_ITEMS {
        return Err(serde::de::Error::custom(format!(
            "{} items; at most {MAX_ITEMS} are accepted",
            items.len()
        )));
    }
    // A line's total is shown too: it must be money as well.
    if let Some(index) = items.iter().position(|i| {
        i.unit_price
            .checked_mul(u64::from(i.quantity))
            .is_none_or(|total| total > MAX_AMOUNT)
    }) {
        return Err(serde::de::Error::custom(format!(
            "line {index}: quantity × unit_price is above {MAX_AMOUNT} minor units"
        )));
    }
    Ok(items)
}

/// The largest amount accepted, in minor units: 10^15 (ten trillion dollars, a quadrillion won).
/// Anything above is a bug in the sender, refused by field rather than shown clamped; it also
/// keeps every amount and line total well inside `i64`.
pub const MAX_AMOUNT: u64 = 1_000_000_000_000_000;

fn bounded_amount<'de, D>(deserializer: D) -> Result<u64, D::Error>
where
    D: serde::Deserializer<'de>,
{
    let amount = u64::deserialize(deserializer)?;
    if amount > MAX_AMOUNT && inbound::is_parsing() {
        return Err(serde::de::Error::custom(format!(
            "{amount} minor units; at most {MAX_AMOUNT} are accepted"
        )));
    }
    Ok(amount)
}

/// The longest made-to-order wait accepted: ten years (longer ones are typos, and would overflow
/// the dates computed from them).
pub const MAX_LEAD_TIME_DAYS: u32 = 3650;

fn bounded_lead_time<'de, D>(deserializer: D) -> Result<Option<u32>, D::Error>
where
    D: serde::Deserializer<'de>,
{
    match Option::<u32>::deserialize(deserializer)? {
        Some(days) if days > MAX_LEAD_TIME_DAYS && inbound::is_parsing() => Err(serde::de::Error::custom(format!(
            "{days} days; at most {MAX_LEAD_TIME_DAYS} are accepted"
        ))),
        days => Ok(days),
    }
}

/// Optional links, each naming its field when it drops one (see [`url::optional_link`]).
pub(crate) fn image_url<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Option<WebUrl>, D::Error> {
    url::optional_link(deserializer, "image_url")
}
pub(crate) fn product_url<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Option<WebUrl>, D::Error> {
    url::optional_link(deserializer, "url")
}
fn status_url<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Option<WebUrl>, D::Error> {
    url::optional_link(deserializer, "status_url")
}
fn tracking_url<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Option<WebUrl>, D::Error> {
    url::optional_link(deserializer, "tracking_url")
}

/// `null` in JSON means "not given", like an absent field.
fn null_as_default<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(deserializer)?.unwrap_or_default())
}
