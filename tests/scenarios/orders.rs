//! Order lifecycle: held events, cross-sell, review requests, cancellation, segmentation blocks.

use serde_json::{Value, json};
use tidings_core::engine::Outcome;
use tidings_tests::{customer, envelope, item, spawn_app, ts};

fn ada() -> Value {
    customer("c-1", "en-US", "America/New_York", true)
}

use tidings_tests::order_confirmed as confirmed;

fn shipped(order_id: &str, time: &str) -> Value {
    let shipment =
        json!({"id": format!("shp-{order_id}"), "carrier": "cj", "tracking_number": "6000 1234", "shipped_at": time});
    envelope(
        "OrderShipped",
        time,
        json!({"order_id": order_id, "shipment": shipment}),
    )
}

fn keys(app: &tidings_tests::TestApp) -> Vec<String> {
    app.sent().into_iter().map(|(_, key)| key).collect()
}

fn text_of(app: &tidings_tests::TestApp, key: &str) -> String {
    let email = app
        .engine
        .mailer()
        .sent()
        .into_iter()
        .find(|e| e.key.as_str() == key)
        .expect("email sent");
    crate::mime::parse(&email.raw)["text"]
        .as_str()
        .expect("text")
        .to_owned()
}

#[test]
fn a_shipment_that_arrives_before_its_order_is_held_and_sent_after_the_confirmation() {
    let app = spawn_app();
    let outcomes = app.deliver(&shipped("o-1", "2026-11-03T13:00:00Z")).expect("held");
    assert!(matches!(&outcomes[..], [Outcome::Held { .. }]), "{outcomes:?}");
    assert!(app.sent().is_empty(), "nothing is sent without the order");
    app.deliver(&confirmed(
        "o-1",
        &ada(),
        vec![item("p-mug", "kitchen", 1, 1800)],
        "2026-11-03T13:05:00Z",
    ))
    .expect("order");
    assert_eq!(keys(&app), ["order_confirmation#o-1", "shipping_confirmation#shp-o-1"]);
}

#[test]
fn an_event_whose_order_never_comes_within_a_day_is_dropped_as_an_orphan() {
    let app = spawn_app();
    app.deliver(&shipped("o-1", "2026-11-03T13:00:00Z")).expect("held");
    app.deliver(&confirmed(
        "o-1",
        &ada(),
        vec![item("p-mug", "kitchen", 1, 1800)],
        "2026-11-05T13:00:00Z",
    ))
    .expect("late order");
    assert_eq!(keys(&app), ["order_confirmation#o-1"]);
}

#[test]
fn tracking_links_come_from_the_carrier_table_when_the_event_has_none() {
    let app = spawn_app();
    app.deliver(&confirmed(
        "o-1",
        &ada(),
        vec![item("p-mug", "kitchen", 1, 1800)],
        "2026-11-03T13:00:00Z",
    ))
    .expect("order");
    app.deliver(&shipped("o-1", "2026-11-03T14:00:00Z")).expect("shipped");
    let text = text_of(&app, "shipping_confirmation#shp-o-1");
    assert!(
        text.contains("https://trace.cjlogistics.com/next/tracking.html?wblNo=6000%201234"),
        "{text}"
    );
    assert!(text.contains("CJ Logistics"), "{text}");
}

#[test]
fn cross_sell_recommends_what_others_bought_together_and_never_what_the_customer_owns() {
    let app = spawn_app();
    let bo = customer("c-2", "en-US", "America/New_York", false);
    let items = vec![
        item("p-mug", "kitchen", 1, 1800),
        item("p-tea", "tea", 1, 1200),
        item("p-pot", "tea", 1, 5000),
    ];
    app.deliver(&confirmed("o-0", &bo, items, "2026-11-01T15:00:00Z"))
        .expect("earlier order");
    app.deliver(&confirmed(
        "o-1",
        &ada(),
        vec![item("p-mug", "kitchen", 1, 1800), item("p-pot", "tea", 1, 5000)],
        "2026-11-03T15:00:00Z",
    ))
    .expect("order");
    app.run_until(ts("2026-11-05T00:00:00Z"));
    assert!(keys(&app).contains(&"cross_sell#o-1".to_owned()), "{:?}", keys(&app));
    let text = text_of(&app, "cross_sell#o-1");
    assert!(text.contains("Product p-tea"), "{text}");
    assert!(
        !text.contains("Product p-mug") && !text.contains("Product p-pot"),
        "owned products are never recommended: {text}"
    );
}

