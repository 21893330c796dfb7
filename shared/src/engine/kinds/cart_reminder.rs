//! `cart_reminder`: the cart left behind, twice (the second with a coupon).

use super::{Content, Due, Spec, Verdict};
use crate::ports::Subject;
use crate::skip::SkipReason;

pub(super) const SPEC: Spec = Spec {
    trigger: "CartUpdated with items, each update replacing the reminders of the last (engine/carts.rs)",
    timing: "[timing] cart_reminder_1_after_hours and cart_reminder_2_after_hours after the update",
    exits,
    coupon: true,
    ..Spec::PLAIN
};

fn exits(due: &Due<'_>) -> Verdict {
    let (Some(cart), Subject::Cart { updated_at, nth, .. }) = (due.cart, due.subject) else {
        return SkipReason::CartUnknown.into();
    };
    if cart.cart.updated_at != *updated_at {
        return SkipReason::CartUpdated.into();
    }
    if cart.cart.items.is_empty() {
        return SkipReason::CartEmptied.into();
    }
    if cart.ordered_at.is_some_and(|ordered| ordered >= cart.cart.updated_at) {
        return SkipReason::CartBought.into();
    }
    if due.customer.last_order_at.is_some_and(|ordered| ordered >= *updated_at) {
        return SkipReason::OrderedAfterCart.into();
    }
    Verdict::Send(Content {
        coupon: (*nth == 2).then_some(cart.cart.currency),
        ..Content::default()
    })
}
