//! One Admin GraphQL call, with the access token it needs: a client-credentials token is cached
//! until shortly before it expires and fetched again on a 401.

use super::CredentialSource;
use super::credentials::Credentials;
use serde_json::{Value, json};
use std::time::{Duration, Instant};
use tokio::sync::Mutex;

/// Why an Admin API call did not give an answer to act on.
#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    /// Throttled (`THROTTLED`, 429), a server error, or the network: try later.
    #[error("Shopify is unavailable: {0}")]
    Unavailable(String),
    /// The credentials could not be read or were refused.
    #[error("Shopify credentials: {0}")]
    Credentials(String),
    /// Shopify answered with an error that a retry will not change.
    #[error("Shopify refused the request: {0}")]
    Refused(String),
}

/// A token and when to stop using it.
struct Token {
    value: String,
    until: Option<Instant>,
}

/// The Admin API of one shop.
pub struct ShopifyAdmin {
    /// Built on first use: loading the system's CA bundle would cost every cold start ~3.5 ms,
    /// and most invocations create no discount code.
    http: std::sync::OnceLock<reqwest::Client>,
    /// `https://<shop>.myshopify.com` (a local stand-in in tests).
    base: String,
    api_version: String,
    credentials: CredentialSource,
    token: Mutex<Option<Token>>,
}

/// A token is dropped this long before Shopify says it expires.
const TOKEN_MARGIN: Duration = Duration::from_secs(300);
/// What a client-credentials token lives when Shopify does not say (a day, less a second).
const TOKEN_LIFETIME: Duration = Duration::from_secs(86_399);

impl ShopifyAdmin {
    /// The Admin API at `base` (`https://<shop>.myshopify.com`), in `api_version`.
    pub fn new(base: impl Into<String>, api_version: impl Into<String>, credentials: CredentialSource) -> Self {
        Self {
            http: std::sync::OnceLock::new(),
            base: base.into().trim_end_matches('/').to_owned(),
            api_version: api_version.into(),
            credentials,
            token: Mutex::new(None),
        }
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

    /// Runs one GraphQL document; the `data` of the answer.
    pub async fn graphql(&self, query: &str, variables: Value) -> Result<Value, AdminError> {
        let body = json!({ "query": query, "variables": variables });
        let mut refreshed = false;
        loop {
            let (token, refreshable) = self.token().await?;
            let url = format!("{}/admin/api/{}/graphql.json", self.base, self.api_version);
            let response = self
                .http()
                .post(&url)
                .header("X-Shopify-Access-Token", token)
                .header("Content-Type", "application/json")
                .body(body.to_string())
                .send()
                .await
                .map_err(|e| AdminError::Unavailable(format!("network: {e}")))?;
            let status = response.status();
            if status == reqwest::StatusCode::UNAUTHORIZED {
                // A client-credentials token expired early (or was revoked): one fresh one. A
                // static token is read again at the next call (the merchant may have replaced it).
                *self.token.lock().await = None;
                if refreshed || !refreshable {
                    return Err(AdminError::Credentials("the access token was refused (401)".into()));
                }
                refreshed = true;
                continue;
            }
            if status == reqwest::StatusCode::TOO_MANY_REQUESTS || status.is_server_error() {
                return Err(AdminError::Unavailable(format!("HTTP {status}")));
            }
            if !status.is_success() {
                // A wrong API version (404), a locked or unpaid shop (423, 402), a missing scope
                // (403): the merchant can fix each, and the email waits for it.
                return Err(AdminError::Unavailable(format!("HTTP {status}")));
            }
            let answer: Value = response
                .json()
                .await
                .map_err(|e| AdminError::Unavailable(format!("unreadable answer: {e}")))?;
            return data_of(answer);
        }
    }

    /// The token to use, and whether a fresh one can be asked for (a client-credentials token,
    /// which has an expiry; a static `shpat_` token has none).
    async fn token(&self) -> Result<(String, bool), AdminError> {
        let mut cached = self.token.lock().await;
        if let Some(token) = cached
            .as_ref()
            .filter(|t| t.until.is_none_or(|until| Instant::now() < until))
        {
            return Ok((token.value.clone(), token.until.is_some()));
        }
        let token = match self.credentials.read().await? {
            Credentials::Token(value) => Token { value, until: None },
            Credentials::Client { id, secret } => self.exchange(&id, &secret).await?,
        };
        let answer = (token.value.clone(), token.until.is_some());
        *cached = Some(token);
        Ok(answer)
    }

    /// The client credentials grant: `POST /admin/oauth/access_token`, form-encoded.
    async fn exchange(&self, id: &str, secret: &str) -> Result<Token, AdminError> {
        let form = form_urlencoded::Serializer::new(String::new())
            .append_pair("grant_type", "client_credentials")
            .append_pair("client_id", id)
            .append_pair("client_secret", secret)
            .finish();
        let response = self
            .http()
            .post(format!("{}/admin/oauth/access_token", self.base))
            .header("Content-Type", "application/x-www-form-urlencoded")
            .body(form)
            .send()
            .await
            .map_err(|e| AdminError::Unavailable(format!("network: {e}")))?;
        let status = response.status();
        if status.is_server_error() || status == reqwest::StatusCode::TOO_MANY_REQUESTS {
            return Err(AdminError::Unavailable(format!("token endpoint: HTTP {status}")));
        }
        if !status.is_success() {
            return Err(AdminError::Credentials(format!("token endpoint: HTTP {status}")));
        }
        #[derive(serde::Deserialize)]
        struct Granted {
            access_token: String,
            expires_in: Option<u64>,
        }
        let granted: Granted = response
            .json()
            .await
            .map_err(|e| AdminError::Credentials(format!("token endpoint answer: {e}")))?;
        let lifetime = granted.expires_in.map_or(TOKEN_LIFETIME, Duration::from_secs);
        Ok(Token {
            value: granted.access_token,
            until: Some(Instant::now() + lifetime.saturating_sub(TOKEN_MARGIN)),
        })
    }
}

/// The `data` of a GraphQL answer; `errors` (throttling above all) become errors. Only their
/// codes are kept: a message may repeat the request's variables (a code, a customer).
fn data_of(answer: Value) -> Result<Value, AdminError> {
    if let Some(errors) = answer.get("errors").and_then(Value::as_array).filter(|e| !e.is_empty()) {
        let codes: Vec<&str> = errors
            .iter()
            .map(|e| {
                e.pointer("/extensions/code")
                    .and_then(Value::as_str)
                    .unwrap_or("unknown")
            })
            .collect();
        // THROTTLED comes with HTTP 200; the others (a missing scope, a schema another API
        // version does not have) are the merchant's to fix: the email waits, none is lost.
        return Err(AdminError::Unavailable(format!("GraphQL errors: {}", codes.join(", "))));
    }
    answer
        .get("data")
        .cloned()
        .ok_or_else(|| AdminError::Unavailable("an answer without data".into()))
}
