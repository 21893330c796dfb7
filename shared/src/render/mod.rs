//! Rendering: minijinja templates and locale strings into a subject, preheader, HTML and text.
//!
//! One `Renderer` is built at start-up (templates embedded in the binary, or read from a directory
//! while a merchant edits them) and shared by every message.

mod address;
mod carriers;
mod catalog;
mod format;

pub use carriers::{Carrier, Carriers, url_encode};
pub use catalog::{Catalog, CatalogError};
pub use format::Conventions;

use crate::config::StoreConfig;
use crate::coupon::Coupon;
use crate::domain::parcel::Share;
use crate::domain::{Cart, Customer, LineItem, Locale, Money, WebUrl, Zone, clean};
use crate::event::CouponType;
use crate::message::MessageKind;
use crate::ports::{OrderRecord, ProductInfo, Scan, ShipmentRecord};
use minijinja::value::{Kwargs, Serde};
use minijinja::{AutoEscape, Environment, Error, ErrorKind, State, UndefinedBehavior};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

/// Why a message could not be rendered.
#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    /// A template failed (syntax, undefined value, missing string).
    #[error("template '{template}' failed: {reason}")]
    Template {
        /// Template name.
        template: String,
        /// minijinja's explanation.
        reason: String,
    },
    /// A locale string failed.
    #[error(transparent)]
    Catalog(#[from] CatalogError),
    /// A template or data file could not be loaded.
    #[error("cannot load {what}: {reason}")]
    Load {
        /// Which file.
        what: String,
        /// Why.
        reason: String,
    },
}

/// A finished message body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rendered {
    /// Subject, one line.
    pub subject: String,
    /// Preheader (inbox preview text).
    pub preheader: String,
    /// HTML part.
    pub html: String,
    /// Plain-text part.
    pub text: String,
    /// Locale used after fallback (the customer's tag, or the store default).
    pub locale: String,
    /// The recipient's name for the `To` header, in the locale's name order.
    pub recipient: Option<String>,
}

/// Everything a message shows, in domain terms; the renderer localizes and formats it.
pub struct Draft<'a> {
    /// What kind of message.
    pub kind: MessageKind,
    /// Recipient profile.
    pub customer: &'a Customer,
    /// Their locale (or the store's).
    pub locale: &'a Locale,
    /// Their time zone (or the store's).
    pub zone: &'a Zone,
    /// The order it is about.
    pub order: Option<&'a OrderRecord>,
    /// The shipment and the scan it reports.
    pub shipment: Option<(&'a ShipmentRecord, Option<&'a Scan>)>,
    /// The cart and which reminder.
    pub cart: Option<(&'a Cart, u8)>,
    /// A coupon carried.
    pub coupon: Option<&'a Coupon>,
    /// Recommended products.
    pub recommendations: &'a [ProductInfo],
    /// First order of the customer.
    pub first_order: bool,
    /// The customer bought before.
    pub repeat_buyer: bool,
    /// The number the message is about: delivered orders (loyalty), years (anniversary), days
    /// without a scan (stalled shipment), update number (order progress).
    pub count: Option<u32>,
    /// When it is sent (what is overdue, what is upcoming).
    pub now: jiff::Timestamp,
    /// One-click unsubscribe page (marketing only).
    pub unsubscribe_url: Option<&'a str>,
    /// Double opt-in: the page that confirms the subscription.
    pub confirm_url: Option<&'a str>,
}

macro_rules! embedded_templates {
    ($($name:literal),* $(,)?) => {
        &[$(($name, include_str!(concat!("../../../templates/", $name)))),*]
    };
}

