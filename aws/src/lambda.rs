//! What every tidings Lambda does: read its settings from the environment, build the SDK clients
//! once at init, and hand each EventBridge event to the engine.

use super::alarms::{AlarmSettings, SchedulerAlarms};
use super::{DynamoStore, EventBridgeBus, SesMailer};
use aws_config::retry::RetryConfig;
use aws_config::{BehaviorVersion, SdkConfig};
use aws_sdk_dynamodb::config::SharedHttpClient;
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Duration;
use tidings_core::adapters::WallClock;
use tidings_core::config::{ConfigError, StoreConfig};
use tidings_core::engine::{Engine, EngineError, Outcome, Ports, kinds};
use tidings_core::event::{Event, EventError, Parsed, parse_envelope_value};
use tidings_core::guest::GuestIds;
use tidings_core::message::Step;
use tidings_core::ports::{Bus, Clock, Mailer, Store};
use tidings_core::render::{RenderError, Renderer};
use tidings_core::shadow::ShadowMailer;
use tidings_core::signing::{KeyError, SigningKeys, digest_hex};

/// The engine as the Lambdas run it: SES, redirected to its mailbox simulator in shadow mode.
pub type AwsEngine = Engine<DynamoStore, ShadowMailer<SesMailer>, EventBridgeBus, WallClock>;

