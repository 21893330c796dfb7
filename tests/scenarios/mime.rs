//! The .eml files open in a real mail parser (Python's `email` package, as mail clients do).

use serde_json::Value;
use std::io::Write;
use std::process::{Command, Stdio};
use tidings_tests::{example, replay_files};

const PARSER: &str = r#"
import email, email.policy, html, json, sys
raw = sys.stdin.buffer.read()
m = email.message_from_bytes(raw, policy=email.policy.default)
out = {
  "defects": [str(d) for d in m.defects],
  "content_type": m.get_content_type(),
  "headers": {k: str(v) for k, v in m.items()},
  "parts": [p.get_content_type() for p in m.iter_parts()],
  "charsets": [p.get_content_charset() for p in m.iter_parts()],
  "text": m.get_body(("plain",)).get_content(),
  "html": m.get_body(("html",)).get_content(),
  "html_unescaped": html.unescape(m.get_body(("html",)).get_content()),
}
json.dump(out, sys.stdout)
"#;

/// Parses an RFC 5322 message with Python's `email` package.
pub fn parse(raw: &[u8]) -> Value {
    let mut child = Command::new("python3")
        .args(["-c", PARSER])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("python3 is part of the base toolchain");
    child.stdin.take().expect("stdin").write_all(raw).expect("write eml");
    let output = child.wait_with_output().expect("python3 ran");
    assert!(output.status.success(), "python could not parse the message");
    serde_json::from_slice(&output.stdout).expect("parser json")
}

/// The decoded plain-text part.
pub fn text_part(raw: &str) -> String {
    parse(raw.as_bytes())["text"].as_str().expect("text part").to_owned()
}

#[test]
fn every_eml_is_a_well_formed_multipart_alternative_message() {
    let replayed = replay_files(&[example("one-customer.jsonl"), example("abandoned-and-cancelled.jsonl")]);
    for (n, line) in replayed.sent().iter().enumerate() {
        let parsed = parse(&replayed.eml(n + 1));
        assert_eq!(parsed["defects"], serde_json::json!([]), "{}", line.file);
        assert_eq!(parsed["content_type"], "multipart/alternative");
        assert_eq!(parsed["parts"], serde_json::json!(["text/plain", "text/html"]));
        assert_eq!(parsed["charsets"], serde_json::json!(["utf-8", "utf-8"]));
        let headers = &parsed["headers"];
        assert_eq!(headers["Subject"], line.subject.as_str());
        assert_eq!(headers["From"], "Maple & Moss <hello@shop.example>");
        assert_eq!(headers["Reply-To"], "help@shop.example");
        assert!(
            headers["Message-ID"]
                .as_str()
                .expect("message id")
                .ends_with("@shop.example>")
        );
        assert!(headers["To"].as_str().expect("to").contains(&line.to));
        let marketing = line.category == "marketing";
        assert_eq!(
            headers.get("List-Unsubscribe-Post").is_some(),
            marketing,
            "{}",
            line.file
        );
        if marketing {
            let list = headers["List-Unsubscribe"].as_str().expect("list-unsubscribe");
            assert!(list.starts_with("<https://shop.example/unsubscribe?token="), "{list}");
            assert!(
                list.contains("<mailto:unsubscribe@shop.example?subject=unsubscribe%20"),
                "{list}"
            );
            assert_eq!(headers["List-Unsubscribe-Post"], "List-Unsubscribe=One-Click");
            let html = parsed["html_unescaped"].as_str().expect("html");
            assert!(
                html.contains("https://shop.example/unsubscribe?token="),
                "a visible unsubscribe link"
            );
        }
        let html = parsed["html"].as_str().expect("html");
        assert!(
            html.len() < 100 * 1024,
            "{} is {} bytes: Gmail clips at 102 KB",
            line.file,
            html.len()
        );
    }
}

#[test]
fn korean_subjects_are_encoded_in_the_header_and_decode_back() {
    let replayed = tidings_tests::replay_files(&[tidings_tests::repo_root().join("cli/demo/store.jsonl")]);
    let (n, line) = replayed
        .sent()
        .iter()
        .enumerate()
        .find(|(_, l)| l.locale == "ko-KR")
        .expect("a Korean email in the demo");
    let raw = replayed.eml(n + 1);
    let header = String::from_utf8_lossy(&raw);
    let subject_line = header.lines().find(|l| l.starts_with("Subject:")).expect("subject");
    assert!(subject_line.contains("=?utf-8?"), "RFC 2047 encoded: {subject_line}");
    assert_eq!(parse(&raw)["headers"]["Subject"], line.subject.as_str());
}
