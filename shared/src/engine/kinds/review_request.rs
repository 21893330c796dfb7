//! `review_request`: asks for a review once the order has been in hand for a few days.

use super::{After, Due, Moment, Spec, Verdict, send_plain};
use crate::engine::hours;
use crate::render::Shows;
use crate::skip::SkipReason;

pub(super) const SPEC: Spec = Spec {
    trigger: "OrderDelivered (engine/shipments.rs)",
    timing: "[timing] review_request_after_hours after the delivery",
    exits,
    shows: Shows {
        review_links: true,
        ..Shows::PLAIN
    },
    after: Some(After {
        moment: Moment::OrderDelivered,
        delay: |timing| hours(timing.review_request_after_hours),
    }),
    ..Spec::PLAIN
};

fn exits(due: &Due<'_>) -> Verdict {
    let Some(order) = due.order else {
        return SkipReason::OrderUnknown.into();
    };
    if order.reviewed_at.is_some() {
        return SkipReason::Reviewed.into();
    }
    if order.cancelled.is_some() || order.returned {
        return SkipReason::CancelledOrReturned.into();
    }
    send_plain(due)
}
