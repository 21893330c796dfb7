//! Crashes at the dangerous moments: after the claim but before SES (retried, sent once), and
//! after SES accepted but before the claim was marked sent (SES's report settles it: sent once).
//! A transactional message SES never reports is sent once more after `RECOVER_AFTER`.

use super::*;
use tidings_core::ports::{BusError, Outbound, OutgoingEmail, SendError};

/// A bus whose process dies when it is about to publish a coupon (between claim and SES).
struct DiesBeforeSes(EventBridgeBus);

impl Bus for DiesBeforeSes {
    async fn publish(&self, events: &[Outbound]) -> Result<(), BusError> {
        if events.iter().any(|e| e.detail.detail_type() == "CouponIssued") {
            panic!("injected crash after the claim, before SES");
        }
        self.0.publish(events).await
    }
}

/// A mailer whose process dies (a Lambda timeout) before SES is called.
struct DiesCallingSes;

impl Mailer for DiesCallingSes {
    async fn send(&self, _email: &OutgoingEmail) -> Result<String, SendError> {
        panic!("injected crash after the claim was taken as sending, before SES accepted");
    }
}

/// A mailer whose process dies right after SES accepted the message.
struct DiesAfterSes(Ses);

impl Mailer for DiesAfterSes {
    async fn send(&self, email: &OutgoingEmail) -> Result<String, SendError> {
        let id = self.0.send(email).await?;
        panic!("injected crash after SES accepted {id}, before the claim was marked sent");
    }
}