/// Templates compiled into the binary (release and Lambda builds).
const TEMPLATES: &[(&str, &str)] = embedded_templates![
    "email/layout.html",
    "email/layout.txt",
    "email/macros.html",
    "email/macros.txt",
    "email/order_confirmation.html",
    "email/order_confirmation.txt",
    "email/order_cancellation.html",
    "email/order_cancellation.txt",
    "email/shipping_confirmation.html",
    "email/shipping_confirmation.txt",
    "email/shipment_update.html",
    "email/shipment_update.txt",
    "email/delivery_confirmation.html",
    "email/delivery_confirmation.txt",
    "email/cross_sell.html",
    "email/cross_sell.txt",
    "email/review_request.html",
    "email/review_request.txt",
    "email/cart_reminder.html",
    "email/cart_reminder.txt",
    "email/welcome.html",
    "email/welcome.txt",
    "email/welcome_offer.html",
    "email/welcome_offer.txt",
    "email/subscription_confirmation.html",
    "email/subscription_confirmation.txt",
    "email/order_progress.html",
    "email/order_progress.txt",
    "email/shipment_stalled.html",
    "email/shipment_stalled.txt",
    "email/loyalty_reward.html",
    "email/loyalty_reward.txt",
    "email/win_back.html",
    "email/win_back.txt",
    "email/birthday.html",
    "email/birthday.txt",
    "email/signup_anniversary.html",
    "email/signup_anniversary.txt",
    "email/engagement_reward.html",
    "email/engagement_reward.txt",
    "pages/unsubscribe.html",
];

/// Locale files compiled into the binary.
const LOCALES: &[(&str, &str)] = &[
    ("en", include_str!("../../../templates/locales/en.toml")),
    ("ko", include_str!("../../../templates/locales/ko.toml")),
    ("tr", include_str!("../../../templates/locales/tr.toml")),
    ("zh-CN", include_str!("../../../templates/locales/zh-CN.toml")),
    ("ja", include_str!("../../../templates/locales/ja.toml")),
    ("de", include_str!("../../../templates/locales/de.toml")),
    ("fr", include_str!("../../../templates/locales/fr.toml")),
    ("es", include_str!("../../../templates/locales/es.toml")),
];

const CARRIERS: &str = include_str!("../../../templates/carriers.toml");

/// What messages without a shipment see of the carrier table.
static NO_CARRIERS: Carriers = Carriers::empty();

/// Renders every message kind in every shipped locale.
pub struct Renderer {
    env: Environment<'static>,
    catalogs: Arc<Catalogs>,
    carriers: OnFirstUse<Carriers>,
    config: Arc<StoreConfig>,
}

/// A data file parsed the first time it is needed: a Lambda renders a few kinds in a few
/// languages, and parsing every locale file and the carrier table would add ~2 ms to each cold start.
struct OnFirstUse<T> {
    what: String,
    source: std::borrow::Cow<'static, str>,
    parse: Box<Parser<T>>,
    parsed: std::sync::OnceLock<Result<T, String>>,
}

impl<T> OnFirstUse<T> {
    fn new(
        what: String,
        source: impl Into<std::borrow::Cow<'static, str>>,
        parse: impl Fn(&str) -> Result<T, String> + Send + Sync + 'static,
    ) -> Self {
        Self {
            what,
            source: source.into(),
            parse: Box::new(parse),
            parsed: std::sync::OnceLock::new(),
        }
    }

    fn get(&self) -> Result<&T, RenderError> {
        self.parsed
            .get_or_init(|| (self.parse)(&self.source))
            .as_ref()
            .map_err(|reason| RenderError::Load {
                what: self.what.clone(),
                reason: reason.clone(),
            })
    }
}

/// How an `OnFirstUse` file is parsed (errors as text: they are reported with the file's name).
type Parser<T> = dyn Fn(&str) -> Result<T, String> + Send + Sync;

/// Locale files by tag.
type Catalogs = BTreeMap<String, OnFirstUse<Catalog>>;

fn locale_file(tag: &str, source: impl Into<std::borrow::Cow<'static, str>>) -> OnFirstUse<Catalog> {
    let owned = tag.to_owned();
    OnFirstUse::new(format!("templates/locales/{tag}.toml"), source, move |text| {
        Catalog::parse(&owned, text).map_err(|e| e.to_string())
    })
}

