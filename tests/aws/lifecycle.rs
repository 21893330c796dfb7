//! One order from confirmation to review request, follow-ups fired by their alarms.

use super::*;
use tidings_core::domain::ProductId;
use tidings_core::ports::{Clock, Statistics};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_order_from_confirmation_to_the_review_request_fired_by_its_alarm() {
    let (aws, clock, engine) = spawn_app_with_an_order("2026-11-02T16:05:00Z").await;

    deliver(&engine, &clock, Step::OrderShipped, &shipped()).await;
    let scan =
        json!({"order_id": "o-1", "shipment_id": "shp-1", "status": "out_for_delivery", "location": "Albany, NY"});
    deliver(
        &engine,
        &clock,
        Step::OrderShipped,
        &envelope("ShipmentUpdated", "2026-11-05T12:10:00Z", scan),
    )
    .await;
    deliver(
        &engine,
        &clock,
        Step::OrderDelivered,
        &delivered("2026-11-05T18:40:00Z"),
    )
    .await;
    assert_eq!(subjects(&aws).len(), 4);
    let emitted = aws.emitted().await;
    let count = |detail_type: &str| emitted.iter().filter(|e| e["detail-type"] == detail_type).count();
    assert_eq!((count("EmailSent"), count("CouponIssued")), (4, 1), "{emitted:?}");
    assert!(
        emitted
            .iter()
            .filter(|e| e["detail-type"] == "EmailSent")
            .all(|e| !e["detail"]["ses_message_id"].as_str().unwrap_or("").is_empty()),
        "EmailSent carries SES's message id"
    );

    // Three days later their alarms fire the review request (and the cross-sell, which has nothing
    // to recommend in a store with one order, so it is dropped). The shipment's stall watch, taken
    // out with the delivery in the same transaction (which cannot tell its due time, so cannot
    // clear its alarm), fires once for nothing.
    clock.set(ts("2026-11-08T18:41:00Z"));
    let routed = fire_alarms_and_route(&aws, &engine).await;
    let mut keys: Vec<&str> = routed.iter().filter_map(|e| e["detail"]["key"].as_str()).collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        ["cross_sell#o-1", "review_request#o-1", "shipment_stalled#shp-1#0"],
        "{routed:?}"
    );
    assert_eq!(
        subjects(&aws),
        [
            "Your order #1 is confirmed",
            "Your order #1 is on its way",
            "Update on your order #1: Out for delivery",
            "Your order #1 has been delivered",
            "How are you enjoying your order?",
        ]
    );
    for key in [
        "order_confirmation#o-1",
        "shipping_confirmation#shp-1",
        "shipment_update#shp-1#out_for_delivery",
        "delivery_confirmation#o-1",
        "review_request#o-1",
    ] {
        assert_eq!(
            aws.attribute(&format!("MSG#{key}"), "CLAIM", "state").await.as_deref(),
            Some("sent"),
            "{key}"
        );
        assert!(
            aws.item(&format!("MSG#{key}"), "FOLLOWUP").await.is_none(),
            "{key} follow-up gone"
        );
    }
    // Marketing records the consent it relied on.
    let review_claim = "MSG#review_request#o-1";
    assert_eq!(
        aws.attribute(review_claim, "CLAIM", "consent_source").await.as_deref(),
        Some("store")
    );
    assert_eq!(
        aws.attribute(review_claim, "CLAIM", "consent_at").await.as_deref(),
        Some("2026-11-02T16:05:00Z")
    );
    // The review request is marketing: it carries RFC 8058 one-click unsubscribe.
    let review = aws.sent_mail().pop().expect("review request");
    assert!(review.contains("List-Unsubscribe-Post: List-Unsubscribe=One-Click"));
    let routed_keys: Vec<_> = routed
        .iter()
        .map(|e| e["detail"]["key"].as_str().unwrap_or("").to_owned())
        .collect();
    assert!(
        routed_keys.contains(&"review_request#o-1".to_owned()),
        "{routed_keys:?}"
    );
    assert!(clock.now() > ts("2026-11-08T00:00:00Z"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_follow_up_whose_exit_became_true_before_it_fired_sends_nothing() {
    let (aws, clock, engine) = spawn_app("2026-11-10T15:00:00Z").await;
    let cart = tidings_tests::cart(
        "cart-1",
        &ada(),
        vec![item("p-mug", "kitchen", 1, 1800)],
        "2026-11-10T15:00:00Z",
    );
    deliver(
        &engine,
        &clock,
        Step::CartAbandoned,
        &envelope("CartUpdated", "2026-11-10T15:00:00Z", json!({"cart": cart})),
    )
    .await;
    let reminder = "MSG#cart_reminder#cart-1#2026-11-10T15:00:00Z#1";
    assert!(aws.item(reminder, "FOLLOWUP").await.is_some(), "reminder scheduled");

    let mut bought = confirmed("2026-11-10T15:40:00Z");
    bought["detail"]["order"]["cart_id"] = json!("cart-1");
    deliver(&engine, &clock, Step::OrderConfirmed, &bought).await;

    clock.set(ts("2026-11-12T16:00:00Z"));
    fire_alarms_and_route(&aws, &engine).await;
    assert_eq!(subjects(&aws), ["Your order #1 is confirmed"]);
    assert!(
        aws.item(reminder, "FOLLOWUP").await.is_none(),
        "the dropped reminder is forgotten"
    );
    assert!(
        aws.item(reminder, "CLAIM").await.is_none(),
        "nothing was claimed for it"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_order_event_costs_at_most_seven_aws_calls_counting_ses() {
    let (aws, clock, engine) = spawn_app("2026-11-02T16:05:00Z").await;
    let shipment = json!({"id": "shp-1", "carrier": "ups", "tracking_number": "1Z999AA10123456784", "shipped_at": "2026-11-03T13:00:00Z"});
    let scan = json!({"order_id": "o-1", "shipment_id": "shp-1", "status": "out_for_delivery"});
    // The usual order: from a cart, with a coupon code, by a customer whose birthday is known.
    let mut order = confirmed("2026-11-02T16:05:00Z");
    order["detail"]["order"]["cart_id"] = json!("cart-1");
    order["detail"]["order"]["coupon_code"] = json!("WELCOME10");
    order["detail"]["order"]["customer"]["birthday"] = json!("1990-03-14");
    // A second order, cancelled.
    let items = vec![item("p-tea", "tea", 1, 1250)];
    let second = json!({ "order": tidings_tests::order("o-2", &ada(), "USD", items, "2026-11-06T09:00:00Z") });
    let cancelled = json!({"order_id": "o-2", "reason": "changed my mind"});
    let events = [
        (Step::OrderConfirmed, order),
        (
            Step::OrderShipped,
            envelope(
                "OrderShipped",
                "2026-11-03T13:00:00Z",
                json!({"order_id": "o-1", "shipment": shipment}),
            ),
        ),
        (
            Step::OrderShipped,
            envelope("ShipmentUpdated", "2026-11-05T12:10:00Z", scan),
        ),
        (Step::OrderDelivered, delivered("2026-11-05T18:40:00Z")),
        (
            Step::OrderConfirmed,
            envelope("OrderConfirmed", "2026-11-06T09:00:00Z", second),
        ),
        (
            Step::OrderConfirmed,
            envelope("OrderCancelled", "2026-11-06T10:00:00Z", cancelled),
        ),
    ];
    let mut calls = Vec::new();
    let mut alarm_calls = Vec::new();
    for (step, event) in &events {
        clock.set(ts(event["time"].as_str().expect("time")));
        let before = aws.moto.requests();
        let alarms_before = aws.moto.alarm_requests();
        lambda::handle(&engine, *step, event.clone()).await.expect("handled");
        let step_calls = aws.moto.requests() - before;
        alarm_calls.push(aws.moto.alarm_requests() - alarms_before);
        let before = aws.moto.requests();
        report_sends().await;
        calls.push((event["detail-type"].clone(), step_calls, aws.moto.requests() - before));
    }
    eprintln!("AWS calls (event, step, ses-events on SES's report): {calls:?}; alarms set or cleared: {alarm_calls:?}");
    // Besides: one Scheduler call per follow-up stored (its alarm, set concurrently with the
    // others: one round trip). The confirmation stores three (cross-sell, win-back, birthday), the
    // shipment its stall watch, the scan moves it, the delivery stores the review request, the
    // second order its cross-sell and moves the win-back; the cancellation only drops (inside its
    // transaction, which cannot clear their alarms: they fire once for nothing).
    assert_eq!(alarm_calls, [3, 1, 1, 1, 2, 0], "{calls:?}");
    assert_eq!(subjects(&aws).len(), 6, "every event sent its email");
    assert!(aws.item("CART#cart-1", "ORDERED").await.is_some(), "the cart is bought");
    assert!(
        aws.item("MSG#birthday#c-1#2027", "FOLLOWUP").await.is_some(),
        "the birthday is scheduled"
    );
    // Reads (the order with its held events; the customer, with the coupon an order used), one
    // transaction (records, follow-ups, the cart bought, the claim with the suppression check),
    // SES. The delivery confirmation carries a coupon: it also reads the product statistics for
    // its recommendations (the process's first such email; later ones reuse them) and announces
    // the coupon before a separate `sending` step.
    // A confirmation and a cancellation then count the order in (or out of) the co-purchase
    // statistics in a write of their own, after the email: hot rows in a sale must never hold
    // up or fail the email (issue 13). Every email also takes its send from the account's send
    // rate first (one conditional update, issue 16). Both then count the order in the report
    // (issue 18): the confirmation in one transaction from the ledger read with the customer,
    // the (rarer) cancellation after reading the ledger.
    let [confirmed, shipped, updated, delivered, _, cancelled] = [0, 1, 2, 3, 4, 5].map(|i| calls[i].1);
    assert!(confirmed <= 7, "OrderConfirmed made {confirmed} AWS calls");
    assert!(cancelled <= 8, "OrderCancelled made {cancelled} AWS calls");
    // A shipment's first announcement also records which order owns its id (stores number
    // shipments per order: two orders' `shp-1` must not share a message key).
    assert!(shipped <= 7, "OrderShipped made {shipped} AWS calls");
    assert!(updated <= 5, "ShipmentUpdated made {updated} AWS calls");
    assert!(delivered <= 8, "OrderDelivered made {delivered} AWS calls");
    // ses-events: PutEvents EmailSent, the claim settled, the send counted in the report (a
    // transactional one in one conditional transaction, without reading the ledger).
    assert!(calls.iter().all(|(_, _, report)| *report == 3), "{calls:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_warm_process_reads_the_product_statistics_once_not_for_every_email() {
    let (aws, clock, engine) = spawn_app_with_an_order("2026-11-02T16:05:00Z").await;
    let store = engine.store();
    let before = aws.moto.requests();
    let first = store.product_stats().await.expect("read");
    assert_eq!(aws.moto.requests() - before, 1, "the first email reads them");
    assert!(first.products.contains_key(&ProductId::parse("p-mug").expect("id")));
    let before = aws.moto.requests();
    let again = store.product_stats().await.expect("cached");
    assert_eq!(
        aws.moto.requests() - before,
        0,
        "the next ones use what the process read"
    );
    assert_eq!(again.products.len(), first.products.len());

    // So a delivery confirmation with recommendations and a coupon, in this warm process, makes
    // 7 calls: the order, the customer, the send rate, the transaction, `CouponIssued`,
    // `sending`, SES.
    deliver(&engine, &clock, Step::OrderShipped, &shipped()).await;
    clock.set(ts("2026-11-05T18:40:00Z"));
    let before = aws.moto.requests();
    lambda::handle(&engine, Step::OrderDelivered, delivered("2026-11-05T18:40:00Z"))
        .await
        .expect("handled");
    assert_eq!(aws.moto.requests() - before, 7, "without a coupon it would be 5");
    assert_eq!(subjects(&aws).len(), 3, "confirmed, shipped, delivered");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn personal_data_and_claims_carry_a_ttl_and_follow_ups_are_in_the_due_index() {
    let (aws, clock, engine) = spawn_app("2026-11-10T15:00:00Z").await;
    let cart = tidings_tests::cart(
        "cart-1",
        &ada(),
        vec![item("p-mug", "kitchen", 1, 1800)],
        "2026-11-10T15:00:00Z",
    );
    deliver(
        &engine,
        &clock,
        Step::CartAbandoned,
        &envelope("CartUpdated", "2026-11-10T15:00:00Z", json!({"cart": cart})),
    )
    .await;
    deliver(
        &engine,
        &clock,
        Step::OrderConfirmed,
        &confirmed("2026-11-10T16:00:00Z"),
    )
    .await;

    let number = |item: &std::collections::HashMap<String, aws_sdk_dynamodb::types::AttributeValue>, name: &str| {
        item.get(name)
            .and_then(|v| v.as_n().ok())
            .and_then(|n| n.parse::<i64>().ok())
    };
    let cart = aws.item("CART#cart-1", "CART").await.expect("cart");
    assert_eq!(
        number(&cart, "ttl"),
        Some(ts("2026-12-10T15:00:00Z").as_second()),
        "carts live 30 days"
    );
    let claim = aws.item("MSG#order_confirmation#o-1", "CLAIM").await.expect("claim");
    assert_eq!(
        number(&claim, "ttl"),
        Some((ts("2026-11-10T16:00:00Z") + jiff::SignedDuration::from_hours(400 * 24)).as_second())
    );
    let follow_up = aws
        .item("MSG#cross_sell#o-1", "FOLLOWUP")
        .await
        .expect("cross-sell scheduled");
    let shard = follow_up
        .get("gsi1pk")
        .and_then(|v| v.as_s().ok())
        .expect("in the due index");
    assert!(shard.starts_with("DUE#"), "{shard}");
    assert!(number(&follow_up, "ttl").is_some());
    // The index finds it only when it is due (the local runner sweeps it; the alarm job reads it).
    let due = engine
        .store()
        .due_follow_ups(ts("2026-11-11T15:59:00Z"), 500)
        .await
        .expect("due index");
    assert_eq!(
        due.len(),
        2,
        "both cart reminders are due, the cross-sell (16:00) not yet"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_email_sent_the_bus_does_not_accept_fails_the_report_which_its_retry_announces() {
    let aws = aws_test().await;
    let clock = Arc::new(SimClock::new(ts("2026-11-02T16:05:00Z")));
    // Both functions as deployed, but with a bus that does not exist.
    let broken = |function: &str| {
        let mut settings = aws.settings(function, StoreConfig::sample());
        settings.bus = "no-such-bus".into();
        Parts::new(&aws.sdk, settings)
    };
    let broken_step = broken(STEP_FUNCTION)
        .await
        .expect("parts")
        .engine(Ses, Arc::clone(&clock));
    let broken_ses_events = broken(Step::SesEvents.as_str())
        .await
        .expect("parts")
        .engine(Ses, Arc::clone(&clock));
    lambda::handle(&broken_step, Step::OrderConfirmed, confirmed("2026-11-02T16:05:00Z"))
        .await
        .expect("the step publishes nothing itself");
    assert_eq!(aws.sent_mail().len(), 1);
    let report = SES_SENDS
        .lock()
        .expect("SES events")
        .pop()
        .expect("SES reported the send");
    let error = lambda::handle(&broken_ses_events, Step::SesEvents, report.clone())
        .await
        .expect_err("EmailSent could not be published");
    assert!(error.to_string().contains("EmailSent"), "{error}");
    let claim = "MSG#order_confirmation#o-1";
    assert_eq!(
        aws.attribute(claim, "CLAIM", "state").await.as_deref(),
        Some("sending"),
        "settled only once announced"
    );

    // EventBridge retries the report: announced once, and the claim records SES's message id.
    let healthy = engine(&aws, &clock).await;
    lambda::handle(&*ses_events(), Step::SesEvents, report)
        .await
        .expect("retry");
    let emitted = aws.emitted().await;
    let sent: Vec<_> = emitted.iter().filter(|e| e["detail-type"] == "EmailSent").collect();
    assert_eq!(sent.len(), 1, "{emitted:?}");
    assert_eq!(sent[0]["detail"]["order_id"], "o-1");
    assert_eq!(aws.attribute(claim, "CLAIM", "state").await.as_deref(), Some("sent"));
    assert!(
        aws.attribute(claim, "CLAIM", "provider_id")
            .await
            .is_some_and(|id| !id.is_empty())
    );
    deliver(
        &healthy,
        &clock,
        Step::OrderConfirmed,
        &confirmed("2026-11-02T16:05:00Z"),
    )
    .await;
    assert_eq!(aws.sent_mail().len(), 1, "a redelivered order sends nothing");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_birthday_fires_from_the_due_index_and_its_coupon_attributes_the_order_that_uses_it() {
    let (aws, clock, engine) = spawn_app("2026-11-20T15:00:00Z").await;
    let mut who = ada();
    who["birthday"] = json!("--12-10");
    let update = envelope("CustomerUpdated", "2026-11-20T15:00:00Z", json!({"customer": who}));
    deliver(&engine, &clock, Step::Customer, &update).await;
    assert!(aws.item("MSG#birthday#c-1#2026", "FOLLOWUP").await.is_some());

    // 09:00 in New York on the day.
    clock.set(ts("2026-12-10T14:00:00Z"));
    let routed = fire_alarms_and_route(&aws, &engine).await;
    assert_eq!(routed.len(), 1, "{routed:?}");
    assert_eq!(subjects(&aws), ["Happy birthday from Maple & Moss!"]);
    assert!(
        aws.item("MSG#birthday#c-1#2027", "FOLLOWUP").await.is_some(),
        "next year's is waiting in the due index"
    );

    let code = aws
        .emitted()
        .await
        .into_iter()
        .find(|e| e["detail-type"] == "CouponIssued")
        .and_then(|e| e["detail"]["code"].as_str().map(str::to_owned))
        .expect("birthday coupon");
    assert_eq!(
        aws.attribute(&format!("COUPON#{code}"), "COUPON", "key")
            .await
            .as_deref(),
        Some("birthday#c-1#2026")
    );
    let mut used = confirmed("2026-12-11T15:00:00Z");
    used["detail"]["order"]["coupon_code"] = json!(code);
    deliver(&engine, &clock, Step::OrderConfirmed, &used).await;
    assert_eq!(
        aws.attribute("ORDER#o-1", "ORDER", "coupon_from").await.as_deref(),
        Some("birthday#c-1#2026"),
        "the order is attributed to the birthday email"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_function_as_deployed_announces_a_send_exactly_once() {
    // Every function from exactly the environment infra/functions.json (and so the stack) gives it.
    let aws = aws_test().await;
    let clock = Arc::new(SimClock::new(ts("2026-11-02T16:05:00Z")));
    let ses_events = parts(&aws, Step::SesEvents.as_str(), StoreConfig::sample())
        .await
        .engine(Ses, Arc::clone(&clock));
    for step in [
        Step::Customer,
        Step::OrderConfirmed,
        Step::OrderShipped,
        Step::OrderDelivered,
        Step::CartAbandoned,
    ] {
        let function = parts(&aws, step.as_str(), StoreConfig::sample())
            .await
            .engine(Ses, Arc::clone(&clock));
        let sent = function.mailer().reports_sends();
        assert!(sent, "{}: sends with the configuration sets", step.as_str());
    }
    let step = parts(&aws, Step::OrderConfirmed.as_str(), StoreConfig::sample())
        .await
        .engine(Ses, Arc::clone(&clock));

    lambda::handle(&step, Step::OrderConfirmed, confirmed("2026-11-02T16:05:00Z"))
        .await
        .expect("sent");
    assert_eq!(aws.sent_mail().len(), 1);
    let emitted = aws.emitted().await;
    assert!(
        emitted.iter().all(|e| e["detail-type"] != "EmailSent"),
        "the step leaves the announcement to SES's report: {emitted:?}"
    );
    let report = SES_SENDS
        .lock()
        .expect("SES events")
        .pop()
        .expect("SES reported the send");
    lambda::handle(&ses_events, Step::SesEvents, report)
        .await
        .expect("report handled");

    let emitted = aws.emitted().await;
    let sent: Vec<_> = emitted.iter().filter(|e| e["detail-type"] == "EmailSent").collect();
    assert_eq!(sent.len(), 1, "exactly one EmailSent reaches the bus: {emitted:?}");
    assert_eq!(sent[0]["detail"]["message_key"], "order_confirmation#o-1");
    assert_eq!(
        aws.attribute("MSG#order_confirmation#o-1", "CLAIM", "state")
            .await
            .as_deref(),
        Some("sent")
    );
}
