//! Ids and cursors on the wire, made and read here only.
//!
//! Every record's id is global (Relay's object identification): URL-safe base64 of its type and
//! number, `Practice:42`, so that ids of different types never collide and a client can refetch
//! any record with `node(id:)`. An indicator, read only through its practice, carries its
//! practice's number too (`Indicator:7/42`). Arguments that take an id of one type accept its
//! global id and, for the clients written before global ids, the plain number; a global id of
//! another type is refused by name. Cursors are opaque too, and of their own kind.

use async_graphql::ID;
use async_graphql::connection::CursorType;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use domain::entities::Id;

use crate::error::validation;

/// The types whose records have an id, named as the schema names them.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum Kind {
    Practice,
    SupportScheme,
    Funding,
    Need,
    City,
    Association,
    Donor,
    User,
    AuditEntry,
    Indicator,
}

impl Kind {
    pub const ALL: [Kind; 10] = [
        Kind::Practice,
        Kind::SupportScheme,
        Kind::Funding,
        Kind::Need,
        Kind::City,
        Kind::Association,
        Kind::Donor,
        Kind::User,
        Kind::AuditEntry,
        Kind::Indicator,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Kind::Practice => "Practice",
            Kind::SupportScheme => "SupportScheme",
            Kind::Funding => "Funding",
            Kind::Need => "Need",
            Kind::City => "City",
            Kind::Association => "Association",
            Kind::Donor => "Donor",
            Kind::User => "User",
            Kind::AuditEntry => "AuditEntry",
            Kind::Indicator => "Indicator",
        }
    }

    /// The type the audit trail and the change feed name a record by (the schema's names).
    pub fn named(name: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.name() == name)
    }
}

/// A record's global id, decoded.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct Global {
    pub kind: Kind,
    pub id: Id,
    /// The practice of an indicator.
    pub owner: Option<Id>,
}

impl Global {
    /// Written into a buffer on the stack rather than through `format!`: a page of a large
    /// answer (`schemeOverlaps` has some two thousand nodes) spent a twentieth of its time
    /// formatting ids.
    fn encode(self) -> ID {
        // The longest: "SupportScheme:" or "Indicator:" and two numbers of at most 20 characters.
        let mut text = [0u8; 64];
        let mut len = 0;
        let mut push = |bytes: &[u8]| {
            text[len..len + bytes.len()].copy_from_slice(bytes);
            len += bytes.len();
        };
        push(self.kind.name().as_bytes());
        push(b":");
        if let Some(owner) = self.owner {
            push(decimal(owner, &mut [0u8; 20]));
            push(b"/");
        }
        push(decimal(self.id, &mut [0u8; 20]));
        ID(URL_SAFE_NO_PAD.encode(&text[..len]))
    }

    /// `None` for anything that is not the global id of a record of this API.
    pub fn decode(id: &str) -> Option<Global> {
        let text = String::from_utf8(URL_SAFE_NO_PAD.decode(id).ok()?).ok()?;
        let (name, rest) = text.split_once(':')?;
        let kind = Kind::named(name)?;
        let (owner, number) = match (kind, rest.split_once('/')) {
            (Kind::Indicator, Some((owner, number))) => (Some(positive(owner)?), number),
            (Kind::Indicator, None) | (_, Some(_)) => return None,
            (_, None) => (None, rest),
        };
        Some(Global {
            kind,
            id: positive(number)?,
            owner,
        })
    }
}

/// A number as this API writes it: digits only, no sign or padding, so one record has one id.
/// `n` in decimal, written at the end of `buffer`.
fn decimal(n: Id, buffer: &mut [u8; 20]) -> &[u8] {
    let mut rest = n.unsigned_abs();
    let mut at = buffer.len();
    loop {
        at -= 1;
        buffer[at] = b'0' + (rest % 10) as u8;
        rest /= 10;
        if rest == 0 {
            break;
        }
    }
    if n < 0 {
        at -= 1;
        buffer[at] = b'-';
    }
    &buffer[at..]
}

fn positive(text: &str) -> Option<Id> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) || text.starts_with('0') {
        return None;
    }
    text.parse::<Id>().ok()
}

/// The global id of a record of `kind`.
pub fn id(kind: Kind, value: Id) -> ID {
    Global {
        kind,
        id: value,
        owner: None,
    }
    .encode()
}

/// The global id of an indicator of a practice.
pub fn indicator_id(practice: Id, value: Id) -> ID {
    Global {
        kind: Kind::Indicator,
        id: value,
        owner: Some(practice),
    }
    .encode()
}

/// The global id of a record the audit trail or the change feed names by its type; a type
/// without global ids keeps its number.
pub fn id_of_named(name: &str, value: Id) -> ID {
    match Kind::named(name) {
        Some(kind) if kind != Kind::Indicator => id(kind, value),
        _ => ID(value.to_string()),
    }
}

/// An id argument or input field that names a record of `kind`: its global id, or the plain
/// number clients used before global ids.
pub fn parse_id(kind: Kind, field: &str, id: &ID) -> async_graphql::Result<Id> {
    number(kind, field, id).map_err(|e| crate::error::ApiError(e).into())
}

/// The same for the other readers of ids (the CSV files' filters), as a domain error.
pub fn number(kind: Kind, field: &str, id: &str) -> domain::Result<Id> {
    let number = match Global::decode(id) {
        Some(global) if global.kind == kind => Some(global.id),
        Some(_) => {
            return Err(domain::Error::validation(
                field,
                format!("is the id of another type than {}", kind.name()),
            ));
        }
        None => id.parse::<Id>().ok().filter(|v| *v > 0),
    };
    number.ok_or_else(|| domain::Error::validation(field, "is not an id of this API"))
}

