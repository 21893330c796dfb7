//! Unsubscribe (RFC 8058), SES feedback (bounces, complaints, engagement) and erasure.

use serde_json::{Value, json};
use tidings_core::message::MessageKind;
use tidings_core::ports::{ConsentSource, Deliverability, SendLedger};
use tidings_core::unsubscribe::respond;
use tidings_tests::{TestApp, cart, customer, envelope, item, order, ses_event, spawn_app, ts};

fn ada(locale: &str) -> Value {
    customer("c-1", locale, "Europe/London", true)
}

/// Signs Ada up (welcome sent, welcome offer waiting) and leaves a cart (two reminders waiting).
fn subscribed_with_pending_marketing(locale: &str) -> TestApp {
    let app = spawn_app();
    app.deliver(&envelope(
        "CustomerSignedUp",
        "2026-11-02T10:00:00Z",
        json!({ "customer": ada(locale) }),
    ))
    .expect("signup");
    let abandoned = cart(
        "cart-1",
        &ada(locale),
        vec![item("p-mug", "kitchen", 1, 1800)],
        "2026-11-02T11:00:00Z",
    );
    app.deliver(&envelope(
        "CartUpdated",
        "2026-11-02T11:00:00Z",
        json!({ "cart": abandoned }),
    ))
    .expect("cart");
    app
}

/// The `token=` query of the one-click URL in the last marketing email.
fn unsubscribe_query(app: &TestApp) -> String {
    let sent = app.engine.mailer().sent();
    let email = sent
        .iter()
        .rev()
        .find(|e| e.kind.category().as_str() == "marketing")
        .expect("a marketing email");
    let raw = String::from_utf8_lossy(&email.raw).replace("\r\n ", " ");
    let header = raw
        .lines()
        .find(|l| l.starts_with("List-Unsubscribe:"))
        .expect("List-Unsubscribe");
    let url = header
        .split('<')
        .nth(1)
        .and_then(|u| u.split('>').next())
        .expect("https URL");
    url.split_once('?').expect("query").1.to_owned()
}

fn marketing_waiting(app: &TestApp) -> usize {
    app.engine
        .store()
        .state()
        .follow_ups
        .values()
        .filter(|f| f.key.kind().category().as_str() == "marketing")
        .count()
}

fn consent(app: &TestApp) -> (bool, ConsentSource) {
    let state = app.engine.store().state();
    let record = state.customers.values().next().expect("customer");
    (record.consent.given, record.consent.source)
}

#[test]
fn a_one_click_post_unsubscribes_at_once_and_cancels_pending_marketing() {
    let app = subscribed_with_pending_marketing("en-GB");
    assert_eq!(
        marketing_waiting(&app),
        4,
        "welcome offer, two cart reminders and the win-back wait"
    );
    let query = unsubscribe_query(&app);
    app.engine.clock().set(ts("2026-11-02T11:30:00Z"));
    let page = app
        .block_on(respond(&app.engine, "POST", &query, b"List-Unsubscribe=One-Click"))
        .expect("page");
    assert_eq!(page.status, 200, "RFC 8058: 200, no redirect");
    assert!(page.body.contains("unsubscribed</h1>"), "{}", page.body);
    assert_eq!(consent(&app), (false, ConsentSource::Unsubscribe));
    assert_eq!(
        marketing_waiting(&app),
        0,
        "every scheduled marketing follow-up is cancelled"
    );
    app.run_until(ts("2026-12-31T00:00:00Z"));
    let kinds: Vec<_> = app.engine.mailer().sent().iter().map(|e| e.kind).collect();
    assert_eq!(kinds, [MessageKind::Welcome]);
}

