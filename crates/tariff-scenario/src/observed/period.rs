//! Observation periods: one month (`2025-06`) or a span of months, both ends
//! included (`2025-04..2025-09`).

use std::{fmt, str::FromStr};

/// A span of calendar months, `from <= to`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Period {
    from: (i32, u32),
    to: (i32, u32),
}

/// Why a period did not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{text}` is not a period (YYYY-MM, or YYYY-MM..YYYY-MM with the first month not after the last)")]
pub struct PeriodError {
    pub text: String,
}

fn month(text: &str) -> Option<(i32, u32)> {
    let (year, month) = text.split_once('-')?;
    if year.len() != 4 || month.len() != 2 {
        return None;
    }
    let (year, month) = (year.parse().ok()?, month.parse().ok()?);
    (1..=12).contains(&month).then_some((year, month))
}

impl FromStr for Period {
    type Err = PeriodError;

    fn from_str(text: &str) -> Result<Period, PeriodError> {
        let err = || PeriodError { text: text.to_owned() };
        let (from, to) = match text.split_once("..") {
            Some((a, b)) => (month(a).ok_or_else(err)?, month(b).ok_or_else(err)?),
            None => {
                let m = month(text).ok_or_else(err)?;
                (m, m)
            }
        };
        if from > to {
            return Err(err());
        }
        Ok(Period { from, to })
    }
}

impl fmt::Display for Period {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{:02}", self.from.0, self.from.1)?;
        if self.to != self.from {
            write!(f, "..{}-{:02}", self.to.0, self.to.1)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn months_and_spans() {
        for text in ["2025-06", "2025-04..2025-09", "2024-11..2025-02"] {
            assert_eq!(text.parse::<Period>().map(|p| p.to_string()), Ok(text.to_owned()));
        }
        assert_eq!("2025-06..2025-06".parse::<Period>(), "2025-06".parse::<Period>());
        for bad in ["2025-6", "2025-13", "25-06", "2025-09..2025-04", "2025-06..", "June 2025", ""] {
            assert!(bad.parse::<Period>().is_err(), "{bad}");
        }
    }
}
