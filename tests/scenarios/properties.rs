//! Property tests over everything a store (or an attacker posing as one) controls: the event parser,
//! header values and rendering. Bounded case counts keep the whole suite well under a minute.

use proptest::prelude::*;
use serde_json::{Value, json};
use tidings_core::event::{Parsed, parse_envelope};
use tidings_tests::{customer, envelope, item, order, spawn_app};

/// Arbitrary JSON, a few levels deep.
fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<f64>().prop_map(|n| json!(n)),
        ".{0,40}".prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 64, 8, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map("[a-z_-]{1,12}", inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// Text a store might send: unicode, emoji, RTL overrides, control characters, markup.
fn hostile_text() -> impl Strategy<Value = String> {
    prop_oneof![
        ".{0,60}",
        Just("<script>alert(1)</script>".to_owned()),
        Just("\"><img src=x onerror=alert(1)>".to_owned()),
        Just("Ada\r\nBcc: everyone@example.com".to_owned()),
        Just("\u{202E}gnp.exe\u{202C} 🎁 مرحبا".to_owned()),
        "[\\PC\r\n\t\u{202A}-\u{202E}<>&\"']{0,80}",
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn the_parser_never_panics_and_every_error_names_a_field(detail in json_value(), detail_type in prop_oneof![
        Just("OrderConfirmed"), Just("CartUpdated"), Just("CustomerSignedUp"), Just("ShipmentUpdated"),
        Just("OrderShipped"), Just("Email Bounced"), Just("Unknown")]) {
        let line = json!({"id": "1", "detail-type": detail_type, "source": "s", "time": "2026-11-02T10:00:00Z", "detail": detail}).to_string();
        if let Err(error) = parse_envelope(&line) {
            prop_assert!(!error.field.is_empty());
            prop_assert!(!error.reason.is_empty());
        }
    }

    #[test]
    fn arbitrary_bytes_never_panic_the_parser(raw in ".{0,200}") {
        let _ = parse_envelope(&raw);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn hostile_names_and_titles_never_reach_a_header_or_unescaped_html(name in hostile_text(), title in hostile_text(), number in hostile_text()) {
        let app = spawn_app();
        let mut who = customer("c-1", "en-US", "America/New_York", true);
        who["first_name"] = json!(name);
        let mut product = item("p-1", "kitchen", 1, 1000);
        product["name"] = json!(title);
        let mut placed = order("o-1", &who, "USD", vec![product], "2026-11-02T15:00:00Z");
        placed["number"] = json!(number);
        let event = envelope("OrderConfirmed", "2026-11-02T15:00:00Z", json!({"order": placed}));
        let Parsed::Known(_) = parse_envelope(&event.to_string()).expect("control characters never reject an event") else {
            panic!("known type")
        };
        app.deliver(&event).expect("handled");
        let sent = app.engine.mailer().sent();
        prop_assert_eq!(sent.len(), 1);
        let raw = String::from_utf8_lossy(&sent[0].raw).into_owned();
        let head = raw.split("\r\n\r\n").next().unwrap_or_default();
        for line in head.split("\r\n") {
            // Every header line is a known header or a folded continuation: nothing injected.
            let known = ["From:", "Reply-To:", "To:", "Subject:", "Date:", "Message-ID:", "Content-Language:",
                "MIME-Version:", "Content-Type:", "List-Unsubscribe:", "List-Unsubscribe-Post:"];
            prop_assert!(line.starts_with(' ') || line.starts_with('\t') || known.iter().any(|k| line.starts_with(k)), "{}", line);
        }
        prop_assert!(!sent[0].subject.contains(['\r', '\n']));
        let html = crate::mime::parse(&sent[0].raw)["html"].as_str().unwrap_or_default().to_owned();
        prop_assert!(!html.contains("<script") && !html.contains("<img src=x"), "markup from the store is escaped");
        prop_assert!(!html.contains('\u{202E}'), "bidi overrides are removed");
    }
}

#[test]
fn a_ten_thousand_item_cart_is_rejected_by_field_and_a_megabyte_title_is_cut() {
    let who = customer("c-1", "en-US", "America/New_York", true);
    let items: Vec<Value> = (0..10_000)
        .map(|i| item(&format!("p-{i}"), "kitchen", 1, 100))
        .collect();
    let cart = tidings_tests::cart("cart-1", &who, items, "2026-11-02T15:00:00Z");
    let error = parse_envelope(&envelope("CartUpdated", "2026-11-02T15:00:00Z", json!({"cart": cart})).to_string())
        .expect_err("too many items");
    assert_eq!(error.field, "detail.cart.items");
    assert!(error.reason.contains("10000 items; at most 250"), "{}", error.reason);

    let app = spawn_app();
    let mut product = item("p-1", "kitchen", 1, 1000);
    product["name"] = json!("y".repeat(1 << 20));
    let placed = order("o-1", &who, "USD", vec![product], "2026-11-02T15:00:00Z");
    app.deliver(&envelope(
        "OrderConfirmed",
        "2026-11-02T15:00:00Z",
        json!({"order": placed}),
    ))
    .expect("handled");
    let sent = app.engine.mailer().sent();
    assert!(
        sent[0].raw.len() < 100 * 1024,
        "the email stays small: {} bytes",
        sent[0].raw.len()
    );
}
