//! Made-to-order progress updates and stalled shipments.

use super::*;

#[test]
fn a_made_to_order_order_gets_a_progress_update_every_week_until_it_ships() {
    let app = spawn_app();
    let who = customer("c-1", "en-US", "America/New_York", false);
    app.deliver(&made_to_order("o-1", &who, 21, "2026-11-02T15:00:00Z"))
        .expect("order");
    app.deliver(&shipped("o-1", "shp-1", "2026-11-20T15:00:00Z"))
        .expect("shipped");
    app.run_until(ts("2027-01-31T00:00:00Z"));
    assert_eq!(
        keys_of(&app, MessageKind::OrderProgress),
        [
            ("2026-11-09T15:00:00Z".into(), "order_progress#o-1#1".into()),
            ("2026-11-16T15:00:00Z".into(), "order_progress#o-1#2".into()),
        ],
        "weekly from confirmation, transactional (no consent needed), none after shipping"
    );
}

#[test]
fn short_lead_times_get_no_updates_and_a_cancellation_stops_them() {
    let app = spawn_app();
    let who = customer("c-1", "en-US", "America/New_York", true);
    app.deliver(&made_to_order("o-1", &who, 3, "2026-11-02T15:00:00Z"))
        .expect("short");
    app.deliver(&made_to_order("o-2", &who, 30, "2026-11-02T16:00:00Z"))
        .expect("long");
    app.deliver(&envelope(
        "OrderCancelled",
        "2026-11-12T10:00:00Z",
        json!({"order_id": "o-2"}),
    ))
    .expect("cancel");
    app.run_until(ts("2027-01-31T00:00:00Z"));
    assert_eq!(
        keys_of(&app, MessageKind::OrderProgress),
        [("2026-11-09T16:00:00Z".into(), "order_progress#o-2#1".into())]
    );
}

#[test]
fn progress_updates_stop_after_the_configured_number_when_an_order_never_ships() {
    let app = app_with(|c| c.timing.order_progress_max_updates = 3);
    let who = customer("c-1", "en-US", "America/New_York", false);
    app.deliver(&made_to_order("o-1", &who, 14, "2026-11-02T15:00:00Z"))
        .expect("order");
    app.run_until(ts("2027-06-01T00:00:00Z"));
    assert_eq!(keys_of(&app, MessageKind::OrderProgress).len(), 3);
    let late = app.engine.mailer().sent().into_iter().last().expect("sent");
    let text = String::from_utf8_lossy(&late.raw).into_owned();
    assert!(
        text.contains("longer than we planned"),
        "past the expected ship date the update says so"
    );
}

#[test]
fn a_shipment_without_a_scan_for_five_days_gets_one_stalled_message() {
    let app = spawn_app();
    let who = customer("c-1", "en-US", "America/New_York", false);
    app.deliver(&order_confirmed(
        "o-1",
        &who,
        vec![item("p-mug", "kitchen", 1, 1800)],
        "2026-11-02T15:00:00Z",
    ))
    .expect("order");
    app.deliver(&shipped("o-1", "shp-1", "2026-11-03T15:00:00Z"))
        .expect("shipped");
    app.run_until(ts("2026-12-31T00:00:00Z"));
    assert_eq!(
        keys_of(&app, MessageKind::ShipmentStalled),
        [("2026-11-08T15:00:00Z".into(), "shipment_stalled#shp-1#0".into())]
    );
}

#[test]
fn a_new_scan_restarts_the_wait_and_delivery_ends_it() {
    let app = spawn_app();
    let who = customer("c-1", "en-US", "America/New_York", false);
    for (id, shipment) in [("o-1", "shp-1"), ("o-2", "shp-2")] {
        app.deliver(&order_confirmed(
            id,
            &who,
            vec![item("p-mug", "kitchen", 1, 1800)],
            "2026-11-02T15:00:00Z",
        ))
        .expect("order");
        app.deliver(&shipped(id, shipment, "2026-11-03T15:00:00Z"))
            .expect("shipped");
    }
    app.deliver(&scan("o-1", "shp-1", "in_transit", "2026-11-06T15:00:00Z"))
        .expect("scan");
    app.deliver(&delivered("o-2", "2026-11-07T15:00:00Z"))
        .expect("delivered");
    app.run_until(ts("2026-12-31T00:00:00Z"));
    assert_eq!(
        keys_of(&app, MessageKind::ShipmentStalled),
        [("2026-11-11T15:00:00Z".into(), "shipment_stalled#shp-1#1".into())],
        "five days after the last scan; nothing for the delivered shipment"
    );
    let waiting = app.engine.store().state().follow_ups.len();
    assert!(
        !app.engine
            .store()
            .state()
            .follow_ups
            .keys()
            .any(|k| k.as_str().starts_with("shipment_stalled#shp-1#0")),
        "the older wait was replaced, not left to fire ({waiting} waiting)"
    );
}
