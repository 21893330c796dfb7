//! The store contract (tests/support/contract.rs) on DynamoDB (moto); tests/scenarios/contract.rs
//! runs the same checks on the memory store.

#[tokio::test]
async fn dynamodb_keeps_the_store_contract() {
    let aws = crate::aws_test().await;
    let store = tidings_aws::DynamoStore::new(
        aws_sdk_dynamodb::Client::new(&aws.sdk),
        aws.table.clone(),
        tidings_core::guest::GuestIds::demo(),
    );
    tidings_tests::contract::run_all(&store).await;
}
