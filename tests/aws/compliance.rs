//! Unsubscribe over real HTTP (and in headless Chromium), SES feedback and erasure on DynamoDB.

use super::*;
use aws_sdk_dynamodb::types::AttributeValue;
use std::process::Command;
use tidings_core::ports::{Customers, Deliverability};
use tidings_core::unsubscribe::respond;

/// Serves the unsubscribe page on a local port, as the Function URL would.
async fn serve(engine: Arc<TestEngine>) -> u16 {
    tidings_tests::http::serve(move |request| {
        let engine = Arc::clone(&engine);
        async move {
            let query = request.target.split_once('?').map_or("", |(_, q)| q).to_owned();
            let page = respond(&*engine, &request.method, &query, &request.body)
                .await
                .expect("page");
            (page.status, "text/html; charset=utf-8", page.body)
        }
    })
    .await
}

/// A form POST (or GET) over HTTP; returns (status, body).
async fn http(port: u16, method: &str, target: &str, body: &str) -> (u16, String) {
    let form = [("Content-Type", "application/x-www-form-urlencoded".to_owned())];
    tidings_tests::http::request(port, method, target, &form, body).await
}

/// Signs Ada up with consent: the welcome (with its unsubscribe link) is sent, the offer waits.
async fn signed_up(aws: &AwsTest, clock: &Arc<SimClock>) -> (Arc<TestEngine>, String) {
    let engine = Arc::new(engine(aws, clock).await);
    let signup = envelope("CustomerSignedUp", "2026-11-02T15:00:00Z", json!({ "customer": ada() }));
    deliver(&engine, clock, Step::Customer, &signup).await;
    let welcome = aws.sent_mail().pop().expect("welcome").replace("\r\n ", " ");
    let header = welcome
        .lines()
        .find(|l| l.starts_with("List-Unsubscribe:"))
        .expect("header");
    let url = header.split('<').nth(1).and_then(|u| u.split('>').next()).expect("url");
    let target = format!("/?{}", url.split_once('?').expect("query").1);
    (engine, target)
}

