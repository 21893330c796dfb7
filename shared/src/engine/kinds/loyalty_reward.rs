//! `loyalty_reward`: a coupon on every Nth delivered order.

use super::{Content, Due, Spec, Verdict};
use crate::ports::Subject;
use crate::skip::SkipReason;

pub(super) const SPEC: Spec = Spec {
    trigger: "OrderDelivered that makes the delivered count a multiple of [timing] loyalty_every_orders \
              (engine/shipments.rs); the coupon is its [coupons.loyalty_reward] rule, if any",
    timing: "with the delivery confirmation",
    exits,
    coupon: true,
    ..Spec::PLAIN
};

fn exits(due: &Due<'_>) -> Verdict {
    let (Some(order), Subject::Milestone { count, .. }) = (due.order, due.subject) else {
        return SkipReason::OrderUnknown.into();
    };
    Verdict::Send(Content {
        coupon: Some(order.order.currency),
        count: Some(*count),
        recommend: None,
    })
}
