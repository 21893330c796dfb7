//! Upgrading a live deployment: the table as the previous release left it (claims, follow-ups in
//! the due index, a yearly birthday, consent, carts, statistics, written by that release's code
//! and kept in `fixtures/previous-release.jsonl`) keeps working with this one. The fixture is a scan
//! of moto's table after the release before issue 13 (commit caa1fbe) handled: Ada's signup with a
//! birthday, her cart, her order from it, its shipment, a scan and the delivery; a guest's cart and
//! the guest's unsubscribe through tidings. `fixtures/previous-release-guest.jsonl` is the table
//! after the release before guest pseudonyms (commit 948e5fe) handled a guest, Gwen, keyed
//! `guest:gwen@example.com`: her first order, its win-back (sent, with a coupon) and her second
//! order, leaving her birthday, the second win-back and a cross-sell waiting.

use super::*;
use aws_sdk_dynamodb::types::AttributeValue;
use std::collections::HashMap;
use tidings_core::ports::{Carts, Customers};

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

/// A fresh table filled with what the previous release wrote, with this release deployed on it.
async fn previous_release(at: &str) -> (AwsTest, Arc<SimClock>, TestEngine) {
    let (aws, clock, engine) = table_of(at, include_str!("fixtures/previous-release.jsonl")).await;
    deploy_this_release(&aws, &clock).await;
    (aws, clock, engine)
}

/// A fresh table filled with the items of `fixture` (one DynamoDB JSON item per line), this
/// release's functions deployed on it but its `FollowUpAlarms` resource not yet run.
async fn table_of(at: &str, fixture: &str) -> (AwsTest, Arc<SimClock>, TestEngine) {
    let (aws, clock, engine) = spawn_app(at).await;
    put_items(&aws, fixture).await;
    (aws, clock, engine)
}

/// Puts the items of `fixture` as they are.
async fn put_items(aws: &AwsTest, fixture: &str) {
    let client = aws_sdk_dynamodb::Client::new(&aws.sdk);
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
    fire_alarms_and_route(&aws, &engine).await;
    // The table is upgraded by a pass begun ten minutes after the first (a rollout is over).
    clock.set(ts("2026-11-08T19:11:00Z"));
    fire_alarms_and_route(&aws, &engine).await;
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
    fire_alarms_and_route(&aws, &engine).await;
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
    fire_alarms_and_route(&aws, &engine).await;
    let birthday = subjects(&aws).iter().filter(|s| s.contains("Happy birthday")).count();
    assert_eq!(birthday, 1, "{:?}", subjects(&aws));
}

/// Every item of the table, as text.
async fn scan_text(aws: &AwsTest) -> Vec<String> {
    let client = aws_sdk_dynamodb::Client::new(&aws.sdk);
    let scan = client.scan().table_name(&aws.table).send().await.expect("scan");
    scan.items().iter().map(|item| format!("{item:?}")).collect()
}

