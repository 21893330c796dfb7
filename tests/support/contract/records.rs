//! The store contract's checks on records whose form once differed between the stores: held
//! events' ids, statistics, writes larger than one DynamoDB transaction.

use super::{id, key};
use serde_json::json;
use tidings_core::domain::{OrderId, ProductId};
use tidings_core::event::{Event, InboundEvent, Parsed, parse_envelope};
use tidings_core::ports::retention::held_event_id;
use tidings_core::ports::{Awaiting, Changes, FollowUp, Store, Subject};

fn event(detail_type: &str, time: &str, detail: serde_json::Value) -> InboundEvent {
    match parse_envelope(&crate::envelope(detail_type, time, detail).to_string()).expect("valid") {
        Parsed::Known(event) => *event,
        Parsed::Unknown { .. } => panic!("known"),
    }
}

/// The id both stores give a held event.
pub fn held_id(event: &InboundEvent) -> String {
    held_event_id(event.time, &serde_json::to_string(event).expect("serializable"))
}

/// Both stores give a held event the id DynamoDB sorts it by (`retention::held_event_id`), list
/// them oldest first, and forget exactly the ones named.
pub async fn held_events_have_one_id_and_list_oldest_first<S: Store>(store: &S) {
    let order = OrderId::parse("o-contract-held").expect("id");
    let shipped = |time: &str| {
        let shipment =
            json!({"id": format!("shp-{time}"), "carrier": "ups", "tracking_number": "1Z", "shipped_at": time});
        event(
            "OrderShipped",
            time,
            json!({"order_id": "o-contract-held", "shipment": shipment}),
        )
    };
    let later = shipped("2026-11-02T10:00:00.5Z");
    let earlier = shipped("2026-11-02T10:00:00.25Z");
    let now = crate::ts("2026-11-02T10:01:00Z");
    for held in [&later, &earlier] {
        assert!(
            store
                .hold_event(&order, held, Awaiting::Order, now)
                .await
                .expect("held")
        );
    }
    let file = store.order_file(&order).await.expect("read");
    let ids: Vec<&str> = file.held.iter().map(|h| h.id.as_str()).collect();
    assert_eq!(ids, [held_id(&earlier), held_id(&later)]);
    store.forget_held(&order, &file.held[..1]).await.expect("forgotten");
    let left = store.order_file(&order).await.expect("read").held;
    assert_eq!(left.iter().map(|h| &h.event).collect::<Vec<_>>(), [&later]);
}

/// An order counted in the statistics is seen by the next reader, and each order sets the name
/// (both stores, as DynamoDB's update does; the memory store once kept the first name seen). DynamoDB's functions cache
/// what they read for up to 10 minutes (`Statistics::product_stats` allows it); a first read, as
/// here, is fresh on both stores.
pub async fn statistics_count_an_order_for_the_next_reader<S: Store>(store: &S) {
    let who = crate::customer("c-contract-stats", "en-US", "America/New_York", true);
    let items = vec![
        crate::item("p-contract-a", "kitchen", 1, 1800),
        crate::item("p-contract-b", "kitchen", 2, 900),
    ];
    let Event::OrderConfirmed(order) = event(
        "OrderConfirmed",
        "2026-11-02T10:00:00Z",
        json!({"order": crate::order("o-contract-stats", &who, "USD", items, "2026-11-02T10:00:00Z")}),
    )
    .event
    else {
        panic!("an order")
    };
    store.count_purchases(&order, 1).await.expect("counted");
    // A later order names the product anew, without an image: the name changes, the image stays.
    let mut renamed = (*order).clone();
    renamed.id = OrderId::parse("o-contract-stats-2").expect("id");
    renamed.items.truncate(1);
    renamed.items[0].name = tidings_core::domain::Text::new("Mug, speckled");
    renamed.items[0].image_url = None;
    store.count_purchases(&renamed, 1).await.expect("counted");
    let stats = store.product_stats().await.expect("read");
    let a = ProductId::parse("p-contract-a").expect("id");
    let b = ProductId::parse("p-contract-b").expect("id");
    assert!(
        stats.products.contains_key(&a) && stats.products.contains_key(&b),
        "{stats:?}"
    );
    assert_eq!(stats.pairs.get(&a).and_then(|p| p.get(&b)), Some(&1), "{stats:?}");
    let product = &stats.products[&a];
    assert_eq!((product.name.as_str(), product.orders), ("Mug, speckled", 2));
    assert!(
        product.image_url.is_some(),
        "an order without an image keeps the known one"
    );
}

/// A write of more actions than one DynamoDB transaction takes (100) lands whole. The port
/// documents that DynamoDB then writes it in several transactions (each record whole and
/// versioned, the set not atomic); the memory store writes it at once.
pub async fn a_write_of_more_than_a_transaction_lands_whole<S: Store>(store: &S) {
    let follow_ups: Vec<FollowUp> = (0..150)
        .map(|n| FollowUp {
            key: key(&format!("order_progress#o-contract-big#{n}")),
            customer_id: id("c-contract-big"),
            subject: Subject::Customer,
            due_at: crate::ts("2026-11-20T10:00:00Z"),
            original_due: crate::ts("2026-11-20T10:00:00Z"),
            expires_at: crate::ts("2026-12-31T00:00:00Z"),
            coupon_waiting_since: None,
        })
        .collect();
    let changes = Changes {
        follow_ups: &follow_ups,
        ..Changes::default()
    };
    store.save_together(&changes).await.expect("written");
    let stored = store.follow_ups_of(&id("c-contract-big")).await.expect("read");
    assert_eq!(stored.len(), 150);
}

