//! Store settings: one TOML file read by the `tidings` CLI and deployed by infra.

use crate::domain::{Currency, EmailAddress, Locale, Text, Zone};
use crate::event::CouponType;
use jiff::SignedDuration;
use serde::{Deserialize, Serialize};

/// Why a configuration was refused: the setting and what is wrong with it.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("config {field}: {reason}")]
pub struct ConfigError {
    /// The setting, e.g. `sender.reply_to`.
    pub field: String,
    /// What is wrong.
    pub reason: String,
}

fn invalid(field: &str, reason: impl Into<String>) -> ConfigError {
    ConfigError {
        field: field.to_owned(),
        reason: reason.into(),
    }
}

/// Everything a store configures.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StoreConfig {
    /// Identity shown in every email.
    pub store: StoreIdentity,
    /// Sending addresses and unsubscribe endpoints.
    pub sender: Sender,
    /// Defaults for customers that do not say.
    pub defaults: Defaults,
    /// Delays of follow-ups.
    #[serde(default)]
    pub timing: Timing,
    /// Quiet hours and the frequency cap for marketing.
    #[serde(default)]
    pub marketing: MarketingRules,
    /// Coupon rules per message kind.
    #[serde(default)]
    pub coupons: Coupons,
    /// Event sources accepted (infra filters rules on them).
    #[serde(default = "default_sources")]
    pub sources: Vec<String>,
}

/// The store as customers know it.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StoreIdentity {
    /// Store name.
    pub name: Text,
    /// Home page.
    pub website: String,
    /// Logo image (HTTPS).
    pub logo_url: String,
    /// Help page.
    pub support_url: String,
    /// Physical postal address (required in marketing footers by law).
    pub postal_address: Text,
    /// Brand colour for buttons and header (`#2f5d50`).
    #[serde(default = "default_brand_color")]
    pub brand_color: String,
    /// Review page per product; `{order_id}` and `{product_id}` are replaced.
    pub review_url: String,
}

/// Who the mail is from and where replies and unsubscribes go.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Sender {
    /// Display name in `From`.
    pub from_name: Text,
    /// Sending address (a verified SES identity).
    pub from_address: EmailAddress,
    /// A monitored mailbox (never no-reply).
    pub reply_to: EmailAddress,
    /// HTTPS endpoint of the one-click unsubscribe function.
    pub unsubscribe_url: String,
    /// Mailbox for `mailto:` unsubscribes.
    pub unsubscribe_mailto: EmailAddress,
}

/// Defaults for customers whose events leave these out.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Defaults {
    /// Store language.
    pub locale: Locale,
    /// Store time zone.
    pub time_zone: Zone,
    /// Store currency (welcome coupons).
    pub currency: Currency,
}

/// Follow-up delays, in hours.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Timing {
    /// Cross-sell after confirmation.
    pub cross_sell_after_hours: i64,
    /// Review request after delivery.
    pub review_request_after_hours: i64,
    /// First cart reminder after the last cart update.
    pub cart_reminder_1_after_hours: i64,
    /// Second cart reminder (with coupon) after the last cart update.
    pub cart_reminder_2_after_hours: i64,
    /// Cart reminders are dropped this long after the last cart update.
    pub cart_reminder_expiry_hours: i64,
    /// Welcome offer after signup.
    pub welcome_offer_after_hours: i64,
    /// Other marketing is dropped this long after its original due time.
    pub marketing_expiry_hours: i64,
    /// Events about an unknown order are logged as orphans after this long.
    pub orphan_after_hours: i64,
}

impl Default for Timing {
    fn default() -> Self {
        Self {
            cross_sell_after_hours: 24,
            review_request_after_hours: 72,
            cart_reminder_1_after_hours: 1,
            cart_reminder_2_after_hours: 24,
            cart_reminder_expiry_hours: 72,
            welcome_offer_after_hours: 48,
            marketing_expiry_hours: 7 * 24,
            orphan_after_hours: 24,
        }
    }
}

