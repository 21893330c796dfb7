//! Shopify's Orders export (admin → Orders → Export → CSV): one row per line item, the order's
//! own columns on its first row only. Read into what tidings knows of past orders: each buyer's
//! history, keyed by the pseudonym of their address (the export has no customer ids), and the
//! co-purchase statistics, products keyed by SKU (it has no product ids). Nothing is sent or
//! scheduled: `tidings import` writes the state, and later events join it by address.

use crate::domain::{Currency, Customer, CustomerId, EmailAddress, LineItem, Order, OrderId, ProductId, Text};
use crate::guest::GuestIds;
use crate::ports::{CustomerRecord, ProductStats};
use crate::vendor::minor_units;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::io::Read;

/// The columns read; the rest of the export's ~80 are ignored.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Row {
    #[serde(rename = "Name")]
    name: String,
    #[serde(rename = "Email")]
    email: String,
    #[serde(rename = "Created at")]
    created_at: String,
    #[serde(rename = "Currency")]
    currency: String,
    #[serde(rename = "Accepts Marketing")]
    accepts_marketing: String,
    #[serde(rename = "Fulfillment Status")]
    fulfillment_status: String,
    #[serde(rename = "Cancelled at")]
    cancelled_at: String,
    #[serde(rename = "Lineitem quantity")]
    quantity: String,
    #[serde(rename = "Lineitem name")]
    item_name: String,
    #[serde(rename = "Lineitem price")]
    price: String,
    #[serde(rename = "Lineitem sku")]
    sku: String,
    #[serde(rename = "Id")]
    id: String,
}

/// Columns without which the export cannot be read.
const REQUIRED: &[&str] = &[
    "Name",
    "Email",
    "Created at",
    "Currency",
    "Lineitem name",
    "Lineitem quantity",
    "Lineitem price",
];

/// Why the file could not be read at all (a bad row is a [`RowError`], and skipped).
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// Not CSV, or unreadable.
    #[error("not a readable CSV file: {0}")]
    Csv(#[from] csv::Error),
    /// Not Shopify's Orders export.
    #[error("column '{0}' is missing: is this Shopify's Orders export?")]
    Column(&'static str),
    /// Not JSON (WooCommerce's order list), or not a list of orders.
    #[error("not the REST API's order list: {0}")]
    Json(String),
}

/// A row that was skipped: its line and why (never its values).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RowError {
    /// Line in the file (1 is the header).
    pub line: u64,
    /// What is wrong, naming the column.
    pub reason: String,
}

/// One order of the export.
#[derive(Clone, Debug)]
pub struct PastOrder {
    order: Order,
    cancelled: bool,
    fulfilled: bool,
}

impl PastOrder {
    /// A past order, and whether it was cancelled and fulfilled.
    pub(crate) fn new(order: Order, cancelled: bool, fulfilled: bool) -> Self {
        Self {
            order,
            cancelled,
            fulfilled,
        }
    }
}

/// What the file held.
#[derive(Debug, Default)]
pub struct Export {
    /// The orders, in file order.
    pub orders: Vec<PastOrder>,
    /// Rows skipped, by line.
    pub errors: Vec<RowError>,
}

/// Reads an Orders export. `progress` is told the bytes read so far, row by row.
pub fn read_export(input: impl Read, mut progress: impl FnMut(u64)) -> Result<Export, ImportError> {
    let mut reader = csv::ReaderBuilder::new().flexible(true).from_reader(input);
    let headers = reader.headers()?.clone();
    if let Some(missing) = REQUIRED
        .iter()
        .find(|c| !headers.iter().any(|h| h.trim_start_matches('\u{feff}') == **c))
    {
        return Err(ImportError::Column(missing));
    }
    let mut export = Export::default();
    // Rows of an order whose first row was skipped are skipped with it.
    let mut skipped_name: Option<String> = None;
    let mut record = csv::StringRecord::new();
    while reader.read_record(&mut record)? {
        let line = record.position().map_or(0, csv::Position::line);
        progress(record.position().map_or(0, csv::Position::byte));
        let row: Row = match record.deserialize(Some(&headers)) {
            Ok(row) => row,
            Err(e) => {
                export.errors.push(RowError {
                    line,
                    reason: e.to_string(),
                });
                continue;
            }
        };
        let continues = export
            .orders
            .last()
            .is_some_and(|o| o.order.number.as_str() == row.name.trim());
        if skipped_name.as_deref() == Some(row.name.trim()) && !continues {
            export.errors.push(RowError {
                line,
                reason: "the first row of this order was skipped".into(),
            });
            continue;
        }
        let result = if continues {
            let order = export.orders.last_mut().map(|o| &mut o.order);
            order.map_or(Ok(()), |order| {
                line_of(&row, order.currency).map(|item| order.items.push(item))
            })
        } else {
            order_of(&row).map(|order| export.orders.push(order))
        };
        if let Err(reason) = result {
            if !continues {
                skipped_name = Some(row.name.trim().to_owned());
            }
            export.errors.push(RowError { line, reason });
        }
    }
    Ok(export)
}

