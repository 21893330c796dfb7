//! A Shopify store's week (docs/examples/shopify-week.jsonl, built by scripts/shopify-week from
//! Shopify's published example payloads), replayed as EventBridge delivers it.

use tidings_tests::{Replayed, replay_files, repo_root};

fn week() -> Replayed {
    replay_files(&[repo_root().join("docs/examples/shopify-week.jsonl")])
}

/// Each email by its key and language, with the money lines of its text (in the customer's
/// currency), and each coupon the store must hold.
fn index(replayed: &Replayed) -> String {
    let mut lines = Vec::new();
    for (n, sent) in replayed.report.sent.iter().enumerate() {
        let raw = String::from_utf8(replayed.eml(n + 1)).expect("utf-8");
        let text = crate::mime::text_part(&raw);
        let money: Vec<&str> = text
            .lines()
            .map(str::trim)
            .filter(|l| l.contains('€') || l.contains('$'))
            .filter(|l| {
                [
                    "Total",
                    "Sous-total",
                    "Subtotal",
                    "Livraison",
                    "Shipping",
                    "Remise",
                    "Discount",
                ]
                .iter()
                .any(|w| l.starts_with(w))
            })
            .collect();
        lines.push(format!(
            "{} {} {} {}",
            sent.at,
            sent.message_key,
            sent.locale,
            money.join(" | ")
        ));
    }
    for coupon in replayed.emitted("CouponIssued") {
        let d = &coupon["detail"];
        lines.push(format!(
            "coupon {} {} {}{}{}",
            d["message_key"].as_str().unwrap_or_default(),
            d["coupon_type"].as_str().unwrap_or_default(),
            d["currency"].as_str().unwrap_or_default(),
            d.get("percent_off").map(|p| format!(" {p}%")).unwrap_or_default(),
            d.get("amount_off").map(|a| format!(" {a} off")).unwrap_or_default(),
        ));
    }
    lines.join("\n")
}

#[test]
fn a_shopify_week_sends_what_a_shopify_merchant_expects_in_the_customers_currency() {
    let replayed = week();
    insta::assert_snapshot!("shopify_week_index", index(&replayed));
    let kinds: Vec<String> = replayed.timeline().into_iter().map(|(_, kind)| kind).collect();
    for kind in [
        "order_confirmation",
        "shipping_confirmation",
        "shipment_update",
        "delivery_confirmation",
        "review_request",
        "cart_reminder",
    ] {
        assert!(kinds.iter().any(|k| k == kind), "{kind} in {kinds:?}");
    }
    // The redelivered orders/create (same webhook id, new envelope id) and orders/paid sent nothing.
    assert_eq!(kinds.iter().filter(|k| *k == "order_confirmation").count(), 2);
}

#[test]
fn the_euro_order_is_confirmed_in_euros_from_the_presentment_amounts() {
    let replayed = week();
    let raw = String::from_utf8(replayed.eml(2)).expect("utf-8");
    // French puts a narrow no-break space before the colon and a no-break space before the euro sign.
    let text = crate::mime::text_part(&raw).replace(['\u{202f}', '\u{a0}'], " ");
    assert!(text.contains("Total : 364,45 €"), "{text}");
    assert!(!text.contains('$'), "{text}");
}

#[test]
fn a_parcel_sent_without_tracking_shows_no_carrier_or_number() {
    let replayed = week();
    let raw = String::from_utf8(replayed.eml(4)).expect("utf-8");
    let text = crate::mime::text_part(&raw);
    assert!(!text.contains("Numéro de suivi"), "{text}");
    let tracked = crate::mime::text_part(&String::from_utf8(replayed.eml(3)).expect("utf-8"));
    assert!(tracked.contains("1z827wk74630"), "{tracked}");
}

/// The export in Shopify's layout (shared/fixtures/shopify/orders_export.csv), imported the way
/// `tidings import shopify` does, then a webhook order by one of its buyers under their Shopify id.
#[test]
fn an_imported_buyer_is_a_repeat_buyer_at_their_first_webhook_order_and_the_import_sends_nothing() {
    let dir = tempfile::tempdir().expect("dir");
    let state = dir.path().join("state.json");
    let export = repo_root().join("shared/fixtures/shopify/orders_export.csv");
    let keys = tidings_core::signing::SigningKeys::demo();
    let (read, _) = tidings_cli::import::import_shopify(&export, &state, keys.guest_ids(), |_| {}).expect("imported");
    assert_eq!((read.orders.len(), read.errors.len()), (4, 3));
    let history = tidings_cli::import::load_state(&state).expect("state");
    let order = tidings_tests::order_confirmed(
        "o-7001",
        &serde_json::json!({"id": "7001", "email": "ada@example.com", "first_name": "Ada", "marketing_consent": false}),
        vec![tidings_tests::item("p-mug", "kitchen", 1, 1800)],
        "2026-11-02T15:00:00Z",
    );
    let input = || {
        vec![tidings_cli::Input {
            name: "order.jsonl".into(),
            text: order.to_string(),
        }]
    };
    let sample = tidings_core::config::StoreConfig::sample;
    let replayed = tidings_tests::replay_from(input(), sample(), Some(history));
    let kinds: Vec<String> = replayed.timeline().into_iter().map(|(_, kind)| kind).collect();
    assert_eq!(
        kinds,
        ["order_confirmation"],
        "nothing for the imported orders themselves"
    );
    let text = crate::mime::text_part(&String::from_utf8(replayed.eml(1)).expect("utf-8"));
    assert!(!text.contains("Welcome to the family"), "a returning buyer: {text}");
    let fresh = tidings_tests::replay_from(input(), sample(), None);
    let text = crate::mime::text_part(&String::from_utf8(fresh.eml(1)).expect("utf-8"));
    assert!(
        text.contains("Welcome to the family"),
        "without the import, a first order: {text}"
    );
}

