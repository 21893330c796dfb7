//! "Frequently bought together": co-purchase counts from the store's own orders, then products from
//! the categories the customer bought, then the store's best sellers.

use crate::domain::{Currency, ProductId};
use crate::ports::{ProductInfo, ProductStats};
use std::collections::{BTreeMap, BTreeSet};

/// How many products a cross-sell shows.
pub const MAX_RECOMMENDATIONS: usize = 3;

/// Products to recommend after buying `bought` (empty for win-back) to a customer who bought from
/// `categories`: never one the customer owns, always in `currency`.
pub fn recommend(
    stats: &ProductStats,
    bought: &[ProductId],
    owned: &BTreeSet<ProductId>,
    categories: &BTreeSet<String>,
    currency: Currency,
) -> Vec<ProductInfo> {
    let eligible = |id: &ProductId| {
        !owned.contains(id)
            && !bought.contains(id)
            && stats
                .products
                .get(id)
                .is_some_and(|p| p.price_in(currency).is_some() && p.orders > 0)
    };
    let mut scores: BTreeMap<&ProductId, i64> = BTreeMap::new();
    for id in bought {
        for (other, count) in stats.pairs.get(id).into_iter().flatten() {
            if *count > 0 && eligible(other) {
                *scores.entry(other).or_default() += count;
            }
        }
    }
    let mut ranked: Vec<(&ProductId, i64)> = scores.into_iter().collect();
    ranked.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(b.0)));
    let mut chosen: Vec<&ProductId> = ranked.into_iter().map(|(id, _)| id).collect();

    let mut categories: BTreeSet<&str> = categories.iter().map(String::as_str).collect();
    categories.extend(
        bought
            .iter()
            .filter_map(|id| stats.products.get(id).and_then(|p| p.category.as_ref()))
            .map(|c| c.as_str().trim()),
    );
    let in_categories = |p: &ProductInfo| {
        p.category
            .as_ref()
            .is_some_and(|c| categories.contains(c.as_str().trim()))
    };
    // Same category first, then anything: best sellers in each group.
    for wanted in [true, false] {
        if chosen.len() >= MAX_RECOMMENDATIONS {
            break;
        }
        let mut more: Vec<(&ProductId, &ProductInfo)> = stats
            .products
            .iter()
            .filter(|(id, p)| eligible(id) && !chosen.contains(id) && (!wanted || in_categories(p)))
            .collect();
        more.sort_by(|a, b| b.1.orders.cmp(&a.1.orders).then_with(|| a.0.cmp(b.0)));
        chosen.extend(more.into_iter().map(|(id, _)| id));
    }
    chosen
        .into_iter()
        .take(MAX_RECOMMENDATIONS)
        .filter_map(|id| stats.products.get(id).cloned())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Text;

    fn product(category: &str, currency: &str, orders: i64) -> ProductInfo {
        ProductInfo {
            name: Text::new(category),
            category: Some(Text::new(category)),
            prices: BTreeMap::from([(currency.to_owned(), 1000)]),
            image_url: None,
            url: None,
            orders,
        }
    }

    fn id(raw: &str) -> ProductId {
        ProductId::parse(raw).expect("id")
    }

    fn stats() -> ProductStats {
        let mut stats = ProductStats::default();
        stats.products.insert(id("mug"), product("kitchen", "USD", 5));
        stats.products.insert(id("tea"), product("tea", "USD", 4));
        stats.products.insert(id("pot"), product("kitchen", "USD", 2));
        stats.products.insert(id("kettle"), product("kitchen", "KRW", 9));
        stats.products.insert(id("honey"), product("pantry", "USD", 1));
        stats.pairs.entry(id("mug")).or_default().insert(id("tea"), 3);
        stats.pairs.entry(id("mug")).or_default().insert(id("honey"), 1);
        stats
    }

    #[test]
    fn co_purchases_come_first_then_the_same_category() {
        let picks = recommend(
            &stats(),
            &[id("mug")],
            &BTreeSet::new(),
            &BTreeSet::new(),
            Currency::parse("USD").expect("usd"),
        );
        let names: Vec<_> = picks.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, ["tea", "pantry", "kitchen"]);
    }

    #[test]
    fn win_back_picks_from_the_customers_categories_then_best_sellers() {
        let usd = Currency::parse("USD").expect("usd");
        let owned = BTreeSet::from([id("mug")]);
        let pantry = BTreeSet::from(["pantry".to_owned()]);
        let picks = recommend(&stats(), &[], &owned, &pantry, usd);
        let names: Vec<_> = picks.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(
            names,
            ["pantry", "tea", "kitchen"],
            "honey (pantry) first, then best sellers"
        );
    }

    #[test]
    fn owned_products_and_other_currencies_are_never_shown() {
        let owned = BTreeSet::from([id("tea"), id("honey"), id("pot")]);
        let picks = recommend(
            &stats(),
            &[id("mug")],
            &owned,
            &BTreeSet::new(),
            Currency::parse("USD").expect("usd"),
        );
        assert!(picks.is_empty(), "kettle is KRW, everything else is owned: {picks:?}");
    }
}
