//! `[shopify]`: a Shopify store connected through EventBridge (docs/shopify.md), and what its
//! discount codes require of the coupon rules.

use super::{ConfigError, Coupons, invalid};
use crate::domain::Currency;
use serde::{Deserialize, Serialize};

/// `[shopify]`: the store, its partner event source and where its Admin API credentials are.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ShopifyStore {
    /// `<shop>.myshopify.com`.
    pub shop: String,
    /// The partner event source (`aws.partner/shopify.com/<app id>/<name>`): only its events are read.
    #[serde(default)]
    pub event_source: Option<String>,
    /// The Admin API version the app's webhooks are subscribed with.
    #[serde(default = "default_shopify_api_version")]
    pub api_version: String,
    /// SSM Parameter Store name (SecureString) of the Admin API credentials.
    #[serde(default = "default_shopify_credentials")]
    pub credentials_parameter: String,
}

fn default_shopify_api_version() -> String {
    crate::shopify::TESTED_API_VERSION.to_owned()
}

fn default_shopify_credentials() -> String {
    "/tidings/shopify/credentials".to_owned()
}

impl ShopifyStore {
    pub(super) fn check(&self) -> Result<(), ConfigError> {
        let host = self.shop.strip_suffix(".myshopify.com").unwrap_or_default();
        if host.is_empty() || !host.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
            return Err(invalid(
                "shopify.shop",
                format!("'{}' must be <shop>.myshopify.com", self.shop),
            ));
        }
        if let Some(source) = &self.event_source
            && !source.starts_with(crate::shopify::PARTNER_SOURCE_PREFIX)
        {
            return Err(invalid(
                "shopify.event_source",
                format!("'{source}' must start with {}", crate::shopify::PARTNER_SOURCE_PREFIX),
            ));
        }
        if !self.credentials_parameter.starts_with('/') {
            return Err(invalid(
                "shopify.credentials_parameter",
                "must be an SSM parameter name starting with /",
            ));
        }
        Ok(())
    }

    /// Shopify reads a discount's fixed amount and minimum in the shop's currency and converts
    /// them at checkout: amounts priced in other currencies would be applied as the shop's. A
    /// fixed coupon is then offered only to customers paying in the shop's (`shop` currency).
    pub(super) fn check_coupons(&self, coupons: &Coupons, shop: Currency) -> Result<(), ConfigError> {
        for (kind, rule) in coupons.iter() {
            if rule.coupon_type == crate::event::CouponType::Fixed && !rule.currencies.is_empty() {
                return Err(invalid(
                    &format!("coupons.{kind}.currencies"),
                    format!(
                        "with [shopify], fixed amounts are in the shop's currency ({}), which Shopify converts at checkout: remove the other currencies",
                        shop.code()
                    ),
                ));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::super::{SAMPLE_CONFIG, StoreConfig};

    const SHOPIFY: &str = "\n[shopify]\nshop = \"maple-moss.myshopify.com\"\nevent_source = \"aws.partner/shopify.com/1830279/maple-moss\"\n";

    #[test]
    fn a_shopify_store_is_checked_and_fixed_amounts_stay_in_the_shops_currency() {
        // The sample prices its loyalty reward in six more currencies: not with Shopify.
        let error = StoreConfig::from_toml(&format!("{SAMPLE_CONFIG}{SHOPIFY}")).expect_err("other currencies");
        assert_eq!(error.field, "coupons.loyalty_reward.currencies");
        let start = SAMPLE_CONFIG
            .find("[coupons.loyalty_reward.currencies]")
            .expect("section");
        let end = SAMPLE_CONFIG[start..]
            .find("\n\n")
            .map_or(SAMPLE_CONFIG.len(), |e| start + e);
        let single = format!("{}{}{SHOPIFY}", &SAMPLE_CONFIG[..start], &SAMPLE_CONFIG[end..]);
        let config = StoreConfig::from_toml(&single).expect("valid");
        let shopify = config.shopify.expect("[shopify]");
        assert_eq!(shopify.api_version, crate::shopify::TESTED_API_VERSION);
        assert_eq!(shopify.credentials_parameter, "/tidings/shopify/credentials");
        let bad = single.replace("maple-moss.myshopify.com", "maple-moss.com");
        assert_eq!(StoreConfig::from_toml(&bad).expect_err("shop").field, "shopify.shop");
        let bad = single.replace("aws.partner/shopify.com/1830279", "aws.partner/other.com/1");
        assert_eq!(
            StoreConfig::from_toml(&bad).expect_err("source").field,
            "shopify.event_source"
        );
    }
}
