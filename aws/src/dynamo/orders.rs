//! Orders: confirmations and changes written in one transaction with their claim, held events,
//! shipment ids.

use super::{
    CART_TTL, CLAIM_TTL, DynamoStore, Item, TRANSACTION_LIMIT, corrupt, n, number_attr, s, string_attr, ttl,
    unavailable,
};
use aws_sdk_dynamodb::types::{AttributeValue, ConditionCheck, Delete, Put, TransactWriteItem, Update};
use jiff::Timestamp;
use tidings_core::domain::{OrderId, ShipmentId};
use tidings_core::event::{InboundEvent, TrackingNumber};
use tidings_core::message::{MessageKey, MessageKind};
use tidings_core::ports::retention::{HELD_TTL, TRACKING_TTL};
use tidings_core::ports::{
    Awaiting, Changes, ClaimOutcome, CustomerRecord, FollowUp, HeldEvent, IssuedCoupon, NewOrder, OrderConfirmation,
    OrderFile, OrderRecord, Orders, SendLedger, StoreError,
};

impl DynamoStore {
    /// The order item at its next version, with the shipment ids a hold is checked against.
    pub(super) fn order_item(record: &OrderRecord) -> Result<Item, StoreError> {
        let pk = format!("ORDER#{}", record.order.id);
        let mut item = Self::versioned_item(record, record.version, pk, "ORDER")?;
        let shipments: Vec<String> = record.shipments.iter().map(|s| s.shipment.id.to_string()).collect();
        if !shipments.is_empty() {
            item.insert("shipment_ids".into(), AttributeValue::Ss(shipments));
        }
        Ok(item)
    }

    /// An order item as a record; `None` for the placeholder of events held before the order.
    pub(super) fn order_record(item: Item, pk: &str) -> Result<Option<OrderRecord>, StoreError> {
        if !item.contains_key("confirmed_at") {
            return Ok(None);
        }
        // `version` is one of the record's fields: read with it.
        serde_dynamo::from_item(item).map(Some).map_err(corrupt(pk))
    }

    /// Which message issued a coupon code, so an order using it can be attributed.
    pub(super) fn coupon_item(coupon: &IssuedCoupon) -> Result<Item, StoreError> {
        let mut item = Self::record_item(coupon, format!("COUPON#{}", coupon.code), "COUPON")?;
        // Kept a year past expiry: orders placed with it near the end are still attributed.
        item.insert(
            "ttl".into(),
            ttl(coupon.expires_at + tidings_core::ports::retention::COUPON_GRACE),
        );
        Ok(item)
    }

    /// `Conflict` naming the record whose version refused action `index` of `record_puts`.
    pub(super) fn version_conflict(
        order: Option<&OrderRecord>,
        customer: Option<&CustomerRecord>,
        index: usize,
    ) -> StoreError {
        let order = order.map(|o| format!("order {}", o.order.id));
        let customer = customer.map(|c| format!("customer {}", c.profile.id.redacted()));
        StoreError::Conflict {
            item: [order, customer].into_iter().flatten().nth(index).unwrap_or_default(),
        }
    }

    /// Transaction puts for records written together. The order's (the first action, so a refusal
    /// is reason 0) expects the version it was read at, and no confirmed order when `(order, true)`.
    pub(super) fn record_puts(
        &self,
        order: Option<(&OrderRecord, bool)>,
        customer: Option<&CustomerRecord>,
        follow_ups: &[FollowUp],
    ) -> Result<Vec<TransactWriteItem>, StoreError> {
        let put = |item: Item| {
            Put::builder()
                .table_name(&self.table)
                .set_item(Some(item))
                .build()
                .map(|put| TransactWriteItem::builder().put(put).build())
                .map_err(unavailable("write together"))
        };
        let mut actions = Vec::new();
        if let Some((order, confirming)) = order {
            let put = self.versioned_put(Self::order_item(order)?, order.version, confirming, "write together")?;
            actions.push(TransactWriteItem::builder().put(put).build());
        }
        if let Some(customer) = customer {
            let put = self.versioned_put(
                Self::customer_item(customer)?,
                customer.version,
                false,
                "write together",
            )?;
            actions.push(TransactWriteItem::builder().put(put).build());
        }
        for follow_up in follow_ups {
            actions.push(put(Self::follow_up_item(follow_up)?)?);
        }
        Ok(actions)
    }
}

impl Orders for DynamoStore {
    async fn order(&self, id: &OrderId) -> Result<Option<OrderRecord>, StoreError> {
        let pk = format!("ORDER#{id}");
        match self.get(pk.clone(), "ORDER", "order").await? {
            Some(item) => Self::order_record(item, &pk),
            None => Ok(None),
        }
    }

