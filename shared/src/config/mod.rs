//! Store settings: one TOML file read by the `tidings` CLI and deployed by infra.

mod coupons;
mod sending;
mod shopify;
mod webhooks;

pub use coupons::{CouponRule, Coupons, FixedAmounts};
pub use sending::{Sending, SendingMode};
pub use shopify::ShopifyStore;
pub use webhooks::{TrackingService, WooCommerceStore};

use crate::domain::{Currency, EmailAddress, Locale, Text, Zone};
use crate::message::MessageKind;
use crate::skip::SkipReason;
use jiff::SignedDuration;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

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
    /// Per-kind switches and segments (`[kinds.win_back] only_tags = ["vip"]`).
    #[serde(default)]
    pub kinds: BTreeMap<MessageKind, KindRule>,
    /// A Shopify store connected through EventBridge (docs/shopify.md); absent: none.
    #[serde(default)]
    pub shopify: Option<ShopifyStore>,
    /// A WooCommerce store connected through signed webhooks (docs/webhooks.md); absent: none.
    #[serde(default)]
    pub woocommerce: Option<WooCommerceStore>,
    /// AfterShip's tracking webhooks (docs/webhooks.md); absent: none.
    #[serde(default)]
    pub aftership: Option<TrackingService>,
    /// EasyPost's tracker webhooks (docs/webhooks.md); absent: none.
    #[serde(default)]
    pub easypost: Option<TrackingService>,
    /// Live or shadow sending (`[sending] mode = "shadow"`); absent: live.
    #[serde(default)]
    pub sending: Sending,
}

/// Whether a kind is sent, and to which store segments.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct KindRule {
    /// Off: never sent.
    pub enabled: bool,
    /// Only customers with at least one of these store tags (empty: everyone).
    pub only_tags: Vec<String>,
    /// Never customers with any of these store tags.
    pub skip_tags: Vec<String>,
    /// The share of eligible customers who never get this kind (a holdout group, `0.1` = 10 %), so
    /// its report can compare them with those who do; marketing kinds only. 0: none.
    pub holdout: f64,
}

impl Default for KindRule {
    fn default() -> Self {
        Self {
            enabled: true,
            only_tags: vec![],
            skip_tags: vec![],
            holdout: 0.0,
        }
    }
}

impl KindRule {
    /// Why a customer with `tags` does not get this kind, if they do not.
    pub fn excludes(&self, tags: &[&str]) -> Option<SkipReason> {
        if !self.enabled {
            return Some(SkipReason::TurnedOff);
        }
        if let Some(tag) = self.skip_tags.iter().find(|t| tags.contains(&t.as_str())) {
            return Some(SkipReason::SkippedTag(tag.clone()));
        }
        if !self.only_tags.is_empty() && !self.only_tags.iter().any(|t| tags.contains(&t.as_str())) {
            return Some(SkipReason::NoneOfTags(self.only_tags.clone()));
        }
        None
    }
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
    /// Where the carriers' logos are hosted (`<this>/<logo>`, the files of the carrier table); no
    /// logo, only the carrier's name, when unset: a logo nobody hosts shows as a broken image.
    #[serde(default)]
    pub carrier_logos_url: Option<String>,
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

impl Sender {
    /// The unsubscribe endpoint with `token` (already URL-safe) added to its query: after `&` when the
    /// store's URL has a query of its own, and before any `#fragment`.
    pub fn unsubscribe_link(&self, token: &str) -> String {
        let (url, fragment) = match self.unsubscribe_url.split_once('#') {
            Some((url, fragment)) => (url, Some(fragment)),
            None => (self.unsubscribe_url.as_str(), None),
        };
        let separator = match url.split_once('?') {
            None => "?",
            Some((_, "")) => "",
            Some((_, query)) if query.ends_with('&') => "",
            Some(_) => "&",
        };
        let fragment = fragment.map(|f| format!("#{f}")).unwrap_or_default();
        format!("{url}{separator}token={token}{fragment}")
    }

