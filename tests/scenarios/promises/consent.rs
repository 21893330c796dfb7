//! Defect 3: a tidings unsubscribe sticks to the address and is never undone by a stale flag.

use super::*;

#[test]
fn with_soft_opt_in_a_later_order_does_not_undo_an_unsubscribe() {
    let mut config = StoreConfig::sample();
    config.marketing.soft_opt_in = true;
    let app = spawn_app_with(MemoryMailer::default(), config);
    with_history(&app);
    let buyer = customer("c-1", "en-US", "America/New_York", false);
    app.deliver(&order_confirmed("o-1", &buyer, mug(), "2026-11-02T15:00:00Z"))
        .expect("order");
    unsubscribe(&app, "c-1", "2026-11-02T16:00:00Z");
    // Stores send `marketing_consent: false` on every order of a customer who never opted in.
    app.deliver(&order_confirmed("o-2", &buyer, mug(), "2026-11-04T15:00:00Z"))
        .expect("second order");
    app.run_until(ts("2026-11-20T00:00:00Z"));
    assert_eq!(
        sent_kinds(&app, "cross_sell#o-1").len() + sent_kinds(&app, "cross_sell#o-2").len(),
        0
    );
    let state = app.engine.store().state();
    let record = &state.customers[&id("c-1")];
    assert_eq!(
        (record.consent.given, record.consent.source),
        (false, ConsentSource::Unsubscribe)
    );
}

#[test]
fn an_unsubscribe_counts_even_when_store_events_carry_times_ahead_of_the_clock() {
    let app = spawn_app();
    let ada = customer("c-1", "en-US", "America/New_York", true);
    sign_up(&app, &ada, "2026-11-02T14:00:00Z");
    // The store's clock runs a day ahead: its update is dated tomorrow but arrives now.
    app.deliver_at(
        &envelope("CustomerUpdated", "2026-11-03T15:00:00Z", json!({ "customer": ada })),
        ts("2026-11-02T15:00:00Z"),
    )
    .expect("update");
    unsubscribe(&app, "c-1", "2026-11-02T16:00:00Z");
    let page = app.engine.store().state().customers[&id("c-1")].consent.clone();
    assert_eq!((page.given, page.source), (false, ConsentSource::Unsubscribe));
    app.run_until(ts("2026-11-20T00:00:00Z"));
    assert_eq!(
        keys(&app),
        ["welcome#c-1"],
        "the welcome offer two days later is not sent"
    );
}

#[test]
fn a_stale_consent_flag_on_a_later_order_or_cart_does_not_resubscribe() {
    let app = spawn_app();
    with_history(&app);
    let ada = customer("c-1", "en-US", "America/New_York", true);
    app.deliver(&order_confirmed("o-1", &ada, mug(), "2026-11-02T15:00:00Z"))
        .expect("order");
    unsubscribe(&app, "c-1", "2026-11-02T16:00:00Z");
    let abandoned = cart("cart-1", &ada, mug(), "2026-11-03T10:00:00Z");
    app.deliver(&envelope(
        "CartUpdated",
        "2026-11-03T10:00:00Z",
        json!({ "cart": abandoned }),
    ))
    .expect("cart");
    app.deliver(&order_confirmed("o-2", &ada, mug(), "2026-11-05T15:00:00Z"))
        .expect("second order");
    app.run_until(ts("2026-11-30T00:00:00Z"));
    assert_eq!(
        keys(&app),
        [
            "order_confirmation#o-0",
            "order_confirmation#o-1",
            "order_confirmation#o-2"
        ],
        "no cross-sell, cart reminder or win-back after the unsubscribe"
    );
}

#[test]
fn an_unsubscribed_address_gets_no_marketing_under_another_customer_id() {
    let app = spawn_app();
    with_history(&app);
    let registered = customer("c-1", "en-GB", "Europe/London", true);
    sign_up(&app, &registered, "2026-11-02T10:00:00Z");
    unsubscribe(&app, "c-1", "2026-11-02T11:00:00Z");
    // The same person checks out as a guest, ticking the store's newsletter box out of habit.
    let mut guest = customer("c-1", "en-GB", "Europe/London", true);
    guest["id"] = json!("guest:1@example.com");
    app.deliver(&order_confirmed("o-1", &guest, mug(), "2026-11-03T15:00:00Z"))
        .expect("guest order");
    app.run_until(ts("2026-11-30T00:00:00Z"));
    assert_eq!(
        keys(&app),
        ["order_confirmation#o-0", "welcome#c-1", "order_confirmation#o-1"],
        "no cross-sell or win-back to the unsubscribed address"
    );
}

