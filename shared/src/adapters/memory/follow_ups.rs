//! The memory store's follow-up queue, with the alarms a store given an alarm clock sets (as the
//! DynamoDB store's `follow_ups.rs`).

use super::MemoryStore;
use crate::domain::CustomerId;
use crate::message::MessageKey;
use crate::ports::{FollowUp, FollowUps, StoreError};
use jiff::Timestamp;

impl FollowUps for MemoryStore {
    async fn schedule(&self, follow_up: &FollowUp) -> Result<(), StoreError> {
        self.alarms.set(std::slice::from_ref(follow_up)).await?;
        let moved = self.state().follow_ups.insert(follow_up.key.clone(), follow_up.clone());
        if let Some(moved) = moved.filter(|old| old.due_at != follow_up.due_at) {
            self.alarms.clear(&moved).await;
        }
        Ok(())
    }

    async fn add_follow_up(&self, follow_up: &FollowUp) -> Result<bool, StoreError> {
        self.alarms.set(std::slice::from_ref(follow_up)).await?;
        let mut state = self.state();
        if state.follow_ups.contains_key(&follow_up.key) {
            return Ok(false);
        }
        state.follow_ups.insert(follow_up.key.clone(), follow_up.clone());
        Ok(true)
    }

    async fn follow_up(&self, key: &MessageKey) -> Result<Option<FollowUp>, StoreError> {
        Ok(self.state().follow_ups.get(key).cloned())
    }

    async fn remove_follow_up(&self, key: &MessageKey) -> Result<(), StoreError> {
        let removed = self.state().follow_ups.remove(key);
        if let Some(removed) = removed {
            self.alarms.clear(&removed).await;
        }
        Ok(())
    }

    async fn due_follow_ups(&self, until: Timestamp, limit: usize) -> Result<Vec<FollowUp>, StoreError> {
        Ok(self.state().follow_ups.due(until, limit))
    }

    async fn follow_ups_of(&self, customer: &CustomerId) -> Result<Vec<FollowUp>, StoreError> {
        Ok(self.state().follow_ups.of(customer))
    }

    async fn ring_again(&self, due: &crate::event::FollowUpDue, at: Timestamp) -> Result<bool, StoreError> {
        self.alarms.again(due, at).await
    }
}
