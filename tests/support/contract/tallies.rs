//! The report's counters (`Tallies`): a fact's change lands whole or not at all, a marker counts
//! it once, a ledger moved on refuses a stale write, and an erased customer's ledger stays gone.

use super::{address, id, key};
use tidings_core::ports::{Erasure, Store, StoreError};
use tidings_core::report::tally::{marker, tally};
use tidings_core::report::{Fact, window};

fn conflict<T: std::fmt::Debug>(result: Result<T, StoreError>) -> bool {
    matches!(result, Err(StoreError::Conflict { .. }))
}

pub async fn a_fact_is_counted_once_and_a_stale_ledger_is_refused<S: Store>(store: &S) {
    let who = id("tally-1");
    let sent = Fact::Sent {
        key: key("win_back#tally-1#2026-11-02"),
        customer_id: who.clone(),
        at: crate::ts("2026-11-02T10:00:00Z"),
    };
    let mark = marker(&sent);
    let file = store.ledger(&who, mark.as_deref()).await.expect("ledger");
    assert_eq!((file.version, file.counted, file.erased), (0, false, false));
    let change = tally(&sent, &file.ledger, window(5));
    assert!(change.ledger.is_some(), "a marketing send changes the ledger");
    store.count(&who, 0, mark.as_deref(), &change).await.expect("counted");
    // The same fact again (a redelivered report): refused whole, nothing added twice.
    assert!(conflict(store.count(&who, 0, mark.as_deref(), &change).await));
    let file = store.ledger(&who, mark.as_deref()).await.expect("ledger");
    assert!(file.counted);
    assert_eq!(file.version, 1);
    assert_eq!(Some(&file.ledger), change.ledger.as_ref());

    // A fact folded from the ledger as it was before: its version moved on, nothing is written
    // (not its marker either); folded again from the fresh ledger, it lands.
    let held = Fact::HeldOut {
        key: key("cross_sell#o-tally"),
        customer_id: who.clone(),
        at: crate::ts("2026-11-03T09:00:00Z"),
    };
    let held_mark = marker(&held);
    let stale = tally(&held, &Default::default(), window(5));
    assert!(conflict(store.count(&who, 0, held_mark.as_deref(), &stale).await));
    let file = store.ledger(&who, held_mark.as_deref()).await.expect("ledger");
    assert!(!file.counted, "a refused change sets no marker");
    let fresh = tally(&held, &file.ledger, window(5));
    store
        .count(&who, 1, held_mark.as_deref(), &fresh)
        .await
        .expect("counted");
    let unsubscribed = Fact::Unsubscribed {
        customer_id: who.clone(),
        at: crate::ts("2026-11-03T10:00:00Z"),
    };
    let file = store.ledger(&who, None).await.expect("ledger");
    let change = tally(&unsubscribed, &file.ledger, window(5));
    store.count(&who, file.version, None, &change).await.expect("counted");

    let counters = store.counters().await.expect("counters");
    let kind = &counters["KIND#win_back"];
    assert_eq!((kind["sent"], kind["unsubscribed"]), (1, 1), "{counters:?}");
    assert_eq!(counters["LIFT#win_back"]["receivers"], 1);
    assert_eq!(counters["LIFT#cross_sell"]["holdouts"], 1);
    assert_eq!(counters["DAY#2026-11-02#win-back"]["sent"], 1);
}

pub async fn an_erased_customer_keeps_no_ledger<S: Store>(store: &S) {
    let who = id("tally-erased");
    let sent = Fact::Sent {
        key: key("welcome#tally-erased"),
        customer_id: who.clone(),
        at: crate::ts("2026-11-02T10:00:00Z"),
    };
    store
        .record_erasure(&Erasure {
            customer_id: who.clone(),
            email: address("tally-erased@example.com"),
            orders: vec![],
            at: crate::ts("2026-11-02T09:00:00Z"),
        })
        .await
        .expect("remembered");
    let mark = marker(&sent);
    let file = store.ledger(&who, mark.as_deref()).await.expect("ledger");
    assert!(file.erased);
    // A write folded before the erasure was seen is refused.
    let change = tally(&sent, &file.ledger, window(5));
    assert!(conflict(store.count(&who, 0, mark.as_deref(), &change).await));
    let file = store.ledger(&who, mark.as_deref()).await.expect("ledger");
    assert_eq!((file.version, file.counted), (0, false));
}