/// Quiet hours and the frequency cap (marketing only).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MarketingRules {
    /// Local hour quiet hours start (inclusive).
    pub quiet_start_hour: i8,
    /// Local hour quiet hours end (exclusive: sending at this hour is allowed).
    pub quiet_end_hour: i8,
    /// At most one marketing email per customer in any rolling window of this many hours.
    pub cap_window_hours: i64,
    /// Soft opt-in (EU/UK ePrivacy, existing customers): marketing to customers who bought and
    /// never opted out, without explicit consent. Off unless the merchant turns it on; a tidings
    /// unsubscribe always wins.
    pub soft_opt_in: bool,
    /// Double opt-in: a signup's consent counts only once the customer confirms it from the
    /// `subscription_confirmation` email; the welcome follows the confirmation.
    pub double_opt_in: bool,
}

impl Default for MarketingRules {
    fn default() -> Self {
        Self {
            quiet_start_hour: 21,
            quiet_end_hour: 9,
            cap_window_hours: 24,
            soft_opt_in: false,
            double_opt_in: false,
        }
    }
}

/// Coupon rules per message kind; absent means that message carries no coupon.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Coupons {
    /// Next-order coupon in the delivery confirmation (when marketing consent allows).
    pub delivery_confirmation: Option<CouponRule>,
    /// Coupon in the second cart reminder.
    pub cart_reminder: Option<CouponRule>,
    /// Coupon in the welcome offer.
    pub welcome_offer: Option<CouponRule>,
}

impl Default for Coupons {
    fn default() -> Self {
        let percent = |prefix: &str, percent_off, valid_days| {
            Some(CouponRule {
                prefix: prefix.to_owned(),
                coupon_type: CouponType::Percent,
                percent_off: Some(percent_off),
                amount_off: None,
                min_subtotal: None,
                valid_days,
            })
        };
        Self {
            delivery_confirmation: percent("THANKS", 10, 30),
            cart_reminder: percent("CART", 10, 7),
            welcome_offer: percent("WELCOME", 15, 14),
        }
    }
}

/// One kind of coupon.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CouponRule {
    /// Code prefix (`WELCOME` → `WELCOME-7KX9Q2`).
    pub prefix: String,
    /// What it takes off.
    #[serde(rename = "type")]
    pub coupon_type: CouponType,
    /// For percent coupons.
    #[serde(default)]
    pub percent_off: Option<u8>,
    /// For fixed coupons, in minor units of the message's currency.
    #[serde(default)]
    pub amount_off: Option<u64>,
    /// Minimum subtotal, in minor units.
    #[serde(default)]
    pub min_subtotal: Option<u64>,
    /// Days until it expires.
    pub valid_days: i64,
}

fn default_brand_color() -> String {
    "#2f5d50".to_owned()
}

fn default_sources() -> Vec<String> {
    vec!["shop.example".to_owned()]
}

/// The built-in sample store (used by `tidings demo` and when no `--config` is given).
pub const SAMPLE_CONFIG: &str = include_str!("../../config/sample-store.toml");

impl StoreConfig {
    /// Parses and checks a TOML configuration.
    pub fn from_toml(text: &str) -> Result<Self, ConfigError> {
        let config: Self = toml::from_str(text).map_err(|e| {
            let field = e
                .span()
                .map(|span| {
                    let line = text[..span.start].lines().count().max(1);
                    format!("(line {line})")
                })
                .unwrap_or_else(|| "(file)".to_owned());
            invalid(&field, e.message())
        })?;
        config.check()?;
        Ok(config)
    }

    /// The built-in sample store.
    pub fn sample() -> Self {
        // The sample is part of the binary and covered by tests; failing here is a build defect.
        Self::from_toml(SAMPLE_CONFIG).unwrap_or_else(|e| panic!("built-in sample config is invalid: {e}"))
    }

