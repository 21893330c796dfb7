//! The `shopify` function: Shopify's webhooks from the store's partner event bus, translated by
//! the core into contract events and put on the tidings bus, where the steps' rules take them
//! (source `tidings.shopify`). Putting them on the bus rather than calling the engine here keeps
//! one routing, one DLQ per step, and no table or SES access for this function.

use crate::EventBridgeBus;
use crate::lambda::{HandlerError, env};
use serde_json::{Value, json};
use tidings_core::config::StoreConfig;
use tidings_core::event::{Parsed, parse_envelope_value};
use tidings_core::shopify;

/// Translates one webhook envelope and forwards what it became. A payload that breaks the
/// contract fails the invocation (retried, then dead-lettered) naming the field.
pub async fn forward(bus: &EventBridgeBus, config: &StoreConfig, envelope: &str) -> Result<Value, HandlerError> {
    let translated = shopify::translate(envelope)?;
    let topic = translated.topic.as_str();
    let named = config.shopify.as_ref().and_then(|s| s.event_source.as_deref());
    if !shopify::accepts_source(named, &translated.source) {
        tracing::warn!(topic, source = %translated.source, "webhook from another event source ignored");
        return Ok(json!({ "ignored": "another event source" }));
    }
    let expected = config
        .shopify
        .as_ref()
        .map_or(shopify::TESTED_API_VERSION, |s| s.api_version.as_str());
    if let Some(version) = translated.api_version.as_deref().filter(|v| *v != expected) {
        tracing::warn!(
            topic,
            version,
            expected,
            "webhook in another Admin API version than the tested one"
        );
    }
    if let Some(why) = translated.ignored {
        tracing::info!(topic, why, "webhook ignored");
        return Ok(json!({ "ignored": why }));
    }
    // Checked here, so a bad payload lands in this function's DLQ, not in a step's.
    for event in &translated.events {
        if let Parsed::Unknown { detail_type } = parse_envelope_value(event.clone())? {
            tracing::error!(topic, detail_type, "translated into a type no step reads");
        }
    }
    bus.put_envelopes(shopify::SOURCE, &translated.events)
        .await
        .map_err(|e| HandlerError::Forward(e.to_string()))?;
    let forwarded: Vec<&str> = translated
        .events
        .iter()
        .filter_map(|e| e["detail-type"].as_str())
        .collect();
    tracing::info!(topic, ?forwarded, "webhook forwarded");
    Ok(json!({ "forwarded": forwarded }))
}

/// The function's `main`: the bus client once, then each webhook.
pub async fn run() -> Result<(), lambda_runtime::Error> {
    crate::lambda::init_logging();
    let var = |name: &'static str| {
        std::env::var(name)
            .ok()
            .filter(|v| !v.trim().is_empty())
            .ok_or(crate::lambda::InitError::MissingEnv(name))
    };
    let config = StoreConfig::from_toml(&var(env::STORE_CONFIG)?).map_err(crate::lambda::InitError::from)?;
    let sdk = crate::lambda::sdk_config().await;
    let bus = EventBridgeBus::new(aws_sdk_eventbridge::Client::new(&sdk), var(env::EVENT_BUS_NAME)?);
    let (bus, config) = (&bus, &config);
    lambda_runtime::run(lambda_runtime::service_fn(
        move |event: lambda_runtime::LambdaEvent<Box<serde_json::value::RawValue>>| async move {
            forward(bus, config, event.payload.get()).await
        },
    ))
    .await
}
