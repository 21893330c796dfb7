//! The fault schedule: which port call fails, how, and when an invocation dies, all drawn from the
//! run's seed. Calls made outside an invocation (the harness reading state) never fail.

use super::Rng;
use std::cell::Cell;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use tidings_core::ports::StoreError;

tokio::task_local! {
    /// The invocation a port call belongs to (two may run at once).
    static INVOCATION: Invocation;
}

/// One Lambda invocation: once it dies, nothing it still tries takes effect.
#[derive(Default)]
pub(super) struct Invocation {
    dead: Cell<bool>,
}

impl Invocation {
    /// Runs `work` as one invocation.
    pub(super) async fn run<F: Future>(work: F) -> F::Output {
        INVOCATION.scope(Self::default(), work).await
    }
}

/// How often each fault is injected (per call), and how EventBridge misbehaves (per event).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Rates {
    /// A store call fails before or after taking effect, times out, or the invocation dies there.
    pub store: f64,
    /// SES throttles, rejects, or its answer is lost.
    pub mailer: f64,
    /// A publish fails before or after the events were put.
    pub bus: f64,
    /// An event is delivered twice.
    pub duplicate: f64,
    /// An event is delivered together with the next one, the two invocations interleaving.
    pub concurrent: f64,
    /// How late (at most, in seconds) an event is delivered: out of order within this.
    pub jitter_secs: i64,
    /// A sale's contention: how often a write to a hot item (a product's statistics) is
    /// throttled after the SDK's own retries, and an order's transaction is cancelled by a
    /// `TransactionConflict`, as DynamoDB answers many writers at once.
    pub contention: f64,
    /// SES's own maximum send rate (messages a second): it throttles what is above.
    pub ses_rate: Option<u32>,
    /// A call of the report's counters fails before or after taking effect, or the invocation
    /// dies there. Drawn from a schedule of its own: at 0 a seed runs as before the counters.
    pub tallies: f64,
}

impl Rates {
    /// No faults: the reference run.
    pub const NONE: Self = Self {
        store: 0.0,
        mailer: 0.0,
        bus: 0.0,
        duplicate: 0.0,
        concurrent: 0.0,
        jitter_secs: 0,
        contention: 0.0,
        ses_rate: None,
        tallies: 0.0,
    };

    /// The rates the fixed seeds run with: every invocation of a dozen calls has a fair chance
    /// of a fault, and hundreds of events meet one.
    pub const DEFAULT: Self = Self {
        store: 0.01,
        mailer: 0.03,
        bus: 0.03,
        duplicate: 0.05,
        concurrent: 0.15,
        jitter_secs: 180,
        contention: 0.0,
        ses_rate: None,
        tallies: 0.0,
    };
}

/// What was injected, for the report.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FaultCounts {
    /// Store calls failed before taking effect.
    pub store_before: u64,
    /// Store calls that took effect, their answer lost.
    pub store_after: u64,
    /// Invocations killed at a store call.
    pub killed: u64,
    /// Store calls timed out (taking effect or not), killing the invocation.
    pub timed_out: u64,
    /// SES throttled (not accepted), injected.
    pub throttled: u64,
    /// SES throttled above its own send rate (not a fault: what SES does).
    pub ses_throttled: u64,
    /// SES rejected for good.
    pub rejected: u64,
    /// SES answer lost: not accepted.
    pub lost_unaccepted: u64,
    /// SES answer lost: accepted.
    pub lost_accepted: u64,
    /// Invocations killed just after SES accepted.
    pub killed_after_send: u64,
    /// Publishes failed before or after putting the events.
    pub bus: u64,
    /// Events delivered twice.
    pub duplicates: u64,
    /// Pairs of invocations run at once.
    pub concurrent: u64,
    /// Events dead-lettered after Lambda's retries (all redriven later).
    pub dead_lettered: u64,
    /// Writes throttled or transactions cancelled by a sale's contention.
    pub contention: u64,
}

