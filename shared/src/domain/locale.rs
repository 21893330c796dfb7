//! BCP 47 locales and the fallback chain used to pick strings.

use serde::{Deserialize, Serialize};
use std::fmt;

/// Why a locale tag was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("'{0}' is not a BCP 47 language tag")]
pub struct LocaleError(pub String);

/// A well-formed BCP 47 tag in canonical form (`ko-KR`, `zh-Hant-TW`).
#[derive(Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Locale(String);

impl Locale {
    /// Parses and canonicalises a tag (`ko_kr` → `ko-KR`).
    pub fn parse(tag: &str) -> Result<Self, LocaleError> {
        let parsed = tag
            .replace('_', "-")
            .parse::<icu_locale_core::LanguageIdentifier>()
            .map_err(|_| LocaleError(tag.to_owned()))?;
        if parsed.language.is_unknown() {
            return Err(LocaleError(tag.to_owned()));
        }
        Ok(Self(parsed.to_string()))
    }

    /// The tag.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The tag and its ever shorter prefixes: `zh-Hant-TW` → `zh-Hant-TW`, `zh-Hant`, `zh`.
    pub fn fallbacks(&self) -> impl Iterator<Item = &str> {
        let tag = self.0.as_str();
        std::iter::successors(Some(tag), |current| current.rsplit_once('-').map(|(head, _)| head))
    }
}

impl fmt::Debug for Locale {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Display for Locale {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for Locale {
    type Error = LocaleError;
    fn try_from(tag: String) -> Result<Self, LocaleError> {
        Self::parse(&tag)
    }
}

impl From<Locale> for String {
    fn from(locale: Locale) -> Self {
        locale.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_are_canonicalised() {
        assert_eq!(Locale::parse("ko_kr").expect("valid").as_str(), "ko-KR");
        assert!(Locale::parse("not a tag").is_err());
    }

    #[test]
    fn fallbacks_shorten_the_tag() {
        let locale = Locale::parse("zh-Hant-TW").expect("valid");
        assert_eq!(locale.fallbacks().collect::<Vec<_>>(), ["zh-Hant-TW", "zh-Hant", "zh"]);
    }
}
