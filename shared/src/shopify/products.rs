//! Shopify products: `products/create|update` → `ProductUpdated`, so emails show the image and
//! page of order lines that carry neither (Shopify's order and checkout lines do not).

use super::payload::Product;
use super::{Routed, given};
use serde_json::json;

/// The product with its page on the shop (`https://<shop>/products/<handle>`, which Shopify
/// redirects to the store's own domain) and its first image.
pub(super) fn updated(product: &Product, shop: Option<&str>) -> Routed {
    let Some(title) = given(&product.title) else {
        return Routed::Ignored("a product without a title");
    };
    if product.status.as_deref().is_some_and(|s| s != "active") {
        // A draft or archived product's page is not public: nothing to link to.
        return Routed::Ignored("a product that is not active");
    }
    let url = match (shop, given(&product.handle)) {
        (Some(shop), Some(handle)) => Some(format!("https://{shop}/products/{handle}")),
        _ => None,
    };
    let image = product
        .image
        .as_ref()
        .and_then(|i| given(&i.src))
        .or_else(|| product.images.iter().find_map(|i| given(&i.src)));
    let category = product
        .category
        .as_ref()
        .and_then(|c| given(&c.name))
        .or(given(&product.product_type));
    Routed::Events(vec![(
        "ProductUpdated",
        json!({ "product": {
            "id": product.id.0,
            "name": title,
            "category": category,
            "image_url": image,
            "url": url,
        }}),
    )])
}
