//! The retention lifecycle: made-to-order progress, stalled shipments, loyalty, win-back,
//! birthdays, anniversaries, engagement rewards, segments and coupon attribution.

use serde_json::{Value, json};
use tidings_core::adapters::memory::MemoryMailer;
use tidings_core::config::{KindRule, StoreConfig};
use tidings_core::event::{CouponIssued, Emitted};
use tidings_core::message::MessageKind;
use tidings_tests::{
    TestApp, customer, envelope, item, order, order_confirmed, ses_click, spawn_app, spawn_app_with, ts,
};

fn keys_of(app: &TestApp, kind: MessageKind) -> Vec<(String, String)> {
    app.sent()
        .into_iter()
        .filter(|(_, key)| key.starts_with(&format!("{}#", kind.as_str())))
        .collect()
}

/// Every `CouponIssued` the engine published, in order.
fn coupons(app: &TestApp) -> Vec<CouponIssued> {
    app.engine
        .bus()
        .events()
        .into_iter()
        .filter_map(|o| match o.detail {
            Emitted::CouponIssued(c) => Some(c),
            _ => None,
        })
        .collect()
}

fn shipped(order_id: &str, shipment_id: &str, time: &str) -> Value {
    envelope(
        "OrderShipped",
        time,
        json!({"order_id": order_id, "shipment": {"id": shipment_id, "carrier": "dhl", "tracking_number": "JD0001", "shipped_at": time}}),
    )
}

fn scan(order_id: &str, shipment_id: &str, status: &str, time: &str) -> Value {
    envelope(
        "ShipmentUpdated",
        time,
        json!({"order_id": order_id, "shipment_id": shipment_id, "status": status}),
    )
}

fn delivered(order_id: &str, time: &str) -> Value {
    envelope("OrderDelivered", time, json!({"order_id": order_id}))
}

fn app_with(change: impl FnOnce(&mut StoreConfig)) -> TestApp {
    let mut config = StoreConfig::sample();
    change(&mut config);
    spawn_app_with(MemoryMailer::default(), config)
}

fn made_to_order(id: &str, who: &Value, lead_time_days: u32, time: &str) -> Value {
    let mut placed = order(id, who, "USD", vec![item("p-chair", "furniture", 1, 32000)], time);
    placed["lead_time_days"] = json!(lead_time_days);
    envelope("OrderConfirmed", time, json!({ "order": placed }))
}

#[test]
fn a_made_to_order_order_gets_a_progress_update_every_week_until_it_ships() {
    let app = spawn_app();
    let who = customer("c-1", "en-US", "America/New_York", false);
    app.deliver(&made_to_order("o-1", &who, 21, "2026-11-02T15:00:00Z"))
        .expect("order");
    app.deliver(&shipped("o-1", "shp-1", "2026-11-20T15:00:00Z"))
        .expect("shipped");
    app.run_until(ts("2027-01-31T00:00:00Z"));
    assert_eq!(
        keys_of(&app, MessageKind::OrderProgress),
        [
            ("2026-11-09T15:00:00Z".into(), "order_progress#o-1#1".into()),
            ("2026-11-16T15:00:00Z".into(), "order_progress#o-1#2".into()),
        ],
        "weekly from confirmation, transactional (no consent needed), none after shipping"
    );
}

#[test]
fn short_lead_times_get_no_updates_and_a_cancellation_stops_them() {
    let app = spawn_app();
    let who = customer("c-1", "en-US", "America/New_York", true);
    app.deliver(&made_to_order("o-1", &who, 3, "2026-11-02T15:00:00Z"))
        .expect("short");
    app.deliver(&made_to_order("o-2", &who, 30, "2026-11-02T16:00:00Z"))
        .expect("long");
    app.deliver(&envelope(
        "OrderCancelled",
        "2026-11-12T10:00:00Z",
        json!({"order_id": "o-2"}),
    ))
    .expect("cancel");
    app.run_until(ts("2027-01-31T00:00:00Z"));
    assert_eq!(
        keys_of(&app, MessageKind::OrderProgress),
        [("2026-11-09T16:00:00Z".into(), "order_progress#o-2#1".into())]
    );
}

#[test]
fn progress_updates_stop_after_the_configured_number_when_an_order_never_ships() {
    let app = app_with(|c| c.timing.order_progress_max_updates = 3);
    let who = customer("c-1", "en-US", "America/New_York", false);
    app.deliver(&made_to_order("o-1", &who, 14, "2026-11-02T15:00:00Z"))
        .expect("order");
    app.run_until(ts("2027-06-01T00:00:00Z"));
    assert_eq!(keys_of(&app, MessageKind::OrderProgress).len(), 3);
    let late = app.engine.mailer().sent().into_iter().last().expect("sent");
    let text = String::from_utf8_lossy(&late.raw).into_owned();
    assert!(
        text.contains("longer than we planned"),
        "past the expected ship date the update says so"
    );
}

