//! The gallery's sample shoppers and catalog: one shopper per shipped locale, with a name, an address,
//! a carrier and prices as a store in that country would have them.

use crate::domain::{Cart, Currency, Customer, Order, Shipment};
use crate::ports::{OrderRecord, ProductInfo, Scan, ShipmentRecord};
use jiff::{SignedDuration, Timestamp};
use serde_json::{Value, json};

/// A sample shopper of one locale.
pub(super) struct Shopper {
    pub(super) locale: &'static str,
    given: &'static str,
    family: &'static str,
    email: &'static str,
    time_zone: &'static str,
    currency: &'static str,
    address: [&'static str; 4],
    country: &'static str,
    carrier: &'static str,
    tracking: &'static str,
    location: &'static str,
}

/// One shopper per shipped locale (en, ko, tr, zh-CN, ja, de, fr, es).
pub(super) const SHOPPERS: &[Shopper] = &[
    Shopper {
        locale: "en-US",
        given: "Sam",
        family: "Reyes",
        email: "sam@example.net",
        time_zone: "America/Chicago",
        currency: "USD",
        address: ["880 W Lake St", "Chicago", "IL", "60607"],
        country: "US",
        carrier: "ups",
        tracking: "1Z999AA10123456784",
        location: "Chicago, IL",
    },
    Shopper {
        locale: "ko-KR",
        given: "하나",
        family: "이",
        email: "hana@example.net",
        time_zone: "Asia/Seoul",
        currency: "KRW",
        address: ["해운대로 570", "부산", "", "48094"],
        country: "KR",
        carrier: "cj",
        tracking: "601234567890",
        location: "부산 해운대",
    },
    Shopper {
        locale: "tr-TR",
        given: "Elif",
        family: "Yılmaz",
        email: "elif@example.net",
        time_zone: "Europe/Istanbul",
        currency: "TRY",
        address: ["Bağdat Cd. No:210", "İstanbul", "Kadıköy", "34728"],
        country: "TR",
        carrier: "aras",
        tracking: "3120045678",
        location: "İstanbul",
    },
    Shopper {
        locale: "zh-CN",
        given: "伟",
        family: "张",
        email: "wei@example.net",
        time_zone: "Asia/Shanghai",
        currency: "CNY",
        address: ["南京西路 1266 号", "上海", "上海市", "200040"],
        country: "CN",
        carrier: "sf",
        tracking: "SF1234567890123",
        location: "上海静安",
    },
    Shopper {
        locale: "ja-JP",
        given: "花子",
        family: "佐藤",
        email: "hanako@example.net",
        time_zone: "Asia/Tokyo",
        currency: "JPY",
        address: ["神南 1-2-3", "渋谷区", "東京都", "150-0041"],
        country: "JP",
        carrier: "yamato",
        tracking: "4567-8901-2345",
        location: "東京 渋谷",
    },
    Shopper {
        locale: "de-DE",
        given: "Lena",
        family: "Schmidt",
        email: "lena@example.net",
        time_zone: "Europe/Berlin",
        currency: "EUR",
        address: ["Schönhauser Allee 36", "Berlin", "", "10435"],
        country: "DE",
        carrier: "dhl",
        tracking: "00340434161094015902",
        location: "Berlin",
    },
    Shopper {
        locale: "fr-FR",
        given: "Camille",
        family: "Martin",
        email: "camille@example.net",
        time_zone: "Europe/Paris",
        currency: "EUR",
        address: ["18 rue de la Roquette", "Paris", "", "75011"],
        country: "FR",
        carrier: "colissimo",
        tracking: "6A12345678901",
        location: "Paris 11e",
    },
    Shopper {
        locale: "es-ES",
        given: "Lucía",
        family: "García",
        email: "lucia@example.net",
        time_zone: "Europe/Madrid",
        currency: "EUR",
        address: ["Calle de Fuencarral 45", "Madrid", "", "28004"],
        country: "ES",
        carrier: "correos",
        tracking: "PQ4F6P0703384610128001X",
        location: "Madrid",
    },
];

/// A catalog line: id, name, variant, category, and the price in USD, KRW, TRY, CNY, JPY, EUR (minor units).
type Product = (&'static str, &'static str, Option<&'static str>, &'static str, [u64; 6]);

const PRODUCTS: &[Product] = &[
    (
        "teapot",
        "Cast-iron teapot",
        Some("Black"),
        "tea",
        [5400, 72000, 189000, 39000, 8200, 4900],
    ),
    (
        "tea",
        "Earl Grey, 100 g",
        None,
        "tea",
        [1250, 16000, 42000, 8800, 1800, 1150],
    ),
    (
        "mug",
        "Stoneware mug",
        Some("Blue"),
        "kitchen",
        [1800, 24000, 63000, 12800, 2700, 1650],
    ),
    (
        "candle",
        "Beeswax candle",
        Some("Fig"),
        "home",
        [2200, 29000, 77000, 15800, 3300, 1990],
    ),
    (
        "coasters",
        "Cork coasters, set of 4",
        None,
        "kitchen",
        [1100, 15000, 38000, 7800, 1650, 990],
    ),
    (
        "throw",
        "Wool throw",
        Some("Moss"),
        "home",
        [8900, 118000, 310000, 63800, 13400, 7900],
    ),
];

const CURRENCIES: [&str; 6] = ["USD", "KRW", "TRY", "CNY", "JPY", "EUR"];

/// When every sample message is sent: fixed, so the gallery and the quality gate are reproducible.
pub(super) fn now() -> Timestamp {
    Timestamp::from_second(1_795_356_000).unwrap_or(Timestamp::UNIX_EPOCH) // 2026-11-22T09:20:00Z
}

fn days_ago(days: i64) -> Timestamp {
    now() - SignedDuration::from_hours(days * 24)
}

fn price(index: usize, currency: &str) -> u64 {
    let column = CURRENCIES.iter().position(|c| *c == currency).unwrap_or(0);
    PRODUCTS[index % PRODUCTS.len()].4[column]
}

impl Shopper {
    fn customer_json(&self, marketing: bool) -> Value {
        json!({
            "id": format!("preview-{}", self.locale),
            "email": self.email,
            "first_name": self.given,
            "last_name": self.family,
            "locale": self.locale,
            "country": self.country,
            "time_zone": self.time_zone,
            "marketing_consent": marketing,
            "signed_up_at": days_ago(365).to_string(),
            "birthday": "--11-22",
            "tags": [],
        })
    }

