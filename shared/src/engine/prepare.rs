//! Re-checking a message right before it is sent: its exit conditions, consent, and what it shows.

use super::{Engine, EngineError, KnownRecords, Prepared, Ready, hours, occasion, recommend};
use crate::domain::ProductId;
use crate::message::MessageKind;
use crate::ports::{Bus, Clock, FollowUp, Mailer, Store, Subject};

impl<S: Store, M: Mailer, B: Bus, C: Clock> Engine<S, M, B, C> {
    /// Re-reads state and checks the kind's exit conditions (rule 2: re-check when firing).
    pub(super) async fn prepare(&self, follow_up: &FollowUp, known: KnownRecords) -> Result<Prepared, EngineError> {
        let store = &self.ports.store;
        let now = self.ports.clock.now();
        let kind = follow_up.key.kind();
        let skip = |reason: &str| Ok(Prepared::Skip(reason.to_owned()));
        let customer = match known.customer.filter(|c| c.profile.id == follow_up.customer_id) {
            Some(customer) => Some(customer),
            None => store.customer(&follow_up.customer_id).await?,
        };
        let Some(customer) = customer else {
            return skip("customer unknown");
        };
        let mut ready = Ready {
            customer,
            order: None,
            shipment: None,
            cart: None,
            coupon: None,
            recommendations: vec![],
            count: None,
        };
        let marketing_allowed = self.marketing_consent(&ready.customer).is_some();
        let default_currency = self.config.defaults.currency;
        match &follow_up.subject {
            Subject::Customer => {
                if kind == MessageKind::WelcomeOffer && ready.customer.orders_confirmed > 0 {
                    return skip("customer ordered");
                }
                ready.coupon = Some(default_currency);
            }
            Subject::Occasion { year } => {
                let profile = &ready.customer.profile;
                let tz = profile
                    .time_zone
                    .as_ref()
                    .unwrap_or(&self.config.defaults.time_zone)
                    .tz();
                let hour = self.config.timing.occasion_hour;
                let Some(occurrence) = occasion::in_year(kind, profile, tz, hour, *year) else {
                    return skip("the customer no longer has this date");
                };
                if occurrence.date != follow_up.original_due.to_zoned_datetime(tz.clone()).date() {
                    return skip("the date changed (the new one is scheduled)");
                }
                if kind == MessageKind::SignupAnniversary {
                    let signed_up = profile.signed_up_at.map(|t| t.to_zoned_datetime(tz.clone()).year());
                    ready.count = signed_up.and_then(|first| u32::try_from(year - first).ok());
                }
                ready.coupon = Some(default_currency);
            }
            Subject::Lapse {
                order_id,
                since,
                orders,
            } => {
                if ready.customer.orders_confirmed > *orders {
                    return skip("customer ordered since");
                }
                if order_id.is_some() && ready.customer.latest_standing().map(|(id, _)| id) != order_id.as_ref() {
                    return skip("a later order started a new lapse");
                }
                let mut currency = default_currency;
                // The quiet period runs from the order, or a later click; a made-to-order order
                // counts from its delivery (or its expected wait), which can be weeks later.
                let mut active = *since;
                if let Some(order_id) = order_id {
                    match store.order(order_id).await? {
                        Some(order) if order.cancelled.is_none() => {
                            currency = order.order.currency;
                            if let Some(days) = order.order.lead_time_days {
                                let wait = hours(24 * i64::from(days));
                                let made = order.confirmed_at.checked_add(wait).unwrap_or(active);
                                active = active.max(order.delivered_at.unwrap_or(made));
                            }
                        }
                        _ => return skip("the order the lapse counts from was cancelled"),
                    }
                }
                let clicks = store.engagement(&follow_up.customer_id).await?.click_times;
                if let Some(last) = clicks.iter().filter(|t| *t > since).max() {
                    active = active.max(*last);
                }
                let window = hours(24 * i64::from(self.config.timing.win_back_after_days));
                if active + window > now {
                    // Still one win-back per lapse: the same key waits for a fresh quiet period.
                    return Ok(Prepared::Postpone(active + window));
                }
                let stats = store.product_stats().await?;
                let c = &ready.customer;
                ready.recommendations = recommend(&stats, &[], &c.purchased, &c.categories, currency);
                ready.coupon = Some(currency);
            }
            Subject::Order { order_id }
            | Subject::Shipment { order_id, .. }
            | Subject::Progress { order_id, .. }
            | Subject::Stall { order_id, .. }
            | Subject::Milestone { order_id, .. } => {
                let order = match known.order.filter(|o| &o.order.id == order_id) {
                    Some(order) => Some(order),
                    None => store.order(order_id).await?,
                };
                let Some(order) = order else {
                    return skip("order unknown");
                };
                let currency = order.order.currency;
                match (kind, &follow_up.subject) {
                    // One parcel of several: no coupon, no recommendations (the order's own
                    // confirmation brings them once everything arrived).
                    (MessageKind::DeliveryConfirmation, Subject::Shipment { .. }) => {}
                    (
                        MessageKind::ShippingConfirmation | MessageKind::ShipmentUpdate,
                        Subject::Shipment { shipment_id, .. },
                    ) if order.parcel_delivered(shipment_id) => {
                        return skip("the parcel was delivered already");
                    }
                    (MessageKind::CrossSell | MessageKind::DeliveryConfirmation, _) => {
                        if kind == MessageKind::CrossSell && order.cancelled.is_some() {
                            return skip("order cancelled");
                        }
                        // Recommendations are marketing content: a delivery confirmation shows them only with consent.
                        if kind == MessageKind::CrossSell || marketing_allowed {
                            let stats = store.product_stats().await?;
                            let bought: Vec<ProductId> =
                                order.order.items.iter().map(|i| i.product_id.clone()).collect();
                            let c = &ready.customer;
                            ready.recommendations = recommend(&stats, &bought, &c.purchased, &c.categories, currency);
                        }
                        if kind == MessageKind::CrossSell && ready.recommendations.is_empty() {
                            return skip("no recommendation available");
                        }
                        // On a loyalty milestone the reward's coupon replaces the thank-you coupon.
                        let every = self.config.timing.loyalty_every_orders;
                        let delivered = ready.customer.orders_delivered;
                        let milestone = self.config.coupons.loyalty_reward.is_some()
                            && delivered > 0
                            && delivered % every == 0
                            && order.delivered_at.is_some();
                        if kind == MessageKind::DeliveryConfirmation && marketing_allowed && !milestone {
                            ready.coupon = Some(currency);
                        }
                    }
                    (MessageKind::ReviewRequest, _) => {
                        if order.reviewed_at.is_some() {
                            return skip("review already submitted");
                        }
                        if order.cancelled.is_some() || order.returned {
                            return skip("order cancelled or returned");
                        }
                    }
                    (MessageKind::OrderProgress, Subject::Progress { nth, .. }) => {
                        if order.cancelled.is_some() {
                            return skip("order cancelled");
                        }
                        if !order.shipments.is_empty() || order.delivered_at.is_some() {
                            return skip("order shipped");
                        }
                        ready.count = Some(*nth);
                    }
                    (MessageKind::ShipmentStalled, Subject::Stall { shipment_id, scans, .. }) => {
                        if order.cancelled.is_some() || order.parcel_delivered(shipment_id) || order.returned {
                            return skip("parcel delivered, order cancelled or returned");
                        }
                        let Some(shipment) = order.shipment(shipment_id).cloned() else {
                            return skip("shipment unknown");
                        };
                        if shipment.scans.len() != usize::try_from(*scans).unwrap_or(usize::MAX) {
                            return skip("the carrier scanned the shipment since");
                        }
                        ready.count = Some(self.config.timing.shipment_stalled_after_days);
                        ready.shipment = Some((shipment, None));
                    }
                    (MessageKind::LoyaltyReward, Subject::Milestone { count, .. }) => {
                        ready.count = Some(*count);
                        ready.coupon = Some(currency);
                    }
                    _ => {}
                }
                if let Subject::Shipment {
                    shipment_id, status, ..
                } = &follow_up.subject
                {
                    let Some(shipment) = order.shipment(shipment_id).cloned() else {
                        return skip("shipment unknown");
                    };
                    let scan =
                        status.and_then(|status| shipment.scans.iter().rev().find(|s| s.status == status).cloned());
                    ready.shipment = Some((shipment, scan));
                }
                ready.order = Some(order);
            }
            Subject::Cart {
                cart_id,
                updated_at,
                nth,
            } => {
                let Some(cart) = store.cart(cart_id).await? else {
                    return skip("cart unknown");
                };
                if cart.cart.updated_at != *updated_at {
                    return skip("cart updated again (a newer reminder replaces this one)");
                }
                if cart.cart.items.is_empty() {
                    return skip("cart emptied");
                }
                if cart.ordered_at.is_some_and(|ordered| ordered >= cart.cart.updated_at) {
                    return skip("cart was bought");
                }
                if ready
                    .customer
                    .last_order_at
                    .is_some_and(|ordered| ordered >= *updated_at)
                {
                    return skip("customer ordered after the cart update");
                }
                if *nth == 2 {
                    ready.coupon = Some(cart.cart.currency);
                }
                ready.cart = Some((cart.cart, *nth));
            }
        }
        Ok(Prepared::Ready(Box::new(ready)))
    }
}
