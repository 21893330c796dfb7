//! Bringing a table an earlier release wrote up to this release's form: guests were keyed by
//! `guest:<email>` (in `CUSTOMER#…` and `MSG#…` keys, the due and customer indexes, and inside
//! orders, carts, held events and coupons); this release keys them by pseudonym (see
//! [`crate::guest`]). The sweeper moves every such item once, in pages, before it emits any
//! follow-up, and remembers where it got to in `CONFIG#upgrade`/`GUEST_IDS`; a marker says when
//! the whole table is done, and a warm process remembers it.
//!
//! Items of the old form are frozen once this release runs (its events name guests by pseudonym),
//! so a move is a put of the new item where none exists and a delete of the old one. Items whose
//! key holds no address (orders, carts, coupons, held events) are rewritten in place, on the
//! condition that the attributes rewritten are still as read: an engine that changed one meanwhile
//! wrote it in the new form already.

use super::dynamo::{DynamoStore, Item, s};
use crate::guest::GuestIds;
use crate::ports::StoreError;
use aws_sdk_dynamodb::types::{AttributeValue, Delete, Put, TransactWriteItem};
use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

const MARKER_PK: &str = "CONFIG#upgrade";
const MARKER_SK: &str = "GUEST_IDS";
/// How long one sweep spends upgrading before it stops for the next (the sweeper runs 60 s).
const BUDGET: Duration = Duration::from_secs(30);
/// Items per scanned page.
const PAGE: i32 = 200;

/// What happened to one item.
#[derive(Debug, PartialEq, Eq)]
enum Moved {
    /// Nothing of the old form in it.
    Unchanged,
    /// Rewritten (in place or under its new key).
    Done,
    /// Changed under our feet in a way the move did not expect: left for the next pass.
    Busy,
}

/// `value` with guest addresses replaced; `None` when it held none.
fn rewrite_value(guests: &GuestIds, value: &AttributeValue) -> Option<AttributeValue> {
    match value {
        AttributeValue::S(text) => match guests.rewrite(text) {
            std::borrow::Cow::Owned(new) => Some(AttributeValue::S(new)),
            std::borrow::Cow::Borrowed(_) => None,
        },
        AttributeValue::L(list) => {
            let new: Vec<Option<AttributeValue>> = list.iter().map(|v| rewrite_value(guests, v)).collect();
            new.iter().any(Option::is_some).then(|| {
                AttributeValue::L(
                    new.into_iter()
                        .zip(list)
                        .map(|(new, old)| new.unwrap_or_else(|| old.clone()))
                        .collect(),
                )
            })
        }
        AttributeValue::M(map) => rewrite_item(guests, map).map(AttributeValue::M),
        AttributeValue::Ss(set) => set
            .iter()
            .any(|v| crate::guest::has_address(v))
            .then(|| AttributeValue::Ss(set.iter().map(|v| guests.rewrite(v).into_owned()).collect())),
        _ => None,
    }
}

/// `item` with guest addresses replaced in every string it holds, keys included; `None` when it
/// held none.
pub(super) fn rewrite_item(guests: &GuestIds, item: &Item) -> Option<Item> {
    let changed: HashMap<&String, AttributeValue> = item
        .iter()
        .filter_map(|(name, value)| rewrite_value(guests, value).map(|new| (name, new)))
        .collect();
    if changed.is_empty() {
        return None;
    }
    let mut new = item.clone();
    for (name, value) in changed {
        new.insert(name.clone(), value);
    }
    Some(new)
}

fn key_of(item: &Item) -> Item {
    ["pk", "sk"]
        .into_iter()
        .filter_map(|name| item.get(name).map(|v| (name.to_owned(), v.clone())))
        .collect()
}

impl DynamoStore {
    /// Upgrades the table a page at a time for up to [`BUDGET`]; true once nothing of the old form
    /// is left (then at no cost: a warm process remembers it, a cold one reads the marker).
    pub(super) async fn upgrade_guest_ids(&self) -> Result<bool, StoreError> {
        if self.upgraded.load(Ordering::Relaxed) {
            return Ok(true);
        }
        let marker = self.get(MARKER_PK.into(), MARKER_SK, "upgrade").await?;
        if marker.as_ref().is_some_and(|m| m.contains_key("done_at")) {
            self.upgraded.store(true, Ordering::Relaxed);
            return Ok(true);
        }
        let mut cursor = marker
            .as_ref()
            .and_then(|m| m.get("cursor"))
            .and_then(|c| c.as_m().ok())
            .cloned();
        let mut busy = marker
            .as_ref()
            .and_then(|m| m.get("busy"))
            .and_then(|b| b.as_n().ok())
            .and_then(|b| b.parse::<u64>().ok())
            .unwrap_or(0);
        let started = Instant::now();
        loop {
            let page = self
                .client
                .scan()
                .table_name(&self.table)
                .consistent_read(true)
                .limit(PAGE)
                .set_exclusive_start_key(cursor.take())
                .send()
                .await
                .map_err(super::dynamo::unavailable("upgrade"))?;
            for item in page.items() {
                if self.move_item(item).await? == Moved::Busy {
                    busy += 1;
                }
            }
            cursor = page.last_evaluated_key;
            let mut marker = Self::key(MARKER_PK.into(), MARKER_SK);
            match &cursor {
                Some(next) => {
                    marker.insert("cursor".into(), AttributeValue::M(next.clone()));
                }
                // A whole pass: done when nothing was left behind, else another pass.
                None if busy == 0 => {
                    marker.insert("done_at".into(), s(jiff::Timestamp::now().to_string()));
                }
                None => busy = 0,
            }
            marker.insert("busy".into(), AttributeValue::N(busy.to_string()));
            let done = marker.contains_key("done_at");
            self.put(marker, "upgrade").await?;
            if done {
                self.upgraded.store(true, Ordering::Relaxed);
                tracing::info!(
                    metric = "upgraded",
                    "guest ids upgraded: no address left in the table's keys"
                );
                return Ok(true);
            }
            if started.elapsed() >= BUDGET {
                return Ok(false);
            }
        }
    }

