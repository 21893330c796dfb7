//! How a guest's customer id looks: `guest:<email>` as a store names a guest, `guest:<32 hex>` as
//! tidings keys it (`crate::guest` makes the pseudonyms). The scanner finds the first kind inside
//! longer text (message keys, item names) for masking and for the table upgrade.

/// What a guest's customer id starts with, by address (from the store) or by pseudonym.
pub const PREFIX: &str = "guest:";
/// Hex digits of a pseudonym: 128 bits.
pub const PSEUDONYM_LEN: usize = 32;

/// Whether `text` still holds a guest id with an address in it.
pub fn has_address(text: &str) -> bool {
    legacy_ids(text).next().is_some()
}

/// Characters of an address's local part (RFC 5322 `atext` and the dot).
fn local_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || "!#$%&'*+-/=?^_`{|}~.".contains(c) || !c.is_ascii()
}

/// Characters of a domain (letters, digits, hyphens, dots; IDN labels as they came).
fn domain_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '-' || c == '.' || !c.is_ascii()
}

/// Whether `rest` (what follows `guest:`) starts with a pseudonym and so is no address.
fn starts_with_pseudonym(rest: &str) -> bool {
    let hex = rest
        .bytes()
        .take_while(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(b))
        .count();
    hex == PSEUDONYM_LEN && !rest[hex..].starts_with(|c: char| local_char(c) && c != '#')
}

/// The byte spans of `guest:<email>` ids in `text` (inside message keys and item names): an
/// address's local part is `atext` (it may hold a `#`), its domain letters, digits, `-` and `.`.
pub fn legacy_ids(text: &str) -> impl Iterator<Item = (usize, usize)> + '_ {
    let mut from = 0;
    std::iter::from_fn(move || {
        while let Some(found) = text[from..].find(PREFIX) {
            let start = from + found;
            let local = start + PREFIX.len();
            from = local;
            let rest = &text[local..];
            if starts_with_pseudonym(rest) {
                continue;
            }
            let at = rest.find(|c: char| !local_char(c)).unwrap_or(rest.len());
            if at == 0 || !rest[at..].starts_with('@') {
                continue;
            }
            let domain = &rest[at + 1..];
            let end = domain.find(|c: char| !domain_char(c)).unwrap_or(domain.len());
            if end == 0 {
                continue;
            }
            let end = local + at + 1 + end;
            from = end;
            return Some((start, end));
        }
        None
    })
}
