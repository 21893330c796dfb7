//! The fault-injection run (tests/support/faults) on DynamoDB (moto): the same history and fault
//! schedule as on the memory store, against the real SDK client and moto's conditional writes and
//! transactions. No concurrent pairs here: their interleaving would depend on network timing,
//! and a seed must replay identically (the memory store's seeds run them).

use tidings_tests::faults::{Rates, Scenario, run_on, runtime};

#[test]
fn dynamodb_keeps_every_promise_under_faults() {
    // Its own thread with room for the engine's futures over the SDK's (deep in a debug build).
    std::thread::Builder::new()
        .stack_size(64 << 20)
        .spawn(|| runtime().block_on(faults_on_dynamodb()))
        .expect("thread")
        .join()
        .expect("the run's assertions hold");
}

async fn faults_on_dynamodb() {
    let aws = crate::aws_test().await;
    let store = tidings_aws::DynamoStore::new(
        aws_sdk_dynamodb::Client::new(&aws.sdk),
        aws.table.clone(),
        tidings_core::guest::GuestIds::demo(),
    );
    let scenario = Scenario {
        seed: 7,
        customers: 15,
        rates: Rates {
            concurrent: 0.0,
            tallies: 0.05,
            ..Rates::DEFAULT
        },
        carrier_scans: true,
        holdouts: true,
    };
    let report = run_on(store, scenario).await;
    println!("{report}");
    report.assert_holds();
    assert!(report.faults.injected() > 20, "{report}");
}
