//! The engine's ports: what it needs from the world, and the records it keeps.
//!
//! AWS adapters (DynamoDB, SES, EventBridge) and local ones (memory, outbox files) implement these.

use crate::domain::{Cart, Currency, Money, Text, WebUrl};
use crate::domain::{
    CartId, Customer, CustomerId, EmailAddress, Order, OrderId, ProductId, Shipment, ShipmentId, ShipmentStatus,
};
use crate::event::{Emitted, InboundEvent};
use crate::message::{Category, MessageKey, MessageKind};
use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;
use std::sync::Arc;

/// What time it is: the wall clock in Lambda, a simulated one in replays and tests.
pub trait Clock: Send + Sync {
    /// The current instant.
    fn now(&self) -> Timestamp;
}

/// Durable state: customers, orders, carts, message claims, follow-ups, statistics, suppressions.
pub trait Store: Send + Sync {
    /// A customer, if known.
    fn customer(&self, id: &CustomerId) -> impl Future<Output = Result<Option<CustomerRecord>, StoreError>> + Send;
    /// A customer, in the same read whether that customer or the address was erased, and the
    /// message that issued a coupon code (an order's) when one is given.
    fn customer_file(
        &self,
        id: &CustomerId,
        email: &EmailAddress,
        code: Option<&str>,
    ) -> impl Future<Output = Result<CustomerFile, StoreError>> + Send;
    /// Creates or replaces a customer that is still at the version it was read at (`Conflict`
    /// otherwise).
    fn save_customer(&self, record: &CustomerRecord) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// An order, if known.
    fn order(&self, id: &OrderId) -> impl Future<Output = Result<Option<OrderRecord>, StoreError>> + Send;
    /// An order (if known) with its version and the events waiting for it, in one read.
    fn order_file(&self, id: &OrderId) -> impl Future<Output = Result<OrderFile, StoreError>> + Send;
    /// Writes records that change together, all or nothing (one transaction on DynamoDB), and takes
    /// `changes.claim` in the same write when given. A refused claim does not stop the changes;
    /// its outcome is returned (`None` when no claim was asked for).
    fn save_together(
        &self,
        changes: &Changes<'_>,
    ) -> impl Future<Output = Result<Option<ClaimOutcome>, StoreError>> + Send;
    /// Records a new order with everything it changes, all or nothing: the order, the customer
    /// (counters), the follow-ups it starts, that its cart was bought
    /// (even a cart not seen yet) and the claim of its confirmation email. `Exists` when the order
    /// was recorded before (a redelivered confirmation): nothing is written then.
    fn confirm_order(&self, new: &NewOrder<'_>) -> impl Future<Output = Result<OrderConfirmation, StoreError>> + Send;
    /// A cart, if known.
    fn cart(&self, id: &CartId) -> impl Future<Output = Result<Option<CartRecord>, StoreError>> + Send;
    /// Creates or replaces a cart unless a newer version of it (later `updated_at`) is stored;
    /// false when one was, and nothing was written.
    fn save_cart(&self, record: &CartRecord) -> impl Future<Output = Result<bool, StoreError>> + Send;

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
    /// Forgets held events once they are being handled.
    fn forget_held(&self, order: &OrderId, held: &[HeldEvent]) -> impl Future<Output = Result<(), StoreError>> + Send;

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
    /// Marks a `sending` claim as sent on SES's own report (a sender that died mid-send).
    fn settle_sending(
        &self,
        key: &MessageKey,
        provider_id: &str,
        at: Timestamp,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// Records what happened to a sent message after SES accepted it (delivered, rejected, delayed).
    fn record_delivery(
        &self,
        key: &MessageKey,
        status: &str,
        at: Timestamp,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// Waiting follow-ups of a customer.
    fn follow_ups_of(&self, customer: &CustomerId) -> impl Future<Output = Result<Vec<FollowUp>, StoreError>> + Send;
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

    /// Adds an order to (`delta` = 1) or takes it out of (-1) the product and co-purchase
    /// statistics. Apart from every other write and after the email: statistics are hot rows in a
    /// sale, and an order's confirmation never waits for them or fails on them. Not idempotent; a
    /// crash before it leaves the order uncounted (recommendations skew by one order).
    fn count_purchases(&self, order: &Order, delta: i64) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Brings what an earlier release wrote to this release's form, a part at a time; true once
    /// nothing is left. The sweeper emits no follow-up before (a store without history: at once).
    fn upgrade(&self) -> impl Future<Output = Result<bool, StoreError>> + Send {
        async { Ok(true) }
    }

    /// The store's products and how often they were bought together (recommendations may use
    /// statistics a few minutes old).
    fn product_stats(&self) -> impl Future<Output = Result<Arc<ProductStats>, StoreError>> + Send;
}

/// A customer as stored, read together with what an event about them must be checked against.
#[derive(Clone, Debug, Default)]
pub struct CustomerFile {
    /// The customer, if known.
    pub record: Option<CustomerRecord>,
    /// The latest erasure of this customer id or of this address.
    pub erased_at: Option<Timestamp>,
    /// The message that issued the coupon code asked for.
    pub coupon: Option<IssuedCoupon>,
}

/// The key an erasure of a customer id is remembered under: a hash, since a guest's id holds their
/// address.
pub fn erased_id_key(id: &CustomerId) -> String {
    crate::signing::digest_hex(&["erased-customer", id.as_str()], 64)
}

/// The key an erasure of an address is remembered under (a hash of the lowercased address).
pub fn erased_address_key(email: &EmailAddress) -> String {
    crate::signing::digest_hex(&["erased-address", &email.as_str().to_lowercase()], 64)
}

/// The key an address's tidings unsubscribe is kept under (a hash: it outlives an erasure).
pub fn opted_out_key(email: &EmailAddress) -> String {
    crate::signing::digest_hex(&["opted-out", &email.as_str().to_lowercase()], 64)
}

/// An erasure as remembered: when, and what it covered (see `Store::record_erasure`).
#[derive(Clone, Debug)]
pub struct Erasure {
    /// The erased customer id.
    pub customer_id: CustomerId,
    /// The erased address.
    pub email: EmailAddress,
    /// Their orders: later events about them are dropped.
    pub orders: Vec<OrderId>,
    /// Event time of the erasure request.
    pub at: Timestamp,
}

/// An order as stored, read together with the events that wait for it.
#[derive(Clone, Debug, Default)]
pub struct OrderFile {
    /// The order, once confirmed.
    pub record: Option<OrderRecord>,
    /// The order belonged to an erased customer: nothing about it is kept or sent any more.
    pub erased: bool,
    /// Its version: 0 before anything was written about it.
    pub version: u64,
    /// Events that arrived before the order or their shipment, oldest first.
    pub held: Vec<HeldEvent>,
}

/// An event kept until what it awaits arrives.
#[derive(Clone, Debug, PartialEq)]
pub struct HeldEvent {
    /// The store's id for it.
    pub id: String,
    /// The event.
    pub event: InboundEvent,
}

/// What a held event waits for.
#[derive(Clone, Copy, Debug)]
pub enum Awaiting<'a> {
    /// The order's confirmation.
    Order,
    /// The announcement of this shipment of the order.
    Shipment(&'a ShipmentId),
}

/// Records written together (see `Store::save_together`).
#[derive(Clone, Copy, Debug, Default)]
pub struct Changes<'a> {
    /// An order.
    pub order: Option<&'a OrderRecord>,
    /// A customer.
    pub customer: Option<&'a CustomerRecord>,
    /// Follow-ups to store (replacing any with the same key).
    pub follow_ups: &'a [FollowUp],
    /// Follow-ups that no longer apply.
    pub dropped: &'a [MessageKey],
    /// The claim of the message these changes send, taken in the same write.
    pub claim: Option<&'a Claim>,
}

/// What `Store::confirm_order` did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OrderConfirmation {
    /// The order was known: nothing written.
    Exists,
    /// Recorded; the confirmation's claim outcome when one was asked for.
    Recorded(Option<ClaimOutcome>),
}

/// A confirmed order and the state that changes with it (see `Store::confirm_order`).
#[derive(Clone, Copy, Debug)]
pub struct NewOrder<'a> {
    /// The order.
    pub record: &'a OrderRecord,
    /// The customer with the order counted.
    pub customer: &'a CustomerRecord,
    /// Messages it schedules (cross-sell, win-back, progress updates).
    pub follow_ups: &'a [FollowUp],
    /// The claim of the confirmation email, taken in the same write.
    pub claim: Option<&'a Claim>,
}

