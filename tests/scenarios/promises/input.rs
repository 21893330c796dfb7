//! Defects 5, 6 and 7: odd optional fields, implausible values, older cart states.

use super::*;

fn replay_lines(lines: &[Value]) -> tidings_tests::Replayed {
    let text = lines.iter().map(Value::to_string).collect::<Vec<_>>().join("\n");
    replay_inputs(vec![tidings_cli::Input {
        name: "test.jsonl".into(),
        text,
    }])
}

#[test]
fn a_bad_optional_field_is_dropped_with_a_warning_and_the_confirmation_still_goes() {
    let mut odd = customer("c-1", "en-US", "America/New_York", true);
    odd["birthday"] = json!("0000-00-00");
    odd["time_zone"] = json!("EST+5");
    odd["locale"] = json!("");
    odd["signed_up_at"] = json!("");
    let mut placed = order("o-1", &odd, "USD", mug(), "2026-11-02T15:00:00Z");
    placed["items"][0]["image_url"] = json!(42);
    placed["lead_time_days"] = json!(7_304_485);
    let replayed = replay_lines(&[envelope(
        "OrderConfirmed",
        "2026-11-02T15:00:00Z",
        json!({ "order": placed }),
    )]);
    let kinds: Vec<&str> = replayed.sent().iter().map(|l| l.kind.as_str()).collect();
    assert_eq!(kinds.first(), Some(&"order_confirmation"));
    let warnings = &replayed.report.warnings;
    for field in [
        "detail.order.customer.birthday",
        "detail.order.customer.time_zone",
        "detail.order.customer.locale",
        "detail.order.customer.signed_up_at",
        "detail.order.items[0].image_url",
        "detail.order.lead_time_days",
    ] {
        let prefix = format!("test.jsonl:1: warning: {field}: ");
        assert!(warnings.iter().any(|w| w.starts_with(&prefix)), "{field}: {warnings:?}");
    }
    assert!(
        warnings.iter().all(|w| !w.contains("0000-00-00")),
        "a birth date is never echoed: {warnings:?}"
    );
}

#[test]
fn an_implausible_time_is_refused_by_field_not_a_panic() {
    let ada = customer("c-1", "en-US", "America/New_York", true);
    let far = envelope("CustomerSignedUp", "9999-12-30T00:00:00Z", json!({ "customer": ada }));
    let error = tidings_core::event::parse_envelope(&far.to_string()).expect_err("refused");
    assert_eq!(error.field, "time");
    let mut placed = order("o-1", &ada, "USD", mug(), "2026-11-02T15:00:00Z");
    placed["placed_at"] = json!("1970-01-01T00:00:00Z");
    let old = envelope("OrderConfirmed", "2026-11-02T15:00:00Z", json!({ "order": placed }));
    let error = tidings_core::event::parse_envelope(&old.to_string()).expect_err("refused");
    assert_eq!(error.field, "detail.order.placed_at");
}

// --- Defect 7: an older cart state must not land last -----------------------------------------

#[test]
fn an_older_cart_state_written_last_does_not_replace_a_newer_one() {
    use tidings_core::ports::CartRecord;
    let app = spawn_app();
    let ada = customer("c-1", "en-US", "America/New_York", true);
    let parse = |value: Value| -> tidings_core::domain::Cart { serde_json::from_value(value).expect("cart") };
    let newer = parse(cart("cart-1", &ada, vec![], "2026-11-02T12:00:00Z"));
    let older = parse(cart("cart-1", &ada, mug(), "2026-11-02T11:00:00Z"));
    let store = app.engine.store();
    let written = |cart: &tidings_core::domain::Cart| {
        app.block_on(store.save_cart(&CartRecord {
            cart: cart.clone(),
            ordered_at: None,
        }))
        .expect("store")
    };
    assert!(written(&newer));
    assert!(!written(&older), "refused: a newer state is stored");
    let kept = app.block_on(store.cart(&newer.id)).expect("store").expect("cart");
    assert!(kept.cart.items.is_empty(), "the emptied cart is kept");
}
