//! Email addresses, parsed once at the edge and masked in every log line.

use serde::{Deserialize, Serialize};
use std::fmt;

/// Why an email address was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum EmailError {
    /// Not exactly one `@`.
    #[error("must contain exactly one '@'")]
    At,
    /// Nothing before the `@`.
    #[error("has an empty local part")]
    EmptyLocal,
    /// Domain without a dot between two labels.
    #[error("has a domain without a dot")]
    Domain,
    /// White space or control characters anywhere.
    #[error("contains white space or control characters")]
    Whitespace,
    /// Longer than RFC 5321 allows.
    #[error("is longer than 254 characters")]
    TooLong,
}

/// A syntactically valid email address (events.md rules). The domain is lower-cased.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct EmailAddress(String);

impl EmailAddress {
    /// Parses an address: one `@`, non-empty local part, a dotted domain, no white space.
    pub fn parse(raw: &str) -> Result<Self, EmailError> {
        if raw.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(EmailError::Whitespace);
        }
        if raw.len() > 254 {
            return Err(EmailError::TooLong);
        }
        let (local, domain) = match raw.split_once('@') {
            Some((local, domain)) if !domain.contains('@') => (local, domain),
            _ => return Err(EmailError::At),
        };
        if local.is_empty() {
            return Err(EmailError::EmptyLocal);
        }
        let dotted = domain
            .split_once('.')
            .is_some_and(|(head, tail)| !head.is_empty() && !tail.is_empty())
            && !domain.ends_with('.');
        if !dotted {
            return Err(EmailError::Domain);
        }
        Ok(Self(format!("{local}@{}", domain.to_ascii_lowercase())))
    }

    /// The full address: only for the message itself, never for logs.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The domain part.
    pub fn domain(&self) -> &str {
        self.0.rsplit_once('@').map_or("", |(_, domain)| domain)
    }

    /// A form safe for logs: `a***@e***.com`.
    pub fn masked(&self) -> Masked<'_> {
        Masked(self)
    }
}

impl TryFrom<String> for EmailAddress {
    type Error = EmailError;
    fn try_from(raw: String) -> Result<Self, EmailError> {
        Self::parse(&raw)
    }
}

impl From<EmailAddress> for String {
    fn from(address: EmailAddress) -> Self {
        address.0
    }
}

/// `Debug` masks too, so a stray `{:?}` never leaks an address into a log.
impl fmt::Debug for EmailAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "EmailAddress({})", self.masked())
    }
}

/// Display adapter that masks an address.
pub struct Masked<'a>(&'a EmailAddress);

impl fmt::Display for Masked<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (local, domain) = self.0.0.rsplit_once('@').unwrap_or(("", ""));
        let (host, tld) = domain.rsplit_once('.').unwrap_or((domain, ""));
        let first = |s: &str| s.chars().next().map(String::from).unwrap_or_default();
        write!(f, "{}***@{}***.{}", first(local), first(host), tld)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_ordinary_addresses_and_lowercases_the_domain() {
        let address = EmailAddress::parse("Ada.Byron+shop@Example.COM").expect("valid");
        assert_eq!(address.as_str(), "Ada.Byron+shop@example.com");
    }

    #[test]
    fn rejects_each_rule_of_the_contract() {
        assert_eq!(EmailAddress::parse("ada.example.com"), Err(EmailError::At));
        assert_eq!(EmailAddress::parse("a@b@example.com"), Err(EmailError::At));
        assert_eq!(EmailAddress::parse("@example.com"), Err(EmailError::EmptyLocal));
        assert_eq!(EmailAddress::parse("ada@localhost"), Err(EmailError::Domain));
        assert_eq!(EmailAddress::parse("ada@.com"), Err(EmailError::Domain));
        assert_eq!(EmailAddress::parse("ada@example."), Err(EmailError::Domain));
        assert_eq!(EmailAddress::parse("ada @example.com"), Err(EmailError::Whitespace));
        assert_eq!(EmailAddress::parse("ada@exa\nmple.com"), Err(EmailError::Whitespace));
    }

    #[test]
    fn masked_form_hides_the_address() {
        let address = EmailAddress::parse("minji@example.com").expect("valid");
        assert_eq!(address.masked().to_string(), "m***@e***.com");
        assert!(!format!("{address:?}").contains("minji"));
    }
}
