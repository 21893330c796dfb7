//! Orders shipped in several parcels, shipment ids shared between orders, events about a parcel
//! that arrive after its delivery, and amounts too large to be money (issue 13).

use serde_json::{Value, json};
use tidings_core::engine::Outcome;
use tidings_tests::{TestApp, customer, envelope, item, order_confirmed, spawn_app, ts};

fn ada() -> Value {
    customer("c-1", "en-US", "America/New_York", true)
}

/// A mug and a teapot: the order most tests split in two parcels.
fn mug_and_pot(app: &TestApp, at: &str) {
    app.deliver(&order_confirmed(
        "o-1",
        &ada(),
        vec![item("p-mug", "kitchen", 2, 1800), item("p-pot", "tea", 1, 5000)],
        at,
    ))
    .expect("order");
}

fn parcel(order_id: &str, id: &str, time: &str, items: Option<Value>) -> Value {
    let mut shipment = json!({"id": id, "carrier": "ups", "tracking_number": format!("1Z-{id}"), "shipped_at": time});
    if let Some(items) = items {
        shipment["items"] = items;
    }
    envelope(
        "OrderShipped",
        time,
        json!({"order_id": order_id, "shipment": shipment}),
    )
}

fn delivered(order_id: &str, shipment_id: Option<&str>, time: &str) -> Value {
    envelope(
        "OrderDelivered",
        time,
        json!({"order_id": order_id, "shipment_id": shipment_id}),
    )
}

fn scan(order_id: &str, shipment_id: &str, status: &str, time: &str) -> Value {
    envelope(
        "ShipmentUpdated",
        time,
        json!({"order_id": order_id, "shipment_id": shipment_id, "status": status}),
    )
}

fn keys(app: &TestApp) -> Vec<String> {
    app.sent().into_iter().map(|(_, key)| key).collect()
}

/// Subject and plain text of the email sent under `key`.
fn email(app: &TestApp, key: &str) -> (String, String) {
    let email = app
        .engine
        .mailer()
        .sent()
        .into_iter()
        .find(|e| e.key.as_str() == key)
        .unwrap_or_else(|| panic!("{key} sent; sent: {:?}", keys(app)));
    let text = crate::mime::parse(&email.raw)["text"]
        .as_str()
        .expect("text")
        .to_owned();
    (email.subject, text)
}

// --- A. Split shipments -------------------------------------------------------------------------

#[test]
fn each_parcel_gets_its_own_shipping_confirmation_listing_only_what_is_inside() {
    let app = spawn_app();
    mug_and_pot(&app, "2026-11-03T13:00:00Z");
    app.deliver(&parcel(
        "o-1",
        "shp-a",
        "2026-11-04T13:00:00Z",
        Some(json!([{"sku": "P-MUG", "quantity": 2}])),
    ))
    .expect("first parcel");
    app.deliver(&parcel(
        "o-1",
        "shp-b",
        "2026-11-05T13:00:00Z",
        Some(json!([{"sku": "P-POT", "quantity": 1}])),
    ))
    .expect("second parcel");

    let (first_subject, first) = email(&app, "shipping_confirmation#shp-a");
    let (second_subject, second) = email(&app, "shipping_confirmation#shp-b");
    assert_eq!(first_subject, "Part of your order #1 is on its way");
    assert_eq!(second_subject, "The rest of your order #1 is on its way");
    assert!(
        first.contains("Product p-mug") && !first.contains("Product p-pot"),
        "{first}"
    );
    assert!(
        second.contains("Product p-pot") && !second.contains("Product p-mug"),
        "{second}"
    );
    assert!(first.contains("1Z-shp-a"), "{first}");
}

#[test]
fn parcel_items_without_a_sku_are_matched_by_product_and_variant() {
    let app = spawn_app();
    let mut blue = item("p-mug", "kitchen", 1, 1800);
    blue["sku"] = json!("MUG-BLUE");
    blue["variant"] = json!("Blue");
    let mut red = item("p-mug", "kitchen", 1, 1800);
    red["sku"] = json!("MUG-RED");
    red["variant"] = json!("Red");
    app.deliver(&order_confirmed("o-1", &ada(), vec![blue, red], "2026-11-03T13:00:00Z"))
        .expect("order");
    app.deliver(&parcel(
        "o-1",
        "shp-a",
        "2026-11-04T13:00:00Z",
        Some(json!([{"product_id": "p-mug", "variant": "Red", "quantity": 1}])),
    ))
    .expect("parcel without skus");
    let (subject, text) = email(&app, "shipping_confirmation#shp-a");
    assert_eq!(subject, "Part of your order #1 is on its way");
    assert!(text.contains("Red") && !text.contains("Blue"), "{text}");
}

