//! The report as counters kept while things happen, so a deployed store reads a few hundred
//! counter items instead of every message it ever sent.
//!
//! Each fact is folded in once, as it happens: into counters (added, never read back to write)
//! and into a small ledger per customer that remembers what attribution needs (their last
//! marketing message and click, the first time they got or were held out of each kind, and how
//! each of their orders was credited, so a cancellation takes it back). A replay's facts fold the
//! same way in time order (`Report::build`), so a local report and a deployed one agree.

use super::{Engagement, Fact, flow};
use crate::domain::{CustomerId, OrderId};
use crate::message::{Category, MessageKey, MessageKind};
use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// Counter items by name (`KIND#welcome`, `DAY#2026-11-22#welcome`, `LIFT#cross_sell`,
/// `ORDERS`), each a set of named counts (`sent`, `revenue_EUR`).
pub type Counters = BTreeMap<String, BTreeMap<String, i64>>;

/// What one customer's facts left behind for the facts still to come.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Ledger {
    /// The last marketing message sent to them (an unsubscribe is credited to it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_marketing: Option<Touch>,
    /// Their recent clicks on marketing messages, oldest first (an order without a coupon is
    /// credited to the last one before it within the window; an order can be reported after
    /// a later click).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub clicks: Vec<Touch>,
    /// Per marketing kind, the first time they got it or were held out of it.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub cohorts: BTreeMap<MessageKind, Cohort>,
    /// Their orders and what each was credited to.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub orders: BTreeMap<OrderId, Credit>,
}

/// A message and when it reached the customer (or they clicked it).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Touch {
    /// The message.
    pub key: MessageKey,
    /// When.
    pub at: Timestamp,
    /// Whether an unsubscribe was credited to it already (once per message).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub credited: bool,
}

/// Which group of a kind a customer is in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Group {
    /// Got it.
    Received,
    /// Held out of it.
    HeldOut,
    /// Both (the share was changed): counted in neither.
    Both,
}

/// A customer's place in one kind's comparison.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Cohort {
    /// Their group.
    pub group: Group,
    /// The first time they got it or would have.
    pub at: Timestamp,
    /// Their orders within the window after it (still standing).
    #[serde(default, skip_serializing_if = "BTreeSet::is_empty")]
    pub orders: BTreeSet<OrderId>,
}

/// How an order was counted.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Credit {
    /// The kind it was credited to (none: unattributed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<MessageKind>,
    /// Its currency code.
    pub currency: String,
    /// Its total in minor units.
    pub total: u64,
    /// Its UTC day.
    pub day: String,
    /// Cancelled (or cancelled before it was seen): it counts nowhere.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub cancelled: bool,
}

/// What folding one fact changes: counters to add, and the customer's ledger if it changed.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Change {
    /// Counts to add.
    pub adds: Counters,
    /// The customer's ledger after the fact (none: unchanged).
    pub ledger: Option<Ledger>,
}

impl Change {
    /// Nothing to write.
    pub fn is_empty(&self) -> bool {
        self.adds.is_empty() && self.ledger.is_none()
    }

    fn add(&mut self, item: String, field: impl Into<String>, delta: i64) {
        *self.adds.entry(item).or_default().entry(field.into()).or_default() += delta;
    }

    /// Credits an order (`sign` 1) to `kind`, its flow's day and its revenue, or to nobody;
    /// takes the credit back with `sign` -1.
    fn credit(&mut self, kind: Option<MessageKind>, day: &str, currency: &str, total: u64, sign: i64) {
        let Some(kind) = kind else {
            self.add(ORDERS_ITEM.into(), "unattributed", sign);
            return;
        };
        let revenue = sign * saturating(total);
        for item in [kind_item(kind), day_item(day, flow(kind))] {
            self.add(item.clone(), "orders", sign);
            self.add(item, revenue_field(currency), revenue);
        }
    }
}

/// The key that makes a fact count once, for facts the ledger does not deduplicate itself (a
/// send, a holdout, an engagement); `None` for the others.
pub fn marker(fact: &Fact) -> Option<String> {
    match fact {
        Fact::Sent { key, .. } => Some(format!("sent#{key}")),
        Fact::HeldOut { key, .. } => Some(format!("held_out#{key}")),
        Fact::Engaged { key, what, .. } => Some(format!("{}#{key}", engagement_field(*what))),
        _ => None,
    }
}

/// Whether what `fact` adds depends on its customer's ledger: everything but a transactional
/// message's send and SES's reports on one (holdouts, last messages and clicks are marketing's).
pub fn reads_ledger(fact: &Fact) -> bool {
    match fact {
        Fact::Sent { key, .. } | Fact::Engaged { key, .. } => key.kind().category() == Category::Marketing,
        _ => true,
    }
}

/// Who a fact is about, where the fact says so itself.
pub fn customer(fact: &Fact) -> Option<&CustomerId> {
    match fact {
        Fact::Sent { customer_id, .. }
        | Fact::HeldOut { customer_id, .. }
        | Fact::Unsubscribed { customer_id, .. }
        | Fact::Ordered { customer_id, .. } => Some(customer_id),
        Fact::Engaged { customer_id, .. } => customer_id.as_ref(),
        Fact::Cancelled { .. } => None,
    }
}

