//! Validated values: once constructed they are known to be well formed.

use std::str::FromStr;

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::{Error, Result};

/// An ISO 3166-1 alpha-2 code in upper case. Whether the country exists is the reference data's
/// business; this only guarantees the shape.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct CountryCode(String);

impl CountryCode {
    pub fn parse(text: &str) -> Result<Self> {
        let code = text.trim().to_ascii_uppercase();
        if code.len() == 2 && code.bytes().all(|b| b.is_ascii_uppercase()) {
            Ok(CountryCode(code))
        } else {
            Err(Error::validation(
                "countryCode",
                format!("{text:?} is not an ISO 3166-1 alpha-2 code"),
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for CountryCode {
    type Error = Error;
    fn try_from(value: String) -> Result<Self> {
        CountryCode::parse(&value)
    }
}

impl From<CountryCode> for String {
    fn from(value: CountryCode) -> Self {
        value.0
    }
}

impl std::fmt::Display for CountryCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// An ISO 4217 alphabetic code in upper case (legacy codes such as NLG included).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct CurrencyCode(String);

impl CurrencyCode {
    pub fn parse(text: &str) -> Result<Self> {
        let code = text.trim().to_ascii_uppercase();
        if code.len() == 3 && code.bytes().all(|b| b.is_ascii_uppercase()) {
            Ok(CurrencyCode(code))
        } else {
            Err(Error::validation(
                "currency",
                format!("{text:?} is not an ISO 4217 code"),
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for CurrencyCode {
    type Error = Error;
    fn try_from(value: String) -> Result<Self> {
        CurrencyCode::parse(&value)
    }
}

impl From<CurrencyCode> for String {
    fn from(value: CurrencyCode) -> Self {
        value.0
    }
}

impl std::fmt::Display for CurrencyCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Trimmed text between 1 and `max` characters.
pub fn bounded_text(field: &str, text: &str, max: usize) -> Result<String> {
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return Err(Error::validation(field, "must not be empty"));
    }
    let len = trimmed.chars().count();
    if len > max {
        return Err(Error::validation(
            field,
            format!("is {len} characters long, at most {max} allowed"),
        ));
    }
    Ok(trimmed.to_string())
}

/// Optional text: `None` or blank stays `None`, otherwise bounded like [`bounded_text`].
pub fn optional_text(field: &str, text: Option<&str>, max: usize) -> Result<Option<String>> {
    match text.map(str::trim) {
        None | Some("") => Ok(None),
        Some(t) => bounded_text(field, t, max).map(Some),
    }
}

/// Bounds of the stored texts, shared by the seed loader and the mutations.
pub mod limits {
    pub const NAME: usize = 200;
    pub const TITLE: usize = 200;
    pub const SUMMARY: usize = 1_000;
    pub const LONG_TEXT: usize = 8_000;
    pub const SOURCE: usize = 500;
}

/// A year of a practice, scheme or funding record. The report's cases go back to the 1950s.
pub fn year(field: &str, value: i32) -> Result<i32> {
    if (1900..=2100).contains(&value) {
        Ok(value)
    } else {
        Err(Error::validation(
            field,
            format!("{value} is not a plausible year (1900 to 2100)"),
        ))
    }
}

/// Start and end years, the end not before the start.
pub fn year_range(start: Option<i32>, end: Option<i32>) -> Result<(Option<i32>, Option<i32>)> {
    let start = start.map(|y| year("startYear", y)).transpose()?;
    let end = end.map(|y| year("endYear", y)).transpose()?;
    if let (Some(s), Some(e)) = (start, end)
        && e < s
    {
        return Err(Error::validation(
            "endYear",
            format!("{e} is before the start year {s}"),
        ));
    }
    Ok((start, end))
}

/// A non-negative amount of money, parsed exactly from its decimal text.
pub fn amount(field: &str, text: &str) -> Result<Decimal> {
    let value = Decimal::from_str(text.trim())
        .map_err(|_| Error::validation(field, format!("{text:?} is not a decimal amount")))?;
    non_negative(field, value)
}

pub fn non_negative(field: &str, value: Decimal) -> Result<Decimal> {
    if value.is_sign_negative() && !value.is_zero() {
        return Err(Error::validation(field, "must not be negative"));
    }
    if value.scale() > 6 {
        return Err(Error::validation(field, "has more than 6 decimal places"));
    }
    Ok(value.normalize())
}

/// A positive conversion rate (USD per unit), with up to 12 decimal places: legacy currencies
/// such as ITL are worth a small fraction of a cent.
pub fn rate(field: &str, text: &str) -> Result<Decimal> {
    let value = Decimal::from_str(text.trim())
        .map_err(|_| Error::validation(field, format!("{text:?} is not a decimal rate")))?;
    if value <= Decimal::ZERO {
        return Err(Error::validation(field, "must be positive"));
    }
    if value.scale() > 12 {
        return Err(Error::validation(field, "has more than 12 decimal places"));
    }
    Ok(value.normalize())
}

/// Money in a currency, exact.
#[derive(Debug, Clone, PartialEq)]
pub struct Money {
    pub amount: Decimal,
    pub currency: CurrencyCode,
}

/// Converts an amount to USD at `usd_per_unit`, rounded to cents (the unit aggregates are kept in).
pub fn to_usd_cents(amount: Decimal, usd_per_unit: Decimal) -> Result<i64> {
    let usd = amount
        .checked_mul(usd_per_unit)
        .ok_or_else(|| Error::validation("amount", "is too large"))?;
    let cents = (usd * Decimal::ONE_HUNDRED).round();
    i64::try_from(cents).map_err(|_| Error::validation("amount", "is too large"))
}

pub fn cents_to_decimal(cents: i64) -> Decimal {
    Decimal::new(cents, 2)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn country_codes_are_normalised_and_checked() {
        assert_eq!(CountryCode::parse(" nl ").unwrap().as_str(), "NL");
        assert!(CountryCode::parse("NLD").is_err());
        assert!(CountryCode::parse("N1").is_err());
    }

    #[test]
    fn texts_are_bounded() {
        assert_eq!(bounded_text("title", "  Gulu  ", 10).unwrap(), "Gulu");
        assert!(bounded_text("title", "   ", 10).is_err());
        assert!(bounded_text("title", "abcdefghijk", 10).is_err());
        assert_eq!(optional_text("summary", Some(" "), 10).unwrap(), None);
    }

    #[test]
    fn years_and_ranges() {
        assert!(year_range(Some(1999), Some(1998)).is_err());
        assert_eq!(year_range(Some(1999), None).unwrap(), (Some(1999), None));
        assert!(year("startYear", 1850).is_err());
    }

    #[test]
    fn amounts_are_exact_and_non_negative() {
        assert_eq!(amount("amount", "40000.00").unwrap().to_string(), "40000");
        assert!(amount("amount", "-1").is_err());
        assert!(amount("amount", "12,5").is_err());
        // 1,000 guilders at the fixed euro rate times 1.04 USD per euro.
        let rate = Decimal::from_str("0.471932").unwrap();
        assert_eq!(to_usd_cents(Decimal::from(1000), rate).unwrap(), 47193);
        assert_eq!(cents_to_decimal(47193).to_string(), "471.93");
    }
}