    /// The currency the shopper pays in.
    pub(super) fn currency(&self) -> Result<Currency, serde_json::Error> {
        parse(json!(self.currency))
    }

    /// The shopper as a customer profile.
    pub(super) fn customer(&self) -> Result<Customer, serde_json::Error> {
        parse(self.customer_json(true))
    }

    fn item(&self, index: usize, quantity: u32) -> Value {
        let (id, name, variant, category, _) = PRODUCTS[index % PRODUCTS.len()];
        json!({
            "sku": format!("{}-{index}", id.to_uppercase()), "product_id": format!("p-{id}"), "name": name,
            "variant": variant, "category": category, "quantity": quantity,
            "unit_price": price(index, self.currency),
            "image_url": format!("https://shop.example/img/{id}.jpg"),
            "url": format!("https://shop.example/p/{id}"),
        })
    }

    fn items(&self, lines: &[(usize, u32)]) -> Vec<Value> {
        lines.iter().map(|(index, qty)| self.item(*index, *qty)).collect()
    }

    fn subtotal(&self, lines: &[(usize, u32)]) -> u64 {
        lines
            .iter()
            .map(|(index, qty)| price(*index, self.currency) * u64::from(*qty))
            .sum()
    }

    /// An order of `lines` (product index, quantity), placed two days ago.
    pub(super) fn order(
        &self,
        lines: &[(usize, u32)],
        options: OrderOptions,
    ) -> Result<OrderRecord, serde_json::Error> {
        let items = self.items(lines);
        let subtotal = self.subtotal(lines);
        let shipping = price(4, self.currency) / 2;
        let discount = if options.discounted { subtotal / 10 } else { 0 };
        let [line1, city, region, postal_code] = self.address;
        let number = 1042 + lines.len();
        let order = json!({
            "id": format!("o-{number}"), "number": format!("#{number}"), "customer": self.customer_json(true),
            "currency": self.currency, "items": items, "subtotal": subtotal, "shipping": shipping,
            "discount": discount, "tax": 0, "total": subtotal + shipping - discount,
            "shipping_address": {
                "name": format!("{} {}", self.given, self.family), "line1": line1, "city": city,
                "region": (!region.is_empty()).then_some(region), "postal_code": postal_code, "country": self.country,
            },
            "estimated_delivery": (now() + SignedDuration::from_hours(72)).to_zoned_datetime(jiff::tz::TimeZone::UTC).date().to_string(),
            "lead_time_days": options.lead_time_days,
            "coupon_code": options.discounted.then_some("WELCOME-7QK2-M8PD"),
            "placed_at": days_ago(2).to_string(),
            "status_url": format!("https://shop.example/orders/o-{number}"),
        });
        Ok(OrderRecord {
            order: parse::<Order>(order)?,
            confirmed_at: days_ago(2),
            first_order: options.first_order,
            cancelled: None,
            shipments: Vec::new(),
            delivered_at: None,
            reviewed_at: None,
            returned: false,
            coupon_from: None,
            parcels_delivered: Default::default(),
            version: 0,
        })
    }

