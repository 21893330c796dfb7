//! `order_progress`: weekly news while a made-to-order order is being made.

use super::{Content, Due, Spec, Verdict};
use crate::ports::Subject;
use crate::skip::SkipReason;

pub(super) const SPEC: Spec = Spec {
    trigger: "OrderConfirmed with lead_time_days ≥ [timing] order_progress_min_lead_days (engine/orders.rs); \
              each update schedules the next (engine/schedule.rs)",
    timing: "every [timing] order_progress_every_days after the confirmation, at most order_progress_max_updates",
    exits,
    ..Spec::PLAIN
};

fn exits(due: &Due<'_>) -> Verdict {
    let Some(order) = due.order else {
        return SkipReason::OrderUnknown.into();
    };
    if order.cancelled.is_some() {
        return SkipReason::OrderCancelled.into();
    }
    if !order.shipments.is_empty() || order.delivered_at.is_some() {
        return SkipReason::OrderShipped.into();
    }
    let count = match due.subject {
        Subject::Progress { nth, .. } => Some(*nth),
        _ => None,
    };
    Verdict::Send(Content {
        count,
        ..Content::default()
    })
}
