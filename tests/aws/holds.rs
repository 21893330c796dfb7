//! Events that arrive before their order or shipment: held with the order, read with it, and never
//! passed over by a write that read the order before the hold.

use super::*;
use tidings_core::event::Parsed;
use tidings_core::event::parse_envelope_value;
use tidings_core::ports::{Awaiting, Changes, Orders, StoreError};

fn scan(time: &str) -> Value {
    envelope(
        "ShipmentUpdated",
        time,
        json!({"order_id": "o-1", "shipment_id": "shp-1", "status": "out_for_delivery"}),
    )
}

fn inbound(event: &Value) -> tidings_core::event::InboundEvent {
    match parse_envelope_value(event.clone()).expect("valid") {
        Parsed::Known(event) => *event,
        Parsed::Unknown { .. } => panic!("known type"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_shipment_and_its_scan_before_the_order_are_sent_once_it_arrives() {
    let (aws, clock, engine) = spawn_app("2026-11-02T16:05:00Z").await;
    deliver(&engine, &clock, Step::OrderShipped, &scan("2026-11-03T12:00:00Z")).await;
    deliver(&engine, &clock, Step::OrderShipped, &shipped()).await;
    assert!(subjects(&aws).is_empty(), "nothing without the order");
    assert!(
        aws.item("ORDER#o-1", "ORDER")
            .await
            .is_some_and(|item| !item.contains_key("confirmed_at")),
        "only a placeholder carrying the held events' version"
    );

    deliver(
        &engine,
        &clock,
        Step::OrderConfirmed,
        &confirmed("2026-11-03T14:00:00Z"),
    )
    .await;
    assert_eq!(
        subjects(&aws),
        [
            "Your order #1 is confirmed",
            "Your order #1 is on its way",
            "Update on your order #1: Out for delivery",
        ]
    );
    let file = engine
        .store()
        .order_file(&tidings_core::domain::OrderId::parse("o-1").expect("id"))
        .await
        .expect("read");
    assert!(file.held.is_empty(), "{:?}", file.held);
    assert_eq!(file.record.expect("confirmed").shipments.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_write_that_read_the_order_before_a_hold_is_refused_and_a_late_hold_is_refused() {
    let (aws, clock, engine) = spawn_app_with_an_order("2026-11-02T16:05:00Z").await;
    let store = engine.store();
    let order = tidings_core::domain::OrderId::parse("o-1").expect("id");

    // A writer reads the order; a scan for a shipment not announced yet is held meanwhile.
    let read = store.order_file(&order).await.expect("read").record.expect("order");
    let shipment = tidings_core::domain::ShipmentId::parse("shp-1").expect("id");
    let held = store
        .hold_event(
            &order,
            &inbound(&scan("2026-11-03T12:00:00Z")),
            Awaiting::Shipment(&shipment),
            ts("2026-11-03T12:00:00Z"),
        )
        .await
        .expect("hold");
    assert!(held);
    let stale = Changes {
        order: Some(&read),
        ..Changes::default()
    };
    let refused = store.save_together(&stale).await.expect_err("the order moved on");
    assert!(matches!(refused, StoreError::Conflict { .. }), "{refused}");

    // Once the shipment is recorded, a hold waiting for it is refused: the event is handled now.
    deliver(&engine, &clock, Step::OrderShipped, &shipped()).await;
    let late = store
        .hold_event(
            &order,
            &inbound(&scan("2026-11-03T14:00:00Z")),
            Awaiting::Shipment(&shipment),
            ts("2026-11-03T12:00:00Z"),
        )
        .await
        .expect("hold");
    assert!(!late, "the shipment is there");
    // The scan held before the shipment was released by it.
    assert_eq!(
        subjects(&aws),
        [
            "Your order #1 is confirmed",
            "Your order #1 is on its way",
            "Update on your order #1: Out for delivery",
        ]
    );
    assert!(store.order_file(&order).await.expect("read").held.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn orders_and_their_shipments_arriving_at_the_same_moment_each_send_both_emails_once() {
    let (aws, _clock, engine) = spawn_app("2026-11-03T13:00:00Z").await;
    let engine = Arc::new(engine);
    let orders = 1..=4;
    let mut invocations = tokio::task::JoinSet::new();
    for n in orders.clone() {
        let items = vec![item(&format!("p-{n}"), "kitchen", 1, 1800)];
        let order = order(&format!("o-{n}"), &ada(), "USD", items, "2026-11-03T13:00:00Z");
        let shipment = json!({"id": format!("shp-{n}"), "carrier": "ups", "tracking_number": "1Z999AA10123456784", "shipped_at": "2026-11-03T13:00:00Z"});
        let events = [
            (
                Step::OrderConfirmed,
                envelope("OrderConfirmed", "2026-11-03T13:00:00Z", json!({ "order": order })),
            ),
            (
                Step::OrderShipped,
                envelope(
                    "OrderShipped",
                    "2026-11-03T13:00:00Z",
                    json!({"order_id": format!("o-{n}"), "shipment": shipment}),
                ),
            ),
        ];
        // Each order's confirmation and shipment race: the shipment may be held, its hold may
        // race the order's write, or it may find the order written.
        for (step, event) in events {
            let engine = Arc::clone(&engine);
            invocations.spawn(async move { lambda::handle(&*engine, step, event).await });
        }
    }
    while let Some(result) = invocations.join_next().await {
        result.expect("no panic").expect("every invocation succeeds");
    }
    report_sends().await;

    let mut sent = subjects(&aws);
    sent.sort();
    let mut expected: Vec<String> = orders
        .clone()
        .flat_map(|n| {
            [
                format!("Your order #{n} is confirmed"),
                format!("Your order #{n} is on its way"),
            ]
        })
        .collect();
    expected.sort();
    assert_eq!(sent, expected, "both emails of every order, once each");
    for n in orders {
        let id = tidings_core::domain::OrderId::parse(&format!("o-{n}")).expect("id");
        let file = engine.store().order_file(&id).await.expect("read");
        assert!(file.held.is_empty(), "o-{n} still holds {:?}", file.held);
        assert_eq!(file.record.expect("confirmed").shipments.len(), 1, "o-{n}");
    }
}
