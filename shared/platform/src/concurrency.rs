//! Optimistic concurrency: every stored resource has an integer `version`,
//! responses carry `ETag: "<version>"`, and writes honour `If-Match`
//! (a mismatch is a 412), so two writers never silently lose an update.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, header};

use crate::error::ApiError;

/// The `ETag` header value for a version.
pub fn etag(version: i64) -> HeaderValue {
    HeaderValue::from_str(&format!("\"{version}\"")).unwrap_or_else(|_| HeaderValue::from_static("\"0\""))
}

/// Headers carrying the `ETag` of a version.
pub fn etag_headers(version: i64) -> HeaderMap {
    let mut headers = HeaderMap::new();
    headers.insert(header::ETAG, etag(version));
    headers
}

/// The parsed `If-Match` precondition of a request.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum IfMatch {
    /// No header: last writer wins, but still atomically (the version the
    /// handler read is the one checked).
    #[default]
    Absent,
    /// `If-Match: *`: the resource must exist.
    Any,
    /// `If-Match: "3"` (or a list): one of these versions.
    Versions(Vec<i64>),
}

impl IfMatch {
    /// Parses the header value.
    pub fn parse(raw: Option<&str>) -> Result<Self, ApiError> {
        let Some(raw) = raw else { return Ok(IfMatch::Absent) };
        let raw = raw.trim();
        if raw == "*" {
            return Ok(IfMatch::Any);
        }
        let mut versions = Vec::new();
        for tag in raw.split(',') {
            let tag = tag.trim().trim_start_matches("W/");
            let inner = tag.strip_prefix('"').and_then(|t| t.strip_suffix('"'));
            match inner.and_then(|v| v.parse::<i64>().ok()) {
                Some(v) => versions.push(v),
                None => return Err(ApiError::invalid("If-Match", "must be an ETag such as \"3\"")),
            }
        }
        Ok(IfMatch::Versions(versions))
    }

    /// Checks the current version; 412 on a mismatch.
    pub fn check(&self, current: i64) -> Result<(), ApiError> {
        match self {
            IfMatch::Versions(v) if !v.contains(&current) => Err(ApiError::PreconditionFailed),
            _ => Ok(()),
        }
    }
}

/// What `IfMatch::parse` accepts besides `*`, as an ECMA 262 pattern: a
/// comma-separated list of (weak or strong) ETags of integer versions.
pub const ETAG_LIST_PATTERN: &str = r#"^\s*(?:W/)*"[+-]?[0-9]{1,18}"(?:\s*,\s*(?:W/)*"[+-]?[0-9]{1,18}")*\s*$"#;

impl IfMatch {
    /// The OpenAPI schema of the header: `*`, or a list of ETags.
    ///
    /// Two alternatives rather than one pattern with `\*|...` inside: a
    /// tool that cannot draw a value for a pattern (schemathesis draws
    /// header values from letters and digits, so no ETag with its quotes)
    /// still finds `*` as a valid value, instead of sending one the server
    /// must reject as if it were valid.
    pub fn schema() -> utoipa::openapi::Schema {
        use utoipa::openapi::schema::{AnyOfBuilder, ObjectBuilder, Type};
        AnyOfBuilder::new()
            .item(ObjectBuilder::new().schema_type(Type::String).enum_values(Some(["*"])))
            .item(ObjectBuilder::new().schema_type(Type::String).pattern(Some(ETAG_LIST_PATTERN)))
            .build()
            .into()
    }
}

/// `params(IfMatch)` documents the optional `If-Match` header of a write.
impl utoipa::IntoParams for IfMatch {
    fn into_params(
        _: impl Fn() -> Option<utoipa::openapi::path::ParameterIn>,
    ) -> Vec<utoipa::openapi::path::Parameter> {
        vec![
            utoipa::openapi::path::ParameterBuilder::new()
                .name("If-Match")
                .parameter_in(utoipa::openapi::path::ParameterIn::Header)
                .required(utoipa::openapi::Required::False)
                .description(Some(
                    "The `ETag` of the version read (`\"3\"`, a list, or `*`); another current version answers 412",
                ))
                .schema(Some(Self::schema()))
                .build(),
        ]
    }
}

impl<S: Send + Sync> FromRequestParts<S> for IfMatch {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let raw = match parts.headers.get(header::IF_MATCH) {
            Some(v) => Some(v.to_str().map_err(|_| ApiError::invalid("If-Match", "must be ASCII"))?),
            None => None,
        };
        IfMatch::parse(raw)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_checks() {
        assert_eq!(IfMatch::parse(None).unwrap(), IfMatch::Absent);
        assert_eq!(IfMatch::parse(Some("*")).unwrap(), IfMatch::Any);
        assert_eq!(IfMatch::parse(Some("\"3\", W/\"4\"")).unwrap(), IfMatch::Versions(vec![3, 4]));
        assert!(IfMatch::parse(Some("3")).is_err());
        assert!(IfMatch::parse(Some("\"3\"")).unwrap().check(3).is_ok());
        assert_eq!(IfMatch::parse(Some("\"3\"")).unwrap().check(4).unwrap_err().code(), "precondition_failed");
        assert!(IfMatch::Absent.check(9).is_ok());
    }

    #[test]
    fn etags_are_quoted_versions() {
        assert_eq!(etag(7), "\"7\"");
    }
}
