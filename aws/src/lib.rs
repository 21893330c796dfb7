//! tidings on AWS: the DynamoDB, SES and EventBridge adapters of the engine's ports (`tidings-core`) and
//! the wiring every Lambda shares. The core knows nothing of AWS; this crate is all of it.

// The engine's futures over the AWS SDK's nest deeper than rustc's default query depth (128)
// allows in some build orders: a clean CI build hit 130 computing a `main`'s layout.
#![recursion_limit = "256"]

mod alarm_setter;
pub mod alarms;
mod dynamo;
mod eventbridge;
pub mod history;
pub mod lambda;
pub mod secret;
mod ses;
pub mod shopify;
pub mod trackers;
mod upgrade;
pub mod webhooks;
pub mod woocommerce;

pub use dynamo::DynamoStore;
pub use eventbridge::EventBridgeBus;
pub use ses::{SesMailer, message_tags};

/// Exponential backoff with jitter (from the clock's sub-second noise: no RNG needed for this).
fn backoff(attempt: u32) -> std::time::Duration {
    let base = 100u64 << attempt.min(6);
    let noise = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::from(d.subsec_nanos()) % base);
    std::time::Duration::from_millis(base + noise)
}