/// A coupon code tidings issued, and the message that carried it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct IssuedCoupon {
    /// The code, as the customer types it.
    pub code: String,
    /// The message that carried it.
    pub key: MessageKey,
    /// Last moment it is valid (the record is kept a while longer for attribution).
    pub expires_at: Timestamp,
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

/// A customer as tidings remembers them.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CustomerRecord {
    /// Latest profile (by event time).
    pub profile: Customer,
    /// Event time of that profile.
    pub profile_at: Timestamp,
    /// The consent statement in force.
    pub consent: Consent,
    /// Signed up (not only a guest seen in a cart or order).
    pub signed_up: bool,
    /// Placement time of the latest order.
    pub last_order_at: Option<Timestamp>,
    /// Orders confirmed (cancelled ones included).
    pub orders_confirmed: u32,
    /// Orders delivered.
    pub orders_delivered: u32,
    /// Every product the customer has bought.
    pub purchased: BTreeSet<ProductId>,
    /// Orders placed (so everything about the customer can be erased).
    #[serde(default)]
    pub orders: BTreeSet<OrderId>,
    /// Carts seen.
    #[serde(default)]
    pub carts: BTreeSet<CartId>,
    /// Double opt-in: the store said yes at this time, the customer has not confirmed yet.
    #[serde(default)]
    pub consent_pending_since: Option<Timestamp>,
    /// Categories of the products bought (cross-sell and win-back pick from them).
    #[serde(default)]
    pub categories: BTreeSet<String>,
    /// Orders confirmed and not cancelled, with their confirmation time (win-back counts from the latest).
    #[serde(default)]
    pub standing: BTreeMap<OrderId, Timestamp>,
    /// When the last engagement reward was granted (one per 90 days).
    #[serde(default)]
    pub engagement_rewarded_at: Option<Timestamp>,
    /// A tidings unsubscribe of this customer is recorded for the address too (`Store::opt_out`);
    /// false on records of the release before, whose unsubscribes were kept per customer id only.
    #[serde(default)]
    pub address_opted_out: bool,
    /// The version this record was read at (0: new). A write expects the stored customer still at
    /// it, so two events about one customer never overwrite each other's counts.
    #[serde(default)]
    pub version: u64,
}

