//! A deterministic fault-injection run (issue 16): a generated store history replayed through
//! the engine as the deployment runs it, with every port call of every invocation liable to fail
//! before or after taking effect, time out or die, EventBridge delivering late, twice and out of
//! order, Lambda retrying and dead-lettering, and the DLQ redriven hours later. The outcome is
//! checked against the promises (`invariants`) and a fault-free run of the same history.
//!
//! Everything is drawn from the seed and runs on one thread: a seed replays identically.

mod alarms;
mod history;
mod invariants;
mod plan;
mod ports;
mod reaction;
mod world;

pub use history::{History, Person, generate, sale};
pub use invariants::Report;
pub use plan::{FaultCounts, Rates};
pub use ports::{Accepted, FaultyBus, FaultySes, FaultyStore};

use jiff::{SignedDuration, Timestamp};
use tidings_core::adapters::memory::MemoryStore;
use tidings_core::ports::Store;
use world::World;

/// A store whose TTLs the run lets take effect as its clock moves.
pub trait Expiring {
    /// Deletes what has expired by `now` (DynamoDB does so on its own: nothing to do).
    fn expire(&self, now: Timestamp) {
        let _ = now;
    }
}

impl Expiring for MemoryStore {
    fn expire(&self, now: Timestamp) {
        MemoryStore::expire(self, now);
    }
}

impl Expiring for tidings_aws::DynamoStore {}

/// A store that sets its follow-ups' alarms on a clock it is given: the run's alarms are how
/// follow-ups come due, as in the deployed stack, where nothing sweeps the table.
pub trait Alarmed: Sized {
    /// The store, setting alarms on `clock`.
    fn with_alarms(self, clock: std::sync::Arc<dyn tidings_core::ports::AlarmClock>) -> Self;
}

impl Alarmed for MemoryStore {
    fn with_alarms(self, clock: std::sync::Arc<dyn tidings_core::ports::AlarmClock>) -> Self {
        MemoryStore::with_alarms(self, clock)
    }
}

impl Alarmed for tidings_aws::DynamoStore {
    fn with_alarms(self, clock: std::sync::Arc<dyn tidings_core::ports::AlarmClock>) -> Self {
        tidings_aws::DynamoStore::with_alarms(self, clock)
    }
}

/// The run's random numbers (fastrand's wyrand: small, seedable, the same on every platform).
pub struct Rng(fastrand::Rng);

impl Rng {
    /// Numbers drawn from `seed`.
    pub fn new(seed: u64) -> Self {
        Self(fastrand::Rng::with_seed(seed))
    }

    /// A number in [0, 1).
    pub fn unit(&mut self) -> f64 {
        self.0.f64()
    }

    /// True with probability `p`.
    pub fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }

    /// A number in `0..n` (0 when `n` is 0).
    pub fn below(&mut self, n: u64) -> u64 {
        if n == 0 { 0 } else { self.0.u64(0..n) }
    }
}

/// One run: a history drawn from the seed, and a fault schedule drawn from it too.
#[derive(Clone, Copy, Debug)]
pub struct Scenario {
    /// The seed of the history and the schedule.
    pub seed: u64,
    /// Customers in the history (about ten store events each).
    pub customers: usize,
    /// How often faults strike.
    pub rates: Rates,
    /// Whether half the parcels' scans come from a carrier service, by tracking number (issue
    /// 17); off, a seed draws the history it drew before them.
    pub carrier_scans: bool,
    /// Whether cross-sells and win-backs have a 20 % holdout group (issue 18), so the held-out path
    /// meets every fault; off, a seed runs as it did before them.
    pub holdouts: bool,
}

impl Scenario {
    /// The scenario the fixed seeds run: ~150 customers, over a thousand store events.
    pub fn seed(seed: u64) -> Self {
        Self {
            seed,
            customers: 150,
            rates: Rates::DEFAULT,
            carrier_scans: true,
            holdouts: true,
        }
    }
}

/// How long after the history's last event the run goes on: reviews, cross-sells and
/// win-backs come due, and everything dead-lettered is redriven.
const AFTERWARDS: SignedDuration = SignedDuration::from_hours(40 * 24);

/// Runs the scenario on `store` under faults, and the same history on a memory store without,
/// and checks the one against the promises and the other.
pub async fn run_on<S: Store + Expiring + Alarmed>(store: S, scenario: Scenario) -> Report {
    let history = generate(&mut Rng::new(scenario.seed), scenario.customers, scenario.carrier_scans);
    run_history(
        store,
        scenario.seed,
        &history,
        scenario.rates,
        scenario.holdouts,
        AFTERWARDS,
    )
    .await
}

/// Runs `history` on `store` under `rates` until `afterwards` after its last event, and on a
/// memory store without faults, and checks the one against the promises and the other.
pub async fn run_history<S: Store + Expiring + Alarmed>(
    store: S,
    seed: u64,
    history: &History,
    rates: Rates,
    holdouts: bool,
    afterwards: SignedDuration,
) -> Report {
    let horizon = history.end + afterwards;
    let start: Timestamp = history::START.parse().expect("start");
    let mut reference = World::new(
        MemoryStore::new(),
        plan::Plan::new(seed, Rates::NONE),
        seed,
        start,
        holdouts,
    );
    let mut world = World::new(store, plan::Plan::new(seed, rates), seed, start, holdouts);
    for event in &history.events {
        reference.put(event.at, event.envelope.clone());
        world.put(event.at, event.envelope.clone());
    }
    reference.run_until(horizon).await;
    world.run_until(horizon).await;
    invariants::check(seed, history, &world, &reference).await
}

/// A runtime for one run (one thread: deterministic).
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
}

/// Runs the scenario on the memory store, on a runtime of its own (one thread: deterministic).
pub fn run(scenario: Scenario) -> Report {
    runtime().block_on(run_on(MemoryStore::new(), scenario))
}
