//! The retention lifecycle: made-to-order progress, stalled shipments, loyalty, win-back,
//! birthdays, anniversaries, engagement rewards, segments and coupon attribution.

mod loyalty;
mod occasions;
mod progress;
mod segments;
mod win_back;

use serde_json::{Value, json};
use tidings_core::adapters::memory::MemoryMailer;
use tidings_core::config::{KindRule, StoreConfig};
use tidings_core::event::{CouponIssued, Emitted};
use tidings_core::message::MessageKind;
use tidings_tests::{
    TestApp, customer, envelope, item, order, order_confirmed, ses_click, spawn_app, spawn_app_with, ts,
};

fn keys_of(app: &TestApp, kind: MessageKind) -> Vec<(String, String)> {
    app.sent()
        .into_iter()
        .filter(|(_, key)| key.starts_with(&format!("{}#", kind.as_str())))
        .collect()
}

/// Every `CouponIssued` the engine published, in order.
fn coupons(app: &TestApp) -> Vec<CouponIssued> {
    app.engine
        .bus()
        .events()
        .into_iter()
        .filter_map(|o| match o.detail {
            Emitted::CouponIssued(c) => Some(c),
            _ => None,
        })
        .collect()
}

fn shipped(order_id: &str, shipment_id: &str, time: &str) -> Value {
    envelope(
        "OrderShipped",
        time,
        json!({"order_id": order_id, "shipment": {"id": shipment_id, "carrier": "dhl", "tracking_number": "JD0001", "shipped_at": time}}),
    )
}

fn scan(order_id: &str, shipment_id: &str, status: &str, time: &str) -> Value {
    envelope(
        "ShipmentUpdated",
        time,
        json!({"order_id": order_id, "shipment_id": shipment_id, "status": status}),
    )
}

fn delivered(order_id: &str, time: &str) -> Value {
    envelope("OrderDelivered", time, json!({"order_id": order_id}))
}

fn app_with(change: impl FnOnce(&mut StoreConfig)) -> TestApp {
    let mut config = StoreConfig::sample();
    change(&mut config);
    spawn_app_with(MemoryMailer::default(), config)
}

fn made_to_order(id: &str, who: &Value, lead_time_days: u32, time: &str) -> Value {
    let mut placed = order(id, who, "USD", vec![item("p-chair", "furniture", 1, 32000)], time);
    placed["lead_time_days"] = json!(lead_time_days);
    envelope("OrderConfirmed", time, json!({ "order": placed }))
}