    /// A parcel of `order`: the whole order, or the order's lines `items` (indexes into its lines).
    pub(super) fn parcel(
        &self,
        id: &str,
        order: &OrderRecord,
        items: Option<&[usize]>,
        tracked: bool,
    ) -> Result<ShipmentRecord, serde_json::Error> {
        let items = items.map(|indexes| {
            indexes
                .iter()
                .filter_map(|i| order.order.items.get(*i))
                .map(|line| json!({"sku": line.sku.as_str(), "quantity": line.quantity}))
                .collect::<Vec<_>>()
        });
        let shipment = json!({
            "id": id, "carrier": self.carrier,
            "tracking_number": tracked.then_some(self.tracking),
            "shipped_at": days_ago(1).to_string(),
            "estimated_delivery": (now() + SignedDuration::from_hours(48)).to_zoned_datetime(jiff::tz::TimeZone::UTC).date().to_string(),
            "items": items,
        });
        Ok(ShipmentRecord {
            shipment: parse::<Shipment>(shipment)?,
            scans: Vec::new(),
            scoped: true,
        })
    }

    /// A carrier scan at the shopper's city.
    pub(super) fn scan(&self, status: &str, new_estimate_days: Option<i64>) -> Result<Scan, serde_json::Error> {
        parse(json!({
            "at": now().to_string(), "status": status, "description": null, "location": self.location,
            "estimated_delivery": new_estimate_days
                .map(|days| (now() + SignedDuration::from_hours(days * 24)).to_zoned_datetime(jiff::tz::TimeZone::UTC).date().to_string()),
        }))
    }

    /// A cart of the first two products, left an hour ago.
    pub(super) fn cart(&self) -> Result<Cart, serde_json::Error> {
        let lines = [(0, 1), (2, 2)];
        let items = self.items(&lines);
        let subtotal = self.subtotal(&lines);
        parse(json!({
            "id": "cart-preview", "customer": self.customer_json(true), "currency": self.currency, "items": items,
            "subtotal": subtotal, "checkout_url": "https://shop.example/checkout/cart-preview",
            "updated_at": (now() - SignedDuration::from_hours(1)).to_string(),
        }))
    }

    /// Three products the shopper did not buy, priced in their currency.
    pub(super) fn recommendations(&self) -> Result<Vec<ProductInfo>, serde_json::Error> {
        [3, 5, 1]
            .iter()
            .map(|index| {
                let (id, name, _, category, _) = PRODUCTS[*index];
                parse(json!({
                    "name": name, "category": category,
                    "prices": {self.currency: price(*index, self.currency)},
                    "image_url": format!("https://shop.example/img/{id}.jpg"),
                    "url": format!("https://shop.example/p/{id}"),
                    "orders": 12,
                }))
            })
            .collect()
    }
}

/// How a sample order differs from the plain one.
#[derive(Clone, Copy, Default)]
pub(super) struct OrderOptions {
    pub(super) first_order: bool,
    pub(super) discounted: bool,
    pub(super) lead_time_days: Option<u32>,
}

/// Sample data goes through the same parsing as events do.
fn parse<T: serde::de::DeserializeOwned>(value: Value) -> Result<T, serde_json::Error> {
    serde_json::from_value(value)
}
