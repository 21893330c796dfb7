//! `tidings`: run the lifecycle engine locally (`demo`, `replay`).

use anyhow::Context;
use clap::{Parser, Subcommand};
use std::io::{IsTerminal, Read};
use std::path::PathBuf;
use std::process::ExitCode;
use tidings_cli::outbox::{DEMO_MARKER, Outbox};
use tidings_cli::{Input, ReplayError, Settings, demo, replay, summary};
use tidings_core::config::StoreConfig;
use tidings_core::guest::GuestIds;
use tidings_core::message::MessageKind;
use tidings_core::signing::SigningKeys;

/// tidings: lifecycle emails for small online stores, run locally.
#[derive(Parser)]
#[command(version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Replay the built-in sample store and show what was sent when.
    Demo {
        /// Where the emails go.
        #[arg(long, default_value = "outbox")]
        outbox: PathBuf,
    },
    /// Replay event files (one EventBridge envelope per line; `-` reads stdin).
    Replay {
        /// Event files.
        #[arg(required = true)]
        files: Vec<String>,
        /// Where the emails go (must be empty or absent).
        #[arg(long, default_value = "outbox")]
        outbox: PathBuf,
        /// Run the clock on to this RFC 3339 time (default: last event + 60 days).
        #[arg(long)]
        until: Option<jiff::Timestamp>,
        /// Store settings (TOML); default: the built-in sample store.
        #[arg(long)]
        config: Option<PathBuf>,
        /// Also print every message not sent, with the reason.
        #[arg(short, long)]
        verbose: bool,
        /// Start from the state `tidings import` wrote (past orders).
        #[arg(long)]
        state: Option<PathBuf>,
    },
    /// Write a gallery of every email the store can send (every kind, language and variant) to
    /// open in a browser; `TIDINGS_TEMPLATES=templates` shows template edits.
    Preview {
        /// Store settings (TOML); default: the built-in sample store.
        #[arg(long)]
        config: Option<PathBuf>,
        /// Where the gallery goes (`index.html` and `emails/`).
        #[arg(long, default_value = "preview")]
        out: PathBuf,
    },
    /// What each flow and kind earned in a replay's outbox: sends, engagement, attributed orders
    /// and revenue, and each holdout group's lift.
    Report {
        /// The outbox a replay (or the demo) wrote.
        #[arg(long, default_value = "outbox")]
        outbox: PathBuf,
        /// Days after a click within which an order is credited to it.
        #[arg(long, default_value_t = tidings_core::report::DEFAULT_WINDOW_DAYS,
              value_parser = clap::value_parser!(i64).range(0..=365))]
        window_days: i64,
        /// Print JSON instead of the table.
        #[arg(long)]
        json: bool,
        /// Also write an HTML page with a chart per flow.
        #[arg(long)]
        html: Option<PathBuf>,
    },
    /// List every message kind: transactional or marketing, what schedules it and when.
    Kinds,
    /// Read a store's past orders into a state file for `replay --state` (sends nothing).
    Import {
        #[command(subcommand)]
        store: ImportFrom,
    },
}

