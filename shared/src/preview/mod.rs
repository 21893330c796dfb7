//! Every message a store can send, rendered by the real renderer from sample shoppers: each kind in
//! each shipped locale and in each of its variants (first order or repeat buyer, with or without a
//! coupon or recommendations, made to order, a parcel of a split order). `tidings preview` shows
//! them as a gallery; the email-quality gate checks exactly these.

mod sample;

use crate::config::StoreConfig;
use crate::coupon::Coupon;
use crate::domain::{Cart, Currency, Locale, Text, Zone};
use crate::engine::CONFIRM_SCOPE;
use crate::engine::kinds::spec;
use crate::message::{Category, MessageKey, MessageKind};
use crate::mime::{self, Envelope};
use crate::ports::{OrderRecord, ProductInfo, Scan, ShipmentRecord};
use crate::render::{Draft, RenderError, Rendered, Renderer};
use crate::signing::SigningKeys;
use sample::{OrderOptions, SHOPPERS, Shopper};

/// One rendered sample message.
pub struct Specimen {
    /// What kind of message.
    pub kind: MessageKind,
    /// The shopper's locale tag.
    pub locale: &'static str,
    /// Which variant of the kind (a slug: `first-order`, `with-coupon`, …).
    pub variant: &'static str,
    /// What the variant shows, for the merchant.
    pub label: &'static str,
    /// Subject, preheader, HTML and text.
    pub rendered: Rendered,
    /// The message as it would be sent (RFC 5322 bytes, headers included).
    pub raw: Vec<u8>,
}

impl Specimen {
    /// A file-name stem: `<kind>--<locale>--<variant>`.
    pub fn stem(&self) -> String {
        format!("{}--{}--{}", self.kind.as_str(), self.locale, self.variant)
    }
}

/// Why the gallery could not be made.
#[derive(Debug, thiserror::Error)]
pub enum PreviewError {
    /// The sample data did not parse as an event's data would (a bug in `sample.rs`).
    #[error("preview sample data: {0}")]
    Sample(#[from] serde_json::Error),
    /// A template or locale string failed for one sample.
    #[error("{kind} in {locale} ({variant}): {source}")]
    Render {
        /// Kind.
        kind: &'static str,
        /// Locale.
        locale: &'static str,
        /// Variant.
        variant: &'static str,
        /// The renderer's error.
        #[source]
        source: RenderError,
    },
}

/// A variant: slug, what it shows, and what it needs.
struct Variant {
    slug: &'static str,
    label: &'static str,
    needs_coupon: bool,
}

/// A variant (a struct literal, so each kind's list is a static).
macro_rules! variant {
    ($slug:literal, $label:literal) => {
        Variant {
            slug: $slug,
            label: $label,
            needs_coupon: false,
        }
    };
    (coupon: $slug:literal, $label:literal) => {
        Variant {
            slug: $slug,
            label: $label,
            needs_coupon: true,
        }
    };
}

/// The variants each kind is shown in.
fn variants(kind: MessageKind) -> &'static [Variant] {
    use MessageKind as K;
    match kind {
        K::OrderConfirmation => &[
            variant!("first-order", "First order"),
            variant!("repeat-buyer", "Repeat buyer, with a discount code used"),
            variant!("made-to-order", "Made to order (14-day lead time)"),
            variant!("fifty-items", "A 50-line order"),
        ],
        K::OrderCancellation => &[variant!("with-reason", "Cancelled by the store, with a reason")],
        K::OrderProgress => &[variant!(
            "made-to-order",
            "First progress update of a made-to-order order"
        )],
        K::ShippingConfirmation => &[
            variant!("whole-order", "The whole order in one parcel"),
            variant!("split-first-parcel", "First parcel of a split order"),
            variant!("split-last-parcel", "Last parcel of a split order"),
            variant!("no-tracking-number", "A parcel without a tracking number"),
        ],
        K::ShipmentUpdate => &[
            variant!("out-for-delivery", "Out for delivery"),
            variant!("delayed", "Delayed, with a new estimate"),
            variant!("available-for-pickup", "Waiting at a pickup point"),
            variant!("exception", "A delivery problem"),
        ],
        K::ShipmentStalled => &[variant!("six-days", "No scan for six days")],
        K::DeliveryConfirmation => &[
            variant!(coupon: "with-coupon", "Subscriber: thank-you coupon and recommendations"),
            variant!("without-coupon", "Not subscribed: no coupon, no recommendations"),
            variant!("split-parcel", "One parcel of a split order"),
        ],
        K::CrossSell => &[variant!("with-recommendations", "Recommendations after an order")],
        K::ReviewRequest => &[
            variant!("one-item", "One item to review"),
            variant!("several-items", "Several items to review"),
        ],
        K::LoyaltyReward => &[variant!(coupon: "fifth-order", "Fifth delivered order, with a reward coupon")],
        K::CartReminder => &[
            variant!("first-reminder", "First reminder"),
            variant!(coupon: "second-reminder", "Second reminder, with a coupon"),
        ],
        K::Welcome => &[variant!("signup", "A new account")],
        K::WelcomeOffer => &[variant!(coupon: "with-coupon", "Welcome coupon")],
        K::WinBack => &[
            variant!(coupon: "with-recommendations", "Coupon and recommendations"),
            variant!(coupon: "without-recommendations", "Coupon, nothing to recommend"),
        ],
        K::Birthday => &[variant!(coupon: "with-coupon", "Birthday coupon")],
        K::SignupAnniversary => &[variant!("first-year", "One year since signing up")],
        K::EngagementReward => &[variant!(coupon: "free-shipping", "Free shipping for an engaged reader")],
        K::SubscriptionConfirmation => &[variant!("double-opt-in", "Confirm the subscription")],
    }
}

