//! The ports under the fault schedule: a store, SES and the bus that fail as the plan says, and
//! record what really happened (which claims were taken, what SES accepted, what was put).

use super::plan::{Plan, SendFault};
use jiff::Timestamp;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use tidings_core::adapters::memory::SimClock;
use tidings_core::domain::{CartId, CustomerId, EmailAddress, Order, OrderId, Product, ProductId, ShipmentId};
use tidings_core::event::{InboundEvent, TrackingNumber};
use tidings_core::message::MessageKey;
use tidings_core::ports::Clock;
use tidings_core::ports::{
    Awaiting, Bus, BusError, CartRecord, Carts, Changes, Claim, ClaimOutcome, CustomerFile, CustomerRecord, Customers,
    Deliverability, Engagement, EngagementKind, Erasure, FollowUp, FollowUps, HeldEvent, Mailer, MarketingSend,
    NewOrder, OrderConfirmation, OrderFile, OrderRecord, Orders, Outbound, OutgoingEmail, Privacy, ProductInfo,
    ProductStats, SendError, SendLedger, Statistics, StoreError, Upgrades,
};
use tidings_core::ports::{LedgerFile, Tallies};
use tidings_core::report::{Change, Counters};

/// A store whose calls fail as the plan says; remembers the step each claim was taken at.
pub struct FaultyStore<S> {
    inner: S,
    plan: Arc<Plan>,
    claims: Mutex<BTreeMap<MessageKey, u64>>,
    recovered: Mutex<BTreeSet<MessageKey>>,
    dropped: Mutex<BTreeSet<MessageKey>>,
}

impl<S> FaultyStore<S> {
    pub(super) fn new(inner: S, plan: Arc<Plan>) -> Self {
        Self {
            inner,
            plan,
            claims: Mutex::default(),
            recovered: Mutex::default(),
            dropped: Mutex::default(),
        }
    }

    /// The store itself, without faults.
    pub fn inner(&self) -> &S {
        &self.inner
    }

    /// The step at which each message's latest claim was taken.
    pub(super) fn claim_steps(&self) -> BTreeMap<MessageKey, u64> {
        self.claims.lock().expect("claims").clone()
    }

    /// Messages whose unanswered claim was taken back for one more attempt.
    pub(super) fn recovered(&self) -> BTreeSet<MessageKey> {
        self.recovered.lock().expect("recovered").clone()
    }

    /// Follow-ups the engine took out of the queue (sent, or dropped by a later decision).
    pub(super) fn dropped(&self) -> BTreeSet<MessageKey> {
        self.dropped.lock().expect("dropped").clone()
    }

    fn claimed(&self, key: &MessageKey, outcome: Option<&ClaimOutcome>) {
        if outcome == Some(&ClaimOutcome::Claimed) {
            let step = self.plan.tick();
            self.claims.lock().expect("claims").insert(key.clone(), step);
        }
    }

    async fn call<T>(
        &self,
        operation: &'static str,
        call: impl Future<Output = Result<T, StoreError>>,
    ) -> Result<T, StoreError> {
        let fault = self.plan.before_store(operation).await?;
        let out = call.await;
        self.plan.after_store(operation, fault)?;
        out
    }
}

impl<S: Customers> Customers for FaultyStore<S> {
    async fn customer(&self, id: &CustomerId) -> Result<Option<CustomerRecord>, StoreError> {
        self.call("customer", self.inner.customer(id)).await
    }

    async fn customer_file(
        &self,
        id: &CustomerId,
        email: &EmailAddress,
        code: Option<&str>,
        address: Option<&CustomerId>,
    ) -> Result<CustomerFile, StoreError> {
        self.call("customer_file", self.inner.customer_file(id, email, code, address))
            .await
    }

    async fn save_customer(&self, record: &CustomerRecord) -> Result<(), StoreError> {
        self.call("save_customer", self.inner.save_customer(record)).await
    }
}

impl<S: Orders> Orders for FaultyStore<S> {
    async fn order(&self, id: &OrderId) -> Result<Option<OrderRecord>, StoreError> {
        self.call("order", self.inner.order(id)).await
    }

