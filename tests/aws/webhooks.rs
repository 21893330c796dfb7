//! The `webhooks` function on moto, served over real HTTP as its Function URL would be: signed
//! deliveries of WooCommerce, AfterShip and EasyPost (the vendors' published payloads) verified
//! with their secrets from SSM, their events on the tidings bus for the steps as deployed, what
//! cannot be translated kept in its dead-letter queue as a capture that replays.

use serde_json::{Value, json};
use std::sync::Arc;
use tidings_aws::webhooks::{DeadLetters, Endpoint, WebhookSecrets};
use tidings_core::config::StoreConfig;
use tidings_core::message::Step;
use tidings_core::webhook::{Delivery, Headers, Received, Source, signature};

fn config() -> StoreConfig {
    let text = format!(
        "{}\n[woocommerce]\nsite_url = \"https://example.com\"\n\n[aftership]\nwebhook_secret_parameter = \"/tidings/aftership/webhook-secret\"\n\n[easypost]\nwebhook_secret_parameter = \"/tidings/easypost/webhook-secret\"\n",
        tidings_core::config::SAMPLE_CONFIG
    );
    StoreConfig::from_toml(&text).expect("config")
}

fn secret(source: Source) -> String {
    tidings_tests::example_secret(source)
}

/// The function as deployed (its environment from infra/functions.json), its secrets in SSM.
async fn endpoint(aws: &tidings_tests::moto::AwsTest) -> Arc<Endpoint> {
    let config = config();
    let ssm = aws_sdk_ssm::Client::new(&aws.sdk);
    for source in Source::ALL {
        let name = tidings_aws::webhooks::secret_parameter(source, &config).expect("configured");
        ssm.put_parameter()
            .name(name)
            .value(secret(source))
            .r#type(aws_sdk_ssm::types::ParameterType::SecureString)
            .send()
            .await
            .expect("parameter");
    }
    let env = aws.environment("webhooks", &config);
    let deployed = StoreConfig::from_toml(&env["STORE_CONFIG"]).expect("STORE_CONFIG");
    Arc::new(Endpoint {
        bus: tidings_aws::EventBridgeBus::new(
            aws_sdk_eventbridge::Client::new(&aws.sdk),
            env["EVENT_BUS_NAME"].clone(),
        ),
        dead_letters: DeadLetters::new(aws_sdk_sqs::Client::new(&aws.sdk), env["DEAD_LETTER_QUEUE_URL"].clone()),
        secrets: WebhookSecrets::new(&ssm, &deployed),
        config: deployed,
    })
}

/// Serves the function on a local port, as its Function URL does.
async fn serve(endpoint: Arc<Endpoint>) -> u16 {
    tidings_tests::http::serve(move |request| {
        let endpoint = Arc::clone(&endpoint);
        async move {
            let path = request.target.split('?').next().unwrap_or("/").to_owned();
            let answer = endpoint
                .answer(
                    &request.method,
                    &path,
                    Headers::new(request.headers),
                    request.body,
                    jiff::Timestamp::now(),
                )
                .await;
            (answer.status, "text/plain; charset=utf-8", answer.body)
        }
    })
    .await
}

/// A request over TCP; returns the status.
async fn request(port: u16, method: &str, path: &str, headers: &[(&str, String)], body: &str) -> u16 {
    tidings_tests::http::request(port, method, path, headers, body).await.0
}

fn fixture(path: &str) -> String {
    std::fs::read_to_string(tidings_tests::repo_root().join("shared/fixtures").join(path)).expect("fixture")
}

/// WooCommerce's headers for `topic` with the signature of `body`.
fn woocommerce(topic: &str, body: &str) -> Vec<(&'static str, String)> {
    vec![
        ("Content-Type", "application/json".into()),
        ("X-WC-Webhook-Source", "https://example.com/".into()),
        ("X-WC-Webhook-Topic", topic.into()),
        (
            "X-WC-Webhook-Signature",
            signature::sign(Source::WooCommerce, body.as_bytes(), &secret(Source::WooCommerce)),
        ),
        ("X-WC-Webhook-ID", "12".into()),
        ("X-WC-Webhook-Delivery-ID", "d41d8cd98f00b204e9800998ecf8427e".into()),
    ]
}

