//! The report's counters (`report::tally`), kept as facts happen so a report reads only them.

use super::StoreError;
use crate::domain::CustomerId;
use crate::report::{Change, Counters, Ledger};
use std::future::Future;

/// A customer's report ledger as stored.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct LedgerFile {
    /// The ledger (empty when none was written yet).
    pub ledger: Ledger,
    /// Its version (0: none yet).
    pub version: u64,
    /// Whether the fact the marker names was counted already.
    pub counted: bool,
    /// Whether the customer was erased: nothing more is kept about them (what they added to the
    /// counters stays; it names no one).
    pub erased: bool,
}

/// The report's counters and the ledgers behind them.
pub trait Tallies: Send + Sync {
    /// A customer's ledger, whether the fact `marker` names was counted already, and whether the
    /// customer was erased, in one read.
    fn ledger(
        &self,
        customer: &CustomerId,
        marker: Option<&str>,
    ) -> impl Future<Output = Result<LedgerFile, StoreError>> + Send;
    /// Writes one fact's change at once: its counters added, the customer's ledger (still at
    /// `version`) replaced when it changed, and the marker set. `Conflict`, with nothing written,
    /// when the ledger moved on, the marker was set or the customer erased meanwhile.
    fn count(
        &self,
        customer: &CustomerId,
        version: u64,
        marker: Option<&str>,
        change: &Change,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// Every counter (a few per kind and per flow and day; never the ledgers).
    fn counters(&self) -> impl Future<Output = Result<Counters, StoreError>> + Send;
}
