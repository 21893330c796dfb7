//! Composing one message's template context: names in the customer's language, items, money, dates,
//! the shipment, the cart, recommendations and the coupon, all escaped by the templates.

use super::{Carriers, Catalog, CatalogError, Conventions, Draft, ParcelShare, RenderError, address, url_encode};
use crate::config::StoreConfig;
use crate::coupon::Coupon;
use crate::domain::parcel::Share;
use crate::domain::{LineItem, Money, WebUrl, clean};
use crate::event::CouponType;
use crate::ports::{OrderRecord, Scan, ShipmentRecord};
use serde_json::{Value, json};

/// Subjects and preheaders are single lines: control characters become spaces, runs collapse.
pub(super) fn one_line(text: &str) -> String {
    clean(text).split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Plain text: no trailing spaces, at most one blank line in a row.
pub(super) fn tidy_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut blank = 0;
    for line in text.lines() {
        let line = line.trim_end();
        if line.is_empty() {
            blank += 1;
            if blank > 1 || out.is_empty() {
                continue;
            }
        } else {
            blank = 0;
        }
        out.push_str(line);
        out.push('\n');
    }
    out
}

/// True when a name is written only in Hangul, Han ideographs or kana (and their middle dots), the
/// scripts whose family and given names are joined without a space.
fn is_cjk(name: &str) -> bool {
    name.chars().all(|c| {
        matches!(c,
            '\u{1100}'..='\u{11FF}' | '\u{3130}'..='\u{318F}' | '\u{AC00}'..='\u{D7AF}' // Hangul
            | '\u{3040}'..='\u{30FF}' // kana and the katakana middle dot
            | '\u{3400}'..='\u{4DBF}' | '\u{4E00}'..='\u{9FFF}' | '\u{F900}'..='\u{FAFF}' // Han
            | '\u{20000}'..='\u{3FFFF}' // Han, supplementary planes
            | '\u{00B7}' // middle dot in transliterated names (`艾米·张`)
        )
    })
}

/// Turns a draft into the template context (see templates/README.md for its shape).
pub(super) struct Composer<'a> {
    pub(super) draft: &'a Draft<'a>,
    pub(super) catalog: &'a Catalog,
    pub(super) conventions: Conventions,
    pub(super) carriers: &'a Carriers,
    pub(super) config: &'a StoreConfig,
    pub(super) locale_used: &'a str,
}

