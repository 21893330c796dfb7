//! Suppressions, soft bounces and engagement counters from SES's reports.

use super::{DynamoStore, n, number_attr, s, suppression_hash, ttl, unavailable};
use aws_sdk_dynamodb::types::{AttributeValue, Put, TransactWriteItem, Update};
use jiff::Timestamp;
use tidings_core::domain::{CustomerId, EmailAddress};
use tidings_core::ports::{Deliverability, Engagement, EngagementKind, StoreError};

impl Deliverability for DynamoStore {
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
        item.insert("ttl".into(), ttl(at + tidings_core::ports::retention::BOUNCE_TTL));
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
        marker.insert("ttl".into(), ttl(at + tidings_core::ports::retention::MARKER_TTL));
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
}