    async fn order_file(&self, id: &OrderId) -> Result<OrderFile, StoreError> {
        let pk = format!("ORDER#{id}");
        let mut file = OrderFile::default();
        for item in self.query_partition(&pk, "", "order").await? {
            match string_attr(&item, "sk") {
                Some("ORDER") => {
                    file.version = number_attr(&item, "version").map_or(0, i64::unsigned_abs);
                    file.record = Self::order_record(item, &pk)?;
                }
                Some("ERASED") => file.erased = true,
                Some(sk) if sk.starts_with("HELD#") => {
                    // One unreadable held event must not block its order: logged, then left to
                    // its TTL.
                    let event = string_attr(&item, "event").and_then(|json| serde_json::from_str(json).ok());
                    match event {
                        Some(event) => file.held.push(HeldEvent {
                            id: sk.to_owned(),
                            event,
                        }),
                        None => tracing::error!(pk, sk, "held event is unreadable; skipped"),
                    }
                }
                _ => {}
            }
        }
        file.held.sort_by_key(|h| h.event.time);
        Ok(file)
    }

    async fn save_together(&self, changes: &Changes<'_>) -> Result<Option<ClaimOutcome>, StoreError> {
        self.alarms.set(changes.follow_ups).await?;
        let order = changes.order.map(|order| (order, false));
        let mut actions = self.record_puts(order, changes.customer, changes.follow_ups)?;
        for key in changes.dropped {
            let delete = Delete::builder()
                .table_name(&self.table)
                .set_key(Some(Self::key(format!("MSG#{key}"), "FOLLOWUP")))
                .build()
                .map_err(unavailable("save_together"))?;
            actions.push(TransactWriteItem::builder().delete(delete).build());
        }
        // A huge order's changes are written in several transactions (not atomically), then the
        // claim.
        if actions.len() + Self::claim_action_count(changes.claim) > TRANSACTION_LIMIT {
            self.transact_chunks(actions, "save_together").await?;
            return match changes.claim {
                Some(claim) => self.claim_message(claim).await.map(Some),
                None => Ok(None),
            };
        }
        if actions.is_empty() && changes.claim.is_none() {
            return Ok(None);
        }
        // Besides the claim only the order and the customer have conditions (their versions).
        self.transact_with_claim(actions, changes.claim, "save_together")
            .await?
            .map_err(|(index, _)| Self::version_conflict(changes.order, changes.customer, index))
    }

    async fn confirm_order(&self, new: &NewOrder<'_>) -> Result<OrderConfirmation, StoreError> {
        self.alarms.set(new.follow_ups).await?;
        let order = &new.record.order;
        let mut actions = self.record_puts(Some((new.record, true)), Some(new.customer), new.follow_ups)?;
        if let Some(cart) = &order.cart_id {
            let mut item = Self::key(format!("CART#{cart}"), "ORDERED");
            item.insert("at".into(), s(new.record.confirmed_at.to_string()));
            item.insert("ttl".into(), ttl(new.record.confirmed_at + CART_TTL));
            let put = Put::builder()
                .table_name(&self.table)
                .set_item(Some(item))
                .build()
                .map_err(unavailable("confirm_order"))?;
            actions.push(TransactWriteItem::builder().put(put).build());
        }
        // The order's put is action 0: refused, it found the order confirmed, or events held
        // for it since it was read.
        let claimed = match self.transact_with_claim(actions, new.claim, "confirm_order").await? {
            Ok(claimed) => claimed,
            Err((0, old)) if old.as_ref().is_some_and(|item| item.contains_key("confirmed_at")) => {
                return Ok(OrderConfirmation::Exists);
            }
            Err((index, _)) => return Err(Self::version_conflict(Some(new.record), Some(new.customer), index)),
        };
        Ok(OrderConfirmation::Recorded(claimed))
    }

