//! What the stores' and carriers' payloads share: ids as numbers or strings, money as decimal
//! text, read without floats.

mod amount;
mod id;

pub(crate) use amount::{Amount, minor_units};
pub(crate) use id::Id;

use crate::event::EventError;
use serde::Deserialize;

/// Deserializes with errors naming the field's path below `prefix` (never its value).
pub(crate) fn at<'de, T: Deserialize<'de>>(
    prefix: &str,
    deserializer: &mut serde_json::Deserializer<serde_json::de::StrRead<'de>>,
) -> Result<T, EventError> {
    serde_path_to_error::deserialize(deserializer).map_err(|e| {
        let path = e.path().to_string();
        crate::event::detail::field_error(prefix, &path, &e.into_inner().to_string())
    })
}

pub(crate) fn error(field: &str, reason: impl std::fmt::Display) -> EventError {
    EventError {
        field: field.to_owned(),
        reason: reason.to_string(),
    }
}

/// A customer's name for the contract's id when Shopify gives no customer: a guest.
pub(crate) fn guest_id(email: &str) -> String {
    format!("{}{email}", crate::domain::guest_id::PREFIX)
}

/// Text that is present and not blank.
pub(crate) fn given(text: &Option<String>) -> Option<&str> {
    text.as_deref().map(str::trim).filter(|t| !t.is_empty())
}

/// A list that may be `null` (vendors send either for "none").
pub(crate) fn list<'de, D: serde::Deserializer<'de>, T: Deserialize<'de>>(deserializer: D) -> Result<Vec<T>, D::Error> {
    Ok(Option::<Vec<T>>::deserialize(deserializer)?.unwrap_or_default())
}