    /// Moves one item of the old form to the new one.
    async fn move_item(&self, item: &Item) -> Result<Moved, StoreError> {
        let Some(new) = rewrite_item(&self.guests, item) else {
            return Ok(Moved::Unchanged);
        };
        let old_key = key_of(item);
        if key_of(&new) == old_key {
            return self.rewrite_in_place(item, &new).await;
        }
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(new))
            .condition_expression("attribute_not_exists(pk)")
            .build()
            .map_err(super::dynamo::unavailable("upgrade"))?;
        let delete = Delete::builder()
            .table_name(&self.table)
            .set_key(Some(old_key.clone()))
            .condition_expression("attribute_exists(pk)")
            .build()
            .map_err(super::dynamo::unavailable("upgrade"))?;
        let actions = vec![
            TransactWriteItem::builder().put(put).build(),
            TransactWriteItem::builder().delete(delete).build(),
        ];
        match self.transact_conditional(actions, "upgrade").await {
            Ok(None) => Ok(Moved::Done),
            // This release already wrote the item under its new key (from a fresh read of the old
            // one, see `customer_file`): the old one goes.
            Ok(Some((0, _))) => {
                self.delete(s_of(&old_key, "pk"), &s_of(&old_key, "sk"), "upgrade")
                    .await?;
                Ok(Moved::Done)
            }
            // Deleted meanwhile (its TTL, an erasure): nothing to move.
            Ok(Some(_)) => Ok(Moved::Done),
            Err(StoreError::Conflict { .. }) => Ok(Moved::Busy),
            Err(error) => Err(error),
        }
    }

    /// Rewrites the attributes that held an address, if they are still as read.
    async fn rewrite_in_place(&self, old: &Item, new: &Item) -> Result<Moved, StoreError> {
        let mut update = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key_of(old)));
        let mut sets = Vec::new();
        let mut conditions = Vec::new();
        for (i, (name, value)) in new
            .iter()
            .filter(|(name, value)| old.get(*name) != Some(value))
            .enumerate()
        {
            sets.push(format!("#a{i} = :new{i}"));
            conditions.push(format!("#a{i} = :old{i}"));
            update = update
                .expression_attribute_names(format!("#a{i}"), name)
                .expression_attribute_values(format!(":new{i}"), value.clone())
                .expression_attribute_values(
                    format!(":old{i}"),
                    old.get(name).cloned().unwrap_or(AttributeValue::Null(true)),
                );
        }
        let result = update
            .update_expression(format!("SET {}", sets.join(", ")))
            .condition_expression(conditions.join(" AND "))
            .send()
            .await;
        match super::dynamo::conditional(result, "upgrade")? {
            true => Ok(Moved::Done),
            false => Ok(Moved::Busy),
        }
    }
}

fn s_of(key: &Item, name: &str) -> String {
    key.get(name).and_then(|v| v.as_s().ok()).cloned().unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_string_of_an_item_loses_its_guest_address() {
        let guests = GuestIds::demo();
        let item: Item = HashMap::from([
            ("pk".to_owned(), s("MSG#win_back#guest:g@example.com#o-1")),
            ("gsi2pk".to_owned(), s("CUSTOMER#guest:g@example.com")),
            (
                "follow_up".to_owned(),
                AttributeValue::M(HashMap::from([(
                    "ids".to_owned(),
                    AttributeValue::L(vec![s("c-1"), s("guest:g@example.com")]),
                )])),
            ),
            ("email".to_owned(), s("g@example.com")),
            ("count".to_owned(), AttributeValue::N("3".into())),
        ]);
        let new = rewrite_item(&guests, &item).expect("rewritten");
        let text = format!("{new:?}");
        assert!(!text.contains("guest:g@"), "{text}");
        assert_eq!(new["email"], item["email"], "an address that is not an id stays");
        assert_eq!(new["count"], item["count"]);
        assert!(
            rewrite_item(&guests, &new).is_none(),
            "a rewritten item is of the new form"
        );
    }
}
