//! Every kind renders in every shipped locale, fully translated; golden files keep template changes
//! reviewed (`cargo insta review`).

use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use tidings_core::config::StoreConfig;
use tidings_core::message::MessageKind;
use tidings_core::render::Renderer;
use tidings_tests::{cart, customer, envelope, item, order, ses_click, ts};

const LOCALES: [&str; 8] = ["en-US", "ko-KR", "tr-TR", "zh-CN", "ja-JP", "de-DE", "fr-FR", "es-ES"];

/// Drives one customer in `locale` through every kind; returns `kind → (subject, text, html)`.
fn every_kind(locale: &str) -> BTreeMap<String, (String, String, String)> {
    // Every second delivered order earns the loyalty reward here, so two deliveries show it.
    let mut config = StoreConfig::sample();
    config.timing.loyalty_every_orders = 2;
    let app = tidings_tests::spawn_app_with(tidings_core::adapters::memory::MemoryMailer::default(), config);
    let mut who = customer("c-1", locale, "Europe/London", true);
    who["birthday"] = json!("--12-01");
    who["signed_up_at"] = json!("2025-12-05T10:00:00Z");
    let other = customer("c-2", "en-GB", "Europe/London", false);
    let mut bought = order(
        "o-1",
        &who,
        "USD",
        vec![item("p-mug", "kitchen", 2, 1800)],
        "2026-11-08T10:00:00Z",
    );
    bought["cart_id"] = json!("cart-1");
    let mut made_to_order = order(
        "o-3",
        &who,
        "USD",
        vec![item("p-chair", "furniture", 1, 32000)],
        "2026-11-15T10:00:00Z",
    );
    made_to_order["lead_time_days"] = json!(14);
    let shipment = json!({"id": "shp-1", "carrier": "cj", "tracking_number": "6000123", "shipped_at": "2026-11-09T12:00:00Z", "estimated_delivery": "2026-11-11"});
    let events: Vec<Value> = vec![
        envelope(
            "OrderConfirmed",
            "2026-11-01T09:00:00Z",
            json!({"order": order("o-0", &other, "USD", vec![item("p-mug", "kitchen", 1, 1800), item("p-tea", "tea", 1, 1250)], "2026-11-01T09:00:00Z")}),
        ),
        envelope("CustomerSignedUp", "2026-11-02T10:00:00Z", json!({"customer": who})),
        envelope(
            "CartUpdated",
            "2026-11-05T10:00:00Z",
            json!({"cart": cart("cart-1", &who, vec![item("p-mug", "kitchen", 2, 1800)], "2026-11-05T10:00:00Z")}),
        ),
        envelope("OrderConfirmed", "2026-11-08T10:00:00Z", json!({"order": bought})),
        envelope(
            "OrderShipped",
            "2026-11-09T12:00:00Z",
            json!({"order_id": "o-1", "shipment": shipment}),
        ),
        envelope(
            "ShipmentUpdated",
            "2026-11-10T08:00:00Z",
            json!({"order_id": "o-1", "shipment_id": "shp-1", "status": "out_for_delivery", "location": "Leeds"}),
        ),
        envelope("OrderDelivered", "2026-11-10T15:00:00Z", json!({"order_id": "o-1"})),
        envelope(
            "OrderConfirmed",
            "2026-11-14T10:00:00Z",
            json!({"order": order("o-2", &who, "USD", vec![item("p-tea", "tea", 1, 1250)], "2026-11-14T10:00:00Z")}),
        ),
        envelope(
            "OrderCancelled",
            "2026-11-14T11:00:00Z",
            json!({"order_id": "o-2", "reason": "out of stock"}),
        ),
        envelope(
            "OrderConfirmed",
            "2026-11-15T10:00:00Z",
            json!({"order": made_to_order}),
        ),
        envelope(
            "OrderConfirmed",
            "2026-11-16T10:00:00Z",
            json!({"order": order("o-4", &who, "USD", vec![item("p-pot", "kitchen", 1, 4200)], "2026-11-16T10:00:00Z")}),
        ),
        // Shipped, then no scan: the stalled-shipment message; delivered later: the second delivery.
        envelope(
            "OrderShipped",
            "2026-11-17T10:00:00Z",
            json!({"order_id": "o-4", "shipment": {"id": "shp-4", "carrier": "yurtici", "tracking_number": "YK-77", "shipped_at": "2026-11-17T10:00:00Z"}}),
        ),
        envelope("OrderDelivered", "2026-11-25T10:00:00Z", json!({"order_id": "o-4"})),
    ];
    // Five clicks in a month: the engagement reward.
    let clicks = (0..5).map(|n| {
        ses_click(
            "c-1",
            "welcome#c-1",
            &format!("2026-11-26T1{n}:00:00Z"),
            &format!("https://shop.example/{n}"),
        )
    });
    let events: Vec<Value> = events.into_iter().chain(clicks).collect();
    for event in &events {
        app.deliver(event).expect("handled");
    }
    app.run_until(ts("2026-12-31T00:00:00Z"));
    // Double opt-in stores send a confirmation request first.
    let mut config = StoreConfig::sample();
    config.marketing.double_opt_in = true;
    let opt_in = tidings_tests::spawn_app_with(tidings_core::adapters::memory::MemoryMailer::default(), config);
    opt_in
        .deliver(&envelope(
            "CustomerSignedUp",
            "2026-11-02T10:00:00Z",
            json!({"customer": who}),
        ))
        .expect("signup");
    app.engine
        .mailer()
        .sent()
        .into_iter()
        .chain(opt_in.engine.mailer().sent())
        .filter(|e| e.customer_id.as_str() == "c-1")
        .map(|e| {
            let parsed = crate::mime::parse(&e.raw);
            let part = |name: &str| parsed[name].as_str().expect("part").to_owned();
            let key = format!(
                "{}{}",
                e.kind.as_str(),
                if e.key.as_str().ends_with("#2") { "_2" } else { "" }
            );
            (key, (e.subject.clone(), part("text"), part("html")))
        })
        .collect()
}

