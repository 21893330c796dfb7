//! In-memory adapters: a store, a settable clock, a recording mailer and bus.

mod follow_ups;
mod queue;
mod store;

pub use queue::FollowUpQueue;

use crate::domain::{CartId, CustomerId, EmailAddress, OrderId, ShipmentId};
use crate::event::{InboundEvent, TrackingNumber};
use crate::message::MessageKey;
use crate::ports::{
    Bus, BusError, CartRecord, Changes, Claim, ClaimOutcome, ClaimState, Clock, Consent, CustomerRecord, Engagement,
    IssuedCoupon, Mailer, MarketingSend, OrderRecord, Outbound, OutgoingEmail, ProductStats, SendError, StoreError,
};
use jiff::Timestamp;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Mutex, MutexGuard};

/// Everything the store holds, inspectable by tests.
#[derive(Debug, Default, Clone)]
pub struct MemoryState {
    /// Customers by id.
    pub customers: BTreeMap<CustomerId, CustomerRecord>,
    /// Orders by id.
    pub orders: BTreeMap<OrderId, OrderRecord>,
    /// Carts by id.
    pub carts: BTreeMap<CartId, CartRecord>,
    /// Message claims.
    pub claims: BTreeMap<MessageKey, ClaimState>,
    /// Which order each shipment id belongs to (`Store::own_shipment_id`), since when.
    pub shipment_owners: BTreeMap<ShipmentId, (OrderId, Timestamp)>,
    /// Each tracking number's parcel (`Orders::index_tracking`; `None` while only scans wait
    /// for it), whether scans wait, and when it expires.
    pub tracking: BTreeMap<TrackingNumber, Tracked>,
    /// Last marketing claim per customer.
    pub marketing: BTreeMap<CustomerId, MarketingSend>,
    /// Waiting follow-ups.
    pub follow_ups: FollowUpQueue,
    /// Events waiting for their order, by id (`retention::held_event_id`, DynamoDB's sort key).
    pub held: BTreeMap<OrderId, BTreeMap<String, Held>>,
    /// Order versions (held events move them too, before the order exists).
    pub order_versions: BTreeMap<OrderId, u64>,
    /// When an order was last placed from a cart (seen or not).
    pub cart_orders: BTreeMap<CartId, Timestamp>,
    /// Suppressed addresses, lowercased (DynamoDB keys them by a hash of the lowercased address).
    pub suppressed: BTreeSet<String>,
    /// Co-purchase statistics.
    pub stats: ProductStats,
    /// Soft bounces per address: event id → time.
    /// Keyed by the whole address lowercased, as DynamoDB keys them (a hash of it).
    pub soft_bounces: BTreeMap<String, BTreeMap<String, Timestamp>>,
    /// Engagement per customer.
    pub engagement: BTreeMap<CustomerId, Engagement>,
    /// SES events already counted, with when.
    pub counted_events: BTreeMap<String, Timestamp>,
    /// Delivery status per message.
    pub deliveries: BTreeMap<MessageKey, (String, Timestamp)>,
    /// The consent each marketing message relied on.
    pub consents: BTreeMap<MessageKey, Consent>,
    /// Coupons issued, by code.
    pub coupons: BTreeMap<String, IssuedCoupon>,
    /// Addresses unsubscribed through tidings (`opted_out_key`), with the time of the opt-out.
    pub opted_out: BTreeMap<String, Timestamp>,
    /// Erasures by hashed customer id or address (as DynamoDB keys them), with their time.
    pub erased: BTreeMap<String, Timestamp>,
    /// Orders of erased customers.
    pub erased_orders: BTreeSet<OrderId>,
    /// Transactional messages sent again because SES never reported the first attempt, and when.
    pub recovered: BTreeMap<MessageKey, Timestamp>,
    /// Sends taken per UTC day: the second being sent in, its sends, the day's (as DynamoDB's
    /// one item per day).
    pub send_days: BTreeMap<jiff::civil::Date, (i64, u32, u64)>,
    /// The report's counters.
    pub counters: crate::report::Counters,
    /// Report ledgers per customer, with their version.
    pub ledgers: BTreeMap<CustomerId, (crate::report::Ledger, u64)>,
    /// Facts counted, by customer and marker.
    pub tallied: BTreeSet<(CustomerId, String)>,
}

