//! Shadow mode (`[sending] mode = "shadow"`): every event is handled exactly as live (claims,
//! ledger, follow-ups, coupons), but a message to an address not on the allowlist goes to SES's
//! mailbox simulator instead, so a store sees its volume and its SES metrics before it mails
//! anyone. A decorator of the mailer: the engine and the ledger never know.

use crate::config::Sending;
use crate::domain::EmailAddress;
use crate::ports::{Mailer, OutgoingEmail, SendError};

/// SES's mailbox simulator address that accepts and reports delivery, mailing no one.
pub const SIMULATOR: &str = "success@simulator.amazonses.com";

/// A mailer that, in shadow mode, sends every message not to an allowlisted address to
/// [`SIMULATOR`]; in live mode it is the inner mailer unchanged.
pub struct ShadowMailer<M> {
    inner: M,
    /// `None` when live; otherwise the addresses that get their real email.
    allow: Option<Vec<EmailAddress>>,
    simulator: EmailAddress,
}

impl<M: Mailer> ShadowMailer<M> {
    /// `inner` as `sending` says: live, or shadow with its allowlist.
    pub fn new(inner: M, sending: &Sending) -> Self {
        let simulator = EmailAddress::parse(SIMULATOR).expect("the simulator's address is valid (tested)");
        Self {
            inner,
            allow: sending.is_shadow().then(|| sending.allow.clone()),
            simulator,
        }
    }

    /// The mailer underneath.
    pub fn inner(&self) -> &M {
        &self.inner
    }

    /// True in shadow mode.
    pub fn is_shadow(&self) -> bool {
        self.allow.is_some()
    }

    /// Whether `to` gets its real email: always when live; in shadow mode when allowlisted.
    fn delivers_to(&self, to: &EmailAddress) -> bool {
        self.allow
            .as_ref()
            .is_none_or(|allow| allow.iter().any(|allowed| same_mailbox(allowed, to)))
    }
}

/// Whether two addresses name the same mailbox: the domain without case (DNS ignores it), the
/// local part exactly, as RFC 5321 lets a receiving server treat it. Failing closed: an
/// allowlisted owner who writes their address in another case gets the simulator, never does a
/// customer whose address differs from the owner's only in case get real mail.
pub fn same_mailbox(a: &EmailAddress, b: &EmailAddress) -> bool {
    fn split(address: &EmailAddress) -> (&str, &str) {
        let text = address.as_str();
        text.rsplit_once('@').unwrap_or((text, ""))
    }
    let ((a_local, a_domain), (b_local, b_domain)) = (split(a), split(b));
    a_local == b_local && a_domain.eq_ignore_ascii_case(b_domain)
}

impl<M: Mailer> Mailer for ShadowMailer<M> {
    async fn send(&self, email: &OutgoingEmail) -> Result<String, SendError> {
        if self.delivers_to(&email.to) {
            if self.is_shadow() {
                tracing::debug!(message_key = %email.key.redacted(), kind = %email.kind, "shadow mode: allowlisted recipient gets the real email");
            }
            return self.inner.send(email).await;
        }
        // Not sent at all rather than sent to the customer: the same bytes would fail again.
        let raw = readdress(&email.raw, &self.simulator)
            .map_err(|error| SendError::Permanent(format!("shadow mode: {error}")))?;
        let redirected = OutgoingEmail {
            to: self.simulator.clone(),
            raw,
            ..email.clone()
        };
        tracing::info!(message_key = %email.key.redacted(), kind = %email.kind, metric = "shadow_send", "shadow mode: sent to the SES mailbox simulator instead of the customer");
        self.inner.send(&redirected).await
    }

    /// The inner mailer's answer, for the original message: SES reports a redirected message
    /// with the same tags (message key, customer), so the ledger settles it the same way.
    fn reports_acceptance(&self, email: &OutgoingEmail) -> bool {
        self.inner.reports_acceptance(email)
    }

    fn reports_sends(&self) -> bool {
        self.inner.reports_sends()
    }

    fn paced(&self) -> bool {
        self.inner.paced()
    }
}