/// An id argument that names a record of any type (the audit trail's `entityId`): a global id,
/// or a plain number.
pub fn parse_any_id(field: &str, id: &ID) -> async_graphql::Result<Id> {
    Global::decode(id)
        .map(|g| g.id)
        .or_else(|| id.parse::<Id>().ok().filter(|v| *v > 0))
        .ok_or_else(|| validation(field, "is not an id of this API"))
}

/// An optional id argument or input field.
pub fn parse_opt_id(kind: Kind, field: &str, id: &Option<ID>) -> async_graphql::Result<Option<Id>> {
    id.as_ref().map(|i| parse_id(kind, field, i)).transpose()
}

/// An optional list of ids; absent stays absent (an update keeps the list as it is).
pub fn parse_ids(
    kind: Kind,
    field: &str,
    list: &Option<Vec<ID>>,
) -> async_graphql::Result<Option<Vec<Id>>> {
    list.as_ref()
        .map(|l| l.iter().map(|i| parse_id(kind, field, i)).collect())
        .transpose()
}

const CURSOR_PREFIX: &str = "c1:";

pub fn cursor(value: Id) -> String {
    let mut text = [0u8; 24];
    let mut buffer = [0u8; 20];
    let digits = decimal(value, &mut buffer);
    let len = CURSOR_PREFIX.len() + digits.len();
    text[..CURSOR_PREFIX.len()].copy_from_slice(CURSOR_PREFIX.as_bytes());
    text[CURSOR_PREFIX.len()..len].copy_from_slice(digits);
    URL_SAFE_NO_PAD.encode(&text[..len])
}

/// An edge's cursor, kept as its id and written out only when a client selects it: most pages
/// are read through `nodes`, and a large answer (`schemeOverlaps`, some two thousand nodes)
/// spent a few hundredths of its time writing cursors nobody asked for.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct IdCursor(pub Id);

impl CursorType for IdCursor {
    type Error = &'static str;

    fn decode_cursor(s: &str) -> Result<Self, Self::Error> {
        parse_cursor(Some(s))
            .ok()
            .flatten()
            .map(IdCursor)
            .ok_or("is not a cursor of this list")
    }

    fn encode_cursor(&self) -> String {
        cursor(self.0)
    }
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
        for n in [0, 9, 10, 42, i64::MAX, i64::MIN] {
            let text = String::from_utf8(URL_SAFE_NO_PAD.decode(cursor(n)).unwrap()).unwrap();
            assert_eq!(text, format!("{CURSOR_PREFIX}{n}"));
            assert_eq!(
                IdCursor::decode_cursor(&IdCursor(n).encode_cursor()),
                Ok(IdCursor(n))
            );
        }
        assert!(IdCursor::decode_cursor("not-a-cursor").is_err());
        assert!(parse_cursor(Some("not-a-cursor")).is_err());
        assert_eq!(parse_cursor(None).unwrap(), None);
    }

    #[test]
    fn global_ids_spell_type_and_numbers_in_decimal() {
        let text =
            |g: Global| String::from_utf8(URL_SAFE_NO_PAD.decode(g.encode().0).unwrap()).unwrap();
        for n in [0, 7, 9, 10, 42, 1_000_000, -3, i64::MAX, i64::MIN] {
            let plain = Global {
                kind: Kind::SupportScheme,
                id: n,
                owner: None,
            };
            assert_eq!(text(plain), format!("SupportScheme:{n}"));
            let owned = Global {
                kind: Kind::Indicator,
                id: n,
                owner: Some(i64::MIN + n.rem_euclid(5)),
            };
            assert_eq!(
                text(owned),
                format!("Indicator:{}/{n}", i64::MIN + n.rem_euclid(5))
            );
        }
    }

    #[test]
    fn global_ids_are_unique_across_types_and_round_trip() {
        let of = |k: Kind| match k {
            Kind::Indicator => indicator_id(3, 7),
            _ => id(k, 7),
        };
        let ids: Vec<ID> = Kind::ALL.into_iter().map(of).collect();
        for (i, a) in ids.iter().enumerate() {
            assert!(ids[i + 1..].iter().all(|b| a != b), "{a:?} repeated");
        }
        for kind in Kind::ALL {
            assert_eq!(parse_id(kind, "id", &of(kind)).unwrap(), 7);
        }
        let ind = Global::decode(&indicator_id(3, 9)).unwrap();
        assert_eq!((ind.kind, ind.id, ind.owner), (Kind::Indicator, 9, Some(3)));
    }

    #[test]
    fn typed_parsing_takes_numbers_and_refuses_other_types_and_garbage() {
        assert_eq!(parse_id(Kind::City, "id", &ID("12".into())).unwrap(), 12);
        assert!(parse_id(Kind::City, "id", &id(Kind::Donor, 12)).is_err());
        for garbage in ["", "0", "-3", "abc", "UHJhY3RpY2U6", "UHJhY3RpY2U6MDE"] {
            assert!(
                parse_id(Kind::Practice, "id", &ID(garbage.into())).is_err(),
                "{garbage}"
            );
        }
        // A number padded with zeros would be a second id of the same record.
        assert_eq!(Global::decode(&URL_SAFE_NO_PAD.encode("City:007")), None);
        assert_eq!(Global::decode(&URL_SAFE_NO_PAD.encode("City:1/2")), None);
        assert_eq!(Global::decode(&URL_SAFE_NO_PAD.encode("Indicator:2")), None);
    }
}