#[tokio::test]
async fn a_signed_woocommerce_order_reaches_the_bus_and_the_step_confirms_it() {
    let (aws, clock, engine) = crate::spawn_app("2017-03-22T19:28:08Z").await;
    let port = serve(endpoint(&aws).await).await;
    let body = fixture("woocommerce/order.json");
    assert_eq!(
        request(
            port,
            "POST",
            "/woocommerce",
            &woocommerce("order.created", &body),
            &body
        )
        .await,
        200
    );
    let emitted = aws.emitted().await;
    assert_eq!(emitted.len(), 1, "{emitted:?}");
    let event = &emitted[0];
    assert_eq!(
        (event["source"].as_str(), event["detail-type"].as_str()),
        (Some("tidings.woocommerce"), Some("OrderConfirmed"))
    );
    assert_eq!(event["time"], "2017-03-22T19:28:08Z", "the order's date_modified_gmt");
    crate::deliver(&engine, &clock, Step::OrderConfirmed, event).await;
    let mail = aws.sent_mail();
    assert_eq!(mail.len(), 1);
    assert!(mail[0].contains("#727"), "the WooCommerce order's number");
    assert!(aws.failures().await.is_empty());
}

#[tokio::test]
async fn bad_signatures_are_refused_and_pings_unknown_topics_and_paths_publish_nothing() {
    let aws = tidings_tests::moto::aws_test().await;
    let port = serve(endpoint(&aws).await).await;
    let body = fixture("woocommerce/order.json");
    let mut headers = woocommerce("order.created", &body);
    let tampered = body.replace("29.35", "0.01");
    assert_eq!(request(port, "POST", "/woocommerce", &headers, &tampered).await, 401);
    headers.retain(|(name, _)| *name != "X-WC-Webhook-Signature");
    assert_eq!(request(port, "POST", "/woocommerce", &headers, &body).await, 401);
    let ping = [("Content-Type", "application/x-www-form-urlencoded".to_owned())];
    assert_eq!(request(port, "POST", "/woocommerce", &ping, "webhook_id=12").await, 200);
    let coupon = r#"{"id":719,"code":"summer"}"#;
    assert_eq!(
        request(
            port,
            "POST",
            "/woocommerce",
            &woocommerce("coupon.created", coupon),
            coupon
        )
        .await,
        200
    );
    // A carrier's scan signed with WooCommerce's secret is not AfterShip's.
    let scan = fixture("aftership/tracking_update.json");
    let wrong = [(
        "aftership-hmac-sha256",
        signature::sign(Source::AfterShip, scan.as_bytes(), "another"),
    )];
    assert_eq!(request(port, "POST", "/aftership", &wrong, &scan).await, 401);
    assert_eq!(request(port, "GET", "/woocommerce", &[], "").await, 405);
    assert_eq!(request(port, "POST", "/shopify", &[], "{}").await, 404);
    assert!(aws.emitted().await.is_empty());
    assert!(aws.failures().await.is_empty());
}

#[tokio::test]
async fn a_signed_delivery_that_cannot_be_translated_is_kept_as_a_capture_that_replays_and_answered_200() {
    let aws = tidings_tests::moto::aws_test().await;
    let port = serve(endpoint(&aws).await).await;
    let broken = fixture("woocommerce/order.json").replace("\"currency\": \"USD\"", "\"currency\": \"US Dollars\"");
    assert_eq!(
        request(
            port,
            "POST",
            "/woocommerce",
            &woocommerce("order.created", &broken),
            &broken
        )
        .await,
        200
    );
    assert!(aws.emitted().await.is_empty());
    let kept = aws.failures().await;
    assert_eq!(kept.len(), 1);
    let capture = &kept[0];
    assert_eq!(capture["topic"], "order.created");
    assert!(
        capture["reason"]
            .as_str()
            .is_some_and(|r| r.starts_with("body.currency:")),
        "{capture}"
    );
    assert_eq!(capture["body"], broken);
    // The capture replays: verified with the same secret, failing on the same field.
    let delivery = Delivery::captured(&capture.to_string())
        .expect("a capture")
        .expect("valid");
    match delivery.receive(&secret(Source::WooCommerce), &config()) {
        Received::Untranslatable { error, .. } => assert_eq!(error.field, "body.currency"),
        other => panic!("{other:?}"),
    }
}

