//! `[woocommerce]`, `[aftership]`, `[easypost]`: the stores and carrier services that reach
//! tidings through signed webhooks (the `webhooks` function; docs/webhooks.md). Each names the SSM
//! parameters (SecureString) of its secrets; the secrets themselves are never in the config.

use super::{ConfigError, invalid};
use serde::{Deserialize, Serialize};

/// `[woocommerce]`: a WooCommerce store.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WooCommerceStore {
    /// The site (`https://shop.example`): deliveries from another `X-WC-Webhook-Source` are
    /// ignored, and order pages link under it.
    pub site_url: String,
    /// The webhook secret's parameter.
    #[serde(default = "woocommerce_webhook_secret")]
    pub webhook_secret_parameter: String,
    /// The REST API key's parameter (`{"consumer_key": …, "consumer_secret": …}`), for the coupons.
    #[serde(default = "woocommerce_rest_credentials")]
    pub rest_credentials_parameter: String,
    /// The order or customer meta key a consent plugin stores the marketing opt-in under (`yes`,
    /// `1`, `true`, `on` is a yes). WooCommerce itself records no consent: without this, its
    /// customers get only transactional emails.
    #[serde(default)]
    pub marketing_consent_meta: Option<String>,
}

/// `[aftership]` or `[easypost]`: a carrier tracking service.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrackingService {
    /// The webhook secret's parameter.
    pub webhook_secret_parameter: String,
    /// The API key's parameter, when tidings registers each tracking number with the service.
    #[serde(default)]
    pub api_key_parameter: Option<String>,
}

fn woocommerce_webhook_secret() -> String {
    "/tidings/woocommerce/webhook-secret".to_owned()
}

fn woocommerce_rest_credentials() -> String {
    "/tidings/woocommerce/rest-credentials".to_owned()
}

impl WooCommerceStore {
    pub(super) fn check(&self) -> Result<(), ConfigError> {
        let rest = self
            .site_url
            .strip_prefix("https://")
            .or_else(|| self.site_url.strip_prefix("http://"));
        if rest.is_none_or(|host| host.trim_matches('/').is_empty() || host.contains(char::is_whitespace)) {
            return Err(invalid("woocommerce.site_url", "must be the site's http(s):// address"));
        }
        parameter("woocommerce.webhook_secret_parameter", &self.webhook_secret_parameter)?;
        parameter(
            "woocommerce.rest_credentials_parameter",
            &self.rest_credentials_parameter,
        )
    }

    /// The site without a trailing slash.
    pub fn site(&self) -> &str {
        self.site_url.trim_end_matches('/')
    }
}

impl TrackingService {
    pub(super) fn check(&self, section: &str) -> Result<(), ConfigError> {
        parameter(
            &format!("{section}.webhook_secret_parameter"),
            &self.webhook_secret_parameter,
        )?;
        match &self.api_key_parameter {
            Some(name) => parameter(&format!("{section}.api_key_parameter"), name),
            None => Ok(()),
        }
    }
}

fn parameter(field: &str, name: &str) -> Result<(), ConfigError> {
    if name.starts_with('/') && !name.contains(char::is_whitespace) {
        Ok(())
    } else {
        Err(invalid(field, "must be an SSM parameter name starting with /"))
    }
}
