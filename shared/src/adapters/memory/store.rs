//! The memory store's roles: each as DynamoDB does it (the contract suite in tests/ compares them).

use super::{MemoryStore, Tracked, erasure_keys};
use crate::domain::{CartId, CustomerId, EmailAddress, OrderId, ShipmentId};
use crate::event::{InboundEvent, TrackingNumber};
use crate::message::{MessageKey, MessageKind};
use crate::ports::{
    Awaiting, CartRecord, Carts, Changes, Claim, ClaimOutcome, ClaimState, CustomerFile, CustomerRecord, Customers,
    Deliverability, Engagement, EngagementKind, Erasure, HeldEvent, MarketingSend, NewOrder, OrderConfirmation,
    OrderFile, OrderRecord, Orders, Privacy, ProductStats, SendLedger, Statistics, StoreError, Upgrades, opted_out_key,
};
use crate::ports::{LedgerFile, Tallies};
use crate::report::{Change, Counters};
use jiff::Timestamp;
use std::sync::Arc;

impl Customers for MemoryStore {
    async fn customer(&self, id: &CustomerId) -> Result<Option<CustomerRecord>, StoreError> {
        Ok(self.state().customers.get(id).cloned())
    }

    async fn customer_file(
        &self,
        id: &CustomerId,
        email: &EmailAddress,
        code: Option<&str>,
        address: Option<&CustomerId>,
    ) -> Result<CustomerFile, StoreError> {
        let state = self.state();
        let (by_id, by_address) = erasure_keys(id, email);
        Ok(CustomerFile {
            record: state.customers.get(id).cloned(),
            erased_at: [by_id, by_address]
                .iter()
                .filter_map(|k| state.erased.get(k))
                .max()
                .copied(),
            coupon: code.and_then(|code| state.coupons.get(code).cloned()),
            address_history: address.and_then(|guest| state.customers.get(guest).cloned()),
            ledger: state.ledgers.get(id).cloned().unwrap_or_default(),
        })
    }

    async fn save_customer(&self, record: &CustomerRecord) -> Result<(), StoreError> {
        let changes = Changes {
            customer: Some(record),
            ..Changes::default()
        };
        self.state().apply(&changes)?;
        Ok(())
    }
}

impl Orders for MemoryStore {
    async fn order(&self, id: &OrderId) -> Result<Option<OrderRecord>, StoreError> {
        Ok(self.state().orders.get(id).cloned())
    }

    async fn order_file(&self, id: &OrderId) -> Result<OrderFile, StoreError> {
        let state = self.state();
        // In DynamoDB's sort-key order: oldest first.
        let held: Vec<HeldEvent> = state
            .held
            .get(id)
            .into_iter()
            .flatten()
            .map(|(id, kept)| HeldEvent {
                id: id.clone(),
                event: kept.event.clone(),
            })
            .collect();
        Ok(OrderFile {
            record: state.orders.get(id).cloned(),
            erased: state.erased_orders.contains(id),
            version: state.order_versions.get(id).copied().unwrap_or(0),
            held,
        })
    }

    async fn save_together(&self, changes: &Changes<'_>) -> Result<Option<ClaimOutcome>, StoreError> {
        self.alarms.set(changes.follow_ups).await?;
        // One step, as DynamoDB's transaction: the writes and the claim under one lock (a refused
        // claim still lets the writes through, as the DynamoDB store writes them alone then).
        let mut state = self.state();
        state.apply(changes)?;
        Ok(changes.claim.map(|claim| state.claim(claim)))
    }

    async fn confirm_order(&self, new: &NewOrder<'_>) -> Result<OrderConfirmation, StoreError> {
        self.alarms.set(new.follow_ups).await?;
        {
            // The order, its records and its confirmation's claim in one step, as on DynamoDB.
            let mut state = self.state();
            let order = &new.record.order;
            if state.orders.contains_key(&order.id) {
                return Ok(OrderConfirmation::Exists);
            }
            state.apply(&Changes {
                order: Some(new.record),
                customer: Some(new.customer),
                follow_ups: new.follow_ups,
                ..Changes::default()
            })?;
            if let Some(cart) = &order.cart_id {
                state.cart_orders.insert(cart.clone(), new.record.confirmed_at);
            }
            Ok(OrderConfirmation::Recorded(new.claim.map(|claim| state.claim(claim))))
        }
    }

