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

/// An order whose every field is drawn from what a hostile or broken store sends.
fn hostile_order() -> impl Strategy<Value = Value> {
    let time = prop_oneof![
        Just("2026-11-02T10:00:00Z"),
        Just("1999-12-31T23:59:59Z"),
        Just("2199-12-31T23:00:00Z"),
        Just("9999-12-30T00:00:00Z"),
    ];
    let odd = prop_oneof![
        Just(json!("0000-00-00")),
        Just(json!("--02-29")),
        Just(json!("9999-12-31")),
        Just(json!("")),
        Just(json!(null)),
        Just(json!(42)),
        Just(json!("EST+5")),
        Just(json!("javascript:alert(1)")),
        ".{0,20}".prop_map(|s| json!(s)),
    ];
    let email = prop_oneof![
        Just("ada@example.com"),
        Just("victim>,<attacker@evil.example"),
        Just("ada@bücher.example"),
        Just("=?utf-8?b?QWRh?=@example.com"),
    ];
    (
        time,
        (odd.clone(), odd.clone(), odd.clone(), odd.clone()),
        (odd.clone(), odd),
        (
            prop_oneof![0..60u32, any::<u32>()],
            prop_oneof![0..100_000u64, any::<u64>()],
            prop_oneof![1..5u32, any::<u32>()],
        ),
        email,
    )
        .prop_map(
            |(time, (birthday, zone, locale, signed_up), (eta, image), (lead, price, quantity), email)| {
                let mut who = customer("c-1", "en-US", "America/New_York", true);
                who["email"] = json!(email);
                who["birthday"] = birthday;
                who["time_zone"] = zone;
                who["locale"] = locale;
                who["signed_up_at"] = signed_up;
                let mut product = item("p-1", "kitchen", 1, 100);
                product["image_url"] = image;
                let mut placed = order("o-1", &who, "USD", vec![product], time);
                placed["items"][0]["quantity"] = json!(quantity);
                placed["items"][0]["unit_price"] = json!(price);
                placed["total"] = json!(price);
                placed["lead_time_days"] = json!(lead);
                placed["estimated_delivery"] = eta;
                envelope("OrderConfirmed", time, json!({ "order": placed }))
            },
        )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn a_hostile_replay_file_either_replays_or_is_refused_line_by_field(event in hostile_order()) {
        let dir = tempfile::tempdir().expect("dir");
        let settings = tidings_cli::Settings {
            config: tidings_core::config::StoreConfig::sample(),
            keys: tidings_core::signing::SigningKeys::demo(),
            templates: None,
            until: None,
            history: None,
            webhook_secrets: Default::default(),
        };
        let inputs = [tidings_cli::Input { name: "hostile.jsonl".into(), text: event.to_string() }];
        let runtime = tokio::runtime::Builder::new_current_thread().build().expect("runtime");
        match runtime.block_on(tidings_cli::replay(&inputs, &dir.path().join("outbox"), settings)) {
            Ok(report) => prop_assert!(report.sent.iter().any(|l| l.kind == "order_confirmation")),
            Err(tidings_cli::ReplayError::Invalid(lines)) => {
                for line in &lines {
                    let rest = line.strip_prefix("hostile.jsonl:1: ");
                    prop_assert!(rest.is_some_and(|r| r.starts_with("detail.") || r.starts_with("time")), "{}", line);
                }
            }
            Err(other) => prop_assert!(false, "replay failed otherwise: {other}"),
        }
    }
}
