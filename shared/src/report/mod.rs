//! What each message kind and flow earned: the facts a run records (sent, held out, engagement,
//! unsubscribes, orders) folded into counts, attributed orders and revenue, and for a kind with a
//! holdout group the lift over customers who did not get it.
//!
//! Attribution: an order is credited to the message whose coupon it used (`coupon_from`), else to
//! the last message the customer clicked within the window before it, and never to two.

mod lift;
pub mod show;
pub mod tally;

pub use lift::{Lift, MIN_GROUP, Verdict};
pub use tally::{Change, Counters, Ledger};

use crate::domain::{CustomerId, OrderId};
use crate::message::{MessageKey, MessageKind};
use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The default attribution window: an order within 5 days of a click is credited to it.
pub const DEFAULT_WINDOW_DAYS: i64 = 5;

/// One thing that happened, as a run records it (`facts.jsonl` of a replay's outbox).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "fact", rename_all = "snake_case")]
pub enum Fact {
    /// A message was sent.
    Sent {
        /// Its key.
        key: MessageKey,
        /// To whom.
        customer_id: CustomerId,
        /// When.
        at: Timestamp,
    },
    /// A holdout customer was due a message and did not get it (`EmailHeldOut`).
    HeldOut {
        /// The key it would have had.
        key: MessageKey,
        /// Who.
        customer_id: CustomerId,
        /// When it would have been sent.
        at: Timestamp,
    },
    /// SES reported on a sent message.
    Engaged {
        /// The message.
        key: MessageKey,
        /// Its recipient, as SES's report tags it (absent in facts of earlier releases: then the
        /// recipient of the message's `Sent` fact).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        customer_id: Option<CustomerId>,
        /// What happened.
        what: Engagement,
        /// When.
        at: Timestamp,
    },
    /// A customer unsubscribed from marketing (credited to the last marketing message before it).
    Unsubscribed {
        /// Who.
        customer_id: CustomerId,
        /// When.
        at: Timestamp,
    },
    /// An order was placed.
    Ordered {
        /// The order.
        order_id: OrderId,
        /// By whom.
        customer_id: CustomerId,
        /// When.
        at: Timestamp,
        /// Its currency code.
        currency: String,
        /// Its total, in minor units.
        total: u64,
        /// The message whose coupon it used.
        coupon_from: Option<MessageKey>,
    },
    /// An order was cancelled or refunded: it earns no message anything.
    Cancelled {
        /// The order.
        order_id: OrderId,
        /// When.
        at: Timestamp,
    },
}

/// What SES reported.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Engagement {
    /// Delivered to the recipient's server.
    Delivered,
    /// Opened (counted once per message).
    Opened,
    /// A link clicked (counted once per message).
    Clicked,
    /// Bounced.
    Bounced,
    /// Marked as spam.
    Complained,
}

impl Engagement {
    /// What an SES report says of a message, for the report (a soft bounce, a reject or a
    /// delay says nothing: only a hard bounce is a bounce).
    pub fn reported(kind: crate::feedback::FeedbackKind) -> Option<Engagement> {
        use crate::feedback::FeedbackKind as F;
        match kind {
            F::Delivery => Some(Engagement::Delivered),
            F::Open => Some(Engagement::Opened),
            F::Click => Some(Engagement::Clicked),
            F::HardBounce => Some(Engagement::Bounced),
            F::Complaint => Some(Engagement::Complained),
            _ => None,
        }
    }
}

/// The flows in the order a customer meets them (the report's order).
pub const FLOWS: [&str; 7] = [
    "welcome",
    "order updates",
    "after the order",
    "abandoned carts",
    "loyalty",
    "occasions",
    "win-back",
];

/// The flow a kind belongs to: what a merchant switches on as one thing.
pub fn flow(kind: MessageKind) -> &'static str {
    use MessageKind as K;
    match kind {
        K::OrderConfirmation
        | K::OrderCancellation
        | K::OrderProgress
        | K::ShippingConfirmation
        | K::ShipmentUpdate
        | K::ShipmentStalled
        | K::DeliveryConfirmation => "order updates",
        K::CrossSell | K::ReviewRequest => "after the order",
        K::CartReminder => "abandoned carts",
        K::Welcome | K::WelcomeOffer | K::SubscriptionConfirmation => "welcome",
        K::WinBack => "win-back",
        K::LoyaltyReward | K::EngagementReward => "loyalty",
        K::Birthday | K::SignupAnniversary => "occasions",
    }
}

/// Counts of one kind (or one flow).
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Counts {
    /// Messages sent.
    pub sent: u64,
    /// Messages delivered.
    pub delivered: u64,
    /// Messages opened at least once.
    pub opened: u64,
    /// Messages clicked at least once.
    pub clicked: u64,
    /// Unsubscribes it was the last marketing message before.
    pub unsubscribed: u64,
    /// Messages bounced.
    pub bounced: u64,
    /// Messages complained about.
    pub complained: u64,
    /// Orders attributed.
    pub orders: u64,
    /// Revenue attributed per currency code, in minor units (never converted).
    pub revenue: BTreeMap<String, u64>,
}