    async fn hold_event(
        &self,
        order: &OrderId,
        event: &InboundEvent,
        awaiting: Awaiting<'_>,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        let mut state = self.state();
        let arrived = match (awaiting, state.orders.get(order)) {
            (Awaiting::Order, record) => record.is_some(),
            (Awaiting::Shipment(shipment), Some(record)) => record.shipment(shipment).is_some(),
            // DynamoDB refuses this hold too (no confirmed order to attach it to).
            (Awaiting::Shipment(_), None) => true,
        };
        if arrived {
            return Ok(false);
        }
        let kept = super::Held {
            event: event.clone(),
            expires_at: crate::ports::retention::held_until(event, now),
        };
        let json = serde_json::to_string(event).map_err(|e| StoreError::Corrupt {
            item: format!("held event for {order}"),
            source: Box::new(e),
        })?;
        let id = crate::ports::retention::held_event_id(event.time, &json);
        state.held.entry(order.clone()).or_default().insert(id, kept);
        let version = state.order_versions.entry(order.clone()).or_default();
        *version += 1;
        let version = *version;
        if let Some(record) = state.orders.get_mut(order) {
            record.version = version;
        }
        Ok(true)
    }

    async fn own_shipment_id(&self, shipment: &ShipmentId, order: &OrderId, at: Timestamp) -> Result<bool, StoreError> {
        let mut state = self.state();
        if let Some((owner, _)) = state.shipment_owners.get(shipment) {
            return Ok(owner == order);
        }
        let legacy = MessageKey::new(MessageKind::ShippingConfirmation, shipment.as_str(), &[]);
        if state.claims.contains_key(&legacy) {
            return Ok(false);
        }
        state.shipment_owners.insert(shipment.clone(), (order.clone(), at));
        Ok(true)
    }

    async fn index_tracking(
        &self,
        number: &TrackingNumber,
        order: &OrderId,
        shipment: &ShipmentId,
        at: Timestamp,
    ) -> Result<bool, StoreError> {
        let mut state = self.state();
        let waiting = state.tracking.get(number).is_some_and(|old| old.waiting);
        let tracked = Tracked {
            parcel: Some((order.clone(), shipment.clone())),
            waiting,
            expires_at: at + crate::ports::retention::TRACKING_TTL,
        };
        state.tracking.insert(number.clone(), tracked);
        Ok(waiting)
    }

    async fn tracking_owner(&self, number: &TrackingNumber) -> Result<Option<(OrderId, ShipmentId)>, StoreError> {
        Ok(self.state().tracking.get(number).and_then(|t| t.parcel.clone()))
    }

    async fn mark_scans_waiting(
        &self,
        number: &TrackingNumber,
        at: Timestamp,
    ) -> Result<Option<(OrderId, ShipmentId)>, StoreError> {
        let mut state = self.state();
        let tracked = state.tracking.entry(number.clone()).or_insert_with(|| Tracked {
            parcel: None,
            waiting: false,
            expires_at: at + crate::ports::retention::HELD_TTL,
        });
        tracked.waiting = true;
        Ok(tracked.parcel.clone())
    }

    async fn forget_held(&self, order: &OrderId, held: &[HeldEvent]) -> Result<(), StoreError> {
        let mut state = self.state();
        if let Some(events) = state.held.get_mut(order) {
            events.retain(|id, _| !held.iter().any(|h| &h.id == id));
            if events.is_empty() {
                state.held.remove(order);
            }
        }
        Ok(())
    }
}

impl Carts for MemoryStore {
    async fn cart(&self, id: &CartId) -> Result<Option<CartRecord>, StoreError> {
        let state = self.state();
        let ordered = state.cart_orders.get(id).copied();
        Ok(state.carts.get(id).map(|record| CartRecord {
            cart: record.cart.clone(),
            ordered_at: record.ordered_at.max(ordered),
        }))
    }

