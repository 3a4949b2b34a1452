use serde::{Deserialize, Serialize};
use std::fmt;

/// Trimmed text of 1 to `MAX` characters without control characters (names,
/// titles). Over-long input is a 400, never silently cut.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct BoundedText<const MAX: usize>(String);

impl<const MAX: usize> BoundedText<MAX> {
    /// Parses text.
    pub fn parse(raw: &str) -> Result<Self, String> {
        let trimmed = raw.trim();
        if trimmed.is_empty() {
            return Err("must not be empty".into());
        }
        if trimmed.chars().count() > MAX {
            return Err(format!("must be at most {MAX} characters"));
        }
        if trimmed.chars().any(char::is_control) {
            return Err("must not contain control characters".into());
        }
        Ok(Self(trimmed.to_string()))
    }

    /// The text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The OpenAPI schema of exactly what `parse` accepts, for a request
    /// field that holds this type (`#[schema(schema_with = Name::schema)]`).
    pub fn schema() -> utoipa::openapi::Object {
        super::string_schema(1, MAX, Some(TEXT_PATTERN))
    }

    /// `schema`, also allowing `null` (an optional field).
    pub fn nullable_schema() -> utoipa::openapi::Object {
        super::nullable(Self::schema())
    }
}

/// What `parse` accepts, as an ECMA 262 pattern: after trimming white space,
/// at least one character and no control characters (`char::is_control`).
const TEXT_PATTERN: &str = r"^\s*[^\s\x00-\x1f\x7f-\x9f](?:[^\x00-\x1f\x7f-\x9f]*[^\s\x00-\x1f\x7f-\x9f])?\s*$";

impl<const MAX: usize> TryFrom<String> for BoundedText<MAX> {
    type Error = String;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl<const MAX: usize> From<BoundedText<MAX>> for String {
    fn from(value: BoundedText<MAX>) -> Self {
        value.0
    }
}

impl<const MAX: usize> fmt::Display for BoundedText<MAX> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trims_and_bounds() {
        assert_eq!(BoundedText::<5>::parse("  Ada ").unwrap().as_str(), "Ada");
        assert!(BoundedText::<5>::parse("   ").is_err());
        assert!(BoundedText::<5>::parse("Adelaide").is_err());
        assert!(BoundedText::<5>::parse("A\u{0}a").is_err());
        // Counted in characters, not bytes.
        assert!(BoundedText::<5>::parse("Åsa Ö").is_ok());
    }
}
