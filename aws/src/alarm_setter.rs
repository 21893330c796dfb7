//! The alarm setter: the `follow-up-sweeper` function's one job since follow-ups have alarms
//! (docs/aws.md, "Follow-ups' alarms"), run once per migration.

use super::DynamoStore;
use super::lambda::HandlerError;
use serde_json::{Value, json};
use std::time::Duration;
use tidings_core::engine::{Engine, EngineError};
use tidings_core::ports::{Bus, Clock, Mailer};

/// The `follow-up-sweeper` function's job since follow-ups have alarms (started by the stack
/// once per migration, and safe to start by hand): brings a table an earlier release wrote up to
/// date, then sets an alarm for every waiting follow-up, so those stored before alarms existed (a
/// yearly birthday among them), which a sweeper would have found, fire too. An alarm already set
/// is no error: a rerun only sets what is missing.
///
/// `pause` lets time pass (Lambda: a sleep; tests: their clock moves): first `settle` (the
/// earlier release's last invocations finish), then a minute between the upgrade's passes, which
/// end only with one begun ten minutes after the first. Past `UPGRADE_PAUSES` the invocation
/// fails, and Lambda's retry goes on from where the table's marker says.
pub async fn set_waiting_alarms<M, B, C, P, F>(
    engine: &Engine<DynamoStore, M, B, C>,
    settle: Duration,
    pause: P,
) -> Result<Value, HandlerError>
where
    M: Mailer,
    B: Bus,
    C: Clock,
    P: Fn(Duration) -> F,
    F: std::future::Future<Output = ()>,
{
    use tidings_core::ports::Upgrades;
    if !settle.is_zero() {
        pause(settle).await;
    }
    let mut pauses = 0;
    while !engine
        .store()
        .upgrade(engine.clock().now())
        .await
        .map_err(EngineError::from)?
    {
        if pauses == UPGRADE_PAUSES {
            return Err(EngineError::from(tidings_core::ports::StoreError::Unavailable {
                operation: "upgrade",
                source: "the table's upgrade is not finished: the retry goes on with it".into(),
            })
            .into());
        }
        pauses += 1;
        pause(Duration::from_secs(60)).await;
    }
    let set = engine.store().set_waiting_alarms().await.map_err(EngineError::from)?;
    tracing::info!(set, upgrade_pauses = pauses, "alarms set for the waiting follow-ups");
    Ok(json!({ "alarms": set }))
}

/// Minutes of upgrade passes one invocation waits through (of its 15).
pub const UPGRADE_PAUSES: u32 = 12;
