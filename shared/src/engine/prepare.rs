//! Re-checking a message right before it is sent: the state its subject needs, re-read, then its
//! kind's exit conditions (`kinds/`), then what it shows.

use super::kinds::{self, Due, Verdict};
use super::{Engine, EngineError, KnownRecords, Prepared, Ready, occasion, recommend};
use crate::domain::ProductId;
use crate::ports::{Bus, Clock, FollowUp, Mailer, Store, Subject};
use crate::skip::SkipReason;

impl<S: Store, M: Mailer, B: Bus, C: Clock> Engine<S, M, B, C> {
    /// Re-reads state and checks the kind's exit conditions (rule 2: re-check when firing).
    pub(super) async fn prepare(&self, follow_up: &FollowUp, known: KnownRecords) -> Result<Prepared, EngineError> {
        let store = &self.ports.store;
        let now = self.ports.clock.now();
        let kind = follow_up.key.kind();
        let subject = &follow_up.subject;
        let customer = match known.customer.filter(|c| c.profile.id == follow_up.customer_id) {
            Some(customer) => Some(customer),
            None => store.customer(&follow_up.customer_id).await?,
        };
        let Some(customer) = customer else {
            return Ok(Prepared::Skip(SkipReason::CustomerUnknown));
        };
        let spec = kinds::spec(kind);
        if let Some(reason) = (spec.stands)(&customer, subject) {
            return Ok(Prepared::Skip(reason));
        }
        let tz = customer
            .profile
            .time_zone
            .as_ref()
            .unwrap_or(&self.config.defaults.time_zone)
            .tz();

        // What the subject is about, as it stands now.
        let mut order = None;
        // A lapse's order is read for the win-back's exits only: the message is not about it (no
        // order id on its EmailSent, no order in its template).
        let mut lapse_order = None;
        let mut cart = None;
        let mut clicks = vec![];
        match subject {
            Subject::Customer => {}
            Subject::Occasion { year } => {
                let hour = self.config.timing.occasion_hour;
                let Some(occurrence) = occasion::in_year(kind, &customer.profile, tz, hour, *year) else {
                    return Ok(Prepared::Skip(SkipReason::OccasionGone));
                };
                if occurrence.date != follow_up.original_due.to_zoned_datetime(tz.clone()).date() {
                    return Ok(Prepared::Skip(SkipReason::OccasionMoved));
                }
            }
            Subject::Lapse { order_id, .. } => {
                if let Some(order_id) = order_id {
                    lapse_order = store.order(order_id).await?;
                }
                clicks = store.engagement(&follow_up.customer_id).await?.click_times;
            }
            Subject::Order { order_id }
            | Subject::Shipment { order_id, .. }
            | Subject::Progress { order_id, .. }
            | Subject::Stall { order_id, .. }
            | Subject::Milestone { order_id, .. } => {
                order = match known.order.filter(|o| &o.order.id == order_id) {
                    Some(order) => Some(order),
                    None => store.order(order_id).await?,
                };
                if order.is_none() {
                    return Ok(Prepared::Skip(SkipReason::OrderUnknown));
                }
            }
            Subject::Cart { cart_id, .. } => {
                cart = store.cart(cart_id).await?;
                if cart.is_none() {
                    return Ok(Prepared::Skip(SkipReason::CartUnknown));
                }
            }
        }
        let shipment = subject
            .shipment_id()
            .and_then(|id| order.as_ref().and_then(|o| o.shipment(id)));

        let due = Due {
            subject,
            customer: &customer,
            order: order.as_ref().or(lapse_order.as_ref()),
            shipment,
            cart: cart.as_ref(),
            clicks: &clicks,
            marketing_allowed: self.marketing_consent(&customer).is_some(),
            config: &self.config,
            zone: tz,
            now,
        };
        let content = match (spec.exits)(&due) {
            Verdict::Send(content) => content,
            Verdict::Skip(reason) => return Ok(Prepared::Skip(reason)),
            Verdict::Postpone(until) => return Ok(Prepared::Postpone(until)),
        };
        let shipment = match (subject, shipment) {
            (Subject::Shipment { status, .. }, Some(shipment)) => {
                let scan = status.and_then(|status| shipment.scans.iter().rev().find(|s| s.status == status).cloned());
                Some((shipment.clone(), scan))
            }
            (Subject::Stall { .. }, Some(shipment)) => Some((shipment.clone(), None)),
            (Subject::Shipment { .. } | Subject::Stall { .. }, None) => {
                return Ok(Prepared::Skip(SkipReason::ShipmentUnknown));
            }
            _ => None,
        };

        let mut recommendations = vec![];
        if let Some(wanted) = content.recommend {
            let stats = store.product_stats().await?;
            let bought: Vec<ProductId> = match (&order, wanted.with_order) {
                (Some(order), true) => order.order.items.iter().map(|i| i.product_id.clone()).collect(),
                _ => vec![],
            };
            recommendations = recommend(
                &stats,
                &bought,
                &customer.purchased,
                &customer.categories,
                wanted.currency,
            );
            if wanted.required && recommendations.is_empty() {
                return Ok(Prepared::Skip(SkipReason::NoRecommendation));
            }
        }
        let cart = match (cart, subject) {
            (Some(cart), Subject::Cart { nth, .. }) => Some((cart.cart, *nth)),
            _ => None,
        };
        Ok(Prepared::Ready(Box::new(Ready {
            customer,
            order,
            shipment,
            cart,
            coupon: content.coupon.filter(|_| spec.coupon),
            recommendations,
            count: content.count,
        })))
    }
}