    async fn save_cart(&self, record: &CartRecord) -> Result<bool, StoreError> {
        let mut state = self.state();
        let newer = |kept: &CartRecord| kept.cart.updated_at > record.cart.updated_at;
        if state.carts.get(&record.cart.id).is_some_and(newer) {
            return Ok(false);
        }
        state.carts.insert(record.cart.id.clone(), record.clone());
        Ok(true)
    }
}

impl SendLedger for MemoryStore {
    async fn claim_message(&self, claim: &Claim) -> Result<ClaimOutcome, StoreError> {
        Ok(self.state().claim(claim))
    }

    async fn mark_sending(&self, key: &MessageKey, at: Timestamp) -> Result<bool, StoreError> {
        let mut state = self.state();
        let lease_until = match state.claims.get(key) {
            // Still ours only if nobody took it over after our lease (as DynamoDB's `claimed_at`).
            Some(&ClaimState::Claimed { since, lease_until }) if since == at => lease_until,
            // Our own earlier call, whose answer was lost: still ours.
            Some(&ClaimState::Sending { since, .. }) => return Ok(since == at),
            _ => return Ok(false),
        };
        state
            .claims
            .insert(key.clone(), ClaimState::Sending { since: at, lease_until });
        Ok(true)
    }

    async fn recover_claim(&self, claim: &Claim, since: Timestamp) -> Result<ClaimOutcome, StoreError> {
        let mut state = self.state();
        let unanswered =
            matches!(state.claims.get(&claim.key), Some(ClaimState::Sending { since: s, .. }) if *s == since);
        if !unanswered || state.recovered.contains_key(&claim.key) {
            // Reported, failed or recovered meanwhile: what a claim would find now.
            return Ok(match state.refusal(claim) {
                Some(ClaimOutcome::Recoverable { .. }) | None => ClaimOutcome::InFlight {
                    until: claim.at + claim.lease,
                },
                Some(refused) => refused,
            });
        }
        if state.suppressed.contains(&claim.to.as_str().to_lowercase()) {
            return Ok(ClaimOutcome::Suppressed);
        }
        state.recovered.insert(claim.key.clone(), claim.at);
        if let Some(coupon) = &claim.coupon {
            state.coupons.insert(coupon.code.clone(), coupon.clone());
        }
        state.claims.insert(claim.key.clone(), ClaimState::taken(claim));
        Ok(ClaimOutcome::Claimed)
    }

    async fn release_claim(&self, key: &MessageKey) -> Result<(), StoreError> {
        let mut state = self.state();
        if matches!(
            state.claims.get(key),
            Some(ClaimState::Claimed { .. } | ClaimState::Sending { .. })
        ) {
            state.claims.remove(key);
        }
        Ok(())
    }

    async fn mark_sent(&self, key: &MessageKey, provider_id: &str, at: Timestamp) -> Result<(), StoreError> {
        self.state().claims.insert(
            key.clone(),
            ClaimState::Sent {
                provider_id: provider_id.to_owned(),
                at,
            },
        );
        Ok(())
    }

    async fn mark_failed(&self, key: &MessageKey, reason: &str, at: Timestamp) -> Result<(), StoreError> {
        self.state().claims.insert(
            key.clone(),
            ClaimState::Failed {
                reason: reason.to_owned(),
                at,
            },
        );
        Ok(())
    }

    async fn take_send_slot(&self, at: Timestamp, rate: u32) -> Result<Option<u64>, StoreError> {
        let mut state = self.state();
        let second = at.as_second();
        let day = crate::ports::retention::send_day(at);
        let (current, in_second, sends) = state.send_days.entry(day).or_insert((i64::MIN, 0, 0));
        // As DynamoDB's conditional updates: more in the stored second while below the rate, or
        // a later second started; an earlier one is refused.
        if second == *current && *in_second < rate {
            *in_second += 1;
        } else if second > *current {
            (*current, *in_second) = (second, 1);
        } else {
            return Ok(None);
        }
        *sends += 1;
        Ok(Some(*sends))
    }

    async fn last_marketing(&self, customer: &CustomerId) -> Result<Option<MarketingSend>, StoreError> {
        Ok(self.state().marketing.get(customer).cloned())
    }