#[derive(Subcommand)]
enum ImportFrom {
    /// Shopify's Orders export (admin → Orders → Export → CSV for Excel, Numbers or other programs).
    Shopify {
        /// The exported CSV file.
        file: PathBuf,
        /// The state file to write.
        #[arg(long, default_value = "tidings-state.json")]
        state: PathBuf,
    },
    /// WooCommerce's order list as `GET /wp-json/wc/v3/orders` returns it (one JSON array, pages
    /// one after another, or JSON Lines).
    Woocommerce {
        /// The saved JSON.
        file: PathBuf,
        /// The state file to write.
        #[arg(long, default_value = "tidings-state.json")]
        state: PathBuf,
    },
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_target(false)
        .with_ansi(std::io::stderr().is_terminal())
        .without_time()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_env("TIDINGS_LOG").unwrap_or_else(|_| "warn".into()))
        .init();
    match run(Cli::parse()) {
        Ok(code) => code,
        Err(error) => {
            eprintln!("tidings: {error:#}");
            ExitCode::from(1)
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .context("starting the runtime")?;
    let keys = signing_keys()?;
    let templates = std::env::var_os("TIDINGS_TEMPLATES").map(PathBuf::from);
    match cli.command {
        Command::Demo { outbox } => {
            if Outbox::clear_demo(&outbox)? {
                eprintln!("tidings: replacing the previous demo in {}", outbox.display());
            }
            let config = StoreConfig::sample();
            let settings = Settings {
                config: config.clone(),
                keys,
                templates,
                until: None,
                history: None,
                webhook_secrets: tidings_core::webhook::Secrets::default(),
            };
            let result = runtime.block_on(replay(&[demo::input()], &outbox, settings));
            let code = finish(result, &config, false)?;
            if outbox.is_dir() {
                std::fs::write(
                    outbox.join(DEMO_MARKER),
                    "written by `tidings demo`; a later demo replaces this directory\n",
                )
                .context("marking the demo outbox")?;
            }
            Ok(code)
        }
        Command::Import {
            store: ImportFrom::Shopify { file, state },
        } => import_shopify(&file, &state, &keys),
        Command::Import {
            store: ImportFrom::Woocommerce { file, state },
        } => import_woocommerce(&file, &state, &keys),
        Command::Report {
            outbox,
            window_days,
            json,
            html,
        } => {
            let facts = tidings_cli::report::read_facts(&outbox)?;
            let report = tidings_core::report::Report::build(&facts, window_days);
            if json {
                println!("{}", serde_json::to_string_pretty(&report).context("report as JSON")?);
            } else {
                print!("{}", tidings_cli::report::table(&report));
            }
            if let Some(path) = html {
                let page = tidings_cli::report::html(&report)?;
                std::fs::write(&path, page).with_context(|| format!("writing {}", path.display()))?;
                eprintln!("tidings: report page in {}", path.display());
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Kinds => {
            print!("{}", kinds_table());
            Ok(ExitCode::SUCCESS)
        }
        Command::Preview { config, out } => {
            let Some(config) = load_config(config.as_deref())? else {
                return Ok(ExitCode::from(2));
            };
            let config = std::sync::Arc::new(config);
            let renderer = match &templates {
                Some(dir) => tidings_core::render::Renderer::from_dir(dir, std::sync::Arc::clone(&config))?,
                None => tidings_core::render::Renderer::embedded(std::sync::Arc::clone(&config))?,
            };
            let gallery = tidings_cli::preview::write(&renderer, &config, &out)?;
            println!(
                "{} emails ({} kinds in {} languages) in {}",
                gallery.cards,
                gallery.kinds,
                gallery.locales,
                out.join("index.html").display()
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Replay {
            files,
            outbox,
            until,
            config,
            verbose,
            state,
        } => {
            let Some(config) = load_config(config.as_deref())? else {
                return Ok(ExitCode::from(2));
            };
            let inputs = files
                .iter()
                .map(|name| read_input(name))
                .collect::<anyhow::Result<Vec<_>>>()?;
            let history = match state {
                Some(path) => Some(tidings_cli::import::load_state(&path)?),
                None => None,
            };
            if let Some(notice) = tidings_cli::replay::shadow_notice(&config) {
                println!("{notice}");
            }
            let settings = Settings {
                config: config.clone(),
                keys,
                templates,
                until,
                history,
                webhook_secrets: tidings_core::webhook::Secrets::from_env(|name| std::env::var(name).ok()),
            };
            finish(runtime.block_on(replay(&inputs, &outbox, settings)), &config, verbose)
        }
    }
}

/// The store's settings from `path` (checked as a deployment would), or the sample store; `None`
/// when the file is invalid, after saying why.
fn load_config(path: Option<&std::path::Path>) -> anyhow::Result<Option<StoreConfig>> {
    let Some(path) = path else {
        return Ok(Some(StoreConfig::sample()));
    };
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    match StoreConfig::from_toml(&text).and_then(|config| {
        tidings_core::engine::kinds::check_coupons(&config)?;
        Ok(config)
    }) {
        Ok(config) => Ok(Some(config)),
        Err(error) => {
            eprintln!("{}: {error}", path.display());
            Ok(None)
        }
    }
}

fn read_input(name: &str) -> anyhow::Result<Input> {
    let text = if name == "-" {
        let mut text = String::new();
        std::io::stdin().read_to_string(&mut text).context("reading stdin")?;
        text
    } else {
        std::fs::read_to_string(name).with_context(|| format!("reading {name}"))?
    };
    Ok(Input {
        name: name.to_owned(),
        text,
    })
}

fn finish(
    result: Result<tidings_cli::Report, ReplayError>,
    config: &StoreConfig,
    verbose: bool,
) -> anyhow::Result<ExitCode> {
    match result {
        Ok(report) => {
            // Always shown: each is a store sending a field tidings could not use.
            for warning in &report.warnings {
                eprintln!("{warning}");
            }
            if verbose {
                for note in &report.notes {
                    eprintln!("{note}");
                }
            }
            print!("{}", summary::table(&report, config));
            Ok(ExitCode::SUCCESS)
        }
        Err(ReplayError::Invalid(lines)) => {
            for line in &lines {
                eprintln!("{line}");
            }
            eprintln!("tidings: {} invalid line(s); nothing was sent", lines.len());
            Ok(ExitCode::from(2))
        }
        Err(error) => {
            eprintln!("tidings: {error}");
            Ok(ExitCode::from(error.exit_code()))
        }
    }
}

/// The store's HMAC key from `TIDINGS_SIGNING_KEY` and its guest-id key from
/// `TIDINGS_GUEST_ID_KEY`, or the public demo keys for local previews.
fn signing_keys() -> anyhow::Result<SigningKeys> {
    let keys = match std::env::var("TIDINGS_SIGNING_KEY") {
        Ok(secret) => SigningKeys::new("local", secret.as_bytes(), None).context("TIDINGS_SIGNING_KEY")?,
        Err(_) => SigningKeys::demo(),
    };
    Ok(match std::env::var("TIDINGS_GUEST_ID_KEY") {
        Ok(secret) => keys.with_guest_ids(GuestIds::new(secret.as_bytes()).context("TIDINGS_GUEST_ID_KEY")?),
        Err(_) => keys,
    })
}

/// `tidings import shopify`: a progress bar on a terminal, every skipped row by line, a summary.
fn import_shopify(file: &std::path::Path, state: &std::path::Path, keys: &SigningKeys) -> anyhow::Result<ExitCode> {
    let size = std::fs::metadata(file).map(|m| m.len()).unwrap_or(0);
    let bar = if std::io::stderr().is_terminal() {
        indicatif::ProgressBar::new(size)
    } else {
        indicatif::ProgressBar::hidden()
    };
    bar.set_style(
        indicatif::ProgressStyle::with_template("{bar:40} {bytes}/{total_bytes} {msg}")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    let started = std::time::Instant::now();
    let (export, history) =
        tidings_cli::import::import_shopify(file, state, keys.guest_ids(), |at| bar.set_position(at))?;
    bar.finish_and_clear();
    report_import(
        file,
        state,
        &export,
        &history,
        started,
        |line| format!(":{line}"),
        "rows",
    );
    Ok(ExitCode::SUCCESS)
}

/// `tidings import woocommerce`: a count of orders on a terminal, every skipped order by its
/// position, a summary.
fn import_woocommerce(file: &std::path::Path, state: &std::path::Path, keys: &SigningKeys) -> anyhow::Result<ExitCode> {
    let bar = if std::io::stderr().is_terminal() {
        indicatif::ProgressBar::new_spinner()
    } else {
        indicatif::ProgressBar::hidden()
    };
    let started = std::time::Instant::now();
    let (export, history) = tidings_cli::import::import_woocommerce(file, state, keys.guest_ids(), |n| {
        bar.set_message(format!("{n} orders read"));
        bar.tick();
    })?;
    bar.finish_and_clear();
    report_import(
        file,
        state,
        &export,
        &history,
        started,
        |n| format!(": order {n}"),
        "orders",
    );
    Ok(ExitCode::SUCCESS)
}

/// Every skipped row or order (`at` says where, from its line or position), then the summary.
fn report_import(
    file: &std::path::Path,
    state: &std::path::Path,
    export: &tidings_core::shopify::import::Export,
    history: &tidings_core::shopify::import::History,
    started: std::time::Instant,
    at: impl Fn(u64) -> String,
    skipped: &str,
) {
    for error in &export.errors {
        eprintln!("{}{}: skipped: {}", file.display(), at(error.line), error.reason);
    }
    println!(
        "{} orders of {} customers imported into {} in {:.1} s ({} {skipped} skipped); nothing sent or scheduled",
        export.orders.len(),
        history.customers.len(),
        state.display(),
        started.elapsed().as_secs_f64(),
        export.errors.len()
    );
}

/// One block per kind, in the registry's order.
fn kinds_table() -> String {
    let mut out = String::new();
    for kind in MessageKind::ALL {
        let about = tidings_core::engine::kinds::about(*kind);
        out.push_str(&format!(
            "{kind} ({}, sent by {})\n  when:    {}\n  trigger: {}\n",
            kind.category().as_str(),
            kind.step().as_str(),
            about.timing,
            about.trigger
        ));
    }
    out
}
