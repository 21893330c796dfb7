//! The `Upgrades` role (see `super::super::upgrade`).

use super::DynamoStore;
use crate::ports::{StoreError, Upgrades};
use jiff::Timestamp;

impl Upgrades for DynamoStore {
    async fn upgrade(&self, now: Timestamp) -> Result<bool, StoreError> {
        self.upgrade_guest_ids(now).await
    }
}
