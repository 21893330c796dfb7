//! Each coupon tidings mails, created as a WooCommerce coupon before the email goes
//! (`POST /wp-json/wc/v3/coupons`): one use, for the address it is mailed to
//! (`email_restrictions`, the one way WooCommerce names a guest), ending when the coupon does.
//! The code is the idempotency key: when WooCommerce says it exists
//! (`woocommerce_rest_coupon_code_already_exists`), the coupon is read back by code and must be
//! this message's (its description carries a digest of the message key).

use crate::secret::Secret;
// Minor units as decimal text (`1000` USD → `"10.00"`), as WooCommerce reads amounts too.
use crate::shopify::decimal;
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

/// The store's coupons.
pub struct WooCommerceCoupons {
    http: std::sync::OnceLock<reqwest::Client>,
    /// `https://shop.example` (a local stand-in in tests).
    site: String,
    /// `{"consumer_key": …, "consumer_secret": …}`.
    key: Secret,
    /// Fixed amounts and minimums are in the store's currency.
    currency: Currency,
}

impl WooCommerceCoupons {
    /// The coupons of the site at `site`, whose money is in `currency`.
    pub fn new(site: &str, key: Secret, currency: Currency) -> Self {
        Self {
            http: std::sync::OnceLock::new(),
            site: site.trim_end_matches('/').to_owned(),
            key,
            currency,
        }
    }

    /// Coupons with a key given as is.
    pub fn with_key(site: &str, key: &RestKey, currency: Currency) -> Self {
        let json = serde_json::json!({"consumer_key": key.consumer_key, "consumer_secret": key.consumer_secret});
        Self::new(site, Secret::fixed(&json.to_string()), currency)
    }

    fn http(&self) -> &reqwest::Client {
        self.http.get_or_init(|| {
            // No redirects: a redirected POST becomes a GET whose 200 would read as "created".
            reqwest::Client::builder()
                .timeout(Duration::from_secs(10))
                .connect_timeout(Duration::from_secs(3))
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap_or_default()
        })
    }

    async fn key(&self) -> Result<RestKey, DiscountError> {
        let value = self.key.get().await.map_err(DiscountError::Unavailable)?;
        serde_json::from_str(&value).map_err(|_| {
            DiscountError::Unavailable("the REST key is not JSON with consumer_key and consumer_secret".into())
        })
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
        let (discount_type, amount) = match (coupon.coupon_type, coupon.percent_off, coupon.amount_off) {
            (CouponType::Percent, Some(percent), _) if percent > 0 => ("percent", percent.min(100).to_string()),
            (CouponType::Fixed, _, Some(amount)) if amount > 0 => ("fixed_cart", decimal(amount, self.currency)),
            (CouponType::FreeShipping, _, _) => ("fixed_cart", "0".to_owned()),
            // A code worth nothing is no offer.
            _ => return Err(DiscountError::Refused("a coupon without its amount".into())),
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
        let answer: Value = response.json().await.unwrap_or(Value::Null);
        if status == reqwest::StatusCode::CREATED {
            // Created as asked: the code (WooCommerce lowercases it) for this address only.
            return if is_this(&answer, coupon, to) {
                Ok(())
            } else {
                Err(DiscountError::Refused(
                    "the store created another coupon than asked".into(),
                ))
            };
        }
        let code = answer["code"].as_str().unwrap_or_default();
        if status == reqwest::StatusCode::BAD_REQUEST && code == "woocommerce_rest_coupon_code_already_exists" {
            return self.check_existing(coupon, to, &key).await;
        }
        self.key.forget_on(status).await;
        Err(refusal(status, code))
    }

    /// A code WooCommerce already has: ours from an earlier attempt (its answer lost), or another
    /// coupon's, which this email must not carry.
    async fn check_existing(
        &self,
        coupon: &CouponIssued,
        to: &EmailAddress,
        key: &RestKey,
    ) -> Result<(), DiscountError> {
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
        if status != reqwest::StatusCode::OK {
            self.key.forget_on(status).await;
            return Err(refusal(status, ""));
        }
        let found: Vec<Value> = response
            .json()
            .await
            .map_err(|e| DiscountError::Unavailable(format!("unreadable answer: {e}")))?;
        if found.iter().any(|c| is_this(c, coupon, to)) {
            return Ok(());
        }
        // Another message's coupon, or this one's for an address it is no longer mailed to.
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

/// Whether a coupon WooCommerce returned is this message's, for `to` only.
fn is_this(found: &Value, coupon: &CouponIssued, to: &EmailAddress) -> bool {
    let code = found["code"]
        .as_str()
        .is_some_and(|c| c.eq_ignore_ascii_case(&coupon.code));
    let ours = found["description"].as_str() == Some(description(coupon).as_str());
    let restricted = found["email_restrictions"]
        .as_array()
        .is_some_and(|a| a.len() == 1 && a[0].as_str().is_some_and(|e| e.eq_ignore_ascii_case(to.as_str())));
    code && ours && restricted
}

/// The coupon's description in the WooCommerce admin: the message it came with, and a digest of
/// its message key (so a coupon read back by code is recognised as this message's).
fn description(coupon: &CouponIssued) -> String {
    let message = tidings_core::signing::digest_hex(&["coupon-description", coupon.message_key.as_str()], 16);
    format!("tidings {} {message}", coupon.message_kind.as_str())
}