impl Composer<'_> {
    fn money(&self, money: Money) -> String {
        self.conventions.money(&money)
    }

    fn display_name(&self) -> Option<String> {
        let customer = self.draft.customer;
        customer
            .first_name
            .as_ref()
            .filter(|name| !name.is_blank())
            .map(|name| name.as_str().trim().to_owned())
    }

    /// The locale's greeting: each locale picks the names it uses (given name, family name with an
    /// honorific, full name); when one of them is unknown the nameless greeting is used.
    /// Given name, family name and the full name in the locale's order.
    pub(super) fn names(&self) -> (Option<String>, Option<String>, Option<String>) {
        let customer = self.draft.customer;
        let part = |name: &Option<crate::domain::Text>| {
            name.as_ref()
                .filter(|n| !n.is_blank())
                .map(|n| n.as_str().trim().to_owned())
        };
        let (given, family) = (part(&customer.first_name), part(&customer.last_name));
        let language = self.locale_used.split('-').next().unwrap_or_default();
        let full = match (&given, &family) {
            // Family name first: written together in Korean and Chinese when both are in Hangul or Han
            // (`김민지`), spaced otherwise (`Kim Minji`) and in Japanese.
            (Some(g), Some(f)) if matches!(language, "ko" | "zh") && is_cjk(g) && is_cjk(f) => Some(format!("{f}{g}")),
            (Some(g), Some(f)) if matches!(language, "ko" | "zh") => Some(format!("{f} {g}")),
            (Some(g), Some(f)) if language == "ja" => Some(format!("{f} {g}")),
            (Some(g), Some(f)) => Some(format!("{g} {f}")),
            (one, other) => one.clone().or_else(|| other.clone()),
        };
        (given, family, full)
    }

    fn greeting(&self) -> Result<String, RenderError> {
        let (given, family, full) = self.names();
        let mut args = Vec::new();
        for (name, value) in [("name", &given), ("family_name", &family), ("full_name", &full)] {
            if let Some(value) = value {
                args.push((name, value.as_str()));
            }
        }
        match self.catalog.text("common.greeting", &args) {
            Err(CatalogError::Placeholder { .. }) => Ok(self.catalog.text("common.greeting_no_name", &[])?),
            other => Ok(other?),
        }
    }

    fn carrier_name(&self, record: &ShipmentRecord) -> String {
        let shipment = &record.shipment;
        if let Some(name) = shipment.carrier_name.as_ref().filter(|n| !n.is_blank()) {
            return name.to_string();
        }
        self.carriers
            .get(shipment.carrier.as_str())
            .and_then(|carrier| carrier.name(self.draft.locale.fallbacks()))
            .map_or_else(|| shipment.carrier.to_string(), str::to_owned)
    }

    /// How much of the order the message's parcel is: a shipping confirmation of part of the
    /// order, or the delivery of one parcel of several (always a part: the last one is announced
    /// by the order's own delivery confirmation).
    pub(super) fn share(&self) -> Share {
        match (self.draft.shows.parcel, self.draft.order, self.draft.shipment) {
            (ParcelShare::Part, Some(_), Some(_)) => Share::Part,
            (ParcelShare::OfOrder, Some(order), Some((record, _))) => order.share(&record.shipment.id),
            _ => Share::Whole,
        }
    }

    /// The order's lines in the message's parcel (`None`: the whole order, or no parcel).
    fn parcel_lines(&self, order: &crate::domain::Order) -> Option<Vec<LineItem>> {
        let (record, _) = self.draft.shipment?;
        order.parcel_lines(&record.shipment)
    }

    pub(super) fn subject_args(&self) -> Result<Vec<(&'static str, String)>, RenderError> {
        let mut args = vec![
            ("store", self.config.store.name.to_string()),
            ("name", self.display_name().unwrap_or_default()),
        ];
        if let Some(order) = self.draft.order {
            args.push(("number", order.order.number.to_string()));
        }
        if let Some(count) = self.draft.count {
            args.push(("count", count.to_string()));
        }
        if let Some((record, scan)) = self.draft.shipment {
            args.push(("carrier", self.carrier_name(record)));
            if let Some(scan) = scan {
                args.push((
                    "status",
                    self.catalog
                        .text(&format!("shipment_status.{}", scan.status.as_str()), &[])?,
                ));
            }
        }
        Ok(args)
    }

    fn item(&self, item: &LineItem, money: impl Fn(u64) -> Money, review_url: Option<String>) -> Value {
        json!({
            "name": item.name.as_str(),
            "variant": item.variant.as_ref().map(|v| v.as_str()),
            "quantity": item.quantity,
            "unit_price": self.money(money(item.unit_price)),
            "line_total": self.money(money(item.unit_price.saturating_mul(u64::from(item.quantity)))),
            "image_url": item.image_url.as_ref().map(|v| v.as_str()),
            "url": item.url.as_ref().map(|v| v.as_str()),
            "review_url": review_url,
        })
    }

    fn order(&self, record: &OrderRecord) -> Value {
        let order = &record.order;
        let review_url = |item: &LineItem| {
            self.config
                .store
                .review_url
                .replace("{order_id}", &url_encode(order.id.as_str()))
                .replace("{product_id}", &url_encode(item.product_id.as_str()))
        };
        // Reviews are asked for once everything arrived, never for one parcel.
        let wants_reviews = self.draft.shows.review_links && self.share() == Share::Whole;
        let parcel = self.parcel_lines(order);
        let items: Vec<Value> = parcel
            .as_ref()
            .unwrap_or(&order.items)
            .iter()
            .map(|item| self.item(item, |m| order.money(m), wants_reviews.then(|| review_url(item))))
            .collect();
        let address = order
            .shipping_address
            .as_ref()
            .map(|a| json!({ "lines": address::lines(a) }));
        let placed = order.placed_at.to_zoned_datetime(self.draft.zone.tz().clone()).date();
        // Made to order: ships about `lead_time_days` after it was placed.
        let expected_ship = order
            .lead_time_days
            .and_then(|days| placed.checked_add(jiff::Span::new().days(i64::from(days))).ok());
        let now = self.draft.now.to_zoned_datetime(self.draft.zone.tz().clone()).date();
        json!({
            "number": order.number.as_str(),
            "placed_at": self.conventions.date(placed),
            "status_url": order.status_url.as_ref().map(|v| v.as_str()),
            "cancel_reason": record.cancelled.as_ref().and_then(|(_, reason)| reason.as_ref()).map(|r| r.as_str()),
            "items": items,
            "subtotal": self.money(order.money(order.subtotal)),
            "shipping": self.money(order.money(order.shipping)),
            // A discount is taken off: shown with the locale's minus sign.
            "discount": self.money(Money::new(
                i64::try_from(order.discount).map_or(i64::MIN, |d| -d),
                order.currency,
            )),
            "has_discount": order.discount > 0,
            "tax": self.money(order.money(order.tax)),
            // Prices include tax in most markets: no "Tax 0" line there.
            "has_tax": order.tax > 0,
            "total": self.money(order.money(order.total)),
            "shipping_address": address,
            "estimated_delivery": order.estimated_delivery.map(|d| self.conventions.date(d)),
            "lead_time_days": order.lead_time_days,
            "expected_ship": expected_ship.map(|d| self.conventions.date(d)),
            "ship_overdue": expected_ship.is_some_and(|d| d < now),
            "coupon_from": record.coupon_from.as_ref().map(|k| k.kind().as_str()),
        })
    }

    fn shipment(&self, record: &ShipmentRecord, scan: Option<&Scan>) -> Value {
        let shipment = &record.shipment;
        let carrier = self.carriers.get(shipment.carrier.as_str());
        // The carrier table's page is checked like the store's: only an http(s) link reaches the markup.
        let tracking_url = shipment.tracking_url.clone().or_else(|| {
            let number = shipment.tracking_number.as_ref().filter(|n| !n.is_blank())?;
            carrier.and_then(|c| WebUrl::parse(&c.tracking_url(number.as_str())).ok())
        });
        let logo = carrier
            .zip(self.config.store.carrier_logos_url.as_deref())
            .map(|(c, base)| format!("{}/{}", base.trim_end_matches('/'), c.logo));
        // A parcel without its own estimate shows the order's; a stalled parcel never shows one
        // that has passed.
        let order_estimate = self.draft.order.and_then(|o| o.order.estimated_delivery);
        let today = self.draft.now.to_zoned_datetime(self.draft.zone.tz().clone()).date();
        let estimate = scan
            .and_then(|s| s.estimated_delivery)
            .or(shipment.estimated_delivery)
            .or(order_estimate)
            .filter(|date| !self.draft.shows.only_upcoming_estimate || *date >= today);
        json!({
            "carrier_name": self.carrier_name(record),
            "carrier_logo_url": logo,
            "tracking_number": shipment.tracking_number.as_ref().map(|n| n.as_str()).filter(|n| !n.trim().is_empty()),
            "tracking_url": tracking_url.as_ref().map(WebUrl::as_str),
            "estimated_delivery": estimate.map(|d| self.conventions.date(d)),
            "status": scan.map(|s| s.status.as_str()),
            "location": scan.and_then(|s| s.location.as_ref()).map(|v| v.as_str()),
            "description": scan.and_then(|s| s.description.as_ref()).map(|v| v.as_str()),
        })
    }

    fn coupon(&self, coupon: &Coupon) -> Result<Value, RenderError> {
        let money = |minor: u64| self.money(Money::new(i64::try_from(minor).unwrap_or(i64::MAX), coupon.currency));
        let rule = &coupon.rule;
        let offer = match (rule.coupon_type, rule.min_subtotal) {
            (CouponType::Percent, _) => {
                let percent = rule.percent_off.unwrap_or_default().to_string();
                self.catalog.text("coupon.percent_off", &[("percent", &percent)])?
            }
            (CouponType::Fixed, None) => {
                let amount = money(rule.amount_off.unwrap_or_default());
                self.catalog.text("coupon.fixed_off", &[("amount", &amount)])?
            }
            (CouponType::Fixed, Some(min)) => {
                let (amount, min) = (money(rule.amount_off.unwrap_or_default()), money(min));
                self.catalog
                    .text("coupon.fixed_off_min", &[("amount", &amount), ("min", &min)])?
            }
            (CouponType::FreeShipping, _) => self.catalog.text("coupon.free_shipping", &[])?,
        };
        let expires = coupon.expires_at.to_zoned_datetime(self.draft.zone.tz().clone()).date();
        Ok(json!({ "code": coupon.code, "offer": offer, "expires": self.conventions.date(expires) }))
    }

    pub(super) fn context(&self, subject: &str, preheader: &str) -> Result<Value, RenderError> {
        let draft = self.draft;
        let store = &self.config.store;
        let unsubscribe = match draft.unsubscribe_url {
            Some(url) => {
                let reason = self.catalog.text(
                    &format!("reason.{}", draft.kind.as_str()),
                    &[("store", store.name.as_str())],
                )?;
                json!({ "url": url, "reason": reason })
            }
            None => Value::Null,
        };
        let cart = draft.cart.map(|(cart, nth)| {
            let items: Vec<Value> = cart
                .items
                .iter()
                .map(|i| self.item(i, |m| cart.money(m), None))
                .collect();
            json!({
                "items": items,
                "subtotal": self.money(cart.money(cart.subtotal)),
                "checkout_url": cart.checkout_url.as_str(),
                "reminder": nth,
            })
        });
        let currency = draft
            .order
            .map(|o| o.order.currency)
            .or(draft.coupon.map(|c| c.currency))
            .or(Some(self.config.defaults.currency));
        let recommendations: Vec<Value> = draft
            .recommendations
            .iter()
            .filter_map(|p| Some((p, p.price_in(currency?)?)))
            .map(|(p, price)| {
                json!({
                    "name": p.name.as_str(),
                    "url": p.url.as_ref().map(|v| v.as_str()),
                    "image_url": p.image_url.as_ref().map(|v| v.as_str()),
                    "price": self.money(price),
                })
            })
            .collect();
        Ok(json!({
            "kind": draft.kind.as_str(),
            "category": draft.kind.category().as_str(),
            "lang": self.locale_used,
            "locale": self.catalog.locale(),
            "subject": subject,
            "preheader": preheader,
            "store": {
                "name": store.name.as_str(),
                "website": store.website,
                "logo_url": store.logo_url,
                "support_url": store.support_url,
                "postal_address": store.postal_address.as_str(),
                "brand_color": store.brand_color,
            },
            "customer": {
                "first_name": draft.customer.first_name.as_ref().map(|v| v.as_str()),
                "display_name": self.display_name(),
                "greeting": self.greeting()?,
                "tags": draft.customer.tags.iter().map(|t| t.as_str().trim()).collect::<Vec<_>>(),
            },
            "count": draft.count,
            "unsubscribe": unsubscribe,
            "first_order": draft.first_order(),
            "repeat_buyer": draft.repeat_buyer(),
            "order": draft.order.map(|o| self.order(o)),
            "shipment": draft.shipment.map(|(record, scan)| self.shipment(record, scan)),
            "parcel": self.share().as_str(),
            "cart": cart,
            "coupon": draft.coupon.map(|c| self.coupon(c)).transpose()?,
            "recommendations": recommendations,
            "confirm_url": draft.confirm_url,
        }))
    }
}
