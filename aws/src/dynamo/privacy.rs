//! Erasure and the address-level opt-out.

use super::{DynamoStore, conditional, n, s, string_attr, suppression_hash};
use jiff::Timestamp;
use tidings_core::domain::EmailAddress;
use tidings_core::ports::{
    CustomerRecord, Erasure, FollowUps, Privacy, StoreError, erased_address_key, erased_id_key, opted_out_key,
};

impl Privacy for DynamoStore {
    async fn erase_customer(&self, customer: &CustomerRecord) -> Result<(), StoreError> {
        let id = &customer.profile.id;
        for follow_up in self.follow_ups_of(id).await? {
            // A schedule names the customer (and its time can tell a birthday) until it fires: it
            // goes first, or the erasure fails and is retried while the follow-up still finds it.
            self.alarms.clear_or_fail(&follow_up).await?;
            self.delete(format!("MSG#{}", follow_up.key), "FOLLOWUP", "erase_customer")
                .await?;
        }
        for order in &customer.orders {
            let pk = format!("ORDER#{order}");
            for item in self.query_partition(&pk, "", "erase_customer").await? {
                let sk = string_attr(&item, "sk").unwrap_or_default().to_owned();
                // The erasure's own marker (written first) stays: it holds nothing personal.
                if sk != "ERASED" {
                    self.delete(pk.clone(), &sk, "erase_customer").await?;
                }
            }
        }
        for cart in &customer.carts {
            self.delete(format!("CART#{cart}"), "CART", "erase_customer").await?;
            self.delete(format!("CART#{cart}"), "ORDERED", "erase_customer").await?;
        }
        let bounces = format!("BOUNCES#{}", suppression_hash(&customer.profile.email));
        for item in self.query_partition(&bounces, "", "erase_customer").await? {
            let sk = string_attr(&item, "sk").unwrap_or_default().to_owned();
            self.delete(bounces.clone(), &sk, "erase_customer").await?;
        }
        // Profile, frequency-cap ledger and engagement counters share the customer's partition.
        let pk = format!("CUSTOMER#{id}");
        for item in self.query_partition(&pk, "", "erase_customer").await? {
            let sk = string_attr(&item, "sk").unwrap_or_default().to_owned();
            self.delete(pk.clone(), &sk, "erase_customer").await?;
        }
        Ok(())
    }

    async fn record_erasure(&self, erasure: &Erasure) -> Result<(), StoreError> {
        let marker = |pk: String, sk: &str| {
            let mut item = Self::key(pk, sk);
            item.insert("at".into(), s(erasure.at.to_string()));
            item
        };
        // No TTL: a redelivery can come any time, and a marker holds no personal data.
        let by_id = format!("ERASED#{}", erased_id_key(&erasure.customer_id));
        let by_address = format!("ERASED#{}", erased_address_key(&erasure.email));
        for pk in [by_id, by_address] {
            self.put(marker(pk, "ERASED"), "record_erasure").await?;
        }
        for order in &erasure.orders {
            self.put(marker(format!("ORDER#{order}"), "ERASED"), "record_erasure")
                .await?;
        }
        Ok(())
    }

    async fn opt_out(&self, email: &EmailAddress, at: Timestamp) -> Result<(), StoreError> {
        let mut item = Self::key(format!("OPTOUT#{}", opted_out_key(email)), "OPTOUT");
        item.insert("at_epoch".into(), n(at.as_second()));
        item.insert("at".into(), s(at.to_string()));
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(pk) OR at_epoch <= :at")
            .expression_attribute_values(":at", n(at.as_second()))
            .send()
            .await;
        // Refused: a later opt-out is already recorded.
        conditional(result, "opt_out").map(|_| ())
    }

    async fn lift_opt_out(&self, email: &EmailAddress, at: Timestamp) -> Result<(), StoreError> {
        let result = self
            .client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(Self::key(format!("OPTOUT#{}", opted_out_key(email)), "OPTOUT")))
            .condition_expression("at_epoch < :at")
            .expression_attribute_values(":at", n(at.as_second()))
            .send()
            .await;
        // Refused: no opt-out, or one made after this statement.
        conditional(result, "lift_opt_out").map(|_| ())
    }
}
