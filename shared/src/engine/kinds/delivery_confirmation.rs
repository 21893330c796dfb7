//! `delivery_confirmation`: everything arrived (or one parcel of several did).

use super::{Content, Due, Recommend, Spec, Verdict};
use crate::message::MessageKind;
use crate::ports::Subject;
use crate::render::{ParcelShare, Shows};
use crate::skip::SkipReason;

pub(super) const SPEC: Spec = Spec {
    trigger: "OrderDelivered, or ShipmentUpdated delivered for one parcel of several (engine/shipments.rs)",
    timing: "at once",
    exits,
    shows: Shows {
        parcel: ParcelShare::Part,
        review_links: true,
        ..Shows::PLAIN
    },
    coupon: true,
    ..Spec::PLAIN
};

fn exits(due: &Due<'_>) -> Verdict {
    let Some(order) = due.order else {
        return SkipReason::OrderUnknown.into();
    };
    // One parcel of several: no coupon, no recommendations (the order's own confirmation brings
    // them once everything arrived).
    if matches!(due.subject, Subject::Shipment { .. }) {
        return Verdict::Send(Content::default());
    }
    let currency = order.order.currency;
    // Recommendations are marketing content: shown only with consent.
    let recommend = due.marketing_allowed.then_some(Recommend {
        currency,
        with_order: true,
        required: false,
    });
    // On a loyalty milestone the reward's coupon replaces the thank-you coupon.
    let every = due.config.timing.loyalty_every_orders;
    let delivered = due.customer.orders_delivered;
    let milestone = due.config.coupons.for_kind(MessageKind::LoyaltyReward).is_some()
        && delivered > 0
        && delivered % every == 0
        && order.delivered_at.is_some();
    Verdict::Send(Content {
        coupon: (due.marketing_allowed && !milestone).then_some(currency),
        count: None,
        recommend,
    })
}
