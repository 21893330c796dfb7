//! A coupon's code exists in the store before any email carrying it is sent (issue 15), however
//! the store's API fails: a failure or throttle defers the email, a transactional one goes
//! without its coupon once it has waited `COUPON_WAIT`, and no code is ever mailed uncreated.

use serde_json::json;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use tidings_core::engine::COUPON_WAIT;
use tidings_tests::{FlakyDiscounts, TestApp, customer, deliver_mug_order, envelope, item, spawn_app, ts};

fn app_with(discounts: FlakyDiscounts) -> (TestApp, Arc<FlakyDiscounts>) {
    let app = spawn_app();
    let discounts = Arc::new(FlakyDiscounts {
        clock: Some(Arc::clone(&app.clock)),
        ..discounts
    });
    (app.with_discounts(discounts.clone()), discounts)
}

/// Every code announced was created first, and every email shows only codes that were created
/// before it was sent.
fn assert_no_code_mailed_before_it_existed(app: &TestApp, discounts: &FlakyDiscounts) {
    let created = discounts.created.lock().expect("lock").clone();
    let issued: Vec<String> = app
        .engine
        .bus()
        .events()
        .iter()
        .filter_map(|e| match &e.detail {
            tidings_core::event::Emitted::CouponIssued(c) => Some(c.code.clone()),
            _ => None,
        })
        .collect();
    for code in &issued {
        assert!(
            created.iter().any(|(c, _)| c == code),
            "{code} announced, never created"
        );
    }
    for email in app.engine.mailer().sent() {
        let raw = String::from_utf8_lossy(&email.raw).into_owned();
        for code in &issued {
            if raw.contains(code.as_str()) {
                let (_, at) = created.iter().find(|(c, _)| c == code).expect("created");
                assert!(
                    *at <= email.at,
                    "{code} mailed at {} before it existed at {at}",
                    email.at
                );
            }
        }
    }
}

/// A cart left at 15:00, and the clock run past both reminders (the second carries a coupon).
fn abandon_a_cart(app: &TestApp) {
    let ada = customer("c-1", "en-US", "America/New_York", true);
    let cart = tidings_tests::cart(
        "k-1",
        &ada,
        vec![item("p-mug", "kitchen", 1, 1800)],
        "2026-11-03T15:00:00Z",
    );
    app.deliver(&envelope(
        "CartUpdated",
        "2026-11-03T15:00:00Z",
        json!({ "cart": cart }),
    ))
    .expect("cart");
    app.run_until(ts("2026-11-20T00:00:00Z"));
}

fn delivery(app: &TestApp) -> tidings_core::ports::OutgoingEmail {
    app.engine
        .mailer()
        .sent()
        .into_iter()
        .find(|e| e.key.as_str() == "delivery_confirmation#o-1")
        .expect("the delivery confirmation went")
}

#[test]
fn a_throttled_store_delays_the_email_until_its_code_exists() {
    let (app, discounts) = app_with(FlakyDiscounts {
        unavailable: 2.into(),
        ..FlakyDiscounts::default()
    });
    // An order delivered at 15:00: its delivery confirmation carries the thank-you coupon.
    deliver_mug_order(&app, 1);
    assert!(
        app.sent().iter().all(|(_, k)| !k.starts_with("delivery_confirmation")),
        "not sent without the code"
    );
    app.run_until(ts("2026-11-05T16:00:00Z"));
    let email = delivery(&app);
    assert_eq!(email.at, ts("2026-11-05T15:10:00Z"), "two retries, five minutes apart");
    let created = discounts.created.lock().expect("lock").clone();
    assert_eq!(created.len(), 1, "one discount for one message");
    assert!(created[0].0.starts_with("THANKS"), "{created:?}");
    assert!(
        String::from_utf8_lossy(&email.raw).contains(&created[0].0),
        "the coupon is in the email"
    );
    assert_eq!(discounts.calls.load(Ordering::SeqCst), 3);
    assert_no_code_mailed_before_it_existed(&app, &discounts);
}

#[test]
fn a_store_that_stays_down_gets_the_delivery_confirmation_out_without_the_coupon() {
    let (app, discounts) = app_with(FlakyDiscounts {
        unavailable: usize::MAX.into(),
        ..FlakyDiscounts::default()
    });
    deliver_mug_order(&app, 1);
    app.run_until(ts("2026-11-06T00:00:00Z"));
    let email = delivery(&app);
    assert_eq!(email.at, ts("2026-11-05T15:00:00Z") + COUPON_WAIT);
    assert!(discounts.created.lock().expect("lock").is_empty());
    let announced = app
        .engine
        .bus()
        .events()
        .iter()
        .any(|e| e.detail.detail_type() == "CouponIssued");
    assert!(!announced, "no coupon announced for an email that went without it");
    let text = String::from_utf8_lossy(&email.raw).into_owned();
    assert!(
        !text.contains("THANKS"),
        "no code block (the sample store's delivery coupons start THANKS)"
    );
}

#[test]
fn a_refused_code_sends_the_transactional_email_without_it_and_never_mails_the_code() {
    let (app, discounts) = app_with(FlakyDiscounts {
        refuse: true,
        ..FlakyDiscounts::default()
    });
    deliver_mug_order(&app, 1);
    app.run_until(ts("2026-11-06T00:00:00Z"));
    let email = delivery(&app);
    assert_eq!(email.at, ts("2026-11-05T15:00:00Z") + COUPON_WAIT);
    assert_eq!(discounts.calls.load(Ordering::SeqCst), 1, "a refusal is not retried");
    assert_no_code_mailed_before_it_existed(&app, &discounts);
}

#[test]
fn a_marketing_email_whose_code_cannot_be_created_is_never_sent_with_it() {
    let (app, discounts) = app_with(FlakyDiscounts {
        unavailable: usize::MAX.into(),
        ..FlakyDiscounts::default()
    });
    abandon_a_cart(&app);
    let sent = app.sent();
    assert!(
        sent.iter().any(|(_, k)| k.ends_with("#1")),
        "the first reminder carries no coupon: {sent:?}"
    );
    assert!(
        !sent.iter().any(|(_, k)| k.ends_with("#2")),
        "the second, with its coupon, never went: {sent:?}"
    );
    assert!(discounts.calls.load(Ordering::SeqCst) > 1, "it was retried");
    assert_no_code_mailed_before_it_existed(&app, &discounts);
}

#[test]
fn a_marketing_email_whose_code_the_store_refuses_is_not_sent_and_not_asked_again() {
    let (app, discounts) = app_with(FlakyDiscounts {
        refuse: true,
        ..FlakyDiscounts::default()
    });
    abandon_a_cart(&app);
    assert!(!app.sent().iter().any(|(_, k)| k.ends_with("#2")));
    assert_eq!(
        discounts.calls.load(Ordering::SeqCst),
        1,
        "refused once, not asked again"
    );
}
