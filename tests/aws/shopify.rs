//! Shopify discount codes against the local Admin API stand-in (tests/support/shopify_admin.rs:
//! every request checked against Shopify's documented shape), with the credentials from SSM on
//! moto; and the engine end to end: no email carries a code the stand-in does not hold. Then the
//! `shopify` function: webhooks forwarded to the tidings bus, and tidings' unsubscribes mirrored to
//! the store's email marketing consent.

use serde_json::json;
use std::sync::Arc;
use tidings_aws::shopify::{CredentialSource, Credentials, ShopifyAdmin, ShopifyDiscounts, webhooks};
use tidings_core::domain::{Currency, CustomerId};
use tidings_core::event::{CouponIssued, CouponType};
use tidings_core::message::MessageKey;
use tidings_core::ports::{DiscountError, Discounts};
use tidings_tests::shopify_admin::{API_VERSION, AdminStandIn, Fault};
use tidings_tests::{customer, envelope, item, order_confirmed, spawn_app, ts};

fn usd() -> Currency {
    Currency::parse("USD").expect("USD")
}

fn client(stand_in: &AdminStandIn) -> Credentials {
    Credentials::Client {
        id: stand_in.client.0.clone(),
        secret: stand_in.client.1.clone(),
    }
}

fn discounts(stand_in: &AdminStandIn, credentials: Credentials) -> ShopifyDiscounts {
    let admin = ShopifyAdmin::new(&stand_in.url, API_VERSION, CredentialSource::Fixed(credentials));
    ShopifyDiscounts::new(Arc::new(admin), usd())
}

fn coupon(code: &str, coupon_type: CouponType, customer: &str) -> CouponIssued {
    CouponIssued {
        code: code.into(),
        customer_id: CustomerId::parse(customer).expect("id"),
        message_key: MessageKey::parse("delivery_confirmation#820982911946154508").expect("key"),
        message_kind: tidings_core::message::MessageKind::DeliveryConfirmation,
        coupon_type,
        amount_off: (coupon_type == CouponType::Fixed).then_some(1000),
        percent_off: (coupon_type == CouponType::Percent).then_some(10),
        min_subtotal: (coupon_type == CouponType::Fixed).then_some(5000),
        currency: usd(),
        expires_at: ts("2026-12-05T16:40:00Z"),
    }
}

#[tokio::test]
async fn each_kind_of_coupon_is_created_in_the_documented_shape_for_its_customer_only() {
    let stand_in = AdminStandIn::start(Some("shpat_legacy"));
    let discounts = discounts(&stand_in, Credentials::Token("shpat_legacy".into()));
    for (code, kind) in [
        ("THANKS-A", CouponType::Percent),
        ("LOYAL-B", CouponType::Fixed),
        ("SHIP-C", CouponType::FreeShipping),
    ] {
        discounts
            .create(&coupon(code, kind, "115310627314723954"))
            .await
            .expect("created");
    }
    discounts
        .create(&coupon(
            "CART-D",
            CouponType::Percent,
            "guest:0123456789abcdef0123456789abcdef",
        ))
        .await
        .expect("guest");
    let state = stand_in.state.lock().expect("state");
    assert_eq!(state.violations, Vec::<String>::new());
    let percent = &state.discounts["THANKS-A"];
    assert_eq!(percent["customerGets"]["value"]["percentage"], json!(0.1));
    assert_eq!(percent["usageLimit"], 1);
    assert_eq!(percent["endsAt"], "2026-12-05T16:40:00Z");
    assert_eq!(
        percent["context"],
        json!({"customers": {"add": ["gid://shopify/Customer/115310627314723954"]}})
    );
    let fixed = &state.discounts["LOYAL-B"];
    assert_eq!(fixed["customerGets"]["value"]["discountAmount"]["amount"], "10.00");
    assert_eq!(
        fixed["minimumRequirement"]["subtotal"]["greaterThanOrEqualToSubtotal"],
        "50.00"
    );
    assert_eq!(state.discounts["SHIP-C"]["destination"], json!({"all": true}));
    assert_eq!(
        state.discounts["CART-D"]["context"],
        json!({"all": "ALL"}),
        "a guest has no Shopify customer"
    );
}