    /// A marketing message's two ways out (RFC 8058's `List-Unsubscribe`): the one-click page and
    /// the mailto address, both carrying the customer's signed `token`.
    pub fn unsubscribe_links(&self, token: &str) -> (String, String) {
        let mailto = format!(
            "mailto:{}?subject=unsubscribe%20{token}",
            self.unsubscribe_mailto.as_str()
        );
        (self.unsubscribe_link(token), mailto)
    }
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
    /// Made-to-order orders with at least this lead time get progress updates.
    pub order_progress_min_lead_days: u32,
    /// Days between progress updates.
    pub order_progress_every_days: u32,
    /// Progress updates stop after this many (an order that never ships must not mail forever).
    pub order_progress_max_updates: u32,
    /// A shipment with no carrier scan for this many days gets a "we're checking" email.
    pub shipment_stalled_after_days: u32,
    /// Every Nth delivered order earns a loyalty reward.
    pub loyalty_every_orders: u32,
    /// Win-back after this many days without an order or a click.
    pub win_back_after_days: u32,
    /// Local hour birthday and anniversary mail goes out.
    pub occasion_hour: i8,
    /// Clicks within `engagement_window_days` that earn an engagement reward.
    pub engagement_clicks: u32,
    /// The window clicks are counted in.
    pub engagement_window_days: u32,
    /// At most one engagement reward per this many days.
    pub engagement_reward_every_days: u32,
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
            order_progress_min_lead_days: 7,
            order_progress_every_days: 7,
            order_progress_max_updates: 12,
            shipment_stalled_after_days: 5,
            loyalty_every_orders: 5,
            win_back_after_days: 28,
            occasion_hour: 9,
            engagement_clicks: 5,
            engagement_window_days: 30,
            engagement_reward_every_days: 90,
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

fn default_brand_color() -> String {
    "#2f5d50".to_owned()
}

fn default_sources() -> Vec<String> {
    vec!["shop.example".to_owned()]
}

/// The built-in sample store (used by `tidings demo` and when no `--config` is given).
pub const SAMPLE_CONFIG: &str = include_str!("../../../config/sample-store.toml");

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
        // `no-reply`, `no_reply`, `No.Reply`, `do-not-reply`…: compared without case and separators.
        let local = |address: &EmailAddress| -> String {
            let local = address.as_str().split('@').next().unwrap_or("");
            local
                .chars()
                .filter(char::is_ascii_alphanumeric)
                .map(|c| c.to_ascii_lowercase())
                .collect()
        };
        let reply = local(&self.sender.reply_to);
        if reply.contains("noreply") || reply.contains("donotreply") {
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
        ]
        .into_iter()
        .chain(
            self.store
                .carrier_logos_url
                .iter()
                .map(|url| ("store.carrier_logos_url", url)),
        ) {
            if !url.starts_with("https://") || url.chars().any(|c| c.is_whitespace() || c == '"') {
                return Err(invalid(field, format!("'{url}' must be an https:// URL")));
            }
        }
        for (kind, rule) in &self.kinds {
            let field = format!("kinds.{kind}.holdout");
            if !(0.0..0.5).contains(&rule.holdout) {
                return Err(invalid(&field, "must be at least 0 and below 0.5 (0.1 holds out 10 %)"));
            }
            if rule.holdout > 0.0 && kind.category() == crate::message::Category::Transactional {
                return Err(invalid(
                    &field,
                    "transactional mail is never held out: every customer gets it",
                ));
            }
        }
        if self.store.postal_address.is_blank() {
            return Err(invalid(
                "store.postal_address",
                "a physical postal address is required in every footer",
            ));
        }
        if let Some(shopify) = &self.shopify {
            shopify.check()?;
            shopify.check_coupons(&self.coupons, self.defaults.currency)?;
        }
        if let Some(woocommerce) = &self.woocommerce {
            woocommerce.check()?;
            if self.shopify.is_some() {
                return Err(invalid(
                    "woocommerce",
                    "a store is Shopify or WooCommerce: remove [shopify] or [woocommerce]",
                ));
            }
        }
        for (section, service) in [("aftership", &self.aftership), ("easypost", &self.easypost)] {
            if let Some(service) = service {
                service.check(section)?;
            }
        }
        self.sending.check()?;
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
        // Each rule's table is named after its kind (`[coupons.welcome_offer]`).
        for (kind, rule) in self.coupons.iter() {
            rule.check(&format!("coupons.{kind}"))?;
        }
        let timing = &self.timing;
        for (field, value) in [
            ("timing.order_progress_every_days", timing.order_progress_every_days),
            ("timing.loyalty_every_orders", timing.loyalty_every_orders),
            ("timing.win_back_after_days", timing.win_back_after_days),
            ("timing.engagement_clicks", timing.engagement_clicks),
            ("timing.shipment_stalled_after_days", timing.shipment_stalled_after_days),
        ] {
            if value == 0 {
                return Err(invalid(field, "must be at least 1"));
            }
        }
        // Ten years bounds every delay: larger ones are typos, and would overflow the dates
        // computed from them (a panic in the middle of handling an event).
        const MAX_HOURS: i64 = 10 * 366 * 24;
        for (field, hours) in [
            ("timing.cross_sell_after_hours", timing.cross_sell_after_hours),
            ("timing.review_request_after_hours", timing.review_request_after_hours),
            ("timing.cart_reminder_1_after_hours", timing.cart_reminder_1_after_hours),
            ("timing.cart_reminder_2_after_hours", timing.cart_reminder_2_after_hours),
            ("timing.cart_reminder_expiry_hours", timing.cart_reminder_expiry_hours),
            ("timing.welcome_offer_after_hours", timing.welcome_offer_after_hours),
            ("timing.marketing_expiry_hours", timing.marketing_expiry_hours),
            ("timing.orphan_after_hours", timing.orphan_after_hours),
            ("marketing.cap_window_hours", rules.cap_window_hours),
        ] {
            if !(0..=MAX_HOURS).contains(&hours) {
                return Err(invalid(
                    field,
                    format!("{hours} hours is outside 0 to {MAX_HOURS} (ten years)"),
                ));
            }
        }
        for (field, days) in [
            (
                "timing.order_progress_min_lead_days",
                timing.order_progress_min_lead_days,
            ),
            ("timing.order_progress_every_days", timing.order_progress_every_days),
            ("timing.shipment_stalled_after_days", timing.shipment_stalled_after_days),
            ("timing.win_back_after_days", timing.win_back_after_days),
            ("timing.engagement_window_days", timing.engagement_window_days),
            (
                "timing.engagement_reward_every_days",
                timing.engagement_reward_every_days,
            ),
        ] {
            if days > 3660 {
                return Err(invalid(field, format!("{days} days is more than ten years")));
            }
        }
        if !(0..24).contains(&timing.occasion_hour) {
            return Err(invalid("timing.occasion_hour", "must be an hour of the day (0-23)"));
        }
        Ok(())
    }

