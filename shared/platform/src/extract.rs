//! Our own extractors: every malformed body or query string becomes a 400
//! problem document naming the offending field, never axum's plain-text
//! rejection and never a 500.

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::error::ApiError;

/// Largest JSON body a handler accepts (1 MiB); uploads go to the blob store.
pub const MAX_JSON_BODY: usize = 1024 * 1024;

/// A JSON request body or response.
#[derive(Debug, Clone, Copy, Default)]
pub struct Json<T>(pub T);

fn path_error<E: std::fmt::Display>(err: serde_path_to_error::Error<E>, root: &str) -> ApiError {
    let path = err.path().to_string();
    let field = if path == "." || path.is_empty() { root.to_string() } else { path };
    ApiError::invalid(field, err.inner().to_string())
}

fn is_json(content_type: &str) -> bool {
    let essence = content_type.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    essence == "application/json" || (essence.starts_with("application/") && essence.ends_with("+json"))
}

/// Parses a JSON document into `T`, naming the failing field.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(&mut de).map_err(|e| path_error(e, "body"))?;
    de.end().map_err(|e| ApiError::invalid("body", e.to_string()))?;
    Ok(value)
}

impl<S, T> FromRequest<S> for Json<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let content_type = req.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
        if !is_json(content_type) {
            return Err(ApiError::UnsupportedMediaType);
        }
        let bytes = Bytes::from_request(req, state).await.map_err(|rejection| {
            if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::PayloadTooLarge
            } else {
                ApiError::invalid("body", rejection.body_text())
            }
        })?;
        parse_json(&bytes).map(Json)
    }
}

impl<T: Serialize> IntoResponse for Json<T> {
    fn into_response(self) -> Response {
        axum::Json(self.0).into_response()
    }
}

/// Query-string parameters. Give `T` `#[serde(deny_unknown_fields)]` so an
/// unknown parameter is a 400, as the contract requires.
#[derive(Debug, Clone, Copy, Default)]
pub struct Query<T>(pub T);

/// Parses a query string into `T`, naming the failing parameter.
pub fn parse_query<T: DeserializeOwned>(query: &str) -> Result<T, ApiError> {
    let de = serde_urlencoded::Deserializer::new(form_urlencoded::parse(query.as_bytes()));
    serde_path_to_error::deserialize(de).map_err(|e| path_error(e, "query"))
}

impl<S, T> FromRequestParts<S> for Query<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        parse_query(parts.uri.query().unwrap_or("")).map(Query)
    }
}

/// A path parameter that must be a UUID; anything else is a 404 (an ID that
/// cannot exist), never a 400 that would tell a prober about our ID format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PathId(pub uuid::Uuid);

impl<S: Send + Sync> FromRequestParts<S> for PathId {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let axum::extract::Path(raw) =
            axum::extract::Path::<String>::from_request_parts(parts, state).await.map_err(|_| ApiError::NotFound)?;
        uuid::Uuid::parse_str(&raw).map(PathId).map_err(|_| ApiError::NotFound)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields, rename_all = "camelCase")]
    struct Body {
        #[allow(dead_code)]
        owner: Owner,
    }

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields, rename_all = "camelCase")]
    struct Owner {
        #[allow(dead_code)]
        first_name: String,
    }

    #[test]
    fn a_wrong_type_names_the_field() {
        let err = parse_json::<Body>(br#"{"owner": {"firstName": 3}}"#).unwrap_err();
        let problem = err.problem();
        assert_eq!(problem.errors.unwrap()[0].field, "owner.firstName");
    }

    #[test]
    fn malformed_json_is_a_validation_error() {
        let err = parse_json::<Body>(b"{nope").unwrap_err();
        assert_eq!(err.code(), "validation_failed");
    }

    #[test]
    fn trailing_garbage_is_rejected() {
        assert!(parse_json::<Body>(br#"{"owner": {"firstName": "a"}} x"#).is_err());
    }

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Params {
        #[allow(dead_code)]
        limit: Option<u32>,
    }

    #[test]
    fn unknown_or_malformed_query_parameters_are_rejected() {
        assert!(parse_query::<Params>("limit=5").is_ok());
        let err = parse_query::<Params>("limit=five").unwrap_err();
        assert_eq!(err.problem().errors.unwrap()[0].field, "limit");
        assert!(parse_query::<Params>("limt=5").is_err());
    }

    #[test]
    fn json_content_types() {
        assert!(is_json("application/json; charset=utf-8"));
        assert!(is_json("application/merge-patch+json"));
        assert!(!is_json("text/plain"));
    }
}
