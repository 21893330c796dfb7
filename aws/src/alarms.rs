//! Follow-up alarms on EventBridge Scheduler: one one-time schedule per follow-up and due time,
//! which puts the follow-up's `FollowUpDue` on the bus when it is due and then deletes itself.
//! Nothing polls: a quiet store runs nothing.
//!
//! A schedule is named `f-` + 32 hex, a keyed hash of the message key and the due time: names are
//! at most 64 characters, and one must say nothing of the customer it is about (the console and
//! CloudTrail show them). One per due time, so a moved follow-up's new alarm never collides with
//! the old one, which may be firing (and deleting itself) at that moment.

use aws_sdk_scheduler::Client;
use aws_sdk_scheduler::error::DisplayErrorContext;
use aws_sdk_scheduler::types::{
    ActionAfterCompletion, DeadLetterConfig, EventBridgeParameters, FlexibleTimeWindow, FlexibleTimeWindowMode,
    RetryPolicy, Target,
};
use jiff::Timestamp;
use tidings_core::event::FollowUpDue;
use tidings_core::guest::GuestIds;
use tidings_core::message::Step;
use tidings_core::ports::{AlarmClock, AlarmFuture, FollowUp, StoreError, due_event, ring_at};

/// How long Scheduler keeps trying to put a due follow-up on the bus (its maximum) before the
/// failures queue gets it.
const MAX_EVENT_AGE_SECS: i32 = 86_400;

/// Where alarms live and what they may do (docs/aws.md): the stack's schedule group, the role
/// Scheduler assumes to put events on the bus, and the failures queue for what it could not.
#[derive(Clone, Debug)]
pub struct AlarmSettings {
    /// `FOLLOW_UP_ALARM_GROUP`.
    pub group: String,
    /// `FOLLOW_UP_ALARM_ROLE_ARN`.
    pub role_arn: String,
    /// `EVENT_BUS_ARN`.
    pub bus_arn: String,
    /// `FAILURES_QUEUE_ARN`.
    pub failures_queue_arn: String,
}

/// Sets and clears follow-ups' schedules.
#[derive(Clone, Debug)]
pub struct SchedulerAlarms {
    client: Client,
    settings: AlarmSettings,
    names: GuestIds,
}

impl SchedulerAlarms {
    /// Alarms in `settings.group`, named with the never-rotated guest-id key.
    pub fn new(client: Client, settings: AlarmSettings, names: GuestIds) -> Self {
        Self {
            client,
            settings,
            names,
        }
    }

    /// The schedule of `follow_up` at its due time.
    pub fn name(&self, follow_up: &FollowUp) -> String {
        self.names
            .name("f-", &["alarm", follow_up.key.as_str(), &follow_up.due_at.to_string()])
    }

    /// The alarm ringing `due` once more at `at` (its step failed on it).
    fn again_name(&self, due: &FollowUpDue, at: Timestamp) -> String {
        self.names.name(
            "f-",
            &[
                "alarm-again",
                due.key.as_str(),
                &due.due_at.to_string(),
                &at.to_string(),
            ],
        )
    }

    fn target(&self, due: &FollowUpDue) -> Result<Target, StoreError> {
        let input = serde_json::to_string(due).map_err(|e| StoreError::Corrupt {
            item: format!("alarm of {}", due.key.redacted()),
            source: Box::new(e),
        })?;
        let bus = EventBridgeParameters::builder()
            .source("tidings")
            .detail_type("FollowUpDue")
            .build()
            .map_err(failed("set alarm"))?;
        Target::builder()
            .arn(&self.settings.bus_arn)
            .role_arn(&self.settings.role_arn)
            .input(input)
            .event_bridge_parameters(bus)
            .retry_policy(
                RetryPolicy::builder()
                    .maximum_event_age_in_seconds(MAX_EVENT_AGE_SECS)
                    .maximum_retry_attempts(185)
                    .build(),
            )
            .dead_letter_config(
                DeadLetterConfig::builder()
                    .arn(&self.settings.failures_queue_arn)
                    .build(),
            )
            .build()
            .map_err(failed("set alarm"))
    }

    /// Sets the alarm `name`, putting `due` on the bus in the minute after `at`.
    async fn create(&self, name: String, due: &FollowUpDue, at: Timestamp) -> Result<(), StoreError> {
        let at = ring_at(at, Timestamp::now());
        let result = self
            .client
            .create_schedule()
            .group_name(&self.settings.group)
            .name(name)
            .schedule_expression(expression(at))
            .schedule_expression_timezone("UTC")
            .flexible_time_window(
                FlexibleTimeWindow::builder()
                    .mode(FlexibleTimeWindowMode::Off)
                    .build()
                    .map_err(failed("set alarm"))?,
            )
            .action_after_completion(ActionAfterCompletion::Delete)
            .description(description(due.step))
            .target(self.target(due)?)
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            // Set already (a retry, a redelivery, the same follow-up written again).
            Err(e) if e.as_service_error().is_some_and(|e| e.is_conflict_exception()) => Ok(()),
            Err(e) => Err(failed("set alarm")(DisplayErrorContext(e).to_string())),
        }
    }

    async fn delete(&self, follow_up: &FollowUp) -> Result<(), StoreError> {
        let result = self
            .client
            .delete_schedule()
            .group_name(&self.settings.group)
            .name(self.name(follow_up))
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            // Fired and deleted itself, or never set.
            Err(e)
                if e.as_service_error()
                    .is_some_and(|e| e.is_resource_not_found_exception()) =>
            {
                Ok(())
            }
            Err(e) => Err(failed("clear alarm")(DisplayErrorContext(e).to_string())),
        }
    }
}

impl AlarmClock for SchedulerAlarms {
    fn set<'a>(&'a self, follow_up: &'a FollowUp) -> AlarmFuture<'a> {
        Box::pin(async move {
            self.create(self.name(follow_up), &due_event(follow_up), follow_up.due_at)
                .await
        })
    }

    fn again<'a>(&'a self, due: &'a FollowUpDue, at: Timestamp) -> AlarmFuture<'a> {
        Box::pin(async move { self.create(self.again_name(due, at), due, at).await })
    }

    fn clear<'a>(&'a self, follow_up: &'a FollowUp) -> AlarmFuture<'a> {
        Box::pin(self.delete(follow_up))
    }
}

/// `at(yyyy-mm-ddThh:mm:ss)` in UTC.
pub fn expression(at: Timestamp) -> String {
    format!("at({})", at.strftime("%Y-%m-%dT%H:%M:%S"))
}

/// What the console shows beside the name: the step, nothing about the customer.
fn description(step: Step) -> String {
    format!("tidings follow-up for {}", step.as_str())
}

fn failed<E: Into<Box<dyn std::error::Error + Send + Sync>>>(operation: &'static str) -> impl FnOnce(E) -> StoreError {
    move |error| StoreError::Unavailable {
        operation,
        source: error.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_expression_is_in_whole_seconds_of_utc() {
        let at: Timestamp = "2027-03-14T09:05:00Z".parse().expect("time");
        assert_eq!(expression(at), "at(2027-03-14T09:05:00)");
    }
}
