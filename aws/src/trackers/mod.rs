//! Registering parcels with the carrier tracking services whose API key is configured
//! (`[aftership] api_key_parameter`, `[easypost] api_key_parameter`), so their webhooks report
//! them: AfterShip's `POST /tracking/2024-04/trackings`, EasyPost's `POST /v2/trackers`. The keys
//! are SSM SecureStrings, read when first needed.

mod services;

pub use services::{AFTERSHIP_API, EASYPOST_API, Key, Service, TrackingServices};

use std::sync::Arc;
use tidings_core::config::StoreConfig;

/// The services of the configuration that have an API key; `None` when none has.
pub fn trackers(sdk: &aws_config::SdkConfig, config: &StoreConfig) -> Option<Arc<dyn tidings_core::ports::Trackers>> {
    let ssm = || aws_sdk_ssm::Client::new(sdk);
    let mut services = Vec::new();
    if let Some(name) = config.aftership.as_ref().and_then(|a| a.api_key_parameter.clone()) {
        services.push(Service::aftership(
            services::AFTERSHIP_API,
            services::Key::parameter(ssm(), name),
        ));
    }
    if let Some(name) = config.easypost.as_ref().and_then(|e| e.api_key_parameter.clone()) {
        services.push(Service::easypost(
            services::EASYPOST_API,
            services::Key::parameter(ssm(), name),
        ));
    }
    if services.is_empty() {
        return None;
    }
    Some(Arc::new(TrackingServices::new(services)))
}
