//! What each message kind and flow earned: the facts a run records (sent, held out, engagement,
//! unsubscribes, orders) folded into counts, attributed orders and revenue, and for a kind with a
//! holdout group the lift over customers who did not get it.
//!
//! Attribution: an order is credited to the message whose coupon it used (`coupon_from`), else to
//! the last message the customer clicked within the window before it, and never to two.

mod lift;

pub use lift::{Lift, MIN_GROUP, Verdict};

use crate::domain::{CustomerId, OrderId};
use crate::message::{Category, MessageKey, MessageKind};
use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

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
    /// Folds `facts` (in any order; repeated facts count once) into the report.
    pub fn build(facts: &[Fact], window_days: i64) -> Report {
        let window = SignedDuration::from_hours(window_days.max(0) * 24);
        let mut report = Report {
            window_days,
            ..Report::default()
        };
        let mut sent: BTreeMap<&MessageKey, (&CustomerId, Timestamp)> = BTreeMap::new();
        let mut held: BTreeMap<&MessageKey, (&CustomerId, Timestamp)> = BTreeMap::new();
        let mut engaged: BTreeSet<(&MessageKey, Engagement)> = BTreeSet::new();
        let mut clicks: BTreeMap<&CustomerId, Vec<(Timestamp, &MessageKey)>> = BTreeMap::new();
        let mut orders: BTreeMap<&OrderId, &Fact> = BTreeMap::new();
        let mut unsubscribes: BTreeSet<(&CustomerId, Timestamp)> = BTreeSet::new();
        let mut cancelled: BTreeSet<&OrderId> = BTreeSet::new();
        for fact in facts {
            match fact {
                Fact::Sent { key, customer_id, at } => {
                    sent.entry(key).or_insert((customer_id, *at));
                }
                Fact::HeldOut { key, customer_id, at } => {
                    held.entry(key).or_insert((customer_id, *at));
                }
                Fact::Engaged { key, what, .. } => {
                    engaged.insert((key, *what));
                }
                Fact::Unsubscribed { customer_id, at } => {
                    unsubscribes.insert((customer_id, *at));
                }
                Fact::Ordered { order_id, .. } => {
                    // The first report of an order is the order (a redelivery or an update repeats it).
                    orders.entry(order_id).or_insert(fact);
                }
                Fact::Cancelled { order_id, .. } => {
                    cancelled.insert(order_id);
                }
            }
        }
        for fact in facts {
            // Only a marketing message earns an order by a click: a click on a tracking link is
            // the customer following their parcel, not being persuaded.
            if let Fact::Engaged {
                key,
                what: Engagement::Clicked,
                at,
            } = fact
                && key.kind().category() == Category::Marketing
                && let Some((customer, _)) = sent.get(key)
            {
                clicks.entry(customer).or_default().push((*at, key));
            }
        }

        for (key, (_, at)) in &sent {
            let kind = key.kind();
            let row = report.kinds.entry(kind).or_default();
            row.sent += 1;
            report
                .days
                .entry(flow(kind))
                .or_default()
                .entry(day(*at))
                .or_default()
                .sent += 1;
        }
        for (key, what) in &engaged {
            if !sent.contains_key(key) {
                continue;
            }
            let row = report.kinds.entry(key.kind()).or_default();
            match what {
                Engagement::Delivered => row.delivered += 1,
                Engagement::Opened => row.opened += 1,
                Engagement::Clicked => row.clicked += 1,
                Engagement::Bounced => row.bounced += 1,
                Engagement::Complained => row.complained += 1,
            }
        }
        // An unsubscribe is credited to the last marketing message the customer got before it, once
        // per message (a second visit to the link unsubscribes nobody new).
        let mut credited_unsubscribes: BTreeSet<&MessageKey> = BTreeSet::new();
        for (customer, at) in &unsubscribes {
            let last = sent
                .iter()
                .filter(|(key, (to, sent_at))| {
                    to == customer && sent_at <= at && key.kind().category() == Category::Marketing
                })
                .max_by_key(|(_, (_, sent_at))| *sent_at);
            if let Some((key, _)) = last
                && credited_unsubscribes.insert(key)
            {
                report.kinds.entry(key.kind()).or_default().unsubscribed += 1;
            }
        }
        orders.retain(|id, _| !cancelled.contains(id));
        report.cancelled_orders = cancelled.len() as u64;
        for fact in orders.values() {
            let Fact::Ordered {
                customer_id,
                at,
                currency,
                total,
                coupon_from,
                ..
            } = fact
            else {
                continue;
            };
            let credited = coupon_from.as_ref().filter(|key| sent.contains_key(key)).or_else(|| {
                clicks
                    .get(customer_id)?
                    .iter()
                    .filter(|(clicked, _)| clicked <= at && *at - *clicked <= window)
                    .max_by_key(|(clicked, _)| *clicked)
                    .map(|(_, key)| *key)
            });
            let Some(key) = credited else {
                report.unattributed_orders += 1;
                continue;
            };
            let row = report.kinds.entry(key.kind()).or_default();
            row.orders += 1;
            *row.revenue.entry(currency.clone()).or_default() += total;
            let today = report
                .days
                .entry(flow(key.kind()))
                .or_default()
                .entry(day(*at))
                .or_default();
            today.orders += 1;
            *today.revenue.entry(currency.clone()).or_default() += total;
        }
        for (kind, row) in &report.kinds {
            report.flows.entry(flow(*kind)).or_default().add(row);
        }
        report.lifts = lift::by_kind(&sent, &held, &orders, window);
        report
    }
}

fn day(at: Timestamp) -> String {
    at.to_zoned_datetime(jiff::tz::TimeZone::UTC).date().to_string()
}

#[cfg(test)]
mod tests;
