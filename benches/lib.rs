//! Benchmarks live in `render.rs` (`cargo bench -p tidings-benches`).
