//! What needs the operator although nothing failed: mail SES has not taken for an hour, the daily
//! quota nearly used up, a parcel its tracking service did not register, an endpoint that could
//! not answer. Each is an error line with its `metric` and an `AttentionNeeded` on the bus, which
//! the deployed stack routes into its failures queue, the one its alarm watches.

use super::{Engine, outbound};
use crate::event::{Attention, AttentionNeeded, Emitted};
use crate::ports::{Bus, Clock, Mailer, Store};

impl<S: Store, M: Mailer, B: Bus, C: Clock> Engine<S, M, B, C> {
    /// Reports `reason` about `subject` (a redacted message key, a shipment id: never an address
    /// or a name). Never in the way of what is being done: a bus that refuses it is logged.
    pub async fn needs_attention(&self, reason: Attention, subject: &str, detail: String) {
        let at = self.ports.clock.now();
        tracing::error!(metric = reason.as_str(), subject, detail, "needs attention");
        let event = AttentionNeeded {
            reason,
            subject: subject.to_owned(),
            detail,
            at,
        };
        if let Err(error) = self
            .ports
            .bus
            .publish(&[outbound(at, Emitted::AttentionNeeded(event))])
            .await
        {
            tracing::error!(metric = reason.as_str(), %error, "AttentionNeeded could not be announced");
        }
    }
}
