//! `shipping_confirmation`: a parcel left, with its carrier and tracking link.

use super::{Due, Spec, Verdict, send_plain};
use crate::render::{ParcelShare, Shows};
use crate::skip::SkipReason;

pub(super) const SPEC: Spec = Spec {
    trigger: "OrderShipped, once per parcel (engine/shipments.rs)",
    timing: "at once",
    exits,
    shows: Shows {
        parcel: ParcelShare::OfOrder,
        ..Shows::PLAIN
    },
    ..Spec::PLAIN
};

/// Shipping news about a parcel that has arrived is noise.
pub(super) fn exits(due: &Due<'_>) -> Verdict {
    if parcel_delivered(due) {
        return SkipReason::ParcelDelivered.into();
    }
    send_plain(due)
}

fn parcel_delivered(due: &Due<'_>) -> bool {
    match (due.order, due.subject.shipment_id()) {
        (Some(order), Some(shipment)) => order.parcel_delivered(shipment),
        _ => false,
    }
}