impl CustomerRecord {
    /// The latest order confirmed and not cancelled.
    pub fn latest_standing(&self) -> Option<(&OrderId, Timestamp)> {
        self.standing
            .iter()
            .max_by_key(|(id, at)| (**at, *id))
            .map(|(id, at)| (id, *at))
    }
}

/// A statement about marketing consent; the most recent by event time wins.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Consent {
    /// Marketing allowed.
    pub given: bool,
    /// When it was stated.
    pub at: Timestamp,
    /// Who stated it.
    pub source: ConsentSource,
}

/// Where a consent statement came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConsentSource {
    /// A customer embedded in a store event.
    Store,
    /// tidings' own unsubscribe link (one-click or the confirmation page).
    Unsubscribe,
    /// The "resubscribe" button of tidings' own page.
    Resubscribe,
    /// Not a statement: soft opt-in of an existing customer (config `marketing.soft_opt_in`).
    SoftOptIn,
    /// The customer confirmed a subscription (double opt-in).
    Confirmed,
}

/// An order and what happened to it since.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OrderRecord {
    /// The order as confirmed.
    pub order: Order,
    /// Event time of the confirmation.
    pub confirmed_at: Timestamp,
    /// Whether it was the customer's first order.
    pub first_order: bool,
    /// Cancellation time and reason.
    pub cancelled: Option<(Timestamp, Option<Text>)>,
    /// Shipments, in the order they were announced.
    pub shipments: Vec<ShipmentRecord>,
    /// Delivery time (event time).
    pub delivered_at: Option<Timestamp>,
    /// Review time.
    pub reviewed_at: Option<Timestamp>,
    /// A shipment was returned to sender.
    pub returned: bool,
    /// The tidings message whose coupon this order used (attribution).
    #[serde(default)]
    pub coupon_from: Option<MessageKey>,
    /// Parcels delivered (`OrderDelivered` with a `shipment_id`), announced or not yet; the order
    /// itself counts as delivered (`delivered_at`) once every parcel is.
    #[serde(default)]
    pub parcels_delivered: BTreeMap<ShipmentId, Timestamp>,
    /// The version this record was read at. A write expects the stored order still at it (and
    /// moves it on); a held event bumps it, so nobody writes over an event it has not seen.
    #[serde(default)]
    pub version: u64,
}

