//! The engine's ports: what it needs from the world, and the records it keeps.
//!
//! AWS adapters (DynamoDB, SES, EventBridge) and local ones (memory, outbox files) implement these.

mod alarms;
mod discounts;
mod files;
mod ledger;
mod records;
pub mod retention;
mod stats;
mod tallies;
mod trackers;

pub use alarms::*;
pub use discounts::*;
pub use files::*;
pub use ledger::*;
pub use records::*;
pub use stats::*;
pub use tallies::*;
pub use trackers::*;

use crate::domain::{CartId, CustomerId, EmailAddress, Order, OrderId, ShipmentId};
use crate::event::{Emitted, InboundEvent, TrackingNumber};
use crate::message::{Category, MessageKey, MessageKind};
use jiff::Timestamp;
use serde::Serialize;
use std::future::Future;
use std::sync::Arc;

/// What time it is: the wall clock in Lambda, a simulated one in replays and tests.
pub trait Clock: Send + Sync {
    /// The current instant.
    fn now(&self) -> Timestamp;
    /// Waits until `at` (a simulated clock moves there at once).
    fn sleep_until(&self, at: Timestamp) -> impl Future<Output = ()> + Send;
}

/// Customers as stored, with what an event about them is checked against.
pub trait Customers: Send + Sync {
    /// A customer, if known.
    fn customer(&self, id: &CustomerId) -> impl Future<Output = Result<Option<CustomerRecord>, StoreError>> + Send;
    /// A customer, in the same read whether that customer or the address was erased, the
    /// message that issued a coupon code (an order's) when one is given, and the record of the
    /// guest id `address` (the same address as a guest) when one is given.
    fn customer_file(
        &self,
        id: &CustomerId,
        email: &EmailAddress,
        code: Option<&str>,
        address: Option<&CustomerId>,
    ) -> impl Future<Output = Result<CustomerFile, StoreError>> + Send;
    /// Creates or replaces a customer that is still at the version it was read at (`Conflict`
    /// otherwise).
    fn save_customer(&self, record: &CustomerRecord) -> impl Future<Output = Result<(), StoreError>> + Send;
}

