//! The store contract (tests/support/contract) on DynamoDB (moto); tests/scenarios/contract.rs
//! runs the same checks on the memory store.

use std::collections::BTreeMap;
use tidings_core::ports::retention::{BOUNCE_TTL, CART_TTL, CLAIM_TTL, MARKER_TTL, TRACKING_TTL, held_until};
use tidings_tests::contract::records::{WRITTEN, write_expiring};

fn store(aws: &tidings_tests::moto::AwsTest) -> tidings_aws::DynamoStore {
    tidings_aws::DynamoStore::new(
        aws_sdk_dynamodb::Client::new(&aws.sdk),
        aws.table.clone(),
        tidings_core::guest::GuestIds::demo(),
    )
}

#[tokio::test]
async fn dynamodb_keeps_the_store_contract() {
    let aws = crate::aws_test().await;
    tidings_tests::contract::run_all(&store(&aws)).await;
}

#[tokio::test]
async fn dynamodb_sets_every_follow_ups_alarm_before_writing_it() {
    let aws = crate::aws_test().await;
    tidings_tests::contract::alarms::every_follow_up_stored_has_its_alarm(store(&aws)).await;
}

/// The TTLs DynamoDB's items carry are the shared retention the memory store expires by.
#[tokio::test]
async fn dynamodb_items_expire_by_the_shared_retention() {
    let aws = crate::aws_test().await;
    let held = write_expiring(&store(&aws)).await;
    let items = aws_sdk_dynamodb::Client::new(&aws.sdk)
        .scan()
        .table_name(&aws.table)
        .send()
        .await
        .expect("scan")
        .items
        .unwrap_or_default();
    let ttls: BTreeMap<(String, String), i64> = items
        .iter()
        .filter_map(|item| {
            let text = |name: &str| item.get(name)?.as_s().ok().cloned();
            let ttl = item.get("ttl")?.as_n().ok()?.parse().ok()?;
            Some(((text("pk")?, text("sk")?), ttl))
        })
        .collect();
    let written = tidings_tests::ts(WRITTEN);
    let ttl_of = |pk_start: &str, sk: &str| {
        ttls.iter()
            .find(|((pk, s), _)| pk.starts_with(pk_start) && s == sk)
            .map(|(_, ttl)| *ttl)
            .unwrap_or_else(|| panic!("no {pk_start} {sk} item with a TTL in {ttls:?}"))
    };
    assert_eq!(ttl_of("MSG#welcome#c-ttl", "CLAIM"), (written + CLAIM_TTL).as_second());
    assert_eq!(ttl_of("CART#cart-ttl", "CART"), (written + CART_TTL).as_second());
    assert_eq!(
        ttl_of("ORDER#o-ttl", &tidings_tests::contract::records::held_id(&held)),
        held_until(&held, written).as_second()
    );
    assert_eq!(ttl_of("BOUNCES#", "BOUNCE#b-ttl"), (written + BOUNCE_TTL).as_second());
    assert_eq!(ttl_of("SESEVENT#e-ttl", "SESEVENT"), (written + MARKER_TTL).as_second());
    assert_eq!(ttl_of("TRACKING#1ZTTL", "OWNER"), (written + TRACKING_TTL).as_second());
}
