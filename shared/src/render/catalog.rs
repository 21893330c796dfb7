//! Locale strings (`templates/locales/<tag>.toml`), kept apart from markup.

use std::collections::BTreeMap;

/// Why a string could not be produced.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CatalogError {
    /// The locale file is not valid TOML of `[section] key = "text"` tables.
    #[error("locale file '{locale}' is invalid: {reason}")]
    Invalid {
        /// Locale tag.
        locale: String,
        /// What is wrong.
        reason: String,
    },
    /// No such key.
    #[error("locale '{locale}' has no string '{key}'")]
    Missing {
        /// Locale tag.
        locale: String,
        /// The key.
        key: String,
    },
    /// A `{placeholder}` without a value.
    #[error("string '{key}' of locale '{locale}' needs a value for {{{placeholder}}}")]
    Placeholder {
        /// Locale tag.
        locale: String,
        /// The key.
        key: String,
        /// The placeholder.
        placeholder: String,
    },
}

/// The strings of one locale, flattened to `section.key`.
#[derive(Clone, Debug, Default)]
pub struct Catalog {
    locale: String,
    strings: BTreeMap<String, String>,
}

impl Catalog {
    /// Parses a locale file.
    pub fn parse(locale: &str, toml_text: &str) -> Result<Self, CatalogError> {
        let invalid = |reason: String| CatalogError::Invalid {
            locale: locale.to_owned(),
            reason,
        };
        let tables: BTreeMap<String, BTreeMap<String, String>> =
            toml::from_str(toml_text).map_err(|e| invalid(e.to_string()))?;
        let strings = tables
            .into_iter()
            .flat_map(|(section, entries)| {
                entries
                    .into_iter()
                    .map(move |(key, text)| (format!("{section}.{key}"), text))
            })
            .collect();
        Ok(Self {
            locale: locale.to_owned(),
            strings,
        })
    }

    /// The locale tag of this catalog.
    pub fn locale(&self) -> &str {
        &self.locale
    }

    /// Every key.
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.strings.keys().map(String::as_str)
    }

    /// True when the key exists.
    pub fn has(&self, key: &str) -> bool {
        self.strings.contains_key(key)
    }

    /// The string for `key` with `{name}` placeholders filled from `args`.
    pub fn text(&self, key: &str, args: &[(&str, &str)]) -> Result<String, CatalogError> {
        let template = self.strings.get(key).ok_or_else(|| CatalogError::Missing {
            locale: self.locale.clone(),
            key: key.to_owned(),
        })?;
        let mut out = String::with_capacity(template.len() + 16);
        let mut rest = template.as_str();
        while let Some(start) = rest.find('{') {
            out.push_str(&rest[..start]);
            let after = &rest[start + 1..];
            let Some(end) = after.find('}') else {
                out.push_str(&rest[start..]);
                rest = "";
                break;
            };
            let name = &after[..end];
            let value = args
                .iter()
                .find(|(arg, _)| *arg == name)
                .map(|(_, value)| *value)
                .ok_or_else(|| CatalogError::Placeholder {
                    locale: self.locale.clone(),
                    key: key.to_owned(),
                    placeholder: name.to_owned(),
                })?;
            out.push_str(value);
            rest = &after[end + 1..];
        }
        out.push_str(rest);
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_filled_and_missing_ones_are_errors() {
        let catalog = Catalog::parse("ko", "[common]\ngreeting = \"{name}님, 안녕하세요.\"\n").expect("valid");
        assert_eq!(
            catalog.text("common.greeting", &[("name", "민지")]),
            Ok("민지님, 안녕하세요.".into())
        );
        assert!(matches!(
            catalog.text("common.greeting", &[]),
            Err(CatalogError::Placeholder { .. })
        ));
        assert!(matches!(
            catalog.text("common.nope", &[]),
            Err(CatalogError::Missing { .. })
        ));
    }
}
