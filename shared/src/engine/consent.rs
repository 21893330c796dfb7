//! Marketing consent stated through tidings: the unsubscribe link and page, the resubscribe and
//! double opt-in confirmation, and the soft opt-in a store may turn on; an unsubscribe is announced
//! for the store to mirror.

use super::{Engine, EngineError, KnownRecords, Outcome, again_on_conflict, log_outcome, outbound};
use crate::domain::CustomerId;
use crate::event::Emitted;
use crate::message::{Category, MessageKey, MessageKind};
use crate::ports::{Bus, Clock, CustomerRecord, Mailer, Store, Subject};
use crate::skip::SkipReason;
use jiff::Timestamp;

impl<S: Store, M: Mailer, B: Bus, C: Clock> Engine<S, M, B, C> {
    /// The consent a marketing message may rely on: the customer's statement, or soft opt-in for an
    /// existing customer when the store turned it on and the customer never unsubscribed with us.
    pub(super) fn marketing_consent(&self, customer: &CustomerRecord) -> Option<crate::ports::Consent> {
        use crate::ports::{Consent, ConsentSource};
        let consent = &customer.consent;
        if consent.given {
            return Some(consent.clone());
        }
        let soft = self.config.marketing.soft_opt_in
            && consent.source == ConsentSource::Store
            && customer.orders_confirmed > 0;
        soft.then_some(Consent {
            given: true,
            at: consent.at,
            source: ConsentSource::SoftOptIn,
        })
    }

    /// A statement about marketing consent made through tidings (unsubscribe link or page). An
    /// unsubscribe also cancels every waiting marketing follow-up of the customer.
    pub async fn set_marketing_consent(
        &self,
        customer: &CustomerId,
        given: bool,
        source: crate::ports::ConsentSource,
        at: Timestamp,
    ) -> Result<Vec<Outcome>, EngineError> {
        again_on_conflict(|| self.record_consent(customer, given, source, at)).await
    }

    /// A customer by the id a link or a caller names them by: a guest's pseudonym, or (in a link
    /// an earlier release mailed) the guest's address.
    pub async fn customer(&self, named: &CustomerId) -> Result<Option<CustomerRecord>, EngineError> {
        let store = &self.ports.store;
        let id = self.keys.guest_ids().customer_id(named);
        if let Some(record) = store.customer(&id).await? {
            return Ok(Some(record));
        }
        if id == *named {
            return Ok(None);
        }
        // Until the table is upgraded the guest's profile may still be under the address (read in
        // the new form): it is saved under the pseudonym, as a new record.
        Ok(store.customer(named).await?.map(|mut record| {
            record.version = 0;
            record
        }))
    }

    pub(super) async fn record_consent(
        &self,
        customer: &CustomerId,
        given: bool,
        source: crate::ports::ConsentSource,
        at: Timestamp,
    ) -> Result<Vec<Outcome>, EngineError> {
        use crate::ports::ConsentSource;
        let store = &self.ports.store;
        let Some(mut record) = self.customer(customer).await? else {
            return Ok(vec![Outcome::Ignored {
                reason: format!("consent for unknown customer {}", customer.redacted()),
            }]);
        };
        let customer = &record.profile.id.clone();
        let mut out = Vec::new();
        let unsubscribe = !given && source == ConsentSource::Unsubscribe;
        // An unsubscribe counts at the time it was made, whatever the clocks of the store's events
        // say: only a later statement made through tidings itself (a resubscribe) outranks it.
        let applies = if unsubscribe {
            let through_tidings = !matches!(record.consent.source, ConsentSource::Store | ConsentSource::SoftOptIn);
            !(through_tidings && record.consent.at > at)
        } else {
            at >= record.consent.at
        };
        if applies {
            let email = &record.profile.email;
            // The address first: it is what every later marketing claim is checked against, under
            // any customer id.
            if unsubscribe {
                store.opt_out(email, at).await?;
            } else if given && matches!(source, ConsentSource::Resubscribe | ConsentSource::Confirmed) {
                store.lift_opt_out(email, at).await?;
            }
            record.consent = crate::ports::Consent { given, at, source };
            record.consent_pending_since = None;
            record.address_opted_out = unsubscribe;
            store.save_customer(&record).await?;
            let state = if given { "given" } else { "withdrawn" };
            out.push(Outcome::Recorded {
                what: format!("marketing consent {state} for {customer} ({source:?})"),
            });
            if unsubscribe {
                self.announce_unsubscribed(customer, "marketing", at).await?;
            }
            if given && source == ConsentSource::Confirmed && record.signed_up {
                let key = MessageKey::new(MessageKind::Welcome, customer.as_str(), &[]);
                let welcome = self.follow_up(key, customer, Subject::Customer, at);
                let known = KnownRecords {
                    customer: Some(record.clone()),
                    order: None,
                };
                out.push(self.attempt(welcome, false, known).await?);
            }
        }
        if !given {
            for follow_up in store.follow_ups_of(customer).await? {
                // Birthdays and anniversaries stay: they check consent when due and go on to next
                // year, so a customer who resubscribes still gets them.
                let yearly = matches!(follow_up.subject, Subject::Occasion { .. });
                if follow_up.key.kind().category() == Category::Marketing && !yearly {
                    store.remove_follow_up(&follow_up.key).await?;
                    out.push(Outcome::Skipped {
                        key: follow_up.key,
                        reason: SkipReason::Unsubscribed,
                    });
                }
            }
        }
        for outcome in &out {
            log_outcome(outcome, "consent");
        }
        Ok(out)
    }

    /// Puts `CustomerUnsubscribed` on the bus for the store (or its integration) to mirror.
    pub(super) async fn announce_unsubscribed(
        &self,
        customer_id: &CustomerId,
        scope: &'static str,
        at: Timestamp,
    ) -> Result<(), EngineError> {
        let announced = crate::event::CustomerUnsubscribed {
            customer_id: customer_id.clone(),
            scope,
            at,
        };
        let event = outbound(at, Emitted::CustomerUnsubscribed(announced));
        self.ports.bus.publish(&[event]).await?;
        // After the announcement, which the store must get: the report can only miss it.
        if scope == "marketing" {
            let fact = crate::report::Fact::Unsubscribed {
                customer_id: customer_id.clone(),
                at,
            };
            self.tally_or_log(customer_id, &fact, None).await;
        }
        Ok(())
    }

    /// A one-click unsubscribe given as an event (a replay line): handled as the page's POST of the
    /// same token at the event's time.
    pub(super) async fn unsubscribe_requested(&self, token: &str, at: Timestamp) -> Result<Vec<Outcome>, EngineError> {
        use crate::ports::ConsentSource;
        match self.keys.verify_unsubscribe(token, at, crate::signing::TOKEN_MAX_AGE) {
            Ok(claim) if claim.scope == "marketing" => {
                self.set_marketing_consent(&claim.customer_id, false, ConsentSource::Unsubscribe, at)
                    .await
            }
            Ok(_) => Ok(vec![Outcome::Ignored {
                reason: "a confirmation link cannot unsubscribe".into(),
            }]),
            Err(error) => Ok(vec![Outcome::Ignored {
                reason: format!("unsubscribe token refused: {error}"),
            }]),
        }
    }
}
