//! WooCommerce's published order and customer (shared/fixtures/woocommerce), through each status
//! and the Shipment Tracking plugins' meta, into contract events.

use crate::event::Event;
use crate::webhook::tests::{config, delivery, fixture};
use crate::webhook::{Received, Source};
use serde_json::{Value, json};

fn order(change: impl FnOnce(&mut Value)) -> String {
    let mut order: Value = serde_json::from_str(&fixture("woocommerce/order.json")).expect("json");
    change(&mut order);
    order.to_string()
}

fn receive(topic: &str, body: &str) -> Received {
    delivery(Source::WooCommerce, &[("X-WC-Webhook-Topic", topic)], body, "k").receive("k", &config())
}

fn events(topic: &str, body: &str) -> Vec<Event> {
    crate::webhook::tests::events(receive(topic, body))
}

fn tracked(items: Value) -> impl FnOnce(&mut Value) {
    move |order| {
        order["status"] = json!("completed");
        order["meta_data"]
            .as_array_mut()
            .expect("meta")
            .push(json!({"id": 13107, "key": "_wc_shipment_tracking_items", "value": items}));
    }
}

#[test]
fn the_documented_processing_order_is_a_guest_s_confirmation_in_minor_units() {
    let [Event::OrderConfirmed(order)] = &events("order.created", &fixture("woocommerce/order.json"))[..] else {
        panic!("one confirmation");
    };
    assert_eq!(order.id.as_str(), "727");
    assert_eq!(order.number.as_str(), "#727");
    // customer_id 0: a guest, keyed by the billing address.
    assert!(order.customer.id.as_str().starts_with(crate::domain::guest_id::PREFIX));
    assert_eq!(order.customer.email.as_str(), "john.doe@example.com");
    assert_eq!(order.currency.code(), "USD");
    // "29.35" and friends as strings; line prices as numbers are not read (subtotal / quantity).
    assert_eq!(
        (order.subtotal, order.shipping, order.tax, order.total),
        (1800, 1000, 135, 2935)
    );
    assert_eq!(order.items[0].unit_price, 300);
    assert_eq!(order.items[0].quantity, 2);
    // The name's HTML entity is the text it shows; the variation's attributes are its variant.
    assert_eq!(
        order.items[1].name.as_str(),
        "Ship Your Idea – Color: Black, Size: M Test"
    );
    assert_eq!(
        order.items[1].variant.as_ref().map(|v| v.as_str()),
        Some("black / M Test")
    );
    assert_eq!(order.items[0].sku.as_str(), "product-93");
    assert_eq!(order.placed_at.to_string(), "2017-03-22T19:28:02Z");
    // A guest's order page carries the order key, under the configured site.
    assert_eq!(
        order.status_url.as_ref().map(|u| u.as_str()),
        Some("https://example.com/checkout/order-received/727/?key=wc_order_58d2d042d1d")
    );
    let envelope = match receive("order.created", &fixture("woocommerce/order.json")) {
        Received::Events { events, .. } => events[0].clone(),
        other => panic!("{other:?}"),
    };
    assert_eq!(envelope["time"], "2017-03-22T19:28:08Z", "date_modified_gmt");
    assert_eq!(envelope["source"], "tidings.woocommerce");
}

#[test]
fn each_status_becomes_its_event() {
    let kinds = |status: &str, paid: bool| {
        let body = order(|o| {
            o["status"] = json!(status);
            if !paid {
                o["date_paid_gmt"] = Value::Null;
            }
        });
        match receive("order.updated", &body) {
            Received::Events { events, .. } => events
                .iter()
                .map(|e| e["detail-type"].as_str().unwrap_or_default().to_owned())
                .collect::<Vec<_>>(),
            Received::Ignored { .. } => vec![],
            other => panic!("{status}: {other:?}"),
        }
    };
    assert_eq!(kinds("processing", true), ["OrderConfirmed"]);
    assert_eq!(kinds("on-hold", false), ["OrderConfirmed"]);
    assert_eq!(kinds("completed", true), ["OrderConfirmed", "OrderShipped"]);
    assert_eq!(kinds("cancelled", true), ["OrderCancelled"]);
    assert_eq!(kinds("refunded", true), ["OrderCancelled"]);
    assert_eq!(kinds("failed", true), ["OrderCancelled"]);
    // A failed first payment is no cancellation: the customer may pay again, and the order
    // would be cancelled once confirmed.
    assert!(kinds("failed", false).is_empty());
    assert!(kinds("pending", false).is_empty());
    assert!(kinds("checkout-draft", false).is_empty());
}

