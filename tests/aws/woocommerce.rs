//! WooCommerce coupons against the local REST stand-in (tests/support/woocommerce_rest.rs: every
//! request checked against WooCommerce's documented coupon shape), with the REST key from SSM on
//! moto; and the engine end to end: no email carries a code the stand-in does not hold.

use serde_json::json;
use std::sync::Arc;
use tidings_aws::secret::Secret;
use tidings_aws::woocommerce::{RestKey, WooCommerceCoupons};
use tidings_core::domain::{Currency, CustomerId, EmailAddress};
use tidings_core::event::{CouponIssued, CouponType};
use tidings_core::message::MessageKey;
use tidings_core::ports::{DiscountError, Discounts};
use tidings_tests::woocommerce_rest::{CONSUMER_KEY, CONSUMER_SECRET, Fault, RestStandIn};
use tidings_tests::{spawn_app, ts};

fn usd() -> Currency {
    Currency::parse("USD").expect("USD")
}

fn key() -> RestKey {
    RestKey {
        consumer_key: CONSUMER_KEY.into(),
        consumer_secret: CONSUMER_SECRET.into(),
    }
}

fn coupons(stand_in: &RestStandIn) -> WooCommerceCoupons {
    WooCommerceCoupons::with_key(&stand_in.url, &key(), usd())
}

fn ada() -> EmailAddress {
    EmailAddress::parse("ada@example.com").expect("address")
}

