//! The `Upgrades` role (see `super::super::upgrade`).

use super::DynamoStore;
use jiff::Timestamp;
use tidings_core::ports::{StoreError, Upgrades};

impl Upgrades for DynamoStore {
    async fn upgrade(&self, now: Timestamp) -> Result<bool, StoreError> {
        self.upgrade_guest_ids(now).await
    }
}
