//! The `shopify` function: Shopify's webhooks from the store's partner event bus, translated by
//! the core into contract events and put on the tidings bus, where the steps' rules take them
//! (source `tidings.shopify`). Putting them on the bus rather than calling the engine here keeps
//! one routing, one DLQ per step, and no table or SES access for this function.
//!
//! It also mirrors tidings' own `CustomerUnsubscribed` (from the tidings bus) to the store, through
//! the Admin API (`super::consent`): the one function that speaks for tidings to Shopify.

use super::{MirrorError, Mirrored, ShopifyAdmin, mirror_unsubscribe};
use crate::EventBridgeBus;
use crate::lambda::{HandlerError, env};
use serde::Deserialize;
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

/// The detail-type of the tidings event this function mirrors to Shopify.
pub const UNSUBSCRIBED: &str = "CustomerUnsubscribed";

/// One invocation, by the envelope's `detail-type`: tidings' `CustomerUnsubscribed` is mirrored to
/// Shopify with `admin`; anything else is a webhook for [`forward`] (which rejects what is not one).
pub async fn dispatch(
    bus: &EventBridgeBus,
    config: &StoreConfig,
    admin: Option<&ShopifyAdmin>,
    envelope: &str,
) -> Result<Value, HandlerError> {
    #[derive(Deserialize)]
    struct Kind {
        #[serde(rename = "detail-type")]
        detail_type: Option<String>,
    }
    // Only the detail-type here: a webhook's payload is read once, by the translation.
    let kind = serde_json::from_str::<Kind>(envelope).ok().and_then(|k| k.detail_type);
    if kind.as_deref() != Some(UNSUBSCRIBED) {
        return forward(bus, config, envelope).await;
    }
    #[derive(Deserialize)]
    struct Unsubscribed {
        detail: Value,
    }
    let detail = serde_json::from_str::<Unsubscribed>(envelope)
        .map(|e| e.detail)
        .unwrap_or(Value::Null);
    let admin = admin.ok_or(MirrorError::NotConfigured)?;
    Ok(match mirror_unsubscribe(admin, &detail).await? {
        Mirrored::Unsubscribed => json!({ "mirrored": UNSUBSCRIBED }),
        Mirrored::NotAShopifyCustomer => json!({ "ignored": "not a Shopify customer" }),
    })
}

/// The function's `main`: the bus and Admin API clients once, then each event.
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
    let parameter = var(env::SHOPIFY_CREDENTIALS_PARAMETER).ok();
    let admin = super::admin(&sdk, &config, parameter.as_deref());
    if admin.is_none() {
        tracing::warn!("no Admin API credentials: unsubscribes cannot be mirrored to Shopify");
    }
    let (bus, config, admin) = (&bus, &config, admin.as_ref());
    lambda_runtime::run(lambda_runtime::service_fn(
        move |event: lambda_runtime::LambdaEvent<Box<serde_json::value::RawValue>>| {
            Box::pin(async move { dispatch(bus, config, admin, event.payload.get()).await })
        },
    ))
    .await
}
