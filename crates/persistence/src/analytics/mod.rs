//! The donors' questions (report 6.3), each answered by one SQL statement: funding gaps
//! (`gaps`), scheme overlaps (`overlaps`), matches for a need (`matches`) and results by theme
//! (`results`). Every literal spliced into their text comes from a closed vocabulary or is an
//! integer; nothing a client types reaches it.

mod gaps;
mod matches;
mod overlaps;
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