/// Runs one delivery in its own task, as its own Lambda invocation, and expects it to crash.
async fn crashing_invocation<M, B>(engine: TestEngine<M, B>, clock: Arc<SimClock>, step: Step, event: Value)
where
    M: Mailer + 'static,
    B: Bus + 'static,
{
    let task = tokio::spawn(async move { deliver(&engine, &clock, step, &event).await });
    let error = task.await.expect_err("the invocation crashed");
    assert!(error.is_panic());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crash_after_the_claim_and_before_ses_is_retried_and_sent_once() {
    let (aws, clock, healthy) = spawn_app_with_an_order("2026-11-02T16:05:00Z").await;

    // The delivery confirmation carries a coupon; the process dies while announcing it.
    let dying = wrapped(
        parts(&aws, STEP_FUNCTION, StoreConfig::sample()).await,
        |m| m,
        DiesBeforeSes,
        &clock,
    );
    crashing_invocation(
        dying,
        Arc::clone(&clock),
        Step::OrderDelivered,
        delivered("2026-11-05T18:40:00Z"),
    )
    .await;
    let claim = "MSG#delivery_confirmation#o-1";
    assert_eq!(aws.attribute(claim, "CLAIM", "state").await.as_deref(), Some("claimed"));

    // Lambda retries a minute later: the lease is still held, so the message waits for it to end.
    clock.set(ts("2026-11-05T18:41:00Z"));
    lambda::handle(&healthy, Step::OrderDelivered, delivered("2026-11-05T18:40:00Z"))
        .await
        .expect("retry");
    assert_eq!(aws.sent_mail().len(), 1, "only the order confirmation so far");
    assert!(
        aws.item(claim, "FOLLOWUP").await.is_some(),
        "the retry left a follow-up at the lease's end"
    );

    // After the lease its alarm fires it: the dead holder never called SES, so it is taken over.
    clock.set(ts("2026-11-05T18:43:00Z"));
    fire_alarms_and_route(&aws, &healthy).await;
    let sent = subjects(&aws);
    assert_eq!(
        sent.iter().filter(|s| s.contains("has been delivered")).count(),
        1,
        "{sent:?}"
    );
    assert_eq!(aws.attribute(claim, "CLAIM", "state").await.as_deref(), Some("sent"));

    // Later redeliveries change nothing.
    clock.set(ts("2026-11-06T00:00:00Z"));
    lambda::handle(&healthy, Step::OrderDelivered, delivered("2026-11-05T18:40:00Z"))
        .await
        .expect("late duplicate");
    assert_eq!(aws.sent_mail().len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crash_after_ses_accepted_is_settled_by_ses_report_and_never_sent_twice() {
    let aws = aws_test().await;
    let clock = Arc::new(SimClock::new(ts("2026-11-02T16:05:00Z")));
    let dying = wrapped(
        parts(&aws, STEP_FUNCTION, StoreConfig::sample()).await,
        DiesAfterSes,
        |b| b,
        &clock,
    );
    crashing_invocation(
        dying,
        Arc::clone(&clock),
        Step::OrderConfirmed,
        confirmed("2026-11-02T16:05:00Z"),
    )
    .await;
    assert_eq!(aws.sent_mail().len(), 1, "SES accepted it before the crash");
    let claim = "MSG#order_confirmation#o-1";
    assert_eq!(aws.attribute(claim, "CLAIM", "state").await.as_deref(), Some("sending"));
    // SES's report of the send is late: the first retry sees a `sending` claim with no word from SES.
    let report = SES_SENDS
        .lock()
        .expect("SES events")
        .pop()
        .expect("SES reported the send");

    // A retry inside the lease waits for it to end, then for SES's report.
    let healthy = engine(&aws, &clock).await;
    clock.set(ts("2026-11-02T16:06:00Z"));
    lambda::handle(&healthy, Step::OrderConfirmed, confirmed("2026-11-02T16:05:00Z"))
        .await
        .expect("retry");
    assert!(
        aws.item(claim, "FOLLOWUP").await.is_some(),
        "the duplicate waits for the lease's end"
    );
    clock.set(ts("2026-11-02T16:08:00Z"));
    fire_alarms_and_route(&aws, &healthy).await;
    assert_eq!(aws.sent_mail().len(), 1, "within the recovery window it waits for SES");

    // SES's report, minutes late, settles it and announces it once.
    clock.set(ts("2026-11-02T16:10:00Z"));
    lambda::handle(&*ses_events(), Step::SesEvents, report)
        .await
        .expect("report");
    assert_eq!(aws.attribute(claim, "CLAIM", "state").await.as_deref(), Some("sent"));
    let announced = aws.emitted().await;
    assert_eq!(
        announced.iter().filter(|e| e["detail-type"] == "EmailSent").count(),
        1,
        "{announced:?}"
    );
    for at in ["2026-11-02T17:00:00Z", "2026-11-04T00:00:00Z"] {
        clock.set(ts(at));
        lambda::handle(&healthy, Step::OrderConfirmed, confirmed("2026-11-02T16:05:00Z"))
            .await
            .expect("retry");
        fire_alarms_and_route(&aws, &healthy).await;
    }
    assert_eq!(aws.sent_mail().len(), 1, "never sent twice");
    assert!(aws.item(claim, "FOLLOWUP").await.is_none(), "nothing left waiting");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_timeout_before_ses_accepted_is_recovered_once_after_the_recovery_window() {
    let aws = aws_test().await;
    let clock = Arc::new(SimClock::new(ts("2026-11-02T16:05:00Z")));
    let dying = wrapped(
        parts(&aws, STEP_FUNCTION, StoreConfig::sample()).await,
        |_| DiesCallingSes,
        |b| b,
        &clock,
    );
    crashing_invocation(
        dying,
        Arc::clone(&clock),
        Step::OrderConfirmed,
        confirmed("2026-11-02T16:05:00Z"),
    )
    .await;
    let claim = "MSG#order_confirmation#o-1";
    assert_eq!(aws.attribute(claim, "CLAIM", "state").await.as_deref(), Some("sending"));
    assert!(aws.sent_mail().is_empty(), "SES was never called");

    // Lambda's retries come within minutes: they wait. No report comes; a quarter of an hour
    // after the attempt the follow-up they left sends it once more.
    let healthy = engine(&aws, &clock).await;
    for at in ["2026-11-02T16:06:00Z", "2026-11-02T16:08:00Z"] {
        clock.set(ts(at));
        lambda::handle(&healthy, Step::OrderConfirmed, confirmed("2026-11-02T16:05:00Z"))
            .await
            .expect("retry");
        fire_alarms_and_route(&aws, &healthy).await;
    }
    assert!(aws.sent_mail().is_empty(), "waits for a report SES could still send");
    clock.set(ts("2026-11-02T16:21:00Z"));
    fire_alarms_and_route(&aws, &healthy).await;
    assert_eq!(aws.sent_mail().len(), 1, "recovered");
    assert!(
        aws.attribute(claim, "CLAIM", "recovered_at").await.is_some(),
        "recorded as recovered"
    );
    assert_eq!(aws.attribute(claim, "CLAIM", "state").await.as_deref(), Some("sent"));

    // Redeliveries later change nothing.
    clock.set(ts("2026-11-03T00:00:00Z"));
    lambda::handle(&healthy, Step::OrderConfirmed, confirmed("2026-11-02T16:05:00Z"))
        .await
        .expect("late duplicate");
    fire_alarms_and_route(&aws, &healthy).await;
    assert_eq!(aws.sent_mail().len(), 1);
}