#[test]
fn a_shipment_without_a_scan_for_five_days_gets_one_stalled_message() {
    let app = spawn_app();
    let who = customer("c-1", "en-US", "America/New_York", false);
    app.deliver(&order_confirmed(
        "o-1",
        &who,
        vec![item("p-mug", "kitchen", 1, 1800)],
        "2026-11-02T15:00:00Z",
    ))
    .expect("order");
    app.deliver(&shipped("o-1", "shp-1", "2026-11-03T15:00:00Z"))
        .expect("shipped");
    app.run_until(ts("2026-12-31T00:00:00Z"));
    assert_eq!(
        keys_of(&app, MessageKind::ShipmentStalled),
        [("2026-11-08T15:00:00Z".into(), "shipment_stalled#shp-1#0".into())]
    );
}

#[test]
fn a_new_scan_restarts_the_wait_and_delivery_ends_it() {
    let app = spawn_app();
    let who = customer("c-1", "en-US", "America/New_York", false);
    for (id, shipment) in [("o-1", "shp-1"), ("o-2", "shp-2")] {
        app.deliver(&order_confirmed(
            id,
            &who,
            vec![item("p-mug", "kitchen", 1, 1800)],
            "2026-11-02T15:00:00Z",
        ))
        .expect("order");
        app.deliver(&shipped(id, shipment, "2026-11-03T15:00:00Z"))
            .expect("shipped");
    }
    app.deliver(&scan("o-1", "shp-1", "in_transit", "2026-11-06T15:00:00Z"))
        .expect("scan");
    app.deliver(&delivered("o-2", "2026-11-07T15:00:00Z"))
        .expect("delivered");
    app.run_until(ts("2026-12-31T00:00:00Z"));
    assert_eq!(
        keys_of(&app, MessageKind::ShipmentStalled),
        [("2026-11-11T15:00:00Z".into(), "shipment_stalled#shp-1#1".into())],
        "five days after the last scan; nothing for the delivered shipment"
    );
    let waiting = app.engine.store().state().follow_ups.len();
    assert!(
        !app.engine
            .store()
            .state()
            .follow_ups
            .keys()
            .any(|k| k.as_str().starts_with("shipment_stalled#shp-1#0")),
        "the older wait was replaced, not left to fire ({waiting} waiting)"
    );
}

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
fn win_back_comes_once_28_days_after_the_last_standing_order() {
    let app = spawn_app();
    let who = customer("c-1", "en-US", "America/New_York", true);
    app.deliver(&order_confirmed(
        "o-1",
        &who,
        vec![item("p-mug", "kitchen", 1, 1800)],
        "2026-11-02T15:00:00Z",
    ))
    .expect("order");
    app.deliver(&order_confirmed(
        "o-2",
        &who,
        vec![item("p-tea", "tea", 1, 1250)],
        "2026-11-10T15:00:00Z",
    ))
    .expect("second order");
    app.run_until(ts("2027-03-31T00:00:00Z"));
    assert_eq!(
        keys_of(&app, MessageKind::WinBack),
        [("2026-12-08T15:00:00Z".into(), "win_back#c-1#o-2".into())],
        "the first order's lapse ended with the second order"
    );
}

#[test]
fn a_click_restarts_the_quiet_period_before_a_win_back() {
    let app = spawn_app();
    let who = customer("c-1", "en-US", "America/New_York", true);
    app.deliver(&order_confirmed(
        "o-1",
        &who,
        vec![item("p-mug", "kitchen", 1, 1800)],
        "2026-11-02T15:00:00Z",
    ))
    .expect("order");
    app.deliver(&ses_click(
        "c-1",
        "cross_sell#o-1",
        "2026-11-20T15:00:00Z",
        "https://shop.example/p/tea",
    ))
    .expect("click");
    app.run_until(ts("2027-03-31T00:00:00Z"));
    assert_eq!(
        keys_of(&app, MessageKind::WinBack),
        [("2026-12-18T15:00:00Z".into(), "win_back#c-1#o-1".into())],
        "28 days after the click, still once"
    );
}

#[test]
fn a_signup_without_orders_gets_a_win_back_and_a_cancelled_guest_order_none() {
    let app = spawn_app();
    let member = customer("c-1", "en-US", "America/New_York", true);
    app.deliver(&envelope(
        "CustomerSignedUp",
        "2026-11-02T15:00:00Z",
        json!({"customer": member}),
    ))
    .expect("signup");
    let guest = customer("c-2", "en-US", "America/New_York", true);
    app.deliver(&order_confirmed(
        "o-9",
        &guest,
        vec![item("p-mug", "kitchen", 1, 1800)],
        "2026-11-02T16:00:00Z",
    ))
    .expect("guest order");
    app.deliver(&envelope(
        "OrderCancelled",
        "2026-11-02T17:00:00Z",
        json!({"order_id": "o-9"}),
    ))
    .expect("cancel");
    app.run_until(ts("2027-03-31T00:00:00Z"));
    assert_eq!(
        keys_of(&app, MessageKind::WinBack),
        [("2026-11-30T15:00:00Z".into(), "win_back#c-1#signup".into())]
    );
}

