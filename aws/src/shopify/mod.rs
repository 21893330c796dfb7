//! Shopify's Admin API, for what tidings asks of the store: creating the discount codes it mails
//! (`discounts`), with the app's credentials from SSM Parameter Store (`credentials`). The webhook
//! translation itself is pure and lives in the core (`tidings_core::shopify`).

mod admin;
mod credentials;
mod discounts;
pub mod webhooks;

pub use admin::{AdminError, ShopifyAdmin};
pub use credentials::{CredentialSource, Credentials};
pub use discounts::ShopifyDiscounts;

use std::sync::Arc;
use tidings_core::config::StoreConfig;

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
    let source = CredentialSource::Parameter {
        client: aws_sdk_ssm::Client::new(sdk),
        name: name.to_owned(),
    };
    let admin = ShopifyAdmin::new(format!("https://{}", shop.shop), shop.api_version.clone(), source);
    Some(Arc::new(ShopifyDiscounts::new(
        Arc::new(admin),
        config.defaults.currency,
    )))
}
