//! Currencies (ISO 4217, with their minor-unit exponent) and money as integer minor units.

use serde::{Deserialize, Serialize};
use std::fmt;

/// Why a currency code was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("'{0}' is not an ISO 4217 currency code with a minor unit")]
pub struct CurrencyError(pub String);

/// An ISO 4217 currency that has a defined minor unit (USD: 2, KRW and JPY: 0, BHD: 3).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Currency {
    iso: iso_currency::Currency,
    exponent: u8,
}

impl Currency {
    /// Parses a three-letter code (case-insensitive).
    pub fn parse(code: &str) -> Result<Self, CurrencyError> {
        let iso = iso_currency::Currency::from_code(&code.to_ascii_uppercase())
            .ok_or_else(|| CurrencyError(code.to_owned()))?;
        let exponent = iso
            .exponent()
            .and_then(|e| u8::try_from(e).ok())
            .ok_or_else(|| CurrencyError(code.to_owned()))?;
        Ok(Self { iso, exponent })
    }
    /// The ISO code, e.g. `KRW`.
    pub fn code(&self) -> &'static str {
        self.iso.code()
    }
    /// Digits after the decimal separator.
    pub fn exponent(&self) -> u8 {
        self.exponent
    }
    /// The common symbol (`₩`, `$`, `£`); locale-specific choices happen in rendering.
    pub fn symbol(&self) -> String {
        self.iso.symbol().symbol
    }
}

impl fmt::Debug for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

impl TryFrom<String> for Currency {
    type Error = CurrencyError;
    fn try_from(code: String) -> Result<Self, CurrencyError> {
        Self::parse(&code)
    }
}

impl From<Currency> for String {
    fn from(currency: Currency) -> Self {
        currency.code().to_owned()
    }
}

/// An amount of money in the currency's minor unit (USD 1234 = $12.34; KRW 39000 = ₩39,000).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Money {
    /// Amount in minor units; never a float.
    pub minor: i64,
    /// Its currency.
    pub currency: Currency,
}

impl Money {
    /// Builds an amount from minor units.
    pub fn new(minor: i64, currency: Currency) -> Self {
        Self { minor, currency }
    }

    /// Splits into (negative, whole units, fraction digits padded to the exponent).
    pub fn parts(&self) -> (bool, u64, String) {
        let exponent = u32::from(self.currency.exponent());
        let scale = 10u64.pow(exponent);
        let magnitude = self.minor.unsigned_abs();
        let fraction = if exponent == 0 {
            String::new()
        } else {
            format!("{:0width$}", magnitude % scale, width = exponent as usize)
        };
        (self.minor < 0, magnitude / scale, fraction)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn money(minor: i64, code: &str) -> Money {
        Money::new(minor, Currency::parse(code).expect("known currency"))
    }

    #[test]
    fn exponents_follow_iso_4217() {
        assert_eq!(money(1234, "USD").parts(), (false, 12, "34".into()));
        assert_eq!(money(39000, "KRW").parts(), (false, 39000, String::new()));
        assert_eq!(money(299, "JPY").parts(), (false, 299, String::new()));
        assert_eq!(money(1_250, "bhd").parts(), (false, 1, "250".into()));
        assert_eq!(money(-5, "EUR").parts(), (true, 0, "05".into()));
    }

    #[test]
    fn unknown_codes_are_refused_by_name() {
        let error = Currency::parse("XYZ").expect_err("not a currency");
        assert_eq!(
            error.to_string(),
            "'XYZ' is not an ISO 4217 currency code with a minor unit"
        );
        // Gold has no minor unit, so it cannot be an order currency.
        assert!(Currency::parse("XAU").is_err());
    }
}
