//! The promises a real store's event stream puts to the test (issue 13): a tidings unsubscribe
//! sticks to the address, an erasure sticks, an odd optional field never loses a confirmation,
//! implausible input is refused by field instead of panicking, and an older cart never wins.

use serde_json::{Value, json};
use tidings_core::adapters::memory::MemoryMailer;
use tidings_core::config::StoreConfig;
use tidings_core::domain::CustomerId;
use tidings_core::ports::{Carts, ConsentSource, SendLedger};
use tidings_core::signing::SigningKeys;
use tidings_tests::{
    TestApp, cart, customer, envelope, item, order, order_confirmed, replay_inputs, spawn_app, spawn_app_with, ts,
};

fn keys(app: &TestApp) -> Vec<String> {
    app.sent().into_iter().map(|(_, key)| key).collect()
}

fn id(raw: &str) -> CustomerId {
    CustomerId::parse(raw).expect("customer id")
}

fn unsubscribe(app: &TestApp, customer: &str, at: &str) {
    app.block_on(
        app.engine
            .set_marketing_consent(&id(customer), false, ConsentSource::Unsubscribe, ts(at)),
    )
    .expect("unsubscribed");
}

fn sign_up<M: tidings_core::ports::Mailer>(app: &TestApp<M>, who: &Value, time: &str) {
    app.deliver(&envelope("CustomerSignedUp", time, json!({ "customer": who })))
        .expect("signup");
}

fn mug() -> Vec<Value> {
    vec![item("p-mug", "kitchen", 1, 1800)]
}

/// A store whose statistics recommend the tea to mug buyers, so a cross-sell has something to show.
fn with_history(app: &TestApp) {
    let other = customer("c-9", "en-US", "America/New_York", false);
    app.deliver(&order_confirmed(
        "o-0",
        &other,
        vec![item("p-mug", "kitchen", 1, 1800), item("p-tea", "tea", 1, 1200)],
        "2026-11-01T15:00:00Z",
    ))
    .expect("history");
}

fn sent_kinds(app: &TestApp, kind: &str) -> Vec<String> {
    keys(app).into_iter().filter(|k| k.starts_with(kind)).collect()
}

// --- Defect 3: an unsubscribe can be undone or silently ignored -------------------------------

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

