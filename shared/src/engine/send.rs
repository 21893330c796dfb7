//! Sending one message: compose (render, claim) → deliver (provider call, settle, announce), and
//! the follow-up queue around it (schedule, defer, skip).

use super::kinds;
use super::{
    CLAIM_LEASE, CONFIRM_SCOPE, COUPON_RETRY, COUPON_WAIT, Composed, Composition, Engine, EngineError, KnownRecords,
    Outcome, Prepared, RECOVER_AFTER, hours, next_slot, outbound,
};
use crate::coupon::Coupon;
use crate::domain::CustomerId;
use crate::event::{EmailHeldOut, EmailSent, Emitted};
use crate::message::{Category, MessageKey};
use crate::mime::{self, Envelope};
use crate::ports::{
    Bus, Changes, Claim, ClaimOutcome, Clock, DiscountError, FollowUp, IssuedCoupon, Mailer, OutgoingEmail, SendError,
    Store, Subject,
};
use crate::render::Draft;
use crate::report::Fact;
use crate::skip::SkipReason;
use jiff::Timestamp;

/// The provider id a held-out message's claim is settled with: it holds the customer's cap slot and
/// answers a redelivery (`AlreadySent`) as a send would; no provider ever saw it.
pub(super) const HELD_OUT: &str = "held-out";

impl<S: Store, M: Mailer, B: Bus, C: Clock> Engine<S, M, B, C> {
    /// A message due at `due`, expiring after the configured grace period.
    pub(super) fn follow_up(
        &self,
        key: MessageKey,
        customer: &CustomerId,
        subject: Subject,
        due: Timestamp,
    ) -> FollowUp {
        FollowUp {
            key,
            customer_id: customer.clone(),
            subject,
            due_at: due,
            original_due: due,
            expires_at: due + hours(self.config.timing.marketing_expiry_hours),
            coupon_waiting_since: None,
        }
    }

    /// The follow-ups of every kind that follows `moment` (`kinds::Spec::after`), about `subject`
    /// (`subject_id` names it in their keys), counted from `at`.
    pub(super) fn following(
        &self,
        moment: kinds::Moment,
        subject_id: &str,
        customer: &CustomerId,
        subject: &Subject,
        at: Timestamp,
    ) -> Vec<FollowUp> {
        kinds::following(moment, &self.config.timing)
            .map(|(kind, delay)| {
                self.follow_up(
                    MessageKey::new(kind, subject_id, &[]),
                    customer,
                    subject.clone(),
                    at + delay,
                )
            })
            .collect()
    }

    /// Stores a follow-up unless it is already waiting (a redelivered event must not move it back).
    pub(super) async fn schedule(&self, follow_up: FollowUp) -> Result<Option<Outcome>, EngineError> {
        if !self.ports.store.add_follow_up(&follow_up).await? {
            return Ok(None);
        }
        Ok(Some(Outcome::Scheduled {
            key: follow_up.key,
            due: follow_up.due_at,
        }))
    }

    /// Drops a message for good, forgetting its follow-up if one was stored.
    pub(super) async fn skip(
        &self,
        follow_up: &FollowUp,
        stored: bool,
        reason: SkipReason,
    ) -> Result<Outcome, EngineError> {
        if stored {
            self.ports.store.remove_follow_up(&follow_up.key).await?;
        }
        Ok(Outcome::Skipped {
            key: follow_up.key.clone(),
            reason,
        })
    }

    /// Moves a message to `slot` (re-checked then), or drops it when that is past its expiry.
    pub(super) async fn defer(
        &self,
        mut follow_up: FollowUp,
        stored: bool,
        slot: Timestamp,
    ) -> Result<Outcome, EngineError> {
        if slot > follow_up.expires_at {
            let reason = SkipReason::PastExpiry {
                slot,
                expires: follow_up.expires_at,
            };
            return self.skip(&follow_up, stored, reason).await;
        }
        follow_up.due_at = slot;
        self.ports.store.schedule(&follow_up).await?;
        Ok(Outcome::Deferred {
            key: follow_up.key,
            until: slot,
        })
    }

