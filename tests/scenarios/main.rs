//! Scenario tests: event streams in, emails and emitted events out.

mod carts;
mod consent;
mod examples;
mod exactly_once;
mod mime;
mod orders;
mod rendering;
mod timing;
