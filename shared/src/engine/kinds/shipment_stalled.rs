//! `shipment_stalled`: "we're checking on it" when a parcel gets no carrier scan for days.

use super::{Content, Due, Spec, Verdict};
use crate::ports::Subject;
use crate::render::Shows;
use crate::skip::SkipReason;

pub(super) const SPEC: Spec = Spec {
    trigger: "OrderShipped and every later scan restart the watch (engine/shipments.rs, engine/schedule.rs)",
    timing: "[timing] shipment_stalled_after_days without a scan",
    exits,
    shows: Shows {
        only_upcoming_estimate: true,
        ..Shows::PLAIN
    },
    ..Spec::PLAIN
};

fn exits(due: &Due<'_>) -> Verdict {
    let (Some(order), Subject::Stall { shipment_id, scans, .. }) = (due.order, due.subject) else {
        return SkipReason::OrderUnknown.into();
    };
    if order.cancelled.is_some() || order.parcel_delivered(shipment_id) || order.returned {
        return SkipReason::StallEnded.into();
    }
    let Some(shipment) = due.shipment else {
        return SkipReason::ShipmentUnknown.into();
    };
    if shipment.scans.len() != usize::try_from(*scans).unwrap_or(usize::MAX) {
        return SkipReason::ScannedSince.into();
    }
    Verdict::Send(Content {
        count: Some(due.config.timing.shipment_stalled_after_days),
        ..Content::default()
    })
}
