//! WooCommerce's order list, as `GET /wp-json/wc/v3/orders` returns it: one JSON array, several
//! arrays one after another (pages saved in turn), or JSON Lines (one order per line). Read into
//! what tidings knows of past orders, as the Shopify export is (`shopify::import`): each buyer's
//! history (a registered customer by id, a guest by the pseudonym of the billing address) and the
//! co-purchase statistics. Nothing is sent or scheduled.

use super::Store;
use super::payload::Order;
use crate::event::{Event, Parsed, parse_envelope_value};
use crate::shopify::import::{Export, ImportError, PastOrder, RowError};
use crate::vendor::given;
use serde_json::{Value, json};
use std::io::Read;

/// Reads the orders. `progress` is told how many orders were read so far. An order that cannot
/// be read is skipped and reported by its position in the file (1 is the first order).
pub fn read_orders(input: impl Read, mut progress: impl FnMut(u64)) -> Result<Export, ImportError> {
    let mut export = Export::default();
    let mut position = 0u64;
    for value in serde_json::Deserializer::from_reader(input).into_iter::<Value>() {
        // serde's message names the value it met: only where and what kind of error.
        let value = value.map_err(|e| ImportError::Json(format!("line {}: {:?} error", e.line(), e.classify())))?;
        let orders = match value {
            Value::Array(page) => page,
            object @ Value::Object(_) => vec![object],
            _ => {
                return Err(ImportError::Json(
                    "expected orders (objects) or pages of them (arrays)".into(),
                ));
            }
        };
        for order in orders {
            position += 1;
            progress(position);
            match past_order(order) {
                Ok(Some(past)) => export.orders.push(past),
                Ok(None) => {}
                Err(reason) => export.errors.push(RowError { line: position, reason }),
            }
        }
    }
    Ok(export)
}

/// One order as a past order; `None` for one that never was (not paid, a draft).
fn past_order(value: Value) -> Result<Option<PastOrder>, String> {
    let order: Order = serde_json::from_value(value.clone()).map_err(|_| "not a WooCommerce order".to_owned())?;
    let status = given(&order.status).unwrap_or_default();
    let (cancelled, fulfilled) = match status {
        "processing" | "on-hold" => (false, false),
        "completed" => (false, true),
        "cancelled" | "refunded" => (true, false),
        // A failed payment is an order only once paid (as its webhook is read).
        "failed" if given(&order.date_paid_gmt).is_some() => (true, false),
        _ => return Ok(None),
    };
    let detail = super::orders::confirmed(&order, Store::default(), false).map_err(|e| e.to_string())?;
    if detail.is_null() {
        return Err("an order without an email address".into());
    }
    let time = detail["order"]["placed_at"].clone();
    let envelope = json!({"version": "0", "id": "import", "detail-type": "OrderConfirmed", "source": super::SOURCE,
        "time": if time.is_null() { json!("1970-01-01T00:00:00Z") } else { time }, "detail": detail});
    match parse_envelope_value(envelope).map_err(|e| e.to_string())? {
        Parsed::Known(event) => match event.event {
            Event::OrderConfirmed(order) => Ok(Some(PastOrder::new(*order, cancelled, fulfilled))),
            _ => Err("not an order".into()),
        },
        Parsed::Unknown { .. } => Err("not an order".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture() -> Value {
        let path = format!("{}/fixtures/woocommerce/order.json", env!("CARGO_MANIFEST_DIR"));
        serde_json::from_str(&std::fs::read_to_string(path).expect("fixture")).expect("json")
    }

    fn with(id: u64, status: &str) -> Value {
        let mut order = fixture();
        order["id"] = json!(id);
        order["status"] = json!(status);
        order
    }

    #[test]
    fn pages_one_after_another_and_json_lines_are_the_same_orders() {
        let pages = format!(
            "{}\n{}",
            json!([with(1, "completed"), with(2, "processing")]),
            json!([with(3, "cancelled"), with(4, "pending")])
        );
        let lines = [
            with(1, "completed"),
            with(2, "processing"),
            with(3, "cancelled"),
            with(4, "pending"),
        ]
        .iter()
        .map(Value::to_string)
        .collect::<Vec<_>>()
        .join("\n");
        for text in [pages, lines] {
            let mut seen = 0;
            let export = read_orders(text.as_bytes(), |n| seen = n).expect("read");
            assert_eq!(seen, 4);
            let ids: Vec<&str> = export.past_orders().map(|o| o.id.as_str()).collect();
            assert_eq!(ids, ["1", "2", "3"], "a pending order never was one");
            assert!(export.errors.is_empty());
        }
    }

    #[test]
    fn a_bad_order_is_skipped_by_position_and_the_history_counts_the_rest() {
        let mut broken = with(2, "completed");
        broken["currency"] = json!("dollars");
        let text = json!([with(1, "completed"), broken, with(3, "refunded")]).to_string();
        let export = read_orders(text.as_bytes(), |_| {}).expect("read");
        assert_eq!(export.errors.len(), 1);
        assert_eq!(export.errors[0].line, 2);
        assert!(
            export.errors[0].reason.starts_with("body.currency"),
            "{}",
            export.errors[0].reason
        );
        let history = export.history(&crate::guest::GuestIds::demo());
        let [buyer] = &history.customers[..] else {
            panic!("one guest buyer");
        };
        assert_eq!(buyer.orders_confirmed, 2);
        assert_eq!(
            buyer.orders_delivered, 1,
            "the completed one; the refunded one is not standing"
        );
        assert!(read_orders("{not json".as_bytes(), |_| {}).is_err());
    }
}
