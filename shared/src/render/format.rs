//! Locale conventions for money and dates, from ICU4X and CLDR.
//!
//! Money uses CLDR's currency symbols and patterns (`₩39,000`, `12,50 €`, `US$12.34` outside the
//! US) through `icu_experimental`'s currency formatter; dates use the long year-month-day form
//! without a weekday (`November 22, 2026`, `2026년 11월 22일`).
//!
//! The CLDR data is baked into `icu_data/` for our locales only (en, en-GB, ko, tr, zh, zh-Hant, ja,
//! de, fr, es; `scripts/icu-data` regenerates it): ICU's data for every locale would add ~600 KB to
//! each Lambda. Regional variants fall back the CLDR way (`ko-KR` → `ko`, `en-AU` → `en-001`,
//! `fr-CA` → `fr`); other languages are written the English way. If a formatter cannot be built,
//! output degrades to ISO forms (`USD 12.34`, `2026-11-22`) rather than failing a send.

use crate::domain::Money;
use icu_calendar::{Date as IcuDate, Gregorian};
use icu_datetime::{FixedCalendarDateTimeFormatter, fieldsets::YMD};
use icu_decimal::{DecimalFormatter, input::Decimal};
use icu_experimental::dimension::currency::{CurrencyCode, formatter::CurrencyFormatter};
use icu_locale_core::{Locale, locale};
use jiff::civil::Date;
use std::fmt;
use tinystr::TinyAsciiStr;

/// CLDR data for our locales, baked by `scripts/icu-data`.
// The baked tables are ICU4X's own generated code, which builds its zero-copy structures unsafely.
#[allow(unsafe_code)]
mod data {
    // The generated code names `alloc` (for `Cow`).
    extern crate alloc;
    include!("icu_data/mod.rs");

    /// Implements ICU's data-provider traits over the baked tables.
    pub(super) struct IcuData;
    make_provider!(IcuData);
    impl_currency_essentials_v1!(IcuData);
    impl_datetime_names_month_gregorian_v1!(IcuData);
    impl_datetime_names_year_gregorian_v1!(IcuData);
    impl_datetime_patterns_date_gregorian_v1!(IcuData);
    impl_decimal_digits_v1!(IcuData);
    impl_decimal_symbols_v1!(IcuData);
}
use data::IcuData;

/// Languages in the baked data (keep in step with `scripts/icu-data`).
const LANGUAGES: [&str; 8] = ["de", "en", "es", "fr", "ja", "ko", "tr", "zh"];

/// How one locale writes money and dates: ICU formatters built for a BCP 47 tag.
pub struct Conventions {
    tag: String,
    currency: Option<CurrencyFormatter>,
    /// What the locale puts before and after a negative number (`-` and nothing, for our locales).
    minus: (String, String),
    date: Option<FixedCalendarDateTimeFormatter<Gregorian, YMD>>,
}

impl Conventions {
    /// Conventions for a BCP 47 tag (`en` is en-US; `en-GB` writes day before month).
    pub fn for_tag(tag: &str) -> Self {
        // Rendering must go on: a malformed tag, or a language without baked data (which would get
        // CLDR's root forms, `2026 M11 22`), is written the English way.
        let locale = match tag.parse::<Locale>() {
            Ok(locale) if LANGUAGES.contains(&locale.id.language.as_str()) => locale,
            _ => locale!("en"),
        };
        let currency = CurrencyFormatter::try_new_unstable(&IcuData, (&locale).into(), Default::default()).ok();
        let minus = DecimalFormatter::try_new_unstable(&IcuData, (&locale).into(), Default::default())
            .ok()
            .and_then(|decimal| minus_affixes(&decimal))
            .unwrap_or_else(|| ("-".to_owned(), String::new()));
        let date = FixedCalendarDateTimeFormatter::try_new_unstable(&IcuData, (&locale).into(), YMD::long()).ok();
        Self {
            tag: tag.to_owned(),
            currency,
            minus,
            date,
        }
    }

    /// `$12.34`, `₩39,000`, `12,50 €`, `-£5.00`.
    pub fn money(&self, money: &Money) -> String {
        let code = money.currency.code();
        // Minor units scaled by the ISO 4217 exponent keep trailing zeros: 1200 USD cents is 12.00.
        let mut amount = Decimal::from(money.minor.unsigned_abs());
        amount.multiply_pow10(-i16::from(money.currency.exponent()));
        let formatted = match (&self.currency, TinyAsciiStr::<3>::try_from_str(code)) {
            (Some(formatter), Ok(iso)) => formatter.format_fixed_decimal(&amount, CurrencyCode(iso)).to_string(),
            _ => format!("{code}\u{a0}{amount}"),
        };
        if money.minor < 0 {
            // The formatter puts the sign inside the symbol (`$-5.00`, icu4x#6064); CLDR's negative
            // currency patterns for our locales put it in front of the whole amount (`-$5.00`).
            let (before, after) = &self.minus;
            format!("{before}{formatted}{after}")
        } else {
            formatted
        }
    }

    /// `November 22, 2026`, `22 November 2026`, `2026년 11월 22일`, `22. November 2026`.
    pub fn date(&self, date: Date) -> String {
        let gregorian = u8::try_from(date.month())
            .ok()
            .zip(u8::try_from(date.day()).ok())
            .and_then(|(month, day)| IcuDate::try_new_gregorian(i32::from(date.year()), month, day).ok());
        match (&self.date, gregorian) {
            (Some(formatter), Some(gregorian)) => formatter.format(&gregorian).to_string(),
            _ => date.to_string(),
        }
    }
}

