//! The Lambda handlers against a local AWS (moto's server mode): real SDK clients, real
//! EventBridge-shaped payloads; assertions on DynamoDB items and the MIME that SES (moto) accepted.

// The engine's futures over the AWS SDK's nest deeper than rustc's default query depth (128)
// allows in some build orders: a clean CI build hit 130 computing a `main`'s layout.
#![recursion_limit = "256"]

mod alarms;
mod compliance;
mod contract;
mod crashes;
mod failures;
mod faults;
mod holdouts;
mod holds;
mod keys;
mod lifecycle;
mod once;
mod promises;
mod report;
mod shopify;
mod sweeps;
mod trackers;
mod upgrade;
mod webhooks;
mod woocommerce;

use serde_json::{Value, json};
use std::sync::{Arc, Mutex};
use tidings_aws::lambda::{self, Parts};
use tidings_aws::{DynamoStore, EventBridgeBus, SesMailer};
use tidings_core::adapters::memory::SimClock;
use tidings_core::config::StoreConfig;
use tidings_core::engine::Engine;
use tidings_core::message::Step;
use tidings_core::ports::{Bus, Clock, FollowUps, Mailer, OutgoingEmail, SendError};
use tidings_core::shadow::ShadowMailer;
use tidings_tests::moto::AwsTest;
use tidings_tests::{customer, envelope, item, order, ts};

/// An engine on moto with a settable clock (and `[sending]` applied, as deployed).
type TestEngine<M = Ses, B = EventBridgeBus> = Engine<DynamoStore, ShadowMailer<M>, B, Arc<SimClock>>;

/// The `Send` events SES has yet to publish through the configuration set (moto publishes none).
static SES_SENDS: Mutex<Vec<Value>> = Mutex::new(Vec::new());

/// SES as deployed: the real client against moto, plus the configuration set's event destination,
/// which reports every accepted message as an `Email Sent` event with the message's tags.
struct Ses(SesMailer);

impl Mailer for Ses {
    async fn send(&self, email: &OutgoingEmail) -> Result<String, SendError> {
        let id = self.0.send(email).await?;
        let tags: serde_json::Map<String, Value> = tidings_aws::message_tags(email)
            .into_iter()
            .map(|(name, value)| (name.to_owned(), json!([value])))
            .collect();
        let detail = json!({"eventType": "Send", "send": {},
            "mail": {"messageId": id, "timestamp": email.at.to_string(), "destination": [email.to.as_str()], "tags": tags}});
        let event = tidings_tests::ses_event("Email Sent", &email.at.to_string(), detail);
        SES_SENDS.lock().expect("SES events").push(event);
        Ok(id)
    }

    fn reports_acceptance(&self, email: &OutgoingEmail) -> bool {
        self.0.reports_acceptance(email)
    }

    fn reports_sends(&self) -> bool {
        self.0.reports_sends()
    }

    fn paced(&self) -> bool {
        self.0.paced()
    }
}

/// The `ses-events` function, built from its own deployed environment (`infra/functions.json`)
/// by `engine`: where SES's reports go, as the configuration sets and the rule send them.
static SES_EVENTS: Mutex<Option<Arc<TestEngine>>> = Mutex::new(None);

/// The step function whose engine stands for every step function: all five are deployed with the
/// same environment (`tidings_tests::functions` checks that).
const STEP_FUNCTION: &str = "order-confirmed";

/// One AWS test (serialised by the harness), with no SES report or function left from an earlier one.
async fn aws_test() -> AwsTest {
    let aws = tidings_tests::moto::aws_test().await;
    SES_SENDS.lock().expect("SES events").clear();
    *SES_EVENTS.lock().expect("ses-events") = None;
    aws
}

/// This test's `ses-events` function (built by `engine`).
fn ses_events() -> Arc<TestEngine> {
    SES_EVENTS
        .lock()
        .expect("ses-events")
        .clone()
        .expect("no ses-events function: build the test's engines with `engine`")
}

/// A test's AWS, a clock set to `at` and the engine on them: how most tests begin.
async fn spawn_app(at: &str) -> (AwsTest, Arc<SimClock>, TestEngine) {
    let aws = aws_test().await;
    let clock = Arc::new(SimClock::new(ts(at)));
    let engine = engine(&aws, &clock).await;
    (aws, clock, engine)
}

/// `spawn_app`, and the order `confirmed` at `at` handled and sent.
async fn spawn_app_with_an_order(at: &str) -> (AwsTest, Arc<SimClock>, TestEngine) {
    let (aws, clock, engine) = spawn_app(at).await;
    deliver(&engine, &clock, Step::OrderConfirmed, &confirmed(at)).await;
    (aws, clock, engine)
}

/// Hands SES's pending `Send` events to the ses-events function, as the configuration set and the
/// rule do.
async fn report_sends() {
    let pending = std::mem::take(&mut *SES_SENDS.lock().expect("SES events"));
    if pending.is_empty() {
        return;
    }
    let ses_events = ses_events();
    for event in pending {
        lambda::handle(&*ses_events, Step::SesEvents, event)
            .await
            .expect("SES report handled");
    }
}