fn carrier_table(source: impl Into<std::borrow::Cow<'static, str>>) -> OnFirstUse<Carriers> {
    OnFirstUse::new("templates/carriers.toml".to_owned(), source, |text| {
        Carriers::parse(text).map_err(|e| e.to_string())
    })
}

impl Renderer {
    /// A renderer over the templates and locales compiled into the binary; each template is
    /// compiled when first used (`check` compiles them all).
    pub fn embedded(config: Arc<StoreConfig>) -> Result<Self, RenderError> {
        let catalogs = LOCALES
            .iter()
            .map(|(tag, text)| ((*tag).to_owned(), locale_file(tag, *text)))
            .collect();
        let carriers = carrier_table(CARRIERS);
        let mut env = Self::environment();
        env.set_loader(|name| {
            Ok(TEMPLATES
                .iter()
                .find(|(n, _)| *n == name)
                .map(|(_, src)| (*src).to_owned()))
        });
        Ok(Self::finish(env, catalogs, carriers, config))
    }

    /// A renderer reading templates, locales and carriers from a `templates/` directory (previews).
    pub fn from_dir(dir: &Path, config: Arc<StoreConfig>) -> Result<Self, RenderError> {
        let read = |path: &Path| {
            std::fs::read_to_string(path).map_err(|e| RenderError::Load {
                what: path.display().to_string(),
                reason: e.to_string(),
            })
        };
        let mut catalogs = BTreeMap::new();
        let entries = std::fs::read_dir(dir.join("locales")).map_err(|e| RenderError::Load {
            what: dir.join("locales").display().to_string(),
            reason: e.to_string(),
        })?;
        for entry in entries.flatten() {
            let path = entry.path();
            if let Some(tag) = path
                .file_stem()
                .and_then(|s| s.to_str())
                .filter(|_| path.extension().is_some_and(|e| e == "toml"))
            {
                let file = locale_file(tag, read(&path)?);
                // Previews report a broken locale file at once.
                file.get()?;
                catalogs.insert(tag.to_owned(), file);
            }
        }
        let carriers = carrier_table(read(&dir.join("carriers.toml"))?);
        // Previews report a broken table at once.
        carriers.get()?;
        let mut env = Self::environment();
        env.set_loader(minijinja::path_loader(dir));
        Ok(Self::finish(env, catalogs, carriers, config))
    }

