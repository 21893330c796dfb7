//! Locale conventions for money and dates.
//!
//! A small table for the locales shipped so far; ICU4X replaces it when the locale list grows.

use crate::domain::Money;
use jiff::civil::Date;

/// How one language writes numbers, money and dates.
#[derive(Clone, Copy, Debug)]
pub struct Conventions {
    group: char,
    decimal: char,
    date: DateStyle,
}

#[derive(Clone, Copy, Debug)]
enum DateStyle {
    /// November 22, 2026
    MonthDayYear,
    /// 22 November 2026
    DayMonthYear,
    /// 2026년 11월 22일
    Korean,
}

const MONTHS_EN: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

impl Conventions {
    /// Conventions for a BCP 47 tag (`en-GB` writes day before month).
    pub fn for_tag(tag: &str) -> Self {
        let language = tag.split('-').next().unwrap_or("en");
        match language {
            "ko" => Self {
                group: ',',
                decimal: '.',
                date: DateStyle::Korean,
            },
            _ if tag == "en" || tag.starts_with("en-US") => Self {
                group: ',',
                decimal: '.',
                date: DateStyle::MonthDayYear,
            },
            _ => Self {
                group: ',',
                decimal: '.',
                date: DateStyle::DayMonthYear,
            },
        }
    }

    /// `$12.34`, `₩39,000`, `-£5.00`.
    pub fn money(&self, money: &Money) -> String {
        let (negative, whole, fraction) = money.parts();
        let digits = whole.to_string();
        let mut grouped = String::with_capacity(digits.len() + digits.len() / 3);
        for (i, c) in digits.chars().enumerate() {
            if i > 0 && (digits.len() - i) % 3 == 0 {
                grouped.push(self.group);
            }
            grouped.push(c);
        }
        if !fraction.is_empty() {
            grouped.push(self.decimal);
            grouped.push_str(&fraction);
        }
        let symbol = money.currency.symbol();
        let sign = if negative { "-" } else { "" };
        if symbol.is_empty() || symbol == money.currency.code() {
            format!("{sign}{} {grouped}", money.currency.code())
        } else {
            format!("{sign}{symbol}{grouped}")
        }
    }

    /// `November 22, 2026`, `22 November 2026`, `2026년 11월 22일`.
    pub fn date(&self, date: Date) -> String {
        let month = MONTHS_EN[usize::try_from(date.month() - 1).unwrap_or(0)];
        match self.date {
            DateStyle::MonthDayYear => format!("{month} {}, {}", date.day(), date.year()),
            DateStyle::DayMonthYear => format!("{} {month} {}", date.day(), date.year()),
            DateStyle::Korean => format!("{}년 {}월 {}일", date.year(), date.month(), date.day()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Currency;

    fn money(minor: i64, code: &str) -> Money {
        Money::new(minor, Currency::parse(code).expect("currency"))
    }

    #[test]
    fn money_is_written_the_local_way() {
        let ko = Conventions::for_tag("ko-KR");
        assert_eq!(ko.money(&money(39000, "KRW")), "₩39,000");
        assert_eq!(ko.money(&money(6_600_000, "KRW")), "₩6,600,000");
        let en = Conventions::for_tag("en-US");
        assert_eq!(en.money(&money(1234, "USD")), "$12.34");
        assert_eq!(en.money(&money(-500, "GBP")), "-£5.00");
        assert_eq!(en.money(&money(1250, "BHD")), ".د.ب1.250");
    }

    #[test]
    fn dates_are_written_the_local_way() {
        let date = Date::new(2026, 11, 22).expect("date");
        assert_eq!(Conventions::for_tag("ko-KR").date(date), "2026년 11월 22일");
        assert_eq!(Conventions::for_tag("en-US").date(date), "November 22, 2026");
        assert_eq!(Conventions::for_tag("en-GB").date(date), "22 November 2026");
    }
}
