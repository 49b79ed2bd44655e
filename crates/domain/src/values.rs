//! Validated values: once constructed they are known to be well formed.

use std::str::FromStr;

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::{Error, Result};

/// A code of `LEN` upper-case ASCII letters; whether it names anything is the reference data's
/// business, this only guarantees the shape.
macro_rules! iso_code {
    ($(#[$meta:meta])* $name:ident, $len:literal, $field:literal, $standard:literal) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            pub fn parse(text: &str) -> Result<Self> {
                Self::parse_for($field, text)
            }

            /// As `parse`, naming `field` in the error: the input's own name for the code,
            /// where that is not the usual one.
            pub fn parse_for(field: &str, text: &str) -> Result<Self> {
                let code = text.trim().to_ascii_uppercase();
                if code.len() == $len && code.bytes().all(|b| b.is_ascii_uppercase()) {
                    Ok($name(code))
                } else {
                    Err(Error::validation(
                        field,
                        format!("{text:?} is not an {} code", $standard),
                    ))
                }
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl TryFrom<String> for $name {
            type Error = Error;
            fn try_from(value: String) -> Result<Self> {
                $name::parse(&value)
            }
        }

        impl From<$name> for String {
            fn from(value: $name) -> Self {
                value.0
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

iso_code!(
    /// An ISO 3166-1 alpha-2 country code in upper case.
    CountryCode, 2, "countryCode", "ISO 3166-1 alpha-2"
);

iso_code!(
    /// An ISO 4217 alphabetic currency code in upper case (legacy codes such as NLG included).
    CurrencyCode, 3, "currency", "ISO 4217"
);

/// Trimmed text between 1 and `max` characters, with something visible in it and no control
/// character but tab and line breaks, in Unicode's composed form (NFC): "Gdańsk" typed with a
/// composed ń and pasted with n and a combining acute are kept, shown and exported alike.
pub fn bounded_text(field: &str, text: &str, max: usize) -> Result<String> {
    use unicode_normalization::{IsNormalized, UnicodeNormalization, is_nfc_quick};
    let text = without_nul(field, text)?.trim();
    let composed;
    let trimmed = if is_nfc_quick(text.chars()) == IsNormalized::Yes {
        text
    } else {
        composed = text.nfc().collect::<String>();
        composed.as_str()
    };
    if trimmed.chars().all(invisible) {
        return Err(Error::validation(field, "must not be empty"));
    }
    // An escape sequence shows in a terminal reading a log or an export as a colour, a cleared
    // screen or a rewritten line; XML cannot hold most of them (the IATI export drops them).
    if let Some(c) = trimmed
        .chars()
        .find(|c| c.is_control() && !matches!(c, '\t' | '\n' | '\r'))
    {
        return Err(Error::validation(
            field,
            format!(
                "must not contain the control character U+{:04X}",
                u32::from(c)
            ),
        ));
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

/// White space, and the characters that take no room and show nothing where they stand (zero
/// widths, joiners, direction marks and overrides, the byte-order mark, the soft hyphen): a
/// name of nothing else would show as nothing.
fn invisible(c: char) -> bool {
    c.is_whitespace()
        || matches!(
            c,
            '\u{00AD}'
                | '\u{180E}'
                | '\u{200B}'..='\u{200F}'
                | '\u{202A}'..='\u{202E}'
                | '\u{2060}'..='\u{2064}'
                | '\u{2066}'..='\u{2069}'
                | '\u{FEFF}'
        )
}

/// Refuses text holding a NUL character: PostgreSQL cannot store or compare it, and no name,
/// search or address needs one.
pub fn without_nul<'t>(field: &str, text: &'t str) -> Result<&'t str> {
    if text.contains('\0') {
        Err(Error::validation(field, "must not contain a NUL character"))
    } else {
        Ok(text)
    }
}

/// Optional text: `None` or blank stays `None`, otherwise bounded like [`bounded_text`].
pub fn optional_text(field: &str, text: Option<&str>, max: usize) -> Result<Option<String>> {
    match text.map(str::trim) {
        None | Some("") => Ok(None),
        Some(t) => bounded_text(field, t, max).map(Some),
    }
}

/// Text in lower case, with accents and other marks dropped and compatibility forms
/// (ligatures, full-width letters) spelt out, so that "evry", "EVRY" and "Évry" are one.
/// Letters that are not a base letter and a mark (ø, ł, ß) stay as they are: see
/// [`spelled_out`].
pub fn folded(text: &str) -> String {
    use unicode_normalization::UnicodeNormalization;
    use unicode_normalization::char::is_combining_mark;
    text.nfkd()
        .filter(|c| !is_combining_mark(*c))
        .flat_map(char::to_lowercase)
        .collect()
}

/// Letters that are no base letter and a mark, so that neither dropping marks nor FTS5's
/// `remove_diacritics` makes them plain, with the plain letters PostgreSQL's `unaccent`
/// spells them as (its rules): ø as o, ł as l, ß as ss, and the letters of Hausa and Akan
/// names (ɓ, ɗ, ƙ, ƴ, ɛ). Both cases, since SQLite's full-text index reads them from the
/// stored text (its view `{table}_fts_text`, made from this list by the migration
/// `spelled_out_search`: a change here wants a migration making it anew). Each spelling is
/// letters only, so a spelt-out word stays one word.
pub const SPELLED_OUT: &[(char, &str)] = &[
    ('æ', "ae"),
    ('Æ', "AE"),
    ('ð', "d"),
    ('Ð', "D"),
    ('ø', "o"),
    ('Ø', "O"),
    ('þ', "th"),
    ('Þ', "TH"),
    ('ß', "ss"),
    ('ẞ', "SS"),
    ('đ', "d"),
    ('Đ', "D"),
    ('ħ', "h"),
    ('Ħ', "H"),
    ('ı', "i"),
    ('ł', "l"),
    ('Ł', "L"),
    ('ŋ', "n"),
    ('Ŋ', "N"),
    ('œ', "oe"),
    ('Œ', "OE"),
    ('ŧ', "t"),
    ('Ŧ', "T"),
    ('ɓ', "b"),
    ('Ɓ', "B"),
    ('ɗ', "d"),
    ('Ɗ', "D"),
    ('ɛ', "e"),
    ('Ɛ', "E"),
    ('ƙ', "k"),
    ('Ƙ', "K"),
    ('ƴ', "y"),
    ('Ƴ', "Y"),
];

/// The text with each letter of [`SPELLED_OUT`] spelt as it says, everything else as it is:
/// "Hillerød" as "Hillerod", "Straße" as "Strasse".
pub fn spelled_out(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match SPELLED_OUT.iter().find(|(letter, _)| *letter == c) {
            Some((_, spelling)) => out.push_str(spelling),
            None => out.push(c),
        }
    }
    out
}

/// The text a name search reads of a record, and the text it looks for (one field): each
/// field present [`folded`] and [`spelled_out`] ("hillerod" finds Hillerød, as PostgreSQL's
/// `unaccent` has it), line breaks and other control characters as spaces, the fields joined
/// by a line break (so that no match spans two).
pub fn searched_text(fields: &[Option<&str>]) -> String {
    fields
        .iter()
        .flatten()
        .map(|f| {
            spelled_out(&folded(f))
                .chars()
                .map(|c| if c.is_control() { ' ' } else { c })
                .collect::<String>()
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The bounds, also reachable here where the seed loader has always found them.
pub use crate::limits;

/// A year of a practice, scheme or funding record, within [`limits::FIRST_YEAR`] and
/// [`limits::LAST_YEAR`].
pub fn year(field: &str, value: i32) -> Result<i32> {
    let (first, last) = (limits::FIRST_YEAR, limits::LAST_YEAR);
    if (first..=last).contains(&value) {
        Ok(value)
    } else {
        Err(Error::validation(
            field,
            format!("{value} is not a plausible year ({first} to {last})"),
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
    if value > Decimal::from(limits::MAX_AMOUNT) {
        return Err(Error::validation(
            field,
            format!("must be at most {}", limits::MAX_AMOUNT),
        ));
    }
    if value.scale() > limits::AMOUNT_SCALE {
        return Err(Error::validation(
            field,
            format!("has more than {} decimal places", limits::AMOUNT_SCALE),
        ));
    }
    Ok(value.normalize())
}

/// A positive conversion rate (USD per unit), with up to [`limits::RATE_SCALE`] decimal places.
pub fn rate(field: &str, text: &str) -> Result<Decimal> {
    let value = Decimal::from_str(text.trim())
        .map_err(|_| Error::validation(field, format!("{text:?} is not a decimal rate")))?;
    if value <= Decimal::ZERO {
        return Err(Error::validation(field, "must be positive"));
    }
    if value.scale() > limits::RATE_SCALE {
        return Err(Error::validation(
            field,
            format!("has more than {} decimal places", limits::RATE_SCALE),
        ));
    }
    Ok(value.normalize())
}

/// Money in a currency, exact, with its value in USD cents at the rate it was converted at
/// (the unit aggregates add up).
#[derive(Debug, Clone, PartialEq)]
pub struct Money {
    pub amount: Decimal,
    pub currency: CurrencyCode,
    pub usd_cents: i64,
}

impl Money {
    /// Writes optional money into a record's amount, currency and USD-cents fields; `None`
    /// clears all three.
    pub fn store(
        money: Option<Money>,
        amount: &mut Option<Decimal>,
        currency: &mut Option<String>,
        usd_cents: &mut Option<i64>,
    ) {
        *amount = money.as_ref().map(|m| m.amount);
        *currency = money.as_ref().map(|m| m.currency.to_string());
        *usd_cents = money.map(|m| m.usd_cents);
    }
}

/// Converts an amount to USD at `usd_per_unit`, rounded to cents (the unit aggregates are kept in).
pub fn to_usd_cents(amount: Decimal, usd_per_unit: Decimal) -> Result<i64> {
    let usd = amount
        .checked_mul(usd_per_unit)
        .ok_or_else(|| Error::validation("amount", "is too large"))?;
    let cents = usd
        .checked_mul(Decimal::ONE_HUNDRED)
        .ok_or_else(|| Error::validation("amount", "is too large"))?
        .round();
    i64::try_from(cents).map_err(|_| Error::validation("amount", "is too large"))
}

pub fn cents_to_decimal(cents: i64) -> Decimal {
    Decimal::new(cents, 2)
}

#[cfg(test)]
mod tests {
    #[test]
    fn text_must_show_something_and_hold_no_control_character() {
        for text in ["\u{200B}", " \u{FEFF}\u{200D} ", "\u{202E}", "\t\n"] {
            assert!(bounded_text("name", text, 10).is_err(), "{text:?}");
        }
        for text in ["a\u{1B}[31m", "bell\u{7}", "c1\u{85}x", "del\u{7F}"] {
            let refused = bounded_text("name", text, 10).unwrap_err().to_string();
            assert!(
                refused.contains("control character U+"),
                "{text:?}: {refused}"
            );
        }
        for text in ["two\nlines", "a\tb", "\u{200C}ab", "👩\u{200D}💻"] {
            assert!(bounded_text("name", text, 10).is_ok(), "{text:?}");
        }
        assert_eq!(
            bounded_text("name", " Gdan\u{301}sk ", 6).unwrap(),
            "Gda\u{144}sk"
        );
    }

    #[test]
    fn searched_text_spells_out_letters_without_a_mark() {
        assert_eq!(
            searched_text(&[Some("Hillerød"), None, Some("Ærø\nŁódź Straße")]),
            "hillerod\naero lodz strasse"
        );
        assert_eq!(
            searched_text(&[Some("Ɓauchi Kaɗuna Ƙano ƳOLA")]),
            "bauchi kaduna kano yola"
        );
    }

    #[test]
    fn spelled_out_letters_are_plain_letters_in_both_cases() {
        assert_eq!(spelled_out("HILLERØD Straße ŁÓDŹ"), "HILLEROD Strasse LÓDŹ");
        for (letter, spelling) in SPELLED_OUT {
            assert!(
                spelling.chars().all(|c| c.is_ascii_alphabetic()),
                "{letter} is spelt {spelling}"
            );
            // The other case of a letter is listed too (ı has none of its own).
            let other: String = if letter.is_lowercase() {
                letter.to_uppercase().collect()
            } else {
                letter.to_lowercase().collect()
            };
            let other_listed = other.chars().count() != 1
                || other
                    .chars()
                    .all(|o| SPELLED_OUT.iter().any(|(l, _)| *l == o))
                || *letter == 'ı';
            assert!(other_listed, "{letter} is listed without {other}");
        }
    }

    #[test]
    fn folded_text_ignores_case_and_accents() {
        for (text, expected) in [
            ("Évry", "evry"),
            ("ESTELÍ", "esteli"),
            ("Poznań", "poznan"),
            ("İzmir", "izmir"),
            ("ﬁnance", "finance"),
            ("Hillerød", "hillerød"),
            ("Ærø Łódź Straße", "ærø łodz straße"),
            ("São Paulo", "sao paulo"),
        ] {
            assert_eq!(folded(text), expected, "{text}");
        }
    }

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
    fn amounts_are_bounded_and_conversion_never_overflows() {
        let max = Decimal::from(limits::MAX_AMOUNT);
        assert_eq!(non_negative("amount", max).unwrap(), max);
        assert!(non_negative("budget", max + Decimal::new(1, 2)).is_err());
        assert!(amount("amount", "800000000000000000000000000").is_err());
        // Beyond what USD cents can hold: refused, not a panic.
        assert!(to_usd_cents(Decimal::MAX, Decimal::ONE).is_err());
        assert!(to_usd_cents(Decimal::from(i64::MAX), Decimal::ONE).is_err());
        assert!(to_usd_cents(max, Decimal::from(90)).is_ok());
    }

    #[test]
    fn nul_characters_are_refused() {
        assert!(bounded_text("name", "Peer\0review", 50).is_err());
        assert!(without_nul("text", "plain").is_ok());
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
