//! The `tidings` binary as a merchant runs it: exit codes, `FILE:LINE` errors, refusing a used outbox.

use std::path::Path;
use std::process::{Command, Output, Stdio};

fn tidings(args: &[&str], stdin: Option<&str>) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_tidings"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("tidings runs");
    if let Some(text) = stdin {
        use std::io::Write;
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(text.as_bytes())
            .expect("stdin written");
    }
    drop(child.stdin.take());
    child.wait_with_output().expect("tidings finished")
}

fn example(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../docs/spec/examples")
        .join(name)
        .display()
        .to_string()
}

#[test]
fn replay_writes_the_outbox_and_prints_a_summary() {
    let dir = tempfile::tempdir().expect("temp");
    let outbox = dir.path().join("out");
    let output = tidings(
        &[
            "replay",
            &example("one-customer.jsonl"),
            "--outbox",
            outbox.to_str().expect("utf-8"),
        ],
        None,
    );
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.contains("5 email(s) sent"), "{stdout}");
    assert_eq!(
        std::fs::read_to_string(outbox.join("index.jsonl"))
            .expect("index")
            .lines()
            .count(),
        5
    );
    assert!(outbox.join("0005-delivery_confirmation.eml").exists());
}

#[test]
fn every_invalid_line_is_reported_with_its_file_and_line_and_nothing_is_sent() {
    let dir = tempfile::tempdir().expect("temp");
    let input = dir.path().join("bad.jsonl");
    let good = std::fs::read_to_string(example("one-customer.jsonl")).expect("example");
    let mut lines: Vec<String> = good.lines().map(str::to_owned).collect();
    lines[1] = lines[1].replace("ada@example.com", "ada-at-example.com");
    lines[3] = "{not json".to_owned();
    std::fs::write(&input, lines.join("\n")).expect("write");
    let outbox = dir.path().join("out");
    let output = tidings(
        &[
            "replay",
            input.to_str().expect("utf-8"),
            "--outbox",
            outbox.to_str().expect("utf-8"),
        ],
        None,
    );
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    let name = input.display().to_string();
    assert!(
        stderr.contains(&format!(
            "{name}:2: detail.cart.customer.email: must contain exactly one '@'"
        )),
        "{stderr}"
    );
    assert!(
        stderr.contains(&format!("{name}:4: (line): not valid JSON")),
        "{stderr}"
    );
    assert!(!outbox.exists(), "nothing is written when the input is invalid");
}

#[test]
fn an_outbox_that_already_holds_files_is_refused() {
    let dir = tempfile::tempdir().expect("temp");
    std::fs::write(dir.path().join("keep.txt"), "precious").expect("write");
    let output = tidings(
        &[
            "replay",
            &example("one-customer.jsonl"),
            "--outbox",
            dir.path().to_str().expect("utf-8"),
        ],
        None,
    );
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("already holds files"));
    assert_eq!(
        std::fs::read_to_string(dir.path().join("keep.txt")).expect("kept"),
        "precious"
    );
}

#[test]
fn events_can_come_from_stdin_and_until_stops_the_clock() {
    let dir = tempfile::tempdir().expect("temp");
    let outbox = dir.path().join("out");
    let text = std::fs::read_to_string(example("one-customer.jsonl")).expect("example");
    let output = tidings(
        &[
            "replay",
            "-",
            "--until",
            "2026-11-03T00:00:00Z",
            "--outbox",
            outbox.to_str().expect("utf-8"),
        ],
        Some(&text),
    );
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let index = std::fs::read_to_string(outbox.join("index.jsonl")).expect("index");
    assert_eq!(
        index.lines().count(),
        2,
        "welcome and order confirmation happen before the 3rd: {index}"
    );
}

#[test]
fn verbose_replay_explains_every_message_not_sent() {
    let dir = tempfile::tempdir().expect("temp");
    let outbox = dir.path().join("out");
    let output = tidings(
        &[
            "replay",
            &example("one-customer.jsonl"),
            "-v",
            "--outbox",
            outbox.to_str().expect("utf-8"),
        ],
        None,
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("skipped welcome_offer#c-100: customer ordered"),
        "{stderr}"
    );
    assert!(
        stderr.contains("skipped review_request#o-1001: review already submitted"),
        "{stderr}"
    );
    assert!(!stderr.contains("ada@example.com"), "logs never show an address");
}

#[test]
fn a_config_with_a_no_reply_address_is_refused_with_the_setting_named() {
    let dir = tempfile::tempdir().expect("temp");
    let sample = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../config/sample-store.toml"))
        .expect("sample");
    let config = dir.path().join("store.toml");
    std::fs::write(&config, sample.replace("help@shop.example", "noreply@shop.example")).expect("write");
    let output = tidings(
        &[
            "replay",
            &example("one-customer.jsonl"),
            "--config",
            config.to_str().expect("utf-8"),
        ],
        None,
    );
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("sender.reply_to"));
}

#[test]
fn a_shadow_mode_replay_says_so_first_and_still_composes_every_message() {
    let dir = tempfile::tempdir().expect("temp");
    let sample = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../config/sample-store.toml"))
        .expect("sample");
    let config = dir.path().join("store.toml");
    let shadow = "\n[sending]\nmode = \"shadow\"\nallow = [\"owner@shop.example\", \"ada@example.com\"]\n";
    std::fs::write(&config, format!("{sample}{shadow}")).expect("write");
    let outbox = dir.path().join("out");
    let output = tidings(
        &[
            "replay",
            &example("one-customer.jsonl"),
            "--config",
            config.to_str().expect("utf-8"),
            "--outbox",
            outbox.to_str().expect("utf-8"),
        ],
        None,
    );
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(
        stdout.lines().next(),
        Some("shadow mode: mail goes to the SES mailbox simulator except 2 allowlisted address(es)"),
        "{stdout}"
    );
    assert!(stdout.contains("5 email(s) sent"), "the replay is the same: {stdout}");
}

