//! Erasure (`CustomerRedacted`): the customer, their orders, carts and follow-ups go; hashed markers
//! stay so that a redelivered or late event recreates nothing.

use super::{Engine, EngineError, Outcome};
use crate::ports::{Bus, Clock, Mailer, Store};
use jiff::Timestamp;

impl<S: Store, M: Mailer, B: Bus, C: Clock> Engine<S, M, B, C> {
    /// Erases everything about a customer (`CustomerRedacted`); a hashed suppression, if any, stays.
    /// The erasure itself is remembered (hashes and order ids only), also when nothing was
    /// stored yet: any event from before it that arrives later stores and sends nothing.
    pub(super) async fn erase(
        &self,
        redacted: &crate::event::CustomerRedacted,
        at: Timestamp,
    ) -> Result<Outcome, EngineError> {
        let store = &self.ports.store;
        let customer = &redacted.customer_id;
        // Remembered first, from the request alone: whatever happens after (a crash, a record that
        // cannot be read), every later event from before the erasure is dropped.
        let mut erasure = crate::ports::Erasure {
            customer_id: customer.clone(),
            email: redacted.email.clone(),
            orders: vec![],
            at,
        };
        store.record_erasure(&erasure).await?;
        let record = store.customer(customer).await?;
        if let Some(record) = record.as_ref().filter(|r| !r.orders.is_empty()) {
            erasure.orders = record.orders.iter().cloned().collect();
            store.record_erasure(&erasure).await?;
        }
        // The same address as a guest (or in imported orders) is the same person: erased too,
        // and remembered under the guest id as well (a late SES report tagged with it, which
        // carries no address, keeps nothing of them).
        let as_guest = match self.address_guest_of(customer, &redacted.email) {
            Some(guest) => {
                let by_guest = crate::ports::Erasure {
                    customer_id: guest.clone(),
                    ..erasure.clone()
                };
                store.record_erasure(&by_guest).await?;
                store.customer(&guest).await?
            }
            None => None,
        };
        if let Some(guest) = &as_guest {
            erasure.orders.extend(guest.orders.iter().cloned());
            store.record_erasure(&erasure).await?;
            store.erase_customer(guest).await?;
        }
        let Some(record) = record else {
            return Ok(Outcome::Recorded {
                what: match as_guest {
                    Some(_) => format!("erased the guest record of {customer}'s address"),
                    None => format!("erasure of {customer} remembered; nothing was stored about them"),
                },
            });
        };
        store.erase_customer(&record).await?;
        Ok(Outcome::Recorded {
            what: format!(
                "erased customer {customer}: profile, {} order(s), {} cart(s), follow-ups, counters",
                record.orders.len(),
                record.carts.len()
            ),
        })
    }
}
