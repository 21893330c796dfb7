//! `order_confirmation`: the receipt, at once.

use super::Spec;

pub(super) const SPEC: Spec = Spec {
    trigger: "OrderConfirmed (engine/orders.rs), sent in the same write that records the order",
    timing: "at once",
    ..Spec::PLAIN
};
