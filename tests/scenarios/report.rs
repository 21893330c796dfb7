//! `tidings report` on the demo's outbox: revenue per flow from the orders that used a message's
//! coupon or followed a click, and each holdout group's lift.

use std::collections::BTreeMap;
use tidings_cli::report::{html, read_facts, table};
use tidings_core::config::StoreConfig;
use tidings_core::message::MessageKind;
use tidings_core::report::{DEFAULT_WINDOW_DAYS, Report, Verdict};
use tidings_tests::{replay_files, replay_from, repo_root};

fn demo() -> tidings_cli::Input {
    let path = repo_root().join("cli/demo/store.jsonl");
    tidings_cli::Input {
        name: path.display().to_string(),
        text: std::fs::read_to_string(path).expect("the demo events"),
    }
}

/// The report from the counters the engine kept during the replay, which must say what the
/// facts say: a deployed table keeps the same counters the same way.
fn kept(outbox: &std::path::Path) -> Report {
    let text = std::fs::read_to_string(outbox.join("counters.json")).expect("the replay's counters");
    let counters: tidings_core::report::Counters = serde_json::from_str(&text).expect("counters");
    Report::from_counters(&counters, DEFAULT_WINDOW_DAYS)
}

fn revenue(report: &Report, kind: MessageKind) -> BTreeMap<String, u64> {
    report.kinds[&kind].revenue.clone()
}

#[test]
fn the_demo_reports_revenue_per_flow_from_coupons_and_clicks() {
    let replayed = replay_files(&[repo_root().join("cli/demo/store.jsonl")]);
    let report = Report::build(&read_facts(&replayed.outbox()).unwrap(), DEFAULT_WINDOW_DAYS);
    assert_eq!(
        kept(&replayed.outbox()),
        report,
        "the engine's counters say what the facts say"
    );
    assert_eq!(
        report.kinds.values().map(|c| c.sent).sum::<u64>(),
        replayed.sent().len() as u64
    );
    // The guest bought the cart with the second reminder's code; 10 % off 74,000 KRW.
    assert_eq!(
        revenue(&report, MessageKind::CartReminder),
        BTreeMap::from([("KRW".into(), 66_600)])
    );
    // Maya clicked her cross-sell and ordered two days later, without a code.
    assert_eq!(report.kinds[&MessageKind::CrossSell].clicked, 1);
    assert_eq!(report.kinds[&MessageKind::CrossSell].orders, 1);
    assert_eq!(
        report.flows["after the order"].revenue.keys().collect::<Vec<_>>(),
        ["USD"]
    );
    // Codes from the delivery confirmation's thanks and the welcome offer.
    assert_eq!(report.kinds[&MessageKind::DeliveryConfirmation].orders, 1);
    assert_eq!(report.kinds[&MessageKind::WelcomeOffer].orders, 1);
    assert_eq!(report.flows["welcome"].revenue.keys().collect::<Vec<_>>(), ["EUR"]);
    assert_eq!(report.unattributed_orders, 17, "the store's own orders are nobody's");
    assert_eq!(report.cancelled_orders, 1, "the cancelled order counts nowhere");
    let text = table(&report);
    assert!(
        text.contains("66,600 KRW") && text.contains("abandoned carts"),
        "{text}"
    );
    let page = html(&report).unwrap();
    assert!(page.contains("class=\"chart\"") && page.contains("abandoned carts"));
    assert!(report.lifts.is_empty(), "no holdout configured");
}

#[test]
fn with_holdouts_on_cross_sell_and_win_back_the_report_gives_each_lift_and_its_interval() {
    let mut config = StoreConfig::sample();
    for kind in [MessageKind::CrossSell, MessageKind::WinBack] {
        config.kinds.entry(kind).or_default().holdout = 0.3;
    }
    let replayed = replay_from(vec![demo()], config, None);
    let report = Report::build(&read_facts(&replayed.outbox()).unwrap(), DEFAULT_WINDOW_DAYS);
    assert_eq!(
        kept(&replayed.outbox()),
        report,
        "the engine's counters say what the facts say"
    );
    for kind in [MessageKind::CrossSell, MessageKind::WinBack] {
        let lift = &report.lifts[&kind];
        assert!(lift.holdouts > 0 && lift.receivers > 0, "{kind}: {lift:?}");
        assert!(lift.interval.0 <= lift.lift && lift.lift <= lift.interval.1);
        // Ten customers are far too few: the report says so instead of a verdict.
        assert_eq!(lift.verdict, Verdict::TooSmall);
    }
    let text = table(&report);
    assert!(
        text.contains("Holdout, cross_sell") && text.contains("too small to tell"),
        "{text}"
    );
    // Held-out messages are never sent.
    let held = replayed.emitted("EmailHeldOut");
    for event in held {
        let key = event["detail"]["message_key"].as_str().unwrap();
        assert!(
            !replayed.sent().iter().any(|line| line.message_key == key),
            "{key} was held out and sent"
        );
    }
}

#[test]
fn a_guest_who_clicks_a_reminder_and_orders_without_its_code_is_credited_under_the_pseudonym() {
    use serde_json::json;
    use tidings_core::domain::CustomerId;
    use tidings_core::guest::GuestIds;
    use tidings_tests::{cart, envelope, item, order, ses_click};
    let guest = json!({"id": "guest:kim@example.net", "email": "kim@example.net", "locale": "en-US",
        "time_zone": "America/New_York", "marketing_consent": true});
    let items = vec![item("p-mug", "kitchen", 1, 1800)];
    let pseudonym = GuestIds::demo()
        .customer_id(&CustomerId::parse("guest:kim@example.net").expect("id"))
        .to_string();
    let reminder = "cart_reminder#cart-9#2026-11-05T10:00:00Z#1";
    let mut bought = order("o-9", &guest, "USD", items.clone(), "2026-11-06T15:00:00Z");
    bought["cart_id"] = json!(null);
    let events = [
        envelope(
            "CartUpdated",
            "2026-11-05T10:00:00Z",
            json!({"cart": cart("cart-9", &guest, items, "2026-11-05T10:00:00Z")}),
        ),
        ses_click(
            &pseudonym,
            reminder,
            "2026-11-05T12:00:00Z",
            "https://shop.example/checkout/cart-9",
        ),
        envelope("OrderConfirmed", "2026-11-06T15:00:00Z", json!({"order": bought})),
    ];
    let replayed = tidings_tests::replay_events(&events);
    assert!(
        replayed.sent().iter().any(|l| l.message_key == reminder),
        "the first reminder went"
    );
    let facts = std::fs::read_to_string(replayed.outbox().join("facts.jsonl")).expect("facts");
    assert!(!facts.contains("kim@example.net"), "no address in the facts: {facts}");
    let report = Report::build(&read_facts(&replayed.outbox()).expect("facts"), DEFAULT_WINDOW_DAYS);
    assert_eq!(report.kinds[&MessageKind::CartReminder].orders, 1, "{facts}");
    assert_eq!(kept(&replayed.outbox()), report);
}
