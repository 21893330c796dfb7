//! Vendors' money amounts (Shopify's, WooCommerce's: `"12.34"` or `12.34`, decimal text in the currency's major unit) as
//! integer minor units, read from the JSON text itself so no amount ever passes through a float.

use serde::{Deserialize, Deserializer};
use serde_json::value::RawValue;

/// An amount as a vendor sent it: the decimal text of a JSON string or number.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Amount(String);

impl<'de> Deserialize<'de> for Amount {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        // The raw text of the value: a number is kept as written (`serde_json` would make 12.34 an f64).
        let raw = Box::<RawValue>::deserialize(deserializer)?;
        let text = raw.get();
        if text.starts_with('"') {
            let text: String = serde_json::from_str(text).map_err(serde::de::Error::custom)?;
            return Ok(Self(text));
        }
        if text.starts_with(|c: char| c == '-' || c.is_ascii_digit()) {
            return Ok(Self(text.to_owned()));
        }
        Err(serde::de::Error::custom("expected an amount as a string or a number"))
    }
}

impl Amount {
    /// The amount in minor units of a currency with `exponent` decimals (USD 2, JPY 0, BHD 3).
    /// Digits past the exponent must be zeros (`"3900.00"` yen is 3900); a negative amount, an
    /// exponent (`1e3`) or more than 15 integer digits is refused.
    pub(crate) fn minor(&self, exponent: u8) -> Result<u64, String> {
        minor_units(&self.0, exponent)
    }

    /// [`Amount::minor`], rounding digits past the exponent half up instead of refusing them:
    /// WooCommerce rounds to the store's decimals setting, not the currency's (a yen store left
    /// at 2 decimals sends `"354.55"`).
    pub(crate) fn minor_rounded(&self, exponent: u8) -> Result<u64, String> {
        let text = self.0.trim();
        let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
        let places = usize::from(exponent);
        if fraction.len() <= places || !fraction.bytes().all(|b| b.is_ascii_digit()) {
            return minor_units(text, exponent);
        }
        let (kept, rest) = fraction.split_at(places);
        let minor = minor_units(&format!("{whole}.{kept}"), exponent)?;
        let up = rest.as_bytes().first().is_some_and(|d| *d >= b'5');
        Ok(minor.saturating_add(u64::from(up)))
    }
}

/// Decimal text in a currency's major unit as minor units (see [`Amount::minor`]).
pub(crate) fn minor_units(text: &str, exponent: u8) -> Result<u64, String> {
    let text = text.trim();
    let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if whole.is_empty() || !digits(whole) || !digits(fraction) {
        return Err("not a non-negative decimal amount".to_owned());
    }
    if whole.trim_start_matches('0').len() > 15 {
        return Err("more than 15 integer digits".to_owned());
    }
    let exponent = usize::from(exponent);
    let (kept, rest) = fraction.split_at(fraction.len().min(exponent));
    if rest.bytes().any(|b| b != b'0') {
        return Err(format!("more decimals than the currency's {exponent}"));
    }
    let mut minor: u64 = whole.parse().map_err(|_| "not a decimal amount".to_owned())?;
    for position in 0..exponent {
        let digit = kept.as_bytes().get(position).map_or(0, |b| u64::from(b - b'0'));
        minor = minor * 10 + digit;
    }
    Ok(minor)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn amount(json: &str) -> Amount {
        serde_json::from_str(json).expect("amount")
    }

    #[test]
    fn strings_and_numbers_give_the_same_minor_units() {
        assert_eq!(amount(r#""199.00""#).minor(2), Ok(19900));
        assert_eq!(amount("199.0").minor(2), Ok(19900));
        assert_eq!(amount("0.1").minor(2), Ok(10));
        assert_eq!(amount("10").minor(2), Ok(1000));
        assert_eq!(amount(r#""39000.00""#).minor(0), Ok(39000));
        assert_eq!(amount(r#""1.234""#).minor(3), Ok(1234));
    }

    #[test]
    fn what_a_float_would_round_is_kept_exact() {
        // 0.1 + 0.2 style values and amounts beyond f64's 15–17 digits stay exact.
        assert_eq!(amount("999999999999999.99").minor(2), Ok(99_999_999_999_999_999));
        assert_eq!(amount("4.35").minor(2), Ok(435));
    }

    #[test]
    fn woocommerce_s_extra_decimals_round_half_up() {
        assert_eq!(amount(r#""354.55""#).minor_rounded(0), Ok(355));
        assert_eq!(amount(r#""354.45""#).minor_rounded(0), Ok(354));
        assert_eq!(amount(r#""29.355""#).minor_rounded(2), Ok(2936));
        assert_eq!(amount(r#""29.35""#).minor_rounded(2), Ok(2935));
        assert!(amount(r#""-1.5""#).minor_rounded(0).is_err());
    }

    #[test]
    fn odd_amounts_are_refused_with_a_reason() {
        assert!(amount(r#""-1.00""#).minor(2).is_err());
        assert!(amount("1e3").minor(2).is_err());
        assert!(
            amount(r#""12.345""#)
                .minor(2)
                .expect_err("3 decimals")
                .contains("decimals")
        );
        assert!(amount(r#""""#).minor(2).is_err());
        assert!(serde_json::from_str::<Amount>("true").is_err());
    }
}
