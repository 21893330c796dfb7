//! Links from the store, parsed once at the edge: only `http:` and `https:` URLs reach a message.

use serde::{Deserialize, Deserializer, Serialize};
use std::fmt;

/// Why a link was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum UrlError {
    /// `javascript:`, `data:`, a relative or protocol-relative link, …
    #[error("must be an absolute http:// or https:// URL")]
    Scheme,
    /// White space, control characters or quotes inside.
    #[error("contains white space, control characters or quotes")]
    Whitespace,
    /// Longer than [`MAX_URL_LEN`].
    #[error("is longer than {MAX_URL_LEN} bytes")]
    TooLong,
}

/// Longest link accepted (browsers and mail clients handle far more; a longer one is a mistake).
pub const MAX_URL_LEN: usize = 2048;

/// An absolute `http://` or `https://` URL with a host: safe in an `href` or a `src`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct WebUrl(String);

impl WebUrl {
    /// Parses a link; white space around it is ignored, the scheme is matched without case.
    pub fn parse(raw: &str) -> Result<Self, UrlError> {
        // Browsers strip leading C0 controls and spaces before reading the scheme; so does this.
        let url = raw.trim_matches(|c: char| c.is_whitespace() || c.is_control());
        if url.len() > MAX_URL_LEN {
            return Err(UrlError::TooLong);
        }
        let rest = ["https://", "http://"].iter().find_map(|scheme| {
            let head = url.get(..scheme.len())?;
            head.eq_ignore_ascii_case(scheme).then(|| &url[scheme.len()..])
        });
        let host_first = rest.and_then(|rest| rest.chars().next());
        if !host_first.is_some_and(|c| !matches!(c, '/' | '\\' | '?' | '#')) {
            return Err(UrlError::Scheme);
        }
        if url
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || matches!(c, '"' | '<' | '>' | '`'))
        {
            return Err(UrlError::Whitespace);
        }
        Ok(Self(url.to_owned()))
    }

    /// The link.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for WebUrl {
    type Error = UrlError;
    fn try_from(raw: String) -> Result<Self, UrlError> {
        Self::parse(&raw)
    }
}

impl From<WebUrl> for String {
    fn from(url: WebUrl) -> Self {
        url.0
    }
}

impl fmt::Display for WebUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// An optional link that is dropped (`None`, with a warning naming `field`, never the link) when it is
/// not http(s): the message goes out without that link rather than not at all.
pub(crate) fn optional_link<'de, D>(deserializer: D, field: &'static str) -> Result<Option<WebUrl>, D::Error>
where
    D: Deserializer<'de>,
{
    let Some(raw) = Option::<String>::deserialize(deserializer)? else {
        return Ok(None);
    };
    match WebUrl::parse(&raw) {
        Ok(url) => Ok(Some(url)),
        Err(reason) => {
            tracing::warn!(field, %reason, "link dropped");
            Ok(None)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_absolute_http_links_are_accepted() {
        for raw in [
            "https://shop.example/p/1?x=1&y=2#top",
            "http://shop.example",
            "HTTPS://Shop.example/a",
        ] {
            assert_eq!(WebUrl::parse(raw).map(String::from), Ok(raw.to_owned()));
        }
        assert_eq!(
            WebUrl::parse(" \thttps://shop.example/ \n").map(String::from),
            Ok("https://shop.example/".into())
        );
        for raw in [
            "javascript:alert(1)",
            "\u{1} JaVaScRiPt:alert(1)",
            "data:text/html,<script>",
            "vbscript:msgbox(1)",
            "//evil.example/x",
            "/p/1",
            "https:///evil.example",
            "https:/\\evil.example",
            "",
        ] {
            assert_eq!(WebUrl::parse(raw), Err(UrlError::Scheme), "{raw:?}");
        }
        assert_eq!(WebUrl::parse("https://shop.example/a b"), Err(UrlError::Whitespace));
        assert_eq!(
            WebUrl::parse("https://shop.example/\"onload=x"),
            Err(UrlError::Whitespace)
        );
    }
}
