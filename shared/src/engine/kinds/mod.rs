//! The behaviour of each message kind, one module per kind (`win_back.rs` for `win_back`): what
//! schedules it and when, what stops it when it is due, and what it shows. The list of kinds
//! itself is `message::for_each_kind!`; this module finds each kind's module by its name, so
//! nothing else in the engine matches on a kind.

use crate::config::{ConfigError, StoreConfig, Timing};
use crate::domain::{Currency, Customer};
use crate::message::MessageKind;
use crate::ports::{CartRecord, CustomerRecord, OrderRecord, ShipmentRecord, Subject};
use crate::render::Shows;
use crate::skip::SkipReason;
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp};

/// What one kind is and does.
pub(crate) struct Spec {
    /// What schedules it, and the engine module that does (for readers; the table in docs).
    pub trigger: &'static str,
    /// When it is due, and the setting that says so.
    pub timing: &'static str,
    /// Exit conditions on the customer alone, checked before anything else is read for the
    /// message (a win-back ended by a later order costs no read of the order or the clicks).
    pub stands: fn(&CustomerRecord, &Subject) -> Option<SkipReason>,
    /// Re-checked when it is due (rule 2): send with what content, skip, or wait longer.
    pub exits: fn(&Due<'_>) -> Verdict,
    /// What the template shows beyond its subject.
    pub shows: Shows,
    /// It may carry a coupon (`[coupons.<kind>]`); its exits say when.
    pub coupon: bool,
    /// It confirms a double opt-in subscription (carries the confirmation link).
    pub confirms_subscription: bool,
    /// A yearly occasion: the month and day it falls on, and the first year it can.
    pub occasion: Option<fn(&Customer, &TimeZone) -> Option<Anchor>>,
    /// A follow-up of a lifecycle moment: scheduled by the engine at that moment, about the
    /// moment's subject, keyed `<kind>#<subject id>`. Kinds with a trigger of their own (a parcel,
    /// a cart, a lapse, a milestone) leave this unset and say in `trigger` where they are made.
    pub after: Option<After>,
}

/// A lifecycle moment a kind can follow.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Moment {
    /// An order was confirmed for the first time (subject: the order).
    OrderConfirmed,
    /// An order arrived in full for the first time (subject: the order).
    OrderDelivered,
    /// A customer signed up (subject: the customer).
    SignedUp,
}

/// When a kind follows its moment.
pub(crate) struct After {
    /// The moment.
    pub moment: Moment,
    /// How long after it, from the store's settings.
    pub delay: fn(&Timing) -> SignedDuration,
}

/// The kinds that follow `moment`, each with its delay, in the registry's order.
pub(crate) fn following(moment: Moment, timing: &Timing) -> impl Iterator<Item = (MessageKind, SignedDuration)> + '_ {
    MessageKind::ALL.iter().filter_map(move |kind| {
        let after = spec(*kind).after.as_ref()?;
        (after.moment == moment).then(|| (*kind, (after.delay)(timing)))
    })
}

impl Spec {
    /// A kind with no exit conditions and nothing special to show.
    pub(crate) const PLAIN: Spec = Spec {
        trigger: "",
        timing: "",
        stands: |_, _| None,
        exits: send_plain,
        shows: Shows::PLAIN,
        coupon: false,
        confirms_subscription: false,
        occasion: None,
        after: None,
    };
}

fn send_plain(_: &Due<'_>) -> Verdict {
    Verdict::Send(Content::default())
}

/// Sent as it is, with its kind's coupon (if the store configured one) in the default currency.
fn with_coupon(due: &Due<'_>) -> Verdict {
    Verdict::Send(Content {
        coupon: Some(due.default_currency()),
        ..Content::default()
    })
}

/// A yearly occasion's month and day, and the first year it can fall in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Anchor {
    /// Month, 1-12.
    pub month: i8,
    /// Day of the month.
    pub day: i8,
    /// No occurrence before this year (an anniversary starts the year after the signup).
    pub first_year: Option<i16>,
}

/// A message that has come due, with the state re-read for it.
pub(crate) struct Due<'a> {
    /// What it is about.
    pub subject: &'a Subject,
    /// The recipient.
    pub customer: &'a CustomerRecord,
    /// The subject's order (a lapse's order when it still exists).
    pub order: Option<&'a OrderRecord>,
    /// The subject's shipment, when the order still has it.
    pub shipment: Option<&'a ShipmentRecord>,
    /// The subject's cart.
    pub cart: Option<&'a CartRecord>,
    /// The customer's click times, all of them (read for lapses only).
    pub clicks: &'a [Timestamp],
    /// The customer may get marketing.
    pub marketing_allowed: bool,
    /// The store's settings.
    pub config: &'a StoreConfig,
    /// The customer's time zone.
    pub zone: &'a TimeZone,
    /// Now.
    pub now: Timestamp,
}

