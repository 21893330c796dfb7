//! The one MIME builder: RFC 5322 bytes (multipart/alternative, UTF-8, RFC 2047 subject, RFC 8058
//! one-click unsubscribe) — the same bytes go to SES as Raw content and into the outbox.

use crate::domain::EmailAddress;
use crate::message::MessageKey;
use crate::render::Rendered;
use crate::signing::digest_hex;
use jiff::Timestamp;
use mail_builder::MessageBuilder;
use mail_builder::headers::content_type::ContentType;
use mail_builder::headers::date::Date;
use mail_builder::headers::raw::Raw;
use mail_builder::mime::MimePart;

/// Who a message is from and to, and the headers that are not content.
pub struct Envelope<'a> {
    /// Store display name.
    pub from_name: &'a str,
    /// Sending address.
    pub from: &'a EmailAddress,
    /// Monitored reply address.
    pub reply_to: &'a EmailAddress,
    /// Recipient.
    pub to: &'a EmailAddress,
    /// Recipient's name, if known.
    pub to_name: Option<&'a str>,
    /// The message key (Message-ID and boundary derive from it).
    pub key: &'a MessageKey,
    /// Send time (`Date`).
    pub date: Timestamp,
    /// Marketing: the HTTPS one-click URL and the mailto address.
    pub unsubscribe: Option<(&'a str, String)>,
}

/// Builds the final message bytes.
pub fn build(envelope: &Envelope<'_>, body: &Rendered) -> Vec<u8> {
    let key = envelope.key.as_str();
    let message_id = format!("{}@{}", digest_hex(&["message-id", key], 32), envelope.from.domain());
    let boundary = format!("tidings-{}", digest_hex(&["boundary", key], 24));
    let to: mail_builder::headers::address::Address<'_> = match envelope.to_name {
        Some(name) if !name.trim().is_empty() => (name.trim(), envelope.to.as_str()).into(),
        _ => envelope.to.as_str().into(),
    };
    let mut builder = MessageBuilder::new()
        .from((envelope.from_name, envelope.from.as_str()))
        .reply_to(envelope.reply_to.as_str())
        .to(to)
        .subject(body.subject.as_str())
        .date(Date::new(envelope.date.as_second()))
        .message_id(message_id)
        .header("Content-Language", Raw::new(body.locale.as_str()));
    if let Some((url, mailto)) = &envelope.unsubscribe {
        builder = builder
            .header("List-Unsubscribe", Raw::new(format!("<{url}>, <{mailto}>")))
            .header("List-Unsubscribe-Post", Raw::new("List-Unsubscribe=One-Click"));
    }
    let alternative = MimePart::new(
        ContentType::new("multipart/alternative").attribute("boundary", boundary),
        vec![
            MimePart::new("text/plain", body.text.as_str()),
            MimePart::new("text/html", body.html.as_str()),
        ],
    );
    // Writing into a Vec cannot fail.
    builder.body(alternative).write_to_vec().unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::message::MessageKind;

    fn sample(unsubscribe: bool, subject: &str) -> Vec<u8> {
        let from = EmailAddress::parse("hello@shop.example").expect("valid");
        let to = EmailAddress::parse("minji@example.com").expect("valid");
        let key = MessageKey::new(MessageKind::Welcome, "c-1", &[]);
        let envelope = Envelope {
            from_name: "Maple & Moss",
            from: &from,
            reply_to: &from,
            to: &to,
            to_name: Some("민지"),
            key: &key,
            date: Timestamp::from_second(1_800_000_000).expect("valid"),
            unsubscribe: unsubscribe.then(|| {
                (
                    "https://shop.example/u?t=abc",
                    "mailto:unsubscribe@shop.example?subject=unsubscribe".to_owned(),
                )
            }),
        };
        let body = Rendered {
            subject: subject.to_owned(),
            preheader: String::new(),
            html: "<p>안녕하세요</p>".into(),
            text: "안녕하세요\n".into(),
            locale: "ko-KR".into(),
            recipient: None,
        };
        build(&envelope, &body)
    }

    #[test]
    fn the_same_message_builds_the_same_bytes() {
        assert_eq!(sample(true, "환영합니다"), sample(true, "환영합니다"));
    }

    #[test]
    fn marketing_carries_one_click_unsubscribe_headers() {
        let raw = String::from_utf8(sample(true, "Welcome")).expect("ascii headers");
        // Long headers are folded (CRLF + space); unfold before comparing.
        let raw = raw.replace("\r\n ", " ");
        assert!(raw.contains("List-Unsubscribe: <https://shop.example/u?t=abc>, <mailto:unsubscribe@shop.example?subject=unsubscribe>\r\n"));
        assert!(raw.contains("List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n"));
        assert!(raw.contains("multipart/alternative"));
        let plain = String::from_utf8(sample(false, "Welcome")).expect("ascii");
        assert!(!plain.contains("List-Unsubscribe"));
    }

    #[test]
    fn non_ascii_subjects_are_encoded_words() {
        let raw = String::from_utf8_lossy(&sample(false, "환영합니다")).into_owned();
        let subject = raw.lines().find(|l| l.starts_with("Subject:")).expect("subject header");
        assert!(subject.contains("=?utf-8?"), "{subject}");
    }
}
