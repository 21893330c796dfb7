//! Adapters that implement the engine's ports in memory (local runner, unit tests); the AWS ones
//! are the `tidings-aws` crate.

pub mod memory;

use crate::ports::Clock;
use jiff::Timestamp;

/// The machine's clock (Lambda).
#[derive(Clone, Copy, Debug, Default)]
pub struct WallClock;

impl Clock for WallClock {
    fn now(&self) -> Timestamp {
        Timestamp::now()
    }

    async fn sleep_until(&self, at: Timestamp) {
        let wait = at.duration_since(Timestamp::now());
        if let Ok(wait) = std::time::Duration::try_from(wait) {
            tokio::time::sleep(wait).await;
        }
    }
}