/// Why a function could not start.
#[derive(Debug, thiserror::Error)]
pub enum InitError {
    /// A required environment variable is missing.
    #[error("environment variable {0} is required")]
    MissingEnv(&'static str),
    /// `STORE_CONFIG` is invalid.
    #[error("STORE_CONFIG is invalid: {0}")]
    Config(#[from] ConfigError),
    /// Templates failed to load.
    #[error(transparent)]
    Render(#[from] RenderError),
    /// A key could not be read from SSM Parameter Store.
    #[error("SSM parameter {name}: {reason}")]
    Parameter {
        /// Which parameter (never its value).
        name: String,
        /// Why.
        reason: String,
    },
    /// The signing key is too short.
    #[error(transparent)]
    Key(#[from] KeyError),
}

/// Why one invocation failed (EventBridge/Lambda retry it, then dead-letter it).
#[derive(Debug, thiserror::Error)]
pub enum HandlerError {
    /// The event breaks the contract: it names the field.
    #[error("rejected event: {0}")]
    Rejected(#[from] EventError),
    /// The engine failed (store, bus, SES).
    #[error(transparent)]
    Engine(#[from] EngineError),
    /// Translated events could not be put on the bus (the Shopify function).
    #[error("forwarding failed: {0}")]
    Forward(String),
    /// An unsubscribe could not be mirrored to Shopify (the Shopify function).
    #[error("mirroring to Shopify failed: {0}")]
    Mirror(#[from] crate::shopify::MirrorError),
    /// The engine could not be built on first use (its keys unreadable).
    #[error("engine not ready: {0}")]
    Init(#[from] InitError),
}

/// The error type tells operators at a glance whether a retry can help.
impl From<HandlerError> for lambda_runtime::Diagnostic {
    fn from(error: HandlerError) -> Self {
        let error_type = match &error {
            HandlerError::Rejected(_) => "RejectedEvent",
            HandlerError::Engine(e) if e.is_retryable() => "Retryable",
            HandlerError::Engine(_) => "Defect",
            HandlerError::Forward(_) => "Retryable",
            HandlerError::Mirror(crate::shopify::MirrorError::Rejected(_)) => "RejectedEvent",
            HandlerError::Mirror(e) if e.is_retryable() => "Retryable",
            HandlerError::Mirror(_) => "Defect",
            HandlerError::Init(_) => "InitFailed",
        };
        let message = tidings_core::ports::report(&error);
        tracing::error!(error_type, error = %message, "invocation failed");
        Self {
            error_type: error_type.to_owned(),
            error_message: message,
        }
    }
}

/// The environment variables a deployment gives the functions: `infra/functions.json` says which
/// function gets which (the CDK stack and the AWS tests both build each function's environment from
/// it, and a test checks that it names exactly these). docs/aws.md, "Environment".
///
/// Not here: what Lambda itself sets (`AWS_REGION`, credentials, `AWS_LAMBDA_LOG_FORMAT`,
/// `AWS_LAMBDA_LOG_LEVEL`) and `TIDINGS_TLS_ROOTS`, an operator's override that no deployment sets.
pub mod env {
    /// The DynamoDB table.
    pub const TABLE_NAME: &str = "TABLE_NAME";
    /// The bus tidings publishes on.
    pub const EVENT_BUS_NAME: &str = "EVENT_BUS_NAME";
    /// The store configuration TOML, inline.
    pub const STORE_CONFIG: &str = "STORE_CONFIG";
    /// Overrides `sender.unsubscribe_url`.
    pub const UNSUBSCRIBE_URL: &str = "UNSUBSCRIBE_URL";
    /// Configuration set of transactional mail.
    pub const SES_CONFIGURATION_SET_TRANSACTIONAL: &str = "SES_CONFIGURATION_SET_TRANSACTIONAL";
    /// Configuration set of marketing mail.
    pub const SES_CONFIGURATION_SET_MARKETING: &str = "SES_CONFIGURATION_SET_MARKETING";
    /// The SSM SecureString holding the HMAC keys.
    pub const SIGNING_KEY_PARAMETER: &str = "SIGNING_KEY_PARAMETER";
    /// The SSM SecureString holding the key guest pseudonyms are made with (never rotated).
    pub const GUEST_ID_KEY_PARAMETER: &str = "GUEST_ID_KEY_PARAMETER";
    /// The log filter (Lambda's `AWS_LAMBDA_LOG_LEVEL` takes precedence).
    pub const RUST_LOG: &str = "RUST_LOG";
    /// The SSM parameter holding the Shopify Admin API credentials (with `[shopify]` only).
    pub const SHOPIFY_CREDENTIALS_PARAMETER: &str = "SHOPIFY_CREDENTIALS_PARAMETER";
    /// The shared dead-letter queue's URL (the webhooks function keeps what it cannot translate there).
    pub const DEAD_LETTER_QUEUE_URL: &str = crate::webhooks::DEAD_LETTER_QUEUE_URL;
    /// The EventBridge Scheduler group follow-ups' alarms are set in (unset: none are set).
    pub const FOLLOW_UP_ALARM_GROUP: &str = "FOLLOW_UP_ALARM_GROUP";
    /// The role Scheduler assumes to put a due follow-up on the bus.
    pub const FOLLOW_UP_ALARM_ROLE_ARN: &str = "FOLLOW_UP_ALARM_ROLE_ARN";
    /// The bus's ARN (the alarms' target).
    pub const EVENT_BUS_ARN: &str = "EVENT_BUS_ARN";
    /// The shared failures queue's ARN (what Scheduler could not deliver).
    pub const FAILURES_QUEUE_ARN: &str = "FAILURES_QUEUE_ARN";
    /// Every variable above.
    pub const ALL: &[&str] = &[
        TABLE_NAME,
        EVENT_BUS_NAME,
        STORE_CONFIG,
        UNSUBSCRIBE_URL,
        SES_CONFIGURATION_SET_TRANSACTIONAL,
        SES_CONFIGURATION_SET_MARKETING,
        SIGNING_KEY_PARAMETER,
        GUEST_ID_KEY_PARAMETER,
        RUST_LOG,
        SHOPIFY_CREDENTIALS_PARAMETER,
        DEAD_LETTER_QUEUE_URL,
        FOLLOW_UP_ALARM_GROUP,
        FOLLOW_UP_ALARM_ROLE_ARN,
        EVENT_BUS_ARN,
        FAILURES_QUEUE_ARN,
    ];
}

/// Settings read from the environment (docs/aws.md).
#[derive(Clone, Debug)]
pub struct Settings {
    /// `TABLE_NAME`.
    pub table: String,
    /// `EVENT_BUS_NAME`.
    pub bus: String,
    /// `STORE_CONFIG`, parsed, with `UNSUBSCRIBE_URL` applied.
    pub config: StoreConfig,
    /// `SES_CONFIGURATION_SET_TRANSACTIONAL`.
    pub transactional_set: Option<String>,
    /// `SES_CONFIGURATION_SET_MARKETING`.
    pub marketing_set: Option<String>,
    /// `SIGNING_KEY_PARAMETER`.
    pub signing_key_parameter: Option<String>,
    /// `GUEST_ID_KEY_PARAMETER`.
    pub guest_id_key_parameter: Option<String>,
    /// `SHOPIFY_CREDENTIALS_PARAMETER`.
    pub shopify_credentials: Option<String>,
    /// `FOLLOW_UP_ALARM_GROUP` and what alarms need with it.
    pub alarms: Option<AlarmSettings>,
}

impl Settings {
    /// Reads and checks every setting; fails at init, not on the first event.
    pub fn from_env() -> Result<Self, InitError> {
        Self::from_vars(|name| std::env::var(name).ok())
    }

    /// Reads the settings from `lookup` (the environment, or in tests the environment a function
    /// is deployed with). Blank values count as unset.
    pub fn from_vars(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, InitError> {
        let var = |name: &'static str| lookup(name).filter(|v| !v.trim().is_empty());
        let required = |name: &'static str| var(name).ok_or(InitError::MissingEnv(name));
        let mut config = StoreConfig::from_toml(&required(env::STORE_CONFIG)?)?;
        if let Some(url) = var(env::UNSUBSCRIBE_URL) {
            config.sender.unsubscribe_url = url;
            config.check()?;
        }
        kinds::check_coupons(&config)?;
        let alarms = match var(env::FOLLOW_UP_ALARM_GROUP) {
            Some(group) => Some(AlarmSettings {
                group,
                role_arn: required(env::FOLLOW_UP_ALARM_ROLE_ARN)?,
                bus_arn: required(env::EVENT_BUS_ARN)?,
                failures_queue_arn: required(env::FAILURES_QUEUE_ARN)?,
            }),
            None => None,
        };
        Ok(Self {
            table: required(env::TABLE_NAME)?,
            bus: required(env::EVENT_BUS_NAME)?,
            config,
            transactional_set: var(env::SES_CONFIGURATION_SET_TRANSACTIONAL),
            marketing_set: var(env::SES_CONFIGURATION_SET_MARKETING),
            signing_key_parameter: var(env::SIGNING_KEY_PARAMETER),
            guest_id_key_parameter: var(env::GUEST_ID_KEY_PARAMETER),
            shopify_credentials: var(env::SHOPIFY_CREDENTIALS_PARAMETER),
            alarms,
        })
    }
}

/// Amazon Trust Services roots, which every AWS service endpoint chains to.
const AWS_ROOTS: &[u8] = include_bytes!("certs/amazon-trust-services.pem");

/// The SDK configuration every client shares: standard retries (exponential backoff with jitter
/// on throttling and 5xx), loaded once.
///
/// In Lambda the region and the role's credentials are read straight from the environment Lambda
/// sets, instead of building the whole provider chain (measured in `scripts/lambda-bench`).
pub async fn sdk_config() -> SdkConfig {
    let env = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    let mut loader = aws_config::defaults(BehaviorVersion::latest())
        .http_client(https_client())
        .retry_config(
            RetryConfig::standard()
                .with_max_attempts(4)
                .with_initial_backoff(Duration::from_millis(100)),
        );
    if let (Some(region), Some(_)) = (env("AWS_REGION"), env("AWS_ACCESS_KEY_ID")) {
        loader = loader
            .region(aws_config::Region::new(region))
            .credentials_provider(aws_config::environment::EnvironmentVariableCredentialsProvider::new());
    }
    loader.load().await
}

/// The HTTPS client every SDK client shares (also for an `http://` endpoint such as moto).
///
/// Two choices keep the cold start short, both measured in `scripts/lambda-bench`: rustls on
/// `ring` rather than the SDK's default aws-lc, whose larger binary and crypto library start more
/// slowly; and trust in the Amazon Trust Services roots, which every AWS endpoint chains to, parsed
/// from five embedded certificates instead of the system's bundle of ~150 (3.5 ms).
/// `TIDINGS_TLS_ROOTS=system` trusts the system's bundle instead (an endpoint with another CA).
pub fn https_client() -> SharedHttpClient {
    use aws_smithy_http_client::tls::{Provider, TlsContext, TrustStore, rustls_provider::CryptoMode};
    let system = std::env::var("TIDINGS_TLS_ROOTS").is_ok_and(|v| v == "system");
    let trust = if system {
        TrustStore::default()
    } else {
        TrustStore::empty().with_pem_certificate(AWS_ROOTS)
    };
    let builder = aws_smithy_http_client::Builder::new().tls_provider(Provider::Rustls(CryptoMode::Ring));
    match TlsContext::builder().with_trust_store(trust).build() {
        Ok(context) => builder.tls_context(context).build_https(),
        Err(error) => {
            tracing::warn!(%error, "embedded AWS roots unusable; using the system's");
            builder.build_https()
        }
    }
}

/// Everything an engine on AWS is made of, built once at init.
pub struct Parts {
    /// DynamoDB store.
    pub store: DynamoStore,
    /// SES mailer.
    pub mailer: SesMailer,
    /// EventBridge publisher.
    pub bus: EventBridgeBus,
    /// Store configuration.
    pub config: Arc<StoreConfig>,
    /// Templates.
    pub renderer: Renderer,
    /// HMAC keys.
    pub keys: SigningKeys,
}

impl Parts {
    /// Builds the clients from one shared SDK configuration.
    pub async fn new(sdk: &SdkConfig, settings: Settings) -> Result<Self, InitError> {
        let (keys, guests) = read_keys(sdk, &settings).await?;
        let keys = keys.with_guest_ids(guests.clone());
        let config = Arc::new(settings.config);
        // SendEmail is not idempotent: no SDK retries for SES (the mailer retries what is safe).
        let ses = aws_sdk_sesv2::config::Builder::from(sdk)
            .retry_config(RetryConfig::disabled())
            .build();
        let mut store = DynamoStore::new(aws_sdk_dynamodb::Client::new(sdk), settings.table, guests.clone());
        if let Some(alarms) = settings.alarms {
            let client = aws_sdk_scheduler::Client::new(sdk);
            store = store.with_alarms(Arc::new(SchedulerAlarms::new(client, alarms, guests)));
        }
        Ok(Self {
            store,
            mailer: SesMailer::new(
                aws_sdk_sesv2::Client::from_conf(ses),
                settings.transactional_set,
                settings.marketing_set,
            ),
            bus: EventBridgeBus::new(aws_sdk_eventbridge::Client::new(sdk), settings.bus),
            renderer: Renderer::embedded(Arc::clone(&config))?,
            config,
            keys,
        })
    }

    /// The engine, with the mailer optionally wrapped (tests inject failures) and a clock. The
    /// configuration's `[sending]` wraps outermost: in shadow mode what `wrap` returns (SES, or a
    /// test's stand-in for it) is given the simulator's address, as SES would be.
    pub fn engine<M: Mailer, C: Clock>(
        self,
        wrap: impl FnOnce(SesMailer) -> M,
        clock: C,
    ) -> Engine<DynamoStore, ShadowMailer<M>, EventBridgeBus, C> {
        if self.config.sending.is_shadow() {
            tracing::info!(
                allowlisted = self.config.sending.allow.len(),
                "shadow mode: mail goes to the SES mailbox simulator except to allowlisted addresses"
            );
        }
        let ports = Ports {
            store: self.store,
            mailer: ShadowMailer::new(wrap(self.mailer), &self.config.sending),
            bus: self.bus,
            clock,
        };
        Engine::new(ports, self.config, self.renderer, self.keys)
    }
}

/// Builds the Lambda engine from settings and one shared SDK configuration.
pub async fn build(sdk: &SdkConfig, settings: Settings) -> Result<AwsEngine, InitError> {
    let discounts = crate::shopify::discounts(sdk, &settings.config, settings.shopify_credentials.as_deref())
        .or_else(|| crate::woocommerce::coupons(sdk, &settings.config));
    let trackers = crate::trackers::trackers(sdk, &settings.config);
    let engine = Parts::new(sdk, settings).await?.engine(|mailer| mailer, WallClock);
    let engine = match discounts {
        Some(discounts) => engine.with_discounts(discounts),
        None => engine,
    };
    Ok(match trackers {
        Some(trackers) => engine.with_trackers(trackers),
        None => engine,
    })
}

/// The signing keys and the guest-id key, both read with one `GetParameters` call: they are on
/// the first event's critical path. Without their variables, the public demo keys.
async fn read_keys(sdk: &SdkConfig, settings: &Settings) -> Result<(SigningKeys, GuestIds), InitError> {
    let names: Vec<&String> = [&settings.signing_key_parameter, &settings.guest_id_key_parameter]
        .into_iter()
        .flatten()
        .collect();
    let values = if names.is_empty() {
        Vec::new()
    } else {
        parameters(&aws_sdk_ssm::Client::new(sdk), &names).await?
    };
    let value = |name: &Option<String>| {
        name.as_ref().and_then(|name| {
            values
                .iter()
                .find(|(n, _)| n == name)
                .map(|(n, v)| (n.as_str(), v.as_str()))
        })
    };
    let keys = match value(&settings.signing_key_parameter) {
        Some((name, value)) => signing_keys(name, value)?,
        None => {
            tracing::warn!("SIGNING_KEY_PARAMETER is not set: using the public demo key (never for a real store)");
            SigningKeys::demo()
        }
    };
    let guests = match value(&settings.guest_id_key_parameter) {
        Some((_, value)) => GuestIds::new(value.as_bytes())?,
        None => {
            tracing::warn!("GUEST_ID_KEY_PARAMETER is not set: using the public demo key (never for a real store)");
            GuestIds::demo()
        }
    };
    Ok((keys, guests))
}

/// The decrypted values of the SecureStrings `names`, each as (name, value); every one must exist.
async fn parameters(ssm: &aws_sdk_ssm::Client, names: &[&String]) -> Result<Vec<(String, String)>, InitError> {
    let failed = |name: &str, reason: String| InitError::Parameter {
        name: name.to_owned(),
        reason,
    };
    let output = ssm
        .get_parameters()
        .set_names(Some(names.iter().map(|n| n.to_string()).collect()))
        .with_decryption(true)
        .send()
        .await
        .map_err(|e| {
            failed(
                &names.iter().map(|n| n.as_str()).collect::<Vec<_>>().join(", "),
                aws_sdk_ssm::error::DisplayErrorContext(e).to_string(),
            )
        })?;
    if let Some(missing) = output.invalid_parameters().first() {
        return Err(failed(
            missing,
            "does not exist (the stack's Keys resource creates it)".into(),
        ));
    }
    let mut values = Vec::new();
    for name in names {
        let value = output
            .parameters()
            .iter()
            .find(|p| p.name() == Some(name.as_str()))
            .and_then(|p| p.value())
            // Not trimmed: a key copied from its old secret must stay byte for byte what it was.
            .filter(|v| !v.is_empty())
            .ok_or_else(|| failed(name, "has no value".into()))?;
        values.push((name.to_string(), value.to_owned()));
    }
    Ok(values)
}

/// Reads `{"current": …, "previous": …}` (rotation) or a plain string.
fn signing_keys(name: &str, value: &str) -> Result<SigningKeys, InitError> {
    let failed = |reason: String| InitError::Parameter {
        name: name.to_owned(),
        reason,
    };
    let (current, previous) = match serde_json::from_str::<Value>(value) {
        Ok(Value::Object(map)) => {
            let field = |name: &str| map.get(name).and_then(Value::as_str).map(str::to_owned);
            let current = field("current").ok_or_else(|| failed("JSON value without \"current\"".into()))?;
            (current, field("previous"))
        }
        _ => (value.to_owned(), None),
    };
    // Key ids derive from the keys, so a token names the key that signed it without exposing it.
    let id = |key: &str| digest_hex(&["key-id", key], 8);
    let previous = previous.as_deref().map(|p| (id(p), p.as_bytes()));
    Ok(SigningKeys::new(
        &id(&current),
        current.as_bytes(),
        previous.as_ref().map(|(i, k)| (i.as_str(), *k)),
    )?)
}

/// Handles one EventBridge event in a step function.
pub async fn handle<S: Store, M: Mailer, B: Bus, C: Clock>(
    engine: &Engine<S, M, B, C>,
    step: Step,
    payload: Value,
) -> Result<Value, HandlerError> {
    let event = match parse_envelope_value(payload)? {
        Parsed::Known(event) => event,
        Parsed::Unknown { detail_type } => {
            tracing::info!(step = step.as_str(), detail_type, "unknown detail-type ignored");
            return Ok(json!({ "ignored": detail_type }));
        }
    };
    if let Event::FollowUpDue(due) = &event.event
        && due.step != step
    {
        tracing::warn!(step = step.as_str(), owner = due.step.as_str(), message_key = %due.key.redacted(), "follow-up routed to the wrong step; ignored");
        return Ok(json!({ "ignored": "FollowUpDue for another step" }));
    }
    let outcomes = engine.handle(&event).await?;
    Ok(json!({ "outcomes": outcomes.iter().map(Outcome::to_string).collect::<Vec<_>>() }))
}

pub use crate::alarm_setter::{UPGRADE_PAUSES, set_waiting_alarms};

/// Logs as Lambda's advanced logging controls ask: JSON when `AWS_LAMBDA_LOG_FORMAT=JSON`, at the
/// level of `AWS_LAMBDA_LOG_LEVEL` or `RUST_LOG` (`info`, or `target=level` directives), no
/// timestamps (Lambda adds them). Plain target filters rather than `EnvFilter`, whose regex
/// engine would add ~300 KB to every function.
pub(crate) fn init_logging() {
    use tracing_subscriber::filter::{LevelFilter, Targets};
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;
    let var = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
    let spec = var("AWS_LAMBDA_LOG_LEVEL").or_else(|| var(env::RUST_LOG));
    let filter = spec
        .and_then(|spec| spec.to_ascii_lowercase().parse::<Targets>().ok())
        .unwrap_or_else(|| Targets::new().with_default(LevelFilter::INFO));
    let json = var("AWS_LAMBDA_LOG_FORMAT").is_some_and(|f| f.eq_ignore_ascii_case("json"));
    let layer = tracing_subscriber::fmt::layer()
        .with_target(false)
        .without_time()
        .with_writer(std::io::stdout);
    let registry = tracing_subscriber::registry().with(filter);
    // A second initialisation (tests running several handlers) keeps the first subscriber.
    let _ = if json {
        registry.with(layer.json()).try_init()
    } else {
        registry.with(layer).try_init()
    };
}

/// The engine, built on the first event rather than at init, so the keys are read from SSM when
/// first needed. A failed build fails that event (Lambda retries it) and is tried again on the next.
pub struct FirstUse {
    sdk: SdkConfig,
    settings: Settings,
    engine: tokio::sync::OnceCell<AwsEngine>,
}

impl FirstUse {
    /// Nothing built yet.
    pub fn new(sdk: SdkConfig, settings: Settings) -> Self {
        Self {
            sdk,
            settings,
            engine: tokio::sync::OnceCell::new(),
        }
    }

    /// The engine, built by the first call that succeeds.
    pub async fn engine(&self) -> Result<&AwsEngine, InitError> {
        self.engine
            .get_or_try_init(|| build(&self.sdk, self.settings.clone()))
            .await
    }
}

/// A function's init: logs, the SDK configuration and the settings (checked now, so a wrong
/// setting fails the init); the engine on first use.
async fn init() -> Result<FirstUse, lambda_runtime::Error> {
    init_logging();
    Ok(FirstUse::new(sdk_config().await, Settings::from_env()?))
}

/// Everything a step function's `main` does: JSON logs, clients once, then serve events.
pub async fn run_step(step: Step) -> Result<(), lambda_runtime::Error> {
    let engines = init().await?;
    let engines = &engines;
    lambda_runtime::run(lambda_runtime::service_fn(
        // Boxed (here and in every function's service): the runtime's future then holds a pointer,
        // not the engine's whole future nested in its own, which is deeper than rustc likes.
        move |event: lambda_runtime::LambdaEvent<Value>| {
            Box::pin(async move { handle(engines.engine().await?, step, event.payload).await })
        },
    ))
    .await
}

/// The unsubscribe function's `main`: the page behind a Lambda Function URL.
pub async fn run_unsubscribe() -> Result<(), lambda_runtime::Error> {
    let engines = init().await?;
    let engines = &engines;
    lambda_http::run(lambda_http::service_fn(move |request: lambda_http::Request| {
        Box::pin(async move {
            let engine = engines.engine().await?;
            let query = request.uri().query().unwrap_or_default().to_owned();
            let page =
                tidings_core::unsubscribe::serve(engine, request.method().as_str(), &query, request.body().as_ref())
                    .await?;
            let response = lambda_http::Response::builder()
                .status(page.status)
                .header("content-type", "text/html; charset=utf-8")
                .header("cache-control", "no-store")
                .body(lambda_http::Body::from(page.body))?;
            Ok::<_, lambda_http::Error>(response)
        })
    }))
    .await
}

/// The `follow-up-sweeper` function's `main` (`set_waiting_alarms`).
pub async fn run_sweeper() -> Result<(), lambda_runtime::Error> {
    let engines = init().await?;
    let engines = &engines;
    lambda_runtime::run(lambda_runtime::service_fn(
        move |event: lambda_runtime::LambdaEvent<Value>| {
            // `{"settle_seconds": N}` from the stack's FollowUpAlarms resource; none by hand.
            let settle = Duration::from_secs(event.payload["settle_seconds"].as_u64().unwrap_or(0));
            // The retired minute rule still fires while a deployment replaces it (CloudFormation
            // deletes it last): its ticks would run the setter every minute, racing the real run.
            let tick = event.payload["source"] == "aws.events";
            Box::pin(async move {
                if tick {
                    return Ok(json!({ "ignored": "a tick of the retired sweeper schedule" }));
                }
                set_waiting_alarms(engines.engine().await?, settle, tokio::time::sleep).await
            })
        },
    ))
    .await
}
