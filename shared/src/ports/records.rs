//! What the store keeps about customers, orders, shipments, carts and follow-ups, as the engine
//! reads and writes it.

use crate::domain::{
    Cart, CartId, Customer, CustomerId, Order, OrderId, ProductId, Shipment, ShipmentId, ShipmentStatus, Text,
};
use crate::message::{MessageKey, MessageKind};
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

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
    /// Since when its coupon's code could not be created in the store (a transactional message
    /// goes without the coupon once it has waited `COUPON_WAIT`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub coupon_waiting_since: Option<Timestamp>,
}

impl Subject {
    /// The shipment it is about, if any.
    pub fn shipment_id(&self) -> Option<&ShipmentId> {
        match self {
            Self::Shipment { shipment_id, .. } | Self::Stall { shipment_id, .. } => Some(shipment_id),
            _ => None,
        }
    }
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
