//! The simulated deployment: EventBridge delivering at least once (late, twice, out of order),
//! Lambda retrying a failed invocation twice and then dead-lettering it, the DLQ redriven hours
//! later, EventBridge Scheduler firing each follow-up's alarm in its minute, and SES reporting on what it accepted.

use super::alarms::AlarmBook;
use super::plan::{Invocation, Plan};
use super::ports::{Accepted, FaultyBus, FaultySes, FaultyStore};
use super::reaction;
use jiff::{SignedDuration, Timestamp};
use serde_json::Value;
use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap};
use std::sync::Arc;
use tidings_core::adapters::memory::SimClock;
use tidings_core::config::StoreConfig;
use tidings_core::domain::CustomerId;
use tidings_core::engine::{Engine, EngineError, Outcome, Ports, SkipReason};
use tidings_core::event::{Emitted, Parsed, parse_envelope};
use tidings_core::message::{MessageKey, MessageKind};
use tidings_core::ports::{Clock, Store};
use tidings_core::render::Renderer;
use tidings_core::signing::SigningKeys;

/// The engine as every function of the deployment runs it, over the faulty ports.
pub type FaultyEngine<S> = Engine<FaultyStore<S>, Arc<FaultySes>, Arc<FaultyBus>, Arc<SimClock>>;

/// Lambda's retries of a failed asynchronous invocation, then the dead-letter queue.
const LAMBDA_RETRIES: u32 = 2;
/// How often an event is redriven from the DLQ before it counts as lost.
const REDRIVES: u32 = 3;

/// Something to run at a time.
#[derive(Clone, Debug)]
pub(super) enum Job {
    /// An EventBridge delivery to a function.
    Event {
        envelope: Value,
        attempt: u32,
        redriven: u32,
    },
    /// A one-click unsubscribe (the customer's mail client POSTs the link).
    Unsubscribe {
        customer: CustomerId,
        token: String,
        attempt: u32,
    },
}

#[derive(Debug)]
struct Pending {
    at: Timestamp,
    order: u64,
    job: Job,
}

impl PartialEq for Pending {
    fn eq(&self, other: &Self) -> bool {
        (self.at, self.order) == (other.at, other.order)
    }
}
impl Eq for Pending {}
impl PartialOrd for Pending {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Pending {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        (self.at, self.order).cmp(&(other.at, other.order))
    }
}

/// What took effect for good: the step an event's invocation returned at.
#[derive(Clone, Debug)]
pub(super) struct Completed {
    pub(super) step: u64,
    pub(super) envelope: Option<Value>,
    /// The customer a successful unsubscribe was for.
    pub(super) unsubscribed: Option<CustomerId>,
    /// What the engine did.
    pub(super) outcomes: Vec<Outcome>,
}

/// What a run saw, for the invariants.
#[derive(Debug, Default)]
pub(super) struct Log {
    pub(super) completed: Vec<Completed>,
    /// The last skip reason given for each message.
    pub(super) skipped: BTreeMap<MessageKey, SkipReason>,
    /// Messages recorded as failed, with the reason.
    pub(super) failed: BTreeMap<MessageKey, String>,
    /// Invocations run (events, unsubscribes).
    pub(super) invocations: u64,
    /// Deliveries of events to functions (duplicates, retries and redrives included).
    pub(super) deliveries: u64,
    /// Errors Lambda would not retry, or events still failing after every redrive.
    pub(super) poisoned: Vec<String>,
    /// Every invocation, one line each, for a failing seed's story.
    pub(super) trail: Vec<String>,
}

/// The deployment under one fault plan.
pub(super) struct World<S> {
    pub(super) engine: FaultyEngine<S>,
    pub(super) plan: Arc<Plan>,
    pub(super) ses: Arc<FaultySes>,
    bus: Arc<FaultyBus>,
    clock: Arc<SimClock>,
    queue: BinaryHeap<Reverse<Pending>>,
    order: u64,
    seen_ses: usize,
    seen_bus: usize,
    alarms: Arc<AlarmBook>,
    seed: u64,
    end: Timestamp,
    pub(super) log: Log,
}

