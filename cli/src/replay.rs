//! `tidings replay`: validate every line first, then process events in time order with a simulated
//! clock, firing follow-ups as the clock passes their due time.

use crate::outbox::{IndexLine, Outbox, OutboxError};
use jiff::{SignedDuration, Timestamp};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tidings_core::adapters::memory::{MemoryStore, SimClock};
use tidings_core::config::StoreConfig;
use tidings_core::engine::{Engine, EngineError, Outcome, Ports};
use tidings_core::event::{
    Event, EventError, InboundEvent, Parsed, parse_envelope_noting, parse_envelope_value_noting,
};
use tidings_core::ports::{Clock, FollowUps};
use tidings_core::render::{RenderError, Renderer};
use tidings_core::report::{Engagement, Fact};
use tidings_core::shopify;
use tidings_core::signing::SigningKeys;
use tidings_core::unsubscribe::TOKEN_MAX_AGE;
use tidings_core::webhook::{Delivery, Received, Secrets};

/// A replay input: a file name (for messages) and its text.
pub struct Input {
    /// Shown in `FILE:LINE` errors.
    pub name: String,
    /// JSON lines.
    pub text: String,
}

/// How to run a replay.
pub struct Settings {
    /// Store settings.
    pub config: StoreConfig,
    /// HMAC keys for coupons and unsubscribe tokens.
    pub keys: SigningKeys,
    /// Read templates from this directory instead of the embedded ones.
    pub templates: Option<PathBuf>,
    /// Run the clock to here after the last event (default: last event + 60 days).
    pub until: Option<Timestamp>,
    /// Past orders to start from (`tidings import`).
    pub history: Option<tidings_core::shopify::import::History>,
    /// The secrets captured webhook deliveries are verified with.
    pub webhook_secrets: tidings_core::webhook::Secrets,
}

