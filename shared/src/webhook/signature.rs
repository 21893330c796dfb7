//! Each source's webhook signature, checked over the raw body before anything is parsed: an
//! HMAC-SHA256 with the webhook's secret, compared in constant time.
//! WooCommerce: `X-WC-Webhook-Signature` = base64 of the MAC. AfterShip: `aftership-hmac-sha256`
//! = base64 of the MAC. EasyPost: `X-Hmac-Signature` = `hmac-sha256-hex=<hex>`, keyed with the
//! secret NFKD-normalised (as EasyPost's client libraries do).

use super::{Headers, Source};
use crate::mac::HmacSha256;
use base64::Engine as _;
use hmac::{KeyInit, Mac};

/// Why a delivery's signature was refused (answered 401; nothing is published).
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SignatureError {
    /// The signature header is not there.
    #[error("the {0} header is missing")]
    Missing(&'static str),
    /// The header is not in the source's format.
    #[error("the {0} header is not a signature")]
    Malformed(&'static str),
    /// The signature does not match the body (tampered, or another secret).
    #[error("the signature does not match the body")]
    Mismatch,
}

/// The header `source` signs its deliveries in.
pub fn header(source: Source) -> &'static str {
    match source {
        Source::WooCommerce => "x-wc-webhook-signature",
        Source::AfterShip => crate::carriers::aftership::SIGNATURE_HEADER,
        Source::EasyPost => crate::carriers::easypost::SIGNATURE_HEADER,
    }
}

/// Checks the signature of `body` from `source` under `secret`.
pub fn verify(source: Source, headers: &Headers, body: &[u8], secret: &str) -> Result<(), SignatureError> {
    let name = header(source);
    let value = headers.get(name).ok_or(SignatureError::Missing(name))?.trim();
    let signature = match source {
        Source::WooCommerce | Source::AfterShip => base64::engine::general_purpose::STANDARD
            .decode(value)
            .map_err(|_| SignatureError::Malformed(name))?,
        Source::EasyPost => value
            .strip_prefix("hmac-sha256-hex=")
            .and_then(unhex)
            .ok_or(SignatureError::Malformed(name))?,
    };
    mac(source, body, secret)
        .verify_slice(&signature)
        .map_err(|_| SignatureError::Mismatch)
}

/// The signature `source` would send for `body` under `secret` (tests and captures).
pub fn sign(source: Source, body: &[u8], secret: &str) -> String {
    let digest = mac(source, body, secret).finalize().into_bytes();
    match source {
        Source::EasyPost => format!("hmac-sha256-hex={}", crate::mac::hex(&digest, 64)),
        _ => base64::engine::general_purpose::STANDARD.encode(digest),
    }
}

/// The MAC of `body` under `secret` as `source` keys it (EasyPost: the secret NFKD-normalised).
fn mac(source: Source, body: &[u8], secret: &str) -> HmacSha256 {
    let key = match source {
        Source::EasyPost => icu_normalizer::DecomposingNormalizerBorrowed::new_nfkd().normalize(secret),
        Source::WooCommerce | Source::AfterShip => std::borrow::Cow::Borrowed(secret),
    };
    let mut mac = <HmacSha256 as KeyInit>::new_from_slice(key.as_bytes())
        .unwrap_or_else(|_| unreachable!("HMAC accepts any key length"));
    mac.update(body);
    mac
}

fn unhex(hex: &str) -> Option<Vec<u8>> {
    if hex.len() % 2 != 0 {
        return None;
    }
    (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(hex.get(i..i + 2)?, 16).ok())
        .collect()
}