impl OrderRecord {
    /// Hands this record to an immediate send so it is not read again.
    pub(crate) fn known(&self) -> crate::engine::KnownRecords {
        self.known_with(None)
    }

    /// Hands this record and its customer, when read, to an immediate send.
    pub(crate) fn known_with(&self, customer: Option<&CustomerRecord>) -> crate::engine::KnownRecords {
        crate::engine::KnownRecords {
            customer: customer.cloned(),
            order: Some(self.clone()),
        }
    }

    /// A shipment of this order.
    pub fn shipment(&self, id: &ShipmentId) -> Option<&ShipmentRecord> {
        self.shipments.iter().find(|s| &s.shipment.id == id)
    }

    /// Whether the parcel was delivered (by itself, or with the whole order).
    pub fn parcel_delivered(&self, id: &ShipmentId) -> bool {
        self.delivered_at.is_some() || self.parcels_delivered.contains_key(id)
    }

    /// Whether the parcels delivered hold the whole order: every announced parcel is delivered,
    /// and together they hold every line (a parcel without items holds everything; a delivered
    /// parcel never announced may hold anything, so it is taken to hold the rest).
    pub fn every_parcel_delivered(&self) -> bool {
        if self.parcels_delivered.is_empty()
            || self
                .shipments
                .iter()
                .any(|s| !self.parcels_delivered.contains_key(&s.shipment.id))
        {
            return false;
        }
        let unannounced = self.parcels_delivered.keys().any(|id| self.shipment(id).is_none());
        unannounced || self.order.covered_by(self.shipments.iter().map(|s| &s.shipment))
    }

    /// How much of the order shipment `id` is (its shipping confirmation's wording).
    pub fn share(&self, id: &ShipmentId) -> crate::domain::parcel::Share {
        let shipments: Vec<&Shipment> = self.shipments.iter().map(|s| &s.shipment).collect();
        let index = shipments.iter().position(|s| &s.id == id).unwrap_or(usize::MAX);
        self.order.share(&shipments, index)
    }
}

/// A shipment and its carrier scans.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ShipmentRecord {
    /// The shipment as announced.
    pub shipment: Shipment,
    /// Scans in arrival order.
    pub scans: Vec<Scan>,
    /// Its messages are keyed `<kind>#<order id>#<shipment id>…`: another order had this shipment
    /// id first. False (the key is `<kind>#<shipment id>…`) for records of earlier releases.
    #[serde(default)]
    pub scoped: bool,
}

impl ShipmentRecord {
    /// The key of a message about this shipment of `order`.
    pub fn key(&self, kind: MessageKind, order: &OrderId, qualifiers: &[&str]) -> MessageKey {
        let id = self.shipment.id.as_str();
        if self.scoped {
            let all: Vec<&str> = std::iter::once(id).chain(qualifiers.iter().copied()).collect();
            MessageKey::new(kind, order.as_str(), &all)
        } else {
            MessageKey::new(kind, id, qualifiers)
        }
    }
}