    async fn hold_event(
        &self,
        order: &OrderId,
        event: &InboundEvent,
        awaiting: Awaiting<'_>,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        let json = serde_json::to_string(event).map_err(|e| StoreError::Corrupt {
            item: format!("held event for {order}"),
            source: Box::new(e),
        })?;
        let pk = format!("ORDER#{order}");
        let sk = tidings_core::ports::retention::held_event_id(event.time, &json);
        // Kept from its arrival: an event redelivered days late would otherwise expire at once and
        // be gone when its order comes (the orphan rule still counts from the event's time).
        let expires = ttl(tidings_core::ports::retention::held_until(event, now));
        let mut item = Self::key(pk.clone(), &sk);
        item.insert("event".into(), s(json));
        item.insert("ttl".into(), expires.clone());
        // The order item's version moves with the hold (a placeholder until the order arrives, gone
        // with its TTL if it never does), so a writer that read the order before this hold fails
        // its condition and reads again; a hold whose order or shipment arrived first fails here.
        let bump = Update::builder()
            .table_name(&self.table)
            .set_key(Some(Self::key(pk, "ORDER")))
            .expression_attribute_values(":one", n(1));
        let bump = match awaiting {
            Awaiting::Order => bump
                .update_expression("ADD version :one SET #ttl = :ttl")
                .condition_expression("attribute_not_exists(confirmed_at)")
                .expression_attribute_names("#ttl", "ttl")
                .expression_attribute_values(":ttl", expires),
            Awaiting::Shipment(shipment) => bump
                .update_expression("ADD version :one")
                .condition_expression("attribute_exists(confirmed_at) AND NOT contains(shipment_ids, :shipment)")
                .expression_attribute_values(":shipment", s(shipment.as_str())),
        }
        .build()
        .map_err(unavailable("hold_event"))?;
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(item))
            .build()
            .map_err(unavailable("hold_event"))?;
        let actions = vec![
            TransactWriteItem::builder().update(bump).build(),
            TransactWriteItem::builder().put(put).build(),
        ];
        Ok(self.transact_conditional(actions, "hold_event").await?.is_none())
    }

    async fn own_shipment_id(&self, shipment: &ShipmentId, order: &OrderId, at: Timestamp) -> Result<bool, StoreError> {
        // One transaction: the owner is recorded unless another order is; and releases before the
        // owners were recorded keyed every shipment by its id alone, so a claim under that key
        // means another order (this one has not recorded the shipment yet) used the id.
        let mut item = Self::key(format!("SHIPMENT#{shipment}"), "OWNER");
        item.insert("order_id".into(), s(order.as_str()));
        // As long as the claims it keeps apart.
        item.insert("ttl".into(), ttl(at + CLAIM_TTL));
        let owner = Put::builder()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(pk) OR order_id = :order")
            .expression_attribute_values(":order", s(order.as_str()))
            .build()
            .map_err(unavailable("own_shipment_id"))?;
        let legacy = MessageKey::new(MessageKind::ShippingConfirmation, shipment.as_str(), &[]);
        let unclaimed = ConditionCheck::builder()
            .table_name(&self.table)
            .set_key(Some(Self::key(format!("MSG#{legacy}"), "CLAIM")))
            .condition_expression("attribute_not_exists(pk)")
            .build()
            .map_err(unavailable("own_shipment_id"))?;
        let actions = vec![
            TransactWriteItem::builder().put(owner).build(),
            TransactWriteItem::builder().condition_check(unclaimed).build(),
        ];
        Ok(self.transact_conditional(actions, "own_shipment_id").await?.is_none())
    }

    async fn index_tracking(
        &self,
        number: &TrackingNumber,
        order: &OrderId,
        shipment: &ShipmentId,
        at: Timestamp,
    ) -> Result<bool, StoreError> {
        let old = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(Self::key(format!("TRACKING#{number}"), "OWNER")))
            // The waiting mark stays: a retry of this shipment (the release below it failed)
            // must still find the scans; one query more for a number that once had early scans.
            .update_expression("SET order_id = :order, shipment_id = :shipment, #ttl = :ttl")
            .expression_attribute_names("#ttl", "ttl")
            .expression_attribute_values(":order", s(order.as_str()))
            .expression_attribute_values(":shipment", s(shipment.as_str()))
            .expression_attribute_values(":ttl", ttl(at + TRACKING_TTL))
            .return_values(aws_sdk_dynamodb::types::ReturnValue::AllOld)
            .send()
            .await
            .map_err(unavailable("index_tracking"))?;
        Ok(old.attributes.is_some_and(|old| old.contains_key("waiting")))
    }

    async fn tracking_owner(&self, number: &TrackingNumber) -> Result<Option<(OrderId, ShipmentId)>, StoreError> {
        let item = self
            .get(format!("TRACKING#{number}"), "OWNER", "tracking_owner")
            .await?;
        Ok(item.as_ref().and_then(parcel))
    }

    async fn mark_scans_waiting(
        &self,
        number: &TrackingNumber,
        at: Timestamp,
    ) -> Result<Option<(OrderId, ShipmentId)>, StoreError> {
        let new = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(Self::key(format!("TRACKING#{number}"), "OWNER")))
            // Kept as long as the scans it stands for, unless a parcel made it longer.
            .update_expression("SET waiting = :yes, #ttl = if_not_exists(#ttl, :ttl)")
            .expression_attribute_names("#ttl", "ttl")
            .expression_attribute_values(":yes", AttributeValue::Bool(true))
            .expression_attribute_values(":ttl", ttl(at + HELD_TTL))
            .return_values(aws_sdk_dynamodb::types::ReturnValue::AllNew)
            .send()
            .await
            .map_err(unavailable("mark_scans_waiting"))?;
        Ok(new.attributes.as_ref().and_then(parcel))
    }

    async fn forget_held(&self, order: &OrderId, held: &[HeldEvent]) -> Result<(), StoreError> {
        for event in held {
            self.delete(format!("ORDER#{order}"), &event.id, "forget_held").await?;
        }
        Ok(())
    }
}

/// The parcel a `TRACKING#` item names, if it names one yet.
fn parcel(item: &Item) -> Option<(OrderId, ShipmentId)> {
    let order = string_attr(item, "order_id").and_then(|id| OrderId::parse(id).ok());
    let shipment = string_attr(item, "shipment_id").and_then(|id| ShipmentId::parse(id).ok());
    order.zip(shipment)
}
