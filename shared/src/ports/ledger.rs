//! The send ledger: a message's claim and the state machine its claim goes through (claimed →
//! sending → sent/failed, or unknown when the provider never answered).

use super::{Consent, IssuedCoupon};
use crate::domain::{CustomerId, EmailAddress};
use crate::message::{Category, MessageKey};
use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};

/// How long a transactional message's provider call may stay unreported before it is sent once
/// more. SES reports a `Send` within seconds; a quarter of an hour without one means the process
/// died before SES accepted it (or, rarely, SES's report was lost: then the customer gets it twice).
pub const RECOVER_AFTER: SignedDuration = SignedDuration::from_mins(15);

/// A request to claim a message key.
#[derive(Clone, Debug)]
pub struct Claim {
    /// The key.
    pub key: MessageKey,
    /// The recipient.
    pub customer_id: CustomerId,
    /// Their address: a suppressed one refuses the claim (checked in the same write).
    pub to: EmailAddress,
    /// Now.
    pub at: Timestamp,
    /// How long a claim without an outcome blocks others (a crash before the provider answered).
    pub lease: SignedDuration,
    /// Marketing: the cap window; the claim fails with `CapReached` if another marketing message
    /// was claimed for this customer less than this long ago.
    pub cap: Option<SignedDuration>,
    /// Marketing: the consent statement the message relies on (kept with the message record).
    pub consent: Option<Consent>,
    /// Taken straight in the `sending` state: nothing stands between the claim and the provider
    /// call (no coupon to announce first), so there is no separate `mark_sending`.
    pub sending: bool,
    /// The coupon the message carries, recorded with the claim (for attribution).
    pub coupon: Option<IssuedCoupon>,
}

/// What happened to a claim.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClaimOutcome {
    /// Ours: send it.
    Claimed,
    /// Already accepted by the provider: never again.
    AlreadySent,
    /// Permanently failed before: not retried.
    AlreadyFailed,
    /// Someone else holds a live lease and has not called the provider yet.
    InFlight {
        /// When the lease runs out (the holder is then presumed dead).
        until: Timestamp,
    },
    /// The provider was called and never answered (a crash or timeout mid-send): it may have
    /// accepted the message, so it is never sent again automatically.
    OutcomeUnknown,
    /// A transactional message the provider was called for at `since` and never reported in
    /// `RECOVER_AFTER`: taken back with `Store::recover_claim`, it is sent once more (the one
    /// place a duplicate is possible: the provider accepted it and its report was lost).
    Recoverable {
        /// When the unanswered attempt began (the claim is taken back only from that attempt).
        since: Timestamp,
    },
    /// The frequency cap is taken until `last + window`.
    CapReached {
        /// The previous marketing claim.
        last: Timestamp,
    },
    /// The address is suppressed (hard bounce, complaint): nothing was claimed.
    Suppressed,
    /// Marketing to an address that unsubscribed through tidings: nothing was claimed.
    OptedOut,
}

/// Why a claim found `sending` (the provider called at `since`, no answer recorded) refuses a new
/// claim: the holder may still be calling (lease), SES may still report it (a transactional
/// message gets `RECOVER_AFTER`, then one more attempt), or nobody can know (marketing, or a
/// message already recovered once).
fn unanswered(claim: &Claim, since: Timestamp, lease_until: Timestamp, recovered: bool) -> ClaimOutcome {
    let transactional = claim.key.kind().category() == Category::Transactional;
    if lease_until > claim.at {
        return ClaimOutcome::InFlight { until: lease_until };
    }
    if !transactional || recovered {
        return ClaimOutcome::OutcomeUnknown;
    }
    let reported_by = since + RECOVER_AFTER;
    if reported_by > claim.at {
        return ClaimOutcome::InFlight { until: reported_by };
    }
    ClaimOutcome::Recoverable { since }
}

