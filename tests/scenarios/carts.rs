//! Cart reminders: 1st +1 h, 2nd +24 h with a coupon; exits when bought, emptied or updated.

use serde_json::{Value, json};
use tidings_tests::{cart, customer, envelope, item, order, spawn_app};

fn ada() -> Value {
    customer("c-1", "en-GB", "Europe/London", true)
}

fn cart_event(time: &str, items: Vec<Value>) -> Value {
    envelope(
        "CartUpdated",
        time,
        json!({ "cart": cart("cart-1", &ada(), items, time) }),
    )
}

fn keys(app: &tidings_tests::TestApp) -> Vec<String> {
    app.sent().into_iter().map(|(_, key)| key).collect()
}

#[test]
fn a_cart_bought_within_the_hour_sends_no_reminder() {
    let app = spawn_app();
    app.deliver(&cart_event(
        "2026-11-10T10:00:00Z",
        vec![item("p-mug", "kitchen", 1, 1800)],
    ))
    .expect("cart");
    let mut bought = order(
        "o-1",
        &ada(),
        "USD",
        vec![item("p-mug", "kitchen", 1, 1800)],
        "2026-11-10T10:40:00Z",
    );
    bought["cart_id"] = json!("cart-1");
    app.deliver(&envelope(
        "OrderConfirmed",
        "2026-11-10T10:40:00Z",
        json!({ "order": bought }),
    ))
    .expect("order");
    app.run_until(tidings_tests::ts("2026-11-20T00:00:00Z"));
    assert_eq!(keys(&app), ["order_confirmation#o-1"]);
}

#[test]
fn an_order_by_the_customer_without_the_cart_id_also_ends_the_reminders() {
    let app = spawn_app();
    app.deliver(&cart_event(
        "2026-11-10T10:00:00Z",
        vec![item("p-mug", "kitchen", 1, 1800)],
    ))
    .expect("cart");
    let bought = order(
        "o-1",
        &ada(),
        "USD",
        vec![item("p-tea", "tea", 1, 1200)],
        "2026-11-10T10:30:00Z",
    );
    app.deliver(&envelope(
        "OrderConfirmed",
        "2026-11-10T10:30:00Z",
        json!({ "order": bought }),
    ))
    .expect("order");
    app.run_until(tidings_tests::ts("2026-11-20T00:00:00Z"));
    assert!(
        keys(&app).iter().all(|k| !k.starts_with("cart_reminder")),
        "{:?}",
        keys(&app)
    );
}

#[test]
fn an_abandoned_cart_gets_two_reminders_and_the_second_carries_a_coupon() {
    let app = spawn_app();
    app.deliver(&cart_event(
        "2026-11-10T10:00:00Z",
        vec![item("p-mug", "kitchen", 1, 1800)],
    ))
    .expect("cart");
    app.run_until(tidings_tests::ts("2026-11-20T00:00:00Z"));
    assert_eq!(
        app.sent(),
        vec![
            (
                "2026-11-10T11:00:00Z".to_owned(),
                "cart_reminder#cart-1#2026-11-10T10:00:00Z#1".to_owned()
            ),
            (
                "2026-11-11T11:00:00Z".to_owned(),
                "cart_reminder#cart-1#2026-11-10T10:00:00Z#2".to_owned()
            ),
        ]
    );
    let events = app.engine.bus().events();
    let coupons: Vec<_> = events
        .iter()
        .filter(|e| e.detail.detail_type() == "CouponIssued")
        .collect();
    assert_eq!(coupons.len(), 1);
}

#[test]
fn updating_the_cart_restarts_the_clock_and_emptying_it_stops_the_reminders() {
    let app = spawn_app();
    app.deliver(&cart_event(
        "2026-11-10T10:00:00Z",
        vec![item("p-mug", "kitchen", 1, 1800)],
    ))
    .expect("cart");
    app.deliver(&cart_event(
        "2026-11-10T10:50:00Z",
        vec![item("p-mug", "kitchen", 2, 1800)],
    ))
    .expect("update");
    app.run_until(tidings_tests::ts("2026-11-10T12:00:00Z"));
    assert_eq!(
        keys(&app),
        ["cart_reminder#cart-1#2026-11-10T10:50:00Z#1"],
        "only the newer version reminds"
    );
    app.deliver(&cart_event("2026-11-10T13:00:00Z", vec![]))
        .expect("emptied");
    app.run_until(tidings_tests::ts("2026-11-20T00:00:00Z"));
    assert_eq!(keys(&app).len(), 1, "{:?}", keys(&app));
}

#[test]
fn an_older_cart_version_arriving_late_is_ignored() {
    let app = spawn_app();
    app.deliver(&cart_event(
        "2026-11-10T10:50:00Z",
        vec![item("p-mug", "kitchen", 2, 1800)],
    ))
    .expect("newer");
    let mut late = cart_event("2026-11-10T10:55:00Z", vec![]);
    late["detail"]["cart"]["updated_at"] = json!("2026-11-10T10:00:00Z");
    app.deliver(&late).expect("older version");
    app.run_until(tidings_tests::ts("2026-11-10T12:00:00Z"));
    assert_eq!(keys(&app), ["cart_reminder#cart-1#2026-11-10T10:50:00Z#1"]);
}
