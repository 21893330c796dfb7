//! Issue 13's promises on DynamoDB: an erasure sticks against a redelivery, a tidings unsubscribe
//! sticks to the address under any customer id, and an older cart state never lands last.

use super::compliance::scan;
use super::*;
use tidings_core::domain::CustomerId;
use tidings_core::ports::{CartRecord, Carts, ConsentSource};

fn mug() -> Vec<Value> {
    vec![item("p-mug", "kitchen", 1, 1800)]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redelivered_order_after_an_erasure_writes_nothing_to_the_table() {
    let (aws, clock, engine) = spawn_app_with_an_order("2026-11-02T15:00:00Z").await;
    let redact = envelope(
        "CustomerRedacted",
        "2026-11-03T10:00:00Z",
        json!({"customer_id": "c-1", "email": "1@example.com"}),
    );
    deliver(&engine, &clock, Step::Customer, &redact).await;
    assert!(aws.item("ORDER#o-1", "ORDER").await.is_none(), "erased");
    let mails = aws.sent_mail().len();

    // EventBridge redelivers the confirmation (and a late scan) hours after the erasure.
    clock.set(ts("2026-11-03T18:00:00Z"));
    lambda::handle(&engine, Step::OrderConfirmed, confirmed("2026-11-02T15:00:00Z"))
        .await
        .expect("handled");
    lambda::handle(&engine, Step::OrderShipped, shipped())
        .await
        .expect("handled");
    assert!(aws.item("ORDER#o-1", "ORDER").await.is_none(), "the order came back");
    assert!(
        aws.item("CUSTOMER#c-1", "PROFILE").await.is_none(),
        "the customer came back"
    );
    assert_eq!(aws.sent_mail().len(), mails, "nothing sent again");
    let table = scan(&aws).await.join("\n");
    assert!(!table.contains("1@example.com"), "an address is in the table:\n{table}");
    assert!(!table.contains("HELD#"), "a held event of an erased order:\n{table}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unsubscribed_address_gets_no_marketing_under_a_guest_id() {
    let (aws, clock, engine) = spawn_app("2026-11-02T15:00:00Z").await;
    let signup = envelope("CustomerSignedUp", "2026-11-02T15:00:00Z", json!({ "customer": ada() }));
    deliver(&engine, &clock, Step::Customer, &signup).await;
    let id = CustomerId::parse("c-1").expect("id");
    engine
        .set_marketing_consent(&id, false, ConsentSource::Unsubscribe, ts("2026-11-02T16:00:00Z"))
        .await
        .expect("unsubscribed");
    // Announced on the bus for the store to mirror.
    let announced: Vec<Value> = aws
        .emitted()
        .await
        .into_iter()
        .filter(|e| e["detail-type"] == "CustomerUnsubscribed")
        .collect();
    assert_eq!(announced.len(), 1, "{announced:?}");
    assert_eq!(announced[0]["detail"]["scope"], "marketing");
    let mut guest = ada();
    guest["id"] = json!("guest:1@example.com");
    let abandoned = tidings_tests::cart("cart-1", &guest, mug(), "2026-11-02T17:00:00Z");
    deliver(
        &engine,
        &clock,
        Step::CartAbandoned,
        &envelope("CartUpdated", "2026-11-02T17:00:00Z", json!({ "cart": abandoned })),
    )
    .await;
    let mails = aws.sent_mail().len();
    clock.set(ts("2026-11-03T19:00:00Z"));
    let routed = fire_alarms_and_route(&aws, &engine).await;
    assert!(
        routed.iter().any(|e| e["detail"]["key"]
            .as_str()
            .is_some_and(|k| k.starts_with("cart_reminder#"))),
        "the reminders came due: {routed:?}"
    );
    assert_eq!(
        aws.sent_mail().len(),
        mails,
        "no cart reminder to the unsubscribed address"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_older_cart_state_written_last_is_refused_by_the_table() {
    let (_aws, _clock, engine) = spawn_app("2026-11-02T15:00:00Z").await;
    let cart = |items: Vec<Value>, at: &str| -> tidings_core::domain::Cart {
        serde_json::from_value(tidings_tests::cart("cart-1", &ada(), items, at)).expect("cart")
    };
    let record = |cart: tidings_core::domain::Cart| CartRecord { cart, ordered_at: None };
    let store = engine.store();
    let newer = record(cart(vec![], "2026-11-02T12:00:00Z"));
    assert!(store.save_cart(&newer).await.expect("store"));
    assert!(
        !store
            .save_cart(&record(cart(mug(), "2026-11-02T11:00:00Z")))
            .await
            .expect("store"),
        "refused"
    );
    let kept = store.cart(&newer.cart.id).await.expect("store").expect("cart");
    assert!(kept.cart.items.is_empty(), "the emptied cart is kept");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_250_line_order_is_confirmed_with_a_bounded_number_of_writes() {
    let (aws, clock, engine) = spawn_app("2026-11-02T15:00:00Z").await;
    let items: Vec<Value> = (0..250)
        .map(|i| item(&format!("p-{i:03}"), "kitchen", 1, 100))
        .collect();
    let order = envelope(
        "OrderConfirmed",
        "2026-11-02T15:00:00Z",
        json!({ "order": tidings_tests::order("o-1", &ada(), "USD", items, "2026-11-02T15:00:00Z") }),
    );
    clock.set(ts("2026-11-02T15:00:00Z"));
    let before = aws.moto.requests();
    lambda::handle(&engine, Step::OrderConfirmed, order)
        .await
        .expect("handled");
    let calls = aws.moto.requests() - before;
    assert_eq!(aws.sent_mail().len(), 1, "confirmed");
    // Reads, the order's transaction, SES, then 250 products and the pairs of the first 12
    // (66) in four transactions: 31,125 pair updates before (314 transactions); then the order
    // counted in the report (one transaction).
    eprintln!("a 250-line order: {calls} AWS calls");
    assert!(calls <= 10, "{calls} AWS calls");
    let pairs = aws_sdk_dynamodb::Client::new(&aws.sdk)
        .query()
        .table_name(&aws.table)
        .key_condition_expression("pk = :pk AND begins_with(sk, :pair)")
        .expression_attribute_values(":pk", aws_sdk_dynamodb::types::AttributeValue::S("STATS".into()))
        .expression_attribute_values(":pair", aws_sdk_dynamodb::types::AttributeValue::S("PAIR#".into()))
        .send()
        .await
        .expect("query")
        .count;
    assert_eq!(pairs, 66);
}
