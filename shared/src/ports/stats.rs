//! Product and co-purchase statistics that recommendations read.

use crate::domain::{Currency, Money, Order, ProductId, Text, WebUrl};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// Distinct products of one order whose pairs are counted (by product id order): 66 pairs at most.
pub const MAX_PAIRED_PRODUCTS: usize = 12;

/// Products seen in the store's orders and co-purchase counts.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ProductStats {
    /// Every product seen, with how many orders contained it.
    pub products: BTreeMap<ProductId, ProductInfo>,
    /// Orders containing both products (stored for both orderings).
    pub pairs: BTreeMap<ProductId, BTreeMap<ProductId, i64>>,
}

impl ProductStats {
    /// A product's description as the store gives it (what `Statistics::describe_product` sets):
    /// name, and category, image and page where given.
    pub fn describe(&mut self, product: &crate::domain::Product) {
        let info = self.products.entry(product.id.clone()).or_insert_with(|| ProductInfo {
            name: product.name.clone(),
            category: None,
            prices: BTreeMap::new(),
            image_url: None,
            url: None,
            orders: 0,
        });
        info.name = product.name.clone();
        info.category = product.category.clone().or(info.category.take());
        info.image_url = product.image_url.clone().or(info.image_url.take());
        info.url = product.url.clone().or(info.url.take());
    }

    /// Adds (`+1`) or removes (`-1`) an order's products and pairs.
    pub(crate) fn count(&mut self, order: &Order, delta: i64) {
        let stats = self;
        let products: BTreeSet<_> = order.items.iter().map(|i| &i.product_id).collect();
        for item in &order.items {
            let info = stats
                .products
                .entry(item.product_id.clone())
                .or_insert_with(|| ProductInfo {
                    name: item.name.clone(),
                    category: None,
                    prices: BTreeMap::new(),
                    image_url: None,
                    url: None,
                    orders: 0,
                });
            // As the DynamoDB store's update: every order sets the name and the price, and the
            // category, image and page it carries (a line without them keeps what is known).
            info.name = item.name.clone();
            info.prices.insert(order.currency.code().to_owned(), item.unit_price);
            if let Some(category) = &item.category {
                info.category = Some(category.clone());
            }
            if let Some(image) = &item.image_url {
                info.image_url = Some(image.clone());
            }
            if let Some(url) = &item.url {
                info.url = Some(url.clone());
            }
        }
        // Counted per order, not per line: two variants of one product are one purchase.
        for id in &products {
            if let Some(info) = stats.products.get_mut(*id) {
                info.orders = (info.orders + delta).max(0);
            }
        }
        // Pairs among the first `MAX_PAIRED_PRODUCTS` only: a 250-line order would otherwise be
        // 31,125 pair updates.
        let paired: Vec<_> = products.iter().take(MAX_PAIRED_PRODUCTS).collect();
        for a in &paired {
            for b in &paired {
                if a != b {
                    *stats
                        .pairs
                        .entry((**a).clone())
                        .or_default()
                        .entry((**b).clone())
                        .or_default() += delta;
                }
            }
        }
    }
}

/// What is known about a product from orders.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ProductInfo {
    /// Title.
    pub name: Text,
    /// Category.
    pub category: Option<Text>,
    /// Last seen unit price per currency code (a product is only shown in a currency it sold in).
    pub prices: BTreeMap<String, u64>,
    /// Image.
    #[serde(default, deserialize_with = "crate::domain::image_url")]
    pub image_url: Option<WebUrl>,
    /// Page.
    #[serde(default, deserialize_with = "crate::domain::product_url")]
    pub url: Option<WebUrl>,
    /// Orders containing it.
    pub orders: i64,
}

impl ProductInfo {
    /// Its price in `currency`, if it was ever sold in it.
    pub fn price_in(&self, currency: Currency) -> Option<Money> {
        let minor = *self.prices.get(currency.code())?;
        Some(Money::new(i64::try_from(minor).unwrap_or(i64::MAX), currency))
    }
}

/// Order lines without an image or a page take the product's, as the store described it.
pub fn picture(items: &mut [crate::domain::LineItem], products: &BTreeMap<ProductId, ProductInfo>) {
    for item in items {
        let Some(info) = products.get(&item.product_id) else {
            continue;
        };
        if item.image_url.is_none() {
            item.image_url = info.image_url.clone();
        }
        if item.url.is_none() {
            item.url = info.url.clone();
        }
        if item.category.is_none() {
            item.category = info.category.clone();
        }
    }
}
