//! Shipments: each parcel's shipping confirmation, carrier updates and stall watch, each parcel's
//! delivery, and the order's own delivery (with its review request) once every parcel arrived.
//!
//! Message keys (messages.md, "Split shipments"): a shipment's messages are keyed by its id alone
//! (`shipping_confirmation#<shipment id>`), as every release did, while the id is this order's;
//! a shipment whose id another order had first (per-order numbering) keys them with the order id
//! too (`shipping_confirmation#<order id>#<shipment id>`). Which one is decided once, when the
//! shipment is first recorded, and kept with it (`ShipmentRecord::scoped`): a shipment recorded by
//! an earlier release keeps the old key, so its old claim still blocks a redelivery.

use super::kinds::Moment;
use super::{Engine, EngineError, KnownRecords, Outcome};
use crate::domain::ShipmentStatus;
use crate::event::{OrderDelivered, OrderShipped, ShipmentUpdated};
use crate::message::{MessageKey, MessageKind};
use crate::ports::{Bus, Changes, Clock, Mailer, OrderRecord, Scan, ShipmentRecord, Store, Subject};
use jiff::Timestamp;

impl<S: Store, M: Mailer, B: Bus, C: Clock> Engine<S, M, B, C> {
    /// `OrderShipped`: records the parcel and sends its confirmation, unless it was delivered
    /// already (the delivery came first: nothing more is said about it).
    pub(super) async fn shipped(
        &self,
        mut record: OrderRecord,
        shipped: &OrderShipped,
        at: Timestamp,
    ) -> Result<Vec<Outcome>, EngineError> {
        let store = &self.ports.store;
        let order_id = record.order.id.clone();
        let customer_id = record.order.customer.id.clone();
        let shipment = &shipped.shipment;
        let subject = Subject::Shipment {
            order_id: order_id.clone(),
            shipment_id: shipment.id.clone(),
            status: None,
        };
        if let Some(index) = record.shipments.iter().position(|s| s.shipment.id == shipment.id) {
            if record.parcel_delivered(&shipment.id) {
                return Ok(vec![delivered_already()]);
            }
            let key = record.shipments[index].key(MessageKind::ShippingConfirmation, &order_id, &[]);
            let confirmation = self.follow_up(key, &customer_id, subject, at);
            // A tracking number given later (a parcel announced before its label) is kept, so
            // the confirmation (if not sent yet) and every later email show it.
            let known = &mut record.shipments[index].shipment;
            if known.tracking_number.is_none() && shipment.tracking_number.is_some() {
                known.tracking_number = shipment.tracking_number.clone();
                known.tracking_url = shipment.tracking_url.clone().or(known.tracking_url.take());
                known.carrier = shipment.carrier.clone();
                known.carrier_name = shipment.carrier_name.clone().or(known.carrier_name.take());
                let changes = Changes {
                    order: Some(&record),
                    ..Changes::default()
                };
                return Ok(vec![
                    self.save_and_attempt(changes, confirmation, KnownRecords::of_order(&record))
                        .await?,
                ]);
            }
            return Ok(vec![
                self.attempt(confirmation, false, KnownRecords::of_order(&record))
                    .await?,
            ]);
        }
        let now = self.ports.clock.now();
        let scoped = !store.own_shipment_id(&shipment.id, &order_id, now).await?;
        let parcel = ShipmentRecord {
            shipment: shipment.clone(),
            scans: vec![],
            scoped,
        };
        let key = parcel.key(MessageKind::ShippingConfirmation, &order_id, &[]);
        record.shipments.push(parcel.clone());
        if record.parcel_delivered(&shipment.id) {
            // Kept for what it holds; no confirmation, no stall watch.
            store
                .save_together(&Changes {
                    order: Some(&record),
                    ..Changes::default()
                })
                .await?;
            return Ok(vec![delivered_already()]);
        }
        let confirmation = self.follow_up(key, &customer_id, subject, at);
        let (watch, _) = self.stall_watch(&record, &parcel, 0, at);
        let mut out = vec![Outcome::scheduled(&watch)];
        let changes = Changes {
            order: Some(&record),
            follow_ups: std::slice::from_ref(&watch),
            ..Changes::default()
        };
        out.push(
            self.save_and_attempt(changes, confirmation, KnownRecords::of_order(&record))
                .await?,
        );
        Ok(out)
    }

