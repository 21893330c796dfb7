//! Exactly once against DynamoDB's conditional writes: redeliveries, concurrency, SES failures.

use super::*;
use std::sync::atomic::{AtomicUsize, Ordering};
use tidings_core::ports::{OutgoingEmail, SendError};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_event_three_times_sends_one_email() {
    let (aws, clock, engine) = spawn_app_with_an_order("2026-11-02T16:05:00Z").await;
    // Twice more, as EventBridge may redeliver.
    for _ in 0..2 {
        deliver(
            &engine,
            &clock,
            Step::OrderConfirmed,
            &confirmed("2026-11-02T16:05:00Z"),
        )
        .await;
    }
    assert_eq!(aws.sent_mail().len(), 1);
    assert_eq!(
        aws.attribute("MSG#order_confirmation#o-1", "CLAIM", "state")
            .await
            .as_deref(),
        Some("sent")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn eight_concurrent_invocations_of_the_same_event_send_one_email() {
    let (aws, _clock, engine) = spawn_app("2026-11-02T16:05:00Z").await;
    let engine = Arc::new(engine);
    let event = confirmed("2026-11-02T16:05:00Z");
    let mut invocations = tokio::task::JoinSet::new();
    for n in 0..8 {
        let (engine, mut event) = (Arc::clone(&engine), event.clone());
        event["id"] = json!(format!("delivery-{n}"));
        invocations.spawn(async move { lambda::handle(&*engine, Step::OrderConfirmed, event).await });
    }
    while let Some(result) = invocations.join_next().await {
        result.expect("no panic").expect("every invocation succeeds");
    }
    assert_eq!(aws.sent_mail().len(), 1, "one SES send for eight concurrent deliveries");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn four_orders_of_one_customer_confirmed_at_once_are_all_counted() {
    let (aws, _clock, engine) = spawn_app("2026-11-02T16:05:00Z").await;
    let engine = Arc::new(engine);
    let mut invocations = tokio::task::JoinSet::new();
    for n in 1..=4 {
        let items = vec![item(&format!("p-{n}"), "kitchen", 1, 1800)];
        let event = envelope(
            "OrderConfirmed",
            "2026-11-02T16:05:00Z",
            json!({ "order": order(&format!("o-{n}"), &ada(), "USD", items, "2026-11-02T16:05:00Z") }),
        );
        let engine = Arc::clone(&engine);
        invocations.spawn(async move { lambda::handle(&*engine, Step::OrderConfirmed, event).await });
    }
    while let Some(result) = invocations.join_next().await {
        result.expect("no panic").expect("every invocation succeeds");
    }
    // Each write expects the customer it read: a lost update would leave fewer than four.
    let customer = aws.item("CUSTOMER#c-1", "PROFILE").await.expect("customer");
    let count = |name: &str| customer.get(name).and_then(|v| v.as_n().ok()).cloned();
    assert_eq!(count("orders_confirmed").as_deref(), Some("4"));
    assert_eq!(
        customer.get("standing").and_then(|v| v.as_m().ok()).map(|m| m.len()),
        Some(4)
    );
    assert_eq!(aws.sent_mail().len(), 4, "one confirmation per order");
}

/// Answers "throttled" for the first `failures` sends, then sends through SES.
struct Throttled {
    inner: Ses,
    failures: AtomicUsize,
}

impl Mailer for Throttled {
    async fn send(&self, email: &OutgoingEmail) -> Result<String, SendError> {
        if self.failures.load(Ordering::SeqCst) > 0 {
            self.failures.fetch_sub(1, Ordering::SeqCst);
            return Err(SendError::Transient(
                "TooManyRequestsException: Maximum sending rate exceeded".into(),
            ));
        }
        self.inner.send(email).await
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ses_throttling_puts_the_message_back_in_the_queue_and_it_then_sends_once() {
    let aws = aws_test().await;
    let clock = Arc::new(SimClock::new(ts("2026-11-02T16:05:00Z")));
    let throttled = |inner| Throttled {
        inner,
        failures: AtomicUsize::new(2),
    };
    let engine = wrapped(
        parts(&aws, STEP_FUNCTION, StoreConfig::sample()).await,
        throttled,
        |bus| bus,
        &clock,
    );
    let event = confirmed("2026-11-02T16:05:00Z");
    // Not a failed invocation (Lambda's retries could end in the dead-letter queue): the message
    // waits in the queue a minute, its claim released.
    lambda::handle(&engine, Step::OrderConfirmed, event.clone())
        .await
        .expect("throttled, handled");
    let key = tidings_core::message::MessageKey::parse("order_confirmation#o-1").expect("key");
    for minute in ["2026-11-02T16:06:00Z", "2026-11-02T16:07:00Z"] {
        assert!(
            aws.item("MSG#order_confirmation#o-1", "CLAIM").await.is_none(),
            "claim released"
        );
        assert!(
            aws.item("MSG#order_confirmation#o-1", "FOLLOWUP").await.is_some(),
            "queued"
        );
        clock.set(ts(minute));
        engine.fire(&key).await.expect("fired");
    }
    lambda::handle(&engine, Step::OrderConfirmed, event)
        .await
        .expect("a late duplicate");
    assert_eq!(aws.sent_mail().len(), 1);
    assert!(
        aws.item("MSG#order_confirmation#o-1", "FOLLOWUP").await.is_none(),
        "sent: dequeued"
    );
}

fn lambda_runtime_diagnostic(error: lambda::HandlerError) -> (String, String) {
    let diagnostic = lambda_runtime::Diagnostic::from(error);
    (diagnostic.error_type, diagnostic.error_message)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_permanent_ses_rejection_is_recorded_and_not_retried() {
    let aws = aws_test().await;
    let clock = Arc::new(SimClock::new(ts("2026-11-02T16:05:00Z")));
    // SES rejects mail from an identity that was never verified (MessageRejected).
    let mut config = StoreConfig::sample();
    config.sender.from_address = tidings_core::domain::EmailAddress::parse("hello@unverified.example").expect("email");
    let engine = parts(&aws, STEP_FUNCTION, config)
        .await
        .engine(|mailer| mailer, Arc::clone(&clock));
    let event = confirmed("2026-11-02T16:05:00Z");
    let first = deliver(&engine, &clock, Step::OrderConfirmed, &event).await;
    assert!(first.to_string().contains("failed order_confirmation#o-1"), "{first}");
    assert_eq!(
        aws.attribute("MSG#order_confirmation#o-1", "CLAIM", "state")
            .await
            .as_deref(),
        Some("failed")
    );
    let reason = aws
        .attribute("MSG#order_confirmation#o-1", "CLAIM", "reason")
        .await
        .expect("reason recorded");
    assert!(reason.contains("MessageRejected"), "{reason}");
    let again = deliver(&engine, &clock, Step::OrderConfirmed, &event).await;
    assert!(again.to_string().contains("failed permanently before"), "{again}");
    assert!(aws.sent_mail().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_event_is_rejected_with_the_field_named() {
    let (_aws, _clock, engine) = spawn_app("2026-11-02T16:05:00Z").await;
    let mut event = confirmed("2026-11-02T16:05:00Z");
    event["detail"]["order"]["customer"]["email"] = json!("not-an-address");
    let error = lambda::handle(&engine, Step::OrderConfirmed, event)
        .await
        .expect_err("rejected");
    let (kind, message) = lambda_runtime_diagnostic(error);
    assert_eq!(kind, "RejectedEvent");
    assert!(message.contains("detail.order.customer.email"), "{message}");
    assert!(
        !message.contains("not-an-address") || message.contains("'@'"),
        "{message}"
    );
}
