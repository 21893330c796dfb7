//! The store contract (issue 16, first part): what every `Store` promises, as generic async
//! checks run against the memory store (tests/scenarios/contract.rs) and against DynamoDB on moto
//! (tests/aws/contract.rs). A difference between the two stores fails one of the two runs.

pub mod alarms;
pub mod records;
pub mod tallies;

use jiff::SignedDuration;
use tidings_core::domain::{CustomerId, EmailAddress};
use tidings_core::engine::merge_customer;
use tidings_core::message::MessageKey;
use tidings_core::ports::{Claim, ClaimOutcome, Erasure, FollowUp, Store, StoreError, Subject};

pub(crate) fn address(text: &str) -> EmailAddress {
    EmailAddress::parse(text).expect("address")
}

pub(crate) fn id(text: &str) -> CustomerId {
    CustomerId::parse(text).expect("id")
}

pub(crate) fn key(text: &str) -> MessageKey {
    MessageKey::parse(text).expect("key")
}

pub(crate) fn claim(message: &str, at: &str) -> Claim {
    Claim {
        key: key(message),
        customer_id: id("c-1"),
        to: address("ada@example.com"),
        at: crate::ts(at),
        lease: SignedDuration::from_mins(2),
        cap: None,
        consent: None,
        sending: true,
        coupon: None,
    }
}

/// Every check, in order; `name` is printed with a failure.
pub async fn run_all<S: Store>(store: &S) {
    soft_bounces_are_counted_per_address_whatever_its_case(store).await;
    a_claim_is_exclusive_and_a_sent_message_is_never_claimed_again(store).await;
    a_released_claim_can_be_taken_again(store).await;
    a_lease_ends_with_the_second_it_falls_in(store).await;
    the_frequency_cap_counts_whole_seconds(store).await;
    a_new_customer_is_created_once(store).await;
    follow_ups_come_due_in_order_and_adding_one_is_create_only(store).await;
    an_erasure_is_seen_by_the_id_and_by_the_address_in_any_case(store).await;
    the_address_as_a_guest_is_read_with_the_customer_file(store).await;
    a_second_gives_the_send_rate_and_the_day_counts_them(store).await;
    records::held_events_have_one_id_and_list_oldest_first(store).await;
    records::statistics_count_an_order_for_the_next_reader(store).await;
    records::a_write_of_more_than_a_transaction_lands_whole(store).await;
    records::a_tracking_number_finds_the_latest_parcel_shipped_with_it(store).await;
    records::a_waiting_scan_and_its_parcel_each_see_the_other(store).await;
    tallies::a_fact_is_counted_once_and_a_stale_ledger_is_refused(store).await;
    tallies::an_erased_customer_keeps_no_ledger(store).await;
}

/// SES's send rate: `rate` sends per whole second, whatever its fraction; the UTC day's count.
pub async fn a_second_gives_the_send_rate_and_the_day_counts_them<S: Store>(store: &S) {
    let take = |at: &str| store.take_send_slot(crate::ts(at), 2);
    assert_eq!(take("2026-11-03T23:59:58.100Z").await.expect("slot"), Some(1));
    assert_eq!(take("2026-11-03T23:59:58.900Z").await.expect("slot"), Some(2));
    assert_eq!(
        take("2026-11-03T23:59:58.950Z").await.expect("slot"),
        None,
        "the rate is per second"
    );
    assert_eq!(
        take("2026-11-03T23:59:59Z").await.expect("slot"),
        Some(3),
        "a new second"
    );
    assert_eq!(
        take("2026-11-04T00:00:00Z").await.expect("slot"),
        Some(1),
        "a new UTC day"
    );
}

