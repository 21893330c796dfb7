//! The keyed hash every derived value is made with (coupon codes, tokens, guest pseudonyms), and
//! the hex they are written in.

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

/// HMAC-SHA256.
pub(crate) type HmacSha256 = Hmac<Sha256>;

/// Why a signing key was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("signing key '{id}' is {len} bytes; at least 32 are required")]
pub struct KeyError {
    /// Key id.
    pub id: String,
    /// Its length.
    pub len: usize,
}

/// The HMAC-SHA256 of `parts` under `key`, each part length-prefixed (so no two lists of parts
/// sign alike): every keyed value tidings derives (coupon codes, tokens, guest pseudonyms).
pub(crate) fn keyed_mac(key: &[u8], parts: &[&[u8]]) -> HmacSha256 {
    // HMAC takes keys of any length; `new_from_slice` cannot fail for it.
    let mut mac =
        <HmacSha256 as KeyInit>::new_from_slice(key).unwrap_or_else(|_| unreachable!("HMAC accepts any key length"));
    for part in parts {
        mac.update(&(part.len() as u64).to_be_bytes());
        mac.update(part);
    }
    mac
}

/// Lowercase hex of `bytes`, at most `len` digits.
pub(crate) fn hex(bytes: &[u8], len: usize) -> String {
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    hex[..len.min(hex.len())].to_owned()
}
