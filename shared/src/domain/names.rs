use serde::{Deserialize, Serialize};
use std::fmt;

/// Trimmed text of at least one character without control characters
/// (names, titles), at most `MAX` characters as sent (white space around
/// it included, as the schema's `maxLength` counts). Over-long input is a
/// 400, never silently cut.
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
        if raw.chars().count() > MAX {
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
        super::string_schema(1, MAX, Some(&text_pattern()))
    }

    /// `schema`, also allowing `null` (an optional field).
    pub fn nullable_schema() -> utoipa::openapi::Object {
        super::nullable(Self::schema())
    }
}

/// What `BoundedText::parse` accepts, as an ECMA 262 pattern: after
/// trimming white space, at least one character and no control characters
/// (`char::is_control`).
fn text_pattern() -> String {
    let (ws, x) = (super::WHITE_SPACE, super::NOT_SPACE_OR_CONTROL);
    format!(r"^{ws}*{x}(?:[^\x00-\x1f\x7f-\x9f]*{x})?{ws}*$")
}

/// Optional free text (descriptions, bios): at most `MAX` characters as
/// sent, no control characters but line breaks and tabs; trimmed, and
/// nothing left means none.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FreeText<const MAX: usize>;

impl<const MAX: usize> FreeText<MAX> {
    /// Parses text: `None` when only white space was sent.
    pub fn parse(raw: &str) -> Result<Option<String>, String> {
        if raw.chars().count() > MAX {
            return Err(format!("must be at most {MAX} characters"));
        }
        let trimmed = raw.trim();
        if trimmed.chars().any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t')) {
            return Err("must not contain control characters".into());
        }
        Ok((!trimmed.is_empty()).then(|| trimmed.to_string()))
    }

    /// The OpenAPI schema of exactly what `parse` accepts.
    pub fn schema() -> utoipa::openapi::Object {
        let mut schema = super::string_schema(0, MAX, Some(&free_text_pattern()));
        schema.min_length = None;
        schema
    }

    /// `schema`, also allowing `null` (an optional field).
    pub fn nullable_schema() -> utoipa::openapi::Object {
        super::nullable(Self::schema())
    }
}

/// What `FreeText::parse` accepts, as an ECMA 262 pattern: white space
/// around text without control characters other than line breaks and tabs.
fn free_text_pattern() -> String {
    let (ws, x) = (super::WHITE_SPACE, super::NOT_SPACE_OR_CONTROL);
    format!(r"^{ws}*(?:{x}(?:[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]*{x})?)?{ws}*$")
}

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
        assert_eq!(BoundedText::<5>::parse(" Ada ").unwrap().as_str(), "Ada");
        // The bound counts what was sent, as the schema's `maxLength` does.
        assert!(BoundedText::<5>::parse("  Ada ").is_err());
        assert!(BoundedText::<5>::parse("   ").is_err());
        assert!(BoundedText::<5>::parse("Adelaide").is_err());
        assert!(BoundedText::<5>::parse("A\u{0}a").is_err());
        // Counted in characters, not bytes.
        assert!(BoundedText::<5>::parse("Åsa Ö").is_ok());
    }

    #[test]
    fn free_text_may_be_empty_and_keeps_line_breaks() {
        assert_eq!(FreeText::<10>::parse("  ").unwrap(), None);
        assert_eq!(FreeText::<10>::parse(" a\nb ").unwrap().as_deref(), Some("a\nb"));
        assert!(FreeText::<10>::parse("a\u{7}").is_err());
        assert!(FreeText::<3>::parse("abcd").is_err());
    }
}
