//! The account's send rate: SES accepts at most `[sending] max_rate` messages a second (14 for a
//! new production account) and `daily_quota` a day. Every message takes its send from one
//! counter in the store shared by every invocation (before its claim, so a wait holds nothing),
//! waits a moment for the next second when this one's are taken, and otherwise goes back in the
//! queue: a burst is paced, never retried into a dead-letter queue. The day's count, from the
//! same counter, warns before the quota is hit. A message refused at its claim (a redelivery)
//! has used a send for nothing: the rate errs low.

use super::{Engine, EngineError, Outcome};
use crate::event::Attention;
use crate::message::{Category, MessageKey};
use crate::ports::{Bus, Clock, FollowUp, Mailer, Store};
use jiff::{SignedDuration, Timestamp};

/// How long a message waits for a free second before it goes back in the queue. Short: one event
/// may send several messages, and a step has 30 s.
pub(super) const PACE_WAIT: SignedDuration = SignedDuration::from_secs(2);
/// The first wait of a message that found no free second, or that the provider did not take
/// (throttled, 5xx): the sweeper's next tick. Later waits are half the time it has waited.
pub const SEND_RETRY: SignedDuration = SignedDuration::from_mins(1);
/// The longest wait between two tries.
const SEND_RETRY_MAX: SignedDuration = SignedDuration::from_hours(1);
/// How long a message may be held up before it is reported on the failure path.
const SEND_HELD_UP: SignedDuration = SignedDuration::from_hours(1);

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
            let taken = match self.ports.store.take_send_slot(now, sending.max_rate).await {
                Ok(taken) => taken,
                // The count is advice: without it the message goes, and SES's own throttling
                // still puts it back in the queue. A store down stops the sends anyway.
                Err(error) => {
                    tracing::warn!(message_key = %key.redacted(), error = %crate::ports::report(&error), "the send rate could not be read; sending unpaced");
                    return Ok(true);
                }
            };
            if let Some(today) = taken {
                if let Some(share) = quota_reached(today, sending.daily_quota) {
                    let detail = format!(
                        "{today} sends today, {share} % of SES's daily quota of {}: ask AWS for a higher quota, or later messages wait for tomorrow's",
                        sending.daily_quota
                    );
                    let subject = key.redacted().to_string();
                    self.needs_attention(Attention::SendQuotaNear, &subject, detail).await;
                }
                return Ok(true);
            }
            let next = Timestamp::from_second(now.as_second() + 1).unwrap_or(deadline);
            if next > deadline {
                return Ok(false);
            }
            clock.sleep_until(next).await;
        }
    }

    /// Puts back in the queue a message the send rate had no room for, or the provider did not
    /// take (`why`): tried again after half the time it has waited (`SEND_RETRY` to an hour). A
    /// transactional message never expires waiting so (marketing does, as any deferral); one held
    /// up over an hour is reported on the failure path.
    pub(super) async fn send_later(
        &self,
        mut follow_up: FollowUp,
        stored: bool,
        now: Timestamp,
        why: &str,
    ) -> Result<Outcome, EngineError> {
        let waited = now.duration_since(follow_up.original_due);
        let until = now + retry_wait(waited);
        let key = &follow_up.key;
        if key.kind().category() == Category::Transactional {
            follow_up.expires_at = follow_up.expires_at.max(until);
        }
        if waited >= SEND_HELD_UP {
            let detail = format!("a message has waited {waited:#} for SES (still tried): {why}");
            let subject = key.redacted().to_string();
            self.needs_attention(Attention::SendStuck, &subject, detail).await;
        } else {
            tracing::warn!(message_key = %key.redacted(), metric = "send_retried", why, %until, "not sent yet; tried again later");
        }
        self.defer(follow_up, stored, until).await
    }
}

/// How long a message that has waited `waited` waits before its next try: half that, from
/// `SEND_RETRY` to `SEND_RETRY_MAX`.
fn retry_wait(waited: SignedDuration) -> SignedDuration {
    (waited / 2).clamp(SEND_RETRY, SEND_RETRY_MAX)
}

/// The day's sends at which the quota is reported: its `QUOTA_WARNINGS` shares, in whole sends.
fn quota_marks(quota: u64) -> [u64; QUOTA_WARNINGS.len()] {
    QUOTA_WARNINGS.map(|share| (quota * share).div_ceil(100))
}

/// The share of the daily quota (0: unknown) that the day's `today`th send reaches, if it is one
/// of `QUOTA_WARNINGS`: each is reported once, as it is reached (the higher one where a tiny quota
/// gives both the same send).
fn quota_reached(today: u64, quota: u64) -> Option<u64> {
    QUOTA_WARNINGS
        .into_iter()
        .zip(quota_marks(quota))
        .rev()
        .find(|(_, mark)| quota > 0 && today == *mark)
        .map(|(share, _)| share)
}

#[cfg(test)]
mod tests {
    use super::{SEND_RETRY, SEND_RETRY_MAX, quota_marks, quota_reached, retry_wait};
    use jiff::SignedDuration;

    #[test]
    fn retries_back_off_to_an_hour() {
        let wait = |waited_mins: i64| retry_wait(SignedDuration::from_mins(waited_mins));
        assert_eq!(wait(0), SEND_RETRY);
        assert_eq!(wait(10), SignedDuration::from_mins(5));
        assert_eq!(wait(600), SEND_RETRY_MAX);
    }

    #[test]
    fn the_quota_warnings_fall_on_whole_sends() {
        assert_eq!(quota_marks(50_000), [40_000, 50_000]);
        assert_eq!(quota_marks(7), [6, 7]);
    }

    #[test]
    fn each_share_of_the_quota_is_reported_as_it_is_reached() {
        assert_eq!(quota_reached(40_000, 50_000), Some(80));
        assert_eq!(quota_reached(50_000, 50_000), Some(100));
        assert_eq!(quota_reached(40_001, 50_000), None);
        assert_eq!(quota_reached(50_001, 50_000), None);
        assert_eq!(quota_reached(1, 1), Some(100));
        // An unknown quota (0) is never reported.
        assert_eq!(quota_reached(0, 0), None);
    }
}
