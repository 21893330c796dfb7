//! Rule 4: quiet hours and the frequency cap delay marketing (in the customer's time zone), never drop
//! it unless the slot is past its expiry; transactional mail is never delayed.

use serde_json::{Value, json};
use tidings_core::config::StoreConfig;
use tidings_core::engine::SkipReason;
use tidings_tests::{cart, customer, envelope, item, order, spawn_app, spawn_app_with, ts};

fn new_yorker() -> Value {
    customer("c-1", "en-US", "America/New_York", true)
}

fn cart_at(time: &str) -> Value {
    envelope(
        "CartUpdated",
        time,
        json!({ "cart": cart("cart-1", &new_yorker(), vec![item("p-mug", "kitchen", 1, 1800)], time) }),
    )
}

#[test]
fn quiet_hours_follow_the_customers_clock_across_a_dst_change() {
    let app = spawn_app();
    // Saturday 2027-03-13 20:30 EST; the reminder is due 21:30 (quiet). Clocks spring forward at 02:00,
    // so 09:00 on Sunday is EDT: 13:00Z, not the 14:00Z a fixed offset would give.
    app.deliver(&cart_at("2027-03-14T01:30:00Z")).expect("cart");
    app.run_until(ts("2027-03-14T20:00:00Z"));
    assert_eq!(
        app.sent()[0],
        (
            "2027-03-14T13:00:00Z".to_owned(),
            "cart_reminder#cart-1#2027-03-14T01:30:00Z#1".to_owned()
        )
    );
}

#[test]
fn a_signup_late_at_night_gets_its_welcome_at_nine_local_time() {
    let app = spawn_app();
    let seoul = customer("c-2", "ko-KR", "Asia/Seoul", true);
    // 23:10 in Seoul.
    app.deliver(&envelope(
        "CustomerSignedUp",
        "2026-11-20T14:10:00Z",
        json!({ "customer": seoul }),
    ))
    .expect("signup");
    app.run_until(ts("2026-11-21T12:00:00Z"));
    assert_eq!(
        app.sent(),
        vec![("2026-11-21T00:00:00Z".to_owned(), "welcome#c-2".to_owned())]
    );
}

#[test]
fn transactional_mail_is_never_held_by_quiet_hours() {
    let app = spawn_app();
    // 03:00 in New York.
    let placed = order(
        "o-1",
        &new_yorker(),
        "USD",
        vec![item("p-mug", "kitchen", 1, 1800)],
        "2026-11-10T08:00:00Z",
    );
    app.deliver(&envelope(
        "OrderConfirmed",
        "2026-11-10T08:00:00Z",
        json!({ "order": placed }),
    ))
    .expect("order");
    assert_eq!(
        app.sent(),
        vec![("2026-11-10T08:00:00Z".to_owned(), "order_confirmation#o-1".to_owned())]
    );
}

#[test]
fn messages_waiting_for_one_slot_go_earliest_first_and_the_cap_moves_the_rest() {
    let app = spawn_app();
    // 22:00 and 22:30 in New York: the welcome (due 22:00) and the first reminder (due 23:30) both
    // wait for 09:00; the welcome was due first, so it goes, and the cap moves the reminder a day on.
    app.deliver(&envelope(
        "CustomerSignedUp",
        "2026-11-10T03:00:00Z",
        json!({ "customer": new_yorker() }),
    ))
    .expect("signup");
    app.deliver(&cart_at("2026-11-10T03:30:00Z")).expect("cart");
    app.run_until(ts("2026-11-14T00:00:00Z"));
    let sent = app.sent();
    assert_eq!(sent[0], ("2026-11-10T14:00:00Z".to_owned(), "welcome#c-1".to_owned()));
    assert_eq!(
        sent[1],
        (
            "2026-11-11T14:00:00Z".to_owned(),
            "cart_reminder#cart-1#2026-11-10T03:30:00Z#1".to_owned()
        )
    );
    // The second reminder (due 11-11 03:30, quiet, then capped) and the welcome offer (due 11-12 03:00,
    // quiet) both wait for 11-12 09:00 local: the reminder was due first, the offer moves a day on.
    assert_eq!(
        sent[2],
        (
            "2026-11-12T14:00:00Z".to_owned(),
            "cart_reminder#cart-1#2026-11-10T03:30:00Z#2".to_owned()
        )
    );
    assert_eq!(
        sent[3],
        ("2026-11-13T14:00:00Z".to_owned(), "welcome_offer#c-1".to_owned())
    );
    assert_eq!(sent.len(), 4);
}

#[test]
fn a_send_exactly_one_window_after_the_previous_one_is_allowed() {
    let app = spawn_app();
    // Welcome at 10:00 local; reminder #1 due 11:00 is capped to exactly 24 h after the welcome.
    app.deliver(&envelope(
        "CustomerSignedUp",
        "2026-11-10T15:00:00Z",
        json!({ "customer": new_yorker() }),
    ))
    .expect("signup");
    app.deliver(&cart_at("2026-11-10T15:00:00Z")).expect("cart");
    app.run_until(ts("2026-11-12T00:00:00Z"));
    assert_eq!(app.sent()[1].0, "2026-11-11T15:00:00Z");
}

#[test]
fn a_message_whose_next_slot_is_past_its_expiry_is_dropped() {
    let mut config = StoreConfig::sample();
    config.marketing.cap_window_hours = 100;
    let app = spawn_app_with(tidings_core::adapters::memory::MemoryMailer::default(), config);
    app.deliver(&envelope(
        "CustomerSignedUp",
        "2026-11-10T15:00:00Z",
        json!({ "customer": new_yorker() }),
    ))
    .expect("signup");
    app.deliver(&cart_at("2026-11-10T15:00:00Z")).expect("cart");
    let outcomes = app.run_until(ts("2026-11-20T00:00:00Z"));
    let keys: Vec<_> = app.sent().into_iter().map(|(_, key)| key).collect();
    assert!(keys.iter().all(|k| !k.starts_with("cart_reminder")), "{keys:?}");
    let dropped = outcomes
        .iter()
        .filter(|o| {
            matches!(
                o,
                tidings_core::engine::Outcome::Skipped {
                    reason: SkipReason::PastExpiry { .. },
                    ..
                }
            )
        })
        .count();
    assert_eq!(dropped, 2, "{outcomes:?}");
}
