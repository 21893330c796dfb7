//! `[sending]`: live, or shadow (every event handled, the mail to SES's mailbox simulator but for
//! an allowlist; crate::shadow).

use super::{ConfigError, invalid};
use crate::domain::EmailAddress;
use serde::{Deserialize, Serialize};

/// `[sending]`: whether customers get their mail yet.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Sending {
    /// Live (the default) or shadow.
    pub mode: SendingMode,
    /// In shadow mode, the addresses that still get their real email (the merchant's own, to
    /// read what customers will get). Ignored when live, so going live is one line.
    pub allow: Vec<EmailAddress>,
    /// The SES account's maximum send rate, messages per second (SES console → Account
    /// dashboard): 14 for a new production account, 1 in the sandbox.
    pub max_rate: u32,
    /// The SES account's daily sending quota (0: not known, no warning): 50,000 for a new
    /// production account. The day's sends are reported at 80 % and 100 % of it.
    pub daily_quota: u64,
}

impl Default for Sending {
    fn default() -> Self {
        Self {
            mode: SendingMode::default(),
            allow: Vec::new(),
            max_rate: 14,
            daily_quota: 50_000,
        }
    }
}

/// Where mail goes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SendingMode {
    /// Every message to its recipient.
    #[default]
    Live,
    /// Everything processed as live, but a message to an address not in `allow` goes to SES's
    /// mailbox simulator instead (crate::shadow).
    Shadow,
}

impl Sending {
    /// True in shadow mode.
    pub fn is_shadow(&self) -> bool {
        self.mode == SendingMode::Shadow
    }

    pub(super) fn check(&self) -> Result<(), ConfigError> {
        if self.max_rate == 0 {
            return Err(invalid("sending.max_rate", "must be at least 1 (messages per second)"));
        }
        // Config is read as stored records are (an address is taken as written), so each entry is
        // held to the rules here. The entry is named by position, not shown: it is an address.
        for (n, address) in self.allow.iter().enumerate() {
            if let Err(error) = EmailAddress::parse(address.as_str()) {
                return Err(invalid("sending.allow", format!("entry {} {error}", n + 1)));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::super::{SAMPLE_CONFIG, StoreConfig};
    use super::SendingMode;

    #[test]
    fn sending_is_live_unless_configured() {
        let config = StoreConfig::sample();
        assert_eq!(config.sending.mode, SendingMode::Live);
        assert!(config.sending.allow.is_empty());
        let text = format!("{SAMPLE_CONFIG}\n[sending]\nmode = \"shadow\"\nallow = [\"Owner@Shop.Example\"]\n");
        let config = StoreConfig::from_toml(&text).expect("valid");
        assert!(config.sending.is_shadow());
        assert_eq!(config.sending.allow.len(), 1);
    }

    #[test]
    fn an_allow_entry_that_is_not_an_address_is_refused_by_position() {
        for entry in [
            "owner.shop.example",
            "owner@localhost",
            "\"owner\"@shop.example",
            "owner @shop.example",
        ] {
            let text =
                format!("{SAMPLE_CONFIG}\n[sending]\nmode = \"shadow\"\nallow = [\"ok@shop.example\", '{entry}']\n");
            let error = StoreConfig::from_toml(&text).expect_err(entry);
            assert_eq!(error.field, "sending.allow", "{entry}");
            assert!(error.reason.starts_with("entry 2 "), "{error}");
            assert!(!error.to_string().contains("owner"), "the entry is not echoed: {error}");
        }
    }

    #[test]
    fn an_unknown_sending_mode_or_setting_is_refused() {
        let error = StoreConfig::from_toml(&format!("{SAMPLE_CONFIG}\n[sending]\nmode = \"dry-run\"\n"))
            .expect_err("unknown mode");
        assert!(error.reason.contains("dry-run"), "{error}");
        let error =
            StoreConfig::from_toml(&format!("{SAMPLE_CONFIG}\n[sending]\nallowed = []\n")).expect_err("typo caught");
        assert!(error.reason.contains("allowed"), "{error}");
    }
}
