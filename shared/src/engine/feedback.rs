//! What SES reports about a sent message: bounces and complaints suppress, opens and clicks are
//! counted once, deliveries recorded, and (with configuration sets) the send announced.

use super::{Engine, EngineError, Outcome, SOFT_BOUNCE_LIMIT, SOFT_BOUNCE_WINDOW_HOURS, outbound};
use crate::event::{EmailSent, Emitted};
use crate::feedback::{Feedback, FeedbackKind};
use crate::ports::{Bus, Clock, EngagementKind, Mailer, Store};
use crate::report::{Engagement, Fact};
use jiff::SignedDuration;

impl<S: Store, M: Mailer, B: Bus, C: Clock> Engine<S, M, B, C> {
    /// What SES reported about a sent message: suppress on hard bounces and complaints (and on the
    /// third soft bounce in 7 days), count opens and clicks once each, record deliveries.
    pub(super) async fn feedback(&self, feedback: &Feedback) -> Result<Vec<Outcome>, EngineError> {
        let store = &self.ports.store;
        let mut out = Vec::new();
        let at = feedback.at;
        match feedback.kind {
            FeedbackKind::HardBounce | FeedbackKind::Complaint => {
                let reason = if feedback.kind == FeedbackKind::Complaint {
                    "complaint"
                } else {
                    "hard bounce"
                };
                for address in &feedback.recipients {
                    store.suppress(address, reason, at).await?;
                    out.push(Outcome::Recorded {
                        what: format!("suppressed {} after a {reason}", address.masked()),
                    });
                }
                // A complaint is the strongest unsubscribe there is: the store should mirror it.
                if let Some(customer_id) = feedback
                    .customer_id
                    .as_ref()
                    .filter(|_| feedback.kind == FeedbackKind::Complaint)
                {
                    self.announce_unsubscribed(customer_id, "all", at).await?;
                }
            }
            FeedbackKind::SoftBounce => {
                let since = at - SignedDuration::from_hours(SOFT_BOUNCE_WINDOW_HOURS);
                for address in &feedback.recipients {
                    let count = store.count_soft_bounce(address, &feedback.event_id, at, since).await?;
                    let what = if count >= SOFT_BOUNCE_LIMIT {
                        store.suppress(address, "repeated soft bounces", at).await?;
                        format!("suppressed {} after {count} soft bounces in 7 days", address.masked())
                    } else {
                        format!("soft bounce {count} of {SOFT_BOUNCE_LIMIT} for {}", address.masked())
                    };
                    out.push(Outcome::Recorded { what });
                }
            }
            FeedbackKind::Open | FeedbackKind::Click => {
                let kind = if feedback.kind == FeedbackKind::Open {
                    EngagementKind::Open
                } else {
                    EngagementKind::Click
                };
                if let Some(customer) = &feedback.customer_id {
                    let counted = store.count_engagement(customer, &feedback.event_id, kind, at).await?;
                    out.push(if counted {
                        Outcome::Recorded {
                            what: format!("{kind:?} by {customer}"),
                        }
                    } else {
                        Outcome::Ignored {
                            reason: "SES event already counted".into(),
                        }
                    });
                    // Also when already counted: a first try that counted the click may have failed
                    // before the reward (its customer write conflicted); the reward is idempotent.
                    if kind == EngagementKind::Click {
                        out.extend(self.reward_engagement(customer, at).await?);
                    }
                }
            }
            FeedbackKind::Send => {
                // SES's own word that it accepted the message settles a claim whose sender died
                // before recording the answer.
                if let Some(key) = &feedback.message_key {
                    // Announced before settling: a failed publish is retried with the event, and a
                    // redelivered report at worst announces twice (consumers key on message_key).
                    // Only where the provider reports sends; a local outbox announced its own.
                    let reported = self.ports.mailer.reports_sends();
                    if let Some(customer_id) = feedback.customer_id.as_ref().filter(|_| reported) {
                        let sent = EmailSent {
                            message_key: key.clone(),
                            kind: key.kind(),
                            category: key.kind().category(),
                            customer_id: customer_id.clone(),
                            order_id: feedback.order_id.clone(),
                            cart_id: feedback.cart_id.clone(),
                            ses_message_id: feedback.ses_message_id.clone(),
                        };
                        self.ports
                            .bus
                            .publish(&[outbound(at, Emitted::EmailSent(sent))])
                            .await?;
                    }
                    store.settle_sending(key, &feedback.ses_message_id, at).await?;
                    // Counted once settled (a failure here is retried with the report, which
                    // settles again harmlessly), never in the way of settling.
                    if let Some(customer_id) = feedback.customer_id.as_ref().filter(|_| reported) {
                        let fact = Fact::Sent {
                            key: key.clone(),
                            customer_id: customer_id.clone(),
                            at,
                        };
                        self.tally(customer_id, &fact).await?;
                    }
                    out.push(Outcome::Recorded {
                        what: format!("SES accepted {key}"),
                    });
                }
            }
            FeedbackKind::Delivery | FeedbackKind::Reject | FeedbackKind::DeliveryDelay | FeedbackKind::Other => {
                if let Some(key) = &feedback.message_key {
                    let status = format!("{:?}", feedback.kind).to_lowercase();
                    store.record_delivery(key, &status, at).await?;
                    out.push(Outcome::Recorded {
                        what: format!("{status} for {key}"),
                    });
                }
            }
        }
        self.tally_feedback(feedback).await?;
        Ok(out)
    }

    /// Folds what SES said into the report's counters (delivered, opened, clicked, a hard bounce,
    /// a complaint), once per message and kind.
    async fn tally_feedback(&self, feedback: &Feedback) -> Result<(), EngineError> {
        let Some(what) = Engagement::reported(feedback.kind) else {
            return Ok(());
        };
        let (Some(key), Some(customer)) = (&feedback.message_key, &feedback.customer_id) else {
            return Ok(());
        };
        let fact = Fact::Engaged {
            key: key.clone(),
            customer_id: Some(customer.clone()),
            what,
            at: feedback.at,
        };
        self.tally(customer, &fact).await
    }
}
