//! Each coupon tidings mails, created as a WooCommerce coupon before the email goes
//! (`POST /wp-json/wc/v3/coupons`): one use, for the address it is mailed to
//! (`email_restrictions`, the one way WooCommerce names a guest), ending when the coupon does.
//! The code is the idempotency key: when WooCommerce says it exists
//! (`woocommerce_rest_coupon_code_already_exists`), the coupon is read back by code and must be
//! this message's (its description carries a digest of the message key).

use serde::Deserialize;
use serde_json::{Value, json};
use std::future::Future;
use std::pin::Pin;
use std::time::Duration;
use tidings_core::domain::{Currency, EmailAddress};
use tidings_core::event::{CouponIssued, CouponType};
use tidings_core::ports::{DiscountError, Discounts};

/// The REST API key (WooCommerce → Settings → Advanced → REST API, permission Read/Write).
#[derive(Clone, Deserialize)]
pub struct RestKey {
    /// `ck_…`.
    pub consumer_key: String,
    /// `cs_…`.
    pub consumer_secret: String,
}

impl std::fmt::Debug for RestKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RestKey(..)")
    }
}

/// Where the key comes from: SSM (read when first needed, kept), or given (tests).
pub enum KeySource {
    /// An SSM SecureString holding `{"consumer_key": …, "consumer_secret": …}`.
    Parameter {
        /// The SSM client.
        client: aws_sdk_ssm::Client,
        /// The parameter's name.
        name: String,
    },
    /// A key given as is.
    Fixed(RestKey),
}

/// The store's coupons.
pub struct WooCommerceCoupons {
    http: std::sync::OnceLock<reqwest::Client>,
    /// `https://shop.example` (a local stand-in in tests).
    site: String,
    key: KeySource,
    read: tokio::sync::Mutex<Option<RestKey>>,
    /// Fixed amounts and minimums are in the store's currency.
    currency: Currency,
}

impl WooCommerceCoupons {
    /// The coupons of the site at `site`, whose money is in `currency`.
    pub fn new(site: &str, key: KeySource, currency: Currency) -> Self {
        Self {
            http: std::sync::OnceLock::new(),
            site: site.trim_end_matches('/').to_owned(),
            key,
            read: tokio::sync::Mutex::new(None),
            currency,
        }
    }

    /// Coupons with a key given as is.
    pub fn with_key(site: &str, key: RestKey, currency: Currency) -> Self {
        Self::new(site, KeySource::Fixed(key), currency)
    }

    fn http(&self) -> &reqwest::Client {
        self.http.get_or_init(|| {
            reqwest::Client::builder()
                .timeout(Duration::from_secs(10))
                .connect_timeout(Duration::from_secs(3))
                .build()
                .unwrap_or_default()
        })
    }

    async fn key(&self) -> Result<RestKey, DiscountError> {
        let mut read = self.read.lock().await;
        if let Some(key) = read.as_ref() {
            return Ok(key.clone());
        }
        let key = match &self.key {
            KeySource::Fixed(key) => key.clone(),
            KeySource::Parameter { client, name } => {
                let answer = client
                    .get_parameter()
                    .name(name)
                    .with_decryption(true)
                    .send()
                    .await
                    .map_err(|e| {
                        DiscountError::Unavailable(format!(
                            "SSM parameter {name}: {}",
                            aws_sdk_ssm::error::DisplayErrorContext(e)
                        ))
                    })?;
                let value = answer.parameter().and_then(|p| p.value()).unwrap_or_default();
                serde_json::from_str(value).map_err(|_| {
                    DiscountError::Unavailable(format!(
                        "SSM parameter {name}: not JSON with consumer_key and consumer_secret"
                    ))
                })?
            }
        };
        *read = Some(key.clone());
        Ok(key)
    }

    /// The coupon's body for `POST /wp-json/wc/v3/coupons`.
    fn body(&self, coupon: &CouponIssued, to: &EmailAddress) -> Result<Value, DiscountError> {
        if coupon.currency != self.currency
            && (coupon.coupon_type == CouponType::Fixed || coupon.min_subtotal.is_some())
        {
            // WooCommerce reads amounts in the store's currency.
            return Err(DiscountError::Refused(format!(
                "a fixed amount or minimum in {} in a store that sells in {}",
                coupon.currency.code(),
                self.currency.code()
            )));
        }
        let (discount_type, amount) = match coupon.coupon_type {
            CouponType::Percent => ("percent", coupon.percent_off.unwrap_or_default().min(100).to_string()),
            CouponType::Fixed => (
                "fixed_cart",
                decimal(coupon.amount_off.unwrap_or_default(), self.currency),
            ),
            CouponType::FreeShipping => ("fixed_cart", "0".to_owned()),
        };
        let mut body = json!({
            "code": coupon.code,
            "discount_type": discount_type,
            "amount": amount,
            "description": description(coupon),
            "individual_use": true,
            "usage_limit": 1,
            "usage_limit_per_user": 1,
            "email_restrictions": [to.as_str()],
            "free_shipping": coupon.coupon_type == CouponType::FreeShipping,
            // UTC, as WooCommerce writes `*_gmt` times (no offset).
            "date_expires_gmt": coupon.expires_at.strftime("%Y-%m-%dT%H:%M:%S").to_string(),
        });
        if let Some(minimum) = coupon.min_subtotal {
            body["minimum_amount"] = json!(decimal(minimum, self.currency));
        }
        Ok(body)
    }

