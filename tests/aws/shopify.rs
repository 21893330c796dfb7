//! Shopify discount codes against the local Admin API stand-in (tests/support/shopify_admin.rs:
//! every request checked against Shopify's documented shape), with the credentials from SSM on
//! moto; and the engine end to end: no email carries a code the stand-in does not hold.

use serde_json::json;
use std::sync::Arc;
use tidings_aws::shopify::{CredentialSource, Credentials, ShopifyAdmin, ShopifyDiscounts};
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
    for n in 1..=4 {
        let who = customer(&format!("c-{n}"), "en-US", "America/New_York", true);
        let id = format!("o-{n}");
        app.deliver(&order_confirmed(
            &id,
            &who,
            vec![item("p-mug", "kitchen", 1, 1800)],
            "2026-11-03T15:00:00Z",
        ))
        .expect("order");
        app.deliver(&envelope(
            "OrderDelivered",
            "2026-11-05T15:00:00Z",
            json!({"order_id": id}),
        ))
        .expect("delivered");
    }
    app.run_until(ts("2026-11-06T00:00:00Z"));
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
    let answer = tidings_aws::shopify::webhooks::forward(&bus, &config, week.lines().next().expect("a line"))
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
    let products = week.lines().last().expect("products line");
    assert!(
        tidings_aws::shopify::webhooks::forward(&bus, &config, products)
            .await
            .expect("ok")["ignored"]
            .is_string()
    );
    let mut named = config.clone();
    named.shopify = Some(
        toml::from_str("shop = \"maple-moss.myshopify.com\"\nevent_source = \"aws.partner/shopify.com/1/other\"")
            .expect("toml"),
    );
    let other = tidings_aws::shopify::webhooks::forward(&bus, &named, week.lines().next().expect("line"))
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
    let bad = week.lines().next().expect("line").replacen(
        "\"presentment_money\":{\"amount\":\"89.99\"",
        "\"presentment_money\":{\"amount\":\"89,99\"",
        1,
    );
    assert_ne!(bad, week.lines().next().expect("line"), "the fixture has that price");
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
