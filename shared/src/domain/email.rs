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
    /// A local part that is not a dot-atom (quoted, or with `<>,;:()[]\\"`, or stray dots).
    #[error("has a local part that is not letters, digits and !#$%&'*+-/=?^_`{{|}}~ between single dots")]
    Local,
    /// Non-ASCII before the `@`: SES cannot deliver it (no SMTPUTF8).
    #[error("has a non-ASCII local part, which cannot be delivered")]
    NonAsciiLocal,
    /// Domain without a dot between two labels.
    #[error("has a domain without a dot")]
    Domain,
    /// A domain label that is not letters, digits and inner hyphens (after IDN conversion).
    #[error("has a domain that is not letters, digits and hyphens between dots")]
    DomainLabel,
    /// White space or control characters anywhere.
    #[error("contains white space or control characters")]
    Whitespace,
    /// Longer than RFC 5321 allows.
    #[error("is longer than 254 characters")]
    TooLong,
}

/// A deliverable email address (events.md rules): a dot-atom local part of ASCII atext and a domain
/// of letter-digit-hyphen labels, an IDN domain in its punycode form. The domain is lower-cased.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct EmailAddress(String);

/// RFC 5322 `atext`: what a dot-atom is made of.
fn is_atext(c: char) -> bool {
    c.is_ascii_alphanumeric() || "!#$%&'*+-/=?^_`{|}~".contains(c)
}

/// RFC 1035 "LDH" label: letters, digits, hyphens, not at either end, at most 63 bytes.
fn is_ldh_label(label: &str) -> bool {
    !label.is_empty()
        && label.len() <= 63
        && label.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        && !label.starts_with('-')
        && !label.ends_with('-')
}

impl EmailAddress {
    /// Parses an address: one `@`, a dot-atom local part, a dotted LDH (or IDN) domain, no white space.
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
        if !local.is_ascii() {
            return Err(EmailError::NonAsciiLocal);
        }
        if !local
            .split('.')
            .all(|atom| !atom.is_empty() && atom.chars().all(is_atext))
        {
            return Err(EmailError::Local);
        }
        let dotted = domain
            .split_once('.')
            .is_some_and(|(head, tail)| !head.is_empty() && !tail.is_empty())
            && !domain.ends_with('.');
        if !dotted {
            return Err(EmailError::Domain);
        }
        let domain = if domain.is_ascii() {
            domain.to_ascii_lowercase()
        } else {
            idna::domain_to_ascii_cow(domain.as_bytes(), idna::AsciiDenyList::STD3)
                .map_err(|_| EmailError::DomainLabel)?
                .into_owned()
        };
        if !domain.split('.').all(is_ldh_label) {
            return Err(EmailError::DomainLabel);
        }
        let address = format!("{local}@{domain}");
        if address.len() > 254 {
            return Err(EmailError::TooLong);
        }
        Ok(Self(address))
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
        match Self::parse(&raw) {
            // Read back as stored: an earlier release accepted what this one refuses, and its
            // records must stay readable. Nothing is sent to such an address (`is_deliverable`).
            Err(_) if !super::inbound::is_parsing() => Ok(Self(raw)),
            parsed => parsed,
        }
    }
}

impl EmailAddress {
    /// The address as SES takes it: itself, an IDN domain an earlier release stored raw in
    /// punycode, or `None` for one that no mail should go to (stored by an earlier release).
    pub fn deliverable(&self) -> Option<Self> {
        Self::parse(&self.0).ok()
    }
}

impl From<EmailAddress> for String {
    fn from(address: EmailAddress) -> Self {
        address.0
    }
}

/// Text for a log line or an error with every guest's address masked. tidings names guests by
/// pseudonym (see [`crate::guest`]); this still masks a `guest:<email>` an earlier release stored
/// or a caller passed before the edge renamed it.
pub struct Redacted<'a>(pub &'a str);

impl fmt::Display for Redacted<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut last = 0;
        for (start, end) in super::guest_id::legacy_ids(self.0) {
            let local = start + super::guest_id::PREFIX.len();
            f.write_str(&self.0[last..local])?;
            match EmailAddress::parse(&self.0[local..end]) {
                Ok(email) => write!(f, "{}", email.masked())?,
                Err(_) => f.write_str("***")?,
            }
            last = end;
        }
        f.write_str(&self.0[last..])
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
    fn an_address_an_earlier_release_stored_is_read_back_but_only_sent_to_if_deliverable() {
        let read = |raw: &str| serde_json::from_value::<EmailAddress>(serde_json::json!(raw)).expect("readable");
        assert_eq!(read("victim>,<attacker@evil.example").deliverable(), None);
        assert_eq!(
            read("ada@bücher.example").deliverable().map(|a| a.as_str().to_owned()),
            Some("ada@xn--bcher-kva.example".to_owned())
        );
        let inbound = super::super::inbound::parsing(|| {
            serde_json::from_value::<EmailAddress>(serde_json::json!("victim>,<attacker@evil.example"))
        });
        assert!(inbound.is_err(), "an event is held to the rules");
    }

    #[test]
    fn guests_in_keys_and_ids_are_masked_for_logs() {
        let shown = Redacted("win_back#guest:zelda.unique@example.com#o-1").to_string();
        assert!(!shown.contains("zelda.unique"), "{shown}");
        assert!(
            shown.starts_with("win_back#guest:") && shown.ends_with("#o-1"),
            "{shown}"
        );
        assert_eq!(Redacted("order_confirmation#o-1").to_string(), "order_confirmation#o-1");
        assert_eq!(
            Redacted("customer guest:a..b@x.example#o-1").to_string(),
            "customer guest:***#o-1"
        );
        let pseudonym = "customer guest:3fa94bd2e0c1a7b65d4f2e8a9c0b1d2e";
        assert_eq!(Redacted(pseudonym).to_string(), pseudonym);
    }

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

    #[test]
    fn refuses_what_would_break_a_header_or_that_ses_cannot_deliver() {
        for raw in [
            "victim>,<attacker@evil.example",
            "\"ada byron\"@example.com",
            "\"ada\"@example.com",
            "a;b@example.com",
            "a(b)@example.com",
            "a,b@example.com",
            "a<b@example.com",
            "a>b@example.com",
            "a\\b@example.com",
            "a[b]@example.com",
            "a:b@example.com",
            ".ada@example.com",
            "ada.@example.com",
            "a..da@example.com",
            "민지@example.com",
            "ada@exa_mple.com",
            "ada@-example.com",
            "ada@example-.com",
            "ada@exa(mple).com",
            "ada@[127.0.0.1]",
            "ada@example..com",
        ] {
            assert!(EmailAddress::parse(raw).is_err(), "{raw} accepted");
        }
    }

    #[test]
    fn dot_atoms_and_idn_domains_are_accepted() {
        for raw in [
            "o'brien@example.com",
            "a!#$%&*+-/=?^_`{|}~b@example.com",
            "a.b.c@mail.example.co.uk",
        ] {
            assert_eq!(
                EmailAddress::parse(raw).map(|a| a.as_str().to_owned()),
                Ok(raw.to_owned())
            );
        }
        let idn = EmailAddress::parse("ada@Bücher.example").expect("IDN domain");
        assert_eq!(idn.as_str(), "ada@xn--bcher-kva.example");
        assert!(idn.as_str().is_ascii());
    }
}
