//! The Orders export in Shopify's column layout (shared/fixtures/shopify/orders_export.csv:
//! every column of the export, the order's columns on its first row only).

use super::*;

fn export() -> Export {
    let path = format!("{}/fixtures/shopify/orders_export.csv", env!("CARGO_MANIFEST_DIR"));
    read_export(std::fs::File::open(path).expect("fixture"), |_| {}).expect("readable")
}

#[test]
fn rows_group_into_orders_and_bad_rows_are_reported_by_line_and_skipped() {
    let export = export();
    let numbers: Vec<&str> = export.orders.iter().map(|o| o.order.number.as_str()).collect();
    assert_eq!(numbers, ["#1001", "#1002", "#1004", "#1005"]);
    assert_eq!(export.orders[0].order.items.len(), 2);
    assert_eq!(export.orders[0].order.items[1].unit_price, 950);
    assert_eq!(export.orders[0].order.placed_at.to_string(), "2026-03-02T10:15:00Z");
    assert_eq!(
        export.orders[1].order.items.len(),
        1,
        "the line with a bad price is skipped"
    );
    let errors: Vec<(u64, &str)> = export.errors.iter().map(|e| (e.line, e.reason.as_str())).collect();
    assert_eq!(errors.len(), 3, "{errors:?}");
    assert_eq!(errors[0].0, 5);
    assert!(errors[0].1.starts_with("Lineitem price"), "{errors:?}");
    assert_eq!(errors[1].0, 6);
    assert!(errors[1].1.starts_with("Email"), "{errors:?}");
    assert!(!errors[1].1.contains("not-an-address"), "no values in errors");
    assert_eq!(errors[2], (7, "the first row of this order was skipped"));
}

#[test]
fn buyers_are_keyed_by_their_address_pseudonym_with_their_history() {
    let ids = GuestIds::demo();
    let history = export().history(&ids);
    assert_eq!(history.customers.len(), 2);
    let ada_id = ids.customer_id(&CustomerId::parse("guest:ada@example.com").expect("id"));
    let ada = history.customers.iter().find(|c| c.profile.id == ada_id).expect("Ada");
    assert!(!ada.profile.id.as_str().contains('@'), "no address in the key");
    assert_eq!(ada.orders_confirmed, 2);
    assert_eq!(
        ada.last_order_at.map(|t| t.to_string()).as_deref(),
        Some("2026-04-11T12:00:00Z")
    );
    assert!(ada.consent.given);
    assert!(ada.purchased.iter().any(|p| p.as_str() == "sku:MUG-SPK"));
    let grace = history
        .customers
        .iter()
        .find(|c| c.profile.id != ada_id)
        .expect("Grace");
    assert_eq!(grace.standing.len(), 1, "the cancelled order is not standing");
    assert_eq!(grace.orders_confirmed, 2);
    let mug = ProductId::parse("sku:MUG-SPK").expect("id");
    let towel = ProductId::parse("sku:TOWEL-LIN").expect("id");
    assert_eq!(history.stats.pairs[&mug][&towel], 1, "bought together once");
    assert_eq!(history.stats.products[&mug].orders, 2);
}

#[test]
fn a_file_that_is_not_the_orders_export_is_refused_by_column() {
    let error = read_export(
        "First Name,Last Name,Email\nAda,Lovelace,ada@example.com\n".as_bytes(),
        |_| {},
    )
    .expect_err("the customers export");
    assert_eq!(
        error.to_string(),
        "column 'Name' is missing: is this Shopify's Orders export?"
    );
}