/// When a fact happened, for folding facts in the order they happened (ties: sends before what
/// they cause).
pub fn sort_key(fact: &Fact) -> (Timestamp, u8) {
    match fact {
        Fact::Sent { at, .. } | Fact::HeldOut { at, .. } => (*at, 0),
        Fact::Engaged { at, .. } => (*at, 1),
        Fact::Unsubscribed { at, .. } => (*at, 2),
        Fact::Ordered { at, .. } => (*at, 3),
        Fact::Cancelled { at, .. } => (*at, 4),
    }
}

fn engagement_field(what: Engagement) -> &'static str {
    match what {
        Engagement::Delivered => "delivered",
        Engagement::Opened => "opened",
        Engagement::Clicked => "clicked",
        Engagement::Bounced => "bounced",
        Engagement::Complained => "complained",
    }
}

pub(super) fn kind_item(kind: MessageKind) -> String {
    format!("KIND#{}", kind.as_str())
}

pub(super) fn day_item(day: &str, flow: &str) -> String {
    format!("DAY#{day}#{flow}")
}

pub(super) fn lift_item(kind: MessageKind) -> String {
    format!("LIFT#{}", kind.as_str())
}

pub(super) const ORDERS_ITEM: &str = "ORDERS";

pub(super) fn revenue_field(currency: &str) -> String {
    format!("revenue_{currency}")
}

/// Folds `fact` (about `customer`, whose ledger is `ledger`; its marker not yet counted) with
/// `window` as the attribution window.
pub fn tally(fact: &Fact, ledger: &Ledger, window: SignedDuration) -> Change {
    let mut change = Change::default();
    let mut next = ledger.clone();
    match fact {
        Fact::Sent { key, at, .. } => {
            let kind = key.kind();
            change.add(kind_item(kind), "sent", 1);
            change.add(day_item(&super::day(*at), flow(kind)), "sent", 1);
            if kind.category() == Category::Marketing {
                if next.last_marketing.as_ref().is_none_or(|last| last.at <= *at) {
                    next.last_marketing = Some(Touch {
                        key: key.clone(),
                        at: *at,
                        credited: false,
                    });
                }
                join(&mut change, &mut next, kind, Group::Received, *at);
            }
        }
        Fact::HeldOut { key, at, .. } => {
            let kind = key.kind();
            change.add(lift_item(kind), "held", 1);
            join(&mut change, &mut next, kind, Group::HeldOut, *at);
        }
        Fact::Engaged { key, what, at, .. } => {
            // A customer held out of a kind got none of it (the draw is per customer and kind):
            // a report about one is not theirs to count.
            if next.cohorts.get(&key.kind()).is_some_and(|c| c.group == Group::HeldOut) {
                return Change::default();
            }
            change.add(kind_item(key.kind()), engagement_field(*what), 1);
            // Only a marketing message earns an order by a click: a click on a tracking link is
            // the customer following their parcel, not being persuaded.
            if *what == Engagement::Clicked && key.kind().category() == Category::Marketing {
                remember_click(&mut next.clicks, key, *at);
            }
        }
        Fact::Unsubscribed { at, .. } => {
            // Credited to the last marketing message before it, once per message (a second visit
            // to the link unsubscribes nobody new).
            if let Some(last) = next
                .last_marketing
                .as_mut()
                .filter(|last| last.at <= *at && !last.credited)
            {
                last.credited = true;
                change.add(kind_item(last.key.kind()), "unsubscribed", 1);
            }
        }
        Fact::Ordered {
            order_id,
            at,
            currency,
            total,
            coupon_from,
            ..
        } => {
            // The first report of an order is the order (a redelivery or an update repeats it);
            // one cancelled before it was seen counts nowhere.
            if next.orders.contains_key(order_id) {
                return Change::default();
            }
            let clicked = next
                .clicks
                .iter()
                .filter(|click| click.at <= *at && *at - click.at <= window)
                .max_by_key(|click| click.at)
                .map(|click| &click.key);
            let credited = coupon_from.as_ref().or(clicked).map(MessageKey::kind);
            let day = super::day(*at);
            change.credit(credited, &day, currency, *total, 1);
            for (kind, cohort) in &mut next.cohorts {
                if cohort.group == Group::Both || *at <= cohort.at || *at - cohort.at > window {
                    continue;
                }
                if cohort.orders.is_empty() {
                    change.add(lift_item(*kind), converted_field(cohort.group), 1);
                }
                cohort.orders.insert(order_id.clone());
            }
            next.orders.insert(
                order_id.clone(),
                Credit {
                    kind: credited,
                    currency: currency.clone(),
                    total: *total,
                    day,
                    cancelled: false,
                },
            );
        }
        Fact::Cancelled { order_id, at } => {
            // An order cancelled before it was seen is remembered, so that it counts nowhere when
            // it comes.
            let credit = next.orders.entry(order_id.clone()).or_insert_with(|| Credit {
                kind: None,
                currency: String::new(),
                total: 0,
                day: super::day(*at),
                cancelled: false,
            });
            if credit.cancelled {
                return Change::default();
            }
            let seen = !credit.currency.is_empty();
            credit.cancelled = true;
            change.add(ORDERS_ITEM.into(), "cancelled", 1);
            if seen {
                change.credit(credit.kind, &credit.day, &credit.currency, credit.total, -1);
                for (kind, cohort) in &mut next.cohorts {
                    if cohort.orders.remove(order_id) && cohort.orders.is_empty() {
                        change.add(lift_item(*kind), converted_field(cohort.group), -1);
                    }
                }
            }
        }
    }
    if next != *ledger {
        change.ledger = Some(next);
    }
    change
}