    /// A message whose coupon's code the store could not create: never sent with it. Looked at
    /// again in `COUPON_RETRY`; a transactional one goes without the coupon once it has waited
    /// `COUPON_WAIT` (then too if the store refused the code for good); a marketing one whose code
    /// was refused is not sent.
    async fn await_coupon(
        &self,
        mut follow_up: FollowUp,
        stored: bool,
        now: Timestamp,
        error: &DiscountError,
    ) -> Result<Outcome, EngineError> {
        let key = follow_up.key.clone();
        tracing::warn!(message_key = %key.redacted(), error = %error, "coupon code not created in the store; the message waits");
        let since = *follow_up.coupon_waiting_since.get_or_insert(now);
        let transactional = key.kind().category() == Category::Transactional;
        let retry = match error {
            DiscountError::Refused(_) if transactional => since + COUPON_WAIT,
            // Asking again cannot help, and the offer is what this message is for.
            DiscountError::Refused(_) => return self.skip(&follow_up, stored, SkipReason::CouponRefused).await,
            DiscountError::Unavailable(_) => now + COUPON_RETRY,
        };
        self.defer(follow_up, stored, retry).await
    }

    /// Re-checks, gates (suppression, consent, quiet hours, cap), claims, renders and sends one message.
    pub(super) async fn attempt(
        &self,
        follow_up: FollowUp,
        stored: bool,
        known: KnownRecords,
    ) -> Result<Outcome, EngineError> {
        let composition = self.compose(follow_up, stored, known).await?;
        self.finish(composition, None).await
    }

    /// Sends a composed message given the outcome of its claim, taken with the caller's writes
    /// (`None`: not taken yet, so it is taken now).
    pub(super) async fn finish(
        &self,
        composition: Composition,
        claimed: Option<ClaimOutcome>,
    ) -> Result<Outcome, EngineError> {
        match composition {
            Composition::Settled(outcome) => Ok(outcome),
            Composition::Ready(composed) => {
                let claimed = match claimed {
                    Some(claimed) => claimed,
                    None => self.ports.store.claim_message(&composed.claim).await?,
                };
                self.deliver(*composed, claimed).await
            }
        }
    }

    /// Sends a message whose claim is taken in the same write as `changes` (one transaction).
    pub(super) async fn save_and_attempt(
        &self,
        changes: Changes<'_>,
        follow_up: FollowUp,
        known: KnownRecords,
    ) -> Result<Outcome, EngineError> {
        let composition = self.compose(follow_up, false, known).await?;
        let claimed = self
            .ports
            .store
            .save_together(&Changes {
                claim: composition.claim(),
                ..changes
            })
            .await?;
        self.finish(composition, claimed).await
    }

