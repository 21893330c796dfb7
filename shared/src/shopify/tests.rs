//! Translation of Shopify's published example payloads (shared/fixtures/shopify, SOURCES.md),
//! each wrapped as EventBridge delivers it and then parsed by the contract's own parser.

use super::translate;
use crate::event::{Event, Parsed, parse_envelope_value};

fn fixture(name: &str) -> String {
    let path = format!("{}/fixtures/shopify/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// The payload's text verbatim inside Shopify's EventBridge envelope.
fn envelope(topic: &str, payload: &str) -> String {
    format!(
        r#"{{"version":"0","id":"6f1c0e2a-0000-4000-8000-000000000001","detail-type":"shopifyWebhook","source":"aws.partner/shopify.com/1830279/tidings","account":"123456789012","time":"2026-11-02T15:00:00Z","region":"eu-west-1","resources":[],"detail":{{"payload":{payload},"metadata":{{"Content-Type":"application/json","X-Shopify-Topic":"{topic}","X-Shopify-Shop-Domain":"maple-moss.myshopify.com","X-Shopify-API-Version":"2025-10","X-Shopify-Webhook-Id":"b54557e4-bdd9-4b37-8a5f-bf7d70bcd043","X-Shopify-Triggered-At":"2026-11-02T15:00:00.000Z"}}}}}}"#
    )
}

fn events(topic: &str, payload: &str) -> Vec<Event> {
    let translated = translate(&envelope(topic, payload)).expect("translated");
    assert_eq!(translated.topic, topic);
    translated
        .events
        .into_iter()
        .map(|value| match parse_envelope_value(value).expect("a contract event") {
            Parsed::Known(event) => event.event,
            Parsed::Unknown { detail_type } => panic!("{detail_type}"),
        })
        .collect()
}

fn one(topic: &str, payload: &str) -> Event {
    let mut events = events(topic, payload);
    assert_eq!(events.len(), 1, "{events:?}");
    events.remove(0)
}

#[test]
fn orders_create_becomes_an_order_confirmation_in_minor_units() {
    let Event::OrderConfirmed(order) = one("orders/create", &fixture("orders__create.json")) else {
        panic!("an order")
    };
    assert_eq!(order.id.as_str(), "820982911946154508", "a 64-bit id, not rounded");
    assert_eq!(order.number.as_str(), "#9999");
    // The order's address wins over the profile's (the example has both, and they differ).
    assert_eq!(order.customer.email.as_str(), "jon@example.com");
    assert_eq!(order.customer.id.as_str(), "115310627314723954");
    assert_eq!(order.customer.first_name.as_ref().map(|n| n.as_str()), Some("John"));
    assert_eq!(order.customer.locale.as_ref().map(|l| l.as_str()), Some("en"));
    assert_eq!(order.currency.code(), "USD");
    assert_eq!(order.items.len(), 5);
    assert_eq!(order.items[0].sku.as_str(), "SKU2006-001");
    assert_eq!(order.items[0].product_id.as_str(), "788032119674292922");
    assert_eq!(order.items[0].unit_price, 8999);
    assert_eq!(
        (order.subtotal, order.shipping, order.discount, order.tax, order.total),
        (41495, 1000, 2000, 0, 40495),
        "the lines' sum (total_line_items_price), shipping, discount: they add up to the total"
    );
    let address = order.shipping_address.as_ref().expect("address");
    assert_eq!((address.city.as_str(), address.country.as_str()), ("Shippington", "US"));
    assert_eq!(
        order.status_url.as_ref().map(|u| u.as_str()),
        Some("https://jsmith.myshopify.com/548380009/orders/123456abcd/authenticate?key=abcdefg")
    );
    assert_eq!(order.placed_at.to_string(), "2022-01-01T00:00:00Z");
}

#[test]
fn a_legacy_order_without_money_sets_uses_its_plain_amounts_and_its_discount_code() {
    let legacy: serde_json::Value = serde_json::from_str(&fixture("order_legacy.json")).expect("json");
    let payload = serde_json::to_string(&legacy["order"]).expect("text");
    let Event::OrderConfirmed(order) = one("orders/create", &payload) else {
        panic!("an order")
    };
    assert_eq!(order.id.as_str(), "450789469");
    assert_eq!(order.coupon_code.as_ref().map(|c| c.as_str()), Some("TENOFF"));
    assert_eq!(order.currency.code(), "USD");
    assert_eq!(order.total, 40994);
    assert_eq!(order.items[0].sku.as_str(), "IPOD2008GREEN");
}

/// The example order as a customer paying in euros sees it: every `presentment_money` in EUR
/// at other amounts, the shop's money still dollars.
fn in_euros(payload: &str) -> String {
    fn walk(value: &mut serde_json::Value) {
        match value {
            serde_json::Value::Object(map) => {
                if let Some(money) = map.get_mut("presentment_money").and_then(|m| m.as_object_mut()) {
                    let dollars = money["amount"].as_str().expect("string amount").to_owned();
                    let (whole, cents) = dollars.split_once('.').expect("decimal");
                    let cents: u64 = whole.parse::<u64>().expect("whole") * 100 + cents.parse::<u64>().expect("cents");
                    let euro_cents = cents * 9 / 10;
                    money.insert(
                        "amount".into(),
                        format!("{}.{:02}", euro_cents / 100, euro_cents % 100).into(),
                    );
                    money.insert("currency_code".into(), "EUR".into());
                }
                map.values_mut().for_each(walk);
            }
            serde_json::Value::Array(items) => items.iter_mut().for_each(walk),
            _ => {}
        }
    }
    let mut order: serde_json::Value = serde_json::from_str(payload).expect("json");
    walk(&mut order);
    order["presentment_currency"] = "EUR".into();
    serde_json::to_string(&order).expect("text")
}

#[test]
fn amounts_are_what_the_customer_paid_in_their_currency() {
    let Event::OrderConfirmed(order) = one("orders/create", &in_euros(&fixture("orders__create.json"))) else {
        panic!("an order")
    };
    assert_eq!(order.currency.code(), "EUR");
    assert_eq!(order.items[0].unit_price, 8099, "89.99 × 0.9, from presentment_money");
    assert_eq!((order.subtotal, order.shipping, order.total), (37345, 900, 36445));
}

#[test]
fn money_as_numbers_is_read_from_its_text_not_through_a_float() {
    let payload =
        fixture("orders__create.json").replace(r#""subtotal_price": "404.95""#, r#""subtotal_price": 404.95"#);
    let payload = payload.replace(r#""total_price_set": {"#, r#""total_price_set_": {"#);
    let Event::OrderConfirmed(order) = one("orders/create", &payload) else {
        panic!("an order")
    };
    assert_eq!(
        order.total, 40495,
        "total_price without its set: the shop's money, which is the customer's"
    );
}

#[test]
fn an_order_without_an_email_is_ignored_not_an_error() {
    let payload = fixture("orders__create.json")
        .replace(r#""email": "jon@example.com""#, r#""email": null"#)
        .replace(r#""contact_email": "jon@example.com""#, r#""contact_email": """#);
    let translated = translate(&envelope("orders/create", &payload)).expect("no error");
    assert!(translated.events.is_empty());
    assert!(translated.ignored.is_some());
}

#[test]
fn errors_name_the_shopify_field_and_never_its_value() {
    let payload = fixture("orders__create.json").replace(r#""price": "89.99""#, r#""price": "89,99""#);
    let payload = payload.replace(r#""price_set": {"#, r#""price_set_": {"#);
    let error = translate(&envelope("orders/create", &payload)).expect_err("a bad price");
    assert_eq!(error.field, "detail.payload.line_items[0].price");
    let payload = fixture("orders__create.json").replace("\"id\": 820982911946154508", "\"id\": 8.2e17");
    let error = translate(&envelope("orders/create", &payload)).expect_err("a float id");
    assert_eq!(error.field, "detail.payload.id");
    assert!(!error.reason.contains("8.2"), "{}", error.reason);
}

#[test]
fn orders_cancelled_and_a_cancelled_update_cancel_and_other_updates_send_nothing() {
    let Event::OrderCancelled(cancelled) = one("orders/cancelled", &fixture("orders__cancelled.json")) else {
        panic!("a cancellation")
    };
    assert_eq!(cancelled.order_id.as_str(), "820982911946154508");
    assert_eq!(cancelled.reason.as_ref().map(|r| r.as_str()), Some("customer"));
    assert!(matches!(
        one("orders/updated", &fixture("orders__cancelled.json")),
        Event::OrderCancelled(_)
    ));
    let open = fixture("orders__create.json").replace(
        r#""cancelled_at": "2021-12-31T19:00:00-05:00""#,
        r#""cancelled_at": null"#,
    );
    assert!(events("orders/updated", &open).is_empty());
}

/// The example fulfillment shipped (`success`: the example's is still `pending`).
fn fulfilled() -> String {
    fixture("fulfillments__create.json").replace(r#""status": "pending""#, r#""status": "success""#)
}

#[test]
fn a_pending_fulfillment_ships_when_its_update_says_success() {
    assert!(
        events("fulfillments/create", &fixture("fulfillments__create.json")).is_empty(),
        "pending: not shipped yet"
    );
    let update = fixture("fulfillments__update.json").replace(r#""status": "pending""#, r#""status": "success""#);
    assert!(matches!(one("fulfillments/update", &update), Event::OrderShipped(_)));
}

#[test]
fn a_fulfillment_is_a_shipment_of_its_own_lines_with_shopifys_tracking() {
    let Event::OrderShipped(shipped) = one("fulfillments/create", &fulfilled()) else {
        panic!("a shipment")
    };
    assert_eq!(shipped.order_id.as_str(), "820982911946154508");
    let parcel = &shipped.shipment;
    assert_eq!((parcel.id.as_str(), parcel.carrier.as_str()), ("123456", "ups"));
    assert_eq!(
        parcel.carrier_name, None,
        "a known carrier is named by the table, per language"
    );
    assert_eq!(
        parcel.tracking_number.as_ref().map(|n| n.as_str()),
        Some("1z827wk74630")
    );
    assert!(
        parcel
            .tracking_url
            .as_ref()
            .expect("url")
            .as_str()
            .starts_with("https://www.ups.com/")
    );
    let items = parcel.items.as_ref().expect("the parcel's lines");
    assert_eq!(items.len(), 5);
    assert_eq!(items[0].sku.as_ref().map(|s| s.as_str()), Some("SKU2006-001"));
}

#[test]
fn a_fulfillment_without_tracking_or_with_an_unknown_carrier_still_ships() {
    let untracked = fulfilled()
        .replace(r#""tracking_company": "UPS""#, r#""tracking_company": null"#)
        .replace(r#""tracking_number": "1z827wk74630""#, r#""tracking_number": null"#)
        .replace(r#""tracking_numbers": ["#, r#""tracking_numbers_": ["#)
        .replace(r#""tracking_url": "https"#, r#""tracking_url_": "https"#)
        .replace(r#""tracking_urls": ["#, r#""tracking_urls_": ["#);
    let Event::OrderShipped(shipped) = one("fulfillments/create", &untracked) else {
        panic!("a shipment")
    };
    assert_eq!(shipped.shipment.tracking_number, None);
    assert_eq!(shipped.shipment.tracking_url, None);
    let unknown = fulfilled().replace(r#""tracking_company": "UPS""#, r#""tracking_company": "Canada Post""#);
    let Event::OrderShipped(shipped) = one("fulfillments/create", &unknown) else {
        panic!("a shipment")
    };
    assert_eq!(
        shipped.shipment.carrier_name.as_ref().map(|n| n.as_str()),
        Some("Canada Post")
    );
    assert!(
        shipped.shipment.tracking_url.is_some(),
        "Shopify's link, since the table has none"
    );
}

#[test]
fn fulfillment_statuses_become_scans_and_deliveries() {
    let Event::ShipmentUpdated(scan) = one("fulfillment_events/create", &fixture("fulfillment_events__create.json"))
    else {
        panic!("a scan")
    };
    assert_eq!(
        (scan.order_id.as_str(), scan.shipment_id.as_str()),
        ("820982911946154508", "123456")
    );
    assert_eq!(scan.status.as_str(), "in_transit");
    assert_eq!(scan.location.as_ref().map(|l| l.as_str()), Some("CA"));
    let delivered =
        fixture("fulfillment_events__create.json").replace(r#""status": "in_transit""#, r#""status": "delivered""#);
    assert!(matches!(
        one("fulfillment_events/create", &delivered),
        Event::OrderDelivered(_)
    ));
    let update = fixture("fulfillments__update.json")
        .replace(r#""shipment_status": null"#, r#""shipment_status": "out_for_delivery""#);
    let Event::ShipmentUpdated(scan) = one("fulfillments/update", &update) else {
        panic!("a scan")
    };
    assert_eq!(scan.status.as_str(), "out_for_delivery");
    assert!(events("fulfillments/update", &fixture("fulfillments__update.json")).is_empty());
    let label =
        fixture("fulfillment_events__create.json").replace(r#""status": "in_transit""#, r#""status": "label_printed""#);
    assert!(events("fulfillment_events/create", &label).is_empty());
}

#[test]
fn a_checkout_is_a_cart_with_its_recovery_link_and_a_completed_one_is_emptied() {
    let Event::CartUpdated(cart) = one("checkouts/create", &fixture("checkouts__create.json")) else {
        panic!("a cart")
    };
    assert_eq!(cart.id.as_str(), "123123123");
    assert_eq!(cart.customer.email.as_str(), "example@email.com");
    assert_eq!(cart.customer.id.as_str(), "603851970716743426");
    assert_eq!(
        (cart.items.len(), cart.subtotal, cart.currency.code()),
        (2, 39800, "USD")
    );
    assert_eq!(cart.items[0].variant.as_ref().map(|v| v.as_str()), Some("Pink"));
    assert!(cart.checkout_url.as_str().contains("/recover?key="));
    let completed = fixture("checkouts__update.json")
        .replace(r#""completed_at": null"#, r#""completed_at": "2022-01-01T00:10:00Z""#);
    let Event::CartUpdated(cart) = one("checkouts/update", &completed) else {
        panic!("a cart")
    };
    assert!(cart.items.is_empty());
    assert!(events("checkouts/delete", &fixture("checkouts__delete.json")).is_empty());
}

#[test]
fn customers_and_their_consent() {
    let Event::CustomerSignedUp(customer) = one("customers/create", &fixture("customers__create.json")) else {
        panic!("a signup")
    };
    assert_eq!(customer.id.as_str(), "706405506930370084");
    assert_eq!(customer.country.as_ref().map(|c| c.as_str()), Some("CA"));
    assert_eq!(
        customer.marketing_consent, None,
        "the example profile states no consent"
    );
    assert!(matches!(
        one("customers/update", &fixture("customers__update.json")),
        Event::CustomerUpdated(_)
    ));
    let Event::CustomerUpdated(consent) = one(
        "customers_email_marketing_consent/update",
        &fixture("customers_email_marketing_consent__update.json"),
    ) else {
        panic!("an update")
    };
    assert_eq!(consent.marketing_consent, Some(false));
    let yes = fixture("customers_email_marketing_consent__update.json")
        .replace(r#""state": "not_subscribed""#, r#""state": "subscribed""#)
        .replace(
            r#""consent_updated_at": null"#,
            r#""consent_updated_at": "2026-11-02T14:59:00Z""#,
        );
    let Event::CustomerUpdated(consent) = one("customers_email_marketing_consent/update", &yes) else {
        panic!("an update")
    };
    assert_eq!(consent.marketing_consent, Some(true));
    assert_eq!(
        consent.consent_updated_at.map(|t| t.to_string()).as_deref(),
        Some("2026-11-02T14:59:00Z")
    );
}

#[test]
fn customers_redact_erases_the_customer() {
    let Event::CustomerRedacted(redacted) = one("customers/redact", &fixture("customers__redact.json")) else {
        panic!("an erasure")
    };
    assert_eq!(redacted.customer_id.as_str(), "191167");
}

#[test]
fn topics_tidings_does_not_read_are_ignored_with_a_reason() {
    for (topic, file) in [
        ("products/delete", "products__create.json"),
        ("shop/redact", "shop__redact.json"),
        ("customers/data_request", "customers__data_request.json"),
        ("inventory_levels/update", "shop__redact.json"),
    ] {
        let translated = translate(&envelope(topic, &fixture(file))).expect("not an error");
        assert!(translated.events.is_empty(), "{topic}");
        assert!(translated.ignored.is_some(), "{topic}");
    }
}

#[test]
fn the_webhook_id_makes_the_translated_ids_stable_across_redeliveries() {
    let first = translate(&envelope("orders/create", &fixture("orders__create.json"))).expect("ok");
    let again = translate(&envelope("orders/create", &fixture("orders__create.json")).replace("6f1c0e2a", "7a2d1f3b"))
        .expect("ok");
    assert_eq!(first.events[0]["id"], again.events[0]["id"]);
    assert_eq!(first.events[0]["source"], super::SOURCE);
    assert_eq!(
        first.events[0]["time"], "2026-11-02T15:00:00Z",
        "the envelope's time is the event's"
    );
}

#[test]
fn a_product_gives_its_page_on_the_shop_and_its_image() {
    let with_image = fixture("products__create.json").replacen(
        r#""image": null"#,
        r#""image": {"src": "https://cdn.shopify.com/s/files/1/tee.jpg"}"#,
        1,
    );
    let Event::ProductUpdated(product) = one("products/update", &with_image) else {
        panic!("a product")
    };
    assert_eq!(product.id.as_str(), "788032119674292922");
    assert_eq!(product.name.as_str(), "Example T-Shirt");
    assert_eq!(
        product.url.as_ref().map(|u| u.as_str()),
        Some("https://maple-moss.myshopify.com/products/example-t-shirt")
    );
    assert_eq!(
        product.image_url.as_ref().map(|u| u.as_str()),
        Some("https://cdn.shopify.com/s/files/1/tee.jpg")
    );
    assert_eq!(
        product.category.as_ref().map(|c| c.as_str()),
        Some("Shirts"),
        "product_type without a category"
    );
    let draft = fixture("products__create.json").replace(r#""status": "active""#, r#""status": "draft""#);
    assert!(events("products/create", &draft).is_empty());
}
