//! The lifecycle engine: decides which messages to send and when, renders and sends them through the
//! ports. Pure of AWS: the Lambdas and the local runner wire different adapters into the same code.

mod attention;
mod carts;
mod consent;
mod customer;
mod erasure;
mod feedback;
pub mod kinds;
mod occasion;
mod orders;
mod pace;
mod prepare;
mod profiles;
mod recommend;
mod schedule;
mod send;
mod shipments;
mod slot;
mod tally;
mod tracking;

use crate::ports::HeldEvent;
pub use customer::merge as merge_customer;
pub use pace::SEND_RETRY;
pub use recommend::{MAX_RECOMMENDATIONS, recommend};
pub use slot::next_slot;

use crate::config::StoreConfig;
use crate::coupon::Coupon;
use crate::domain::{Cart, Currency, Order, OrderId, Redacted};
use crate::event::{Emitted, Event, InboundEvent};
use crate::message::MessageKey;
use crate::ports::{
    Bus, BusError, Claim, Clock, CustomerRecord, FollowUp, Mailer, OrderRecord, Outbound, OutgoingEmail, ProductInfo,
    Scan, ShipmentRecord, Store, StoreError,
};
use crate::render::{RenderError, Renderer};
use crate::signing::{SigningKeys, derived_uuid};
pub use crate::skip::SkipReason;
use jiff::{SignedDuration, Timestamp};
use std::fmt;
use std::sync::Arc;

/// Why handling an event or a follow-up failed.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// The state store failed (retryable).
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The bus failed (retryable).
    #[error(transparent)]
    Bus(#[from] BusError),
    /// A template or locale string is broken (a defect: not retryable until fixed).
    #[error("rendering {} failed: {source}", .key.redacted())]
    Render {
        /// The message.
        key: MessageKey,
        /// What broke.
        source: RenderError,
    },
}

impl EngineError {
    /// Whether retrying the same input may succeed (Lambda: fail the invocation so it is retried).
    pub fn is_retryable(&self) -> bool {
        !matches!(self, Self::Render { .. } | Self::Store(StoreError::Corrupt { .. }))
    }
}

/// What the engine did with one message or event; logged, and shown by `tidings replay -v`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Accepted by the provider.
    Sent {
        /// Which message.
        key: MessageKey,
        /// When.
        at: Timestamp,
    },
    /// A follow-up was stored for later.
    Scheduled {
        /// Which message.
        key: MessageKey,
        /// Due time.
        due: Timestamp,
    },
    /// Moved by quiet hours or the frequency cap; re-checked at the new time.
    Deferred {
        /// Which message.
        key: MessageKey,
        /// New due time.
        until: Timestamp,
    },
    /// Not sent, for good.
    Skipped {
        /// Which message.
        key: MessageKey,
        /// Why.
        reason: SkipReason,
    },
    /// Rejected by the provider for good; recorded, not retried.
    Failed {
        /// Which message.
        key: MessageKey,
        /// The provider's reason.
        reason: String,
    },
    /// An event waits for its order.
    Held {
        /// The order it waits for.
        order_id: OrderId,
    },
    /// State changed without a message (suppression, consent, engagement, erasure).
    Recorded {
        /// What was recorded.
        what: String,
    },
    /// Nothing to do.
    Ignored {
        /// Why.
        reason: String,
    },
}

impl Outcome {
    /// A follow-up was stored.
    fn scheduled(follow_up: &FollowUp) -> Self {
        Self::Scheduled {
            key: follow_up.key.clone(),
            due: follow_up.due_at,
        }
    }
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Shown by `replay -v` and logged: a guest's address never appears.
        match self {
            Self::Sent { key, at } => write!(f, "sent {} at {at}", key.redacted()),
            Self::Scheduled { key, due } => write!(f, "scheduled {} for {due}", key.redacted()),
            Self::Deferred { key, until } => write!(f, "deferred {} to {until}", key.redacted()),
            Self::Skipped { key, reason } => write!(f, "skipped {}: {}", key.redacted(), Redacted(&reason.to_string())),
            Self::Failed { key, reason } => write!(f, "failed {}: {}", key.redacted(), Redacted(reason)),
            Self::Held { order_id } => write!(f, "held until order {order_id} arrives"),
            Self::Recorded { what } => write!(f, "recorded: {}", Redacted(what)),
            Self::Ignored { reason } => write!(f, "ignored: {}", Redacted(reason)),
        }
    }
}

