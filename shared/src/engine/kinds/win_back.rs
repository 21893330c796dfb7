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

#[cfg(test)]
mod tests {
    use super::super::test_support::{customer, verdict};
    use super::*;
    use crate::message::MessageKind;
    use jiff::Timestamp;

    fn lapse(since: &str, orders: u32) -> Subject {
        Subject::Lapse {
            order_id: None,
            since: since.parse().expect("time"),
            orders,
        }
    }

    #[test]
    fn a_quiet_period_that_has_run_sends_with_a_coupon_and_recommendations() {
        let c = customer("2026-01-01T00:00:00Z");
        // The sample store waits 28 days.
        let v = verdict(MessageKind::WinBack, &lapse("2026-01-01T00:00:00Z", 0), &c, &[], "2026-01-29T00:00:00Z");
        let Verdict::Send(content) = v else { panic!("sent") };
        assert!(content.coupon.is_some());
        assert!(content.recommend.is_some_and(|r| !r.with_order && !r.required));
    }

    #[test]
    fn a_click_in_the_quiet_period_waits_for_a_fresh_one() {
        let c = customer("2026-01-01T00:00:00Z");
        let click: Timestamp = "2026-01-20T00:00:00Z".parse().expect("time");
        let v = verdict(
            MessageKind::WinBack,
            &lapse("2026-01-01T00:00:00Z", 0),
            &c,
            &[click],
            "2026-01-29T00:00:00Z",
        );
        assert!(matches!(v, Verdict::Postpone(until) if until == click + hours(28 * 24)));
    }

    #[test]
    fn an_order_since_the_lapse_began_ends_it() {
        let mut c = customer("2026-01-01T00:00:00Z");
        c.orders_confirmed = 1;
        let v = verdict(MessageKind::WinBack, &lapse("2026-01-01T00:00:00Z", 0), &c, &[], "2026-02-01T00:00:00Z");
        assert!(matches!(v, Verdict::Skip(SkipReason::OrderedSince)));
    }
}