#[test]
fn order_lines_show_the_image_and_page_the_store_gave_their_product() {
    let replayed = week();
    let raw = String::from_utf8(replayed.eml(1)).expect("utf-8");
    // Quoted-printable may fold the markup; compare without soft line breaks.
    let html = raw.replace("=\r\n", "").replace("=3D", "=").replace("&#x2f;", "/");
    assert!(
        html.contains("example-t-shirt.jpg"),
        "the products/create image on its order line"
    );
    assert!(html.contains("https://maple-moss.myshopify.com/products/example-t-shirt"));
}

/// Shopify's webhooks, translated as the Lambda does, delivered to the engine at their time.
fn deliver_shopify(app: &tidings_tests::TestApp, topic: &str, payload: &str, time: &str) {
    let envelope = format!(
        r#"{{"version":"0","id":"e-{time}","detail-type":"shopifyWebhook","source":"aws.partner/shopify.com/1/s","time":"{time}","detail":{{"payload":{payload},"metadata":{{"X-Shopify-Topic":"{topic}","X-Shopify-Shop-Domain":"maple-moss.myshopify.com"}}}}}}"#
    );
    for event in tidings_core::shopify::translate(&envelope).expect("translated").events {
        app.deliver(&event).expect("handled");
    }
}

fn fixture(name: &str) -> String {
    std::fs::read_to_string(repo_root().join("shared/fixtures/shopify").join(name)).expect("fixture")
}

fn consent_of(app: &tidings_tests::TestApp, id: &str) -> bool {
    let id = tidings_core::domain::CustomerId::parse(id).expect("id");
    app.engine.store().state().customers[&id].consent.given
}

