//! Defects 8 and 9: a timeout never loses a transactional email; no item outgrows DynamoDB.

use super::*;

/// SES as seen from a Lambda that timed out mid-call: the first `remaining` sends go unanswered
/// (SES may or may not have accepted them), later ones are accepted.
#[derive(Default)]
struct Unanswered {
    remaining: std::sync::atomic::AtomicUsize,
    inner: MemoryMailer,
}

impl tidings_core::ports::Mailer for Unanswered {
    async fn send(&self, email: &tidings_core::ports::OutgoingEmail) -> Result<String, tidings_core::ports::SendError> {
        use std::sync::atomic::Ordering;
        if self.remaining.load(Ordering::SeqCst) > 0 {
            self.remaining.fetch_sub(1, Ordering::SeqCst);
            return Err(tidings_core::ports::SendError::Unknown("timed out".into()));
        }
        self.inner.send(email).await
    }
}

fn unanswered_once() -> TestApp<Unanswered> {
    let mailer = Unanswered {
        remaining: 1.into(),
        inner: MemoryMailer::default(),
    };
    spawn_app_with(mailer, StoreConfig::sample())
}

fn claim_of(app: &TestApp<Unanswered>, key: &str) -> Option<tidings_core::ports::ClaimState> {
    let key = tidings_core::message::MessageKey::parse(key).expect("key");
    app.engine.store().state().claims.get(&key).cloned()
}

#[test]
fn a_transactional_send_ses_never_reported_is_retried_once_and_recorded_recovered() {
    use tidings_core::ports::ClaimState;
    let app = unanswered_once();
    let ada = customer("c-1", "en-US", "America/New_York", true);
    let placed = order_confirmed("o-1", &ada, mug(), "2026-11-02T15:00:00Z");
    app.deliver(&placed).expect("the timeout is not an error");
    assert!(app.engine.mailer().inner.sent().is_empty());
    // No Send report from SES: a quarter of an hour later the confirmation goes once more.
    app.run_until(ts("2026-11-02T16:00:00Z"));
    let sent: Vec<String> = app
        .engine
        .mailer()
        .inner
        .sent()
        .iter()
        .map(|e| e.key.to_string())
        .collect();
    assert_eq!(sent, ["order_confirmation#o-1"]);
    assert!(
        matches!(claim_of(&app, "order_confirmation#o-1"), Some(ClaimState::Sent { .. })),
        "{:?}",
        claim_of(&app, "order_confirmation#o-1")
    );
    assert_eq!(
        app.engine.store().state().recovered.len(),
        1,
        "counted: the one place a duplicate is possible"
    );
    // A redelivery later sends nothing more.
    app.deliver_at(&placed, ts("2026-11-02T18:00:00Z"))
        .expect("redelivered");
    assert_eq!(app.engine.mailer().inner.sent().len(), 1);
}

#[test]
fn a_transactional_send_that_ses_did_report_is_not_retried() {
    let app = unanswered_once();
    let ada = customer("c-1", "en-US", "America/New_York", true);
    app.deliver(&order_confirmed("o-1", &ada, mug(), "2026-11-02T15:00:00Z"))
        .expect("handled");
    let key = tidings_core::message::MessageKey::parse("order_confirmation#o-1").expect("key");
    app.block_on(
        app.engine
            .store()
            .settle_sending(&key, "ses-1", ts("2026-11-02T15:00:01Z")),
    )
    .expect("SES reported it");
    app.run_until(ts("2026-11-02T18:00:00Z"));
    assert!(
        app.engine.mailer().inner.sent().is_empty(),
        "SES accepted the first attempt"
    );
    assert!(app.engine.store().state().recovered.is_empty());
}

#[test]
fn a_redelivery_after_a_crash_mid_send_recovers_a_transactional_email() {
    let app = unanswered_once();
    let ada = customer("c-1", "en-US", "America/New_York", true);
    let placed = order_confirmed("o-1", &ada, mug(), "2026-11-02T15:00:00Z");
    app.deliver(&placed).expect("handled");
    // The process died instead of recording anything: as after the timeout, minus the re-check.
    app.engine.store().state().follow_ups.clear();
    app.deliver_at(&placed, ts("2026-11-02T15:30:00Z"))
        .expect("redriven from the DLQ");
    let sent: Vec<String> = app
        .engine
        .mailer()
        .inner
        .sent()
        .iter()
        .map(|e| e.key.to_string())
        .collect();
    assert_eq!(sent, ["order_confirmation#o-1"]);
}

