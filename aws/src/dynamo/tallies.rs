//! The report's counters: one `REPORT` partition of counter items, and per customer a ledger
//! (`CUSTOMER#id` / `REPORT`) and the markers of facts counted (`TALLY#…`), which an erasure
//! deletes with the rest of the customer's partition.

use super::{DynamoStore, Item, TRANSACTION_LIMIT, n, number_attr, s, string_attr, unavailable, version_value};
use aws_sdk_dynamodb::types::{ConditionCheck, Put, TransactWriteItem, Update};
use tidings_core::domain::CustomerId;
use tidings_core::ports::{LedgerFile, StoreError, Tallies, erased_id_key};
use tidings_core::report::{Change, Counters, Ledger};

const COUNTERS: &str = "REPORT";
pub(super) const LEDGER: &str = "REPORT";

fn customer_pk(customer: &CustomerId) -> String {
    format!("CUSTOMER#{customer}")
}

/// The marker `record_erasure` leaves under the customer's hashed id.
fn erased_key(customer: &CustomerId) -> Item {
    DynamoStore::key(format!("ERASED#{}", erased_id_key(customer)), "ERASED")
}

fn marker_sk(marker: &str) -> String {
    format!("TALLY#{marker}")
}

/// A ledger item's ledger and version.
fn ledger_from(item: &Item) -> Result<(Ledger, u64), StoreError> {
    let ledger = serde_json::from_str(string_attr(item, "ledger").unwrap_or("{}")).map_err(corrupt)?;
    Ok((ledger, version_of(item)))
}

fn version_of(item: &Item) -> u64 {
    number_attr(item, "version")
        .and_then(|v| u64::try_from(v).ok())
        .unwrap_or(0)
}

/// A ledger item read along with an event's customer: one this release cannot read (written by
/// a later one) counts from an empty ledger at its version, and never holds up the event, whose
/// email matters more.
pub(super) fn ledger_or_empty(item: &Item) -> (Ledger, u64) {
    ledger_from(item).unwrap_or_else(|error| {
        tracing::warn!(error = %tidings_core::ports::report(&error), "report ledger unreadable; counting from an empty one");
        (Ledger::default(), version_of(item))
    })
}

fn corrupt(error: serde_json::Error) -> StoreError {
    StoreError::Corrupt {
        item: "report ledger".into(),
        source: error.into(),
    }
}

impl DynamoStore {
    fn ledger_put(
        &self,
        customer: &CustomerId,
        version: u64,
        ledger: &Ledger,
    ) -> Result<TransactWriteItem, StoreError> {
        let mut item = Self::key(customer_pk(customer), LEDGER);
        item.insert("ledger".into(), s(serde_json::to_string(ledger).map_err(corrupt)?));
        item.insert("version".into(), version_value(version + 1));
        let put = Put::builder().table_name(&self.table).set_item(Some(item));
        let put = if version == 0 {
            put.condition_expression("attribute_not_exists(pk)")
        } else {
            put.condition_expression("version = :version")
                .expression_attribute_values(":version", version_value(version))
        };
        let put = put.build().map_err(unavailable("count"))?;
        Ok(TransactWriteItem::builder().put(put).build())
    }

    fn marker_put(&self, customer: &CustomerId, marker: &str) -> Result<TransactWriteItem, StoreError> {
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(Self::key(customer_pk(customer), &marker_sk(marker))))
            .condition_expression("attribute_not_exists(pk)")
            .build()
            .map_err(unavailable("count"))?;
        Ok(TransactWriteItem::builder().put(put).build())
    }

    fn counter_update(
        &self,
        item: &str,
        fields: &std::collections::BTreeMap<String, i64>,
    ) -> Result<TransactWriteItem, StoreError> {
        let mut update = Update::builder()
            .table_name(&self.table)
            .set_key(Some(Self::key(COUNTERS.into(), item)));
        let mut adds = Vec::new();
        for (i, (field, delta)) in fields.iter().enumerate() {
            update = update
                .expression_attribute_names(format!("#f{i}"), field)
                .expression_attribute_values(format!(":v{i}"), n(*delta));
            adds.push(format!("#f{i} :v{i}"));
        }
        let update = update
            .update_expression(format!("ADD {}", adds.join(", ")))
            .build()
            .map_err(unavailable("count"))?;
        Ok(TransactWriteItem::builder().update(update).build())
    }
}

