//! A local stand-in for Shopify's Admin API (no network here): the token endpoint of the client
//! credentials grant and the GraphQL endpoint for discount codes and email marketing consent
//! (`customerEmailMarketingConsentUpdate`). Every request is checked
//! against the shape Shopify documents (shared/fixtures/shopify/graphql_notes.md); a request
//! that does not fit is answered as Shopify answers a bad one and recorded in `violations`.
//! Failures are injected per request.

use crate::stand_in::header;
use serde_json::{Value, json};
use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex};

/// The API version the stand-in serves.
pub const API_VERSION: &str = "2025-10";

/// A failure the next request gets.
#[derive(Clone, Debug)]
pub enum Fault {
    /// HTTP 200 with `errors[0].extensions.code = THROTTLED`.
    Throttled,
    /// This HTTP status, nothing done.
    Status(u16),
    /// The mutation is carried out, then the answer is lost (HTTP 503).
    LostAnswer,
    /// Every token issued so far stops working (401 from now on for them).
    RevokeTokens,
}

/// What the stand-in holds and saw.
#[derive(Default)]
pub struct State {
    /// Discount inputs by upper-cased code.
    pub discounts: BTreeMap<String, Value>,
    /// Each accepted `customerEmailMarketingConsentUpdate` input, in order.
    pub consent_updates: Vec<Value>,
    /// Customer gids Shopify does not have (deleted): their consent updates get a userError.
    pub missing_customers: Vec<String>,
    /// Faults for the next requests, in order.
    pub faults: VecDeque<Fault>,
    /// Requests that broke the documented shape.
    pub violations: Vec<String>,
    /// Tokens issued by the token endpoint.
    pub tokens_issued: usize,
    /// GraphQL operations received (mutation or query name), in order.
    pub operations: Vec<String>,
    valid_tokens: Vec<String>,
}

/// The running stand-in.
pub struct AdminStandIn {
    /// `http://127.0.0.1:<port>`: the "shop" base URL.
    pub url: String,
    /// Its state.
    pub state: Arc<Mutex<State>>,
    /// The app's client id and secret it accepts.
    pub client: (String, String),
}

impl AdminStandIn {
    /// Starts on a free port; `static_token` is a legacy `shpat_` token it accepts too.
    pub fn start(static_token: Option<&str>) -> Self {
        let mut state = State::default();
        state.valid_tokens.extend(static_token.map(str::to_owned));
        let state = Arc::new(Mutex::new(state));
        let client = ("tidings-client-id".to_owned(), "tidings-client-secret".to_owned());
        let accepted = client.clone();
        let url = crate::stand_in::serve(Arc::clone(&state), move |state, request, body| {
            respond(state, request, body, &accepted)
        });
        Self { url, state, client }
    }

    /// Queues faults for the next requests.
    pub fn inject(&self, faults: &[Fault]) {
        self.state.lock().expect("state").faults.extend(faults.iter().cloned());
    }
}

