//! Upgrading a live deployment: the table as the previous release left it (claims, follow-ups in
//! the due index, a yearly birthday, consent, carts, statistics, written by that release's code
//! and kept in `fixtures/previous-release.jsonl`) keeps working with this one. The fixture is a scan
//! of moto's table after the release before issue 13 (commit caa1fbe) handled: Ada's signup with a
//! birthday, her cart, her order from it, its shipment, a scan and the delivery; a guest's cart and
//! the guest's unsubscribe through tidings.

use super::*;
use aws_sdk_dynamodb::types::AttributeValue;
use std::collections::HashMap;
use tidings_core::ports::Store;

/// DynamoDB's JSON form of an attribute, as the fixture holds it.
fn attribute(value: &Value) -> AttributeValue {
    let (kind, inner) = value
        .as_object()
        .and_then(|o| o.iter().next())
        .expect("a typed attribute");
    match kind.as_str() {
        "S" => AttributeValue::S(inner.as_str().expect("string").to_owned()),
        "N" => AttributeValue::N(inner.as_str().expect("number").to_owned()),
        "BOOL" => AttributeValue::Bool(inner.as_bool().expect("bool")),
        "NULL" => AttributeValue::Null(true),
        "L" => AttributeValue::L(inner.as_array().expect("list").iter().map(attribute).collect()),
        "M" => AttributeValue::M(
            inner
                .as_object()
                .expect("map")
                .iter()
                .map(|(k, v)| (k.clone(), attribute(v)))
                .collect(),
        ),
        "SS" => AttributeValue::Ss(strings(inner)),
        "NS" => AttributeValue::Ns(strings(inner)),
        other => panic!("attribute type {other} is not in the fixture's vocabulary"),
    }
}

fn strings(value: &Value) -> Vec<String> {
    let list = value.as_array().expect("set");
    list.iter().map(|v| v.as_str().expect("string").to_owned()).collect()
}

/// A fresh table filled with what the previous release wrote.
async fn previous_release(at: &str) -> (AwsTest, Arc<SimClock>, TestEngine) {
    let (aws, clock, engine) = spawn_app(at).await;
    let client = aws_sdk_dynamodb::Client::new(&aws.sdk);
    let fixture = include_str!("fixtures/previous-release.jsonl");
    for line in fixture.lines().filter(|l| !l.trim().is_empty()) {
        let item: HashMap<String, AttributeValue> = serde_json::from_str::<serde_json::Map<String, Value>>(line)
            .expect("fixture line")
            .iter()
            .map(|(name, value)| (name.clone(), attribute(value)))
            .collect();
        client
            .put_item()
            .table_name(&aws.table)
            .set_item(Some(item))
            .send()
            .await
            .expect("put");
    }
    (aws, clock, engine)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_table_written_by_the_previous_release_keeps_every_promise() {
    let (aws, clock, engine) = previous_release("2026-11-06T10:00:00Z").await;

    // Redeliveries of what the previous release already sent send nothing (its claims hold).
    let mut order = confirmed("2026-11-02T16:05:00Z");
    order["detail"]["order"]["customer"]["birthday"] = json!("1990-03-14");
    order["detail"]["order"]["cart_id"] = json!("cart-1");
    for (step, event) in [
        (Step::OrderConfirmed, order),
        (Step::OrderShipped, shipped()),
        (Step::OrderDelivered, delivered("2026-11-05T18:40:00Z")),
    ] {
        lambda::handle(&engine, step, event).await.expect("redelivered");
    }
    report_sends().await;
    assert!(aws.sent_mail().is_empty(), "{:?}", subjects(&aws));

    // Follow-ups it left in the due index fire once: the review request three days after delivery.
    clock.set(ts("2026-11-08T19:00:00Z"));
    sweep_and_route(&aws, &engine).await;
    clock.set(ts("2026-11-08T19:05:00Z"));
    sweep_and_route(&aws, &engine).await;
    let reviews = subjects(&aws)
        .iter()
        .filter(|s| s.contains("enjoying your order"))
        .count();
    assert_eq!(reviews, 1, "{:?}", subjects(&aws));

    // The guest it recorded as unsubscribed stays unsubscribed, whatever a new cart says.
    let mut guest = customer("c-2", "en-GB", "Europe/London", true);
    guest["id"] = json!("guest:2@example.com");
    let cart = tidings_tests::cart(
        "cart-2",
        &guest,
        vec![item("p-tea", "tea", 1, 1250)],
        "2026-11-09T10:00:00Z",
    );
    deliver(
        &engine,
        &clock,
        Step::CartAbandoned,
        &envelope("CartUpdated", "2026-11-09T10:00:00Z", json!({ "cart": cart })),
    )
    .await;
    // Its unsubscribe was kept per customer id; from the guest's first event on it holds for the
    // address, so the same person's account gets no marketing either.
    let registered = customer("c-2", "en-GB", "Europe/London", true);
    let items = vec![item("p-tea", "tea", 1, 1250)];
    let cart = tidings_tests::cart("cart-3", &registered, items, "2026-11-09T10:05:00Z");
    deliver(
        &engine,
        &clock,
        Step::CartAbandoned,
        &envelope("CartUpdated", "2026-11-09T10:05:00Z", json!({ "cart": cart })),
    )
    .await;
    let before = aws.sent_mail().len();
    clock.set(ts("2026-11-10T12:00:00Z"));
    sweep_and_route(&aws, &engine).await;
    assert_eq!(
        aws.sent_mail().len(),
        before,
        "no cart reminder to the unsubscribed guest"
    );

    // A cart it wrote (without the version attribute this release adds) takes a newer state.
    let mut ada = ada();
    ada["birthday"] = json!("1990-03-14");
    let newer = tidings_tests::cart("cart-1", &ada, vec![], "2026-11-10T12:00:00Z");
    deliver(
        &engine,
        &clock,
        Step::CartAbandoned,
        &envelope("CartUpdated", "2026-11-10T12:00:00Z", json!({ "cart": newer })),
    )
    .await;
    let cart_id = tidings_core::domain::CartId::parse("cart-1").expect("id");
    let kept = engine.store().cart(&cart_id).await.expect("store").expect("cart");
    assert!(
        kept.cart.items.is_empty(),
        "the newer, emptied cart replaced the old item"
    );

    // The yearly birthday it scheduled fires next March.
    clock.set(ts("2027-03-14T14:00:00Z"));
    sweep_and_route(&aws, &engine).await;
    let birthday = subjects(&aws).iter().filter(|s| s.contains("Happy birthday")).count();
    assert_eq!(birthday, 1, "{:?}", subjects(&aws));
}
