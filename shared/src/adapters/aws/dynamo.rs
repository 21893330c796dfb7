//! `Store` on one DynamoDB table (single-table design, see docs/aws.md).

use crate::domain::{CartId, Currency, CustomerId, EmailAddress, Order, OrderId, ProductId, ShipmentId, Text, WebUrl};
use crate::event::InboundEvent;
use crate::guest::GuestIds;
use crate::message::{MessageKey, MessageKind};
use crate::ports::{
    Awaiting, Changes, CustomerFile, Engagement, EngagementKind, Erasure, HeldEvent, IssuedCoupon, OrderConfirmation,
    OrderFile, erased_address_key, erased_id_key, opted_out_key,
};
use crate::ports::{
    CartRecord, Claim, ClaimOutcome, CustomerRecord, FollowUp, MAX_PAIRED_PRODUCTS, MarketingSend, NewOrder,
    OrderRecord, ProductInfo, ProductStats, Store, StoreError,
};
use crate::signing::digest_hex;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::operation::update_item::builders::UpdateItemFluentBuilder;
use aws_sdk_dynamodb::types::{
    AttributeValue, ConditionCheck, Delete, KeysAndAttributes, Put, ReturnValuesOnConditionCheckFailure,
    TransactWriteItem, Update,
};
use jiff::{SignedDuration, Timestamp};
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::collections::{BTreeSet, HashMap};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

pub(super) type Item = HashMap<String, AttributeValue>;

/// Shards of the `due` index: follow-ups spread over this many partitions.
const DUE_SHARDS: u64 = 4;
const DAY: SignedDuration = SignedDuration::from_hours(24);
/// Frequency-cap ledger items outlive any cap window.
const LEDGER_TTL: SignedDuration = SignedDuration::from_hours(30 * 24);
/// Carts are personal data: kept 30 days after their last update.
const CART_TTL: SignedDuration = SignedDuration::from_hours(30 * 24);
/// Message claims are kept 400 days (a yearly message must still see last year's claim).
const CLAIM_TTL: SignedDuration = SignedDuration::from_hours(400 * 24);
/// Held events older than the orphan limit are useless; keep them a little longer than it.
const HELD_TTL: SignedDuration = SignedDuration::from_hours(2 * 24);

/// The most actions one DynamoDB transaction takes.
const TRANSACTION_LIMIT: usize = 100;

/// How long a warm process recommends from the product statistics it read: co-purchase counts
/// move slowly, and reading the whole `STATS` partition for every email would cost a call each.
const STATS_MAX_AGE: Duration = Duration::from_secs(10 * 60);

/// The tidings table.
#[derive(Clone, Debug)]
pub struct DynamoStore {
    pub(super) client: Client,
    pub(super) table: String,
    /// Product statistics last read (shared by clones: one per warm process).
    stats: Arc<Mutex<Option<StatsRead>>>,
    /// The key guests are named by (items an earlier release wrote are read in the new form).
    pub(super) guests: GuestIds,
    /// Whether this process saw the table upgraded (`upgrade`): shared by clones.
    pub(super) upgraded: Arc<AtomicBool>,
}

/// Product statistics as read at one moment.
#[derive(Debug)]
struct StatsRead {
    at: Instant,
    stats: Arc<ProductStats>,
}

pub(super) fn s(value: impl Into<String>) -> AttributeValue {
    AttributeValue::S(value.into())
}

fn n(value: i64) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

fn ttl(at: Timestamp) -> AttributeValue {
    n(at.as_second())
}

/// Fixed-width, lexicographically ordered instant (RFC 3339 text is not: fractions vary in length).
fn sortable(at: Timestamp) -> String {
    format!("{:012}.{:09}", at.as_second(), at.subsec_nanosecond())
}

pub(super) fn unavailable<E>(operation: &'static str) -> impl FnOnce(E) -> StoreError
where
    E: std::error::Error + Send + Sync + 'static,
{
    move |error| StoreError::Unavailable {
        operation,
        reason: DisplayErrorContext(error).to_string(),
    }
}

/// `Ok(true)` when a conditional write happened, `Ok(false)` when its condition said no.
pub(super) fn conditional<T, E>(result: Result<T, SdkError<E>>, operation: &'static str) -> Result<bool, StoreError>
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    match result {
        Ok(_) => Ok(true),
        Err(SdkError::ServiceError(e)) if e.err().code() == Some("ConditionalCheckFailedException") => Ok(false),
        Err(e) => Err(unavailable(operation)(e)),
    }
}

pub(super) fn corrupt(item: &str) -> impl FnOnce(serde_dynamo::Error) -> StoreError + '_ {
    move |error| StoreError::Corrupt {
        // Keys hold customer ids, and a guest's id holds their address.
        item: crate::domain::Redacted(item).to_string(),
        reason: error.to_string(),
    }
}

/// Suppressions are keyed by a hash, so the entry outlives a customer's erasure without the address.
fn suppression_hash(email: &EmailAddress) -> String {
    digest_hex(&["suppressed", &email.as_str().to_lowercase()], 64)
}

/// A record version as a number attribute.
fn version_value(version: u64) -> AttributeValue {
    n(i64::try_from(version).unwrap_or(i64::MAX))
}

fn string_attr<'a>(item: &'a Item, name: &str) -> Option<&'a str> {
    item.get(name).and_then(|v| v.as_s().ok()).map(String::as_str)
}

fn number_attr(item: &Item, name: &str) -> Option<i64> {
    item.get(name).and_then(|v| v.as_n().ok()).and_then(|v| v.parse().ok())
}

impl DynamoStore {
    /// A store over `table`, naming guests by pseudonyms of `guests`.
    pub fn new(client: Client, table: impl Into<String>, guests: GuestIds) -> Self {
        Self {
            client,
            table: table.into(),
            stats: Arc::default(),
            guests,
            upgraded: Arc::default(),
        }
    }

    /// An item as this release writes it: a guest id with an address in it (from an earlier
    /// release, before `upgrade` moved it) reads as its pseudonym.
    fn current(&self, item: Item) -> Item {
        super::upgrade::rewrite_item(&self.guests, &item).unwrap_or(item)
    }

    pub(super) fn key(pk: String, sk: &str) -> Item {
        HashMap::from([("pk".to_owned(), s(pk)), ("sk".to_owned(), s(sk))])
    }

