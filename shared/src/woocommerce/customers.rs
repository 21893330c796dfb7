//! `customer.created` → `CustomerSignedUp`, `customer.updated` → `CustomerUpdated`;
//! `product.created|updated` → `ProductUpdated` (the image, page and category the emails show).

use super::payload::{Customer, Product, meta};
use super::{Routed, Store, consent, gmt, plain};
use crate::event::EventError;
use crate::vendor::given;
use serde_json::json;

pub(super) fn profile(customer: &Customer, store: Store<'_>, detail_type: &'static str) -> Result<Routed, EventError> {
    let billing = customer.billing.as_ref();
    let Some(email) = given(&customer.email).or(billing.and_then(|b| given(&b.email))) else {
        return Ok(Routed::Ignored("a customer without an email address"));
    };
    // A plugin's stored opt-in, yes or no; never with a consent time of its own (the profile's
    // modification is not when the customer said it), so it never lifts a tidings unsubscribe.
    let stated = store
        .consent_meta
        .and_then(|key| consent(meta(&customer.meta_data, key).and_then(|m| m.text())));
    let detail = json!({ "customer": {
        "id": customer.id.0,
        "email": email,
        "first_name": given(&customer.first_name).or(billing.and_then(|b| given(&b.first_name))),
        "last_name": given(&customer.last_name).or(billing.and_then(|b| given(&b.last_name))),
        "country": billing.and_then(|b| given(&b.country)),
        "signed_up_at": gmt(&customer.date_created_gmt),
        "marketing_consent": stated,
    }});
    Ok(Routed::Events(
        vec![(detail_type, detail)],
        gmt(&customer.date_modified_gmt),
    ))
}

pub(super) fn product(product: &Product) -> Result<Routed, EventError> {
    let Some(name) = plain(&product.name) else {
        return Ok(Routed::Ignored("a product without a name"));
    };
    let detail = json!({ "product": {
        "id": product.id.0,
        "name": name,
        "category": product.categories.iter().find_map(|c| plain(&c.name)),
        "image_url": product.images.iter().find_map(|i| given(&i.src)),
        "url": given(&product.permalink),
    }});
    Ok(Routed::Events(
        vec![("ProductUpdated", detail)],
        gmt(&product.date_modified_gmt),
    ))
}
