//! A local AWS for the integration tests: moto's server mode, started once per test binary on a free
//! port, reset before each test, stopped when the binary exits. Tests that use it run one at a time.

use crate::functions::Source;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_dynamodb::config::Credentials;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection,
    ProjectionType, ScalarAttributeType,
};
use serde_json::Value;
use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};
use tidings_aws::lambda::Settings;
use tidings_core::config::StoreConfig;

/// The running emulator.
pub struct Moto {
    /// `http://127.0.0.1:<port>`.
    pub endpoint: String,
    port: u16,
    log: PathBuf,
    // Its stdin is held open for the life of the test binary; when it closes, the shell stops moto.
    _shell: Mutex<Child>,
}

static MOTO: OnceLock<Moto> = OnceLock::new();
static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// The Python that has moto: the repository's `.venv` (scripts/test creates it), else `python3`.
fn moto_python() -> PathBuf {
    if let Some(path) = std::env::var_os("TIDINGS_MOTO_PYTHON") {
        return PathBuf::from(path);
    }
    let venv = crate::repo_root().join(".venv/bin/python3");
    if venv.exists() {
        return venv;
    }
    PathBuf::from("python3")
}

fn start() -> Moto {
    let port = TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free local port")
        .port();
    let log = std::env::temp_dir().join(format!("tidings-moto-{port}.log"));
    let python = moto_python();
    let server = crate::repo_root().join("tests/support/moto_serial.py");
    // The shell starts moto, then waits for its stdin to close (this process exiting) and stops it.
    let shell = Command::new("sh")
        .arg("-c")
        .arg(r#""$0" "$1" -H 127.0.0.1 -p "$2" >"$3" 2>&1 & pid=$!; cat >/dev/null; kill "$pid" 2>/dev/null; wait "$pid""#)
        .arg(&python)
        .arg(&server)
        .arg(port.to_string())
        .arg(&log)
        .stdin(Stdio::piped())
        .spawn()
        .expect("sh is available");
    let moto = Moto {
        endpoint: format!("http://127.0.0.1:{port}"),
        port,
        log,
        _shell: Mutex::new(shell),
    };
    // Readiness, not timing: poll until the server answers (bounded).
    let deadline = Instant::now() + Duration::from_secs(60);
    while moto.request("GET", "/moto-api/data.json").is_err() {
        assert!(
            Instant::now() < deadline,
            "moto ({}) did not start; run ./scripts/test (it installs moto into .venv) or `pip install 'moto[server]'`. Log: {}",
            python.display(),
            std::fs::read_to_string(&moto.log).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    moto
}

impl Moto {
    /// A plain HTTP/1.1 request to moto's own API (no client crate needed for two calls).
    pub fn request(&self, method: &str, path: &str) -> std::io::Result<String> {
        let mut stream = TcpStream::connect(("127.0.0.1", self.port))?;
        write!(
            stream,
            "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
        )?;
        let mut response = String::new();
        stream.read_to_string(&mut response)?;
        let (head, body) = response.split_once("\r\n\r\n").unwrap_or((&response, ""));
        if !head.starts_with("HTTP/1.1 200") && !head.starts_with("HTTP/1.0 200") {
            return Err(std::io::Error::other(
                head.lines().next().unwrap_or("no answer").to_owned(),
            ));
        }
        Ok(body.to_owned())
    }

    /// How many AWS API calls moto has served so far (one log line per request), follow-ups'
    /// alarms apart (`alarm_requests`: they are set concurrently, a round trip for all).
    pub fn requests(&self) -> usize {
        self.count(|line| !line.contains(" /schedules/"))
    }

    /// How many EventBridge Scheduler calls (follow-ups' alarms set and cleared) moto has served.
    pub fn alarm_requests(&self) -> usize {
        self.count(|line| line.contains(" /schedules/"))
    }

    fn count(&self, which: impl Fn(&str) -> bool) -> usize {
        std::fs::read_to_string(&self.log)
            .unwrap_or_default()
            .lines()
            // JSON APIs (DynamoDB, EventBridge, SQS) post to `/`, SES v2 to `/v2/...`; moto's own
            // API (`/moto-api/...`) is the harness, not tidings.
            .filter(|line| {
                ["\"POST /", "\"GET /", "\"PUT /", "\"DELETE /"]
                    .iter()
                    .any(|method| line.contains(method))
                    && !line.contains(" /moto-api/")
                    && which(line)
            })
            .count()
    }
}

/// One AWS test: a fresh emulator state with the table, bus, identity and an SQS queue that
/// receives everything tidings emits.
pub struct AwsTest {
    /// SDK configuration pointing at moto.
    pub sdk: SdkConfig,
    /// The emulator.
    pub moto: &'static Moto,
    /// Table name.
    pub table: String,
    /// Bus name.
    pub bus: String,
    /// The signing key's SSM parameter.
    pub signing_key_parameter: String,
    /// The guest-id key's SSM parameter.
    pub guest_id_key_parameter: String,
    queue_url: String,
    /// The webhooks function's dead-letter queue.
    pub failures: String,
    _serial: tokio::sync::MutexGuard<'static, ()>,
}

/// One EventBridge Scheduler schedule of the follow-ups' group.
#[derive(Clone, Debug)]
pub struct Alarm {
    /// Its name.
    pub name: String,
    /// `at(…)`.
    pub expression: String,
    /// `ActionAfterCompletion: DELETE`.
    pub deletes_itself: bool,
    /// The target's ARN (the bus).
    pub target: String,
    /// The detail-type it puts on the bus.
    pub detail_type: String,
    /// The detail it puts on the bus.
    pub input: Value,
}

/// The event `alarm` puts on the bus when it fires, as EventBridge delivers it to a rule.
pub fn alarm_event(alarm: &Alarm) -> Value {
    serde_json::json!({
        "version": "0", "id": format!("alarm-{}", alarm.name), "detail-type": alarm.detail_type,
        "source": "tidings", "account": "123456789012", "time": jiff::Timestamp::now().to_string(),
        "region": "eu-west-1", "resources": [], "detail": alarm.input,
    })
}

/// The follow-ups' schedule group and the role Scheduler assumes (infra/lib/stack/alarms.ts).
pub const ALARM_GROUP: &str = "tidings-follow-ups";
const ALARM_ROLE_ARN: &str = "arn:aws:iam::123456789012:role/tidings-follow-up-alarms";

/// The configuration sets the AWS tests send with.
const TRANSACTIONAL_SET: &str = "tidings-transactional";
const MARKETING_SET: &str = "tidings-marketing";

/// Starts (once) and resets moto, and creates what the functions expect.
pub async fn aws_test() -> AwsTest {
    let serial = SERIAL.lock().await;
    let moto = MOTO.get_or_init(start);
    moto.request("POST", "/moto-api/reset").expect("moto reset");
    let sdk = aws_config::defaults(BehaviorVersion::latest())
        .http_client(tidings_aws::lambda::https_client())
        .endpoint_url(&moto.endpoint)
        .region(Region::new("eu-west-1"))
        .credentials_provider(Credentials::new("testing", "testing", None, None, "moto"))
        .load()
        .await;
    let test = AwsTest {
        sdk,
        moto,
        table: "tidings".into(),
        bus: "tidings-test".into(),
        signing_key_parameter: "/tidings/test/signing-key".into(),
        guest_id_key_parameter: "/tidings/test/guest-id-key".into(),
        queue_url: String::new(),
        failures: String::new(),
        _serial: serial,
    };
    test.create_table().await;
    let ses = aws_sdk_sesv2::Client::new(&test.sdk);
    ses.create_email_identity()
        .email_identity("shop.example")
        .send()
        .await
        .expect("identity");
    // As deployed: one configuration set per category (their event destinations are what the AWS
    // tests play, since moto publishes no SES events).
    for set in [TRANSACTIONAL_SET, MARKETING_SET] {
        ses.create_configuration_set()
            .configuration_set_name(set)
            .send()
            .await
            .expect("configuration set");
    }
    // As the stack's Keys resource leaves them: SecureStrings under the account's `aws/ssm` key.
    let ssm = aws_sdk_ssm::Client::new(&test.sdk);
    for (name, value) in [
        (
            &test.signing_key_parameter,
            r#"{"current": "aws-test-signing-key-0123456789abcdefghijklmnop"}"#,
        ),
        (
            &test.guest_id_key_parameter,
            "aws-test-guest-id-key-0123456789abcdefghijklmnop",
        ),
    ] {
        ssm.put_parameter()
            .name(name)
            .value(value)
            .r#type(aws_sdk_ssm::types::ParameterType::SecureString)
            .send()
            .await
            .expect("key parameter");
    }
    aws_sdk_scheduler::Client::new(&test.sdk)
        .create_schedule_group()
        .name(ALARM_GROUP)
        .send()
        .await
        .expect("schedule group");
    let events = aws_sdk_eventbridge::Client::new(&test.sdk);
    events.create_event_bus().name(&test.bus).send().await.expect("bus");
    let sqs = aws_sdk_sqs::Client::new(&test.sdk);
    let queue_url = sqs
        .create_queue()
        .queue_name("emitted")
        .send()
        .await
        .expect("queue")
        .queue_url
        .expect("url");
    let arn = "arn:aws:sqs:eu-west-1:123456789012:emitted";
    events
        .put_rule()
        .name("emitted")
        .event_bus_name(&test.bus)
        .event_pattern(
            r#"{"source":["tidings","tidings.shopify","tidings.woocommerce","tidings.aftership","tidings.easypost"]}"#,
        )
        .send()
        .await
        .expect("rule");
    events
        .put_targets()
        .rule("emitted")
        .event_bus_name(&test.bus)
        .targets(
            aws_sdk_eventbridge::types::Target::builder()
                .id("queue")
                .arn(arn)
                .build()
                .expect("target"),
        )
        .send()
        .await
        .expect("target");
    // The stack's failures queue, with its rule for AttentionNeeded (infra/lib/stack/bus.ts).
    let failures = sqs
        .create_queue()
        .queue_name("failures")
        .send()
        .await
        .expect("queue")
        .queue_url
        .expect("url");
    events
        .put_rule()
        .name("attention")
        .event_bus_name(&test.bus)
        .event_pattern(r#"{"source":["tidings"],"detail-type":["AttentionNeeded"]}"#)
        .send()
        .await
        .expect("rule");
    events
        .put_targets()
        .rule("attention")
        .event_bus_name(&test.bus)
        .targets(
            aws_sdk_eventbridge::types::Target::builder()
                .id("failures")
                .arn("arn:aws:sqs:eu-west-1:123456789012:failures")
                .build()
                .expect("target"),
        )
        .send()
        .await
        .expect("target");
    AwsTest {
        queue_url,
        failures,
        ..test
    }
}

impl AwsTest {
    async fn create_table(&self) {
        let attr = |name: &str| {
            AttributeDefinition::builder()
                .attribute_name(name)
                .attribute_type(ScalarAttributeType::S)
                .build()
                .expect("attribute")
        };
        let key = |name: &str, kind| {
            KeySchemaElement::builder()
                .attribute_name(name)
                .key_type(kind)
                .build()
                .expect("key")
        };
        aws_sdk_dynamodb::Client::new(&self.sdk)
            .create_table()
            .table_name(&self.table)
            .billing_mode(BillingMode::PayPerRequest)
            .attribute_definitions(attr("pk"))
            .attribute_definitions(attr("sk"))
            .attribute_definitions(attr("gsi1pk"))
            .attribute_definitions(attr("gsi1sk"))
            .attribute_definitions(attr("gsi2pk"))
            .attribute_definitions(attr("gsi2sk"))
            .key_schema(key("pk", KeyType::Hash))
            .key_schema(key("sk", KeyType::Range))
            .global_secondary_indexes(
                GlobalSecondaryIndex::builder()
                    .index_name("due")
                    .key_schema(key("gsi1pk", KeyType::Hash))
                    .key_schema(key("gsi1sk", KeyType::Range))
                    .projection(Projection::builder().projection_type(ProjectionType::All).build())
                    .build()
                    .expect("index"),
            )
            .global_secondary_indexes(
                GlobalSecondaryIndex::builder()
                    .index_name("customer")
                    .key_schema(key("gsi2pk", KeyType::Hash))
                    .key_schema(key("gsi2sk", KeyType::Range))
                    .projection(Projection::builder().projection_type(ProjectionType::All).build())
                    .build()
                    .expect("index"),
            )
            .send()
            .await
            .expect("table");
    }

    /// The environment `function` is deployed with (`infra/functions.json`), holding this test's
    /// resources where the stack puts its own, and `config` as `STORE_CONFIG`.
    pub fn environment(&self, function: &str, config: &StoreConfig) -> HashMap<String, String> {
        let store_config = toml::to_string(config).expect("the configuration as TOML");
        crate::functions::environment(function)
            .into_iter()
            .filter_map(|(variable, source)| {
                let value = match source {
                    Source::TableName => self.table.clone(),
                    Source::EventBusName => self.bus.clone(),
                    Source::StoreConfig => store_config.clone(),
                    Source::LogLevel => "info".into(),
                    Source::TransactionalSet => TRANSACTIONAL_SET.into(),
                    Source::MarketingSet => MARKETING_SET.into(),
                    Source::SigningKeyParameter => self.signing_key_parameter.clone(),
                    Source::GuestIdKeyParameter => self.guest_id_key_parameter.clone(),
                    // Moto has no Function URLs: as in a stack without the unsubscribe function,
                    // links use the configuration's `sender.unsubscribe_url`.
                    Source::UnsubscribeUrl => return None,
                    Source::DeadLetterQueueUrl => self.failures.clone(),
                    Source::AlarmGroup => ALARM_GROUP.into(),
                    Source::AlarmRoleArn => ALARM_ROLE_ARN.into(),
                    Source::EventBusArn => format!("arn:aws:events:eu-west-1:123456789012:event-bus/{}", self.bus),
                    Source::FailuresQueueArn => "arn:aws:sqs:eu-west-1:123456789012:failures".into(),
                    // As the stack does: set only when the store has `[shopify]`.
                    Source::ShopifyCredentialsParameter => match &config.shopify {
                        Some(shopify) => shopify.credentials_parameter.clone(),
                        None => return None,
                    },
                };
                Some((variable, value))
            })
            .collect()
    }

    /// The settings `function` reads at init from the environment it is deployed with.
    pub fn settings(&self, function: &str, config: StoreConfig) -> Settings {
        let environment = self.environment(function, &config);
        Settings::from_vars(|name| environment.get(name).cloned())
            .unwrap_or_else(|e| panic!("{function} does not start with its deployed environment: {e}"))
    }

    /// Every raw message SES (moto) accepted, in order.
    pub fn sent_mail(&self) -> Vec<String> {
        let data: Value = serde_json::from_str(&self.moto.request("GET", "/moto-api/data.json").expect("data.json"))
            .expect("moto data");
        data["ses"]["RawMessage"]
            .as_array()
            .map(|messages| {
                messages
                    .iter()
                    .filter_map(|m| m["raw_data"].as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Every event tidings put on the bus since the last call.
    pub async fn emitted(&self) -> Vec<Value> {
        self.drain(&self.queue_url).await
    }

    /// Every message in the stack's failures queue since the last call: what the webhooks function
    /// kept, and the `AttentionNeeded` announcements.
    pub async fn failures(&self) -> Vec<Value> {
        self.drain(&self.failures).await
    }

    /// Every follow-up alarm set (the schedules of the stack's group), by name.
    pub async fn alarms(&self) -> Vec<Alarm> {
        let scheduler = aws_sdk_scheduler::Client::new(&self.sdk);
        let listed = scheduler
            .list_schedules()
            .group_name(ALARM_GROUP)
            .send()
            .await
            .expect("list schedules");
        let mut alarms = Vec::new();
        for summary in listed.schedules() {
            let name = summary.name().expect("name").to_owned();
            let schedule = scheduler
                .get_schedule()
                .group_name(ALARM_GROUP)
                .name(&name)
                .send()
                .await
                .expect("get schedule");
            let target = schedule.target().expect("target");
            alarms.push(Alarm {
                name,
                expression: schedule.schedule_expression().unwrap_or_default().to_owned(),
                deletes_itself: schedule.action_after_completion()
                    == Some(&aws_sdk_scheduler::types::ActionAfterCompletion::Delete),
                target: target.arn().to_owned(),
                detail_type: target
                    .event_bridge_parameters()
                    .map(|p| p.detail_type().to_owned())
                    .unwrap_or_default(),
                input: serde_json::from_str(target.input().unwrap_or("null")).expect("input is JSON"),
            });
        }
        alarms.sort_by(|a, b| a.name.cmp(&b.name));
        alarms
    }

    /// Fires `alarm` as Scheduler would: deletes it (`ActionAfterCompletion: DELETE`) and returns
    /// the event it puts on the bus, as EventBridge delivers it to the step's rule.
    pub async fn fire(&self, alarm: &Alarm) -> Value {
        aws_sdk_scheduler::Client::new(&self.sdk)
            .delete_schedule()
            .group_name(ALARM_GROUP)
            .name(&alarm.name)
            .send()
            .await
            .expect("delete schedule");
        alarm_event(alarm)
    }

    async fn drain(&self, queue_url: &str) -> Vec<Value> {
        let sqs = aws_sdk_sqs::Client::new(&self.sdk);
        let mut events = Vec::new();
        loop {
            let received = sqs
                .receive_message()
                .queue_url(queue_url)
                .max_number_of_messages(10)
                .send()
                .await
                .expect("receive");
            let messages = received.messages.unwrap_or_default();
            if messages.is_empty() {
                return events;
            }
            for message in messages {
                events.push(serde_json::from_str(message.body().unwrap_or("null")).expect("event json"));
                if let Some(handle) = message.receipt_handle() {
                    sqs.delete_message()
                        .queue_url(queue_url)
                        .receipt_handle(handle)
                        .send()
                        .await
                        .expect("delete");
                }
            }
        }
    }

    /// One table item.
    pub async fn item(&self, pk: &str, sk: &str) -> Option<HashMap<String, AttributeValue>> {
        aws_sdk_dynamodb::Client::new(&self.sdk)
            .get_item()
            .table_name(&self.table)
            .key("pk", AttributeValue::S(pk.into()))
            .key("sk", AttributeValue::S(sk.into()))
            .send()
            .await
            .expect("get item")
            .item
    }

    /// A string attribute of an item.
    pub async fn attribute(&self, pk: &str, sk: &str, name: &str) -> Option<String> {
        self.item(pk, sk).await?.get(name)?.as_s().ok().cloned()
    }
}
