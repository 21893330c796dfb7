//! Keeping the report's counters as things happen (`report::tally`): each fact folded in once
//! (a retry or redelivery folds it again and finds it counted), and never in the way of an email:
//! where a failure would hold up a send or a confirmation, it is logged instead.

use super::{Engine, EngineError, again_on_conflict};
use crate::domain::CustomerId;
use crate::ports::{Bus, Clock, Mailer, Store, StoreError};
use crate::report::{DEFAULT_WINDOW_DAYS, Fact, Ledger, tally, window};

impl<S: Store, M: Mailer, B: Bus, C: Clock> Engine<S, M, B, C> {
    /// Folds `fact` about `customer` into the report's counters, once.
    pub(super) async fn tally(&self, customer: &CustomerId, fact: &Fact) -> Result<(), EngineError> {
        self.tally_from(customer, fact, None).await
    }

    /// `tally`, starting from the customer's ledger as already read (with its version), when
    /// there is one: then a fact costs one write, unless the ledger moved on meanwhile.
    async fn tally_from(
        &self,
        customer: &CustomerId,
        fact: &Fact,
        mut read: Option<(Ledger, u64)>,
    ) -> Result<(), EngineError> {
        let store = &self.ports.store;
        let window = window(DEFAULT_WINDOW_DAYS);
        let marker = tally::marker(fact);
        if let Some(marker) = marker.as_deref().filter(|_| !tally::reads_ledger(fact)) {
            // What a transactional message's send or report adds does not depend on the ledger:
            // one write, refused when it was counted before (or the customer erased).
            let change = tally::tally(fact, &Ledger::default(), window);
            return match store.count(customer, 0, Some(marker), &change).await {
                Err(StoreError::Conflict { .. }) => Ok(()),
                other => Ok(other?),
            };
        }
        again_on_conflict(|| {
            let prefetched = read.take();
            async {
                let (ledger, version) = match prefetched {
                    Some(read) => read,
                    None => {
                        let file = store.ledger(customer, marker.as_deref()).await?;
                        // An erased customer's late SES report or redelivered event keeps nothing
                        // of them.
                        if file.counted || file.erased {
                            return Ok(());
                        }
                        (file.ledger, file.version)
                    }
                };
                let change = tally::tally(fact, &ledger, window);
                if change.is_empty() && marker.is_none() {
                    return Ok(());
                }
                store.count(customer, version, marker.as_deref(), &change).await?;
                Ok(())
            }
        })
        .await
    }

    /// `tally`, with a failure logged rather than raised: for facts whose step must not wait for
    /// the report (an order's confirmation, a send already made). A redelivery of the event
    /// folds it again; without one the report misses it.
    pub(super) async fn tally_or_log(&self, customer: &CustomerId, fact: &Fact, read: Option<(Ledger, u64)>) {
        if let Err(error) = self.tally_from(customer, fact, read).await {
            tracing::warn!(error = %error, "report counters not updated");
        }
    }
}
