//! `AttentionNeeded` (issue 19): what needs the operator although nothing failed is announced on the
//! bus, which the deployed stack routes into its one failures queue under its one alarm. Never an
//! address or a name in it.

use serde_json::{Value, json};
use std::sync::atomic::AtomicUsize;
use tidings_core::adapters::memory::MemoryMailer;
use tidings_core::config::StoreConfig;
use tidings_core::event::TrackingNumber;
use tidings_core::ports::{Mailer, OutgoingEmail, SendError};
use tidings_core::ports::{RegisterError, Trackers};
use tidings_tests::{FlakyMailer, TestApp, customer, envelope, item, order_confirmed, spawn_app_with, ts};

/// Every `AttentionNeeded` announced so far, as it would be put on the bus.
fn attention<M: Mailer>(app: &TestApp<M>) -> Vec<Value> {
    app.engine
        .bus()
        .events()
        .iter()
        .filter(|e| e.detail.detail_type() == "AttentionNeeded")
        .map(|e| serde_json::to_value(&e.detail).expect("json"))
        .collect()
}

fn confirm<M: Mailer>(app: &TestApp<M>, n: usize, at: &str) {
    let who = customer(&format!("c-{n}"), "en-US", "America/New_York", true);
    app.deliver(&order_confirmed(
        &format!("o-{n}"),
        &who,
        vec![item("p-mug", "kitchen", 1, 1800)],
        at,
    ))
    .expect("order");
}

/// The memory mailer, paced as SES is (a local outbox is not, so it counts no daily quota).
#[derive(Default)]
struct Paced(MemoryMailer);

impl Mailer for Paced {
    async fn send(&self, email: &OutgoingEmail) -> Result<String, SendError> {
        self.0.send(email).await
    }

    fn paced(&self) -> bool {
        true
    }
}

#[test]
fn the_daily_quota_is_reported_at_80_and_100_percent_once_each() {
    let mut config = StoreConfig::sample();
    config.sending.daily_quota = 5;
    let app = spawn_app_with(Paced::default(), config);
    for n in 1..=6 {
        confirm(&app, n, &format!("2026-11-02T16:0{n}:00Z"));
        let reported = attention(&app);
        // The 4th send is 80 % of 5, the 5th 100 %; the 6th is past both.
        let expected = match n {
            1..=3 => 0,
            4 => 1,
            _ => 2,
        };
        assert_eq!(reported.len(), expected, "after {n} sends: {reported:?}");
    }
    let reported = attention(&app);
    assert!(
        reported.iter().all(|a| a["reason"] == "send_quota_near"),
        "{reported:?}"
    );
    assert!(reported[0]["detail"].as_str().unwrap().contains("80 %"), "{reported:?}");
    assert!(
        reported[1]["detail"].as_str().unwrap().contains("100 %"),
        "{reported:?}"
    );
    for a in &reported {
        assert!(!a.to_string().contains('@'), "no address in {a}");
    }
}

#[test]
fn mail_ses_has_not_taken_for_an_hour_is_reported_while_it_is_still_tried() {
    // SES refuses the first 20 attempts (about 7 hours of retries), then takes it.
    let mailer = FlakyMailer {
        transient: AtomicUsize::new(20),
        ..FlakyMailer::default()
    };
    let app = spawn_app_with(mailer, StoreConfig::sample());
    confirm(&app, 1, "2026-11-02T16:05:00Z");
    app.run_until(ts("2026-11-02T16:59:00Z"));
    assert!(attention(&app).is_empty(), "under an hour: only retried");
    app.run_until(ts("2026-11-03T16:00:00Z"));
    let reported = attention(&app);
    assert!(!reported.is_empty());
    assert!(reported.iter().all(|a| a["reason"] == "send_stuck"), "{reported:?}");
    assert!(
        reported[0]["detail"].as_str().unwrap().contains("waited"),
        "{reported:?}"
    );
    // The subject is the message's key (redacted: a guest's address would be masked).
    for a in &reported {
        let subject = a["subject"].as_str().unwrap();
        assert!(subject.starts_with("order_confirmation"), "{subject}");
        assert!(!a.to_string().contains('@'), "{a}");
    }
    // And the confirmation still went, once.
    assert_eq!(app.engine.mailer().inner.sent().len(), 1);
}

/// A tracking service that is down.
struct Down(AtomicUsize);

impl Trackers for Down {
    fn register<'a>(
        &'a self,
        _number: &'a TrackingNumber,
        _carrier: &'a str,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<(), RegisterError>> + Send + 'a>> {
        self.0.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        Box::pin(async { Err(RegisterError::Unavailable("503 Service Unavailable".into())) })
    }
}

#[test]
fn a_parcel_the_tracking_service_could_not_register_is_reported_and_its_email_still_sent() {
    let down = std::sync::Arc::new(Down(AtomicUsize::new(0)));
    let app = spawn_app_with(MemoryMailer::default(), StoreConfig::sample()).with_trackers(down.clone());
    confirm(&app, 1, "2026-11-02T16:05:00Z");
    app.deliver(&envelope(
        "OrderShipped",
        "2026-11-03T10:00:00Z",
        json!({"order_id": "o-1", "shipment": {"id": "shp-1", "carrier": "ups", "tracking_number": "1Z999AA10123456784", "shipped_at": "2026-11-03T10:00:00Z"}}),
    ))
    .expect("shipped");
    assert_eq!(down.0.load(std::sync::atomic::Ordering::SeqCst), 1);
    let reported = attention(&app);
    assert_eq!(reported.len(), 1, "{reported:?}");
    assert_eq!(reported[0]["reason"], "tracking_unregistered");
    assert_eq!(reported[0]["subject"], "shp-1");
    assert!(reported[0]["detail"].as_str().unwrap().contains("503"), "{reported:?}");
    assert!(
        app.sent()
            .iter()
            .any(|(_, key)| key.starts_with("shipping_confirmation")),
        "{:?}",
        app.sent()
    );
    assert_eq!(reported[0]["at"], json!(ts("2026-11-03T10:00:00Z")));
}