/// One carrier scan.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Scan {
    /// Event time.
    pub at: Timestamp,
    /// Status.
    pub status: ShipmentStatus,
    /// Carrier's words.
    pub description: Option<Text>,
    /// Place.
    pub location: Option<Text>,
    /// New estimate.
    pub estimated_delivery: Option<jiff::civil::Date>,
}

/// The latest version of a cart and whether it was bought.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CartRecord {
    /// The cart as last updated.
    pub cart: Cart,
    /// When an order was last placed from it (bought if not before the cart's `updated_at`).
    pub ordered_at: Option<Timestamp>,
}

/// A request to claim a message key.
#[derive(Clone, Debug)]
pub struct Claim {
    /// The key.
    pub key: MessageKey,
    /// The recipient.
    pub customer_id: CustomerId,
    /// Their address: a suppressed one refuses the claim (checked in the same write).
    pub to: EmailAddress,
    /// Now.
    pub at: Timestamp,
    /// How long a claim without an outcome blocks others (a crash before the provider answered).
    pub lease: SignedDuration,
    /// Marketing: the cap window; the claim fails with `CapReached` if another marketing message
    /// was claimed for this customer less than this long ago.
    pub cap: Option<SignedDuration>,
    /// Marketing: the consent statement the message relies on (kept with the message record).
    pub consent: Option<Consent>,
    /// Taken straight in the `sending` state: nothing stands between the claim and the provider
    /// call (no coupon to announce first), so there is no separate `mark_sending`.
    pub sending: bool,
    /// The coupon the message carries, recorded with the claim (for attribution).
    pub coupon: Option<IssuedCoupon>,
}

/// What happened to a claim.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClaimOutcome {
    /// Ours: send it.
    Claimed,
    /// Already accepted by the provider: never again.
    AlreadySent,
    /// Permanently failed before: not retried.
    AlreadyFailed,
    /// Someone else holds a live lease and has not called the provider yet.
    InFlight {
        /// When the lease runs out (the holder is then presumed dead).
        until: Timestamp,
    },
    /// The provider was called and never answered (a crash or timeout mid-send): it may have
    /// accepted the message, so it is never sent again automatically.
    OutcomeUnknown,
    /// A transactional message the provider was called for at `since` and never reported in
    /// `RECOVER_AFTER`: taken back with `Store::recover_claim`, it is sent once more (the one
    /// place a duplicate is possible: the provider accepted it and its report was lost).
    Recoverable {
        /// When the unanswered attempt began (the claim is taken back only from that attempt).
        since: Timestamp,
    },
    /// The frequency cap is taken until `last + window`.
    CapReached {
        /// The previous marketing claim.
        last: Timestamp,
    },
    /// The address is suppressed (hard bounce, complaint): nothing was claimed.
    Suppressed,
    /// Marketing to an address that unsubscribed through tidings: nothing was claimed.
    OptedOut,
}

/// Why a claim found `sending` (the provider called at `since`, no answer recorded) refuses a new
/// claim: the holder may still be calling (lease), SES may still report it (a transactional
/// message gets `RECOVER_AFTER`, then one more attempt), or nobody can know (marketing, or a
/// message already recovered once). Both stores decide with this.
pub fn unanswered(claim: &Claim, since: Timestamp, lease_until: Timestamp, recovered: bool) -> ClaimOutcome {
    let transactional = claim.key.kind().category() == Category::Transactional;
    if lease_until > claim.at {
        return ClaimOutcome::InFlight { until: lease_until };
    }
    if !transactional || recovered {
        return ClaimOutcome::OutcomeUnknown;
    }
    let reported_by = since + crate::engine::RECOVER_AFTER;
    if reported_by > claim.at {
        return ClaimOutcome::InFlight { until: reported_by };
    }
    ClaimOutcome::Recoverable { since }
}

