//! Carrier services' scans (`TrackingUpdated`), which know a parcel by its tracking number only:
//! found through the index every shipped parcel with a number writes (`Orders::index_tracking`,
//! from the `OrderShipped` handling), or held under the number until a shipment has it.

use super::{Engine, EngineError, Outcome, Release};
use crate::domain::{Shipment, ShipmentId};
use crate::event::{Attention, InboundEvent, TrackingNumber, TrackingUpdated};
use crate::ports::{Awaiting, Bus, Clock, Mailer, Store};

/// What a scan became.
pub(super) enum Resolved {
    /// The `ShipmentUpdated` or `OrderDelivered` it is for its parcel.
    Event(Box<InboundEvent>),
    /// Held until a shipment has its number, with what to release now (a shipment with the
    /// number recorded while it was being held).
    Held(Outcome, Vec<Release>),
}

impl<S: Store, M: Mailer, B: Bus, C: Clock> Engine<S, M, B, C> {
    /// The event a scan is for its parcel, or the scan held under its number.
    pub(super) async fn resolve_scan(
        &self,
        event: &InboundEvent,
        scan: &TrackingUpdated,
    ) -> Result<Resolved, EngineError> {
        let store = &self.ports.store;
        let number = &scan.tracking_number;
        if let Some((order_id, shipment_id)) = store.tracking_owner(number).await? {
            return Ok(Resolved::Event(Box::new(InboundEvent {
                event: scan.resolve(order_id, shipment_id, event.time),
                ..event.clone()
            })));
        }
        let awaiting = number.awaiting();
        let held = self.hold(&awaiting, event, Awaiting::Order).await?;
        // Marked on the number's record, which a parcel shipped meanwhile wrote too: if one did,
        // it may have looked for waiting scans before this one was kept, so release them now
        // (handling a scan twice changes nothing).
        if store
            .mark_scans_waiting(number, self.ports.clock.now())
            .await?
            .is_some()
        {
            let waiting = store.order_file(&awaiting).await?.held;
            return Ok(Resolved::Held(held, vec![(awaiting, waiting)]));
        }
        let service = scan.service.as_ref().map_or("", |s| s.as_str());
        tracing::info!(
            service,
            status = scan.status.as_str(),
            "scan of a tracking number no shipment has yet: held"
        );
        Ok(Resolved::Held(held, vec![]))
    }

    /// Registers a parcel newly shipped with a number with the tracking services. A failure
    /// holds nothing up (the shipping confirmation is sent either way): it needs attention
    /// (`tracking_unregistered`).
    pub(super) async fn register_parcel(&self, number: &TrackingNumber, shipment: &Shipment) {
        let Some(trackers) = &self.trackers else {
            return;
        };
        if let Err(error) = trackers.register(number, shipment.carrier.as_str()).await {
            let detail = format!("parcel not registered with the tracking service, its scans will not come: {error}");
            self.needs_attention(Attention::TrackingUnregistered, shipment.id.as_str(), detail)
                .await;
        }
    }

    /// The scans that waited for `number`, now that `shipment` has it.
    pub(super) async fn scans_waiting_for(
        &self,
        number: &TrackingNumber,
        shipment: &ShipmentId,
    ) -> Result<Option<Release>, EngineError> {
        let awaiting = number.awaiting();
        let waiting = self.ports.store.order_file(&awaiting).await?.held;
        if waiting.is_empty() {
            return Ok(None);
        }
        tracing::info!(shipment = %shipment, scans = waiting.len(), "scans that waited for the tracking number released");
        Ok(Some((awaiting, waiting)))
    }
}
