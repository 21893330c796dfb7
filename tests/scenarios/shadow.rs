//! Shadow mode: everything handled as live, but only allowlisted addresses get real mail; every
//! other message goes to SES's mailbox simulator, claimed and recorded exactly as a live send.

use tidings_core::adapters::memory::MemoryMailer;
use tidings_core::config::{SendingMode, StoreConfig};
use tidings_core::domain::EmailAddress;
use tidings_core::engine::{Outcome, SkipReason};
use tidings_core::message::MessageKey;
use tidings_core::ports::{ClaimState, OutgoingEmail};
use tidings_core::shadow::{SIMULATOR, ShadowMailer};
use tidings_tests::{TestApp, customer, item, order_confirmed, spawn_app_with, ts};

/// The sample store in shadow mode, its owner's test customer `bo@example.com` allowlisted.
fn shadow_config() -> StoreConfig {
    let mut config = StoreConfig::sample();
    config.sending.mode = SendingMode::Shadow;
    config.sending.allow = vec![EmailAddress::parse("bo@example.com").expect("valid")];
    config.check().expect("valid config");
    config
}

fn spawn(config: StoreConfig) -> TestApp<ShadowMailer<MemoryMailer>> {
    let mailer = ShadowMailer::new(MemoryMailer::default(), &config.sending);
    spawn_app_with(mailer, config)
}

/// Ada (a customer) and Bo (allowlisted) each place an order.
fn orders() -> [serde_json::Value; 2] {
    let ada = customer("c-ada", "en-US", "America/New_York", true);
    let bo = customer("c-bo", "en-GB", "Europe/London", true);
    [
        order_confirmed(
            "o-1",
            &ada,
            vec![item("p-mug", "kitchen", 1, 1800)],
            "2026-11-02T16:05:00Z",
        ),
        order_confirmed(
            "o-2",
            &bo,
            vec![item("p-mug", "kitchen", 1, 1800)],
            "2026-11-02T16:06:00Z",
        ),
    ]
}

/// What the mailer under the shadow was given (what SES would get).
fn sent(app: &TestApp<ShadowMailer<MemoryMailer>>) -> Vec<OutgoingEmail> {
    app.engine.mailer().inner().sent()
}

fn headers(raw: &[u8]) -> String {
    let text = String::from_utf8_lossy(raw);
    text.split("\r\n\r\n").next().expect("headers").to_owned()
}

#[test]
fn a_customers_confirmation_goes_to_the_simulator_and_an_allowlisted_one_to_its_address() {
    let app = spawn(shadow_config());
    for event in orders() {
        app.deliver(&event).expect("handled");
    }
    let sent = sent(&app);
    let keys: Vec<&str> = sent.iter().map(|e| e.key.as_str()).collect();
    assert_eq!(keys, ["order_confirmation#o-1", "order_confirmation#o-2"]);

    let (ada, bo) = (&sent[0], &sent[1]);
    assert_eq!(ada.to.as_str(), SIMULATOR, "the envelope recipient");
    let parsed = crate::mime::parse(&ada.raw);
    assert_eq!(parsed["defects"], serde_json::json!([]), "still a well-formed message");
    assert_eq!(parsed["headers"]["To"], SIMULATOR);
    assert!(
        !headers(&ada.raw).contains("ada@example.com"),
        "no header names the customer"
    );
    assert_eq!(
        ada.customer_id.as_str(),
        "c-ada",
        "the ledger and SES's tags still name her"
    );

    assert_eq!(bo.to.as_str(), "bo@example.com");
    let parsed = crate::mime::parse(&bo.raw);
    assert!(
        parsed["headers"]["To"]
            .as_str()
            .is_some_and(|to| to.contains("<bo@example.com>")),
        "{}",
        parsed["headers"]["To"]
    );
}

#[test]
fn a_shadowed_message_is_claimed_once_and_a_redelivered_event_sends_nothing() {
    let app = spawn(shadow_config());
    let [ada, _] = orders();
    app.deliver(&ada).expect("first");
    let outcomes = app.deliver(&ada).expect("redelivered");
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
    assert_eq!(sent(&app).len(), 1, "one message to the simulator, not two");
    let key = MessageKey::parse("order_confirmation#o-1").expect("key");
    assert!(matches!(
        app.engine.store().state().claims.get(&key),
        Some(ClaimState::Sent { .. })
    ));
}

#[test]
fn shadow_mode_decides_and_records_exactly_what_live_mode_does() {
    let live = spawn(StoreConfig::sample());
    let shadow = spawn(shadow_config());
    let until = ts("2027-01-15T00:00:00Z");
    for app in [&live, &shadow] {
        for event in orders() {
            app.deliver(&event).expect("handled");
        }
        app.run_until(until);
    }
    let what = |app: &TestApp<ShadowMailer<MemoryMailer>>| {
        let sent: Vec<(String, String)> = sent(app)
            .iter()
            .map(|e| (e.at.to_string(), e.key.to_string()))
            .collect();
        let state = app.engine.store().state();
        let claims: Vec<String> = state.claims.keys().map(ToString::to_string).collect();
        let follow_ups: Vec<String> = state.follow_ups.keys().map(ToString::to_string).collect();
        (
            sent,
            claims,
            follow_ups,
            state.coupons.keys().cloned().collect::<Vec<_>>(),
        )
    };
    assert_eq!(what(&live), what(&shadow));
    assert!(what(&live).0.len() > 2, "follow-ups were sent too: {:?}", what(&live).0);
    let to = |app: &TestApp<ShadowMailer<MemoryMailer>>| -> Vec<String> {
        sent(app).iter().map(|e| e.to.as_str().to_owned()).collect()
    };
    assert!(to(&live).iter().all(|to| to != SIMULATOR), "live mails everyone");
    assert!(
        to(&shadow).iter().all(|to| to == SIMULATOR || to == "bo@example.com"),
        "{:?}",
        to(&shadow)
    );
    assert!(to(&shadow).iter().any(|to| to == "bo@example.com"));
    // The same bytes but for the `To` field (all of its folded lines).
    let without_to = |raw: &[u8]| {
        let text = String::from_utf8_lossy(raw).into_owned();
        let mut kept = Vec::new();
        let mut in_to = false;
        for line in text.split("\r\n") {
            if !line.starts_with([' ', '\t']) {
                in_to = line.starts_with("To:");
            }
            if !in_to {
                kept.push(line.to_owned());
            }
        }
        kept
    };
    for (live, shadow) in sent(&live).iter().zip(sent(&shadow)) {
        assert_eq!(without_to(&live.raw), without_to(&shadow.raw), "{}", live.key);
    }
}
