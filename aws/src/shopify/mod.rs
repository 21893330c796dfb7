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
pub(crate) use discounts::decimal;

use std::sync::Arc;
use tidings_core::config::{ShopifyStore, StoreConfig};

/// The discount codes of the configured shop, when `[shopify]` is configured. Without the
/// credentials parameter (`SHOPIFY_CREDENTIALS_PARAMETER`) no code can be created, so none is
/// mailed: every one is refused. In shadow mode nothing is created either (the mail goes to the
/// SES simulator, and a real code would be usable by anyone who guessed it).
pub fn discounts(
    sdk: &aws_config::SdkConfig,
    config: &StoreConfig,
    parameter: Option<&str>,
) -> Option<Arc<dyn tidings_core::ports::Discounts>> {
    let shop = config.shopify.as_ref()?;
    if config.sending.is_shadow() {
        tracing::info!("shadow mode: discount codes are not created in Shopify");
        return Some(Arc::new(NoCodes("shadow mode")));
    }
    let Some(name) = parameter else {
        tracing::error!(
            "[shopify] is configured but SHOPIFY_CREDENTIALS_PARAMETER is not set: no coupon can be mailed"
        );
        return Some(Arc::new(NoCodes("no Shopify credentials parameter")));
    };
    Some(Arc::new(ShopifyDiscounts::new(
        Arc::new(shop_admin(sdk, shop, name)),
        config.defaults.currency,
    )))
}

/// Discounts that cannot be created: every coupon is refused, so no email carries one.
pub(crate) struct NoCodes(pub(crate) &'static str);

impl tidings_core::ports::Discounts for NoCodes {
    fn create<'a>(
        &'a self,
        _: &'a tidings_core::event::CouponIssued,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<(), tidings_core::ports::DiscountError>> + Send + 'a>>
    {
        Box::pin(async move { Err(tidings_core::ports::DiscountError::Refused(self.0.to_owned())) })
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use tidings_core::event::{CouponIssued, CouponType};
    use tidings_core::ports::DiscountError;

    fn shopify(extra: &str) -> StoreConfig {
        let sample = tidings_core::config::SAMPLE_CONFIG;
        // The sample prices its fixed coupon in other currencies too, which [shopify] refuses.
        let start = sample.find("[coupons.loyalty_reward.currencies]").expect("section");
        let end = sample[start..].find("\n\n").map_or(sample.len(), |e| start + e);
        let text = format!(
            "{}{}{extra}\n[shopify]\nshop = \"maple-moss.myshopify.com\"\n",
            &sample[..start],
            &sample[end..]
        );
        StoreConfig::from_toml(&text).expect("config")
    }

    fn coupon() -> CouponIssued {
        CouponIssued {
            code: "THANKS-A".into(),
            customer_id: tidings_core::domain::CustomerId::parse("1").expect("id"),
            message_key: tidings_core::message::MessageKey::parse("delivery_confirmation#1").expect("key"),
            message_kind: tidings_core::message::MessageKind::DeliveryConfirmation,
            coupon_type: CouponType::Percent,
            amount_off: None,
            percent_off: Some(10),
            min_subtotal: None,
            currency: tidings_core::domain::Currency::parse("USD").expect("USD"),
            expires_at: "2026-12-01T00:00:00Z".parse().expect("time"),
        }
    }

    #[tokio::test]
    async fn without_credentials_or_in_shadow_mode_no_code_is_created_so_none_is_mailed() {
        let sdk = aws_config::SdkConfig::builder().build();
        let none = discounts(&sdk, &shopify(""), None).expect("[shopify] is configured");
        assert!(matches!(none.create(&coupon()).await, Err(DiscountError::Refused(_))));
        let shadow = discounts(&sdk, &shopify("\n[sending]\nmode = \"shadow\"\n"), Some("/p")).expect("configured");
        assert!(matches!(shadow.create(&coupon()).await, Err(DiscountError::Refused(_))));
        assert!(
            discounts(&sdk, &StoreConfig::sample(), Some("/p")).is_none(),
            "no [shopify]"
        );
    }
}
