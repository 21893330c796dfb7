use super::*;

fn ts(text: &str) -> Timestamp {
    text.parse().unwrap()
}

fn key(text: &str) -> MessageKey {
    MessageKey::parse(text).unwrap()
}

fn who(id: &str) -> CustomerId {
    CustomerId::parse(id).unwrap()
}

fn sent(k: &str, customer: &str, at: &str) -> Fact {
    Fact::Sent {
        key: key(k),
        customer_id: who(customer),
        at: ts(at),
    }
}

fn click(k: &str, at: &str) -> Fact {
    Fact::Engaged {
        key: key(k),
        customer_id: None,
        what: Engagement::Clicked,
        at: ts(at),
    }
}

fn ordered(id: &str, customer: &str, at: &str, currency: &str, total: u64, coupon: Option<&str>) -> Fact {
    Fact::Ordered {
        order_id: OrderId::parse(id).unwrap(),
        customer_id: who(customer),
        at: ts(at),
        currency: currency.into(),
        total,
        coupon_from: coupon.map(key),
    }
}

#[test]
fn an_order_goes_to_the_coupon_it_used_before_any_click_and_never_to_two() {
    let facts = vec![
        sent("cart_reminder#cart-1#2", "c-1", "2026-11-01T10:00:00Z"),
        sent("cross_sell#o-0", "c-1", "2026-11-02T10:00:00Z"),
        click("cross_sell#o-0", "2026-11-02T11:00:00Z"),
        ordered(
            "o-1",
            "c-1",
            "2026-11-03T10:00:00Z",
            "USD",
            5000,
            Some("cart_reminder#cart-1#2"),
        ),
    ];
    let report = Report::build(&facts, DEFAULT_WINDOW_DAYS);
    assert_eq!(report.kinds[&MessageKind::CartReminder].orders, 1);
    assert_eq!(report.kinds[&MessageKind::CartReminder].revenue["USD"], 5000);
    assert_eq!(report.kinds[&MessageKind::CrossSell].orders, 0, "never credited twice");
    assert_eq!(report.kinds[&MessageKind::CrossSell].clicked, 1);
}

#[test]
fn without_a_coupon_the_last_click_within_the_window_is_credited() {
    let facts = vec![
        sent("welcome#c-1", "c-1", "2026-11-01T10:00:00Z"),
        sent("win_back#c-1#2026-11-03", "c-1", "2026-11-03T10:00:00Z"),
        click("welcome#c-1", "2026-11-01T12:00:00Z"),
        click("win_back#c-1#2026-11-03", "2026-11-03T12:00:00Z"),
        ordered("o-1", "c-1", "2026-11-05T10:00:00Z", "EUR", 4200, None),
        // Six days after the last click: outside the 5-day window.
        ordered("o-2", "c-1", "2026-11-09T13:00:00Z", "EUR", 1000, None),
    ];
    let report = Report::build(&facts, DEFAULT_WINDOW_DAYS);
    assert_eq!(report.kinds[&MessageKind::WinBack].orders, 1);
    assert_eq!(report.kinds[&MessageKind::Welcome].orders, 0);
    assert_eq!(report.unattributed_orders, 1);
    // A longer window credits the late order too.
    let report = Report::build(&facts, 7);
    assert_eq!(report.kinds[&MessageKind::WinBack].orders, 2);
    assert_eq!(report.kinds[&MessageKind::WinBack].revenue["EUR"], 5200);
}

