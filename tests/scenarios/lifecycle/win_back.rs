//! Win-back after the last standing order, restarted by clicks and cancellations.

use super::*;

#[test]
fn win_back_comes_once_28_days_after_the_last_standing_order() {
    let app = spawn_app();
    let who = customer("c-1", "en-US", "America/New_York", true);
    app.deliver(&order_confirmed(
        "o-1",
        &who,
        vec![item("p-mug", "kitchen", 1, 1800)],
        "2026-11-02T15:00:00Z",
    ))
    .expect("order");
    app.deliver(&order_confirmed(
        "o-2",
        &who,
        vec![item("p-tea", "tea", 1, 1250)],
        "2026-11-10T15:00:00Z",
    ))
    .expect("second order");
    app.run_until(ts("2027-03-31T00:00:00Z"));
    assert_eq!(
        keys_of(&app, MessageKind::WinBack),
        [("2026-12-08T15:00:00Z".into(), "win_back#c-1#o-2".into())],
        "the first order's lapse ended with the second order"
    );
    // A win-back is about the customer, not the order its lapse counts from.
    let mailer = app.engine.mailer();
    let sent = mailer.sent();
    let win_back = sent
        .iter()
        .find(|e| e.key.kind() == MessageKind::WinBack)
        .expect("sent");
    assert_eq!(win_back.order_id, None, "a win-back names no order");
}

#[test]
fn a_click_restarts_the_quiet_period_before_a_win_back() {
    let app = spawn_app();
    let who = customer("c-1", "en-US", "America/New_York", true);
    app.deliver(&order_confirmed(
        "o-1",
        &who,
        vec![item("p-mug", "kitchen", 1, 1800)],
        "2026-11-02T15:00:00Z",
    ))
    .expect("order");
    app.deliver(&ses_click(
        "c-1",
        "cross_sell#o-1",
        "2026-11-20T15:00:00Z",
        "https://shop.example/p/tea",
    ))
    .expect("click");
    app.run_until(ts("2027-03-31T00:00:00Z"));
    assert_eq!(
        keys_of(&app, MessageKind::WinBack),
        [("2026-12-18T15:00:00Z".into(), "win_back#c-1#o-1".into())],
        "28 days after the click, still once"
    );
}

#[test]
fn a_signup_without_orders_gets_a_win_back_and_a_cancelled_guest_order_none() {
    let app = spawn_app();
    let member = customer("c-1", "en-US", "America/New_York", true);
    app.deliver(&envelope(
        "CustomerSignedUp",
        "2026-11-02T15:00:00Z",
        json!({"customer": member}),
    ))
    .expect("signup");
    let guest = customer("c-2", "en-US", "America/New_York", true);
    app.deliver(&order_confirmed(
        "o-9",
        &guest,
        vec![item("p-mug", "kitchen", 1, 1800)],
        "2026-11-02T16:00:00Z",
    ))
    .expect("guest order");
    app.deliver(&envelope(
        "OrderCancelled",
        "2026-11-02T17:00:00Z",
        json!({"order_id": "o-9"}),
    ))
    .expect("cancel");
    app.run_until(ts("2027-03-31T00:00:00Z"));
    assert_eq!(
        keys_of(&app, MessageKind::WinBack),
        [("2026-11-30T15:00:00Z".into(), "win_back#c-1#signup".into())]
    );
}

#[test]
fn cancelling_the_latest_order_lets_the_win_back_count_from_the_order_still_standing() {
    let app = spawn_app();
    let who = customer("c-1", "en-US", "America/New_York", true);
    app.deliver(&order_confirmed(
        "o-1",
        &who,
        vec![item("p-mug", "kitchen", 1, 1800)],
        "2026-11-02T15:00:00Z",
    ))
    .expect("order");
    app.deliver(&order_confirmed(
        "o-2",
        &who,
        vec![item("p-tea", "tea", 1, 1250)],
        "2026-11-20T15:00:00Z",
    ))
    .expect("second order");
    app.deliver(&envelope(
        "OrderCancelled",
        "2026-12-05T15:00:00Z",
        json!({"order_id": "o-2"}),
    ))
    .expect("cancel");
    app.run_until(ts("2027-03-31T00:00:00Z"));
    assert_eq!(
        keys_of(&app, MessageKind::WinBack),
        [("2026-12-05T15:00:00Z".into(), "win_back#c-1#o-1".into())],
        "o-1's lapse had already run 28 days when o-2 was cancelled"
    );
}

#[test]
fn a_made_to_order_win_back_waits_until_the_order_has_been_delivered_28_days() {
    let app = spawn_app();
    let who = customer("c-1", "en-US", "America/New_York", true);
    app.deliver(&made_to_order("o-1", &who, 21, "2026-11-02T15:00:00Z"))
        .expect("order");
    app.deliver(&shipped("o-1", "shp-1", "2026-11-22T15:00:00Z"))
        .expect("shipped");
    app.deliver(&delivered("o-1", "2026-11-24T15:00:00Z"))
        .expect("delivered");
    app.run_until(ts("2027-03-31T00:00:00Z"));
    assert_eq!(
        keys_of(&app, MessageKind::WinBack),
        [("2026-12-22T15:00:00Z".into(), "win_back#c-1#o-1".into())]
    );
}
