//! Test support: an in-memory app (the engine with memory adapters and a simulated clock) driven by
//! EventBridge-shaped events, replay helpers, and builders for event payloads.

// The engine's futures over the AWS SDK's nest deeper than rustc's default query depth (128)
// allows in some build orders: a clean CI build hit 130 computing a `main`'s layout.
#![recursion_limit = "256"]

pub mod contract;
pub mod faults;
pub mod functions;
pub mod http;
pub mod moto;
pub mod shopify_admin;
pub mod stand_in;
pub mod tracking_apis;
pub mod woocommerce_rest;

use jiff::{SignedDuration, Timestamp};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tidings_cli::{IndexLine, Input, Report, Settings};
use tidings_core::adapters::memory::{MemoryBus, MemoryMailer, MemoryStore, SimClock};
use tidings_core::config::StoreConfig;
use tidings_core::engine::{Engine, EngineError, Outcome, Ports};
use tidings_core::event::{Parsed, parse_envelope};
use tidings_core::ports::{FollowUps, Mailer, OutgoingEmail, SendError};
use tidings_core::render::Renderer;
use tidings_core::signing::SigningKeys;

/// The repository root.
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Headless Chromium for the browser checks: `None` (the check says so and passes) when it is not
/// installed, unless the test command installed it (`TIDINGS_REQUIRE_BROWSER=1`), where a missing
/// browser fails the check rather than skipping it.
pub fn chromium() -> Option<PathBuf> {
    let found = std::env::var_os("PATH")
        .into_iter()
        .flat_map(|paths| std::env::split_paths(&paths).collect::<Vec<_>>())
        .map(|dir| dir.join("chromium"))
        .find(|path| path.is_file());
    if found.is_none() {
        assert!(
            std::env::var_os("TIDINGS_REQUIRE_BROWSER").is_none(),
            "TIDINGS_REQUIRE_BROWSER is set but chromium is not on the PATH"
        );
        eprintln!("chromium is not installed (apt-get install chromium): not checked in a browser");
    }
    found
}

/// Chromium's arguments for a quiet headless run with its own profile in `profile`: nothing calls home.
pub fn headless_args(profile: &Path) -> Vec<String> {
    [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--hide-scrollbars",
    ]
    .into_iter()
    .map(str::to_owned)
    .chain([format!("--user-data-dir={}", profile.display())])
    .collect()
}

/// A spec example file (the copy kept in `docs/spec/examples`).
pub fn example(name: &str) -> PathBuf {
    repo_root().join("docs/spec/examples").join(name)
}

/// Parses an RFC 3339 timestamp.
pub fn ts(text: &str) -> Timestamp {
    text.parse().expect("test timestamp")
}

/// A replay and its outbox (kept alive as long as this value).
pub struct Replayed {
    /// Keeps the outbox directory.
    pub dir: tempfile::TempDir,
    /// What the replay reported.
    pub report: Report,
    /// `events.jsonl`, parsed.
    pub events: Vec<Value>,
}

impl Replayed {
    /// The outbox directory.
    pub fn outbox(&self) -> PathBuf {
        self.dir.path().join("outbox")
    }

    /// Index lines.
    pub fn sent(&self) -> &[IndexLine] {
        &self.report.sent
    }

    /// `(at, kind)` of every email, in order.
    pub fn timeline(&self) -> Vec<(String, String)> {
        self.report
            .sent
            .iter()
            .map(|l| (l.at.to_string(), l.kind.clone()))
            .collect()
    }

    /// Emitted events of one detail-type.
    pub fn emitted(&self, detail_type: &str) -> Vec<&Value> {
        self.events.iter().filter(|e| e["detail-type"] == detail_type).collect()
    }

    /// The raw bytes of the n-th email (1-based).
    pub fn eml(&self, n: usize) -> Vec<u8> {
        std::fs::read(self.outbox().join(&self.report.sent[n - 1].file)).expect("eml file")
    }
}

/// Replays text inputs with the sample store settings into a fresh outbox.
pub fn replay_inputs(inputs: Vec<Input>) -> Replayed {
    replay_with(inputs, StoreConfig::sample())
}

/// Four customers with consent each order a mug on 3 November and have it delivered on the 5th,
/// then the clock runs to the 6th: four delivery confirmations, each with a coupon.
pub fn four_delivered_orders<M: Mailer>(app: &TestApp<M>) {
    for n in 1..=4 {
        deliver_mug_order(app, n);
    }
    app.run_until(ts("2026-11-06T00:00:00Z"));
}