    async fn create_once(&self, coupon: &CouponIssued, to: &EmailAddress) -> Result<(), DiscountError> {
        let body = self.body(coupon, to)?;
        let key = self.key().await?;
        let url = format!("{}/wp-json/wc/v3/coupons", self.site);
        let response = self
            .http()
            .post(&url)
            .basic_auth(&key.consumer_key, Some(&key.consumer_secret))
            .json(&body)
            .send()
            .await
            .map_err(|e| DiscountError::Unavailable(format!("network: {e}")))?;
        let status = response.status();
        if status.is_success() {
            return Ok(());
        }
        let answer: Value = response.json().await.unwrap_or(Value::Null);
        let code = answer["code"].as_str().unwrap_or_default();
        if status == reqwest::StatusCode::BAD_REQUEST && code == "woocommerce_rest_coupon_code_already_exists" {
            return self.check_existing(coupon, &key).await;
        }
        Err(refusal(status, code))
    }

    /// A code WooCommerce already has: ours from an earlier attempt (its answer lost), or another
    /// coupon's, which this email must not carry.
    async fn check_existing(&self, coupon: &CouponIssued, key: &RestKey) -> Result<(), DiscountError> {
        let url = format!("{}/wp-json/wc/v3/coupons", self.site);
        let response = self
            .http()
            .get(&url)
            .query(&[("code", coupon.code.as_str())])
            .basic_auth(&key.consumer_key, Some(&key.consumer_secret))
            .send()
            .await
            .map_err(|e| DiscountError::Unavailable(format!("network: {e}")))?;
        let status = response.status();
        if !status.is_success() {
            return Err(refusal(status, ""));
        }
        let found: Vec<Value> = response
            .json()
            .await
            .map_err(|e| DiscountError::Unavailable(format!("unreadable answer: {e}")))?;
        let ours = description(coupon);
        if found.iter().any(|c| c["description"].as_str() == Some(ours.as_str())) {
            return Ok(());
        }
        Err(DiscountError::Refused("the code exists as another coupon".into()))
    }
}

/// What an error answer means: throttling, a server error and a key refused or lacking write
/// permission (which the merchant can fix) are worth waiting for; anything else is refused.
fn refusal(status: reqwest::StatusCode, code: &str) -> DiscountError {
    let waits = status == reqwest::StatusCode::TOO_MANY_REQUESTS
        || status.is_server_error()
        || status == reqwest::StatusCode::UNAUTHORIZED
        || status == reqwest::StatusCode::FORBIDDEN
        || status == reqwest::StatusCode::NOT_FOUND;
    let what = format!("HTTP {status} {code}");
    if waits {
        DiscountError::Unavailable(what)
    } else {
        DiscountError::Refused(what)
    }
}

impl Discounts for WooCommerceCoupons {
    fn create<'a>(
        &'a self,
        _: &'a CouponIssued,
    ) -> Pin<Box<dyn Future<Output = Result<(), DiscountError>> + Send + 'a>> {
        // Every code is restricted to the address it is mailed to: without it, none is made.
        Box::pin(async {
            Err(DiscountError::Refused(
                "a WooCommerce coupon needs its recipient".into(),
            ))
        })
    }

    fn create_for<'a>(
        &'a self,
        coupon: &'a CouponIssued,
        to: &'a EmailAddress,
    ) -> Pin<Box<dyn Future<Output = Result<(), DiscountError>> + Send + 'a>> {
        Box::pin(self.create_once(coupon, to))
    }
}

/// The coupon's description in the WooCommerce admin: the message it came with, and a digest of
/// its message key (so a coupon read back by code is recognised as this message's).
fn description(coupon: &CouponIssued) -> String {
    let message = tidings_core::signing::digest_hex(&["coupon-description", coupon.message_key.as_str()], 16);
    format!("tidings {} {message}", coupon.message_kind.as_str())
}

/// Minor units as WooCommerce's decimal text (`1000` USD → `"10.00"`, `1000` JPY → `"1000"`).
fn decimal(minor: u64, currency: Currency) -> String {
    crate::shopify::decimal(minor, currency)
}