#[test]
fn repeated_facts_count_once_and_currencies_are_never_added_together() {
    let facts = vec![
        sent("cross_sell#o-1", "c-1", "2026-11-01T10:00:00Z"),
        sent("cross_sell#o-1", "c-1", "2026-11-01T10:00:00Z"),
        sent("cross_sell#o-2", "c-2", "2026-11-01T10:00:00Z"),
        click("cross_sell#o-1", "2026-11-01T11:00:00Z"),
        click("cross_sell#o-1", "2026-11-01T11:05:00Z"),
        click("cross_sell#o-2", "2026-11-01T11:00:00Z"),
        ordered("o-3", "c-1", "2026-11-02T10:00:00Z", "USD", 3000, None),
        ordered("o-3", "c-1", "2026-11-02T10:00:00Z", "USD", 3000, None),
        ordered("o-4", "c-2", "2026-11-02T10:00:00Z", "KRW", 45000, None),
    ];
    let report = Report::build(&facts, DEFAULT_WINDOW_DAYS);
    let row = &report.kinds[&MessageKind::CrossSell];
    assert_eq!((row.sent, row.clicked, row.orders), (2, 2, 2));
    assert_eq!(row.revenue.get("USD"), Some(&3000));
    assert_eq!(row.revenue.get("KRW"), Some(&45000));
    assert!((row.conversion() - 1.0).abs() < f64::EPSILON);
    let flow = &report.flows["after the order"];
    assert_eq!(flow.revenue.len(), 2, "one total per currency");
    let day = &report.days["after the order"]["2026-11-02"];
    assert_eq!(day.orders, 2);
}

#[test]
fn an_unsubscribe_is_credited_to_the_last_marketing_message_before_it() {
    let facts = vec![
        sent("welcome#c-1", "c-1", "2026-11-01T10:00:00Z"),
        sent("order_confirmation#o-1", "c-1", "2026-11-02T10:00:00Z"),
        sent("win_back#c-1#x", "c-1", "2026-11-04T10:00:00Z"),
        Fact::Unsubscribed {
            customer_id: who("c-1"),
            at: ts("2026-11-03T10:00:00Z"),
        },
    ];
    let report = Report::build(&facts, DEFAULT_WINDOW_DAYS);
    assert_eq!(report.kinds[&MessageKind::Welcome].unsubscribed, 1);
    assert_eq!(report.kinds[&MessageKind::WinBack].unsubscribed, 0);
    assert_eq!(report.kinds[&MessageKind::OrderConfirmation].unsubscribed, 0);
}

#[test]
fn receivers_are_compared_with_holdouts_who_ordered_within_the_window_after() {
    let mut facts = Vec::new();
    for n in 0..100 {
        let customer = format!("c-{n}");
        let k = format!("cross_sell#o-{n}");
        if n < 80 {
            facts.push(sent(&k, &customer, "2026-11-01T10:00:00Z"));
        } else {
            facts.push(Fact::HeldOut {
                key: key(&k),
                customer_id: who(&customer),
                at: ts("2026-11-01T10:00:00Z"),
            });
        }
        // 20 of 80 receivers order within the window, 1 of 20 holdouts; an order before it never counts.
        if n < 20 || n == 80 {
            facts.push(ordered(
                &format!("o-x{n}"),
                &customer,
                "2026-11-03T10:00:00Z",
                "USD",
                1000,
                None,
            ));
        }
        facts.push(ordered(
            &format!("o-{n}"),
            &customer,
            "2026-11-01T09:00:00Z",
            "USD",
            1000,
            None,
        ));
    }
    let report = Report::build(&facts, DEFAULT_WINDOW_DAYS);
    let lift = &report.lifts[&MessageKind::CrossSell];
    assert_eq!((lift.receivers, lift.receivers_ordered), (80, 20));
    assert_eq!((lift.holdouts, lift.holdouts_ordered), (20, 1));
    assert!((lift.lift - 0.20).abs() < 1e-9);
    assert_eq!(lift.verdict, Verdict::TooSmall, "20 holdouts are too few to tell");
    assert!(!report.lifts.contains_key(&MessageKind::Welcome));
}