/// Customer `c-<n>` (with consent) orders a mug (`o-<n>`) on 3 November at 15:00 and has it delivered
/// on the 5th at 15:00; the clock is not run on.
pub fn deliver_mug_order<M: Mailer>(app: &TestApp<M>, n: usize) {
    let who = customer(&format!("c-{n}"), "en-US", "America/New_York", true);
    let id = format!("o-{n}");
    app.deliver(&order_confirmed(
        &id,
        &who,
        vec![item("p-mug", "kitchen", 1, 1800)],
        "2026-11-03T15:00:00Z",
    ))
    .expect("order");
    app.deliver(&envelope(
        "OrderDelivered",
        "2026-11-05T15:00:00Z",
        serde_json::json!({"order_id": id}),
    ))
    .expect("delivered");
}

/// The secrets the captured webhook deliveries of docs/examples are signed with (the README's
/// replay sets them in `TIDINGS_WEBHOOK_SECRET_*`).
pub fn webhook_secrets() -> tidings_core::webhook::Secrets {
    use tidings_core::webhook::{Secrets, Source};
    Source::ALL.into_iter().fold(Secrets::default(), |secrets, source| {
        secrets.with(source, &example_secret(source))
    })
}

/// The example secret of `source` (`example-woocommerce-secret`).
pub fn example_secret(source: tidings_core::webhook::Source) -> String {
    format!("example-{}-secret", source.name())
}

/// Replays with custom settings.
pub fn replay_with(inputs: Vec<Input>, config: StoreConfig) -> Replayed {
    replay_from(inputs, config, None)
}

/// Replays starting from past orders (`tidings import`).
pub fn replay_from(
    inputs: Vec<Input>,
    config: StoreConfig,
    history: Option<tidings_core::shopify::import::History>,
) -> Replayed {
    let dir = tempfile::tempdir().expect("temp dir");
    let outbox = dir.path().join("outbox");
    let settings = Settings {
        config,
        keys: SigningKeys::demo(),
        templates: None,
        until: None,
        history,
        webhook_secrets: webhook_secrets(),
    };
    let runtime = tokio_runtime();
    let report = runtime
        .block_on(tidings_cli::replay(&inputs, &outbox, settings))
        .expect("replay succeeds");
    let events = std::fs::read_to_string(outbox.join("events.jsonl"))
        .expect("events.jsonl")
        .lines()
        .map(|l| serde_json::from_str(l).expect("event json"))
        .collect();
    Replayed { dir, report, events }
}

/// Replays event files.
pub fn replay_files(paths: &[PathBuf]) -> Replayed {
    replay_inputs(
        paths
            .iter()
            .map(|p| Input {
                name: p.display().to_string(),
                text: std::fs::read_to_string(p).expect("event file"),
            })
            .collect(),
    )
}

/// Replays envelopes given as JSON values.
pub fn replay_events(events: &[Value]) -> Replayed {
    let text = events.iter().map(Value::to_string).collect::<Vec<_>>().join("\n");
    replay_inputs(vec![Input {
        name: "test.jsonl".into(),
        text,
    }])
}

pub fn tokio_runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
}

/// A mailer that fails the first `transient` sends, then rejects `permanent_for` addresses for good.
#[derive(Default)]
pub struct FlakyMailer {
    /// Temporary failures left to inject.
    pub transient: std::sync::atomic::AtomicUsize,
    /// Addresses rejected permanently.
    pub reject: Vec<String>,
    /// Where successful sends go.
    pub inner: MemoryMailer,
}

impl Mailer for FlakyMailer {
    async fn send(&self, email: &OutgoingEmail) -> Result<String, SendError> {
        use std::sync::atomic::Ordering;
        if self.reject.iter().any(|r| r == email.to.as_str()) {
            return Err(SendError::Permanent(
                "MessageRejected: address on the account's block list".into(),
            ));
        }
        let left = self.transient.load(Ordering::SeqCst);
        if left > 0 {
            self.transient.store(left - 1, Ordering::SeqCst);
            return Err(SendError::Transient("Throttling: Maximum sending rate exceeded".into()));
        }
        self.inner.send(email).await
    }
}

/// A store's discount codes that fail as told: `unavailable` calls answered "try later" first,
/// or every call refused. Records each code it created, with the clock's time.
#[derive(Default)]
pub struct FlakyDiscounts {
    /// "Try later" answers left to give.
    pub unavailable: std::sync::atomic::AtomicUsize,
    /// Refuse every code for good.
    pub refuse: bool,
    /// Codes created, with when (the simulated clock), in order.
    pub created: std::sync::Mutex<Vec<(String, Timestamp)>>,
    /// Every call, successful or not.
    pub calls: std::sync::atomic::AtomicUsize,
    /// The clock the creation times are read from.
    pub clock: Option<Arc<SimClock>>,
}

