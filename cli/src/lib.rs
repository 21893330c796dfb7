//! The `tidings` local runner: the engine with in-memory state, a simulated clock and a file outbox.

pub mod demo;
pub mod import;
pub mod outbox;
pub mod preview;
pub mod replay;
pub mod report;
pub mod summary;

pub use outbox::{IndexLine, Outbox};
pub use replay::{Input, ReplayError, Report, Settings, replay};
