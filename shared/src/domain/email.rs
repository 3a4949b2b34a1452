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

    /// Parses and normalises an address: at most [`Self::MAX_LEN`]
    /// characters as sent, white space around a dot-atom local part, `@`
    /// and a domain of at least two dot-separated labels (letters, digits
    /// and inner hyphens, at most 63 characters each). Exactly what the
    /// schema's pattern and `maxLength` state.
    pub fn parse(raw: &str) -> Result<Self, String> {
        let trimmed = raw.trim();
        if trimmed.is_empty() {
            return Err("must not be empty".into());
        }
        if raw.chars().count() > Self::MAX_LEN {
            return Err(format!("must be at most {} characters", Self::MAX_LEN));
        }
        if !is_address(trimmed) {
            return Err("must be an email address".into());
        }
        Ok(Self(trimmed.to_lowercase()))
    }

    /// The normalised address.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The OpenAPI schema of a request field holding an email
    /// (`#[schema(schema_with = Email::schema)]`): the pattern and
    /// `maxLength` are `parse`'s rule. No `format: email`: that format
    /// refuses the white space around an address that `parse` trims away,
    /// so it would call valid requests invalid.
    pub fn schema() -> utoipa::openapi::Object {
        super::string_schema(1, Self::MAX_LEN, Some(&email_pattern()))
    }

    /// `schema`, also allowing `null`.
    pub fn nullable_schema() -> utoipa::openapi::Object {
        super::nullable(Self::schema())
    }
}

/// The characters of a local part's atoms besides letters and digits (RFC 5322 `atext`).
const ATEXT_SPECIALS: &str = "!#$%&'*+/=?^_`{|}~-";

/// Most characters of one domain label (RFC 1035).
const MAX_LABEL: usize = 63;

/// Whether `address` (trimmed) is a dot-atom local part, `@` and a domain
/// of at least two labels: what [`email_pattern`] matches inside the white
/// space.
fn is_address(address: &str) -> bool {
    let Some((local, domain)) = address.split_once('@') else { return false };
    let atext = |c: char| c.is_ascii_alphanumeric() || ATEXT_SPECIALS.contains(c);
    let local_ok = local.split('.').all(|atom| !atom.is_empty() && atom.chars().all(atext));
    let labels: Vec<&str> = domain.split('.').collect();
    let label_ok = |label: &&str| {
        let bytes = label.as_bytes();
        !bytes.is_empty()
            && bytes.len() <= MAX_LABEL
            && bytes[0].is_ascii_alphanumeric()
            && bytes[bytes.len() - 1].is_ascii_alphanumeric()
            && bytes.iter().all(|b| b.is_ascii_alphanumeric() || *b == b'-')
    };
    local_ok && labels.len() >= 2 && labels.iter().all(label_ok)
}

/// What `parse` accepts, as an ECMA 262 pattern: a local part, `@`, and a
/// domain of dot-separated labels with at least one dot, around optional
/// white space.
fn email_pattern() -> String {
    let ws = super::WHITE_SPACE;
    // `-` ends ATEXT_SPECIALS, so it stands for itself in the class.
    let atext = format!("[A-Za-z0-9{ATEXT_SPECIALS}]");
    let label = format!("[A-Za-z0-9](?:[A-Za-z0-9-]{{0,{}}}[A-Za-z0-9])?", MAX_LABEL - 2);
    format!(r"^{ws}*{atext}+(?:\.{atext}+)*@{label}(?:\.{label})+{ws}*$")
}

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
        for bad in [
            "",
            "ada",
            "ada@",
            "@example.com",
            "a b@example.com",
            "ada@localhost",
            "ada..b@example.com",
            ".ada@example.com",
            "ada@-example.com",
            "ada@example-.com",
            "ada@example..com",
            "\"ada\"@example.com",
            "ada@[127.0.0.1]",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad:?} was accepted");
        }
        assert!(Email::parse(&format!("{}@example.com", "a".repeat(250))).is_err());
        assert!(Email::parse(&format!("ada@{}.com", "a".repeat(64))).is_err());
        // The bound counts what was sent, as the schema's `maxLength` does.
        assert!(Email::parse(&format!("{}@example.com{}", "a".repeat(240), " ".repeat(10))).is_err());
        assert!(Email::parse("o'brien+tag@mail.example-one.org").is_ok());
    }
}