    async fn settle_sending(&self, key: &MessageKey, provider_id: &str, at: Timestamp) -> Result<(), StoreError> {
        let mut state = self.state();
        if matches!(state.claims.get(key), Some(ClaimState::Sending { .. })) {
            let sent = ClaimState::Sent {
                provider_id: provider_id.to_owned(),
                at,
            };
            state.claims.insert(key.clone(), sent);
        }
        Ok(())
    }

    async fn record_delivery(&self, key: &MessageKey, status: &str, at: Timestamp) -> Result<(), StoreError> {
        let mut state = self.state();
        // As on DynamoDB: recorded on the message's claim, so nothing for a message tidings did
        // not send (or whose claim is gone).
        if state.claims.contains_key(key) {
            state.deliveries.insert(key.clone(), (status.to_owned(), at));
        }
        Ok(())
    }
}

impl Deliverability for MemoryStore {
    async fn suppress(&self, email: &EmailAddress, _reason: &str, _at: Timestamp) -> Result<(), StoreError> {
        self.state().suppressed.insert(email.as_str().to_lowercase());
        Ok(())
    }

    async fn count_soft_bounce(
        &self,
        email: &EmailAddress,
        event_id: &str,
        at: Timestamp,
        since: Timestamp,
    ) -> Result<usize, StoreError> {
        let mut state = self.state();
        let bounces = state.soft_bounces.entry(email.as_str().to_lowercase()).or_default();
        bounces.insert(event_id.to_owned(), at);
        Ok(bounces.values().filter(|t| **t >= since).count())
    }

    async fn count_engagement(
        &self,
        customer: &CustomerId,
        event_id: &str,
        kind: EngagementKind,
        at: Timestamp,
    ) -> Result<bool, StoreError> {
        let mut state = self.state();
        if state.counted_events.contains_key(event_id) {
            return Ok(false);
        }
        state.counted_events.insert(event_id.to_owned(), at);
        let engagement = state.engagement.entry(customer.clone()).or_default();
        match kind {
            EngagementKind::Open => engagement.opens += 1,
            EngagementKind::Click => {
                engagement.clicks += 1;
                engagement.click_times.push(at);
            }
        }
        Ok(true)
    }

    async fn engagement(&self, customer: &CustomerId) -> Result<Engagement, StoreError> {
        Ok(self.state().engagement.get(customer).cloned().unwrap_or_default())
    }
}

impl MemoryStore {
    /// Everything about a customer, in one step (as DynamoDB's batch deletes, less durably).
    fn erase_records(&self, customer: &CustomerRecord) {
        let mut state = self.state();
        let id = &customer.profile.id;
        state.customers.remove(id);
        state.marketing.remove(id);
        state.engagement.remove(id);
        state
            .soft_bounces
            .remove(&customer.profile.email.as_str().to_lowercase());
        for order in &customer.orders {
            state.orders.remove(order);
            state.held.remove(order);
            state.order_versions.remove(order);
        }
        for cart in &customer.carts {
            state.carts.remove(cart);
            state.cart_orders.remove(cart);
        }
        state.follow_ups.retain(|_, f| &f.customer_id != id);
        state.ledgers.remove(id);
        state.tallied.retain(|(customer, _)| customer != id);
    }
}

impl Privacy for MemoryStore {
    async fn erase_customer(&self, customer: &CustomerRecord) -> Result<(), StoreError> {
        let id = &customer.profile.id;
        // Their alarms first, as on DynamoDB: a failure fails the erasure, which is retried.
        let waiting = self.state().follow_ups.of(id);
        for follow_up in &waiting {
            self.alarms.clear_or_fail(follow_up).await?;
        }
        self.erase_records(customer);
        Ok(())
    }

    async fn record_erasure(&self, erasure: &Erasure) -> Result<(), StoreError> {
        let mut state = self.state();
        let (by_id, by_address) = erasure_keys(&erasure.customer_id, &erasure.email);
        for key in [by_id, by_address] {
            let at = state.erased.entry(key).or_insert(erasure.at);
            *at = (*at).max(erasure.at);
        }
        state.erased_orders.extend(erasure.orders.iter().cloned());
        Ok(())
    }

