//! Applying the fields an input sets to a record. On update an absent field keeps its value; an
//! empty string clears an optional text. Each applied field is named in the audit entry, in the
//! order applied.

use crate::values::{self, bounded_text, optional_text};
use crate::{Error, Result};

#[derive(Debug, Default)]
pub(super) struct Patch {
    fields: Vec<String>,
}

impl Patch {
    /// A patch whose audit entry names `fields` first: what a creation always sets.
    pub fn setting(fields: &[&str]) -> Self {
        Patch {
            fields: fields.iter().map(|f| f.to_string()).collect(),
        }
    }

    /// Names `field` when `given`; answers `given`.
    pub fn touched(&mut self, field: &str, given: bool) -> bool {
        if given {
            self.fields.push(field.to_string());
        }
        given
    }

    /// The value when given, `field` named.
    pub fn given<T>(&mut self, field: &str, value: Option<T>) -> Option<T> {
        self.touched(field, value.is_some());
        value
    }

    /// A value that needs no check.
    pub fn value<T>(&mut self, field: &str, value: Option<T>, target: &mut T) {
        if let Some(v) = self.given(field, value) {
            *target = v;
        }
    }

    /// A value `check` validates, stored in an optional field.
    pub fn checked<T>(
        &mut self,
        field: &str,
        value: Option<T>,
        check: impl FnOnce(T) -> Result<T>,
        target: &mut Option<T>,
    ) -> Result<()> {
        if let Some(v) = self.given(field, value) {
            *target = Some(check(v)?);
        }
        Ok(())
    }

    /// A required text of 1 to `max` characters.
    pub fn text(
        &mut self,
        field: &str,
        value: Option<String>,
        max: usize,
        target: &mut String,
    ) -> Result<()> {
        if let Some(v) = self.given(field, value) {
            *target = bounded_text(field, &v, max)?;
        }
        Ok(())
    }

    /// An optional text of up to `max` characters; blank clears it.
    pub fn optional_text(
        &mut self,
        field: &str,
        value: Option<String>,
        max: usize,
        target: &mut Option<String>,
    ) -> Result<()> {
        if let Some(v) = self.given(field, value) {
            *target = optional_text(field, Some(&v), max)?;
        }
        Ok(())
    }

    /// Framework values: a set, whatever order and repetitions they come in.
    pub fn tags<T: Ord + Copy>(&mut self, field: &str, value: Option<Vec<T>>, target: &mut Vec<T>) {
        if let Some(v) = self.given(field, value) {
            *target = dedup(&v);
        }
    }

    /// Start and end years, checked together whenever either is given (or `always`).
    pub fn years(
        &mut self,
        start: Option<i32>,
        end: Option<i32>,
        always: bool,
        target: (&mut Option<i32>, &mut Option<i32>),
    ) -> Result<()> {
        let given =
            self.touched("startYear", start.is_some()) | self.touched("endYear", end.is_some());
        if given || always {
            let (s, e) = values::year_range(start.or(*target.0), end.or(*target.1))?;
            *target.0 = s;
            *target.1 = e;
        }
        Ok(())
    }

    /// The names of the fields applied, for the audit entry.
    pub fn fields(self) -> Vec<String> {
        self.fields
    }
}

pub(super) fn dedup<T: Ord + Copy>(values: &[T]) -> Vec<T> {
    let mut v = values.to_vec();
    v.sort();
    v.dedup();
    v
}

/// A number within `range`, or VALIDATION on `field` with `message`.
pub(super) fn within<T: PartialOrd>(
    field: &'static str,
    range: std::ops::RangeInclusive<T>,
    message: &'static str,
) -> impl FnOnce(T) -> Result<T> {
    move |v| {
        if range.contains(&v) {
            Ok(v)
        } else {
            Err(Error::validation(field, message))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_what_it_applies_in_order() {
        let mut patch = Patch::setting(&["name"]);
        let (mut title, mut summary, mut kind) = (String::from("old"), None, 1);
        patch
            .text("title", Some(" New ".into()), 10, &mut title)
            .unwrap();
        patch
            .optional_text("summary", None, 10, &mut summary)
            .unwrap();
        patch.value("kind", Some(2), &mut kind);
        assert_eq!((title.as_str(), summary, kind), ("New", None, 2));
        assert_eq!(patch.fields(), ["name", "title", "kind"]);
    }

    #[test]
    fn validates_with_the_field_name() {
        let mut patch = Patch::default();
        let mut title = String::new();
        let err = patch
            .text("title", Some(" ".into()), 10, &mut title)
            .unwrap_err();
        assert!(matches!(err, Error::Validation { ref field, .. } if field == "title"));
        let mut population = None;
        let check = within("population", 0..=10, "too many");
        let err = patch.checked("population", Some(11), check, &mut population);
        assert_eq!(err, Err(Error::validation("population", "too many")));
    }

    #[test]
    fn blank_clears_an_optional_text_and_tags_are_a_set() {
        let mut patch = Patch::default();
        let mut summary = Some("kept".to_string());
        patch
            .optional_text("summary", Some("  ".into()), 10, &mut summary)
            .unwrap();
        assert_eq!(summary, None);
        let mut tags = vec![];
        patch.tags("themes", Some(vec![3, 1, 3]), &mut tags);
        assert_eq!(tags, [1, 3]);
    }

    #[test]
    fn years_are_checked_together() {
        let mut patch = Patch::default();
        let (mut start, mut end) = (Some(1990), Some(1995));
        let err = patch.years(None, Some(1980), false, (&mut start, &mut end));
        assert!(err.is_err(), "the end before the kept start");
        patch
            .years(Some(1970), None, false, (&mut start, &mut end))
            .unwrap();
        assert_eq!((start, end), (Some(1970), Some(1995)));
        assert_eq!(patch.fields(), ["endYear", "startYear"]);
    }
}