fn unsubscribe_line(time: &str, token: &str) -> Value {
    json!({"version": "0", "id": format!("u-{time}"), "detail-type": "UnsubscribeRequested",
        "source": "tidings.unsubscribe", "time": time, "detail": {"token": token}})
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

// --- Defect 2: erasure does not stick ---------------------------------------------------------

fn redact(time: &str) -> Value {
    envelope(
        "CustomerRedacted",
        time,
        json!({"customer_id": "c-1", "email": "1@example.com"}),
    )
}

fn stored_anything(app: &TestApp) -> bool {
    let state = app.engine.store().state();
    let debug = format!("{:?}{:?}{:?}", state.customers, state.orders, state.follow_ups);
    debug.contains("1@example.com") || debug.contains("o-1")
}

#[test]
fn a_redelivered_order_after_an_erasure_recreates_nothing() {
    let app = spawn_app();
    let ada = customer("c-1", "en-US", "America/New_York", true);
    let placed = order_confirmed("o-1", &ada, mug(), "2026-11-02T15:00:00Z");
    app.deliver(&placed).expect("order");
    app.deliver(&redact("2026-11-03T10:00:00Z")).expect("erased");
    assert!(!stored_anything(&app));
    // EventBridge redelivers the confirmation hours later, then a scan of the erased order arrives.
    app.deliver_at(&placed, ts("2026-11-03T18:00:00Z"))
        .expect("redelivered");
    let shipped = envelope(
        "OrderShipped",
        "2026-11-02T20:00:00Z",
        json!({"order_id": "o-1", "shipment": {"id": "shp-1", "carrier": "ups", "tracking_number": "1Z",
            "shipped_at": "2026-11-02T20:00:00Z"}}),
    );
    app.deliver_at(&shipped, ts("2026-11-03T19:00:00Z"))
        .expect("late shipment");
    assert!(!stored_anything(&app), "the erased customer came back");
    assert!(
        app.engine.store().state().held.is_empty(),
        "nothing held for an erased order"
    );
    app.run_until(ts("2027-12-31T00:00:00Z"));
    assert_eq!(
        keys(&app),
        ["order_confirmation#o-1"],
        "no birthday, win-back or shipping mail"
    );
}

#[test]
fn a_late_signup_does_not_lift_an_erasure_that_arrived_first() {
    let app = spawn_app();
    app.deliver(&redact("2026-11-03T10:00:00Z"))
        .expect("erased before anything was seen");
    let ada = customer("c-1", "en-US", "America/New_York", true);
    let signup = envelope("CustomerSignedUp", "2026-11-02T10:00:00Z", json!({ "customer": ada }));
    app.deliver_at(&signup, ts("2026-11-03T11:00:00Z"))
        .expect("late signup");
    // The same address under another id, from before the erasure, is the same person.
    let mut guest = ada.clone();
    guest["id"] = json!("guest:1@example.com");
    let abandoned = cart("cart-1", &guest, mug(), "2026-11-02T11:00:00Z");
    app.deliver_at(
        &envelope("CartUpdated", "2026-11-02T11:00:00Z", json!({ "cart": abandoned })),
        ts("2026-11-03T11:00:00Z"),
    )
    .expect("late cart");
    assert!(!stored_anything(&app));
    app.run_until(ts("2026-12-31T00:00:00Z"));
    assert!(keys(&app).is_empty(), "{:?}", keys(&app));
}

#[test]
fn a_new_order_after_the_erasure_is_a_new_customer() {
    let app = spawn_app();
    let ada = customer("c-1", "en-US", "America/New_York", true);
    app.deliver(&order_confirmed("o-1", &ada, mug(), "2026-11-02T15:00:00Z"))
        .expect("order");
    app.deliver(&redact("2026-11-03T10:00:00Z")).expect("erased");
    let mut again = ada.clone();
    again["marketing_consent"] = json!(false);
    app.deliver(&order_confirmed("o-2", &again, mug(), "2026-11-10T15:00:00Z"))
        .expect("new order");
    let state = app.engine.store().state();
    let record = &state.customers[&id("c-1")];
    assert_eq!(record.orders_confirmed, 1, "counted from scratch");
    drop(state);
    assert_eq!(keys(&app), ["order_confirmation#o-1", "order_confirmation#o-2"]);
}

// --- Defect 4: addresses in keys, tokens and logs ---------------------------------------------

#[test]
fn a_guest_is_keyed_by_a_pseudonym_in_every_key_token_tag_and_event() {
    let app = spawn_app();
    with_history(&app);
    let address = "zelda.unique@example.com";
    let mut guest = customer("c-zelda", "en-US", "America/New_York", true);
    guest["id"] = json!(format!("guest:{address}"));
    guest["email"] = json!(address);
    app.deliver(&order_confirmed("o-1", &guest, mug(), "2026-11-02T15:00:00Z"))
        .expect("guest order");
    app.run_until(ts("2026-12-31T00:00:00Z"));
    let sent = app.engine.mailer().sent();
    assert!(
        sent.iter().any(|e| e.key.as_str().starts_with("win_back#")),
        "a win-back with a coupon went out"
    );
    let guest_mail: Vec<_> = sent.iter().filter(|e| e.to.as_str() == address).collect();
    assert!(guest_mail.len() >= 3, "{:?}", keys(&app));
    for email in &guest_mail {
        assert!(!email.key.as_str().contains(address), "{}", email.key);
        assert!(!email.customer_id.as_str().contains(address), "{}", email.customer_id);
        // Only the To header names the address: not the Message-ID, the tags or the token.
        let raw = String::from_utf8_lossy(&email.raw);
        let headers = raw.split("\r\n\r\n").next().unwrap_or_default();
        let naming: Vec<&str> = headers.lines().filter(|l| l.contains(address)).collect();
        assert!(naming.len() == 1 && naming[0].starts_with("To: "), "{headers}");
        for token in unsubscribe_tokens(headers) {
            let payload = token.split('.').nth(1).unwrap_or_default();
            let decoded = base64_payload(payload);
            assert!(
                !decoded.contains('@'),
                "the token names the guest by pseudonym: {decoded}"
            );
        }
    }
    // Every key the store holds (customers, claims, follow-ups, ledgers, coupons) is free of it.
    let state = app.engine.store().state();
    assert!(
        !format!("{:?}", *state).contains(address),
        "an address in the store's keys"
    );
    drop(state);
    for event in app.engine.bus().events() {
        let text = serde_json::to_string(&event.detail).expect("json");
        assert!(!text.contains(address), "{text}");
    }
    // The unsubscribe link in the guest's win-back names the guest it went to.
    let win_back = guest_mail
        .iter()
        .find(|e| e.key.as_str().starts_with("win_back#"))
        .expect("win-back");
    let raw = String::from_utf8_lossy(&win_back.raw);
    let token = unsubscribe_tokens(&raw).next().expect("a List-Unsubscribe link");
    let claim = app
        .engine
        .keys()
        .verify_unsubscribe(
            token,
            ts("2026-12-31T00:00:00Z"),
            tidings_core::unsubscribe::TOKEN_MAX_AGE,
        )
        .expect("token");
    assert_eq!(claim.customer_id, win_back.customer_id);
}

/// The tokens of the `List-Unsubscribe` header.
fn unsubscribe_tokens(raw: &str) -> impl Iterator<Item = &str> {
    raw.lines()
        .filter(|l| l.starts_with("List-Unsubscribe:"))
        .flat_map(|l| l.split("token=").skip(1))
        .filter_map(|t| t.split(['>', '&']).next())
}

fn base64_payload(payload: &str) -> String {
    use base64::Engine as _;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .unwrap_or_default();
    String::from_utf8_lossy(&bytes).into_owned()
}

#[test]
fn an_unsubscribe_token_an_earlier_release_mailed_a_guest_still_unsubscribes() {
    let app = spawn_app();
    let mut guest = customer("c-1", "en-US", "America/New_York", true);
    guest["id"] = json!("guest:1@example.com");
    app.deliver(&order_confirmed("o-1", &guest, mug(), "2026-11-02T15:00:00Z"))
        .expect("guest order");
    // A token of the previous release names the guest by address.
    let old = app
        .engine
        .keys()
        .unsubscribe_token(&id("guest:1@example.com"), "marketing", ts("2026-10-01T00:00:00Z"));
    app.deliver(&unsubscribe_line("2026-11-03T10:00:00Z", &old))
        .expect("unsubscribed");
    app.run_until(ts("2026-12-31T00:00:00Z"));
    assert_eq!(
        keys(&app),
        ["order_confirmation#o-1"],
        "no marketing after the old link"
    );
}

// --- Defects 5 and 6: odd optional fields, implausible values ---------------------------------

fn replay_lines(lines: &[Value]) -> tidings_tests::Replayed {
    let text = lines.iter().map(Value::to_string).collect::<Vec<_>>().join("\n");
    replay_inputs(vec![tidings_cli::Input {
        name: "test.jsonl".into(),
        text,
    }])
}

#[test]
fn a_bad_optional_field_is_dropped_with_a_warning_and_the_confirmation_still_goes() {
    let mut odd = customer("c-1", "en-US", "America/New_York", true);
    odd["birthday"] = json!("0000-00-00");
    odd["time_zone"] = json!("EST+5");
    odd["locale"] = json!("");
    odd["signed_up_at"] = json!("");
    let mut placed = order("o-1", &odd, "USD", mug(), "2026-11-02T15:00:00Z");
    placed["items"][0]["image_url"] = json!(42);
    placed["lead_time_days"] = json!(7_304_485);
    let replayed = replay_lines(&[envelope(
        "OrderConfirmed",
        "2026-11-02T15:00:00Z",
        json!({ "order": placed }),
    )]);
    let kinds: Vec<&str> = replayed.sent().iter().map(|l| l.kind.as_str()).collect();
    assert_eq!(kinds.first(), Some(&"order_confirmation"));
    let warnings = &replayed.report.warnings;
    for field in [
        "detail.order.customer.birthday",
        "detail.order.customer.time_zone",
        "detail.order.customer.locale",
        "detail.order.customer.signed_up_at",
        "detail.order.items[0].image_url",
        "detail.order.lead_time_days",
    ] {
        let prefix = format!("test.jsonl:1: warning: {field}: ");
        assert!(warnings.iter().any(|w| w.starts_with(&prefix)), "{field}: {warnings:?}");
    }
    assert!(
        warnings.iter().all(|w| !w.contains("0000-00-00")),
        "a birth date is never echoed: {warnings:?}"
    );
}

#[test]
fn an_implausible_time_is_refused_by_field_not_a_panic() {
    let ada = customer("c-1", "en-US", "America/New_York", true);
    let far = envelope("CustomerSignedUp", "9999-12-30T00:00:00Z", json!({ "customer": ada }));
    let error = tidings_core::event::parse_envelope(&far.to_string()).expect_err("refused");
    assert_eq!(error.field, "time");
    let mut placed = order("o-1", &ada, "USD", mug(), "2026-11-02T15:00:00Z");
    placed["placed_at"] = json!("1970-01-01T00:00:00Z");
    let old = envelope("OrderConfirmed", "2026-11-02T15:00:00Z", json!({ "order": placed }));
    let error = tidings_core::event::parse_envelope(&old.to_string()).expect_err("refused");
    assert_eq!(error.field, "detail.order.placed_at");
}

// --- Defect 7: an older cart state must not land last -----------------------------------------

#[test]
fn an_older_cart_state_written_last_does_not_replace_a_newer_one() {
    use tidings_core::ports::CartRecord;
    let app = spawn_app();
    let ada = customer("c-1", "en-US", "America/New_York", true);
    let parse = |value: Value| -> tidings_core::domain::Cart { serde_json::from_value(value).expect("cart") };
    let newer = parse(cart("cart-1", &ada, vec![], "2026-11-02T12:00:00Z"));
    let older = parse(cart("cart-1", &ada, mug(), "2026-11-02T11:00:00Z"));
    let store = app.engine.store();
    let written = |cart: &tidings_core::domain::Cart| {
        app.block_on(store.save_cart(&CartRecord {
            cart: cart.clone(),
            ordered_at: None,
        }))
        .expect("store")
    };
    assert!(written(&newer));
    assert!(!written(&older), "refused: a newer state is stored");
    let kept = app.block_on(store.cart(&newer.id)).expect("store").expect("cart");
    assert!(kept.cart.items.is_empty(), "the emptied cart is kept");
}

// --- Defect 8: a timeout can lose an email for good -------------------------------------------

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
