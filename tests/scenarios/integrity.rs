//! Header and markup integrity: what a store sends can neither smuggle a link scheme into the markup
//! nor break the links tidings builds itself.

use serde_json::{Value, json};
use tidings_core::adapters::memory::MemoryMailer;
use tidings_core::config::StoreConfig;
use tidings_core::event::parse_envelope;
use tidings_core::message::MessageKind;
use tidings_tests::{TestApp, cart, customer, envelope, item, order, spawn_app, spawn_app_with};

const HOSTILE: [&str; 5] = [
    "javascript:alert(1)",
    " \t\u{1}JaVaScRiPt:alert(1)",
    "data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==",
    "VBScript:msgbox(1)",
    "//evil.example/x",
];

fn ada() -> Value {
    customer("c-1", "en-US", "America/New_York", true)
}

/// The decoded HTML part of every email sent, lower-cased.
fn html_of(app: &TestApp, kind: MessageKind) -> String {
    let email = app
        .engine
        .mailer()
        .sent()
        .into_iter()
        .find(|e| e.kind == kind)
        .expect("email sent");
    let parsed = crate::mime::parse(&email.raw);
    parsed["html_unescaped"].as_str().expect("html").to_lowercase()
}

fn assert_no_hostile_link(html: &str) {
    for scheme in ["javascript:", "vbscript:", "data:", "//evil.example"] {
        assert!(!html.contains(scheme), "{scheme} reached the markup");
    }
}

#[test]
fn only_http_links_reach_the_markup() {
    for hostile in HOSTILE {
        let app = spawn_app();
        let mut line = item("p-mug", "kitchen", 1, 1800);
        line["image_url"] = json!(hostile);
        line["url"] = json!(hostile);
        let mut placed = order("o-1", &ada(), "USD", vec![line], "2026-11-03T13:00:00Z");
        placed["status_url"] = json!(hostile);
        app.deliver(&envelope(
            "OrderConfirmed",
            "2026-11-03T13:00:00Z",
            json!({ "order": placed }),
        ))
        .expect("order accepted, links dropped");
        let shipment = json!({"id": "shp-1", "carrier": "cj", "tracking_number": "6000 1234",
            "tracking_url": hostile, "shipped_at": "2026-11-04T13:00:00Z"});
        app.deliver(&envelope(
            "OrderShipped",
            "2026-11-04T13:00:00Z",
            json!({"order_id": "o-1", "shipment": shipment}),
        ))
        .expect("shipment accepted, link dropped");
        let confirmation = html_of(&app, MessageKind::OrderConfirmation);
        assert_no_hostile_link(&confirmation);
        assert!(
            confirmation.contains("product p-mug"),
            "the item itself is still listed"
        );
        let shipping = html_of(&app, MessageKind::ShippingConfirmation);
        assert_no_hostile_link(&shipping);
        assert!(
            shipping.contains("https://trace.cjlogistics.com/"),
            "the carrier table's link replaces the dropped one"
        );
    }
}

#[test]
fn a_cart_whose_checkout_url_is_not_http_is_refused_by_field() {
    for hostile in HOSTILE {
        let mut abandoned = cart(
            "cart-1",
            &ada(),
            vec![item("p-mug", "kitchen", 1, 1800)],
            "2026-11-02T11:00:00Z",
        );
        abandoned["checkout_url"] = json!(hostile);
        let event = envelope("CartUpdated", "2026-11-02T11:00:00Z", json!({ "cart": abandoned }));
        let error = parse_envelope(&event.to_string()).expect_err("refused");
        assert_eq!(error.field, "detail.cart.checkout_url", "{hostile:?}");
        assert!(error.reason.contains("http"), "{}", error.reason);
    }
}

fn with_unsubscribe_url(url: &str, double_opt_in: bool) -> TestApp {
    let mut config = StoreConfig::sample();
    config.sender.unsubscribe_url = url.to_owned();
    config.marketing.double_opt_in = double_opt_in;
    let app = spawn_app_with(MemoryMailer::default(), config);
    let london = customer("c-1", "en-GB", "Europe/London", true);
    app.deliver(&envelope(
        "CustomerSignedUp",
        "2026-11-02T10:00:00Z",
        json!({ "customer": london }),
    ))
    .expect("signup");
    app
}

#[test]
fn an_unsubscribe_url_with_a_query_string_keeps_working_links() {
    let app = with_unsubscribe_url("https://shop.example/u?x=1", false);
    let welcome = app
        .engine
        .mailer()
        .sent()
        .into_iter()
        .find(|e| e.kind == MessageKind::Welcome)
        .expect("welcome");
    let headers = &crate::mime::parse(&welcome.raw)["headers"];
    let list = headers["List-Unsubscribe"].as_str().expect("list-unsubscribe");
    assert!(list.starts_with("<https://shop.example/u?x=1&token="), "{list}");
    assert!(html_of(&app, MessageKind::Welcome).contains("https://shop.example/u?x=1&token="));

    let app = with_unsubscribe_url("https://shop.example/u?x=1", true);
    let confirm = html_of(&app, MessageKind::SubscriptionConfirmation);
    assert!(
        confirm.contains("https://shop.example/u?x=1&token="),
        "confirm link keeps the query"
    );
    assert!(!confirm.contains("?x=1?token="));
}

fn greeting(locale: &str, first: &str, last: &str) -> String {
    let mut who = customer("c-1", locale, "Asia/Seoul", true);
    who["first_name"] = json!(first);
    who["last_name"] = json!(last);
    let app = spawn_app();
    app.deliver(&envelope(
        "CustomerSignedUp",
        "2026-11-02T10:00:00Z",
        json!({ "customer": who }),
    ))
    .expect("signup");
    let welcome = app
        .engine
        .mailer()
        .sent()
        .into_iter()
        .find(|e| e.kind == MessageKind::Welcome)
        .expect("welcome");
    crate::mime::parse(&welcome.raw)["text"]
        .as_str()
        .expect("text")
        .to_owned()
}

#[test]
fn latin_names_are_spaced_in_korean_and_chinese_greetings() {
    assert!(greeting("ko-KR", "Minji", "Kim").contains("Kim Minji님"), "ko, Latin");
    assert!(greeting("zh-CN", "Wei", "Zhang").contains("Zhang Wei，"), "zh, Latin");
    assert!(
        greeting("ko-KR", "민지", "김").contains("김민지님"),
        "ko, Hangul stays together"
    );
    assert!(
        greeting("zh-CN", "伟", "张").contains("张伟，"),
        "zh, Han stays together"
    );
}
