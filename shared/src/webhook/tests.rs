//! Signatures as each vendor computes them, on the vendors' published payloads, and what each
//! delivery becomes (shared/fixtures/*/SOURCES.md).

use super::*;
use crate::event::{Event, Parsed, Scanned};

pub(crate) fn fixture(path: &str) -> String {
    std::fs::read_to_string(format!("{}/fixtures/{path}", env!("CARGO_MANIFEST_DIR"))).expect("fixture")
}

pub(crate) fn config() -> StoreConfig {
    let text = format!(
        "{}\n[woocommerce]\nsite_url = \"https://example.com\"\n\n[aftership]\nwebhook_secret_parameter = \"/tidings/aftership/webhook-secret\"\n\n[easypost]\nwebhook_secret_parameter = \"/tidings/easypost/webhook-secret\"\n",
        crate::config::SAMPLE_CONFIG
    );
    StoreConfig::from_toml(&text).expect("config")
}

pub(crate) fn delivery(source: Source, headers: &[(&str, &str)], body: &str, secret: &str) -> Delivery {
    let mut pairs: Vec<(String, String)> = headers
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    pairs.push((
        signature::header(source).to_owned(),
        signature::sign(source, body.as_bytes(), secret),
    ));
    Delivery {
        source,
        received_at: "2026-11-02T10:00:00Z".parse().expect("time"),
        headers: Headers::new(pairs),
        body: body.as_bytes().to_vec(),
    }
}

/// The contract events a delivery became (each checked against the contract).
pub(crate) fn events(received: Received) -> Vec<Event> {
    match received {
        Received::Events { events, .. } => events
            .into_iter()
            .map(|e| match parse_envelope_value(e).expect("valid") {
                Parsed::Known(event) => event.event,
                Parsed::Unknown { detail_type } => panic!("unknown {detail_type}"),
            })
            .collect(),
        other => panic!("expected events, got {other:?}"),
    }
}

#[test]
fn easypost_signs_as_its_client_libraries_test_it() {
    // easypost-python's test_validate_webhook: the fixture without its newline, the secret NFKD.
    let body = fixture("easypost/event-body.json");
    let body = body.trim_end_matches('\n');
    let header = "hmac-sha256-hex=38f3f53c103713df81616a0a186d77141957323ec21d5fe9363db93840f527db";
    let headers = Headers::new([("X-Hmac-Signature".to_owned(), header.to_owned())]);
    assert_eq!(
        signature::verify(Source::EasyPost, &headers, body.as_bytes(), "sécret"),
        Ok(())
    );
    assert_eq!(signature::sign(Source::EasyPost, body.as_bytes(), "sécret"), header);
    // The same secret composed differently is the same key; a changed byte is not the same body.
    assert_eq!(
        signature::verify(Source::EasyPost, &headers, body.as_bytes(), "se\u{301}cret"),
        Ok(())
    );
    let tampered = body.replacen("in_transit", "delivered", 1);
    assert_eq!(
        signature::verify(Source::EasyPost, &headers, tampered.as_bytes(), "sécret"),
        Err(SignatureError::Mismatch)
    );
}

