//! Rendering: minijinja templates and locale strings into a subject, preheader, HTML and text.
//!
//! One `Renderer` is built at start-up (templates embedded in the binary, or read from a directory
//! while a merchant edits them) and shared by every message.

mod address;
mod carriers;
mod catalog;
mod compose;
mod format;

pub use carriers::{Carrier, Carriers, url_encode};
pub use catalog::{Catalog, CatalogError};
pub use format::Conventions;

use compose::{Composer, one_line, tidy_text};

use crate::config::StoreConfig;
use crate::coupon::Coupon;
use crate::domain::{Cart, Customer, Locale, Zone};
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

/// How a kind presents what it is about beyond its template (set per kind in `engine/kinds/`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shows {
    /// How much of the order a parcel in it is.
    pub parcel: ParcelShare,
    /// A review link per item, once everything arrived.
    pub review_links: bool,
    /// No delivery estimate that has passed (a stalled parcel's would only mislead).
    pub only_upcoming_estimate: bool,
}

impl Shows {
    /// The whole order, no review links, any estimate.
    pub const PLAIN: Shows = Shows {
        parcel: ParcelShare::Whole,
        review_links: false,
        only_upcoming_estimate: false,
    };
}

/// How a message counts the parcel it is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ParcelShare {
    /// As the whole order.
    Whole,
    /// As the share of the order it is (a shipping confirmation: part, or the rest).
    OfOrder,
    /// Always as a part (one parcel's delivery: the last one is the order's own confirmation).
    Part,
}

/// Everything a message shows, in domain terms; the renderer localizes and formats it.
pub struct Draft<'a> {
    /// What kind of message.
    pub kind: MessageKind,
    /// What the kind shows beyond its template.
    pub shows: Shows,
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
    ($($name:expr),* $(,)?) => {
        &[$(($name, include_str!(concat!("../../../templates/", $name)))),*]
    };
}

impl Draft<'_> {
    /// The order it is about is the customer's first.
    pub fn first_order(&self) -> bool {
        self.order.is_some_and(|o| o.first_order)
    }

    /// The order it is about is not the customer's first.
    pub fn repeat_buyer(&self) -> bool {
        self.order.is_some_and(|o| !o.first_order)
    }
}

/// Templates compiled into the binary (release and Lambda builds) besides each kind's own.
const TEMPLATES: &[(&str, &str)] = embedded_templates![
    "email/layout.html",
    "email/layout.txt",
    "email/macros.html",
    "email/macros.txt",
    "pages/unsubscribe.html",
];

macro_rules! kind_templates {
    ($($variant:ident => $name:ident, $category:ident, $step:ident;)*) => {
        embedded_templates![$(
            concat!("email/", stringify!($name), ".html"),
            concat!("email/", stringify!($name), ".txt"),
        )*]
    };
}

/// Each kind's HTML and text template, from the kinds registry.
const KIND_TEMPLATES: &[(&str, &str)] = crate::message::for_each_kind!(kind_templates);

/// Every embedded template.
fn embedded_template(name: &str) -> Option<&'static str> {
    TEMPLATES
        .iter()
        .chain(KIND_TEMPLATES)
        .find(|(n, _)| *n == name)
        .map(|(_, src)| *src)
}

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
        env.set_loader(|name| Ok(embedded_template(name).map(str::to_owned)));
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
        // minijinja also writes `/` as `&#x2f;`; in a link that is legal HTML but some mail clients
        // and link scanners do not decode it. `& < > " '` are all that markup needs escaped.
        env.set_formatter(|out, state, value| match value.as_str() {
            Some(text) if *state.auto_escape() == AutoEscape::Html && !value.is_safe() => out
                .write_str(&html_escape::encode_quoted_attribute(text))
                .map_err(|e| Error::new(ErrorKind::WriteFailure, "writing the output").with_source(e)),
            _ => minijinja::escape_formatter(out, state, value),
        });
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
                    .ok_or_else(|| Error::new(ErrorKind::UndefinedError, "t() needs `locale` in the context"))?;
                let locale = locale
                    .as_str()
                    .ok_or_else(|| Error::new(ErrorKind::UndefinedError, "t() needs `locale` as a string"))?;
                let catalog = for_templates
                    .get(locale)
                    .ok_or_else(|| Error::new(ErrorKind::InvalidOperation, format!("no locale file '{locale}'")))?
                    .get()
                    .map_err(|e| Error::new(ErrorKind::InvalidOperation, e.to_string()))?;
                // Most calls pass strings (or nothing): borrowed, not formatted anew.
                let values: Vec<(&str, minijinja::Value)> = kwargs
                    .args()
                    .map(|name| Ok((name, kwargs.get::<minijinja::Value>(name)?)))
                    .collect::<Result<_, Error>>()?;
                let texts: Vec<std::borrow::Cow<'_, str>> = values
                    .iter()
                    .map(|(_, v)| v.as_str().map_or_else(|| v.to_string().into(), Into::into))
                    .collect();
                let args: Vec<(&str, &str)> = values.iter().zip(&texts).map(|((k, _), v)| (*k, v.as_ref())).collect();
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
        for (name, _) in TEMPLATES.iter().chain(KIND_TEMPLATES) {
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
        // Converted once for both templates (minijinja would convert a serde value per render).
        let context = minijinja::Value::from(Serde(composer.context(&subject, &preheader)?));
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
        self.render_template(&format!("pages/{name}.html"), &minijinja::Value::from(Serde(&context)))
    }

    fn render_template(&self, name: &str, context: &minijinja::Value) -> Result<String, RenderError> {
        let template = self.env.get_template(name).map_err(|e| template_error(name, &e))?;
        template.render(context).map_err(|e| template_error(name, &e))
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