impl tidings_core::ports::Discounts for FlakyDiscounts {
    fn create<'a>(
        &'a self,
        coupon: &'a tidings_core::event::CouponIssued,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<(), tidings_core::ports::DiscountError>> + Send + 'a>>
    {
        use std::sync::atomic::Ordering;
        use tidings_core::ports::DiscountError;
        Box::pin(async move {
            self.calls.fetch_add(1, Ordering::SeqCst);
            if self.refuse {
                return Err(DiscountError::Refused(
                    "a discount with that code is another one".into(),
                ));
            }
            let left = self.unavailable.load(Ordering::SeqCst);
            if left > 0 {
                self.unavailable.store(left - 1, Ordering::SeqCst);
                return Err(DiscountError::Unavailable("THROTTLED".into()));
            }
            let at = self.clock.as_ref().map_or(Timestamp::UNIX_EPOCH, |c| {
                use tidings_core::ports::Clock;
                c.now()
            });
            let mut created = self.created.lock().expect("lock");
            if !created.iter().any(|(code, _)| *code == coupon.code) {
                created.push((coupon.code.clone(), at));
            }
            Ok(())
        })
    }
}

/// The engine with memory adapters, driven event by event with a simulated clock.
pub struct TestApp<M: Mailer = MemoryMailer> {
    /// The engine.
    pub engine: Engine<MemoryStore, M, MemoryBus, Arc<SimClock>>,
    /// The clock it reads.
    pub clock: Arc<SimClock>,
    runtime: tokio::runtime::Runtime,
}

/// A test app over the sample store with the memory mailer.
pub fn spawn_app() -> TestApp {
    spawn_app_with(MemoryMailer::default(), StoreConfig::sample())
}

/// A test app with a given mailer and config.
pub fn spawn_app_with<M: Mailer>(mailer: M, config: StoreConfig) -> TestApp<M> {
    let config = Arc::new(config);
    let clock = Arc::new(SimClock::new(ts("2026-01-01T00:00:00Z")));
    let renderer = Renderer::embedded(Arc::clone(&config)).expect("templates");
    let ports = Ports {
        store: MemoryStore::new(),
        mailer,
        bus: MemoryBus::default(),
        clock: Arc::clone(&clock),
    };
    TestApp {
        engine: Engine::new(ports, config, renderer, SigningKeys::demo()),
        clock,
        runtime: tokio_runtime(),
    }
}

impl<M: Mailer> TestApp<M> {
    /// The same app creating every coupon's code through `discounts` before sending.
    pub fn with_discounts(self, discounts: Arc<dyn tidings_core::ports::Discounts>) -> Self {
        let Self { engine, clock, runtime } = self;
        Self {
            engine: engine.with_discounts(discounts),
            clock,
            runtime,
        }
    }

    /// The same app registering every parcel with a number with `trackers`.
    pub fn with_trackers(self, trackers: Arc<dyn tidings_core::ports::Trackers>) -> Self {
        let Self { engine, clock, runtime } = self;
        Self {
            engine: engine.with_trackers(trackers),
            clock,
            runtime,
        }
    }

    /// Delivers one envelope at its own time (follow-ups due before it fire first).
    pub fn deliver(&self, envelope: &Value) -> Result<Vec<Outcome>, EngineError> {
        let time = ts(envelope["time"].as_str().expect("envelope time"));
        self.deliver_at(envelope, time)
    }

    /// Delivers an envelope at processing time `now` (EventBridge delivers late and out of order).
    pub fn deliver_at(&self, envelope: &Value, now: Timestamp) -> Result<Vec<Outcome>, EngineError> {
        let Parsed::Known(event) = parse_envelope(&envelope.to_string()).expect("valid event") else {
            panic!("test events must be known types")
        };
        self.run_until(now - SignedDuration::from_nanos(1));
        self.clock.set(now);
        self.engine.store().expire(now);
        self.runtime.block_on(self.engine.handle(&event))
    }

    /// Fires every follow-up due up to `until`, moving the clock; returns what happened.
    pub fn run_until(&self, until: Timestamp) -> Vec<Outcome> {
        let mut out = Vec::new();
        loop {
            let store = self.engine.store();
            let next = self.runtime.block_on(store.due_follow_ups(until, 1)).expect("store");
            let Some(follow_up) = next.into_iter().next() else {
                break;
            };
            self.clock.set(follow_up.due_at);
            self.engine.store().expire(follow_up.due_at);
            out.extend(self.runtime.block_on(self.engine.fire(&follow_up.key)).expect("fire"));
        }
        self.clock.set(until.max(self.clock_now()));
        out
    }

    fn clock_now(&self) -> Timestamp {
        use tidings_core::ports::Clock;
        self.clock.now()
    }

