//! The one MIME builder: RFC 5322 bytes (multipart/alternative, UTF-8, RFC 2047 subject, RFC 8058
//! one-click unsubscribe) — the same bytes go to SES as Raw content and into the outbox.

use crate::domain::EmailAddress;
use crate::message::MessageKey;
use crate::render::Rendered;
use crate::signing::digest_hex;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use jiff::Timestamp;
use mail_builder::MessageBuilder;
use mail_builder::headers::HeaderType;
use mail_builder::headers::address::Address;
use mail_builder::headers::content_type::ContentType;
use mail_builder::headers::date::Date;
use mail_builder::headers::raw::Raw;
use mail_builder::headers::text::Text;
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
    /// The message key (Message-ID and boundary derive from it; the boundary also avoids the bodies).
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
    let boundary = boundary(key, body);
    let to_name = envelope.to_name.map(str::trim).filter(|name| !name.is_empty());
    let mut builder = MessageBuilder::new()
        .header("From", mailbox(Some(envelope.from_name), envelope.from))
        .reply_to(envelope.reply_to.as_str())
        .header("To", mailbox(to_name, envelope.to))
        .header("Subject", unstructured(&body.subject))
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

/// The multipart boundary: a digest of the message key, with `-1`, `-2`, … appended until it occurs in
/// neither body, so no text from a store or customer can end a part early. Same input, same boundary.
fn boundary(key: &str, body: &Rendered) -> String {
    let base = format!("tidings-{}", digest_hex(&["boundary", key], 24));
    let occurs = |candidate: &str| body.text.contains(candidate) || body.html.contains(candidate);
    let mut candidate = base.clone();
    // The bodies are finite, so some candidate occurs in neither.
    let mut n = 0_u64;
    while occurs(&candidate) {
        n += 1;
        candidate = format!("{base}-{n}");
    }
    candidate
}

/// True when header text could be read as an RFC 2047 encoded word (`=?utf-8?b?4oCu?=` is U+202E to
/// a mail client): such text from a customer or a store is always encoded by us, so it shows as typed.
fn looks_encoded(text: &str) -> bool {
    text.contains("=?")
}

/// `text` as `=?utf-8?B?…?=` words of whole characters, each short enough for one header line.
fn encoded_words(text: &str) -> String {
    /// Bytes per word: 52 base64 characters, 64 with the delimiters.
    const CHUNK: usize = 39;
    let mut words = Vec::new();
    let mut start = 0;
    for (at, c) in text.char_indices() {
        if at + c.len_utf8() - start > CHUNK {
            words.push(&text[start..at]);
            start = at;
        }
    }
    words.push(&text[start..]);
    let encode = |word: &str| format!("=?utf-8?B?{}?=", STANDARD.encode(word));
    words.into_iter().map(encode).collect::<Vec<_>>().join(" ")
}

/// An unstructured header (`Subject`): mail-builder's encoding, or ours when the text looks encoded.
fn unstructured(text: &str) -> HeaderType<'_> {
    if looks_encoded(text) {
        Raw::new(encoded_words(text)).into()
    } else {
        Text::new(text).into()
    }
}