    pub(super) async fn get(&self, pk: String, sk: &str, operation: &'static str) -> Result<Option<Item>, StoreError> {
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(Self::key(pk, sk)))
            .consistent_read(true)
            .send()
            .await
            .map_err(unavailable(operation))?;
        Ok(output.item.map(|item| self.current(item)))
    }

    async fn get_record<T: DeserializeOwned>(
        &self,
        pk: String,
        sk: &str,
        operation: &'static str,
    ) -> Result<Option<T>, StoreError> {
        let Some(item) = self.get(pk.clone(), sk, operation).await? else {
            return Ok(None);
        };
        serde_dynamo::from_item(item).map(Some).map_err(corrupt(&pk))
    }

    fn record_item<T: Serialize>(record: &T, pk: String, sk: &str) -> Result<Item, StoreError> {
        let mut item: Item = serde_dynamo::to_item(record).map_err(corrupt(&pk))?;
        item.extend(Self::key(pk, sk));
        Ok(item)
    }

    /// Puts an item unless one with its key exists; false when it did.
    async fn put_new(&self, item: Item, operation: &'static str) -> Result<bool, StoreError> {
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(pk)")
            .send()
            .await;
        conditional(result, operation)
    }

    pub(super) async fn put(&self, item: Item, operation: &'static str) -> Result<(), StoreError> {
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .send()
            .await
            .map_err(unavailable(operation))?;
        Ok(())
    }

    pub(super) async fn delete(&self, pk: String, sk: &str, operation: &'static str) -> Result<(), StoreError> {
        self.client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(Self::key(pk, sk)))
            .send()
            .await
            .map_err(unavailable(operation))?;
        Ok(())
    }

    /// New, or a claim whose holder crashed before the provider answered and whose lease ran out.
    const CLAIMABLE: &'static str = "attribute_not_exists(pk) OR (#state = :claimed AND lease_until < :now)";

    fn claim_item(claim: &Claim) -> Item {
        let mut item = Self::key(format!("MSG#{}", claim.key), "CLAIM");
        if claim.sending {
            item.insert("state".into(), s("sending"));
            item.insert("sending_since".into(), s(claim.at.to_string()));
        } else {
            item.insert("state".into(), s("claimed"));
        }
        item.insert("lease_until".into(), n((claim.at + claim.lease).as_second()));
        item.insert("claimed_at".into(), s(claim.at.to_string()));
        item.insert("ttl".into(), ttl(claim.at + CLAIM_TTL));
        // Marketing records the consent it relied on: which statement, from whom, when.
        if let Some(consent) = &claim.consent {
            item.insert(
                "consent_source".into(),
                s(format!("{:?}", consent.source).to_lowercase()),
            );
            item.insert("consent_at".into(), s(consent.at.to_string()));
        }
        item
    }

    /// Every item of a partition whose sort key starts with `prefix` (all of them for "").
    async fn query_partition(&self, pk: &str, prefix: &str, operation: &'static str) -> Result<Vec<Item>, StoreError> {
        let query = self
            .client
            .query()
            .table_name(&self.table)
            .expression_attribute_values(":pk", s(pk));
        // DynamoDB refuses an empty begins_with prefix.
        let query = if prefix.is_empty() {
            query.key_condition_expression("pk = :pk")
        } else {
            query
                .key_condition_expression("pk = :pk AND begins_with(sk, :prefix)")
                .expression_attribute_values(":prefix", s(prefix))
        };
        let items: Vec<Item> = query
            .consistent_read(true)
            .into_paginator()
            .items()
            .send()
            .collect::<Result<_, _>>()
            .await
            .map_err(unavailable(operation))?;
        Ok(items.into_iter().map(|item| self.current(item)).collect())
    }

    fn claim_values(claim: &Claim) -> HashMap<String, AttributeValue> {
        HashMap::from([
            (":claimed".to_owned(), s("claimed")),
            (":now".to_owned(), n(claim.at.as_second())),
        ])
    }

    /// Why an existing claim item refused a new claim.
    fn refused(existing: Option<&Item>, claim: &Claim) -> ClaimOutcome {
        let at = claim.at;
        let lease_epoch = existing.and_then(|item| number_attr(item, "lease_until"));
        // Leases are whole seconds here: one that ends this second has ended.
        let lease_until = match lease_epoch {
            Some(epoch) if epoch > at.as_second() => Timestamp::from_second(epoch + 1).unwrap_or(at),
            _ => at,
        };
        match existing.and_then(|item| string_attr(item, "state")) {
            Some("sent") => ClaimOutcome::AlreadySent,
            Some("failed") => ClaimOutcome::AlreadyFailed,
            // Waits for SES's report (ses-events settles it) while the lease or the recovery
            // window lasts; then a transactional message is taken back once, marketing never.
            Some("sending") => {
                let since = existing
                    .and_then(|item| string_attr(item, "sending_since"))
                    .and_then(|since| since.parse::<Timestamp>().ok());
                let Some(since) = since else {
                    return ClaimOutcome::OutcomeUnknown;
                };
                let recovered = existing.is_some_and(|item| item.contains_key("recovered_at"));
                crate::ports::unanswered(claim, since, lease_until, recovered)
            }
            // `claimed` refuses only while its lease lasts (to its last second included).
            _ => ClaimOutcome::InFlight {
                until: lease_epoch
                    .and_then(|epoch| Timestamp::from_second(epoch + 1).ok())
                    .unwrap_or(at),
            },
        }
    }

    /// The claim (conditional put) and, in the same transaction, the check that the address is
    /// not suppressed: one write instead of a read and a write, and no gap between them. Marketing
    /// also reserves the customer's frequency-cap slot, and a coupon is recorded with its message.
    /// All or none; `claim_refusal` reads a refusal.
    fn claim_actions(&self, claim: &Claim) -> Result<Vec<TransactWriteItem>, StoreError> {
        // `claim_action_count` counts these without building them.
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(Self::claim_item(claim)))
            .condition_expression(Self::CLAIMABLE)
            .expression_attribute_names("#state", "state")
            .set_expression_attribute_values(Some(Self::claim_values(claim)))
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .build()
            .map_err(unavailable("claim_message"))?;
        let not_suppressed = ConditionCheck::builder()
            .table_name(&self.table)
            .set_key(Some(Self::key(
                format!("SUPPRESSED#{}", suppression_hash(&claim.to)),
                "SUPPRESSED",
            )))
            .condition_expression("attribute_not_exists(pk)")
            .build()
            .map_err(unavailable("claim_message"))?;
        let mut actions = vec![
            TransactWriteItem::builder().put(put).build(),
            TransactWriteItem::builder().condition_check(not_suppressed).build(),
        ];
        if let Some(window) = claim.cap {
            let not_opted_out = ConditionCheck::builder()
                .table_name(&self.table)
                .set_key(Some(Self::key(
                    format!("OPTOUT#{}", opted_out_key(&claim.to)),
                    "OPTOUT",
                )))
                .condition_expression("attribute_not_exists(pk)")
                .build()
                .map_err(unavailable("claim_message"))?;
            actions.push(TransactWriteItem::builder().condition_check(not_opted_out).build());
            let ledger = Update::builder()
                .table_name(&self.table)
                .set_key(Some(Self::key(format!("CUSTOMER#{}", claim.customer_id), "MARKETING")))
                .update_expression("SET at_epoch = :now, at_text = :at, message_key = :key, #ttl = :ttl")
                .condition_expression("attribute_not_exists(pk) OR at_epoch <= :free OR message_key = :key")
                .expression_attribute_names("#ttl", "ttl")
                .expression_attribute_values(":now", n(claim.at.as_second()))
                .expression_attribute_values(":at", s(claim.at.to_string()))
                .expression_attribute_values(":key", s(claim.key.as_str()))
                .expression_attribute_values(":ttl", ttl(claim.at + LEDGER_TTL))
                .expression_attribute_values(":free", n((claim.at - window).as_second()))
                .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
                .build()
                .map_err(unavailable("claim_message"))?;
            actions.push(TransactWriteItem::builder().update(ledger).build());
        }
        if let Some(coupon) = &claim.coupon {
            let put = Put::builder()
                .table_name(&self.table)
                .set_item(Some(Self::coupon_item(coupon)?))
                .build()
                .map_err(unavailable("claim_message"))?;
            actions.push(TransactWriteItem::builder().put(put).build());
        }
        debug_assert_eq!(actions.len(), Self::claim_action_count(Some(claim)));
        Ok(actions)
    }

    /// How many actions `claim_actions` adds to a transaction (none without a claim).
    fn claim_action_count(claim: Option<&Claim>) -> usize {
        claim.map_or(0, |claim| {
            // Marketing adds the opt-out check and the cap's ledger.
            2 + 2 * usize::from(claim.cap.is_some()) + usize::from(claim.coupon.is_some())
        })
    }

    /// Why action `index` of `claim_actions` refused the claim (`old`: the item it found).
    fn claim_refusal(claim: &Claim, index: usize, old: Option<&Item>) -> ClaimOutcome {
        match index {
            0 => Self::refused(old, claim),
            1 => ClaimOutcome::Suppressed,
            2 if claim.cap.is_some() => ClaimOutcome::OptedOut,
            // Only the cap's ledger (action 3) has a condition after these.
            _ => ClaimOutcome::CapReached {
                last: old
                    .and_then(|item| number_attr(item, "at_epoch"))
                    .and_then(|epoch| Timestamp::from_second(epoch).ok())
                    .unwrap_or(claim.at),
            },
        }
    }

    /// `actions` and, when given, the claim in one transaction. A refused claim leaves the
    /// actions to a second transaction without it. `Err((index, old item))` when action `index` of
    /// `actions` refused (nothing written).
    async fn transact_with_claim(
        &self,
        actions: Vec<TransactWriteItem>,
        claim: Option<&Claim>,
        operation: &'static str,
    ) -> Result<Result<Option<ClaimOutcome>, (usize, Option<Item>)>, StoreError> {
        let Some(claim) = claim else {
            return Ok(match self.transact_conditional(actions, operation).await? {
                None => Ok(None),
                Some(refused) => Err(refused),
            });
        };
        let first_claim_action = actions.len();
        let mut together = actions.clone();
        together.extend(self.claim_actions(claim)?);
        match self.transact_conditional(together, operation).await? {
            None => Ok(Ok(Some(ClaimOutcome::Claimed))),
            Some((index, old)) if index < first_claim_action => Ok(Err((index, old))),
            Some((index, old)) => {
                let refusal = Self::claim_refusal(claim, index - first_claim_action, old.as_ref());
                Ok(match self.transact_conditional(actions, operation).await? {
                    None => Ok(Some(refusal)),
                    Some(refused) => Err(refused),
                })
            }
        }
    }

    /// Actions in one transaction. `Some((i, old item))` when the condition of action `i`
    /// refused it (nothing was written); `None` when all were written.
    pub(super) async fn transact_conditional(
        &self,
        actions: Vec<TransactWriteItem>,
        operation: &'static str,
    ) -> Result<Option<(usize, Option<Item>)>, StoreError> {
        let result = self
            .client
            .transact_write_items()
            .set_transact_items(Some(actions))
            .send()
            .await;
        let error = match result {
            Ok(_) => return Ok(None),
            Err(error) => error,
        };
        if let SdkError::ServiceError(service) = &error
            && let TransactWriteItemsError::TransactionCanceledException(cancelled) = service.err()
        {
            let reasons = cancelled.cancellation_reasons();
            let refused = reasons.iter().position(|r| r.code() == Some("ConditionalCheckFailed"));
            if let Some(index) = refused {
                return Ok(Some((index, reasons[index].item().cloned())));
            }
            // Another transaction was writing one of these items at the same moment: handled
            // again from a fresh read, like a version that moved on.
            if reasons.iter().any(|r| r.code() == Some("TransactionConflict")) {
                return Err(StoreError::Conflict {
                    item: format!("an item of {operation}"),
                });
            }
        }
        Err(unavailable(operation)(error))
    }

    /// A record's item at the version after the one it was read at.
    fn versioned_item<T: Serialize>(record: &T, read_at: u64, pk: String, sk: &str) -> Result<Item, StoreError> {
        let mut item = Self::record_item(record, pk, sk)?;
        item.insert("version".into(), version_value(read_at.saturating_add(1)));
        Ok(item)
    }

    /// The order item at its next version, with the shipment ids a hold is checked against.
    fn order_item(record: &OrderRecord) -> Result<Item, StoreError> {
        let pk = format!("ORDER#{}", record.order.id);
        let mut item = Self::versioned_item(record, record.version, pk, "ORDER")?;
        let shipments: Vec<String> = record.shipments.iter().map(|s| s.shipment.id.to_string()).collect();
        if !shipments.is_empty() {
            item.insert("shipment_ids".into(), AttributeValue::Ss(shipments));
        }
        Ok(item)
    }

    /// An order item as a record; `None` for the placeholder of events held before the order.
    fn order_record(item: Item, pk: &str) -> Result<Option<OrderRecord>, StoreError> {
        if !item.contains_key("confirmed_at") {
            return Ok(None);
        }
        // `version` is one of the record's fields: read with it.
        serde_dynamo::from_item(item).map(Some).map_err(corrupt(pk))
    }

    /// Which message issued a coupon code, so an order using it can be attributed.
    fn coupon_item(coupon: &IssuedCoupon) -> Result<Item, StoreError> {
        let mut item = Self::record_item(coupon, format!("COUPON#{}", coupon.code), "COUPON")?;
        // Kept a year past expiry: orders placed with it near the end are still attributed.
        item.insert("ttl".into(), ttl(coupon.expires_at + 365 * DAY));
        Ok(item)
    }

    /// The customer item at its next version.
    fn customer_item(record: &CustomerRecord) -> Result<Item, StoreError> {
        let pk = format!("CUSTOMER#{}", record.profile.id);
        Self::versioned_item(record, record.version, pk, "PROFILE")
    }

    /// A put of a record that expects the version it was read at (none for a new record). With
    /// `confirming`, an order that must not be confirmed yet: only a placeholder of events held
    /// for it may be there.
    fn versioned_put(
        &self,
        item: Item,
        read_at: u64,
        confirming: bool,
        operation: &'static str,
    ) -> Result<Put, StoreError> {
        let condition = match (confirming, read_at) {
            (true, 0) => "attribute_not_exists(pk)",
            (true, _) => "attribute_not_exists(confirmed_at) AND version = :version",
            (false, 0) => "attribute_not_exists(version)",
            (false, _) => "version = :version",
        };
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression(condition);
        let put = match read_at {
            0 => put,
            v => put.expression_attribute_values(":version", version_value(v)),
        };
        put.return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .build()
            .map_err(unavailable(operation))
    }

    /// `Conflict` naming the record whose version refused action `index` of `record_puts`.
    fn version_conflict(order: Option<&OrderRecord>, customer: Option<&CustomerRecord>, index: usize) -> StoreError {
        let order = order.map(|o| format!("order {}", o.order.id));
        let customer = customer.map(|c| format!("customer {}", c.profile.id.redacted()));
        StoreError::Conflict {
            item: [order, customer].into_iter().flatten().nth(index).unwrap_or_default(),
        }
    }

    /// Transaction puts for records written together. The order's (the first action, so a refusal
    /// is reason 0) expects the version it was read at, and no confirmed order when `(order, true)`.
    fn record_puts(
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

    /// The statistics updates for an order: each product once, each pair of products once.
    fn purchase_actions(&self, order: &Order, delta: i64) -> Result<Vec<TransactWriteItem>, StoreError> {
        let mut seen = BTreeSet::new();
        let mut actions = Vec::new();
        for (index, item) in order.items.iter().enumerate() {
            if seen.insert(item.product_id.clone()) {
                actions.push(self.product_update(order, index, delta)?);
            }
        }
        let products: Vec<&ProductId> = seen.iter().take(MAX_PAIRED_PRODUCTS).collect();
        for (i, a) in products.iter().enumerate() {
            for b in &products[i + 1..] {
                actions.push(self.pair_update(a, b, delta)?);
            }
        }
        Ok(actions)
    }

    /// Writes actions in transactions of at most 100 (no atomicity across them).
    async fn transact_chunks(
        &self,
        actions: Vec<TransactWriteItem>,
        operation: &'static str,
    ) -> Result<(), StoreError> {
        for chunk in actions.chunks(TRANSACTION_LIMIT) {
            self.client
                .transact_write_items()
                .set_transact_items(Some(chunk.to_vec()))
                .send()
                .await
                .map_err(unavailable(operation))?;
        }
        Ok(())
    }

    /// An update of a message's claim item; `#state` names its state attribute.
    fn claim_update(&self, key: &MessageKey) -> UpdateItemFluentBuilder {
        self.client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(Self::key(format!("MSG#{key}"), "CLAIM")))
            .expression_attribute_names("#state", "state")
    }

    /// Records SES's acceptance on a claim.
    fn sent_update(&self, key: &MessageKey, provider_id: &str, at: Timestamp) -> UpdateItemFluentBuilder {
        self.claim_update(key)
            .update_expression("SET #state = :sent, provider_id = :id, sent_at = :at REMOVE lease_until, sending_since")
            .expression_attribute_values(":sent", s("sent"))
            .expression_attribute_values(":id", s(provider_id))
            .expression_attribute_values(":at", s(at.to_string()))
    }

    /// A follow-up with its `due` index keys and TTL.
    fn follow_up_item(follow_up: &FollowUp) -> Result<Item, StoreError> {
        let mut item = Self::record_item(follow_up, format!("MSG#{}", follow_up.key), "FOLLOWUP")?;
        item.insert("gsi1pk".into(), s(Self::due_shard(&follow_up.key)));
        // Index `customer`: an unsubscribe or an erasure finds every follow-up of a customer.
        item.insert("gsi2pk".into(), s(format!("CUSTOMER#{}", follow_up.customer_id)));
        item.insert("gsi2sk".into(), s(follow_up.key.as_str()));
        let order = format!(
            "{}#{}#{}",
            sortable(follow_up.due_at),
            sortable(follow_up.original_due),
            follow_up.key
        );
        item.insert("gsi1sk".into(), s(order));
        item.insert("ttl".into(), ttl(follow_up.expires_at + 7 * DAY));
        Ok(item)
    }

    fn due_shard(key: &MessageKey) -> String {
        let hash = digest_hex(&["due-shard", key.as_str()], 8);
        let shard = u64::from_str_radix(&hash, 16).unwrap_or(0) % DUE_SHARDS;
        format!("DUE#{shard}")
    }

    fn product_update(&self, order: &Order, index: usize, delta: i64) -> Result<TransactWriteItem, StoreError> {
        let item = &order.items[index];
        let mut update = Update::builder()
            .table_name(&self.table)
            .set_key(Some(Self::key("STATS".into(), &format!("PRODUCT#{}", item.product_id))))
            .expression_attribute_names("#name", "name")
            .expression_attribute_names("#price", format!("price_{}", order.currency.code()))
            .expression_attribute_values(":name", s(item.name.as_str()))
            .expression_attribute_values(":price", n(i64::try_from(item.unit_price).unwrap_or(i64::MAX)))
            .expression_attribute_values(":delta", n(delta));
        let mut set = vec!["#name = :name", "#price = :price"];
        for (attr, value) in [
            ("category", item.category.as_ref().map(Text::as_str)),
            ("image_url", item.image_url.as_ref().map(WebUrl::as_str)),
            ("url", item.url.as_ref().map(WebUrl::as_str)),
        ] {
            if let Some(value) = value {
                update = update.expression_attribute_values(format!(":{attr}"), s(value));
                set.push(match attr {
                    "category" => "category = :category",
                    "image_url" => "image_url = :image_url",
                    _ => "#url = :url",
                });
            }
        }
        if item.url.is_some() {
            update = update.expression_attribute_names("#url", "url");
        }
        let update = update
            .update_expression(format!("SET {} ADD orders :delta", set.join(", ")))
            .build()
            .map_err(unavailable("purchase statistics"))?;
        Ok(TransactWriteItem::builder().update(update).build())
    }

    fn pair_update(&self, a: &ProductId, b: &ProductId, delta: i64) -> Result<TransactWriteItem, StoreError> {
        let update = Update::builder()
            .table_name(&self.table)
            .set_key(Some(Self::key("STATS".into(), &format!("PAIR#{a}#{b}"))))
            .update_expression("SET a = :a, b = :b ADD #count :delta")
            .expression_attribute_names("#count", "count")
            .expression_attribute_values(":a", s(a.as_str()))
            .expression_attribute_values(":b", s(b.as_str()))
            .expression_attribute_values(":delta", n(delta))
            .build()
            .map_err(unavailable("purchase statistics"))?;
        Ok(TransactWriteItem::builder().update(update).build())
    }

    /// Reads the whole `STATS` partition.
    async fn read_product_stats(&self) -> Result<ProductStats, StoreError> {
        let items: Vec<Item> = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("pk = :pk")
            .expression_attribute_values(":pk", s("STATS"))
            .into_paginator()
            .items()
            .send()
            .collect::<Result<_, _>>()
            .await
            .map_err(unavailable("product_stats"))?;
        let mut stats = ProductStats::default();
        for item in &items {
            let sk = string_attr(item, "sk").unwrap_or_default();
            if sk.starts_with("PRODUCT#") {
                if let Some((id, info)) = Self::product_from(item) {
                    stats.products.insert(id, info);
                }
            } else if sk.starts_with("PAIR#") {
                let id = |name| string_attr(item, name).and_then(|v| ProductId::parse(v).ok());
                if let (Some(a), Some(b), Some(count)) = (id("a"), id("b"), number_attr(item, "count")) {
                    stats.pairs.entry(a.clone()).or_default().insert(b.clone(), count);
                    stats.pairs.entry(b).or_default().insert(a, count);
                }
            }
        }
        Ok(stats)
    }

    fn product_from(item: &Item) -> Option<(ProductId, ProductInfo)> {
        let id = ProductId::parse(string_attr(item, "sk")?.strip_prefix("PRODUCT#")?).ok()?;
        let prices = item
            .iter()
            .filter_map(|(name, value)| {
                let code = name.strip_prefix("price_")?;
                Currency::parse(code).ok()?;
                Some((code.to_owned(), value.as_n().ok()?.parse().ok()?))
            })
            .collect();
        let text = |name| string_attr(item, name).map(Text::new);
        let link = |name| string_attr(item, name).and_then(|raw| WebUrl::parse(raw).ok());
        Some((
            id,
            ProductInfo {
                name: text("name")?,
                category: text("category"),
                prices,
                image_url: link("image_url"),
                url: link("url"),
                orders: number_attr(item, "orders").unwrap_or(0),
            },
        ))
    }
}