    /// Re-checks and gates a message (suppression aside, which the claim checks), then renders it.
    pub(super) async fn compose(
        &self,
        follow_up: FollowUp,
        stored: bool,
        known: KnownRecords,
    ) -> Result<Composition, EngineError> {
        let store = &self.ports.store;
        let now = self.ports.clock.now();
        let key = follow_up.key.clone();
        let kind = key.kind();
        let marketing = kind.category() == Category::Marketing;

        if now > follow_up.expires_at {
            return self
                .skip(
                    &follow_up,
                    stored,
                    SkipReason::Expired {
                        at: follow_up.expires_at,
                    },
                )
                .await
                .map(Composition::Settled);
        }
        let ready = match self.prepare(&follow_up, known).await? {
            Prepared::Ready(ready) => ready,
            Prepared::Skip(reason) => return self.skip(&follow_up, stored, reason).await.map(Composition::Settled),
            Prepared::Postpone(until) => {
                let postponed = self.follow_up(key.clone(), &follow_up.customer_id, follow_up.subject.clone(), until);
                self.ports.store.schedule(&postponed).await?;
                return Ok(Composition::Settled(Outcome::Deferred { key, until }));
            }
        };
        let profile = &ready.customer.profile;
        let Some(to) = profile.email.deliverable() else {
            return self
                .skip(&follow_up, stored, SkipReason::Undeliverable)
                .await
                .map(Composition::Settled);
        };
        let tags: Vec<&str> = profile.tags.iter().map(|t| t.as_str().trim()).collect();
        let rule = self.config.kinds.get(&kind);
        if let Some(reason) = rule.and_then(|rule| rule.excludes(&tags)) {
            return self.skip(&follow_up, stored, reason).await.map(Composition::Settled);
        }
        let zone = profile.time_zone.as_ref().unwrap_or(&self.config.defaults.time_zone);
        let consent = self.marketing_consent(&ready.customer);
        if marketing {
            if consent.is_none() {
                return self
                    .skip(&follow_up, stored, SkipReason::NoConsent)
                    .await
                    .map(Composition::Settled);
            }
            let last = store
                .last_marketing(&profile.id)
                .await?
                .filter(|last| last.key != key)
                .map(|last| last.at);
            let slot = next_slot(now, zone.tz(), &self.config.marketing, last, self.config.cap_window());
            if slot > now {
                return self.defer(follow_up, stored, slot).await.map(Composition::Settled);
            }
        }
        // A holdout customer goes through every gate a receiver does, the claim's included, and is
        // recorded (`EmailHeldOut`) at the moment they would have received it.
        let holdout = rule.map_or(0.0, |rule| rule.holdout);
        let held_out =
            marketing && holdout > 0.0 && self.keys.guest_ids().holdout_draw(&profile.id, kind.as_str()) < holdout;

        // A transactional message does not wait for ever for its coupon's code (the coupon is a
        // gift; the delivery confirmation is the point): past COUPON_WAIT it goes without.
        let gave_up = !marketing
            && follow_up
                .coupon_waiting_since
                .is_some_and(|since| now >= since + COUPON_WAIT);
        let coupon = ready.coupon.filter(|_| !gave_up && !held_out).and_then(|currency| {
            let rule = self
                .config
                .coupons
                .for_kind(kind)?
                .in_currency(currency, self.config.defaults.currency)?;
            Some(Coupon::issue(&rule, &key, currency, now, &self.keys))
        });
        let unsubscribe = marketing.then(|| {
            let token = self.keys.unsubscribe_token(&profile.id, "marketing", now);
            self.config.sender.unsubscribe_links(&token)
        });
        let spec = kinds::spec(kind);
        let confirm_url = spec.confirms_subscription.then(|| {
            let token = self.keys.unsubscribe_token(&profile.id, CONFIRM_SCOPE, now);
            self.config.sender.unsubscribe_link(&token)
        });
        let locale = profile.locale.as_ref().unwrap_or(&self.config.defaults.locale);
        let draft = Draft {
            kind,
            shows: spec.shows,
            customer: profile,
            locale,
            zone,
            order: ready.order.as_ref(),
            shipment: ready.shipment.as_ref().map(|(record, scan)| (record, scan.as_ref())),
            cart: ready.cart.as_ref().map(|(cart, nth)| (cart, *nth)),
            coupon: coupon.as_ref(),
            recommendations: &ready.recommendations,
            count: ready.count,
            now,
            unsubscribe_url: unsubscribe.as_ref().map(|(url, _)| url.as_str()),
            confirm_url: confirm_url.as_deref(),
        };
        let rendered = self.renderer.render(&draft).map_err(|source| EngineError::Render {
            key: key.clone(),
            source,
        })?;
        let to_name = rendered.recipient.as_deref();
        let raw = mime::build(
            &Envelope {
                from_name: self.config.sender.from_name.as_str(),
                from: &self.config.sender.from_address,
                reply_to: &self.config.sender.reply_to,
                to: &to,
                to_name,
                key: &key,
                date: now,
                unsubscribe: unsubscribe.as_ref().map(|(url, mailto)| (url.as_str(), mailto.clone())),
            },
            &rendered,
        );

        let email = OutgoingEmail {
            key: key.clone(),
            kind,
            category: kind.category(),
            to: to.clone(),
            from: self.config.sender.from_address.clone(),
            customer_id: profile.id.clone(),
            order_id: ready.order.as_ref().map(|o| o.order.id.clone()),
            cart_id: ready.cart.as_ref().map(|(cart, _)| cart.id.clone()),
            locale: rendered.locale.clone(),
            subject: rendered.subject.clone(),
            at: now,
            raw,
        };
        // The account's send rate, before the claim: a wait holds no claim, and a message that
        // finds no free second goes back in the queue unclaimed.
        if !held_out && self.ports.mailer.paced() && !self.pace(&key).await? {
            let why = "no free second in the account's send rate";
            return self
                .send_later(follow_up, stored, now, why)
                .await
                .map(Composition::Settled);
        }
        let claim = Claim {
            key: key.clone(),
            customer_id: profile.id.clone(),
            to: to.clone(),
            at: now,
            lease: CLAIM_LEASE,
            cap: marketing.then(|| self.config.cap_window()),
            consent: if marketing { consent } else { None },
            // A coupon is announced between the claim and the send; a crash there must leave the
            // claim to be taken over, so only then is `sending` a second step. A held-out message
            // never reaches a provider: a crash before it is settled leaves a claim to take over
            // when its lease ends, not a send awaiting SES's report.
            sending: coupon.is_none() && !held_out,
            coupon: coupon.as_ref().map(|coupon| IssuedCoupon {
                code: coupon.code.clone(),
                key,
                expires_at: coupon.expires_at,
            }),
        };
        Ok(Composition::Ready(Box::new(Composed {
            follow_up,
            stored,
            claim,
            email,
            coupon,
            zone: zone.tz().clone(),
            held_out,
        })))
    }