fn count(aws: &AwsTest, subject: &str) -> usize {
    subjects(aws).iter().filter(|s| s.contains(subject)).count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_table_with_guests_keyed_by_address_is_upgraded_and_every_promise_holds() {
    let (aws, clock, engine) = table_of(
        "2026-11-06T10:00:00Z",
        include_str!("fixtures/previous-release-guest.jsonl"),
    )
    .await;
    let legacy = "guest:gwen@example.com";
    let mut gwen = customer("c-gwen", "en-US", "America/New_York", true);
    gwen["id"] = json!(legacy);
    gwen["email"] = json!("gwen@example.com");
    gwen["birthday"] = json!("1991-12-10");

    // Before the alarm setter upgraded anything (this release's functions run first), Gwen's next event finds her history under the old key.
    let abandoned = tidings_tests::cart(
        "cart-g",
        &gwen,
        vec![item("p-tea", "tea", 1, 1250)],
        "2026-11-06T10:00:00Z",
    );
    deliver(
        &engine,
        &clock,
        Step::CartAbandoned,
        &envelope("CartUpdated", "2026-11-06T10:00:00Z", json!({ "cart": abandoned })),
    )
    .await;
    let pseudonym = engine
        .keys()
        .guest_ids()
        .customer_id(&tidings_core::domain::CustomerId::parse(legacy).expect("id"));
    let record = engine
        .store()
        .customer(&pseudonym)
        .await
        .expect("store")
        .expect("her profile, moved");
    assert_eq!(record.orders_confirmed, 2, "her two orders are still counted");

    // During the rollout the earlier release's functions still finish invocations and write the
    // old form (here: its copy of the waiting win-back), before the deployment's alarm setter runs.
    let fixture = include_str!("fixtures/previous-release-guest.jsonl");
    let straggler: String = fixture
        .lines()
        .filter(|l| l.contains("MSG#win_back#guest:gwen@example.com#o-g2"))
        .collect();
    put_items(&aws, &straggler).await;
    // The setter upgrades the table: no key, index or attribute names her by address. It is done
    // only after a pass begun once a rollout is surely over (ten minutes) finds nothing left.
    clock.set(ts("2026-11-06T10:05:00Z"));
    let answer = deploy_this_release(&aws, &clock).await;
    assert!(
        clock.now() >= ts("2026-11-06T10:15:00Z"),
        "passes over ten minutes: {}",
        clock.now()
    );
    let items = scan_text(&aws).await;
    let left: Vec<&String> = items.iter().filter(|i| i.contains(legacy)).collect();
    assert!(left.is_empty(), "{left:#?}");
    let done = |items: &[String]| {
        items
            .iter()
            .any(|i| i.contains("CONFIG#upgrade") && i.contains("done_at"))
    };
    assert!(done(&items));
    assert!(
        items
            .iter()
            .any(|i| i.contains(&format!("MSG#win_back#{pseudonym}#o-g1"))),
        "the old claim moved"
    );
    // Every waiting follow-up has its alarm, under its new key.
    let alarms = aws.alarms().await;
    assert_eq!(answer["alarms"], json!(alarms.len()), "{alarms:#?}");
    assert!(
        alarms.iter().all(|a| !a.input.to_string().contains("gwen@")),
        "{alarms:#?}"
    );

    // What was waiting fires once each; the win-back already sent is not sent again.
    for at in [
        "2026-11-09T16:00:00Z",
        "2026-11-30T16:00:00Z",
        "2026-12-10T16:00:00Z",
        "2026-12-31T16:00:00Z",
    ] {
        clock.set(ts(at));
        fire_alarms_and_route(&aws, &engine).await;
        clock.set(ts(at) + jiff::SignedDuration::from_mins(5));
        fire_alarms_and_route(&aws, &engine).await;
    }
    let items = scan_text(&aws).await;
    assert!(done(&items) && !items.iter().any(|i| i.contains(legacy)));
    assert_eq!(count(&aws, "Happy birthday"), 1, "{:?}", subjects(&aws));
    assert_eq!(
        count(&aws, "We miss you"),
        1,
        "the second order's win-back only: {:?}",
        subjects(&aws)
    );

    // A FollowUpDue the previous release's sweeper emitted, redelivered with the old key: nothing.
    let before = aws.sent_mail().len();
    let step = tidings_core::message::MessageKind::WinBack.step();
    let due = json!({"key": format!("win_back#{legacy}#o-g2"), "step": step, "subject_id": legacy,
        "due_at": "2026-11-30T14:00:00Z"});
    let mut redelivered = envelope("FollowUpDue", "2026-12-31T17:00:00Z", due);
    redelivered["source"] = json!("tidings");
    deliver(&engine, &clock, step, &redelivered).await;
    assert_eq!(aws.sent_mail().len(), before, "{:?}", subjects(&aws));
}

/// Gwen, as the earlier release's guest fixture names her.
fn gwen() -> Value {
    let mut gwen = customer("c-gwen", "en-US", "America/New_York", true);
    gwen["id"] = json!("guest:gwen@example.com");
    gwen["email"] = json!("gwen@example.com");
    gwen
}

/// Fires the alarms due now and then, until the end of the year.
async fn sweep_through_the_year(aws: &AwsTest, clock: &SimClock, engine: &TestEngine) {
    for at in [
        "2026-11-06T10:05:00Z",
        "2026-11-06T10:30:00Z",
        "2026-11-09T16:00:00Z",
        "2026-11-30T16:00:00Z",
        "2026-12-10T16:00:00Z",
        "2026-12-31T16:00:00Z",
    ] {
        clock.set(ts(at));
        fire_alarms_and_route(aws, engine).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_guest_who_unsubscribes_with_an_old_link_before_the_upgrade_gets_no_marketing() {
    let (aws, clock, engine) = table_of(
        "2026-11-06T10:00:00Z",
        include_str!("fixtures/previous-release-guest.jsonl"),
    )
    .await;
    // The link in the win-back the earlier release mailed names her by address.
    let legacy = tidings_core::domain::CustomerId::parse("guest:gwen@example.com").expect("id");
    let token = engine
        .keys()
        .unsubscribe_token(&legacy, "marketing", ts("2026-10-29T15:00:00Z"));
    let unsubscribe = json!({"version": "0", "id": "u-1", "detail-type": "UnsubscribeRequested",
        "source": "tidings.unsubscribe", "time": "2026-11-06T10:00:00Z", "detail": {"token": token}});
    let answer = deliver(&engine, &clock, Step::Customer, &unsubscribe).await;
    assert!(answer.to_string().contains("withdrawn"), "{answer}");
    deploy_this_release(&aws, &clock).await;
    sweep_through_the_year(&aws, &clock, &engine).await;
    assert_eq!(
        subjects(&aws),
        Vec::<String>::new(),
        "no win-back, cross-sell or birthday"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_guest_erased_before_the_upgrade_is_not_brought_back_by_it() {
    let (aws, clock, engine) = table_of(
        "2026-11-06T10:00:00Z",
        include_str!("fixtures/previous-release-guest.jsonl"),
    )
    .await;
    let redact = envelope(
        "CustomerRedacted",
        "2026-11-06T10:00:00Z",
        json!({"customer_id": "guest:gwen@example.com", "email": "gwen@example.com"}),
    );
    deliver(&engine, &clock, Step::Customer, &redact).await;
    // A redelivered order from before the erasure finds nothing to bring back either.
    let order = order(
        "o-g2",
        &gwen(),
        "USD",
        vec![item("p-tea", "tea", 1, 1250)],
        "2026-11-02T10:00:00Z",
    );
    deliver(
        &engine,
        &clock,
        Step::OrderConfirmed,
        &envelope("OrderConfirmed", "2026-11-02T10:00:00Z", json!({ "order": order })),
    )
    .await;
    deploy_this_release(&aws, &clock).await;
    sweep_through_the_year(&aws, &clock, &engine).await;
    assert_eq!(subjects(&aws), Vec::<String>::new());
    let left: Vec<String> = scan_text(&aws)
        .await
        .into_iter()
        .filter(|i| i.contains("gwen") || i.contains("ORDER#o-g") || i.contains("win_back#"))
        .collect();
    assert!(left.is_empty(), "{left:#?}");
}