fn coupon(code: &str, coupon_type: CouponType, message: &str) -> CouponIssued {
    CouponIssued {
        code: code.into(),
        customer_id: CustomerId::parse("25").expect("id"),
        message_key: MessageKey::parse(message).expect("key"),
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
async fn each_kind_of_coupon_is_created_in_the_documented_shape_for_its_address_only() {
    let stand_in = RestStandIn::start();
    let coupons = coupons(&stand_in);
    for (code, kind) in [
        ("THANKS-A", CouponType::Percent),
        ("LOYAL-B", CouponType::Fixed),
        ("SHIP-C", CouponType::FreeShipping),
    ] {
        coupons
            .create_for(&coupon(code, kind, "delivery_confirmation#727"), &ada())
            .await
            .expect("created");
    }
    let state = stand_in.state.lock().expect("state");
    assert_eq!(state.violations, Vec::<String>::new());
    let percent = &state.coupons["thanks-a"];
    assert_eq!(
        (percent["discount_type"].as_str(), percent["amount"].as_str()),
        (Some("percent"), Some("10"))
    );
    assert_eq!(percent["usage_limit"], 1);
    assert_eq!(percent["email_restrictions"], json!(["ada@example.com"]));
    assert_eq!(percent["date_expires_gmt"], "2026-12-05T16:40:00");
    let fixed = &state.coupons["loyal-b"];
    assert_eq!(
        (
            fixed["discount_type"].as_str(),
            fixed["amount"].as_str(),
            fixed["minimum_amount"].as_str()
        ),
        (Some("fixed_cart"), Some("10.00"), Some("50.00"))
    );
    let shipping = &state.coupons["ship-c"];
    assert_eq!(
        (shipping["free_shipping"].as_bool(), shipping["amount"].as_str()),
        (Some(true), Some("0"))
    );
}

#[tokio::test]
async fn a_lost_answer_or_asking_again_is_read_back_as_ours_and_a_foreign_code_is_refused() {
    let stand_in = RestStandIn::start();
    let coupons = coupons(&stand_in);
    let thanks = coupon("THANKS-L", CouponType::Percent, "delivery_confirmation#727");
    stand_in.inject(&[Fault::LostAnswer]);
    assert!(matches!(
        coupons.create_for(&thanks, &ada()).await,
        Err(DiscountError::Unavailable(_))
    ));
    coupons.create_for(&thanks, &ada()).await.expect("read back as ours");
    coupons.create_for(&thanks, &ada()).await.expect("and again");
    // Mailed to another address now: the code is restricted to the first, so it is not mailed.
    let grace = EmailAddress::parse("grace@example.com").expect("address");
    assert!(matches!(
        coupons.create_for(&thanks, &grace).await,
        Err(DiscountError::Refused(_))
    ));
    // A code worth nothing is never made.
    let mut nothing = coupon("ZERO-1", CouponType::Percent, "delivery_confirmation#729");
    nothing.percent_off = None;
    assert!(matches!(
        coupons.create_for(&nothing, &ada()).await,
        Err(DiscountError::Refused(_))
    ));
    // The same code made for another message is another coupon: never mailed.
    let other = coupon("THANKS-L", CouponType::Percent, "delivery_confirmation#728");
    assert!(matches!(
        coupons.create_for(&other, &ada()).await,
        Err(DiscountError::Refused(_))
    ));
    // Outages are worth waiting for.
    for status in [429, 500, 503] {
        stand_in.inject(&[Fault::Status(status)]);
        assert!(matches!(
            coupons
                .create_for(
                    &coupon("WAIT-1", CouponType::Percent, "delivery_confirmation#9"),
                    &ada()
                )
                .await,
            Err(DiscountError::Unavailable(_))
        ));
    }
    let state = stand_in.state.lock().expect("state");
    assert_eq!(state.violations, Vec::<String>::new());
    assert_eq!(state.coupons.len(), 1, "one coupon for the lost answer and both asks");
}

#[tokio::test]
async fn a_wrong_key_waits_and_a_fixed_amount_in_another_currency_is_never_asked_for() {
    let stand_in = RestStandIn::start();
    let wrong = WooCommerceCoupons::with_key(
        &stand_in.url,
        &RestKey {
            consumer_key: "ck_wrong".into(),
            consumer_secret: "cs_wrong".into(),
        },
        usd(),
    );
    assert!(matches!(
        wrong
            .create_for(&coupon("A-1", CouponType::Percent, "welcome_offer#1"), &ada())
            .await,
        Err(DiscountError::Unavailable(_))
    ));
    let mut euros = coupon("EUR-1", CouponType::Fixed, "loyalty_reward#1");
    euros.currency = Currency::parse("EUR").expect("EUR");
    assert!(matches!(
        coupons(&stand_in).create_for(&euros, &ada()).await,
        Err(DiscountError::Refused(_))
    ));
    // Without its recipient no WooCommerce coupon is made.
    assert!(matches!(
        coupons(&stand_in)
            .create(&coupon("B-1", CouponType::Percent, "welcome_offer#2"))
            .await,
        Err(DiscountError::Refused(_))
    ));
    let state = stand_in.state.lock().expect("state");
    assert!(state.coupons.is_empty());
    assert!(
        state.requests.is_empty(),
        "the wrong key was refused (401) before anything was done"
    );
}

#[tokio::test]
async fn the_rest_key_is_read_from_the_ssm_secure_string() {
    let aws = crate::aws_test().await;
    let stand_in = RestStandIn::start();
    let ssm = aws_sdk_ssm::Client::new(&aws.sdk);
    let value = json!({"consumer_key": CONSUMER_KEY, "consumer_secret": CONSUMER_SECRET}).to_string();
    ssm.put_parameter()
        .name("/tidings/woocommerce/rest-credentials")
        .value(value)
        .r#type(aws_sdk_ssm::types::ParameterType::SecureString)
        .send()
        .await
        .expect("parameter");
    let source = Secret::parameter(ssm, "/tidings/woocommerce/rest-credentials".into());
    let coupons = WooCommerceCoupons::new(&stand_in.url, source, usd());
    coupons
        .create_for(
            &coupon("THANKS-S", CouponType::Percent, "delivery_confirmation#1"),
            &ada(),
        )
        .await
        .expect("created");
    assert!(stand_in.state.lock().expect("state").coupons.contains_key("thanks-s"));
}

/// The engine with the real WooCommerce adapter: under outages and lost answers, every code in
/// every email is one the stand-in holds, for that email's address, one coupon per message.
#[test]
fn no_email_carries_a_code_the_store_does_not_hold_under_injected_failures() {
    let stand_in = RestStandIn::start();
    let app = spawn_app().with_discounts(Arc::new(coupons(&stand_in)));
    stand_in.inject(&[
        Fault::Status(503),
        Fault::LostAnswer,
        Fault::Status(429),
        Fault::LostAnswer,
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
        let raw = String::from_utf8_lossy(&email.raw).to_lowercase();
        let held = state.coupons.iter().find(|(code, _)| raw.contains(code.as_str()));
        let (_, coupon) = held.unwrap_or_else(|| panic!("{} carries a code the store holds", email.key));
        assert_eq!(
            coupon["email_restrictions"],
            json!([email.to.as_str()]),
            "for its address"
        );
    }
    assert_eq!(state.coupons.len(), 4, "one coupon per message");
}
