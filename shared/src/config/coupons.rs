//! The `[coupons]` section: which kinds carry a coupon, of what value, in which currencies.

use super::{ConfigError, invalid};
use crate::domain::Currency;
use crate::event::CouponType;
use crate::message::MessageKind;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Coupon rules per message kind (`[coupons.<kind>]`); a kind without one carries no coupon.
///
/// A table given in the store's file replaces that kind's default and leaves the others' in
/// place. Which kinds ask for their coupon, and when, is each kind's own rule (`engine/kinds/`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct Coupons(pub(crate) BTreeMap<MessageKind, CouponRule>);

impl Coupons {
    /// The coupon rule of a message kind, if it carries one.
    pub fn for_kind(&self, kind: MessageKind) -> Option<&CouponRule> {
        self.0.get(&kind)
    }

    /// Every kind with a rule, and the rule.
    pub fn iter(&self) -> impl Iterator<Item = (MessageKind, &CouponRule)> {
        self.0.iter().map(|(kind, rule)| (*kind, rule))
    }
}

impl<'de> Deserialize<'de> for Coupons {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let given = BTreeMap::<MessageKind, CouponRule>::deserialize(deserializer)?;
        let mut coupons = Self::default();
        coupons.0.extend(given);
        Ok(coupons)
    }
}

impl Default for Coupons {
    fn default() -> Self {
        let percent = |prefix: &str, percent_off, valid_days| CouponRule {
            prefix: prefix.to_owned(),
            coupon_type: CouponType::Percent,
            percent_off: Some(percent_off),
            amount_off: None,
            min_subtotal: None,
            currencies: BTreeMap::new(),
            valid_days,
        };
        let free_shipping = CouponRule {
            prefix: "THANKYOU".to_owned(),
            coupon_type: CouponType::FreeShipping,
            percent_off: None,
            amount_off: None,
            min_subtotal: None,
            currencies: BTreeMap::new(),
            valid_days: 30,
        };
        Self(BTreeMap::from([
            (MessageKind::DeliveryConfirmation, percent("THANKS", 10, 30)),
            (MessageKind::CartReminder, percent("CART", 10, 7)),
            (MessageKind::WelcomeOffer, percent("WELCOME", 15, 14)),
            (MessageKind::Birthday, percent("BDAY", 15, 14)),
            (MessageKind::EngagementReward, free_shipping),
        ]))
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
    /// Fixed amounts per currency (`[coupons.loyalty_reward.currencies.KRW]`); `amount_off` and
    /// `min_subtotal` above are in the store's default currency.
    #[serde(default)]
    pub currencies: BTreeMap<String, FixedAmounts>,
    /// Days until it expires.
    pub valid_days: i64,
}

/// A fixed coupon's amounts in one currency, in its minor units.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FixedAmounts {
    /// What it takes off.
    pub amount_off: u64,
    /// Minimum subtotal.
    #[serde(default)]
    pub min_subtotal: Option<u64>,
}

impl CouponRule {
    /// The rule as it applies in `currency`: fixed amounts are only offered in a currency the
    /// merchant priced (their default, or one listed under `currencies`), never converted.
    pub fn in_currency(&self, currency: Currency, default: Currency) -> Option<CouponRule> {
        if self.coupon_type != CouponType::Fixed || currency == default {
            return Some(self.clone());
        }
        let amounts = self.currencies.get(currency.code())?;
        Some(CouponRule {
            amount_off: Some(amounts.amount_off),
            min_subtotal: amounts.min_subtotal,
            ..self.clone()
        })
    }
}

impl CouponRule {
    pub(super) fn check(&self, field: &str) -> Result<(), ConfigError> {
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
            _ if self.valid_days > 3660 => Err(invalid(&format!("{field}.valid_days"), "must be at most ten years")),
            _ if self.currencies.keys().any(|code| Currency::parse(code).is_err()) => Err(invalid(
                &format!("{field}.currencies"),
                "keys must be ISO 4217 currency codes (KRW, EUR, …)",
            )),
            _ => Ok(()),
        }
    }
}
