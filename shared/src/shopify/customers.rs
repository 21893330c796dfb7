//! Shopify customers: profiles, marketing consent and the privacy topic `customers/redact`.

use super::payload::{Address, ConsentUpdate, Customer, Redact};
use super::{Routed, error, given, guest_id};
use crate::event::EventError;
use serde_json::{Value, json};

/// The contract's `Customer` for an order or checkout's buyer (`email` is the order's address,
/// which wins over the profile's: it is where the customer asked this order's mail to go).
pub(super) fn buyer(
    customer: Option<&Customer>,
    email: &str,
    locale: Option<&str>,
    address: Option<&Address>,
    accepts_marketing: Option<bool>,
) -> Value {
    let id = customer
        .and_then(|c| c.id.as_ref())
        .map_or_else(|| guest_id(email), |id| id.0.clone());
    // The checkout's "email me with news and offers" box stands in for a profile that says
    // nothing, when ticked; unticked it says nothing (a subscriber is not asked again), so the
    // consent is then left out and what is known stands.
    let (consent, consent_at) = match customer.and_then(stated_consent) {
        Some((given, at)) => (Some(given), at),
        None => (accepts_marketing.filter(|ticked| *ticked), None),
    };
    let first = customer
        .and_then(|c| given(&c.first_name))
        .or(address.and_then(|a| given(&a.first_name)));
    let last = customer
        .and_then(|c| given(&c.last_name))
        .or(address.and_then(|a| given(&a.last_name)));
    let country = address.and_then(|a| given(&a.country_code)).or(customer
        .and_then(|c| c.default_address.as_ref())
        .and_then(|a| given(&a.country_code)));
    json!({
        "id": id,
        "email": email,
        "first_name": first,
        "last_name": last,
        "locale": locale,
        "country": country,
        "marketing_consent": consent,
        "consent_updated_at": consent_at,
        "tags": customer.map(tags).unwrap_or_default(),
    })
}

/// `customers/create` → `CustomerSignedUp`, `customers/update` → `CustomerUpdated`.
pub(super) fn profile(customer: &Customer, detail_type: &'static str) -> Result<Routed, EventError> {
    let Some(email) = given(&customer.email) else {
        return Ok(Routed::Ignored("a customer without an email address"));
    };
    let id = customer
        .id
        .as_ref()
        .ok_or_else(|| error("detail.payload.id", "is required"))?;
    let (consent, consent_at) = stated_consent(customer).map_or((None, None), |(given, at)| (Some(given), at));
    let mut detail = json!({
        "id": id.0,
        "email": email,
        "first_name": given(&customer.first_name),
        "last_name": given(&customer.last_name),
        "locale": given(&customer.locale),
        "country": customer.default_address.as_ref().and_then(|a| given(&a.country_code)),
        "marketing_consent": consent,
        "consent_updated_at": consent_at,
        "tags": tags(customer),
    });
    if detail_type == "CustomerSignedUp" {
        detail["signed_up_at"] = json!(given(&customer.created_at));
    }
    Ok(Routed::Events(vec![(detail_type, json!({ "customer": detail }))]))
}

/// `customers_email_marketing_consent/update` → `CustomerUpdated` with the consent alone (this
/// topic carries no name or locale: the next `customers/update` brings them back).
pub(super) fn consent(update: &ConsentUpdate) -> Result<Routed, EventError> {
    let Some(email) = given(&update.email_address) else {
        return Ok(Routed::Ignored("a consent update without an email address"));
    };
    let consent = update.email_marketing_consent.as_ref();
    let given_yes = consent.and_then(|c| c.state.as_deref()) == Some("subscribed");
    let at = consent.and_then(|c| given(&c.consent_updated_at));
    let customer = json!({
        "id": update.customer_id.0,
        "email": email,
        "marketing_consent": given_yes,
        "consent_updated_at": at,
    });
    Ok(Routed::Events(vec![(
        "CustomerUpdated",
        json!({ "customer": customer }),
    )]))
}

/// `customers/redact` → `CustomerRedacted` (the customer's orders are erased with them).
pub(super) fn redact(redact: &Redact) -> Result<Routed, EventError> {
    let email = given(&redact.customer.email).ok_or_else(|| error("detail.payload.customer.email", "is required"))?;
    let id = redact
        .customer
        .id
        .as_ref()
        .map_or_else(|| guest_id(email), |id| id.0.clone());
    Ok(Routed::Events(vec![(
        "CustomerRedacted",
        json!({ "customer_id": id, "email": email }),
    )]))
}

/// Marketing consent and when the customer stated it: `email_marketing_consent` (only
/// `subscribed` is a yes: `pending` awaits the customer's confirmation), else `accepts_marketing`;
/// `None` when the profile says neither.
fn stated_consent(customer: &Customer) -> Option<(bool, Option<&str>)> {
    match (&customer.email_marketing_consent, customer.accepts_marketing) {
        (Some(consent), _) => Some((
            consent.state.as_deref() == Some("subscribed"),
            given(&consent.consent_updated_at),
        )),
        (None, Some(accepts)) => Some((accepts, given(&customer.accepts_marketing_updated_at))),
        (None, None) => None,
    }
}

/// Shopify's tags are one comma-separated string.
fn tags(customer: &Customer) -> Vec<&str> {
    customer
        .tags
        .as_deref()
        .unwrap_or_default()
        .split(',')
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .collect()
}