fn order_of(row: &Row) -> Result<PastOrder, String> {
    let email = EmailAddress::parse(row.email.trim()).map_err(|e| format!("Email: {e}"))?;
    let currency = Currency::parse(row.currency.trim()).map_err(|e| format!("Currency: {e}"))?;
    let placed_at = time(&row.created_at).ok_or("Created at: not a time like 2026-05-01 09:59:00 +0200")?;
    let number = Text::new(row.name.trim());
    let id = if row.id.trim().is_empty() {
        row.name.trim()
    } else {
        row.id.trim()
    };
    let id = OrderId::parse(id).map_err(|e| format!("Id: {e}"))?;
    let guest = CustomerId::parse(&format!("{}{}", crate::domain::guest_id::PREFIX, email.as_str()))
        .map_err(|e| format!("Email: {e}"))?;
    let customer = Customer {
        marketing_consent: Some(row.accepts_marketing.trim().eq_ignore_ascii_case("yes")),
        ..Customer::new(guest, email)
    };
    let mut order = Order {
        id,
        number,
        customer,
        currency,
        items: vec![],
        subtotal: 0,
        shipping: 0,
        discount: 0,
        tax: 0,
        total: 0,
        shipping_address: None,
        estimated_delivery: None,
        lead_time_days: None,
        cart_id: None,
        coupon_code: None,
        placed_at,
        status_url: None,
    };
    order.items.push(line_of(row, currency)?);
    Ok(PastOrder {
        order,
        cancelled: !row.cancelled_at.trim().is_empty(),
        fulfilled: row.fulfillment_status.trim() == "fulfilled",
    })
}

fn line_of(row: &Row, currency: Currency) -> Result<LineItem, String> {
    let quantity: u32 = row
        .quantity
        .trim()
        .parse()
        .map_err(|_| "Lineitem quantity: not a whole number".to_owned())?;
    let unit_price = minor_units(&row.price, currency.exponent()).map_err(|e| format!("Lineitem price: {e}"))?;
    let name = row.item_name.trim();
    if name.is_empty() {
        return Err("Lineitem name: is empty".into());
    }
    // No product ids in the export: a product is its SKU (or, without one, its name).
    let sku = row.sku.trim();
    let product = if sku.is_empty() {
        format!("name:{name}")
    } else {
        format!("sku:{sku}")
    };
    Ok(LineItem {
        sku: Text::new(if sku.is_empty() { name } else { sku }),
        product_id: ProductId::parse(&product).map_err(|e| format!("Lineitem sku: {e}"))?,
        name: Text::new(name),
        variant: None,
        category: None,
        quantity,
        unit_price,
        image_url: None,
        url: None,
    })
}

/// `2026-05-01 09:59:00 +0200`, as the export writes times (RFC 3339 accepted too).
fn time(text: &str) -> Option<Timestamp> {
    let text = text.trim();
    jiff::fmt::strtime::parse("%Y-%m-%d %H:%M:%S %z", text)
        .and_then(|t| t.to_timestamp())
        .ok()
        .or_else(|| text.parse().ok())
}

/// Past orders as the state tidings keeps: customers (by address pseudonym) and product stats.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct History {
    /// One record per buyer address, keyed by its pseudonym.
    pub customers: Vec<CustomerRecord>,
    /// Co-purchase statistics of the imported orders.
    pub stats: ProductStats,
}

impl Export {
    /// The orders read, as the contract's orders (their customers named `guest:<email>`).
    pub fn past_orders(&self) -> impl Iterator<Item = &Order> {
        self.orders.iter().map(|past| &past.order)
    }

    /// The buyers' histories and the product statistics; `ids` makes the address pseudonyms.
    pub fn history(&self, ids: &GuestIds) -> History {
        let mut customers: BTreeMap<CustomerId, CustomerRecord> = BTreeMap::new();
        let mut stats = ProductStats::default();
        for past in &self.orders {
            let order = &past.order;
            stats.count(order, 1);
            let id = ids.customer_id(&order.customer.id);
            let record = customers.entry(id.clone()).or_insert_with(|| {
                let mut profile = order.customer.clone();
                profile.id = id;
                // Known as the engine would know a customer first seen in this order, no more.
                crate::engine::merge_customer(None, &profile, order.placed_at, false, false)
            });
            record.orders_confirmed += 1;
            record.orders_delivered += u32::from(past.fulfilled && !past.cancelled);
            record.last_order_at = record.last_order_at.max(Some(order.placed_at));
            record
                .purchased
                .extend(order.items.iter().map(|i| i.product_id.clone()));
            record.orders.insert(order.id.clone());
            if !past.cancelled {
                record.standing.insert(order.id.clone(), order.placed_at);
            }
            // The latest order's statement of consent is the one in force.
            if order.placed_at >= record.consent.at {
                record.consent.given = order.customer.marketing_consent == Some(true);
                record.consent.at = order.placed_at;
                record.profile.marketing_consent = order.customer.marketing_consent;
            }
        }
        History {
            customers: customers.into_values().collect(),
            stats,
        }
    }
}

#[cfg(test)]
mod tests;