/// DynamoDB keys soft bounces by the whole address lowercased; so does the memory store.
pub async fn soft_bounces_are_counted_per_address_whatever_its_case<S: Store>(store: &S) {
    let since = crate::ts("2026-11-01T00:00:00Z");
    let first = store
        .count_soft_bounce(
            &address("Zoe@Example.com"),
            "b-1",
            crate::ts("2026-11-02T00:00:00Z"),
            since,
        )
        .await
        .expect("counted");
    let second = store
        .count_soft_bounce(
            &address("zoe@example.com"),
            "b-2",
            crate::ts("2026-11-03T00:00:00Z"),
            since,
        )
        .await
        .expect("counted");
    let again = store
        .count_soft_bounce(
            &address("ZOE@example.com"),
            "b-2",
            crate::ts("2026-11-03T00:00:00Z"),
            since,
        )
        .await
        .expect("counted");
    assert_eq!((first, second, again), (1, 2, 2), "one address, each event once");
}

pub async fn a_claim_is_exclusive_and_a_sent_message_is_never_claimed_again<S: Store>(store: &S) {
    let first = claim("order_confirmation#contract-1", "2026-11-02T10:00:00Z");
    assert_eq!(store.claim_message(&first).await.expect("claim"), ClaimOutcome::Claimed);
    let rival = claim("order_confirmation#contract-1", "2026-11-02T10:00:30Z");
    assert!(
        matches!(
            store.claim_message(&rival).await.expect("claim"),
            ClaimOutcome::InFlight { .. }
        ),
        "a second claim inside the lease waits"
    );
    store
        .mark_sent(&first.key, "ses-1", crate::ts("2026-11-02T10:00:01Z"))
        .await
        .expect("sent");
    let later = claim("order_confirmation#contract-1", "2026-11-05T10:00:00Z");
    assert_eq!(
        store.claim_message(&later).await.expect("claim"),
        ClaimOutcome::AlreadySent
    );
}

pub async fn a_released_claim_can_be_taken_again<S: Store>(store: &S) {
    let first = claim("order_confirmation#contract-2", "2026-11-02T10:00:00Z");
    assert_eq!(store.claim_message(&first).await.expect("claim"), ClaimOutcome::Claimed);
    store.release_claim(&first.key).await.expect("released");
    let again = claim("order_confirmation#contract-2", "2026-11-02T10:00:05Z");
    assert_eq!(store.claim_message(&again).await.expect("claim"), ClaimOutcome::Claimed);
}

/// DynamoDB compares leases in whole seconds: a claim taken at 10:00:00.900 for two minutes holds
/// to the end of 10:02:00 and no longer, on both stores.
pub async fn a_lease_ends_with_the_second_it_falls_in<S: Store>(store: &S) {
    let taken = Claim {
        sending: false,
        ..claim("order_confirmation#contract-3", "2026-11-02T10:00:00.900Z")
    };
    assert_eq!(store.claim_message(&taken).await.expect("claim"), ClaimOutcome::Claimed);
    let inside = Claim {
        sending: false,
        ..claim("order_confirmation#contract-3", "2026-11-02T10:02:00.950Z")
    };
    assert_eq!(
        store.claim_message(&inside).await.expect("claim"),
        ClaimOutcome::InFlight {
            until: crate::ts("2026-11-02T10:02:01Z")
        }
    );
    let after = Claim {
        sending: false,
        ..claim("order_confirmation#contract-3", "2026-11-02T10:02:01Z")
    };
    assert_eq!(
        store.claim_message(&after).await.expect("claim"),
        ClaimOutcome::Claimed,
        "taken over"
    );
}

/// A marketing claim a day (less half a second) after one at 10:00:00.900 is free on both stores:
/// DynamoDB compares the cap in whole seconds.
pub async fn the_frequency_cap_counts_whole_seconds<S: Store>(store: &S) {
    let marketing = |message: &str, at: &str| Claim {
        customer_id: id("c-cap"),
        to: address("cap@example.com"),
        cap: Some(SignedDuration::from_hours(24)),
        ..claim(message, at)
    };
    let first = marketing("win_back#c-cap#o-1", "2026-11-02T10:00:00.900Z");
    assert_eq!(store.claim_message(&first).await.expect("claim"), ClaimOutcome::Claimed);
    let too_soon = marketing("cross_sell#o-2", "2026-11-03T09:59:59.500Z");
    assert_eq!(
        store.claim_message(&too_soon).await.expect("claim"),
        ClaimOutcome::CapReached {
            last: crate::ts("2026-11-02T10:00:00Z")
        }
    );
    let next_day = marketing("cross_sell#o-3", "2026-11-03T10:00:00.500Z");
    assert_eq!(
        store.claim_message(&next_day).await.expect("claim"),
        ClaimOutcome::Claimed
    );
}