#[test]
fn a_cancelled_order_gets_its_cancellation_and_no_cross_sell() {
    let app = spawn_app();
    let bo = customer("c-2", "en-US", "America/New_York", false);
    app.deliver(&confirmed(
        "o-0",
        &bo,
        vec![item("p-mug", "kitchen", 1, 1800), item("p-tea", "tea", 1, 1200)],
        "2026-11-01T15:00:00Z",
    ))
    .expect("earlier");
    app.deliver(&confirmed(
        "o-1",
        &ada(),
        vec![item("p-mug", "kitchen", 1, 1800)],
        "2026-11-03T15:00:00Z",
    ))
    .expect("order");
    app.deliver(&envelope(
        "OrderCancelled",
        "2026-11-03T16:00:00Z",
        json!({"order_id": "o-1", "reason": "customer_request"}),
    ))
    .expect("cancelled");
    app.run_until(ts("2026-11-10T00:00:00Z"));
    let ada_keys: Vec<_> = keys(&app).into_iter().filter(|k| k.ends_with("o-1")).collect();
    assert_eq!(ada_keys, ["order_confirmation#o-1", "order_cancellation#o-1"]);
}

#[test]
fn the_review_request_comes_three_days_after_delivery_unless_a_review_was_written() {
    let app = spawn_app();
    for (id, time) in [("o-1", "2026-11-03T15:00:00Z"), ("o-2", "2026-11-03T15:10:00Z")] {
        app.deliver(&confirmed(id, &ada(), vec![item("p-mug", "kitchen", 1, 1800)], time))
            .expect("order");
        app.deliver(&envelope(
            "OrderDelivered",
            "2026-11-05T15:00:00Z",
            json!({"order_id": id}),
        ))
        .expect("delivered");
    }
    app.deliver(&envelope(
        "ReviewSubmitted",
        "2026-11-06T15:00:00Z",
        json!({"order_id": "o-2", "customer_id": "c-1", "rating": 5}),
    ))
    .expect("review");
    app.run_until(ts("2026-11-20T00:00:00Z"));
    let reviews: Vec<_> = app
        .sent()
        .into_iter()
        .filter(|(_, k)| k.starts_with("review_request"))
        .collect();
    assert_eq!(
        reviews,
        vec![("2026-11-08T15:00:00Z".to_owned(), "review_request#o-1".to_owned())]
    );
}

#[test]
fn a_repeat_buyer_gets_the_loyalty_block_instead_of_the_welcome_block() {
    let app = spawn_app();
    for (id, time) in [("o-1", "2026-11-03T15:00:00Z"), ("o-2", "2026-11-04T15:00:00Z")] {
        app.deliver(&confirmed(id, &ada(), vec![item("p-mug", "kitchen", 1, 1800)], time))
            .expect("order");
    }
    app.deliver(&envelope(
        "OrderDelivered",
        "2026-11-06T15:00:00Z",
        json!({"order_id": "o-1"}),
    ))
    .expect("first");
    app.deliver(&envelope(
        "OrderDelivered",
        "2026-11-07T15:00:00Z",
        json!({"order_id": "o-2"}),
    ))
    .expect("second");
    let first = text_of(&app, "delivery_confirmation#o-1");
    let second = text_of(&app, "delivery_confirmation#o-2");
    assert!(
        first.contains("Welcome to the family") && !first.contains("Thanks for coming back"),
        "{first}"
    );
    assert!(
        second.contains("Thanks for coming back") && !second.contains("Welcome to the family"),
        "{second}"
    );
}

#[test]
fn the_welcome_offer_comes_two_days_after_signup_with_a_coupon_unless_the_customer_ordered() {
    let app = spawn_app();
    app.deliver(&envelope(
        "CustomerSignedUp",
        "2026-11-02T15:00:00Z",
        json!({ "customer": ada() }),
    ))
    .expect("signup");
    let bo = customer("c-2", "en-US", "America/New_York", true);
    app.deliver(&envelope(
        "CustomerSignedUp",
        "2026-11-02T15:00:00Z",
        json!({ "customer": bo }),
    ))
    .expect("signup");
    app.deliver(&confirmed(
        "o-2",
        &bo,
        vec![item("p-mug", "kitchen", 1, 1800)],
        "2026-11-03T15:00:00Z",
    ))
    .expect("order");
    app.run_until(ts("2026-11-10T00:00:00Z"));
    let offers: Vec<_> = app
        .sent()
        .into_iter()
        .filter(|(_, k)| k.starts_with("welcome_offer"))
        .collect();
    assert_eq!(
        offers,
        vec![("2026-11-04T15:00:00Z".to_owned(), "welcome_offer#c-1".to_owned())]
    );
    let text = text_of(&app, "welcome_offer#c-1");
    assert!(text.contains("WELCOME-"), "{text}");
}