/// A held event and when it expires.
#[derive(Debug, Clone, PartialEq)]
pub struct Held {
    /// The event.
    pub event: InboundEvent,
    /// Its TTL (`retention::held_until`).
    pub expires_at: Timestamp,
}

impl MemoryState {
    /// Drops what DynamoDB's TTLs would have deleted by `now` (`ports::retention`): the same
    /// records at the same times. Returns the held events that expired (orphans: what they
    /// waited for never came), with their order.
    pub fn expire(&mut self, now: Timestamp) -> Vec<(OrderId, Held)> {
        use crate::ports::retention::{
            BOUNCE_TTL, CART_TTL, CLAIM_TTL, COUPON_GRACE, FOLLOW_UP_GRACE, LEDGER_TTL, MARKER_TTL,
        };
        let live = |since: Timestamp, ttl| since + ttl > now;
        let gone: Vec<MessageKey> = self
            .claims
            .iter()
            .filter(|(_, claim)| !live(claim.claimed_at(), CLAIM_TTL))
            .map(|(key, _)| key.clone())
            .collect();
        for key in &gone {
            // The claim item carries these.
            self.claims.remove(key);
            self.consents.remove(key);
            self.deliveries.remove(key);
            self.recovered.remove(key);
        }
        self.shipment_owners.retain(|_, (_, at)| live(*at, CLAIM_TTL));
        self.tracking.retain(|_, tracked| tracked.expires_at > now);
        self.marketing.retain(|_, last| live(last.at, LEDGER_TTL));
        self.carts.retain(|_, cart| live(cart.cart.updated_at, CART_TTL));
        self.cart_orders.retain(|_, at| live(*at, CART_TTL));
        let mut orphans = Vec::new();
        for (order, held) in &mut self.held {
            let (expired, kept): (BTreeMap<_, _>, BTreeMap<_, _>) = std::mem::take(held)
                .into_iter()
                .partition(|(_, kept)| kept.expires_at <= now);
            *held = kept;
            orphans.extend(expired.into_values().map(|h| (order.clone(), h)));
        }
        self.held.retain(|_, held| !held.is_empty());
        // An order's placeholder (the version its holds moved) goes with its last hold.
        let orders = &self.orders;
        let held = &self.held;
        self.order_versions
            .retain(|id, _| orders.contains_key(id) || held.contains_key(id));
        self.follow_ups
            .retain(|_, follow_up| live(follow_up.expires_at, FOLLOW_UP_GRACE));
        for bounces in self.soft_bounces.values_mut() {
            bounces.retain(|_, at| live(*at, BOUNCE_TTL));
        }
        self.soft_bounces.retain(|_, bounces| !bounces.is_empty());
        self.counted_events.retain(|_, at| live(*at, MARKER_TTL));
        self.coupons.retain(|_, coupon| live(coupon.expires_at, COUPON_GRACE));
        // A day's count lives two days past its last send.
        let day_ttl = crate::ports::retention::SEND_DAY_TTL.as_secs();
        self.send_days
            .retain(|_, (last, _, _)| last.saturating_add(day_ttl) > now.as_second());
        orphans
    }

