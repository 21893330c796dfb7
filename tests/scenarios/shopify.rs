//! A Shopify store's week (docs/examples/shopify-week.jsonl, built by scripts/shopify-week from
//! Shopify's published example payloads), replayed as EventBridge delivers it.

use tidings_tests::{Replayed, replay_files, repo_root};

fn week() -> Replayed {
    replay_files(&[repo_root().join("docs/examples/shopify-week.jsonl")])
}

/// Each email by its key and language, with the money lines of its text (in the customer's
/// currency), and each coupon the store must hold.
fn index(replayed: &Replayed) -> String {
    let mut lines = Vec::new();
    for (n, sent) in replayed.report.sent.iter().enumerate() {
        let raw = String::from_utf8(replayed.eml(n + 1)).expect("utf-8");
        let text = crate::mime::text_part(&raw);
        let money: Vec<&str> = text
            .lines()
            .map(str::trim)
            .filter(|l| l.contains('€') || l.contains('$'))
            .filter(|l| {
                [
                    "Total",
                    "Sous-total",
                    "Subtotal",
                    "Livraison",
                    "Shipping",
                    "Remise",
                    "Discount",
                ]
                .iter()
                .any(|w| l.starts_with(w))
            })
            .collect();
        lines.push(format!(
            "{} {} {} {}",
            sent.at,
            sent.message_key,
            sent.locale,
            money.join(" | ")
        ));
    }
    for coupon in replayed.emitted("CouponIssued") {
        let d = &coupon["detail"];
        lines.push(format!(
            "coupon {} {} {}{}{}",
            d["message_key"].as_str().unwrap_or_default(),
            d["coupon_type"].as_str().unwrap_or_default(),
            d["currency"].as_str().unwrap_or_default(),
            d.get("percent_off").map(|p| format!(" {p}%")).unwrap_or_default(),
            d.get("amount_off").map(|a| format!(" {a} off")).unwrap_or_default(),
        ));
    }
    lines.join("\n")
}

#[test]
fn a_shopify_week_sends_what_a_shopify_merchant_expects_in_the_customers_currency() {
    let replayed = week();
    insta::assert_snapshot!("shopify_week_index", index(&replayed));
    let kinds: Vec<String> = replayed.timeline().into_iter().map(|(_, kind)| kind).collect();
    for kind in [
        "order_confirmation",
        "shipping_confirmation",
        "shipment_update",
        "delivery_confirmation",
        "review_request",
        "cart_reminder",
    ] {
        assert!(kinds.iter().any(|k| k == kind), "{kind} in {kinds:?}");
    }
    // The redelivered orders/create (same webhook id, new envelope id) and orders/paid sent nothing.
    assert_eq!(kinds.iter().filter(|k| *k == "order_confirmation").count(), 2);
}

#[test]
fn the_euro_order_is_confirmed_in_euros_from_the_presentment_amounts() {
    let replayed = week();
    let raw = String::from_utf8(replayed.eml(2)).expect("utf-8");
    // French puts a narrow no-break space before the colon and a no-break space before the euro sign.
    let text = crate::mime::text_part(&raw).replace(['\u{202f}', '\u{a0}'], " ");
    assert!(text.contains("Total : 364,45 €"), "{text}");
    assert!(!text.contains('$'), "{text}");
}

#[test]
fn a_parcel_sent_without_tracking_shows_no_carrier_or_number() {
    let replayed = week();
    let raw = String::from_utf8(replayed.eml(4)).expect("utf-8");
    let text = crate::mime::text_part(&raw);
    assert!(!text.contains("Numéro de suivi"), "{text}");
    let tracked = crate::mime::text_part(&String::from_utf8(replayed.eml(3)).expect("utf-8"));
    assert!(tracked.contains("1z827wk74630"), "{tracked}");
}

/// The export in Shopify's layout (shared/fixtures/shopify/orders_export.csv), imported the way
/// `tidings import shopify` does, then a webhook order by one of its buyers under their Shopify id.
#[test]
fn an_imported_buyer_is_a_repeat_buyer_at_their_first_webhook_order_and_the_import_sends_nothing() {
    let dir = tempfile::tempdir().expect("dir");
    let state = dir.path().join("state.json");
    let export = repo_root().join("shared/fixtures/shopify/orders_export.csv");
    let keys = tidings_core::signing::SigningKeys::demo();
    let (read, _) = tidings_cli::import::import_shopify(&export, &state, keys.guest_ids(), |_| {}).expect("imported");
    assert_eq!((read.orders.len(), read.errors.len()), (4, 3));
    let history = tidings_cli::import::load_state(&state).expect("state");
    let order = tidings_tests::order_confirmed(
        "o-7001",
        &serde_json::json!({"id": "7001", "email": "ada@example.com", "first_name": "Ada", "marketing_consent": false}),
        vec![tidings_tests::item("p-mug", "kitchen", 1, 1800)],
        "2026-11-02T15:00:00Z",
    );
    let input = || {
        vec![tidings_cli::Input {
            name: "order.jsonl".into(),
            text: order.to_string(),
        }]
    };
    let sample = tidings_core::config::StoreConfig::sample;
    let replayed = tidings_tests::replay_from(input(), sample(), Some(history));
    let kinds: Vec<String> = replayed.timeline().into_iter().map(|(_, kind)| kind).collect();
    assert_eq!(
        kinds,
        ["order_confirmation"],
        "nothing for the imported orders themselves"
    );
    let text = crate::mime::text_part(&String::from_utf8(replayed.eml(1)).expect("utf-8"));
    assert!(!text.contains("Welcome to the family"), "a returning buyer: {text}");
    let fresh = tidings_tests::replay_from(input(), sample(), None);
    let text = crate::mime::text_part(&String::from_utf8(fresh.eml(1)).expect("utf-8"));
    assert!(
        text.contains("Welcome to the family"),
        "without the import, a first order: {text}"
    );
}