#[test]
fn the_demo_runs_and_can_be_run_again() {
    let dir = tempfile::tempdir().expect("temp");
    let outbox = dir.path().join("outbox");
    for _ in 0..2 {
        let output = tidings(&["demo", "--outbox", outbox.to_str().expect("utf-8")], None);
        assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(
            stdout.contains("ko-KR") && stdout.contains("en-GB"),
            "several locales: {stdout}"
        );
    }
}

#[test]
fn the_most_detailed_logs_of_the_demo_name_no_customer_address() {
    let dir = tempfile::tempdir().expect("temp");
    let outbox = dir.path().join("outbox");
    let output = Command::new(env!("CARGO_BIN_EXE_tidings"))
        .args(["demo", "--outbox", outbox.to_str().expect("utf-8")])
        .env("TIDINGS_LOG", "trace")
        .output()
        .expect("tidings runs");
    assert!(output.status.success());
    let logs = String::from_utf8_lossy(&output.stderr);
    assert!(logs.contains("message_key="), "the decisions are logged: {logs}");
    let index = std::fs::read_to_string(outbox.join("index.jsonl")).expect("index");
    let addresses: std::collections::BTreeSet<String> = index
        .lines()
        .map(|line| {
            serde_json::from_str::<serde_json::Value>(line).expect("json")["to"]
                .as_str()
                .expect("to")
                .to_owned()
        })
        .collect();
    assert!(addresses.len() >= 4);
    for address in &addresses {
        assert!(!logs.contains(address.as_str()), "{address} appears in the logs");
        let local = address.split('@').next().expect("local part");
        assert!(!logs.contains(&format!("{local}@")), "{local}@… appears in the logs");
    }
}

#[test]
fn a_guests_address_inside_customer_ids_and_message_keys_never_reaches_the_logs() {
    // A guest's customer id is `guest:<email>`; it is part of the keys of their win-back and
    // birthday, and of the reasons `-v` gives.
    let guest = r#"{"id":"guest:zelda.unique@example.com","email":"zelda.unique@example.com","first_name":"Zelda","locale":"en-US","time_zone":"America/New_York","birthday":"1990-12-01","marketing_consent":true}"#;
    let order = format!(
        r##"{{"version":"0","id":"e-1","detail-type":"OrderConfirmed","source":"shop.example","time":"2026-11-02T15:00:00Z","detail":{{"order":{{"id":"o-1","number":"#1","customer":{guest},"currency":"USD","items":[{{"sku":"M","product_id":"p-mug","name":"Mug","quantity":1,"unit_price":1800}}],"subtotal":1800,"shipping":0,"discount":0,"tax":0,"total":1800,"placed_at":"2026-11-02T15:00:00Z"}}}}}}"##
    );
    let dir = tempfile::tempdir().expect("temp");
    let outbox = dir.path().join("outbox");
    let output = Command::new(env!("CARGO_BIN_EXE_tidings"))
        .args(["replay", "-", "-v", "--outbox", outbox.to_str().expect("utf-8")])
        .env("TIDINGS_LOG", "trace")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .and_then(|mut child| {
            use std::io::Write;
            child.stdin.take().expect("stdin").write_all(order.as_bytes())?;
            child.wait_with_output()
        })
        .expect("tidings runs");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let logs = String::from_utf8_lossy(&output.stderr);
    assert!(
        logs.contains("win_back#guest:"),
        "the guest's decisions are logged: {logs}"
    );
    assert!(
        !logs.contains("zelda.unique"),
        "the address appears in the logs:\n{logs}"
    );
}

#[test]
fn preview_writes_the_gallery_and_refuses_a_broken_store_file() {
    let dir = tempfile::tempdir().expect("temp");
    let out = dir.path().join("preview");
    let output = tidings(&["preview", "--out", out.to_str().expect("utf-8")], None);
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.contains("(18 kinds in 8 languages)"), "{stdout}");
    assert!(out.join("index.html").is_file());
    let broken = dir.path().join("store.toml");
    std::fs::write(&broken, "[store]\nname = 1\n").expect("write");
    let output = tidings(&["preview", "--config", broken.to_str().expect("utf-8")], None);
    assert_eq!(output.status.code(), Some(2), "an invalid store file is invalid input");
}

#[test]
fn report_reads_the_demo_outbox_and_says_when_an_outbox_has_no_facts() {
    let dir = tempfile::tempdir().expect("temp");
    let outbox = dir.path().join("outbox");
    let path = outbox.to_str().expect("utf-8");
    assert!(tidings(&["demo", "--outbox", path], None).status.success());
    let output = tidings(&["report", "--outbox", path], None);
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.contains("abandoned carts") && stdout.contains("66,600 KRW"),
        "{stdout}"
    );
    let json = tidings(&["report", "--outbox", path, "--json"], None);
    let parsed: serde_json::Value = serde_json::from_slice(&json.stdout).expect("JSON");
    assert_eq!(parsed["kinds"]["cart_reminder"]["revenue"]["KRW"], 66_600);
    let empty = dir.path().join("empty");
    std::fs::create_dir(&empty).expect("dir");
    let output = tidings(&["report", "--outbox", empty.to_str().expect("utf-8")], None);
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("facts.jsonl: not found"));
}