/// The adapters the engine works through.
pub struct Ports<S, M, B, C> {
    /// State.
    pub store: S,
    /// Sending.
    pub mailer: M,
    /// Outbound events.
    pub bus: B,
    /// Time.
    pub clock: C,
}

/// Token scope of double opt-in confirmation links (they cannot unsubscribe, and unsubscribe
/// links cannot confirm).
pub const CONFIRM_SCOPE: &str = "confirm";

/// Soft bounces that suppress an address, and the window they are counted in.
pub const SOFT_BOUNCE_LIMIT: usize = 3;
const SOFT_BOUNCE_WINDOW_HOURS: i64 = 7 * 24;

/// How long a transactional message waits for its coupon's code before it goes without it.
pub const COUPON_WAIT: SignedDuration = SignedDuration::from_mins(30);
/// How soon a message whose coupon's code could not be created is looked at again.
pub const COUPON_RETRY: SignedDuration = SignedDuration::from_mins(5);

/// How long a claim whose holder has not called the provider yet blocks others. Longer than any
/// function run (their timeout is 30 s), so an expired lease means the holder died before sending.
pub const CLAIM_LEASE: SignedDuration = SignedDuration::from_mins(2);

pub use crate::ports::RECOVER_AFTER;

/// The lifecycle engine.
pub struct Engine<S, M, B, C> {
    ports: Ports<S, M, B, C>,
    config: Arc<StoreConfig>,
    renderer: Renderer,
    keys: SigningKeys,
    /// The store's discount codes, when tidings creates them itself (Shopify, WooCommerce).
    discounts: Option<Arc<dyn crate::ports::Discounts>>,
    /// The tracking services parcels are registered with, when an API key is configured.
    trackers: Option<Arc<dyn crate::ports::Trackers>>,
}

/// What a message shows once its exit conditions were re-checked.
struct Ready {
    customer: CustomerRecord,
    order: Option<OrderRecord>,
    shipment: Option<(ShipmentRecord, Option<Scan>)>,
    cart: Option<(Cart, u8)>,
    /// The currency a coupon would be in, when this message may carry the kind's coupon.
    coupon: Option<Currency>,
    recommendations: Vec<ProductInfo>,
    /// The number the message is about (delivered orders, years, days without a scan, update #).
    count: Option<u32>,
}

/// Records the caller has just read or written, so an immediate send need not read them again.
/// Follow-ups firing later always re-read (rule 2).
#[derive(Default)]
pub(crate) struct KnownRecords {
    pub(crate) customer: Option<CustomerRecord>,
    pub(crate) order: Option<OrderRecord>,
}

impl KnownRecords {
    /// An order just read or written, handed to an immediate send so it is not read again.
    pub(crate) fn of_order(order: &OrderRecord) -> Self {
        Self::of_order_with(order, None)
    }

    /// An order and its customer, when read, handed to an immediate send.
    pub(crate) fn of_order_with(order: &OrderRecord, customer: Option<&CustomerRecord>) -> Self {
        Self {
            customer: customer.cloned(),
            order: Some(order.clone()),
        }
    }
}

enum Prepared {
    Ready(Box<Ready>),
    Skip(SkipReason),
    /// Not yet: a fresh wait until then (a click restarted a win-back's quiet period).
    Postpone(Timestamp),
}

/// Held events a newly arrived order or shipment lets through.
type Release = (OrderId, Vec<HeldEvent>);

/// What a redelivered order confirmation still has to do (see `confirmed_again`).
struct Again {
    /// The customer as stored, and with the event's profile merged in.
    stored: Option<CustomerRecord>,
    customer: CustomerRecord,
    /// Yearly occasions to write with the merged customer.
    occasions: Vec<FollowUp>,
    /// The order as stored, when it was read.
    order: Option<OrderRecord>,
    held: Release,
}

/// The stored customer an event is about (see `Engine::event_customer`).
struct EventCustomer {
    record: Option<CustomerRecord>,
    coupon: Option<crate::ports::IssuedCoupon>,
    /// Their per-id unsubscribe was carried to the address now: the merged record says so.
    carried: bool,
    /// Their report ledger as read with them.
    ledger: (crate::report::Ledger, u64),
}

/// How often an event is handled when records it writes keep changing while it is handled.
const CONFLICT_TRIES: u32 = 5;

