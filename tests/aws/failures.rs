//! The one failures queue (issue 19): what a step announces as `AttentionNeeded` reaches it through
//! the stack's rule on the bus, naming the function that noticed it.

use super::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_daily_quota_nearly_used_up_lands_in_the_failures_queue_naming_the_function() {
    let aws = aws_test().await;
    let clock = Arc::new(SimClock::new(ts("2026-11-02T16:00:00Z")));
    // Also builds the ses-events function that `deliver` hands SES's reports to.
    engine(&aws, &clock).await;
    let mut config = StoreConfig::sample();
    config.sending.daily_quota = 5;
    let engine = wrapped(
        parts(&aws, STEP_FUNCTION, config).await,
        |mailer| mailer,
        |bus| bus.from_function("tidings-order-confirmed"),
        &clock,
    );
    for n in 1..=5 {
        let who = customer(&format!("c-{n}"), "en-US", "America/New_York", true);
        let at = format!("2026-11-02T16:0{n}:00Z");
        let order = envelope(
            "OrderConfirmed",
            &at,
            json!({"order": order(&format!("o-{n}"), &who, "USD", vec![item("p-mug", "kitchen", 1, 1800)], &at)}),
        );
        deliver(&engine, &clock, Step::OrderConfirmed, &order).await;
    }
    let failures = aws.failures().await;
    assert_eq!(failures.len(), 2, "80 % and 100 % of the quota: {failures:?}");
    for record in &failures {
        assert_eq!(record["detail-type"], "AttentionNeeded");
        assert_eq!(record["source"], "tidings");
        assert_eq!(record["detail"]["reason"], "send_quota_near");
        assert_eq!(record["detail"]["function"], "tidings-order-confirmed");
        assert!(!record.to_string().contains('@'), "no address: {record}");
    }
    let details: Vec<&str> = failures.iter().filter_map(|r| r["detail"]["detail"].as_str()).collect();
    assert!(
        details.iter().any(|d| d.contains("80 %")) && details.iter().any(|d| d.contains("100 %")),
        "{details:?}"
    );
    assert_eq!(aws.sent_mail().len(), 5, "the mail still went");
}

#[tokio::test]
async fn an_unsubscribe_the_table_cannot_take_is_answered_500_and_lands_in_the_failures_queue() {
    let aws = aws_test().await;
    let clock = Arc::new(SimClock::new(ts("2026-11-02T16:00:00Z")));
    let engine = wrapped(
        parts(&aws, "unsubscribe", StoreConfig::sample()).await,
        |mailer| mailer,
        |bus| bus.from_function("tidings-unsubscribe"),
        &clock,
    );
    use tidings_core::ports::Clock;
    let who = tidings_core::domain::CustomerId::parse("c-1").expect("id");
    let token = engine.keys().unsubscribe_token(&who, "marketing", clock.now());
    aws_sdk_dynamodb::Client::new(&aws.sdk)
        .delete_table()
        .table_name(&aws.table)
        .send()
        .await
        .expect("table deleted");

    let answer = tidings_core::unsubscribe::serve(
        &engine,
        "POST",
        &format!("token={token}"),
        b"List-Unsubscribe=One-Click",
    )
    .await;
    assert!(answer.is_err(), "no page without the table (the endpoint answers 500)");
    let failures = aws.failures().await;
    assert_eq!(failures.len(), 1, "{failures:?}");
    assert_eq!(failures[0]["detail-type"], "AttentionNeeded");
    assert_eq!(failures[0]["detail"]["reason"], "endpoint_failed");
    assert_eq!(failures[0]["detail"]["function"], "tidings-unsubscribe");
    assert!(
        !failures[0].to_string().contains(&token),
        "never the token: {}",
        failures[0]
    );
}