#[test]
fn a_completed_order_ships_the_tracking_plugins_parcels() {
    let items: Value = serde_json::from_str(&fixture("woocommerce/shipment_tracking_items.json")).expect("json");
    let events = events("order.updated", &order(tracked(items)));
    let shipped: Vec<_> = events
        .iter()
        .filter_map(|e| match e {
            Event::OrderShipped(s) => Some(&s.shipment),
            _ => None,
        })
        .collect();
    assert_eq!(shipped.len(), 2);
    // The first parcel is the order's shipment; the number as a string of unix seconds.
    assert_eq!(shipped[0].id.as_str(), "727");
    assert_eq!(shipped[0].carrier.as_str(), "usps");
    assert_eq!(
        shipped[0].tracking_number.as_ref().map(|n| n.as_str()),
        Some("9400100000000000000000")
    );
    assert_eq!(shipped[0].shipped_at.to_string(), "2025-01-13T00:00:00Z");
    // A custom provider: its name and link, the time as a number.
    assert_eq!(shipped[1].id.as_str(), "727-fedcba9876543210fedcba9876543210");
    assert_eq!(shipped[1].carrier.as_str(), "");
    assert_eq!(
        shipped[1].carrier_name.as_ref().map(|n| n.as_str()),
        Some("My Local Courier")
    );
    assert_eq!(
        shipped[1].tracking_url.as_ref().map(|u| u.as_str()),
        Some("https://courier.example/track?n=ABC123")
    );
    assert_eq!(shipped[1].shipped_at.to_string(), "2025-01-14T00:00:00Z");
}

#[test]
fn a_completed_digital_order_ships_nothing_and_a_physical_one_without_tracking_ships_one_parcel() {
    let digital = order(|o| {
        o["status"] = json!("completed");
        o["shipping"] =
            json!({"first_name": "", "last_name": "", "address_1": "", "city": "", "postcode": "", "country": ""});
    });
    assert!(
        events("order.updated", &digital)
            .iter()
            .all(|e| !matches!(e, Event::OrderShipped(_)))
    );
    let physical = order(|o| o["status"] = json!("completed"));
    let shipped: Vec<_> = events("order.updated", &physical)
        .into_iter()
        .filter_map(|e| match e {
            Event::OrderShipped(s) => Some(s.shipment),
            _ => None,
        })
        .collect();
    assert_eq!(shipped.len(), 1);
    assert_eq!(shipped[0].id.as_str(), "727");
    assert_eq!(shipped[0].tracking_number, None);
}