/// A message rendered and ready to claim: what the claim, the send and a deferral need.
struct Composed {
    follow_up: FollowUp,
    stored: bool,
    claim: Claim,
    email: OutgoingEmail,
    coupon: Option<Coupon>,
    zone: jiff::tz::TimeZone,
    /// The customer is in the kind's holdout group: claimed like any send (suppression, opt-out
    /// and the cap refuse it the same way), then recorded instead of sent.
    held_out: bool,
}

/// What composing a message came to: ready to claim and send, or already settled.
enum Composition {
    Ready(Box<Composed>),
    Settled(Outcome),
}

impl Composition {
    /// The claim to take with the caller's writes, when there is a message to send.
    fn claim(&self) -> Option<&Claim> {
        match self {
            Self::Ready(composed) => Some(&composed.claim),
            Self::Settled(_) => None,
        }
    }
}

impl<S: Store, M: Mailer, B: Bus, C: Clock> Engine<S, M, B, C> {
    /// Builds the engine once at start-up.
    pub fn new(ports: Ports<S, M, B, C>, config: Arc<StoreConfig>, renderer: Renderer, keys: SigningKeys) -> Self {
        Self {
            ports,
            config,
            renderer,
            keys,
            discounts: None,
            trackers: None,
        }
    }

    /// Registers every parcel shipped with a tracking number with `trackers` (AfterShip,
    /// EasyPost), so their scans come back as `TrackingUpdated`.
    pub fn with_trackers(mut self, trackers: Arc<dyn crate::ports::Trackers>) -> Self {
        self.trackers = Some(trackers);
        self
    }

    /// Creates every coupon's code in the store through `discounts` before the message carrying
    /// it is sent (without: the `CouponIssued` event alone asks the store to).
    pub fn with_discounts(mut self, discounts: Arc<dyn crate::ports::Discounts>) -> Self {
        self.discounts = Some(discounts);
        self
    }

    /// The state store.
    pub fn store(&self) -> &S {
        &self.ports.store
    }

    /// The mailer.
    pub fn mailer(&self) -> &M {
        &self.ports.mailer
    }

    /// The bus.
    pub fn bus(&self) -> &B {
        &self.ports.bus
    }

    /// The clock.
    pub fn clock(&self) -> &C {
        &self.ports.clock
    }

    /// The store configuration.
    pub fn config(&self) -> &StoreConfig {
        &self.config
    }

    /// The HMAC keys (unsubscribe tokens are verified with them).
    pub fn keys(&self) -> &SigningKeys {
        &self.keys
    }

    /// The renderer (web pages share its templates and strings).
    pub fn renderer(&self) -> &Renderer {
        &self.renderer
    }

    /// Handles one inbound event; again (from a fresh read) when a customer or order it writes
    /// was changed meanwhile by another invocation.
    pub async fn handle(&self, event: &InboundEvent) -> Result<Vec<Outcome>, EngineError> {
        let event = InboundEvent {
            event: event.event.clone().with_guest_pseudonyms(self.keys.guest_ids()),
            ..event.clone()
        };
        again_on_conflict(|| self.handle_once(&event)).await
    }

    async fn handle_once(&self, event: &InboundEvent) -> Result<Vec<Outcome>, EngineError> {
        let at = event.time;
        let mut out = Vec::new();
        match &event.event {
            Event::CustomerSignedUp(customer) => out.extend(self.signed_up(customer, at).await?),
            Event::CustomerUpdated(customer) => {
                self.upsert_customer(customer, at, false, None, &mut out).await?;
            }
            Event::CustomerRedacted(redacted) => out.push(self.erase(redacted, at).await?),
            Event::UnsubscribeRequested(request) => out.extend(self.unsubscribe_requested(&request.token, at).await?),
            Event::SesFeedback(feedback) => out.extend(self.feedback(feedback).await?),
            Event::OrderConfirmed(order) => out.extend(self.order_confirmed(order, at).await?),
            Event::ProductUpdated(product) => {
                self.ports.store.describe_product(product).await?;
                out.push(Outcome::Recorded {
                    what: format!("product {}", product.id),
                });
            }
            Event::CartUpdated(cart) | Event::CartAbandoned(cart) => out.extend(self.cart_updated(cart, at).await?),
            Event::FollowUpDue(due) => return self.fire_or_ring_again(due).await,
            _ => out.extend(self.order_events(Some(event), None, at).await?),
        }
        for outcome in &out {
            log_outcome(outcome, event.event.detail_type());
        }
        Ok(out)
    }

