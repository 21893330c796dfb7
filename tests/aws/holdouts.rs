//! A holdout group on DynamoDB, SES and EventBridge: the held-out customers get nothing, and each
//! is announced as `EmailHeldOut` on the bus under the message's key, however often the event comes.

use super::*;
use std::collections::BTreeSet;
use tidings_core::message::MessageKind;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn held_out_customers_get_no_welcome_and_are_announced_once_each() {
    let aws = aws_test().await;
    let clock = Arc::new(SimClock::new(ts("2026-11-02T15:00:00Z")));
    let mut config = StoreConfig::sample();
    config.kinds.entry(MessageKind::Welcome).or_default().holdout = 0.45;
    // The ses-events function settles each send, as in the stack (`engine` sets it up).
    let _ = engine(&aws, &clock).await;
    let engine = parts(&aws, STEP_FUNCTION, config).await.engine(Ses, Arc::clone(&clock));
    let ids: Vec<String> = (1..=12).map(|n| format!("c-{n}")).collect();
    for id in &ids {
        let signup = envelope(
            "CustomerSignedUp",
            "2026-11-02T15:00:00Z",
            json!({ "customer": customer(id, "en-US", "America/New_York", true) }),
        );
        // Delivered twice: EventBridge delivers at least once.
        deliver(&engine, &clock, Step::Customer, &signup).await;
        deliver(&engine, &clock, Step::Customer, &signup).await;
    }
    // Drawn with the stack's own guest-id key: the held out are exactly those who got no welcome.
    let mail = aws.sent_mail();
    let welcomed = |id: &str| {
        let address = format!("<{}@example.com>", id.trim_start_matches("c-"));
        mail.iter().any(|m| m.contains(&address))
    };
    let expected: BTreeSet<String> = ids.iter().filter(|id| !welcomed(id)).cloned().collect();
    assert!(!expected.is_empty() && expected.len() < ids.len(), "{expected:?}");
    let held: Vec<Value> = aws
        .emitted()
        .await
        .into_iter()
        .filter(|e| e["detail-type"] == "EmailHeldOut")
        .collect();
    let announced: BTreeSet<String> = held
        .iter()
        .map(|e| e["detail"]["customer_id"].as_str().expect("customer").to_owned())
        .collect();
    assert_eq!(announced, expected);
    // Held out through the claim, like a send: the redelivery finds it settled and announces
    // nothing more. (A crash between announcing and settling would announce it again under the
    // same key, which is what the report and any consumer count by.)
    assert_eq!(held.len(), expected.len(), "announced once each");
    let keys: BTreeSet<&str> = held
        .iter()
        .map(|e| e["detail"]["message_key"].as_str().expect("key"))
        .collect();
    assert_eq!(keys.len(), expected.len(), "{keys:?}");
    assert!(keys.iter().all(|k| k.starts_with("welcome#")));
    assert_eq!(
        mail.len(),
        ids.len() - expected.len(),
        "one welcome for each customer not held out"
    );
}