impl Store for DynamoStore {
    async fn customer(&self, id: &CustomerId) -> Result<Option<CustomerRecord>, StoreError> {
        self.get_record(format!("CUSTOMER#{id}"), "PROFILE", "customer").await
    }

    async fn customer_file(
        &self,
        id: &CustomerId,
        email: &EmailAddress,
        code: Option<&str>,
    ) -> Result<CustomerFile, StoreError> {
        // One read: the profile, both erasure markers and the coupon the order used; for a guest
        // before the table is upgraded, also the profile an earlier release keyed by address.
        let customer_pk = format!("CUSTOMER#{id}");
        let legacy_pk = (id.as_str().starts_with("guest:") && !self.upgraded.load(Ordering::Relaxed))
            .then(|| format!("CUSTOMER#guest:{}", email.as_str()))
            .filter(|pk| *pk != customer_pk);
        let coupon_pk = code.map(|code| format!("COUPON#{code}"));
        let erased = [erased_id_key(id), erased_address_key(email)].map(|key| format!("ERASED#{key}"));
        let mut keys = KeysAndAttributes::builder()
            .keys(Self::key(customer_pk.clone(), "PROFILE"))
            .consistent_read(true);
        for pk in &erased {
            keys = keys.keys(Self::key(pk.clone(), "ERASED"));
        }
        if let Some(pk) = &coupon_pk {
            keys = keys.keys(Self::key(pk.clone(), "COUPON"));
        }
        if let Some(pk) = &legacy_pk {
            keys = keys.keys(Self::key(pk.clone(), "PROFILE"));
        }
        let keys = keys.build().map_err(unavailable("customer_file"))?;
        let mut request = HashMap::from([(self.table.clone(), keys)]);
        let mut items = Vec::new();
        // BatchGetItem may leave keys unprocessed under load: asked again (bounded).
        for attempt in 1..=5 {
            let output = self
                .client
                .batch_get_item()
                .set_request_items(Some(request))
                .send()
                .await
                .map_err(unavailable("customer_file"))?;
            items.extend(output.responses.unwrap_or_default().into_values().flatten());
            request = output.unprocessed_keys.unwrap_or_default();
            if request.is_empty() {
                break;
            }
            if attempt == 5 {
                return Err(StoreError::Unavailable {
                    operation: "customer_file",
                    reason: "keys left unprocessed".into(),
                });
            }
            tokio::time::sleep(super::backoff(attempt)).await;
        }
        let mut file = CustomerFile::default();
        let mut legacy = None;
        for item in items {
            match string_attr(&item, "pk") {
                Some(pk) if pk == customer_pk => {
                    file.record = Some(serde_dynamo::from_item(item).map_err(corrupt(&customer_pk))?)
                }
                Some(pk) if Some(pk) == legacy_pk.as_deref() => {
                    let record: CustomerRecord =
                        serde_dynamo::from_item(self.current(item)).map_err(corrupt("a guest's earlier profile"))?;
                    legacy = Some(record);
                }
                Some(pk) if Some(pk) == coupon_pk.as_deref() => {
                    let pk = pk.to_owned();
                    file.coupon = Some(serde_dynamo::from_item(self.current(item)).map_err(corrupt(&pk))?)
                }
                Some(pk) if erased.iter().any(|e| e == pk) => {
                    let at = string_attr(&item, "at").and_then(|at| at.parse::<Timestamp>().ok());
                    file.erased_at = file.erased_at.max(at);
                }
                _ => {}
            }
        }
        // Saved under the new key as a new item; `upgrade` then drops the old one. Not after an
        // erasure: what the old key still holds is what the erasure could not reach.
        if file.record.is_none()
            && file.erased_at.is_none()
            && let Some(mut record) = legacy
        {
            record.version = 0;
            file.record = Some(record);
        }
        Ok(file)
    }