impl<S: Store + super::Expiring + super::Alarmed> World<S> {
    pub(super) fn new(store: S, plan: Plan, seed: u64, start: Timestamp, holdouts: bool) -> Self {
        let plan = Arc::new(plan);
        let clock = Arc::new(SimClock::new(start));
        let ses = Arc::new(FaultySes::new(Arc::clone(&plan), Arc::clone(&clock)));
        let bus = Arc::new(FaultyBus::new(Arc::clone(&plan)));
        // Holdout groups on two marketing kinds, so the held-out path (claimed, announced, settled)
        // meets every crash and redelivery the sends meet.
        let mut config = StoreConfig::sample();
        for kind in [MessageKind::CrossSell, MessageKind::WinBack]
            .into_iter()
            .filter(|_| holdouts)
        {
            config.kinds.entry(kind).or_default().holdout = 0.2;
        }
        let config = Arc::new(config);
        let renderer = Renderer::embedded(Arc::clone(&config)).expect("templates");
        let alarms = Arc::new(AlarmBook::new(Arc::clone(&plan), Arc::clone(&clock)));
        let store = store.with_alarms(Arc::clone(&alarms) as Arc<dyn tidings_core::ports::AlarmClock>);
        let ports = Ports {
            store: FaultyStore::new(store, Arc::clone(&plan)),
            mailer: Arc::clone(&ses),
            bus: Arc::clone(&bus),
            clock: Arc::clone(&clock),
        };
        Self {
            engine: Engine::new(ports, config, renderer, SigningKeys::demo()),
            plan,
            ses,
            bus,
            clock,
            queue: BinaryHeap::new(),
            order: 0,
            seen_ses: 0,
            seen_bus: 0,
            alarms,
            seed,
            end: start,
            log: Log::default(),
        }
    }

    fn push(&mut self, at: Timestamp, job: Job) {
        self.order += 1;
        self.queue.push(Reverse(Pending {
            at,
            order: self.order,
            job,
        }));
    }

    /// Puts an event on the bus at `at`: EventBridge delivers it a little late, sometimes twice.
    pub(super) fn put(&mut self, at: Timestamp, envelope: Value) {
        let jitter = self.plan.rates.jitter_secs;
        let late = |plan: &Plan| SignedDuration::from_secs(plan.below(u64::try_from(jitter).unwrap_or(0) + 1) as i64);
        let first = at + late(&self.plan);
        if self.plan.rates.duplicate > 0.0 && self.plan.draw() < self.plan.rates.duplicate {
            self.plan.count(|c| c.duplicates += 1);
            let again = at + late(&self.plan) + SignedDuration::from_secs(self.plan.below(600) as i64);
            self.push(again, event_job(envelope.clone()));
        }
        self.push(first, event_job(envelope));
    }

    /// Runs everything due up to `horizon`, then stops (the queue may still hold later work).
    pub(super) async fn run_until(&mut self, horizon: Timestamp) {
        self.end = horizon;
        loop {
            let job_at = self.queue.peek().map(|Reverse(p)| p.at);
            let alarm_at = self.alarms.next();
            let next = match (job_at, alarm_at) {
                (Some(j), Some(s)) => j.min(s),
                (Some(j), None) => j,
                (None, Some(s)) => s,
                (None, None) => break,
            };
            if next > horizon {
                break;
            }
            self.engine.store().inner().expire(next.max(self.clock.now()));
            if alarm_at == Some(next) && job_at != Some(next) {
                self.ring(next);
                continue;
            }
            let Some(Reverse(first)) = self.queue.pop() else { break };
            let second = match self.queue.peek() {
                Some(Reverse(p))
                    if p.at <= first.at + SignedDuration::from_secs(60)
                        && self.plan.rates.concurrent > 0.0
                        && self.plan.draw() < self.plan.rates.concurrent =>
                {
                    self.queue.pop().map(|Reverse(p)| p)
                }
                _ => None,
            };
            match second {
                None => {
                    self.catch_up(first.at);
                    let result = self.invoke(&first.job).await;
                    self.settle(first, result);
                }
                Some(second) => {
                    self.plan.count(|c| c.concurrent += 1);
                    self.catch_up(second.at);
                    let (a, b) = tokio::join!(self.invoke(&first.job), self.invoke(&second.job));
                    self.settle(first, a);
                    self.settle(second, b);
                }
            }
            self.react();
        }
    }