#[tokio::test]
async fn asking_again_for_the_same_code_creates_no_second_discount() {
    let stand_in = AdminStandIn::start(None);
    let discounts = discounts(&stand_in, client(&stand_in));
    let thanks = coupon("THANKS-A", CouponType::Percent, "1");
    discounts.create(&thanks).await.expect("created");
    discounts.create(&thanks).await.expect("the same discount, read back");
    let state = stand_in.state.lock().expect("state");
    assert_eq!(state.discounts.len(), 1);
    assert_eq!(
        state.operations,
        [
            "discountCodeBasicCreate",
            "discountCodeBasicCreate",
            "codeDiscountNodeByCode"
        ]
    );
    assert_eq!(state.tokens_issued, 1, "the client-credentials token is cached");
}

#[tokio::test]
async fn a_lost_answer_is_retried_into_the_discount_that_was_made() {
    let stand_in = AdminStandIn::start(None);
    let discounts = discounts(&stand_in, client(&stand_in));
    let thanks = coupon("THANKS-A", CouponType::Percent, "1");
    stand_in.inject(&[Fault::LostAnswer]);
    assert!(matches!(
        discounts.create(&thanks).await,
        Err(DiscountError::Unavailable(_))
    ));
    discounts.create(&thanks).await.expect("read back as ours");
    assert_eq!(stand_in.state.lock().expect("state").discounts.len(), 1);
}

#[tokio::test]
async fn throttling_and_server_errors_are_worth_waiting_for_and_a_foreign_code_is_refused() {
    let stand_in = AdminStandIn::start(None);
    let discounts = discounts(&stand_in, client(&stand_in));
    let thanks = coupon("THANKS-A", CouponType::Percent, "1");
    stand_in.inject(&[Fault::Throttled, Fault::Status(503), Fault::Status(429)]);
    for _ in 0..3 {
        assert!(matches!(
            discounts.create(&thanks).await,
            Err(DiscountError::Unavailable(_))
        ));
    }
    assert!(stand_in.state.lock().expect("state").discounts.is_empty());
    discounts.create(&thanks).await.expect("then created");
    // The merchant made a discount of that code by hand: this email must not carry it.
    stand_in
        .state
        .lock()
        .expect("state")
        .discounts
        .insert("CART-X".into(), json!({"title": "Black Friday", "code": "CART-X"}));
    let error = discounts.create(&coupon("CART-X", CouponType::Percent, "1")).await;
    assert!(matches!(error, Err(DiscountError::Refused(_))), "{error:?}");
}

#[tokio::test]
async fn an_expired_token_is_exchanged_once_more_and_a_fixed_amount_in_another_currency_is_never_asked_for() {
    let stand_in = AdminStandIn::start(None);
    let discounts = discounts(&stand_in, client(&stand_in));
    discounts
        .create(&coupon("A-1", CouponType::Percent, "1"))
        .await
        .expect("first token");
    stand_in.inject(&[Fault::RevokeTokens]);
    discounts
        .create(&coupon("A-2", CouponType::Percent, "1"))
        .await
        .expect("a fresh token");
    assert_eq!(stand_in.state.lock().expect("state").tokens_issued, 2);
    let mut euros = coupon("LOYAL-E", CouponType::Fixed, "1");
    euros.currency = Currency::parse("EUR").expect("EUR");
    assert!(matches!(discounts.create(&euros).await, Err(DiscountError::Refused(_))));
    assert!(!stand_in.state.lock().expect("state").discounts.contains_key("LOYAL-E"));
}

#[tokio::test]
async fn the_credentials_are_read_from_the_ssm_secure_string() {
    let aws = crate::aws_test().await;
    let stand_in = AdminStandIn::start(None);
    let ssm = aws_sdk_ssm::Client::new(&aws.sdk);
    let value = json!({"client_id": stand_in.client.0, "client_secret": stand_in.client.1}).to_string();
    ssm.put_parameter()
        .name("/tidings/shopify/credentials")
        .value(value)
        .r#type(aws_sdk_ssm::types::ParameterType::SecureString)
        .send()
        .await
        .expect("parameter");
    let source = CredentialSource::Parameter {
        client: ssm,
        name: "/tidings/shopify/credentials".into(),
    };
    let discounts = ShopifyDiscounts::new(Arc::new(ShopifyAdmin::new(&stand_in.url, API_VERSION, source)), usd());
    discounts
        .create(&coupon("THANKS-S", CouponType::Percent, "1"))
        .await
        .expect("created");
    assert_eq!(stand_in.state.lock().expect("state").tokens_issued, 1);
}

