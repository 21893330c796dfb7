//! Adapters that implement the engine's ports without AWS: for the local runner and unit tests.

pub mod memory;
