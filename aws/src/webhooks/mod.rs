//! The `webhooks` function: signed HTTPS webhooks from WooCommerce, AfterShip and EasyPost behind
//! one Function URL, a path per source (`/woocommerce`, `/aftership`, `/easypost`). The core
//! verifies each delivery over its raw body and translates it (`tidings_core::webhook`); this
//! puts the events on the tidings bus, where the steps' rules take them, and keeps what cannot be
//! translated in the shared dead-letter queue. No table, no SES: the steps do the rest.
//!
//! Answers: 200 for a delivery taken (published, ignored, or kept in the dead-letter queue:
//! WooCommerce retries nothing and disables a webhook after 5 failed deliveries), 401 for a bad or
//! missing signature (nothing published), 404 for a source the configuration does not connect,
//! 405 for anything but `POST`, 500 only when neither the bus nor the queue took it (AfterShip and
//! EasyPost retry it then).

mod dead_letters;
mod secrets;

pub use dead_letters::DeadLetters;
pub use secrets::{WebhookSecrets, parameter as secret_parameter};

use crate::EventBridgeBus;
use jiff::Timestamp;
use serde_json::Value;
use tidings_core::config::StoreConfig;
use tidings_core::webhook::{Delivery, Headers, Received, SignatureError, Source};

/// The environment variable naming the dead-letter queue's URL.
pub const DEAD_LETTER_QUEUE_URL: &str = "DEAD_LETTER_QUEUE_URL";

/// The function's answer: a status and a short text (never customer data).
#[derive(Debug, PartialEq, Eq)]
pub struct Answer {
    /// HTTP status.
    pub status: u16,
    /// Body (plain text).
    pub body: String,
}

impl Answer {
    fn new(status: u16, body: impl Into<String>) -> Self {
        Self {
            status,
            body: body.into(),
        }
    }
}

/// What one delivery needs: the configuration, the bus, the queue and the secrets.
pub struct Endpoint {
    /// The store configuration (`[woocommerce]`, `[aftership]`, `[easypost]`).
    pub config: StoreConfig,
    /// The tidings bus.
    pub bus: EventBridgeBus,
    /// The shared dead-letter queue.
    pub dead_letters: DeadLetters,
    /// The webhook secrets, read from SSM when first needed.
    pub secrets: WebhookSecrets,
}

impl Endpoint {
    /// Answers one request.
    pub async fn answer(&self, method: &str, path: &str, headers: Headers, body: Vec<u8>, now: Timestamp) -> Answer {
        let Some(source) = Source::parse(path.trim_matches('/')) else {
            return Answer::new(404, "unknown path: POST to /woocommerce, /aftership or /easypost");
        };
        if !source.configured(&self.config) {
            tracing::warn!(
                source = source.name(),
                "a delivery for a source the configuration does not connect"
            );
            return Answer::new(404, "this source is not configured");
        }
        if !method.eq_ignore_ascii_case("POST") {
            return Answer::new(405, "POST only");
        }
        let delivery = Delivery {
            source,
            received_at: now,
            headers,
            body,
        };
        let secret = match self.secrets.get(source, false).await {
            Ok(secret) => secret,
            Err(error) => {
                tracing::error!(source = source.name(), %error, "webhook secret unavailable");
                return self
                    .keep(&delivery, "(unverified)", &format!("secret unavailable: {error}"))
                    .await;
            }
        };
        let mut received = delivery.receive(&secret, &self.config);
        if matches!(received, Received::Refused(SignatureError::Mismatch)) {
            // The secret may have been rotated since it was read: read it again (at most once a
            // minute), then decide.
            if let Ok(fresh) = self.secrets.get(source, true).await
                && fresh != secret
            {
                received = delivery.receive(&fresh, &self.config);
            }
        }
        let name = source.name();
        match received {
            Received::Ping => {
                tracing::info!(source = name, "ping answered");
                Answer::new(200, "pong")
            }
            Received::Refused(refused) => {
                tracing::warn!(source = name, reason = %refused, "delivery refused");
                Answer::new(401, refused.to_string())
            }
            Received::Ignored { topic, why } => {
                tracing::info!(source = name, topic, why, "delivery ignored");
                Answer::new(200, format!("ignored: {why}"))
            }
            Received::Events { topic, events } => self.publish(&delivery, &topic, &events).await,
            Received::Untranslatable { topic, error } => {
                tracing::error!(source = name, topic, field = %error.field, reason = %error.reason, "delivery not translatable");
                self.keep(&delivery, &topic, &error.to_string()).await
            }
        }
    }

