//! Everything derived from a message key: signed tokens, coupon codes, Message-IDs, MIME boundaries,
//! event ids. Deterministic, so a replay is byte-identical and a retry re-derives the same values.

use crate::domain::CustomerId;
use crate::guest::GuestIds;
pub use crate::mac::KeyError;
use crate::mac::{hex, keyed_mac};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::Mac;
use jiff::Timestamp;
use sha2::{Digest, Sha256};

/// Letters and digits a customer can type without confusing them (no 0/O, 1/I/L, 5/S, 2/Z, 8/B).
const COUPON_ALPHABET: &[u8] = b"34679ACDEFGHJKMNPQRTUVWXY";

/// How long an unsubscribe link keeps working (marketing mail is read long after it is sent).
pub const TOKEN_MAX_AGE: jiff::SignedDuration = jiff::SignedDuration::from_hours(400 * 24);

/// Why an unsubscribe token was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum TokenError {
    /// Not of the form `kid.payload.signature`.
    #[error("token is malformed")]
    Malformed,
    /// Signed with a key that is not configured.
    #[error("token was signed with an unknown key")]
    UnknownKey,
    /// Signature does not match (tampered).
    #[error("token signature does not match")]
    BadSignature,
    /// Older than allowed.
    #[error("token has expired")]
    Expired,
}

/// The store's HMAC keys: the current one signs, the previous one is still accepted (rotation);
/// guest ids have a key of their own that never rotates.
#[derive(Clone)]
pub struct SigningKeys {
    current: (String, Vec<u8>),
    previous: Option<(String, Vec<u8>)>,
    guests: GuestIds,
}

impl std::fmt::Debug for SigningKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "SigningKeys(current={}, previous={:?})",
            self.current.0,
            self.previous.as_ref().map(|p| &p.0)
        )
    }
}

/// What an unsubscribe token says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnsubscribeClaim {
    /// Who.
    pub customer_id: CustomerId,
    /// What from (`marketing`).
    pub scope: String,
    /// When the token was made.
    pub issued_at: Timestamp,
}

impl SigningKeys {
    /// Keys from secret bytes (at least 32 bytes each).
    pub fn new(current_id: &str, current: &[u8], previous: Option<(&str, &[u8])>) -> Result<Self, KeyError> {
        let check = |id: &str, key: &[u8]| {
            if key.len() < 32 {
                Err(KeyError {
                    id: id.to_owned(),
                    len: key.len(),
                })
            } else {
                Ok((id.to_owned(), key.to_vec()))
            }
        };
        Ok(Self {
            current: check(current_id, current)?,
            previous: previous.map(|(id, key)| check(id, key)).transpose()?,
            guests: GuestIds::demo(),
        })
    }

    /// These keys with the store's guest-id key.
    pub fn with_guest_ids(self, guests: GuestIds) -> Self {
        Self { guests, ..self }
    }

    /// The guest-id key (see [`GuestIds`]).
    pub fn guest_ids(&self) -> &GuestIds {
        &self.guests
    }

    /// A fixed, public key for local previews and tests: never use it for a real store.
    pub fn demo() -> Self {
        Self {
            current: ("demo".to_owned(), b"tidings-demo-key-not-secret-0000000000".to_vec()),
            previous: None,
            guests: GuestIds::demo(),
        }
    }

    /// A coupon code unique per message: `PREFIX-XXXXXX` from the keyed HMAC of the message key.
    pub fn coupon_code(&self, prefix: &str, message_key: &str) -> String {
        let tag = keyed_mac(&self.current.1, &[b"coupon", message_key.as_bytes()])
            .finalize()
            .into_bytes();
        let mut code = String::with_capacity(prefix.len() + 9);
        code.push_str(prefix);
        code.push('-');
        // 8 characters of a 25-letter alphabet: ~37 bits, unguessable for a store's coupon space.
        for byte in tag.iter().take(8) {
            code.push(char::from(COUPON_ALPHABET[usize::from(*byte) % COUPON_ALPHABET.len()]));
        }
        code
    }

    /// A signed unsubscribe token: `kid.base64url(customer|scope|issued_at).base64url(hmac)`.
    pub fn unsubscribe_token(&self, customer: &CustomerId, scope: &str, issued_at: Timestamp) -> String {
        let payload = format!("{}|{}|{}", customer.as_str(), scope, issued_at.as_second());
        let (kid, key) = &self.current;
        let tag = keyed_mac(key, &[kid.as_bytes(), payload.as_bytes()])
            .finalize()
            .into_bytes();
        format!(
            "{kid}.{}.{}",
            URL_SAFE_NO_PAD.encode(payload),
            URL_SAFE_NO_PAD.encode(tag)
        )
    }