#[test]
fn a_marketing_send_without_an_answer_is_never_resent() {
    let app = unanswered_once();
    let ada = customer("c-1", "en-GB", "Europe/London", true);
    sign_up(&app, &ada, "2026-11-02T10:00:00Z");
    app.run_until(ts("2026-11-03T10:00:00Z"));
    let sent: Vec<String> = app
        .engine
        .mailer()
        .inner
        .sent()
        .iter()
        .map(|e| e.key.to_string())
        .collect();
    assert!(!sent.contains(&"welcome#c-1".to_owned()), "{sent:?}");
}

#[test]
fn a_retried_mark_sending_whose_first_answer_was_lost_still_sends() {
    use tidings_core::ports::{Claim, ClaimOutcome};
    let app = spawn_app();
    let store = app.engine.store();
    let key = tidings_core::message::MessageKey::parse("order_confirmation#o-1").expect("key");
    let at = ts("2026-11-02T15:00:00Z");
    let claim = Claim {
        key: key.clone(),
        customer_id: id("c-1"),
        to: tidings_core::domain::EmailAddress::parse("1@example.com").expect("email"),
        at,
        lease: tidings_core::engine::CLAIM_LEASE,
        cap: None,
        consent: None,
        sending: false,
        coupon: None,
    };
    assert_eq!(
        app.block_on(store.claim_message(&claim)).expect("store"),
        ClaimOutcome::Claimed
    );
    assert!(app.block_on(store.mark_sending(&key, at)).expect("store"));
    assert!(
        app.block_on(store.mark_sending(&key, at)).expect("store"),
        "the SDK's retry of our own mark_sending is still ours"
    );
    assert!(
        !app.block_on(store.mark_sending(&key, ts("2026-11-02T15:03:00Z")))
            .expect("store"),
        "another holder's is not"
    );
    // A holder whose lease ran out and whose claim was taken over cannot send it any more.
    let other = tidings_core::message::MessageKey::parse("order_confirmation#o-2").expect("key");
    let first = Claim {
        key: other.clone(),
        ..claim.clone()
    };
    assert_eq!(
        app.block_on(store.claim_message(&first)).expect("store"),
        ClaimOutcome::Claimed
    );
    let later = Claim {
        at: ts("2026-11-02T15:05:00Z"),
        ..first.clone()
    };
    assert_eq!(
        app.block_on(store.claim_message(&later)).expect("store"),
        ClaimOutcome::Claimed
    );
    assert!(
        !app.block_on(store.mark_sending(&other, at)).expect("store"),
        "the stale holder lost it"
    );
    assert!(app.block_on(store.mark_sending(&other, later.at)).expect("store"));
}

// --- Defect 9: no accepted event may produce an item DynamoDB refuses (400 KB) ------------------

#[test]
fn a_250_line_order_with_the_longest_fields_is_confirmed_and_stored_within_the_item_limit() {
    let ada = customer("c-1", "en-US", "America/New_York", true);
    let long = "長".repeat(500); // 1,500 bytes of UTF-8, the most a text field keeps
    let link = format!("https://shop.example/{}", "p".repeat(2000));
    let items: Vec<Value> = (0..250)
        .map(|i| {
            let mut line = item(&format!("p-{i:03}"), "kitchen", 1, 100);
            for field in ["name", "variant", "category", "sku"] {
                line[field] = json!(format!("{i}{long}"));
            }
            line["image_url"] = json!(link);
            line["url"] = json!(link);
            line
        })
        .collect();
    let placed = envelope(
        "OrderConfirmed",
        "2026-11-02T15:00:00Z",
        json!({ "order": order("o-1", &ada, "USD", items, "2026-11-02T15:00:00Z") }),
    );
    let mut warnings = Vec::new();
    tidings_core::event::parse_envelope_noting(&placed.to_string(), &mut warnings).expect("accepted");
    assert!(
        warnings.iter().any(|w| w.field == "detail.order.items"),
        "the shrinking is reported: {warnings:?}"
    );
    let app = spawn_app();
    app.deliver(&placed).expect("handled");
    assert_eq!(keys(&app), ["order_confirmation#o-1"]);
    let state = app.engine.store().state();
    let stored = serde_json::to_vec(&state.orders[&tidings_core::domain::OrderId::parse("o-1").expect("id")])
        .expect("json")
        .len();
    assert!(stored < 300 * 1024, "the order record is {stored} bytes");
}
