//! The carrier table (`templates/carriers.toml`): names per locale, logos, tracking pages.

use serde::Deserialize;
use std::collections::BTreeMap;

/// One carrier.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Carrier {
    /// Logo file under `store.carrier_logos_url`.
    pub logo: String,
    /// Tracking page with `{tracking}`.
    pub tracking_url: String,
    /// Display names by locale tag or language; `default` otherwise.
    pub names: BTreeMap<String, String>,
}

/// All known carriers by code.
#[derive(Clone, Debug, Default)]
pub struct Carriers(BTreeMap<String, Carrier>);

impl Carriers {
    /// No carriers.
    pub const fn empty() -> Self {
        Self(BTreeMap::new())
    }

    /// Parses the table.
    pub fn parse(toml_text: &str) -> Result<Self, toml::de::Error> {
        toml::from_str(toml_text).map(Self)
    }

    /// A carrier by code (case-insensitive).
    pub fn get(&self, code: &str) -> Option<&Carrier> {
        self.0.get(&code.to_ascii_lowercase())
    }
}

impl Carrier {
    /// The name for a locale, falling back through the language to `default`.
    pub fn name<'a>(&'a self, fallbacks: impl Iterator<Item = &'a str>) -> Option<&'a str> {
        let mut chain = fallbacks;
        chain
            .find_map(|tag| self.names.get(tag))
            .or_else(|| self.names.get("default"))
            .map(String::as_str)
    }

    /// The tracking page for a number.
    pub fn tracking_url(&self, tracking_number: &str) -> String {
        self.tracking_url.replace("{tracking}", &url_encode(tracking_number))
    }
}

/// Percent-encodes everything but unreserved characters (RFC 3986).
pub fn url_encode(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    for byte in raw.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_table_builds_tracking_links_and_local_names() {
        let carriers = Carriers::parse(include_str!("../../../templates/carriers.toml")).expect("valid table");
        let cj = carriers.get("CJ").expect("cj known");
        assert_eq!(cj.name(["ko-KR", "ko"].into_iter()), Some("CJ대한통운"));
        assert_eq!(cj.name(["en-US", "en"].into_iter()), Some("CJ Logistics"));
        let ups = carriers.get("ups").expect("ups known");
        assert_eq!(
            ups.tracking_url("1Z 99&"),
            "https://www.ups.com/track?tracknum=1Z%2099%26"
        );
        for code in ["ups", "fedex", "usps", "dhl", "cj"] {
            assert!(carriers.get(code).is_some(), "{code} missing");
        }
    }

    #[test]
    fn a_tracking_number_cannot_change_the_scheme_of_the_link() {
        let bare = Carrier {
            logo: "x.png".into(),
            tracking_url: "{tracking}".into(),
            names: BTreeMap::new(),
        };
        let url = bare.tracking_url("javascript:alert(1)");
        assert_eq!(url, "javascript%3Aalert%281%29");
        assert!(
            crate::domain::WebUrl::parse(&url).is_err(),
            "and the renderer drops a link without http(s)"
        );
        let carriers = Carriers::parse(include_str!("../../../templates/carriers.toml")).expect("valid table");
        let ups = carriers.get("ups").expect("ups known");
        assert_eq!(
            ups.tracking_url("javascript:x\"<"),
            "https://www.ups.com/track?tracknum=javascript%3Ax%22%3C"
        );
    }
}