    async fn order_file(&self, id: &OrderId) -> Result<OrderFile, StoreError> {
        self.call("order_file", self.inner.order_file(id)).await
    }

    async fn save_together(&self, changes: &Changes<'_>) -> Result<Option<ClaimOutcome>, StoreError> {
        let fault = self.plan.before_store("save_together").await?;
        let out = self.inner.save_together(changes).await;
        if let (Ok(outcome), Some(claim)) = (&out, changes.claim) {
            self.claimed(&claim.key, outcome.as_ref());
        }
        if out.is_ok() {
            self.dropped
                .lock()
                .expect("dropped")
                .extend(changes.dropped.iter().cloned());
        }
        self.plan.after_store("save_together", fault)?;
        out
    }

    async fn confirm_order(&self, new: &NewOrder<'_>) -> Result<OrderConfirmation, StoreError> {
        let fault = self.plan.before_store("confirm_order").await?;
        let out = self.inner.confirm_order(new).await;
        if let (Ok(OrderConfirmation::Recorded(outcome)), Some(claim)) = (&out, new.claim) {
            self.claimed(&claim.key, outcome.as_ref());
        }
        self.plan.after_store("confirm_order", fault)?;
        out
    }

    async fn hold_event(
        &self,
        order: &OrderId,
        event: &InboundEvent,
        awaiting: Awaiting<'_>,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        self.call("hold_event", self.inner.hold_event(order, event, awaiting, now))
            .await
    }

    async fn own_shipment_id(&self, shipment: &ShipmentId, order: &OrderId, at: Timestamp) -> Result<bool, StoreError> {
        self.call("own_shipment_id", self.inner.own_shipment_id(shipment, order, at))
            .await
    }

    async fn index_tracking(
        &self,
        number: &TrackingNumber,
        order: &OrderId,
        shipment: &ShipmentId,
        at: Timestamp,
    ) -> Result<bool, StoreError> {
        self.call("index_tracking", self.inner.index_tracking(number, order, shipment, at))
            .await
    }

    async fn tracking_owner(&self, number: &TrackingNumber) -> Result<Option<(OrderId, ShipmentId)>, StoreError> {
        self.call("tracking_owner", self.inner.tracking_owner(number)).await
    }

    async fn mark_scans_waiting(
        &self,
        number: &TrackingNumber,
        at: Timestamp,
    ) -> Result<Option<(OrderId, ShipmentId)>, StoreError> {
        self.call("mark_scans_waiting", self.inner.mark_scans_waiting(number, at))
            .await
    }

    async fn forget_held(&self, order: &OrderId, held: &[HeldEvent]) -> Result<(), StoreError> {
        self.call("forget_held", self.inner.forget_held(order, held)).await
    }
}

impl<S: Carts> Carts for FaultyStore<S> {
    async fn cart(&self, id: &CartId) -> Result<Option<CartRecord>, StoreError> {
        self.call("cart", self.inner.cart(id)).await
    }

    async fn save_cart(&self, record: &CartRecord) -> Result<bool, StoreError> {
        self.call("save_cart", self.inner.save_cart(record)).await
    }
}

impl<S: SendLedger> SendLedger for FaultyStore<S> {
    async fn claim_message(&self, claim: &Claim) -> Result<ClaimOutcome, StoreError> {
        let fault = self.plan.before_store("claim_message").await?;
        let out = self.inner.claim_message(claim).await;
        if let Ok(outcome) = &out {
            self.claimed(&claim.key, Some(outcome));
        }
        self.plan.after_store("claim_message", fault)?;
        out
    }

    async fn mark_sending(&self, key: &MessageKey, at: Timestamp) -> Result<bool, StoreError> {
        self.call("mark_sending", self.inner.mark_sending(key, at)).await
    }

