//! What tidings sends: kinds, categories, deterministic message keys and the step that owns each.

use serde::{Deserialize, Serialize};
use std::fmt;

/// Transactional mail is expected by the customer; marketing needs consent and obeys quiet hours and caps.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Category {
    /// Sent regardless of marketing consent, never delayed.
    Transactional,
    /// Needs consent, carries one-click unsubscribe, obeys quiet hours and the cap.
    Marketing,
}

impl Category {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Transactional => "transactional",
            Self::Marketing => "marketing",
        }
    }
}

/// The lifecycle step (one Lambda each) that owns a message and its follow-ups.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Step {
    /// Signups, profile and consent changes.
    Customer,
    /// Confirmations, cancellations, cross-sell.
    OrderConfirmed,
    /// Shipping confirmations and carrier updates.
    OrderShipped,
    /// Delivery, reviews.
    OrderDelivered,
    /// Cart reminders.
    CartAbandoned,
    /// SES feedback: bounces, complaints, deliveries, opens, clicks.
    SesEvents,
}

impl Step {
    /// The function name (`order-confirmed`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Customer => "customer",
            Self::OrderConfirmed => "order-confirmed",
            Self::OrderShipped => "order-shipped",
            Self::OrderDelivered => "order-delivered",
            Self::CartAbandoned => "cart-abandoned",
            Self::SesEvents => "ses-events",
        }
    }
}

/// The registry of message kinds, one line each: the variant, its name (also its module under
/// `engine/kinds/`, its templates `templates/email/<name>.{html,txt}` and its locale section),
/// transactional or marketing, and the step that sends it. Calls `$then!` with the list, so the
/// enum, the behaviour table and the embedded templates are all made from this one list.
macro_rules! for_each_kind {
    ($then:ident) => {
        $then! {
            OrderConfirmation => order_confirmation, Transactional, OrderConfirmed;
            OrderCancellation => order_cancellation, Transactional, OrderConfirmed;
            OrderProgress => order_progress, Transactional, OrderConfirmed;
            ShippingConfirmation => shipping_confirmation, Transactional, OrderShipped;
            ShipmentUpdate => shipment_update, Transactional, OrderShipped;
            ShipmentStalled => shipment_stalled, Transactional, OrderShipped;
            DeliveryConfirmation => delivery_confirmation, Transactional, OrderDelivered;
            CrossSell => cross_sell, Marketing, OrderConfirmed;
            ReviewRequest => review_request, Marketing, OrderDelivered;
            LoyaltyReward => loyalty_reward, Marketing, OrderDelivered;
            CartReminder => cart_reminder, Marketing, CartAbandoned;
            Welcome => welcome, Marketing, Customer;
            WelcomeOffer => welcome_offer, Marketing, Customer;
            // Customer-level marketing is sent by the customer step; the ses-events function only
            // schedules the engagement reward (it holds no send permission).
            WinBack => win_back, Marketing, Customer;
            Birthday => birthday, Marketing, Customer;
            SignupAnniversary => signup_anniversary, Marketing, Customer;
            EngagementReward => engagement_reward, Marketing, Customer;
            SubscriptionConfirmation => subscription_confirmation, Transactional, Customer;
        }
    };
}
pub(crate) use for_each_kind;

macro_rules! define_kinds {
    ($($variant:ident => $name:ident, $category:ident, $step:ident;)*) => {
        /// Every message tidings can send (messages.md).
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum MessageKind {
            $(
                #[doc = concat!("`", stringify!($name), "`")]
                $variant,
            )*
        }

        impl MessageKind {
            /// All kinds, in the order of messages.md.
            pub const ALL: &'static [MessageKind] = &[$(Self::$variant),*];

            /// Stable name used in keys, logs, templates and the outbox.
            pub fn as_str(self) -> &'static str {
                match self { $(Self::$variant => stringify!($name),)* }
            }

            /// Transactional or marketing.
            pub fn category(self) -> Category {
                match self { $(Self::$variant => Category::$category,)* }
            }

            /// The step whose function sends it.
            pub fn step(self) -> Step {
                match self { $(Self::$variant => Step::$step,)* }
            }

            /// Looks a kind up by its stable name.
            pub fn from_name(name: &str) -> Option<Self> {
                match name { $(stringify!($name) => Some(Self::$variant),)* _ => None }
            }
        }
    };
}

