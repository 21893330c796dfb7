//! Vendors' numeric ids.

use serde::{Deserialize, Deserializer};

/// A vendor's id (Shopify's, WooCommerce's): a 64-bit integer, sent as a JSON number or a string, kept as its decimal text.
/// A float (an id that passed through JavaScript and lost its last digits) is refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Id(pub(crate) String);

impl<'de> Deserialize<'de> for Id {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl serde::de::Visitor<'_> for Visitor {
            type Value = Id;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("an integer id (number or string)")
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Id, E> {
                Ok(Id(v.to_string()))
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Id, E> {
                Ok(Id(v.to_string()))
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Id, E> {
                // Admin GraphQL ids (`gid://shopify/Order/450789469`) name the same number.
                let v = v.rsplit('/').next().unwrap_or(v).trim();
                if v.is_empty() || !v.bytes().all(|b| b.is_ascii_digit()) || v.parse::<u64>().is_err() {
                    return Err(E::custom("not an integer id"));
                }
                Ok(Id(v.to_owned()))
            }
        }
        deserializer.deserialize_any(Visitor)
    }
}