/// A mailbox header (`From`, `To`) with an optional display name, encoded as [`unstructured`] is.
fn mailbox<'a>(name: Option<&'a str>, address: &'a EmailAddress) -> HeaderType<'a> {
    match name {
        Some(name) if looks_encoded(name) => Raw::new(format!("{} <{}>", encoded_words(name), address.as_str())).into(),
        Some(name) => Address::from((name, address.as_str())).into(),
        None => Address::from(address.as_str()).into(),
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::message::MessageKind;

    fn sample(unsubscribe: bool, subject: &str) -> Vec<u8> {
        sample_to(unsubscribe, subject, "민지")
    }

    fn sample_to(unsubscribe: bool, subject: &str, to_name: &str) -> Vec<u8> {
        sample_with(unsubscribe, subject, to_name, "안녕하세요\n")
    }

    fn sample_key() -> MessageKey {
        MessageKey::new(MessageKind::Welcome, "c-1", &[])
    }

    fn sample_with(unsubscribe: bool, subject: &str, to_name: &str, text: &str) -> Vec<u8> {
        sample_message("minji@example.com", unsubscribe, subject, to_name, text)
    }

    /// A built message to `to` with a text part (the HTML part is the text in a paragraph); other
    /// modules' tests build their samples with it too.
    pub(crate) fn sample_message(to: &str, unsubscribe: bool, subject: &str, to_name: &str, text: &str) -> Vec<u8> {
        let from = EmailAddress::parse("hello@shop.example").expect("valid");
        let to = EmailAddress::parse(to).expect("valid");
        let key = sample_key();
        let envelope = Envelope {
            from_name: "Maple & Moss",
            from: &from,
            reply_to: &from,
            to: &to,
            to_name: Some(to_name),
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
            html: format!("<p>{text}</p>"),
            text: text.into(),
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

    /// A lenient RFC 2047 decoder, as some mail clients are: every `=?charset?B|Q?text?=` is decoded
    /// wherever it stands (even inside a quoted string), white space between two words dropped.
    fn decode_words(header: &str) -> String {
        use base64::Engine as _;
        let mut out = Vec::new();
        let mut rest = header;
        let mut pending_space = Vec::new();
        let mut after_word = false;
        while !rest.is_empty() {
            let word = rest.strip_prefix("=?").and_then(|tail| {
                let (_charset, tail) = tail.split_once('?')?;
                let (encoding, tail) = tail.split_once('?')?;
                let (text, tail) = tail.split_once("?=")?;
                let bytes = match encoding {
                    "b" | "B" => base64::engine::general_purpose::STANDARD.decode(text).ok()?,
                    "q" | "Q" => {
                        let mut bytes = Vec::new();
                        let mut chars = text.bytes();
                        while let Some(b) = chars.next() {
                            match b {
                                b'_' => bytes.push(b' '),
                                b'=' => {
                                    let hex = [chars.next()?, chars.next()?];
                                    let hex = std::str::from_utf8(&hex).ok()?;
                                    bytes.push(u8::from_str_radix(hex, 16).ok()?);
                                }
                                b => bytes.push(b),
                            }
                        }
                        bytes
                    }
                    _ => return None,
                };
                Some((bytes, tail))
            });
            if let Some((bytes, tail)) = word {
                if !after_word {
                    out.append(&mut pending_space);
                }
                pending_space.clear();
                out.extend(bytes);
                after_word = true;
                rest = tail;
                continue;
            }
            let c = rest.chars().next().expect("not empty");
            let mut buf = [0; 4];
            if c == ' ' || c == '\t' {
                pending_space.extend(c.encode_utf8(&mut buf).as_bytes());
            } else {
                out.append(&mut pending_space);
                out.extend(c.encode_utf8(&mut buf).as_bytes());
                after_word = false;
            }
            rest = &rest[c.len_utf8()..];
        }
        out.append(&mut pending_space);
        String::from_utf8_lossy(&out).into_owned()
    }

    fn header(raw: &[u8], name: &str) -> String {
        let raw = String::from_utf8(raw.to_vec()).expect("ascii headers");
        let head = raw.split("\r\n\r\n").next().expect("headers").replace("\r\n ", " ");
        let prefix = format!("{name}: ");
        head.split("\r\n")
            .find_map(|line| line.strip_prefix(prefix.as_str()))
            .expect("header present")
            .to_owned()
    }

    #[test]
    fn encoded_words_in_customer_text_show_literally() {
        for literal in [
            "=?utf-8?b?4oCu?= Ada",
            "Ada =?UTF-8?Q?=0D=0ABcc:_x@evil.example?=",
            "=?utf-8?B?DQpCY2M6IHhAZXZpbC5leGFtcGxl?=",
        ] {
            let raw = sample_to(false, &format!("Order {literal}"), literal);
            let subject = decode_words(&header(&raw, "Subject"));
            assert_eq!(subject, format!("Order {literal}"));
            let to = decode_words(&header(&raw, "To"));
            assert!(to.contains(literal), "{to:?}");
            assert!(!to.contains(['\r', '\n', '\u{202E}']), "{to:?}");
        }
    }

    #[test]
    fn customer_text_cannot_end_the_multipart_early() {
        let usual = format!("tidings-{}", digest_hex(&["boundary", sample_key().as_str()], 24));
        let clean = String::from_utf8(sample(false, "Welcome")).expect("ascii");
        assert!(
            clean.contains(&format!("boundary=\"{usual}\"")),
            "no collision: boundary unchanged"
        );
        let hostile = format!("Ada\n--{usual}--\n--{usual}-1\n");
        let raw = String::from_utf8(sample_with(false, "Welcome", "Ada", &hostile)).expect("ascii");
        let boundary = raw
            .split("boundary=\"")
            .nth(1)
            .and_then(|rest| rest.split('"').next())
            .expect("boundary parameter");
        assert!(!hostile.contains(boundary), "{boundary} occurs in the body");
        assert_eq!(
            raw.matches(&format!("--{boundary}")).count(),
            3,
            "two parts and the end"
        );
        assert_eq!(
            sample_with(false, "Welcome", "Ada", &hostile).as_slice(),
            raw.as_bytes(),
            "deterministic"
        );
    }
}
