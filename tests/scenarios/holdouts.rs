//! Holdout groups (`[kinds.<kind>] holdout`): a deterministic share of the customers a marketing
//! kind would reach never get it, and each is recorded (`EmailHeldOut`) when they would have.

use serde_json::{Value, json};
use std::collections::BTreeSet;
use tidings_cli::Input;
use tidings_core::config::StoreConfig;
use tidings_core::domain::CustomerId;
use tidings_core::guest::GuestIds;
use tidings_core::message::MessageKind;
use tidings_tests::{Replayed, customer, envelope, item, order_confirmed, replay_with};

const CUSTOMERS: usize = 60;

fn week() -> Vec<Input> {
    let mut events: Vec<Value> = Vec::new();
    for n in 1..=CUSTOMERS {
        let who = customer(&format!("c-{n}"), "en-US", "America/New_York", true);
        events.push(envelope(
            "CustomerSignedUp",
            "2026-11-02T15:00:00Z",
            json!({"customer": who}),
        ));
        let items = vec![item("p-mug", "kitchen", 1, 1800)];
        events.push(order_confirmed(&format!("o-{n}"), &who, items, "2026-11-03T15:00:00Z"));
    }
    let text = events.iter().map(Value::to_string).collect::<Vec<_>>().join("\n");
    vec![Input {
        name: "holdouts.jsonl".into(),
        text,
    }]
}

fn with_welcome_holdout(share: f64) -> StoreConfig {
    let mut config = StoreConfig::sample();
    config.kinds.entry(MessageKind::Welcome).or_default().holdout = share;
    config
}

fn customers_of(replayed: &Replayed, kind: &str) -> BTreeSet<String> {
    replayed
        .sent()
        .iter()
        .filter(|line| line.kind == kind)
        .map(|line| line.customer_id.to_string())
        .collect()
}

fn held_out(replayed: &Replayed) -> BTreeSet<String> {
    replayed
        .emitted("EmailHeldOut")
        .iter()
        .map(|e| e["detail"]["customer_id"].as_str().expect("customer_id").to_owned())
        .collect()
}

#[test]
fn the_holdout_share_never_gets_the_kind_and_is_recorded_instead() {
    let replayed = replay_with(week(), with_welcome_holdout(0.3));
    let welcomed = customers_of(&replayed, "welcome");
    let held = held_out(&replayed);
    // Exactly the customers whose keyed draw falls under the share, nobody else.
    let keys = GuestIds::demo();
    let expected: BTreeSet<String> = (1..=CUSTOMERS)
        .map(|n| format!("c-{n}"))
        .filter(|id| keys.holdout_draw(&CustomerId::parse(id).unwrap(), "welcome") < 0.3)
        .collect();
    assert_eq!(held, expected);
    assert!(
        (8..=30).contains(&held.len()),
        "about 30 % of {CUSTOMERS}: {}",
        held.len()
    );
    assert!(welcomed.is_disjoint(&held), "a held-out customer is never welcomed");
    assert_eq!(welcomed.len() + held.len(), CUSTOMERS, "everyone else is");
    for event in replayed.emitted("EmailHeldOut") {
        assert_eq!(event["detail"]["kind"], "welcome");
        assert!(event["detail"]["message_key"].as_str().unwrap().starts_with("welcome#"));
    }
    // Transactional mail is never held out: every order is confirmed.
    assert_eq!(customers_of(&replayed, "order_confirmation").len(), CUSTOMERS);
}

#[test]
fn the_groups_are_the_same_on_every_run() {
    let first = held_out(&replay_with(week(), with_welcome_holdout(0.3)));
    let again = held_out(&replay_with(week(), with_welcome_holdout(0.3)));
    assert_eq!(first, again);
    // A larger share keeps everyone the smaller one held out.
    let larger = held_out(&replay_with(week(), with_welcome_holdout(0.45)));
    assert!(first.is_subset(&larger) && larger.len() > first.len());
    assert!(held_out(&replay_with(week(), StoreConfig::sample())).is_empty());
}