impl fmt::Debug for Conventions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Conventions")
            .field("tag", &self.tag)
            .finish_non_exhaustive()
    }
}

/// The text around a negative number, read off the locale's own rendering of -1 and 1.
fn minus_affixes(decimal: &DecimalFormatter) -> Option<(String, String)> {
    let negative = decimal.format(&Decimal::from(-1)).to_string();
    let positive = decimal.format(&Decimal::from(1)).to_string();
    let (before, rest) = negative.split_at(negative.find(&positive)?);
    let after = rest.strip_prefix(&positive)?;
    Some((before.to_owned(), after.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Currency;

    fn money(tag: &str, minor: i64, code: &str) -> String {
        Conventions::for_tag(tag).money(&Money::new(minor, Currency::parse(code).expect("currency")))
    }

    fn date(tag: &str) -> String {
        Conventions::for_tag(tag).date(Date::new(2026, 11, 22).expect("date"))
    }

    #[test]
    fn money_is_written_the_local_way() {
        assert_eq!(money("ko", 66_000, "KRW"), "₩66,000");
        assert_eq!(money("ko-KR", 39_000, "KRW"), "₩39,000");
        assert_eq!(money("en", 1234, "USD"), "$12.34");
        assert_eq!(money("en-US", 1200, "USD"), "$12.00");
        assert_eq!(money("en-GB", 1234, "GBP"), "£12.34");
        // Outside its home region a dollar says which one.
        assert_eq!(money("en-GB", 1234, "USD"), "US$12.34");
        // CLDR puts the lira sign first (the spec's example had `1.249,50 ₺`).
        assert_eq!(money("tr", 124_950, "TRY"), "₺1.249,50");
        assert_eq!(money("zh-CN", 29_900, "CNY"), "¥299.00");
        assert_eq!(money("ja", 299, "JPY"), "￥299");
        assert_eq!(money("de", 1250, "EUR"), "12,50\u{a0}€");
        assert_eq!(money("fr", 1250, "EUR"), "12,50\u{a0}€");
        assert_eq!(money("es", 1250, "EUR"), "12,50\u{a0}€");
    }

    #[test]
    fn large_amounts_are_grouped_the_local_way() {
        assert_eq!(money("en", 123_456_789, "USD"), "$1,234,567.89");
        assert_eq!(money("ko", 6_600_000, "KRW"), "₩6,600,000");
        assert_eq!(money("ja", 1_234_567, "JPY"), "￥1,234,567");
        assert_eq!(money("de", 123_456_789, "EUR"), "1.234.567,89\u{a0}€");
        assert_eq!(money("fr", 123_456_789, "EUR"), "1\u{202f}234\u{202f}567,89\u{a0}€");
        assert_eq!(money("tr", 123_456_789, "TRY"), "₺1.234.567,89");
        // Spanish groups only from five digits.
        assert_eq!(money("es", 123_456, "EUR"), "1234,56\u{a0}€");
        assert_eq!(money("es", 1_234_567, "EUR"), "12.345,67\u{a0}€");
    }

    #[test]
    fn negative_amounts_carry_the_sign_in_front() {
        assert_eq!(money("en", -500, "GBP"), "-£5.00");
        assert_eq!(money("en-GB", -5, "GBP"), "-£0.05");
        assert_eq!(money("ko", -39_000, "KRW"), "-₩39,000");
        assert_eq!(money("tr", -124_950, "TRY"), "-₺1.249,50");
        assert_eq!(money("de", -1250, "EUR"), "-12,50\u{a0}€");
        assert_eq!(money("ja", -299, "JPY"), "-￥299");
    }

    #[test]
    fn minor_units_follow_iso_4217() {
        // Bahraini dinar: three decimals, and no symbol CLDR would use outside Arabic.
        assert_eq!(money("en", 1250, "BHD"), "BHD\u{a0}1.250");
        assert_eq!(money("de", 1250, "BHD"), "1,250\u{a0}BHD");
        assert_eq!(money("en", 0, "KRW"), "₩0");
    }

    #[test]
    fn dates_are_written_the_local_way() {
        assert_eq!(date("en"), "November 22, 2026");
        assert_eq!(date("en-US"), "November 22, 2026");
        assert_eq!(date("en-GB"), "22 November 2026");
        assert_eq!(date("ko-KR"), "2026년 11월 22일");
        assert_eq!(date("tr"), "22 Kasım 2026");
        assert_eq!(date("zh-CN"), "2026年11月22日");
        assert_eq!(date("ja"), "2026年11月22日");
        assert_eq!(date("de"), "22. November 2026");
        assert_eq!(date("fr"), "22 novembre 2026");
        assert_eq!(date("es"), "22 de noviembre de 2026");
    }

    #[test]
    fn regional_variants_fall_back_to_their_language() {
        assert_eq!(date("de-AT"), "22. November 2026");
        assert_eq!(date("fr-CA"), "22 novembre 2026");
        assert_eq!(date("en-AU"), "22 November 2026");
        assert_eq!(money("tr-TR", 124_950, "TRY"), "₺1.249,50");
    }

    #[test]
    fn traditional_chinese_has_its_own_data() {
        assert_eq!(date("zh-TW"), "2026年11月22日");
        assert_eq!(money("zh-Hant", 29_900, "TWD"), "$299.00");
    }

    #[test]
    fn other_languages_and_malformed_tags_format_in_english() {
        assert_eq!(money("not a tag", 1234, "USD"), "$12.34");
        assert_eq!(date("not a tag"), "November 22, 2026");
        assert_eq!(money("pt-BR", 1234, "BRL"), "R$12.34");
        assert_eq!(date("pt-BR"), "November 22, 2026");
    }
}
