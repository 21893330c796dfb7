//! `win_back`: "we miss you" after a quiet period without an order or a click, once per lapse.

use super::{Content, Due, Recommend, Spec, Verdict};
use crate::engine::hours;
use crate::ports::Subject;
use crate::skip::SkipReason;

pub(super) const SPEC: Spec = Spec {
    trigger: "a signup, or an order becoming the customer's latest standing one, starts a lapse \
              (engine/profiles.rs, engine/orders.rs, engine/schedule.rs)",
    timing: "[timing] win_back_after_days after the order, a later click, or a made-to-order order's delivery",
    exits,
    coupon: true,
    ..Spec::PLAIN
};

fn exits(due: &Due<'_>) -> Verdict {
    let Subject::Lapse {
        order_id,
        since,
        orders,
    } = due.subject
    else {
        return SkipReason::CustomerUnknown.into();
    };
    if due.customer.orders_confirmed > *orders {
        return SkipReason::OrderedSince.into();
    }
    if order_id.is_some() && due.customer.latest_standing().map(|(id, _)| id) != order_id.as_ref() {
        return SkipReason::NewerLapse.into();
    }
    let mut currency = due.default_currency();
    // The quiet period runs from the order, or a later click; a made-to-order order counts from
    // its delivery (or its expected wait), which can be weeks later.
    let mut active = *since;
    if order_id.is_some() {
        match due.order {
            Some(order) if order.cancelled.is_none() => {
                currency = order.order.currency;
                if let Some(days) = order.order.lead_time_days {
                    let wait = hours(24 * i64::from(days));
                    let made = order.confirmed_at.checked_add(wait).unwrap_or(active);
                    active = active.max(order.delivered_at.unwrap_or(made));
                }
            }
            _ => return SkipReason::LapseOrderCancelled.into(),
        }
    }
    if let Some(last) = due.clicks.iter().filter(|t| *t > since).max() {
        active = active.max(*last);
    }
    let window = hours(24 * i64::from(due.config.timing.win_back_after_days));
    if active + window > due.now {
        // Still one win-back per lapse: the same key waits for a fresh quiet period.
        return Verdict::Postpone(active + window);
    }
    Verdict::Send(Content {
        coupon: Some(currency),
        count: None,
        recommend: Some(Recommend {
            currency,
            with_order: false,
            required: false,
        }),
    })
}
