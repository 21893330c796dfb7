//! Signed webhooks from the stores and carrier services that deliver them over HTTPS
//! (WooCommerce, AfterShip, EasyPost): a delivery is verified over its raw body, translated into
//! contract envelopes, and checked against the contract, by the same code in the `webhooks`
//! function and in `tidings replay` (docs/webhooks.md).

pub mod signature;

use crate::config::StoreConfig;
use crate::event::{EventError, parse_envelope_value};
use jiff::Timestamp;
use serde_json::{Value, json};
pub use signature::SignatureError;

/// Who sent a delivery: the path of the function's URL (`/woocommerce`), the `webhook` of a
/// replay line.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Source {
    /// A WooCommerce store.
    WooCommerce,
    /// AfterShip's tracking webhooks.
    AfterShip,
    /// EasyPost's tracker events.
    EasyPost,
}

impl Source {
    /// Every source.
    pub const ALL: [Self; 3] = [Self::WooCommerce, Self::AfterShip, Self::EasyPost];

    /// The name in paths, replay lines, environment variables' and events' sources.
    pub fn name(self) -> &'static str {
        match self {
            Self::WooCommerce => "woocommerce",
            Self::AfterShip => "aftership",
            Self::EasyPost => "easypost",
        }
    }

    /// The source by its name.
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.name() == name)
    }

    /// The `source` of the contract events translated from this one's.
    pub fn event_source(self) -> &'static str {
        match self {
            Self::WooCommerce => crate::woocommerce::SOURCE,
            Self::AfterShip => "tidings.aftership",
            Self::EasyPost => "tidings.easypost",
        }
    }

    /// Whether the configuration connects this source.
    pub fn configured(self, config: &StoreConfig) -> bool {
        match self {
            Self::WooCommerce => config.woocommerce.is_some(),
            Self::AfterShip => config.aftership.is_some(),
            Self::EasyPost => config.easypost.is_some(),
        }
    }
}

/// The webhook secrets of the local runner, by source: `TIDINGS_WEBHOOK_SECRET_WOOCOMMERCE`,
/// `…_AFTERSHIP`, `…_EASYPOST`.
#[derive(Clone, Debug, Default)]
pub struct Secrets(std::collections::BTreeMap<Source, String>);

impl Secrets {
    /// The variable a source's secret is read from.
    pub fn variable(source: Source) -> String {
        format!("TIDINGS_WEBHOOK_SECRET_{}", source.name().to_ascii_uppercase())
    }

    /// The secrets set in the environment `var` reads.
    pub fn from_env(var: impl Fn(&str) -> Option<String>) -> Self {
        Self(
            Source::ALL
                .into_iter()
                .filter_map(|source| Some((source, var(&Self::variable(source)).filter(|s| !s.is_empty())?)))
                .collect(),
        )
    }

    /// With `secret` for `source`.
    pub fn with(mut self, source: Source, secret: &str) -> Self {
        self.0.insert(source, secret.to_owned());
        self
    }

    /// The secret of `source`, if set.
    pub fn get(&self, source: Source) -> Option<&str> {
        self.0.get(&source).map(String::as_str)
    }
}

/// A delivery's headers, looked up without case (HTTP's rule; services change their case).
#[derive(Clone, Debug, Default)]
pub struct Headers(Vec<(String, String)>);

impl Headers {
    /// Headers from name–value pairs.
    pub fn new(pairs: impl IntoIterator<Item = (String, String)>) -> Self {
        Self(pairs.into_iter().collect())
    }

    /// The value of header `name`.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }
}