impl Tallies for DynamoStore {
    async fn ledger(&self, customer: &CustomerId, marker: Option<&str>) -> Result<LedgerFile, StoreError> {
        let pk = customer_pk(customer);
        let mut keys = vec![Self::key(pk.clone(), LEDGER), erased_key(customer)];
        if let Some(marker) = marker {
            keys.push(Self::key(pk, &marker_sk(marker)));
        }
        let items = self.batch_get(keys, "ledger").await?;
        let mut file = LedgerFile::default();
        for item in &items {
            let sk = string_attr(item, "sk");
            if sk == Some("ERASED") {
                file.erased = true;
            } else if sk == Some(LEDGER) {
                (file.ledger, file.version) = ledger_from(item)?;
            } else {
                file.counted = true;
            }
        }
        Ok(file)
    }

    async fn count(
        &self,
        customer: &CustomerId,
        version: u64,
        marker: Option<&str>,
        change: &Change,
    ) -> Result<(), StoreError> {
        // Refused if the customer was erased since the ledger was read.
        let erasure = ConditionCheck::builder()
            .table_name(&self.table)
            .set_key(Some(erased_key(customer)))
            .condition_expression("attribute_not_exists(pk)")
            .build()
            .map_err(unavailable("count"))?;
        let mut actions = vec![TransactWriteItem::builder().condition_check(erasure).build()];
        if let Some(ledger) = &change.ledger {
            actions.push(self.ledger_put(customer, version, ledger)?);
        }
        if let Some(marker) = marker {
            actions.push(self.marker_put(customer, marker)?);
        }
        for (item, fields) in &change.adds {
            if !fields.is_empty() {
                actions.push(self.counter_update(item, fields)?);
            }
        }
        if actions.len() == 1 {
            return Ok(());
        }
        if actions.len() > TRANSACTION_LIMIT {
            return Err(StoreError::Unavailable {
                operation: "count",
                source: format!("{} writes for one fact", actions.len()).into(),
            });
        }
        // Counters are hot items (every send of a kind adds to one): a transaction that meets
        // another on them is tried again after a jittered pause. A refused condition (the ledger
        // or marker written meanwhile) is the caller's to read again.
        let mut attempt = 1;
        loop {
            match self.transact_conditional(actions.clone(), "count").await {
                Ok(None) => return Ok(()),
                Ok(Some(_)) => {
                    return Err(StoreError::Conflict {
                        item: "report ledger".into(),
                    });
                }
                Err(StoreError::Conflict { .. }) if attempt < 5 => {
                    tokio::time::sleep(super::super::backoff(attempt)).await;
                    attempt += 1;
                }
                // Still meeting others: the caller tries later (not a refusal: nothing says the
                // fact was counted).
                Err(StoreError::Conflict { item }) => {
                    return Err(StoreError::Unavailable {
                        operation: "count",
                        source: format!("{item}: transaction conflicts on hot counters").into(),
                    });
                }
                Err(error) => return Err(error),
            }
        }
    }

    async fn counters(&self) -> Result<Counters, StoreError> {
        let items: Vec<Item> = self.query_partition(COUNTERS, "", "counters").await?;
        let mut counters = Counters::new();
        for item in &items {
            let Some(name) = string_attr(item, "sk") else { continue };
            let fields = item
                .iter()
                .filter(|(field, _)| !matches!(field.as_str(), "pk" | "sk"))
                .filter_map(|(field, _)| Some((field.clone(), number_attr(item, field)?)))
                .collect();
            counters.insert(name.to_owned(), fields);
        }
        Ok(counters)
    }
}