/// An EasyPost scan before the parcel is shipped (held in DynamoDB under its number), the parcel
/// shipped with that number, then AfterShip's out-for-delivery: each through the function, the
/// bus and the order-shipped step as deployed.
#[tokio::test]
async fn carrier_scans_find_their_parcel_by_tracking_number_on_dynamodb() {
    let (aws, clock, engine) = crate::spawn_app_with_an_order("2026-11-02T10:00:00Z").await;
    let port = serve(endpoint(&aws).await).await;
    let number = "9361289676091361892011";
    let mut easypost: Value = serde_json::from_str(&fixture("easypost/event-body.json")).expect("json");
    easypost["result"]["tracking_code"] = json!(number);
    easypost["result"]["status"] = json!("in_transit");
    let details = easypost["result"]["tracking_details"].as_array_mut().expect("details");
    details.truncate(2);
    details[1]["datetime"] = json!("2026-11-03T12:00:00Z");
    let body = easypost.to_string();
    let signed = [(
        "X-Hmac-Signature",
        signature::sign(Source::EasyPost, body.as_bytes(), &secret(Source::EasyPost)),
    )];
    assert_eq!(request(port, "POST", "/easypost", &signed, &body).await, 200);
    let scan: Vec<Value> = aws
        .emitted()
        .await
        .into_iter()
        .filter(|e| e["detail-type"] == "TrackingUpdated")
        .collect();
    assert_eq!((scan.len(), scan[0]["source"].as_str()), (1, Some("tidings.easypost")));
    let held = crate::deliver(&engine, &clock, Step::OrderShipped, &scan[0]).await;
    assert!(held.to_string().contains("held"), "{held}");
    let shipment = json!({"id": "shp-1", "carrier": "usps", "tracking_number": "9361 2896 7609 1361 8920 11", "shipped_at": "2026-11-03T13:00:00Z"});
    let shipped = tidings_tests::envelope(
        "OrderShipped",
        "2026-11-03T13:00:00Z",
        json!({"order_id": "o-1", "shipment": shipment}),
    );
    let answer = crate::deliver(&engine, &clock, Step::OrderShipped, &shipped).await;
    // The held scan is released and recorded: the stall watch counts it (`#1`).
    assert!(answer.to_string().contains("shipment_stalled#shp-1#1"), "{answer}");
    let aftership =
        fixture("aftership/tracking_update.json").replace("2021-01-05T07:40:00-05:00", "2026-11-04T07:40:00-05:00");
    let signed = [(
        "Aftership-Hmac-Sha256",
        signature::sign(Source::AfterShip, aftership.as_bytes(), &secret(Source::AfterShip)),
    )];
    assert_eq!(request(port, "POST", "/aftership", &signed, &aftership).await, 200);
    let scans: Vec<Value> = aws
        .emitted()
        .await
        .into_iter()
        .filter(|e| e["detail-type"] == "TrackingUpdated")
        .collect();
    assert_eq!(scans.len(), 1);
    crate::deliver(&engine, &clock, Step::OrderShipped, &scans[0]).await;
    let subjects = crate::subjects(&aws);
    assert!(subjects.iter().any(|s| s.contains("on its way")), "{subjects:?}");
    assert!(subjects.iter().any(|s| s.contains("Out for delivery")), "{subjects:?}");
}