fn respond(state: &mut State, request: &tiny_http::Request, body: &str, client: &(String, String)) -> (u16, Value) {
    if *request.method() != tiny_http::Method::Post {
        state.violations.push(format!("{} {}", request.method(), request.url()));
        return (405, json!({"errors": "Method not allowed"}));
    }
    if request.url() == "/admin/oauth/access_token" {
        return token(state, request, body, client);
    }
    if request.url() != format!("/admin/api/{API_VERSION}/graphql.json") {
        state.violations.push(format!("path {}", request.url()));
        return (404, json!({"errors": "Not Found"}));
    }
    if let Some(Fault::RevokeTokens) = state.faults.front() {
        state.faults.pop_front();
        state.valid_tokens.clear();
    }
    let token = header(request, "X-Shopify-Access-Token").unwrap_or_default();
    if !state.valid_tokens.iter().any(|t| t == token) {
        return (
            401,
            json!({"errors": "[API] Invalid API key or access token (unrecognized login or wrong password)"}),
        );
    }
    if !header(request, "Content-Type").is_some_and(|c| c.starts_with("application/json")) {
        state
            .violations
            .push("GraphQL without Content-Type: application/json".into());
    }
    let fault = state.faults.pop_front();
    match fault {
        Some(Fault::Throttled) => {
            return (
                200,
                json!({"errors": [{"message": "Throttled", "extensions": {"code": "THROTTLED", "documentation": "https://shopify.dev/api/usage/limits#rate-limits"}}]}),
            );
        }
        Some(Fault::Status(status)) => return (status, json!({"errors": "Service Unavailable"})),
        _ => {}
    }
    let Ok(document) = serde_json::from_str::<Value>(body) else {
        state.violations.push("body is not JSON".into());
        return (400, json!({"errors": "Bad Request"}));
    };
    let query = document["query"].as_str().unwrap_or_default();
    let variables = &document["variables"];
    let (status, answer) = if query.contains("discountCodeBasicCreate(basicCodeDiscount: $basicCodeDiscount)") {
        state.operations.push("discountCodeBasicCreate".into());
        create(
            state,
            &variables["basicCodeDiscount"],
            "discountCodeBasicCreate",
            "basicCodeDiscount",
        )
    } else if query.contains("discountCodeFreeShippingCreate(freeShippingCodeDiscount: $freeShippingCodeDiscount)") {
        state.operations.push("discountCodeFreeShippingCreate".into());
        create(
            state,
            &variables["freeShippingCodeDiscount"],
            "discountCodeFreeShippingCreate",
            "freeShippingCodeDiscount",
        )
    } else if query.contains("codeDiscountNodeByCode(code: $code)") {
        state.operations.push("codeDiscountNodeByCode".into());
        let code = variables["code"].as_str().unwrap_or_default().to_uppercase();
        let node = state.discounts.get(&code).map(|input| {
            let typename = if input.get("destination").is_some() { "DiscountCodeFreeShipping" } else { "DiscountCodeBasic" };
            json!({"id": "gid://shopify/DiscountCodeNode/1057856652", "codeDiscount": {"__typename": typename, "title": input["title"]}})
        });
        (200, json!({"data": {"codeDiscountNodeByCode": node}}))
    } else if query.contains("customerEmailMarketingConsentUpdate(input: $input)") {
        state.operations.push("customerEmailMarketingConsentUpdate".into());
        consent_update(state, &variables["input"])
    } else {
        state.violations.push("an operation the stand-in does not know".into());
        (
            200,
            json!({"errors": [{"message": "Field doesn't exist", "extensions": {"code": "undefinedField"}}]}),
        )
    };
    if matches!(fault, Some(Fault::LostAnswer)) {
        return (503, json!({"errors": "Service Unavailable"}));
    }
    (status, answer)
}

/// The client credentials grant: form-encoded (as Shopify documents) or JSON (as its Node library sends).
fn token(state: &mut State, request: &tiny_http::Request, body: &str, client: &(String, String)) -> (u16, Value) {
    let content = header(request, "Content-Type").unwrap_or_default();
    let fields: BTreeMap<String, String> = if content.starts_with("application/x-www-form-urlencoded") {
        form_urlencoded::parse(body.as_bytes()).into_owned().collect()
    } else {
        serde_json::from_str(body).unwrap_or_default()
    };
    let get = |k: &str| fields.get(k).map(String::as_str);
    if get("grant_type") != Some("client_credentials") {
        state
            .violations
            .push("token request without grant_type=client_credentials".into());
        return (400, json!({"error": "unsupported_grant_type"}));
    }
    if get("client_id") != Some(client.0.as_str()) || get("client_secret") != Some(client.1.as_str()) {
        return (400, json!({"error": "invalid_client"}));
    }
    state.tokens_issued += 1;
    let token = format!("shpca_standin{}", state.tokens_issued);
    state.valid_tokens.push(token.clone());
    (
        200,
        json!({"access_token": token, "scope": "write_discounts", "expires_in": 86399}),
    )
}

fn create(state: &mut State, input: &Value, mutation: &str, argument: &str) -> (u16, Value) {
    let problems = check(input, argument == "freeShippingCodeDiscount");
    if !problems.is_empty() {
        state
            .violations
            .extend(problems.iter().map(|p| format!("{mutation}: {p}")));
        return (
            200,
            json!({"errors": [{"message": problems.join("; "), "extensions": {"code": "argumentLiteralsIncompatible"}}]}),
        );
    }
    let code = input["code"].as_str().unwrap_or_default().to_uppercase();
    if state.discounts.contains_key(&code) {
        let taken = json!({"field": [argument, "code"], "code": "TAKEN", "message": "Code must be unique. Please try a different code.", "extraInfo": null});
        return (
            200,
            json!({"data": {mutation: {"codeDiscountNode": null, "userErrors": [taken]}}}),
        );
    }
    state.discounts.insert(code, input.clone());
    (
        200,
        json!({"data": {mutation: {"codeDiscountNode": {"id": "gid://shopify/DiscountCodeNode/1057856652"}, "userErrors": []}}}),
    )
}