    /// The order with the image, page and category the store described (`ProductUpdated`) on
    /// lines that carry none (Shopify's lines have neither): one read of those products only.
    pub(super) async fn pictured(&self, order: &Order) -> Result<Order, EngineError> {
        let mut order = order.clone();
        let bare: Vec<_> = order
            .items
            .iter()
            .filter(|i| i.image_url.is_none() || i.url.is_none())
            .map(|i| i.product_id.clone())
            .collect();
        if !bare.is_empty() {
            let products = self.ports.store.products(&bare).await?;
            crate::ports::picture(&mut order.items, &products);
        }
        Ok(order)
    }

    /// Fires a stored follow-up if it is due: re-checks it and sends, defers or drops it.
    pub async fn fire(&self, key: &MessageKey) -> Result<Vec<Outcome>, EngineError> {
        self.fire_armed(key, None).await
    }

    /// Fires the follow-up of an alarm's `FollowUpDue`. If that fails (a store or SES outage) it
    /// sets one more alarm, `FOLLOW_UP_RETRY` later, and the invocation succeeds: the alarm that
    /// rang is gone, and Lambda's two retries within three minutes would otherwise end in the
    /// failures queue, leaving the follow-up (a transactional email waiting for SES among them)
    /// unsent until someone redrives it. With no alarm clock, or none reachable, it fails as before.
    async fn fire_or_ring_again(&self, due: &crate::event::FollowUpDue) -> Result<Vec<Outcome>, EngineError> {
        let error = match self.fire_armed(&due.key, Some(due.due_at)).await {
            Err(error) if error.is_retryable() => error,
            done => return done,
        };
        let at = self.ports.clock.now() + FOLLOW_UP_RETRY;
        match self.ports.store.ring_again(due, at).await {
            Ok(true) => {
                tracing::warn!(message_key = %due.key.redacted(), error = %crate::ports::report(&error), %at, metric = "follow_up_retried", "a follow-up failed; its alarm rings again");
                Ok(vec![Outcome::Deferred {
                    key: due.key.clone(),
                    until: at,
                }])
            }
            Ok(false) | Err(_) => Err(error),
        }
    }

    /// `fire`, for the `FollowUpDue` of an alarm set for `armed_for`: a follow-up still due then
    /// is due now, whatever this function's clock says (Scheduler's minute began at or after the
    /// due time, and its alarm is gone once it rang).
    async fn fire_armed(&self, key: &MessageKey, armed_for: Option<Timestamp>) -> Result<Vec<Outcome>, EngineError> {
        let key = &self.keys.guest_ids().message_key(key);
        let Some(follow_up) = self.ports.store.follow_up(key).await? else {
            return Ok(vec![Outcome::Ignored {
                reason: format!("no follow-up {key} is waiting (already handled)"),
            }]);
        };
        if follow_up.due_at > self.ports.clock.now() && armed_for != Some(follow_up.due_at) {
            return Ok(vec![Outcome::Ignored {
                reason: format!("{key} is not due before {}", follow_up.due_at),
            }]);
        }
        // The next of a series is stored before this one is tried: a crash or a retry after the
        // send (which removes this follow-up) must not end the series.
        let (next, known) = self.schedule_next(&follow_up).await?;
        let outcome = self.attempt(follow_up, true, known).await?;
        log_outcome(&outcome, "FollowUpDue");
        Ok(std::iter::once(outcome).chain(next).collect())
    }

    /// The follow-ups due now (for the sweeper), earliest first.
    pub async fn due(&self, limit: usize) -> Result<Vec<FollowUp>, EngineError> {
        Ok(self.ports.store.due_follow_ups(self.ports.clock.now(), limit).await?)
    }

    /// The sweeper's job: emits one `FollowUpDue` per due follow-up for its step to fire.
    pub async fn sweep(&self, limit: usize) -> Result<usize, EngineError> {
        // A table an earlier release wrote is brought up to date first: its follow-ups are emitted
        // under their current keys, and once only.
        let now = self.ports.clock.now();
        if !self.ports.store.upgrade(now).await? {
            tracing::info!("upgrading the table: follow-ups wait for the next sweep");
            return Ok(0);
        }
        let due = self.due(limit).await?;
        let events: Vec<Outbound> = due
            .iter()
            .map(|f| outbound(now, Emitted::FollowUpDue(crate::ports::due_event(f))))
            .collect();
        if !events.is_empty() {
            self.ports.bus.publish(&events).await?;
        }
        Ok(events.len())
    }
}

