//! Unsubscribe over real HTTP (and in headless Chromium), SES feedback and erasure on DynamoDB.

use super::*;
use aws_sdk_dynamodb::types::AttributeValue;
use std::process::Command;
use tidings_core::ports::{Customers, Deliverability};
use tidings_core::unsubscribe::respond;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Serves the unsubscribe page on a local port, as the Function URL would.
async fn serve(engine: Arc<TestEngine>) -> u16 {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("port");
    let port = listener.local_addr().expect("addr").port();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let engine = Arc::clone(&engine);
            tokio::spawn(async move {
                let mut request = Vec::new();
                let mut buffer = [0u8; 4096];
                let (head_end, length) = loop {
                    let Ok(read) = socket.read(&mut buffer).await else {
                        return;
                    };
                    if read == 0 {
                        return;
                    }
                    request.extend_from_slice(&buffer[..read]);
                    if let Some(end) = request.windows(4).position(|w| w == b"\r\n\r\n") {
                        let head = String::from_utf8_lossy(&request[..end]).to_lowercase();
                        let length = head
                            .lines()
                            .find_map(|l| l.strip_prefix("content-length:").map(|v| v.trim().parse().unwrap_or(0)))
                            .unwrap_or(0usize);
                        break (end + 4, length);
                    }
                };
                while request.len() < head_end + length {
                    let Ok(read) = socket.read(&mut buffer).await else {
                        return;
                    };
                    if read == 0 {
                        break;
                    }
                    request.extend_from_slice(&buffer[..read]);
                }
                let head = String::from_utf8_lossy(&request[..head_end]).into_owned();
                let mut line = head.lines().next().unwrap_or("").split(' ');
                let (method, target) = (line.next().unwrap_or("GET"), line.next().unwrap_or("/"));
                let query = target.split_once('?').map_or("", |(_, q)| q);
                let body = &request[head_end..];
                let page = respond(&*engine, method, query, body).await.expect("page");
                let response = format!(
                    "HTTP/1.1 {} X\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{}",
                    page.status,
                    page.body.len(),
                    page.body
                );
                let _ = socket.write_all(response.as_bytes()).await;
            });
        }
    });
    port
}

/// A plain HTTP request; returns (status, body).
async fn http(port: u16, method: &str, target: &str, body: &str) -> (u16, String) {
    let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .expect("connect");
    let request = format!(
        "{method} {target} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).await.expect("write");
    let mut response = String::new();
    stream.read_to_string(&mut response).await.expect("read");
    let status = response.split(' ').nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    let body = response.split_once("\r\n\r\n").map_or("", |(_, b)| b).to_owned();
    (status, body)
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
    let Ok(chromium) = which("chromium") else {
        eprintln!("chromium is not installed (apt-get install chromium): page not checked in a browser");
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
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
            ])
            .args([
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ])
            .arg(format!("--user-data-dir={}", profile.path().display()))
            .args(["--window-size=375,800", "--hide-scrollbars"])
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

fn which(program: &str) -> Result<std::path::PathBuf, ()> {
    std::env::var_os("PATH")
        .into_iter()
        .flat_map(|paths| std::env::split_paths(&paths).collect::<Vec<_>>())
        .map(|dir| dir.join(program))
        .find(|path| path.is_file())
        .ok_or(())
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