    async fn recover_claim(&self, claim: &Claim, since: Timestamp) -> Result<ClaimOutcome, StoreError> {
        let fault = self.plan.before_store("recover_claim").await?;
        let out = self.inner.recover_claim(claim, since).await;
        if let Ok(outcome) = &out {
            self.claimed(&claim.key, Some(outcome));
            if *outcome == ClaimOutcome::Claimed {
                self.recovered.lock().expect("recovered").insert(claim.key.clone());
            }
        }
        self.plan.after_store("recover_claim", fault)?;
        out
    }

    async fn release_claim(&self, key: &MessageKey) -> Result<(), StoreError> {
        self.call("release_claim", self.inner.release_claim(key)).await
    }

    async fn mark_sent(&self, key: &MessageKey, provider_id: &str, at: Timestamp) -> Result<(), StoreError> {
        self.call("mark_sent", self.inner.mark_sent(key, provider_id, at)).await
    }

    async fn mark_failed(&self, key: &MessageKey, reason: &str, at: Timestamp) -> Result<(), StoreError> {
        self.call("mark_failed", self.inner.mark_failed(key, reason, at)).await
    }

    async fn last_marketing(&self, customer: &CustomerId) -> Result<Option<MarketingSend>, StoreError> {
        self.call("last_marketing", self.inner.last_marketing(customer)).await
    }

    async fn settle_sending(&self, key: &MessageKey, provider_id: &str, at: Timestamp) -> Result<(), StoreError> {
        self.call("settle_sending", self.inner.settle_sending(key, provider_id, at))
            .await
    }

    async fn take_send_slot(&self, at: Timestamp, rate: u32) -> Result<Option<u64>, StoreError> {
        self.call("take_send_slot", self.inner.take_send_slot(at, rate)).await
    }

    async fn record_delivery(&self, key: &MessageKey, status: &str, at: Timestamp) -> Result<(), StoreError> {
        self.call("record_delivery", self.inner.record_delivery(key, status, at))
            .await
    }
}

impl<S: FollowUps> FollowUps for FaultyStore<S> {
    async fn schedule(&self, follow_up: &FollowUp) -> Result<(), StoreError> {
        self.call("schedule", self.inner.schedule(follow_up)).await
    }

    async fn add_follow_up(&self, follow_up: &FollowUp) -> Result<bool, StoreError> {
        self.call("add_follow_up", self.inner.add_follow_up(follow_up)).await
    }

    async fn follow_up(&self, key: &MessageKey) -> Result<Option<FollowUp>, StoreError> {
        self.call("follow_up", self.inner.follow_up(key)).await
    }

    async fn remove_follow_up(&self, key: &MessageKey) -> Result<(), StoreError> {
        let fault = self.plan.before_store("remove_follow_up").await?;
        let out = self.inner.remove_follow_up(key).await;
        if out.is_ok() {
            self.dropped.lock().expect("dropped").insert(key.clone());
        }
        self.plan.after_store("remove_follow_up", fault)?;
        out
    }

    async fn due_follow_ups(&self, until: Timestamp, limit: usize) -> Result<Vec<FollowUp>, StoreError> {
        self.call("due_follow_ups", self.inner.due_follow_ups(until, limit))
            .await
    }

    async fn follow_ups_of(&self, customer: &CustomerId) -> Result<Vec<FollowUp>, StoreError> {
        self.call("follow_ups_of", self.inner.follow_ups_of(customer)).await
    }

    // Not through `call`: the run's alarm clock draws this call's faults itself (`AlarmBook`).
    async fn ring_again(&self, due: &tidings_core::event::FollowUpDue, at: Timestamp) -> Result<bool, StoreError> {
        self.inner.ring_again(due, at).await
    }
}

impl<S: Deliverability> Deliverability for FaultyStore<S> {
    async fn suppress(&self, email: &EmailAddress, reason: &str, at: Timestamp) -> Result<(), StoreError> {
        self.call("suppress", self.inner.suppress(email, reason, at)).await
    }

    async fn count_soft_bounce(
        &self,
        email: &EmailAddress,
        event_id: &str,
        at: Timestamp,
        since: Timestamp,
    ) -> Result<usize, StoreError> {
        self.call(
            "count_soft_bounce",
            self.inner.count_soft_bounce(email, event_id, at, since),
        )
        .await
    }

