//! `tidings-aws import shopify orders_export.csv --table <TableName>`: a Shopify store's past
//! orders into the deployed table (docs/shopify.md, "Importing past orders"). Credentials and
//! region from the usual AWS environment; `TIDINGS_GUEST_ID_KEY` must hold the deployment's
//! guest-id key (the `GuestIdKeySecretArn` secret), so that imported buyers carry the pseudonyms
//! the functions compute.

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
    let Command::Import {
        from: Store::Shopify { file, table },
    } = Cli::parse().command;
    let key = std::env::var("TIDINGS_GUEST_ID_KEY").context(
        "TIDINGS_GUEST_ID_KEY must hold the deployment's guest-id key (the GuestIdKeySecretArn secret): \
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