    /// Runs a future of the engine to completion.
    pub fn block_on<F: std::future::Future>(&self, future: F) -> F::Output {
        self.runtime.block_on(future)
    }
}

impl TestApp<MemoryMailer> {
    /// `(at, message key)` of every email sent so far.
    pub fn sent(&self) -> Vec<(String, String)> {
        self.engine
            .mailer()
            .sent()
            .iter()
            .map(|e| (e.at.to_string(), e.key.to_string()))
            .collect()
    }
}

/// An EventBridge envelope as the store's bridge sends it.
pub fn envelope(detail_type: &str, time: &str, detail: Value) -> Value {
    let id = tidings_core::signing::derived_uuid(&format!("{detail_type}{time}{detail}"));
    json!({
        "version": "0", "id": id, "detail-type": detail_type, "source": "shop.example",
        "account": "123456789012", "time": time, "region": "eu-west-1", "resources": [], "detail": detail
    })
}

/// An SES event as its configuration set puts it on the bus (`source` = `aws.ses`).
pub fn ses_event(detail_type: &str, time: &str, detail: Value) -> Value {
    let mut event = envelope(detail_type, time, detail);
    event["source"] = json!("aws.ses");
    event
}

/// The `mail` part of an SES event for a message tidings sent, merged with `extra`.
pub fn ses_mail(customer_id: &str, message_key: &str, extra: Value) -> Value {
    let tag = tidings_core::feedback::tag_value;
    let mut detail = json!({"mail": {"messageId": "ses-1", "destination": ["1@example.com"], "tags": {
        "message_key": [tag(message_key)], "customer_id": [tag(customer_id)]}}});
    if let (Some(target), Some(more)) = (detail.as_object_mut(), extra.as_object()) {
        target.extend(more.clone());
    }
    detail
}

/// A click on `link` in a message tidings sent.
pub fn ses_click(customer_id: &str, message_key: &str, time: &str, link: &str) -> Value {
    ses_event(
        "Email Clicked",
        time,
        ses_mail(
            customer_id,
            message_key,
            json!({"eventType": "Click", "click": {"timestamp": time, "link": link}}),
        ),
    )
}

/// A customer payload.
pub fn customer(id: &str, locale: &str, time_zone: &str, consent: bool) -> Value {
    let name = id.trim_start_matches("c-");
    json!({
        "id": id, "email": format!("{name}@example.com"), "first_name": format!("Name{name}"), "last_name": format!("Family{name}"),
        "locale": locale, "time_zone": time_zone, "marketing_consent": consent, "tags": []
    })
}

/// A line item.
pub fn item(product: &str, category: &str, quantity: u32, unit_price: u64) -> Value {
    json!({
        "sku": product.to_uppercase(), "product_id": product, "name": format!("Product {product}"),
        "category": category, "quantity": quantity, "unit_price": unit_price,
        "image_url": format!("https://shop.example/img/{product}.jpg"), "url": format!("https://shop.example/p/{product}")
    })
}

/// An order payload (totals computed from the items).
pub fn order(id: &str, customer: &Value, currency: &str, items: Vec<Value>, placed_at: &str) -> Value {
    let subtotal: u64 = items
        .iter()
        .map(|i| i["quantity"].as_u64().unwrap_or(0) * i["unit_price"].as_u64().unwrap_or(0))
        .sum();
    json!({
        "id": id, "number": format!("#{}", id.trim_start_matches("o-")), "customer": customer, "currency": currency,
        "items": items, "subtotal": subtotal, "shipping": 500, "discount": 0, "tax": 0, "total": subtotal + 500,
        "shipping_address": {"name": "A Person", "line1": "1 Main St", "city": "Springfield", "postal_code": "12345", "country": "US"},
        "estimated_delivery": null, "cart_id": null, "coupon_code": null, "placed_at": placed_at,
        "status_url": format!("https://shop.example/orders/{id}")
    })
}

/// An `OrderConfirmed` envelope for an order placed at `time` (its event time too).
pub fn order_confirmed(id: &str, who: &Value, items: Vec<Value>, time: &str) -> Value {
    envelope(
        "OrderConfirmed",
        time,
        json!({ "order": order(id, who, "USD", items, time) }),
    )
}

/// A cart payload.
pub fn cart(id: &str, customer: &Value, items: Vec<Value>, updated_at: &str) -> Value {
    let subtotal: u64 = items
        .iter()
        .map(|i| i["quantity"].as_u64().unwrap_or(0) * i["unit_price"].as_u64().unwrap_or(0))
        .sum();
    json!({
        "id": id, "customer": customer, "currency": "USD", "items": items, "subtotal": subtotal,
        "checkout_url": format!("https://shop.example/checkout/{id}"), "updated_at": updated_at
    })
}
