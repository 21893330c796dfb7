//! Merging what events say about a customer: the most recent statement by event time wins.

use crate::domain::Customer;
use crate::ports::{Consent, ConsentSource, CustomerRecord};
use jiff::Timestamp;

/// A customer as an order or cart embeds them, with what it leaves out taken from the known
/// profile: it fills in, it does not erase (the id, address and consent are its own).
pub fn fill_in(embedded: &Customer, known: &Customer) -> Customer {
    let mut filled = embedded.clone();
    filled.first_name = filled.first_name.or_else(|| known.first_name.clone());
    filled.last_name = filled.last_name.or_else(|| known.last_name.clone());
    filled.locale = filled.locale.or_else(|| known.locale.clone());
    filled.country = filled.country.or_else(|| known.country.clone());
    filled.time_zone = filled.time_zone.or_else(|| known.time_zone.clone());
    filled.birthday = filled.birthday.or(known.birthday);
    filled.signed_up_at = filled.signed_up_at.or(known.signed_up_at);
    if filled.tags.is_empty() {
        filled.tags = known.tags.clone();
    }
    filled
}

/// The time of a consent "statement" no event made (a customer first seen in an event that said
/// nothing about consent): before any real one.
const NEVER_STATED: Timestamp = Timestamp::constant(946_684_800, 0);

/// Folds a customer embedded in an event at `at` into what was known.
///
/// With double opt-in, the store's "yes" only marks consent as pending until the customer confirms
/// (a confirmed subscription stays confirmed); a "no" always counts.
pub fn merge(
    known: Option<CustomerRecord>,
    incoming: &Customer,
    at: Timestamp,
    signed_up: bool,
    double_opt_in: bool,
) -> CustomerRecord {
    let said = incoming.marketing_consent;
    let unconfirmed_yes = double_opt_in && said == Some(true);
    let statement = Consent {
        given: said == Some(true) && !unconfirmed_yes,
        // Nothing said: no consent, and any statement, however old, outranks this.
        at: if said.is_some() { at } else { NEVER_STATED },
        source: ConsentSource::Store,
    };
    match known {
        None => CustomerRecord {
            profile: incoming.clone(),
            profile_at: at,
            consent: statement,
            signed_up,
            last_order_at: None,
            orders_confirmed: 0,
            orders_delivered: 0,
            purchased: Default::default(),
            orders: Default::default(),
            carts: Default::default(),
            consent_pending_since: unconfirmed_yes.then_some(at),
            categories: Default::default(),
            standing: Default::default(),
            engagement_rewarded_at: None,
            address_opted_out: false,
            version: 0,
        },
        Some(mut record) => {
            if at >= record.profile_at {
                record.profile = incoming.clone();
                record.profile_at = at;
            }
            // An unsubscribe at the same instant outranks the store's copy of older consent.
            let newer =
                at > record.consent.at || (at == record.consent.at && record.consent.source == ConsentSource::Store);
            let confirmed = record.consent.given && record.consent.source == ConsentSource::Confirmed;
            // A tidings unsubscribe is lifted only by a "yes" the store dated after it, never by
            // the bare flag that orders, carts and updates repeat (often stale).
            let unsubscribed = !record.consent.given && record.consent.source == ConsentSource::Unsubscribe;
            let restated = said == Some(true)
                && incoming
                    .consent_updated_at
                    .is_some_and(|stated| stated > record.consent.at);
            if said.is_some() && newer && !(unconfirmed_yes && confirmed) && (!unsubscribed || restated) {
                record.consent = statement;
                record.consent_pending_since = unconfirmed_yes.then_some(at);
            }
            record.signed_up |= signed_up;
            record
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn customer(consent: bool) -> Customer {
        Customer {
            marketing_consent: Some(consent),
            ..Customer::bare("c-1", "ada@example.com")
        }
    }

    fn at(text: &str) -> Timestamp {
        text.parse().expect("timestamp")
    }

    #[test]
    fn an_embedded_customer_fills_in_and_never_erases() {
        let known = Customer {
            first_name: Some(crate::domain::Text::new("Ada")),
            tags: vec![crate::domain::Text::new("vip")],
            ..customer(true)
        };
        let embedded = Customer {
            marketing_consent: None,
            ..Customer::bare("c-1", "ada.new@example.com")
        };
        let filled = fill_in(&embedded, &known);
        assert_eq!(filled.first_name.as_ref().map(|n| n.as_str()), Some("Ada"));
        assert_eq!(filled.tags.len(), 1, "an order without tags keeps the segment");
        assert_eq!(
            filled.email.as_str(),
            "ada.new@example.com",
            "the order's address is its own"
        );
        assert_eq!(filled.marketing_consent, None, "and so is its consent");
    }

    #[test]
    fn a_later_statement_wins_and_an_older_one_arriving_late_does_not() {
        let first = merge(None, &customer(true), at("2026-11-02T14:00:00Z"), true, false);
        let withdrawn = merge(Some(first), &customer(false), at("2026-11-20T10:00:00Z"), false, false);
        assert!(!withdrawn.consent.given);
        // An order placed earlier but delivered late by the bus still carries consent=true.
        let late = merge(
            Some(withdrawn),
            &customer(true),
            at("2026-11-05T10:00:00Z"),
            false,
            false,
        );
        assert!(!late.consent.given);
        assert!(late.signed_up);
    }

    #[test]
    fn an_unsubscribe_counts_as_a_statement_at_its_own_time() {
        let mut record = merge(None, &customer(true), at("2026-11-02T14:00:00Z"), true, false);
        record.consent = Consent {
            given: false,
            at: at("2026-11-10T00:00:00Z"),
            source: ConsentSource::Unsubscribe,
        };
        let older_order = merge(
            Some(record.clone()),
            &customer(true),
            at("2026-11-09T00:00:00Z"),
            false,
            false,
        );
        assert!(!older_order.consent.given);
        let newer_order = merge(
            Some(record.clone()),
            &customer(true),
            at("2026-11-11T00:00:00Z"),
            false,
            false,
        );
        assert!(
            !newer_order.consent.given,
            "a bare flag on a later order does not lift it"
        );
        let mut restated = customer(true);
        restated.consent_updated_at = Some(at("2026-11-10T12:00:00Z"));
        let lifted = merge(Some(record), &restated, at("2026-11-11T00:00:00Z"), false, false);
        assert!(
            lifted.consent.given,
            "a store statement dated after the unsubscribe lifts it"
        );
    }
}