/// State of a claimed message.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "state")]
pub enum ClaimState {
    /// Ours, the provider not called yet; others wait until the lease ends, then take over.
    Claimed {
        /// When the holder took it (its `claimed_at`: only that holder may move it to `sending`).
        since: Timestamp,
        /// Lease end.
        lease_until: Timestamp,
    },
    /// The provider is being called; only its answer (or its own send event) settles this.
    Sending {
        /// When the call started.
        since: Timestamp,
        /// Until then a duplicate waits for the provider's report; after it, the outcome is unknown.
        lease_until: Timestamp,
    },
    /// Accepted by the provider.
    Sent {
        /// Provider message id.
        provider_id: String,
        /// When.
        at: Timestamp,
    },
    /// Permanently failed.
    Failed {
        /// Why.
        reason: String,
        /// When.
        at: Timestamp,
    },
}

impl ClaimState {
    /// The state a claim is taken in: `sending` straight away when nothing stands between the
    /// claim and the provider, else `claimed` under a lease.
    pub fn taken(claim: &Claim) -> Self {
        let lease_until = claim.at + claim.lease;
        if claim.sending {
            Self::Sending {
                since: claim.at,
                lease_until,
            }
        } else {
            Self::Claimed {
                since: claim.at,
                lease_until,
            }
        }
    }
}

/// The last marketing message claimed for a customer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MarketingSend {
    /// When.
    pub at: Timestamp,
    /// Which message.
    pub key: MessageKey,
}

/// What a follow-up is about.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "type")]
pub enum Subject {
    /// A customer (welcome series).
    Customer,
    /// An order.
    Order {
        /// Which.
        order_id: OrderId,
    },
    /// A shipment of an order, with the scan status for updates.
    Shipment {
        /// Order.
        order_id: OrderId,
        /// Shipment.
        shipment_id: ShipmentId,
        /// Scan status (updates only).
        status: Option<ShipmentStatus>,
    },
    /// One version of a cart, and which reminder (1 or 2).
    Cart {
        /// Cart.
        cart_id: CartId,
        /// The cart version the reminder is for.
        updated_at: Timestamp,
        /// 1 or 2.
        nth: u8,
    },
    /// The `nth` weekly progress update of a made-to-order order.
    Progress {
        /// Order.
        order_id: OrderId,
        /// 1, 2, …
        nth: u32,
    },
    /// A shipment that has had no carrier scan since its `scans`-th one.
    Stall {
        /// Order.
        order_id: OrderId,
        /// Shipment.
        shipment_id: ShipmentId,
        /// Scans the shipment had when the wait started.
        scans: u32,
    },
    /// The customer's `count`-th delivered order (loyalty reward, in that order's currency).
    Milestone {
        /// The delivered order.
        order_id: OrderId,
        /// Delivered orders so far.
        count: u32,
    },
    /// A lapse since the customer's last standing order (or their signup when `order_id` is none).
    Lapse {
        /// The order the lapse counts from.
        order_id: Option<OrderId>,
        /// When the lapse started.
        since: Timestamp,
        /// Orders confirmed at that time (a later order ends the lapse).
        orders: u32,
    },
    /// A yearly occasion (birthday, signup anniversary).
    Occasion {
        /// The year it celebrates.
        year: i16,
    },
}

/// A message waiting for its time: a delayed follow-up, or one moved by quiet hours or the cap.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FollowUp {
    /// The message it will send.
    pub key: MessageKey,
    /// Recipient.
    pub customer_id: CustomerId,
    /// What it is about.
    pub subject: Subject,
    /// When it should be tried next.
    pub due_at: Timestamp,
    /// When it was first due (orders the queue when several wait for one slot).
    pub original_due: Timestamp,
    /// After this it is dropped rather than sent.
    pub expires_at: Timestamp,
}

impl FollowUp {
    /// The id the sweeper reports as `subject_id`.
    pub fn subject_id(&self) -> String {
        match &self.subject {
            Subject::Customer | Subject::Occasion { .. } | Subject::Lapse { .. } => self.customer_id.to_string(),
            Subject::Order { order_id }
            | Subject::Shipment { order_id, .. }
            | Subject::Progress { order_id, .. }
            | Subject::Stall { order_id, .. }
            | Subject::Milestone { order_id, .. } => order_id.to_string(),
            Subject::Cart { cart_id, .. } => cart_id.to_string(),
        }
    }
}

