//! `tidings-aws report` on DynamoDB (moto): the counters the functions keep as they go give the
//! same report, figure for figure, as the memory store's for the same history, and the memory
//! store's are what a replay's facts give (tests/scenarios/report.rs).

use jiff::SignedDuration;
use tidings_core::message::MessageKind;
use tidings_core::ports::Tallies;
use tidings_core::report::{DEFAULT_WINDOW_DAYS, Report, show};
use tidings_tests::faults::{Rates, Rng, generate, run_history, runtime};

#[test]
fn the_tables_counters_give_the_report_the_memory_store_gives() {
    // Its own thread with room for the engine's futures over the SDK's (deep in a debug build).
    std::thread::Builder::new()
        .stack_size(64 << 20)
        .spawn(|| runtime().block_on(report_on_dynamodb()))
        .expect("thread")
        .join()
        .expect("the run's assertions hold");
}

async fn report_on_dynamodb() {
    let aws = crate::aws_test().await;
    let store = tidings_aws::DynamoStore::new(
        aws_sdk_dynamodb::Client::new(&aws.sdk),
        aws.table.clone(),
        tidings_core::guest::GuestIds::demo(),
    )
    // Recommendations from the statistics as they stand, as the memory store's run makes them.
    .with_fresh_statistics();
    // A seed whose ten customers are enough for orders credited by coupon and click, and for
    // someone held out of both kinds (found on the memory store, which gives the same run).
    let seed = 2;
    let history = generate(&mut Rng::new(seed), 10, true);
    // No faults: the table's run makes the same sends at the same times as the memory store's,
    // so every counter must match. Cross-sells and win-backs hold out 20 %.
    let run = run_history(
        store.clone(),
        seed,
        &history,
        Rates::NONE,
        true,
        SignedDuration::from_hours(40 * 24),
    )
    .await;
    run.assert_holds();
    let table = &run.counted;
    println!("{run}");
    assert_eq!(
        table, &run.counted_reference,
        "the table's report is the memory store's"
    );
    // The same through the command's own path: the counters read back in one query.
    let read = Report::from_counters(&store.counters().await.expect("counters"), DEFAULT_WINDOW_DAYS);
    assert_eq!(&read, table);

    let sent: u64 = table.kinds.values().map(|c| c.sent).sum();
    assert_eq!(sent as usize, run.sends, "each message SES accepted counted once");
    let orders: u64 = table.flows.values().map(|c| c.orders).sum();
    assert!(orders > 0, "orders were credited: {table:?}");
    assert!(table.flows.values().any(|c| !c.revenue.is_empty()), "{table:?}");
    for kind in [MessageKind::CrossSell, MessageKind::WinBack] {
        let lift = table
            .lifts
            .get(&kind)
            .unwrap_or_else(|| panic!("{kind} has a lift: {table:?}"));
        assert!(lift.holdouts > 0 && lift.receivers > 0, "{kind}: {lift:?}");
        assert!(lift.interval.0 <= lift.lift && lift.lift <= lift.interval.1, "{lift:?}");
    }
    let text = show::table(table);
    assert!(
        text.contains("Holdout, cross_sell") && text.contains("after the order"),
        "{text}"
    );
    println!("{text}");
}
