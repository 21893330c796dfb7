//! The webhook secrets, one SSM SecureString per source (named in the configuration), read when a
//! source's first delivery arrives and kept; read again after a signature mismatch, at most once
//! a minute, so a rotated secret is picked up without a redeploy.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};
use tidings_core::config::StoreConfig;
use tidings_core::webhook::Source;

/// How soon a secret may be read again after a mismatch.
const REREAD_AFTER: Duration = Duration::from_secs(60);

/// Why a secret could not be read.
#[derive(Debug, thiserror::Error)]
#[error("SSM parameter {name}: {reason}")]
pub struct SecretError {
    name: String,
    reason: String,
}

/// The secrets, by source.
pub struct WebhookSecrets {
    client: aws_sdk_ssm::Client,
    read: Mutex<BTreeMap<Source, (String, Instant)>>,
}

impl WebhookSecrets {
    /// Secrets read with `client`.
    pub fn new(client: aws_sdk_ssm::Client) -> Self {
        Self {
            client,
            read: Mutex::new(BTreeMap::new()),
        }
    }

    /// The secret of `source`; read again when `fresh` and the kept one is older than a minute.
    pub async fn get(&self, source: Source, config: &StoreConfig, fresh: bool) -> Result<String, SecretError> {
        if let Some((secret, at)) = self.kept(source)
            && (!fresh || at.elapsed() < REREAD_AFTER)
        {
            return Ok(secret);
        }
        let name = parameter(source, config).ok_or_else(|| SecretError {
            name: String::new(),
            reason: format!("[{}] is not configured", source.name()),
        })?;
        let answer = self
            .client
            .get_parameter()
            .name(name)
            .with_decryption(true)
            .send()
            .await
            .map_err(|e| SecretError {
                name: name.to_owned(),
                reason: aws_sdk_ssm::error::DisplayErrorContext(e).to_string(),
            })?;
        let secret = answer
            .parameter()
            .and_then(|p| p.value())
            .filter(|v| !v.is_empty())
            .ok_or_else(|| SecretError {
                name: name.to_owned(),
                reason: "has no value".to_owned(),
            })?
            .to_owned();
        if let Ok(mut read) = self.read.lock() {
            read.insert(source, (secret.clone(), Instant::now()));
        }
        Ok(secret)
    }

    fn kept(&self, source: Source) -> Option<(String, Instant)> {
        self.read.lock().ok()?.get(&source).cloned()
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