    fn environment() -> Environment<'static> {
        let mut env = Environment::new();
        // Escape HTML in every template whatever its name; only the plain-text part is exempt.
        env.set_auto_escape_callback(|name| {
            if name.ends_with(".txt") {
                AutoEscape::None
            } else {
                AutoEscape::Html
            }
        });
        env.set_undefined_behavior(UndefinedBehavior::Strict);
        env
    }

    fn finish(
        mut env: Environment<'static>,
        catalogs: Catalogs,
        carriers: OnFirstUse<Carriers>,
        config: Arc<StoreConfig>,
    ) -> Self {
        let catalogs = Arc::new(catalogs);
        let for_templates = Arc::clone(&catalogs);
        env.add_function(
            "t",
            move |state: &State, key: &str, kwargs: Kwargs| -> Result<String, Error> {
                let locale = state
                    .lookup("locale")
                    .and_then(|v| v.as_str().map(str::to_owned))
                    .ok_or_else(|| Error::new(ErrorKind::UndefinedError, "t() needs `locale` in the context"))?;
                let catalog = for_templates
                    .get(&locale)
                    .ok_or_else(|| Error::new(ErrorKind::InvalidOperation, format!("no locale file '{locale}'")))?
                    .get()
                    .map_err(|e| Error::new(ErrorKind::InvalidOperation, e.to_string()))?;
                let values: Vec<(String, String)> = kwargs
                    .args()
                    .map(|name| Ok((name.to_owned(), kwargs.get::<minijinja::Value>(name)?.to_string())))
                    .collect::<Result<_, Error>>()?;
                let args: Vec<(&str, &str)> = values.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
                catalog
                    .text(key, &args)
                    .map_err(|e| Error::new(ErrorKind::InvalidOperation, e.to_string()))
            },
        );
        Self {
            env,
            catalogs,
            carriers,
            config,
        }
    }

    /// The shipped locale tags.
    pub fn locales(&self) -> impl Iterator<Item = &str> {
        self.catalogs.keys().map(String::as_str)
    }

    /// The strings of one shipped locale.
    pub fn catalog(&self, tag: &str) -> Result<&Catalog, RenderError> {
        self.catalogs
            .get(tag)
            .ok_or_else(|| RenderError::Load {
                what: format!("templates/locales/{tag}.toml"),
                reason: "no such locale file".into(),
            })?
            .get()
    }

    /// Parses every locale file and compiles every template now (they are otherwise loaded on
    /// first use): for tests and previews that want every error at once.
    pub fn check(&self) -> Result<(), RenderError> {
        for file in self.catalogs.values() {
            file.get()?;
        }
        self.carriers.get()?;
        for (name, _) in TEMPLATES {
            self.env.get_template(name).map_err(|e| template_error(name, &e))?;
        }
        Ok(())
    }

    /// The catalog for a locale: its tag, then shorter tags, then the store default.
    fn resolve(&self, locale: &Locale) -> Result<(&Catalog, String), RenderError> {
        if let Some(file) = locale.fallbacks().find_map(|tag| self.catalogs.get(tag)) {
            return Ok((file.get()?, locale.to_string()));
        }
        let default = &self.config.defaults.locale;
        let file = default
            .fallbacks()
            .find_map(|tag| self.catalogs.get(tag))
            .or_else(|| self.catalogs.values().next());
        match file {
            Some(file) => Ok((file.get()?, default.to_string())),
            None => unreachable!("at least one locale file is embedded"),
        }
    }

    /// Renders a draft: subject, preheader, HTML and text, all in the customer's language.
    pub fn render(&self, draft: &Draft<'_>) -> Result<Rendered, RenderError> {
        let (catalog, locale_used) = self.resolve(draft.locale)?;
        let conventions = Conventions::for_tag(&locale_used);
        let composer = Composer {
            draft,
            catalog,
            conventions,
            carriers: if draft.shipment.is_some() {
                self.carriers.get()?
            } else {
                &NO_CARRIERS
            },
            config: &self.config,
            locale_used: &locale_used,
        };
        let kind = draft.kind.as_str();
        let args = composer.subject_args()?;
        let args: Vec<(&str, &str)> = args.iter().map(|(k, v)| (*k, v.as_str())).collect();
        // A parcel of a split order says so: `subject_part`, `subject_rest`.
        let variant = composer
            .share()
            .as_str()
            .map_or(String::new(), |share| format!("_{share}"));
        let subject = one_line(&catalog.text(&format!("{kind}.subject{variant}"), &args)?);
        let preheader = one_line(&catalog.text(&format!("{kind}.preheader{variant}"), &args)?);
        let context = composer.context(&subject, &preheader)?;
        let html = self.render_template(&format!("email/{kind}.html"), &context)?;
        let text = self.render_template(&format!("email/{kind}.txt"), &context)?;
        Ok(Rendered {
            subject,
            preheader,
            html,
            text: tidy_text(&text),
            locale: locale_used.clone(),
            recipient: composer.names().2,
        })
    }

    /// Renders a web page (`templates/pages/<name>.html`) in a locale; `context` gets `lang`,
    /// `locale` and `store` added.
    pub fn render_page(&self, name: &str, locale: &Locale, mut context: Value) -> Result<String, RenderError> {
        let (catalog, locale_used) = self.resolve(locale)?;
        let store = &self.config.store;
        if let Some(map) = context.as_object_mut() {
            map.insert("lang".into(), json!(locale_used));
            map.insert("locale".into(), json!(catalog.locale()));
            map.insert(
                "store".into(),
                json!({
                    "name": store.name.as_str(),
                    "website": store.website,
                    "support_url": store.support_url,
                    "postal_address": store.postal_address.as_str(),
                    "brand_color": store.brand_color,
                }),
            );
        }
        self.render_template(&format!("pages/{name}.html"), &context)
    }

    fn render_template(&self, name: &str, context: &Value) -> Result<String, RenderError> {
        let template = self.env.get_template(name).map_err(|e| template_error(name, &e))?;
        template.render(Serde(context)).map_err(|e| template_error(name, &e))
    }
}

