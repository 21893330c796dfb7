//! The store contract (tests/support/contract.rs) on the memory store; tests/aws/contract.rs runs
//! the same checks on DynamoDB.

#[test]
fn the_memory_store_keeps_the_store_contract() {
    let runtime = tokio::runtime::Builder::new_current_thread().build().expect("runtime");
    runtime.block_on(tidings_tests::contract::run_all(
        &tidings_core::adapters::memory::MemoryStore::new(),
    ));
}
