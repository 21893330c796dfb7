//! EventBridge Scheduler under the fault schedule: the follow-ups' one-time schedules, set and
//! cleared by the store like any other call (and failing like one: before or after taking effect,
//! or with the invocation dying), and fired by the run when their minute comes.

use super::plan::Plan;
use jiff::Timestamp;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use tidings_core::adapters::memory::SimClock;
use tidings_core::event::FollowUpDue;
use tidings_core::ports::{AlarmClock, AlarmFuture, Clock, FollowUp, due_event, ring_at};

/// The schedules set, by name (a follow-up's key and due time, as the Scheduler adapter names them).
pub struct AlarmBook {
    plan: Arc<Plan>,
    clock: Arc<SimClock>,
    set: Mutex<BTreeMap<String, (Timestamp, FollowUpDue)>>,
}

impl AlarmBook {
    pub(super) fn new(plan: Arc<Plan>, clock: Arc<SimClock>) -> Self {
        Self {
            plan,
            clock,
            set: Mutex::default(),
        }
    }

    /// When the next alarm rings.
    pub(super) fn next(&self) -> Option<Timestamp> {
        self.set.lock().expect("alarms").values().map(|(at, _)| *at).min()
    }

    /// Takes the alarms ringing at or before `at` (Scheduler deletes a one-time schedule once it
    /// has put its event on the bus), earliest first.
    pub(super) fn ring(&self, at: Timestamp) -> Vec<(Timestamp, FollowUpDue)> {
        let mut set = self.set.lock().expect("alarms");
        let names: Vec<String> = set
            .iter()
            .filter(|(_, (rings, _))| *rings <= at)
            .map(|(name, _)| name.clone())
            .collect();
        let mut rung: Vec<(Timestamp, FollowUpDue)> = names.iter().filter_map(|name| set.remove(name)).collect();
        rung.sort_by(|a, b| (a.0, a.1.key.as_str()).cmp(&(b.0, b.1.key.as_str())));
        rung
    }

    fn name(follow_up: &FollowUp) -> String {
        format!("{}@{}", follow_up.key, follow_up.due_at)
    }
}

impl AlarmClock for AlarmBook {
    fn set<'a>(&'a self, follow_up: &'a FollowUp) -> AlarmFuture<'a> {
        Box::pin(async move {
            let fault = self.plan.before_store("set_alarm").await?;
            let rings = ring_at(follow_up.due_at, self.clock.now());
            self.set
                .lock()
                .expect("alarms")
                .entry(Self::name(follow_up))
                .or_insert((rings, due_event(follow_up)));
            self.plan.after_store("set_alarm", fault)
        })
    }

    fn again<'a>(&'a self, due: &'a FollowUpDue, at: Timestamp) -> AlarmFuture<'a> {
        Box::pin(async move {
            let fault = self.plan.before_store("ring_again").await?;
            let rings = ring_at(at, self.clock.now());
            let name = format!("{}@{}+again@{at}", due.key, due.due_at);
            self.set
                .lock()
                .expect("alarms")
                .entry(name)
                .or_insert((rings, due.clone()));
            self.plan.after_store("ring_again", fault)
        })
    }

    fn clear<'a>(&'a self, follow_up: &'a FollowUp) -> AlarmFuture<'a> {
        Box::pin(async move {
            let fault = self.plan.before_store("clear_alarm").await?;
            self.set.lock().expect("alarms").remove(&Self::name(follow_up));
            self.plan.after_store("clear_alarm", fault)
        })
    }
}
