//! Engagement rewards, per-kind segments, coupon attribution, greetings and recommendations.

use super::*;

#[test]
fn five_clicks_in_thirty_days_earn_one_engagement_reward_per_ninety_days() {
    let app = spawn_app();
    let who = customer("c-1", "en-US", "America/New_York", true);
    app.deliver(&envelope(
        "CustomerSignedUp",
        "2026-11-02T15:00:00Z",
        json!({"customer": who}),
    ))
    .expect("signup");
    // Four clicks early, four more much later: only windows of 30 days count.
    let days = ["03", "04", "05", "06", "20", "21", "22", "23"];
    for (n, day) in days.iter().enumerate() {
        app.deliver(&ses_click(
            "c-1",
            "welcome#c-1",
            &format!("2026-12-{day}T16:00:00Z"),
            &format!("https://shop.example/{n}"),
        ))
        .expect("click");
    }
    // The same click delivered twice counts once.
    app.deliver(&ses_click(
        "c-1",
        "welcome#c-1",
        "2026-12-23T16:00:00Z",
        "https://shop.example/7",
    ))
    .expect("duplicate");
    app.run_until(ts("2027-02-28T00:00:00Z"));
    assert_eq!(
        keys_of(&app, MessageKind::EngagementReward),
        [("2026-12-20T16:00:00Z".into(), "engagement_reward#c-1#2026-12-20".into())],
        "the 5th click within 30 days, then nothing for 90 days"
    );
}

#[test]
fn a_kind_can_be_limited_to_a_store_segment_or_turned_off() {
    let app = app_with(|c| {
        c.kinds.insert(
            MessageKind::WinBack,
            KindRule {
                only_tags: vec!["vip".into()],
                ..KindRule::default()
            },
        );
        c.kinds.insert(
            MessageKind::CrossSell,
            KindRule {
                enabled: false,
                ..KindRule::default()
            },
        );
    });
    let mut vip = customer("c-1", "en-US", "America/New_York", true);
    vip["tags"] = json!(["vip"]);
    let regular = customer("c-2", "en-US", "America/New_York", true);
    app.deliver(&order_confirmed(
        "o-0",
        &regular,
        vec![item("p-tea", "tea", 1, 1250), item("p-mug", "kitchen", 1, 1800)],
        "2026-11-01T15:00:00Z",
    ))
    .expect("seed stats");
    app.deliver(&order_confirmed(
        "o-1",
        &vip,
        vec![item("p-mug", "kitchen", 1, 1800)],
        "2026-11-02T15:00:00Z",
    ))
    .expect("vip order");
    app.run_until(ts("2027-03-31T00:00:00Z"));
    let win_backs: Vec<_> = keys_of(&app, MessageKind::WinBack)
        .into_iter()
        .map(|(_, k)| k)
        .collect();
    assert_eq!(win_backs, ["win_back#c-1#o-1"], "only the vip");
    assert!(
        keys_of(&app, MessageKind::CrossSell).is_empty(),
        "cross-sell turned off"
    );
}

#[test]
fn per_kind_rules_name_an_unknown_kind_in_the_config() {
    let text = format!(
        "{}\n[kinds.wellcome]\nenabled = false\n",
        tidings_core::config::SAMPLE_CONFIG
    );
    let error = StoreConfig::from_toml(&text).expect_err("typo caught");
    assert!(error.reason.contains("wellcome"), "{error}");
}

#[test]
fn an_order_that_uses_a_tidings_coupon_is_attributed_to_its_message() {
    let app = spawn_app();
    let who = customer("c-1", "en-US", "America/New_York", true);
    app.deliver(&envelope(
        "CustomerSignedUp",
        "2026-11-02T15:00:00Z",
        json!({"customer": who}),
    ))
    .expect("signup");
    app.run_until(ts("2026-11-05T00:00:00Z"));
    let code = coupons(&app)
        .into_iter()
        .find(|c| c.message_kind == MessageKind::WelcomeOffer)
        .map(|c| c.code)
        .expect("welcome offer coupon");
    let mut placed = order(
        "o-1",
        &who,
        "USD",
        vec![item("p-mug", "kitchen", 1, 1800)],
        "2026-11-06T15:00:00Z",
    );
    placed["coupon_code"] = json!(code);
    app.deliver(&envelope(
        "OrderConfirmed",
        "2026-11-06T15:00:00Z",
        json!({"order": placed}),
    ))
    .expect("order");
    let attributed = app
        .engine
        .store()
        .state()
        .orders
        .values()
        .find(|o| o.order.id.as_str() == "o-1")
        .and_then(|o| o.coupon_from.clone())
        .map(|k| k.to_string());
    assert_eq!(attributed.as_deref(), Some("welcome_offer#c-1"));
}

#[test]
fn greetings_follow_each_languages_conventions() {
    let app = spawn_app();
    let cases = [
        ("c-1", "ja-JP", Some("Sato"), "Sato様"),
        ("c-2", "ja-JP", None, "お客様"),
        ("c-3", "ko-KR", Some("Kim"), "Kim Name3님"),
        ("c-4", "de-DE", Some("Weber"), "Hallo Name4,"),
    ];
    for (id, locale, family, _) in cases {
        let mut who = customer(id, locale, "Asia/Tokyo", false);
        who["last_name"] = family.map_or(Value::Null, |f| json!(f));
        app.deliver(&order_confirmed(
            &format!("o-{id}"),
            &who,
            vec![item("p-mug", "kitchen", 1, 1800)],
            "2026-11-02T15:00:00Z",
        ))
        .expect("order");
    }
    let mails = app.engine.mailer().sent();
    for (id, _, _, greeting) in cases {
        let mail = mails.iter().find(|m| m.customer_id.as_str() == id).expect("sent");
        let text = crate::mime::parse(&mail.raw)["text"].as_str().expect("text").to_owned();
        assert!(
            text.starts_with(greeting),
            "{id}: {}",
            text.lines().next().unwrap_or_default()
        );
    }
}

#[test]
fn a_delivery_shows_recommendations_only_to_customers_who_agreed_to_marketing() {
    let app = spawn_app();
    let seed = customer("c-9", "en-US", "America/New_York", false);
    app.deliver(&order_confirmed(
        "o-0",
        &seed,
        vec![item("p-mug", "kitchen", 1, 1800), item("p-pot", "kitchen", 1, 4200)],
        "2026-11-01T15:00:00Z",
    ))
    .expect("seed");
    for (id, consent) in [("c-1", true), ("c-2", false)] {
        let who = customer(id, "en-US", "America/New_York", consent);
        let order_id = format!("o-{id}");
        app.deliver(&order_confirmed(
            &order_id,
            &who,
            vec![item("p-mug", "kitchen", 1, 1800)],
            "2026-11-02T15:00:00Z",
        ))
        .expect("order");
        app.deliver(&delivered(&order_id, "2026-11-04T15:00:00Z"))
            .expect("delivered");
    }
    let mails = app.engine.mailer().sent();
    let delivery = |id: &str| {
        let mail = mails
            .iter()
            .find(|m| m.customer_id.as_str() == id && m.kind == MessageKind::DeliveryConfirmation)
            .expect("delivery confirmation");
        crate::mime::parse(&mail.raw)["text"].as_str().expect("text").to_owned()
    };
    assert!(delivery("c-1").contains("You might also like"), "{}", delivery("c-1"));
    assert!(!delivery("c-2").contains("You might also like"));
}