/// What a source's translation made of a payload: contract events (detail-type, detail) at the
/// store's or carrier's time of the change (else the delivery's arrival), or nothing and why.
#[derive(Debug)]
pub enum Routed {
    /// Contract events, in order.
    Events(Vec<(&'static str, Value)>, Option<Timestamp>),
    /// Nothing to do, and why.
    Ignored(&'static str),
}

/// One delivery as it arrived.
#[derive(Clone, Debug)]
pub struct Delivery {
    /// Who sent it.
    pub source: Source,
    /// When it arrived.
    pub received_at: Timestamp,
    /// Its headers.
    pub headers: Headers,
    /// Its body, byte for byte (the signature is over these bytes).
    pub body: Vec<u8>,
}

/// What became of a delivery.
#[derive(Debug)]
pub enum Received {
    /// WooCommerce's ping when a webhook is saved (`webhook_id=<id>`, unsigned): answered 200.
    Ping,
    /// The signature is missing or wrong: 401, nothing published.
    Refused(SignatureError),
    /// Signed, and nothing to do (a topic or status tidings does not read): 200.
    Ignored {
        /// The topic (`order.updated`, `aftership tracking_update`).
        topic: String,
        /// Why.
        why: &'static str,
    },
    /// Signed and translated: the contract envelopes to publish, each valid.
    Events {
        /// The topic.
        topic: String,
        /// The envelopes, in order.
        events: Vec<Value>,
    },
    /// Signed, but not translatable (or breaking the contract): kept in the dead-letter queue
    /// with its body and the reason, and answered 200 (WooCommerce disables a webhook after 5
    /// failed deliveries and retries none).
    Untranslatable {
        /// The topic.
        topic: String,
        /// What is wrong, by field.
        error: EventError,
    },
}

/// A delivery as captured on a replay line (docs/spec/local-runner.md).
#[derive(serde::Deserialize)]
struct Capture {
    webhook: String,
    received_at: Timestamp,
    #[serde(default)]
    headers: std::collections::BTreeMap<String, String>,
    body: String,
}

impl Delivery {
    /// The delivery captured on `line`, when the line is a capture (it has a `webhook` member):
    /// `{"webhook":"woocommerce","received_at":…,"headers":{…},"body":"<the raw body>"}`. An
    /// error names the member that is wrong.
    pub fn captured(line: &str) -> Option<Result<Self, EventError>> {
        #[derive(serde::Deserialize)]
        struct Peek {
            webhook: Option<Value>,
        }
        serde_json::from_str::<Peek>(line).ok()?.webhook?;
        let capture: Capture = match crate::vendor::at("", &mut serde_json::Deserializer::from_str(line)) {
            Ok(capture) => capture,
            Err(error) => return Some(Err(error)),
        };
        let Some(source) = Source::parse(&capture.webhook) else {
            return Some(Err(crate::vendor::error(
                "webhook",
                "must be woocommerce, aftership or easypost",
            )));
        };
        Some(Ok(Self {
            source,
            received_at: capture.received_at,
            headers: Headers::new(capture.headers),
            body: capture.body.into_bytes(),
        }))
    }

    /// Verifies the delivery with `secret` and translates it.
    pub fn receive(&self, secret: &str, config: &StoreConfig) -> Received {
        if self.source == Source::WooCommerce && is_ping(&self.body) {
            return Received::Ping;
        }
        if let Err(refused) = signature::verify(self.source, &self.headers, &self.body, secret) {
            return Received::Refused(refused);
        }
        let topic = self.topic();
        let Ok(body) = std::str::from_utf8(&self.body) else {
            let error = crate::vendor::error("body", "is not UTF-8 text");
            return Received::Untranslatable { topic, error };
        };
        let routed = match self.source {
            Source::WooCommerce => {
                let store = config.woocommerce.as_ref();
                let site = store.map(|s| s.site());
                if let (Some(site), Some(from)) = (site, self.headers.get("x-wc-webhook-source"))
                    && !same_site(site, from)
                {
                    // Signed with this store's secret, so the store's own (`www.` or not, a
                    // changed domain): kept for the operator rather than dropped.
                    let error = crate::vendor::error(
                        "headers.X-WC-Webhook-Source",
                        "is another site than woocommerce.site_url",
                    );
                    return Received::Untranslatable { topic, error };
                }
                let store = crate::woocommerce::Store {
                    site,
                    consent_meta: store.and_then(|s| s.marketing_consent_meta.as_deref()),
                };
                crate::woocommerce::translate(&topic, body, store)
            }
            Source::AfterShip => crate::carriers::aftership::translate(body),
            Source::EasyPost => crate::carriers::easypost::translate(body),
        };
        match routed {
            Ok(Routed::Ignored(why)) => Received::Ignored { topic, why },
            Ok(Routed::Events(details, time)) => match self.envelopes(details, time) {
                Ok(events) => Received::Events { topic, events },
                Err(error) => Received::Untranslatable { topic, error },
            },
            Err(error) => Received::Untranslatable { topic, error },
        }
    }

    /// WooCommerce's `X-WC-Webhook-Topic`; a carrier service's kind of delivery.
    fn topic(&self) -> String {
        match self.source {
            Source::WooCommerce => self
                .headers
                .get("x-wc-webhook-topic")
                .unwrap_or("(no X-WC-Webhook-Topic)")
                .trim()
                .to_owned(),
            source => format!("{} delivery", source.name()),
        }
    }

    /// The details as envelopes, each checked against the contract. Their ids come from the
    /// body: a redelivery of the same body gives the same ids.
    fn envelopes(
        &self,
        details: Vec<(&'static str, Value)>,
        time: Option<Timestamp>,
    ) -> Result<Vec<Value>, EventError> {
        let digest = crate::mac::hex(
            &sha2::Digest::finalize(sha2::Digest::chain_update(sha2::Sha256::default(), &self.body)),
            16,
        );
        let time = time.unwrap_or(self.received_at).to_string();
        details
            .into_iter()
            .enumerate()
            .map(|(n, (detail_type, detail))| {
                let envelope = json!({
                    "version": "0",
                    "id": format!("{}-{digest}-{n}", self.source.name()),
                    "detail-type": detail_type,
                    "source": self.source.event_source(),
                    "time": time,
                    "resources": [],
                    "detail": detail,
                });
                parse_envelope_value(envelope.clone()).map(|_| envelope)
            })
            .collect()
    }
}

/// WooCommerce's ping: `webhook_id=<digits>`, form-encoded.
fn is_ping(body: &[u8]) -> bool {
    body.strip_prefix(b"webhook_id=")
        .is_some_and(|id| !id.is_empty() && id.iter().all(u8::is_ascii_digit))
}

/// Whether `X-WC-Webhook-Source` (`https://shop.example/`) names the configured site.
fn same_site(site: &str, from: &str) -> bool {
    let bare = |url: &str| {
        let url = url.trim().trim_end_matches('/');
        url.split_once("://").map_or(url, |(_, rest)| rest).to_ascii_lowercase()
    };
    bare(site) == bare(from)
}

#[cfg(test)]
pub(crate) mod tests;