    async fn count_engagement(
        &self,
        customer: &CustomerId,
        event_id: &str,
        kind: EngagementKind,
        at: Timestamp,
    ) -> Result<bool, StoreError> {
        self.call(
            "count_engagement",
            self.inner.count_engagement(customer, event_id, kind, at),
        )
        .await
    }

    async fn engagement(&self, customer: &CustomerId) -> Result<Engagement, StoreError> {
        self.call("engagement", self.inner.engagement(customer)).await
    }
}

impl<S: Privacy> Privacy for FaultyStore<S> {
    async fn erase_customer(&self, customer: &CustomerRecord) -> Result<(), StoreError> {
        self.call("erase_customer", self.inner.erase_customer(customer)).await
    }

    async fn record_erasure(&self, erasure: &Erasure) -> Result<(), StoreError> {
        self.call("record_erasure", self.inner.record_erasure(erasure)).await
    }

    async fn opt_out(&self, email: &EmailAddress, at: Timestamp) -> Result<(), StoreError> {
        self.call("opt_out", self.inner.opt_out(email, at)).await
    }

    async fn lift_opt_out(&self, email: &EmailAddress, at: Timestamp) -> Result<(), StoreError> {
        self.call("lift_opt_out", self.inner.lift_opt_out(email, at)).await
    }
}

impl<S: Statistics> Statistics for FaultyStore<S> {
    async fn count_purchases(&self, order: &Order, delta: i64) -> Result<(), StoreError> {
        self.call("count_purchases", self.inner.count_purchases(order, delta))
            .await
    }

    async fn product_stats(&self) -> Result<Arc<ProductStats>, StoreError> {
        self.call("product_stats", self.inner.product_stats()).await
    }

    async fn products(&self, ids: &[ProductId]) -> Result<BTreeMap<ProductId, ProductInfo>, StoreError> {
        self.call("products", self.inner.products(ids)).await
    }

    async fn describe_product(&self, product: &Product) -> Result<(), StoreError> {
        self.call("describe_product", self.inner.describe_product(product))
            .await
    }
}

impl<S> FaultyStore<S> {
    async fn tally_call<T>(
        &self,
        operation: &'static str,
        call: impl Future<Output = Result<T, StoreError>>,
    ) -> Result<T, StoreError> {
        let fault = self.plan.before_tally(operation)?;
        let out = call.await;
        self.plan.after_store(operation, fault)?;
        out
    }
}

impl<S: Tallies> Tallies for FaultyStore<S> {
    async fn ledger(&self, customer: &CustomerId, marker: Option<&str>) -> Result<LedgerFile, StoreError> {
        self.tally_call("ledger", self.inner.ledger(customer, marker)).await
    }

    async fn count(
        &self,
        customer: &CustomerId,
        version: u64,
        marker: Option<&str>,
        change: &Change,
    ) -> Result<(), StoreError> {
        self.tally_call("count", self.inner.count(customer, version, marker, change))
            .await
    }

    async fn counters(&self) -> Result<Counters, StoreError> {
        self.tally_call("counters", self.inner.counters()).await
    }
}

impl<S: Upgrades> Upgrades for FaultyStore<S> {
    async fn upgrade(&self, now: Timestamp) -> Result<bool, StoreError> {
        self.call("upgrade", self.inner.upgrade(now)).await
    }
}

/// A message SES accepted.
#[derive(Clone, Debug)]
pub struct Accepted {
    /// The message.
    pub email: OutgoingEmail,
    /// SES's id for it.
    pub ses_id: String,
    /// The step it was accepted at.
    pub step: u64,
    /// When (the simulated clock).
    pub at: Timestamp,
}

/// SES under the plan: reports every message it accepts (configuration-set events), as SES does,
/// and throttles above its send rate when it has one.
pub struct FaultySes {
    plan: Arc<Plan>,
    clock: Arc<SimClock>,
    accepted: Mutex<Vec<Accepted>>,
    /// Accepted in the current second (its epoch second, how many).
    second: Mutex<(i64, u32)>,
}