/// Distinct products of one order whose pairs are counted (by product id order): 66 pairs at most.
pub const MAX_PAIRED_PRODUCTS: usize = 12;

/// Products seen in the store's orders and co-purchase counts.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ProductStats {
    /// Every product seen, with how many orders contained it.
    pub products: BTreeMap<ProductId, ProductInfo>,
    /// Orders containing both products (stored for both orderings).
    pub pairs: BTreeMap<ProductId, BTreeMap<ProductId, i64>>,
}

impl ProductStats {
    /// Adds (`+1`) or removes (`-1`) an order's products and pairs.
    pub(crate) fn count(&mut self, order: &Order, delta: i64) {
        let stats = self;
        let products: BTreeSet<_> = order.items.iter().map(|i| &i.product_id).collect();
        for item in &order.items {
            let info = stats
                .products
                .entry(item.product_id.clone())
                .or_insert_with(|| ProductInfo {
                    name: item.name.clone(),
                    category: item.category.clone(),
                    prices: BTreeMap::new(),
                    image_url: item.image_url.clone(),
                    url: item.url.clone(),
                    orders: 0,
                });
            info.prices.insert(order.currency.code().to_owned(), item.unit_price);
        }
        // Counted per order, not per line: two variants of one product are one purchase.
        for id in &products {
            if let Some(info) = stats.products.get_mut(*id) {
                info.orders = (info.orders + delta).max(0);
            }
        }
        // Pairs among the first `MAX_PAIRED_PRODUCTS` only: a 250-line order would otherwise be
        // 31,125 pair updates.
        let paired: Vec<_> = products.iter().take(MAX_PAIRED_PRODUCTS).collect();
        for a in &paired {
            for b in &paired {
                if a != b {
                    *stats
                        .pairs
                        .entry((**a).clone())
                        .or_default()
                        .entry((**b).clone())
                        .or_default() += delta;
                }
            }
        }
    }
}

/// What is known about a product from orders.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ProductInfo {
    /// Title.
    pub name: Text,
    /// Category.
    pub category: Option<Text>,
    /// Last seen unit price per currency code (a product is only shown in a currency it sold in).
    pub prices: BTreeMap<String, u64>,
    /// Image.
    #[serde(default, deserialize_with = "crate::domain::image_url")]
    pub image_url: Option<WebUrl>,
    /// Page.
    #[serde(default, deserialize_with = "crate::domain::product_url")]
    pub url: Option<WebUrl>,
    /// Orders containing it.
    pub orders: i64,
}

impl ProductInfo {
    /// Its price in `currency`, if it was ever sold in it.
    pub fn price_in(&self, currency: Currency) -> Option<Money> {
        let minor = *self.prices.get(currency.code())?;
        Some(Money::new(i64::try_from(minor).unwrap_or(i64::MAX), currency))
    }
}

/// Opens or clicks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EngagementKind {
    /// An email was opened.
    Open,
    /// A link was clicked.
    Click,
}

/// A customer's engagement with tidings' mail.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Engagement {
    /// Opens counted.
    pub opens: u64,
    /// Clicks counted.
    pub clicks: u64,
    /// When the clicks happened, for "N clicks in 30 days".
    pub click_times: Vec<Timestamp>,
}

/// A store failure.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The backend could not be reached or refused (retryable).
    #[error("state store unavailable during {operation}: {reason}")]
    Unavailable {
        /// What was attempted.
        operation: &'static str,
        /// Why it failed.
        reason: String,
    },
    /// Another writer changed the item since it was read; handling the event again sees it.
    #[error("{item} changed while this event was handled")]
    Conflict {
        /// Which item.
        item: String,
    },
    /// A stored item could not be read back.
    #[error("stored {item} is unreadable: {reason}")]
    Corrupt {
        /// Which item.
        item: String,
        /// Why.
        reason: String,
    },
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
}
