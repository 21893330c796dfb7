//! The webhook secrets, one SSM SecureString per source (named in the configuration), read when a
//! source's first delivery arrives and kept; read again after a signature mismatch, at most once
//! a minute, so a rotated secret is picked up without a redeploy.

use crate::secret::Secret;
use std::collections::BTreeMap;
use std::time::Duration;
use tidings_core::config::StoreConfig;
use tidings_core::webhook::Source;

/// How soon a secret may be read again after a mismatch.
const REREAD_AFTER: Duration = Duration::from_secs(60);

/// The secrets of the configured sources.
pub struct WebhookSecrets(BTreeMap<Source, Secret>);

impl WebhookSecrets {
    /// The secrets `config` names, read with `client` when first needed (nothing is read here).
    pub fn new(client: &aws_sdk_ssm::Client, config: &StoreConfig) -> Self {
        Self(
            Source::ALL
                .into_iter()
                .filter_map(|source| {
                    let name = parameter(source, config)?.to_owned();
                    Some((source, Secret::parameter(client.clone(), name)))
                })
                .collect(),
        )
    }

    /// The secret of `source`; read again when `fresh` and the kept one is older than a minute.
    pub async fn get(&self, source: Source, fresh: bool) -> Result<String, String> {
        let secret = self
            .0
            .get(&source)
            .ok_or_else(|| format!("[{}] is not configured", source.name()))?;
        if fresh {
            secret.get_again_after(REREAD_AFTER).await
        } else {
            secret.get().await
        }
    }
}

/// The parameter the configuration names for `source`'s webhook secret.
pub fn parameter(source: Source, config: &StoreConfig) -> Option<&str> {
    match source {
        Source::WooCommerce => config.woocommerce.as_ref().map(|w| w.webhook_secret_parameter.as_str()),
        Source::AfterShip => config.aftership.as_ref().map(|s| s.webhook_secret_parameter.as_str()),
        Source::EasyPost => config.easypost.as_ref().map(|s| s.webhook_secret_parameter.as_str()),
    }
}