impl Due<'_> {
    /// The store's default currency.
    pub fn default_currency(&self) -> Currency {
        self.config.defaults.currency
    }
}

/// What a due message does.
pub(crate) enum Verdict {
    /// Goes out, with this content.
    Send(Content),
    /// Dropped for good.
    Skip(SkipReason),
    /// Not yet: a fresh wait until then (a click restarted a win-back's quiet period).
    Postpone(Timestamp),
}

impl From<SkipReason> for Verdict {
    fn from(reason: SkipReason) -> Self {
        Self::Skip(reason)
    }
}

/// What a message shows besides its subject.
#[derive(Default)]
pub(crate) struct Content {
    /// It may carry its kind's coupon, in this currency.
    pub coupon: Option<Currency>,
    /// The number it is about (delivered orders, years, days without a scan, update number).
    pub count: Option<u32>,
    /// It shows recommendations.
    pub recommend: Option<Recommend>,
}

/// Which recommendations a message shows.
pub(crate) struct Recommend {
    /// Priced in.
    pub currency: Currency,
    /// Bought together with the order's items (otherwise from the customer's history alone).
    pub with_order: bool,
    /// Without any the message is not sent (cross-sell).
    pub required: bool,
}

/// What schedules a kind and when it goes out, in words (`tidings kinds`).
#[derive(Clone, Copy, Debug)]
pub struct About {
    /// What schedules it, and the engine module that does.
    pub trigger: &'static str,
    /// When it is due, and the setting that says so.
    pub timing: &'static str,
}

/// What schedules `kind` and when it goes out.
pub fn about(kind: MessageKind) -> About {
    let spec = spec(kind);
    About {
        trigger: spec.trigger,
        timing: spec.timing,
    }
}

/// The store's coupon rules name only kinds that carry a coupon (a rule for another kind would
/// silently never be used).
pub fn check_coupons(config: &StoreConfig) -> Result<(), ConfigError> {
    match config.coupons.iter().find(|(kind, _)| !spec(*kind).coupon) {
        Some((kind, _)) => Err(ConfigError {
            field: format!("coupons.{kind}"),
            reason: format!("{kind} never carries a coupon"),
        }),
        None => Ok(()),
    }
}

macro_rules! specs {
    ($($variant:ident => $module:ident, $category:ident, $step:ident;)*) => {
        $(mod $module;)*

        /// The behaviour of `kind`.
        pub(crate) fn spec(kind: MessageKind) -> &'static Spec {
            match kind {
                $(MessageKind::$variant => &$module::SPEC,)*
            }
        }
    };
}

crate::message::for_each_kind!(specs);

/// A customer and a due message about them, for the kinds' unit tests.
#[cfg(test)]
pub(super) mod test_support {
    use super::*;

    /// A signed-up customer with marketing consent, known since `signed_up`.
    pub fn customer(signed_up: &str) -> CustomerRecord {
        let at: Timestamp = signed_up.parse().expect("time");
        let profile = Customer {
            signed_up_at: Some(at),
            marketing_consent: Some(true),
            ..Customer::bare("c-1", "a@example.com")
        };
        crate::engine::customer::merge(None, &profile, at, true, false)
    }

    /// The verdict of `kind` on `subject` at `now`, with `clicks`.
    pub fn verdict(
        kind: MessageKind,
        subject: &Subject,
        customer: &CustomerRecord,
        clicks: &[Timestamp],
        now: &str,
    ) -> Verdict {
        let config = StoreConfig::sample();
        let due = Due {
            subject,
            customer,
            order: None,
            shipment: None,
            cart: None,
            clicks,
            marketing_allowed: true,
            config: &config,
            zone: &TimeZone::UTC,
            now: now.parse().expect("time"),
        };
        let spec = spec(kind);
        match (spec.stands)(customer, subject) {
            Some(reason) => Verdict::Skip(reason),
            None => (spec.exits)(&due),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_says_what_schedules_it_and_when() {
        for kind in MessageKind::ALL {
            let about = about(*kind);
            assert!(!about.trigger.is_empty(), "{kind} names no trigger");
            assert!(!about.timing.is_empty(), "{kind} names no timing");
        }
    }

    #[test]
    fn a_coupon_rule_for_a_kind_that_never_carries_one_is_refused() {
        let config = StoreConfig::sample();
        assert_eq!(check_coupons(&config), Ok(()));
        // A receipt stays transactional; the welcome's template has no coupon block.
        for kind in ["order_confirmation", "welcome", "subscription_confirmation"] {
            let text = crate::config::SAMPLE_CONFIG.to_owned()
                + &format!(
                    "\n[coupons.{kind}]\nprefix = \"HI\"\ntype = \"percent\"\npercent_off = 5\nvalid_days = 9\n"
                );
            let config = StoreConfig::from_toml(&text).expect("parses");
            let error = check_coupons(&config).expect_err("refused");
            assert_eq!(error.field, format!("coupons.{kind}"));
        }
    }
}
