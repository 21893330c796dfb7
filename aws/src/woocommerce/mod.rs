//! WooCommerce's REST API, for what tidings asks of the store: creating the coupon codes it mails
//! (`coupons`), with the REST API key from SSM Parameter Store. The webhook translation itself is
//! pure and lives in the core (`tidings_core::woocommerce`).

mod coupons;

pub use coupons::{RestKey, WooCommerceCoupons};

use std::sync::Arc;
use tidings_core::config::StoreConfig;

/// The coupon codes of the configured store, when `[woocommerce]` is configured; in shadow mode
/// none is created (the mail goes to the SES simulator, and a real code would be usable by
/// anyone who guessed it), so none is mailed.
pub fn coupons(sdk: &aws_config::SdkConfig, config: &StoreConfig) -> Option<Arc<dyn tidings_core::ports::Discounts>> {
    let store = config.woocommerce.as_ref()?;
    if config.sending.is_shadow() {
        tracing::info!("shadow mode: coupon codes are not created in WooCommerce");
        return Some(Arc::new(crate::shopify::NoCodes("shadow mode")));
    }
    let key = crate::secret::Secret::parameter(aws_sdk_ssm::Client::new(sdk), store.rest_credentials_parameter.clone());
    Some(Arc::new(WooCommerceCoupons::new(
        store.site(),
        key,
        config.defaults.currency,
    )))
}