/// What a stored claim says, as far as a new claim is concerned (each store reads it its own
/// way: the memory store from its `ClaimState`, DynamoDB from the claim item's attributes).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Held {
    /// Accepted by the provider.
    Sent,
    /// Failed for good.
    Failed,
    /// Taken, the provider not called yet, under a lease until then.
    Claimed {
        /// Lease end.
        lease_until: Timestamp,
    },
    /// The provider was called at `since` (unknown: an item without the time) and has not answered.
    Sending {
        /// When the call started.
        since: Option<Timestamp>,
        /// Lease end.
        lease_until: Timestamp,
        /// Taken back once already (`Recoverable`).
        recovered: bool,
    },
}

/// A lease as DynamoDB keeps it, in whole seconds (its conditions compare epoch seconds; the
/// memory store rounds the same way, so both decide alike): the lease end is the second it falls
/// in; a `claimed` claim holds to the end of that second, a `sending` one until it begins.
pub fn in_whole_seconds(held: Held, at: Timestamp) -> Held {
    let second_after = |t: Timestamp| Timestamp::from_second(t.as_second() + 1).unwrap_or(t);
    match held {
        Held::Claimed { lease_until } => Held::Claimed {
            lease_until: second_after(lease_until),
        },
        Held::Sending {
            since,
            lease_until,
            recovered,
        } => Held::Sending {
            since,
            lease_until: if lease_until.as_second() > at.as_second() {
                second_after(lease_until)
            } else {
                at
            },
            recovered,
        },
        settled => settled,
    }
}

/// Whether the frequency cap refuses a marketing claim at `at` after one claimed at `last`, in
/// whole seconds as DynamoDB compares them (its condition: `last <= at - window`, both in epoch
/// seconds): `Some(last, to the second)` when refused.
pub fn cap_refusal(last: Timestamp, at: Timestamp, window: SignedDuration) -> Option<Timestamp> {
    let free_from = (at - window).as_second();
    (last.as_second() > free_from).then(|| Timestamp::from_second(last.as_second()).unwrap_or(last))
}

/// Why a stored claim refuses `claim`, or `None` when it may be taken over (a `claimed` lease
/// that ran out). Both stores decide with this.
pub fn refusal(held: Held, claim: &Claim) -> Option<ClaimOutcome> {
    match held {
        Held::Sent => Some(ClaimOutcome::AlreadySent),
        Held::Failed => Some(ClaimOutcome::AlreadyFailed),
        Held::Claimed { lease_until } if lease_until > claim.at => Some(ClaimOutcome::InFlight { until: lease_until }),
        Held::Claimed { .. } => None,
        Held::Sending { since: None, .. } => Some(ClaimOutcome::OutcomeUnknown),
        Held::Sending {
            since: Some(since),
            lease_until,
            recovered,
        } => Some(unanswered(claim, since, lease_until, recovered)),
    }
}

/// State of a claimed message.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "state")]
pub enum ClaimState {
    /// Ours, the provider not called yet; others wait until the lease ends, then take over.
    Claimed {
        /// When the holder took it (its `claimed_at`: only that holder may move it to `sending`).
        since: Timestamp,
        /// Lease end.
        lease_until: Timestamp,
    },
    /// The provider is being called; only its answer (or its own send event) settles this.
    Sending {
        /// When the call started.
        since: Timestamp,
        /// Until then a duplicate waits for the provider's report; after it, the outcome is unknown.
        lease_until: Timestamp,
    },
    /// Accepted by the provider.
    Sent {
        /// Provider message id.
        provider_id: String,
        /// When.
        at: Timestamp,
    },
    /// Permanently failed.
    Failed {
        /// Why.
        reason: String,
        /// When.
        at: Timestamp,
    },
}