/// The example order, by the example customer (115310627314723954), with the box `ticked` or not.
fn order(ticked: bool) -> String {
    fixture("orders__create.json").replace(
        r#""buyer_accepts_marketing": true"#,
        &format!(r#""buyer_accepts_marketing": {ticked}"#),
    )
}

fn subscribed(state: &str, at: &str) -> String {
    fixture("customers_email_marketing_consent__update.json")
        .replace("706405506930370084", "115310627314723954")
        .replace(r#""state": "not_subscribed""#, &format!(r#""state": "{state}""#))
        .replace(
            r#""consent_updated_at": null"#,
            &format!(r#""consent_updated_at": "{at}""#),
        )
}

#[test]
fn an_unticked_box_at_checkout_does_not_withdraw_a_subscription() {
    let app = tidings_tests::spawn_app();
    deliver_shopify(
        &app,
        "customers_email_marketing_consent/update",
        &subscribed("subscribed", "2026-11-01T09:59:00Z"),
        "2026-11-01T10:00:00Z",
    );
    assert!(consent_of(&app, "115310627314723954"));
    deliver_shopify(&app, "orders/create", &order(false), "2026-11-02T10:00:00Z");
    assert!(
        consent_of(&app, "115310627314723954"),
        "a subscriber is not asked again at checkout"
    );
}

#[test]
fn a_ticked_box_repeated_by_orders_paid_after_an_unsubscribe_at_shopify_does_not_resubscribe() {
    let app = tidings_tests::spawn_app();
    deliver_shopify(&app, "orders/create", &order(true), "2026-11-02T10:00:00Z");
    assert!(consent_of(&app, "115310627314723954"), "the box was ticked");
    deliver_shopify(
        &app,
        "customers_email_marketing_consent/update",
        &subscribed("unsubscribed", "2026-11-03T11:59:00Z"),
        "2026-11-03T12:00:00Z",
    );
    assert!(!consent_of(&app, "115310627314723954"));
    // The bank transfer arrives: Shopify sends the order again, its checkout box still ticked.
    deliver_shopify(&app, "orders/paid", &order(true), "2026-11-05T09:00:00Z");
    assert!(
        !consent_of(&app, "115310627314723954"),
        "a stale flag does not undo the opt-out"
    );
}

#[test]
fn erasing_a_customer_erases_their_address_as_a_guest_and_later_orders_adopt_nothing() {
    let app = tidings_tests::spawn_app();
    let keys = tidings_core::signing::SigningKeys::demo();
    let export = std::fs::File::open(repo_root().join("shared/fixtures/shopify/orders_export.csv")).expect("export");
    let history = tidings_core::shopify::import::read_export(export, |_| {})
        .expect("read")
        .history(keys.guest_ids());
    for customer in history.customers {
        app.engine
            .store()
            .state()
            .customers
            .insert(customer.profile.id.clone(), customer);
    }
    let ada = serde_json::json!({"id": "7001", "email": "ada@example.com", "marketing_consent": false});
    let placed = |id: &str, time: &str| {
        tidings_tests::order_confirmed(id, &ada, vec![tidings_tests::item("p-mug", "kitchen", 1, 1800)], time)
    };
    app.deliver(&placed("o-1", "2026-11-02T10:00:00Z")).expect("order");
    let first_order = |id: &str| {
        app.engine.store().state().orders[&tidings_core::domain::OrderId::parse(id).expect("id")].first_order
    };
    assert!(!first_order("o-1"), "the imported history made Ada a returning buyer");
    let guest = keys
        .guest_ids()
        .customer_id(&tidings_core::domain::CustomerId::parse("guest:ada@example.com").expect("id"));
    app.deliver(&tidings_tests::envelope(
        "CustomerRedacted",
        "2026-11-03T10:00:00Z",
        serde_json::json!({"customer_id": "7001", "email": "ada@example.com"}),
    ))
    .expect("erased");
    let state = app.engine.store().state();
    assert!(
        !state.customers.contains_key(&guest),
        "the address's guest record is erased too"
    );
    drop(state);
    app.deliver(&placed("o-2", "2026-11-04T10:00:00Z"))
        .expect("order after the erasure");
    assert!(first_order("o-2"), "nothing from before the erasure comes back");
}

#[test]
fn a_shopify_order_keeps_the_tags_and_names_its_customer_has_from_customers_update() {
    let app = tidings_tests::spawn_app();
    let profile = fixture("customers__update.json")
        .replace("706405506930370084", "115310627314723954")
        .replacen(r#""note":"#, r#""tags": "vip, wholesale", "note":"#, 1);
    deliver_shopify(&app, "customers/update", &profile, "2026-11-01T10:00:00Z");
    deliver_shopify(&app, "orders/create", &order(false), "2026-11-02T10:00:00Z");
    let id = tidings_core::domain::CustomerId::parse("115310627314723954").expect("id");
    let state = app.engine.store().state();
    let tags: Vec<&str> = state.customers[&id].profile.tags.iter().map(|t| t.as_str()).collect();
    assert_eq!(
        tags,
        ["vip", "wholesale"],
        "the order's customer has no tags: it does not erase them"
    );
}

#[test]
fn a_tracking_number_added_after_the_parcel_shipped_reaches_the_later_emails_and_nothing_is_sent_twice() {
    let app = tidings_tests::spawn_app();
    deliver_shopify(&app, "orders/create", &order(false), "2026-11-02T10:00:00Z");
    let shipped = fixture("fulfillments__create.json").replace(r#""status": "pending""#, r#""status": "success""#);
    let untracked = shipped
        .replace(r#""tracking_number": "1z827wk74630""#, r#""tracking_number": null"#)
        .replace(r#""tracking_numbers": ["#, r#""tracking_numbers_": ["#)
        .replace(r#""tracking_url": "https"#, r#""tracking_url_": "https"#)
        .replace(r#""tracking_urls": ["#, r#""tracking_urls_": ["#);
    deliver_shopify(&app, "fulfillments/create", &untracked, "2026-11-03T10:00:00Z");
    deliver_shopify(&app, "fulfillments/update", &shipped, "2026-11-03T12:00:00Z");
    let delayed =
        fixture("fulfillment_events__create.json").replace(r#""status": "in_transit""#, r#""status": "delayed""#);
    deliver_shopify(&app, "fulfillment_events/create", &delayed, "2026-11-04T10:00:00Z");
    let sent = app.engine.mailer().sent();
    let kinds: Vec<&str> = sent.iter().map(|e| e.kind.as_str()).collect();
    assert_eq!(
        kinds,
        ["order_confirmation", "shipping_confirmation", "shipment_update"]
    );
    assert!(
        !String::from_utf8_lossy(&sent[1].raw).contains("1z827wk74630"),
        "shipped without one"
    );
    assert!(
        String::from_utf8_lossy(&sent[2].raw).contains("1z827wk74630"),
        "the update shows the number added since"
    );
}
