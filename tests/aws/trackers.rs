//! Registering parcels with AfterShip and EasyPost against the local stand-in of their APIs
//! (tests/support/tracking_apis.rs), through the engine as the order-shipped step runs it: each
//! parcel with a number registered once with each configured service, a redelivery registers
//! nothing, and a service that is down holds no shipping confirmation up.

use serde_json::json;
use std::sync::Arc;
use tidings_aws::trackers::{Key, Service, TrackingServices};
use tidings_tests::tracking_apis::{AFTERSHIP_KEY, EASYPOST_KEY, TrackingStandIn};
use tidings_tests::{customer, envelope, item, order_confirmed, spawn_app};

fn services(stand_in: &TrackingStandIn) -> Arc<TrackingServices> {
    Arc::new(TrackingServices::new(vec![
        Service::aftership(&stand_in.url, Key::fixed(AFTERSHIP_KEY)),
        Service::easypost(&stand_in.url, Key::fixed(EASYPOST_KEY)),
    ]))
}

fn shipped(order: &str, shipment: &str, number: Option<&str>, time: &str) -> serde_json::Value {
    envelope(
        "OrderShipped",
        time,
        json!({"order_id": order, "shipment": {"id": shipment, "carrier": "ups", "tracking_number": number, "shipped_at": time}}),
    )
}

#[test]
fn each_parcel_with_a_number_is_registered_once_with_each_service() {
    let stand_in = TrackingStandIn::start();
    let app = spawn_app().with_trackers(services(&stand_in));
    let who = customer("c-1", "en-US", "America/New_York", true);
    app.deliver(&order_confirmed(
        "o-1",
        &who,
        vec![item("p-mug", "kitchen", 1, 1800)],
        "2026-11-02T10:00:00Z",
    ))
    .expect("order");
    app.deliver(&shipped(
        "o-1",
        "s-1",
        Some("1Z 999 AA1 0123 4567 84"),
        "2026-11-03T10:00:00Z",
    ))
    .expect("shipped");
    // Redelivered: nothing more. A parcel without a number: nothing to register.
    app.deliver(&shipped(
        "o-1",
        "s-1",
        Some("1Z 999 AA1 0123 4567 84"),
        "2026-11-03T10:00:00Z",
    ))
    .expect("again");
    app.deliver(&shipped("o-1", "s-2", None, "2026-11-03T11:00:00Z"))
        .expect("no number");
    let state = stand_in.state.lock().expect("state");
    assert_eq!(state.violations, Vec::<String>::new());
    assert_eq!(
        state.requests,
        [
            r#"aftership {"slug":"ups","tracking_number":"1Z999AA10123456784"}"#,
            r#"easypost {"tracker":{"carrier":"UPS","tracking_code":"1Z999AA10123456784"}}"#,
        ]
    );
}

#[test]
fn a_service_that_is_down_holds_no_confirmation_up_nor_the_other_service() {
    let stand_in = TrackingStandIn::start();
    let app = spawn_app().with_trackers(services(&stand_in));
    stand_in.inject(&[503]);
    let who = customer("c-1", "en-US", "America/New_York", true);
    app.deliver(&order_confirmed(
        "o-1",
        &who,
        vec![item("p-mug", "kitchen", 1, 1800)],
        "2026-11-02T10:00:00Z",
    ))
    .expect("order");
    app.deliver(&shipped(
        "o-1",
        "s-1",
        Some("1Z999AA10123456784"),
        "2026-11-03T10:00:00Z",
    ))
    .expect("shipped, though AfterShip answered 503");
    let sent: Vec<String> = app.sent().into_iter().map(|(_, key)| key).collect();
    assert!(sent.contains(&"shipping_confirmation#s-1".to_owned()), "{sent:?}");
    let state = stand_in.state.lock().expect("state");
    assert_eq!(state.requests.len(), 2, "one attempt each");
    assert!(state.aftership.is_empty(), "AfterShip was down");
    assert!(state.easypost.contains("1Z999AA10123456784"), "EasyPost still got it");
}