#[test]
fn the_order_is_delivered_and_a_review_asked_for_only_when_its_last_parcel_arrives() {
    let app = spawn_app();
    mug_and_pot(&app, "2026-11-03T13:00:00Z");
    app.deliver(&parcel(
        "o-1",
        "shp-a",
        "2026-11-04T13:00:00Z",
        Some(json!([{"sku": "P-MUG", "quantity": 2}])),
    ))
    .expect("first parcel");
    app.deliver(&parcel(
        "o-1",
        "shp-b",
        "2026-11-04T14:00:00Z",
        Some(json!([{"sku": "P-POT", "quantity": 1}])),
    ))
    .expect("second parcel");
    app.deliver(&delivered("o-1", Some("shp-a"), "2026-11-06T13:00:00Z"))
        .expect("first delivery");

    let (subject, text) = email(&app, "delivery_confirmation#o-1#shp-a");
    assert_eq!(subject, "Part of your order #1 has arrived");
    assert!(
        text.contains("Product p-mug") && !text.contains("Product p-pot"),
        "{text}"
    );
    assert!(
        !text.contains("/reviews/"),
        "no review links before everything arrived: {text}"
    );
    assert!(
        !keys(&app).contains(&"delivery_confirmation#o-1".to_owned()),
        "{:?}",
        keys(&app)
    );

    // The second parcel is still watched: it stalls and the customer hears about it.
    app.run_until(ts("2026-11-10T00:00:00Z"));
    assert!(
        keys(&app).iter().any(|k| k.starts_with("shipment_stalled#shp-b")),
        "{:?}",
        keys(&app)
    );
    assert!(
        !keys(&app).iter().any(|k| k.starts_with("review_request")),
        "{:?}",
        keys(&app)
    );

    app.deliver(&delivered("o-1", Some("shp-b"), "2026-11-10T13:00:00Z"))
        .expect("last delivery");
    let (subject, text) = email(&app, "delivery_confirmation#o-1");
    assert_eq!(subject, "Your order #1 has been delivered");
    assert!(
        text.contains("Product p-mug") && text.contains("Product p-pot"),
        "{text}"
    );
    assert!(
        !keys(&app).contains(&"delivery_confirmation#o-1#shp-b".to_owned()),
        "the last parcel is announced by the order's own delivery: {:?}",
        keys(&app)
    );
    app.run_until(ts("2026-11-20T00:00:00Z"));
    let review = app
        .sent()
        .into_iter()
        .find(|(_, key)| key == "review_request#o-1")
        .expect("review request");
    assert!(ts(&review.0) >= ts("2026-11-13T13:00:00Z"), "{review:?}");
}

#[test]
fn several_parcels_without_items_deliver_the_order_when_all_of_them_are_delivered() {
    let app = spawn_app();
    mug_and_pot(&app, "2026-11-03T13:00:00Z");
    app.deliver(&parcel("o-1", "shp-a", "2026-11-04T13:00:00Z", None))
        .expect("first parcel");
    app.deliver(&parcel("o-1", "shp-b", "2026-11-04T14:00:00Z", None))
        .expect("second parcel");
    app.deliver(&delivered("o-1", Some("shp-a"), "2026-11-06T13:00:00Z"))
        .expect("first delivery");
    assert!(
        keys(&app).contains(&"delivery_confirmation#o-1#shp-a".to_owned()),
        "{:?}",
        keys(&app)
    );
    assert!(
        !keys(&app).contains(&"delivery_confirmation#o-1".to_owned()),
        "{:?}",
        keys(&app)
    );
    app.deliver(&delivered("o-1", Some("shp-b"), "2026-11-06T15:00:00Z"))
        .expect("second delivery");
    assert!(
        keys(&app).contains(&"delivery_confirmation#o-1".to_owned()),
        "{:?}",
        keys(&app)
    );
}