#[test]
fn odd_optional_fields_never_lose_the_confirmation() {
    let odd = order(|o| {
        o["number"] = json!(727);
        o["shipping_total"] = json!(10);
        o["total"] = json!(29.35);
        o["coupon_lines"] = Value::Null;
        o["shipping"] = Value::Null;
        o["line_items"][0]["image"] = json!({"id": 0, "src": ""});
        o["meta_data"] = json!([{"id": 1, "key": "_wc_shipment_tracking_items", "value": ""}]);
    });
    let [Event::OrderConfirmed(confirmed)] = &events("order.created", &odd)[..] else {
        panic!("one confirmation");
    };
    assert_eq!((confirmed.shipping, confirmed.total), (1000, 2935));
    assert_eq!(confirmed.shipping_address, None);
    // More decimals than the currency has (the store's decimals setting): rounded half up.
    let [Event::OrderConfirmed(rounded)] = &events("order.created", &order(|o| o["total"] = json!("29.355")))[..]
    else {
        panic!("one confirmation");
    };
    assert_eq!(rounded.total, 2936);
    // A currency that is none is refused, naming the field.
    match receive("order.created", &order(|o| o["currency"] = json!("US Dollars"))) {
        Received::Untranslatable { error, .. } => assert_eq!(error.field, "body.currency"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_tracking_item_that_does_not_read_is_left_out_and_never_costs_the_confirmation() {
    let items = json!([{"tracking_provider": "ups", "tracking_number": 1234567890123_u64, "date_shipped": "1736726400"},
        {"tracking_number": {"odd": true}}, "junk"]);
    let translated = events("order.updated", &order(tracked(items)));
    assert!(matches!(translated[0], Event::OrderConfirmed(_)));
    let shipped: Vec<_> = translated
        .iter()
        .filter_map(|e| match e {
            Event::OrderShipped(s) => Some(&s.shipment),
            _ => None,
        })
        .collect();
    assert_eq!(shipped.len(), 1);
    assert_eq!(
        shipped[0].tracking_number.as_ref().map(|n| n.as_str()),
        Some("1234567890123")
    );
    let garbled = events("order.updated", &order(tracked(json!({"not": "a list"}))));
    assert_eq!(garbled.len(), 2, "the confirmation and one parcel without a number");
}

#[test]
fn a_local_pickup_ships_nothing_and_an_anonymized_order_is_no_order() {
    let pickup = order(|o| {
        o["status"] = json!("completed");
        o["shipping_lines"] =
            json!([{"id": 1, "method_title": "Local pickup", "method_id": "local_pickup", "total": "0.00"}]);
    });
    assert!(
        events("order.updated", &pickup)
            .iter()
            .all(|e| !matches!(e, Event::OrderShipped(_)))
    );
    let erased = order(|o| {
        o["billing"]["email"] = json!("deleted@site.invalid");
        o["meta_data"]
            .as_array_mut()
            .expect("meta")
            .push(json!({"id": 9, "key": "_anonymized", "value": "yes"}));
    });
    assert!(matches!(receive("order.updated", &erased), Received::Ignored { .. }));
}

#[test]
fn an_order_body_under_a_customer_topic_is_not_read_as_a_customer() {
    match receive("customer.updated", &fixture("woocommerce/order.json")) {
        Received::Untranslatable { error, .. } => assert_eq!(error.field, "body"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_registered_buyer_is_their_account_and_consent_comes_from_the_configured_meta_at_checkout_only() {
    let text = format!(
        "{}\n[woocommerce]\nsite_url = \"https://example.com/\"\nmarketing_consent_meta = \"_newsletter_optin\"\n",
        crate::config::SAMPLE_CONFIG
    );
    let config = crate::config::StoreConfig::from_toml(&text).expect("config");
    let body = order(|o| {
        o["customer_id"] = json!(25);
        o["meta_data"]
            .as_array_mut()
            .expect("meta")
            .push(json!({"id": 2, "key": "_newsletter_optin", "value": "yes"}));
    });
    let consent = |topic: &str| {
        let received =
            delivery(Source::WooCommerce, &[("X-WC-Webhook-Topic", topic)], &body, "k").receive("k", &config);
        let Received::Events { events, .. } = received else {
            panic!("{received:?}");
        };
        let order = &events[0]["detail"]["order"];
        assert_eq!(order["customer"]["id"], "25");
        assert_eq!(order["status_url"], "https://example.com/my-account/view-order/727/");
        order["customer"]["marketing_consent"].clone()
    };
    assert_eq!(consent("order.created"), json!(true));
    // A later update repeats checkout's box: no statement of now.
    assert_eq!(consent("order.updated"), Value::Null);
}

#[test]
fn the_documented_customer_signs_up_and_a_product_describes_its_lines() {
    let [Event::CustomerSignedUp(customer)] = &events("customer.created", &fixture("woocommerce/customer.json"))[..]
    else {
        panic!("one signup");
    };
    assert_eq!(customer.id.as_str(), "25");
    assert_eq!(customer.first_name.as_ref().map(|n| n.as_str()), Some("John"));
    assert_eq!(customer.marketing_consent, None, "WooCommerce states no consent");
    let product = json!({"id": 794, "name": "Premium Quality &amp; More", "permalink": "https://example.com/product/premium-quality-19/",
        "date_modified_gmt": "2017-03-23T17:01:14", "images": [{"id": 792, "src": "https://example.com/wp-content/uploads/2017/03/T_2_front-4.jpg"}],
        "categories": [{"id": 9, "name": "Clothing", "slug": "clothing"}]});
    let [Event::ProductUpdated(product)] = &events("product.updated", &product.to_string())[..] else {
        panic!("one product");
    };
    assert_eq!(product.name.as_str(), "Premium Quality & More");
    assert_eq!(product.category.as_ref().map(|c| c.as_str()), Some("Clothing"));
}

#[test]
fn a_status_tidings_does_not_read_is_ignored() {
    let body = order(|o| o["status"] = json!("wc-awaiting-shipment"));
    assert!(matches!(receive("order.updated", &body), Received::Ignored { .. }));
}