#[test]
fn a_get_only_shows_a_confirmation_page_and_changes_nothing() {
    let app = subscribed_with_pending_marketing("ko-KR");
    let query = unsubscribe_query(&app);
    let page = app.block_on(respond(&app.engine, "GET", &query, b"")).expect("page");
    assert_eq!(page.status, 200);
    assert!(
        page.body.contains("수신을 거부하시겠어요?"),
        "in the customer's language: {}",
        page.body
    );
    assert!(page.body.contains(r#"<form method="post""#) && page.body.contains(r#"name="action" value="unsubscribe""#));
    assert_eq!(consent(&app), (true, ConsentSource::Store));
    assert_eq!(marketing_waiting(&app), 4);
}

#[test]
fn a_tampered_or_expired_token_gets_a_400_page_and_changes_nothing() {
    let app = subscribed_with_pending_marketing("en-GB");
    let query = unsubscribe_query(&app);
    let tampered = {
        let mut chars: Vec<char> = query.chars().collect();
        let i = chars.len() - 3;
        chars[i] = if chars[i] == 'A' { 'B' } else { 'A' };
        chars.into_iter().collect::<String>()
    };
    for bad in [tampered.as_str(), "token=nonsense", ""] {
        let page = app
            .block_on(respond(&app.engine, "POST", bad, b"List-Unsubscribe=One-Click"))
            .expect("page");
        assert_eq!(page.status, 400, "{bad}");
        assert!(page.body.contains("t valid</h1>"), "{}", page.body);
    }
    app.engine.clock().set(ts("2027-12-31T00:00:00Z"));
    let expired = app
        .block_on(respond(&app.engine, "POST", &query, b"List-Unsubscribe=One-Click"))
        .expect("page");
    assert_eq!(expired.status, 400, "links expire after 400 days");
    assert_eq!(consent(&app), (true, ConsentSource::Store));
    assert_eq!(marketing_waiting(&app), 4);
}

#[test]
fn the_resubscribe_button_gives_consent_back() {
    let app = subscribed_with_pending_marketing("en-GB");
    let query = unsubscribe_query(&app);
    app.engine.clock().set(ts("2026-11-02T11:30:00Z"));
    let done = app
        .block_on(respond(&app.engine, "POST", &query, b"List-Unsubscribe=One-Click"))
        .expect("page");
    assert!(done.body.contains(r#"value="resubscribe""#));
    app.engine.clock().set(ts("2026-11-02T11:31:00Z"));
    let back = app
        .block_on(respond(&app.engine, "POST", &query, b"action=resubscribe"))
        .expect("page");
    assert_eq!(back.status, 200);
    assert_eq!(consent(&app), (true, ConsentSource::Resubscribe));
}

fn mail(extra: Value) -> Value {
    tidings_tests::ses_mail("c-1", "welcome#c-1", extra)
}

fn bounce(kind: &str, feedback_id: &str, time: &str) -> Value {
    ses_event(
        "Email Bounced",
        time,
        mail(
            json!({"eventType": "Bounce", "bounce": {"bounceType": kind, "feedbackId": feedback_id, "timestamp": time,
            "bouncedRecipients": [{"emailAddress": "1@example.com"}]}}),
        ),
    )
}

fn order_event(id: &str, time: &str) -> Value {
    let who = customer("c-1", "en-GB", "Europe/London", true);
    tidings_tests::order_confirmed(id, &who, vec![item("p-mug", "kitchen", 1, 1800)], time)
}

#[test]
fn a_complaint_stops_every_later_email_even_transactional() {
    let app = spawn_app();
    app.deliver(&order_event("o-1", "2026-11-02T10:00:00Z")).expect("order");
    let complaint = ses_event(
        "Email Complaint Received",
        "2026-11-02T12:00:00Z",
        mail(
            json!({"eventType": "Complaint", "complaint": {"feedbackId": "c-fb", "timestamp": "2026-11-02T12:00:00Z",
            "complainedRecipients": [{"emailAddress": "1@example.com"}]}}),
        ),
    );
    app.deliver(&complaint).expect("complaint");
    app.deliver(&order_event("o-2", "2026-11-03T10:00:00Z"))
        .expect("second order");
    let keys: Vec<String> = app.sent().into_iter().map(|(_, k)| k).collect();
    assert_eq!(keys, ["order_confirmation#o-1"]);
}

#[test]
fn a_hard_bounce_suppresses_at_once_and_soft_bounces_on_the_third_in_a_week() {
    let app = spawn_app();
    app.deliver(&bounce("Permanent", "hb-1", "2026-11-02T12:00:00Z"))
        .expect("hard bounce");
    app.deliver(&order_event("o-1", "2026-11-03T10:00:00Z")).expect("order");
    assert!(app.sent().is_empty());

    let app = spawn_app();
    app.deliver(&bounce("Transient", "sb-1", "2026-11-01T12:00:00Z"))
        .expect("soft 1");
    app.deliver(&bounce("Transient", "sb-1", "2026-11-01T12:00:00Z"))
        .expect("the same bounce again");
    app.deliver(&bounce("Transient", "sb-2", "2026-11-03T12:00:00Z"))
        .expect("soft 2");
    app.deliver(&order_event("o-1", "2026-11-04T10:00:00Z")).expect("order");
    assert_eq!(app.sent().len(), 1, "two distinct soft bounces do not suppress");
    app.deliver(&bounce("Transient", "sb-3", "2026-11-05T12:00:00Z"))
        .expect("soft 3");
    app.deliver(&order_event("o-2", "2026-11-06T10:00:00Z")).expect("order");
    assert_eq!(app.sent().len(), 1, "the third within seven days does");
}

#[test]
fn engagement_counts_each_ses_event_once() {
    let app = spawn_app();
    let click = |link: &str| {
        ses_event(
            "Email Clicked",
            "2026-11-02T12:00:00Z",
            mail(json!({"eventType": "Click", "click": {"timestamp": "2026-11-02T12:00:00Z", "link": link}})),
        )
    };
    let open = ses_event(
        "Email Opened",
        "2026-11-02T11:00:00Z",
        mail(json!({"eventType": "Open", "open": {"timestamp": "2026-11-02T11:00:00Z"}})),
    );
    for event in [
        &open,
        &open,
        &click("https://shop.example/a"),
        &click("https://shop.example/a"),
        &click("https://shop.example/b"),
    ] {
        app.deliver(event).expect("engagement");
    }
    let customer = tidings_core::domain::CustomerId::parse("c-1").expect("id");
    let engagement = app.block_on(app.engine.store().engagement(&customer)).expect("store");
    assert_eq!((engagement.opens, engagement.clicks), (1, 2));
}

#[test]
fn an_erasure_request_leaves_nothing_personal_in_the_state() {
    let app = spawn_app();
    let mut person = customer("c-1", "en-GB", "Europe/London", true);
    person["first_name"] = json!("Zelda");
    person["email"] = json!("zelda.unique@example.com");
    app.deliver(&envelope(
        "CustomerSignedUp",
        "2026-11-02T10:00:00Z",
        json!({ "customer": person }),
    ))
    .expect("signup");
    let abandoned = cart(
        "cart-9",
        &person,
        vec![item("p-mug", "kitchen", 1, 1800)],
        "2026-11-02T11:00:00Z",
    );
    app.deliver(&envelope(
        "CartUpdated",
        "2026-11-02T11:00:00Z",
        json!({ "cart": abandoned }),
    ))
    .expect("cart");
    let mut placed = order(
        "o-9",
        &person,
        "USD",
        vec![item("p-tea", "tea", 1, 1200)],
        "2026-11-02T12:00:00Z",
    );
    placed["shipping_address"]["line1"] = json!("221B Unique Street");
    app.deliver(&envelope(
        "OrderConfirmed",
        "2026-11-02T12:00:00Z",
        json!({ "order": placed }),
    ))
    .expect("order");
    // A scan for an order that never arrives is held, with nothing personal in it.
    let before = format!("{:?}", *app.engine.store().state());
    assert!(before.contains("Zelda") && before.contains("221B Unique Street"));

    let redact = json!({"customer_id": "c-1", "email": "zelda.unique@example.com"});
    app.deliver(&envelope("CustomerRedacted", "2026-11-03T10:00:00Z", redact))
        .expect("erased");
    let after = format!("{:?}", *app.engine.store().state());
    for personal in ["Zelda", "zelda.unique", "221B Unique Street", "A Person"] {
        assert!(!after.contains(personal), "{personal} is still stored");
    }
    assert!(
        app.engine.store().state().follow_ups.is_empty(),
        "no follow-up for an erased customer"
    );
}

#[test]
fn ses_accepting_a_message_settles_a_claim_whose_sender_died_mid_send() {
    let app = spawn_app();
    let store = app.engine.store();
    let key = tidings_core::message::MessageKey::parse("welcome#c-1").expect("key");
    let claim = tidings_core::ports::Claim {
        key: key.clone(),
        customer_id: tidings_core::domain::CustomerId::parse("c-1").expect("id"),
        to: tidings_core::domain::EmailAddress::parse("1@example.com").expect("email"),
        at: ts("2026-11-02T10:00:00Z"),
        lease: jiff::SignedDuration::from_mins(2),
        cap: None,
        consent: None,
        sending: false,
        coupon: None,
    };
    app.block_on(store.claim_message(&claim)).expect("claim");
    app.block_on(store.mark_sending(&key, ts("2026-11-02T10:00:00Z")))
        .expect("sending");
    let sent = ses_event(
        "Email Sent",
        "2026-11-02T10:00:01Z",
        mail(json!({"eventType": "Send", "send": {}})),
    );
    app.deliver(&sent).expect("send event");
    assert!(
        matches!(store.state().claims.get(&key), Some(tidings_core::ports::ClaimState::Sent { provider_id, .. }) if provider_id == "ses-1")
    );
}

/// A store with double opt-in, and Ada signed up with the store's "yes" (10:00 in London).
fn double_opt_in_signup() -> TestApp {
    let mut config = tidings_core::config::StoreConfig::sample();
    config.marketing.double_opt_in = true;
    let app = tidings_tests::spawn_app_with(tidings_core::adapters::memory::MemoryMailer::default(), config);
    app.deliver(&envelope(
        "CustomerSignedUp",
        "2026-11-02T10:00:00Z",
        json!({ "customer": ada("en-GB") }),
    ))
    .expect("signup");
    app
}

/// The query of the confirmation link in the subscription confirmation email.
fn confirm_query(app: &TestApp) -> String {
    let sent = app.engine.mailer().sent();
    let email = sent
        .iter()
        .find(|e| e.kind == MessageKind::SubscriptionConfirmation)
        .expect("confirmation sent");
    let text = crate::mime::parse(&email.raw)["text"]
        .as_str()
        .expect("text")
        .to_owned();
    let url = text
        .split_whitespace()
        .find(|w| w.contains("?token="))
        .expect("confirm link");
    url.split_once('?').expect("query").1.to_owned()
}

#[test]
fn with_double_opt_in_marketing_waits_for_the_customers_confirmation() {
    let app = double_opt_in_signup();
    let kinds = |app: &TestApp| app.engine.mailer().sent().iter().map(|e| e.kind).collect::<Vec<_>>();
    assert_eq!(
        kinds(&app),
        [MessageKind::SubscriptionConfirmation],
        "no welcome before confirming"
    );
    assert!(!consent(&app).0, "the store's yes is pending");
    let query = confirm_query(&app);

    app.engine.clock().set(ts("2026-11-02T10:30:00Z"));
    let page = app.block_on(respond(&app.engine, "GET", &query, b"")).expect("page");
    assert!(page.body.contains(r#"value="confirm""#), "GET shows the button only");
    assert!(!consent(&app).0);
    // A one-click unsubscribe POST with a confirmation token must not subscribe anyone either.
    let one_click = app
        .block_on(respond(&app.engine, "POST", &query, b"List-Unsubscribe=One-Click"))
        .expect("page");
    assert!(!consent(&app).0 && one_click.body.contains(r#"value="confirm""#));

    let done = app
        .block_on(respond(&app.engine, "POST", &query, b"action=confirm"))
        .expect("page");
    assert!(done.body.contains("subscribed</h1>"), "{}", done.body);
    assert_eq!(consent(&app), (true, ConsentSource::Confirmed));
    assert_eq!(
        kinds(&app),
        [MessageKind::SubscriptionConfirmation, MessageKind::Welcome],
        "the welcome follows"
    );
    app.run_until(ts("2026-11-10T00:00:00Z"));
    assert!(kinds(&app).contains(&MessageKind::WelcomeOffer));
}

#[test]
fn without_confirmation_nothing_but_the_request_is_sent_and_links_keep_their_scope() {
    let app = double_opt_in_signup();
    app.run_until(ts("2026-11-10T00:00:00Z"));
    let kinds: Vec<_> = app.engine.mailer().sent().iter().map(|e| e.kind).collect();
    assert_eq!(
        kinds,
        [MessageKind::SubscriptionConfirmation],
        "no welcome offer without confirmation"
    );
    // An order's "yes" from the store is still only pending.
    app.deliver(&order_event("o-1", "2026-11-11T10:00:00Z")).expect("order");
    assert!(!consent(&app).0);
}
