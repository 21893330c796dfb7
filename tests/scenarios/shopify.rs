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