impl FaultCounts {
    /// Every fault injected into a port call.
    pub fn injected(&self) -> u64 {
        self.store_before
            + self.store_after
            + self.killed
            + self.timed_out
            + self.throttled
            + self.rejected
            + self.lost_unaccepted
            + self.lost_accepted
            + self.killed_after_send
            + self.bus
            + self.contention
    }
}

/// A store call's fault.
#[derive(Clone, Copy, Debug)]
pub(super) enum StoreFault {
    /// The call takes effect; its answer is lost.
    After,
    /// The call takes effect, then the invocation times out.
    TimedOutAfter,
}

/// What SES does with one send.
#[derive(Clone, Copy, Debug)]
pub(super) enum SendFault {
    Throttle,
    Reject,
    LostUnaccepted,
    LostAccepted,
    KillAfter,
}

/// The schedule, shared by the wrapped ports.
pub(super) struct Plan {
    rng: Mutex<Rng>,
    /// The report counters' own schedule (`Rates::tallies`).
    tally_rng: Mutex<Rng>,
    pub(super) rates: Rates,
    counts: Mutex<FaultCounts>,
    step: AtomicU64,
}

impl Plan {
    pub(super) fn new(seed: u64, rates: Rates) -> Self {
        Self {
            rng: Mutex::new(Rng::new(seed ^ 0x5eed_fa17)),
            tally_rng: Mutex::new(Rng::new(seed ^ 0x7a11_1e55)),
            rates,
            counts: Mutex::default(),
            step: AtomicU64::new(0),
        }
    }

    /// A number drawn from the schedule.
    pub(super) fn draw(&self) -> f64 {
        self.rng.lock().expect("rng").unit()
    }

    /// A number in `0..n` drawn from the schedule.
    pub(super) fn below(&self, n: u64) -> u64 {
        self.rng.lock().expect("rng").below(n)
    }

    /// The next logical step (orders claims against completed events).
    pub(super) fn tick(&self) -> u64 {
        self.step.fetch_add(1, Ordering::SeqCst)
    }

    pub(super) fn count(&self, what: impl FnOnce(&mut FaultCounts)) {
        what(&mut self.counts.lock().expect("counts"));
    }

    pub(super) fn counts(&self) -> FaultCounts {
        self.counts.lock().expect("counts").clone()
    }

    /// Whether the calling invocation has died (false outside any).
    fn dead() -> bool {
        INVOCATION.try_with(|i| i.dead.get()).unwrap_or(false)
    }

    fn kill() {
        let _ = INVOCATION.try_with(|i| i.dead.set(true));
    }

    fn inside() -> bool {
        INVOCATION.try_with(|_| ()).is_ok()
    }

    /// Before a store call: an error when the call must not take effect, or the fault to apply
    /// once it has. Sometimes yields first, so that a concurrent invocation runs in between.
    pub(super) async fn before_store(&self, operation: &'static str) -> Result<Option<StoreFault>, StoreError> {
        if !Self::inside() {
            return Ok(None);
        }
        self.tick();
        if self.rates.concurrent > 0.0 && self.draw() < 0.3 {
            tokio::task::yield_now().await;
        }
        if Self::dead() {
            return Err(unavailable(operation, "the invocation had ended"));
        }
        if self.rates.contention > 0.0 && self.draw() < self.rates.contention {
            match operation {
                "count_purchases" | "product_stats" | "products" => {
                    self.count(|c| c.contention += 1);
                    return Err(unavailable(operation, "ThrottlingException on a hot item (injected)"));
                }
                "confirm_order" | "save_together" => {
                    self.count(|c| c.contention += 1);
                    return Err(StoreError::Conflict {
                        item: "TransactionConflict (injected)".into(),
                    });
                }
                _ => {}
            }
        }
        if self.draw() >= self.rates.store {
            return Ok(None);
        }
        match self.below(5) {
            0 | 1 => {
                self.count(|c| c.store_before += 1);
                Err(unavailable(operation, "ThrottlingException (injected)"))
            }
            2 => {
                self.count(|c| c.store_after += 1);
                Ok(Some(StoreFault::After))
            }
            3 => {
                self.count(|c| c.killed += 1);
                Self::kill();
                Err(unavailable(operation, "the invocation was killed (injected)"))
            }
            _ => {
                self.count(|c| c.timed_out += 1);
                if self.draw() < 0.5 {
                    Self::kill();
                    return Err(unavailable(operation, "timed out before taking effect (injected)"));
                }
                Ok(Some(StoreFault::TimedOutAfter))
            }
        }
    }

