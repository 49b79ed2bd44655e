//! Every bound the domain checks, in one place: the lengths of stored texts, how many values a
//! list may hold, the ranges of numbers, and the throttling of sign-ins. The seed loader checks
//! the seeded records against the same bounds.

use chrono::Duration;

// ---- texts (characters, after trimming) ----

pub const NAME: usize = 200;
pub const TITLE: usize = 200;
pub const SUMMARY: usize = 1_000;
pub const LONG_TEXT: usize = 8_000;
pub const SOURCE: usize = 500;
/// The acronym of an association or a donor.
pub const ACRONYM: usize = 40;
/// The unit an indicator is measured in ("households", "%", "km of road").
pub const INDICATOR_UNIT: usize = 40;
/// The note on a funding record.
pub const NOTE: usize = 1_000;
/// Where a USD rate comes from.
pub const RATE_SOURCE: usize = 200;
/// Longest `text` filter accepted: a search phrase, not a document.
pub const MAX_SEARCH_TEXT: usize = 200;

// ---- lists ----

/// Cities taking part in one practice.
pub const MAX_CITIES: usize = 500;
/// Associations and networks named by one practice.
pub const MAX_ASSOCIATIONS: usize = 50;
/// Partners (NGOs, universities, firms) of one practice.
pub const MAX_PARTNERS: usize = 50;
/// Indicators of one practice.
pub const MAX_INDICATORS: usize = 50;
/// Countries on one donor's agenda.
pub const MAX_AGENDA_COUNTRIES: usize = 250;

// ---- numbers ----

/// Plausible years of a practice, scheme, funding record or indicator; the report's cases go
/// back to the 1950s.
pub const FIRST_YEAR: i32 = 1900;
pub const LAST_YEAR: i32 = 2100;
pub const MAX_POPULATION: i64 = 100_000_000;
/// The largest amount of money one record may hold, in units of its currency (10^15): above
/// any real budget, and low enough that its value in USD cents fits a 64-bit integer at every
/// rate up to 90 USD per unit (the dearest currency is worth a few dollars).
pub const MAX_AMOUNT: i64 = 1_000_000_000_000_000;

/// Decimal places an amount of money may have.
pub const AMOUNT_SCALE: u32 = 6;
/// Decimal places a USD rate may have: legacy currencies such as ITL are worth a small fraction
/// of a cent.
pub const RATE_SCALE: u32 = 12;

// ---- accounts ----

pub const MIN_PASSWORD_CHARS: usize = 10;
pub const MAX_PASSWORD_CHARS: usize = 128;
/// The longest email address (RFC 5321's path limit).
pub const MAX_EMAIL_CHARS: usize = 254;
/// Failed sign-ins within [`THROTTLE_WINDOW`] after which an account is locked for the window.
pub const MAX_FAILURES_PER_ACCOUNT: u64 = 5;
/// Failed sign-ins from one client address within the window (across accounts).
pub const MAX_FAILURES_PER_CLIENT: u64 = 20;
pub const THROTTLE_WINDOW: Duration = Duration::minutes(15);
pub const REFRESH_TOKEN_LIFETIME: Duration = Duration::days(30);

// ---- reads ----

pub const MAX_PAGE_SIZE: u64 = 100;
pub const DEFAULT_PAGE_SIZE: u64 = 20;
/// Dimensions one funding-gap table may be grouped by.
pub const MAX_GAP_DIMENSIONS: usize = 3;
