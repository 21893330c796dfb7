//! Whether a value is being parsed from an inbound event, or read back from the store.
//!
//! The rules for what a store may send have tightened over releases (plausible times, bounded
//! amounts, addresses SES can deliver). They apply to events as they arrive; a record the previous
//! release stored under the older rules must still be readable, or every later event about that
//! customer or order would fail. So the tighter checks run only inside [`parsing`].

use std::cell::Cell;

thread_local! {
    static INBOUND: Cell<bool> = const { Cell::new(false) };
}

/// Runs `parse` with the inbound rules on (restored afterwards, also when `parse` panics).
pub fn parsing<T>(parse: impl FnOnce() -> T) -> T {
    struct Restore(bool);
    impl Drop for Restore {
        fn drop(&mut self) {
            INBOUND.with(|flag| flag.set(self.0));
        }
    }
    let _restore = Restore(INBOUND.with(|flag| flag.replace(true)));
    parse()
}

/// True while an inbound event is parsed.
pub fn is_parsing() -> bool {
    INBOUND.with(Cell::get)
}
