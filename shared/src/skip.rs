//! Why a message was not sent, as data: tests and callers match the variant, logs and `replay -v`
//! show its text (which names no customer).

use jiff::Timestamp;
use std::fmt;

/// Why a message was dropped for good.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SkipReason {
    // What it is about is gone.
    /// The customer is not (or no longer) known.
    CustomerUnknown,
    /// The order is not known.
    OrderUnknown,
    /// The shipment is not part of the order (any more).
    ShipmentUnknown,
    /// The cart is not known.
    CartUnknown,

    // The kind's exit conditions (kinds/).
    /// The customer ordered before the offer was due (welcome offer).
    CustomerOrdered,
    /// The customer ordered since the lapse began (win-back).
    OrderedSince,
    /// A later order started a new lapse, with its own win-back.
    NewerLapse,
    /// The order a lapse counts from was cancelled.
    LapseOrderCancelled,
    /// The customer no longer has the birthday or signup date.
    OccasionGone,
    /// The date changed; the new one is scheduled.
    OccasionMoved,
    /// A parcel's shipping news after it was delivered.
    ParcelDelivered,
    /// The order was cancelled.
    OrderCancelled,
    /// Nothing to recommend (cross-sell).
    NoRecommendation,
    /// The customer reviewed the order already.
    Reviewed,
    /// The order was cancelled or returned.
    CancelledOrReturned,
    /// A progress update for an order that shipped.
    OrderShipped,
    /// A stalled-parcel note for a parcel that was delivered, or an order cancelled or returned.
    StallEnded,
    /// The carrier scanned the parcel since the wait began.
    ScannedSince,
    /// The cart changed; a newer reminder replaces this one.
    CartUpdated,
    /// The cart is empty.
    CartEmptied,
    /// The cart was bought.
    CartBought,
    /// The customer ordered after the cart's last update.
    OrderedAfterCart,

    // The gates every message passes.
    /// Due after its expiry.
    Expired {
        /// When it expired.
        at: Timestamp,
    },
    /// Quiet hours or the cap moved it past its expiry.
    PastExpiry {
        /// The next allowed slot.
        slot: Timestamp,
        /// Its expiry.
        expires: Timestamp,
    },
    /// The stored address is not one SES can deliver.
    Undeliverable,
    /// `[kinds.<kind>] enabled = false`.
    TurnedOff,
    /// The customer carries a tag the kind skips.
    SkippedTag(String),
    /// The customer has none of the tags the kind is for.
    NoneOfTags(Vec<String>),
    /// Marketing without consent.
    NoConsent,
    /// The customer is in the kind's holdout group (`[kinds.<kind>] holdout`): recorded as held out
    /// (`EmailHeldOut`) when they would have received it.
    HeldOut,
    /// A marketing follow-up the customer's unsubscribe cancelled.
    Unsubscribed,
    /// The address bounced or complained.
    Suppressed,
    /// The address unsubscribed through tidings.
    OptedOut,

    // The send ledger.
    /// Sent before: a duplicate.
    AlreadySent,
    /// Rejected for good before.
    AlreadyFailed,
    /// An earlier attempt got no answer: it may have been accepted.
    OutcomeUnknown,
    /// Another invocation took the claim over before this one sent.
    TakenOver,
    /// The store refused to create the marketing message's coupon code (a message that offers it
    /// is not sent without it, nor with a code that does not exist).
    CouponRefused,
}

impl fmt::Display for SkipReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = match self {
            Self::CustomerUnknown => "customer unknown",
            Self::OrderUnknown => "order unknown",
            Self::ShipmentUnknown => "shipment unknown",
            Self::CartUnknown => "cart unknown",
            Self::CustomerOrdered => "customer ordered",
            Self::OrderedSince => "customer ordered since",
            Self::NewerLapse => "a later order started a new lapse",
            Self::LapseOrderCancelled => "the order the lapse counts from was cancelled",
            Self::OccasionGone => "the customer no longer has this date",
            Self::OccasionMoved => "the date changed (the new one is scheduled)",
            Self::ParcelDelivered => "the parcel was delivered already",
            Self::OrderCancelled => "order cancelled",
            Self::NoRecommendation => "no recommendation available",
            Self::Reviewed => "review already submitted",
            Self::CancelledOrReturned => "order cancelled or returned",
            Self::OrderShipped => "order shipped",
            Self::StallEnded => "parcel delivered, order cancelled or returned",
            Self::ScannedSince => "the carrier scanned the shipment since",
            Self::CartUpdated => "cart updated again (a newer reminder replaces this one)",
            Self::CartEmptied => "cart emptied",
            Self::CartBought => "cart was bought",
            Self::OrderedAfterCart => "customer ordered after the cart update",
            Self::Expired { at } => return write!(f, "expired at {at}"),
            Self::PastExpiry { slot, expires } => {
                return write!(f, "next allowed slot {slot} is past its expiry {expires}");
            }
            Self::Undeliverable => "the address is not one SES can deliver (stored by an earlier release)",
            Self::TurnedOff => "turned off in the store configuration",
            Self::SkippedTag(tag) => return write!(f, "customer is tagged '{tag}', which this kind skips"),
            Self::NoneOfTags(tags) => return write!(f, "customer has none of the tags {tags:?}"),
            Self::NoConsent => "no marketing consent",
            Self::HeldOut => "held out: in this kind's holdout group (recorded for its report)",
            Self::Unsubscribed => "cancelled: the customer unsubscribed",
            Self::Suppressed => "address is suppressed (bounce or complaint)",
            Self::OptedOut => "the address unsubscribed through tidings",
            Self::AlreadySent => "already sent (duplicate)",
            Self::AlreadyFailed => "failed permanently before",
            Self::OutcomeUnknown => "an earlier attempt may have been accepted (outcome unknown)",
            Self::TakenOver => "claim was taken over before sending",
            Self::CouponRefused => "the store refused to create its coupon code",
        };
        f.write_str(text)
    }
}
