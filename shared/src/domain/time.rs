//! Time zones and birthdays; instants are `jiff::Timestamp` throughout.

use jiff::Timestamp;
use jiff::tz::TimeZone;
use serde::{Deserialize, Serialize};
use std::fmt;

/// Why a time zone name was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("'{0}' is not an IANA time zone name")]
pub struct TimeZoneError(pub String);

/// An IANA time zone, kept with its name so it can be stored and shown.
#[derive(Clone, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Zone {
    name: String,
    tz: TimeZone,
}

impl Zone {
    /// Looks a name up in the bundled tz database (`Asia/Seoul`).
    pub fn parse(name: &str) -> Result<Self, TimeZoneError> {
        let tz = TimeZone::get(name).map_err(|_| TimeZoneError(name.to_owned()))?;
        Ok(Self {
            name: name.to_owned(),
            tz,
        })
    }
    /// The IANA name.
    pub fn name(&self) -> &str {
        &self.name
    }
    /// The zone's rules.
    pub fn tz(&self) -> &TimeZone {
        &self.tz
    }
}

impl PartialEq for Zone {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name
    }
}
impl Eq for Zone {}

impl fmt::Debug for Zone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)
    }
}

impl TryFrom<String> for Zone {
    type Error = TimeZoneError;
    fn try_from(name: String) -> Result<Self, TimeZoneError> {
        Self::parse(&name)
    }
}

impl From<Zone> for String {
    fn from(zone: Zone) -> Self {
        zone.name
    }
}

/// Why a birthday was refused. The value is not repeated: errors reach logs and dead-letter queues.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("is not a birthday in the form YYYY-MM-DD or --MM-DD")]
pub struct BirthdayError;

/// A birthday: month and day, the year when the store knows it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Birthday {
    /// Birth year, if given.
    pub year: Option<i16>,
    /// Month, 1–12.
    pub month: i8,
    /// Day of month, valid for the month (29 February allowed).
    pub day: i8,
}

impl Birthday {
    /// Parses `YYYY-MM-DD` or `--MM-DD`.
    pub fn parse(raw: &str) -> Result<Self, BirthdayError> {
        let error = || BirthdayError;
        let (_, month_day) = match raw.strip_prefix("--") {
            Some(month_day) => (None::<i16>, month_day),
            None => {
                let date: jiff::civil::Date = raw.parse().map_err(|_| error())?;
                return Ok(Self {
                    year: Some(date.year()),
                    month: date.month(),
                    day: date.day(),
                });
            }
        };
        let (month, day) = month_day.split_once('-').ok_or_else(error)?;
        let (month, day): (i8, i8) = (month.parse().map_err(|_| error())?, day.parse().map_err(|_| error())?);
        // 2000 is a leap year, so 29 February is accepted.
        jiff::civil::Date::new(2000, month, day).map_err(|_| error())?;
        Ok(Self { year: None, month, day })
    }
}

impl TryFrom<String> for Birthday {
    type Error = BirthdayError;
    fn try_from(raw: String) -> Result<Self, BirthdayError> {
        Self::parse(&raw)
    }
}

impl From<Birthday> for String {
    fn from(birthday: Birthday) -> Self {
        match birthday.year {
            Some(year) => format!("{year:04}-{:02}-{:02}", birthday.month, birthday.day),
            None => format!("--{:02}-{:02}", birthday.month, birthday.day),
        }
    }
}

/// The instants tidings accepts from a store: anything outside is a typo or an attack, and would
/// overflow the date arithmetic of follow-ups (jiff's range ends in 9999).
const PLAUSIBLE: (i64, i64) = (946_684_800, 7_258_118_400); // 2000-01-01 .. 2200-01-01 (UTC)

/// Checks that an instant lies in 2000–2200.
pub fn plausible(at: Timestamp) -> Result<Timestamp, String> {
    let second = at.as_second();
    if second < PLAUSIBLE.0 || second >= PLAUSIBLE.1 {
        return Err(format!("{at} is outside the accepted years 2000 to 2199"));
    }
    Ok(at)
}

/// Deserializes a timestamp in 2000–2200 (`#[serde(deserialize_with)]`).
pub fn plausible_time<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Timestamp, D::Error> {
    let at = Timestamp::deserialize(deserializer)?;
    if !super::inbound::is_parsing() {
        return Ok(at);
    }
    plausible(at).map_err(serde::de::Error::custom)
}

/// Deserializes an optional timestamp in 2000–2200.
pub fn plausible_time_opt<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Option<Timestamp>, D::Error> {
    let at = Option::<Timestamp>::deserialize(deserializer)?;
    if !super::inbound::is_parsing() {
        return Ok(at);
    }
    at.map(plausible).transpose().map_err(serde::de::Error::custom)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zones_come_from_the_bundled_database() {
        assert_eq!(Zone::parse("Asia/Seoul").expect("known").name(), "Asia/Seoul");
        assert!(Zone::parse("Mars/Olympus").is_err());
    }

    #[test]
    fn birthdays_with_and_without_year() {
        assert_eq!(Birthday::parse("--02-29").expect("leap day").day, 29);
        assert_eq!(Birthday::parse("1990-12-10").expect("full").year, Some(1990));
        assert!(Birthday::parse("--02-30").is_err());
        assert!(Birthday::parse("12-10").is_err());
        assert_eq!(
            Birthday::parse("1990-13-45").expect_err("invalid").to_string(),
            "is not a birthday in the form YYYY-MM-DD or --MM-DD",
            "the date itself is never repeated"
        );
    }

    #[test]
    fn a_record_an_earlier_release_stored_with_an_implausible_time_is_still_read() {
        #[derive(Deserialize)]
        struct Stored {
            #[serde(deserialize_with = "plausible_time")]
            _at: Timestamp,
        }
        let json = r#"{"_at":"0001-01-01T00:00:00Z"}"#;
        assert!(serde_json::from_str::<Stored>(json).is_ok(), "read back as stored");
        let inbound = super::super::inbound::parsing(|| serde_json::from_str::<Stored>(json));
        assert!(inbound.is_err(), "an event is held to the rules");
    }

    #[test]
    fn instants_outside_2000_to_2200_are_refused() {
        let at = |text: &str| text.parse::<Timestamp>().expect("timestamp");
        assert!(plausible(at("2026-11-22T10:00:00Z")).is_ok());
        assert!(plausible(at("2000-01-01T00:00:00Z")).is_ok());
        assert!(plausible(at("1999-12-31T23:59:59Z")).is_err());
        assert!(plausible(at("2200-01-01T00:00:00Z")).is_err());
        assert!(plausible(at("9999-12-30T00:00:00Z")).is_err());
    }
}