impl ClaimState {
    /// When the claim was taken, or (once settled) when it was settled, moments later: what its
    /// retention counts from (`retention::CLAIM_TTL`).
    pub fn claimed_at(&self) -> Timestamp {
        match self {
            Self::Claimed { since, .. } | Self::Sending { since, .. } => *since,
            Self::Sent { at, .. } | Self::Failed { at, .. } => *at,
        }
    }

    /// What it says to a new claim (`recovered`: taken back once already).
    pub fn held(&self, recovered: bool) -> Held {
        match self {
            Self::Sent { .. } => Held::Sent,
            Self::Failed { .. } => Held::Failed,
            Self::Claimed { lease_until, .. } => Held::Claimed {
                lease_until: *lease_until,
            },
            Self::Sending { since, lease_until } => Held::Sending {
                since: Some(*since),
                lease_until: *lease_until,
                recovered,
            },
        }
    }

    /// The state a claim is taken in: `sending` straight away when nothing stands between the
    /// claim and the provider, else `claimed` under a lease.
    pub fn taken(claim: &Claim) -> Self {
        let lease_until = claim.at + claim.lease;
        if claim.sending {
            Self::Sending {
                since: claim.at,
                lease_until,
            }
        } else {
            Self::Claimed {
                since: claim.at,
                lease_until,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::message::MessageKind;

    fn claim(kind: MessageKind, at: &str) -> Claim {
        Claim {
            key: MessageKey::new(kind, "o-1", &[]),
            customer_id: CustomerId::parse("c-1").expect("id"),
            to: EmailAddress::parse("a@example.com").expect("email"),
            at: at.parse().expect("time"),
            lease: SignedDuration::from_mins(5),
            cap: None,
            consent: None,
            sending: false,
            coupon: None,
        }
    }

    fn ts(at: &str) -> Timestamp {
        at.parse().expect("time")
    }

    #[test]
    fn the_claim_state_machine_refuses_as_documented() {
        let receipt = claim(MessageKind::OrderConfirmation, "2026-11-01T10:00:00Z");
        let offer = claim(MessageKind::WelcomeOffer, "2026-11-01T10:00:00Z");
        let sending = |since: &str, recovered| Held::Sending {
            since: Some(ts(since)),
            lease_until: ts(since) + SignedDuration::from_mins(5),
            recovered,
        };
        assert_eq!(refusal(Held::Sent, &receipt), Some(ClaimOutcome::AlreadySent));
        assert_eq!(refusal(Held::Failed, &receipt), Some(ClaimOutcome::AlreadyFailed));
        let live = ts("2026-11-01T10:01:00Z");
        assert_eq!(
            refusal(Held::Claimed { lease_until: live }, &receipt),
            Some(ClaimOutcome::InFlight { until: live })
        );
        // A lease that ran out is taken over.
        let ended = ts("2026-11-01T09:59:00Z");
        assert_eq!(refusal(Held::Claimed { lease_until: ended }, &receipt), None);
        // An unanswered call: the transactional receipt waits for SES's report, then is taken
        // back once; marketing never.
        assert_eq!(
            refusal(sending("2026-11-01T09:50:00Z", false), &receipt),
            Some(ClaimOutcome::InFlight {
                until: ts("2026-11-01T10:05:00Z")
            })
        );
        assert_eq!(
            refusal(sending("2026-11-01T09:40:00Z", false), &receipt),
            Some(ClaimOutcome::Recoverable {
                since: ts("2026-11-01T09:40:00Z")
            })
        );
        assert_eq!(
            refusal(sending("2026-11-01T09:40:00Z", true), &receipt),
            Some(ClaimOutcome::OutcomeUnknown)
        );
        assert_eq!(
            refusal(sending("2026-11-01T09:40:00Z", false), &offer),
            Some(ClaimOutcome::OutcomeUnknown)
        );
        let no_time = Held::Sending {
            since: None,
            lease_until: ended,
            recovered: false,
        };
        assert_eq!(refusal(no_time, &receipt), Some(ClaimOutcome::OutcomeUnknown));
    }
}
