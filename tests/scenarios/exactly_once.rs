//! Rule 1: a message has a deterministic key and is claimed before sending; duplicates send nothing.

use serde_json::json;
use std::sync::atomic::AtomicUsize;
use tidings_core::config::StoreConfig;
use tidings_core::engine::{Outcome, SkipReason};
use tidings_core::message::MessageKey;
use tidings_core::ports::ClaimState;
use tidings_tests::{FlakyMailer, customer, envelope, item, spawn_app, spawn_app_with};

fn confirmed(id: &str, time: &str) -> serde_json::Value {
    let ada = customer("c-1", "en-US", "America/New_York", true);
    tidings_tests::order_confirmed(id, &ada, vec![item("p-mug", "kitchen", 1, 1800)], time)
}

#[test]
fn the_same_event_delivered_three_times_sends_one_email() {
    let app = spawn_app();
    let event = confirmed("o-1", "2026-11-02T16:05:00Z");
    for _ in 0..3 {
        app.deliver(&event).expect("handled");
    }
    let sent = app.sent();
    assert_eq!(
        sent,
        vec![("2026-11-02T16:05:00Z".to_owned(), "order_confirmation#o-1".to_owned())]
    );
}

#[test]
fn the_same_order_under_different_envelope_ids_sends_one_email() {
    let app = spawn_app();
    let mut event = confirmed("o-1", "2026-11-02T16:05:00Z");
    app.deliver(&event).expect("first");
    event["id"] = json!("another-delivery-attempt");
    let outcomes = app.deliver(&event).expect("second");
    assert!(
        outcomes.iter().any(|o| matches!(
            o,
            Outcome::Skipped {
                reason: SkipReason::AlreadySent,
                ..
            }
        )),
        "{outcomes:?}"
    );
    assert_eq!(app.sent().len(), 1);
    let customer = app
        .engine
        .store()
        .state()
        .customers
        .values()
        .next()
        .cloned()
        .expect("customer");
    assert_eq!(customer.orders_confirmed, 1, "a redelivered order is not counted twice");
}

#[test]
fn a_repeated_carrier_status_sends_one_update_per_status() {
    let app = spawn_app();
    app.deliver(&confirmed("o-1", "2026-11-02T16:05:00Z")).expect("order");
    let shipment =
        json!({"id": "shp-9", "carrier": "ups", "tracking_number": "1Z9", "shipped_at": "2026-11-03T13:00:00Z"});
    app.deliver(&envelope(
        "OrderShipped",
        "2026-11-03T13:00:00Z",
        json!({"order_id": "o-1", "shipment": shipment}),
    ))
    .expect("shipped");
    for time in ["2026-11-04T10:00:00Z", "2026-11-04T11:00:00Z"] {
        let update = json!({"order_id": "o-1", "shipment_id": "shp-9", "status": "delayed"});
        app.deliver(&envelope("ShipmentUpdated", time, update)).expect("update");
    }
    let in_transit = json!({"order_id": "o-1", "shipment_id": "shp-9", "status": "in_transit"});
    app.deliver(&envelope("ShipmentUpdated", "2026-11-04T12:00:00Z", in_transit))
        .expect("scan");
    let keys: Vec<String> = app.sent().into_iter().map(|(_, key)| key).collect();
    assert_eq!(
        keys,
        [
            "order_confirmation#o-1",
            "shipping_confirmation#shp-9",
            "shipment_update#shp-9#delayed"
        ]
    );
}

#[test]
fn a_throttled_send_releases_its_claim_and_goes_back_in_the_queue_to_send_once() {
    let mailer = FlakyMailer {
        transient: AtomicUsize::new(1),
        ..FlakyMailer::default()
    };
    let app = spawn_app_with(mailer, StoreConfig::sample());
    let event = confirmed("o-1", "2026-11-02T16:05:00Z");
    // Not an error (whose retries could end in the dead-letter queue): the message waits a minute.
    let outcomes = app.deliver(&event).expect("throttled, not failed");
    let key = MessageKey::parse("order_confirmation#o-1").expect("key");
    assert!(
        outcomes.contains(&Outcome::Deferred {
            key: key.clone(),
            until: tidings_tests::ts("2026-11-02T16:06:00Z")
        }),
        "{outcomes:?}"
    );
    assert!(!app.engine.store().state().claims.contains_key(&key), "claim released");
    app.deliver(&event).expect("a redelivery meanwhile");
    app.run_until(tidings_tests::ts("2026-11-02T16:10:00Z"));
    app.deliver(&event).expect("a late duplicate");
    assert_eq!(app.engine.mailer().inner.sent().len(), 1);
    assert!(matches!(
        app.engine.store().state().claims.get(&key),
        Some(ClaimState::Sent { .. })
    ));
}

#[test]
fn a_permanent_rejection_is_recorded_and_never_retried() {
    let mailer = FlakyMailer {
        reject: vec!["1@example.com".into()],
        ..FlakyMailer::default()
    };
    let app = spawn_app_with(mailer, StoreConfig::sample());
    let event = confirmed("o-1", "2026-11-02T16:05:00Z");
    let outcomes = app.deliver(&event).expect("a rejection is an outcome, not an error");
    assert!(
        outcomes
            .iter()
            .any(|o| matches!(o, Outcome::Failed { reason, .. } if reason.contains("MessageRejected")))
    );
    let again = app.deliver(&event).expect("redelivery");
    assert!(again.iter().any(|o| matches!(
        o,
        Outcome::Skipped {
            reason: SkipReason::AlreadyFailed,
            ..
        }
    )));
    let key = MessageKey::parse("order_confirmation#o-1").expect("key");
    assert!(
        matches!(app.engine.store().state().claims.get(&key), Some(ClaimState::Failed { reason, .. }) if reason.contains("MessageRejected"))
    );
}

