//! A generated store history: customers signing up, carts, orders, shipments, scans, deliveries,
//! cancellations, consent withdrawn at the store, and erasures, drawn from a seed.
//!
//! What SES reports (sends, deliveries, bounces, opens, clicks, unsubscribes) is not in here: it
//! depends on what was sent, and `reaction` derives it from the message key.

use super::Rng;
use crate::{cart, customer, envelope, item, order};
use jiff::{SignedDuration, Timestamp};
use serde_json::{Value, json};

/// One store event, as the store's bridge puts it on the bus.
#[derive(Clone, Debug)]
pub struct StoreEvent {
    /// When it happened (and its envelope time).
    pub at: Timestamp,
    /// The EventBridge envelope.
    pub envelope: Value,
}

/// What the history promises about a customer, for the invariants.
#[derive(Clone, Debug)]
pub struct Person {
    /// Store customer id.
    pub id: String,
    /// Address, lowercased.
    pub email: String,
    /// Ever gave marketing consent.
    pub consented: bool,
    /// Their orders' ids.
    pub orders: Vec<String>,
    /// Erased at the end.
    pub erased: bool,
}

/// The history and who is in it.
#[derive(Clone, Debug)]
pub struct History {
    /// Events, by time.
    pub events: Vec<StoreEvent>,
    /// Its customers.
    pub people: Vec<Person>,
    /// The last event's time.
    pub end: Timestamp,
}

const LOCALES: [(&str, &str); 8] = [
    ("en-US", "America/New_York"),
    ("de-DE", "Europe/Berlin"),
    ("fr-FR", "Europe/Paris"),
    ("es-ES", "Europe/Madrid"),
    ("ja-JP", "Asia/Tokyo"),
    ("ko-KR", "Asia/Seoul"),
    ("tr-TR", "Europe/Istanbul"),
    ("zh-CN", "Asia/Shanghai"),
];

const PRODUCTS: [(&str, &str, u64); 10] = [
    ("p-mug", "kitchen", 1800),
    ("p-teapot", "kitchen", 4200),
    ("p-kettle", "kitchen", 6900),
    ("p-apron", "kitchen", 2500),
    ("p-candle", "home", 1500),
    ("p-vase", "home", 3900),
    ("p-throw", "home", 7900),
    ("p-notebook", "paper", 900),
    ("p-pen", "paper", 1200),
    ("p-planner", "paper", 2900),
];

/// The history's first day.
pub const START: &str = "2026-03-02T08:00:00Z";

/// `customers` customers over about three weeks, drawn from `rng`; with `carrier_scans`, half
/// the parcels' scans come from a carrier service by tracking number, some before the parcel.
pub fn generate(rng: &mut Rng, customers: usize, carrier_scans: bool) -> History {
    let start: Timestamp = START.parse().unwrap_or(Timestamp::UNIX_EPOCH);
    let mut events = Vec::new();
    let mut people = Vec::new();
    for n in 0..customers {
        let mut person = Person {
            id: format!("c-{n}"),
            email: format!("{n}@example.com"),
            consented: rng.chance(0.7),
            orders: Vec::new(),
            erased: false,
        };
        shop(rng, &mut person, start, n, carrier_scans, &mut events);
        people.push(person);
    }
    events.sort_by_key(|e| e.at);
    let end = events.last().map_or(start, |e| e.at);
    History { events, people, end }
}

/// A sale: `orders` orders of the same three products by as many new customers (guests of the
/// sale, each with the order's own consent statement), all placed within one minute.
pub fn sale(rng: &mut Rng, orders: usize) -> History {
    let start: Timestamp = START.parse().unwrap_or(Timestamp::UNIX_EPOCH);
    let mut events = Vec::new();
    let mut people = Vec::new();
    for n in 0..orders {
        let (locale, zone) = LOCALES[n % LOCALES.len()];
        let person = Person {
            id: format!("c-{n}"),
            email: format!("{n}@example.com"),
            consented: rng.chance(0.5),
            orders: vec![format!("o-{n}")],
            erased: false,
        };
        let who = customer(&person.id, locale, zone, person.consented);
        let lines: Vec<Value> = PRODUCTS[..3]
            .iter()
            .take(1 + rng.below(3) as usize)
            .map(|(id, category, price)| item(id, category, 1, *price))
            .collect();
        let at = start + SignedDuration::from_millis(rng.below(60_000) as i64);
        let placed = order(&person.orders[0], &who, "USD", lines, &at.to_string());
        events.push(StoreEvent {
            at,
            envelope: envelope("OrderConfirmed", &at.to_string(), json!({ "order": placed })),
        });
        people.push(person);
    }
    events.sort_by_key(|e| e.at);
    let end = events.last().map_or(start, |e| e.at);
    History { events, people, end }
}

