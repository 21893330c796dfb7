//! Carts: a newer `updated_at` wins, conditionally.

use super::{CART_TTL, DynamoStore, conditional, corrupt, s, sortable, string_attr, ttl};
use jiff::Timestamp;
use tidings_core::domain::CartId;
use tidings_core::ports::{CartRecord, Carts, StoreError};

impl Carts for DynamoStore {
    async fn cart(&self, id: &CartId) -> Result<Option<CartRecord>, StoreError> {
        // The cart and, apart, when it was last bought from (written with the order, which may
        // come before any cart event).
        let pk = format!("CART#{id}");
        let mut record: Option<CartRecord> = None;
        let mut ordered = None;
        for item in self.query_partition(&pk, "", "cart").await? {
            match string_attr(&item, "sk") {
                Some("CART") => record = Some(serde_dynamo::from_item(item).map_err(corrupt(&pk))?),
                Some("ORDERED") => ordered = string_attr(&item, "at").and_then(|at| at.parse::<Timestamp>().ok()),
                _ => {}
            }
        }
        Ok(record.map(|mut record| {
            record.ordered_at = record.ordered_at.max(ordered);
            record
        }))
    }

    async fn save_cart(&self, record: &CartRecord) -> Result<bool, StoreError> {
        let mut item = Self::record_item(record, format!("CART#{}", record.cart.id), "CART")?;
        item.insert("ttl".into(), ttl(record.cart.updated_at + CART_TTL));
        let updated = sortable(record.cart.updated_at);
        item.insert("updated_sort".into(), s(updated.clone()));
        // The newest version wins whatever order the writes land in. A cart written by a release
        // before this attribute existed is replaced as it always was.
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(updated_sort) OR updated_sort <= :updated")
            .expression_attribute_values(":updated", s(updated))
            .send()
            .await;
        conditional(result, "save_cart")
    }
}