fn placeholder_left(text: &str) -> Option<String> {
    ["{{", "{%", "}}"]
        .iter()
        .find(|m| text.contains(**m))
        .map(|m| m.to_string())
        .or_else(|| {
            let start = text.find('{')?;
            let end = text[start..].find('}')? + start;
            let inner = &text[start + 1..end];
            (!inner.is_empty() && inner.chars().all(|c| c.is_ascii_lowercase() || c == '_'))
                .then(|| text[start..=end].to_owned())
        })
}

#[test]
fn every_kind_renders_in_every_locale_without_placeholders_or_leftover_english() {
    let config = Arc::new(StoreConfig::sample());
    let renderer = Renderer::embedded(config).expect("templates");
    renderer
        .check()
        .expect("every template compiles and every locale file parses");
    let english = renderer.catalog("en").expect("en");
    // English phrases long enough to be sentences, not brand names or codes.
    let phrases: Vec<String> = english
        .keys()
        .filter_map(|key| english.text(key, &[]).ok())
        .filter(|text| text.len() >= 15)
        .collect();
    for locale in LOCALES {
        let rendered = every_kind(locale);
        let kinds: BTreeSet<&str> = rendered.keys().map(|k| k.trim_end_matches("_2")).collect();
        let all: BTreeSet<&str> = MessageKind::ALL.iter().map(|k| k.as_str()).collect();
        assert_eq!(kinds, all, "{locale}: every kind was sent");
        for (kind, (subject, text, html)) in &rendered {
            for (part, body) in [("subject", subject), ("text", text)] {
                assert_eq!(
                    placeholder_left(body),
                    None,
                    "{locale} {kind} {part} has an unrendered placeholder"
                );
            }
            // CSS legitimately closes two blocks with `}}`; template syntax must still be gone.
            assert!(
                !html.contains("{{") && !html.contains("{%"),
                "{locale} {kind} html has template syntax left"
            );
            let script: Option<fn(char) -> bool> = match &locale[..2] {
                "ko" => Some(|c| ('가'..='힣').contains(&c)),
                "ja" => Some(|c| ('ぁ'..='ヿ').contains(&c) || ('一'..='鿿').contains(&c)),
                "zh" => Some(|c| ('一'..='鿿').contains(&c)),
                _ => None,
            };
            if let Some(in_script) = script {
                assert!(subject.chars().any(in_script), "{locale} {kind}: subject: {subject}");
            }
            if !locale.starts_with("en") {
                for phrase in &phrases {
                    assert!(
                        !text.contains(phrase.as_str()),
                        "{locale} {kind}: English left in the text: {phrase:?}"
                    );
                }
            }
        }
    }
}

#[test]
fn every_locale_file_has_the_same_keys_and_placeholders_as_english() {
    let renderer = Renderer::embedded(Arc::new(StoreConfig::sample())).expect("templates");
    let placeholders = |text: &str| -> BTreeSet<String> {
        text.split('{')
            .skip(1)
            .filter_map(|s| s.split_once('}').map(|(name, _)| name.to_owned()))
            .collect()
    };
    let raw = |locale: &str| -> BTreeMap<String, BTreeMap<String, String>> {
        let path = tidings_tests::repo_root().join(format!("templates/locales/{locale}.toml"));
        toml_like(&std::fs::read_to_string(path).expect("locale file"))
    };
    let english = raw("en");
    for locale in renderer.locales().filter(|l| *l != "en") {
        let other = raw(locale);
        let keys = |t: &BTreeMap<String, BTreeMap<String, String>>| -> BTreeSet<String> {
            t.iter()
                .flat_map(|(s, m)| m.keys().map(move |k| format!("{s}.{k}")))
                .collect()
        };
        assert_eq!(keys(&english), keys(&other), "{locale} keys differ from en");
        for (section, entries) in &english {
            for (key, text) in entries {
                if (section.as_str(), key.as_str()) == ("common", "greeting") {
                    // Each language greets with the names its conventions use.
                    let names = placeholders(&other[section][key]);
                    let allowed = BTreeSet::from(["name", "family_name", "full_name"].map(String::from));
                    assert!(
                        !names.is_empty() && names.is_subset(&allowed),
                        "{locale} common.greeting uses {names:?}"
                    );
                    continue;
                }
                assert_eq!(
                    placeholders(text),
                    placeholders(&other[section][key]),
                    "{locale} {section}.{key} placeholders"
                );
            }
        }
    }
}

/// A locale file as `section → key → text`.
fn toml_like(text: &str) -> BTreeMap<String, BTreeMap<String, String>> {
    toml::from_str(text).expect("locale file parses")
}

#[test]
fn rendered_emails_match_the_reviewed_golden_files() {
    for locale in LOCALES {
        for (kind, (subject, text, html)) in every_kind(locale) {
            insta::assert_snapshot!(format!("{kind}-{locale}-text"), format!("Subject: {subject}\n\n{text}"));
            if kind == "order_confirmation" || kind == "cart_reminder_2" {
                insta::assert_snapshot!(format!("{kind}-{locale}-html"), html);
            }
        }
    }
}