    /// Acts on the claim of a composed message: sends it when the claim is ours.
    pub(super) async fn deliver(&self, composed: Composed, claimed: ClaimOutcome) -> Result<Outcome, EngineError> {
        let store = &self.ports.store;
        let Composed {
            follow_up,
            stored,
            claim,
            email,
            coupon,
            zone,
            held_out,
        } = composed;
        let key = claim.key.clone();
        let kind = key.kind();
        let now = claim.at;
        let claimed = match claimed {
            ClaimOutcome::Recoverable { since } => {
                let taken = store.recover_claim(&claim, since).await?;
                if taken == ClaimOutcome::Claimed {
                    // The one place a duplicate is possible, counted: Logs Insights
                    // `filter metric = "recovered_send" | stats count()`.
                    tracing::warn!(message_key = %key.redacted(), kind = %kind, metric = "recovered_send", unanswered_since = %since, "no provider report for an earlier attempt; sending once more");
                }
                taken
            }
            other => other,
        };
        match claimed {
            ClaimOutcome::Claimed => {}
            ClaimOutcome::CapReached { last } => {
                let slot = next_slot(now, &zone, &self.config.marketing, Some(last), self.config.cap_window());
                return self.defer(follow_up, stored, slot).await;
            }
            // Checked with the claim, in the same write (rule 3: nothing to a bounced address).
            ClaimOutcome::Suppressed => {
                return self.skip(&follow_up, stored, SkipReason::Suppressed).await;
            }
            ClaimOutcome::OptedOut => {
                return self.skip(&follow_up, stored, SkipReason::OptedOut).await;
            }
            ClaimOutcome::AlreadySent => return self.skip(&follow_up, stored, SkipReason::AlreadySent).await,
            ClaimOutcome::AlreadyFailed => return self.skip(&follow_up, stored, SkipReason::AlreadyFailed).await,
            // Another invocation is on it. Look again when its lease ends: by then it has sent the
            // message (or SES has reported it), or it died before calling the provider and the
            // claim can be taken over.
            ClaimOutcome::InFlight { until } => return self.defer(follow_up, stored, until).await,
            // Taken back just above, or not: another invocation is on it; look again shortly.
            ClaimOutcome::Recoverable { .. } => return self.defer(follow_up, stored, now + CLAIM_LEASE).await,
            ClaimOutcome::OutcomeUnknown => {
                tracing::error!(message_key = %key.redacted(), "an earlier send got no answer from the provider; not sending again");
                return self.skip(&follow_up, stored, SkipReason::OutcomeUnknown).await;
            }
        }

        if held_out {
            // Announced before it is settled: a crash in between announces it again under the same
            // key (counted by key), never loses it.
            let held = EmailHeldOut {
                message_key: key.clone(),
                kind,
                customer_id: email.customer_id.clone(),
                at: now,
            };
            let fact = Fact::HeldOut {
                key: key.clone(),
                customer_id: email.customer_id.clone(),
                at: now,
            };
            self.tally(&email.customer_id, &fact).await?;
            self.ports
                .bus
                .publish(&[outbound(now, Emitted::EmailHeldOut(held))])
                .await?;
            store.mark_sent(&key, HELD_OUT, now).await?;
            return self.skip(&follow_up, stored, SkipReason::HeldOut).await;
        }

        if let Some(coupon) = &coupon {
            // The code must exist in the store before the customer can read it: created there
            // (when the store has an API for it), then announced.
            let issued = coupon.event(&email.customer_id, &key);
            if let Some(discounts) = &self.discounts
                && let Err(error) = discounts.create_for(&issued, &email.to).await
            {
                store.release_claim(&key).await?;
                return self.await_coupon(follow_up, stored, now, &error).await;
            }
            if let Err(error) = self
                .ports
                .bus
                .publish(&[outbound(now, Emitted::CouponIssued(issued))])
                .await
            {
                store.release_claim(&key).await?;
                return Err(error.into());
            }
        }

        if !claim.sending && !store.mark_sending(&key, now).await? {
            return self.skip(&follow_up, stored, SkipReason::TakenOver).await;
        }
        match self.ports.mailer.send(&email).await {
            Ok(provider_id) => {
                // A provider that reports acceptance itself (SES's `Send` event) settles the claim and
                // announces the send from that report, which survives this process dying now.
                if self.ports.mailer.reports_acceptance(&email) {
                    if stored {
                        store.remove_follow_up(&key).await?;
                    }
                    tracing::debug!(message_key = %key.redacted(), provider_id, "accepted; the provider's report settles it");
                    return Ok(Outcome::Sent { key, at: now });
                }
                store.mark_sent(&key, &provider_id, now).await?;
                if stored {
                    store.remove_follow_up(&key).await?;
                }
                let sent = EmailSent {
                    message_key: key.clone(),
                    kind,
                    category: kind.category(),
                    customer_id: email.customer_id.clone(),
                    order_id: email.order_id,
                    cart_id: email.cart_id,
                    ses_message_id: provider_id,
                };
                self.ports
                    .bus
                    .publish(&[outbound(now, Emitted::EmailSent(sent))])
                    .await?;
                // Last: nothing of the send's own records waits for the report, which a crash
                // before here misses (a retry finds the message sent).
                let fact = Fact::Sent {
                    key: key.clone(),
                    customer_id: email.customer_id.clone(),
                    at: now,
                };
                self.tally_or_log(&email.customer_id, &fact, None).await;
                Ok(Outcome::Sent { key, at: now })
            }
            Err(SendError::Permanent(reason)) => {
                store.mark_failed(&key, &reason, now).await?;
                if stored {
                    store.remove_follow_up(&key).await?;
                }
                Ok(Outcome::Failed { key, reason })
            }
            // A transactional message is looked at again once SES had time to report it: without
            // a report it is sent once more (`Recoverable`). Marketing is never retried: a second
            // send could be a duplicate, and nobody misses a newsletter. Left `sending` either way.
            Err(SendError::Unknown(reason)) if kind.category() == Category::Transactional => {
                tracing::warn!(message_key = %key.redacted(), reason = %reason, "send outcome unknown; re-checked once SES could have reported it");
                self.defer(follow_up, stored, now + RECOVER_AFTER).await
            }
            Err(SendError::Unknown(reason)) => {
                if stored {
                    store.remove_follow_up(&key).await?;
                }
                tracing::error!(message_key = %key.redacted(), reason = %reason, "send outcome unknown; not retried");
                Ok(Outcome::Failed {
                    key,
                    reason: format!("outcome unknown, not retried: {reason}"),
                })
            }
            // Throttled or a 5xx: not accepted. Back in the queue, in order, rather than a failed
            // invocation whose retries could end in the dead-letter queue.
            Err(SendError::Transient(reason)) => {
                store.release_claim(&key).await?;
                self.send_later(follow_up, stored, now, &reason).await
            }
        }
    }
}