    async fn save_customer(&self, record: &CustomerRecord) -> Result<(), StoreError> {
        // A single put (not a one-item transaction, which costs twice the write capacity).
        let put = self.versioned_put(Self::customer_item(record)?, record.version, false, "save_customer")?;
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(put.item))
            .set_condition_expression(put.condition_expression)
            .set_expression_attribute_values(put.expression_attribute_values)
            .send()
            .await;
        match conditional(result, "save_customer")? {
            true => Ok(()),
            false => Err(StoreError::Conflict {
                item: format!("customer {}", record.profile.id.redacted()),
            }),
        }
    }

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

    async fn cart(&self, id: &CartId) -> Result<Option<CartRecord>, StoreError> {
        // The cart and, apart, when it was last bought from (written with the order, which may
        // come before any cart event).
        let pk = format!("CART#{id}");
        let mut record: Option<CartRecord> = None;
        let mut ordered = None;
        for item in self.query_partition(&pk, "", "cart").await? {
            match string_attr(&item, "sk") {
                Some("CART") => record = Some(serde_dynamo::from_item(item).map_err(corrupt(&pk))?),
                Some("ORDERED") => ordered = string_attr(&item, "at").and_then(|at| at.parse::<Timestamp>().ok()),
                _ => {}
            }
        }
        Ok(record.map(|mut record| {
            record.ordered_at = record.ordered_at.max(ordered);
            record
        }))
    }

    async fn save_cart(&self, record: &CartRecord) -> Result<bool, StoreError> {
        let mut item = Self::record_item(record, format!("CART#{}", record.cart.id), "CART")?;
        item.insert("ttl".into(), ttl(record.cart.updated_at + CART_TTL));
        let updated = sortable(record.cart.updated_at);
        item.insert("updated_sort".into(), s(updated.clone()));
        // The newest version wins whatever order the writes land in. A cart written by a release
        // before this attribute existed is replaced as it always was.
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(updated_sort) OR updated_sort <= :updated")
            .expression_attribute_values(":updated", s(updated))
            .send()
            .await;
        conditional(result, "save_cart")
    }

    async fn claim_message(&self, claim: &Claim) -> Result<ClaimOutcome, StoreError> {
        let actions = self.claim_actions(claim)?;
        Ok(match self.transact_conditional(actions, "claim_message").await? {
            None => ClaimOutcome::Claimed,
            Some((index, old)) => Self::claim_refusal(claim, index, old.as_ref()),
        })
    }

    async fn mark_sending(&self, key: &MessageKey, at: Timestamp) -> Result<bool, StoreError> {
        // Ours while it still carries our claim time: the SDK's retry of a call whose answer was
        // lost finds it `sending` already, and is still ours; a holder that took over after our
        // lease rewrote `claimed_at`.
        let result = self
            .claim_update(key)
            .update_expression("SET #state = :sending, sending_since = :at")
            .condition_expression("claimed_at = :at AND (#state = :claimed OR #state = :sending)")
            .expression_attribute_values(":claimed", s("claimed"))
            .expression_attribute_values(":sending", s("sending"))
            .expression_attribute_values(":at", s(at.to_string()))
            .send()
            .await;
        conditional(result, "mark_sending")
    }

    async fn recover_claim(&self, claim: &Claim, since: Timestamp) -> Result<ClaimOutcome, StoreError> {
        // The claim's actions, the put taken back only from the unanswered attempt begun at
        // `since` and only once (`recovered_at`), in one transaction with the suppression check.
        let mut actions = self.claim_actions(claim)?;
        let mut item = Self::claim_item(claim);
        item.insert("recovered_at".into(), s(claim.at.to_string()));
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("#state = :sending AND sending_since = :since AND attribute_not_exists(recovered_at)")
            .expression_attribute_names("#state", "state")
            .expression_attribute_values(":sending", s("sending"))
            .expression_attribute_values(":since", s(since.to_string()))
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .build()
            .map_err(unavailable("recover_claim"))?;
        actions[0] = TransactWriteItem::builder().put(put).build();
        Ok(match self.transact_conditional(actions, "recover_claim").await? {
            None => ClaimOutcome::Claimed,
            Some((0, old)) => match Self::refused(old.as_ref(), claim) {
                // Another attempt began since: it is that one's to settle.
                ClaimOutcome::Recoverable { .. } => ClaimOutcome::InFlight {
                    until: claim.at + claim.lease,
                },
                refused => refused,
            },
            Some((index, old)) => Self::claim_refusal(claim, index, old.as_ref()),
        })
    }

    async fn release_claim(&self, key: &MessageKey) -> Result<(), StoreError> {
        let result = self
            .client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(Self::key(format!("MSG#{key}"), "CLAIM")))
            .condition_expression("#state IN (:claimed, :sending)")
            .expression_attribute_names("#state", "state")
            .expression_attribute_values(":claimed", s("claimed"))
            .expression_attribute_values(":sending", s("sending"))
            .send()
            .await;
        // Not ours to release any more (sent or failed meanwhile): leave it.
        conditional(result, "release_claim").map(|_| ())
    }

    async fn mark_sent(&self, key: &MessageKey, provider_id: &str, at: Timestamp) -> Result<(), StoreError> {
        self.sent_update(key, provider_id, at)
            .send()
            .await
            .map_err(unavailable("mark_sent"))?;
        Ok(())
    }

    async fn mark_failed(&self, key: &MessageKey, reason: &str, at: Timestamp) -> Result<(), StoreError> {
        self.claim_update(key)
            .update_expression(
                "SET #state = :failed, reason = :reason, failed_at = :at REMOVE lease_until, sending_since",
            )
            .expression_attribute_values(":failed", s("failed"))
            .expression_attribute_values(":reason", s(reason))
            .expression_attribute_values(":at", s(at.to_string()))
            .send()
            .await
            .map_err(unavailable("mark_failed"))?;
        Ok(())
    }

    async fn last_marketing(&self, customer: &CustomerId) -> Result<Option<MarketingSend>, StoreError> {
        let Some(item) = self
            .get(format!("CUSTOMER#{customer}"), "MARKETING", "last_marketing")
            .await?
        else {
            return Ok(None);
        };
        let at = number_attr(&item, "at_epoch").and_then(|e| Timestamp::from_second(e).ok());
        let key = string_attr(&item, "message_key").and_then(|k| MessageKey::parse(k).ok());
        Ok(at.zip(key).map(|(at, key)| MarketingSend { at, key }))
    }

    async fn schedule(&self, follow_up: &FollowUp) -> Result<(), StoreError> {
        self.put(Self::follow_up_item(follow_up)?, "schedule").await
    }

    async fn add_follow_up(&self, follow_up: &FollowUp) -> Result<bool, StoreError> {
        self.put_new(Self::follow_up_item(follow_up)?, "add_follow_up").await
    }

    async fn follow_up(&self, key: &MessageKey) -> Result<Option<FollowUp>, StoreError> {
        self.get_record(format!("MSG#{key}"), "FOLLOWUP", "follow_up").await
    }

    async fn remove_follow_up(&self, key: &MessageKey) -> Result<(), StoreError> {
        self.delete(format!("MSG#{key}"), "FOLLOWUP", "remove_follow_up").await
    }

    async fn due_follow_ups(&self, until: Timestamp, limit: usize) -> Result<Vec<FollowUp>, StoreError> {
        let bound = format!("{}~", sortable(until));
        let mut due = Vec::new();
        for shard in 0..DUE_SHARDS {
            let mut pages = self
                .client
                .query()
                .table_name(&self.table)
                .index_name("due")
                .key_condition_expression("gsi1pk = :shard AND gsi1sk <= :until")
                .expression_attribute_values(":shard", s(format!("DUE#{shard}")))
                .expression_attribute_values(":until", s(bound.clone()))
                .limit(i32::try_from(limit).unwrap_or(i32::MAX).max(1))
                .into_paginator()
                .items()
                .send();
            let mut taken = 0;
            while let Some(item) = pages.next().await {
                let mut item = item.map_err(unavailable("due_follow_ups"))?;
                // One unreadable item (written by hand, or by a release that stored another shape)
                // must not stop every other follow-up: it is skipped, named only by a digest of its
                // key (keys can hold a guest's customer id, i.e. an address) and left in place.
                let item_digest = item
                    .get("pk")
                    .and_then(|pk| pk.as_s().ok())
                    .map(|pk| digest_hex(&[pk], 16));
                // A follow-up still in the old form (written by the earlier release after the
                // upgrade passed it) is moved now, so that it fires under the key it is read with.
                if let Some(current) = super::upgrade::rewrite_item(&self.guests, &item) {
                    self.move_straggler(&item).await?;
                    item = current;
                }
                match serde_dynamo::from_item::<_, FollowUp>(item) {
                    Ok(follow_up) => due.push(follow_up),
                    Err(_) => {
                        tracing::warn!(
                            item_digest = item_digest.as_deref().unwrap_or("-"),
                            shard,
                            "unreadable follow-up skipped"
                        );
                        continue;
                    }
                }
                taken += 1;
                if taken >= limit {
                    break;
                }
            }
        }
        due.sort_by(|a, b| (a.due_at, a.original_due, &a.key).cmp(&(b.due_at, b.original_due, &b.key)));
        due.truncate(limit);
        Ok(due)
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
            reason: e.to_string(),
        })?;
        let pk = format!("ORDER#{order}");
        let sk = format!("HELD#{}#{}", sortable(event.time), digest_hex(&[&json], 16));
        // Kept from its arrival: an event redelivered days late would otherwise expire at once and
        // be gone when its order comes (the orphan rule still counts from the event's time).
        let expires = ttl(event.time.max(now) + HELD_TTL);
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

    async fn forget_held(&self, order: &OrderId, held: &[HeldEvent]) -> Result<(), StoreError> {
        for event in held {
            self.delete(format!("ORDER#{order}"), &event.id, "forget_held").await?;
        }
        Ok(())
    }

    async fn suppress(&self, email: &EmailAddress, reason: &str, at: Timestamp) -> Result<(), StoreError> {
        let mut item = Self::key(format!("SUPPRESSED#{}", suppression_hash(email)), "SUPPRESSED");
        item.insert("reason".into(), s(reason));
        item.insert("at".into(), s(at.to_string()));
        self.put(item, "suppress").await
    }

    async fn count_soft_bounce(
        &self,
        email: &EmailAddress,
        event_id: &str,
        at: Timestamp,
        since: Timestamp,
    ) -> Result<usize, StoreError> {
        let pk = format!("BOUNCES#{}", suppression_hash(email));
        let mut item = Self::key(pk.clone(), &format!("BOUNCE#{event_id}"));
        item.insert("at_epoch".into(), n(at.as_second()));
        item.insert("ttl".into(), ttl(at + 8 * DAY));
        // Same event id, same item: a redelivered bounce is counted once.
        self.put(item, "count_soft_bounce").await?;
        let items = self.query_partition(&pk, "BOUNCE#", "count_soft_bounce").await?;
        Ok(items
            .iter()
            .filter(|item| number_attr(item, "at_epoch").is_some_and(|t| t >= since.as_second()))
            .count())
    }

    async fn count_engagement(
        &self,
        customer: &CustomerId,
        event_id: &str,
        kind: EngagementKind,
        at: Timestamp,
    ) -> Result<bool, StoreError> {
        let mut marker = Self::key(format!("SESEVENT#{event_id}"), "SESEVENT");
        marker.insert("ttl".into(), ttl(at + 30 * DAY));
        let marker = Put::builder()
            .table_name(&self.table)
            .set_item(Some(marker))
            .condition_expression("attribute_not_exists(pk)")
            .build()
            .map_err(unavailable("count_engagement"))?;
        let counter = match kind {
            EngagementKind::Open => "opens",
            EngagementKind::Click => "clicks",
        };
        let mut update = Update::builder()
            .table_name(&self.table)
            .set_key(Some(Self::key(format!("CUSTOMER#{customer}"), "ENGAGEMENT")))
            .expression_attribute_names("#counter", counter)
            .expression_attribute_values(":one", n(1));
        update = if kind == EngagementKind::Click {
            update
                .update_expression(
                    "ADD #counter :one SET click_times = list_append(if_not_exists(click_times, :empty), :at)",
                )
                .expression_attribute_values(":empty", AttributeValue::L(vec![]))
                .expression_attribute_values(":at", AttributeValue::L(vec![s(at.to_string())]))
        } else {
            update.update_expression("ADD #counter :one")
        };
        let update = update.build().map_err(unavailable("count_engagement"))?;
        // Only the marker has a condition: refused means this SES event was counted before.
        let actions = vec![
            TransactWriteItem::builder().put(marker).build(),
            TransactWriteItem::builder().update(update).build(),
        ];
        Ok(self.transact_conditional(actions, "count_engagement").await?.is_none())
    }

    async fn engagement(&self, customer: &CustomerId) -> Result<Engagement, StoreError> {
        let Some(item) = self
            .get(format!("CUSTOMER#{customer}"), "ENGAGEMENT", "engagement")
            .await?
        else {
            return Ok(Engagement::default());
        };
        let count = |name| {
            number_attr(&item, name)
                .and_then(|n| u64::try_from(n).ok())
                .unwrap_or(0)
        };
        let click_times = item
            .get("click_times")
            .and_then(|v| v.as_l().ok())
            .into_iter()
            .flatten()
            .filter_map(|v| v.as_s().ok()?.parse().ok())
            .collect();
        Ok(Engagement {
            opens: count("opens"),
            clicks: count("clicks"),
            click_times,
        })
    }

    async fn settle_sending(&self, key: &MessageKey, provider_id: &str, at: Timestamp) -> Result<(), StoreError> {
        let result = self
            .sent_update(key, provider_id, at)
            .condition_expression("#state = :sending")
            .expression_attribute_values(":sending", s("sending"))
            .send()
            .await;
        // Already settled by the sender itself: nothing to do.
        conditional(result, "settle_sending").map(|_| ())
    }

    async fn record_delivery(&self, key: &MessageKey, status: &str, at: Timestamp) -> Result<(), StoreError> {
        let result = self
            .claim_update(key)
            .update_expression("SET delivery_status = :status, delivery_at = :at")
            .condition_expression("attribute_exists(#state)")
            .expression_attribute_values(":status", s(status))
            .expression_attribute_values(":at", s(at.to_string()))
            .send()
            .await;
        // A message tidings did not send (or whose claim expired): nothing to record on.
        conditional(result, "record_delivery").map(|_| ())
    }

    async fn follow_ups_of(&self, customer: &CustomerId) -> Result<Vec<FollowUp>, StoreError> {
        let items: Vec<Item> = self
            .client
            .query()
            .table_name(&self.table)
            .index_name("customer")
            .key_condition_expression("gsi2pk = :customer")
            .expression_attribute_values(":customer", s(format!("CUSTOMER#{customer}")))
            .into_paginator()
            .items()
            .send()
            .collect::<Result<_, _>>()
            .await
            .map_err(unavailable("follow_ups_of"))?;
        items
            .into_iter()
            .map(|item| serde_dynamo::from_item(self.current(item)).map_err(corrupt("follow-up")))
            .collect()
    }

    async fn erase_customer(&self, customer: &CustomerRecord) -> Result<(), StoreError> {
        let id = &customer.profile.id;
        for follow_up in self.follow_ups_of(id).await? {
            self.delete(format!("MSG#{}", follow_up.key), "FOLLOWUP", "erase_customer")
                .await?;
        }
        for order in &customer.orders {
            let pk = format!("ORDER#{order}");
            for item in self.query_partition(&pk, "", "erase_customer").await? {
                let sk = string_attr(&item, "sk").unwrap_or_default().to_owned();
                // The erasure's own marker (written first) stays: it holds nothing personal.
                if sk != "ERASED" {
                    self.delete(pk.clone(), &sk, "erase_customer").await?;
                }
            }
        }
        for cart in &customer.carts {
            self.delete(format!("CART#{cart}"), "CART", "erase_customer").await?;
            self.delete(format!("CART#{cart}"), "ORDERED", "erase_customer").await?;
        }
        let bounces = format!("BOUNCES#{}", suppression_hash(&customer.profile.email));
        for item in self.query_partition(&bounces, "", "erase_customer").await? {
            let sk = string_attr(&item, "sk").unwrap_or_default().to_owned();
            self.delete(bounces.clone(), &sk, "erase_customer").await?;
        }
        // Profile, frequency-cap ledger and engagement counters share the customer's partition.
        let pk = format!("CUSTOMER#{id}");
        for item in self.query_partition(&pk, "", "erase_customer").await? {
            let sk = string_attr(&item, "sk").unwrap_or_default().to_owned();
            self.delete(pk.clone(), &sk, "erase_customer").await?;
        }
        Ok(())
    }

    async fn record_erasure(&self, erasure: &Erasure) -> Result<(), StoreError> {
        let marker = |pk: String, sk: &str| {
            let mut item = Self::key(pk, sk);
            item.insert("at".into(), s(erasure.at.to_string()));
            item
        };
        // No TTL: a redelivery can come any time, and a marker holds no personal data.
        let by_id = format!("ERASED#{}", erased_id_key(&erasure.customer_id));
        let by_address = format!("ERASED#{}", erased_address_key(&erasure.email));
        for pk in [by_id, by_address] {
            self.put(marker(pk, "ERASED"), "record_erasure").await?;
        }
        for order in &erasure.orders {
            self.put(marker(format!("ORDER#{order}"), "ERASED"), "record_erasure")
                .await?;
        }
        Ok(())
    }

    async fn opt_out(&self, email: &EmailAddress, at: Timestamp) -> Result<(), StoreError> {
        let mut item = Self::key(format!("OPTOUT#{}", opted_out_key(email)), "OPTOUT");
        item.insert("at_epoch".into(), n(at.as_second()));
        item.insert("at".into(), s(at.to_string()));
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(pk) OR at_epoch <= :at")
            .expression_attribute_values(":at", n(at.as_second()))
            .send()
            .await;
        // Refused: a later opt-out is already recorded.
        conditional(result, "opt_out").map(|_| ())
    }

    async fn lift_opt_out(&self, email: &EmailAddress, at: Timestamp) -> Result<(), StoreError> {
        let result = self
            .client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(Self::key(format!("OPTOUT#{}", opted_out_key(email)), "OPTOUT")))
            .condition_expression("at_epoch < :at")
            .expression_attribute_values(":at", n(at.as_second()))
            .send()
            .await;
        // Refused: no opt-out, or one made after this statement.
        conditional(result, "lift_opt_out").map(|_| ())
    }

    async fn count_purchases(&self, order: &Order, delta: i64) -> Result<(), StoreError> {
        // Hot rows in a sale: a transaction that meets another on the same product is tried again
        // after a jittered pause, a few times, then given up (the caller logs it).
        for chunk in self.purchase_actions(order, delta)?.chunks(TRANSACTION_LIMIT) {
            let mut attempt = 1;
            loop {
                match self.transact_conditional(chunk.to_vec(), "count_purchases").await {
                    Err(StoreError::Conflict { .. }) if attempt < 5 => {
                        tokio::time::sleep(super::backoff(attempt)).await;
                        attempt += 1;
                    }
                    Err(error) => return Err(error),
                    Ok(_) => break,
                }
            }
        }
        Ok(())
    }

    async fn upgrade(&self, now: Timestamp) -> Result<bool, StoreError> {
        self.upgrade_guest_ids(now).await
    }

    async fn product_stats(&self) -> Result<Arc<ProductStats>, StoreError> {
        let now = Instant::now();
        let cached = (self.stats.lock().unwrap_or_else(PoisonError::into_inner).as_ref())
            .filter(|read| now.duration_since(read.at) < STATS_MAX_AGE)
            .map(|read| Arc::clone(&read.stats));
        if let Some(stats) = cached {
            return Ok(stats);
        }
        let stats = Arc::new(self.read_product_stats().await?);
        *self.stats.lock().unwrap_or_else(PoisonError::into_inner) = Some(StatsRead {
            at: now,
            stats: Arc::clone(&stats),
        });
        Ok(stats)
    }
}
