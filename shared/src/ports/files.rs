//! What one store call reads or writes together (a customer with its erasure markers, an order
//! with its held events, an order's changes in one transaction), and the hashed keys of markers.

use super::{Claim, ClaimOutcome, CustomerRecord, FollowUp, IssuedCoupon, OrderRecord};
use crate::domain::{CustomerId, EmailAddress, OrderId, ShipmentId};
use crate::event::InboundEvent;
use crate::message::MessageKey;
use jiff::Timestamp;

/// A customer as stored, read together with what an event about them must be checked against.
#[derive(Clone, Debug, Default)]
pub struct CustomerFile {
    /// The customer, if known.
    pub record: Option<CustomerRecord>,
    /// The latest erasure of this customer id or of this address.
    pub erased_at: Option<Timestamp>,
    /// The message that issued the coupon code asked for.
    pub coupon: Option<IssuedCoupon>,
    /// The record of the guest id asked for (the customer's address as a guest, or their
    /// imported past orders), read in the same call.
    pub address_history: Option<CustomerRecord>,
    /// The customer's report ledger and its version, read in the same call, so that counting
    /// their order in the report costs one write (`Tallies::count`).
    pub ledger: (crate::report::Ledger, u64),
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
