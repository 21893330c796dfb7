//! Birthdays and signup anniversaries, at nine local, every year.

use super::*;

#[test]
fn birthdays_are_sent_at_nine_local_on_the_day_with_a_coupon_every_year() {
    let app = spawn_app();
    let mut who = customer("c-1", "ko-KR", "Asia/Seoul", true);
    who["birthday"] = json!("1990-12-10");
    app.deliver(&envelope(
        "CustomerUpdated",
        "2026-11-02T15:00:00Z",
        json!({"customer": who}),
    ))
    .expect("profile");
    app.run_until(ts("2028-01-01T00:00:00Z"));
    assert_eq!(
        keys_of(&app, MessageKind::Birthday),
        [
            ("2026-12-10T00:00:00Z".into(), "birthday#c-1#2026".into()),
            ("2027-12-10T00:00:00Z".into(), "birthday#c-1#2027".into()),
        ],
        "09:00 in Seoul, once a year"
    );
    let issued = coupons(&app)
        .iter()
        .filter(|c| c.message_kind == MessageKind::Birthday)
        .count();
    assert_eq!(issued, 2);
}

#[test]
fn a_29_february_birthday_is_celebrated_on_28_february_in_common_years() {
    let app = spawn_app();
    let mut who = customer("c-1", "en-GB", "Europe/London", true);
    who["birthday"] = json!("--02-29");
    app.deliver(&envelope(
        "CustomerUpdated",
        "2026-11-02T15:00:00Z",
        json!({"customer": who}),
    ))
    .expect("profile");
    app.run_until(ts("2028-03-01T00:00:00Z"));
    assert_eq!(
        keys_of(&app, MessageKind::Birthday),
        [
            ("2027-02-28T09:00:00Z".into(), "birthday#c-1#2027".into()),
            ("2028-02-29T09:00:00Z".into(), "birthday#c-1#2028".into()),
        ]
    );
}

#[test]
fn a_changed_birthday_moves_the_message_and_no_consent_sends_nothing() {
    let app = spawn_app();
    let mut who = customer("c-1", "en-US", "America/New_York", true);
    who["birthday"] = json!("--12-10");
    app.deliver(&envelope(
        "CustomerUpdated",
        "2026-11-02T15:00:00Z",
        json!({"customer": who.clone()}),
    ))
    .expect("profile");
    who["birthday"] = json!("--12-20");
    app.deliver(&envelope(
        "CustomerUpdated",
        "2026-11-03T15:00:00Z",
        json!({"customer": who.clone()}),
    ))
    .expect("corrected");
    app.run_until(ts("2026-12-31T00:00:00Z"));
    assert_eq!(
        keys_of(&app, MessageKind::Birthday),
        [("2026-12-20T14:00:00Z".into(), "birthday#c-1#2026".into())]
    );
    let quiet = spawn_app();
    let mut no = customer("c-2", "en-US", "America/New_York", false);
    no["birthday"] = json!("--12-10");
    quiet
        .deliver(&envelope(
            "CustomerUpdated",
            "2026-11-02T15:00:00Z",
            json!({"customer": no}),
        ))
        .expect("profile");
    quiet.run_until(ts("2026-12-31T00:00:00Z"));
    assert!(quiet.sent().is_empty());
}

#[test]
fn the_signup_anniversary_comes_every_year_at_nine_local() {
    let app = spawn_app();
    let mut who = customer("c-1", "de-DE", "Europe/Berlin", true);
    who["signed_up_at"] = json!("2025-11-20T23:30:00Z"); // 00:30 on 21 November in Berlin
    app.deliver(&envelope(
        "CustomerUpdated",
        "2026-11-02T15:00:00Z",
        json!({"customer": who}),
    ))
    .expect("profile");
    app.run_until(ts("2028-01-01T00:00:00Z"));
    assert_eq!(
        keys_of(&app, MessageKind::SignupAnniversary),
        [
            ("2026-11-21T08:00:00Z".into(), "signup_anniversary#c-1#2026".into()),
            ("2027-11-21T08:00:00Z".into(), "signup_anniversary#c-1#2027".into()),
        ]
    );
    let mails = app.engine.mailer().sent();
    let second = crate::mime::parse(&mails.last().expect("sent").raw);
    assert!(
        second["text"].as_str().expect("text").contains("2 Jahren"),
        "the second anniversary counts two years: {}",
        second["text"]
    );
}

#[test]
fn a_birthday_pushed_past_midnight_by_the_cap_is_dropped_not_sent_late() {
    let app = spawn_app();
    let mut who = customer("c-1", "en-GB", "Europe/London", true);
    who["birthday"] = json!("--12-10");
    // Signed up late on the 9th: the welcome waits for 09:00 on the 10th and takes the cap slot.
    app.deliver(&envelope(
        "CustomerSignedUp",
        "2026-12-09T23:00:00Z",
        json!({"customer": who}),
    ))
    .expect("signup");
    app.run_until(ts("2026-12-31T00:00:00Z"));
    assert_eq!(
        keys_of(&app, MessageKind::Welcome),
        [("2026-12-10T09:00:00Z".into(), "welcome#c-1".into())]
    );
    assert!(
        keys_of(&app, MessageKind::Birthday).is_empty(),
        "the next slot (09:00 on the 11th) is past the end of the birthday"
    );
}

#[test]
fn an_unsubscribe_keeps_the_birthday_waiting_so_a_resubscribed_customer_still_gets_it() {
    use tidings_core::ports::ConsentSource;
    let app = spawn_app();
    let mut who = customer("c-1", "en-US", "America/New_York", true);
    who["birthday"] = json!("--12-10");
    app.deliver(&envelope(
        "CustomerSignedUp",
        "2026-11-02T15:00:00Z",
        json!({"customer": who}),
    ))
    .expect("signup");
    let at = ts("2026-11-03T15:00:00Z");
    app.engine.clock().set(at);
    app.block_on(app.engine.set_marketing_consent(
        &tidings_core::domain::CustomerId::parse("c-1").expect("id"),
        false,
        ConsentSource::Unsubscribe,
        at,
    ))
    .expect("unsubscribed");
    let waiting: Vec<String> = app
        .engine
        .store()
        .state()
        .follow_ups
        .keys()
        .map(|k| k.to_string())
        .collect();
    assert_eq!(
        waiting,
        ["birthday#c-1#2026"],
        "the welcome offer and win-back are cancelled"
    );
    let at = ts("2026-11-20T15:00:00Z");
    app.engine.clock().set(at);
    app.block_on(app.engine.set_marketing_consent(
        &tidings_core::domain::CustomerId::parse("c-1").expect("id"),
        true,
        ConsentSource::Resubscribe,
        at,
    ))
    .expect("resubscribed");
    app.run_until(ts("2026-12-31T00:00:00Z"));
    assert_eq!(
        keys_of(&app, MessageKind::Birthday),
        [("2026-12-10T14:00:00Z".into(), "birthday#c-1#2026".into())]
    );
}