    /// Startup checks: a monitored reply-to, HTTPS links, a postal address, sane hours and coupons.
    pub fn check(&self) -> Result<(), ConfigError> {
        let local = |address: &EmailAddress| address.as_str().split('@').next().unwrap_or("").to_ascii_lowercase();
        let reply = local(&self.sender.reply_to);
        if reply.contains("noreply") || reply.contains("no-reply") || reply.contains("donotreply") {
            return Err(invalid(
                "sender.reply_to",
                "must be a monitored mailbox, not a no-reply address",
            ));
        }
        for (field, url) in [
            ("sender.unsubscribe_url", &self.sender.unsubscribe_url),
            ("store.website", &self.store.website),
            ("store.logo_url", &self.store.logo_url),
            ("store.support_url", &self.store.support_url),
            ("store.review_url", &self.store.review_url),
        ] {
            if !url.starts_with("https://") || url.chars().any(|c| c.is_whitespace() || c == '"') {
                return Err(invalid(field, format!("'{url}' must be an https:// URL")));
            }
        }
        if self.store.postal_address.is_blank() {
            return Err(invalid(
                "store.postal_address",
                "a physical postal address is required in every footer",
            ));
        }
        if self.store.name.is_blank() {
            return Err(invalid("store.name", "must not be empty"));
        }
        let color = &self.store.brand_color;
        if !(color.len() == 7 && color.starts_with('#') && color[1..].chars().all(|c| c.is_ascii_hexdigit())) {
            return Err(invalid(
                "store.brand_color",
                format!("'{color}' must look like #2f5d50"),
            ));
        }
        let rules = &self.marketing;
        for (field, hour) in [
            ("marketing.quiet_start_hour", rules.quiet_start_hour),
            ("marketing.quiet_end_hour", rules.quiet_end_hour),
        ] {
            if !(0..24).contains(&hour) {
                return Err(invalid(field, format!("{hour} is not an hour of the day (0-23)")));
            }
        }
        if rules.cap_window_hours < 0 {
            return Err(invalid("marketing.cap_window_hours", "must not be negative"));
        }
        for (field, rule) in [
            ("coupons.delivery_confirmation", &self.coupons.delivery_confirmation),
            ("coupons.cart_reminder", &self.coupons.cart_reminder),
            ("coupons.welcome_offer", &self.coupons.welcome_offer),
        ] {
            if let Some(rule) = rule {
                rule.check(field)?;
            }
        }
        Ok(())
    }

    /// The frequency-cap window.
    pub fn cap_window(&self) -> SignedDuration {
        SignedDuration::from_hours(self.marketing.cap_window_hours)
    }
}

impl CouponRule {
    fn check(&self, field: &str) -> Result<(), ConfigError> {
        let prefix_ok = !self.prefix.is_empty()
            && self.prefix.len() <= 16
            && self
                .prefix
                .chars()
                .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit());
        if !prefix_ok {
            return Err(invalid(&format!("{field}.prefix"), "1-16 characters A-Z or 0-9"));
        }
        match self.coupon_type {
            CouponType::Percent if !matches!(self.percent_off, Some(1..=100)) => Err(invalid(
                &format!("{field}.percent_off"),
                "a percent coupon needs percent_off between 1 and 100",
            )),
            CouponType::Fixed if !matches!(self.amount_off, Some(1..)) => Err(invalid(
                &format!("{field}.amount_off"),
                "a fixed coupon needs a positive amount_off",
            )),
            _ if self.valid_days <= 0 => Err(invalid(&format!("{field}.valid_days"), "must be at least 1")),
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sample_store_is_valid() {
        let config = StoreConfig::sample();
        assert_eq!(config.marketing.quiet_start_hour, 21);
        assert_eq!(config.cap_window(), SignedDuration::from_hours(24));
    }

    #[test]
    fn a_no_reply_address_is_refused_at_startup() {
        let text = SAMPLE_CONFIG.replace(
            "reply_to = \"help@shop.example\"",
            "reply_to = \"no-reply@shop.example\"",
        );
        let error = StoreConfig::from_toml(&text).expect_err("no-reply refused");
        assert_eq!(error.field, "sender.reply_to");
    }

    #[test]
    fn a_missing_postal_address_is_refused() {
        let text = SAMPLE_CONFIG.replace(
            "postal_address = \"12 Harbour Street, Leeds LS1 4AP, United Kingdom\"",
            "postal_address = \" \"",
        );
        let error = StoreConfig::from_toml(&text).expect_err("address required");
        assert_eq!(error.field, "store.postal_address");
    }

    #[test]
    fn unknown_settings_are_named() {
        let error = StoreConfig::from_toml(&format!("{SAMPLE_CONFIG}\nsurprise = 1\n")).expect_err("typo caught");
        assert!(error.reason.contains("surprise"), "{error}");
    }
}