    /// Before a call of the report's counters, from their own schedule: nothing at all (not
    /// even a yield) unless `Rates::tallies` is set.
    pub(super) fn before_tally(&self, operation: &'static str) -> Result<Option<StoreFault>, StoreError> {
        if !Self::inside() || self.rates.tallies <= 0.0 {
            return Ok(None);
        }
        if Self::dead() {
            return Err(unavailable(operation, "the invocation had ended"));
        }
        let mut rng = self.tally_rng.lock().expect("rng");
        if rng.unit() >= self.rates.tallies {
            return Ok(None);
        }
        match rng.below(3) {
            0 => {
                self.count(|c| c.store_before += 1);
                Err(unavailable(operation, "ThrottlingException (injected)"))
            }
            1 => {
                self.count(|c| c.store_after += 1);
                Ok(Some(StoreFault::After))
            }
            _ => {
                self.count(|c| c.killed += 1);
                Self::kill();
                Err(unavailable(operation, "the invocation was killed (injected)"))
            }
        }
    }

    /// After a store call that took effect.
    pub(super) fn after_store(&self, operation: &'static str, fault: Option<StoreFault>) -> Result<(), StoreError> {
        match fault {
            None => Ok(()),
            Some(StoreFault::After) => Err(unavailable(operation, "answer lost (injected)")),
            Some(StoreFault::TimedOutAfter) => {
                Self::kill();
                Err(unavailable(operation, "timed out after taking effect (injected)"))
            }
        }
    }

    /// Before a send: `Err(())` when the invocation is dead, else the fault SES shows, if any.
    pub(super) fn before_send(&self) -> Result<Option<SendFault>, ()> {
        if !Self::inside() {
            return Ok(None);
        }
        self.tick();
        if Self::dead() {
            return Err(());
        }
        if self.draw() >= self.rates.mailer {
            return Ok(None);
        }
        let fault = match self.below(10) {
            0..=3 => SendFault::Throttle,
            4 => SendFault::Reject,
            5 | 6 => SendFault::LostUnaccepted,
            7 | 8 => SendFault::LostAccepted,
            _ => SendFault::KillAfter,
        };
        self.count(|c| match fault {
            SendFault::Throttle => c.throttled += 1,
            SendFault::Reject => c.rejected += 1,
            SendFault::LostUnaccepted => c.lost_unaccepted += 1,
            SendFault::LostAccepted => c.lost_accepted += 1,
            SendFault::KillAfter => c.killed_after_send += 1,
        });
        if matches!(fault, SendFault::KillAfter) {
            Self::kill();
        }
        Ok(Some(fault))
    }

    /// Before a publish: `Some(true)` fails it after the events were put, `Some(false)` before.
    pub(super) fn before_publish(&self) -> Result<Option<bool>, ()> {
        if !Self::inside() {
            return Ok(None);
        }
        self.tick();
        if Self::dead() {
            return Err(());
        }
        if self.draw() >= self.rates.bus {
            return Ok(None);
        }
        self.count(|c| c.bus += 1);
        Ok(Some(self.draw() < 0.5))
    }
}

fn unavailable(operation: &'static str, why: &'static str) -> StoreError {
    StoreError::Unavailable {
        operation,
        source: why.into(),
    }
}