/// One customer's life at the store.
fn shop(
    rng: &mut Rng,
    person: &mut Person,
    start: Timestamp,
    n: usize,
    carrier_scans: bool,
    events: &mut Vec<StoreEvent>,
) {
    let (locale, zone) = LOCALES[n % LOCALES.len()];
    let mut who = customer(&person.id, locale, zone, person.consented);
    if rng.chance(0.3) {
        // Some birthdays fall inside the run.
        who["birthday"] = json!(format!("--03-{:02}", 5 + rng.below(20)));
    }
    let mut at = start + minutes(rng.below(14 * 24 * 60));
    let mut log = Log { events, latest: at };
    let mut push = |at: Timestamp, detail_type: &str, detail: Value| log.push(at, detail_type, detail);
    push(at, "CustomerSignedUp", json!({ "customer": who }));
    let orders = rng.below(4);
    let mut withdrawn = false;
    for o in 0..orders {
        at += minutes(30 + rng.below(5 * 24 * 60));
        let lines: Vec<Value> = (0..1 + rng.below(3))
            .map(|_| {
                let (id, category, price) = PRODUCTS[rng.below(PRODUCTS.len() as u64) as usize];
                item(id, category, 1 + rng.below(2) as u32, price)
            })
            .collect();
        let cart_id = format!("cart-{n}-{o}");
        push(
            at,
            "CartUpdated",
            json!({ "cart": cart(&cart_id, &who, lines.clone(), &at.to_string()) }),
        );
        if rng.chance(0.35) {
            // Abandoned: the reminders have their chance.
            continue;
        }
        at += minutes(2 + rng.below(90));
        let order_id = format!("o-{n}-{o}");
        person.orders.push(order_id.clone());
        let mut placed = order(&order_id, &who, "USD", lines, &at.to_string());
        placed["cart_id"] = json!(cart_id);
        push(at, "OrderConfirmed", json!({ "order": placed }));
        if rng.chance(0.1) {
            push(
                at + minutes(20 + rng.below(600)),
                "OrderCancelled",
                json!({"order_id": order_id, "reason": "customer"}),
            );
            continue;
        }
        let shipment = format!("shp-{n}-{o}");
        let number = format!("1Z{n}X{o}");
        let shipped = at + minutes(12 * 60 + rng.below(36 * 60));
        if carrier_scans && rng.chance(0.15) {
            // The carrier service's first scan, before the store says it shipped: it waits for
            // the parcel under its number.
            push(
                shipped - minutes(10 + rng.below(120)),
                "TrackingUpdated",
                json!({"tracking_number": number, "status": "in_transit", "service": "aftership"}),
            );
        }
        push(
            shipped,
            "OrderShipped",
            json!({"order_id": order_id, "shipment": {"id": shipment, "carrier": "ups",
                "tracking_number": number, "shipped_at": shipped.to_string()}}),
        );
        // Half the stores' scans come from a carrier service, by tracking number only.
        let by_number = carrier_scans && rng.chance(0.5);
        let mut scan = shipped;
        for status in ["in_transit", "out_for_delivery"] {
            if rng.chance(0.5) {
                scan += minutes(6 * 60 + rng.below(24 * 60));
                if by_number {
                    push(
                        scan,
                        "TrackingUpdated",
                        json!({"tracking_number": number, "status": status, "service": "easypost"}),
                    );
                } else {
                    push(
                        scan,
                        "ShipmentUpdated",
                        json!({"order_id": order_id, "shipment_id": shipment, "status": status}),
                    );
                }
            }
        }
        if rng.chance(0.85) {
            let delivered = scan + minutes(8 * 60 + rng.below(48 * 60));
            if by_number {
                push(
                    delivered,
                    "TrackingUpdated",
                    json!({"tracking_number": number, "status": "delivered", "service": "easypost"}),
                );
            } else {
                push(
                    delivered,
                    "OrderDelivered",
                    json!({"order_id": order_id, "shipment_id": shipment, "delivered_at": delivered.to_string()}),
                );
            }
        }
        if person.consented && !withdrawn && rng.chance(0.12) {
            // Consent withdrawn at the store; the orders before still carry the old "yes".
            withdrawn = true;
            who["marketing_consent"] = json!(false);
            push(
                at + minutes(60 + rng.below(3 * 24 * 60)),
                "CustomerUpdated",
                json!({ "customer": who }),
            );
        }
    }
    if rng.chance(0.06) {
        // After everything the store says about them: a later event would be a new customer.
        person.erased = true;
        let erased = log.latest + minutes(60 + rng.below(10 * 24 * 60));
        log.push(
            erased,
            "CustomerRedacted",
            json!({"customer_id": person.id, "email": person.email}),
        );
    }
}

/// A customer's events, and the time of the latest.
struct Log<'a> {
    events: &'a mut Vec<StoreEvent>,
    latest: Timestamp,
}

impl Log<'_> {
    fn push(&mut self, at: Timestamp, detail_type: &str, detail: Value) {
        self.latest = self.latest.max(at);
        self.events.push(StoreEvent {
            at,
            envelope: envelope(detail_type, &at.to_string(), detail),
        });
    }
}

fn minutes(n: u64) -> SignedDuration {
    SignedDuration::from_mins(i64::try_from(n).unwrap_or(i64::MAX))
}