#[test]
fn birthdays_are_sent_at_nine_local_on_the_day_with_a_coupon_every_year() {
    let app = spawn_app();
    let mut who = customer("c-1", "ko-KR", "Asia/Seoul", true);
    who["birthday"] = json!("1990-12-10");
    app.deliver(&envelope(
        "CustomerUpdated",
        "2026-11-02T15:00:00Z",
        json!({"customer": who}),
    ))
    .expect("profile");
    app.run_until(ts("2028-01-01T00:00:00Z"));
    assert_eq!(
        keys_of(&app, MessageKind::Birthday),
        [
            ("2026-12-10T00:00:00Z".into(), "birthday#c-1#2026".into()),
            ("2027-12-10T00:00:00Z".into(), "birthday#c-1#2027".into()),
        ],
        "09:00 in Seoul, once a year"
    );
    let issued = coupons(&app)
        .iter()
        .filter(|c| c.message_kind == MessageKind::Birthday)
        .count();
    assert_eq!(issued, 2);
}

#[test]
fn a_29_february_birthday_is_celebrated_on_28_february_in_common_years() {
    let app = spawn_app();
    let mut who = customer("c-1", "en-GB", "Europe/London", true);
    who["birthday"] = json!("--02-29");
    app.deliver(&envelope(
        "CustomerUpdated",
        "2026-11-02T15:00:00Z",
        json!({"customer": who}),
    ))
    .expect("profile");
    app.run_until(ts("2028-03-01T00:00:00Z"));
    assert_eq!(
        keys_of(&app, MessageKind::Birthday),
        [
            ("2027-02-28T09:00:00Z".into(), "birthday#c-1#2027".into()),
            ("2028-02-29T09:00:00Z".into(), "birthday#c-1#2028".into()),
        ]
    );
}

#[test]
fn a_changed_birthday_moves_the_message_and_no_consent_sends_nothing() {
    let app = spawn_app();
    let mut who = customer("c-1", "en-US", "America/New_York", true);
    who["birthday"] = json!("--12-10");
    app.deliver(&envelope(
        "CustomerUpdated",
        "2026-11-02T15:00:00Z",
        json!({"customer": who.clone()}),
    ))
    .expect("profile");
    who["birthday"] = json!("--12-20");
    app.deliver(&envelope(
        "CustomerUpdated",
        "2026-11-03T15:00:00Z",
        json!({"customer": who.clone()}),
    ))
    .expect("corrected");
    app.run_until(ts("2026-12-31T00:00:00Z"));
    assert_eq!(
        keys_of(&app, MessageKind::Birthday),
        [("2026-12-20T14:00:00Z".into(), "birthday#c-1#2026".into())]
    );
    let quiet = spawn_app();
    let mut no = customer("c-2", "en-US", "America/New_York", false);
    no["birthday"] = json!("--12-10");
    quiet
        .deliver(&envelope(
            "CustomerUpdated",
            "2026-11-02T15:00:00Z",
            json!({"customer": no}),
        ))
        .expect("profile");
    quiet.run_until(ts("2026-12-31T00:00:00Z"));
    assert!(quiet.sent().is_empty());
}

#[test]
fn the_signup_anniversary_comes_every_year_at_nine_local() {
    let app = spawn_app();
    let mut who = customer("c-1", "de-DE", "Europe/Berlin", true);
    who["signed_up_at"] = json!("2025-11-20T23:30:00Z"); // 00:30 on 21 November in Berlin
    app.deliver(&envelope(
        "CustomerUpdated",
        "2026-11-02T15:00:00Z",
        json!({"customer": who}),
    ))
    .expect("profile");
    app.run_until(ts("2028-01-01T00:00:00Z"));
    assert_eq!(
        keys_of(&app, MessageKind::SignupAnniversary),
        [
            ("2026-11-21T08:00:00Z".into(), "signup_anniversary#c-1#2026".into()),
            ("2027-11-21T08:00:00Z".into(), "signup_anniversary#c-1#2027".into()),
        ]
    );
    let mails = app.engine.mailer().sent();
    let second = crate::mime::parse(&mails.last().expect("sent").raw);
    assert!(
        second["text"].as_str().expect("text").contains("2 Jahren"),
        "the second anniversary counts two years: {}",
        second["text"]
    );
}

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