#[test]
fn a_parcel_without_an_eta_shows_the_orders_and_a_stalled_email_never_shows_a_passed_one() {
    let app = spawn_app();
    let mut placed = tidings_tests::order(
        "o-1",
        &ada(),
        "USD",
        vec![item("p-mug", "kitchen", 1, 1800)],
        "2026-11-03T13:00:00Z",
    );
    placed["estimated_delivery"] = json!("2026-11-06");
    app.deliver(&envelope(
        "OrderConfirmed",
        "2026-11-03T13:00:00Z",
        json!({ "order": placed }),
    ))
    .expect("order");
    app.deliver(&parcel("o-1", "shp-a", "2026-11-04T13:00:00Z", None))
        .expect("parcel");
    let (_, text) = email(&app, "shipping_confirmation#shp-a");
    assert!(text.contains("Estimated delivery: November 6, 2026"), "{text}");
    app.run_until(ts("2026-11-10T00:00:00Z"));
    let (_, stalled) = email(&app, "shipment_stalled#shp-a#0");
    assert!(!stalled.contains("Estimated delivery"), "the 6th has passed: {stalled}");
}

#[test]
fn parcel_messages_are_translated_in_every_shipped_locale() {
    for locale in ["ko-KR", "tr-TR", "zh-CN", "ja-JP", "de-DE", "fr-FR", "es-ES"] {
        let app = spawn_app();
        let who = customer("c-1", locale, "Europe/London", true);
        app.deliver(&order_confirmed(
            "o-1",
            &who,
            vec![item("p-mug", "kitchen", 2, 1800), item("p-pot", "tea", 1, 5000)],
            "2026-11-03T13:00:00Z",
        ))
        .expect("order");
        let whole = spawn_app();
        whole
            .deliver(&order_confirmed(
                "o-1",
                &who,
                vec![item("p-mug", "kitchen", 2, 1800), item("p-pot", "tea", 1, 5000)],
                "2026-11-03T13:00:00Z",
            ))
            .expect("order");
        whole
            .deliver(&parcel("o-1", "shp-a", "2026-11-04T13:00:00Z", None))
            .expect("whole");
        let mug = Some(json!([{"sku": "P-MUG", "quantity": 2}]));
        let pot = Some(json!([{"sku": "P-POT", "quantity": 1}]));
        app.deliver(&parcel("o-1", "shp-a", "2026-11-04T13:00:00Z", mug))
            .expect("part");
        app.deliver(&parcel("o-1", "shp-b", "2026-11-04T14:00:00Z", pot))
            .expect("rest");
        app.deliver(&delivered("o-1", Some("shp-a"), "2026-11-05T13:00:00Z"))
            .expect("parcel delivered");
        let (whole_subject, _) = email(&whole, "shipping_confirmation#shp-a");
        let (part, part_text) = email(&app, "shipping_confirmation#shp-a");
        let (rest, _) = email(&app, "shipping_confirmation#shp-b");
        let (arrived, arrived_text) = email(&app, "delivery_confirmation#o-1#shp-a");
        let subjects = [&whole_subject, &part, &rest];
        for (i, a) in subjects.iter().enumerate() {
            for b in &subjects[i + 1..] {
                assert_ne!(a, b, "{locale}: part, rest and whole differ");
            }
        }
        for text in [&part, &rest, &arrived, &part_text, &arrived_text] {
            assert!(
                !text.contains('{') && !text.contains("Part of") && !text.contains("rest of"),
                "{locale}: {text}"
            );
        }
    }
}

// --- B. Shipment ids shared between orders ------------------------------------------------------

