//! The follow-up queue: items in the sharded `due` index and the `customer` index.

use super::{DUE_SHARDS, DynamoStore, Item, corrupt, s, sortable, ttl, unavailable};
use aws_sdk_dynamodb::types::ReturnValue;
use jiff::Timestamp;
use tidings_core::domain::CustomerId;
use tidings_core::message::MessageKey;
use tidings_core::ports::{FollowUp, FollowUps, StoreError};
use tidings_core::signing::digest_hex;

impl DynamoStore {
    /// A follow-up with its `due` index keys and TTL.
    pub(super) fn follow_up_item(follow_up: &FollowUp) -> Result<Item, StoreError> {
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
        item.insert(
            "ttl".into(),
            ttl(follow_up.expires_at + tidings_core::ports::retention::FOLLOW_UP_GRACE),
        );
        Ok(item)
    }

    /// Sets the alarm of every waiting follow-up (`lambda::set_waiting_alarms`); how many.
    pub async fn set_waiting_alarms(&self) -> Result<usize, StoreError> {
        let waiting = self.due_follow_ups(Timestamp::MAX, usize::MAX).await?;
        self.alarms.set(&waiting).await?;
        Ok(waiting.len())
    }

    /// The follow-up a write replaced or deleted, if it was one this release can read (an
    /// unreadable one had no alarm of this release to clear).
    fn replaced(&self, old: Option<Item>) -> Option<FollowUp> {
        serde_dynamo::from_item(self.current(old?)).ok()
    }

    pub(super) fn due_shard(key: &MessageKey) -> String {
        let hash = digest_hex(&["due-shard", key.as_str()], 8);
        let shard = u64::from_str_radix(&hash, 16).unwrap_or(0) % DUE_SHARDS;
        format!("DUE#{shard}")
    }
}

impl FollowUps for DynamoStore {
    async fn schedule(&self, follow_up: &FollowUp) -> Result<(), StoreError> {
        self.alarms.set(std::slice::from_ref(follow_up)).await?;
        let old = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(Self::follow_up_item(follow_up)?))
            .return_values(ReturnValue::AllOld)
            .send()
            .await
            .map_err(unavailable("schedule"))?
            .attributes;
        if let Some(moved) = self.replaced(old).filter(|old| old.due_at != follow_up.due_at) {
            self.alarms.clear(&moved).await;
        }
        Ok(())
    }

    async fn add_follow_up(&self, follow_up: &FollowUp) -> Result<bool, StoreError> {
        self.alarms.set(std::slice::from_ref(follow_up)).await?;
        self.put_new(Self::follow_up_item(follow_up)?, "add_follow_up").await
    }

    async fn follow_up(&self, key: &MessageKey) -> Result<Option<FollowUp>, StoreError> {
        self.get_record(format!("MSG#{key}"), "FOLLOWUP", "follow_up").await
    }

    async fn remove_follow_up(&self, key: &MessageKey) -> Result<(), StoreError> {
        let old = self
            .client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(Self::key(format!("MSG#{key}"), "FOLLOWUP")))
            .return_values(ReturnValue::AllOld)
            .send()
            .await
            .map_err(unavailable("remove_follow_up"))?
            .attributes;
        if let Some(removed) = self.replaced(old) {
            self.alarms.clear(&removed).await;
        }
        Ok(())
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
                if let Some(current) = super::super::upgrade::rewrite_item(&self.guests, &item) {
                    // Not fatal: one item that cannot be moved must not hold every follow-up back.
                    if let Err(error) = self.move_straggler(&item).await {
                        tracing::error!(metric = "upgrade_failed", error = %tidings_core::ports::report(&error), "a follow-up of the old form could not be moved");
                    }
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

    async fn ring_again(&self, due: &tidings_core::event::FollowUpDue, at: Timestamp) -> Result<bool, StoreError> {
        self.alarms.again(due, at).await
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
}