    async fn opt_out(&self, email: &EmailAddress, at: Timestamp) -> Result<(), StoreError> {
        let mut state = self.state();
        let since = state.opted_out.entry(opted_out_key(email)).or_insert(at);
        *since = (*since).max(at);
        Ok(())
    }

    async fn lift_opt_out(&self, email: &EmailAddress, at: Timestamp) -> Result<(), StoreError> {
        let mut state = self.state();
        let key = opted_out_key(email);
        if state.opted_out.get(&key).is_some_and(|since| *since < at) {
            state.opted_out.remove(&key);
        }
        Ok(())
    }
}

impl Statistics for MemoryStore {
    async fn count_purchases(&self, order: &crate::domain::Order, delta: i64) -> Result<(), StoreError> {
        self.state().stats.count(order, delta);
        Ok(())
    }

    async fn product_stats(&self) -> Result<Arc<ProductStats>, StoreError> {
        Ok(Arc::new(self.state().stats.clone()))
    }

    async fn products(
        &self,
        ids: &[crate::domain::ProductId],
    ) -> Result<std::collections::BTreeMap<crate::domain::ProductId, crate::ports::ProductInfo>, StoreError> {
        let state = self.state();
        Ok(ids
            .iter()
            .filter_map(|id| Some((id.clone(), state.stats.products.get(id)?.clone())))
            .collect())
    }

    async fn describe_product(&self, product: &crate::domain::Product) -> Result<(), StoreError> {
        self.state().stats.describe(product);
        Ok(())
    }
}

impl Tallies for MemoryStore {
    async fn ledger(&self, customer: &CustomerId, marker: Option<&str>) -> Result<LedgerFile, StoreError> {
        let state = self.state();
        let (ledger, version) = state.ledgers.get(customer).cloned().unwrap_or_default();
        let counted = marker.is_some_and(|m| state.tallied.contains(&(customer.clone(), m.to_owned())));
        Ok(LedgerFile {
            ledger,
            version,
            counted,
            erased: state.erased.contains_key(&crate::ports::erased_id_key(customer)),
        })
    }

    async fn count(
        &self,
        customer: &CustomerId,
        version: u64,
        marker: Option<&str>,
        change: &Change,
    ) -> Result<(), StoreError> {
        let mut state = self.state();
        let conflict = || StoreError::Conflict {
            item: "report ledger".into(),
        };
        let stored = state.ledgers.get(customer).map_or(0, |(_, v)| *v);
        let erased = state.erased.contains_key(&crate::ports::erased_id_key(customer));
        if erased || (change.ledger.is_some() && stored != version) {
            return Err(conflict());
        }
        if let Some(marker) = marker
            && !state.tallied.insert((customer.clone(), marker.to_owned()))
        {
            return Err(conflict());
        }
        if let Some(ledger) = &change.ledger {
            state.ledgers.insert(customer.clone(), (ledger.clone(), version + 1));
        }
        crate::report::tally::merge(&mut state.counters, &change.adds);
        Ok(())
    }

    async fn counters(&self) -> Result<Counters, StoreError> {
        Ok(self.state().counters.clone())
    }
}

/// A memory store holds nothing an earlier release wrote.
impl Upgrades for MemoryStore {}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_delivery_report_is_recorded_only_on_a_message_tidings_claimed() {
        let store = MemoryStore::new();
        let at: Timestamp = "2026-11-02T10:00:00Z".parse().expect("time");
        let unknown = MessageKey::parse("order_confirmation#o-x").expect("key");
        store
            .record_delivery(&unknown, "delivered", at)
            .await
            .expect("no error");
        assert!(
            store.state().deliveries.is_empty(),
            "as on DynamoDB: nothing to record on"
        );
        let claim = Claim {
            key: unknown.clone(),
            customer_id: CustomerId::parse("c-1").expect("id"),
            to: EmailAddress::parse("ada@example.com").expect("address"),
            at,
            lease: jiff::SignedDuration::from_mins(2),
            cap: None,
            consent: None,
            sending: true,
            coupon: None,
        };
        store.claim_message(&claim).await.expect("claimed");
        store
            .record_delivery(&unknown, "delivered", at)
            .await
            .expect("recorded");
        assert_eq!(store.state().deliveries.len(), 1);
    }
}
