//! A WooCommerce store's week with its carriers' tracking services, as signed webhook deliveries
//! (docs/examples/woocommerce-week.jsonl, built by scripts/webhook-week from the vendors'
//! published payloads), against the same week as tidings' own events.

use serde_json::{Value, json};
use tidings_cli::Input;
use tidings_core::webhook::{Source, signature};
use tidings_tests::{Replayed, example_secret, replay_files, replay_inputs, repo_root};

fn emails(replayed: &Replayed) -> Vec<String> {
    replayed
        .report
        .sent
        .iter()
        .map(|s| format!("{} {} {}", s.at, s.message_key, s.customer_id))
        .collect()
}

#[test]
fn a_woocommerce_week_of_signed_deliveries_sends_what_its_own_events_send() {
    let captured = replay_files(&[repo_root().join("docs/examples/woocommerce-week.jsonl")]);
    let events = replay_files(&[repo_root().join("docs/examples/woocommerce-week-events.jsonl")]);
    assert_eq!(emails(&captured), emails(&events));
    let keys: Vec<&str> = captured.report.sent.iter().map(|s| s.message_key.as_str()).collect();
    assert_eq!(
        keys,
        [
            "order_confirmation#727",
            "order_confirmation#728",
            "order_confirmation#729",
            "order_cancellation#729",
            "shipping_confirmation#727",
            "shipping_confirmation#728",
            "shipment_update#727#out_for_delivery",
            "delivery_confirmation#727",
            "delivery_confirmation#728",
        ]
    );
    // The same words, too: each email's subject and text are those of the events' week.
    for n in 1..=keys.len() {
        let text = |r: &Replayed| crate::mime::text_part(&String::from_utf8(r.eml(n)).expect("utf-8"));
        assert_eq!(text(&captured), text(&events), "email {n}");
    }
    // The ping and the scan that arrived before its parcel was shipped are in the notes.
    let notes = captured.report.notes.join("\n");
    assert!(notes.contains("ignored: WooCommerce's ping"), "{notes}");
    assert!(notes.contains("held until"), "{notes}");
}

fn capture(source: Source, body: &str, headers: Value) -> String {
    let mut headers = headers;
    headers[signature::header(source)] = json!(signature::sign(source, body.as_bytes(), &example_secret(source)));
    json!({"webhook": source.name(), "received_at": "2026-11-02T10:00:00Z", "headers": headers, "body": body})
        .to_string()
}

#[test]
fn a_capture_whose_signature_fails_is_reported_with_its_line_and_nothing_is_sent() {
    let body = std::fs::read_to_string(repo_root().join("shared/fixtures/woocommerce/order.json")).expect("fixture");
    let good = capture(
        Source::WooCommerce,
        &body,
        json!({"X-WC-Webhook-Topic": "order.created"}),
    );
    let mut tampered: Value = serde_json::from_str(&good).expect("json");
    tampered["body"] = json!(body.replace("\"29.35\"", "\"0.29\""));
    let text = format!("{good}\n{tampered}\n");
    let dir = tempfile::tempdir().expect("dir");
    let settings = tidings_cli::Settings {
        config: tidings_core::config::StoreConfig::sample(),
        keys: tidings_core::signing::SigningKeys::demo(),
        templates: None,
        until: None,
        history: None,
        webhook_secrets: tidings_tests::webhook_secrets(),
    };
    let input = Input {
        name: "week.jsonl".into(),
        text,
    };
    let result =
        tidings_tests::tokio_runtime().block_on(tidings_cli::replay(&[input], &dir.path().join("o"), settings));
    match result {
        Err(error @ tidings_cli::ReplayError::Invalid(_)) => {
            assert_eq!(error.exit_code(), 2);
            let tidings_cli::ReplayError::Invalid(lines) = error else {
                unreachable!()
            };
            assert_eq!(
                lines,
                ["week.jsonl:2: headers: webhook signature refused: the signature does not match the body"]
            );
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_scan_of_a_number_no_parcel_has_is_held_then_dropped_and_a_later_parcel_finds_it_in_time() {
    let aftership =
        std::fs::read_to_string(repo_root().join("shared/fixtures/aftership/tracking_update.json")).expect("fixture");
    let scan = capture(Source::AfterShip, &aftership, json!({}));
    let alone = replay_inputs(vec![Input {
        name: "scan.jsonl".into(),
        text: scan.clone(),
    }]);
    assert!(alone.report.sent.is_empty());
    let notes = alone.report.notes.join("\n");
    assert!(notes.contains("held until"), "{notes}");
    assert!(notes.contains("orphan"), "dropped once its hold expired: {notes}");
    // The same scan, the parcel shipped with its number (spelled with spaces) twenty minutes later:
    // the scan waits for it, then sends its out-for-delivery email.
    let who = tidings_tests::customer("c-1", "en-US", "America/New_York", false);
    let order = tidings_tests::order_confirmed(
        "o-1",
        &who,
        vec![tidings_tests::item("p-1", "kitchen", 1, 1800)],
        "2021-01-04T10:00:00Z",
    );
    let shipped = tidings_tests::envelope(
        "OrderShipped",
        "2021-01-05T13:00:00Z",
        json!({"order_id": "o-1", "shipment": {"id": "s-1", "carrier": "usps", "tracking_number": "9361 2896 7609 1361 8920 11", "shipped_at": "2021-01-04T18:00:00Z"}}),
    );
    let text = format!("{order}\n{shipped}\n{scan}\n");
    let replayed = replay_inputs(vec![Input {
        name: "week.jsonl".into(),
        text,
    }]);
    let keys: Vec<&str> = replayed.report.sent.iter().map(|s| s.message_key.as_str()).collect();
    assert_eq!(
        keys,
        [
            "order_confirmation#o-1",
            "shipping_confirmation#s-1",
            "shipment_update#s-1#out_for_delivery",
            // Never delivered: the stall watch speaks up.
            "shipment_stalled#s-1#1",
        ]
    );
}
