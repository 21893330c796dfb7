//! Shopify's Admin API, for what tidings asks of the store: creating the discount codes it mails
//! (`discounts`) and mirroring its unsubscribes (`consent`), with the app's credentials from SSM
//! Parameter Store (`credentials`). The webhook translation itself is pure and lives in the core
//! (`tidings_core::shopify`).

mod admin;
mod consent;
mod credentials;
mod discounts;
pub mod webhooks;

pub use admin::{AdminError, ShopifyAdmin};
pub use consent::{MirrorError, Mirrored, mirror_unsubscribe};
pub use credentials::{CredentialSource, Credentials};
pub use discounts::ShopifyDiscounts;

use std::sync::Arc;
use tidings_core::config::{ShopifyStore, StoreConfig};

/// The discount codes of the configured shop, when `[shopify]` is configured and the function
/// has the credentials parameter (`SHOPIFY_CREDENTIALS_PARAMETER`).
pub fn discounts(
    sdk: &aws_config::SdkConfig,
    config: &StoreConfig,
    parameter: Option<&str>,
) -> Option<Arc<ShopifyDiscounts>> {
    let shop = config.shopify.as_ref()?;
    let Some(name) = parameter else {
        tracing::warn!(
            "[shopify] is configured but SHOPIFY_CREDENTIALS_PARAMETER is not set: codes are only announced"
        );
        return None;
    };
    Some(Arc::new(ShopifyDiscounts::new(
        Arc::new(shop_admin(sdk, shop, name)),
        config.defaults.currency,
    )))
}

/// The Admin API of the configured shop, when `[shopify]` is configured and the function has the
/// credentials parameter (`SHOPIFY_CREDENTIALS_PARAMETER`); the caller says what it does without.
pub fn admin(sdk: &aws_config::SdkConfig, config: &StoreConfig, parameter: Option<&str>) -> Option<ShopifyAdmin> {
    Some(shop_admin(sdk, config.shopify.as_ref()?, parameter?))
}

/// The credentials are read from SSM when first needed, not here: init makes no call.
fn shop_admin(sdk: &aws_config::SdkConfig, shop: &ShopifyStore, parameter: &str) -> ShopifyAdmin {
    let source = CredentialSource::Parameter {
        client: aws_sdk_ssm::Client::new(sdk),
        name: parameter.to_owned(),
    };
    ShopifyAdmin::new(format!("https://{}", shop.shop), shop.api_version.clone(), source)
}
