//! The donors' questions (report 6.3), each answered by a few SQL statements: funding gaps
//! (`gaps`), scheme overlaps (`overlaps`), matches for a need (`matches`) and results by theme
//! (`results`). Every literal spliced into their text comes from a closed vocabulary or is an
//! integer; nothing a client types reaches it.

pub(crate) mod gaps;
mod matches;
pub use matches::significant_words;
mod overlaps;
mod ranking;
pub(crate) use ranking::KeptWords;
mod results;

use domain::{Error, Result};

use crate::store::db_err;

/// An integer column whatever its SQL type: PostgreSQL answers SUM with NUMERIC and small
/// expressions with INTEGER, SQLite everything with INTEGER.
pub(crate) fn integer(row: &sea_orm::QueryResult, i: usize) -> Result<i64> {
    if let Ok(v) = row.try_get_by_index::<i64>(i) {
        return Ok(v);
    }
    if let Ok(v) = row.try_get_by_index::<i32>(i) {
        return Ok(i64::from(v));
    }
    let d: rust_decimal::Decimal = row.try_get_by_index(i).map_err(db_err)?;
    i64::try_from(d).map_err(Error::internal)
}

/// Sums of USD cents overflow 64 bits long before the rows a base may hold do (a record may
/// hold up to about 2^63 cents), and SQLite's SUM fails on overflow. So money is summed in two
/// parts that cannot overflow: whole units of [`SPLIT`] cents (`x / SPLIT`) and the rest
/// (`x % SPLIT`), the same integer arithmetic on both databases.
pub(crate) const SPLIT: i64 = 1_000_000_000;

/// The two parts of an amount of cents, `(high, low)`, as SQL expressions to sum.
pub(crate) fn split(cents: &str) -> (String, String) {
    (
        format!("({cents}) / {SPLIT}"),
        format!("({cents}) % {SPLIT}"),
    )
}

/// Money summed by parts: the high part in column `i`, the low part in `i + 1`.
pub(crate) fn money(row: &sea_orm::QueryResult, i: usize) -> Result<i128> {
    let high = i128::from(integer(row, i)?);
    let low = i128::from(integer(row, i + 1)?);
    Ok(high * i128::from(SPLIT) + low)
}
