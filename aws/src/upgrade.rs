//! Bringing a table an earlier release wrote up to this release's form: guests were keyed by
//! `guest:<email>` (in `CUSTOMER#…` and `MSG#…` keys, the due and customer indexes, and inside
//! orders, carts, held events and coupons); this release keys them by pseudonym (see
//! [`tidings_core::guest`]). The sweeper moves every such item once, in pages, before it emits any
//! follow-up, and remembers where it got to in `CONFIG#upgrade`/`GUEST_IDS`; a marker says when
//! the whole table is done, and a warm process remembers it.
//!
//! Items of the old form are frozen once this release runs (its events name guests by pseudonym),
//! so a move is a put of the new item where none exists and a delete of the old one. Items whose
//! key holds no address (orders, carts, coupons, held events) are rewritten in place, on the
//! condition that the attributes rewritten are still as read: an engine that changed one meanwhile
//! wrote it in the new form already.

use super::dynamo::{DynamoStore, Item};
use aws_sdk_dynamodb::types::{AttributeValue, Delete, Put, TransactWriteItem};
use jiff::{SignedDuration, Timestamp};
use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};
use tidings_core::domain::EmailAddress;
use tidings_core::guest::GuestIds;
use tidings_core::ports::{StoreError, erased_address_key};
use tidings_core::signing::digest_hex;

pub(super) const MARKER_PK: &str = "CONFIG#upgrade";
pub(super) const MARKER_SK: &str = "GUEST_IDS";
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
            .any(|v| tidings_core::guest::has_address(v))
            // Two spellings of one address become one pseudonym: a set holds it once.
            .then(|| {
                let rewritten: std::collections::BTreeSet<String> =
                    set.iter().map(|v| guests.rewrite(v).into_owned()).collect();
                AttributeValue::Ss(rewritten.into_iter().collect())
            }),
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

/// The addresses of the `guest:<email>` ids anywhere in `item`.
fn addresses_in(item: &Item) -> Vec<String> {
    fn walk(value: &AttributeValue, out: &mut Vec<String>) {
        match value {
            AttributeValue::S(text) => out.extend(
                tidings_core::guest::legacy_ids(text)
                    .map(|(start, end)| text[start + tidings_core::guest::PREFIX.len()..end].to_owned()),
            ),
            AttributeValue::L(list) => list.iter().for_each(|v| walk(v, out)),
            AttributeValue::M(map) => map.values().for_each(|v| walk(v, out)),
            AttributeValue::Ss(set) => set.iter().for_each(|v| walk(&AttributeValue::S(v.clone()), out)),
            _ => {}
        }
    }
    let mut out = Vec::new();
    item.values().for_each(|v| walk(v, &mut out));
    out.sort();
    out.dedup();
    out
}

fn key_of(item: &Item) -> Item {
    ["pk", "sk"]
        .into_iter()
        .filter_map(|name| item.get(name).map(|v| (name.to_owned(), v.clone())))
        .collect()
}

/// Where an upgrade stands (the `CONFIG#upgrade`/`GUEST_IDS` item).
#[derive(Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
struct Progress {
    /// When the first sweep of this release began upgrading.
    #[serde(skip_serializing_if = "Option::is_none")]
    started_at: Option<Timestamp>,
    /// When the pass under way began.
    #[serde(skip_serializing_if = "Option::is_none")]
    pass_started_at: Option<Timestamp>,
    /// Items of the old form the pass under way found (moved or not).
    found: u64,
    /// Whole passes so far.
    passes: u64,
    /// Items no pass could move (logged; they do not hold the upgrade back).
    failed: u64,
    /// When a pass found nothing of the old form.
    #[serde(skip_serializing_if = "Option::is_none")]
    done_at: Option<Timestamp>,
}

/// A pass that may end the upgrade must begin this long after the first: functions of the earlier
/// release still finish their invocations (and write the old form) while a deploy rolls out.
const ROLLOUT_GRACE: SignedDuration = SignedDuration::from_mins(10);

