//! `Store` on one DynamoDB table (single-table design, see docs/aws.md).

mod carts;
mod customers;
mod deliverability;
mod follow_ups;
mod ledger;
mod orders;
mod privacy;
mod stats;
mod tallies;
mod upgrades;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{AttributeValue, Put, ReturnValuesOnConditionCheckFailure, TransactWriteItem};
use jiff::Timestamp;
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::collections::HashMap;
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tidings_core::domain::EmailAddress;
use tidings_core::guest::GuestIds;
use tidings_core::ports::{ProductStats, StoreError};
use tidings_core::signing::digest_hex;

pub(super) type Item = HashMap<String, AttributeValue>;

/// Shards of the `due` index: follow-ups spread over this many partitions.
const DUE_SHARDS: u64 = 4;
// Retention, shared with the memory store (which expires the same records at the same times).
use tidings_core::ports::retention::{CART_TTL, CLAIM_TTL, LEDGER_TTL, sortable};

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
    /// How long they are used before being read again.
    stats_max_age: Duration,
    /// The key guests are named by (items an earlier release wrote are read in the new form).
    pub(super) guests: GuestIds,
    /// Whether this process saw the table upgraded (`upgrade`): shared by clones.
    pub(super) upgraded: Arc<AtomicBool>,
    /// The second this process last took a send in (which form of the pacing write to try first).
    pub(super) paced_second: Arc<std::sync::atomic::AtomicI64>,
    /// Set for each follow-up before it is written (none: something sweeps the `due` index).
    pub(super) alarms: tidings_core::ports::Alarms,
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

pub(super) fn unavailable<E>(operation: &'static str) -> impl FnOnce(E) -> StoreError
where
    E: std::error::Error + Send + Sync + 'static,
{
    move |error| StoreError::Unavailable {
        operation,
        source: Box::new(error),
    }
}

/// `Ok(true)` when a conditional write happened, `Ok(false)` when its condition said no.
pub(super) fn conditional<T, E>(result: Result<T, SdkError<E>>, operation: &'static str) -> Result<bool, StoreError>
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    conditional_output(result, operation).map(|output| output.is_some())
}

/// A conditional write's output when it happened, `None` when its condition said no.
pub(super) fn conditional_output<T, E>(
    result: Result<T, SdkError<E>>,
    operation: &'static str,
) -> Result<Option<T>, StoreError>
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    match result {
        Ok(output) => Ok(Some(output)),
        Err(SdkError::ServiceError(e)) if e.err().code() == Some("ConditionalCheckFailedException") => Ok(None),
        Err(e) => Err(unavailable(operation)(e)),
    }
}

pub(super) fn corrupt(item: &str) -> impl FnOnce(serde_dynamo::Error) -> StoreError + '_ {
    move |error| StoreError::Corrupt {
        // Keys hold customer ids, and a guest's id holds their address.
        item: tidings_core::domain::Redacted(item).to_string(),
        source: Box::new(error),
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

pub(super) fn string_attr<'a>(item: &'a Item, name: &str) -> Option<&'a str> {
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
            stats_max_age: STATS_MAX_AGE,
            guests,
            upgraded: Arc::default(),
            paced_second: Arc::default(),
            alarms: tidings_core::ports::Alarms::default(),
        }
    }

    /// The store, setting each follow-up's alarm on `clock` before writing it (the deployed
    /// stack: EventBridge Scheduler), and clearing the alarms of follow-ups it deletes.
    pub fn with_alarms(mut self, clock: Arc<dyn tidings_core::ports::AlarmClock>) -> Self {
        self.alarms = tidings_core::ports::Alarms::on(clock);
        self
    }

    /// The store reading product statistics afresh for every email, as the memory store does (a
    /// test that compares the two runs of one history; a function keeps the 10-minute cache).
    pub fn with_fresh_statistics(mut self) -> Self {
        self.stats_max_age = Duration::ZERO;
        self
    }

    /// An item as this release writes it: a guest id with an address in it (from an earlier
    /// release, before `upgrade` moved it) reads as its pseudonym.
    fn current(&self, item: Item) -> Item {
        super::upgrade::rewrite_item(&self.guests, &item).unwrap_or(item)
    }

    pub(super) fn key(pk: String, sk: &str) -> Item {
        HashMap::from([("pk".to_owned(), s(pk)), ("sk".to_owned(), s(sk))])
    }

    /// Consistent reads of `keys` (at most 100, BatchGetItem's limit), in any order; keys
    /// DynamoDB leaves unprocessed under load are asked again (bounded).
    pub(super) async fn batch_get(&self, keys: Vec<Item>, operation: &'static str) -> Result<Vec<Item>, StoreError> {
        let keys = aws_sdk_dynamodb::types::KeysAndAttributes::builder()
            .set_keys(Some(keys))
            .consistent_read(true)
            .build()
            .map_err(unavailable(operation))?;
        let mut request = HashMap::from([(self.table.clone(), keys)]);
        let mut items = Vec::new();
        for attempt in 1..=5 {
            let output = self
                .client
                .batch_get_item()
                .set_request_items(Some(request))
                .send()
                .await
                .map_err(unavailable(operation))?;
            items.extend(output.responses.unwrap_or_default().into_values().flatten());
            request = output.unprocessed_keys.unwrap_or_default();
            if request.is_empty() {
                return Ok(items);
            }
            if attempt == 5 {
                break;
            }
            tokio::time::sleep(super::backoff(attempt)).await;
        }
        Err(StoreError::Unavailable {
            operation,
            source: "keys left unprocessed".into(),
        })
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
}
