//! The outbox: the local runner's mailer and bus. One `.eml` per email, `index.jsonl`, `events.jsonl`,
//! and `facts.jsonl`, what `tidings report` reads.

use jiff::Timestamp;
use serde::Serialize;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use tidings_core::domain::{CartId, CustomerId, OrderId};
use tidings_core::event::Emitted;
use tidings_core::ports::{Bus, BusError, Mailer, Outbound, OutgoingEmail, SendError};
use tidings_core::report::Fact;

/// The report's facts, one JSON object per line.
pub const FACTS: &str = "facts.jsonl";
/// The report's counters as the engine kept them during the replay.
pub const COUNTERS: &str = "counters.json";

/// Marks a directory as written by `tidings demo`, so a later demo may replace it.
pub const DEMO_MARKER: &str = ".tidings-demo";

/// One line of `index.jsonl` (local-runner.md).
#[derive(Clone, Debug, Serialize, serde::Deserialize, PartialEq, Eq)]
pub struct IndexLine {
    /// Simulated send time, UTC.
    pub at: Timestamp,
    /// Message key.
    pub message_key: String,
    /// Kind.
    pub kind: String,
    /// Category.
    pub category: String,
    /// Recipient address.
    pub to: String,
    /// Customer id.
    pub customer_id: CustomerId,
    /// Order, if any.
    pub order_id: Option<OrderId>,
    /// Cart, if any.
    pub cart_id: Option<CartId>,
    /// Locale used after fallback.
    pub locale: String,
    /// Decoded subject.
    pub subject: String,
    /// The `.eml` file name.
    pub file: String,
}

struct Files {
    sent: usize,
    index: File,
    events: File,
    facts: File,
    lines: Vec<IndexLine>,
}

/// A directory that receives everything the engine sends and emits.
pub struct Outbox {
    dir: PathBuf,
    files: Mutex<Files>,
}

/// Why the outbox cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum OutboxError {
    /// It already holds files: nothing is overwritten.
    #[error("outbox {0} already holds files; choose another --outbox or remove it")]
    NotEmpty(PathBuf),
    /// The file system refused.
    #[error("cannot write outbox {path}: {source}")]
    Io {
        /// Where.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> OutboxError + '_ {
    move |source| OutboxError::Io {
        path: path.to_path_buf(),
        source,
    }
}

impl Outbox {
    /// Creates the outbox; refuses a directory that already holds files.
    pub fn create(dir: &Path) -> Result<Self, OutboxError> {
        if dir.exists() && std::fs::read_dir(dir).map_err(io(dir))?.next().is_some() {
            return Err(OutboxError::NotEmpty(dir.to_path_buf()));
        }
        std::fs::create_dir_all(dir).map_err(io(dir))?;
        let open = |name: &str| {
            let path = dir.join(name);
            OpenOptions::new()
                .create(true)
                .append(true)
                .open(&path)
                .map_err(io(&path))
        };
        Ok(Self {
            dir: dir.to_path_buf(),
            files: Mutex::new(Files {
                sent: 0,
                index: open("index.jsonl")?,
                events: open("events.jsonl")?,
                facts: open(FACTS)?,
                lines: vec![],
            }),
        })
    }

