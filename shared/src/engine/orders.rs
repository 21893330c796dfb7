//! Orders: the confirmation (with the cross-sell and win-back it starts), redeliveries, cancellations,
//! and the events that wait for an order not seen yet (held, then released in order).

use super::kinds::Moment;
use super::tracking::Resolved;
use super::{Again, Engine, EngineError, KnownRecords, Outcome, Release, again_on_conflict, erased_outcome, hours};
use crate::domain::{Order, OrderId};
use crate::event::{Event, InboundEvent, TrackingNumber};
use crate::message::{MessageKey, MessageKind};
use crate::ports::{
    Awaiting, Bus, Changes, Clock, FollowUp, HeldEvent, Mailer, NewOrder, OrderConfirmation, OrderFile, OrderRecord,
    Store, StoreError, Subject,
};
use crate::report::Fact;
use jiff::Timestamp;

impl<S: Store, M: Mailer, B: Bus, C: Clock> Engine<S, M, B, C> {
    /// `OrderConfirmed`: the confirmation at once (claimed with the order's writes), the cross-sell
    /// and win-back scheduled, held events released; a redelivery only finishes what is left.
    pub(super) async fn order_confirmed(&self, order: &Order, at: Timestamp) -> Result<Vec<Outcome>, EngineError> {
        let store = &self.ports.store;
        let mut out = Vec::new();
        let OrderFile {
            record: existing,
            erased: erased_order,
            version,
            held,
        } = store.order_file(&order.id).await?;
        if erased_order {
            return Ok(vec![erased_outcome()]);
        }
        let held = (order.id.clone(), held);
        // The customer and the coupon the order used (attributed to the message that carried it).
        let code = order.coupon_code.as_ref().map(|code| code.as_str().trim());
        let file = match self.event_customer(&order.customer, at, code).await? {
            Ok(file) => file,
            Err(erased) => return Ok(vec![erased]),
        };
        let (stored, coupon, ledger) = (file.record, file.coupon, file.ledger);
        let (mut customer, occasions) = self.merge_profile(stored.as_ref(), &order.customer, at, false, true);
        customer.address_opted_out |= file.carried;
        let id = &order.customer.id;
        let subject = Subject::Order {
            order_id: order.id.clone(),
        };
        let confirmation = self.follow_up(
            MessageKey::new(MessageKind::OrderConfirmation, order.id.as_str(), &[]),
            id,
            subject.clone(),
            at,
        );
        if existing.is_some() {
            let again = Again {
                stored,
                customer,
                occasions,
                order: existing,
                held,
            };
            return self.confirmed_again(confirmation, again, out).await;
        }
        // Only a new order is stored: a redelivery reads no products.
        let order = &self.pictured(order).await?;
        let coupon_from = coupon.map(|c| c.key);
        let record = OrderRecord {
            order: order.clone(),
            confirmed_at: at,
            first_order: customer.orders_confirmed == 0,
            cancelled: None,
            shipments: vec![],
            delivered_at: None,
            reviewed_at: None,
            returned: false,
            coupon_from,
            parcels_delivered: Default::default(),
            version,
        };
        let mut counted = customer.clone();
        counted.orders_confirmed += 1;
        counted.last_order_at = counted.last_order_at.max(Some(order.placed_at));
        counted
            .purchased
            .extend(order.items.iter().map(|i| i.product_id.clone()));
        counted.orders.insert(order.id.clone());
        counted.standing.insert(order.id.clone(), at);
        counted.categories.extend(
            order
                .items
                .iter()
                .filter_map(|i| i.category.as_ref())
                .map(|c| c.as_str().trim().to_owned()),
        );
        let mut follow_ups = self.following(Moment::OrderConfirmed, order.id.as_str(), id, &subject, at);
        follow_ups.push(self.lapse_from(&counted, Some(&order.id), at));
        follow_ups.extend(occasions.iter().cloned());
        if order
            .lead_time_days
            .is_some_and(|days| days >= self.config.timing.order_progress_min_lead_days)
        {
            follow_ups.push(self.progress_follow_up(&record, 1));
        }
        // One write for the order, all it changes and the confirmation's claim.
        let composition = self
            .compose(
                confirmation.clone(),
                false,
                KnownRecords {
                    customer: Some(counted.clone()),
                    order: Some(record.clone()),
                },
            )
            .await?;
        let new = NewOrder {
            record: &record,
            customer: &counted,
            follow_ups: &follow_ups,
            claim: composition.claim(),
        };
        match store.confirm_order(&new).await? {
            OrderConfirmation::Recorded(claimed) => {
                out.extend(follow_ups.iter().map(Outcome::scheduled));
                // Nothing that can fail stands between a claim taken as `sending` and SES.
                let sent = self.finish(composition, claimed).await;
                // Counted whatever the send did: a retry finds the order recorded and counts nothing.
                self.count_purchases(order, 1).await;
                self.tally_order(&record, Some(ledger)).await;
                out.push(sent?);
            }
            OrderConfirmation::Exists => {
                let again = Again {
                    stored,
                    customer,
                    occasions,
                    order: None,
                    held,
                };
                return self.confirmed_again(confirmation, again, out).await;
            }
        }
        out.extend(self.order_events(None, Some(held), at).await?);
        Ok(out)
    }

