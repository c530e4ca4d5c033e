//! Calendar dates as scenarios spell them (`YYYY-MM-DD`), ordered.

use std::{fmt, str::FromStr};

/// A proleptic Gregorian calendar date.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Date {
    year: i32,
    month: u8,
    day: u8,
}

/// Why a date string was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{input}` is not a date of the form YYYY-MM-DD ({reason})")]
pub struct DateError {
    input: String,
    reason: &'static str,
}

impl Date {
    /// The earliest date there is.
    pub const MIN: Date = Date { year: 1, month: 1, day: 1 };

    /// A date from its parts, if it exists (years 1..=9999).
    pub fn new(year: i32, month: u8, day: u8) -> Option<Date> {
        if !(1..=9999).contains(&year) || !(1..=12).contains(&month) || day == 0 {
            return None;
        }
        (day <= days_in_month(year, month)).then_some(Date { year, month, day })
    }

    /// The last day of a year.
    pub fn end_of_year(year: i32) -> Option<Date> {
        Date::new(year, 12, 31)
    }

    /// The year.
    pub fn year(&self) -> i32 {
        self.year
    }
}

fn days_in_month(year: i32, month: u8) -> u8 {
    match month {
        2 if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

impl FromStr for Date {
    type Err = DateError;

    fn from_str(s: &str) -> Result<Date, DateError> {
        let err = |reason| DateError { input: s.to_owned(), reason };
        let bytes = s.as_bytes();
        if !s.is_ascii() || bytes.len() != 10 || bytes[4] != b'-' || bytes[7] != b'-' {
            return Err(err("expected 10 characters like 2025-04-03"));
        }
        let number = |range: std::ops::Range<usize>| -> Result<u32, DateError> {
            let part = &s[range];
            if !part.bytes().all(|b| b.is_ascii_digit()) {
                return Err(err("non-digit where a digit belongs"));
            }
            part.parse().map_err(|_| err("number out of range"))
        };
        let (year, month, day) = (number(0..4)?, number(5..7)?, number(8..10)?);
        let month = u8::try_from(month).map_err(|_| err("no such month"))?;
        let day = u8::try_from(day).map_err(|_| err("no such day"))?;
        let year = i32::try_from(year).map_err(|_| err("no such year"))?;
        if !(1..=12).contains(&month) {
            return Err(err("no such month"));
        }
        Date::new(year, month, day).ok_or_else(|| err("no such day in that month"))
    }
}

impl fmt::Display for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_prints_valid_dates() {
        let d: Date = "2024-02-29".parse().unwrap();
        assert_eq!(d.to_string(), "2024-02-29");
        assert!("2025-04-03".parse::<Date>().unwrap() < "2025-09-16".parse::<Date>().unwrap());
    }

    #[test]
    fn refuses_impossible_dates() {
        for bad in [
            "2023-02-29",
            "2025-13-01",
            "2025-00-10",
            "2025-04-31",
            "25-04-03",
            "2025/04/03",
            "２０２５-04-03",
            "",
            "0000-01-01",
        ] {
            assert!(bad.parse::<Date>().is_err(), "{bad} should be refused");
        }
    }
}