    /// `ShipmentUpdated`: records the scan, tells the customer unless it is `in_transit`, and
    /// restarts the stall watch. `None` when the shipment is not announced yet (the caller holds
    /// the event); a scan of a delivered parcel is ignored.
    pub(super) async fn shipment_updated(
        &self,
        mut record: OrderRecord,
        update: &ShipmentUpdated,
        at: Timestamp,
    ) -> Result<Option<Vec<Outcome>>, EngineError> {
        if record.parcel_delivered(&update.shipment_id) {
            return Ok(Some(vec![delivered_already()]));
        }
        let Some(index) = record
            .shipments
            .iter()
            .position(|s| s.shipment.id == update.shipment_id)
        else {
            return Ok(None);
        };
        let order_id = record.order.id.clone();
        let customer_id = record.order.customer.id.clone();
        let scan = Scan {
            at,
            status: update.status,
            description: update.description.clone(),
            location: update.location.clone(),
            estimated_delivery: update.estimated_delivery,
        };
        let message = (update.status != ShipmentStatus::InTransit).then(|| {
            let key = record.shipments[index].key(MessageKind::ShipmentUpdate, &order_id, &[update.status.as_str()]);
            let subject = Subject::Shipment {
                order_id: order_id.clone(),
                shipment_id: update.shipment_id.clone(),
                status: Some(update.status),
            };
            self.follow_up(key, &customer_id, subject, at)
        });
        let mut out = Vec::new();
        if record.shipments[index].scans.contains(&scan) {
            if let Some(message) = message {
                out.push(self.attempt(message, false, KnownRecords::of_order(&record)).await?);
            }
            return Ok(Some(out));
        }
        record.shipments[index].scans.push(scan);
        let count = u32::try_from(record.shipments[index].scans.len()).unwrap_or(u32::MAX);
        record.returned |= update.status == ShipmentStatus::ReturnedToSender;
        let (watch, dropped) = self.stall_watch(&record, &record.shipments[index], count, at);
        out.push(Outcome::scheduled(&watch));
        let changes = Changes {
            order: Some(&record),
            follow_ups: std::slice::from_ref(&watch),
            dropped: dropped.as_slice(),
            ..Changes::default()
        };
        match message {
            Some(message) => out.push(
                self.save_and_attempt(changes, message, KnownRecords::of_order(&record))
                    .await?,
            ),
            None => {
                self.ports.store.save_together(&changes).await?;
            }
        }
        Ok(Some(out))
    }