    /// Counts an order in the co-purchase statistics (or takes it out), after its email: a
    /// failure there only skews recommendations by one order, so it is logged, never raised.
    pub(super) async fn count_purchases(&self, order: &Order, delta: i64) {
        if let Err(error) = self.ports.store.count_purchases(order, delta).await {
            tracing::warn!(order_id = %order.id, error = %crate::ports::report(&error), "co-purchase statistics not updated");
        }
    }

    /// Counts an order in the report (credited to the coupon it used, else the last click), once.
    async fn tally_order(&self, record: &OrderRecord, ledger: Option<(crate::report::Ledger, u64)>) {
        let order = &record.order;
        let ordered = Fact::Ordered {
            order_id: order.id.clone(),
            customer_id: order.customer.id.clone(),
            at: order.placed_at,
            currency: order.currency.code().to_owned(),
            total: order.total,
            coupon_from: record.coupon_from.clone(),
        };
        // The ledger read with the customer, unless erased meanwhile: the write checks that too.
        self.tally_or_log(&order.customer.id, &ordered, ledger).await;
    }

    /// A redelivered confirmation writes nothing about the order but still finishes its email,
    /// which is idempotent, and the events held for the order (a first delivery that died before
    /// it got to them).
    pub(super) async fn confirmed_again(
        &self,
        confirmation: FollowUp,
        again: Again,
        mut out: Vec<Outcome>,
    ) -> Result<Vec<Outcome>, EngineError> {
        let Again {
            stored,
            customer,
            occasions,
            order,
            held,
        } = again;
        if stored.as_ref() != Some(&customer) {
            self.save_profile(&customer, &occasions, &mut out).await?;
        }
        let at = confirmation.due_at;
        let counted = order.clone();
        let known = KnownRecords {
            customer: Some(customer),
            order,
        };
        out.push(self.attempt(confirmation, false, known).await?);
        // A first delivery may have died before the report counted the order (counted once),
        // which is looked at after the email.
        if let Some(record) = &counted {
            self.tally_order(record, None).await;
        }
        out.extend(self.order_events(None, Some(held), at).await?);
        Ok(out)
    }