    /// Writes records that change together if the order and the customer are still at the
    /// versions they were read at (all or nothing, like the DynamoDB transaction).
    fn apply(&mut self, changes: &Changes<'_>) -> Result<(), StoreError> {
        let unchanged = |stored: u64, read: u64, item: String| match stored == read {
            true => Ok(()),
            false => Err(StoreError::Conflict { item }),
        };
        if let Some(order) = changes.order {
            let stored = self.order_versions.get(&order.order.id).copied().unwrap_or(0);
            unchanged(stored, order.version, format!("order {}", order.order.id))?;
        }
        if let Some(customer) = changes.customer {
            let stored = self.customers.get(&customer.profile.id).map_or(0, |c| c.version);
            unchanged(
                stored,
                customer.version,
                format!("customer {}", customer.profile.id.redacted()),
            )?;
        }
        if let Some(order) = changes.order {
            self.write_order(order);
        }
        if let Some(customer) = changes.customer {
            self.write_customer(customer);
        }
        for key in changes.dropped {
            self.follow_ups.remove(key);
        }
        for follow_up in changes.follow_ups {
            self.follow_ups.insert(follow_up.key.clone(), follow_up.clone());
        }
        Ok(())
    }

    /// Why the message's own claim state refuses `claim`, if it does (as DynamoDB's conditional
    /// put on the claim item).
    fn refusal(&self, claim: &Claim) -> Option<ClaimOutcome> {
        let recovered = self.recovered.contains_key(&claim.key);
        let held = crate::ports::in_whole_seconds(self.claims.get(&claim.key)?.held(recovered), claim.at);
        crate::ports::refusal(held, claim)
    }

    /// Takes `claim` if nothing refuses it (as DynamoDB's conditional writes: the claim's own state
    /// first, then suppression, the address's opt-out and the cap).
    pub(crate) fn claim(&mut self, claim: &Claim) -> ClaimOutcome {
        let state = self;
        if let Some(refused) = state.refusal(claim) {
            return refused;
        }
        // After the claim's own state, as DynamoDB reports the first refusing action.
        let address = claim.to.as_str().to_lowercase();
        if state.suppressed.contains(&address) {
            return ClaimOutcome::Suppressed;
        }
        if claim.cap.is_some() && state.opted_out.contains_key(&crate::ports::opted_out_key(&claim.to)) {
            return ClaimOutcome::OptedOut;
        }
        if let Some(window) = claim.cap
            && let Some(last) = state.marketing.get(&claim.customer_id)
            && last.key != claim.key
            && let Some(last) = crate::ports::cap_refusal(last.at, claim.at, window)
        {
            return ClaimOutcome::CapReached { last };
        }
        if claim.cap.is_some() {
            state.marketing.insert(
                claim.customer_id.clone(),
                MarketingSend {
                    at: claim.at,
                    key: claim.key.clone(),
                },
            );
        }
        if let Some(consent) = &claim.consent {
            state.consents.insert(claim.key.clone(), consent.clone());
        }
        if let Some(coupon) = &claim.coupon {
            state.coupons.insert(coupon.code.clone(), coupon.clone());
        }
        state.claims.insert(claim.key.clone(), ClaimState::taken(claim));
        ClaimOutcome::Claimed
    }

    /// Writes a customer at its next version.
    fn write_customer(&mut self, record: &CustomerRecord) {
        let mut written = record.clone();
        written.version += 1;
        self.customers.insert(record.profile.id.clone(), written);
    }

    /// Writes an order at its next version.
    fn write_order(&mut self, record: &OrderRecord) {
        let mut written = record.clone();
        written.version += 1;
        self.order_versions.insert(record.order.id.clone(), written.version);
        self.orders.insert(record.order.id.clone(), written);
    }
}

/// A `Store` in memory, held to the same contract as the DynamoDB store (tests/support/contract
/// runs against both): conditional claims taken in one step with the writes, leases and the
/// frequency cap in whole seconds (`ports::in_whole_seconds`, `ports::cap_refusal`), soft
/// bounces by the lowercased address, delivery reports only on claimed messages, held events
/// under DynamoDB's ids, and the same records expiring at the same TTLs (`ports::retention`,
/// run by `expire` as the injected clock moves). What the port allows either way: statistics are
/// always fresh here (DynamoDB's functions cache them up to 10 minutes), and a write of more than
/// 100 actions is atomic here (DynamoDB writes it in several transactions). No durability.
#[derive(Debug, Default)]
pub struct MemoryStore {
    state: Mutex<MemoryState>,
    /// When expiry last ran.
    expired: Mutex<Option<Timestamp>>,
    /// Set for each follow-up before it is stored (the fault runs; none for the local runner,
    /// which sweeps).
    alarms: crate::ports::Alarms,
}

