//! Product and co-purchase statistics: written after the email, read with a short cache.

use super::{DynamoStore, Item, StatsRead, TRANSACTION_LIMIT, n, number_attr, s, string_attr, unavailable};
use aws_sdk_dynamodb::types::{TransactWriteItem, Update};
use std::collections::BTreeSet;
use std::sync::{Arc, PoisonError};
use std::time::Instant;
use tidings_core::domain::{Currency, Order, ProductId, Text, WebUrl};
use tidings_core::ports::{MAX_PAIRED_PRODUCTS, ProductInfo, ProductStats, Statistics, StoreError};

impl DynamoStore {
    /// The statistics updates for an order: each product once, each pair of products once.
    pub(super) fn purchase_actions(&self, order: &Order, delta: i64) -> Result<Vec<TransactWriteItem>, StoreError> {
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

    pub(super) fn product_update(
        &self,
        order: &Order,
        index: usize,
        delta: i64,
    ) -> Result<TransactWriteItem, StoreError> {
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

    pub(super) fn pair_update(
        &self,
        a: &ProductId,
        b: &ProductId,
        delta: i64,
    ) -> Result<TransactWriteItem, StoreError> {
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
    pub(super) async fn read_product_stats(&self) -> Result<ProductStats, StoreError> {
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

    pub(super) fn product_from(item: &Item) -> Option<(ProductId, ProductInfo)> {
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

impl Statistics for DynamoStore {
    async fn count_purchases(&self, order: &Order, delta: i64) -> Result<(), StoreError> {
        // Hot rows in a sale: a transaction that meets another on the same product is tried again
        // after a jittered pause, a few times, then given up (the caller logs it).
        for chunk in self.purchase_actions(order, delta)?.chunks(TRANSACTION_LIMIT) {
            let mut attempt = 1;
            loop {
                match self.transact_conditional(chunk.to_vec(), "count_purchases").await {
                    Err(StoreError::Conflict { .. }) if attempt < 5 => {
                        tokio::time::sleep(super::super::backoff(attempt)).await;
                        attempt += 1;
                    }
                    Err(error) => return Err(error),
                    Ok(_) => break,
                }
            }
        }
        Ok(())
    }

    async fn products(
        &self,
        ids: &[ProductId],
    ) -> Result<std::collections::BTreeMap<ProductId, ProductInfo>, StoreError> {
        let mut products = std::collections::BTreeMap::new();
        let distinct: BTreeSet<&ProductId> = ids.iter().collect();
        let keys: Vec<Item> = distinct
            .iter()
            .map(|id| Self::key("STATS".into(), &format!("PRODUCT#{id}")))
            .collect();
        for chunk in keys.chunks(100) {
            let items = self.batch_get(chunk.to_vec(), "products").await?;
            products.extend(items.iter().filter_map(Self::product_from));
        }
        Ok(products)
    }

    async fn describe_product(&self, product: &tidings_core::domain::Product) -> Result<(), StoreError> {
        // The same item the purchase counts update; its `orders` and prices stay theirs.
        let mut update = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(Self::key("STATS".into(), &format!("PRODUCT#{}", product.id))))
            .expression_attribute_names("#name", "name")
            .expression_attribute_values(":name", s(product.name.as_str()));
        let mut set = vec!["#name = :name"];
        for (attr, value) in [
            ("category", product.category.as_ref().map(Text::as_str)),
            ("image_url", product.image_url.as_ref().map(WebUrl::as_str)),
            ("url", product.url.as_ref().map(WebUrl::as_str)),
        ] {
            if let Some(value) = value {
                update = update
                    .expression_attribute_names(format!("#{attr}"), attr)
                    .expression_attribute_values(format!(":{attr}"), s(value));
                set.push(match attr {
                    "category" => "#category = :category",
                    "image_url" => "#image_url = :image_url",
                    _ => "#url = :url",
                });
            }
        }
        update
            .update_expression(format!("SET {}", set.join(", ")))
            .send()
            .await
            .map_err(unavailable("describe_product"))?;
        Ok(())
    }

    async fn product_stats(&self) -> Result<Arc<ProductStats>, StoreError> {
        let now = Instant::now();
        let cached = (self.stats.lock().unwrap_or_else(PoisonError::into_inner).as_ref())
            .filter(|read| now.duration_since(read.at) < self.stats_max_age)
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
