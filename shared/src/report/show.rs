//! The report for people: a terminal table (one block per flow, its kinds and their total, then
//! each holdout), and an HTML page with a chart per flow over time. Shared by `tidings report`
//! (a replay's outbox) and `tidings-aws report` (a deployed table's counters).

use super::{Counts, Day, FLOWS, Lift, Report, Verdict, flow};
use crate::domain::Currency;
use crate::message::MessageKind;
use minijinja::Environment;
use minijinja::value::Serde;
use serde::Serialize;

/// `12,345.67 USD` (minor units shown with the currency's decimals; never converted).
pub fn money(currency: &str, minor: u64) -> String {
    let exponent = Currency::parse(currency).map_or(2, |c| u32::from(c.exponent()));
    let scale = 10_u64.pow(exponent);
    let whole = grouped(minor / scale);
    if exponent == 0 {
        format!("{whole} {currency}")
    } else {
        format!(
            "{whole}.{:0width$} {currency}",
            minor % scale,
            width = exponent as usize
        )
    }
}

fn grouped(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Amounts per currency side by side (`48.26 USD + 66,600 KRW`), never added together.
fn amounts(per_currency: &std::collections::BTreeMap<String, u64>) -> String {
    per_currency
        .iter()
        .map(|(currency, minor)| money(currency, *minor))
        .collect::<Vec<_>>()
        .join(" + ")
}

fn revenue(counts: &Counts) -> String {
    if counts.revenue.is_empty() {
        return "-".into();
    }
    amounts(&counts.revenue)
}

fn percent(part: u64, whole: u64) -> String {
    if whole == 0 {
        "-".into()
    } else {
        format!("{:.1}%", 100.0 * part as f64 / whole as f64)
    }
}

fn points(x: f64) -> String {
    format!("{:+.1} pts", 100.0 * x)
}

/// What a lift says, in words.
pub fn verdict(lift: &Lift) -> String {
    match lift.verdict {
        Verdict::TooSmall => format!(
            "too small to tell yet (needs at least {} customers in each group)",
            super::MIN_GROUP
        ),
        Verdict::NoDifferenceShown => "no difference shown yet (the interval spans zero)".into(),
        Verdict::Positive => "brings orders: the whole interval is above zero".into(),
        Verdict::Negative => "customers who get it order less: the whole interval is below zero".into(),
    }
}

/// The terminal table: one block per flow, its kinds and their total, then each holdout.
pub fn table(report: &Report) -> String {
    let header = [
        "", "sent", "deliv.", "opened", "clicked", "unsub.", "bounced", "compl.", "orders", "conv.", "revenue",
    ];
    let mut rows: Vec<[String; 11]> = Vec::new();
    let row = |name: String, c: &Counts| {
        [
            name,
            c.sent.to_string(),
            c.delivered.to_string(),
            percent(c.opened, c.sent),
            percent(c.clicked, c.sent),
            c.unsubscribed.to_string(),
            c.bounced.to_string(),
            c.complained.to_string(),
            c.orders.to_string(),
            percent(c.orders, c.sent),
            revenue(c),
        ]
    };
    let flows = FLOWS.iter().filter_map(|name| Some((*name, report.flows.get(name)?)));
    for (name, total) in flows {
        rows.push(row(name.to_owned(), total));
        for (kind, counts) in report.kinds.iter().filter(|(kind, _)| flow(**kind) == name) {
            rows.push(row(format!("  {kind}"), counts));
        }
    }
    let mut widths = header.map(str::len);
    for r in &rows {
        for (w, cell) in widths.iter_mut().zip(r) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: &[String]| {
        let mut out = String::new();
        for (i, (cell, w)) in cells.iter().zip(widths).enumerate() {
            let pad = w - cell.chars().count();
            if i == 0 || i == cells.len() - 1 {
                out.push_str(cell);
                out.push_str(&" ".repeat(pad));
            } else {
                out.push_str(&" ".repeat(pad));
                out.push_str(cell);
            }
            out.push_str("  ");
        }
        out.trim_end().to_owned() + "\n"
    };
    let mut out = line(&header.map(str::to_owned));
    for r in &rows {
        out.push_str(&line(r));
    }
    out.push_str(&format!(
        "\nOrders are credited to the message whose coupon they used, else to the last marketing message clicked in the {} days before; {} not credited to any, {} cancelled left out.\n",
        report.window_days, report.unattributed_orders, report.cancelled_orders
    ));
    for (kind, lift) in &report.lifts {
        out.push_str(&format!(
            "\nHoldout, {kind}: {} of {} receivers ordered within {} days ({}), {} of {} held out ({}): lift {} (95% interval {} to {}): {}.\n",
            lift.receivers_ordered,
            lift.receivers,
            report.window_days,
            percent(lift.receivers_ordered, lift.receivers),
            lift.holdouts_ordered,
            lift.holdouts,
            percent(lift.holdouts_ordered, lift.holdouts),
            points(lift.lift),
            points(lift.interval.0),
            points(lift.interval.1),
            verdict(lift),
        ));
    }
    out
}

/// One flow's chart as the page template sees it.
#[derive(Serialize)]
struct Chart {
    name: String,
    total: String,
    days: Vec<Bar>,
    max_sent: u64,
}

#[derive(Serialize)]
struct Bar {
    day: String,
    sent: u64,
    orders: u64,
    revenue: String,
}

#[derive(Serialize)]
struct LiftRow {
    kind: String,
    receivers: String,
    holdouts: String,
    lift: String,
    interval: String,
    verdict: String,
}

#[derive(Serialize)]
struct Page {
    table: String,
    charts: Vec<Chart>,
    lifts: Vec<LiftRow>,
}

const PAGE: &str = include_str!("page.html");

/// The HTML page: the table, a chart per flow (messages sent per day, attributed orders on top),
/// and the holdouts.
pub fn html(report: &Report) -> Result<String, minijinja::Error> {
    let charts = FLOWS
        .iter()
        .filter_map(|name| Some((*name, report.days.get(name)?)))
        .map(|(name, days)| {
            let bar = |(day, d): (&String, &Day)| Bar {
                day: day.clone(),
                sent: d.sent,
                orders: d.orders,
                revenue: amounts(&d.revenue),
            };
            // Every day from the first to the last, quiet ones too, so the bars are a time axis.
            let quiet = Day::default();
            let mut all = Vec::new();
            let first = days.keys().next().and_then(|d| d.parse::<jiff::civil::Date>().ok());
            let last = days
                .keys()
                .next_back()
                .and_then(|d| d.parse::<jiff::civil::Date>().ok());
            if let (Some(mut date), Some(last)) = (first, last) {
                while date <= last && all.len() < 400 {
                    let key = date.to_string();
                    all.push(bar((&key, days.get(&key).unwrap_or(&quiet))));
                    let Ok(next) = date.tomorrow() else { break };
                    date = next;
                }
            }
            Chart {
                name: name.to_owned(),
                total: report.flows.get(name).map_or_else(|| "-".into(), revenue),
                max_sent: days.values().map(|d| d.sent.max(d.orders)).max().unwrap_or(1).max(1),
                days: all,
            }
        })
        .collect();
    let lifts = report
        .lifts
        .iter()
        .map(|(kind, lift): (&MessageKind, &Lift)| LiftRow {
            kind: kind.to_string(),
            receivers: format!("{} of {}", lift.receivers_ordered, lift.receivers),
            holdouts: format!("{} of {}", lift.holdouts_ordered, lift.holdouts),
            lift: points(lift.lift),
            interval: format!("{} to {}", points(lift.interval.0), points(lift.interval.1)),
            verdict: verdict(lift),
        })
        .collect();
    let mut env = Environment::new();
    env.add_template("page.html", PAGE)?;
    env.get_template("page.html")?.render(Serde(&Page {
        table: table(report),
        charts,
        lifts,
    }))
}