    /// Verifies a token in constant time against the current or previous key.
    pub fn verify_unsubscribe(
        &self,
        token: &str,
        now: Timestamp,
        max_age: jiff::SignedDuration,
    ) -> Result<UnsubscribeClaim, TokenError> {
        let mut parts = token.splitn(3, '.');
        let (Some(kid), Some(payload), Some(signature)) = (parts.next(), parts.next(), parts.next()) else {
            return Err(TokenError::Malformed);
        };
        let key = [Some(&self.current), self.previous.as_ref()]
            .into_iter()
            .flatten()
            .find(|(id, _)| id == kid)
            .map(|(_, key)| key)
            .ok_or(TokenError::UnknownKey)?;
        let payload = URL_SAFE_NO_PAD.decode(payload).map_err(|_| TokenError::Malformed)?;
        let signature = URL_SAFE_NO_PAD.decode(signature).map_err(|_| TokenError::Malformed)?;
        keyed_mac(key, &[kid.as_bytes(), &payload])
            .verify_slice(&signature)
            .map_err(|_| TokenError::BadSignature)?;
        let payload = String::from_utf8(payload).map_err(|_| TokenError::Malformed)?;
        let mut fields = payload.rsplitn(3, '|');
        let (Some(issued), Some(scope), Some(customer)) = (fields.next(), fields.next(), fields.next()) else {
            return Err(TokenError::Malformed);
        };
        let issued_at = issued
            .parse::<i64>()
            .ok()
            .and_then(|s| Timestamp::from_second(s).ok())
            .ok_or(TokenError::Malformed)?;
        if now.duration_since(issued_at) > max_age {
            return Err(TokenError::Expired);
        }
        Ok(UnsubscribeClaim {
            // As the token names them: one an earlier release made names a guest by address, and
            // `Engine::customer` finds them by either.
            customer_id: CustomerId::parse(customer).map_err(|_| TokenError::Malformed)?,
            scope: scope.to_owned(),
            issued_at,
        })
    }
}

/// A stable hex digest of `parts` (not secret): Message-IDs, MIME boundaries, event ids.
pub fn digest_hex(parts: &[&str], len: usize) -> String {
    let mut hasher = Sha256::new();
    for part in parts {
        hasher.update((part.len() as u64).to_be_bytes());
        hasher.update(part.as_bytes());
    }
    hex(&hasher.finalize(), len)
}

/// A UUID-shaped id derived from `identity` (event ids).
pub fn derived_uuid(identity: &str) -> String {
    let h = digest_hex(&["event-id", identity], 32);
    format!("{}-{}-{}-{}-{}", &h[..8], &h[8..12], &h[12..16], &h[16..20], &h[20..32])
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::SignedDuration;

    fn customer() -> CustomerId {
        CustomerId::parse("c-1").expect("valid")
    }

    #[test]
    fn coupon_codes_are_deterministic_typable_and_distinct() {
        let keys = SigningKeys::demo();
        let a = keys.coupon_code("WELCOME", "welcome_offer#c-1");
        assert_eq!(a, keys.coupon_code("WELCOME", "welcome_offer#c-1"));
        assert_ne!(a, keys.coupon_code("WELCOME", "welcome_offer#c-2"));
        let suffix = a.strip_prefix("WELCOME-").expect("prefix");
        assert_eq!(suffix.len(), 8);
        assert!(suffix.bytes().all(|b| COUPON_ALPHABET.contains(&b)));
        assert!(!suffix.contains(['0', 'O', '1', 'I', 'L']));
    }

    #[test]
    fn tokens_verify_and_tampering_is_detected() {
        let keys = SigningKeys::demo();
        let now = Timestamp::from_second(1_800_000_000).expect("valid");
        let token = keys.unsubscribe_token(&customer(), "marketing", now);
        let claim = keys
            .verify_unsubscribe(&token, now, SignedDuration::from_hours(24))
            .expect("valid");
        assert_eq!(claim.customer_id, customer());

        let forged = keys.unsubscribe_token(&CustomerId::parse("c-2").expect("valid"), "marketing", now);
        let spliced = format!(
            "{}.{}",
            &forged[..forged.rfind('.').expect("dot")],
            token.rsplit('.').next().expect("sig")
        );
        assert_eq!(
            keys.verify_unsubscribe(&spliced, now, SignedDuration::from_hours(24)),
            Err(TokenError::BadSignature)
        );
        let later = now + SignedDuration::from_hours(25);
        assert_eq!(
            keys.verify_unsubscribe(&token, later, SignedDuration::from_hours(24)),
            Err(TokenError::Expired)
        );
    }

    #[test]
    fn rotated_keys_still_accept_tokens_of_the_previous_key() {
        let old = SigningKeys::new("k1", &[1; 32], None).expect("valid");
        let new = SigningKeys::new("k2", &[2; 32], Some(("k1", &[1; 32]))).expect("valid");
        let now = Timestamp::from_second(1_800_000_000).expect("valid");
        let token = old.unsubscribe_token(&customer(), "marketing", now);
        assert!(
            new.verify_unsubscribe(&token, now, SignedDuration::from_hours(1))
                .is_ok()
        );
        assert!(SigningKeys::new("short", &[0; 8], None).is_err());
    }
}