    async fn publish(&self, delivery: &Delivery, topic: &str, events: &[Value]) -> Answer {
        let source = delivery.source;
        match self.bus.put_envelopes(source.event_source(), events).await {
            Ok(()) => {
                let forwarded: Vec<&str> = events.iter().filter_map(|e| e["detail-type"].as_str()).collect();
                tracing::info!(source = source.name(), topic, ?forwarded, "delivery forwarded");
                Answer::new(200, format!("forwarded {}", forwarded.len()))
            }
            Err(error) => {
                tracing::error!(source = source.name(), topic, %error, "the bus refused the events");
                self.keep(delivery, topic, &format!("the bus refused the events: {error}"))
                    .await
            }
        }
    }

    /// Keeps a delivery in the dead-letter queue and answers 200; 500 if the queue fails too.
    async fn keep(&self, delivery: &Delivery, topic: &str, reason: &str) -> Answer {
        match self.dead_letters.keep(delivery, topic, reason).await {
            Ok(()) => Answer::new(200, "kept for the operator"),
            Err(error) => {
                tracing::error!(source = delivery.source.name(), topic, %error, "the dead-letter queue refused the delivery");
                Answer::new(500, "not taken: retry later")
            }
        }
    }
}

/// The function's `main`: the clients once, then each request.
pub async fn run() -> Result<(), lambda_runtime::Error> {
    use crate::lambda::{InitError, env};
    crate::lambda::init_logging();
    let var = |name: &'static str| {
        std::env::var(name)
            .ok()
            .filter(|v| !v.trim().is_empty())
            .ok_or(InitError::MissingEnv(name))
    };
    let config = StoreConfig::from_toml(&var(env::STORE_CONFIG)?).map_err(InitError::from)?;
    // Each call within a few seconds, so a slow one leaves time for the dead-letter queue
    // before the function's 10 s run out (a timed-out delivery is neither published nor kept).
    let sdk = crate::lambda::sdk_config()
        .await
        .into_builder()
        .timeout_config(
            aws_config::timeout::TimeoutConfig::builder()
                .operation_attempt_timeout(std::time::Duration::from_secs(2))
                .operation_timeout(std::time::Duration::from_secs(4))
                .build(),
        )
        .build();
    let endpoint = Endpoint {
        bus: EventBridgeBus::new(aws_sdk_eventbridge::Client::new(&sdk), var(env::EVENT_BUS_NAME)?),
        dead_letters: DeadLetters::new(aws_sdk_sqs::Client::new(&sdk), var(env::DEAD_LETTER_QUEUE_URL)?),
        secrets: WebhookSecrets::new(&aws_sdk_ssm::Client::new(&sdk), &config),
        config,
    };
    let endpoint = &endpoint;
    lambda_http::run(lambda_http::service_fn(move |request: lambda_http::Request| {
        Box::pin(async move {
            let headers = Headers::new(
                request
                    .headers()
                    .iter()
                    .filter_map(|(name, value)| Some((name.as_str().to_owned(), value.to_str().ok()?.to_owned()))),
            );
            let answer = endpoint
                .answer(
                    request.method().as_str(),
                    request.uri().path(),
                    headers,
                    request.body().to_vec(),
                    Timestamp::now(),
                )
                .await;
            lambda_http::Response::builder()
                .status(answer.status)
                .header("content-type", "text/plain; charset=utf-8")
                .body(lambda_http::Body::from(answer.body))
                .map_err(lambda_http::Error::from)
        })
    }))
    .await
}