/// The engine with the real Shopify adapter: under throttling, outages and lost answers, every
/// code in every email is one the stand-in holds, and each message made one discount at most.
#[test]
fn no_email_carries_a_code_the_store_does_not_hold_under_injected_failures() {
    let stand_in = AdminStandIn::start(None);
    let app = spawn_app().with_discounts(Arc::new(discounts(&stand_in, client(&stand_in))));
    stand_in.inject(&[
        Fault::Throttled,
        Fault::LostAnswer,
        Fault::Status(502),
        Fault::RevokeTokens,
    ]);
    tidings_tests::four_delivered_orders(&app);
    let state = stand_in.state.lock().expect("state");
    assert_eq!(state.violations, Vec::<String>::new());
    assert!(state.faults.is_empty(), "every injected failure was met");
    let sent = app.engine.mailer().sent();
    let deliveries: Vec<_> = sent
        .iter()
        .filter(|e| e.key.kind().as_str() == "delivery_confirmation")
        .collect();
    assert_eq!(deliveries.len(), 4, "every confirmation went");
    for email in &deliveries {
        let raw = String::from_utf8_lossy(&email.raw);
        let code = state.discounts.keys().find(|code| raw.contains(code.as_str()));
        assert!(code.is_some(), "{} carries a code the store holds", email.key);
    }
    assert_eq!(state.discounts.len(), 4, "one discount per message");
    for email in &sent {
        let raw = String::from_utf8_lossy(&email.raw).into_owned();
        for word in raw.split(|c: char| !(c.is_ascii_alphanumeric() || c == '-')) {
            if word.starts_with("THANKS-") {
                assert!(
                    state.discounts.contains_key(&word.to_uppercase()),
                    "{word} mailed, never created"
                );
            }
        }
    }
}

/// The `shopify` function on moto: a week's orders/create as Shopify's partner source delivers
/// it goes on the tidings bus as an `OrderConfirmed` from `tidings.shopify`, which the
/// order-confirmed step (as deployed) turns into the confirmation SES accepts.
#[tokio::test]
async fn the_shopify_function_forwards_the_translated_order_and_the_step_confirms_it() {
    let (aws, clock, engine) = crate::spawn_app("2026-11-02T15:05:00Z").await;
    let week =
        std::fs::read_to_string(tidings_tests::repo_root().join("docs/examples/shopify-week.jsonl")).expect("week");
    let bus = tidings_aws::EventBridgeBus::new(aws_sdk_eventbridge::Client::new(&aws.sdk), aws.bus.clone());
    let config = tidings_core::config::StoreConfig::sample();
    let answer = tidings_aws::shopify::webhooks::forward(&bus, &config, orders_create(&week))
        .await
        .expect("forwarded");
    assert_eq!(answer["forwarded"], json!(["OrderConfirmed"]));
    let emitted = aws.emitted().await;
    assert_eq!(emitted.len(), 1, "{emitted:?}");
    let event = &emitted[0];
    assert_eq!(
        (event["source"].as_str(), event["detail-type"].as_str()),
        (Some("tidings.shopify"), Some("OrderConfirmed"))
    );
    assert_eq!(event["detail"]["order"]["id"], "820982911946154508");
    assert_eq!(event["time"], "2026-11-02T15:05:00Z", "the webhook's time");
    crate::deliver(&engine, &clock, tidings_core::message::Step::OrderConfirmed, event).await;
    let mail = aws.sent_mail();
    assert_eq!(mail.len(), 1);
    assert!(mail[0].contains("#9999"), "the Shopify order's number");
    // A topic it does not read, and a source it does not accept, put nothing on the bus.
    let deleted = week
        .lines()
        .last()
        .expect("products line")
        .replace("products/update", "products/delete");
    assert!(
        tidings_aws::shopify::webhooks::forward(&bus, &config, &deleted)
            .await
            .expect("ok")["ignored"]
            .is_string()
    );
    let mut named = config.clone();
    named.shopify = Some(
        toml::from_str("shop = \"maple-moss.myshopify.com\"\nevent_source = \"aws.partner/shopify.com/1/other\"")
            .expect("toml"),
    );
    let other = tidings_aws::shopify::webhooks::forward(&bus, &named, orders_create(&week))
        .await
        .expect("ok");
    assert_eq!(other["ignored"], "another event source");
    assert!(
        aws.emitted()
            .await
            .iter()
            .all(|e| e["detail-type"] == "EmailSent" || e["detail-type"] == "CouponIssued")
    );
}