/// How long after a failed `FollowUpDue` its follow-up's alarm rings again.
pub const FOLLOW_UP_RETRY: SignedDuration = SignedDuration::from_mins(5);

/// Runs `attempt` again, from a fresh read, while a record it writes was changed meanwhile by
/// another invocation (then Lambda's own retries take over).
async fn again_on_conflict<T, F, Fut>(mut attempt: F) -> Result<T, EngineError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, EngineError>>,
{
    let mut tries = 1;
    loop {
        // Boxed: handling an event nests these (an order's held events), and the nested state
        // machines would otherwise grow the stack of the task that runs them.
        match Box::pin(attempt()).await {
            Err(EngineError::Store(StoreError::Conflict { item })) if tries < CONFLICT_TRIES => {
                tracing::info!(item, tries, "changed while handled; handling again");
                tries += 1;
            }
            result => return result,
        }
    }
}

/// An event about an erased customer or their order, from before the erasure: dropped.
fn erased_outcome() -> Outcome {
    Outcome::Ignored {
        reason: "about an erased customer: nothing is stored or sent".into(),
    }
}

/// `Some` (drop the event) when it happened at or before an erasure of its customer or address.
fn erased_before(erased_at: Option<Timestamp>, at: Timestamp) -> Option<Outcome> {
    erased_at.filter(|erased| at <= *erased).map(|_| erased_outcome())
}

fn hours(count: i64) -> SignedDuration {
    SignedDuration::from_hours(count)
}

/// An outbound event with an id derived from what it is about (identical on retry and replay).
fn outbound(time: Timestamp, detail: Emitted) -> Outbound {
    Outbound {
        id: derived_uuid(&detail.identity()),
        time,
        detail,
    }
}

/// One structured log line per decision; never an address or a name.
fn log_outcome(outcome: &Outcome, trigger: &str) {
    match outcome {
        Outcome::Sent { key, at } => {
            tracing::info!(message_key = %key.redacted(), kind = %key.kind(), outcome = "sent", %at, trigger, "email sent")
        }
        Outcome::Scheduled { key, due } => {
            tracing::info!(message_key = %key.redacted(), kind = %key.kind(), outcome = "scheduled", %due, trigger, "follow-up scheduled")
        }
        Outcome::Deferred { key, until } => {
            tracing::info!(message_key = %key.redacted(), kind = %key.kind(), outcome = "deferred", %until, trigger, "moved: quiet hours, the frequency cap, the send rate or a provider that did not take it")
        }
        Outcome::Skipped { key, reason } => {
            tracing::info!(message_key = %key.redacted(), kind = %key.kind(), outcome = "skipped", reason = %Redacted(&reason.to_string()), trigger, "not sent")
        }
        Outcome::Failed { key, reason } => {
            tracing::warn!(message_key = %key.redacted(), kind = %key.kind(), outcome = "failed", reason = %Redacted(reason), trigger, "rejected by the provider")
        }
        Outcome::Held { order_id } => {
            tracing::info!(order_id = %order_id, outcome = "held", trigger, "waiting for the order")
        }
        Outcome::Recorded { what } => {
            tracing::info!(outcome = "recorded", what = %Redacted(what), trigger, "state changed")
        }
        Outcome::Ignored { reason } => {
            tracing::debug!(outcome = "ignored", reason = %Redacted(reason), trigger, "nothing to do")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_store_failure_reports_its_whole_chain_and_a_corrupt_record_is_no_retry() {
        let reset = std::io::Error::other("connection reset by peer");
        let unavailable = StoreError::Unavailable {
            operation: "get_item",
            source: Box::new(reset),
        };
        assert_eq!(
            crate::ports::report(&unavailable),
            "state store unavailable during get_item: connection reset by peer"
        );
        assert!(EngineError::from(unavailable).is_retryable());
        let corrupt = StoreError::Corrupt {
            item: "order o-1".into(),
            source: "missing field `id`".into(),
        };
        let corrupt = EngineError::from(corrupt);
        assert!(!corrupt.is_retryable(), "a retry reads the same item");
        assert!(
            crate::ports::report(&corrupt).ends_with("missing field `id`"),
            "{}",
            crate::ports::report(&corrupt)
        );
    }
}
