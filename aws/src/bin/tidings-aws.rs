//! The deployed stack from a terminal; credentials and region from the usual AWS environment.
//!
//! - `tidings-aws import shopify orders_export.csv --table <TableName>`: a Shopify store's past
//!   orders into the deployed table (docs/shopify.md, "Importing past orders").
//!   `TIDINGS_GUEST_ID_KEY` must hold the deployment's guest-id key (the SSM SecureString
//!   of the `GuestIdKeyParameter` output), so that imported buyers carry the pseudonyms the functions compute.
//! - `tidings-aws report --table <TableName> [--json] [--html report.html]`: what each flow earned,
//!   from the counters the functions keep (one query of the `REPORT` partition; no scan).

// The engine's futures over the AWS SDK's nest deeper than rustc's default query depth (128)
// allows in some build orders: a clean CI build hit 130 computing a `main`'s layout.
#![recursion_limit = "256"]

use anyhow::Context;
use clap::{Parser, Subcommand};
use std::path::PathBuf;
use tidings_core::guest::GuestIds;

#[derive(Parser)]
#[command(version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Read a store's past orders into the deployed table (sends and schedules nothing).
    Import {
        #[command(subcommand)]
        from: Store,
    },
    /// What each flow and kind earned, from the counters the deployed functions keep.
    Report {
        /// The stack's table (its `TableName` output).
        #[arg(long)]
        table: String,
        /// The whole report as JSON instead of the table.
        #[arg(long)]
        json: bool,
        /// Also write the HTML page (a chart per flow over time) to this file.
        #[arg(long)]
        html: Option<PathBuf>,
    },
}

#[derive(Subcommand)]
enum Store {
    /// Shopify's Orders export (CSV).
    Shopify {
        /// The exported file.
        file: PathBuf,
        /// The stack's table (its `TableName` output).
        #[arg(long)]
        table: String,
    },
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> anyhow::Result<()> {
    match Cli::parse().command {
        Command::Import {
            from: Store::Shopify { file, table },
        } => import(file, table).await,
        Command::Report { table, json, html } => report(table, json, html).await,
    }
}

async fn report(table: String, json: bool, html: Option<PathBuf>) -> anyhow::Result<()> {
    use tidings_core::ports::Tallies;
    use tidings_core::report::{DEFAULT_WINDOW_DAYS, Report, show};
    let sdk = tidings_aws::lambda::sdk_config().await;
    // The counters hold no customer and need no guest-id key.
    let store = tidings_aws::DynamoStore::new(aws_sdk_dynamodb::Client::new(&sdk), table, GuestIds::demo());
    let counters = store.counters().await.context("reading the report's counters")?;
    let report = Report::from_counters(&counters, DEFAULT_WINDOW_DAYS);
    if json {
        println!("{}", serde_json::to_string_pretty(&report).context("report as JSON")?);
    } else {
        print!("{}", show::table(&report));
    }
    if let Some(path) = html {
        std::fs::write(&path, show::html(&report)?).with_context(|| format!("writing {}", path.display()))?;
        eprintln!("tidings-aws: report page in {}", path.display());
    }
    Ok(())
}

async fn import(file: PathBuf, table: String) -> anyhow::Result<()> {
    let key = std::env::var("TIDINGS_GUEST_ID_KEY").context(
        "TIDINGS_GUEST_ID_KEY must hold the deployment's guest-id key (the GuestIdKeyParameter SecureString): \
         imported buyers must carry the pseudonyms the functions compute",
    )?;
    let ids = GuestIds::new(key.as_bytes()).context("TIDINGS_GUEST_ID_KEY")?;
    let input = std::fs::File::open(&file).with_context(|| format!("opening {}", file.display()))?;
    let export = tidings_core::shopify::import::read_export(std::io::BufReader::new(input), |_| {})
        .with_context(|| file.display().to_string())?;
    for error in &export.errors {
        eprintln!("{}:{}: skipped: {}", file.display(), error.line, error.reason);
    }
    let history = export.history(&ids);
    let sdk = tidings_aws::lambda::sdk_config().await;
    let store = tidings_aws::DynamoStore::new(aws_sdk_dynamodb::Client::new(&sdk), table, ids.clone());
    let written = tidings_aws::history::write_history(&store, &export, &history, &ids).await?;
    println!(
        "{} customers written, {} already known and kept, {} orders counted into the product statistics ({} rows skipped); nothing sent or scheduled",
        written.customers,
        written.kept,
        written.orders,
        export.errors.len()
    );
    Ok(())
}
