//! One registration per configured service. A number registered before is no error: AfterShip
//! answers `meta.code` 4003 ("Tracking already exists"), EasyPost returns the tracker it has.

use serde_json::{Value, json};
use std::future::Future;
use std::pin::Pin;
use std::time::Duration;
use tidings_core::event::TrackingNumber;
use tidings_core::ports::{RegisterError, Trackers};

/// AfterShip's API.
pub const AFTERSHIP_API: &str = "https://api.aftership.com";
/// EasyPost's API.
pub const EASYPOST_API: &str = "https://api.easypost.com";

/// An API key (SSM, read when first needed).
pub use crate::secret::Secret as Key;

/// Which service.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    AfterShip,
    EasyPost,
}

/// One service, its API's base URL and key.
pub struct Service {
    kind: Kind,
    base: String,
    key: Key,
}

impl Service {
    /// AfterShip at `base`.
    pub fn aftership(base: &str, key: Key) -> Self {
        Self {
            kind: Kind::AfterShip,
            base: base.trim_end_matches('/').to_owned(),
            key,
        }
    }

    /// EasyPost at `base`.
    pub fn easypost(base: &str, key: Key) -> Self {
        Self {
            kind: Kind::EasyPost,
            base: base.trim_end_matches('/').to_owned(),
            key,
        }
    }
}

/// The configured services.
pub struct TrackingServices {
    services: Vec<Service>,
    http: std::sync::OnceLock<reqwest::Client>,
}

impl TrackingServices {
    /// Registers with each of `services`.
    pub fn new(services: Vec<Service>) -> Self {
        Self {
            services,
            http: std::sync::OnceLock::new(),
        }
    }

    fn http(&self) -> &reqwest::Client {
        self.http.get_or_init(|| {
            reqwest::Client::builder()
                .timeout(Duration::from_secs(5))
                .connect_timeout(Duration::from_secs(3))
                .build()
                .unwrap_or_default()
        })
    }

    async fn register_with(
        &self,
        service: &Service,
        number: &TrackingNumber,
        carrier: &str,
    ) -> Result<(), RegisterError> {
        let key = service.key.get().await.map_err(RegisterError::Unavailable)?;
        let request = match service.kind {
            Kind::AfterShip => {
                let mut body = json!({ "tracking_number": number.as_str() });
                if let Some(slug) = aftership_slug(carrier) {
                    body["slug"] = json!(slug);
                }
                self.http()
                    .post(format!("{}/tracking/2024-04/trackings", service.base))
                    .header("as-api-key", key)
                    .json(&body)
            }
            Kind::EasyPost => {
                let mut tracker = json!({ "tracking_code": number.as_str() });
                if let Some(name) = easypost_carrier(carrier) {
                    tracker["carrier"] = json!(name);
                }
                self.http()
                    .post(format!("{}/v2/trackers", service.base))
                    .basic_auth(key, Some(""))
                    .json(&json!({ "tracker": tracker }))
            }
        };
        let response = request
            .send()
            .await
            .map_err(|e| RegisterError::Unavailable(format!("network: {e}")))?;
        let status = response.status();
        if status.is_success() {
            return Ok(());
        }
        let answer: Value = response.json().await.unwrap_or(Value::Null);
        if service.kind == Kind::AfterShip && answer.pointer("/meta/code").and_then(Value::as_u64) == Some(4003) {
            return Ok(());
        }
        service.key.forget_on(status).await;
        let what = format!("HTTP {status}");
        if status == reqwest::StatusCode::TOO_MANY_REQUESTS
            || status.is_server_error()
            || status == reqwest::StatusCode::UNAUTHORIZED
            || status == reqwest::StatusCode::FORBIDDEN
        {
            Err(RegisterError::Unavailable(what))
        } else {
            Err(RegisterError::Refused(what))
        }
    }
}

impl Trackers for TrackingServices {
    fn register<'a>(
        &'a self,
        number: &'a TrackingNumber,
        carrier: &'a str,
    ) -> Pin<Box<dyn Future<Output = Result<(), RegisterError>> + Send + 'a>> {
        Box::pin(async move {
            let mut failed = None;
            for service in &self.services {
                if let Err(error) = self.register_with(service, number, carrier).await {
                    failed = Some(error);
                }
            }
            failed.map_or(Ok(()), Err)
        })
    }
}

/// AfterShip's slug for a carrier code of the carrier table; unknown: AfterShip detects it.
fn aftership_slug(carrier: &str) -> Option<&'static str> {
    Some(match carrier {
        "ups" => "ups",
        "usps" => "usps",
        "fedex" => "fedex",
        "dhl" => "dhl",
        "dpd" => "dpd",
        "gls" => "gls",
        "royalmail" => "royal-mail",
        "evri" => "hermes",
        "colissimo" => "colissimo",
        "correos" => "correos-de-espana",
        "japanpost" => "japan-post",
        "yamato" => "taqbin-jp",
        "sagawa" => "sagawa",
        "sf" => "sf-express",
        "cj" => "cj-korea-thai",
        "epost" => "kr-post",
        "yurtici" => "yurtici-kargo",
        "aras" => "aras-kargo",
        _ => return None,
    })
}

/// EasyPost's carrier name for a carrier code; unknown: EasyPost detects it.
fn easypost_carrier(carrier: &str) -> Option<&'static str> {
    Some(match carrier {
        "ups" => "UPS",
        "usps" => "USPS",
        "fedex" => "FedEx",
        "dhl" => "DHLExpress",
        "royalmail" => "RoyalMail",
        "dpd" => "DPD",
        "gls" => "GLS",
        _ => return None,
    })
}