#[test]
fn cancelling_the_latest_order_lets_the_win_back_count_from_the_order_still_standing() {
    let app = spawn_app();
    let who = customer("c-1", "en-US", "America/New_York", true);
    app.deliver(&order_confirmed(
        "o-1",
        &who,
        vec![item("p-mug", "kitchen", 1, 1800)],
        "2026-11-02T15:00:00Z",
    ))
    .expect("order");
    app.deliver(&order_confirmed(
        "o-2",
        &who,
        vec![item("p-tea", "tea", 1, 1250)],
        "2026-11-20T15:00:00Z",
    ))
    .expect("second order");
    app.deliver(&envelope(
        "OrderCancelled",
        "2026-12-05T15:00:00Z",
        json!({"order_id": "o-2"}),
    ))
    .expect("cancel");
    app.run_until(ts("2027-03-31T00:00:00Z"));
    assert_eq!(
        keys_of(&app, MessageKind::WinBack),
        [("2026-12-05T15:00:00Z".into(), "win_back#c-1#o-1".into())],
        "o-1's lapse had already run 28 days when o-2 was cancelled"
    );
}

#[test]
fn a_made_to_order_win_back_waits_until_the_order_has_been_delivered_28_days() {
    let app = spawn_app();
    let who = customer("c-1", "en-US", "America/New_York", true);
    app.deliver(&made_to_order("o-1", &who, 21, "2026-11-02T15:00:00Z"))
        .expect("order");
    app.deliver(&shipped("o-1", "shp-1", "2026-11-22T15:00:00Z"))
        .expect("shipped");
    app.deliver(&delivered("o-1", "2026-11-24T15:00:00Z"))
        .expect("delivered");
    app.run_until(ts("2027-03-31T00:00:00Z"));
    assert_eq!(
        keys_of(&app, MessageKind::WinBack),
        [("2026-12-22T15:00:00Z".into(), "win_back#c-1#o-1".into())]
    );
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
fn a_birthday_pushed_past_midnight_by_the_cap_is_dropped_not_sent_late() {
    let app = spawn_app();
    let mut who = customer("c-1", "en-GB", "Europe/London", true);
    who["birthday"] = json!("--12-10");
    // Signed up late on the 9th: the welcome waits for 09:00 on the 10th and takes the cap slot.
    app.deliver(&envelope(
        "CustomerSignedUp",
        "2026-12-09T23:00:00Z",
        json!({"customer": who}),
    ))
    .expect("signup");
    app.run_until(ts("2026-12-31T00:00:00Z"));
    assert_eq!(
        keys_of(&app, MessageKind::Welcome),
        [("2026-12-10T09:00:00Z".into(), "welcome#c-1".into())]
    );
    assert!(
        keys_of(&app, MessageKind::Birthday).is_empty(),
        "the next slot (09:00 on the 11th) is past the end of the birthday"
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
    // SES throttles the delivery confirmation: the event fails and EventBridge delivers it again.
    app.engine
        .mailer()
        .transient
        .store(1, std::sync::atomic::Ordering::SeqCst);
    let event = delivered("o-1", "2026-11-04T15:00:00Z");
    assert!(app.deliver(&event).is_err(), "throttled: retried later");
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

#[test]
fn an_unsubscribe_keeps_the_birthday_waiting_so_a_resubscribed_customer_still_gets_it() {
    use tidings_core::ports::ConsentSource;
    let app = spawn_app();
    let mut who = customer("c-1", "en-US", "America/New_York", true);
    who["birthday"] = json!("--12-10");
    app.deliver(&envelope(
        "CustomerSignedUp",
        "2026-11-02T15:00:00Z",
        json!({"customer": who}),
    ))
    .expect("signup");
    let at = ts("2026-11-03T15:00:00Z");
    app.engine.clock().set(at);
    app.block_on(app.engine.set_marketing_consent(
        &tidings_core::domain::CustomerId::parse("c-1").expect("id"),
        false,
        ConsentSource::Unsubscribe,
        at,
    ))
    .expect("unsubscribed");
    let waiting: Vec<String> = app
        .engine
        .store()
        .state()
        .follow_ups
        .keys()
        .map(|k| k.to_string())
        .collect();
    assert_eq!(
        waiting,
        ["birthday#c-1#2026"],
        "the welcome offer and win-back are cancelled"
    );
    let at = ts("2026-11-20T15:00:00Z");
    app.engine.clock().set(at);
    app.block_on(app.engine.set_marketing_consent(
        &tidings_core::domain::CustomerId::parse("c-1").expect("id"),
        true,
        ConsentSource::Resubscribe,
        at,
    ))
    .expect("resubscribed");
    app.run_until(ts("2026-12-31T00:00:00Z"));
    assert_eq!(
        keys_of(&app, MessageKind::Birthday),
        [("2026-12-10T14:00:00Z".into(), "birthday#c-1#2026".into())]
    );
}
