//! Any bytes as an EventBridge envelope: the parser must answer with an event or a named error,
//! never panic. `cargo +nightly fuzz run envelope` (see README, "Security").
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        if let Err(error) = tidings_core::event::parse_envelope(text) {
            assert!(!error.field.is_empty());
        }
    }
});
