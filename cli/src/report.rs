//! `tidings report`: what each flow and kind earned, from a replay's outbox (`facts.jsonl`), as a
//! terminal table, JSON, or an HTML page with a chart per flow over time.

use crate::outbox::FACTS;
use std::path::Path;
use tidings_core::report::Fact;
pub use tidings_core::report::show::{html, money, table, verdict};

/// Why the report could not be made.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// The outbox has no facts file (written by an earlier release, or not an outbox).
    #[error("{0}: not found (replay again with this release: it records what the report needs)")]
    Missing(String),
    /// A line is not a fact.
    #[error("{file}:{line}: {reason}")]
    Line {
        /// The file.
        file: String,
        /// 1-based line.
        line: usize,
        /// Why.
        reason: String,
    },
    /// Reading failed.
    #[error("reading {0}: {1}")]
    Read(String, std::io::Error),
    /// The HTML page's template failed.
    #[error("report page: {0}")]
    Page(#[from] minijinja::Error),
}

/// Every fact of an outbox.
pub fn read_facts(outbox: &Path) -> Result<Vec<Fact>, ReportError> {
    let path = outbox.join(FACTS);
    let name = path.display().to_string();
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(ReportError::Missing(name)),
        Err(e) => return Err(ReportError::Read(name, e)),
    };
    text.lines()
        .enumerate()
        .filter(|(_, line)| !line.trim().is_empty())
        .map(|(n, line)| {
            serde_json::from_str(line).map_err(|e| ReportError::Line {
                file: name.clone(),
                line: n + 1,
                reason: e.to_string(),
            })
        })
        .collect()
}