for_each_kind!(define_kinds);

impl fmt::Display for MessageKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a message key was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum MessageKeyError {
    /// The part before the first `#` is not a kind.
    #[error("'{0}' does not start with a known message kind")]
    UnknownKind(String),
    /// No subject after the kind.
    #[error("'{0}' has no subject after the kind")]
    NoSubject(String),
}

/// The deterministic identity of one message: `<kind>#<subject>[#<qualifier>…]`.
///
/// Claimed before sending so that duplicates, retries and concurrent deliveries send nothing more.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct MessageKey {
    key: String,
    kind: MessageKind,
}

impl MessageKey {
    /// Builds the key of `kind` about `subject`, narrowed by `qualifiers`.
    pub fn new(kind: MessageKind, subject: &str, qualifiers: &[&str]) -> Self {
        let mut key = format!("{}#{subject}", kind.as_str());
        for qualifier in qualifiers {
            key.push('#');
            key.push_str(qualifier);
        }
        Self { key, kind }
    }

    /// Parses a key received back from the bus (`FollowUpDue`).
    pub fn parse(raw: &str) -> Result<Self, MessageKeyError> {
        let (kind, subject) = raw
            .split_once('#')
            .ok_or_else(|| MessageKeyError::NoSubject(raw.to_owned()))?;
        let kind = MessageKind::from_name(kind).ok_or_else(|| MessageKeyError::UnknownKind(raw.to_owned()))?;
        if subject.is_empty() {
            return Err(MessageKeyError::NoSubject(raw.to_owned()));
        }
        Ok(Self {
            key: raw.to_owned(),
            kind,
        })
    }

    /// The key text.
    pub fn as_str(&self) -> &str {
        &self.key
    }

    /// The kind it names.
    pub fn kind(&self) -> MessageKind {
        self.kind
    }
}

impl MessageKey {
    /// For logs and errors: a guest's address in the key masked.
    pub fn redacted(&self) -> crate::domain::Redacted<'_> {
        crate::domain::Redacted(&self.key)
    }
}

impl fmt::Debug for MessageKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.key)
    }
}

impl fmt::Display for MessageKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.key)
    }
}

impl TryFrom<String> for MessageKey {
    type Error = MessageKeyError;
    fn try_from(raw: String) -> Result<Self, MessageKeyError> {
        Self::parse(&raw)
    }
}

impl From<MessageKey> for String {
    fn from(key: MessageKey) -> Self {
        key.key
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_follow_the_documented_shape() {
        let key = MessageKey::new(MessageKind::ShipmentUpdate, "shp-9", &["delayed"]);
        assert_eq!(key.as_str(), "shipment_update#shp-9#delayed");
        assert_eq!(MessageKey::parse(key.as_str()), Ok(key));
    }

    #[test]
    fn keys_of_unknown_kinds_are_refused() {
        assert!(matches!(
            MessageKey::parse("party#c-1"),
            Err(MessageKeyError::UnknownKind(_))
        ));
        assert!(matches!(
            MessageKey::parse("welcome#"),
            Err(MessageKeyError::NoSubject(_))
        ));
    }

    #[test]
    fn every_kind_round_trips_by_name() {
        for kind in MessageKind::ALL {
            assert_eq!(MessageKind::from_name(kind.as_str()), Some(*kind));
            let wire = serde_json::to_value(kind).expect("serializes");
            assert_eq!(wire, kind.as_str(), "the serde name is the registry name");
        }
    }
}
