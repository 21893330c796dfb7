//! `history`: a generated store history as `tidings replay` input (one EventBridge envelope per
//! line, in time order), for the replay benchmark (`scripts/replay-bench`, issue 19): customers
//! signing up, carts, orders, shipments, scans, deliveries, cancellations, consent withdrawn and
//! erasures over about three weeks, drawn from the seed (the fault run's generator).

use clap::Parser;
use std::io::{BufWriter, Write};
use tidings_tests::faults::{Rng, generate};

/// Writes the history of `--customers` customers drawn from `--seed` to stdout.
#[derive(Parser)]
struct Args {
    /// How many customers (about five store events each).
    #[arg(long, default_value_t = 2_000)]
    customers: usize,
    /// The seed.
    #[arg(long, default_value_t = 1)]
    seed: u64,
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse();
    let history = generate(&mut Rng::new(args.seed), args.customers, false);
    let mut out = BufWriter::new(std::io::stdout().lock());
    for event in &history.events {
        serde_json::to_writer(&mut out, &event.envelope)?;
        out.write_all(b"\n")?;
    }
    out.flush()?;
    eprintln!("{} events of {} customers", history.events.len(), args.customers);
    Ok(())
}
