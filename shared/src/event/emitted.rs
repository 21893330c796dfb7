//! The events tidings itself puts on the bus (events.md, "Events the system emits"): each send,
//! coupon, holdout and unsubscribe, the sweeper's `FollowUpDue`, and `AttentionNeeded` when
//! something needs the operator although nothing failed.

use super::FollowUpDue;
use crate::domain::{CustomerId, OrderId};
use crate::message::{Category, MessageKey, MessageKind};
use jiff::Timestamp;
use serde::{Deserialize, Serialize};

/// An event tidings puts on the bus.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Emitted {
    /// After SES accepted an email.
    EmailSent(EmailSent),
    /// A message carried a coupon: the store (or a bridge) creates it.
    CouponIssued(CouponIssued),
    /// The sweeper found a due follow-up.
    FollowUpDue(FollowUpDue),
    /// A customer unsubscribed through tidings (or complained): the store may mirror it.
    CustomerUnsubscribed(CustomerUnsubscribed),
    /// A customer of a kind's holdout group was due that message and did not get it.
    EmailHeldOut(EmailHeldOut),
    /// Something needs the operator (the deployed stack puts it in its failures queue).
    AttentionNeeded(AttentionNeeded),
}

impl Emitted {
    /// The detail-type name.
    pub fn detail_type(&self) -> &'static str {
        match self {
            Self::EmailSent(_) => "EmailSent",
            Self::CouponIssued(_) => "CouponIssued",
            Self::FollowUpDue(_) => "FollowUpDue",
            Self::CustomerUnsubscribed(_) => "CustomerUnsubscribed",
            Self::EmailHeldOut(_) => "EmailHeldOut",
            Self::AttentionNeeded(_) => "AttentionNeeded",
        }
    }

    /// The key the deterministic event id is derived from.
    pub fn identity(&self) -> String {
        match self {
            Self::EmailSent(e) => format!("sent:{}", e.message_key),
            Self::CouponIssued(e) => format!("coupon:{}", e.message_key),
            Self::FollowUpDue(e) => format!("due:{}:{}", e.key, e.due_at),
            Self::CustomerUnsubscribed(e) => format!("unsubscribed:{}:{}:{}", e.customer_id, e.scope, e.at),
            // Locally one per message; on EventBridge, which ids each put itself, consumers count by key.
            Self::EmailHeldOut(e) => format!("held-out:{}", e.message_key),
            Self::AttentionNeeded(e) => format!("attention:{}:{}:{}", e.reason.as_str(), e.subject, e.at),
        }
    }
}

/// `EmailSent` detail.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct EmailSent {
    /// The message key.
    pub message_key: MessageKey,
    /// Its kind.
    pub kind: MessageKind,
    /// Its category.
    pub category: Category,
    /// The recipient.
    pub customer_id: CustomerId,
    /// Order it was about.
    pub order_id: Option<OrderId>,
    /// Cart it was about.
    pub cart_id: Option<crate::domain::CartId>,
    /// The provider's message id (SES).
    pub ses_message_id: String,
}

/// `EmailHeldOut` detail: the message a holdout customer would have received, when.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct EmailHeldOut {
    /// The message key it would have had.
    pub message_key: MessageKey,
    /// Its kind.
    pub kind: MessageKind,
    /// The customer held out.
    pub customer_id: CustomerId,
    /// When it would have been sent.
    pub at: Timestamp,
}

/// Why the operator is needed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Attention {
    /// A message has waited over an hour for SES (it is still tried).
    SendStuck,
    /// The day's sends reached 80 % or 100 % of SES's daily quota.
    SendQuotaNear,
    /// A parcel could not be registered with its tracking service: its scans will not come.
    TrackingUnregistered,
    /// An HTTP endpoint (the unsubscribe page) could not answer a request.
    EndpointFailed,
}

impl Attention {
    /// The name in the event and in the log line's `metric` field.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::SendStuck => "send_stuck",
            Self::SendQuotaNear => "send_quota_near",
            Self::TrackingUnregistered => "tracking_unregistered",
            Self::EndpointFailed => "endpoint_failed",
        }
    }
}

/// `AttentionNeeded` detail. Never an address or a name: `subject` is a redacted message key, a
/// shipment id or a function's name, `detail` says what happened in the operator's words.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct AttentionNeeded {
    /// What kind of problem.
    pub reason: Attention,
    /// What it is about.
    pub subject: String,
    /// What happened.
    pub detail: String,
    /// When it was noticed.
    pub at: Timestamp,
}

/// `CustomerUnsubscribed` detail.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct CustomerUnsubscribed {
    /// Who.
    pub customer_id: CustomerId,
    /// `marketing` (a tidings unsubscribe) or `all` (a complaint).
    pub scope: &'static str,
    /// When the customer did it.
    pub at: Timestamp,
}

/// What a coupon takes off.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CouponType {
    /// A percentage of the subtotal.
    Percent,
    /// A fixed amount, optionally above a minimum subtotal.
    Fixed,
    /// Free shipping.
    FreeShipping,
}

/// `CouponIssued` detail.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct CouponIssued {
    /// The code the customer types.
    pub code: String,
    /// Who may use it.
    pub customer_id: CustomerId,
    /// The message that carried it.
    pub message_key: MessageKey,
    /// That message's kind.
    pub message_kind: MessageKind,
    /// What it takes off.
    pub coupon_type: CouponType,
    /// For fixed coupons, in minor units.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub amount_off: Option<u64>,
    /// For percent coupons.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub percent_off: Option<u8>,
    /// Minimum subtotal, in minor units.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub min_subtotal: Option<u64>,
    /// Currency of the amounts.
    pub currency: crate::domain::Currency,
    /// Last moment it can be used.
    pub expires_at: Timestamp,
}
