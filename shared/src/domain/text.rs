//! Free text and identifiers from the store, cleaned once at the edge.

use serde::{Deserialize, Serialize};
use std::fmt;

/// True for characters that must never reach a header or break a line: C0/C1 controls
/// (CR, LF, TAB included) and the Unicode bidi embedding/override/isolate controls.
fn is_unsafe_char(c: char) -> bool {
    c.is_control() || matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// Replaces every unsafe character by a space, as events.md requires (never a rejection).
pub fn clean(raw: &str) -> String {
    if raw.chars().any(is_unsafe_char) {
        raw.chars().map(|c| if is_unsafe_char(c) { ' ' } else { c }).collect()
    } else {
        raw.to_owned()
    }
}

/// Text from an event (a name, an order number, a product title) with control characters removed.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, Default)]
#[serde(from = "String", into = "String")]
pub struct Text(String);

/// Longest free text kept (characters). Longer text (a pasted product description) is cut with `…`
/// rather than rejected, so one oversized field can neither bloat every email nor the table.
pub const MAX_TEXT_CHARS: usize = 500;

impl Text {
    /// Cleans `raw` (see [`clean`]) and cuts it at [`MAX_TEXT_CHARS`].
    pub fn new(raw: &str) -> Self {
        match raw.char_indices().nth(MAX_TEXT_CHARS) {
            Some((cut, _)) => {
                let mut text = clean(&raw[..cut]);
                text.pop();
                text.push('…');
                Self(text)
            }
            None => Self(clean(raw)),
        }
    }
    /// The cleaned text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
    /// True when nothing but white space is left.
    pub fn is_blank(&self) -> bool {
        self.0.trim().is_empty()
    }
}

impl From<String> for Text {
    fn from(raw: String) -> Self {
        Self::new(&raw)
    }
}

impl From<Text> for String {
    fn from(text: Text) -> Self {
        text.0
    }
}

impl fmt::Display for Text {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Why an identifier was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum IdError {
    /// Empty or white space only.
    #[error("must not be empty")]
    Empty,
    /// Longer than [`MAX_ID_LEN`].
    #[error("is {0} bytes long; at most {MAX_ID_LEN} are allowed")]
    TooLong(usize),
}

/// Longest identifier accepted; DynamoDB keys and message keys stay well under their limits.
pub const MAX_ID_LEN: usize = 256;

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            /// Parses a store identifier: cleaned of control characters, non-empty, bounded.
            pub fn parse(raw: &str) -> Result<Self, IdError> {
                let cleaned = clean(raw.trim());
                if cleaned.trim().is_empty() {
                    return Err(IdError::Empty);
                }
                if cleaned.len() > MAX_ID_LEN {
                    return Err(IdError::TooLong(cleaned.len()));
                }
                Ok(Self(cleaned))
            }
            /// The identifier as the store sent it.
            pub fn as_str(&self) -> &str {
                &self.0
            }
            /// For logs and errors: a guest's address masked (`guest:a***@e***.com`).
            pub fn redacted(&self) -> super::email::Redacted<'_> {
                super::email::Redacted(&self.0)
            }
        }

        impl TryFrom<String> for $name {
            type Error = IdError;
            fn try_from(raw: String) -> Result<Self, IdError> {
                Self::parse(&raw)
            }
        }

        impl From<$name> for String {
            fn from(id: $name) -> Self {
                id.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

id_type!(
    /// The store's customer id (`guest:<email>` for guests).
    CustomerId
);
id_type!(
    /// The store's order id (not the display number).
    OrderId
);
id_type!(
    /// The store's cart id.
    CartId
);
id_type!(
    /// A shipment id.
    ShipmentId
);
id_type!(
    /// A product id or SKU.
    ProductId
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_and_bidi_characters_become_spaces() {
        let text = Text::new("Ada\r\nBcc: x\u{202E}y\tz");
        assert_eq!(text.as_str(), "Ada  Bcc: x y z");
    }

    #[test]
    fn oversized_text_is_cut_not_rejected() {
        let text = Text::new(&"x".repeat(1_000_000));
        assert_eq!(text.as_str().chars().count(), MAX_TEXT_CHARS);
        assert!(text.as_str().ends_with('…'));
    }

    #[test]
    fn ids_must_not_be_empty() {
        assert_eq!(OrderId::parse("  "), Err(IdError::Empty));
        assert_eq!(OrderId::parse("o-1").map(|id| id.to_string()), Ok("o-1".to_owned()));
    }
}
