//! The promises a real store's event stream puts to the test (issue 13): a tidings unsubscribe
//! sticks to the address, an erasure sticks, an odd optional field never loses a confirmation,
//! implausible input is refused by field instead of panicking, and an older cart never wins.

mod addresses;
mod consent;
mod erasure;
mod input;
mod sends;

use serde_json::{Value, json};
use tidings_core::adapters::memory::MemoryMailer;
use tidings_core::config::StoreConfig;
use tidings_core::domain::CustomerId;
use tidings_core::ports::{Carts, ConsentSource, SendLedger};
use tidings_core::signing::SigningKeys;
use tidings_tests::{
    TestApp, cart, customer, envelope, item, order, order_confirmed, replay_inputs, spawn_app, spawn_app_with, ts,
};

fn keys(app: &TestApp) -> Vec<String> {
    app.sent().into_iter().map(|(_, key)| key).collect()
}

fn id(raw: &str) -> CustomerId {
    CustomerId::parse(raw).expect("customer id")
}

fn unsubscribe(app: &TestApp, customer: &str, at: &str) {
    app.block_on(
        app.engine
            .set_marketing_consent(&id(customer), false, ConsentSource::Unsubscribe, ts(at)),
    )
    .expect("unsubscribed");
}

fn sign_up<M: tidings_core::ports::Mailer>(app: &TestApp<M>, who: &Value, time: &str) {
    app.deliver(&envelope("CustomerSignedUp", time, json!({ "customer": who })))
        .expect("signup");
}

fn mug() -> Vec<Value> {
    vec![item("p-mug", "kitchen", 1, 1800)]
}

/// A store whose statistics recommend the tea to mug buyers, so a cross-sell has something to show.
fn with_history(app: &TestApp) {
    let other = customer("c-9", "en-US", "America/New_York", false);
    app.deliver(&order_confirmed(
        "o-0",
        &other,
        vec![item("p-mug", "kitchen", 1, 1800), item("p-tea", "tea", 1, 1200)],
        "2026-11-01T15:00:00Z",
    ))
    .expect("history");
}

fn sent_kinds(app: &TestApp, kind: &str) -> Vec<String> {
    keys(app).into_iter().filter(|k| k.starts_with(kind)).collect()
}

/// A one-click unsubscribe as a replay line.
fn unsubscribe_line(time: &str, token: &str) -> Value {
    json!({"version": "0", "id": format!("u-{time}"), "detail-type": "UnsubscribeRequested",
        "source": "tidings.unsubscribe", "time": time, "detail": {"token": token}})
}
