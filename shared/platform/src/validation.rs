//! Collecting every field error of a request before answering, so a client
//! learns all that is wrong with one 400, not one field at a time.

use crate::error::{ApiError, FieldError};

/// Accumulates field errors while request DTOs are parsed into domain types.
///
/// ```
/// use platform::validation::Validator;
/// let mut v = Validator::new();
/// let n: Option<u8> = v.field("count", "7".parse::<u8>().map_err(|e| e.to_string()));
/// assert_eq!(n, Some(7));
/// assert!(v.finish().is_ok());
/// ```
#[derive(Debug, Default)]
pub struct Validator {
    errors: Vec<FieldError>,
}

impl Validator {
    /// An empty validator.
    pub fn new() -> Self {
        Self::default()
    }

    /// Records the error of `result` under `field`; `Some` on success.
    pub fn field<T, E: std::fmt::Display>(&mut self, field: &str, result: Result<T, E>) -> Option<T> {
        match result {
            Ok(value) => Some(value),
            Err(err) => {
                self.errors.push(FieldError::new(field, err.to_string()));
                None
            }
        }
    }

    /// Parses an optional value, recording an error only for a present, bad one.
    pub fn optional<R, T, E: std::fmt::Display>(
        &mut self,
        field: &str,
        raw: Option<R>,
        parse: impl FnOnce(R) -> Result<T, E>,
    ) -> Option<Option<T>> {
        match raw {
            None => Some(None),
            Some(raw) => self.field(field, parse(raw)).map(Some),
        }
    }

    /// Records an error directly.
    pub fn error(&mut self, field: &str, message: impl Into<String>) {
        self.errors.push(FieldError::new(field, message));
    }

    /// `Ok` if nothing was recorded, otherwise the 400 with every error.
    pub fn finish(self) -> Result<(), ApiError> {
        if self.errors.is_empty() { Ok(()) } else { Err(ApiError::Validation(self.errors)) }
    }

    /// The 400 with every error (use in the `else` of a `let`-`else` over the fields).
    pub fn into_error(self) -> ApiError {
        if self.errors.is_empty() {
            // Unreachable by construction: a `None` field always recorded an error.
            ApiError::invalid("body", "invalid request")
        } else {
            ApiError::Validation(self.errors)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn collects_every_error() {
        let mut v = Validator::new();
        let a: Option<u8> = v.field("a", "x".parse::<u8>().map_err(|e| e.to_string()));
        let b: Option<u8> = v.field("b", "300".parse::<u8>().map_err(|e| e.to_string()));
        assert!(a.is_none() && b.is_none());
        let ApiError::Validation(errors) = v.into_error() else { panic!("expected validation") };
        assert_eq!(errors.iter().map(|e| e.field.as_str()).collect::<Vec<_>>(), ["a", "b"]);
    }
}
