//! Rule 3: marketing needs consent (latest statement by event time wins); suppression stops everything.

use serde_json::{Value, json};
use tidings_core::domain::EmailAddress;
use tidings_core::ports::Deliverability;
use tidings_tests::{cart, customer, envelope, item, order_confirmed, spawn_app, ts};

fn signup(consent: bool, time: &str) -> Value {
    envelope(
        "CustomerSignedUp",
        time,
        json!({ "customer": customer("c-1", "en-US", "America/New_York", consent) }),
    )
}

fn update(consent: bool, time: &str) -> Value {
    envelope(
        "CustomerUpdated",
        time,
        json!({ "customer": customer("c-1", "en-US", "America/New_York", consent) }),
    )
}

fn keys(app: &tidings_tests::TestApp) -> Vec<String> {
    app.sent().into_iter().map(|(_, key)| key).collect()
}

#[test]
fn withdrawing_consent_stops_follow_ups_already_scheduled() {
    let app = spawn_app();
    app.deliver(&signup(true, "2026-11-02T14:00:00Z")).expect("signup");
    let abandoned = cart(
        "cart-1",
        &customer("c-1", "en-US", "America/New_York", true),
        vec![item("p-mug", "kitchen", 1, 1800)],
        "2026-11-03T15:00:00Z",
    );
    app.deliver(&envelope(
        "CartUpdated",
        "2026-11-03T15:00:00Z",
        json!({ "cart": abandoned }),
    ))
    .expect("cart");
    app.deliver(&update(false, "2026-11-03T15:30:00Z")).expect("withdrawn");
    app.run_until(ts("2026-11-30T00:00:00Z"));
    assert_eq!(
        keys(&app),
        ["welcome#c-1"],
        "welcome_offer and both cart reminders were scheduled, none sent"
    );
}

#[test]
fn without_consent_only_transactional_mail_is_sent() {
    let app = spawn_app();
    app.deliver(&signup(false, "2026-11-02T14:00:00Z")).expect("signup");
    let buyer = customer("c-1", "en-US", "America/New_York", false);
    app.deliver(&order_confirmed(
        "o-1",
        &buyer,
        vec![item("p-mug", "kitchen", 1, 1800)],
        "2026-11-02T15:00:00Z",
    ))
    .expect("order");
    app.deliver(&envelope(
        "OrderDelivered",
        "2026-11-04T15:00:00Z",
        json!({ "order_id": "o-1" }),
    ))
    .expect("delivered");
    app.run_until(ts("2026-11-30T00:00:00Z"));
    assert_eq!(keys(&app), ["order_confirmation#o-1", "delivery_confirmation#o-1"]);
    let coupons = app
        .engine
        .bus()
        .events()
        .into_iter()
        .filter(|e| e.detail.detail_type() == "CouponIssued")
        .count();
    assert_eq!(coupons, 0, "the delivery coupon needs marketing consent");
}

#[test]
fn an_older_statement_delivered_late_does_not_override_a_newer_one() {
    let app = spawn_app();
    app.deliver(&signup(true, "2026-11-02T14:00:00Z")).expect("signup");
    app.deliver(&update(false, "2026-11-03T10:00:00Z")).expect("withdrawn");
    // A cart event stamped before the withdrawal, delivered after it, still says consent=true.
    let stale = cart(
        "cart-1",
        &customer("c-1", "en-US", "America/New_York", true),
        vec![item("p-mug", "kitchen", 1, 1800)],
        "2026-11-03T09:00:00Z",
    );
    let late = envelope("CartUpdated", "2026-11-03T09:00:00Z", json!({ "cart": stale }));
    app.deliver_at(&late, ts("2026-11-03T10:05:00Z")).expect("late cart");
    app.run_until(ts("2026-11-30T00:00:00Z"));
    assert_eq!(keys(&app), ["welcome#c-1"]);
    let record = app
        .engine
        .store()
        .state()
        .customers
        .values()
        .next()
        .cloned()
        .expect("customer");
    assert!(!record.consent.given);
}

#[test]
fn renewed_consent_allows_marketing_again() {
    let app = spawn_app();
    app.deliver(&signup(false, "2026-11-02T14:00:00Z")).expect("signup");
    app.deliver(&update(true, "2026-11-02T18:00:00Z")).expect("opted in");
    app.run_until(ts("2026-11-30T00:00:00Z"));
    assert_eq!(
        keys(&app),
        ["welcome_offer#c-1"],
        "welcome was skipped at signup, the offer two days later is allowed"
    );
}

#[test]
fn a_suppressed_address_receives_nothing_not_even_transactional_mail() {
    let app = spawn_app();
    let address = EmailAddress::parse("1@example.com").expect("email");
    app.block_on(
        app.engine
            .store()
            .suppress(&address, "complaint", ts("2026-11-01T00:00:00Z")),
    )
    .expect("suppressed");
    app.deliver(&signup(true, "2026-11-02T14:00:00Z")).expect("signup");
    let buyer = customer("c-1", "en-US", "America/New_York", true);
    app.deliver(&order_confirmed(
        "o-1",
        &buyer,
        vec![item("p-mug", "kitchen", 1, 1800)],
        "2026-11-02T15:00:00Z",
    ))
    .expect("order");
    app.run_until(ts("2026-11-30T00:00:00Z"));
    assert!(app.sent().is_empty(), "{:?}", app.sent());
}

#[test]
fn soft_opt_in_is_off_by_default_and_when_on_reaches_buyers_but_never_after_an_unsubscribe() {
    use tidings_core::config::StoreConfig;
    use tidings_core::ports::ConsentSource;
    let buyer = customer("c-1", "en-US", "America/New_York", false);
    let others = customer("c-2", "en-US", "America/New_York", false);
    let run = |soft_opt_in: bool, unsubscribed: bool| {
        let mut config = StoreConfig::sample();
        config.marketing.soft_opt_in = soft_opt_in;
        let app = tidings_tests::spawn_app_with(tidings_core::adapters::memory::MemoryMailer::default(), config);
        app.deliver(&order_confirmed(
            "o-0",
            &others,
            vec![item("p-mug", "kitchen", 1, 1800), item("p-tea", "tea", 1, 1200)],
            "2026-11-01T15:00:00Z",
        ))
        .expect("earlier");
        app.deliver(&order_confirmed(
            "o-1",
            &buyer,
            vec![item("p-mug", "kitchen", 1, 1800)],
            "2026-11-02T15:00:00Z",
        ))
        .expect("order");
        if unsubscribed {
            let id = tidings_core::domain::CustomerId::parse("c-1").expect("id");
            app.block_on(app.engine.set_marketing_consent(
                &id,
                false,
                ConsentSource::Unsubscribe,
                ts("2026-11-02T16:00:00Z"),
            ))
            .expect("unsubscribed");
        }
        app.run_until(ts("2026-11-10T00:00:00Z"));
        let cross_sell = tidings_core::message::MessageKey::parse("cross_sell#o-1").expect("key");
        let relied_on = app.engine.store().state().consents.get(&cross_sell).map(|c| c.source);
        (keys(&app).contains(&"cross_sell#o-1".to_owned()), relied_on)
    };
    assert_eq!(
        run(false, false),
        (false, None),
        "off by default: no consent, no marketing"
    );
    assert_eq!(
        run(true, false),
        (true, Some(ConsentSource::SoftOptIn)),
        "recorded as soft opt-in"
    );
    assert_eq!(run(true, true), (false, None), "a tidings unsubscribe always wins");
}