/// What one sample message is about.
#[derive(Default)]
struct Scene {
    order: Option<OrderRecord>,
    shipment: Option<(ShipmentRecord, Option<Scan>)>,
    cart: Option<(Cart, u8)>,
    coupon_currency: Option<Currency>,
    recommendations: Vec<ProductInfo>,
    count: Option<u32>,
}

fn scene(kind: MessageKind, slug: &str, who: &Shopper) -> Result<Scene, PreviewError> {
    use MessageKind as K;
    let three = [(0, 1), (1, 2), (4, 1)];
    let plain = OrderOptions::default();
    let mut scene = Scene::default();
    let order = |lines: &[(usize, u32)], options| who.order(lines, options);
    match (kind, slug) {
        (K::OrderConfirmation, "first-order") => {
            scene.order = Some(order(
                &three,
                OrderOptions {
                    first_order: true,
                    ..plain
                },
            )?);
        }
        (K::OrderConfirmation, "repeat-buyer") => {
            scene.order = Some(order(
                &three,
                OrderOptions {
                    discounted: true,
                    ..plain
                },
            )?);
        }
        (K::OrderConfirmation, "made-to-order") | (K::OrderProgress, _) => {
            let options = OrderOptions {
                lead_time_days: Some(14),
                ..plain
            };
            scene.order = Some(order(&[(5, 1)], options)?);
            scene.count = (kind == K::OrderProgress).then_some(1);
        }
        (K::OrderConfirmation, _) => {
            let fifty: Vec<(usize, u32)> = (0..50).map(|i| (i, 1 + (i % 3) as u32)).collect();
            scene.order = Some(order(&fifty, plain)?);
        }
        (K::OrderCancellation, _) => {
            let mut record = order(&three, plain)?;
            let reason: Text = serde_json::from_value(serde_json::json!("An item is out of stock"))?;
            record.cancelled = Some((sample::now(), Some(reason)));
            scene.order = Some(record);
        }
        (K::ShippingConfirmation | K::ShipmentUpdate | K::ShipmentStalled, _) => {
            let mut record = order(&three, plain)?;
            let (parcel, tracked) = match slug {
                "split-first-parcel" => (Some(&[0, 1][..]), true),
                "split-last-parcel" => {
                    record
                        .shipments
                        .push(who.parcel("shp-1", &record, Some(&[0, 1]), true)?);
                    (Some(&[2][..]), true)
                }
                "no-tracking-number" => (None, false),
                _ => (None, true),
            };
            let shipment = who.parcel("shp-2", &record, parcel, tracked)?;
            record.shipments.push(shipment.clone());
            let scan = match slug {
                "out-for-delivery" => Some(who.scan("out_for_delivery", None)?),
                "delayed" => Some(who.scan("delayed", Some(4))?),
                "available-for-pickup" => Some(who.scan("available_for_pickup", None)?),
                "exception" => Some(who.scan("exception", None)?),
                _ => None,
            };
            scene.count = (kind == K::ShipmentStalled).then_some(6);
            scene.shipment = Some((shipment, scan));
            scene.order = Some(record);
        }
        (K::DeliveryConfirmation, _) => {
            let mut record = order(&three, plain)?;
            let split = slug == "split-parcel";
            let shipment = who.parcel("shp-1", &record, split.then_some(&[0, 1][..]), true)?;
            record.shipments.push(shipment.clone());
            record.delivered_at = (!split).then(sample::now);
            if slug == "with-coupon" {
                scene.coupon_currency = Some(record.order.currency);
                scene.recommendations = who.recommendations()?;
            }
            // The order's own confirmation is about the order; a parcel's, about the parcel.
            scene.shipment = split.then_some((shipment, None));
            scene.order = Some(record);
        }
        (K::CrossSell, _) => {
            scene.order = Some(order(&three, plain)?);
            scene.recommendations = who.recommendations()?;
        }
        (K::ReviewRequest, _) => {
            let lines: &[(usize, u32)] = if slug == "one-item" { &[(0, 1)] } else { &three };
            let mut record = order(lines, plain)?;
            record.delivered_at = Some(sample::now());
            scene.order = Some(record);
        }
        (K::LoyaltyReward, _) => {
            let mut record = order(&three, plain)?;
            record.delivered_at = Some(sample::now());
            scene.coupon_currency = Some(record.order.currency);
            scene.count = Some(5);
            scene.order = Some(record);
        }
        (K::CartReminder, _) => {
            let cart = who.cart()?;
            let nth = if slug == "second-reminder" { 2 } else { 1 };
            scene.coupon_currency = (nth == 2).then_some(cart.currency);
            scene.cart = Some((cart, nth));
        }
        (K::WinBack, _) => {
            scene.coupon_currency = Some(who.currency()?);
            if slug == "with-recommendations" {
                scene.recommendations = who.recommendations()?;
            }
        }
        (K::WelcomeOffer | K::Birthday | K::EngagementReward, _) => {
            scene.coupon_currency = Some(who.currency()?);
        }
        (K::SignupAnniversary, _) => scene.count = Some(1),
        (K::Welcome | K::SubscriptionConfirmation, _) => {}
    }
    Ok(scene)
}

