//! The lifecycle engine: decides which messages to send and when, renders and sends them through the
//! ports. Pure of AWS: the Lambdas and the local runner wire different adapters into the same code.

mod customer;
mod occasion;
mod recommend;
mod schedule;
mod shipments;
mod slot;

use crate::ports::{Awaiting, HeldEvent, OrderConfirmation, OrderFile};
pub use customer::merge as merge_customer;
pub use recommend::{MAX_RECOMMENDATIONS, recommend};
pub use slot::next_slot;

use crate::config::StoreConfig;
use crate::coupon::Coupon;
use crate::domain::{Cart, CartId, Currency, CustomerId, EmailAddress, Order, OrderId, ProductId, Redacted};
use crate::event::{EmailSent, Emitted, Event, FollowUpDue, InboundEvent};
use crate::feedback::{Feedback, FeedbackKind};
use crate::message::{Category, MessageKey, MessageKind};
use crate::mime::{self, Envelope};
use crate::ports::EngagementKind;
use crate::ports::{
    Bus, BusError, CartRecord, Changes, Claim, ClaimOutcome, Clock, CustomerRecord, FollowUp, IssuedCoupon, Mailer,
    NewOrder, OrderRecord, Outbound, OutgoingEmail, ProductInfo, Scan, SendError, ShipmentRecord, Store, StoreError,
    Subject,
};
use crate::render::{Draft, RenderError, Renderer};
use crate::signing::{SigningKeys, derived_uuid};
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
    /// The provider did not accept the message this time; the claim was released.
    #[error("sending {} failed for now: {reason}", .key.redacted())]
    SendLater {
        /// The message.
        key: MessageKey,
        /// The provider's answer.
        reason: String,
    },
}

impl EngineError {
    /// Whether retrying the same input may succeed (Lambda: fail the invocation so it is retried).
    pub fn is_retryable(&self) -> bool {
        !matches!(self, Self::Render { .. })
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
        reason: String,
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
            Self::Skipped { key, reason } => write!(f, "skipped {}: {}", key.redacted(), Redacted(reason)),
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

/// How long a claim whose holder has not called the provider yet blocks others. Longer than any
/// function run (their timeout is 30 s), so an expired lease means the holder died before sending.
pub const CLAIM_LEASE: SignedDuration = SignedDuration::from_mins(2);

/// How long a transactional message's provider call may stay unreported before it is sent once
/// more. SES reports a `Send` within seconds; a quarter of an hour without one means the process
/// died before SES accepted it (or, rarely, SES's report was lost: then the customer gets it twice).
pub const RECOVER_AFTER: SignedDuration = SignedDuration::from_mins(15);

/// The lifecycle engine.
pub struct Engine<S, M, B, C> {
    ports: Ports<S, M, B, C>,
    config: Arc<StoreConfig>,
    renderer: Renderer,
    keys: SigningKeys,
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

enum Prepared {
    Ready(Box<Ready>),
    Skip(String),
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
        }
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
            Event::CartUpdated(cart) | Event::CartAbandoned(cart) => out.extend(self.cart_updated(cart, at).await?),
            Event::FollowUpDue(due) => return self.fire(&due.key).await,
            _ => out.extend(self.order_events(Some(event), None, at).await?),
        }
        for outcome in &out {
            log_outcome(outcome, event.event.detail_type());
        }
        Ok(out)
    }

    /// A signup: the welcome (or the double opt-in request) at once, the offer later, and a
    /// win-back for a signup who never orders.
    async fn signed_up(&self, customer: &crate::domain::Customer, at: Timestamp) -> Result<Vec<Outcome>, EngineError> {
        let timing = &self.config.timing;
        let mut out = Vec::new();
        let Some(record) = self.upsert_customer(customer, at, true, None, &mut out).await? else {
            return Ok(out);
        };
        let id = &record.profile.id;
        // Double opt-in: ask for confirmation first; the welcome follows it.
        let first = if record.consent_pending_since.is_some() {
            MessageKind::SubscriptionConfirmation
        } else {
            MessageKind::Welcome
        };
        let welcome = self.follow_up(MessageKey::new(first, id.as_str(), &[]), id, Subject::Customer, at);
        let known = KnownRecords {
            customer: Some(record.clone()),
            order: None,
        };
        out.push(self.attempt(welcome, false, known).await?);
        let offer_due = at + hours(timing.welcome_offer_after_hours);
        let offer = self.follow_up(
            MessageKey::new(MessageKind::WelcomeOffer, id.as_str(), &[]),
            id,
            Subject::Customer,
            offer_due,
        );
        out.extend(self.schedule(offer).await?);
        if record.orders_confirmed == 0 {
            out.extend(self.schedule_win_back(&record, None, at).await?);
        }
        Ok(out)
    }

