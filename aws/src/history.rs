//! Past orders (`tidings import shopify`) into a deployed table: each buyer's history as a new
//! customer record (a customer the table already knows is kept as it is: live data wins), and the
//! products and co-purchases of the orders of the buyers written. Sends and schedules nothing.

use super::DynamoStore;
use tidings_core::guest::GuestIds;
use tidings_core::ports::{Customers, Statistics, StoreError};
use tidings_core::shopify::import::{Export, History};

/// What an import wrote.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Written {
    /// Buyers written as new customer records.
    pub customers: usize,
    /// Buyers the table already knew (kept; their orders not counted again).
    pub kept: usize,
    /// Orders counted into the product statistics.
    pub orders: usize,
}

/// Writes `history` (read from `export` with the deployment's guest-id key `ids`) into `store`.
/// Run again, it writes nothing twice: known buyers and their orders are skipped.
pub async fn write_history(
    store: &DynamoStore,
    export: &Export,
    history: &History,
    ids: &GuestIds,
) -> Result<Written, StoreError> {
    let mut written = Written::default();
    let mut new = std::collections::BTreeSet::new();
    for record in &history.customers {
        // Version 0: created only if absent.
        match store.save_customer(record).await {
            Ok(()) => {
                new.insert(record.profile.id.clone());
                written.customers += 1;
            }
            Err(StoreError::Conflict { .. }) => written.kept += 1,
            Err(error) => return Err(error),
        }
    }
    let mut counting = tokio::task::JoinSet::new();
    for order in export
        .past_orders()
        .filter(|o| new.contains(&ids.customer_id(&o.customer.id)))
    {
        // A few at a time: each is one transaction over its products and pairs.
        while counting.len() >= 16 {
            counting.join_next().await.map(flatten).transpose()?;
        }
        let (store, order) = (store.clone(), order.clone());
        counting.spawn(async move { store.count_purchases(&order, 1).await });
        written.orders += 1;
    }
    while let Some(done) = counting.join_next().await {
        flatten(done)?;
    }
    Ok(written)
}

fn flatten(done: Result<Result<(), StoreError>, tokio::task::JoinError>) -> Result<(), StoreError> {
    done.map_err(|e| StoreError::Unavailable {
        operation: "count_purchases",
        source: Box::new(e),
    })?
}