/// Why a message could not be readdressed (never the case for what [`crate::mime`] builds).
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ReaddressError {
    /// No empty line ends the header block.
    #[error("the message has no end of headers")]
    NoHeaderEnd,
    /// No `To` header to replace.
    #[error("the message has no To header")]
    NoTo,
    /// Another recipient header (`Cc`, `Bcc`) that this function does not rewrite.
    #[error("the message has a {0} header")]
    OtherRecipients(&'static str),
}

/// `raw` with its `To` field (every line of it, folded or not) replaced by `To: <to>`; every other
/// byte unchanged. The header block ends at the first CRLF CRLF; a line starting with a space or
/// a tab continues the field before it (RFC 5322 folding). A message with another recipient
/// header is refused, so nothing of the original recipients can be left for a server to use.
pub fn readdress(raw: &[u8], to: &EmailAddress) -> Result<Vec<u8>, ReaddressError> {
    let end = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or(ReaddressError::NoHeaderEnd)?;
    // `head` keeps the last field's CRLF; `rest` starts with the empty line.
    let (head, rest) = raw.split_at(end + 2);
    let mut out = Vec::with_capacity(raw.len());
    let mut replaced = false;
    let mut in_to = false;
    for line in head.split_inclusive(|&b| b == b'\n') {
        if line.starts_with(b" ") || line.starts_with(b"\t") {
            if !in_to {
                out.extend_from_slice(line);
            }
            continue;
        }
        let name = line.split(|&b| b == b':').next().unwrap_or_default().trim_ascii();
        in_to = name.eq_ignore_ascii_case(b"to");
        if in_to {
            // A second `To` (not RFC 5322, but possible) goes too: one recipient remains.
            if !replaced {
                out.extend_from_slice(format!("To: {}\r\n", to.as_str()).as_bytes());
                replaced = true;
            }
            continue;
        }
        for other in ["Cc", "Bcc"] {
            if name.eq_ignore_ascii_case(other.as_bytes()) {
                return Err(ReaddressError::OtherRecipients(other));
            }
        }
        out.extend_from_slice(line);
    }
    if !replaced {
        return Err(ReaddressError::NoTo);
    }
    out.extend_from_slice(rest);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::SendingMode;

    fn address(text: &str) -> EmailAddress {
        EmailAddress::parse(text).expect("valid")
    }

    fn simulator() -> EmailAddress {
        address(SIMULATOR)
    }

    fn built(to_name: &str) -> Vec<u8> {
        // The body names the address too: only the header may change.
        let text = "To: minji.unique@example.com\n";
        crate::mime::tests::sample_message("minji.unique@example.com", false, "Welcome", to_name, text)
    }

    fn head(raw: &[u8]) -> String {
        let text = String::from_utf8(raw.to_vec()).expect("ascii");
        text.split("\r\n\r\n").next().expect("head").to_owned()
    }

    #[test]
    fn the_simulator_address_is_valid() {
        assert_eq!(simulator().as_str(), SIMULATOR);
    }

    #[test]
    fn a_folded_to_header_is_replaced_with_all_its_lines() {
        let raw = b"From: Shop <hello@shop.example>\r\nTo: =?utf-8?B?66+87KeA?=\r\n\t<minji@example.com>\r\nSubject: Hi\r\n\r\nbody To: minji@example.com\r\n";
        let out = readdress(raw, &simulator()).expect("readdressed");
        assert_eq!(
            out,
            b"From: Shop <hello@shop.example>\r\nTo: success@simulator.amazonses.com\r\nSubject: Hi\r\n\r\nbody To: minji@example.com\r\n"
        );
    }

    #[test]
    fn only_the_to_header_changes_in_what_the_builder_writes() {
        // A long encoded display name: mail-builder folds it over several lines.
        let name = "민지 아주 긴 이름을 가진 고객님 =?utf-8?b?4oCu?= 그리고 더 많은 글자";
        let raw = built(name);
        let original = head(&raw);
        let to_lines = original
            .split("\r\n")
            .skip_while(|line| !line.starts_with("To:"))
            .skip(1)
            .take_while(|line| line.starts_with([' ', '\t']))
            .count();
        assert!(to_lines > 0, "the sample folds its To header: {original}");
        let out = readdress(&raw, &simulator()).expect("readdressed");
        let rewritten = head(&out);
        assert!(!rewritten.contains("minji"), "{rewritten}");
        assert!(
            rewritten.contains("\r\nTo: success@simulator.amazonses.com\r\n"),
            "{rewritten}"
        );
        // Everything but the To field is byte for byte the same, in the same order.
        let without_to = |head: &str| {
            let mut lines = Vec::new();
            let mut in_to = false;
            for line in head.split("\r\n") {
                if !line.starts_with([' ', '\t']) {
                    in_to = line.starts_with("To:");
                }
                if !in_to {
                    lines.push(line.to_owned());
                }
            }
            lines
        };
        assert_eq!(without_to(&original), without_to(&rewritten));
        let body = |raw: &[u8]| raw[raw.windows(4).position(|w| w == b"\r\n\r\n").expect("end")..].to_vec();
        assert_eq!(
            body(&raw),
            body(&out),
            "the body is untouched (it may name the customer)"
        );
    }

    #[test]
    fn header_names_are_matched_whole_and_without_case() {
        let raw = b"Reply-To: help@shop.example\r\nX-To: kept\r\nto: ada@example.com\r\n\r\nb";
        let out = readdress(raw, &simulator()).expect("readdressed");
        assert_eq!(
            out,
            b"Reply-To: help@shop.example\r\nX-To: kept\r\nTo: success@simulator.amazonses.com\r\n\r\nb"
        );
    }

    #[test]
    fn a_second_to_header_goes_too() {
        let raw = b"To: a@example.com\r\nSubject: s\r\nTo: b@example.com,\r\n c@example.com\r\n\r\nb";
        let out = readdress(raw, &simulator()).expect("readdressed");
        assert_eq!(out, b"To: success@simulator.amazonses.com\r\nSubject: s\r\n\r\nb");
    }

    #[test]
    fn what_cannot_be_readdressed_safely_is_refused() {
        let to = simulator();
        assert_eq!(
            readdress(b"To: a@example.com\r\nSubject: s\r\n", &to),
            Err(ReaddressError::NoHeaderEnd)
        );
        assert_eq!(
            readdress(b"Subject: s\r\n\r\nTo: a@example.com\r\n", &to),
            Err(ReaddressError::NoTo),
            "a To line in the body is not a header"
        );
        assert_eq!(
            readdress(b"To: a@example.com\r\nCC: b@example.com\r\n\r\nb", &to),
            Err(ReaddressError::OtherRecipients("Cc"))
        );
        assert_eq!(
            readdress(b"To: a@example.com\r\nBcc: b@example.com\r\n\r\nb", &to),
            Err(ReaddressError::OtherRecipients("Bcc"))
        );
    }

    #[test]
    fn the_domain_is_compared_without_case_and_the_local_part_exactly() {
        let owner = address("owner@shop.example");
        // As an earlier release may have stored it: read back as written.
        let stored: EmailAddress = serde_json::from_value(serde_json::json!("owner@SHOP.example")).expect("readable");
        assert!(same_mailbox(&owner, &stored));
        assert!(!same_mailbox(&owner, &address("Owner@shop.example")));
        assert!(!same_mailbox(&owner, &address("owner@shop.example.com")));
    }

    #[test]
    fn live_mode_sends_every_message_to_its_recipient() {
        let live = ShadowMailer::new(crate::adapters::memory::MemoryMailer::default(), &Sending::default());
        assert!(!live.is_shadow());
        assert!(live.delivers_to(&address("anyone@example.com")));
        let shadow = ShadowMailer::new(
            crate::adapters::memory::MemoryMailer::default(),
            &Sending {
                mode: SendingMode::Shadow,
                allow: vec![address("owner@shop.example")],
                ..Sending::default()
            },
        );
        assert!(shadow.delivers_to(&address("owner@shop.example")));
        assert!(!shadow.delivers_to(&address("anyone@example.com")));
    }
}