    /// The frequency-cap window.
    pub fn cap_window(&self) -> SignedDuration {
        SignedDuration::from_hours(self.marketing.cap_window_hours)
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
    fn a_holdout_is_for_marketing_kinds_only_and_below_half() {
        let with = |table: &str| format!("{SAMPLE_CONFIG}\n{table}\n");
        let ok = StoreConfig::from_toml(&with("[kinds.cross_sell]\nholdout = 0.1")).expect("10 % of cross-sells");
        assert!((ok.kinds[&MessageKind::CrossSell].holdout - 0.1).abs() < f64::EPSILON);
        let error =
            StoreConfig::from_toml(&with("[kinds.order_confirmation]\nholdout = 0.1")).expect_err("transactional");
        assert_eq!(error.field, "kinds.order_confirmation.holdout");
        let error = StoreConfig::from_toml(&with("[kinds.win_back]\nholdout = 0.5")).expect_err("half");
        assert_eq!(error.field, "kinds.win_back.holdout");
        let error = StoreConfig::from_toml(&with("[kinds.win_back]\nholdout = -0.1")).expect_err("negative");
        assert_eq!(error.field, "kinds.win_back.holdout");
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
    fn the_unsubscribe_token_joins_the_store_query() {
        let mut sender = StoreConfig::sample().sender;
        for (url, link) in [
            ("https://shop.example/u", "https://shop.example/u?token=t"),
            ("https://shop.example/u?x=1", "https://shop.example/u?x=1&token=t"),
            ("https://shop.example/u?", "https://shop.example/u?token=t"),
            (
                "https://shop.example/u?x=1#top",
                "https://shop.example/u?x=1&token=t#top",
            ),
        ] {
            sender.unsubscribe_url = url.to_owned();
            assert_eq!(sender.unsubscribe_link("t"), link);
        }
    }

    #[test]
    fn delays_that_would_overflow_the_date_arithmetic_are_refused_by_setting() {
        let mut config = StoreConfig::sample();
        config.marketing.cap_window_hours = i64::MAX;
        assert_eq!(config.check().expect_err("refused").field, "marketing.cap_window_hours");
        let mut config = StoreConfig::sample();
        config.timing.win_back_after_days = 7_304_485;
        assert_eq!(config.check().expect_err("refused").field, "timing.win_back_after_days");
        let mut config = StoreConfig::sample();
        config.timing.cross_sell_after_hours = -1;
        assert_eq!(
            config.check().expect_err("refused").field,
            "timing.cross_sell_after_hours"
        );
    }

    #[test]
    fn every_spelling_of_no_reply_is_refused() {
        for local in [
            "do-not-reply",
            "donotreply",
            "do_not_reply",
            "noreply",
            "no_reply",
            "no.reply",
            "No-Reply",
        ] {
            let text = SAMPLE_CONFIG.replace(
                "reply_to = \"help@shop.example\"",
                &format!("reply_to = \"{local}@shop.example\""),
            );
            let error = StoreConfig::from_toml(&text).expect_err(local);
            assert_eq!(error.field, "sender.reply_to", "{local}");
        }
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
