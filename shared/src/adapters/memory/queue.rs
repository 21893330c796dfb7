//! The memory store's follow-up queue, indexed as DynamoDB indexes it: by due time (the `due`
//! index) and by customer (the `customer` index), so that finding what is due, or a customer's
//! follow-ups, costs what it costs on the table, not a pass over every waiting follow-up (which
//! made a long replay's time grow with the square of its history).

use crate::domain::CustomerId;
use crate::message::MessageKey;
use crate::ports::FollowUp;
use jiff::Timestamp;
use std::collections::{BTreeMap, BTreeSet};

/// A position in the due order: due time, then original due time, then key.
type DueAt = (Timestamp, Timestamp, MessageKey);

/// Waiting follow-ups by key, with their two indexes.
#[derive(Clone, Debug, Default)]
pub struct FollowUpQueue {
    by_key: BTreeMap<MessageKey, FollowUp>,
    due: BTreeSet<DueAt>,
    by_customer: BTreeMap<CustomerId, BTreeSet<MessageKey>>,
}

fn due_at(follow_up: &FollowUp) -> DueAt {
    (follow_up.due_at, follow_up.original_due, follow_up.key.clone())
}

impl FollowUpQueue {
    /// Creates or replaces the follow-up with this key.
    pub fn insert(&mut self, key: MessageKey, follow_up: FollowUp) -> Option<FollowUp> {
        let old = self.remove(&key);
        self.due.insert(due_at(&follow_up));
        self.by_customer
            .entry(follow_up.customer_id.clone())
            .or_default()
            .insert(key.clone());
        self.by_key.insert(key, follow_up);
        old
    }

    fn unindex(&mut self, follow_up: &FollowUp) {
        self.due.remove(&due_at(follow_up));
        if let Some(keys) = self.by_customer.get_mut(&follow_up.customer_id) {
            keys.remove(&follow_up.key);
            if keys.is_empty() {
                self.by_customer.remove(&follow_up.customer_id);
            }
        }
    }

    /// Deletes a follow-up.
    pub fn remove(&mut self, key: &MessageKey) -> Option<FollowUp> {
        let old = self.by_key.remove(key)?;
        self.unindex(&old);
        Some(old)
    }

    /// A follow-up by key.
    pub fn get(&self, key: &MessageKey) -> Option<&FollowUp> {
        self.by_key.get(key)
    }

    /// Whether one with this key waits.
    pub fn contains_key(&self, key: &MessageKey) -> bool {
        self.by_key.contains_key(key)
    }

    /// Keeps the follow-ups `keep` says yes to.
    pub fn retain(&mut self, mut keep: impl FnMut(&MessageKey, &FollowUp) -> bool) {
        let gone: Vec<MessageKey> = self
            .by_key
            .iter()
            .filter(|(key, follow_up)| !keep(key, follow_up))
            .map(|(key, _)| key.clone())
            .collect();
        for key in &gone {
            self.remove(key);
        }
    }

    /// Every follow-up, by key.
    pub fn values(&self) -> impl Iterator<Item = &FollowUp> {
        self.by_key.values()
    }

    /// Every key.
    pub fn keys(&self) -> impl Iterator<Item = &MessageKey> {
        self.by_key.keys()
    }

    /// How many wait.
    pub fn len(&self) -> usize {
        self.by_key.len()
    }

    /// Whether none waits.
    pub fn is_empty(&self) -> bool {
        self.by_key.is_empty()
    }

    /// Drops them all.
    pub fn clear(&mut self) {
        *self = Self::default();
    }

    /// Up to `limit` follow-ups due at or before `until`, earliest first.
    pub fn due(&self, until: Timestamp, limit: usize) -> Vec<FollowUp> {
        self.due
            .iter()
            .take_while(|(due, _, _)| *due <= until)
            .take(limit)
            .filter_map(|(_, _, key)| self.by_key.get(key).cloned())
            .collect()
    }

    /// A customer's follow-ups.
    pub fn of(&self, customer: &CustomerId) -> Vec<FollowUp> {
        self.by_customer
            .get(customer)
            .into_iter()
            .flatten()
            .filter_map(|key| self.by_key.get(key).cloned())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ports::Subject;

    fn follow_up(key: &str, customer: &str, due: &str) -> FollowUp {
        let at: Timestamp = due.parse().unwrap();
        FollowUp {
            key: MessageKey::parse(key).unwrap(),
            customer_id: CustomerId::parse(customer).unwrap(),
            subject: Subject::Customer,
            due_at: at,
            original_due: at,
            expires_at: at + jiff::SignedDuration::from_hours(48),
            coupon_waiting_since: None,
        }
    }

    #[test]
    fn the_indexes_follow_every_move_and_removal() {
        let mut queue = FollowUpQueue::default();
        let a = follow_up("welcome#c-1", "c-1", "2026-11-02T10:00:00Z");
        let b = follow_up("welcome#c-2", "c-2", "2026-11-01T10:00:00Z");
        queue.insert(a.key.clone(), a.clone());
        queue.insert(b.key.clone(), b.clone());
        let until: Timestamp = "2026-11-03T00:00:00Z".parse().unwrap();
        assert_eq!(queue.due(until, 10), vec![b.clone(), a.clone()]);
        // Moved later: out of the due window, still the customer's.
        let mut later = a.clone();
        later.due_at = "2026-11-05T10:00:00Z".parse().unwrap();
        queue.insert(later.key.clone(), later.clone());
        assert_eq!(queue.due(until, 10), vec![b.clone()]);
        assert_eq!(queue.of(&a.customer_id), vec![later.clone()]);
        // Replaced by an identical one: still indexed.
        queue.insert(later.key.clone(), later.clone());
        assert_eq!(queue.of(&a.customer_id), vec![later.clone()]);
        queue.retain(|_, f| f.customer_id != b.customer_id);
        assert!(queue.due(until, 10).is_empty());
        assert!(queue.of(&b.customer_id).is_empty());
        assert_eq!(queue.remove(&later.key), Some(later));
        assert!(queue.is_empty() && queue.due(Timestamp::MAX, 10).is_empty());
    }
}