impl DynamoStore {
    /// Upgrades the table a page at a time for up to [`BUDGET`]; true once a whole pass that began
    /// after the rollout found nothing of the old form (then at no cost: a warm process remembers
    /// it, a cold one reads the marker).
    pub(super) async fn upgrade_guest_ids(&self, now: Timestamp) -> Result<bool, StoreError> {
        if self.upgraded.load(Ordering::Relaxed) {
            return Ok(true);
        }
        let marker = self.get(MARKER_PK.into(), MARKER_SK, "upgrade").await?;
        let mut cursor = marker
            .as_ref()
            .and_then(|m| m.get("cursor"))
            .and_then(|c| c.as_m().ok())
            .cloned();
        let mut progress: Progress = match marker {
            Some(item) => serde_dynamo::from_item(item).unwrap_or_default(),
            None => Progress::default(),
        };
        if progress.done_at.is_some() {
            self.upgraded.store(true, Ordering::Relaxed);
            return Ok(true);
        }
        let started_at = *progress.started_at.get_or_insert(now);
        progress.pass_started_at.get_or_insert(now);
        let mut erased = HashMap::new();
        let began = Instant::now();
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
                match self.move_item(item, &mut erased).await {
                    Ok(Moved::Unchanged) => {}
                    Ok(Moved::Done | Moved::Busy) => progress.found += 1,
                    // One item must not hold every follow-up back: it stays as it is, counted.
                    Err(error) => {
                        progress.failed += 1;
                        let item_digest = item
                            .get("pk")
                            .and_then(|pk| pk.as_s().ok())
                            .map(|pk| digest_hex(&[pk], 16));
                        tracing::error!(metric = "upgrade_failed", item_digest, error = %tidings_core::ports::report(&error), "an item of the old form could not be upgraded");
                    }
                }
            }
            cursor = page.last_evaluated_key;
            if cursor.is_none() {
                let pass_began = progress.pass_started_at.unwrap_or(now);
                // A table whose first pass finds nothing of the old form (a new stack, a store
                // without guests yet) is done at once; the follow-ups a straggler of the earlier
                // release might still write are moved when the sweeper reads them.
                let first = progress.passes == 0;
                progress.passes += 1;
                if progress.found == 0 && (first || pass_began >= started_at + ROLLOUT_GRACE) {
                    progress.done_at = Some(now);
                } else {
                    // Another pass, from the next sweep: it finds what this one moved gone, and
                    // what the earlier release still wrote meanwhile.
                    progress.pass_started_at = None;
                    progress.found = 0;
                }
            }
            let mut marker: Item = serde_dynamo::to_item(&progress).map_err(super::dynamo::corrupt(MARKER_PK))?;
            marker.extend(Self::key(MARKER_PK.into(), MARKER_SK));
            if let Some(next) = &cursor {
                marker.insert("cursor".into(), AttributeValue::M(next.clone()));
            }
            self.put(marker, "upgrade").await?;
            if progress.done_at.is_some() {
                self.upgraded.store(true, Ordering::Relaxed);
                tracing::info!(
                    metric = "upgraded",
                    failed = progress.failed,
                    "guest ids upgraded: no address left in the table's keys"
                );
                return Ok(true);
            }
            // A pass ends a run: the next begins at the next sweep, with the clock moved on.
            if cursor.is_none() || began.elapsed() >= BUDGET {
                return Ok(false);
            }
        }
    }

    /// Moves one item of the old form found outside a pass (a straggler the sweeper read).
    pub(super) async fn move_straggler(&self, item: &Item) -> Result<(), StoreError> {
        self.move_item(item, &mut HashMap::new()).await.map(|_| ())
    }

    /// Moves one item of the old form to the new one; an item about an erased guest is deleted.
    async fn move_item(&self, item: &Item, erased: &mut HashMap<String, bool>) -> Result<Moved, StoreError> {
        let Some(new) = rewrite_item(&self.guests, item) else {
            return Ok(Moved::Unchanged);
        };
        let old_key = key_of(item);
        if self.about_an_erased_guest(item, erased).await? {
            let result = self
                .client
                .delete_item()
                .table_name(&self.table)
                .set_key(Some(old_key))
                .send()
                .await;
            result.map_err(super::dynamo::unavailable("upgrade"))?;
            return Ok(Moved::Done);
        }
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

    /// Whether an address the item names a guest by was erased (an erasure that arrived before
    /// the upgrade reached this guest's items could not find them under the old key).
    async fn about_an_erased_guest(&self, item: &Item, erased: &mut HashMap<String, bool>) -> Result<bool, StoreError> {
        for address in addresses_in(item) {
            let Ok(email) = EmailAddress::parse(&address) else {
                continue;
            };
            let key = erased_address_key(&email);
            let known = match erased.get(&key) {
                Some(known) => *known,
                None => {
                    let marker = self.get(format!("ERASED#{key}"), "ERASED", "upgrade").await?;
                    erased.insert(key, marker.is_some());
                    marker.is_some()
                }
            };
            if known {
                return Ok(true);
            }
        }
        Ok(false)
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
    use super::super::dynamo::s;
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
