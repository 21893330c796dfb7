//! Loyalty rewards every n-th delivered order, in the order's currency.

use super::*;

#[test]
fn every_fifth_delivered_order_earns_a_fixed_coupon_in_the_orders_currency() {
    let app = spawn_app();
    let who = customer("c-1", "ko-KR", "Asia/Seoul", true);
    for n in 1..=5 {
        let id = format!("o-{n}");
        let day = format!("2026-11-{:02}", n * 3);
        let placed = order(
            &id,
            &who,
            "KRW",
            vec![item("p-mug", "kitchen", 1, 18000)],
            &format!("{day}T01:00:00Z"),
        );
        app.deliver(&envelope(
            "OrderConfirmed",
            &format!("{day}T01:00:00Z"),
            json!({"order": placed}),
        ))
        .expect("order");
        app.deliver(&delivered(&id, &format!("{day}T05:00:00Z")))
            .expect("delivered");
    }
    app.run_until(ts("2026-12-31T00:00:00Z"));
    assert_eq!(
        keys_of(&app, MessageKind::LoyaltyReward),
        [("2026-11-15T05:00:00Z".into(), "loyalty_reward#c-1#5".into())],
        "at the 5th delivery (14:00 in Seoul: no quiet hours)"
    );
    let coupons: Vec<_> = coupons(&app)
        .into_iter()
        .filter(|c| c.message_kind == MessageKind::LoyaltyReward)
        .collect();
    assert_eq!(coupons.len(), 1);
    let coupon = &coupons[0];
    assert_eq!(
        (coupon.amount_off, coupon.min_subtotal, coupon.currency.code()),
        (Some(10_000), Some(50_000), "KRW"),
        "the KRW amounts the merchant set, never a converted USD amount"
    );
    let mail = app
        .engine
        .mailer()
        .sent()
        .into_iter()
        .find(|m| m.kind == MessageKind::LoyaltyReward)
        .expect("sent");
    let parsed = crate::mime::parse(&mail.raw);
    let text = parsed["text"].as_str().expect("text");
    assert!(text.contains("₩10,000") && text.contains("₩50,000"), "{text}");
}

#[test]
fn a_fixed_coupon_is_left_out_in_a_currency_the_merchant_did_not_price() {
    let app = app_with(|c| c.timing.loyalty_every_orders = 1);
    let who = customer("c-1", "en-US", "America/New_York", true);
    let placed = order(
        "o-1",
        &who,
        "CHF",
        vec![item("p-mug", "kitchen", 1, 1800)],
        "2026-11-02T15:00:00Z",
    );
    app.deliver(&envelope(
        "OrderConfirmed",
        "2026-11-02T15:00:00Z",
        json!({"order": placed}),
    ))
    .expect("order");
    app.deliver(&delivered("o-1", "2026-11-04T15:00:00Z"))
        .expect("delivered");
    assert_eq!(
        keys_of(&app, MessageKind::LoyaltyReward).len(),
        1,
        "the thank-you is still sent"
    );
    let coupon_kinds: Vec<_> = coupons(&app).into_iter().map(|c| c.message_kind).collect();
    assert!(!coupon_kinds.contains(&MessageKind::LoyaltyReward), "{coupon_kinds:?}");
}

#[test]
fn on_a_loyalty_milestone_the_reward_replaces_the_delivery_thank_you_coupon() {
    let app = spawn_app();
    let who = customer("c-1", "en-US", "America/New_York", true);
    for n in 1..=5 {
        let id = format!("o-{n}");
        let day = format!("2026-11-{:02}", n * 3);
        app.deliver(&order_confirmed(
            &id,
            &who,
            vec![item("p-mug", "kitchen", 1, 1800)],
            &format!("{day}T15:00:00Z"),
        ))
        .expect("order");
        app.deliver(&delivered(&id, &format!("{day}T18:00:00Z")))
            .expect("delivered");
    }
    let coupon_keys: Vec<String> = coupons(&app).iter().map(|c| c.message_key.to_string()).collect();
    assert!(
        coupon_keys.contains(&"delivery_confirmation#o-4".to_owned()),
        "{coupon_keys:?}"
    );
    assert!(
        !coupon_keys.contains(&"delivery_confirmation#o-5".to_owned()),
        "{coupon_keys:?}"
    );
    assert!(
        coupon_keys.contains(&"loyalty_reward#c-1#5".to_owned()),
        "{coupon_keys:?}"
    );
}

#[test]
fn a_loyalty_reward_survives_a_failed_send_and_the_redelivered_event() {
    let mut config = StoreConfig::sample();
    config.timing.loyalty_every_orders = 1;
    let app = spawn_app_with(tidings_tests::FlakyMailer::default(), config);
    let who = customer("c-1", "en-US", "America/New_York", true);
    app.deliver(&order_confirmed(
        "o-1",
        &who,
        vec![item("p-mug", "kitchen", 1, 1800)],
        "2026-11-02T15:00:00Z",
    ))
    .expect("order");
    // SES throttles the delivery confirmation: it waits in the queue, and EventBridge delivers
    // the event once more meanwhile.
    app.engine
        .mailer()
        .transient
        .store(1, std::sync::atomic::Ordering::SeqCst);
    let event = delivered("o-1", "2026-11-04T15:00:00Z");
    app.deliver(&event).expect("throttled: tried again later");
    app.deliver(&event).expect("redelivered");
    app.run_until(ts("2026-11-04T16:00:00Z"));
    let rewards = app
        .engine
        .mailer()
        .inner
        .sent()
        .into_iter()
        .filter(|m| m.kind == MessageKind::LoyaltyReward)
        .count();
    assert_eq!(
        rewards, 1,
        "stored with the delivery, so the retry still sends it, once"
    );
}
