//! Issue 16: the fault-injection run on fixed seeds (the long run: `scripts/fault-run`).

use jiff::SignedDuration;
use tidings_core::adapters::memory::MemoryStore;
use tidings_tests::faults::{Rates, Report, Rng, Scenario, run, run_history, runtime, sale};

#[test]
fn fixed_seeds_keep_every_promise_under_faults() {
    for seed in 1..=4 {
        let report = run(Scenario::seed(seed));
        println!("{report}");
        report.assert_holds();
    }
}

/// A burst of order confirmations, as the fault run replays it.
fn burst(orders: usize, rates: Rates) -> Report {
    let history = sale(&mut Rng::new(16), orders);
    let report = runtime().block_on(run_history(
        MemoryStore::new(),
        16,
        &history,
        rates,
        true,
        SignedDuration::from_hours(2),
    ));
    println!("{report}; confirmations drained in {:?}", report.confirmations_drained);
    report.assert_holds();
    assert_eq!(report.sent_by_kind.get("order_confirmation"), Some(&orders), "{report}");
    assert_eq!(
        report.faults.dead_lettered, 0,
        "nothing ends in a dead-letter queue: {report}"
    );
    report
}

#[test]
fn a_burst_of_a_thousand_confirmations_is_paced_to_the_send_rate_and_each_sent_once() {
    let report = burst(
        1000,
        Rates {
            ses_rate: Some(14),
            ..Rates::NONE
        },
    );
    assert_eq!(report.faults.ses_throttled, 0, "kept to the rate, SES never throttles");
    let drained = report.confirmations_drained.expect("sent").as_secs();
    // 1,000 at 14 a second: 71 seconds of sends (the first second included).
    assert!((70..=80).contains(&drained), "{drained} s");
}

#[test]
fn an_account_slower_than_configured_is_throttled_into_the_queue_not_the_dead_letter_queue() {
    // The configuration says 14 a second; the account (still in the sandbox, say) takes 5.
    let report = burst(
        1000,
        Rates {
            ses_rate: Some(5),
            ..Rates::NONE
        },
    );
    assert!(report.faults.ses_throttled > 0, "{report}");
}

#[test]
fn a_sale_of_two_thousand_orders_in_a_minute_under_contention_confirms_each_once() {
    let report = burst(
        2000,
        Rates {
            contention: 0.1,
            concurrent: 0.5,
            duplicate: 0.05,
            jitter_secs: 30,
            ses_rate: Some(14),
            ..Rates::NONE
        },
    );
    assert!(report.faults.contention > 100, "{report}");
}

/// Seed 224 of the long run (40 customers): a crash between marking a customer rewarded for
/// their clicks and storing the reward lost the reward (the retry saw "rewarded"). The two are one
/// write now.
#[test]
fn seed_224_of_the_long_run_keeps_the_engagement_reward_through_a_crash() {
    // The history the long run drew then, before carrier scans.
    let report = run(Scenario {
        customers: 40,
        carrier_scans: false,
        holdouts: false,
        ..Scenario::seed(224)
    });
    report.assert_holds();
    assert_eq!(report.sent_by_kind.get("engagement_reward"), Some(&1), "{report}");
}

/// Seed 1058 of the long run (40 customers, carrier scans): faults moved a click, so the engagement
/// reward was earned on another day than in the fault-free run, and an unsubscribe that only the
/// faulty run saw called it off; the check counts that as called off, not lost. Since follow-ups
/// have alarms (whose calls fail like any store call) the seed draws another schedule, and no seed
/// of 1000-3400 meets that interleaving again; the seed still keeps every promise.
#[test]
fn seed_1058_of_the_long_run_keeps_every_promise() {
    // The history the long run drew then, before holdout groups.
    let report = run(Scenario {
        customers: 40,
        holdouts: false,
        ..Scenario::seed(1058)
    });
    report.assert_holds();
    assert!(report.faults.injected() > 20, "{report}");
}

/// Faults at the report's own calls (drawn from their own schedule, so other seeds run as they
/// did): every promise still holds, and the counters never count a send twice or one not made
/// (a crash can only lose a count).
#[test]
fn faults_at_the_reports_counters_never_count_a_send_twice_or_hold_up_a_promise() {
    let report = run(Scenario {
        customers: 30,
        rates: Rates {
            tallies: 0.2,
            ..Rates::DEFAULT
        },
        ..Scenario::seed(5)
    });
    report.assert_holds();
    let counted: u64 = report.counted.kinds.values().map(|c| c.sent).sum();
    assert!(
        counted > 0 && counted <= report.sends as u64,
        "{counted} counted: {report}"
    );
    assert!(report.faults.injected() > 20, "{report}");
}