#[test]
fn a_tracking_click_earns_nothing_a_cancelled_order_counts_nowhere_and_a_second_unsubscribe_once() {
    let facts = vec![
        sent("shipping_confirmation#o-1#shp-1", "c-1", "2026-11-01T10:00:00Z"),
        click("shipping_confirmation#o-1#shp-1", "2026-11-01T11:00:00Z"),
        ordered("o-2", "c-1", "2026-11-02T10:00:00Z", "USD", 3000, None),
        sent("welcome_offer#c-2", "c-2", "2026-11-01T10:00:00Z"),
        ordered(
            "o-3",
            "c-2",
            "2026-11-02T10:00:00Z",
            "USD",
            3000,
            Some("welcome_offer#c-2"),
        ),
        Fact::Cancelled {
            order_id: OrderId::parse("o-3").unwrap(),
            at: ts("2026-11-03T10:00:00Z"),
        },
        sent("welcome#c-3", "c-3", "2026-11-01T10:00:00Z"),
        Fact::Unsubscribed {
            customer_id: who("c-3"),
            at: ts("2026-11-02T10:00:00Z"),
        },
        Fact::Unsubscribed {
            customer_id: who("c-3"),
            at: ts("2026-11-04T10:00:00Z"),
        },
    ];
    let report = Report::build(&facts, DEFAULT_WINDOW_DAYS);
    assert_eq!(report.kinds[&MessageKind::ShippingConfirmation].orders, 0);
    assert_eq!(report.kinds[&MessageKind::ShippingConfirmation].clicked, 1);
    assert_eq!(report.kinds[&MessageKind::WelcomeOffer].orders, 0);
    assert!(report.kinds[&MessageKind::WelcomeOffer].revenue.is_empty());
    assert_eq!((report.unattributed_orders, report.cancelled_orders), (1, 1));
    assert_eq!(report.kinds[&MessageKind::Welcome].unsubscribed, 1);
}

#[test]
fn an_order_cancelled_before_it_is_seen_counts_nowhere_when_it_comes() {
    let facts = vec![
        sent("welcome_offer#c-1", "c-1", "2026-11-01T10:00:00Z"),
        ordered(
            "o-1",
            "c-1",
            "2026-11-02T10:00:00Z",
            "USD",
            3000,
            Some("welcome_offer#c-1"),
        ),
    ];
    // The store folds the cancellation first (its order was held for it), with its customer.
    let cancelled = Fact::Cancelled {
        order_id: OrderId::parse("o-1").unwrap(),
        at: ts("2026-11-02T11:00:00Z"),
    };
    let window = window(DEFAULT_WINDOW_DAYS);
    let mut ledger = tally::Ledger::default();
    let mut counters = Counters::new();
    for fact in [&facts[0], &cancelled, &facts[1]] {
        let change = tally::tally(fact, &ledger, window);
        if let Some(next) = change.ledger {
            ledger = next;
        }
        tally::merge(&mut counters, &change.adds);
    }
    let report = Report::from_counters(&counters, DEFAULT_WINDOW_DAYS);
    assert_eq!(report.kinds[&MessageKind::WelcomeOffer].orders, 0);
    assert_eq!((report.unattributed_orders, report.cancelled_orders), (0, 1));
    // And folded in time order from a replay's facts, the same.
    let mut all = facts.clone();
    all.push(cancelled);
    assert_eq!(Report::build(&all, DEFAULT_WINDOW_DAYS), report);
}

#[test]
fn a_customer_both_sent_and_held_out_is_in_neither_group_and_a_held_out_report_counts_nothing() {
    let held = |k: &str, customer: &str, at: &str| Fact::HeldOut {
        key: key(k),
        customer_id: who(customer),
        at: ts(at),
    };
    let facts = vec![
        held("cross_sell#o-1", "c-1", "2026-11-01T10:00:00Z"),
        // The share was changed: the next cross-sell went.
        sent("cross_sell#o-2", "c-1", "2026-11-05T10:00:00Z"),
        held("cross_sell#o-3", "c-2", "2026-11-01T10:00:00Z"),
        ordered("o-4", "c-2", "2026-11-02T10:00:00Z", "USD", 1000, None),
        sent("cross_sell#o-5", "c-3", "2026-11-01T10:00:00Z"),
        // SES never reports on a message held out; a stray report for one is not counted.
        Fact::Engaged {
            key: key("cross_sell#o-3"),
            customer_id: Some(who("c-2")),
            what: Engagement::Clicked,
            at: ts("2026-11-01T11:00:00Z"),
        },
    ];
    let report = Report::build(&facts, DEFAULT_WINDOW_DAYS);
    let lift = &report.lifts[&MessageKind::CrossSell];
    assert_eq!((lift.receivers, lift.receivers_ordered), (1, 0));
    assert_eq!((lift.holdouts, lift.holdouts_ordered), (1, 1));
    assert_eq!(report.kinds[&MessageKind::CrossSell].clicked, 0);
    assert_eq!(
        report.unattributed_orders, 1,
        "a held-out message's click credits nothing"
    );
}
