//! Parsing an event's `detail`: errors that name the field by its JSON path and never repeat the
//! value, and optional fields that are dropped with a warning when they do not parse.

use super::EventError;
use serde::de::DeserializeOwned;

/// An event's `detail`, parsed leniently: an optional field that does not parse is dropped (set to
/// `null`) with a warning, so an odd birthday never costs the customer their order confirmation.
/// Required fields still reject the event.
pub(super) struct Lenient<'a> {
    pub(super) value: serde_json::Value,
    pub(super) warnings: &'a mut Vec<EventError>,
}

/// Fields that may be absent, by name: dropping one keeps the event meaningful. (`items` is
/// optional only in a shipment; an order's and a cart's are required.)
const OPTIONAL_FIELDS: &[&str] = &[
    "first_name",
    "last_name",
    "locale",
    "time_zone",
    "birthday",
    "signed_up_at",
    "consent_updated_at",
    "tags",
    "variant",
    "category",
    "image_url",
    "url",
    "line2",
    "region",
    "shipping_address",
    "estimated_delivery",
    "lead_time_days",
    "coupon_code",
    "status_url",
    "carrier_name",
    "tracking_url",
    "description",
    "location",
    "delivered_at",
    "rating",
    "reason",
];

impl Lenient<'_> {
    /// Records that a record was shrunk to fit (`reason`), naming `field`.
    pub(super) fn note(&mut self, reason: Option<String>, field: &str) {
        if let Some(reason) = reason {
            self.warnings.push(EventError {
                field: field.to_owned(),
                reason,
            });
        }
    }

    pub(super) fn parse<T: DeserializeOwned>(&mut self) -> Result<T, EventError> {
        // Each round drops one field; a detail has far fewer optional fields than this.
        for _ in 0..64 {
            let error = match deserialize_at::<T>("detail", self.value.clone()) {
                Ok(parsed) => return Ok(parsed),
                Err(error) => error,
            };
            // The innermost optional field that can go: a required field missing inside an
            // optional object (an address without its country) drops the object.
            let dropped = optional_ancestors(&error.field)
                .iter()
                .any(|path| null_at(&mut self.value, path));
            if !dropped {
                return Err(error);
            }
            self.warnings.push(error);
        }
        Err(EventError {
            field: "detail".into(),
            reason: "too many invalid optional fields".into(),
        })
    }
}

/// One step of a JSON path: a field name and the array indices after it (`items[0]`).
fn steps(path: &str) -> Vec<(&str, Vec<usize>)> {
    path.split('.')
        .map(|step| {
            let mut parts = step.split('[');
            let name = parts.next().unwrap_or_default();
            let indices = parts
                .filter_map(|index| index.trim_end_matches(']').parse().ok())
                .collect();
            (name, indices)
        })
        .collect()
}

/// The paths (below `detail`) of the optional fields at or above `field`, innermost first.
fn optional_ancestors(field: &str) -> Vec<Vec<(String, Vec<usize>)>> {
    let Some(below) = field.strip_prefix("detail.") else {
        return vec![];
    };
    let steps = steps(below);
    let parent = |i: usize| if i > 0 { steps[i - 1].0 } else { "" };
    let optional = |i: usize| match steps[i].0 {
        // Optional in a shipment, required in an order or a cart.
        "items" => parent(i) == "shipment",
        // Optional for a customer, required in an address.
        "country" => parent(i) == "customer",
        name => OPTIONAL_FIELDS.contains(&name),
    };
    (0..steps.len())
        .rev()
        .filter(|&i| optional(i))
        .map(|i| {
            steps[..=i]
                .iter()
                .map(|(name, indices)| ((*name).to_owned(), indices.clone()))
                .collect()
        })
        .collect()
}

/// Sets the field at `path` to `null` (the indices of its last step are not followed: the whole
/// field goes). False when the path does not lead to a field.
fn null_at(value: &mut serde_json::Value, path: &[(String, Vec<usize>)]) -> bool {
    let Some(((last, _), parents)) = path.split_last() else {
        return false;
    };
    let mut at = value;
    for (name, indices) in parents {
        let Some(next) = at.get_mut(name.as_str()) else {
            return false;
        };
        at = next;
        for index in indices {
            let Some(next) = at.get_mut(*index) else {
                return false;
            };
            at = next;
        }
    }
    match at.get_mut(last.as_str()) {
        Some(field) if !field.is_null() => {
            *field = serde_json::Value::Null;
            true
        }
        _ => false,
    }
}

/// Deserializes `value`, reporting errors with the full path from the envelope root.
pub(super) fn deserialize_at<T: DeserializeOwned>(prefix: &str, value: serde_json::Value) -> Result<T, EventError> {
    serde_path_to_error::deserialize(value).map_err(|error| {
        let path = error.path().to_string();
        field_error(prefix, &path, &error.into_inner().to_string())
    })
}

/// A deserialization error at `path` (below `prefix`) as an `EventError`: the field named in
/// full, a missing field named itself, and no value repeated (also for errors read from JSON
/// text, whose messages end with the line and column).
pub(crate) fn field_error(prefix: &str, path: &str, message: &str) -> EventError {
    let mut field = match (prefix.is_empty(), path) {
        (true, path) => path.to_owned(),
        (false, ".") => prefix.to_owned(),
        (false, path) => format!("{prefix}.{path}"),
    };
    let message = message.split(" at line ").next().unwrap_or_default();
    let mut reason = without_value(message);
    // serde reports a missing field at its parent; name the field itself.
    if let Some(name) = reason
        .strip_prefix("missing field `")
        .and_then(|rest| rest.strip_suffix('`'))
    {
        field = if field.is_empty() || field == "." {
            name.to_owned()
        } else {
            format!("{field}.{name}")
        };
        reason = "is required".to_owned();
    }
    if field.is_empty() || field == "." {
        field = "(envelope)".to_owned();
    }
    EventError { field, reason }
}

/// serde's type and value errors quote the value (`invalid type: string "Ada Lovelace, 12 St
/// James's Sq", expected struct Address`); errors reach logs and dead-letter queues, so only the
/// kind of value is kept.
fn without_value(reason: &str) -> String {
    for prefix in ["invalid type: ", "invalid value: "] {
        if let Some(rest) = reason.strip_prefix(prefix) {
            let kind = rest.split([' ', ',']).next().unwrap_or_default();
            let expected = rest.rfind(", expected ").map_or("", |at| &rest[at..]);
            return format!("{prefix}{kind}{expected}");
        }
    }
    reason.to_owned()
}
