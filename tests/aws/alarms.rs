//! Follow-ups' alarms on EventBridge Scheduler (moto): every follow-up a function stores has its
//! one-time schedule, set before the follow-up is written, named by a keyed hash, deleting itself
//! after it fires, putting the step's `FollowUpDue` on the bus; moved, removed and erased
//! follow-ups' alarms are cleared; a follow-up whose alarm cannot be set is not stored (the
//! invocation fails and is retried); and the alarm setter gives the follow-ups a table already
//! holds (written without alarms, as the release before this one writes them) theirs.

use super::*;
use tidings_core::adapters::memory::SimClock;
use tidings_core::ports::{FollowUp, FollowUps, Subject};

/// A follow-up of order `o-1` due at `due`.
fn review_request(due: &str) -> FollowUp {
    FollowUp {
        key: tidings_core::message::MessageKey::new(tidings_core::message::MessageKind::ReviewRequest, "o-1", &[]),
        customer_id: tidings_core::domain::CustomerId::parse("c-1").expect("id"),
        subject: Subject::Order {
            order_id: tidings_core::domain::OrderId::parse("o-1").expect("id"),
        },
        due_at: ts(due),
        original_due: ts(due),
        expires_at: ts(due) + jiff::SignedDuration::from_hours(24 * 30),
        coupon_waiting_since: None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_follow_up_stored_has_its_alarm_which_says_nothing_of_the_customer_and_fires_its_step() {
    let (aws, clock, engine, _) = delivered_with_its_review_alarm().await;
    let waiting = engine
        .store()
        .due_follow_ups(jiff::Timestamp::MAX, usize::MAX)
        .await
        .expect("due index");
    assert!(!waiting.is_empty());
    let alarms = aws.alarms().await;
    for follow_up in &waiting {
        let alarm = alarms
            .iter()
            .find(|a| a.input["key"] == follow_up.key.as_str() && a.input["due_at"] == follow_up.due_at.to_string())
            .unwrap_or_else(|| panic!("{} has no alarm: {alarms:#?}", follow_up.key));
        // 34 characters of a keyed hash: no order id, customer id or address in the name.
        assert!(
            alarm.name.len() == 34
                && alarm.name.starts_with("f-")
                && alarm.name[2..].chars().all(|c| c.is_ascii_hexdigit()),
            "{}",
            alarm.name
        );
        assert!(alarm.expression.starts_with("at(") && alarm.expression.ends_with(')'));
        assert!(alarm.deletes_itself, "ActionAfterCompletion DELETE");
        assert_eq!(
            alarm.target,
            "arn:aws:events:eu-west-1:123456789012:event-bus/tidings-test"
        );
        assert_eq!(alarm.detail_type, "FollowUpDue");
        assert_eq!(alarm.input["step"], json!(follow_up.key.kind().step()));
        assert!(!alarm.input.to_string().contains("@"), "{}", alarm.input);
    }
    // Three days after the delivery the review request's alarm rings; fired, it is gone.
    clock.set(ts("2026-11-08T18:41:00Z"));
    let routed = fire_alarms_and_route(&aws, &engine).await;
    assert!(
        routed.iter().any(|e| e["detail"]["key"] == "review_request#o-1"),
        "{routed:#?}"
    );
    assert_eq!(
        subjects(&aws)
            .iter()
            .filter(|s| s.contains("enjoying your order"))
            .count(),
        1,
        "{:?}",
        subjects(&aws)
    );
    let left = aws.alarms().await;
    assert!(
        !left.iter().any(|a| a.input["key"] == "review_request#o-1"),
        "{left:#?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_alarm_rings_in_the_minute_after_its_follow_up_is_due_never_before() {
    let (aws, _clock, engine) = spawn_app("2026-11-02T16:05:00Z").await;
    // A time to come (the alarms are set against the real clock, which Scheduler keeps).
    engine
        .store()
        .schedule(&review_request("2031-03-14T09:30:30.5Z"))
        .await
        .expect("stored");
    let alarms = aws.alarms().await;
    assert_eq!(alarms.len(), 1);
    assert_eq!(alarms[0].expression, "at(2031-03-14T09:31:00)");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_moved_follow_up_has_one_alarm_at_its_new_time_and_an_old_one_firing_late_sends_nothing() {
    let (aws, clock, engine) = spawn_app("2026-11-02T16:05:00Z").await;
    let store = engine.store();
    store
        .schedule(&review_request("2031-03-14T09:00:00Z"))
        .await
        .expect("stored");
    let old = aws.alarms().await;
    store
        .schedule(&review_request("2031-03-15T09:00:00Z"))
        .await
        .expect("moved");
    let alarms = aws.alarms().await;
    assert_eq!(alarms.len(), 1, "{alarms:#?}");
    assert_eq!(alarms[0].expression, "at(2031-03-15T09:00:00)");
    assert_ne!(alarms[0].name, old[0].name, "an alarm per due time");
    // Had the old one not been cleared (a failed delete), its firing finds the follow-up not due.
    clock.set(ts("2031-03-14T09:00:30Z"));
    let stale = tidings_tests::moto::alarm_event(&old[0]);
    let answer = lambda::handle(&engine, Step::OrderDelivered, stale)
        .await
        .expect("handled");
    assert!(answer.to_string().contains("not due"), "{answer}");
    assert!(
        store
            .follow_up(&review_request("2031-03-15T09:00:00Z").key)
            .await
            .expect("read")
            .is_some()
    );
    assert!(aws.sent_mail().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn removed_and_erased_follow_ups_leave_no_alarm() {
    let (aws, clock, engine) = spawn_app_with_an_order("2026-11-02T16:05:00Z").await;
    engine
        .store()
        .schedule(&review_request("2031-03-14T09:00:00Z"))
        .await
        .expect("stored");
    engine
        .store()
        .remove_follow_up(&review_request("2031-03-14T09:00:00Z").key)
        .await
        .expect("removed");
    assert!(
        !aws.alarms()
            .await
            .iter()
            .any(|a| a.input["key"] == "review_request#o-1"),
        "removed"
    );
    assert!(!aws.alarms().await.is_empty(), "the order's other follow-ups wait");
    // An erasure takes every alarm of the customer: a schedule names them until it fires.
    let redact = envelope(
        "CustomerRedacted",
        "2026-11-03T10:00:00Z",
        json!({"customer_id": "c-1", "email": "1@example.com"}),
    );
    deliver(&engine, &clock, Step::Customer, &redact).await;
    assert_eq!(aws.alarms().await.len(), 0, "{:#?}", aws.alarms().await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_follow_up_whose_alarm_cannot_be_set_is_not_stored_and_the_retry_stores_both() {
    let aws = aws_test().await;
    let clock = Arc::new(SimClock::new(ts("2026-11-02T16:05:00Z")));
    // As deployed, but the schedule group is missing (Scheduler refuses the alarm).
    let mut settings = aws.settings("order-delivered", StoreConfig::sample());
    if let Some(alarms) = settings.alarms.as_mut() {
        alarms.group = "no-such-group".into();
    }
    let broken = Parts::new(&aws.sdk, settings)
        .await
        .expect("parts")
        .engine(Ses, Arc::clone(&clock));
    let follow_up = review_request("2031-03-14T09:00:00Z");
    let failed = broken.store().schedule(&follow_up).await;
    assert!(failed.is_err(), "the write fails with its alarm");
    assert!(
        broken.store().follow_up(&follow_up.key).await.expect("read").is_none(),
        "nothing stored"
    );
    // The retry, Scheduler answering again: the follow-up and its alarm.
    let engine = engine(&aws, &clock).await;
    engine.store().schedule(&follow_up).await.expect("stored");
    assert!(engine.store().follow_up(&follow_up.key).await.expect("read").is_some());
    assert_eq!(aws.alarms().await.len(), 1);
}

#[test]
fn follow_ups_stored_without_alarms_get_theirs_from_the_alarm_setter_and_fire() {
    // Its own thread with room for three functions' futures over the SDK's (deep in a debug build).
    std::thread::Builder::new()
        .stack_size(16 << 20)
        .spawn(|| tidings_tests::faults::runtime().block_on(alarm_setter_on_a_table_without_alarms()))
        .expect("thread")
        .join()
        .expect("the setter's assertions hold");
}

async fn alarm_setter_on_a_table_without_alarms() {
    let aws = aws_test().await;
    let clock = Arc::new(SimClock::new(ts("2026-11-02T16:05:00Z")));
    // The table as the release before alarms leaves it: the same functions without the alarm
    // variables (so without alarms), an order through its delivery and a customer's birthday.
    let before_alarms = |function: &str| {
        let mut settings = aws.settings(function, StoreConfig::sample());
        settings.alarms = None;
        Parts::new(&aws.sdk, settings)
    };
    let old = before_alarms(STEP_FUNCTION)
        .await
        .expect("parts")
        .engine(Ses, Arc::clone(&clock));
    *SES_EVENTS.lock().expect("ses-events") = Some(Arc::new(
        before_alarms("ses-events")
            .await
            .expect("parts")
            .engine(Ses, Arc::clone(&clock)),
    ));
    let mut order = confirmed("2026-11-02T16:05:00Z");
    order["detail"]["order"]["customer"]["birthday"] = json!("1990-03-14");
    deliver(&old, &clock, Step::OrderConfirmed, &order).await;
    deliver(&old, &clock, Step::OrderShipped, &shipped()).await;
    deliver(&old, &clock, Step::OrderDelivered, &delivered("2026-11-05T18:40:00Z")).await;
    assert!(aws.alarms().await.is_empty(), "the earlier release set none");
    let waiting = old
        .store()
        .due_follow_ups(jiff::Timestamp::MAX, usize::MAX)
        .await
        .expect("due index");
    assert!(
        waiting.iter().any(|f| f.key.as_str().starts_with("birthday#")),
        "{waiting:?}"
    );

    // This release is deployed: its FollowUpAlarms resource runs the setter once, twice if retried.
    let answer = deploy_this_release(&aws, &clock).await;
    assert_eq!(answer["alarms"], json!(waiting.len()));
    let again = deploy_this_release(&aws, &clock).await;
    assert_eq!(again["alarms"], json!(waiting.len()));
    assert_eq!(
        aws.alarms().await.len(),
        waiting.len(),
        "one alarm each, however often it ran"
    );

    // They fire as the sweeper would have fired them: the review request, then the birthday.
    let engine = engine(&aws, &clock).await;
    clock.set(ts("2026-11-08T18:41:00Z"));
    fire_alarms_and_route(&aws, &engine).await;
    clock.set(ts("2027-03-14T14:00:00Z"));
    fire_alarms_and_route(&aws, &engine).await;
    let sent = subjects(&aws);
    assert_eq!(
        sent.iter().filter(|s| s.contains("enjoying your order")).count(),
        1,
        "{sent:?}"
    );
    assert_eq!(
        sent.iter().filter(|s| s.contains("Happy birthday")).count(),
        1,
        "{sent:?}"
    );
    // And next year's birthday waits with its own alarm, set as it was stored.
    let next = engine
        .store()
        .due_follow_ups(jiff::Timestamp::MAX, usize::MAX)
        .await
        .expect("due index");
    let birthday = next
        .iter()
        .find(|f| f.key.as_str().starts_with("birthday#"))
        .expect("next birthday");
    assert!(
        aws.alarms()
            .await
            .iter()
            .any(|a| a.input["key"] == birthday.key.as_str() && a.input["due_at"] == birthday.due_at.to_string())
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_alarm_ringing_as_its_minute_begins_fires_even_if_the_functions_clock_is_a_little_behind() {
    let (aws, clock, engine, alarm) = delivered_with_its_review_alarm().await;
    // The review request is due on a whole minute, so its alarm rings as that minute begins; this
    // function's clock reads a few milliseconds earlier than Scheduler's. The alarm is gone once
    // it rang: ignoring its event would leave the follow-up waiting for ever.
    assert_eq!(alarm.input["due_at"], "2026-11-08T18:40:00Z");
    clock.set(ts("2026-11-08T18:39:59.990Z"));
    let event = aws.fire(&alarm).await;
    lambda::handle(&engine, Step::OrderDelivered, event)
        .await
        .expect("handled");
    report_sends().await;
    assert!(
        subjects(&aws).iter().any(|s| s.contains("enjoying your order")),
        "{:?}",
        subjects(&aws)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_follow_up_its_step_fails_on_rings_again_later_and_is_sent_once_then() {
    let (aws, clock, engine, alarm) = delivered_with_its_review_alarm().await;
    clock.set(ts("2026-11-08T18:40:30Z"));
    let event = aws.fire(&alarm).await;
    // The step cannot reach its table (an outage longer than Lambda's three minutes of retries):
    // the alarm that rang is gone, so it sets one more instead of failing into the failures queue.
    let mut settings = aws.settings("order-delivered", StoreConfig::sample());
    settings.table = "no-such-table".into();
    let broken = Parts::new(&aws.sdk, settings)
        .await
        .expect("parts")
        .engine(Ses, Arc::clone(&clock));
    let answer = lambda::handle(&broken, Step::OrderDelivered, event)
        .await
        .expect("not a failed invocation");
    assert!(answer.to_string().contains("deferred"), "{answer}");
    let again: Vec<_> = aws
        .alarms()
        .await
        .into_iter()
        .filter(|a| a.input["key"] == "review_request#o-1")
        .collect();
    assert_eq!(again.len(), 1, "{again:#?}");
    assert_eq!(again[0].input, alarm.input, "the same FollowUpDue");
    assert_ne!(again[0].name, alarm.name);
    // Five minutes later the table answers again: sent, once.
    clock.set(ts("2026-11-08T18:46:00Z"));
    let event = aws.fire(&again[0]).await;
    lambda::handle(&engine, Step::OrderDelivered, event)
        .await
        .expect("handled");
    report_sends().await;
    let sent = subjects(&aws);
    assert_eq!(
        sent.iter().filter(|s| s.contains("enjoying your order")).count(),
        1,
        "{sent:?}"
    );
}

/// An order delivered, and its review request's alarm (due 2026-11-08T18:40:00Z).
async fn delivered_with_its_review_alarm() -> (AwsTest, Arc<SimClock>, TestEngine, tidings_tests::moto::Alarm) {
    let (aws, clock, engine) = spawn_app_with_an_order("2026-11-02T16:05:00Z").await;
    deliver(&engine, &clock, Step::OrderShipped, &shipped()).await;
    deliver(
        &engine,
        &clock,
        Step::OrderDelivered,
        &delivered("2026-11-05T18:40:00Z"),
    )
    .await;
    let alarm = aws
        .alarms()
        .await
        .into_iter()
        .find(|a| a.input["key"] == "review_request#o-1")
        .expect("the review request's alarm");
    (aws, clock, engine, alarm)
}
