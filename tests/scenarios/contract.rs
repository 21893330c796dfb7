//! The store contract (tests/support/contract) on the memory store; tests/aws/contract.rs runs
//! the same checks on DynamoDB.

use jiff::SignedDuration;
use tidings_core::adapters::memory::MemoryStore;
use tidings_core::domain::{CartId, OrderId};
use tidings_core::message::MessageKey;
use tidings_core::ports::retention::{BOUNCE_TTL, CART_TTL, CLAIM_TTL, HELD_TTL, MARKER_TTL, TRACKING_TTL};
use tidings_tests::contract::records::{WRITTEN, write_expiring};

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread().build().expect("runtime")
}

#[test]
fn the_memory_store_keeps_the_store_contract() {
    runtime().block_on(tidings_tests::contract::run_all(&MemoryStore::new()));
}

#[test]
fn the_memory_store_sets_every_follow_ups_alarm_before_storing_it() {
    runtime().block_on(tidings_tests::contract::alarms::every_follow_up_stored_has_its_alarm(
        MemoryStore::new(),
    ));
}

/// DynamoDB deletes a record some time after its TTL; the memory store deletes the same records
/// at their TTL (`ports::retention`) as the injected clock passes it (at most an hour late, as
/// its expiry runs hourly). Each is there the second before and gone at it; tests/aws/contract.rs
/// checks the TTLs DynamoDB's items carry.
#[test]
fn the_memory_store_expires_what_dynamodb_s_ttls_delete() {
    let store = MemoryStore::new();
    runtime().block_on(write_expiring(&store));
    let written = tidings_tests::ts(WRITTEN);
    let order = OrderId::parse("o-ttl").expect("id");
    let cart = CartId::parse("cart-ttl").expect("id");
    let key = MessageKey::parse("welcome#c-ttl").expect("key");
    let kept = |store: &MemoryStore| {
        let state = store.state();
        [
            state.held.contains_key(&order),
            state.soft_bounces.contains_key("ttl@example.com"),
            state.counted_events.contains_key("e-ttl"),
            state.carts.contains_key(&cart),
            !state.tracking.is_empty(),
            state.claims.contains_key(&key),
        ]
    };
    assert_eq!(kept(&store), [true; 6]);
    let expected = [
        (HELD_TTL, [false, true, true, true, true, true]),
        (BOUNCE_TTL, [false, false, true, true, true, true]),
        (MARKER_TTL, [false, false, false, false, true, true]),
        (TRACKING_TTL, [false, false, false, false, false, true]),
        (CLAIM_TTL, [false; 6]),
    ];
    for (ttl, after) in expected {
        let second = SignedDuration::from_secs(1);
        store.state().expire(written + ttl - second);
        assert_ne!(kept(&store), after, "still there a second before {ttl:?}");
        store.state().expire(written + ttl);
        assert_eq!(kept(&store), after, "gone at {ttl:?}");
    }
    assert_eq!(CART_TTL, MARKER_TTL, "carts and markers go together above");
}
