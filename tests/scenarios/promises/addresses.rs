//! Defect 4: guests are keyed by pseudonym, never by address.

use super::*;

#[test]
fn a_guest_is_keyed_by_a_pseudonym_in_every_key_token_tag_and_event() {
    let app = spawn_app();
    with_history(&app);
    let address = "zelda.unique@example.com";
    let mut guest = customer("c-zelda", "en-US", "America/New_York", true);
    guest["id"] = json!(format!("guest:{address}"));
    guest["email"] = json!(address);
    app.deliver(&order_confirmed("o-1", &guest, mug(), "2026-11-02T15:00:00Z"))
        .expect("guest order");
    app.run_until(ts("2026-12-31T00:00:00Z"));
    let sent = app.engine.mailer().sent();
    assert!(
        sent.iter().any(|e| e.key.as_str().starts_with("win_back#")),
        "a win-back with a coupon went out"
    );
    let guest_mail: Vec<_> = sent.iter().filter(|e| e.to.as_str() == address).collect();
    assert!(guest_mail.len() >= 3, "{:?}", keys(&app));
    for email in &guest_mail {
        assert!(!email.key.as_str().contains(address), "{}", email.key);
        assert!(!email.customer_id.as_str().contains(address), "{}", email.customer_id);
        // Only the To header names the address: not the Message-ID, the tags or the token.
        let raw = String::from_utf8_lossy(&email.raw);
        let headers = raw.split("\r\n\r\n").next().unwrap_or_default();
        let naming: Vec<&str> = headers.lines().filter(|l| l.contains(address)).collect();
        assert!(naming.len() == 1 && naming[0].starts_with("To: "), "{headers}");
        for token in unsubscribe_tokens(headers) {
            let payload = token.split('.').nth(1).unwrap_or_default();
            let decoded = base64_payload(payload);
            assert!(
                !decoded.contains('@'),
                "the token names the guest by pseudonym: {decoded}"
            );
        }
    }
    // Every key the store holds (customers, claims, follow-ups, ledgers, coupons) is free of it.
    let state = app.engine.store().state();
    assert!(
        !format!("{:?}", *state).contains(address),
        "an address in the store's keys"
    );
    drop(state);
    for event in app.engine.bus().events() {
        let text = serde_json::to_string(&event.detail).expect("json");
        assert!(!text.contains(address), "{text}");
    }
    // The unsubscribe link in the guest's win-back names the guest it went to.
    let win_back = guest_mail
        .iter()
        .find(|e| e.key.as_str().starts_with("win_back#"))
        .expect("win-back");
    let raw = String::from_utf8_lossy(&win_back.raw);
    let token = unsubscribe_tokens(&raw).next().expect("a List-Unsubscribe link");
    let claim = app
        .engine
        .keys()
        .verify_unsubscribe(
            token,
            ts("2026-12-31T00:00:00Z"),
            tidings_core::unsubscribe::TOKEN_MAX_AGE,
        )
        .expect("token");
    assert_eq!(claim.customer_id, win_back.customer_id);
}

/// The tokens of the `List-Unsubscribe` header.
fn unsubscribe_tokens(raw: &str) -> impl Iterator<Item = &str> {
    raw.lines()
        .filter(|l| l.starts_with("List-Unsubscribe:"))
        .flat_map(|l| l.split("token=").skip(1))
        .filter_map(|t| t.split(['>', '&']).next())
}

fn base64_payload(payload: &str) -> String {
    use base64::Engine as _;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .unwrap_or_default();
    String::from_utf8_lossy(&bytes).into_owned()
}

#[test]
fn an_unsubscribe_token_an_earlier_release_mailed_a_guest_still_unsubscribes() {
    let app = spawn_app();
    let mut guest = customer("c-1", "en-US", "America/New_York", true);
    guest["id"] = json!("guest:1@example.com");
    app.deliver(&order_confirmed("o-1", &guest, mug(), "2026-11-02T15:00:00Z"))
        .expect("guest order");
    // A token of the previous release names the guest by address.
    let old = app
        .engine
        .keys()
        .unsubscribe_token(&id("guest:1@example.com"), "marketing", ts("2026-10-01T00:00:00Z"));
    app.deliver(&unsubscribe_line("2026-11-03T10:00:00Z", &old))
        .expect("unsubscribed");
    app.run_until(ts("2026-12-31T00:00:00Z"));
    assert_eq!(
        keys(&app),
        ["order_confirmation#o-1"],
        "no marketing after the old link"
    );
}
