//! A local stand-in for WooCommerce's REST API (no network here): `POST /wp-json/wc/v3/coupons`
//! and `GET /wp-json/wc/v3/coupons?code=`. Every request is checked against the coupon shape
//! WooCommerce documents (REST API v3, "Coupon properties": `code`, `discount_type` of `percent`,
//! `fixed_cart` or `fixed_product`, `amount` and `minimum_amount` as decimal strings, integer
//! limits, `email_restrictions` a list of addresses, `date_expires_gmt` without an offset), with
//! HTTP Basic authentication by the REST key; a request that does not fit is answered as
//! WooCommerce answers a bad one and recorded in `violations`. WooCommerce keeps codes in lower
//! case (`wc_format_coupon_code`) and refuses one that exists with
//! `woocommerce_rest_coupon_code_already_exists`. Failures are injected per request.

use crate::stand_in::header;
use base64::Engine as _;
use serde_json::{Value, json};
use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex};

/// The REST key the stand-in accepts.
pub const CONSUMER_KEY: &str = "ck_2682b35c4d9a8b6b6effac126ac552e0bfb315a0";
/// Its secret.
pub const CONSUMER_SECRET: &str = "cs_b10a1cdd1f6f4c7c2ab7ba2c8f7f8d2e7a4b3c2d";

/// A failure the next request gets.
#[derive(Clone, Debug)]
pub enum Fault {
    /// This HTTP status, nothing done.
    Status(u16),
    /// The coupon is created, then the answer is lost (HTTP 502).
    LostAnswer,
}

/// What the stand-in holds and saw.
#[derive(Default)]
pub struct State {
    /// Coupons by (lower-cased) code.
    pub coupons: BTreeMap<String, Value>,
    /// Faults for the next requests, in order.
    pub faults: VecDeque<Fault>,
    /// Requests that broke the documented shape.
    pub violations: Vec<String>,
    /// Requests received (`POST coupons`, `GET coupons?code`), in order.
    pub requests: Vec<String>,
}

/// The running stand-in.
pub struct RestStandIn {
    /// `http://127.0.0.1:<port>`: the site.
    pub url: String,
    /// Its state.
    pub state: Arc<Mutex<State>>,
}

impl RestStandIn {
    /// Starts on a free port.
    pub fn start() -> Self {
        let state = Arc::new(Mutex::new(State::default()));
        let url = crate::stand_in::serve(Arc::clone(&state), respond);
        Self { url, state }
    }

    /// Queues faults for the next requests.
    pub fn inject(&self, faults: &[Fault]) {
        self.state.lock().expect("state").faults.extend(faults.iter().cloned());
    }
}

fn error(status: u16, code: &str, message: &str) -> (u16, Value) {
    (
        status,
        json!({"code": code, "message": message, "data": {"status": status}}),
    )
}

fn respond(state: &mut State, request: &tiny_http::Request, body: &str) -> (u16, Value) {
    let (path, query) = request.url().split_once('?').unwrap_or((request.url(), ""));
    if path != "/wp-json/wc/v3/coupons" {
        state.violations.push(format!("path {path}"));
        return error(
            404,
            "rest_no_route",
            "No route was found matching the URL and request method.",
        );
    }
    let expected = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{CONSUMER_KEY}:{CONSUMER_SECRET}"))
    );
    if header(request, "Authorization") != Some(expected.as_str()) {
        return error(
            401,
            "woocommerce_rest_cannot_create",
            "Sorry, you are not allowed to create resources.",
        );
    }
    let fault = state.faults.pop_front();
    if let Some(Fault::Status(status)) = fault {
        return error(
            status,
            "internal_server_error",
            "There has been a critical error on this website.",
        );
    }
    match *request.method() {
        tiny_http::Method::Get => {
            state.requests.push("GET coupons?code".into());
            let code: Option<String> = form_urlencoded::parse(query.as_bytes())
                .find(|(k, _)| k == "code")
                .map(|(_, v)| v.to_lowercase());
            let Some(code) = code else {
                state.violations.push("GET coupons without code".into());
                return (200, json!(state.coupons.values().collect::<Vec<_>>()));
            };
            (200, json!(state.coupons.get(&code).into_iter().collect::<Vec<_>>()))
        }
        tiny_http::Method::Post => {
            state.requests.push("POST coupons".into());
            if !header(request, "Content-Type").is_some_and(|c| c.starts_with("application/json")) {
                state
                    .violations
                    .push("POST without Content-Type: application/json".into());
            }
            let Ok(coupon) = serde_json::from_str::<Value>(body) else {
                state.violations.push("body is not JSON".into());
                return error(400, "rest_invalid_json", "Invalid JSON body passed.");
            };
            if let Err(why) = documented(&coupon) {
                state.violations.push(why.clone());
                return error(400, "rest_invalid_param", &why);
            }
            let code = coupon["code"].as_str().unwrap_or_default().to_lowercase();
            if state.coupons.contains_key(&code) {
                return error(
                    400,
                    "woocommerce_rest_coupon_code_already_exists",
                    "The coupon code already exists",
                );
            }
            let mut created = coupon.clone();
            created["id"] = json!(719 + state.coupons.len());
            created["code"] = json!(code);
            state.coupons.insert(code, created.clone());
            if matches!(fault, Some(Fault::LostAnswer)) {
                return error(502, "bad_gateway", "Bad Gateway");
            }
            (201, created)
        }
        _ => {
            state.violations.push(format!("{} coupons", request.method()));
            error(
                404,
                "rest_no_route",
                "No route was found matching the URL and request method.",
            )
        }
    }
}

/// The documented coupon properties, by type.
fn documented(coupon: &Value) -> Result<(), String> {
    let object = coupon.as_object().ok_or("the body is not an object")?;
    let decimal = |v: &Value| {
        v.as_str().is_some_and(|s| {
            !s.is_empty()
                && s.split_once('.')
                    .map_or(s, |(w, _)| w)
                    .bytes()
                    .all(|b| b.is_ascii_digit())
        })
    };
    for (key, value) in object {
        let fits = match key.as_str() {
            "code" | "description" => value.as_str().is_some_and(|s| !s.trim().is_empty()),
            "discount_type" => matches!(value.as_str(), Some("percent" | "fixed_cart" | "fixed_product")),
            "amount" | "minimum_amount" | "maximum_amount" => decimal(value),
            "usage_limit" | "usage_limit_per_user" => value.as_u64().is_some_and(|n| n > 0),
            "individual_use" | "free_shipping" | "exclude_sale_items" => value.is_boolean(),
            "email_restrictions" => value
                .as_array()
                .is_some_and(|a| !a.is_empty() && a.iter().all(|e| e.as_str().is_some_and(|s| s.contains('@')))),
            "date_expires_gmt" | "date_expires" => value
                .as_str()
                .is_some_and(|s| s.len() == 19 && s.parse::<jiff::civil::DateTime>().is_ok()),
            other => return Err(format!("{other} is not a coupon property")),
        };
        if !fits {
            return Err(format!("{key} is not in the documented shape"));
        }
    }
    if !object.contains_key("code") {
        return Err("code is required".into());
    }
    Ok(())
}
