//! What happens to a message once SES accepted it: SES's reports (send, delivery, bounce,
//! complaint, open, click) and the customer's one-click unsubscribe. Drawn from the seed and the
//! message key, not from the run's schedule, so every run of a seed reacts alike to the same mail.

use super::ports::Accepted;
use jiff::{SignedDuration, Timestamp};
use serde_json::{Value, json};
use std::hash::{Hash, Hasher};
use tidings_core::feedback::tag_value;
use tidings_core::message::Category;
use tidings_core::signing::SigningKeys;

/// A number in [0, 1) for this seed, message and question.
fn roll(seed: u64, message: &Accepted, question: &str) -> f64 {
    let mut hasher = std::hash::DefaultHasher::new();
    (seed, message.email.key.as_str(), question).hash(&mut hasher);
    (hasher.finish() >> 11) as f64 / (1u64 << 53) as f64
}

/// SES's events about the message, with when they are put on the bus.
pub(super) fn ses_events(seed: u64, message: &Accepted) -> Vec<(Timestamp, Value)> {
    let sent = message.email.at;
    let to = message.email.to.as_str();
    let marketing = message.email.category == Category::Marketing;
    let mut events = vec![(
        sent + secs(2),
        ses(
            message,
            "Email Sent",
            sent + secs(2),
            json!({"eventType": "Send", "send": {}}),
        ),
    )];
    let mut add = |after: SignedDuration, detail_type: &str, body: Value| {
        events.push((sent + after, ses(message, detail_type, sent + after, body)));
    };
    let at = |after: SignedDuration| (sent + after).to_string();
    if roll(seed, message, "bounce") < 0.02 {
        add(
            secs(60),
            "Email Bounced",
            json!({"eventType": "Bounce", "bounce": {"bounceType": "Permanent",
            "feedbackId": format!("b-{}", message.ses_id), "timestamp": at(secs(60)),
            "bouncedRecipients": [{"emailAddress": to, "diagnosticCode": "550 5.1.1 user unknown"}]}}),
        );
        return events;
    }
    if roll(seed, message, "delivery") < 0.3 {
        add(
            secs(8),
            "Email Delivered",
            json!({"eventType": "Delivery",
            "delivery": {"timestamp": at(secs(8)), "recipients": [to]}}),
        );
    }
    if roll(seed, message, "open") < 0.3 {
        add(
            hours(2),
            "Email Opened",
            json!({"eventType": "Open", "open": {"timestamp": at(hours(2))}}),
        );
    }
    if clicked(seed, message) {
        add(
            hours(3),
            "Email Clicked",
            json!({"eventType": "Click",
            "click": {"timestamp": at(hours(3)), "link": "https://shop.example/p/p-mug"}}),
        );
    }
    if marketing && roll(seed, message, "complaint") < 0.004 {
        add(
            hours(4),
            "Email Complaint Received",
            json!({"eventType": "Complaint", "complaint": {
            "feedbackId": format!("c-{}", message.ses_id), "timestamp": at(hours(4)),
            "complainedRecipients": [{"emailAddress": to}]}}),
        );
    }
    events
}

/// Whether the customer clicks in the message (a bounced one is never read).
pub(super) fn clicked(seed: u64, message: &Accepted) -> bool {
    roll(seed, message, "bounce") >= 0.02 && roll(seed, message, "click") < 0.12
}

/// The customer's one-click unsubscribe from a marketing message, if they make one.
pub(super) fn unsubscribe(seed: u64, message: &Accepted, keys: &SigningKeys) -> Option<(Timestamp, String)> {
    let marketing = message.email.category == Category::Marketing;
    (marketing && roll(seed, message, "unsubscribe") < 0.06).then(|| {
        let token = keys.unsubscribe_token(&message.email.customer_id, "marketing", message.email.at);
        (message.email.at + hours(5), token)
    })
}

/// An SES event about the message, as its configuration set puts it on the bus.
fn ses(message: &Accepted, detail_type: &str, at: Timestamp, body: Value) -> Value {
    let email = &message.email;
    let mut tags = json!({
        "message_key": [tag_value(email.key.as_str())],
        "customer_id": [tag_value(email.customer_id.as_str())],
    });
    if let Some(order) = &email.order_id {
        tags["order_id"] = json!([tag_value(order.as_str())]);
    }
    let mut detail = json!({"mail": {"messageId": message.ses_id, "destination": [email.to.as_str()], "tags": tags}});
    if let (Some(detail), Some(body)) = (detail.as_object_mut(), body.as_object()) {
        detail.extend(body.clone());
    }
    let mut envelope = crate::envelope(detail_type, &at.to_string(), detail);
    envelope["source"] = json!("aws.ses");
    envelope
}

fn secs(n: i64) -> SignedDuration {
    SignedDuration::from_secs(n)
}

fn hours(n: i64) -> SignedDuration {
    SignedDuration::from_hours(n)
}
