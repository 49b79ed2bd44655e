//! Ids and cursors on the wire. Ids are the records' numbers as strings; cursors are opaque.

use async_graphql::ID;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use domain::entities::Id;

use crate::error::validation;

pub fn id(value: Id) -> ID {
    ID(value.to_string())
}

pub fn parse_id(field: &str, id: &ID) -> async_graphql::Result<Id> {
    id.parse::<Id>()
        .ok()
        .filter(|v| *v > 0)
        .ok_or_else(|| validation(field, "is not an id of this API"))
}

/// An optional id argument or input field.
pub fn parse_opt_id(field: &str, id: &Option<ID>) -> async_graphql::Result<Option<Id>> {
    id.as_ref().map(|i| parse_id(field, i)).transpose()
}

/// An optional list of ids; absent stays absent (an update keeps the list as it is).
pub fn parse_ids(field: &str, list: &Option<Vec<ID>>) -> async_graphql::Result<Option<Vec<Id>>> {
    list.as_ref()
        .map(|l| l.iter().map(|i| parse_id(field, i)).collect())
        .transpose()
}

const CURSOR_PREFIX: &str = "c1:";

pub fn cursor(value: Id) -> String {
    URL_SAFE_NO_PAD.encode(format!("{CURSOR_PREFIX}{value}"))
}

pub fn parse_cursor(after: Option<&str>) -> async_graphql::Result<Option<Id>> {
    after
        .map(|c| {
            URL_SAFE_NO_PAD
                .decode(c)
                .ok()
                .and_then(|bytes| String::from_utf8(bytes).ok())
                .and_then(|s| {
                    s.strip_prefix(CURSOR_PREFIX)
                        .and_then(|n| n.parse::<Id>().ok())
                })
                .ok_or_else(|| validation("after", "is not a cursor of this list"))
        })
        .transpose()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_reject_garbage() {
        assert_eq!(parse_cursor(Some(&cursor(42))).unwrap(), Some(42));
        assert!(parse_cursor(Some("not-a-cursor")).is_err());
        assert_eq!(parse_cursor(None).unwrap(), None);
    }
}