    /// Handles `first`, then events that waited for an order once it (or its shipment) arrives.
    /// Held events older than the orphan limit are dropped with a warning.
    pub(super) async fn order_events(
        &self,
        first: Option<&InboundEvent>,
        release: Option<(OrderId, Vec<HeldEvent>)>,
        now: Timestamp,
    ) -> Result<Vec<Outcome>, EngineError> {
        let orphan_after = hours(self.config.timing.orphan_after_hours);
        // Each event with the held item it came from: forgotten once handled, so a failure on
        // the way leaves it for the retry.
        let mut queue: std::collections::VecDeque<(InboundEvent, Option<(OrderId, HeldEvent)>)> =
            first.cloned().into_iter().map(|event| (event, None)).collect();
        let mut releases: Vec<Release> = release.into_iter().collect();
        let mut out = Vec::new();
        // A shipment handled from the held events releases them again: each is taken once.
        let mut taken = std::collections::BTreeSet::new();
        loop {
            for (order_id, held) in std::mem::take(&mut releases) {
                for held in held.into_iter().filter(|h| taken.insert(h.id.clone())) {
                    if held.event.time + orphan_after < now {
                        let detail_type = held.event.event.detail_type();
                        tracing::warn!(order_id = %order_id, detail_type, event_time = %held.event.time, "orphan event dropped: its order arrived too late");
                        out.push(Outcome::Ignored {
                            reason: format!("orphan {detail_type} for order {order_id} dropped"),
                        });
                        self.ports
                            .store
                            .forget_held(&order_id, std::slice::from_ref(&held))
                            .await?;
                    } else {
                        queue.push_back((held.event.clone(), Some((order_id.clone(), held))));
                    }
                }
            }
            let Some((event, origin)) = queue.pop_front() else {
                return Ok(out);
            };
            let (outcomes, released) = self.order_event(&event).await?;
            // Held again under the same order (a scan of a shipment still to come) rewrote the
            // same item: kept, and free to be taken when that shipment is announced. Held under
            // another (a carrier's scan, found by its number, whose parcel is not recorded yet):
            // a new item there, so this one is forgotten.
            let held_again = |under: &OrderId| {
                outcomes
                    .iter()
                    .any(|o| matches!(o, Outcome::Held { order_id } if order_id == under))
            };
            match &origin {
                Some((order_id, held)) if held_again(order_id) => {
                    taken.remove(&held.id);
                }
                Some((order_id, held)) => {
                    self.ports
                        .store
                        .forget_held(order_id, std::slice::from_ref(held))
                        .await?;
                }
                None => {}
            }
            out.extend(outcomes);
            releases = released;
        }
    }

    /// One event about an existing order (held until it arrives), read afresh and handled again
    /// when the order changed meanwhile. Returns the held events a shipment announcement released.
    pub(super) async fn order_event(&self, event: &InboundEvent) -> Result<(Vec<Outcome>, Vec<Release>), EngineError> {
        let resolved;
        let event = match &event.event {
            Event::TrackingUpdated(scan) => match self.resolve_scan(event, scan).await? {
                Resolved::Event(event) => {
                    resolved = *event;
                    &resolved
                }
                Resolved::Held(held, release) => return Ok((vec![held], release)),
            },
            _ => event,
        };
        let Some(order_id) = event.event.awaited_order() else {
            let reason = format!("{} needs no action", event.event.detail_type());
            return Ok((vec![Outcome::Ignored { reason }], vec![]));
        };
        again_on_conflict(|| async {
            let file = self.ports.store.order_file(order_id).await?;
            self.order_event_on(event, order_id, file).await
        })
        .await
    }

    /// Holds `event` until what it awaits arrives; a conflict when that arrived meanwhile.
    pub(super) async fn hold(
        &self,
        order_id: &OrderId,
        event: &InboundEvent,
        awaiting: Awaiting<'_>,
    ) -> Result<Outcome, EngineError> {
        let now = self.ports.clock.now();
        if !self.ports.store.hold_event(order_id, event, awaiting, now).await? {
            return Err(StoreError::Conflict {
                item: format!("order {order_id}"),
            }
            .into());
        }
        Ok(Outcome::Held {
            order_id: order_id.clone(),
        })
    }

