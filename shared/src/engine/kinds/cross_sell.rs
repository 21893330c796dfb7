//! `cross_sell`: "frequently bought together" a day after the order.

use super::{After, Content, Due, Moment, Recommend, Spec, Verdict};
use crate::engine::hours;
use crate::skip::SkipReason;

pub(super) const SPEC: Spec = Spec {
    trigger: "OrderConfirmed (engine/orders.rs)",
    timing: "[timing] cross_sell_after_hours after the order",
    exits,
    after: Some(After {
        moment: Moment::OrderConfirmed,
        delay: |timing| hours(timing.cross_sell_after_hours),
    }),
    ..Spec::PLAIN
};

fn exits(due: &Due<'_>) -> Verdict {
    let Some(order) = due.order else {
        return SkipReason::OrderUnknown.into();
    };
    if order.cancelled.is_some() {
        return SkipReason::OrderCancelled.into();
    }
    Verdict::Send(Content {
        recommend: Some(Recommend {
            currency: order.order.currency,
            with_order: true,
            required: true,
        }),
        ..Content::default()
    })
}
