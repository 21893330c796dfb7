//! A local stand-in for AfterShip's and EasyPost's tracking APIs (no network here):
//! `POST /tracking/2024-04/trackings` (header `as-api-key`; body `{tracking_number, slug?}`;
//! a number it has is answered 400 with `meta.code` 4003, "Tracking already exists.", as
//! AfterShip does) and `POST /v2/trackers` (HTTP Basic with the API key as the user; body
//! `{"tracker": {tracking_code, carrier?}}`; a number it has returns that tracker, as EasyPost
//! does). Every request is checked against that documented shape and recorded; failures are
//! injected per request.

use crate::stand_in::header;
use serde_json::{Value, json};
use std::collections::{BTreeSet, VecDeque};
use std::sync::{Arc, Mutex};

/// The AfterShip key it accepts.
pub const AFTERSHIP_KEY: &str = "asat_5e1d8ba4c1f94d7c9d6f2c3b1a0e9f8d";
/// The EasyPost key it accepts.
pub const EASYPOST_KEY: &str = "EZAK1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d";

/// What the stand-in holds and saw.
#[derive(Default)]
pub struct State {
    /// AfterShip's trackings, by number.
    pub aftership: BTreeSet<String>,
    /// EasyPost's trackers, by number.
    pub easypost: BTreeSet<String>,
    /// Each request's body, in order (`aftership {…}`, `easypost {…}`).
    pub requests: Vec<String>,
    /// HTTP statuses the next requests get, in order.
    pub faults: VecDeque<u16>,
    /// Requests that broke the documented shape.
    pub violations: Vec<String>,
}

/// The running stand-in (one server for both APIs).
pub struct TrackingStandIn {
    /// `http://127.0.0.1:<port>`.
    pub url: String,
    /// Its state.
    pub state: Arc<Mutex<State>>,
}

impl TrackingStandIn {
    /// Starts on a free port.
    pub fn start() -> Self {
        let state = Arc::new(Mutex::new(State::default()));
        let url = crate::stand_in::serve(Arc::clone(&state), respond);
        Self { url, state }
    }

    /// Queues HTTP statuses for the next requests.
    pub fn inject(&self, statuses: &[u16]) {
        self.state.lock().expect("state").faults.extend(statuses);
    }
}

fn respond(state: &mut State, request: &tiny_http::Request, body: &str) -> (u16, Value) {
    use base64::Engine as _;
    let Ok(document) = serde_json::from_str::<Value>(body) else {
        state.violations.push(format!("{}: body is not JSON", request.url()));
        return (400, json!({"error": "bad request"}));
    };
    if *request.method() != tiny_http::Method::Post {
        state.violations.push(format!("{} {}", request.method(), request.url()));
        return (404, json!({}));
    }
    match request.url() {
        "/tracking/2024-04/trackings" => {
            state.requests.push(format!("aftership {document}"));
            if header(request, "as-api-key") != Some(AFTERSHIP_KEY) {
                return (
                    401,
                    json!({"meta": {"code": 401, "message": "Invalid API key.", "type": "Unauthorized"}, "data": {}}),
                );
            }
            if let Some(status) = state.faults.pop_front() {
                return (
                    status,
                    json!({"meta": {"code": status, "message": "Something went wrong.", "type": "InternalError"}, "data": {}}),
                );
            }
            let fits = document.as_object().is_some_and(|o| {
                o.keys().all(|k| k == "tracking_number" || k == "slug")
                    && o.get("tracking_number")
                        .and_then(Value::as_str)
                        .is_some_and(|n| !n.is_empty())
                    && o.get("slug").is_none_or(Value::is_string)
            });
            if !fits {
                state.violations.push(format!("aftership body {document}"));
                return (
                    400,
                    json!({"meta": {"code": 4001, "message": "Invalid JSON data.", "type": "BadRequest"}, "data": {}}),
                );
            }
            let number = document["tracking_number"].as_str().unwrap_or_default().to_owned();
            if !state.aftership.insert(number) {
                return (
                    400,
                    json!({"meta": {"code": 4003, "message": "Tracking already exists.", "type": "BadRequest"}, "data": {}}),
                );
            }
            (201, json!({"meta": {"code": 201}, "data": {"tracking": document}}))
        }
        "/v2/trackers" => {
            state.requests.push(format!("easypost {document}"));
            let expected = format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode(format!("{EASYPOST_KEY}:"))
            );
            if header(request, "Authorization") != Some(expected.as_str()) {
                return (
                    401,
                    json!({"error": {"code": "APIKEY.INACTIVE", "message": "This api key is no longer active.", "errors": []}}),
                );
            }
            if let Some(status) = state.faults.pop_front() {
                return (
                    status,
                    json!({"error": {"code": "INTERNAL_SERVER_ERROR", "message": "Something went wrong.", "errors": []}}),
                );
            }
            let tracker = &document["tracker"];
            let fits = tracker.as_object().is_some_and(|o| {
                o.keys().all(|k| k == "tracking_code" || k == "carrier")
                    && o.get("tracking_code")
                        .and_then(Value::as_str)
                        .is_some_and(|n| !n.is_empty())
                    && o.get("carrier").is_none_or(Value::is_string)
            }) && document.as_object().is_some_and(|o| o.len() == 1);
            if !fits {
                state.violations.push(format!("easypost body {document}"));
                return (
                    422,
                    json!({"error": {"code": "TRACKER.INVALID", "message": "Invalid tracker.", "errors": []}}),
                );
            }
            let number = tracker["tracking_code"].as_str().unwrap_or_default().to_owned();
            state.easypost.insert(number.clone());
            (
                200,
                json!({"id": "trk_1", "object": "Tracker", "tracking_code": number, "status": "unknown"}),
            )
        }
        other => {
            state.violations.push(format!("path {other}"));
            (404, json!({}))
        }
    }
}