/// How many recent clicks a ledger keeps, and for how long after the latest.
const CLICKS_KEPT: usize = 20;
const CLICKS_FOR: SignedDuration = SignedDuration::from_hours(30 * 24);

/// Adds a click in time order, keeping the last `CLICKS_KEPT` of the last `CLICKS_FOR`.
fn remember_click(clicks: &mut Vec<Touch>, key: &MessageKey, at: Timestamp) {
    let place = clicks.partition_point(|click| click.at <= at);
    clicks.insert(
        place,
        Touch {
            key: key.clone(),
            at,
            credited: false,
        },
    );
    if let Some(latest) = clicks.last().map(|click| click.at) {
        clicks.retain(|click| latest - click.at <= CLICKS_FOR);
    }
    let excess = clicks.len().saturating_sub(CLICKS_KEPT);
    clicks.drain(..excess);
}

/// Puts the customer in `group` of `kind` the first time; one already in the other group is
/// taken out of both.
fn join(change: &mut Change, ledger: &mut Ledger, kind: MessageKind, group: Group, at: Timestamp) {
    match ledger.cohorts.get_mut(&kind) {
        None => {
            ledger.cohorts.insert(
                kind,
                Cohort {
                    group,
                    at,
                    orders: BTreeSet::new(),
                },
            );
            change.add(lift_item(kind), group_field(group), 1);
        }
        Some(cohort) if cohort.group != group && cohort.group != Group::Both => {
            change.add(lift_item(kind), group_field(cohort.group), -1);
            if !cohort.orders.is_empty() {
                change.add(lift_item(kind), converted_field(cohort.group), -1);
            }
            cohort.group = Group::Both;
            cohort.orders.clear();
        }
        Some(_) => {}
    }
}

fn group_field(group: Group) -> &'static str {
    match group {
        Group::Received => "receivers",
        Group::HeldOut | Group::Both => "holdouts",
    }
}

fn converted_field(group: Group) -> &'static str {
    match group {
        Group::Received => "receivers_ordered",
        Group::HeldOut | Group::Both => "holdouts_ordered",
    }
}

fn saturating(total: u64) -> i64 {
    i64::try_from(total).unwrap_or(i64::MAX)
}

/// Folds facts the way a store folds them as they happen: in time order, each counted once,
/// engagement and cancellations tied to their customer by the facts before them.
pub fn fold(facts: &[Fact], window: SignedDuration) -> Counters {
    let mut sorted: Vec<&Fact> = facts.iter().collect();
    sorted.sort_by_key(|fact| sort_key(fact));
    let mut counters = Counters::new();
    let mut ledgers: BTreeMap<CustomerId, Ledger> = BTreeMap::new();
    let mut marked: BTreeSet<(CustomerId, String)> = BTreeSet::new();
    let mut recipients: BTreeMap<&MessageKey, &CustomerId> = BTreeMap::new();
    let mut buyers: BTreeMap<&OrderId, &CustomerId> = BTreeMap::new();
    for fact in sorted {
        let who = match fact {
            Fact::Engaged { key, customer_id, .. } => customer_id.as_ref().or_else(|| recipients.get(key).copied()),
            Fact::Cancelled { order_id, .. } => buyers.get(order_id).copied(),
            other => customer(other),
        };
        // Engagement with no known recipient, or a cancellation of an order never seen: a store
        // never folds those either.
        let Some(who) = who else { continue };
        match fact {
            Fact::Sent { key, customer_id, .. } => {
                recipients.entry(key).or_insert(customer_id);
            }
            Fact::Ordered {
                order_id, customer_id, ..
            } => {
                buyers.entry(order_id).or_insert(customer_id);
            }
            _ => {}
        }
        if let Some(marker) = marker(fact)
            && !marked.insert((who.clone(), marker))
        {
            continue;
        }
        let ledger = ledgers.entry(who.clone()).or_default();
        let change = tally(fact, ledger, window);
        if let Some(next) = change.ledger {
            *ledger = next;
        }
        merge(&mut counters, &change.adds);
    }
    counters
}

/// Adds `adds` into `counters`.
pub fn merge(counters: &mut Counters, adds: &Counters) {
    for (item, fields) in adds {
        let row = counters.entry(item.clone()).or_default();
        for (field, delta) in fields {
            *row.entry(field.clone()).or_default() += delta;
        }
    }
}
