//! A tidings unsubscribe (or complaint), mirrored to the store: `customerEmailMarketingConsentUpdate`
//! sets the Shopify customer's email marketing state to UNSUBSCRIBED as of when the customer
//! unsubscribed, so the store's own marketing emails stop too. Setting a state is idempotent, so a
//! retried invocation is harmless. Shopify's `customers_email_marketing_consent/update` echo of it
//! comes back as a store "no", which leaves a tidings unsubscribe as it is.

use super::{AdminError, ShopifyAdmin};
use serde_json::{Value, json};
use tidings_core::domain::CustomerId;
use tidings_core::event::EventError;

const CONSENT_UPDATE: &str = "mutation customerEmailMarketingConsentUpdate($input: CustomerEmailMarketingConsentUpdateInput!) { customerEmailMarketingConsentUpdate(input: $input) { customer { id } userErrors { field message code } } }";

/// Why an unsubscribe was not mirrored.
#[derive(Debug, thiserror::Error)]
pub enum MirrorError {
    /// The `CustomerUnsubscribed` detail breaks the contract: it names the field.
    #[error("rejected CustomerUnsubscribed: {0}")]
    Rejected(#[from] EventError),
    /// The Admin API call failed (throttling and outages are [`AdminError::Unavailable`]).
    #[error(transparent)]
    Admin(#[from] AdminError),
    /// Shopify refused the update (`userErrors`): a retry will not change it.
    #[error("Shopify refused the consent update: {0}")]
    UserErrors(String),
    /// The function has no Admin API credentials to call Shopify with.
    #[error("SHOPIFY_CREDENTIALS_PARAMETER is not set: the unsubscribe cannot be mirrored to Shopify")]
    NotConfigured,
}

impl MirrorError {
    /// Only an unavailable Shopify (throttled, a server error, the network) is worth retrying.
    pub fn is_retryable(&self) -> bool {
        matches!(self, Self::Admin(AdminError::Unavailable(_)))
    }
}

/// What became of one unsubscribe.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mirrored {
    /// Shopify now has the customer as UNSUBSCRIBED.
    Unsubscribed,
    /// Not a Shopify customer (a guest's pseudonym, another source's id): nothing to tell Shopify.
    NotAShopifyCustomer,
}

/// Mirrors one `CustomerUnsubscribed` detail (`{customer_id, scope, at}`) to Shopify. Both scopes
/// (`marketing`, an unsubscribe; `all`, a complaint) end the store's marketing emails alike.
pub async fn mirror_unsubscribe(admin: &ShopifyAdmin, detail: &Value) -> Result<Mirrored, MirrorError> {
    let (customer, scope, at) = parse(detail)?;
    let Some(gid) = customer_gid(&customer) else {
        // A guest has no Shopify customer; its id (a pseudonym of the address) stays out of the log.
        tracing::info!(scope, "unsubscribe of a customer Shopify does not know: not mirrored");
        return Ok(Mirrored::NotAShopifyCustomer);
    };
    let input = json!({
        "customerId": gid,
        "emailMarketingConsent": {
            "marketingState": "UNSUBSCRIBED",
            "marketingOptInLevel": "SINGLE_OPT_IN",
            // When the customer did it, not when this ran: a retry states the same fact.
            "consentUpdatedAt": at.to_string(),
        },
    });
    let data = admin.graphql(CONSENT_UPDATE, json!({ "input": input })).await?;
    let payload = &data["customerEmailMarketingConsentUpdate"];
    let errors = payload["userErrors"].as_array().cloned().unwrap_or_default();
    if !errors.is_empty() {
        return Err(MirrorError::UserErrors(describe(&errors)));
    }
    if payload.pointer("/customer/id").and_then(Value::as_str).is_none() {
        return Err(MirrorError::UserErrors("an answer without the customer".into()));
    }
    tracing::info!(scope, "unsubscribe mirrored to Shopify");
    Ok(Mirrored::Unsubscribed)
}

/// The detail's customer, scope and time; a field that breaks the contract is named.
fn parse(detail: &Value) -> Result<(CustomerId, &'static str, jiff::Timestamp), EventError> {
    let rejected = |field: &str, reason: &str| EventError {
        field: format!("detail.{field}"),
        reason: reason.to_owned(),
    };
    let text = |field: &str| {
        detail[field]
            .as_str()
            .ok_or_else(|| rejected(field, "must be a string"))
    };
    let customer = CustomerId::parse(text("customer_id")?).map_err(|e| rejected("customer_id", &e.to_string()))?;
    let scope = match text("scope")? {
        "marketing" => "marketing",
        "all" => "all",
        _ => return Err(rejected("scope", "must be \"marketing\" or \"all\"")),
    };
    let at = text("at")?
        .parse::<jiff::Timestamp>()
        .map_err(|_| rejected("at", "must be an RFC 3339 time"))?;
    Ok((customer, scope, at))
}

/// `gid://shopify/Customer/<id>` for a Shopify customer id (a number); none for anyone else.
fn customer_gid(customer: &CustomerId) -> Option<String> {
    let id = customer.as_str();
    let numeric = !id.is_empty() && id.bytes().all(|b| b.is_ascii_digit()) && id.parse::<u64>().is_ok();
    numeric.then(|| format!("gid://shopify/Customer/{id}"))
}

/// `field: code (message)` of each userError, bounded: errors reach logs and dead-letter queues.
fn describe(errors: &[Value]) -> String {
    let one = |e: &Value| {
        let field = e["field"]
            .as_array()
            .map(|path| path.iter().filter_map(Value::as_str).collect::<Vec<_>>().join("."))
            .unwrap_or_default();
        let code = e["code"].as_str().unwrap_or("?");
        let message: String = e["message"].as_str().unwrap_or_default().chars().take(120).collect();
        format!("{field}: {code} ({message})")
    };
    let all: Vec<String> = errors.iter().take(5).map(one).collect();
    format!("userErrors: {}", all.join("; "))
}

#[cfg(test)]
mod tests {
    use super::{customer_gid, parse};
    use serde_json::json;
    use tidings_core::domain::CustomerId;

    #[test]
    fn only_shopify_numeric_ids_name_a_customer() {
        let gid = |id: &str| customer_gid(&CustomerId::parse(id).expect("id"));
        assert_eq!(
            gid("115310627314723954").as_deref(),
            Some("gid://shopify/Customer/115310627314723954")
        );
        assert_eq!(gid("guest:0123456789abcdef0123456789abcdef"), None);
        assert_eq!(gid("c-1"), None);
        assert_eq!(gid("99999999999999999999999"), None, "beyond any Shopify id");
    }

    #[test]
    fn a_detail_that_breaks_the_contract_names_the_field() {
        let detail = json!({"customer_id": "1", "scope": "marketing", "at": "yesterday"});
        let error = parse(&detail).expect_err("rejected");
        assert_eq!(error.field, "detail.at");
        let detail = json!({"customer_id": "1", "scope": "transactional", "at": "2026-11-02T15:05:00Z"});
        assert_eq!(parse(&detail).expect_err("rejected").field, "detail.scope");
        let detail = json!({"scope": "all", "at": "2026-11-02T15:05:00Z"});
        assert_eq!(parse(&detail).expect_err("rejected").field, "detail.customer_id");
    }
}