impl FaultySes {
    pub(super) fn new(plan: Arc<Plan>, clock: Arc<SimClock>) -> Self {
        Self {
            plan,
            clock,
            accepted: Mutex::default(),
            second: Mutex::default(),
        }
    }

    /// Whether SES's own rate refuses one more message this second.
    fn over_rate(&self) -> bool {
        let Some(rate) = self.plan.rates.ses_rate else {
            return false;
        };
        let now = self.clock.now().as_second();
        let mut second = self.second.lock().expect("second");
        if second.0 != now {
            *second = (now, 0);
        }
        if second.1 >= rate {
            return true;
        }
        second.1 += 1;
        false
    }

    /// Every message accepted so far.
    pub fn accepted(&self) -> Vec<Accepted> {
        self.accepted.lock().expect("accepted").clone()
    }

    /// Messages accepted since the first `seen`.
    pub(super) fn accepted_since(&self, seen: usize) -> Vec<Accepted> {
        self.accepted.lock().expect("accepted")[seen..].to_vec()
    }

    fn accept(&self, email: &OutgoingEmail) -> String {
        let mut accepted = self.accepted.lock().expect("accepted");
        let ses_id = format!("ses-{}", accepted.len() + 1);
        accepted.push(Accepted {
            email: email.clone(),
            ses_id: ses_id.clone(),
            step: self.plan.tick(),
            at: self.clock.now(),
        });
        ses_id
    }
}

impl Mailer for FaultySes {
    async fn send(&self, email: &OutgoingEmail) -> Result<String, SendError> {
        let lost = || SendError::Unknown("connection reset before SES answered (injected)".into());
        let throttled = || SendError::Transient("Throttling: Maximum sending rate exceeded".into());
        match self.plan.before_send() {
            Err(()) => Err(SendError::Transient("the invocation had ended".into())),
            Ok(None) if self.over_rate() => {
                self.plan.count(|c| c.ses_throttled += 1);
                Err(throttled())
            }
            Ok(None) => Ok(self.accept(email)),
            Ok(Some(SendFault::Throttle)) => Err(SendError::Transient(
                "Throttling: Maximum sending rate exceeded (injected)".into(),
            )),
            Ok(Some(SendFault::Reject)) => Err(SendError::Permanent("MessageRejected (injected)".into())),
            Ok(Some(SendFault::LostUnaccepted)) => Err(lost()),
            Ok(Some(SendFault::LostAccepted | SendFault::KillAfter)) => {
                self.accept(email);
                Err(lost())
            }
        }
    }

    fn reports_acceptance(&self, _email: &OutgoingEmail) -> bool {
        true
    }

    fn reports_sends(&self) -> bool {
        true
    }

    fn paced(&self) -> bool {
        true
    }
}

/// The bus under the plan; keeps every event put on it.
pub struct FaultyBus {
    plan: Arc<Plan>,
    put: Mutex<Vec<Outbound>>,
}

impl FaultyBus {
    pub(super) fn new(plan: Arc<Plan>) -> Self {
        Self {
            plan,
            put: Mutex::default(),
        }
    }

    /// Events put since the first `seen`.
    pub(super) fn put_since(&self, seen: usize) -> Vec<Outbound> {
        self.put.lock().expect("put")[seen..].to_vec()
    }
}

impl Bus for FaultyBus {
    async fn publish(&self, events: &[Outbound]) -> Result<(), BusError> {
        let failed = || BusError {
            detail_type: events
                .first()
                .map_or_else(String::new, |e| e.detail.detail_type().to_owned()),
            reason: "InternalFailure (injected)".into(),
        };
        match self.plan.before_publish() {
            Err(()) => Err(failed()),
            Ok(None) => {
                self.put.lock().expect("put").extend_from_slice(events);
                Ok(())
            }
            Ok(Some(after)) => {
                if after {
                    self.put.lock().expect("put").extend_from_slice(events);
                }
                Err(failed())
            }
        }
    }
}