/// `customerEmailMarketingConsentUpdate(input: CustomerEmailMarketingConsentUpdateInput!)`: `customerId: ID!`,
/// `emailMarketingConsent: {marketingState!, marketingOptInLevel, consentUpdatedAt}` (graphql_notes.md §5).
fn consent_update(state: &mut State, input: &Value) -> (u16, Value) {
    const MUTATION: &str = "customerEmailMarketingConsentUpdate";
    let mut problems = Vec::new();
    let mut need = |ok: bool, what: &str| {
        if !ok {
            problems.push(what.to_owned());
        }
    };
    let gid = input["customerId"].as_str().unwrap_or_default();
    let id = gid.strip_prefix("gid://shopify/Customer/").unwrap_or_default();
    need(
        !id.is_empty() && id.bytes().all(|b| b.is_ascii_digit()),
        "customerId must be a Customer gid",
    );
    let consent = &input["emailMarketingConsent"];
    // Only these three can be set; NOT_SUBSCRIBED, REDACTED and INVALID cannot (2025-07 payload page).
    need(
        matches!(
            consent["marketingState"].as_str(),
            Some("SUBSCRIBED" | "UNSUBSCRIBED" | "PENDING")
        ),
        "emailMarketingConsent.marketingState must be SUBSCRIBED, UNSUBSCRIBED or PENDING",
    );
    need(
        consent["marketingOptInLevel"].is_null()
            || matches!(
                consent["marketingOptInLevel"].as_str(),
                Some("SINGLE_OPT_IN" | "CONFIRMED_OPT_IN" | "UNKNOWN")
            ),
        "emailMarketingConsent.marketingOptInLevel must be a CustomerMarketingOptInLevel",
    );
    need(
        consent["consentUpdatedAt"]
            .as_str()
            .is_some_and(|s| s.parse::<jiff::Timestamp>().is_ok()),
        "emailMarketingConsent.consentUpdatedAt must be a DateTime",
    );
    if !problems.is_empty() {
        state
            .violations
            .extend(problems.iter().map(|p| format!("{MUTATION}: {p}")));
        return (
            200,
            json!({"errors": [{"message": problems.join("; "), "extensions": {"code": "argumentLiteralsIncompatible"}}]}),
        );
    }
    if state.missing_customers.iter().any(|m| m == gid) {
        // The userError type's fields are documented (field, message, code); this code and message
        // for a deleted customer are the stand-in's guess.
        let error = json!({"field": ["customerId"], "message": "Customer does not exist", "code": "INVALID"});
        return (
            200,
            json!({"data": {MUTATION: {"customer": null, "userErrors": [error]}}}),
        );
    }
    state.consent_updates.push(input.clone());
    (
        200,
        json!({"data": {MUTATION: {"customer": {"id": gid}, "userErrors": []}}}),
    )
}

/// The documented input shape (DiscountCodeBasicInput / DiscountCodeFreeShippingInput, 2025-10).
fn check(input: &Value, free_shipping: bool) -> Vec<String> {
    let mut problems = Vec::new();
    let mut need = |ok: bool, what: &str| {
        if !ok {
            problems.push(what.to_owned());
        }
    };
    let text = |v: &Value| v.as_str().is_some_and(|s| !s.trim().is_empty());
    let time = |v: &Value| v.as_str().is_some_and(|s| s.parse::<jiff::Timestamp>().is_ok());
    let decimal = |v: &Value| {
        v.as_str().is_some_and(|s| {
            !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit() || b == b'.') && s.matches('.').count() <= 1
        })
    };
    need(text(&input["title"]), "title is required");
    need(text(&input["code"]), "code is required");
    need(time(&input["startsAt"]), "startsAt must be a DateTime");
    need(
        input["endsAt"].is_null() || time(&input["endsAt"]),
        "endsAt must be a DateTime or null",
    );
    need(
        input["usageLimit"].is_null() || input["usageLimit"].is_u64(),
        "usageLimit must be an Int",
    );
    let context = &input["context"];
    let customers = context.pointer("/customers/add").and_then(Value::as_array);
    need(
        context["all"] == "ALL"
            || customers.is_some_and(|ids| {
                !ids.is_empty()
                    && ids
                        .iter()
                        .all(|id| id.as_str().is_some_and(|s| s.starts_with("gid://shopify/Customer/")))
            }),
        "context must be {all: ALL} or {customers: {add: [Customer gids]}}",
    );
    if let Some(minimum) = input.get("minimumRequirement").filter(|m| !m.is_null()) {
        need(
            decimal(&minimum["subtotal"]["greaterThanOrEqualToSubtotal"]),
            "minimumRequirement.subtotal.greaterThanOrEqualToSubtotal must be a Decimal",
        );
    }
    if free_shipping {
        need(input["destination"]["all"] == true, "destination must be {all: true}");
    } else {
        let value = &input["customerGets"]["value"];
        let percentage = value["percentage"].as_f64().is_some_and(|p| p > 0.0 && p <= 1.0);
        let amount = decimal(&value["discountAmount"]["amount"]);
        need(
            percentage ^ amount,
            "customerGets.value must be a percentage in (0, 1] or a discountAmount",
        );
        need(
            input["customerGets"]["items"]["all"] == true,
            "customerGets.items must be {all: true}",
        );
    }
    problems
}
