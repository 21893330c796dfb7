//! `fault-run`: the fault-injection run over many seeds (issue 16), on the memory store, one
//! seed per worker at a time. Prints every seed that breaks a promise, with its story, and the
//! totals. `scripts/fault-run` runs it in release.

use clap::Parser;
use indicatif::{ProgressBar, ProgressStyle};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use tidings_tests::faults::{Report, Scenario, run};

/// Runs seeds `--from`..`--from + --seeds` under faults and checks every promise.
#[derive(Parser)]
struct Args {
    /// How many seeds.
    #[arg(long, default_value_t = 10_000)]
    seeds: u64,
    /// The first seed.
    #[arg(long, default_value_t = 1)]
    from: u64,
    /// Customers per history (about six store events each).
    #[arg(long, default_value_t = 150)]
    customers: usize,
    /// Worker threads (default: one per core).
    #[arg(long)]
    jobs: Option<usize>,
}

#[derive(Default)]
struct Totals {
    seeds: u64,
    events: u64,
    deliveries: u64,
    faults: u64,
    sends: u64,
    recovered: u64,
    failed: u64,
    unknown: u64,
    later: u64,
    lost: u64,
    broken: Vec<u64>,
}

impl Totals {
    fn add(&mut self, report: &Report) {
        self.seeds += 1;
        self.events += report.events as u64;
        self.deliveries += report.deliveries;
        self.faults += report.faults.injected();
        self.sends += report.sends as u64;
        self.recovered += report.recovered as u64;
        self.failed += report.failed as u64;
        self.unknown += report.unknown as u64;
        self.later += report.differ.values().sum::<usize>() as u64;
        self.lost += report.lost.len() as u64;
        if !report.holds() {
            self.broken.push(report.seed);
        }
    }
}

fn main() {
    let args = Args::parse();
    let jobs = args
        .jobs
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, usize::from));
    let next = AtomicU64::new(args.from);
    let end = args.from + args.seeds;
    let totals = Mutex::new(Totals::default());
    let bar = ProgressBar::new(args.seeds).with_style(
        ProgressStyle::with_template("{bar:40} {pos}/{len} seeds, {elapsed} elapsed, ~{eta} left")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let started = std::time::Instant::now();
    std::thread::scope(|scope| {
        for _ in 0..jobs {
            scope.spawn(|| {
                loop {
                    let seed = next.fetch_add(1, Ordering::SeqCst);
                    if seed >= end {
                        break;
                    }
                    let mut scenario = Scenario::seed(seed);
                    scenario.customers = args.customers;
                    let report = run(scenario);
                    if !report.holds() {
                        bar.suspend(|| eprintln!("BROKEN {}", report.failure()));
                    }
                    totals.lock().expect("totals").add(&report);
                    bar.inc(1);
                }
            });
        }
    });
    bar.finish_and_clear();
    let t = totals.into_inner().expect("totals");
    println!(
        "{} seeds in {:.0} s: {} store events, {} deliveries, {} faults injected, {} sends, duplicates 0 + {} recovered, \
         lost {}, failed {}, unknown {}, decided otherwise later {}; seeds breaking a promise: {:?}",
        t.seeds,
        started.elapsed().as_secs_f64(),
        t.events,
        t.deliveries,
        t.faults,
        t.sends,
        t.recovered,
        t.lost,
        t.failed,
        t.unknown,
        t.later,
        t.broken
    );
    if !t.broken.is_empty() {
        std::process::exit(1);
    }
}
