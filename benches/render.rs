//! Decide + render + build MIME for an order confirmation (3 and 200 items), against parsing the same
//! event as a baseline measured in the same run; and building the ICU formatters that every render
//! builds once. `cargo bench -p tidings-benches`.

use criterion::{Criterion, criterion_group, criterion_main};
use std::hint::black_box;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use tidings_core::adapters::memory::{MemoryBus, MemoryMailer, MemoryStore, SimClock};
use tidings_core::config::StoreConfig;
use tidings_core::domain::{Currency, Money};
use tidings_core::engine::{Engine, Ports};
use tidings_core::event::{Parsed, parse_envelope};
use tidings_core::render::{Conventions, Renderer};
use tidings_core::signing::SigningKeys;

fn order_event(id: u64, items: usize) -> String {
    let items: Vec<String> = (0..items)
        .map(|i| {
            format!(
                r#"{{"sku":"SKU-{i}","product_id":"p-{i}","name":"Stoneware mug {i}","variant":"Blue","category":"kitchen","quantity":2,"unit_price":1800,"image_url":"https://shop.example/img/{i}.jpg","url":"https://shop.example/p/{i}"}}"#
            )
        })
        .collect();
    let subtotal = 3600 * items.len();
    format!(
        r##"{{"version":"0","id":"e-{id}","detail-type":"OrderConfirmed","source":"shop.example","account":"1","time":"2026-11-02T16:05:00Z","region":"eu-west-1","resources":[],"detail":{{"order":{{"id":"o-{id}","number":"#{id}","customer":{{"id":"c-{id}","email":"ada{id}@example.com","first_name":"Ada","locale":"en-US","time_zone":"America/New_York","marketing_consent":true}},"currency":"USD","items":[{}],"subtotal":{subtotal},"shipping":500,"discount":0,"tax":0,"total":{},"shipping_address":{{"name":"Ada Byron","line1":"12 Elm St","city":"Albany","region":"NY","postal_code":"12207","country":"US"}},"placed_at":"2026-11-02T16:05:00Z","status_url":"https://shop.example/orders/o-{id}"}}}}}}"##,
        items.join(","),
        subtotal + 500
    )
}

fn bench(c: &mut Criterion) {
    let config = Arc::new(StoreConfig::sample());
    let renderer = Renderer::embedded(Arc::clone(&config)).expect("templates");
    let clock = SimClock::new("2026-11-02T16:05:00Z".parse().expect("time"));
    let ports = Ports {
        store: MemoryStore::new(),
        mailer: MemoryMailer::default(),
        bus: MemoryBus::default(),
        clock,
    };
    let engine = Engine::new(ports, config, renderer, SigningKeys::demo());
    let runtime = tokio::runtime::Builder::new_current_thread().build().expect("runtime");
    let next = AtomicU64::new(0);

    let mut group = c.benchmark_group("order_confirmation");
    for items in [3usize, 200] {
        let template = order_event(0, items);
        group.bench_function(format!("baseline_parse_event/{items}_items"), |b| {
            b.iter(|| black_box(parse_envelope(black_box(&template)).expect("valid")))
        });
        group.bench_function(format!("decide_render_mime/{items}_items"), |b| {
            b.iter_batched(
                // A new order each time, so every iteration really sends (no duplicate short-cut).
                || {
                    let id = next.fetch_add(1, Ordering::Relaxed);
                    match parse_envelope(&order_event(id, items)).expect("valid") {
                        Parsed::Known(event) => *event,
                        Parsed::Unknown { .. } => unreachable!("OrderConfirmed is known"),
                    }
                },
                |event| runtime.block_on(engine.handle(&event)).expect("handled"),
                criterion::BatchSize::SmallInput,
            )
        });
    }
    group.finish();
}

/// `Conventions::for_tag` builds ICU currency, number and date formatters; a render builds one.
fn conventions(c: &mut Criterion) {
    let mut group = c.benchmark_group("conventions");
    for tag in ["en-US", "ko-KR", "de"] {
        group.bench_function(format!("for_tag/{tag}"), |b| {
            b.iter(|| Conventions::for_tag(black_box(tag)))
        });
    }
    let ko = Conventions::for_tag("ko-KR");
    let price = Money::new(66_000, Currency::parse("KRW").expect("currency"));
    group.bench_function("money/ko-KR", |b| b.iter(|| ko.money(black_box(&price))));
    let day = jiff::civil::Date::new(2026, 11, 22).expect("date");
    group.bench_function("date/ko-KR", |b| b.iter(|| ko.date(black_box(day))));
    group.finish();
}

criterion_group!(benches, bench, conventions);
criterion_main!(benches);