#[tokio::test]
async fn a_payload_that_breaks_the_contract_fails_the_invocation_naming_the_shopify_field() {
    let aws = crate::aws_test().await;
    let bus = tidings_aws::EventBridgeBus::new(aws_sdk_eventbridge::Client::new(&aws.sdk), aws.bus.clone());
    let week =
        std::fs::read_to_string(tidings_tests::repo_root().join("docs/examples/shopify-week.jsonl")).expect("week");
    let bad = orders_create(&week).replacen(
        "\"presentment_money\":{\"amount\":\"89.99\"",
        "\"presentment_money\":{\"amount\":\"89,99\"",
        1,
    );
    assert_ne!(bad, orders_create(&week), "the fixture has that price");
    let error = tidings_aws::shopify::webhooks::forward(&bus, &tidings_core::config::StoreConfig::sample(), &bad)
        .await
        .expect_err("rejected");
    assert!(
        error
            .to_string()
            .contains("detail.payload.line_items[0].price_set.presentment_money.amount"),
        "{error}"
    );
    assert!(aws.emitted().await.is_empty());
}

/// The admin of the stand-in, with a client-credentials app.
fn admin(stand_in: &AdminStandIn) -> ShopifyAdmin {
    ShopifyAdmin::new(&stand_in.url, API_VERSION, CredentialSource::Fixed(client(stand_in)))
}

/// `CustomerUnsubscribed` as tidings puts it on its bus.
fn unsubscribed(customer_id: &str, scope: &str, at: &str) -> serde_json::Value {
    let mut event = envelope(
        "CustomerUnsubscribed",
        at,
        json!({"customer_id": customer_id, "scope": scope, "at": at}),
    );
    event["source"] = json!("tidings");
    event
}

/// A Shopify customer unsubscribes through tidings: the engine announces it on the bus, and the
/// `shopify` function given that very envelope makes exactly one documented consent update, for
/// that customer's gid, dated when the customer unsubscribed; it puts nothing on the bus itself.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tidings_unsubscribe_of_a_shopify_customer_becomes_one_documented_consent_update() {
    let (aws, clock, engine) = crate::spawn_app("2026-11-02T15:00:00Z").await;
    let who = customer("115310627314723954", "en-US", "America/New_York", true);
    let signup = envelope("CustomerSignedUp", "2026-11-02T15:00:00Z", json!({ "customer": who }));
    crate::deliver(&engine, &clock, tidings_core::message::Step::Customer, &signup).await;
    let id = CustomerId::parse("115310627314723954").expect("id");
    engine
        .set_marketing_consent(
            &id,
            false,
            tidings_core::ports::ConsentSource::Unsubscribe,
            ts("2026-11-02T16:30:00Z"),
        )
        .await
        .expect("unsubscribed");
    let announced: Vec<_> = aws
        .emitted()
        .await
        .into_iter()
        .filter(|e| e["detail-type"] == "CustomerUnsubscribed")
        .collect();
    assert_eq!(announced.len(), 1, "{announced:?}");

    let stand_in = AdminStandIn::start(None);
    let admin = admin(&stand_in);
    let bus = tidings_aws::EventBridgeBus::new(aws_sdk_eventbridge::Client::new(&aws.sdk), aws.bus.clone());
    let config = tidings_core::config::StoreConfig::sample();
    let answer = webhooks::dispatch(&bus, &config, Some(&admin), &announced[0].to_string())
        .await
        .expect("mirrored");
    assert_eq!(answer, json!({"mirrored": "CustomerUnsubscribed"}));
    {
        let state = stand_in.state.lock().expect("state");
        assert_eq!(state.violations, Vec::<String>::new());
        assert_eq!(state.operations, ["customerEmailMarketingConsentUpdate"]);
        assert_eq!(
            state.consent_updates,
            [json!({
                "customerId": "gid://shopify/Customer/115310627314723954",
                "emailMarketingConsent": {
                    "marketingState": "UNSUBSCRIBED",
                    "marketingOptInLevel": "SINGLE_OPT_IN",
                    "consentUpdatedAt": "2026-11-02T16:30:00Z",
                },
            })]
        );
    }
    assert!(aws.emitted().await.is_empty(), "the mirror puts nothing on the bus");
}