#[test]
fn two_orders_whose_shipments_share_an_id_each_get_their_messages() {
    let app = spawn_app();
    let bo = customer("c-2", "en-US", "America/New_York", true);
    mug_and_pot(&app, "2026-11-03T13:00:00Z");
    app.deliver(&order_confirmed(
        "o-2",
        &bo,
        vec![item("p-tea", "tea", 1, 1200)],
        "2026-11-03T13:30:00Z",
    ))
    .expect("second order");
    app.deliver(&parcel("o-1", "1", "2026-11-04T13:00:00Z", None))
        .expect("first order's shipment 1");
    app.deliver(&parcel("o-2", "1", "2026-11-04T13:30:00Z", None))
        .expect("second order's shipment 1");
    app.deliver(&scan("o-1", "1", "delayed", "2026-11-05T13:00:00Z"))
        .expect("delay of the first");
    app.deliver(&scan("o-2", "1", "delayed", "2026-11-05T13:30:00Z"))
        .expect("delay of the second");
    let mut by_customer: Vec<(String, String)> = app
        .engine
        .mailer()
        .sent()
        .into_iter()
        .map(|e| (e.customer_id.to_string(), e.kind.as_str().to_owned()))
        .filter(|(_, kind)| kind.starts_with("shipping") || kind.starts_with("shipment"))
        .collect();
    by_customer.sort();
    assert_eq!(
        by_customer,
        [
            ("c-1".to_owned(), "shipment_update".to_owned()),
            ("c-1".to_owned(), "shipping_confirmation".to_owned()),
            ("c-2".to_owned(), "shipment_update".to_owned()),
            ("c-2".to_owned(), "shipping_confirmation".to_owned()),
        ]
    );
    // Each order's stall watch is its own: neither replaces the other's.
    app.run_until(ts("2026-11-12T00:00:00Z"));
    let stalled: Vec<String> = app
        .engine
        .mailer()
        .sent()
        .into_iter()
        .filter(|e| e.kind.as_str() == "shipment_stalled")
        .map(|e| e.customer_id.to_string())
        .collect();
    assert_eq!(stalled, ["c-1", "c-2"]);
    // Redelivered, neither sends again.
    let before = keys(&app).len();
    app.deliver(&parcel("o-1", "1", "2026-11-04T13:00:00Z", None))
        .expect("redelivered");
    app.deliver(&parcel("o-2", "1", "2026-11-04T13:30:00Z", None))
        .expect("redelivered");
    assert_eq!(keys(&app).len(), before, "{:?}", keys(&app));
}

/// A claim as the previous release took it for a shipment: under `<kind>#<shipment id>`.
fn old_release_sent(app: &TestApp, key: &str, customer_id: &str) {
    use tidings_core::message::MessageKey;
    use tidings_core::ports::{Claim, ClaimOutcome, SendLedger};
    let key = MessageKey::parse(key).expect("key");
    let claim = Claim {
        key: key.clone(),
        customer_id: tidings_core::domain::CustomerId::parse(customer_id).expect("id"),
        to: tidings_core::domain::EmailAddress::parse("3@example.com").expect("address"),
        at: ts("2026-10-01T00:00:00Z"),
        lease: jiff::SignedDuration::from_mins(5),
        cap: None,
        consent: None,
        sending: true,
        coupon: None,
    };
    let store = app.engine.store();
    assert_eq!(
        app.block_on(store.claim_message(&claim)).expect("claim"),
        ClaimOutcome::Claimed
    );
    app.block_on(store.mark_sent(&key, "ses-old", ts("2026-10-01T00:00:00Z")))
        .expect("sent");
}

#[test]
fn a_shipment_id_another_order_used_before_the_upgrade_still_gets_its_confirmation() {
    let app = spawn_app();
    old_release_sent(&app, "shipping_confirmation#1", "c-3");
    mug_and_pot(&app, "2026-11-03T13:00:00Z");
    app.deliver(&parcel("o-1", "1", "2026-11-04T13:00:00Z", None))
        .expect("shipment 1");
    let sent = app.engine.mailer().sent();
    assert!(
        sent.iter()
            .any(|e| e.kind.as_str() == "shipping_confirmation" && e.customer_id.as_str() == "c-1"),
        "{:?}",
        keys(&app)
    );
}