    pub(super) async fn order_event_on(
        &self,
        event: &InboundEvent,
        order_id: &OrderId,
        file: OrderFile,
    ) -> Result<(Vec<Outcome>, Vec<Release>), EngineError> {
        let store = &self.ports.store;
        let OrderFile {
            record, held, erased, ..
        } = file;
        if erased {
            return Ok((vec![erased_outcome()], vec![]));
        }
        let Some(mut record) = record else {
            return Ok((vec![self.hold(order_id, event, Awaiting::Order).await?], vec![]));
        };
        let mut release = vec![];
        let at = event.time;
        let customer_id = record.order.customer.id.clone();
        let mut out = Vec::new();
        match &event.event {
            Event::OrderCancelled(cancel) => {
                let key = MessageKey::new(MessageKind::OrderCancellation, order_id.as_str(), &[]);
                let subject = Subject::Order {
                    order_id: order_id.clone(),
                };
                let cancellation = self.follow_up(key, &customer_id, subject, at);
                // Recorded once, all together with the email's claim: the cancellation, the
                // statistics without the order, the customer's standing orders and the lapse that
                // now counts from the latest one still standing (or the signup).
                let cancelled = Fact::Cancelled {
                    order_id: order_id.clone(),
                    at,
                };
                if record.cancelled.is_none() {
                    record.cancelled = Some((at, cancel.reason.clone()));
                    let mut customer = store.customer(&customer_id).await?;
                    let mut lapse = None;
                    if let Some(customer) = customer.as_mut() {
                        customer.standing.remove(order_id);
                        let latest = customer.latest_standing().map(|(id, at)| (id.clone(), at));
                        let since = match &latest {
                            Some((_, at)) => Some(*at),
                            None if customer.signed_up => {
                                Some(customer.profile.signed_up_at.unwrap_or(customer.profile_at))
                            }
                            None => None,
                        };
                        lapse = since.map(|since| self.lapse_from(customer, latest.as_ref().map(|(id, _)| id), since));
                    }
                    let follow_ups: Vec<FollowUp> = lapse.into_iter().collect();
                    out.extend(follow_ups.iter().map(Outcome::scheduled));
                    let changes = Changes {
                        order: Some(&record),
                        customer: customer.as_ref(),
                        follow_ups: &follow_ups,
                        ..Changes::default()
                    };
                    let known = KnownRecords::of_order_with(&record, customer.as_ref());
                    let sent = self.save_and_attempt(changes, cancellation, known).await;
                    // Only once the cancellation is recorded (a refused write is handled again).
                    if !matches!(sent, Err(EngineError::Store(_))) {
                        self.count_purchases(&record.order, -1).await;
                        self.tally_or_log(&customer_id, &cancelled, None).await;
                    }
                    out.push(sent?);
                } else {
                    out.push(
                        self.attempt(cancellation, false, KnownRecords::of_order(&record))
                            .await?,
                    );
                    // A first delivery may have died before the report took the order back.
                    self.tally_or_log(&customer_id, &cancelled, None).await;
                }
            }
            Event::OrderShipped(shipped) => {
                // Its number is new when the parcel is, or when it had none (as `shipped` keeps
                // the first number given): only then registered with the tracking services. It
                // is indexed every time, before the parcel is recorded (a scan arriving in between
                // finds it), so a retry whose first attempt recorded the parcel and died before
                // releasing the scans that waited for the number still releases them.
                let new_number = match record.shipments.iter().find(|s| s.shipment.id == shipped.shipment.id) {
                    None => shipped.shipment.tracking_number.is_some(),
                    Some(known) => {
                        known.shipment.tracking_number.is_none() && shipped.shipment.tracking_number.is_some()
                    }
                };
                let number = shipped
                    .shipment
                    .tracking_number
                    .as_ref()
                    .and_then(|n| TrackingNumber::parse(n.as_str()));
                let waiting = match &number {
                    // For carrier services' scans (always: a service connected later still finds
                    // the parcels already shipped); true when scans of the number wait.
                    Some(number) => store.index_tracking(number, order_id, &shipped.shipment.id, at).await?,
                    None => false,
                };
                out = self.shipped(record, shipped, at).await?;
                if let Some(number) = number.as_ref().filter(|_| new_number) {
                    self.register_parcel(number, &shipped.shipment).await;
                }
                // Scans that arrived before the shipment announcement can be handled now, and
                // carrier services' scans that waited for its tracking number.
                release.push((order_id.clone(), held));
                if let Some(number) = number.as_ref().filter(|_| waiting) {
                    release.extend(self.scans_waiting_for(number, &shipped.shipment.id).await?);
                }
            }
            Event::ShipmentUpdated(update) => match self.shipment_updated(record, update, at).await? {
                Some(outcomes) => out = outcomes,
                None => {
                    let held = self
                        .hold(order_id, event, Awaiting::Shipment(&update.shipment_id))
                        .await?;
                    return Ok((vec![held], vec![]));
                }
            },
            Event::OrderDelivered(delivered) => out = self.delivered(record, delivered, at).await?,
            Event::ReviewSubmitted(_) if record.reviewed_at.is_none() => {
                record.reviewed_at = Some(at);
                store
                    .save_together(&Changes {
                        order: Some(&record),
                        ..Changes::default()
                    })
                    .await?;
            }
            _ => {}
        }
        Ok((out, release))
    }
}
