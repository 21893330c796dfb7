//! The due index and held events on DynamoDB: one unreadable follow-up does not stop the others, and
//! a held event is kept from its arrival, not from its (possibly old) event time.

use super::*;
use aws_sdk_dynamodb::types::AttributeValue;
use tidings_core::domain::OrderId;
use tidings_core::ports::Orders;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreadable_follow_up_is_skipped_and_the_others_still_fire() {
    let (aws, clock, engine) = spawn_app_with_an_order("2026-11-02T16:05:00Z").await;
    deliver(&engine, &clock, Step::OrderShipped, &shipped()).await;
    deliver(
        &engine,
        &clock,
        Step::OrderDelivered,
        &delivered("2026-11-05T12:00:00Z"),
    )
    .await;
    // An item no release could read, due before everything else in every shard.
    let client = aws_sdk_dynamodb::Client::new(&aws.sdk);
    for shard in 0..4 {
        client
            .put_item()
            .table_name(&aws.table)
            .item("pk", AttributeValue::S(format!("MSG#review_request#o-broken-{shard}")))
            .item("sk", AttributeValue::S("FOLLOWUP".into()))
            .item("gsi1pk", AttributeValue::S(format!("DUE#{shard}")))
            .item("gsi1sk", AttributeValue::S("0000".into()))
            .item("key", AttributeValue::N("7".into()))
            .send()
            .await
            .expect("put corrupt item");
    }
    clock.set(ts("2026-11-09T17:00:00Z"));
    let routed = fire_alarms_and_route(&aws, &engine).await;
    assert!(!routed.is_empty(), "the readable follow-ups were routed");
    assert!(
        subjects(&aws)
            .iter()
            .any(|s| s.contains("How are you enjoying your order")),
        "{:?}",
        subjects(&aws)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_held_event_delivered_late_is_kept_from_its_arrival() {
    let (aws, clock, engine) = spawn_app("2026-11-10T12:00:00Z").await;
    // Its order is not there yet; the event happened a week before it arrives.
    let scan = envelope(
        "ShipmentUpdated",
        "2026-11-03T12:00:00Z",
        json!({"order_id": "o-9", "shipment_id": "shp-9", "status": "delayed"}),
    );
    clock.set(ts("2026-11-10T12:00:00Z"));
    lambda::handle(&engine, Step::OrderShipped, scan).await.expect("held");
    let order = OrderId::parse("o-9").expect("id");
    let held = engine.store().order_file(&order).await.expect("read").held;
    assert_eq!(held.len(), 1);
    let item = aws.item("ORDER#o-9", &held[0].id).await.expect("held item");
    let expires: i64 = item["ttl"].as_n().expect("ttl").parse().expect("number");
    assert!(
        expires > ts("2026-11-11T12:00:00Z").as_second(),
        "kept at least a day after it arrived: {expires}"
    );
}