#[test]
fn a_shipment_redelivered_after_the_upgrade_is_not_confirmed_again() {
    let app = spawn_app();
    mug_and_pot(&app, "2026-11-03T13:00:00Z");
    app.deliver(&parcel("o-1", "1", "2026-11-04T13:00:00Z", None))
        .expect("shipment 1");
    app.deliver(&scan("o-1", "1", "delayed", "2026-11-05T13:00:00Z"))
        .expect("delay");
    assert_eq!(
        keys(&app),
        [
            "order_confirmation#o-1",
            "shipping_confirmation#1",
            "shipment_update#1#delayed"
        ],
        "a single order's shipment keeps the keys claims were taken under"
    );
    app.deliver(&parcel("o-1", "1", "2026-11-04T13:00:00Z", None))
        .expect("redelivered");
    app.deliver(&scan("o-1", "1", "delayed", "2026-11-05T13:00:00Z"))
        .expect("redelivered");
    assert_eq!(keys(&app).len(), 3, "{:?}", keys(&app));
}

// --- C. Events about a parcel after its delivery ------------------------------------------------

#[test]
fn a_shipping_confirmation_or_scan_after_the_delivery_sends_nothing() {
    let app = spawn_app();
    mug_and_pot(&app, "2026-11-03T13:00:00Z");
    app.deliver(&delivered("o-1", Some("shp-a"), "2026-11-06T13:00:00Z"))
        .expect("delivered first");
    app.deliver(&parcel("o-1", "shp-a", "2026-11-04T13:00:00Z", None))
        .expect("late shipping confirmation");
    app.deliver(&scan("o-1", "shp-a", "in_transit", "2026-11-05T13:00:00Z"))
        .expect("late scan");
    app.deliver(&scan("o-1", "shp-a", "delayed", "2026-11-05T14:00:00Z"))
        .expect("late delay");
    app.run_until(ts("2026-11-20T00:00:00Z"));
    let sent: Vec<String> = keys(&app)
        .into_iter()
        .filter(|k| !k.starts_with("cross_sell") && !k.starts_with("review_request"))
        .collect();
    assert_eq!(sent, ["order_confirmation#o-1", "delivery_confirmation#o-1"]);
}

#[test]
fn a_scan_of_a_delivered_parcel_before_its_announcement_is_not_held() {
    let app = spawn_app();
    mug_and_pot(&app, "2026-11-03T13:00:00Z");
    app.deliver(&delivered("o-1", Some("shp-a"), "2026-11-06T13:00:00Z"))
        .expect("delivered first");
    let outcomes = app
        .deliver(&scan("o-1", "shp-a", "delayed", "2026-11-06T14:00:00Z"))
        .expect("late delay");
    assert!(
        !outcomes.iter().any(|o| matches!(o, Outcome::Held { .. })),
        "{outcomes:?}"
    );
}

// --- E. Amounts too large to be money -----------------------------------------------------------

#[test]
fn an_amount_too_large_to_be_money_is_refused_by_field() {
    let ada = ada();
    let mut placed = tidings_tests::order(
        "o-1",
        &ada,
        "USD",
        vec![item("p-mug", "kitchen", 1, 1800)],
        "2026-11-03T13:00:00Z",
    );
    placed["total"] = json!(9_223_372_036_854_775_808_u64);
    let event = envelope("OrderConfirmed", "2026-11-03T13:00:00Z", json!({ "order": placed }));
    let error = tidings_core::event::parse_envelope(&event.to_string()).expect_err("refused");
    assert_eq!(error.field, "detail.order.total");

    let mut priced = item("p-mug", "kitchen", 1, 1800);
    priced["unit_price"] = json!(10_000_000_000_000_000_u64);
    let placed = tidings_tests::order("o-1", &ada, "USD", vec![priced], "2026-11-03T13:00:00Z");
    let event = envelope("OrderConfirmed", "2026-11-03T13:00:00Z", json!({ "order": placed }));
    let error = tidings_core::event::parse_envelope(&event.to_string()).expect_err("refused");
    assert_eq!(error.field, "detail.order.items[0].unit_price");

    let mut cart = tidings_tests::cart(
        "cart-1",
        &ada,
        vec![item("p-mug", "kitchen", 1, 1800)],
        "2026-11-03T13:00:00Z",
    );
    cart["subtotal"] = json!(u64::MAX);
    let event = envelope("CartUpdated", "2026-11-03T13:00:00Z", json!({ "cart": cart }));
    let error = tidings_core::event::parse_envelope(&event.to_string()).expect_err("refused");
    assert_eq!(error.field, "detail.cart.subtotal");
}