fn template_error(name: &str, error: &Error) -> RenderError {
    let mut reason = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(inner) = source {
        reason.push_str(&format!(": {inner}"));
        source = inner.source();
    }
    RenderError::Template {
        template: name.to_owned(),
        reason,
    }
}

/// Subjects and preheaders are single lines: control characters become spaces, runs collapse.
fn one_line(text: &str) -> String {
    clean(text).split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Plain text: no trailing spaces, at most one blank line in a row.
fn tidy_text(text: &str) -> String {
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
struct Composer<'a> {
    draft: &'a Draft<'a>,
    catalog: &'a Catalog,
    conventions: Conventions,
    carriers: &'a Carriers,
    config: &'a StoreConfig,
    locale_used: &'a str,
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
    fn names(&self) -> (Option<String>, Option<String>, Option<String>) {
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
    fn share(&self) -> Share {
        match (self.draft.kind, self.draft.order, self.draft.shipment) {
            (MessageKind::DeliveryConfirmation, Some(_), Some(_)) => Share::Part,
            (MessageKind::ShippingConfirmation, Some(order), Some((record, _))) => order.share(&record.shipment.id),
            _ => Share::Whole,
        }
    }

    /// The order's lines in the message's parcel (`None`: the whole order, or no parcel).
    fn parcel_lines(&self, order: &crate::domain::Order) -> Option<Vec<LineItem>> {
        let (record, _) = self.draft.shipment?;
        order.parcel_lines(&record.shipment)
    }

    fn subject_args(&self) -> Result<Vec<(&'static str, String)>, RenderError> {
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
        let wants_reviews = matches!(
            self.draft.kind,
            MessageKind::DeliveryConfirmation | MessageKind::ReviewRequest
        ) && self.share() == Share::Whole;
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
        let tracking_url = shipment
            .tracking_url
            .clone()
            .or_else(|| carrier.and_then(|c| WebUrl::parse(&c.tracking_url(shipment.tracking_number.as_str())).ok()));
        let logo = carrier.map(|c| {
            format!(
                "{}/img/carriers/{}",
                self.config.store.website.trim_end_matches('/'),
                c.logo
            )
        });
        // A parcel without its own estimate shows the order's; a stalled parcel never shows one
        // that has passed.
        let order_estimate = self.draft.order.and_then(|o| o.order.estimated_delivery);
        let today = self.draft.now.to_zoned_datetime(self.draft.zone.tz().clone()).date();
        let estimate = scan
            .and_then(|s| s.estimated_delivery)
            .or(shipment.estimated_delivery)
            .or(order_estimate)
            .filter(|date| self.draft.kind != MessageKind::ShipmentStalled || *date >= today);
        json!({
            "carrier_name": self.carrier_name(record),
            "carrier_logo_url": logo,
            "tracking_number": shipment.tracking_number.as_str(),
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

    fn context(&self, subject: &str, preheader: &str) -> Result<Value, RenderError> {
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
            "first_order": draft.first_order,
            "repeat_buyer": draft.repeat_buyer,
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
