//! Deliveries that were signed but could not be translated (or published), kept in the shared
//! dead-letter queue with their body and the reason, for the operator to fix and replay
//! (`tidings replay` reads the same capture, docs/webhooks.md).

use serde_json::json;
use tidings_core::webhook::{Delivery, signature};

/// SQS takes messages up to 256 KiB: a message is cut to fit, counted as sent (after JSON's
/// escapes), with the room the other members take.
const MAX_MESSAGE: usize = 250 * 1024;

/// Why the queue did not take a delivery.
#[derive(Debug, thiserror::Error)]
#[error("SQS SendMessage: {0}")]
pub struct QueueError(String);

/// The shared dead-letter queue.
pub struct DeadLetters {
    client: aws_sdk_sqs::Client,
    url: String,
}

impl DeadLetters {
    /// The queue at `url`.
    pub fn new(client: aws_sdk_sqs::Client, url: String) -> Self {
        Self { client, url }
    }

    /// Keeps `delivery` as a replay capture (`{"webhook", "received_at", "headers", "body"}`)
    /// with the topic and the reason beside it; the signature header is kept, so the capture
    /// replays as it came.
    pub async fn keep(&self, delivery: &Delivery, topic: &str, reason: &str) -> Result<(), QueueError> {
        let full = String::from_utf8_lossy(&delivery.body).into_owned();
        let headers: serde_json::Map<String, serde_json::Value> = [
            "content-type",
            "x-wc-webhook-source",
            "x-wc-webhook-topic",
            "x-wc-webhook-resource",
            "x-wc-webhook-event",
            "x-wc-webhook-id",
            "x-wc-webhook-delivery-id",
            signature::header(delivery.source),
        ]
        .into_iter()
        .filter_map(|name| Some((name.to_owned(), json!(delivery.headers.get(name)?))))
        .collect();
        let message = |body: &str, cut: bool| {
            json!({
                "webhook": delivery.source.name(),
                "received_at": delivery.received_at.to_string(),
                "headers": headers,
                "body": body,
                "topic": topic,
                "reason": reason,
                "body_cut": cut,
            })
            .to_string()
        };
        let mut text = message(&full, false);
        let mut keep = full.len();
        // A cut body no longer verifies on replay: the reason and the headers still tell what came.
        while text.len() > MAX_MESSAGE && keep > 0 {
            keep = keep.saturating_sub(text.len() - MAX_MESSAGE + 1024);
            while !full.is_char_boundary(keep) {
                keep -= 1;
            }
            text = message(&full[..keep], true);
        }
        self.client
            .send_message()
            .queue_url(&self.url)
            .message_body(text)
            .send()
            .await
            .map_err(|e| QueueError(aws_sdk_sqs::error::DisplayErrorContext(e).to_string()))?;
        Ok(())
    }
}
