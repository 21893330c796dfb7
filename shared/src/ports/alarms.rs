//! Alarms: what wakes a follow-up when it is due, with nothing polling (on AWS, one EventBridge
//! Scheduler one-time schedule per follow-up; locally, the runner's own sweep of the due index).
//!
//! A store given an alarm clock sets a follow-up's alarm *before* it stores the follow-up, so a
//! stored follow-up always has one; a crash in between leaves an alarm without a follow-up, which
//! fires once and finds nothing waiting. An alarm is for one due time: moving a follow-up sets
//! another, and the old one, if it cannot be cleared, fires once and finds it not yet due.

use super::{FollowUp, StoreError};
use crate::event::FollowUpDue;
use jiff::{SignedDuration, Timestamp};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

/// What setting or clearing an alarm returns.
pub type AlarmFuture<'a> = Pin<Box<dyn Future<Output = Result<(), StoreError>> + Send + 'a>>;

/// Sets and clears follow-ups' alarms. Object-safe: a store holds one behind an `Arc`.
pub trait AlarmClock: Send + Sync {
    /// Sets the alarm for `follow_up` at its due time; one already set is no error.
    fn set<'a>(&'a self, follow_up: &'a FollowUp) -> AlarmFuture<'a>;
    /// Clears the alarm for `follow_up` at its due time (it was removed or moved); one already
    /// gone (fired, or never set) is no error.
    fn clear<'a>(&'a self, follow_up: &'a FollowUp) -> AlarmFuture<'a>;
    /// Sets one more alarm putting `due` on the bus again at `at` (its step could not handle it:
    /// the alarm that rang is gone, and nothing else would ever fire the follow-up).
    fn again<'a>(&'a self, due: &'a FollowUpDue, at: Timestamp) -> AlarmFuture<'a>;
}

/// A store's alarm clock, if it has one (none: something sweeps the due index, as the local
/// runner does).
#[derive(Clone, Default)]
pub struct Alarms(Option<Arc<dyn AlarmClock>>);

impl std::fmt::Debug for Alarms {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0.is_some() {
            "Alarms(set)"
        } else {
            "Alarms(none)"
        })
    }
}

impl Alarms {
    /// Alarms set on `clock`.
    pub fn on(clock: Arc<dyn AlarmClock>) -> Self {
        Self(Some(clock))
    }

    /// Sets the alarms of `follow_ups`, before they are stored: a failure fails the write. A few
    /// at a time, concurrently: an order's two or three cost one round trip, a table's thousands
    /// (the alarm setter) stay within Scheduler's request rate.
    pub async fn set(&self, follow_ups: &[FollowUp]) -> Result<(), StoreError> {
        if let Some(clock) = &self.0 {
            for batch in follow_ups.chunks(AT_ONCE) {
                all(batch.iter().map(|f| clock.set(f)).collect()).await?;
            }
        }
        Ok(())
    }

    /// Rings `due` again at `at`; false when there is no alarm clock (something sweeps instead).
    pub async fn again(&self, due: &FollowUpDue, at: Timestamp) -> Result<bool, StoreError> {
        match &self.0 {
            Some(clock) => clock.again(due, at).await.map(|()| true),
            None => Ok(false),
        }
    }

    /// Clears the alarm of a follow-up about to be erased: a failure fails the erasure.
    pub async fn clear_or_fail(&self, follow_up: &FollowUp) -> Result<(), StoreError> {
        match &self.0 {
            Some(clock) => clock.clear(follow_up).await,
            None => Ok(()),
        }
    }

    /// Clears the alarm of a follow-up removed or moved, after the write. Best effort: an alarm
    /// left set fires once and finds nothing to do, so a failure is only logged.
    pub async fn clear(&self, follow_up: &FollowUp) {
        if let Some(clock) = &self.0
            && let Err(error) = clock.clear(follow_up).await
        {
            tracing::warn!(error = %super::report(&error), message_key = %follow_up.key.redacted(), "an alarm could not be cleared; it will fire once for nothing");
        }
    }
}

/// Alarms set at once.
const AT_ONCE: usize = 16;

/// Runs `pending` concurrently on this task; the first error ends it.
async fn all(mut pending: Vec<AlarmFuture<'_>>) -> Result<(), StoreError> {
    std::future::poll_fn(|cx| {
        let mut i = 0;
        while i < pending.len() {
            match pending[i].as_mut().poll(cx) {
                std::task::Poll::Ready(Ok(())) => {
                    drop(pending.swap_remove(i));
                }
                std::task::Poll::Ready(Err(error)) => return std::task::Poll::Ready(Err(error)),
                std::task::Poll::Pending => i += 1,
            }
        }
        if pending.is_empty() {
            std::task::Poll::Ready(Ok(()))
        } else {
            std::task::Poll::Pending
        }
    })
    .await
}

/// What an alarm puts on the bus when it fires: the `FollowUpDue` the step that owns the
/// follow-up handles, exactly what the sweeper emits.
pub fn due_event(follow_up: &FollowUp) -> FollowUpDue {
    FollowUpDue {
        key: follow_up.key.clone(),
        step: follow_up.key.kind().step(),
        subject_id: follow_up.subject_id(),
        due_at: follow_up.due_at,
    }
}

/// When an alarm for `due` rings, set at `now`: EventBridge Scheduler fires within the minute it
/// is set for (a schedule for 10:00:30 may fire at 10:00:00), so an alarm is set for the next
/// whole minute, never before `due`; and for a time at least a minute ahead, as a schedule in
/// the past would never fire.
pub fn ring_at(due: Timestamp, now: Timestamp) -> Timestamp {
    ceil_minute(due).max(ceil_minute(now) + SignedDuration::from_mins(1))
}

/// `at`, or the next whole minute after it.
fn ceil_minute(at: Timestamp) -> Timestamp {
    let secs = at.as_second();
    let whole = secs - secs.rem_euclid(60);
    match Timestamp::from_second(whole) {
        Ok(floor) if floor == at => at,
        Ok(floor) => floor + SignedDuration::from_mins(1),
        Err(_) => at,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> Timestamp {
        text.parse().expect("timestamp")
    }

    #[test]
    fn an_alarm_never_rings_before_its_follow_up_is_due() {
        let now = at("2026-12-04T10:00:00Z");
        assert_eq!(ring_at(at("2026-12-05T09:30:30.5Z"), now), at("2026-12-05T09:31:00Z"));
        assert_eq!(ring_at(at("2026-12-05T09:31:00Z"), now), at("2026-12-05T09:31:00Z"));
    }

    #[test]
    fn an_alarm_for_a_past_or_imminent_time_rings_in_the_next_minute_but_one() {
        let now = at("2026-12-04T10:00:10Z");
        assert_eq!(ring_at(at("2026-12-01T00:00:00Z"), now), at("2026-12-04T10:02:00Z"));
        assert_eq!(ring_at(at("2026-12-04T10:00:20Z"), now), at("2026-12-04T10:02:00Z"));
        assert_eq!(ring_at(at("2026-12-04T10:05:00Z"), now), at("2026-12-04T10:05:00Z"));
    }
}