async fn consent_given(engine: &TestEngine) -> bool {
    let customer = tidings_core::domain::CustomerId::parse("c-1").expect("id");
    engine
        .store()
        .customer(&customer)
        .await
        .expect("store")
        .expect("customer")
        .consent
        .given
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_one_click_post_over_http_unsubscribes_and_cancels_the_waiting_offer() {
    let aws = aws_test().await;
    let clock = Arc::new(SimClock::new(ts("2026-11-02T15:00:00Z")));
    let (engine, target) = signed_up(&aws, &clock).await;
    assert!(
        aws.item("MSG#welcome_offer#c-1", "FOLLOWUP").await.is_some(),
        "the offer waits"
    );
    let port = serve(Arc::clone(&engine)).await;

    let (status, page) = http(port, "GET", &target, "").await;
    assert_eq!(status, 200);
    assert!(
        page.contains("Unsubscribe from Maple &amp; Moss marketing emails?"),
        "{page}"
    );
    assert!(consent_given(&engine).await, "a GET changes nothing");

    let tampered = target.replacen("token=", "token=x", 1);
    let (status, _) = http(port, "POST", &tampered, "List-Unsubscribe=One-Click").await;
    assert_eq!(status, 400);
    assert!(consent_given(&engine).await, "a bad token changes nothing");

    clock.set(ts("2026-11-02T16:00:00Z"));
    let (status, page) = http(port, "POST", &target, "List-Unsubscribe=One-Click").await;
    assert_eq!(status, 200, "{page}");
    assert!(!consent_given(&engine).await);
    let customer = aws.item("CUSTOMER#c-1", "PROFILE").await.expect("profile");
    let consent = customer
        .get("consent")
        .and_then(|v| v.as_m().ok())
        .expect("consent recorded");
    assert_eq!(consent.get("source"), Some(&AttributeValue::S("unsubscribe".into())));
    assert_eq!(
        consent.get("at"),
        Some(&AttributeValue::S("2026-11-02T16:00:00Z".into()))
    );
    assert!(
        aws.item("MSG#welcome_offer#c-1", "FOLLOWUP").await.is_none(),
        "the waiting offer is cancelled"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_page_works_in_headless_chromium_and_its_visit_unsubscribes_nobody() {
    let Some(chromium) = tidings_tests::chromium() else {
        return;
    };
    let aws = aws_test().await;
    let clock = Arc::new(SimClock::new(ts("2026-11-02T15:00:00Z")));
    let (engine, target) = signed_up(&aws, &clock).await;
    let port = serve(Arc::clone(&engine)).await;
    let url = format!("http://127.0.0.1:{port}{target}");
    let profile = tempfile::tempdir().expect("profile");
    // The repository's target/ (it holds every screenshot), which a CARGO_TARGET_DIR elsewhere
    // leaves uncreated.
    let shots = tidings_tests::repo_root().join("target");
    std::fs::create_dir_all(&shots).expect("target/");
    let shot = shots.join("unsubscribe-page-375.png");
    let output = tokio::task::spawn_blocking(move || {
        Command::new(chromium)
            .args(tidings_tests::headless_args(profile.path()))
            .arg("--window-size=375,800")
            .arg(format!("--screenshot={}", shot.display()))
            .arg(&url)
            .output()
            .expect("chromium runs")
    })
    .await
    .expect("join");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    assert!(
        tidings_tests::repo_root()
            .join("target/unsubscribe-page-375.png")
            .exists()
    );
    assert!(
        consent_given(&engine).await,
        "a browser (or link scanner) opening the link unsubscribes nobody"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_complaint_suppresses_the_address_for_all_later_mail() {
    let (aws, clock, engine) = spawn_app("2026-11-02T15:00:00Z").await;
    let mut complaint = envelope(
        "Email Complaint Received",
        "2026-11-02T15:30:00Z",
        json!({"eventType": "Complaint", "mail": {"messageId": "m-1", "destination": ["1@example.com"], "tags": {}},
               "complaint": {"feedbackId": "fb-1", "timestamp": "2026-11-02T15:30:00Z",
                             "complainedRecipients": [{"emailAddress": "1@example.com"}]}}),
    );
    complaint["source"] = json!("aws.ses");
    deliver(&*ses_events(), &clock, Step::SesEvents, &complaint).await;
    deliver(
        &engine,
        &clock,
        Step::OrderConfirmed,
        &confirmed("2026-11-03T10:00:00Z"),
    )
    .await;
    assert!(aws.sent_mail().is_empty(), "nothing goes to a complaining address");
    let table = scan(&aws).await;
    assert!(
        table.iter().any(|item| item.contains("SUPPRESSED#")),
        "a hashed suppression item"
    );
    assert!(
        !table
            .iter()
            .any(|item| item.contains("SUPPRESSED#") && item.contains("1@example.com"))
    );
}

/// Every item of the table, as text.
pub(crate) async fn scan(aws: &AwsTest) -> Vec<String> {
    let output = aws_sdk_dynamodb::Client::new(&aws.sdk)
        .scan()
        .table_name(&aws.table)
        .send()
        .await
        .expect("scan");
    output.items().iter().map(|item| format!("{item:?}")).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_erasure_leaves_no_personal_data_in_the_table() {
    let (aws, clock, engine) = spawn_app("2026-11-02T15:00:00Z").await;
    let mut person = ada();
    person["first_name"] = json!("Zelda");
    person["email"] = json!("zelda.unique@example.com");
    deliver(
        &engine,
        &clock,
        Step::Customer,
        &envelope("CustomerSignedUp", "2026-11-02T15:00:00Z", json!({"customer": person})),
    )
    .await;
    let abandoned = tidings_tests::cart(
        "cart-9",
        &person,
        vec![item("p-mug", "kitchen", 1, 1800)],
        "2026-11-02T15:10:00Z",
    );
    deliver(
        &engine,
        &clock,
        Step::CartAbandoned,
        &envelope("CartUpdated", "2026-11-02T15:10:00Z", json!({"cart": abandoned})),
    )
    .await;
    let mut placed = order(
        "o-9",
        &person,
        "USD",
        vec![item("p-tea", "tea", 1, 1200)],
        "2026-11-02T16:00:00Z",
    );
    placed["shipping_address"]["line1"] = json!("221B Unique Street");
    deliver(
        &engine,
        &clock,
        Step::OrderConfirmed,
        &envelope("OrderConfirmed", "2026-11-02T16:00:00Z", json!({"order": placed})),
    )
    .await;
    let before = scan(&aws).await.join("\n");
    assert!(before.contains("zelda.unique@example.com") && before.contains("221B Unique Street"));

    let redact = envelope(
        "CustomerRedacted",
        "2026-11-03T10:00:00Z",
        json!({"customer_id": "c-1", "email": "zelda.unique@example.com"}),
    );
    deliver(&engine, &clock, Step::Customer, &redact).await;
    let after = scan(&aws).await.join("\n");
    for personal in ["Zelda", "zelda.unique", "221B Unique Street", "A Person", "Springfield"] {
        assert!(!after.contains(personal), "{personal} is still in the table:\n{after}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deliveries_are_recorded_on_the_message_and_clicks_count_once() {
    use tidings_core::feedback::tag_value;
    let (aws, clock, engine) = spawn_app_with_an_order("2026-11-02T16:05:00Z").await;
    let mail = json!({"messageId": "m-1", "destination": ["1@example.com"],
        "tags": {"message_key": [tag_value("order_confirmation#o-1")], "customer_id": [tag_value("c-1")]}});
    let ses = |detail_type: &str, time: &str, detail: Value| {
        let mut event = envelope(detail_type, time, detail);
        event["source"] = json!("aws.ses");
        event
    };
    let delivered = ses(
        "Email Delivered",
        "2026-11-02T16:05:02Z",
        json!({"eventType": "Delivery", "mail": mail, "delivery": {"timestamp": "2026-11-02T16:05:02Z"}}),
    );
    deliver(&*ses_events(), &clock, Step::SesEvents, &delivered).await;
    let claim = "MSG#order_confirmation#o-1";
    assert_eq!(
        aws.attribute(claim, "CLAIM", "delivery_status").await.as_deref(),
        Some("delivery")
    );
    assert_eq!(aws.attribute(claim, "CLAIM", "state").await.as_deref(), Some("sent"));

    let click = ses(
        "Email Clicked",
        "2026-11-02T17:00:00Z",
        json!({"eventType": "Click", "mail": mail, "click": {"timestamp": "2026-11-02T17:00:00Z", "link": "https://shop.example/p/mug"}}),
    );
    for _ in 0..3 {
        deliver(&*ses_events(), &clock, Step::SesEvents, &click).await;
    }
    let customer = tidings_core::domain::CustomerId::parse("c-1").expect("id");
    let engagement = engine.store().engagement(&customer).await.expect("engagement");
    assert_eq!(
        (engagement.clicks, engagement.click_times.len()),
        (1, 1),
        "one SES event, one click"
    );
}