/// Orders, their shipments and the events that wait for them.
pub trait Orders: Send + Sync {
    /// An order, if known.
    fn order(&self, id: &OrderId) -> impl Future<Output = Result<Option<OrderRecord>, StoreError>> + Send;
    /// An order (if known) with its version and the events waiting for it, in one read.
    fn order_file(&self, id: &OrderId) -> impl Future<Output = Result<OrderFile, StoreError>> + Send;
    /// Writes records that change together, all or nothing (one transaction on DynamoDB), and takes
    /// `changes.claim` in the same write when given. A refused claim does not stop the changes;
    /// its outcome is returned (`None` when no claim was asked for). Beyond DynamoDB's 100 actions
    /// per transaction (an order of a few hundred lines with its follow-ups), the DynamoDB store
    /// writes the changes in several transactions, then the claim: each record stays whole and
    /// versioned, but the set is not atomic.
    fn save_together(
        &self,
        changes: &Changes<'_>,
    ) -> impl Future<Output = Result<Option<ClaimOutcome>, StoreError>> + Send;
    /// Records a new order with everything it changes, all or nothing: the order, the customer
    /// (counters), the follow-ups it starts, that its cart was bought
    /// (even a cart not seen yet) and the claim of its confirmation email. `Exists` when the order
    /// was recorded before (a redelivered confirmation): nothing is written then.
    fn confirm_order(&self, new: &NewOrder<'_>) -> impl Future<Output = Result<OrderConfirmation, StoreError>> + Send;
    /// Keeps an event until what it awaits (the order, or a shipment of it) arrives, bumping the
    /// order's version so a writer that read the order before cannot miss it. False when what it
    /// awaits arrived meanwhile: nothing is kept, and the event can be handled now. `now` (the
    /// arrival) is what the hold is kept from, however old the event.
    fn hold_event(
        &self,
        order: &OrderId,
        event: &InboundEvent,
        awaiting: Awaiting<'_>,
        now: Timestamp,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;
    /// Lets `order` use the shipment id `shipment` alone in its message keys
    /// (`shipping_confirmation#<shipment id>`, as releases before 0.x did for every shipment):
    /// true when the id is this order's (the first to ask, and no claim under that key was taken
    /// before the owners were recorded). False when another order has it: the caller keys its
    /// messages with the order id too. Idempotent for the same order.
    fn own_shipment_id(
        &self,
        shipment: &ShipmentId,
        order: &OrderId,
        at: Timestamp,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;
    /// Records that the parcel numbered `number` is `shipment` of `order`, so carrier services'
    /// scans (which know the number only) find it. The latest shipment with a number owns it:
    /// carriers reuse numbers after months. True when scans of the number were ever marked
    /// waiting ([`Orders::mark_scans_waiting`]): the caller releases what is held. The mark stays,
    /// so a retry whose first attempt died before the release still releases. One write.
    fn index_tracking(
        &self,
        number: &TrackingNumber,
        order: &OrderId,
        shipment: &ShipmentId,
        at: Timestamp,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;
    /// The order and shipment of the parcel numbered `number`, if one was shipped with it.
    fn tracking_owner(
        &self,
        number: &TrackingNumber,
    ) -> impl Future<Output = Result<Option<(OrderId, ShipmentId)>, StoreError>> + Send;
    /// Marks that a scan of `number` is held for want of its parcel, and returns the parcel if
    /// one was indexed meanwhile (the caller releases the scan then). Against
    /// [`Orders::index_tracking`] on the same record, either sees the other: no scan is left
    /// waiting for a parcel already shipped. One write.
    fn mark_scans_waiting(
        &self,
        number: &TrackingNumber,
        at: Timestamp,
    ) -> impl Future<Output = Result<Option<(OrderId, ShipmentId)>, StoreError>> + Send;
    /// Forgets held events once they are being handled.
    fn forget_held(&self, order: &OrderId, held: &[HeldEvent]) -> impl Future<Output = Result<(), StoreError>> + Send;
}

/// Carts, newest state first.
pub trait Carts: Send + Sync {
    /// A cart, if known.
    fn cart(&self, id: &CartId) -> impl Future<Output = Result<Option<CartRecord>, StoreError>> + Send;
    /// Creates or replaces a cart unless a newer version of it (later `updated_at`) is stored;
    /// false when one was, and nothing was written.
    fn save_cart(&self, record: &CartRecord) -> impl Future<Output = Result<bool, StoreError>> + Send;
}

/// The send ledger: one claim per message key, and how each send ended.
pub trait SendLedger: Send + Sync {
    /// Claims a message key before sending (exactly once). For marketing, `claim.cap` also reserves the
    /// customer's frequency-cap slot in the same atomic step.
    fn claim_message(&self, claim: &Claim) -> impl Future<Output = Result<ClaimOutcome, StoreError>> + Send;
    /// Moves our claim (taken at `at`) to `sending` just before calling the provider; false if it
    /// is no longer ours. Idempotent for its holder: a retry whose first answer was lost is true.
    fn mark_sending(&self, key: &MessageKey, at: Timestamp) -> impl Future<Output = Result<bool, StoreError>> + Send;
    /// Takes back a `Recoverable` claim for one more attempt, if it is still the unanswered
    /// attempt begun at `since` (not reported since, not recovered by another invocation). The
    /// claim is then ours as `claim_message` would have made it, and marked as recovered.
    /// `Claimed` when taken back; otherwise why not (reported meanwhile: `AlreadySent`; recovered
    /// by another invocation; the address suppressed since).
    fn recover_claim(
        &self,
        claim: &Claim,
        since: Timestamp,
    ) -> impl Future<Output = Result<ClaimOutcome, StoreError>> + Send;
    /// Gives a claim back when the provider certainly did not accept the message (throttled, 5xx).
    fn release_claim(&self, key: &MessageKey) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// Records that the provider accepted the message.
    fn mark_sent(
        &self,
        key: &MessageKey,
        provider_id: &str,
        at: Timestamp,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// Records a permanent failure; the message is never retried.
    fn mark_failed(
        &self,
        key: &MessageKey,
        reason: &str,
        at: Timestamp,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// The most recent marketing send to a customer (for the frequency cap).
    fn last_marketing(
        &self,
        customer: &CustomerId,
    ) -> impl Future<Output = Result<Option<MarketingSend>, StoreError>> + Send;
    /// Marks a `sending` claim as sent on SES's own report (a sender that died mid-send).
    fn settle_sending(
        &self,
        key: &MessageKey,
        provider_id: &str,
        at: Timestamp,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// Takes one of the `rate` sends of `at`'s whole second (the account's send rate, counted
    /// across every invocation): the number of sends taken that UTC day so far, this one
    /// included, or `None` when the second's are all taken.
    fn take_send_slot(&self, at: Timestamp, rate: u32) -> impl Future<Output = Result<Option<u64>, StoreError>> + Send;
    /// Records what happened to a sent message after SES accepted it (delivered, rejected, delayed).
    fn record_delivery(
        &self,
        key: &MessageKey,
        status: &str,
        at: Timestamp,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
}

/// The follow-up queue: messages waiting for their time.
pub trait FollowUps: Send + Sync {
    /// Creates or moves a follow-up (keyed by its message key).
    fn schedule(&self, follow_up: &FollowUp) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// Creates a follow-up unless one with its key is waiting; false when it was.
    fn add_follow_up(&self, follow_up: &FollowUp) -> impl Future<Output = Result<bool, StoreError>> + Send;
    /// A stored follow-up.
    fn follow_up(&self, key: &MessageKey) -> impl Future<Output = Result<Option<FollowUp>, StoreError>> + Send;
    /// Deletes a follow-up once it has been sent or dropped.
    fn remove_follow_up(&self, key: &MessageKey) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// Follow-ups due at or before `until`, earliest first (ties: original due time, then key).
    fn due_follow_ups(
        &self,
        until: Timestamp,
        limit: usize,
    ) -> impl Future<Output = Result<Vec<FollowUp>, StoreError>> + Send;
    /// Waiting follow-ups of a customer.
    fn follow_ups_of(&self, customer: &CustomerId) -> impl Future<Output = Result<Vec<FollowUp>, StoreError>> + Send;
    /// Has `due` put on the bus again at `at` (its step failed on it); false when the store has
    /// no alarms (the local runner sweeps the due index, which finds it again anyway). No default:
    /// a store that wraps another must pass it on.
    fn ring_again(
        &self,
        due: &crate::event::FollowUpDue,
        at: Timestamp,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;
}

/// What SES reports: suppressed addresses, soft bounces, opens and clicks.
pub trait Deliverability: Send + Sync {
    /// Stops all mail to an address (hard bounce, complaint).
    fn suppress(
        &self,
        email: &EmailAddress,
        reason: &str,
        at: Timestamp,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// Records a soft bounce once per event id; returns how many the address had since `since`.
    fn count_soft_bounce(
        &self,
        email: &EmailAddress,
        event_id: &str,
        at: Timestamp,
        since: Timestamp,
    ) -> impl Future<Output = Result<usize, StoreError>> + Send;
    /// Counts an open or click once per event id; false when this event was already counted.
    fn count_engagement(
        &self,
        customer: &CustomerId,
        event_id: &str,
        kind: EngagementKind,
        at: Timestamp,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;
    /// A customer's opens and clicks.
    fn engagement(&self, customer: &CustomerId) -> impl Future<Output = Result<Engagement, StoreError>> + Send;
}

/// Erasures and the address-level opt-out, which outlive the customer they were about.
pub trait Privacy: Send + Sync {
    /// Erases everything about a customer: profile, orders, carts, follow-ups, ledgers, counters.
    fn erase_customer(&self, customer: &CustomerRecord) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// Remembers an erasure, with no personal data (hashes of the id and the address, the order
    /// ids), so that an event from before it, arriving late or redelivered, stores nothing.
    fn record_erasure(&self, erasure: &Erasure) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// Stops marketing to an address for good (a tidings unsubscribe), whichever customer id it
    /// comes under; checked with every marketing claim. A later opt-out moves its time on.
    fn opt_out(&self, email: &EmailAddress, at: Timestamp) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// Lifts an address's opt-out made before `at` (a resubscribe through tidings, or a store
    /// statement of consent with its own, later time).
    fn lift_opt_out(&self, email: &EmailAddress, at: Timestamp) -> impl Future<Output = Result<(), StoreError>> + Send;
}

/// Product and co-purchase statistics for recommendations.
pub trait Statistics: Send + Sync {
    /// Adds an order to (`delta` = 1) or takes it out of (-1) the product and co-purchase
    /// statistics. Apart from every other write and after the email: statistics are hot rows in a
    /// sale, and an order's confirmation never waits for them or fails on them. Not idempotent; a
    /// crash before it leaves the order uncounted (recommendations skew by one order).
    fn count_purchases(&self, order: &Order, delta: i64) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// The store's products and how often they were bought together. Up to 10 minutes old (the
    /// DynamoDB store caches them per function instance; the memory store's are always fresh):
    /// recommendations may lag the last orders, nothing else reads them.
    fn product_stats(&self) -> impl Future<Output = Result<Arc<ProductStats>, StoreError>> + Send;
    /// What is known of these products (by id; unknown ones are left out), read fresh: an
    /// order's lines take their image and page from it.
    fn products(
        &self,
        ids: &[crate::domain::ProductId],
    ) -> impl Future<Output = Result<std::collections::BTreeMap<crate::domain::ProductId, ProductInfo>, StoreError>> + Send;
    /// Records a product's name, category, image and page as the store describes them (its
    /// order counts and prices stay as orders made them).
    fn describe_product(&self, product: &crate::domain::Product)
    -> impl Future<Output = Result<(), StoreError>> + Send;
}

/// Bringing what an earlier release wrote to this release's form.
pub trait Upgrades: Send + Sync {
    /// Brings what an earlier release wrote to this release's form, a part at a time; true once
    /// nothing is left. The sweeper emits no follow-up before (a store without history: at once).
    fn upgrade(&self, now: Timestamp) -> impl Future<Output = Result<bool, StoreError>> + Send {
        let _ = now;
        async { Ok(true) }
    }
}

/// Durable state: every role above, as one adapter (DynamoDB, memory) provides them.
pub trait Store:
    Customers + Orders + Carts + SendLedger + FollowUps + Deliverability + Privacy + Statistics + Tallies + Upgrades
{
}

impl<
    T: Customers + Orders + Carts + SendLedger + FollowUps + Deliverability + Privacy + Statistics + Tallies + Upgrades,
> Store for T
{
}

/// Delivers finished RFC 5322 messages (SES `SendEmail` with Raw content, or the outbox).
pub trait Mailer: Send + Sync {
    /// Sends one message; the returned id is the provider's.
    fn send(&self, email: &OutgoingEmail) -> impl Future<Output = Result<String, SendError>> + Send;
    /// Whether the provider itself will report this message once accepted (SES's `Send` event),
    /// which then records it as sent and announces `EmailSent`; otherwise the engine does both.
    fn reports_acceptance(&self, email: &OutgoingEmail) -> bool {
        let _ = email;
        false
    }
    /// Whether the provider reports any accepted message back (then its reports announce them).
    fn reports_sends(&self) -> bool {
        false
    }
    /// Whether sends must keep to the account's send rate (`[sending] max_rate`): SES's, not a
    /// local outbox's.
    fn paced(&self) -> bool {
        false
    }
}

/// Puts tidings' own events on the bus.
pub trait Bus: Send + Sync {
    /// Publishes events; all or an error.
    fn publish(&self, events: &[Outbound]) -> impl Future<Output = Result<(), BusError>> + Send;
}

/// An event to publish, with the envelope facts that make it deterministic.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Outbound {
    /// Deterministic id derived from what the event is about.
    pub id: String,
    /// Simulated or real send time.
    pub time: Timestamp,
    /// The event.
    pub detail: Emitted,
}

/// A finished message and what the outbox index or SES needs to know about it.
#[derive(Clone, Debug)]
pub struct OutgoingEmail {
    /// Its key.
    pub key: MessageKey,
    /// Its kind.
    pub kind: MessageKind,
    /// Its category (selects the SES configuration set).
    pub category: Category,
    /// Recipient.
    pub to: EmailAddress,
    /// Sender address (SES identity).
    pub from: EmailAddress,
    /// Customer id.
    pub customer_id: CustomerId,
    /// Order it is about.
    pub order_id: Option<OrderId>,
    /// Cart it is about.
    pub cart_id: Option<CartId>,
    /// Locale used after fallback.
    pub locale: String,
    /// Decoded subject.
    pub subject: String,
    /// Send time (the `Date` header).
    pub at: Timestamp,
    /// The RFC 5322 bytes.
    pub raw: Vec<u8>,
}

/// A store failure.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The backend could not be reached or refused (retryable).
    #[error("state store unavailable during {operation}")]
    Unavailable {
        /// What was attempted.
        operation: &'static str,
        /// Why it failed (the SDK's error, with its whole chain).
        #[source]
        source: ErrorSource,
    },
    /// Another writer changed the item since it was read; handling the event again sees it.
    #[error("{item} changed while this event was handled")]
    Conflict {
        /// Which item.
        item: String,
    },
    /// A stored item could not be read back (a retry reads the same item: not retryable).
    #[error("stored {item} is unreadable")]
    Corrupt {
        /// Which item.
        item: String,
        /// Why.
        #[source]
        source: ErrorSource,
    },
}

/// The error below a port's own (an SDK's, a decoder's), kept so that its chain can be reported.
pub type ErrorSource = Box<dyn std::error::Error + Send + Sync>;

/// An error and every source under it, `: `-separated, for a log line or a Lambda error message.
pub fn report(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut next = error.source();
    while let Some(source) = next {
        let shown = source.to_string();
        // SDK errors often repeat their source's text: shown once.
        if !text.ends_with(&shown) {
            text.push_str(": ");
            text.push_str(&shown);
        }
        next = source.source();
    }
    text
}

/// A send failure.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum SendError {
    /// Throttling, 5xx, network: the provider did not accept it; retry later.
    #[error("temporary send failure: {0}")]
    Transient(String),
    /// Rejected for good (MessageRejected, invalid address): record, never retry.
    #[error("permanent send failure: {0}")]
    Permanent(String),
    /// No answer (timeout, connection lost after the request left): it may have been accepted.
    #[error("send outcome unknown: {0}")]
    Unknown(String),
}

/// A publish failure.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
#[error("could not publish {detail_type} events: {reason}")]
pub struct BusError {
    /// Which kind of event.
    pub detail_type: String,
    /// Why.
    pub reason: String,
}

/// Shared adapters (one outbox serving as mailer and bus, one client behind several handlers).
impl<T: Mailer> Mailer for std::sync::Arc<T> {
    fn send(&self, email: &OutgoingEmail) -> impl Future<Output = Result<String, SendError>> + Send {
        (**self).send(email)
    }

    fn reports_acceptance(&self, email: &OutgoingEmail) -> bool {
        (**self).reports_acceptance(email)
    }

    fn reports_sends(&self) -> bool {
        (**self).reports_sends()
    }

    fn paced(&self) -> bool {
        (**self).paced()
    }
}

impl<T: Bus> Bus for std::sync::Arc<T> {
    fn publish(&self, events: &[Outbound]) -> impl Future<Output = Result<(), BusError>> + Send {
        (**self).publish(events)
    }
}

impl<T: Clock> Clock for std::sync::Arc<T> {
    fn now(&self) -> Timestamp {
        (**self).now()
    }

    fn sleep_until(&self, at: Timestamp) -> impl Future<Output = ()> + Send {
        (**self).sleep_until(at)
    }
}