impl Counts {
    /// Attributed orders per message sent.
    pub fn conversion(&self) -> f64 {
        if self.sent == 0 {
            0.0
        } else {
            self.orders as f64 / self.sent as f64
        }
    }

    fn add(&mut self, other: &Counts) {
        self.sent += other.sent;
        self.delivered += other.delivered;
        self.opened += other.opened;
        self.clicked += other.clicked;
        self.unsubscribed += other.unsubscribed;
        self.bounced += other.bounced;
        self.complained += other.complained;
        self.orders += other.orders;
        for (currency, amount) in &other.revenue {
            *self.revenue.entry(currency.clone()).or_default() += amount;
        }
    }
}

/// One day of a flow: messages sent, orders attributed and their revenue.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Day {
    /// Messages sent that day (UTC).
    pub sent: u64,
    /// Orders placed that day attributed to the flow.
    pub orders: u64,
    /// Their revenue per currency.
    pub revenue: BTreeMap<String, u64>,
}

/// The report.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Report {
    /// The click attribution window, in days.
    pub window_days: i64,
    /// Per kind that sent anything, in registry order.
    pub kinds: BTreeMap<MessageKind, Counts>,
    /// Per flow.
    pub flows: BTreeMap<&'static str, Counts>,
    /// Per flow and UTC day (`2026-11-22`).
    pub days: BTreeMap<&'static str, BTreeMap<String, Day>>,
    /// Per kind with a holdout group: receivers against holdouts.
    pub lifts: BTreeMap<MessageKind, Lift>,
    /// Orders no message is credited with.
    pub unattributed_orders: u64,
    /// Orders cancelled or refunded, left out of everything above.
    pub cancelled_orders: u64,
}

impl Report {
    /// Folds `facts` (in any order; repeated facts count once) into the report, as a store
    /// folds them while they happen (`tally`).
    pub fn build(facts: &[Fact], window_days: i64) -> Report {
        let counters = tally::fold(facts, window(window_days));
        Report::from_counters(&counters, window_days)
    }

    /// The report the counters a store kept say (`window_days`: the window they were kept with).
    pub fn from_counters(counters: &Counters, window_days: i64) -> Report {
        let mut report = Report {
            window_days,
            ..Report::default()
        };
        let count = |fields: &BTreeMap<String, i64>, name: &str| {
            u64::try_from(fields.get(name).copied().unwrap_or(0)).unwrap_or(0)
        };
        let revenue = |fields: &BTreeMap<String, i64>| -> BTreeMap<String, u64> {
            fields
                .iter()
                .filter_map(|(name, value)| {
                    let currency = name.strip_prefix("revenue_")?;
                    let value = u64::try_from(*value).ok().filter(|v| *v > 0)?;
                    Some((currency.to_owned(), value))
                })
                .collect()
        };
        for (item, fields) in counters {
            if let Some(kind) = item.strip_prefix("KIND#").and_then(MessageKind::from_name) {
                report.kinds.insert(
                    kind,
                    Counts {
                        sent: count(fields, "sent"),
                        delivered: count(fields, "delivered"),
                        opened: count(fields, "opened"),
                        clicked: count(fields, "clicked"),
                        unsubscribed: count(fields, "unsubscribed"),
                        bounced: count(fields, "bounced"),
                        complained: count(fields, "complained"),
                        orders: count(fields, "orders"),
                        revenue: revenue(fields),
                    },
                );
            } else if let Some((date, name)) = item.strip_prefix("DAY#").and_then(|rest| rest.split_once('#')) {
                let Some(name) = FLOWS.iter().find(|f| **f == name) else {
                    continue;
                };
                let day = Day {
                    sent: count(fields, "sent"),
                    orders: count(fields, "orders"),
                    revenue: revenue(fields),
                };
                if day != Day::default() {
                    report.days.entry(name).or_default().insert(date.to_owned(), day);
                }
            } else if let Some(kind) = item.strip_prefix("LIFT#").and_then(MessageKind::from_name) {
                if count(fields, "held") > 0 {
                    let lift = Lift::between(
                        count(fields, "receivers"),
                        count(fields, "receivers_ordered"),
                        count(fields, "holdouts"),
                        count(fields, "holdouts_ordered"),
                    );
                    report.lifts.insert(kind, lift);
                }
            } else if item == tally::ORDERS_ITEM {
                report.unattributed_orders = count(fields, "unattributed");
                report.cancelled_orders = count(fields, "cancelled");
            }
        }
        for (kind, row) in &report.kinds {
            report.flows.entry(flow(*kind)).or_default().add(row);
        }
        report
    }
}

/// The attribution window of `days` days.
pub fn window(days: i64) -> SignedDuration {
    SignedDuration::from_hours(days.max(0) * 24)
}

fn day(at: Timestamp) -> String {
    at.to_zoned_datetime(jiff::tz::TimeZone::UTC).date().to_string()
}

#[cfg(test)]
mod tests;