/// How often the memory store's expiry runs: DynamoDB deletes an expired item some time after
/// its TTL, not at once.
const EXPIRY_EVERY: jiff::SignedDuration = jiff::SignedDuration::from_hours(1);

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// The store, setting each follow-up's alarm on `clock` before storing it, as the DynamoDB
    /// store does on EventBridge Scheduler.
    pub fn with_alarms(mut self, clock: std::sync::Arc<dyn crate::ports::AlarmClock>) -> Self {
        self.alarms = crate::ports::Alarms::on(clock);
        self
    }

    /// Lets DynamoDB's TTLs take effect as of `now` (the injected clock), at most once an hour of
    /// it: the replay and the tests call it as time moves. Returns the held events that expired.
    pub fn expire(&self, now: Timestamp) -> Vec<(OrderId, Held)> {
        let mut last = self.expired.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if last.is_some_and(|last| now < last + EXPIRY_EVERY) {
            return Vec::new();
        }
        *last = Some(now);
        self.state().expire(now)
    }

    /// Locks the state (a poisoned lock still holds consistent data: every write is one step).
    pub fn state(&self) -> MutexGuard<'_, MemoryState> {
        self.state.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// The keys an erasure is remembered under, as DynamoDB writes them (no personal data).
fn erasure_keys(id: &CustomerId, email: &EmailAddress) -> (String, String) {
    (crate::ports::erased_id_key(id), crate::ports::erased_address_key(email))
}

/// A clock that only moves when told (replays and tests).
#[derive(Debug)]
pub struct SimClock(Mutex<Timestamp>);

impl SimClock {
    /// A clock at `start`.
    pub fn new(start: Timestamp) -> Self {
        Self(Mutex::new(start))
    }

    /// Moves the clock.
    pub fn set(&self, now: Timestamp) {
        *self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = now;
    }
}

impl Clock for SimClock {
    fn now(&self) -> Timestamp {
        *self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    async fn sleep_until(&self, at: Timestamp) {
        let mut now = self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        *now = (*now).max(at);
    }
}

/// A mailer that records what it was given.
#[derive(Debug, Default)]
pub struct MemoryMailer {
    sent: Mutex<Vec<OutgoingEmail>>,
}

impl MemoryMailer {
    /// Every message sent so far.
    pub fn sent(&self) -> Vec<OutgoingEmail> {
        self.sent
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }
}

impl Mailer for MemoryMailer {
    async fn send(&self, email: &OutgoingEmail) -> Result<String, SendError> {
        let mut sent = self.sent.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        sent.push(email.clone());
        Ok(format!("memory-{}", sent.len()))
    }
}

/// A bus that records what was published.
#[derive(Debug, Default)]
pub struct MemoryBus {
    events: Mutex<Vec<Outbound>>,
}

impl MemoryBus {
    /// Every event published so far.
    pub fn events(&self) -> Vec<Outbound> {
        self.events
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }
}

impl Bus for MemoryBus {
    async fn publish(&self, events: &[Outbound]) -> Result<(), BusError> {
        self.events
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .extend_from_slice(events);
        Ok(())
    }
}

/// A tracking number's record (DynamoDB's `TRACKING#<number>` item).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Tracked {
    /// The parcel with the number.
    pub parcel: Option<(OrderId, ShipmentId)>,
    /// Scans of the number are held.
    pub waiting: bool,
    /// Its TTL.
    pub expires_at: Timestamp,
}