    /// `OrderDelivered`: a parcel of a split order gets its own message while others are on the
    /// way (`delivery_confirmation#<order id>#<shipment id>`); the order's delivery confirmation,
    /// its review request and the loyalty count come when every parcel arrived (or with an
    /// `OrderDelivered` without `shipment_id`, which means the whole order).
    pub(super) async fn delivered(
        &self,
        mut record: OrderRecord,
        delivered: &OrderDelivered,
        at: Timestamp,
    ) -> Result<Vec<Outcome>, EngineError> {
        let Some(shipment_id) = &delivered.shipment_id else {
            return self.order_delivered(record, at).await;
        };
        let order_id = record.order.id.clone();
        let parcel_key = MessageKey::new(
            MessageKind::DeliveryConfirmation,
            order_id.as_str(),
            &[shipment_id.as_str()],
        );
        let parcel_message = |record: &OrderRecord| {
            let subject = Subject::Shipment {
                order_id: order_id.clone(),
                shipment_id: shipment_id.clone(),
                status: None,
            };
            self.follow_up(parcel_key.clone(), &record.order.customer.id, subject, at)
        };
        match (record.parcels_delivered.get(shipment_id).copied(), record.delivered_at) {
            // Redelivered: again what the first delivery sent (the order's message when this
            // parcel completed the order, or when the order was delivered without it).
            (Some(first), Some(all)) if first != all => {
                let message = parcel_message(&record);
                Ok(vec![
                    self.attempt(message, false, KnownRecords::of_order(&record)).await?,
                ])
            }
            (_, Some(_)) => self.order_delivered(record, at).await,
            (Some(_), None) => {
                let message = parcel_message(&record);
                Ok(vec![
                    self.attempt(message, false, KnownRecords::of_order(&record)).await?,
                ])
            }
            (None, None) => {
                record.parcels_delivered.insert(shipment_id.clone(), at);
                if record.every_parcel_delivered() {
                    return self.order_delivered(record, at).await;
                }
                let message = parcel_message(&record);
                let changes = Changes {
                    order: Some(&record),
                    ..Changes::default()
                };
                Ok(vec![
                    self.save_and_attempt(changes, message, KnownRecords::of_order(&record))
                        .await?,
                ])
            }
        }
    }

    /// The whole order arrived: its delivery confirmation, review request and loyalty count.
    async fn order_delivered(&self, mut record: OrderRecord, at: Timestamp) -> Result<Vec<Outcome>, EngineError> {
        let store = &self.ports.store;
        let order_id = record.order.id.clone();
        let customer_id = record.order.customer.id.clone();
        let subject = Subject::Order {
            order_id: order_id.clone(),
        };
        let key = MessageKey::new(MessageKind::DeliveryConfirmation, order_id.as_str(), &[]);
        let confirmation = self.follow_up(key, &customer_id, subject.clone(), at);
        let mut out = Vec::new();
        let mut reward = None;
        let mut customer = None;
        // Counted once: the order, the customer's delivered orders, the review request and
        // the confirmation's claim are written together on the first delivery event.
        if record.delivered_at.is_none() {
            record.delivered_at = Some(at);
            customer = store.customer(&customer_id).await?;
            if let Some(customer) = customer.as_mut() {
                customer.orders_delivered += 1;
                let count = customer.orders_delivered;
                if count % self.config.timing.loyalty_every_orders == 0 {
                    // Stored with the delivery: a failure after this point must not lose it.
                    let key = MessageKey::new(MessageKind::LoyaltyReward, customer_id.as_str(), &[&count.to_string()]);
                    let subject = Subject::Milestone {
                        order_id: order_id.clone(),
                        count,
                    };
                    reward = Some(self.follow_up(key, &customer_id, subject, at));
                }
            }
            let mut follow_ups = self.following(Moment::OrderDelivered, order_id.as_str(), &customer_id, &subject, at);
            out.extend(follow_ups.iter().map(Outcome::scheduled));
            follow_ups.extend(reward.clone());
            let changes = Changes {
                order: Some(&record),
                customer: customer.as_ref(),
                follow_ups: &follow_ups,
                ..Changes::default()
            };
            let known = KnownRecords::of_order_with(&record, customer.as_ref());
            out.push(self.save_and_attempt(changes, confirmation, known).await?);
        } else {
            out.push(
                self.attempt(confirmation, false, KnownRecords::of_order(&record))
                    .await?,
            );
        }
        if let Some(reward) = reward {
            out.push(
                self.attempt(reward, true, KnownRecords::of_order_with(&record, customer.as_ref()))
                    .await?,
            );
        }
        Ok(out)
    }
}

/// A late shipping confirmation or scan of a parcel already delivered.
fn delivered_already() -> Outcome {
    Outcome::Ignored {
        reason: "the parcel was delivered already: nothing more is sent about it".into(),
    }
}
