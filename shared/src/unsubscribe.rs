//! The unsubscribe page behind the links in every marketing email.
//!
//! RFC 8058: a `POST` with `List-Unsubscribe=One-Click` unsubscribes at once and answers 200, no
//! redirect. A `GET` (what link scanners do) only shows a confirmation page with a button. Tokens
//! are HMAC-signed (customer, scope, issue time); a bad, changed or expired one gets a 400 page and
//! changes nothing.

use crate::domain::Locale;
use crate::engine::{CONFIRM_SCOPE, Engine, EngineError};
use crate::ports::{Bus, Clock, ConsentSource, Mailer, Store};
use crate::render::RenderError;
use serde_json::json;

pub use crate::signing::TOKEN_MAX_AGE;

/// An HTTP answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PageResponse {
    /// Status code.
    pub status: u16,
    /// HTML page.
    pub body: String,
}

/// Why the page could not be produced (the platform answers 500 and the request is retried).
#[derive(Debug, thiserror::Error)]
pub enum PageError {
    /// The store or bus failed.
    #[error(transparent)]
    Engine(#[from] EngineError),
    /// The page template failed.
    #[error(transparent)]
    Render(#[from] RenderError),
}

/// What the visitor asked for.
enum Intent {
    Show,
    Unsubscribe,
    Resubscribe,
    Confirm,
}

fn intent(method: &str, body: &[u8]) -> Intent {
    if !method.eq_ignore_ascii_case("POST") {
        return Intent::Show;
    }
    let mut intent = Intent::Unsubscribe;
    for (name, value) in form_urlencoded::parse(body) {
        // RFC 8058 bodies are `List-Unsubscribe=One-Click`; our own page posts `action=…`.
        match (name.as_ref(), value.as_ref()) {
            ("action", "resubscribe") => intent = Intent::Resubscribe,
            ("action", "confirm") => intent = Intent::Confirm,
            _ => {}
        }
    }
    intent
}

/// What the deployed endpoint calls itself in `AttentionNeeded`.
const ENDPOINT: &str = "unsubscribe";

/// [`respond`], and a failure announced as `AttentionNeeded` (`endpoint_failed`) before it is
/// returned (answered 500: the mailbox provider or the visitor tries again), since a synchronous
/// endpoint has no dead-letter queue of its own.
pub async fn serve<S: Store, M: Mailer, B: Bus, C: Clock>(
    engine: &Engine<S, M, B, C>,
    method: &str,
    query: &str,
    body: &[u8],
) -> Result<PageResponse, PageError> {
    let answer = respond(engine, method, query, body).await;
    if let Err(error) = &answer {
        let detail = format!("an unsubscribe request failed: {}", crate::ports::report(error));
        engine
            .needs_attention(crate::event::Attention::EndpointFailed, ENDPOINT, detail)
            .await;
    }
    answer
}

/// Answers one request: `query` is the URL's query string, `body` the form body of a POST.
pub async fn respond<S: Store, M: Mailer, B: Bus, C: Clock>(
    engine: &Engine<S, M, B, C>,
    method: &str,
    query: &str,
    body: &[u8],
) -> Result<PageResponse, PageError> {
    let now = engine.clock().now();
    let token = form_urlencoded::parse(query.as_bytes())
        .find(|(name, _)| name == "token")
        .map(|(_, value)| value.into_owned())
        .unwrap_or_default();
    let default_locale = engine.config().defaults.locale.clone();
    let claim = match engine.keys().verify_unsubscribe(&token, now, TOKEN_MAX_AGE) {
        Ok(claim) if claim.scope == "marketing" || claim.scope == CONFIRM_SCOPE => claim,
        Ok(_) | Err(_) => {
            tracing::info!(outcome = "rejected", "invalid unsubscribe token");
            let body = engine.renderer().render_page(
                "unsubscribe",
                &default_locale,
                json!({ "state": "invalid", "action": "" }),
            )?;
            return Ok(PageResponse { status: 400, body });
        }
    };
    let locale: Locale = engine
        .customer(&claim.customer_id)
        .await?
        .and_then(|c| c.profile.locale)
        .unwrap_or(default_locale);
    let confirming = claim.scope == CONFIRM_SCOPE;
    let state = match intent(method, body) {
        // A confirmation link only confirms; an unsubscribe link never confirms.
        Intent::Show if confirming => "confirm_subscription",
        Intent::Confirm if confirming => {
            engine
                .set_marketing_consent(&claim.customer_id, true, ConsentSource::Confirmed, now)
                .await?;
            "subscribed"
        }
        _ if confirming => "confirm_subscription",
        Intent::Show | Intent::Confirm => "confirm",
        Intent::Unsubscribe => {
            engine
                .set_marketing_consent(&claim.customer_id, false, ConsentSource::Unsubscribe, now)
                .await?;
            "unsubscribed"
        }
        Intent::Resubscribe => {
            engine
                .set_marketing_consent(&claim.customer_id, true, ConsentSource::Resubscribe, now)
                .await?;
            "resubscribed"
        }
    };
    // The form posts back to this page: the store's own query (if any) and the token.
    let link = engine
        .config()
        .sender
        .unsubscribe_link(&crate::render::url_encode(&token));
    let action = link.find('?').map_or_else(String::new, |at| link[at..].to_owned());
    let body = engine
        .renderer()
        .render_page("unsubscribe", &locale, json!({ "state": state, "action": action }))?;
    Ok(PageResponse { status: 200, body })
}