/// Every kind × shipped locale × variant (a variant with a coupon only where the store configured
/// one; kinds switched off too, so the merchant can see them before switching them on), in kind,
/// locale, variant order.
pub fn specimens(renderer: &Renderer, config: &StoreConfig) -> Result<Vec<Specimen>, PreviewError> {
    let keys = SigningKeys::demo();
    let now = sample::now();
    let mut out = Vec::new();
    for &kind in MessageKind::ALL {
        for who in SHOPPERS {
            for variant in variants(kind) {
                let coupon_rule = config.coupons.for_kind(kind);
                if variant.needs_coupon && coupon_rule.is_none() {
                    continue;
                }
                let failed = |source| PreviewError::Render {
                    kind: kind.as_str(),
                    locale: who.locale,
                    variant: variant.slug,
                    source,
                };
                let scene = scene(kind, variant.slug, who)?;
                let customer = who.customer()?;
                let locale: &Locale = customer.locale.as_ref().unwrap_or(&config.defaults.locale);
                let zone: &Zone = customer.time_zone.as_ref().unwrap_or(&config.defaults.time_zone);
                let key = MessageKey::new(kind, "preview", &[who.locale, variant.slug]);
                let coupon = scene.coupon_currency.and_then(|currency| {
                    let rule = coupon_rule?.in_currency(currency, config.defaults.currency)?;
                    Some(Coupon::issue(&rule, &key, currency, now, &keys))
                });
                let marketing = kind.category() == Category::Marketing;
                let unsubscribe = marketing.then(|| {
                    let token = keys.unsubscribe_token(&customer.id, "marketing", now);
                    config.sender.unsubscribe_links(&token)
                });
                let confirm = spec(kind).confirms_subscription.then(|| {
                    config
                        .sender
                        .unsubscribe_link(&keys.unsubscribe_token(&customer.id, CONFIRM_SCOPE, now))
                });
                let draft = Draft {
                    kind,
                    shows: spec(kind).shows,
                    customer: &customer,
                    locale,
                    zone,
                    order: scene.order.as_ref(),
                    shipment: scene.shipment.as_ref().map(|(record, scan)| (record, scan.as_ref())),
                    cart: scene.cart.as_ref().map(|(cart, nth)| (cart, *nth)),
                    coupon: coupon.as_ref(),
                    recommendations: &scene.recommendations,
                    count: scene.count,
                    now,
                    unsubscribe_url: unsubscribe.as_ref().map(|(url, _)| url.as_str()),
                    confirm_url: confirm.as_deref(),
                };
                let rendered = renderer.render(&draft).map_err(failed)?;
                let raw = mime::build(
                    &Envelope {
                        from_name: config.sender.from_name.as_str(),
                        from: &config.sender.from_address,
                        reply_to: &config.sender.reply_to,
                        to: &customer.email,
                        to_name: rendered.recipient.as_deref(),
                        key: &key,
                        date: now,
                        unsubscribe: unsubscribe.as_ref().map(|(url, mailto)| (url.as_str(), mailto.clone())),
                    },
                    &rendered,
                );
                out.push(Specimen {
                    kind,
                    locale: who.locale,
                    variant: variant.slug,
                    label: variant.label,
                    rendered,
                    raw,
                });
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;
    use std::sync::Arc;

    #[test]
    fn every_kind_renders_in_every_locale_in_each_of_its_variants() {
        let config = Arc::new(StoreConfig::sample());
        let renderer = Renderer::embedded(Arc::clone(&config)).unwrap();
        let all = specimens(&renderer, &config).unwrap();
        let pairs: BTreeSet<(MessageKind, &str)> = all.iter().map(|s| (s.kind, s.locale)).collect();
        assert_eq!(pairs.len(), MessageKind::ALL.len() * SHOPPERS.len());
        let per_locale = all.len() / SHOPPERS.len();
        let expected: usize = MessageKind::ALL.iter().map(|k| variants(*k).len()).sum();
        assert_eq!(
            per_locale, expected,
            "the sample store has a coupon for every coupon variant"
        );
        let stems: BTreeSet<String> = all.iter().map(Specimen::stem).collect();
        assert_eq!(stems.len(), all.len(), "stems are unique");
        for s in &all {
            assert!(
                !s.rendered.subject.is_empty() && !s.rendered.preheader.is_empty(),
                "{}",
                s.stem()
            );
            assert_eq!(s.rendered.locale, s.locale, "{}: rendered in its own locale", s.stem());
        }
    }

    #[test]
    fn the_variants_show_what_they_say() {
        let config = Arc::new(StoreConfig::sample());
        let renderer = Renderer::embedded(Arc::clone(&config)).unwrap();
        let all = specimens(&renderer, &config).unwrap();
        let get = |kind: MessageKind, variant: &str| {
            all.iter()
                .find(|s| s.kind == kind && s.locale == "en-US" && s.variant == variant)
                .map(|s| &s.rendered)
                .unwrap()
        };
        let with = get(MessageKind::DeliveryConfirmation, "with-coupon");
        let without = get(MessageKind::DeliveryConfirmation, "without-coupon");
        assert!(with.text.contains("THANKS-") && !without.text.contains("THANKS-"));
        assert!(with.text.contains("Wool throw") && !without.text.contains("Wool throw"));
        let first = get(MessageKind::ShippingConfirmation, "split-first-parcel");
        let whole = get(MessageKind::ShippingConfirmation, "whole-order");
        assert_ne!(first.subject, whole.subject, "a part of the order says so");
        let fifty = get(MessageKind::OrderConfirmation, "fifty-items");
        assert!(fifty.text.matches("Cast-iron teapot").count() >= 8);
        let reminder = get(MessageKind::CartReminder, "second-reminder");
        assert!(reminder.text.contains("CART-"));
    }

    #[test]
    fn a_store_without_a_coupon_for_a_kind_shows_no_coupon_variant() {
        let mut config = StoreConfig::sample();
        config.coupons = crate::config::Coupons(Default::default());
        let config = Arc::new(config);
        let renderer = Renderer::embedded(Arc::clone(&config)).unwrap();
        let all = specimens(&renderer, &config).unwrap();
        assert!(!all.iter().any(|s| s.kind == MessageKind::WelcomeOffer));
        assert!(all.iter().any(|s| s.variant == "without-coupon"));
        assert!(!all.iter().any(|s| s.rendered.text.contains("THANKS-")));
    }

    #[test]
    fn a_carrier_logo_shows_only_where_the_store_hosts_the_logos() {
        let shipping = |config: StoreConfig| {
            let config = Arc::new(config);
            let renderer = Renderer::embedded(Arc::clone(&config)).unwrap();
            specimens(&renderer, &config)
                .unwrap()
                .into_iter()
                .find(|s| s.kind == MessageKind::ShippingConfirmation && s.locale == "en-US")
                .unwrap()
                .rendered
                .html
        };
        let without = shipping(StoreConfig::sample());
        assert!(!without.contains("ups.png"), "no image nobody hosts");
        assert!(without.contains("UPS"), "the carrier's name instead");
        let mut config = StoreConfig::sample();
        config.store.carrier_logos_url = Some("https://cdn.shop.example/carriers/".into());
        assert!(shipping(config).contains("src=\"https://cdn.shop.example/carriers/ups.png\""));
    }
}
