//! The readable table printed after a replay or demo.

use crate::replay::Report;
use std::fmt::Write;
use tidings_core::config::StoreConfig;

/// Renders the summary: one row per email with UTC and local time, then where the files are.
pub fn table(report: &Report, config: &StoreConfig) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{:>3}  {:<17}  {:<17}  {:<22}  {:<24}  {:<6}  subject",
        "#", "sent (UTC)", "customer's time", "kind", "customer", "locale"
    );
    for (i, line) in report.sent.iter().enumerate() {
        let tz = report
            .zones
            .get(line.customer_id.as_str())
            .cloned()
            .unwrap_or_else(|| config.defaults.time_zone.tz().clone());
        let local = line.at.to_zoned_datetime(tz).strftime("%a %H:%M %:z").to_string();
        let _ = writeln!(
            out,
            "{:>3}  {:<17}  {:<17}  {:<22}  {:<24}  {:<6}  {}",
            i + 1,
            line.at.strftime("%Y-%m-%d %H:%M").to_string(),
            local,
            line.kind,
            truncate(line.customer_id.as_str(), 24),
            line.locale,
            line.subject
        );
    }
    let dir = report.outbox.display();
    let _ = writeln!(
        out,
        "\n{} email(s) sent. Outbox: {dir}/  (NNNN-<kind>.eml: the exact messages; index.jsonl: one line per email; events.jsonl: the events tidings emitted; facts.jsonl: what `tidings report` reads)",
        report.sent.len()
    );
    out
}

fn truncate(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        text.to_owned()
    } else {
        let mut short: String = text.chars().take(max - 1).collect();
        short.push('…');
        short
    }
}
