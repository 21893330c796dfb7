//! The account's send rate: SES accepts at most `[sending] max_rate` messages a second (14 for a
//! new production account) and `daily_quota` a day. Every message takes its send from one
//! counter in the store shared by every invocation (before its claim, so a wait holds nothing),
//! waits a moment for the next second when this one's are taken, and otherwise goes back in the
//! queue: a burst is paced, never retried into a dead-letter queue. The day's count, from the
//! same counter, warns before the quota is hit. A message refused at its claim (a redelivery)
//! has used a send for nothing: the rate errs low.

use super::{Engine, EngineError};
use crate::message::MessageKey;
use crate::ports::{Bus, Clock, Mailer, Store};
use jiff::{SignedDuration, Timestamp};

/// How long an invocation waits for a free second before the message goes back in the queue.
pub(super) const PACE_WAIT: SignedDuration = SignedDuration::from_secs(5);
/// When a message that found no free second is looked at again (the sweeper's next tick).
pub const PACE_RETRY: SignedDuration = SignedDuration::from_mins(1);
/// When a message the provider throttled or could not take (5xx) is tried again.
pub const SEND_RETRY: SignedDuration = SignedDuration::from_mins(1);

/// The shares of the daily quota at which the day's sends are reported (per cent).
const QUOTA_WARNINGS: [u64; 2] = [80, 100];

impl<S: Store, M: Mailer, B: Bus, C: Clock> Engine<S, M, B, C> {
    /// Takes one of the account's sends for `key`, waiting up to `PACE_WAIT` for a second with
    /// one free; false when none came free (the caller defers the message).
    pub(super) async fn pace(&self, key: &MessageKey) -> Result<bool, EngineError> {
        let sending = &self.config.sending;
        let clock = &self.ports.clock;
        let deadline = clock.now() + PACE_WAIT;
        loop {
            let now = clock.now();
            if let Some(today) = self.ports.store.take_send_slot(now, sending.max_rate).await? {
                warn_near_quota(today, sending.daily_quota, key);
                return Ok(true);
            }
            let next = Timestamp::from_second(now.as_second() + 1).unwrap_or(deadline);
            if next > deadline {
                tracing::warn!(message_key = %key.redacted(), metric = "send_paced", rate = sending.max_rate, "the account's send rate is taken; the message waits in the queue");
                return Ok(false);
            }
            clock.sleep_until(next).await;
        }
    }
}

/// Reports, once each, the sends that reach 80 % and 100 % of the daily quota (0: unknown) on the
/// failure path every operator watches: an error line with its metric.
fn warn_near_quota(today: u64, quota: u64, key: &MessageKey) {
    for share in QUOTA_WARNINGS {
        if quota > 0 && today == (quota * share).div_ceil(100) {
            tracing::error!(message_key = %key.redacted(), metric = "send_quota_near", sent_today = today, daily_quota = quota, share, "SES's daily sending quota is nearly used up: ask AWS for a higher quota, or later messages wait for tomorrow's");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::QUOTA_WARNINGS;

    #[test]
    fn the_quota_warnings_fall_on_whole_sends() {
        let at = |quota: u64| QUOTA_WARNINGS.map(|share| (quota * share).div_ceil(100));
        assert_eq!(at(50_000), [40_000, 50_000]);
        assert_eq!(at(7), [6, 7]);
    }
}
