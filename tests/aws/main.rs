//! The Lambda handlers against a local AWS (moto's server mode): real SDK clients, real
//! EventBridge-shaped payloads; assertions on DynamoDB items and the MIME that SES (moto) accepted.

mod compliance;
mod crashes;
mod lifecycle;
mod once;

use serde_json::{Value, json};
use std::sync::Arc;
use tidings_core::adapters::aws::lambda::{self, Parts};
use tidings_core::adapters::aws::{DynamoStore, EventBridgeBus, SesMailer};
use tidings_core::adapters::memory::SimClock;
use tidings_core::config::StoreConfig;
use tidings_core::engine::Engine;
use tidings_core::message::Step;
use tidings_core::ports::{Bus, Mailer};
use tidings_tests::moto::AwsTest;
use tidings_tests::{customer, envelope, item, order, ts};

/// An engine on moto with a settable clock.
type TestEngine<M = SesMailer, B = EventBridgeBus> = Engine<DynamoStore, M, B, Arc<SimClock>>;

async fn parts(aws: &AwsTest, config: StoreConfig) -> Parts {
    Parts::new(&aws.sdk, aws.settings(config)).await.expect("engine parts")
}

async fn engine(aws: &AwsTest, clock: &Arc<SimClock>) -> TestEngine {
    parts(aws, StoreConfig::sample())
        .await
        .engine(|mailer| mailer, Arc::clone(clock))
}

/// An engine whose mailer or bus is wrapped (failure injection).
fn wrapped<M: Mailer, B: Bus>(
    parts: Parts,
    mailer: impl FnOnce(SesMailer) -> M,
    bus: impl FnOnce(EventBridgeBus) -> B,
    clock: &Arc<SimClock>,
) -> TestEngine<M, B> {
    let ports = tidings_core::engine::Ports {
        store: parts.store,
        mailer: mailer(parts.mailer),
        bus: bus(parts.bus),
        clock: Arc::clone(clock),
    };
    Engine::new(ports, parts.config, parts.renderer, parts.keys)
}

/// Delivers an envelope to a step's handler at the envelope's time, as EventBridge would.
async fn deliver<M: Mailer, B: Bus>(engine: &TestEngine<M, B>, clock: &SimClock, step: Step, event: &Value) -> Value {
    clock.set(ts(event["time"].as_str().expect("time")));
    lambda::handle(engine, step, event.clone()).await.expect("handled")
}

fn ada() -> Value {
    customer("c-1", "en-US", "America/New_York", true)
}

fn confirmed(time: &str) -> Value {
    let items = vec![item("p-mug", "kitchen", 2, 1800), item("p-tea", "tea", 1, 1250)];
    envelope(
        "OrderConfirmed",
        time,
        json!({ "order": order("o-1", &ada(), "USD", items, time) }),
    )
}

fn delivered(time: &str) -> Value {
    envelope(
        "OrderDelivered",
        time,
        json!({ "order_id": "o-1", "shipment_id": "shp-1" }),
    )
}

/// Subjects of the messages SES accepted.
fn subjects(aws: &AwsTest) -> Vec<String> {
    aws.sent_mail()
        .iter()
        .filter_map(|raw| raw.lines().find_map(|l| l.strip_prefix("Subject: ").map(str::to_owned)))
        .collect()
}

/// Runs the sweeper at the clock's time and hands every `FollowUpDue` to the step it names, as the
/// rules do. Returns the `FollowUpDue` events routed.
async fn sweep_and_route<M: Mailer, B: Bus>(aws: &AwsTest, engine: &TestEngine<M, B>) -> Vec<Value> {
    lambda::sweep(engine).await.expect("sweep");
    let mut routed = Vec::new();
    for event in aws.emitted().await {
        if event["detail-type"] != "FollowUpDue" {
            continue;
        }
        let step: Step = serde_json::from_value(event["detail"]["step"].clone()).expect("step");
        lambda::handle(engine, step, event.clone())
            .await
            .expect("follow-up handled");
        routed.push(event);
    }
    routed
}