/// A guest has no Shopify customer: no call at all (not even for a token). A complaint (`all`) of
/// a Shopify customer is mirrored like an unsubscribe.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_guest_unsubscribe_makes_no_call_and_a_complaint_is_mirrored_too() {
    let aws = crate::aws_test().await;
    let bus = tidings_aws::EventBridgeBus::new(aws_sdk_eventbridge::Client::new(&aws.sdk), aws.bus.clone());
    let config = tidings_core::config::StoreConfig::sample();
    let stand_in = AdminStandIn::start(None);
    let admin = admin(&stand_in);
    let guest = unsubscribed(
        "guest:0123456789abcdef0123456789abcdef",
        "marketing",
        "2026-11-02T16:30:00Z",
    );
    let answer = webhooks::dispatch(&bus, &config, Some(&admin), &guest.to_string())
        .await
        .expect("skipped");
    assert_eq!(answer["ignored"], "not a Shopify customer");
    {
        let state = stand_in.state.lock().expect("state");
        assert!(state.operations.is_empty(), "{:?}", state.operations);
        assert_eq!(state.tokens_issued, 0, "not even a token");
    }
    let complaint = unsubscribed("624407574", "all", "2026-11-02T17:00:00.5Z");
    webhooks::dispatch(&bus, &config, Some(&admin), &complaint.to_string())
        .await
        .expect("mirrored");
    let state = stand_in.state.lock().expect("state");
    assert_eq!(state.violations, Vec::<String>::new());
    assert_eq!(state.consent_updates.len(), 1);
    assert_eq!(
        state.consent_updates[0]["customerId"],
        "gid://shopify/Customer/624407574"
    );
    assert_eq!(
        state.consent_updates[0]["emailMarketingConsent"]["consentUpdatedAt"],
        "2026-11-02T17:00:00.5Z"
    );
}

fn diagnostic(error: tidings_aws::lambda::HandlerError) -> (String, String) {
    let diagnostic = lambda_runtime::Diagnostic::from(error);
    (diagnostic.error_type, diagnostic.error_message)
}

/// Throttling fails the invocation as retryable, and the retry makes the one update; a refusal
/// (userErrors), a detail that breaks the contract and missing credentials fail as not retryable.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn throttling_is_retried_into_one_update_and_a_refusal_is_not_retryable() {
    let aws = crate::aws_test().await;
    let bus = tidings_aws::EventBridgeBus::new(aws_sdk_eventbridge::Client::new(&aws.sdk), aws.bus.clone());
    let config = tidings_core::config::StoreConfig::sample();
    let stand_in = AdminStandIn::start(None);
    let admin = admin(&stand_in);
    let event = unsubscribed("115310627314723954", "marketing", "2026-11-02T16:30:00Z").to_string();
    stand_in.inject(&[Fault::Throttled, Fault::Status(503)]);
    for _ in 0..2 {
        let error = webhooks::dispatch(&bus, &config, Some(&admin), &event)
            .await
            .expect_err("unavailable");
        assert_eq!(diagnostic(error).0, "Retryable");
    }
    assert!(stand_in.state.lock().expect("state").consent_updates.is_empty());
    webhooks::dispatch(&bus, &config, Some(&admin), &event)
        .await
        .expect("the retry");
    assert_eq!(stand_in.state.lock().expect("state").consent_updates.len(), 1);

    stand_in
        .state
        .lock()
        .expect("state")
        .missing_customers
        .push("gid://shopify/Customer/624407574".into());
    let deleted = unsubscribed("624407574", "marketing", "2026-11-02T16:30:00Z").to_string();
    let error = webhooks::dispatch(&bus, &config, Some(&admin), &deleted)
        .await
        .expect_err("refused");
    let (kind, message) = diagnostic(error);
    assert_eq!(kind, "Defect");
    assert!(message.contains("customerId: INVALID"), "{message}");

    let mut bad = unsubscribed("624407574", "marketing", "2026-11-02T16:30:00Z");
    bad["detail"]["at"] = json!("yesterday");
    let error = webhooks::dispatch(&bus, &config, Some(&admin), &bad.to_string())
        .await
        .expect_err("rejected");
    let (kind, message) = diagnostic(error);
    assert_eq!(kind, "RejectedEvent");
    assert!(message.contains("detail.at"), "{message}");

    let error = webhooks::dispatch(&bus, &config, None, &event)
        .await
        .expect_err("no credentials");
    assert_eq!(diagnostic(error).0, "Defect");
    let state = stand_in.state.lock().expect("state");
    assert_eq!(state.consent_updates.len(), 1, "nothing more was updated");
    assert_eq!(state.violations, Vec::<String>::new());
}