    /// Empties a directory written by an earlier `tidings demo` (and only such a directory).
    pub fn clear_demo(dir: &Path) -> Result<bool, OutboxError> {
        if !dir.join(DEMO_MARKER).exists() {
            return Ok(false);
        }
        for entry in std::fs::read_dir(dir).map_err(io(dir))?.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            let ours = name.ends_with(".eml")
                || name == "index.jsonl"
                || name == "events.jsonl"
                || name == FACTS
                || name == COUNTERS
                || name == DEMO_MARKER;
            if ours {
                std::fs::remove_file(entry.path()).map_err(io(&entry.path()))?;
            }
        }
        Ok(true)
    }

    /// Records what `tidings report` reads (sends and held-out messages are recorded as they
    /// happen; the replay adds orders and SES's reports).
    pub fn record(&self, fact: &Fact) -> std::io::Result<()> {
        let mut files = self.files.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        Self::append(&mut files.facts, fact)
    }

    fn append(file: &mut File, fact: &Fact) -> std::io::Result<()> {
        let json = serde_json::to_string(fact).map_err(std::io::Error::other)?;
        writeln!(file, "{json}")
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Index lines written so far, in send order.
    pub fn lines(&self) -> Vec<IndexLine> {
        self.files
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .lines
            .clone()
    }

    fn write(&self, email: &OutgoingEmail) -> std::io::Result<String> {
        let mut files = self.files.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        files.sent += 1;
        let file = format!("{:04}-{}.eml", files.sent, email.kind.as_str());
        std::fs::write(self.dir.join(&file), &email.raw)?;
        let line = IndexLine {
            at: email.at,
            message_key: email.key.to_string(),
            kind: email.kind.as_str().to_owned(),
            category: email.category.as_str().to_owned(),
            to: email.to.as_str().to_owned(),
            customer_id: email.customer_id.clone(),
            order_id: email.order_id.clone(),
            cart_id: email.cart_id.clone(),
            locale: email.locale.clone(),
            subject: email.subject.clone(),
            file: file.clone(),
        };
        let json = serde_json::to_string(&line).map_err(std::io::Error::other)?;
        writeln!(files.index, "{json}")?;
        let sent = Fact::Sent {
            key: email.key.clone(),
            customer_id: email.customer_id.clone(),
            at: email.at,
        };
        Self::append(&mut files.facts, &sent)?;
        files.lines.push(line);
        Ok(file)
    }
}

impl Mailer for Outbox {
    async fn send(&self, email: &OutgoingEmail) -> Result<String, SendError> {
        // A full disk is not the message's fault: transient, so the claim is released.
        self.write(email)
            .map(|file| format!("outbox-{}", file.trim_end_matches(".eml")))
            .map_err(|e| SendError::Transient(format!("outbox write failed: {e}")))
    }
}

/// An emitted event as an EventBridge envelope (the replay file format).
#[derive(Serialize)]
struct EnvelopeOut<'a> {
    version: &'static str,
    id: &'a str,
    #[serde(rename = "detail-type")]
    detail_type: &'static str,
    source: &'static str,
    account: &'static str,
    time: Timestamp,
    region: &'static str,
    resources: [&'static str; 0],
    detail: &'a tidings_core::event::Emitted,
}

impl Bus for Outbox {
    async fn publish(&self, events: &[Outbound]) -> Result<(), BusError> {
        let mut files = self.files.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        for event in events {
            let envelope = EnvelopeOut {
                version: "0",
                id: &event.id,
                detail_type: event.detail.detail_type(),
                source: "tidings",
                account: "000000000000",
                time: event.time,
                region: "local",
                resources: [],
                detail: &event.detail,
            };
            let failed = |reason: String| BusError {
                detail_type: event.detail.detail_type().to_owned(),
                reason,
            };
            let json = serde_json::to_string(&envelope).map_err(|e| failed(e.to_string()))?;
            writeln!(files.events, "{json}").map_err(|e| failed(e.to_string()))?;
            let fact = match &event.detail {
                Emitted::EmailHeldOut(held) => Some(Fact::HeldOut {
                    key: held.message_key.clone(),
                    customer_id: held.customer_id.clone(),
                    at: held.at,
                }),
                // A complaint (`all`) is counted from SES's report as one.
                Emitted::CustomerUnsubscribed(gone) if gone.scope == "marketing" => Some(Fact::Unsubscribed {
                    customer_id: gone.customer_id.clone(),
                    at: gone.at,
                }),
                _ => None,
            };
            if let Some(fact) = fact {
                Self::append(&mut files.facts, &fact).map_err(|e| failed(e.to_string()))?;
            }
        }
        Ok(())
    }
}
