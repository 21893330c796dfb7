//! Guest customer ids without the address in them. A store names a guest `guest:<email>`; tidings
//! keys everything about that guest (table keys, message keys, tokens, SES tags, logs) by
//! `guest:<32 hex>`, a keyed hash of the address under a key of its own that is never rotated, so
//! rotating the signing key changes no key, and a leaked key or log line gives no address.

use crate::domain::CustomerId;
use crate::mac::{KeyError, hex, keyed_mac};
use crate::message::MessageKey;
use hmac::Mac;
use std::borrow::Cow;

use crate::domain::guest_id::PSEUDONYM_LEN;
pub use crate::domain::guest_id::{PREFIX, has_address, legacy_ids};

/// The key guest pseudonyms are derived with.
#[derive(Clone)]
pub struct GuestIds {
    key: Vec<u8>,
}

impl std::fmt::Debug for GuestIds {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("GuestIds(..)")
    }
}

impl GuestIds {
    /// The key from secret bytes (at least 32).
    pub fn new(key: &[u8]) -> Result<Self, KeyError> {
        if key.len() < 32 {
            return Err(KeyError {
                id: "guest ids".into(),
                len: key.len(),
            });
        }
        Ok(Self { key: key.to_vec() })
    }

    /// A fixed, public key for local previews and tests: never use it for a real store.
    pub fn demo() -> Self {
        Self {
            key: b"tidings-demo-guest-id-key-not-secret-00".to_vec(),
        }
    }

    /// `guest:<32 hex>` for an address (compared without case, as the store's inboxes are).
    fn pseudonym(&self, email: &str) -> String {
        let tag = keyed_mac(&self.key, &[b"guest-id", email.to_lowercase().as_bytes()]).finalize();
        format!("{PREFIX}{}", hex(&tag.into_bytes(), PSEUDONYM_LEN))
    }

    /// Where a customer falls in a flow's holdout draw: a number in [0, 1) from the keyed hash of
    /// the customer id and the flow, the same on every invocation. This key is never rotated, so
    /// the groups never reshuffle; keyed, so nobody outside can tell who is held out.
    pub fn holdout_draw(&self, customer: &CustomerId, flow: &str) -> f64 {
        let tag = keyed_mac(&self.key, &[b"holdout", customer.as_str().as_bytes(), flow.as_bytes()]).finalize();
        let mut first = [0_u8; 8];
        first.copy_from_slice(&tag.into_bytes()[..8]);
        // 53 bits: exactly representable, uniform in [0, 1).
        (u64::from_be_bytes(first) >> 11) as f64 / (1_u64 << 53) as f64
    }

    /// `<prefix><32 hex>`: a keyed hash of `parts` under this never-rotated key, for names tidings
    /// gives things outside its table (alarms) that must not reveal what they are about and must
    /// stay the same across key rotations.
    pub fn name(&self, prefix: &str, parts: &[&str]) -> String {
        let parts: Vec<&[u8]> = parts.iter().map(|p| p.as_bytes()).collect();
        let tag = keyed_mac(&self.key, &parts).finalize();
        format!("{prefix}{}", hex(&tag.into_bytes(), 32))
    }

    /// `text` with every `guest:<email>` in it replaced by its pseudonym; borrowed when it has none.
    pub fn rewrite<'a>(&self, text: &'a str) -> Cow<'a, str> {
        let mut spans = legacy_ids(text).peekable();
        if spans.peek().is_none() {
            return Cow::Borrowed(text);
        }
        let mut out = String::with_capacity(text.len());
        let mut last = 0;
        for (start, end) in spans {
            out.push_str(&text[last..start]);
            out.push_str(&self.pseudonym(&text[start + PREFIX.len()..end]));
            last = end;
        }
        out.push_str(&text[last..]);
        Cow::Owned(out)
    }

    /// The customer id tidings keys a customer by: a guest's pseudonym, any other id unchanged. The
    /// whole id after `guest:` is the address, whatever characters it holds.
    pub fn customer_id(&self, id: &CustomerId) -> CustomerId {
        match id.as_str().strip_prefix(PREFIX) {
            Some(address) if address.contains('@') => {
                // A pseudonym is plain hex and short: it always parses.
                CustomerId::parse(&self.pseudonym(address)).unwrap_or_else(|_| id.clone())
            }
            _ => id.clone(),
        }
    }

    /// A message key an earlier release made with a guest's address, with its pseudonym instead.
    pub fn message_key(&self, key: &MessageKey) -> MessageKey {
        match self.rewrite(key.as_str()) {
            Cow::Owned(rewritten) => MessageKey::parse(&rewritten).unwrap_or_else(|_| key.clone()),
            Cow::Borrowed(_) => key.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_guest_id_becomes_a_pseudonym_without_the_address_and_others_stay() {
        let ids = GuestIds::demo();
        let guest = CustomerId::parse("guest:Zelda.Unique@Example.com").expect("id");
        let pseudonym = ids.customer_id(&guest);
        assert!(pseudonym.as_str().starts_with("guest:"), "{pseudonym}");
        assert_eq!(pseudonym.as_str().len(), "guest:".len() + PSEUDONYM_LEN);
        assert!(!pseudonym.as_str().contains('@') && !pseudonym.as_str().to_lowercase().contains("zelda"));
        // The same address in another case is the same guest; a pseudonym stays as it is.
        let lower = CustomerId::parse("guest:zelda.unique@example.com").expect("id");
        assert_eq!(ids.customer_id(&lower), pseudonym);
        assert_eq!(ids.customer_id(&pseudonym), pseudonym);
        let registered = CustomerId::parse("c-1").expect("id");
        assert_eq!(ids.customer_id(&registered), registered);
        // Another key, another pseudonym: the hash cannot be recomputed without the key.
        let other = GuestIds::new(&[7; 32]).expect("key");
        assert_ne!(other.customer_id(&guest), pseudonym);
        assert!(GuestIds::new(&[7; 8]).is_err());
    }

    #[test]
    fn every_guest_address_in_a_key_or_text_is_replaced() {
        let ids = GuestIds::demo();
        let id = ids.customer_id(&CustomerId::parse("guest:a#b@example.com").expect("id"));
        assert_eq!(
            ids.rewrite("MSG#win_back#guest:a#b@example.com#o-1").as_ref(),
            format!("MSG#win_back#{id}#o-1")
        );
        let text = ids.rewrite("guest:x@y.example, guest:z@w.example and guest:not-an-address");
        assert!(!has_address(&text), "{text}");
        assert!(text.ends_with("and guest:not-an-address"), "{text}");
        // A `/` is an address character; a pseudonym followed by a qualifier with an `@` is no address.
        let slash = ids.rewrite("welcome#guest:a/b@example.com");
        assert!(!has_address(&slash) && !slash.contains("example.com"), "{slash}");
        let pseudonym = ids.customer_id(&CustomerId::parse("guest:x@y.example").expect("id"));
        let keyed = format!("cart_reminder#{pseudonym}#c@t");
        assert_eq!(ids.rewrite(&keyed), keyed);
        assert!(matches!(ids.rewrite("CUSTOMER#c-1"), Cow::Borrowed(_)));
        let key = MessageKey::parse("birthday#guest:x@y.example#2026").expect("key");
        assert!(!has_address(ids.message_key(&key).as_str()));
        assert_eq!(ids.message_key(&key).kind(), key.kind());
    }
}
