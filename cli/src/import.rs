//! `tidings import shopify FILE --state STATE` (a Shopify Orders export) and `tidings import
//! woocommerce FILE --state STATE` (WooCommerce's REST order list): read into the state a
//! replay starts from (`tidings replay --state STATE`), so customers who bought before tidings are
//! known as repeat buyers and recommendations start from real co-purchases. Sends and schedules
//! nothing.

use std::path::Path;
use tidings_core::guest::GuestIds;
use tidings_core::shopify::import::{Export, History, ImportError, read_export};

/// Why an import did not finish.
#[derive(Debug, thiserror::Error)]
pub enum ImportFailed {
    /// The export could not be read.
    #[error("{file}: {source}")]
    Read {
        /// The file.
        file: String,
        /// Why.
        source: ImportError,
    },
    /// A file could not be opened or written.
    #[error("{file}: {source}")]
    Io {
        /// The file.
        file: String,
        /// Why.
        source: std::io::Error,
    },
}

/// Reads `export` (reporting progress by bytes through `progress`), writes its history to
/// `state` (replacing the file), and returns what was read.
pub fn import_shopify(
    export: &Path,
    state: &Path,
    ids: &GuestIds,
    progress: impl FnMut(u64),
) -> Result<(Export, History), ImportFailed> {
    import_with(export, state, ids, |input| read_export(input, progress))
}

/// Reads WooCommerce's order list `orders` (reporting progress by orders read through
/// `progress`), writes its history to `state` (replacing the file), and returns what was read.
pub fn import_woocommerce(
    orders: &Path,
    state: &Path,
    ids: &GuestIds,
    progress: impl FnMut(u64),
) -> Result<(Export, History), ImportFailed> {
    import_with(orders, state, ids, |input| {
        tidings_core::woocommerce::import::read_orders(input, progress)
    })
}

fn import_with(
    export: &Path,
    state: &Path,
    ids: &GuestIds,
    read: impl FnOnce(std::io::BufReader<std::fs::File>) -> Result<Export, ImportError>,
) -> Result<(Export, History), ImportFailed> {
    let io = |file: &Path| {
        let file = file.display().to_string();
        move |source| ImportFailed::Io { file, source }
    };
    let input = std::io::BufReader::new(std::fs::File::open(export).map_err(io(export))?);
    let read = read(input).map_err(|source| ImportFailed::Read {
        file: export.display().to_string(),
        source,
    })?;
    let history = read.history(ids);
    let json = serde_json::to_vec(&history).map_err(|e| ImportFailed::Io {
        file: state.display().to_string(),
        source: e.into(),
    })?;
    std::fs::write(state, json).map_err(io(state))?;
    Ok((read, history))
}

/// The state a replay starts from, written by [`import_shopify`].
pub fn load_state(state: &Path) -> Result<History, ImportFailed> {
    let text = std::fs::read(state).map_err(|source| ImportFailed::Io {
        file: state.display().to_string(),
        source,
    })?;
    serde_json::from_slice(&text).map_err(|e| ImportFailed::Io {
        file: state.display().to_string(),
        source: e.into(),
    })
}