    /// Fires a stored follow-up if it is due: re-checks it and sends, defers or drops it.
    pub async fn fire(&self, key: &MessageKey) -> Result<Vec<Outcome>, EngineError> {
        let key = &self.keys.guest_ids().message_key(key);
        let Some(follow_up) = self.ports.store.follow_up(key).await? else {
            return Ok(vec![Outcome::Ignored {
                reason: format!("no follow-up {key} is waiting (already handled)"),
            }]);
        };
        if follow_up.due_at > self.ports.clock.now() {
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
        if !self.ports.store.upgrade().await? {
            tracing::info!("upgrading the table: follow-ups wait for the next sweep");
            return Ok(0);
        }
        let now = self.ports.clock.now();
        let due = self.due(limit).await?;
        let events: Vec<Outbound> = due
            .iter()
            .map(|f| {
                outbound(
                    now,
                    Emitted::FollowUpDue(FollowUpDue {
                        key: f.key.clone(),
                        step: f.key.kind().step(),
                        subject_id: f.subject_id(),
                        due_at: f.due_at,
                    }),
                )
            })
            .collect();
        if !events.is_empty() {
            self.ports.bus.publish(&events).await?;
        }
        Ok(events.len())
    }

    /// The consent a marketing message may rely on: the customer's statement, or soft opt-in for an
    /// existing customer when the store turned it on and the customer never unsubscribed with us.
    fn marketing_consent(&self, customer: &CustomerRecord) -> Option<crate::ports::Consent> {
        use crate::ports::{Consent, ConsentSource};
        let consent = &customer.consent;
        if consent.given {
            return Some(consent.clone());
        }
        let soft = self.config.marketing.soft_opt_in
            && consent.source == ConsentSource::Store
            && customer.orders_confirmed > 0;
        soft.then_some(Consent {
            given: true,
            at: consent.at,
            source: ConsentSource::SoftOptIn,
        })
    }

    /// A statement about marketing consent made through tidings (unsubscribe link or page). An
    /// unsubscribe also cancels every waiting marketing follow-up of the customer.
    pub async fn set_marketing_consent(
        &self,
        customer: &CustomerId,
        given: bool,
        source: crate::ports::ConsentSource,
        at: Timestamp,
    ) -> Result<Vec<Outcome>, EngineError> {
        let customer = &self.keys.guest_ids().customer_id(customer);
        again_on_conflict(|| self.record_consent(customer, given, source, at)).await
    }

    async fn record_consent(
        &self,
        customer: &CustomerId,
        given: bool,
        source: crate::ports::ConsentSource,
        at: Timestamp,
    ) -> Result<Vec<Outcome>, EngineError> {
        use crate::ports::ConsentSource;
        let store = &self.ports.store;
        let Some(mut record) = store.customer(customer).await? else {
            return Ok(vec![Outcome::Ignored {
                reason: format!("consent for unknown customer {customer}"),
            }]);
        };
        let mut out = Vec::new();
        let unsubscribe = !given && source == ConsentSource::Unsubscribe;
        // An unsubscribe counts at the time it was made, whatever the clocks of the store's events
        // say: only a later statement made through tidings itself (a resubscribe) outranks it.
        let applies = if unsubscribe {
            let through_tidings = !matches!(record.consent.source, ConsentSource::Store | ConsentSource::SoftOptIn);
            !(through_tidings && record.consent.at > at)
        } else {
            at >= record.consent.at
        };
        if applies {
            let email = &record.profile.email;
            // The address first: it is what every later marketing claim is checked against, under
            // any customer id.
            if unsubscribe {
                store.opt_out(email, at).await?;
            } else if given && matches!(source, ConsentSource::Resubscribe | ConsentSource::Confirmed) {
                store.lift_opt_out(email, at).await?;
            }
            record.consent = crate::ports::Consent { given, at, source };
            record.consent_pending_since = None;
            record.address_opted_out = unsubscribe;
            store.save_customer(&record).await?;
            let state = if given { "given" } else { "withdrawn" };
            out.push(Outcome::Recorded {
                what: format!("marketing consent {state} for {customer} ({source:?})"),
            });
            if unsubscribe {
                self.announce_unsubscribed(customer, "marketing", at).await?;
            }
            if given && source == ConsentSource::Confirmed && record.signed_up {
                let key = MessageKey::new(MessageKind::Welcome, customer.as_str(), &[]);
                let welcome = self.follow_up(key, customer, Subject::Customer, at);
                let known = KnownRecords {
                    customer: Some(record.clone()),
                    order: None,
                };
                out.push(self.attempt(welcome, false, known).await?);
            }
        }
        if !given {
            for follow_up in store.follow_ups_of(customer).await? {
                // Birthdays and anniversaries stay: they check consent when due and go on to next
                // year, so a customer who resubscribes still gets them.
                let yearly = matches!(follow_up.subject, Subject::Occasion { .. });
                if follow_up.key.kind().category() == Category::Marketing && !yearly {
                    store.remove_follow_up(&follow_up.key).await?;
                    out.push(Outcome::Skipped {
                        key: follow_up.key,
                        reason: "cancelled: the customer unsubscribed".into(),
                    });
                }
            }
        }
        for outcome in &out {
            log_outcome(outcome, "consent");
        }
        Ok(out)
    }

    /// Erases everything about a customer (`CustomerRedacted`); a hashed suppression, if any, stays.
    /// The erasure itself is remembered (hashes and order ids only), also when nothing was
    /// stored yet: any event from before it that arrives later stores and sends nothing.
    async fn erase(&self, redacted: &crate::event::CustomerRedacted, at: Timestamp) -> Result<Outcome, EngineError> {
        let store = &self.ports.store;
        let customer = &redacted.customer_id;
        // Remembered first, from the request alone: whatever happens after (a crash, a record that
        // cannot be read), every later event from before the erasure is dropped.
        let mut erasure = crate::ports::Erasure {
            customer_id: customer.clone(),
            email: redacted.email.clone(),
            orders: vec![],
            at,
        };
        store.record_erasure(&erasure).await?;
        let record = store.customer(customer).await?;
        if let Some(record) = record.as_ref().filter(|r| !r.orders.is_empty()) {
            erasure.orders = record.orders.iter().cloned().collect();
            store.record_erasure(&erasure).await?;
        }
        let Some(record) = record else {
            return Ok(Outcome::Recorded {
                what: format!("erasure of {customer} remembered; nothing was stored about them"),
            });
        };
        store.erase_customer(&record).await?;
        Ok(Outcome::Recorded {
            what: format!(
                "erased customer {customer}: profile, {} order(s), {} cart(s), follow-ups, counters",
                record.orders.len(),
                record.carts.len()
            ),
        })
    }

    /// Puts `CustomerUnsubscribed` on the bus for the store (or its integration) to mirror.
    async fn announce_unsubscribed(
        &self,
        customer_id: &CustomerId,
        scope: &'static str,
        at: Timestamp,
    ) -> Result<(), EngineError> {
        let announced = crate::event::CustomerUnsubscribed {
            customer_id: customer_id.clone(),
            scope,
            at,
        };
        let event = outbound(at, Emitted::CustomerUnsubscribed(announced));
        Ok(self.ports.bus.publish(&[event]).await?)
    }

    /// A one-click unsubscribe given as an event (a replay line): handled as the page's POST of the
    /// same token at the event's time.
    async fn unsubscribe_requested(&self, token: &str, at: Timestamp) -> Result<Vec<Outcome>, EngineError> {
        use crate::ports::ConsentSource;
        match self
            .keys
            .verify_unsubscribe(token, at, crate::unsubscribe::TOKEN_MAX_AGE)
        {
            Ok(claim) if claim.scope == "marketing" => {
                self.set_marketing_consent(&claim.customer_id, false, ConsentSource::Unsubscribe, at)
                    .await
            }
            Ok(_) => Ok(vec![Outcome::Ignored {
                reason: "a confirmation link cannot unsubscribe".into(),
            }]),
            Err(error) => Ok(vec![Outcome::Ignored {
                reason: format!("unsubscribe token refused: {error}"),
            }]),
        }
    }

    /// What SES reported about a sent message: suppress on hard bounces and complaints (and on the
    /// third soft bounce in 7 days), count opens and clicks once each, record deliveries.
    async fn feedback(&self, feedback: &Feedback) -> Result<Vec<Outcome>, EngineError> {
        let store = &self.ports.store;
        let mut out = Vec::new();
        let at = feedback.at;
        match feedback.kind {
            FeedbackKind::HardBounce | FeedbackKind::Complaint => {
                let reason = if feedback.kind == FeedbackKind::Complaint {
                    "complaint"
                } else {
                    "hard bounce"
                };
                for address in &feedback.recipients {
                    store.suppress(address, reason, at).await?;
                    out.push(Outcome::Recorded {
                        what: format!("suppressed {} after a {reason}", address.masked()),
                    });
                }
                // A complaint is the strongest unsubscribe there is: the store should mirror it.
                if let Some(customer_id) = feedback
                    .customer_id
                    .as_ref()
                    .filter(|_| feedback.kind == FeedbackKind::Complaint)
                {
                    self.announce_unsubscribed(customer_id, "all", at).await?;
                }
            }
            FeedbackKind::SoftBounce => {
                let since = at - SignedDuration::from_hours(SOFT_BOUNCE_WINDOW_HOURS);
                for address in &feedback.recipients {
                    let count = store.count_soft_bounce(address, &feedback.event_id, at, since).await?;
                    let what = if count >= SOFT_BOUNCE_LIMIT {
                        store.suppress(address, "repeated soft bounces", at).await?;
                        format!("suppressed {} after {count} soft bounces in 7 days", address.masked())
                    } else {
                        format!("soft bounce {count} of {SOFT_BOUNCE_LIMIT} for {}", address.masked())
                    };
                    out.push(Outcome::Recorded { what });
                }
            }
            FeedbackKind::Open | FeedbackKind::Click => {
                let kind = if feedback.kind == FeedbackKind::Open {
                    EngagementKind::Open
                } else {
                    EngagementKind::Click
                };
                if let Some(customer) = &feedback.customer_id {
                    let counted = store.count_engagement(customer, &feedback.event_id, kind, at).await?;
                    out.push(if counted {
                        Outcome::Recorded {
                            what: format!("{kind:?} by {customer}"),
                        }
                    } else {
                        Outcome::Ignored {
                            reason: "SES event already counted".into(),
                        }
                    });
                    // Also when already counted: a first try that counted the click may have failed
                    // before the reward (its customer write conflicted); the reward is idempotent.
                    if kind == EngagementKind::Click {
                        out.extend(self.reward_engagement(customer, at).await?);
                    }
                }
            }
            FeedbackKind::Send => {
                // SES's own word that it accepted the message settles a claim whose sender died
                // before recording the answer.
                if let Some(key) = &feedback.message_key {
                    // Announced before settling: a failed publish is retried with the event, and a
                    // redelivered report at worst announces twice (consumers key on message_key).
                    // Only where the provider reports sends; a local outbox announced its own.
                    let reported = self.ports.mailer.reports_sends();
                    if let Some(customer_id) = feedback.customer_id.as_ref().filter(|_| reported) {
                        let sent = EmailSent {
                            message_key: key.clone(),
                            kind: key.kind(),
                            category: key.kind().category(),
                            customer_id: customer_id.clone(),
                            order_id: feedback.order_id.clone(),
                            cart_id: feedback.cart_id.clone(),
                            ses_message_id: feedback.ses_message_id.clone(),
                        };
                        self.ports
                            .bus
                            .publish(&[outbound(at, Emitted::EmailSent(sent))])
                            .await?;
                    }
                    store.settle_sending(key, &feedback.ses_message_id, at).await?;
                    out.push(Outcome::Recorded {
                        what: format!("SES accepted {key}"),
                    });
                }
            }
            FeedbackKind::Delivery | FeedbackKind::Reject | FeedbackKind::DeliveryDelay | FeedbackKind::Other => {
                if let Some(key) = &feedback.message_key {
                    let status = format!("{:?}", feedback.kind).to_lowercase();
                    store.record_delivery(key, &status, at).await?;
                    out.push(Outcome::Recorded {
                        what: format!("{status} for {key}"),
                    });
                }
            }
        }
        Ok(out)
    }

    /// Merges a profile into the stored customer, with the cart it came with (remembered so an
    /// erasure finds every cart), in one write; a new birthday, signup date or time zone
    /// (re)schedules the yearly occasions.
    async fn upsert_customer(
        &self,
        customer: &crate::domain::Customer,
        at: Timestamp,
        signed_up: bool,
        cart: Option<&CartId>,
        out: &mut Vec<Outcome>,
    ) -> Result<Option<CustomerRecord>, EngineError> {
        let file = match self.event_customer(customer, at, None).await? {
            Ok(file) => file,
            Err(erased) => {
                out.push(erased);
                return Ok(None);
            }
        };
        let known = file.record;
        let (mut record, occasions) = self.merge_profile(known.as_ref(), customer, at, signed_up);
        record.address_opted_out |= file.carried;
        record.carts.extend(cart.cloned());
        if known.as_ref() != Some(&record) {
            self.save_profile(&record, &occasions, out).await?;
            record.version += 1;
        }
        Ok(Some(record))
    }

    /// The stored customer an event's profile is merged into, read with the coupon `code` when
    /// given, after what the profile changes about the address's opt-out; `Err` (the event is
    /// dropped) when the event is from before an erasure of this customer or address.
    async fn event_customer(
        &self,
        customer: &crate::domain::Customer,
        at: Timestamp,
        code: Option<&str>,
    ) -> Result<Result<EventCustomer, Outcome>, EngineError> {
        let file = self
            .ports
            .store
            .customer_file(&customer.id, &customer.email, code)
            .await?;
        if let Some(erased) = erased_before(file.erased_at, at) {
            return Ok(Err(erased));
        }
        let carried = self.address_consent(file.record.as_ref(), customer).await?;
        Ok(Ok(EventCustomer {
            record: file.record,
            coupon: file.coupon,
            carried,
        }))
    }

    /// What an incoming profile changes about its address's opt-out, before it is merged. A store
    /// statement of consent with its own time (Shopify's `consent_updated_at`) that is new lifts a
    /// tidings unsubscribe of the address made before it; a bare boolean never does. A customer
    /// unsubscribed by the release before (per id only) gets the address record now; true then,
    /// and the caller marks the merged record so it is done once.
    async fn address_consent(
        &self,
        known: Option<&CustomerRecord>,
        customer: &crate::domain::Customer,
    ) -> Result<bool, EngineError> {
        let store = &self.ports.store;
        let mut carried = false;
        if let Some(known) = known.filter(|k| !k.address_opted_out) {
            let consent = &known.consent;
            if !consent.given && consent.source == crate::ports::ConsentSource::Unsubscribe {
                store.opt_out(&known.profile.email, consent.at).await?;
                carried = true;
            }
        }
        // With double opt-in the store's "yes" counts only once confirmed: it lifts nothing.
        let stated = customer.marketing_consent && !self.config.marketing.double_opt_in;
        let Some(stated_at) = customer.consent_updated_at.filter(|_| stated) else {
            return Ok(carried);
        };
        if known.is_some_and(|k| k.profile.consent_updated_at >= Some(stated_at)) {
            return Ok(carried);
        }
        store.lift_opt_out(&customer.email, stated_at).await?;
        Ok(carried)
    }

    /// Saves a merged customer with the yearly occasions its new dates start.
    async fn save_profile(
        &self,
        customer: &CustomerRecord,
        occasions: &[FollowUp],
        out: &mut Vec<Outcome>,
    ) -> Result<(), EngineError> {
        // Alone, a plain conditional put (a one-item transaction costs twice the write capacity).
        if occasions.is_empty() {
            return Ok(self.ports.store.save_customer(customer).await?);
        }
        let changes = Changes {
            customer: Some(customer),
            follow_ups: occasions,
            ..Changes::default()
        };
        self.ports.store.save_together(&changes).await?;
        out.extend(occasions.iter().map(Outcome::scheduled));
        Ok(())
    }

    /// The stored customer with a profile merged in (not saved), and the yearly occasions to
    /// write with it when the birthday, signup date or time zone is new (replacing waiting ones).
    fn merge_profile(
        &self,
        known: Option<&CustomerRecord>,
        customer: &crate::domain::Customer,
        at: Timestamp,
        signed_up: bool,
    ) -> (CustomerRecord, Vec<FollowUp>) {
        let record = merge_customer(
            known.cloned(),
            customer,
            at,
            signed_up,
            self.config.marketing.double_opt_in,
        );
        let dates = |c: &CustomerRecord| (c.profile.birthday, c.profile.signed_up_at, c.profile.time_zone.clone());
        let occasions = if known.map(dates) != Some(dates(&record)) {
            [MessageKind::Birthday, MessageKind::SignupAnniversary]
                .into_iter()
                .filter_map(|kind| self.occasion(&record, kind, at))
                .collect()
        } else {
            vec![]
        };
        (record, occasions)
    }

    async fn order_confirmed(&self, order: &Order, at: Timestamp) -> Result<Vec<Outcome>, EngineError> {
        let store = &self.ports.store;
        let mut out = Vec::new();
        let OrderFile {
            record: existing,
            erased: erased_order,
            version,
            held,
        } = store.order_file(&order.id).await?;
        if erased_order {
            return Ok(vec![erased_outcome()]);
        }
        let held = (order.id.clone(), held);
        // The customer and the coupon the order used (attributed to the message that carried it).
        let code = order.coupon_code.as_ref().map(|code| code.as_str().trim());
        let file = match self.event_customer(&order.customer, at, code).await? {
            Ok(file) => file,
            Err(erased) => return Ok(vec![erased]),
        };
        let (stored, coupon) = (file.record, file.coupon);
        let (mut customer, occasions) = self.merge_profile(stored.as_ref(), &order.customer, at, false);
        customer.address_opted_out |= file.carried;
        let id = &order.customer.id;
        let subject = Subject::Order {
            order_id: order.id.clone(),
        };
        let confirmation = self.follow_up(
            MessageKey::new(MessageKind::OrderConfirmation, order.id.as_str(), &[]),
            id,
            subject.clone(),
            at,
        );
        if existing.is_some() {
            let again = Again {
                stored,
                customer,
                occasions,
                order: existing,
                held,
            };
            return self.confirmed_again(confirmation, again, out).await;
        }
        let coupon_from = coupon.map(|c| c.key);
        let record = OrderRecord {
            order: order.clone(),
            confirmed_at: at,
            first_order: customer.orders_confirmed == 0,
            cancelled: None,
            shipments: vec![],
            delivered_at: None,
            reviewed_at: None,
            returned: false,
            coupon_from,
            parcels_delivered: Default::default(),
            version,
        };
        let mut counted = customer.clone();
        counted.orders_confirmed += 1;
        counted.last_order_at = counted.last_order_at.max(Some(order.placed_at));
        counted
            .purchased
            .extend(order.items.iter().map(|i| i.product_id.clone()));
        counted.orders.insert(order.id.clone());
        counted.standing.insert(order.id.clone(), at);
        counted.categories.extend(
            order
                .items
                .iter()
                .filter_map(|i| i.category.as_ref())
                .map(|c| c.as_str().trim().to_owned()),
        );
        let cross_sell_due = at + hours(self.config.timing.cross_sell_after_hours);
        let mut follow_ups = vec![
            self.follow_up(
                MessageKey::new(MessageKind::CrossSell, order.id.as_str(), &[]),
                id,
                subject.clone(),
                cross_sell_due,
            ),
            self.lapse_from(&counted, Some(&order.id), at),
        ];
        follow_ups.extend(occasions.iter().cloned());
        if order
            .lead_time_days
            .is_some_and(|days| days >= self.config.timing.order_progress_min_lead_days)
        {
            follow_ups.push(self.progress_follow_up(&record, 1));
        }
        // One write for the order, all it changes and the confirmation's claim.
        let composition = self
            .compose(
                confirmation.clone(),
                false,
                KnownRecords {
                    customer: Some(counted.clone()),
                    order: Some(record.clone()),
                },
            )
            .await?;
        let new = NewOrder {
            record: &record,
            customer: &counted,
            follow_ups: &follow_ups,
            claim: composition.claim(),
        };
        match store.confirm_order(&new).await? {
            OrderConfirmation::Recorded(claimed) => {
                out.extend(follow_ups.iter().map(Outcome::scheduled));
                // Nothing that can fail stands between a claim taken as `sending` and SES.
                let sent = self.finish(composition, claimed).await;
                // Counted whatever the send did: a retry finds the order recorded and counts nothing.
                self.count_purchases(order, 1).await;
                out.push(sent?);
            }
            OrderConfirmation::Exists => {
                let again = Again {
                    stored,
                    customer,
                    occasions,
                    order: None,
                    held,
                };
                return self.confirmed_again(confirmation, again, out).await;
            }
        }
        out.extend(self.order_events(None, Some(held), at).await?);
        Ok(out)
    }

    /// Counts an order in the co-purchase statistics (or takes it out), after its email: a
    /// failure there only skews recommendations by one order, so it is logged, never raised.
    async fn count_purchases(&self, order: &Order, delta: i64) {
        if let Err(error) = self.ports.store.count_purchases(order, delta).await {
            tracing::warn!(order_id = %order.id, error = %error, "co-purchase statistics not updated");
        }
    }

    /// A redelivered confirmation writes nothing about the order but still finishes its email,
    /// which is idempotent, and the events held for the order (a first delivery that died before
    /// it got to them).
    async fn confirmed_again(
        &self,
        confirmation: FollowUp,
        again: Again,
        mut out: Vec<Outcome>,
    ) -> Result<Vec<Outcome>, EngineError> {
        let Again {
            stored,
            customer,
            occasions,
            order,
            held,
        } = again;
        if stored.as_ref() != Some(&customer) {
            self.save_profile(&customer, &occasions, &mut out).await?;
        }
        let at = confirmation.due_at;
        let known = KnownRecords {
            customer: Some(customer),
            order,
        };
        out.push(self.attempt(confirmation, false, known).await?);
        out.extend(self.order_events(None, Some(held), at).await?);
        Ok(out)
    }

    /// Handles `first`, then events that waited for an order once it (or its shipment) arrives.
    /// Held events older than the orphan limit are dropped with a warning.
    async fn order_events(
        &self,
        first: Option<&InboundEvent>,
        release: Option<(OrderId, Vec<HeldEvent>)>,
        now: Timestamp,
    ) -> Result<Vec<Outcome>, EngineError> {
        let orphan_after = hours(self.config.timing.orphan_after_hours);
        // Each event with the held item it came from: forgotten once handled, so a failure on
        // the way leaves it for the retry.
        let mut queue: std::collections::VecDeque<(InboundEvent, Option<(OrderId, HeldEvent)>)> =
            first.cloned().into_iter().map(|event| (event, None)).collect();
        let mut release = release;
        let mut out = Vec::new();
        // A shipment handled from the held events releases them again: each is taken once.
        let mut taken = std::collections::BTreeSet::new();
        loop {
            if let Some((order_id, held)) = release.take() {
                for held in held.into_iter().filter(|h| taken.insert(h.id.clone())) {
                    if held.event.time + orphan_after < now {
                        let detail_type = held.event.event.detail_type();
                        tracing::warn!(order_id = %order_id, detail_type, event_time = %held.event.time, "orphan event dropped: its order arrived too late");
                        out.push(Outcome::Ignored {
                            reason: format!("orphan {detail_type} for order {order_id} dropped"),
                        });
                        self.ports
                            .store
                            .forget_held(&order_id, std::slice::from_ref(&held))
                            .await?;
                    } else {
                        queue.push_back((held.event.clone(), Some((order_id.clone(), held))));
                    }
                }
            }
            let Some((event, origin)) = queue.pop_front() else {
                return Ok(out);
            };
            let (outcomes, released) = self.order_event(&event).await?;
            // Held again (a scan of a shipment still to come) rewrote the same item: kept, and
            // free to be taken when that shipment is announced.
            let held_again = outcomes.iter().any(|o| matches!(o, Outcome::Held { .. }));
            match origin {
                Some((_, held)) if held_again => {
                    taken.remove(&held.id);
                }
                Some((order_id, held)) => {
                    self.ports
                        .store
                        .forget_held(&order_id, std::slice::from_ref(&held))
                        .await?;
                }
                None => {}
            }
            out.extend(outcomes);
            release = released;
        }
    }

    /// One event about an existing order (held until it arrives), read afresh and handled again
    /// when the order changed meanwhile. Returns the held events a shipment announcement released.
    async fn order_event(&self, event: &InboundEvent) -> Result<(Vec<Outcome>, Option<Release>), EngineError> {
        let Some(order_id) = event.event.awaited_order() else {
            let reason = format!("{} needs no action", event.event.detail_type());
            return Ok((vec![Outcome::Ignored { reason }], None));
        };
        again_on_conflict(|| async {
            let file = self.ports.store.order_file(order_id).await?;
            self.order_event_on(event, order_id, file).await
        })
        .await
    }

    /// Holds `event` until what it awaits arrives; a conflict when that arrived meanwhile.
    async fn hold(
        &self,
        order_id: &OrderId,
        event: &InboundEvent,
        awaiting: Awaiting<'_>,
    ) -> Result<Outcome, EngineError> {
        let now = self.ports.clock.now();
        if !self.ports.store.hold_event(order_id, event, awaiting, now).await? {
            return Err(StoreError::Conflict {
                item: format!("order {order_id}"),
            }
            .into());
        }
        Ok(Outcome::Held {
            order_id: order_id.clone(),
        })
    }

    async fn order_event_on(
        &self,
        event: &InboundEvent,
        order_id: &OrderId,
        file: OrderFile,
    ) -> Result<(Vec<Outcome>, Option<Release>), EngineError> {
        let store = &self.ports.store;
        let OrderFile {
            record, held, erased, ..
        } = file;
        if erased {
            return Ok((vec![erased_outcome()], None));
        }
        let Some(mut record) = record else {
            return Ok((vec![self.hold(order_id, event, Awaiting::Order).await?], None));
        };
        let mut release = None;
        let at = event.time;
        let customer_id = record.order.customer.id.clone();
        let mut out = Vec::new();
        match &event.event {
            Event::OrderCancelled(cancel) => {
                let key = MessageKey::new(MessageKind::OrderCancellation, order_id.as_str(), &[]);
                let subject = Subject::Order {
                    order_id: order_id.clone(),
                };
                let cancellation = self.follow_up(key, &customer_id, subject, at);
                // Recorded once, all together with the email's claim: the cancellation, the
                // statistics without the order, the customer's standing orders and the lapse that
                // now counts from the latest one still standing (or the signup).
                if record.cancelled.is_none() {
                    record.cancelled = Some((at, cancel.reason.clone()));
                    let mut customer = store.customer(&customer_id).await?;
                    let mut lapse = None;
                    if let Some(customer) = customer.as_mut() {
                        customer.standing.remove(order_id);
                        let latest = customer.latest_standing().map(|(id, at)| (id.clone(), at));
                        let since = match &latest {
                            Some((_, at)) => Some(*at),
                            None if customer.signed_up => {
                                Some(customer.profile.signed_up_at.unwrap_or(customer.profile_at))
                            }
                            None => None,
                        };
                        lapse = since.map(|since| self.lapse_from(customer, latest.as_ref().map(|(id, _)| id), since));
                    }
                    let follow_ups: Vec<FollowUp> = lapse.into_iter().collect();
                    out.extend(follow_ups.iter().map(Outcome::scheduled));
                    let changes = Changes {
                        order: Some(&record),
                        customer: customer.as_ref(),
                        follow_ups: &follow_ups,
                        ..Changes::default()
                    };
                    let known = record.known_with(customer.as_ref());
                    let sent = self.save_and_attempt(changes, cancellation, known).await;
                    // Only once the cancellation is recorded (a refused write is handled again).
                    if !matches!(sent, Err(EngineError::Store(_))) {
                        self.count_purchases(&record.order, -1).await;
                    }
                    out.push(sent?);
                } else {
                    out.push(self.attempt(cancellation, false, record.known()).await?);
                }
            }
            Event::OrderShipped(shipped) => {
                out = self.shipped(record, shipped, at).await?;
                // Scans that arrived before the shipment announcement can be handled now.
                release = Some((order_id.clone(), held));
            }
            Event::ShipmentUpdated(update) => match self.shipment_updated(record, update, at).await? {
                Some(outcomes) => out = outcomes,
                None => {
                    let held = self
                        .hold(order_id, event, Awaiting::Shipment(&update.shipment_id))
                        .await?;
                    return Ok((vec![held], None));
                }
            },
            Event::OrderDelivered(delivered) => out = self.delivered(record, delivered, at).await?,
            Event::ReviewSubmitted(_) if record.reviewed_at.is_none() => {
                record.reviewed_at = Some(at);
                store
                    .save_together(&Changes {
                        order: Some(&record),
                        ..Changes::default()
                    })
                    .await?;
            }
            _ => {}
        }
        Ok((out, release))
    }

    async fn cart_updated(&self, cart: &Cart, at: Timestamp) -> Result<Vec<Outcome>, EngineError> {
        let store = &self.ports.store;
        let mut out = Vec::new();
        if self
            .upsert_customer(&cart.customer, at, false, Some(&cart.id), &mut out)
            .await?
            .is_none()
        {
            return Ok(out);
        }
        let known = store.cart(&cart.id).await?;
        if let Some(known) = &known {
            if known.cart.updated_at > cart.updated_at {
                out.push(Outcome::Ignored {
                    reason: format!(
                        "cart {} update of {} is older than the one kept",
                        cart.id, cart.updated_at
                    ),
                });
                return Ok(out);
            }
        }
        let ordered_at = known
            .and_then(|k| k.ordered_at)
            .filter(|ordered| *ordered >= cart.updated_at);
        let saved = store
            .save_cart(&CartRecord {
                cart: cart.clone(),
                ordered_at,
            })
            .await?;
        if !saved {
            out.push(Outcome::Ignored {
                reason: format!("cart {} changed again meanwhile; the newer version is kept", cart.id),
            });
            return Ok(out);
        }
        if cart.items.is_empty() || ordered_at.is_some() {
            return Ok(out);
        }
        let timing = &self.config.timing;
        let version = cart.updated_at.to_string();
        for (nth, delay) in [
            (1u8, timing.cart_reminder_1_after_hours),
            (2, timing.cart_reminder_2_after_hours),
        ] {
            let key = MessageKey::new(
                MessageKind::CartReminder,
                cart.id.as_str(),
                &[&version, &nth.to_string()],
            );
            let subject = Subject::Cart {
                cart_id: cart.id.clone(),
                updated_at: cart.updated_at,
                nth,
            };
            let mut follow_up = self.follow_up(key, &cart.customer.id, subject, at + hours(delay));
            follow_up.expires_at = at + hours(timing.cart_reminder_expiry_hours);
            out.extend(self.schedule(follow_up).await?);
        }
        Ok(out)
    }

    /// A message due at `due`, expiring after the configured grace period.
    fn follow_up(&self, key: MessageKey, customer: &CustomerId, subject: Subject, due: Timestamp) -> FollowUp {
        FollowUp {
            key,
            customer_id: customer.clone(),
            subject,
            due_at: due,
            original_due: due,
            expires_at: due + hours(self.config.timing.marketing_expiry_hours),
        }
    }

    /// Stores a follow-up unless it is already waiting (a redelivered event must not move it back).
    async fn schedule(&self, follow_up: FollowUp) -> Result<Option<Outcome>, EngineError> {
        if !self.ports.store.add_follow_up(&follow_up).await? {
            return Ok(None);
        }
        Ok(Some(Outcome::Scheduled {
            key: follow_up.key,
            due: follow_up.due_at,
        }))
    }

    /// Drops a message for good, forgetting its follow-up if one was stored.
    async fn skip(
        &self,
        follow_up: &FollowUp,
        stored: bool,
        reason: impl Into<String>,
    ) -> Result<Outcome, EngineError> {
        if stored {
            self.ports.store.remove_follow_up(&follow_up.key).await?;
        }
        Ok(Outcome::Skipped {
            key: follow_up.key.clone(),
            reason: reason.into(),
        })
    }

    /// Moves a message to `slot` (re-checked then), or drops it when that is past its expiry.
    async fn defer(&self, mut follow_up: FollowUp, stored: bool, slot: Timestamp) -> Result<Outcome, EngineError> {
        if slot > follow_up.expires_at {
            let reason = format!("next allowed slot {slot} is past its expiry {}", follow_up.expires_at);
            return self.skip(&follow_up, stored, reason).await;
        }
        follow_up.due_at = slot;
        self.ports.store.schedule(&follow_up).await?;
        Ok(Outcome::Deferred {
            key: follow_up.key,
            until: slot,
        })
    }

    /// Re-checks, gates (suppression, consent, quiet hours, cap), claims, renders and sends one message.
    async fn attempt(&self, follow_up: FollowUp, stored: bool, known: KnownRecords) -> Result<Outcome, EngineError> {
        let composition = self.compose(follow_up, stored, known).await?;
        self.finish(composition, None).await
    }

    /// Sends a composed message given the outcome of its claim, taken with the caller's writes
    /// (`None`: not taken yet, so it is taken now).
    async fn finish(&self, composition: Composition, claimed: Option<ClaimOutcome>) -> Result<Outcome, EngineError> {
        match composition {
            Composition::Settled(outcome) => Ok(outcome),
            Composition::Ready(composed) => {
                let claimed = match claimed {
                    Some(claimed) => claimed,
                    None => self.ports.store.claim_message(&composed.claim).await?,
                };
                self.deliver(*composed, claimed).await
            }
        }
    }

    /// Sends a message whose claim is taken in the same write as `changes` (one transaction).
    async fn save_and_attempt(
        &self,
        changes: Changes<'_>,
        follow_up: FollowUp,
        known: KnownRecords,
    ) -> Result<Outcome, EngineError> {
        let composition = self.compose(follow_up, false, known).await?;
        let claimed = self
            .ports
            .store
            .save_together(&Changes {
                claim: composition.claim(),
                ..changes
            })
            .await?;
        self.finish(composition, claimed).await
    }

    /// Re-checks and gates a message (suppression aside, which the claim checks), then renders it.
    async fn compose(
        &self,
        follow_up: FollowUp,
        stored: bool,
        known: KnownRecords,
    ) -> Result<Composition, EngineError> {
        let store = &self.ports.store;
        let now = self.ports.clock.now();
        let key = follow_up.key.clone();
        let kind = key.kind();
        let marketing = kind.category() == Category::Marketing;

        if now > follow_up.expires_at {
            return self
                .skip(&follow_up, stored, format!("expired at {}", follow_up.expires_at))
                .await
                .map(Composition::Settled);
        }
        let ready = match self.prepare(&follow_up, known).await? {
            Prepared::Ready(ready) => ready,
            Prepared::Skip(reason) => return self.skip(&follow_up, stored, reason).await.map(Composition::Settled),
            Prepared::Postpone(until) => {
                let postponed = self.follow_up(key.clone(), &follow_up.customer_id, follow_up.subject.clone(), until);
                self.ports.store.schedule(&postponed).await?;
                return Ok(Composition::Settled(Outcome::Deferred { key, until }));
            }
        };
        let profile = &ready.customer.profile;
        let Some(to) = profile.email.deliverable() else {
            let reason = "the address is not one SES can deliver (stored by an earlier release)";
            return self.skip(&follow_up, stored, reason).await.map(Composition::Settled);
        };
        let tags: Vec<&str> = profile.tags.iter().map(|t| t.as_str().trim()).collect();
        if let Some(reason) = self.config.kinds.get(&kind).and_then(|rule| rule.excludes(&tags)) {
            return self.skip(&follow_up, stored, reason).await.map(Composition::Settled);
        }
        let zone = profile.time_zone.as_ref().unwrap_or(&self.config.defaults.time_zone);
        let consent = self.marketing_consent(&ready.customer);
        if marketing {
            if consent.is_none() {
                return self
                    .skip(&follow_up, stored, "no marketing consent")
                    .await
                    .map(Composition::Settled);
            }
            let last = store
                .last_marketing(&profile.id)
                .await?
                .filter(|last| last.key != key)
                .map(|last| last.at);
            let slot = next_slot(now, zone.tz(), &self.config.marketing, last, self.config.cap_window());
            if slot > now {
                return self.defer(follow_up, stored, slot).await.map(Composition::Settled);
            }
        }

        let coupon = ready.coupon.and_then(|currency| {
            let rule = self
                .config
                .coupons
                .for_kind(kind)?
                .in_currency(currency, self.config.defaults.currency)?;
            Some(Coupon::issue(&rule, &key, currency, now, &self.keys))
        });
        let unsubscribe = marketing.then(|| {
            let token = self.keys.unsubscribe_token(&profile.id, "marketing", now);
            let url = self.config.sender.unsubscribe_link(&token);
            let mailto = format!(
                "mailto:{}?subject=unsubscribe%20{token}",
                self.config.sender.unsubscribe_mailto.as_str()
            );
            (url, mailto)
        });
        let confirm_url = (kind == MessageKind::SubscriptionConfirmation).then(|| {
            let token = self.keys.unsubscribe_token(&profile.id, CONFIRM_SCOPE, now);
            self.config.sender.unsubscribe_link(&token)
        });
        let locale = profile.locale.as_ref().unwrap_or(&self.config.defaults.locale);
        let first_order = ready.order.as_ref().is_some_and(|o| o.first_order);
        let draft = Draft {
            kind,
            customer: profile,
            locale,
            zone,
            order: ready.order.as_ref(),
            shipment: ready.shipment.as_ref().map(|(record, scan)| (record, scan.as_ref())),
            cart: ready.cart.as_ref().map(|(cart, nth)| (cart, *nth)),
            coupon: coupon.as_ref(),
            recommendations: &ready.recommendations,
            first_order,
            repeat_buyer: ready.order.is_some() && !first_order,
            count: ready.count,
            now,
            unsubscribe_url: unsubscribe.as_ref().map(|(url, _)| url.as_str()),
            confirm_url: confirm_url.as_deref(),
        };
        let rendered = self.renderer.render(&draft).map_err(|source| EngineError::Render {
            key: key.clone(),
            source,
        })?;
        let to_name = rendered.recipient.as_deref();
        let raw = mime::build(
            &Envelope {
                from_name: self.config.sender.from_name.as_str(),
                from: &self.config.sender.from_address,
                reply_to: &self.config.sender.reply_to,
                to: &to,
                to_name,
                key: &key,
                date: now,
                unsubscribe: unsubscribe.as_ref().map(|(url, mailto)| (url.as_str(), mailto.clone())),
            },
            &rendered,
        );

        let email = OutgoingEmail {
            key: key.clone(),
            kind,
            category: kind.category(),
            to: to.clone(),
            from: self.config.sender.from_address.clone(),
            customer_id: profile.id.clone(),
            order_id: ready.order.as_ref().map(|o| o.order.id.clone()),
            cart_id: ready.cart.as_ref().map(|(cart, _)| cart.id.clone()),
            locale: rendered.locale.clone(),
            subject: rendered.subject.clone(),
            at: now,
            raw,
        };
        let claim = Claim {
            key: key.clone(),
            customer_id: profile.id.clone(),
            to: to.clone(),
            at: now,
            lease: CLAIM_LEASE,
            cap: marketing.then(|| self.config.cap_window()),
            consent: if marketing { consent } else { None },
            // A coupon is announced between the claim and the send; a crash there must leave the
            // claim to be taken over, so only then is `sending` a second step.
            sending: coupon.is_none(),
            coupon: coupon.as_ref().map(|coupon| IssuedCoupon {
                code: coupon.code.clone(),
                key,
                expires_at: coupon.expires_at,
            }),
        };
        Ok(Composition::Ready(Box::new(Composed {
            follow_up,
            stored,
            claim,
            email,
            coupon,
            zone: zone.tz().clone(),
        })))
    }

    /// Acts on the claim of a composed message: sends it when the claim is ours.
    async fn deliver(&self, composed: Composed, claimed: ClaimOutcome) -> Result<Outcome, EngineError> {
        let store = &self.ports.store;
        let Composed {
            follow_up,
            stored,
            claim,
            email,
            coupon,
            zone,
        } = composed;
        let key = claim.key.clone();
        let kind = key.kind();
        let now = claim.at;
        let claimed = match claimed {
            ClaimOutcome::Recoverable { since } => {
                let taken = store.recover_claim(&claim, since).await?;
                if taken == ClaimOutcome::Claimed {
                    // The one place a duplicate is possible, counted: Logs Insights
                    // `filter metric = "recovered_send" | stats count()`.
                    tracing::warn!(message_key = %key.redacted(), kind = %kind, metric = "recovered_send", unanswered_since = %since, "no provider report for an earlier attempt; sending once more");
                }
                taken
            }
            other => other,
        };
        match claimed {
            ClaimOutcome::Claimed => {}
            ClaimOutcome::CapReached { last } => {
                let slot = next_slot(now, &zone, &self.config.marketing, Some(last), self.config.cap_window());
                return self.defer(follow_up, stored, slot).await;
            }
            // Checked with the claim, in the same write (rule 3: nothing to a bounced address).
            ClaimOutcome::Suppressed => {
                return self
                    .skip(&follow_up, stored, "address is suppressed (bounce or complaint)")
                    .await;
            }
            ClaimOutcome::OptedOut => {
                return self
                    .skip(&follow_up, stored, "the address unsubscribed through tidings")
                    .await;
            }
            ClaimOutcome::AlreadySent => return self.skip(&follow_up, stored, "already sent (duplicate)").await,
            ClaimOutcome::AlreadyFailed => return self.skip(&follow_up, stored, "failed permanently before").await,
            // Another invocation is on it. Look again when its lease ends: by then it has sent the
            // message (or SES has reported it), or it died before calling the provider and the
            // claim can be taken over.
            ClaimOutcome::InFlight { until } => return self.defer(follow_up, stored, until).await,
            // Taken back just above, or not: another invocation is on it; look again shortly.
            ClaimOutcome::Recoverable { .. } => return self.defer(follow_up, stored, now + CLAIM_LEASE).await,
            ClaimOutcome::OutcomeUnknown => {
                tracing::error!(message_key = %key.redacted(), "an earlier send got no answer from the provider; not sending again");
                return self
                    .skip(
                        &follow_up,
                        stored,
                        "an earlier attempt may have been accepted (outcome unknown)",
                    )
                    .await;
            }
        }

        if let Some(coupon) = &coupon {
            // The code must exist in the store before the customer can read it.
            let issued = outbound(now, Emitted::CouponIssued(coupon.event(&email.customer_id, &key)));
            if let Err(error) = self.ports.bus.publish(&[issued]).await {
                store.release_claim(&key).await?;
                return Err(error.into());
            }
        }

        if !claim.sending && !store.mark_sending(&key, now).await? {
            return self
                .skip(&follow_up, stored, "claim was taken over before sending")
                .await;
        }
        match self.ports.mailer.send(&email).await {
            Ok(provider_id) => {
                // A provider that reports acceptance itself (SES's `Send` event) settles the claim and
                // announces the send from that report, which survives this process dying now.
                if self.ports.mailer.reports_acceptance(&email) {
                    if stored {
                        store.remove_follow_up(&key).await?;
                    }
                    tracing::debug!(message_key = %key.redacted(), provider_id, "accepted; the provider's report settles it");
                    return Ok(Outcome::Sent { key, at: now });
                }
                store.mark_sent(&key, &provider_id, now).await?;
                if stored {
                    store.remove_follow_up(&key).await?;
                }
                let sent = EmailSent {
                    message_key: key.clone(),
                    kind,
                    category: kind.category(),
                    customer_id: email.customer_id,
                    order_id: email.order_id,
                    cart_id: email.cart_id,
                    ses_message_id: provider_id,
                };
                self.ports
                    .bus
                    .publish(&[outbound(now, Emitted::EmailSent(sent))])
                    .await?;
                Ok(Outcome::Sent { key, at: now })
            }
            Err(SendError::Permanent(reason)) => {
                store.mark_failed(&key, &reason, now).await?;
                if stored {
                    store.remove_follow_up(&key).await?;
                }
                Ok(Outcome::Failed { key, reason })
            }
            // A transactional message is looked at again once SES had time to report it: without
            // a report it is sent once more (`Recoverable`). Marketing is never retried: a second
            // send could be a duplicate, and nobody misses a newsletter. Left `sending` either way.
            Err(SendError::Unknown(reason)) if kind.category() == Category::Transactional => {
                tracing::warn!(message_key = %key.redacted(), reason = %reason, "send outcome unknown; re-checked once SES could have reported it");
                self.defer(follow_up, stored, now + RECOVER_AFTER).await
            }
            Err(SendError::Unknown(reason)) => {
                if stored {
                    store.remove_follow_up(&key).await?;
                }
                tracing::error!(message_key = %key.redacted(), reason = %reason, "send outcome unknown; not retried");
                Ok(Outcome::Failed {
                    key,
                    reason: format!("outcome unknown, not retried: {reason}"),
                })
            }
            Err(SendError::Transient(reason)) => {
                store.release_claim(&key).await?;
                Err(EngineError::SendLater { key, reason })
            }
        }
    }

    /// Re-reads state and checks the kind's exit conditions (rule 2: re-check when firing).
    async fn prepare(&self, follow_up: &FollowUp, known: KnownRecords) -> Result<Prepared, EngineError> {
        let store = &self.ports.store;
        let now = self.ports.clock.now();
        let kind = follow_up.key.kind();
        let skip = |reason: &str| Ok(Prepared::Skip(reason.to_owned()));
        let customer = match known.customer.filter(|c| c.profile.id == follow_up.customer_id) {
            Some(customer) => Some(customer),
            None => store.customer(&follow_up.customer_id).await?,
        };
        let Some(customer) = customer else {
            return skip("customer unknown");
        };
        let mut ready = Ready {
            customer,
            order: None,
            shipment: None,
            cart: None,
            coupon: None,
            recommendations: vec![],
            count: None,
        };
        let marketing_allowed = self.marketing_consent(&ready.customer).is_some();
        let default_currency = self.config.defaults.currency;
        match &follow_up.subject {
            Subject::Customer => {
                if kind == MessageKind::WelcomeOffer && ready.customer.orders_confirmed > 0 {
                    return skip("customer ordered");
                }
                ready.coupon = Some(default_currency);
            }
            Subject::Occasion { year } => {
                let profile = &ready.customer.profile;
                let tz = profile
                    .time_zone
                    .as_ref()
                    .unwrap_or(&self.config.defaults.time_zone)
                    .tz();
                let hour = self.config.timing.occasion_hour;
                let Some(occurrence) = occasion::in_year(kind, profile, tz, hour, *year) else {
                    return skip("the customer no longer has this date");
                };
                if occurrence.date != follow_up.original_due.to_zoned_datetime(tz.clone()).date() {
                    return skip("the date changed (the new one is scheduled)");
                }
                if kind == MessageKind::SignupAnniversary {
                    let signed_up = profile.signed_up_at.map(|t| t.to_zoned_datetime(tz.clone()).year());
                    ready.count = signed_up.and_then(|first| u32::try_from(year - first).ok());
                }
                ready.coupon = Some(default_currency);
            }
            Subject::Lapse {
                order_id,
                since,
                orders,
            } => {
                if ready.customer.orders_confirmed > *orders {
                    return skip("customer ordered since");
                }
                if order_id.is_some() && ready.customer.latest_standing().map(|(id, _)| id) != order_id.as_ref() {
                    return skip("a later order started a new lapse");
                }
                let mut currency = default_currency;
                // The quiet period runs from the order, or a later click; a made-to-order order
                // counts from its delivery (or its expected wait), which can be weeks later.
                let mut active = *since;
                if let Some(order_id) = order_id {
                    match store.order(order_id).await? {
                        Some(order) if order.cancelled.is_none() => {
                            currency = order.order.currency;
                            if let Some(days) = order.order.lead_time_days {
                                let wait = hours(24 * i64::from(days));
                                let made = order.confirmed_at.checked_add(wait).unwrap_or(active);
                                active = active.max(order.delivered_at.unwrap_or(made));
                            }
                        }
                        _ => return skip("the order the lapse counts from was cancelled"),
                    }
                }
                let clicks = store.engagement(&follow_up.customer_id).await?.click_times;
                if let Some(last) = clicks.iter().filter(|t| *t > since).max() {
                    active = active.max(*last);
                }
                let window = hours(24 * i64::from(self.config.timing.win_back_after_days));
                if active + window > now {
                    // Still one win-back per lapse: the same key waits for a fresh quiet period.
                    return Ok(Prepared::Postpone(active + window));
                }
                let stats = store.product_stats().await?;
                let c = &ready.customer;
                ready.recommendations = recommend(&stats, &[], &c.purchased, &c.categories, currency);
                ready.coupon = Some(currency);
            }
            Subject::Order { order_id }
            | Subject::Shipment { order_id, .. }
            | Subject::Progress { order_id, .. }
            | Subject::Stall { order_id, .. }
            | Subject::Milestone { order_id, .. } => {
                let order = match known.order.filter(|o| &o.order.id == order_id) {
                    Some(order) => Some(order),
                    None => store.order(order_id).await?,
                };
                let Some(order) = order else {
                    return skip("order unknown");
                };
                let currency = order.order.currency;
                match (kind, &follow_up.subject) {
                    // One parcel of several: no coupon, no recommendations (the order's own
                    // confirmation brings them once everything arrived).
                    (MessageKind::DeliveryConfirmation, Subject::Shipment { .. }) => {}
                    (
                        MessageKind::ShippingConfirmation | MessageKind::ShipmentUpdate,
                        Subject::Shipment { shipment_id, .. },
                    ) if order.parcel_delivered(shipment_id) => {
                        return skip("the parcel was delivered already");
                    }
                    (MessageKind::CrossSell | MessageKind::DeliveryConfirmation, _) => {
                        if kind == MessageKind::CrossSell && order.cancelled.is_some() {
                            return skip("order cancelled");
                        }
                        // Recommendations are marketing content: a delivery confirmation shows them only with consent.
                        if kind == MessageKind::CrossSell || marketing_allowed {
                            let stats = store.product_stats().await?;
                            let bought: Vec<ProductId> =
                                order.order.items.iter().map(|i| i.product_id.clone()).collect();
                            let c = &ready.customer;
                            ready.recommendations = recommend(&stats, &bought, &c.purchased, &c.categories, currency);
                        }
                        if kind == MessageKind::CrossSell && ready.recommendations.is_empty() {
                            return skip("no recommendation available");
                        }
                        // On a loyalty milestone the reward's coupon replaces the thank-you coupon.
                        let every = self.config.timing.loyalty_every_orders;
                        let delivered = ready.customer.orders_delivered;
                        let milestone = self.config.coupons.loyalty_reward.is_some()
                            && delivered > 0
                            && delivered % every == 0
                            && order.delivered_at.is_some();
                        if kind == MessageKind::DeliveryConfirmation && marketing_allowed && !milestone {
                            ready.coupon = Some(currency);
                        }
                    }
                    (MessageKind::ReviewRequest, _) => {
                        if order.reviewed_at.is_some() {
                            return skip("review already submitted");
                        }
                        if order.cancelled.is_some() || order.returned {
                            return skip("order cancelled or returned");
                        }
                    }
                    (MessageKind::OrderProgress, Subject::Progress { nth, .. }) => {
                        if order.cancelled.is_some() {
                            return skip("order cancelled");
                        }
                        if !order.shipments.is_empty() || order.delivered_at.is_some() {
                            return skip("order shipped");
                        }
                        ready.count = Some(*nth);
                    }
                    (MessageKind::ShipmentStalled, Subject::Stall { shipment_id, scans, .. }) => {
                        if order.cancelled.is_some() || order.parcel_delivered(shipment_id) || order.returned {
                            return skip("parcel delivered, order cancelled or returned");
                        }
                        let Some(shipment) = order.shipment(shipment_id).cloned() else {
                            return skip("shipment unknown");
                        };
                        if shipment.scans.len() != usize::try_from(*scans).unwrap_or(usize::MAX) {
                            return skip("the carrier scanned the shipment since");
                        }
                        ready.count = Some(self.config.timing.shipment_stalled_after_days);
                        ready.shipment = Some((shipment, None));
                    }
                    (MessageKind::LoyaltyReward, Subject::Milestone { count, .. }) => {
                        ready.count = Some(*count);
                        ready.coupon = Some(currency);
                    }
                    _ => {}
                }
                if let Subject::Shipment {
                    shipment_id, status, ..
                } = &follow_up.subject
                {
                    let Some(shipment) = order.shipment(shipment_id).cloned() else {
                        return skip("shipment unknown");
                    };
                    let scan =
                        status.and_then(|status| shipment.scans.iter().rev().find(|s| s.status == status).cloned());
                    ready.shipment = Some((shipment, scan));
                }
                ready.order = Some(order);
            }
            Subject::Cart {
                cart_id,
                updated_at,
                nth,
            } => {
                let Some(cart) = store.cart(cart_id).await? else {
                    return skip("cart unknown");
                };
                if cart.cart.updated_at != *updated_at {
                    return skip("cart updated again (a newer reminder replaces this one)");
                }
                if cart.cart.items.is_empty() {
                    return skip("cart emptied");
                }
                if cart.ordered_at.is_some_and(|ordered| ordered >= cart.cart.updated_at) {
                    return skip("cart was bought");
                }
                if ready
                    .customer
                    .last_order_at
                    .is_some_and(|ordered| ordered >= *updated_at)
                {
                    return skip("customer ordered after the cart update");
                }
                if *nth == 2 {
                    ready.coupon = Some(cart.cart.currency);
                }
                ready.cart = Some((cart.cart, *nth));
            }
        }
        Ok(Prepared::Ready(Box::new(ready)))
    }
}

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
            tracing::info!(message_key = %key.redacted(), kind = %key.kind(), outcome = "deferred", %until, trigger, "moved by quiet hours or the frequency cap")
        }
        Outcome::Skipped { key, reason } => {
            tracing::info!(message_key = %key.redacted(), kind = %key.kind(), outcome = "skipped", reason = %Redacted(reason), trigger, "not sent")
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

/// Masks an address for logs (re-exported for adapters).
pub fn masked(address: &EmailAddress) -> String {
    address.masked().to_string()
}