    /// Moves the clock to `at`, never back: an invocation that waited (for a free second of the
    /// send rate) delays what comes after it, as a busy function does.
    fn catch_up(&self, at: Timestamp) {
        self.clock.set(at.max(self.clock.now()));
    }

    /// Scheduler fires the alarms of `at`'s minute: each puts its `FollowUpDue` on the bus, which
    /// delivers it to the step as it delivers any event (late, sometimes twice).
    fn ring(&mut self, at: Timestamp) {
        for (rang, due) in self.alarms.ring(at) {
            self.log.trail.push(format!("{rang} alarm: {}", due.key));
            let detail = serde_json::to_value(&due).expect("serializable");
            let envelope = serde_json::json!({
                "version": "0", "id": format!("alarm-{}-{rang}", due.key), "detail-type": "FollowUpDue",
                "source": "tidings", "account": "123456789012", "time": rang.to_string(),
                "region": "eu-west-1", "resources": [], "detail": detail,
            });
            self.put(rang, envelope);
        }
    }

    async fn invoke(&self, job: &Job) -> Result<Completed, EngineError> {
        // Boxed: the engine's futures over the SDK's are deep, and two may run at once.
        Box::pin(Invocation::run(async {
            match job {
                Job::Event { envelope, .. } => {
                    let text = envelope.to_string();
                    let outcomes = match parse_envelope(&text).expect("the history's events are valid") {
                        Parsed::Known(event) => self.engine.handle(&event).await?,
                        Parsed::Unknown { .. } => Vec::new(),
                    };
                    Ok(self.completed(Some(envelope.clone()), None, outcomes))
                }
                Job::Unsubscribe { customer, token, .. } => {
                    let query = form_urlencoded::Serializer::new(String::new())
                        .append_pair("token", token)
                        .finish();
                    let page =
                        tidings_core::unsubscribe::respond(&self.engine, "POST", &query, b"List-Unsubscribe=One-Click")
                            .await;
                    match page {
                        Ok(page) if page.status == 200 => Ok(self.completed(None, Some(customer.clone()), Vec::new())),
                        Ok(page) => panic!("the unsubscribe page answered {}", page.status),
                        Err(_) => Err(EngineError::Store(tidings_core::ports::StoreError::Unavailable {
                            operation: "unsubscribe page",
                            source: "the page failed".into(),
                        })),
                    }
                }
            }
        }))
        .await
    }

    fn completed(
        &self,
        envelope: Option<Value>,
        unsubscribed: Option<CustomerId>,
        outcomes: Vec<Outcome>,
    ) -> Completed {
        Completed {
            step: self.plan.tick(),
            envelope,
            unsubscribed,
            outcomes,
        }
    }

    /// Books an invocation's result: outcomes, or Lambda's retry, the DLQ and its redrive.
    fn settle(&mut self, pending: Pending, mut result: Result<Completed, EngineError>) {
        self.log.invocations += 1;
        let what = match &pending.job {
            Job::Event {
                envelope,
                attempt,
                redriven,
            } => format!(
                "{} {} (attempt {attempt}, redriven {redriven}) {}",
                envelope["detail-type"].as_str().unwrap_or_default(),
                envelope["time"].as_str().unwrap_or_default(),
                subject(&envelope["detail"])
            ),
            Job::Unsubscribe { customer, .. } => format!("unsubscribe {customer}"),
        };
        let told = match &result {
            Ok(done) => done
                .outcomes
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("; "),
            Err(error) => format!("ERROR {}", tidings_core::ports::report(error)),
        };
        self.log.trail.push(format!("{} {what}: {told}", pending.at));
        if let Ok(completed) = &mut result {
            for outcome in std::mem::take(&mut completed.outcomes) {
                match outcome {
                    Outcome::Skipped { key, reason } => {
                        self.log.skipped.insert(key, reason);
                    }
                    Outcome::Failed { key, reason } => {
                        self.log.failed.insert(key, reason);
                    }
                    _ => {}
                }
            }
        }
        let at = pending.at;
        match (result, pending.job) {
            (Ok(completed), Job::Event { .. }) => {
                self.log.deliveries += 1;
                self.log.completed.push(completed);
            }
            (Ok(completed), Job::Unsubscribe { .. }) => self.log.completed.push(completed),
            (Err(error), Job::Event { .. }) if !error.is_retryable() => {
                self.log.deliveries += 1;
                self.log.poisoned.push(format!("not retryable: {error}"));
            }
            (
                Err(error),
                Job::Event {
                    envelope,
                    attempt,
                    redriven,
                },
            ) => {
                self.log.deliveries += 1;
                if attempt < LAMBDA_RETRIES {
                    let wait = SignedDuration::from_mins(i64::from(attempt) + 1);
                    self.push(
                        at + wait,
                        Job::Event {
                            envelope,
                            attempt: attempt + 1,
                            redriven,
                        },
                    );
                } else if redriven < REDRIVES {
                    self.plan.count(|c| c.dead_lettered += 1);
                    let later = SignedDuration::from_mins(60 + self.plan.below(11 * 60) as i64);
                    self.push(
                        at + later,
                        Job::Event {
                            envelope,
                            attempt: 0,
                            redriven: redriven + 1,
                        },
                    );
                } else {
                    self.log
                        .poisoned
                        .push(format!("still failing after {REDRIVES} redrives: {error}"));
                }
            }
            (
                Err(_),
                Job::Unsubscribe {
                    customer,
                    token,
                    attempt: 0,
                },
            ) => {
                // The customer clicks again a minute later, once.
                self.push(
                    at + SignedDuration::from_mins(1),
                    Job::Unsubscribe {
                        customer,
                        token,
                        attempt: 1,
                    },
                );
            }
            (Err(_), Job::Unsubscribe { .. }) => {}
        }
    }