/// When the records `write_expiring` wrote were written.
pub const WRITTEN: &str = "2026-11-02T10:00:00Z";

/// Writes one record of each kind that expires (`ports::retention`), at `WRITTEN`: the claim of
/// `welcome#c-ttl`, cart `cart-ttl`, an event held for `o-ttl`, a soft bounce of
/// `ttl@example.com` (event `b-ttl`) and the counted click `e-ttl`.
pub async fn write_expiring<S: Store>(store: &S) -> InboundEvent {
    let at = crate::ts(WRITTEN);
    let mut claim = super::claim("welcome#c-ttl", WRITTEN);
    claim.to = super::address("ttl@example.com");
    store.claim_message(&claim).await.expect("claimed");
    let who = crate::customer("c-ttl", "en-US", "America/New_York", true);
    let Event::CartUpdated(cart) = event(
        "CartUpdated",
        WRITTEN,
        json!({"cart": crate::cart("cart-ttl", &who, vec![crate::item("p-mug", "kitchen", 1, 1800)], WRITTEN)}),
    )
    .event
    else {
        panic!("a cart")
    };
    let record = tidings_core::ports::CartRecord {
        cart: *cart,
        ordered_at: None,
    };
    assert!(store.save_cart(&record).await.expect("saved"));
    let held = event(
        "OrderDelivered",
        WRITTEN,
        json!({"order_id": "o-ttl", "delivered_at": WRITTEN}),
    );
    let order = OrderId::parse("o-ttl").expect("id");
    assert!(
        store
            .hold_event(&order, &held, Awaiting::Order, at)
            .await
            .expect("held")
    );
    let address = super::address("ttl@example.com");
    store
        .count_soft_bounce(&address, "b-ttl", at, at)
        .await
        .expect("bounce");
    let counted = store
        .count_engagement(&id("c-ttl"), "e-ttl", tidings_core::ports::EngagementKind::Click, at)
        .await
        .expect("click");
    assert!(counted);
    let number = tidings_core::event::TrackingNumber::parse("1Z-TTL").expect("number");
    let shipment = tidings_core::domain::ShipmentId::parse("s-ttl").expect("id");
    store
        .index_tracking(&number, &order, &shipment, at)
        .await
        .expect("indexed");
    held
}

/// A tracking number finds its parcel; the latest shipment with the number owns it.
pub async fn a_tracking_number_finds_the_latest_parcel_shipped_with_it<S: Store>(store: &S) {
    use tidings_core::domain::ShipmentId;
    use tidings_core::event::TrackingNumber;
    let number = TrackingNumber::parse("1z 999 aa1 0123 4567 84").expect("number");
    assert_eq!(store.tracking_owner(&number).await.expect("read"), None);
    let (first, second) = (OrderId::parse("o-t1").expect("id"), OrderId::parse("o-t2").expect("id"));
    let parcel = ShipmentId::parse("s-1").expect("id");
    let at = crate::ts("2026-11-02T10:00:00Z");
    store
        .index_tracking(&number, &first, &parcel, at)
        .await
        .expect("indexed");
    // Written again (a redelivered shipment) is the same; spelled otherwise is the same number.
    store
        .index_tracking(&number, &first, &parcel, at)
        .await
        .expect("indexed");
    let spelled = TrackingNumber::parse("1Z999AA10123456784").expect("number");
    assert_eq!(
        store.tracking_owner(&spelled).await.expect("read"),
        Some((first, parcel.clone()))
    );
    store
        .index_tracking(
            &number,
            &second,
            &parcel,
            at + jiff::SignedDuration::from_hours(24 * 90),
        )
        .await
        .expect("indexed");
    assert_eq!(
        store.tracking_owner(&number).await.expect("read"),
        Some((second, parcel))
    );
}

/// A scan held for want of its parcel marks the number; the parcel's index sees the mark (and
/// releases the scan), or the mark sees the parcel: never neither.
pub async fn a_waiting_scan_and_its_parcel_each_see_the_other<S: Store>(store: &S) {
    use tidings_core::domain::ShipmentId;
    use tidings_core::event::TrackingNumber;
    let at = crate::ts("2026-11-02T10:00:00Z");
    let (order, parcel) = (
        OrderId::parse("o-w").expect("id"),
        ShipmentId::parse("s-w").expect("id"),
    );
    let first = TrackingNumber::parse("WAIT-1").expect("number");
    assert_eq!(store.mark_scans_waiting(&first, at).await.expect("marked"), None);
    assert!(
        store
            .index_tracking(&first, &order, &parcel, at)
            .await
            .expect("indexed"),
        "the scan is waiting"
    );
    assert!(
        store
            .index_tracking(&first, &order, &parcel, at)
            .await
            .expect("indexed"),
        "a retry of the shipment still releases them"
    );
    let second = TrackingNumber::parse("WAIT-2").expect("number");
    assert!(
        !store
            .index_tracking(&second, &order, &parcel, at)
            .await
            .expect("indexed"),
        "nothing waits"
    );
    assert_eq!(
        store.mark_scans_waiting(&second, at).await.expect("marked"),
        Some((order, parcel)),
        "a scan marked after its parcel finds it"
    );
}
