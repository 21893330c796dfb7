//! Customers: one `BatchGetItem` for a customer and what an event about them is checked against.

use super::super::upgrade::{MARKER_PK, MARKER_SK};
use super::{DynamoStore, Item, conditional, corrupt, string_attr};
use jiff::Timestamp;
use std::sync::atomic::Ordering;
use tidings_core::domain::{CustomerId, EmailAddress};
use tidings_core::guest;
use tidings_core::ports::{CustomerFile, CustomerRecord, Customers, StoreError, erased_address_key, erased_id_key};

impl DynamoStore {
    /// The customer item at its next version.
    pub(super) fn customer_item(record: &CustomerRecord) -> Result<Item, StoreError> {
        let pk = format!("CUSTOMER#{}", record.profile.id);
        Self::versioned_item(record, record.version, pk, "PROFILE")
    }
}

impl Customers for DynamoStore {
    async fn customer(&self, id: &CustomerId) -> Result<Option<CustomerRecord>, StoreError> {
        self.get_record(format!("CUSTOMER#{id}"), "PROFILE", "customer").await
    }

    async fn customer_file(
        &self,
        id: &CustomerId,
        email: &EmailAddress,
        code: Option<&str>,
        address: Option<&CustomerId>,
    ) -> Result<CustomerFile, StoreError> {
        // One read: the profile, both erasure markers and the coupon the order used; for a guest
        // before the table is upgraded, also the profile an earlier release keyed by address, and
        // the upgrade's marker, so that this process stops asking once the upgrade is done.
        let customer_pk = format!("CUSTOMER#{id}");
        let legacy_pk = (id.as_str().starts_with(guest::PREFIX) && !self.upgraded.load(Ordering::Relaxed))
            .then(|| format!("CUSTOMER#{}{}", guest::PREFIX, email.as_str()))
            .filter(|pk| *pk != customer_pk);
        let coupon_pk = code.map(|code| format!("COUPON#{code}"));
        let address_pk = address
            .map(|guest| format!("CUSTOMER#{guest}"))
            .filter(|pk| *pk != customer_pk);
        let erased = [erased_id_key(id), erased_address_key(email)].map(|key| format!("ERASED#{key}"));
        let mut keys = vec![
            Self::key(customer_pk.clone(), "PROFILE"),
            Self::key(customer_pk.clone(), super::tallies::LEDGER),
        ];
        keys.extend(erased.iter().map(|pk| Self::key(pk.clone(), "ERASED")));
        keys.extend(coupon_pk.iter().map(|pk| Self::key(pk.clone(), "COUPON")));
        keys.extend(address_pk.iter().map(|pk| Self::key(pk.clone(), "PROFILE")));
        if let Some(pk) = &legacy_pk {
            keys.push(Self::key(pk.clone(), "PROFILE"));
            keys.push(Self::key(MARKER_PK.into(), MARKER_SK));
        }
        let items = self.batch_get(keys, "customer_file").await?;
        let mut file = CustomerFile::default();
        let mut legacy = None;
        for item in items {
            match string_attr(&item, "pk") {
                Some(pk) if pk == customer_pk && string_attr(&item, "sk") == Some(super::tallies::LEDGER) => {
                    file.ledger = super::tallies::ledger_or_empty(&item);
                }
                Some(pk) if pk == customer_pk => {
                    file.record = Some(serde_dynamo::from_item(item).map_err(corrupt(&customer_pk))?)
                }
                Some(pk) if Some(pk) == legacy_pk.as_deref() => {
                    let record: CustomerRecord =
                        serde_dynamo::from_item(self.current(item)).map_err(corrupt("a guest's earlier profile"))?;
                    legacy = Some(record);
                }
                Some(pk) if Some(pk) == address_pk.as_deref() => {
                    file.address_history =
                        Some(serde_dynamo::from_item(item).map_err(corrupt("the address's guest profile"))?)
                }
                Some(pk) if Some(pk) == coupon_pk.as_deref() => {
                    let pk = pk.to_owned();
                    file.coupon = Some(serde_dynamo::from_item(self.current(item)).map_err(corrupt(&pk))?)
                }
                Some(MARKER_PK) if item.contains_key("done_at") => self.upgraded.store(true, Ordering::Relaxed),
                Some(pk) if erased.iter().any(|e| e == pk) => {
                    let at = string_attr(&item, "at").and_then(|at| at.parse::<Timestamp>().ok());
                    file.erased_at = file.erased_at.max(at);
                }
                _ => {}
            }
        }
        // Saved under the new key as a new item; `upgrade` then drops the old one. Not after an
        // erasure: what the old key still holds is what the erasure could not reach.
        if file.record.is_none()
            && file.erased_at.is_none()
            && let Some(mut record) = legacy
        {
            record.version = 0;
            file.record = Some(record);
        }
        Ok(file)
    }

    async fn save_customer(&self, record: &CustomerRecord) -> Result<(), StoreError> {
        // A single put (not a one-item transaction, which costs twice the write capacity).
        let put = self.versioned_put(Self::customer_item(record)?, record.version, false, "save_customer")?;
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(put.item))
            .set_condition_expression(put.condition_expression)
            .set_expression_attribute_values(put.expression_attribute_values)
            .send()
            .await;
        match conditional(result, "save_customer")? {
            true => Ok(()),
            false => Err(StoreError::Conflict {
                item: format!("customer {}", record.profile.id.redacted()),
            }),
        }
    }
}