#[test]
fn a_claim_left_by_a_crash_is_retried_after_its_lease_but_a_sent_one_never() {
    use tidings_core::ports::{Claim, ClaimOutcome, SendLedger};
    let app = spawn_app();
    let store = app.engine.store();
    let key = MessageKey::parse("order_confirmation#o-1").expect("key");
    let claim = |at: &str| Claim {
        key: key.clone(),
        customer_id: tidings_core::domain::CustomerId::parse("c-1").expect("id"),
        to: tidings_core::domain::EmailAddress::parse("1@example.com").expect("email"),
        at: tidings_tests::ts(at),
        lease: jiff::SignedDuration::from_mins(15),
        cap: None,
        consent: None,
        sending: false,
        coupon: None,
    };
    assert_eq!(
        app.block_on(store.claim_message(&claim("2026-11-02T16:05:00Z")))
            .expect("store"),
        ClaimOutcome::Claimed
    );
    // The process died here. A retry inside the lease waits; after it, the claim is taken over.
    assert_eq!(
        app.block_on(store.claim_message(&claim("2026-11-02T16:10:00Z")))
            .expect("store"),
        // As on DynamoDB, a lease holds to the end of its last whole second.
        ClaimOutcome::InFlight {
            until: tidings_tests::ts("2026-11-02T16:20:01Z")
        }
    );
    assert_eq!(
        app.block_on(store.claim_message(&claim("2026-11-02T16:21:00Z")))
            .expect("store"),
        ClaimOutcome::Claimed
    );
    // Once the provider is being called, no lease expiry hands the message to anyone else: a
    // duplicate inside the lease waits for the provider's report. A transactional message the
    // provider never reported is taken back once (`Recoverable`), and never again after that.
    assert!(
        app.block_on(store.mark_sending(&key, tidings_tests::ts("2026-11-02T16:21:00Z")))
            .expect("store")
    );
    assert_eq!(
        app.block_on(store.claim_message(&claim("2026-11-02T16:25:00Z")))
            .expect("store"),
        ClaimOutcome::InFlight {
            until: tidings_tests::ts("2026-11-02T16:36:01Z")
        }
    );
    let since = tidings_tests::ts("2026-11-02T16:21:00Z");
    assert_eq!(
        app.block_on(store.claim_message(&claim("2026-11-02T18:00:00Z")))
            .expect("store"),
        ClaimOutcome::Recoverable { since }
    );
    let recovery = claim("2026-11-02T18:00:00Z");
    assert_eq!(
        app.block_on(store.recover_claim(&recovery, since)).expect("store"),
        ClaimOutcome::Claimed
    );
    assert!(
        matches!(
            app.block_on(store.recover_claim(&recovery, since)).expect("store"),
            ClaimOutcome::InFlight { .. }
        ),
        "taken back once only"
    );
    assert!(app.block_on(store.mark_sending(&key, recovery.at)).expect("store"));
    assert_eq!(
        app.block_on(store.claim_message(&claim("2026-11-02T20:00:00Z")))
            .expect("store"),
        ClaimOutcome::OutcomeUnknown,
        "recovered once: then nobody can know"
    );
    app.block_on(store.mark_sent(&key, "ses-1", tidings_tests::ts("2026-11-02T16:21:01Z")))
        .expect("store");
    assert_eq!(
        app.block_on(store.claim_message(&claim("2026-11-09T00:00:00Z")))
            .expect("store"),
        ClaimOutcome::AlreadySent
    );
}

#[test]
fn a_transactional_message_throttled_for_hours_waits_with_backoff_and_is_never_dropped() {
    let mailer = FlakyMailer {
        transient: AtomicUsize::new(12),
        ..FlakyMailer::default()
    };
    let mut config = StoreConfig::sample();
    // Deferrals of marketing expire after an hour here; a confirmation never does.
    config.timing.marketing_expiry_hours = 1;
    let app = spawn_app_with(mailer, config);
    app.deliver(&confirmed("o-1", "2026-11-02T16:05:00Z"))
        .expect("throttled, queued");
    let outcomes = app.run_until(tidings_tests::ts("2026-11-05T00:00:00Z"));
    let sent: Vec<_> = app.engine.mailer().inner.sent().iter().map(|e| e.at).collect();
    assert_eq!(sent.len(), 1, "{outcomes:?}");
    let deferrals: Vec<_> = outcomes
        .iter()
        .filter_map(|o| match o {
            Outcome::Deferred { until, .. } => Some(*until),
            _ => None,
        })
        .collect();
    assert_eq!(deferrals.len(), 11, "{outcomes:?}");
    // Half the time waited, from a minute to an hour: the tries thin out.
    let gaps: Vec<i64> = deferrals
        .windows(2)
        .map(|w| w[1].duration_since(w[0]).as_mins())
        .collect();
    assert!(gaps.windows(2).all(|g| g[0] <= g[1]), "{gaps:?}");
    assert!(*gaps.last().expect("gaps") >= 30, "{gaps:?}");
}