#[test]
fn only_a_store_statement_with_its_own_later_consent_time_lifts_an_unsubscribe() {
    let run = |consent_updated_at: Option<&str>| {
        let app = spawn_app();
        let ada = customer("c-1", "en-GB", "Europe/London", true);
        sign_up(&app, &ada, "2026-11-02T10:00:00Z");
        unsubscribe(&app, "c-1", "2026-11-02T11:00:00Z");
        let mut update = ada.clone();
        if let Some(at) = consent_updated_at {
            update["consent_updated_at"] = json!(at);
        }
        app.deliver(&envelope(
            "CustomerUpdated",
            "2026-11-02T20:00:00Z",
            json!({ "customer": update }),
        ))
        .expect("update");
        let abandoned = cart("cart-1", &ada, mug(), "2026-11-03T10:00:00Z");
        app.deliver(&envelope(
            "CartUpdated",
            "2026-11-03T10:00:00Z",
            json!({ "cart": abandoned }),
        ))
        .expect("cart");
        app.run_until(ts("2026-11-30T00:00:00Z"));
        !sent_kinds(&app, "cart_reminder#").is_empty()
    };
    assert!(!run(None), "a bare boolean never lifts it");
    assert!(
        !run(Some("2026-11-02T10:30:00Z")),
        "a statement from before the unsubscribe"
    );
    assert!(
        run(Some("2026-11-02T19:00:00Z")),
        "the customer opted in again at the store"
    );
}

#[test]
fn an_unsubscribe_is_announced_for_the_store_to_mirror() {
    let app = spawn_app();
    let ada = customer("c-1", "en-US", "America/New_York", true);
    sign_up(&app, &ada, "2026-11-02T10:00:00Z");
    unsubscribe(&app, "c-1", "2026-11-02T11:00:00Z");
    let announced: Vec<Value> = app
        .engine
        .bus()
        .events()
        .iter()
        .filter(|e| e.detail.detail_type() == "CustomerUnsubscribed")
        .map(|e| serde_json::to_value(&e.detail).expect("json"))
        .collect();
    assert_eq!(
        announced,
        [json!({"customer_id": "c-1", "scope": "marketing", "at": "2026-11-02T11:00:00Z"})]
    );
}

#[test]
fn replay_takes_an_unsubscribe_as_a_line_of_its_own() {
    let ada = customer("c-1", "en-GB", "Europe/London", true);
    let token = SigningKeys::demo().unsubscribe_token(&id("c-1"), "marketing", ts("2026-11-02T10:00:00Z"));
    let lines = [
        envelope("CustomerSignedUp", "2026-11-02T10:00:00Z", json!({ "customer": ada })),
        unsubscribe_line("2026-11-02T12:00:00Z", &token),
    ];
    let text = lines.iter().map(Value::to_string).collect::<Vec<_>>().join("\n");
    let replayed = replay_inputs(vec![tidings_cli::Input {
        name: "test.jsonl".into(),
        text,
    }]);
    let kinds: Vec<&str> = replayed.sent().iter().map(|l| l.kind.as_str()).collect();
    assert_eq!(kinds, ["welcome"], "the welcome offer two days later is not sent");
    assert_eq!(replayed.emitted("CustomerUnsubscribed").len(), 1);
}

#[test]
fn replay_reports_a_bad_unsubscribe_token_with_its_line() {
    let lines = [unsubscribe_line("2026-11-02T12:00:00Z", "demo.bm90.aGVsbG8")];
    let text = lines.iter().map(Value::to_string).collect::<Vec<_>>().join("\n");
    let dir = tempfile::tempdir().expect("dir");
    let settings = tidings_cli::Settings {
        config: StoreConfig::sample(),
        keys: SigningKeys::demo(),
        templates: None,
        until: None,
        history: None,
        webhook_secrets: Default::default(),
    };
    let runtime = tokio::runtime::Builder::new_current_thread().build().expect("runtime");
    let inputs = [tidings_cli::Input {
        name: "test.jsonl".into(),
        text,
    }];
    let error = runtime
        .block_on(tidings_cli::replay(&inputs, &dir.path().join("outbox"), settings))
        .expect_err("refused");
    let tidings_cli::ReplayError::Invalid(lines) = error else {
        panic!("invalid input, got {error}")
    };
    assert_eq!(lines.len(), 1);
    assert!(lines[0].starts_with("test.jsonl:1: detail.token: "), "{}", lines[0]);
}
