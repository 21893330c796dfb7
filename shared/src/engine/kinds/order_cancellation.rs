//! `order_cancellation`: the order was cancelled, at once.

use super::Spec;

pub(super) const SPEC: Spec = Spec {
    trigger: "OrderCancelled (engine/orders.rs)",
    timing: "at once",
    ..Spec::PLAIN
};
