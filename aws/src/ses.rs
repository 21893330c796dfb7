//! `Mailer` on SES v2: `SendEmail` with the engine's MIME bytes as Raw content.

use aws_sdk_sesv2::Client;
use aws_sdk_sesv2::error::{DisplayErrorContext, SdkError};
use aws_sdk_sesv2::operation::send_email::SendEmailError;
use aws_sdk_sesv2::primitives::Blob;
use aws_sdk_sesv2::types::{Destination, EmailContent, MessageTag, RawMessage};
use tidings_core::feedback::tag_value;
use tidings_core::message::Category;
use tidings_core::ports::{Mailer, OutgoingEmail, SendError};

/// Sends through SES with the configuration set of each message's category.
///
/// `SendEmail` is not idempotent, so the SDK's own retries are off for this client: an SDK retry
/// after a timeout could send twice. This adapter retries only answers that prove SES did not
/// accept the message (throttling, 5xx), with exponential backoff and jitter; after that they are
/// `Transient` and the engine releases the claim. Rejections are `Permanent` (recorded, never
/// retried). No answer at all is `Unknown`: the engine never resends it.
#[derive(Clone, Debug)]
pub struct SesMailer {
    client: Client,
    transactional_set: Option<String>,
    marketing_set: Option<String>,
}

impl SesMailer {
    /// A mailer; configuration sets are optional (none in tests against an emulator).
    pub fn new(client: Client, transactional_set: Option<String>, marketing_set: Option<String>) -> Self {
        Self {
            client,
            transactional_set,
            marketing_set,
        }
    }

    /// The configuration set of a category, if one is configured.
    fn set_for(&self, category: Category) -> Option<&str> {
        match category {
            Category::Transactional => self.transactional_set.as_deref(),
            Category::Marketing => self.marketing_set.as_deref(),
        }
    }

    fn tags(email: &OutgoingEmail) -> Vec<MessageTag> {
        message_tags(email)
            .into_iter()
            .filter_map(|(name, value)| MessageTag::builder().name(name).value(value).build().ok())
            .collect()
    }
}

/// The tags a message carries, which SES repeats in every event about it (send, bounce, click …).
/// Tag values allow only letters, digits, '_' and '-': base64url carries the ids back without a
/// lookup table.
pub fn message_tags(email: &OutgoingEmail) -> Vec<(&'static str, String)> {
    let id = |value: Option<&str>| value.and_then(tag_value);
    let tags = [
        ("kind", Some(email.kind.as_str().to_owned())),
        ("category", Some(email.category.as_str().to_owned())),
        ("message_key", id(Some(email.key.as_str()))),
        ("customer_id", id(Some(email.customer_id.as_str()))),
        ("order_id", id(email.order_id.as_ref().map(|o| o.as_str()))),
        ("cart_id", id(email.cart_id.as_ref().map(|c| c.as_str()))),
    ];
    tags.into_iter()
        .filter_map(|(name, value)| Some((name, value?)))
        .collect()
}

/// Attempts per message inside one invocation (throttling and 5xx only).
const ATTEMPTS: u32 = 3;

/// What an SES error says about the message.
fn classify(error: SdkError<SendEmailError>) -> SendError {
    let reason = DisplayErrorContext(&error).to_string();
    match &error {
        SdkError::ServiceError(service) => match service.err() {
            SendEmailError::MessageRejected(_)
            | SendEmailError::MailFromDomainNotVerifiedException(_)
            | SendEmailError::BadRequestException(_)
            | SendEmailError::NotFoundException(_) => SendError::Permanent(reason),
            // Throttling, sending paused, limits, internal errors: SES answered and did not accept.
            _ => SendError::Transient(reason),
        },
        // The request could not even be built: nothing left this process.
        SdkError::ConstructionFailure(_) => SendError::Transient(reason),
        // Timeouts, lost connections, unreadable answers: SES may have accepted it.
        _ => SendError::Unknown(reason),
    }
}

impl Mailer for SesMailer {
    /// The configuration sets publish SES's `Send` event (docs/aws.md): ses-events settles the
    /// claim and announces `EmailSent` from it, even when this process dies after SES accepted.
    /// Only with a configuration set, and with the tags that name the message and the customer.
    fn reports_acceptance(&self, email: &OutgoingEmail) -> bool {
        let tags = message_tags(email);
        let tagged = |name: &str| tags.iter().any(|(tag, _)| *tag == name);
        self.set_for(email.category).is_some() && tagged("message_key") && tagged("customer_id")
    }

    /// SES takes at most the account's send rate (`[sending] max_rate`).
    fn paced(&self) -> bool {
        true
    }

    /// In ses-events, which never sends, this answers for the step functions: whether they left
    /// `EmailSent` to SES's report. They do exactly when they send with a configuration set, so
    /// ses-events is deployed with the same `SES_CONFIGURATION_SET_*` variables as the steps
    /// (infra/functions.json; tests check both the file and the deployed pair on moto). Deliberately
    /// not a separate "reports sends" variable: that would be a second statement of what the sets
    /// already say, free to disagree with them; with one definition of the sets the sender's
    /// `reports_acceptance` and this answer cannot drift apart.
    fn reports_sends(&self) -> bool {
        self.transactional_set.is_some() || self.marketing_set.is_some()
    }

    async fn send(&self, email: &OutgoingEmail) -> Result<String, SendError> {
        let raw = RawMessage::builder()
            .data(Blob::new(email.raw.clone()))
            .build()
            .map_err(|e| SendError::Permanent(format!("raw message: {e}")))?;
        let set = self.set_for(email.category).map(str::to_owned);
        let mut attempt = 1;
        loop {
            let result = self
                .client
                .send_email()
                .from_email_address(email.from.as_str())
                .destination(Destination::builder().to_addresses(email.to.as_str()).build())
                .content(EmailContent::builder().raw(raw.clone()).build())
                .set_configuration_set_name(set.clone())
                .set_email_tags(Some(Self::tags(email)))
                .send()
                .await;
            match result.map_err(classify) {
                Ok(output) => return Ok(output.message_id.unwrap_or_default()),
                Err(SendError::Transient(reason)) if attempt < ATTEMPTS => {
                    tracing::warn!(message_key = %email.key.redacted(), attempt, reason = %reason, "SES did not accept the message; retrying");
                    tokio::time::sleep(super::backoff(attempt)).await;
                    attempt += 1;
                }
                Err(error) => return Err(error),
            }
        }
    }
}
