use serde::{Deserialize, Serialize};
use std::fmt;

/// An email address, normalised to lower case so uniqueness is
/// case-insensitive.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Email(String);

impl Email {
    /// Longest address accepted (RFC 5321 path limit).
    pub const MAX_LEN: usize = 254;

    /// Parses and normalises an address.
    pub fn parse(raw: &str) -> Result<Self, String> {
        let trimmed = raw.trim();
        if trimmed.is_empty() {
            return Err("must not be empty".into());
        }
        if trimmed.len() > Self::MAX_LEN {
            return Err(format!("must be at most {} characters", Self::MAX_LEN));
        }
        if !email_address::EmailAddress::is_valid(trimmed) || !trimmed.contains('.') {
            return Err("must be an email address".into());
        }
        Ok(Self(trimmed.to_lowercase()))
    }

    /// The normalised address.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The OpenAPI schema of a request field holding an email
    /// (`#[schema(schema_with = Email::schema)]`).
    pub fn schema() -> utoipa::openapi::Object {
        let mut schema = super::string_schema(1, Self::MAX_LEN, Some(EMAIL_PATTERN));
        schema.format = Some(utoipa::openapi::SchemaFormat::KnownFormat(utoipa::openapi::KnownFormat::Email));
        schema
    }

    /// `schema`, also allowing `null`.
    pub fn nullable_schema() -> utoipa::openapi::Object {
        super::nullable(Self::schema())
    }
}

/// A local part, `@`, and a domain of dot-separated labels with at least one
/// dot (`parse` also requires a dot), around optional white space.
const EMAIL_PATTERN: &str = r"^\s*[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+\s*$";

impl TryFrom<String> for Email {
    type Error = String;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<Email> for String {
    fn from(value: Email) -> Self {
        value.0
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalises_case_and_whitespace() {
        assert_eq!(Email::parse("  Ada@Example.COM ").unwrap().as_str(), "ada@example.com");
    }

    #[test]
    fn rejects_non_addresses() {
        for bad in ["", "ada", "ada@", "@example.com", "a b@example.com", "ada@localhost"] {
            assert!(Email::parse(bad).is_err(), "{bad:?} was accepted");
        }
        assert!(Email::parse(&format!("{}@example.com", "a".repeat(250))).is_err());
    }
}