pub async fn a_new_customer_is_created_once<S: Store>(store: &S) {
    let profile = serde_json::from_value(serde_json::json!({
        "id": "contract-customer", "email": "grace@example.com", "marketing_consent": true
    }))
    .expect("customer");
    let record = merge_customer(None, &profile, crate::ts("2026-11-02T10:00:00Z"), true, false);
    store.save_customer(&record).await.expect("created");
    let twice = store.save_customer(&record).await;
    assert!(matches!(twice, Err(StoreError::Conflict { .. })), "{twice:?}");
    let stored = store
        .customer(&id("contract-customer"))
        .await
        .expect("read")
        .expect("stored");
    assert_eq!(stored.profile.email.as_str(), "grace@example.com");
}

pub async fn follow_ups_come_due_in_order_and_adding_one_is_create_only<S: Store>(store: &S) {
    let follow_up = |name: &str, due: &str, original: &str| FollowUp {
        key: key(name),
        customer_id: id("c-contract"),
        subject: Subject::Customer,
        due_at: crate::ts(due),
        original_due: crate::ts(original),
        expires_at: crate::ts("2026-12-31T00:00:00Z"),
        coupon_waiting_since: None,
    };
    let late = follow_up(
        "welcome_offer#c-contract-b",
        "2026-11-10T10:00:00Z",
        "2026-11-09T10:00:00Z",
    );
    let early = follow_up(
        "welcome_offer#c-contract-a",
        "2026-11-10T10:00:00Z",
        "2026-11-08T10:00:00Z",
    );
    let never = follow_up(
        "welcome_offer#c-contract-c",
        "2026-11-20T10:00:00Z",
        "2026-11-20T10:00:00Z",
    );
    for f in [&late, &early, &never] {
        assert!(store.add_follow_up(f).await.expect("added"));
    }
    assert!(!store.add_follow_up(&late).await.expect("add"), "create-only");
    let due = store
        .due_follow_ups(crate::ts("2026-11-15T00:00:00Z"), 10)
        .await
        .expect("due");
    let keys: Vec<&str> = due.iter().map(|f| f.key.as_str()).collect();
    assert_eq!(
        keys,
        [early.key.as_str(), late.key.as_str()],
        "ties by original due time"
    );
    store.remove_follow_up(&early.key).await.expect("removed");
    assert_eq!(store.follow_up(&early.key).await.expect("read"), None);
}

pub async fn an_erasure_is_seen_by_the_id_and_by_the_address_in_any_case<S: Store>(store: &S) {
    let at = crate::ts("2026-11-02T10:00:00Z");
    store
        .record_erasure(&Erasure {
            customer_id: id("erased-1"),
            email: address("Erased@Example.com"),
            orders: vec![],
            at,
        })
        .await
        .expect("remembered");
    let by_id = store
        .customer_file(&id("erased-1"), &address("other@example.com"), None, None)
        .await
        .expect("file");
    let by_address = store
        .customer_file(&id("another-id"), &address("erased@example.com"), None, None)
        .await
        .expect("file");
    assert_eq!((by_id.erased_at, by_address.erased_at), (Some(at), Some(at)));
}

pub async fn the_address_as_a_guest_is_read_with_the_customer_file<S: Store>(store: &S) {
    let guest: tidings_core::domain::Customer = serde_json::from_value(serde_json::json!({
        "id": "guest:0123456789abcdef0123456789abcdef", "email": "lin@example.com", "marketing_consent": false
    }))
    .expect("customer");
    let record = merge_customer(None, &guest, crate::ts("2026-11-02T10:00:00Z"), false, false);
    store.save_customer(&record).await.expect("saved");
    let file = store
        .customer_file(&id("9001"), &address("lin@example.com"), None, Some(&guest.id))
        .await
        .expect("file");
    assert_eq!(file.record, None);
    assert_eq!(file.address_history.map(|r| r.profile.id), Some(guest.id.clone()));
}