/// The parts of `function` as deployed: built from the settings it reads from its environment.
async fn parts(aws: &AwsTest, function: &str, config: StoreConfig) -> Parts {
    Parts::new(&aws.sdk, aws.settings(function, config))
        .await
        .expect("engine parts")
}

/// The engine of the step functions, as deployed; also builds this test's ses-events function.
async fn engine(aws: &AwsTest, clock: &Arc<SimClock>) -> TestEngine {
    let ses_events = parts(aws, Step::SesEvents.as_str(), StoreConfig::sample()).await;
    *SES_EVENTS.lock().expect("ses-events") = Some(Arc::new(ses_events.engine(Ses, Arc::clone(clock))));
    parts(aws, STEP_FUNCTION, StoreConfig::sample())
        .await
        .engine(Ses, Arc::clone(clock))
}

/// Deploys this release on the table as it is: the stack's `FollowUpAlarms` resource runs the
/// `follow-up-sweeper` function (as deployed) once, which upgrades the table and sets the alarms of
/// the follow-ups stored without one. The clock moves a minute between the upgrade's passes, as
/// the function's sleeps would. Returns the function's answer.
async fn deploy_this_release(aws: &AwsTest, clock: &Arc<SimClock>) -> Value {
    let setter = parts(aws, "follow-up-sweeper", StoreConfig::sample())
        .await
        .engine(Ses, Arc::clone(clock));
    let minutes = |pause: std::time::Duration| {
        clock.set(clock.now() + jiff::SignedDuration::try_from(pause).expect("a short pause"));
        std::future::ready(())
    };
    // Boxed: the setter's future over the SDK's is deep in a debug build.
    Box::pin(lambda::set_waiting_alarms(&setter, std::time::Duration::ZERO, minutes))
        .await
        .expect("the alarm setter ran")
}

/// An engine whose mailer or bus is wrapped (failure injection).
fn wrapped<M: Mailer, B: Bus>(
    parts: Parts,
    mailer: impl FnOnce(Ses) -> M,
    bus: impl FnOnce(EventBridgeBus) -> B,
    clock: &Arc<SimClock>,
) -> TestEngine<M, B> {
    let ports = tidings_core::engine::Ports {
        store: parts.store,
        mailer: ShadowMailer::new(mailer(Ses(parts.mailer)), &parts.config.sending),
        bus: bus(parts.bus),
        clock: Arc::clone(clock),
    };
    Engine::new(ports, parts.config, parts.renderer, parts.keys)
}

/// Delivers an envelope to a step's handler at the envelope's time, as EventBridge would, then
/// SES's reports of what it accepted to ses-events.
async fn deliver<M: Mailer, B: Bus>(engine: &TestEngine<M, B>, clock: &SimClock, step: Step, event: &Value) -> Value {
    clock.set(ts(event["time"].as_str().expect("time")));
    let answer = lambda::handle(engine, step, event.clone()).await.expect("handled");
    report_sends().await;
    answer
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

/// `OrderShipped` for `confirmed`'s order: shipment `shp-1` by UPS.
fn shipped() -> Value {
    let shipment = json!({"id": "shp-1", "carrier": "ups", "tracking_number": "1Z999AA10123456784", "shipped_at": "2026-11-03T13:00:00Z"});
    envelope(
        "OrderShipped",
        "2026-11-03T13:00:00Z",
        json!({"order_id": "o-1", "shipment": shipment}),
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

/// Fires every follow-up alarm due at the clock's time (moto stores schedules but never fires
/// them) and hands each `FollowUpDue` to the step it names, as the step's rule does. Returns the
/// `FollowUpDue` events routed. Also checks that every follow-up due has its alarm: nothing
/// polls the table in the deployed stack, so one without would never be sent.
async fn fire_alarms_and_route<M: Mailer, B: Bus>(aws: &AwsTest, engine: &TestEngine<M, B>) -> Vec<Value> {
    let now = engine.clock().now();
    // As the sweeper's route did: what was emitted before is passed over.
    aws.emitted().await;
    let alarms = aws.alarms().await;
    let due = |alarm: &&tidings_tests::moto::Alarm| {
        alarm.input["due_at"]
            .as_str()
            .and_then(|t| t.parse::<jiff::Timestamp>().ok())
            .is_some_and(|due| due <= now)
    };
    let firing: Vec<_> = alarms.iter().filter(due).collect();
    for waiting in engine.store().due_follow_ups(now, usize::MAX).await.expect("due index") {
        assert!(
            firing
                .iter()
                .any(|a| a.input["key"] == waiting.key.as_str() && a.input["due_at"] == waiting.due_at.to_string()),
            "the follow-up {} due at {} has no alarm",
            waiting.key,
            waiting.due_at
        );
    }
    let mut routed = Vec::new();
    for alarm in firing {
        let event = aws.fire(alarm).await;
        let step: Step = serde_json::from_value(event["detail"]["step"].clone()).expect("step");
        lambda::handle(engine, step, event.clone())
            .await
            .expect("follow-up handled");
        report_sends().await;
        routed.push(event);
    }
    routed
}
