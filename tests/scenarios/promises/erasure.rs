//! Defect 2: an erasure sticks against redeliveries and late events.

use super::*;

fn redact(time: &str) -> Value {
    envelope(
        "CustomerRedacted",
        time,
        json!({"customer_id": "c-1", "email": "1@example.com"}),
    )
}

fn stored_anything(app: &TestApp) -> bool {
    let state = app.engine.store().state();
    let debug = format!("{:?}{:?}{:?}", state.customers, state.orders, state.follow_ups);
    debug.contains("1@example.com") || debug.contains("o-1")
}

#[test]
fn a_redelivered_order_after_an_erasure_recreates_nothing() {
    let app = spawn_app();
    let ada = customer("c-1", "en-US", "America/New_York", true);
    let placed = order_confirmed("o-1", &ada, mug(), "2026-11-02T15:00:00Z");
    app.deliver(&placed).expect("order");
    app.deliver(&redact("2026-11-03T10:00:00Z")).expect("erased");
    assert!(!stored_anything(&app));
    // EventBridge redelivers the confirmation hours later, then a scan of the erased order arrives.
    app.deliver_at(&placed, ts("2026-11-03T18:00:00Z"))
        .expect("redelivered");
    let shipped = envelope(
        "OrderShipped",
        "2026-11-02T20:00:00Z",
        json!({"order_id": "o-1", "shipment": {"id": "shp-1", "carrier": "ups", "tracking_number": "1Z",
            "shipped_at": "2026-11-02T20:00:00Z"}}),
    );
    app.deliver_at(&shipped, ts("2026-11-03T19:00:00Z"))
        .expect("late shipment");
    assert!(!stored_anything(&app), "the erased customer came back");
    assert!(
        app.engine.store().state().held.is_empty(),
        "nothing held for an erased order"
    );
    app.run_until(ts("2027-12-31T00:00:00Z"));
    assert_eq!(
        keys(&app),
        ["order_confirmation#o-1"],
        "no birthday, win-back or shipping mail"
    );
}

#[test]
fn a_late_signup_does_not_lift_an_erasure_that_arrived_first() {
    let app = spawn_app();
    app.deliver(&redact("2026-11-03T10:00:00Z"))
        .expect("erased before anything was seen");
    let ada = customer("c-1", "en-US", "America/New_York", true);
    let signup = envelope("CustomerSignedUp", "2026-11-02T10:00:00Z", json!({ "customer": ada }));
    app.deliver_at(&signup, ts("2026-11-03T11:00:00Z"))
        .expect("late signup");
    // The same address under another id, from before the erasure, is the same person.
    let mut guest = ada.clone();
    guest["id"] = json!("guest:1@example.com");
    let abandoned = cart("cart-1", &guest, mug(), "2026-11-02T11:00:00Z");
    app.deliver_at(
        &envelope("CartUpdated", "2026-11-02T11:00:00Z", json!({ "cart": abandoned })),
        ts("2026-11-03T11:00:00Z"),
    )
    .expect("late cart");
    assert!(!stored_anything(&app));
    app.run_until(ts("2026-12-31T00:00:00Z"));
    assert!(keys(&app).is_empty(), "{:?}", keys(&app));
}

#[test]
fn a_new_order_after_the_erasure_is_a_new_customer() {
    let app = spawn_app();
    let ada = customer("c-1", "en-US", "America/New_York", true);
    app.deliver(&order_confirmed("o-1", &ada, mug(), "2026-11-02T15:00:00Z"))
        .expect("order");
    app.deliver(&redact("2026-11-03T10:00:00Z")).expect("erased");
    let mut again = ada.clone();
    again["marketing_consent"] = json!(false);
    app.deliver(&order_confirmed("o-2", &again, mug(), "2026-11-10T15:00:00Z"))
        .expect("new order");
    let state = app.engine.store().state();
    let record = &state.customers[&id("c-1")];
    assert_eq!(record.orders_confirmed, 1, "counted from scratch");
    drop(state);
    assert_eq!(keys(&app), ["order_confirmation#o-1", "order_confirmation#o-2"]);
}