#[test]
fn woocommerce_and_aftership_sign_the_raw_body_in_base64() {
    // The values computed with PHP's base64_encode(hash_hmac('sha256', …, true)) and openssl.
    assert_eq!(
        signature::sign(Source::WooCommerce, br#"{"id":727}"#, "test_secret"),
        "m1d3StNjWkAMXeI+EK1uDq2BvIZ0J3SpHiPiQkpFyUY="
    );
    assert_eq!(
        signature::sign(
            Source::WooCommerce,
            fixture("woocommerce/order.json").as_bytes(),
            "test_secret"
        ),
        "dbd8cN7BISGillqMsi0zMR+0Y9kuiw/6Hcjf+nwkYE0="
    );
    assert_eq!(
        signature::sign(Source::AfterShip, br#"{"id":727}"#, "test_secret"),
        "m1d3StNjWkAMXeI+EK1uDq2BvIZ0J3SpHiPiQkpFyUY="
    );
}

#[test]
fn a_missing_wrong_or_garbled_signature_is_refused_before_anything_is_read() {
    let config = config();
    let body = fixture("woocommerce/order.json");
    let topic = [("X-WC-Webhook-Topic", "order.created")];
    let signed = delivery(Source::WooCommerce, &topic, &body, "s3cret");
    assert!(matches!(signed.receive("s3cret", &config), Received::Events { .. }));
    assert!(matches!(
        signed.receive("another", &config),
        Received::Refused(SignatureError::Mismatch)
    ));
    let mut tampered = signed.clone();
    tampered.body = body.replace("29.35", "0.01").into_bytes();
    assert!(matches!(
        tampered.receive("s3cret", &config),
        Received::Refused(SignatureError::Mismatch)
    ));
    let unsigned = Delivery {
        headers: Headers::new([("X-WC-Webhook-Topic".to_owned(), "order.created".to_owned())]),
        ..signed.clone()
    };
    assert!(matches!(
        unsigned.receive("s3cret", &config),
        Received::Refused(SignatureError::Missing("x-wc-webhook-signature"))
    ));
    let garbled = Delivery {
        headers: Headers::new([("X-WC-Webhook-Signature".to_owned(), "%%%".to_owned())]),
        ..signed
    };
    assert!(matches!(
        garbled.receive("s3cret", &config),
        Received::Refused(SignatureError::Malformed(_))
    ));
    // Not even the body's being JSON is looked at before the signature.
    let junk = Delivery {
        body: b"\xff\xfe not json".to_vec(),
        ..delivery(Source::AfterShip, &[], "x", "k")
    };
    assert!(matches!(
        junk.receive("k", &config),
        Received::Refused(SignatureError::Mismatch)
    ));
}

#[test]
fn woocommerce_s_ping_is_answered_and_publishes_nothing() {
    let ping = Delivery {
        source: Source::WooCommerce,
        received_at: "2026-11-02T10:00:00Z".parse().expect("time"),
        headers: Headers::default(),
        body: b"webhook_id=12".to_vec(),
    };
    assert!(matches!(ping.receive("s3cret", &config()), Received::Ping));
    // Only that exact shape: anything else unsigned is refused.
    let not_a_ping = Delivery {
        body: b"webhook_id=12&order=1".to_vec(),
        ..ping
    };
    assert!(matches!(not_a_ping.receive("s3cret", &config()), Received::Refused(_)));
}

#[test]
fn a_signed_delivery_that_cannot_be_translated_names_the_field_and_an_unknown_topic_is_ignored() {
    let config = config();
    let broken = delivery(
        Source::WooCommerce,
        &[("X-WC-Webhook-Topic", "order.created")],
        r#"{"id":"seven","status":"processing"}"#,
        "k",
    );
    match broken.receive("k", &config) {
        Received::Untranslatable { topic, error } => {
            assert_eq!(topic, "order.created");
            assert_eq!(error.field, "body.id");
        }
        other => panic!("{other:?}"),
    }
    let coupon = delivery(
        Source::WooCommerce,
        &[("X-WC-Webhook-Topic", "coupon.created")],
        "{}",
        "k",
    );
    assert!(matches!(coupon.receive("k", &config), Received::Ignored { .. }));
    let elsewhere = delivery(
        Source::WooCommerce,
        &[
            ("X-WC-Webhook-Topic", "order.created"),
            ("X-WC-Webhook-Source", "https://other.example/"),
        ],
        &fixture("woocommerce/order.json"),
        "k",
    );
    assert!(matches!(
        elsewhere.receive("k", &config),
        Received::Untranslatable { error, .. } if error.field == "headers.X-WC-Webhook-Source"
    ));
    let same = delivery(
        Source::WooCommerce,
        &[
            ("X-WC-Webhook-Topic", "order.created"),
            ("X-WC-Webhook-Source", "https://EXAMPLE.com/"),
        ],
        &fixture("woocommerce/order.json"),
        "k",
    );
    assert!(matches!(same.receive("k", &config), Received::Events { .. }));
}

#[test]
fn aftership_s_documented_webhook_is_a_scan_by_tracking_number() {
    let body = fixture("aftership/tracking_update.json");
    let received = delivery(Source::AfterShip, &[], &body, "k").receive("k", &config());
    let Received::Events { events: envelopes, .. } = &received else {
        panic!("{received:?}");
    };
    // The latest checkpoint's time, with its offset, is the event's time.
    assert_eq!(envelopes[0]["time"], "2021-01-05T12:40:00Z");
    assert_eq!(envelopes[0]["source"], "tidings.aftership");
    let [Event::TrackingUpdated(scan)] = &events(received)[..] else {
        panic!("one scan");
    };
    assert_eq!(scan.tracking_number.as_str(), "9361289676091361892011");
    assert_eq!(
        scan.status,
        Scanned::Status(crate::domain::ShipmentStatus::OutForDelivery)
    );
    assert_eq!(scan.location.as_ref().map(|l| l.as_str()), Some("BROOKLYN, NY 11211"));
    assert_eq!(scan.estimated_delivery, Some(jiff::civil::date(2021, 1, 6)));
}

#[test]
fn aftership_tags_and_subtags_map_by_the_table() {
    use crate::domain::ShipmentStatus as S;
    let body = fixture("aftership/tracking_update.json");
    let cases: [(&str, &str, Option<Scanned>); 10] = [
        ("InTransit", "InTransit_002", Some(Scanned::Status(S::InTransit))),
        ("AttemptFail", "AttemptFail_001", Some(Scanned::Status(S::Exception))),
        (
            "AvailableForPickup",
            "AvailableForPickup_001",
            Some(Scanned::Status(S::AvailableForPickup)),
        ),
        ("Exception", "Exception_011", Some(Scanned::Status(S::ReturnedToSender))),
        ("Exception", "Exception_004", Some(Scanned::Status(S::Delayed))),
        ("Exception", "Exception_013", Some(Scanned::Status(S::Exception))),
        ("Delivered", "Delivered_001", Some(Scanned::Delivered)),
        ("InfoReceived", "InfoReceived_001", None),
        ("Expired", "Expired_001", None),
        ("Pending", "Pending_001", None),
    ];
    for (tag, subtag, expected) in cases {
        let body = body.replace(
            r#""tag": "OutForDelivery",
        "subtag": "OutForDelivery_001""#,
            &format!("\"tag\": \"{tag}\",\n        \"subtag\": \"{subtag}\""),
        );
        let received = delivery(Source::AfterShip, &[], &body, "k").receive("k", &config());
        match (expected, received) {
            (Some(status), received) => {
                let [Event::TrackingUpdated(scan)] = &events(received)[..] else {
                    panic!("{tag}");
                };
                assert_eq!(scan.status, status, "{tag} {subtag}");
            }
            (None, Received::Ignored { .. }) => {}
            (None, other) => panic!("{tag}: {other:?}"),
        }
    }
}

#[test]
fn easypost_s_tracker_updated_fixture_is_a_scan_at_its_latest_detail() {
    let body = fixture("easypost/event-body.json");
    let received = delivery(Source::EasyPost, &[], &body, "k").receive("k", &config());
    let Received::Events { events: envelopes, .. } = &received else {
        panic!("{received:?}");
    };
    let value: Value = serde_json::from_str(&body).expect("json");
    let details = value["result"]["tracking_details"].as_array().expect("details");
    let latest = details.last().expect("a detail");
    assert_eq!(envelopes[0]["time"], latest["datetime"]);
    let [Event::TrackingUpdated(scan)] = &events(received)[..] else {
        panic!("one scan");
    };
    assert_eq!(scan.tracking_number.as_str(), "1");
    assert_eq!(scan.status, Scanned::Status(crate::domain::ShipmentStatus::InTransit));
    assert_eq!(scan.estimated_delivery, Some(jiff::civil::date(2024, 8, 5)));
    for (status, expected) in [
        ("delivered", Some(Scanned::Delivered)),
        (
            "return_to_sender",
            Some(Scanned::Status(crate::domain::ShipmentStatus::ReturnedToSender)),
        ),
        (
            "failure",
            Some(Scanned::Status(crate::domain::ShipmentStatus::Exception)),
        ),
        (
            "out_for_delivery",
            Some(Scanned::Status(crate::domain::ShipmentStatus::OutForDelivery)),
        ),
        (
            "available_for_pickup",
            Some(Scanned::Status(crate::domain::ShipmentStatus::AvailableForPickup)),
        ),
        ("pre_transit", None),
        ("error", None),
    ] {
        let body = body.replacen(
            r#""tracking_code":"1","status":"in_transit""#,
            &format!(r#""tracking_code":"1","status":"{status}""#),
            1,
        );
        assert_ne!(body, fixture("easypost/event-body.json"), "the status is replaced");
        match (
            expected,
            delivery(Source::EasyPost, &[], &body, "k").receive("k", &config()),
        ) {
            (Some(expected), received) => {
                let [Event::TrackingUpdated(scan)] = &events(received)[..] else {
                    panic!("{status}");
                };
                assert_eq!(scan.status, expected, "{status}");
            }
            (None, Received::Ignored { .. }) => {}
            (None, other) => panic!("{status}: {other:?}"),
        }
    }
}
