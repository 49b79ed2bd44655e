//! Keyset pagination: a page is the records after a cursor, in id order.

use crate::entities::Id;
use crate::{Error, Result};

pub use crate::limits::{DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageRequest {
    pub first: u64,
    pub after: Option<Id>,
}

impl PageRequest {
    pub fn new(first: Option<i32>, after: Option<Id>) -> Result<Self> {
        let first = match first {
            None => DEFAULT_PAGE_SIZE,
            Some(n) if n < 0 => return Err(Error::validation("first", "must not be negative")),
            Some(n) if n as u64 > MAX_PAGE_SIZE => {
                return Err(Error::validation(
                    "first",
                    format!("at most {MAX_PAGE_SIZE} per page"),
                ));
            }
            Some(n) => n as u64,
        };
        Ok(PageRequest { first, after })
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub has_next_page: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_size_is_bounded() {
        assert_eq!(
            PageRequest::new(None, None).unwrap().first,
            DEFAULT_PAGE_SIZE
        );
        assert_eq!(PageRequest::new(Some(100), None).unwrap().first, 100);
        assert!(PageRequest::new(Some(101), None).is_err());
        assert!(PageRequest::new(Some(-1), None).is_err());
    }
}
