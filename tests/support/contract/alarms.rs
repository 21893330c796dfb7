//! What a store given an alarm clock promises (`ports::alarms`): every follow-up it stores, by
//! every path, has had its alarm set first, so a follow-up whose alarm cannot be set is not
//! stored; a moved, removed or erased follow-up's alarm is cleared.

use super::{id, key};
use crate::faults::Alarmed;
use jiff::Timestamp;
use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use tidings_core::engine::merge_customer;
use tidings_core::event::FollowUpDue;
use tidings_core::ports::{AlarmClock, AlarmFuture, Changes, FollowUp, Store, StoreError, Subject};

/// An alarm clock that remembers what is set (key and due time) and can refuse.
#[derive(Default)]
pub struct Recorder {
    set: Mutex<BTreeSet<(String, String)>>,
    refuse: AtomicBool,
}

impl Recorder {
    fn has(&self, follow_up: &FollowUp) -> bool {
        self.set.lock().expect("alarms").contains(&entry(follow_up))
    }

    /// An error when told to refuse, as Scheduler's would be.
    fn refusing(&self, operation: &'static str) -> Result<(), StoreError> {
        match self.refuse.load(Ordering::SeqCst) {
            true => Err(StoreError::Unavailable {
                operation,
                source: "Scheduler refused (the contract's)".into(),
            }),
            false => Ok(()),
        }
    }

    fn len(&self) -> usize {
        self.set.lock().expect("alarms").len()
    }
}

fn entry(follow_up: &FollowUp) -> (String, String) {
    (follow_up.key.to_string(), follow_up.due_at.to_string())
}

impl AlarmClock for Recorder {
    fn set<'a>(&'a self, follow_up: &'a FollowUp) -> AlarmFuture<'a> {
        Box::pin(async move {
            self.refusing("set alarm")?;
            self.set.lock().expect("alarms").insert(entry(follow_up));
            Ok(())
        })
    }

    fn again<'a>(&'a self, due: &'a FollowUpDue, at: Timestamp) -> AlarmFuture<'a> {
        Box::pin(async move {
            let entry = (format!("{} again", due.key), at.to_string());
            self.set.lock().expect("alarms").insert(entry);
            Ok(())
        })
    }

    fn clear<'a>(&'a self, follow_up: &'a FollowUp) -> AlarmFuture<'a> {
        Box::pin(async move {
            self.refusing("clear alarm")?;
            self.set.lock().expect("alarms").remove(&entry(follow_up));
            Ok(())
        })
    }
}

fn follow_up(name: &str, due: &str) -> FollowUp {
    FollowUp {
        key: key(name),
        customer_id: id("c-alarms"),
        subject: Subject::Customer,
        due_at: crate::ts(due),
        original_due: crate::ts(due),
        expires_at: crate::ts("2026-12-31T00:00:00Z"),
        coupon_waiting_since: None,
    }
}

/// Runs the checks on `store` with a recorder as its alarm clock.
pub async fn every_follow_up_stored_has_its_alarm<S: Store + Alarmed>(store: S) {
    let alarms = Arc::new(Recorder::default());
    let store = store.with_alarms(Arc::clone(&alarms) as Arc<dyn AlarmClock>);

    // Set by every path that stores one.
    let scheduled = follow_up("welcome_offer#c-alarms", "2026-11-10T10:00:00Z");
    store.schedule(&scheduled).await.expect("scheduled");
    let added = follow_up("win_back#c-alarms#o-1", "2026-12-01T10:00:00Z");
    assert!(store.add_follow_up(&added).await.expect("added"));
    let together = follow_up("birthday#c-alarms#2027", "2027-03-14T14:00:00Z");
    let profile = serde_json::from_value(serde_json::json!({
        "id": "c-alarms", "email": "alarms@example.com", "marketing_consent": true
    }))
    .expect("customer");
    let customer = merge_customer(None, &profile, crate::ts("2026-11-02T10:00:00Z"), true, false);
    store
        .save_together(&Changes {
            customer: Some(&customer),
            follow_ups: std::slice::from_ref(&together),
            ..Changes::default()
        })
        .await
        .expect("saved");
    for f in [&scheduled, &added, &together] {
        assert!(alarms.has(f), "{} has its alarm", f.key);
    }

    // Moved: the new time's alarm, the old one cleared.
    let moved = follow_up("welcome_offer#c-alarms", "2026-11-11T10:00:00Z");
    store.schedule(&moved).await.expect("moved");
    assert!(alarms.has(&moved) && !alarms.has(&scheduled), "moved");

    // Removed: cleared.
    store.remove_follow_up(&added.key).await.expect("removed");
    assert!(!alarms.has(&added), "removed");

    // Scheduler refusing: the write fails and nothing is stored, by any path.
    alarms.refuse.store(true, Ordering::SeqCst);
    let refused = follow_up("welcome_offer#c-alarms-2", "2026-11-12T10:00:00Z");
    assert!(store.schedule(&refused).await.is_err());
    assert!(store.add_follow_up(&refused).await.is_err());
    let refused_together = Changes {
        follow_ups: std::slice::from_ref(&refused),
        ..Changes::default()
    };
    assert!(store.save_together(&refused_together).await.is_err());
    assert_eq!(store.follow_up(&refused.key).await.expect("read"), None, "not stored");

    // An erasure clears every alarm of the customer first: one that cannot be cleared fails it,
    // and the retry still finds the follow-ups (and so their alarms).
    assert!(store.erase_customer(&customer).await.is_err(), "Scheduler refusing");
    assert!(
        store.follow_up(&together.key).await.expect("read").is_some(),
        "kept for the retry"
    );
    alarms.refuse.store(false, Ordering::SeqCst);
    assert_eq!(alarms.len(), 2, "the moved welcome offer and the birthday");
    store.erase_customer(&customer).await.expect("erased");
    assert_eq!(alarms.len(), 0, "erased");
    assert_eq!(store.follow_up(&together.key).await.expect("read"), None);
}
