//! What SES tells us after sending (configuration-set events on the bus): bounces, complaints,
//! deliveries, opens and clicks. Parsed once at the edge like store events.

use super::EventError;
use crate::domain::{CartId, CustomerId, EmailAddress, OrderId};
use crate::message::MessageKey;
use crate::signing::digest_hex;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The detail-types SES puts on EventBridge (`source` = `aws.ses`).
pub const SES_DETAIL_TYPES: &[&str] = &[
    "Email Sent",
    "Email Delivered",
    "Email Bounced",
    "Email Complaint Received",
    "Email Rejected",
    "Email Delivery Delayed",
    "Email Opened",
    "Email Clicked",
    "Email Rendering Failed",
    "Email Subscribed",
];

/// What happened to a message.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FeedbackKind {
    /// SES accepted the message.
    Send,
    /// The receiving server accepted it.
    Delivery,
    /// Permanent bounce: the address does not exist.
    HardBounce,
    /// Transient bounce (full mailbox, …).
    SoftBounce,
    /// The recipient marked it as spam.
    Complaint,
    /// SES refused it (virus, …).
    Reject,
    /// Delivery is being retried by SES.
    DeliveryDelay,
    /// Opened.
    Open,
    /// A link was clicked.
    Click,
    /// Anything else SES reports (rendering failure, subscription).
    Other,
}

/// One SES event about one message.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Feedback {
    /// What happened.
    pub kind: FeedbackKind,
    /// SES's message id.
    pub ses_message_id: String,
    /// Our message key (from the message's tags), when present.
    pub message_key: Option<MessageKey>,
    /// Our customer id (from the message's tags), when present.
    pub customer_id: Option<CustomerId>,
    /// The order the message was about (from its tags), when present.
    pub order_id: Option<OrderId>,
    /// The cart the message was about (from its tags), when present.
    pub cart_id: Option<CartId>,
    /// The addresses this is about (bounced or complaining recipients; otherwise the destination).
    pub recipients: Vec<EmailAddress>,
    /// Stable id of this event (SES delivers at least once): derived from SES's own identifiers.
    pub event_id: String,
    /// When it happened.
    pub at: Timestamp,
    /// SES's reason or diagnostic, for the record.
    pub reason: Option<String>,
}

fn field(path: &str, reason: impl Into<String>) -> EventError {
    EventError {
        field: path.to_owned(),
        reason: reason.into(),
    }
}

fn tag(detail: &Value, name: &str) -> Option<String> {
    let encoded = detail["mail"]["tags"][name][0].as_str()?;
    let bytes = URL_SAFE_NO_PAD.decode(encoded).ok()?;
    String::from_utf8(bytes).ok()
}

fn addresses(list: &Value, key: &str) -> Vec<EmailAddress> {
    list.as_array()
        .into_iter()
        .flatten()
        .filter_map(|entry| entry[key].as_str().or_else(|| entry.as_str()))
        .filter_map(|raw| {
            // SES may give `Name <addr>`; keep the address.
            let raw = raw.rsplit_once('<').map_or(raw, |(_, rest)| rest.trim_end_matches('>'));
            EmailAddress::parse(raw.trim()).ok()
        })
        .collect()
}