    /// Delivers what the last invocations put on the bus, and SES's reports on what it accepted.
    fn react(&mut self) {
        let put = self.bus.put_since(self.seen_bus);
        self.seen_bus += put.len();
        for event in put {
            if let Emitted::FollowUpDue(_) = &event.detail {
                let envelope = envelope_of(&event);
                let late = SignedDuration::from_secs(self.plan.below(21) as i64);
                self.push(event.time + late, event_job(envelope));
            }
        }
        let accepted = self.ses.accepted_since(self.seen_ses);
        self.seen_ses += accepted.len();
        for message in accepted {
            self.report(&message);
        }
    }

    /// What SES and the customer do with an accepted message (the same in every run of the seed).
    fn report(&mut self, message: &Accepted) {
        for (at, envelope) in reaction::ses_events(self.seed, message) {
            self.put(at, envelope);
        }
        if let Some((at, token)) = reaction::unsubscribe(self.seed, message, self.engine.keys()) {
            self.push(
                at,
                Job::Unsubscribe {
                    customer: message.email.customer_id.clone(),
                    token,
                    attempt: 0,
                },
            );
        }
    }

    /// Where the run stopped.
    pub(super) fn end(&self) -> Timestamp {
        self.end
    }

    /// Follow-ups still waiting.
    pub(super) async fn waiting(&self) -> Vec<tidings_core::ports::FollowUp> {
        self.engine
            .store()
            .inner()
            .due_follow_ups(Timestamp::MAX, usize::MAX)
            .await
            .expect("store")
    }
}

/// What an event is about, for its line in the story: its key, cart, order or customer.
fn subject(detail: &Value) -> String {
    let named = [
        &detail["key"],
        &detail["cart"]["id"],
        &detail["order"]["id"],
        &detail["order_id"],
        &detail["customer"]["id"],
        &detail["customer_id"],
    ];
    let mut subject: Vec<&str> = named.iter().filter_map(|v| v.as_str()).collect();
    if let Some(customer) = detail["order"]["customer"]["id"].as_str() {
        subject.push(customer);
    }
    subject.join(" ")
}

fn event_job(envelope: Value) -> Job {
    Job::Event {
        envelope,
        attempt: 0,
        redriven: 0,
    }
}

/// An event tidings put on the bus, as EventBridge delivers it to a function.
fn envelope_of(event: &tidings_core::ports::Outbound) -> Value {
    serde_json::json!({
        "version": "0", "id": event.id, "detail-type": event.detail.detail_type(), "source": "tidings",
        "account": "123456789012", "time": event.time.to_string(), "region": "eu-west-1", "resources": [],
        "detail": serde_json::to_value(&event.detail).expect("serializable"),
    })
}