/// Why a replay did not run or did not finish.
#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    /// Some lines are invalid; nothing was sent. Each entry is `FILE:LINE: reason`.
    #[error("{} invalid line(s); nothing was sent", .0.len())]
    Invalid(Vec<String>),
    /// The outbox cannot be used.
    #[error(transparent)]
    Outbox(#[from] OutboxError),
    /// Templates could not be loaded.
    #[error(transparent)]
    Render(#[from] RenderError),
    /// The engine failed.
    #[error("at {at}: {source}")]
    Engine {
        /// Simulated time of the failure.
        at: Timestamp,
        /// What failed.
        source: EngineError,
    },
}

impl ReplayError {
    /// Process exit code: 2 for invalid input (bad lines, a used outbox), 1 otherwise.
    pub fn exit_code(&self) -> u8 {
        match self {
            Self::Invalid(_) | Self::Outbox(OutboxError::NotEmpty(_)) => 2,
            _ => 1,
        }
    }
}

/// What a replay did.
#[derive(Debug)]
pub struct Report {
    /// Every email sent, in order.
    pub sent: Vec<IndexLine>,
    /// Everything else decided, with simulated time (`-v`).
    pub notes: Vec<String>,
    /// Optional fields dropped because they did not parse: `FILE:LINE: warning: field: reason`.
    pub warnings: Vec<String>,
    /// Where the outbox is.
    pub outbox: PathBuf,
    /// Each customer's time zone (for showing local send times).
    pub zones: BTreeMap<String, jiff::tz::TimeZone>,
}

/// One valid event and where it came from.
struct Sourced {
    order: (usize, usize),
    event: InboundEvent,
}

/// What the validation pass found: the events to replay, and the optional fields it dropped.
struct Loaded {
    events: Vec<Sourced>,
    warnings: Vec<String>,
}

/// Parses every line of every input; all errors are collected, so a user fixes them in one go.
fn load(inputs: &[Input], settings: &Settings, notes: &mut Vec<String>) -> Result<Loaded, Vec<String>> {
    let mut events = Vec::new();
    let mut errors = Vec::new();
    let mut warnings = Vec::new();
    for (file_index, input) in inputs.iter().enumerate() {
        for (line_index, line) in input.text.lines().enumerate() {
            let line_no = line_index + 1;
            if line.trim().is_empty() {
                continue;
            }
            let at = |what: &dyn std::fmt::Display| format!("{}:{line_no}: {what}", input.name);
            let mut dropped = Vec::new();
            let parsed = parse_line(line, settings, &mut dropped, &mut |note| notes.push(at(&note)));
            warnings.extend(dropped.iter().map(|w| at(&format_args!("warning: {w}"))));
            for parsed in parsed {
                match parsed {
                    Ok(Parsed::Known(event)) => {
                        if let Err(error) = check_unsubscribe(&event, &settings.keys) {
                            errors.push(at(&error));
                        } else if accepted(&event.source, &settings.config) {
                            events.push(Sourced {
                                order: (file_index, line_no),
                                event: *event,
                            });
                        } else {
                            notes.push(at(&format_args!(
                                "ignored: source '{}' is not in the config's sources",
                                event.source
                            )));
                        }
                    }
                    Ok(Parsed::Unknown { detail_type }) => {
                        notes.push(at(&format_args!("ignored: unknown detail-type '{detail_type}'")));
                    }
                    Err(error) => errors.push(at(&error)),
                }
            }
        }
    }
    if errors.is_empty() {
        Ok(Loaded { events, warnings })
    } else {
        Err(errors)
    }
}

/// One line: a tidings event, or a Shopify webhook as EventBridge delivers it (translated by the
/// same code as the Lambda's, into any number of tidings events).
fn parse_line(
    line: &str,
    settings: &Settings,
    dropped: &mut Vec<EventError>,
    note: &mut dyn FnMut(String),
) -> Vec<Result<Parsed, EventError>> {
    let config = &settings.config;
    if let Some(capture) = Delivery::captured(line) {
        return match capture.and_then(|c| receive(&c, settings)) {
            Ok(Received::Events { events, .. }) => events
                .into_iter()
                .map(|event| parse_envelope_value_noting(event, dropped))
                .collect(),
            Ok(Received::Ping) => {
                note("ignored: WooCommerce's ping".to_owned());
                vec![]
            }
            Ok(Received::Ignored { topic, why }) => {
                note(format!("ignored: {topic}: {why}"));
                vec![]
            }
            Ok(Received::Refused(refused)) => vec![Err(EventError {
                field: "headers".to_owned(),
                reason: format!("webhook signature refused: {refused}"),
            })],
            Ok(Received::Untranslatable { error, .. }) | Err(error) => vec![Err(error)],
        };
    }
    if !is_shopify_line(line) {
        return vec![parse_envelope_noting(line, dropped)];
    }
    let translated = match shopify::translate(line) {
        Ok(translated) => translated,
        Err(error) => return vec![Err(error)],
    };
    let named = config.shopify.as_ref().and_then(|s| s.event_source.as_deref());
    if !shopify::accepts_source(named, &translated.source) {
        note(format!(
            "ignored: Shopify event source '{}' is not the config's shopify.event_source",
            translated.source
        ));
        return vec![];
    }
    let expected = config
        .shopify
        .as_ref()
        .map_or(shopify::TESTED_API_VERSION, |s| s.api_version.as_str());
    if let Some(version) = translated.api_version.as_deref().filter(|v| *v != expected) {
        note(format!(
            "warning: X-Shopify-API-Version {version}; tidings expects {expected}"
        ));
    }
    if let Some(why) = translated.ignored {
        note(format!("ignored: Shopify {}: {why}", translated.topic));
    }
    translated
        .events
        .into_iter()
        .map(|event| parse_envelope_value_noting(event, dropped))
        .collect()
}

/// Verifies and translates a captured delivery with the secret of its source.
fn receive(delivery: &Delivery, settings: &Settings) -> Result<Received, EventError> {
    let secret = settings
        .webhook_secrets
        .get(delivery.source)
        .ok_or_else(|| EventError {
            field: "webhook".to_owned(),
            reason: format!(
                "{} is not set: the delivery cannot be verified",
                Secrets::variable(delivery.source)
            ),
        })?;
    Ok(delivery.receive(secret, &settings.config))
}

/// Whether a line is a `shopifyWebhook` envelope (checked by its detail-type, not by a substring).
fn is_shopify_line(line: &str) -> bool {
    #[derive(serde::Deserialize)]
    struct Peek {
        #[serde(rename = "detail-type")]
        detail_type: Option<String>,
    }
    line.contains(shopify::DETAIL_TYPE)
        && serde_json::from_str::<Peek>(line).is_ok_and(|p| p.detail_type.as_deref().is_some_and(shopify::is_webhook))
}

/// Which lines a replay takes: tidings' own (`tidings.*`) and SES's (`aws.ses`) always; the config's
/// `sources` filter the store's events only.
fn accepted(source: &str, config: &StoreConfig) -> bool {
    source.starts_with("tidings.") || source == "aws.ses" || config.sources.iter().any(|s| s == source)
}

/// An unsubscribe line is checked as the page checks its token: a bad or expired one is refused
/// with its line, as the page answers 400.
fn check_unsubscribe(event: &InboundEvent, keys: &SigningKeys) -> Result<(), EventError> {
    let Event::UnsubscribeRequested(request) = &event.event else {
        return Ok(());
    };
    keys.verify_unsubscribe(&request.token, event.time, TOKEN_MAX_AGE)
        .map(|_| ())
        .map_err(|error| EventError {
            field: "detail.token".into(),
            reason: error.to_string(),
        })
}

type LocalEngine = Engine<MemoryStore, Arc<Outbox>, Arc<Outbox>, SimClock>;

/// What a deployment of `config` would do with the mail, when it is not simply sending it: the
/// replay itself mails no one either way, and its outbox shows every message as composed, to its
/// real recipient (the deployment redirects only the envelope and the `To` header).
pub fn shadow_notice(config: &StoreConfig) -> Option<String> {
    config.sending.is_shadow().then(|| {
        format!(
            "shadow mode: mail goes to the SES mailbox simulator except {} allowlisted address(es)",
            config.sending.allow.len()
        )
    })
}

/// Validates `inputs`, then replays them into a new outbox at `outbox_dir`.
pub async fn replay(inputs: &[Input], outbox_dir: &Path, settings: Settings) -> Result<Report, ReplayError> {
    let mut notes = Vec::new();
    let Loaded { mut events, warnings } = load(inputs, &settings, &mut notes).map_err(ReplayError::Invalid)?;
    // Stable: equal times keep input order (file, then line).
    events.sort_by_key(|e| (e.event.time, e.order));

    let outbox = Arc::new(Outbox::create(outbox_dir)?);
    let config = Arc::new(settings.config);
    let renderer = match &settings.templates {
        Some(dir) => Renderer::from_dir(dir, Arc::clone(&config))?,
        None => Renderer::embedded(Arc::clone(&config))?,
    };
    let start = events.first().map_or_else(Timestamp::now, |e| e.event.time);
    let until = settings
        .until
        .unwrap_or_else(|| events.last().map_or(start, |e| e.event.time) + SignedDuration::from_hours(60 * 24));
    let ports = Ports {
        store: MemoryStore::new(),
        mailer: Arc::clone(&outbox),
        bus: Arc::clone(&outbox),
        clock: SimClock::new(start),
    };
    let engine: LocalEngine = Engine::new(ports, config, renderer, settings.keys);
    if let Some(history) = settings.history {
        let mut state = engine.store().state();
        for customer in history.customers {
            state.customers.insert(customer.profile.id.clone(), customer);
        }
        state.stats = history.stats;
    }

    for sourced in &events {
        let at = sourced.event.time;
        if at > until {
            break;
        }
        // Events at T go before follow-ups due at T.
        fire_due(&engine, at - SignedDuration::from_nanos(1), &mut notes).await?;
        engine.clock().set(at);
        expire(&engine, at, &mut notes);
        let outcomes = engine
            .handle(&sourced.event)
            .await
            .map_err(|source| ReplayError::Engine { at, source })?;
        note(&mut notes, at, &outcomes);
        if let Some(fact) = report_fact(&engine, &sourced.event.event) {
            outbox.record(&fact).map_err(|source| OutboxError::Io {
                path: outbox.dir().join(crate::outbox::FACTS),
                source,
            })?;
        }
    }
    fire_due(&engine, until, &mut notes).await?;
    // The counters the engine kept as it went, as a deployed table keeps them (`tidings-aws
    // report`); `tidings report` folds the facts instead, with any window.
    let counters = serde_json::to_string_pretty(&engine.store().state().counters).unwrap_or_default();
    let path = outbox.dir().join(crate::outbox::COUNTERS);
    std::fs::write(&path, counters + "\n").map_err(|source| OutboxError::Io { path, source })?;
    for (order_id, held) in &engine.store().state().held {
        for kept in held.values() {
            notes.push(orphan(order_id, &kept.event));
        }
    }
    let zones = engine
        .store()
        .state()
        .customers
        .values()
        .filter_map(|c| Some((c.profile.id.to_string(), c.profile.time_zone.as_ref()?.tz().clone())))
        .collect();
    Ok(Report {
        sent: outbox.lines(),
        notes,
        warnings,
        outbox: outbox.dir().to_path_buf(),
        zones,
    })
}

/// What the report needs of an input event, after the engine handled it: an order (with the
/// message whose coupon it used, as the engine attributed it), its cancellation, or SES's word on
/// a message. Guests are named by pseudonym, as in every fact the engine makes.
fn report_fact(engine: &LocalEngine, event: &Event) -> Option<Fact> {
    // The ids `Event::with_guest_pseudonyms` rewrites, rewritten here alike (the engine rewrote
    // its own copy), for just the events the report reads.
    let ids = engine.keys().guest_ids();
    match event {
        Event::OrderConfirmed(order) => {
            let coupon_from = engine.store().state().orders.get(&order.id)?.coupon_from.clone();
            Some(Fact::Ordered {
                order_id: order.id.clone(),
                customer_id: ids.customer_id(&order.customer.id),
                at: order.placed_at,
                currency: order.currency.code().to_owned(),
                total: order.total,
                coupon_from,
            })
        }
        // About an erased customer's order or message: the engine kept nothing, nor does the
        // report (as the engine's own counters).
        Event::OrderCancelled(cancelled) if engine.store().state().erased_orders.contains(&cancelled.order_id) => None,
        Event::OrderCancelled(cancelled) => Some(Fact::Cancelled {
            order_id: cancelled.order_id.clone(),
            at: engine.clock().now(),
        }),
        Event::SesFeedback(feedback) => {
            let what = Engagement::reported(feedback.kind)?;
            let customer_id = ids.customer_id(feedback.customer_id.as_ref()?);
            let erased = tidings_core::ports::erased_id_key(&customer_id);
            if engine.store().state().erased.contains_key(&erased) {
                return None;
            }
            Some(Fact::Engaged {
                key: ids.message_key(feedback.message_key.as_ref()?),
                customer_id: Some(customer_id),
                what,
                at: feedback.at,
            })
        }
        _ => None,
    }
}

/// Lets the records DynamoDB would have deleted by `at` go (its TTLs), noting held events whose
/// order or shipment never came.
fn expire(engine: &LocalEngine, at: Timestamp, notes: &mut Vec<String>) {
    for (order_id, kept) in engine.store().expire(at) {
        notes.push(orphan(&order_id, &kept.event));
    }
}

/// The note for an event whose order (or shipment) never arrived.
fn orphan(order_id: &tidings_core::domain::OrderId, event: &tidings_core::event::InboundEvent) -> String {
    format!(
        "{}: orphan {} for order {order_id} (what it waited for never arrived)",
        event.time,
        event.event.detail_type()
    )
}

/// Fires every follow-up due at or before `until`, moving the clock to each due time.
async fn fire_due(engine: &LocalEngine, until: Timestamp, notes: &mut Vec<String>) -> Result<(), ReplayError> {
    loop {
        let next = engine
            .store()
            .due_follow_ups(until, 1)
            .await
            .map_err(|e| ReplayError::Engine {
                at: until,
                source: e.into(),
            })?;
        let Some(follow_up) = next.into_iter().next() else {
            return Ok(());
        };
        let at = follow_up.due_at.max(engine.clock().now());
        engine.clock().set(at);
        expire(engine, at, notes);
        let outcomes = engine
            .fire(&follow_up.key)
            .await
            .map_err(|source| ReplayError::Engine { at, source })?;
        note(notes, at, &outcomes);
        // A follow-up that neither moved nor went away would loop forever: drop it loudly.
        if engine.store().state().follow_ups.get(&follow_up.key) == Some(&follow_up) {
            notes.push(format!("{at}: dropped {} (it did not resolve)", follow_up.key));
            engine.store().state().follow_ups.remove(&follow_up.key);
        }
    }
}

fn note(notes: &mut Vec<String>, at: Timestamp, outcomes: &[Outcome]) {
    for outcome in outcomes {
        if !matches!(outcome, Outcome::Sent { .. }) {
            notes.push(format!("{at}: {outcome}"));
        }
    }
}
