//! The built-in sample store replayed by `tidings demo`.

use crate::replay::Input;

/// The sample store's events (several customers, locales and time zones).
pub const EVENTS: &str = include_str!("../demo/store.jsonl");

/// The demo as a replay input.
pub fn input() -> Input {
    Input {
        name: "demo/store.jsonl".to_owned(),
        text: EVENTS.to_owned(),
    }
}