/// Parses the `detail` of an SES event (SES's own event JSON).
pub fn parse_feedback(detail: &Value, envelope_time: Timestamp) -> Result<Feedback, EventError> {
    let event_type = detail["eventType"]
        .as_str()
        .or_else(|| detail["notificationType"].as_str())
        .ok_or_else(|| field("detail.eventType", "is required"))?;
    let message_id = detail["mail"]["messageId"]
        .as_str()
        .ok_or_else(|| field("detail.mail.messageId", "is required"))?
        .to_owned();
    let (kind, section) = match event_type {
        "Send" => (FeedbackKind::Send, "send"),
        "Delivery" => (FeedbackKind::Delivery, "delivery"),
        "Bounce" => {
            let permanent = detail["bounce"]["bounceType"].as_str() == Some("Permanent");
            (
                if permanent {
                    FeedbackKind::HardBounce
                } else {
                    FeedbackKind::SoftBounce
                },
                "bounce",
            )
        }
        "Complaint" => (FeedbackKind::Complaint, "complaint"),
        "Reject" => (FeedbackKind::Reject, "reject"),
        "DeliveryDelay" => (FeedbackKind::DeliveryDelay, "deliveryDelay"),
        "Open" => (FeedbackKind::Open, "open"),
        "Click" => (FeedbackKind::Click, "click"),
        _ => (FeedbackKind::Other, "other"),
    };
    let body = &detail[section];
    let recipients = match kind {
        FeedbackKind::HardBounce | FeedbackKind::SoftBounce => addresses(&body["bouncedRecipients"], "emailAddress"),
        FeedbackKind::Complaint => addresses(&body["complainedRecipients"], "emailAddress"),
        _ => addresses(&detail["mail"]["destination"], ""),
    };
    if matches!(
        kind,
        FeedbackKind::HardBounce | FeedbackKind::SoftBounce | FeedbackKind::Complaint
    ) && recipients.is_empty()
    {
        return Err(field(&format!("detail.{section}"), "names no valid recipient address"));
    }
    let at = body["timestamp"]
        .as_str()
        .and_then(|t| t.parse::<Timestamp>().ok())
        .unwrap_or(envelope_time);
    // SES's own ids: the feedback id of a bounce or complaint, else message + type + time (+ link).
    let identity = body["feedbackId"].as_str().map_or_else(
        || {
            let link = body["link"].as_str().unwrap_or("");
            format!("{message_id}|{event_type}|{at}|{link}")
        },
        str::to_owned,
    );
    let reason = body["diagnosticCode"]
        .as_str()
        .or_else(|| body["bouncedRecipients"][0]["diagnosticCode"].as_str())
        .or_else(|| body["complaintFeedbackType"].as_str())
        .or_else(|| body["reason"].as_str())
        .or_else(|| body["delayType"].as_str())
        .map(str::to_owned);
    Ok(Feedback {
        kind,
        event_id: digest_hex(&["ses-event", &identity], 32),
        message_key: tag(detail, "message_key").and_then(|k| MessageKey::parse(&k).ok()),
        customer_id: tag(detail, "customer_id").and_then(|c| CustomerId::parse(&c).ok()),
        order_id: tag(detail, "order_id").and_then(|o| OrderId::parse(&o).ok()),
        cart_id: tag(detail, "cart_id").and_then(|c| CartId::parse(&c).ok()),
        ses_message_id: message_id,
        recipients,
        at,
        reason,
    })
}

/// Encodes a tag value SES accepts (letters, digits, `_`, `-`): base64url.
pub fn tag_value(raw: &str) -> Option<String> {
    let encoded = URL_SAFE_NO_PAD.encode(raw);
    (encoded.len() <= 256).then_some(encoded)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn mail(extra: Value) -> Value {
        let mut detail = json!({
            "mail": {
                "messageId": "0102-abc",
                "destination": ["ada@example.com"],
                "tags": {
                    "message_key": [tag_value("welcome#c-1").expect("short")],
                    "customer_id": [tag_value("c-1").expect("short")]
                }
            }
        });
        if let (Some(target), Some(more)) = (detail.as_object_mut(), extra.as_object()) {
            target.extend(more.clone());
        }
        detail
    }

    fn at() -> Timestamp {
        "2026-11-02T14:00:00Z".parse().expect("time")
    }

    #[test]
    fn a_permanent_bounce_names_the_bounced_address_and_the_message() {
        let detail = mail(
            json!({"eventType": "Bounce", "bounce": {"bounceType": "Permanent", "feedbackId": "fb-1",
            "timestamp": "2026-11-02T14:01:00Z", "bouncedRecipients": [{"emailAddress": "ada@example.com", "diagnosticCode": "550 5.1.1 user unknown"}]}}),
        );
        let feedback = parse_feedback(&detail, at()).expect("valid");
        assert_eq!(feedback.kind, FeedbackKind::HardBounce);
        assert_eq!(feedback.recipients[0].as_str(), "ada@example.com");
        assert_eq!(feedback.message_key.expect("tagged").as_str(), "welcome#c-1");
        assert_eq!(feedback.customer_id.expect("tagged").as_str(), "c-1");
        assert_eq!(feedback.reason.as_deref(), Some("550 5.1.1 user unknown"));
        assert_eq!(feedback.at.to_string(), "2026-11-02T14:01:00Z");
    }

    #[test]
    fn the_same_ses_event_has_the_same_id_and_different_clicks_do_not() {
        let click = |link: &str| {
            mail(json!({"eventType": "Click", "click": {"timestamp": "2026-11-02T15:00:00Z", "link": link}}))
        };
        let a = parse_feedback(&click("https://shop.example/a"), at()).expect("valid");
        let again = parse_feedback(&click("https://shop.example/a"), at()).expect("valid");
        let b = parse_feedback(&click("https://shop.example/b"), at()).expect("valid");
        assert_eq!(a.event_id, again.event_id);
        assert_ne!(a.event_id, b.event_id);
        assert_eq!(a.kind, FeedbackKind::Click);
    }

    #[test]
    fn a_complaint_without_a_valid_recipient_is_rejected_by_field() {
        let detail =
            mail(json!({"eventType": "Complaint", "complaint": {"complainedRecipients": [{"emailAddress": "nope"}]}}));
        let error = parse_feedback(&detail, at()).expect_err("invalid");
        assert_eq!(error.field, "detail.complaint");
    }
}
