//! The spec's example files (docs/spec/examples) replayed exactly as the examples README says.

use tidings_tests::{example, replay_files};

fn timeline(expected: &[(&str, &str)]) -> Vec<(String, String)> {
    expected
        .iter()
        .map(|(at, kind)| (at.to_string(), kind.to_string()))
        .collect()
}

#[test]
fn one_customer_receives_exactly_the_five_emails_of_the_examples_readme() {
    let replayed = replay_files(&[example("one-customer.jsonl")]);
    assert_eq!(
        replayed.timeline(),
        timeline(&[
            ("2026-11-02T14:00:00Z", "welcome"),
            ("2026-11-02T16:05:00Z", "order_confirmation"),
            ("2026-11-03T13:00:00Z", "shipping_confirmation"),
            ("2026-11-05T12:10:00Z", "shipment_update"),
            ("2026-11-05T18:40:00Z", "delivery_confirmation"),
        ])
    );
    let coupons = replayed.emitted("CouponIssued");
    assert_eq!(coupons.len(), 1, "exactly one CouponIssued");
    assert_eq!(coupons[0]["detail"]["message_key"], "delivery_confirmation#o-1001");
    assert_eq!(replayed.emitted("EmailSent").len(), 5);
    assert!(coupons.iter().all(|c| c["source"] == "tidings"));
}

#[test]
fn the_first_delivery_carries_the_welcome_to_the_family_block_and_the_coupon() {
    let replayed = replay_files(&[example("one-customer.jsonl")]);
    let raw = String::from_utf8(replayed.eml(5)).expect("utf-8 eml");
    let code = replayed.emitted("CouponIssued")[0]["detail"]["code"]
        .as_str()
        .expect("code")
        .to_owned();
    let text = crate::mime::text_part(&raw);
    assert!(text.contains("Welcome to the family"), "{text}");
    assert!(text.contains(&code), "coupon code {code} shown");
}

#[test]
fn abandoned_and_cancelled_sends_the_four_emails_with_the_second_reminder_moved_by_the_cap() {
    let replayed = replay_files(&[example("abandoned-and-cancelled.jsonl")]);
    assert_eq!(
        replayed.timeline(),
        timeline(&[
            ("2026-11-10T20:00:00Z", "cart_reminder"),
            ("2026-11-11T20:00:00Z", "cart_reminder"),
            ("2026-11-12T08:00:00Z", "order_confirmation"),
            ("2026-11-12T09:00:00Z", "order_cancellation"),
        ])
    );
    let coupons = replayed.emitted("CouponIssued");
    assert_eq!(coupons.len(), 1);
    assert_eq!(coupons[0]["detail"]["message_kind"], "cart_reminder");
    assert!(
        coupons[0]["detail"]["message_key"]
            .as_str()
            .expect("key")
            .ends_with("#2")
    );
}

#[test]
fn identical_input_gives_a_byte_identical_outbox() {
    let files = [example("one-customer.jsonl"), example("abandoned-and-cancelled.jsonl")];
    let first = replay_files(&files);
    let second = replay_files(&files);
    let listing = |dir: &std::path::Path| {
        let mut names: Vec<_> = std::fs::read_dir(dir)
            .expect("outbox")
            .map(|e| e.expect("entry").file_name())
            .collect();
        names.sort();
        names
    };
    let names = listing(&first.outbox());
    assert_eq!(names, listing(&second.outbox()));
    assert_eq!(
        names.len(),
        9 + 4,
        "nine emails, the index, the events, the facts and the counters"
    );
    for name in names {
        let a = std::fs::read(first.outbox().join(&name)).expect("file");
        let b = std::fs::read(second.outbox().join(&name)).expect("file");
        assert!(a == b, "{name:?} differs between two identical replays");
    }
}

#[test]
fn the_docs_copy_of_the_spec_keeps_the_contract_and_its_examples() {
    // CI lays the read-only contract beside the repository. docs/spec follows the issues that
    // change a rule (so its text may go further), but it keeps every section of the contract, and
    // the example files, whose emails the README promises, stay byte for byte the same.
    let shared = tidings_tests::repo_root().join("../shared/spec");
    if !shared.exists() {
        return;
    }
    let read = |root: &std::path::Path, name: &str| std::fs::read_to_string(root.join(name)).expect("spec file");
    let docs = tidings_tests::repo_root().join("docs/spec");
    for name in ["examples/one-customer.jsonl", "examples/abandoned-and-cancelled.jsonl"] {
        assert!(
            read(&docs, name) == read(&shared, name),
            "docs/spec/{name} differs from ../shared/spec/{name}"
        );
    }
    for name in ["events.md", "messages.md", "local-runner.md"] {
        let ours = read(&docs, name);
        for heading in read(&shared, name).lines().filter(|l| l.starts_with('#')) {
            assert!(
                ours.lines().any(|l| l == heading),
                "docs/spec/{name} lost the section '{heading}'"
            );
        }
    }
}
