//! Coupons carried by messages: one per message key, code derived from it, emitted as `CouponIssued`.

use crate::config::CouponRule;
use crate::domain::{Currency, CustomerId};
use crate::event::{CouponIssued, CouponType};
use crate::message::MessageKey;
use crate::signing::SigningKeys;
use jiff::{SignedDuration, Timestamp};

/// A coupon issued with one message.
#[derive(Clone, Debug, PartialEq)]
pub struct Coupon {
    /// Code the customer types.
    pub code: String,
    /// Its rule.
    pub rule: CouponRule,
    /// Currency of fixed amounts and minimums.
    pub currency: Currency,
    /// Last moment it is valid.
    pub expires_at: Timestamp,
}

impl Coupon {
    /// The coupon a message carries: same key, same code, every time.
    pub fn issue(rule: &CouponRule, key: &MessageKey, currency: Currency, now: Timestamp, keys: &SigningKeys) -> Self {
        Self {
            code: keys.coupon_code(&rule.prefix, key.as_str()),
            rule: rule.clone(),
            currency,
            expires_at: now + SignedDuration::from_hours(rule.valid_days.saturating_mul(24)),
        }
    }

    /// The `CouponIssued` event for the store (or its bridge) to create the code.
    pub fn event(&self, customer: &CustomerId, key: &MessageKey) -> CouponIssued {
        let (amount_off, percent_off) = match self.rule.coupon_type {
            CouponType::Percent => (None, self.rule.percent_off),
            CouponType::Fixed => (self.rule.amount_off, None),
            CouponType::FreeShipping => (None, None),
        };
        CouponIssued {
            code: self.code.clone(),
            customer_id: customer.clone(),
            message_key: key.clone(),
            message_kind: key.kind(),
            coupon_type: self.rule.coupon_type,
            amount_off,
            percent_off,
            min_subtotal: self.rule.min_subtotal,
            currency: self.currency,
            expires_at: self.expires_at,
        }
    }
}
