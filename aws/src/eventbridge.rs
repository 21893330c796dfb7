//! `Bus` on EventBridge: `PutEvents`, checking `FailedEntryCount` and retrying the failed entries.

use aws_sdk_eventbridge::Client;
use aws_sdk_eventbridge::error::DisplayErrorContext;
use aws_sdk_eventbridge::primitives::DateTime;
use aws_sdk_eventbridge::types::PutEventsRequestEntry;
use tidings_core::event::Emitted;
use tidings_core::ports::{Bus, BusError, Outbound};

/// Attempts per batch before giving up (the invocation then fails and is retried as a whole).
const ATTEMPTS: u32 = 4;

/// Publishes tidings' events with `source` = `tidings` on one bus.
#[derive(Clone, Debug)]
pub struct EventBridgeBus {
    client: Client,
    bus_name: String,
    /// The function publishing (Lambda's `AWS_LAMBDA_FUNCTION_NAME`), named in `AttentionNeeded`.
    function: Option<String>,
}

impl EventBridgeBus {
    /// A bus publisher.
    pub fn new(client: Client, bus_name: impl Into<String>) -> Self {
        Self {
            client,
            bus_name: bus_name.into(),
            function: std::env::var("AWS_LAMBDA_FUNCTION_NAME").ok().filter(|f| !f.is_empty()),
        }
    }

    /// The same bus, saying that `function` publishes (tests; Lambda sets it from the environment).
    pub fn from_function(mut self, function: impl Into<String>) -> Self {
        self.function = Some(function.into());
        self
    }

    fn entry(&self, event: &Outbound) -> Result<PutEventsRequestEntry, BusError> {
        let failed = |e: serde_json::Error| BusError {
            detail_type: event.detail.detail_type().to_owned(),
            reason: e.to_string(),
        };
        let mut detail = serde_json::to_value(&event.detail).map_err(failed)?;
        // Which function needs looking at: the failures queue holds records of every function.
        if let (Emitted::AttentionNeeded(_), Some(function), Some(map)) =
            (&event.detail, &self.function, detail.as_object_mut())
        {
            map.insert("function".into(), function.as_str().into());
        }
        let detail = serde_json::to_string(&detail).map_err(failed)?;
        Ok(PutEventsRequestEntry::builder()
            .source("tidings")
            .detail_type(event.detail.detail_type())
            .detail(detail)
            .event_bus_name(&self.bus_name)
            .time(DateTime::from_secs(event.time.as_second()))
            .build())
    }
}

impl EventBridgeBus {
    /// Puts contract envelopes (the Shopify function's translated events) on the bus with
    /// `source`: each envelope's detail-type, detail and time.
    pub async fn put_envelopes(&self, source: &str, envelopes: &[serde_json::Value]) -> Result<(), BusError> {
        let detail_type = |e: &serde_json::Value| e["detail-type"].as_str().unwrap_or_default().to_owned();
        let entries = envelopes
            .iter()
            .map(|envelope| {
                let time = envelope["time"]
                    .as_str()
                    .and_then(|t| t.parse::<jiff::Timestamp>().ok())
                    .ok_or_else(|| BusError {
                        detail_type: detail_type(envelope),
                        reason: "an envelope without a time".into(),
                    })?;
                Ok(PutEventsRequestEntry::builder()
                    .source(source)
                    .detail_type(detail_type(envelope))
                    .detail(envelope["detail"].to_string())
                    .event_bus_name(&self.bus_name)
                    .time(DateTime::from_secs(time.as_second()))
                    .build())
            })
            .collect::<Result<Vec<_>, BusError>>()?;
        for chunk in entries.chunks(10) {
            let first = envelopes.first().map(detail_type).unwrap_or_default();
            self.put(chunk.to_vec(), first).await?;
        }
        Ok(())
    }

    /// One `PutEvents` of at most 10 entries, the failed ones retried with backoff.
    async fn put(&self, mut pending: Vec<PutEventsRequestEntry>, detail_type: String) -> Result<(), BusError> {
        for attempt in 1..=ATTEMPTS {
            let output = self
                .client
                .put_events()
                .set_entries(Some(pending.clone()))
                .send()
                .await
                .map_err(|e| BusError {
                    detail_type: detail_type.clone(),
                    reason: DisplayErrorContext(e).to_string(),
                })?;
            if output.failed_entry_count == 0 {
                return Ok(());
            }
            let results = output.entries();
            let errors: Vec<String> = results
                .iter()
                .filter_map(|r| r.error_code().map(str::to_owned))
                .collect();
            pending = pending
                .into_iter()
                .zip(results)
                .filter(|(_, result)| result.error_code().is_some())
                .map(|(entry, _)| entry)
                .collect();
            if attempt == ATTEMPTS {
                return Err(BusError {
                    detail_type,
                    reason: format!(
                        "{} entries still failing after {ATTEMPTS} attempts: {errors:?}",
                        pending.len()
                    ),
                });
            }
            tokio::time::sleep(super::backoff(attempt)).await;
        }
        Ok(())
    }
}

impl Bus for EventBridgeBus {
    async fn publish(&self, events: &[Outbound]) -> Result<(), BusError> {
        // PutEvents takes at most 10 entries.
        for chunk in events.chunks(10) {
            let pending = chunk.iter().map(|e| self.entry(e)).collect::<Result<Vec<_>, _>>()?;
            let detail_type = chunk.first().map_or("", |e| e.detail.detail_type()).to_owned();
            self.put(pending, detail_type).await?;
        }
        Ok(())
    }
}