/// `ProductUpdated` on DynamoDB: the description lands on the product's statistics item without
/// touching what orders counted there.
#[tokio::test]
async fn a_described_product_keeps_its_order_count_on_dynamodb() {
    use tidings_core::ports::Statistics;
    let (aws, clock, engine) = crate::spawn_app("2026-11-02T15:00:00Z").await;
    let who = customer("c-1", "en-US", "America/New_York", false);
    crate::deliver(
        &engine,
        &clock,
        tidings_core::message::Step::OrderConfirmed,
        &order_confirmed(
            "o-1",
            &who,
            vec![item("p-mug", "kitchen", 1, 1800)],
            "2026-11-02T15:00:00Z",
        ),
    )
    .await;
    let product = json!({"product": {"id": "p-mug", "name": "Speckled mug", "image_url": "https://cdn.example/mug.jpg", "url": "https://shop.example/products/mug"}});
    crate::deliver(
        &engine,
        &clock,
        tidings_core::message::Step::OrderConfirmed,
        &envelope("ProductUpdated", "2026-11-02T16:00:00Z", product),
    )
    .await;
    let store = tidings_aws::DynamoStore::new(
        aws_sdk_dynamodb::Client::new(&aws.sdk),
        aws.table.clone(),
        tidings_core::guest::GuestIds::demo(),
    );
    let stats = store.product_stats().await.expect("stats");
    let mug = &stats.products[&tidings_core::domain::ProductId::parse("p-mug").expect("id")];
    assert_eq!(mug.name.as_str(), "Speckled mug");
    assert_eq!(
        mug.image_url.as_ref().map(|u| u.as_str()),
        Some("https://cdn.example/mug.jpg")
    );
    assert_eq!(mug.orders, 1, "the order count stays");
}

/// The week's first orders/create webhook.
fn orders_create(week: &str) -> &str {
    week.lines()
        .find(|l| l.contains(r#""X-Shopify-Topic":"orders/create""#))
        .expect("an orders/create line")
}

/// `tidings-aws import shopify`: the export's buyers into the table on moto, then a webhook
/// order by one of them under their Shopify id is a returning buyer's; run again, nothing twice.
#[tokio::test]
async fn past_orders_imported_into_the_table_make_a_returning_buyer_and_a_rerun_writes_nothing() {
    use tidings_core::ports::Orders;
    let (aws, clock, engine) = crate::spawn_app("2026-11-02T15:00:00Z").await;
    // The deployment's guest-id key (the moto test's secret), as the import is told to use.
    let ids = tidings_core::guest::GuestIds::new(b"aws-test-guest-id-key-0123456789abcdefghijklmnop").expect("key");
    let file = std::fs::File::open(tidings_tests::repo_root().join("shared/fixtures/shopify/orders_export.csv"))
        .expect("export");
    let export = tidings_core::shopify::import::read_export(file, |_| {}).expect("read");
    let history = export.history(&ids);
    let store = tidings_aws::DynamoStore::new(aws_sdk_dynamodb::Client::new(&aws.sdk), aws.table.clone(), ids.clone());
    let written = tidings_aws::history::write_history(&store, &export, &history, &ids)
        .await
        .expect("written");
    assert_eq!((written.customers, written.kept, written.orders), (2, 0, 4));
    let again = tidings_aws::history::write_history(&store, &export, &history, &ids)
        .await
        .expect("again");
    assert_eq!(
        (again.customers, again.kept, again.orders),
        (0, 2, 0),
        "nothing written or counted twice"
    );
    let ada = json!({"id": "7001", "email": "ada@example.com", "marketing_consent": false});
    let order = order_confirmed(
        "o-7001",
        &ada,
        vec![item("p-mug", "kitchen", 1, 1800)],
        "2026-11-02T15:00:00Z",
    );
    crate::deliver(&engine, &clock, tidings_core::message::Step::OrderConfirmed, &order).await;
    let record = store
        .order(&tidings_core::domain::OrderId::parse("o-7001").expect("id"))
        .await
        .expect("read")
        .expect("stored");
    assert!(!record.first_order, "Ada bought before: the imported history is hers");
    assert!(aws.sent_mail()[0].contains("#7001"));
}
