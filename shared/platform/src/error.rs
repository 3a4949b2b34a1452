//! One error type for every handler, mapped to RFC 9457 problem documents
//! with the stable `code`s of the API contract. Internal causes are logged
//! with the request id and never sent to clients.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

use crate::table::TableError;

/// Media type of problem documents.
pub const PROBLEM_JSON: &str = "application/problem+json";

/// Handler result type.
pub type Result<T, E = ApiError> = std::result::Result<T, E>;

/// One invalid field of a request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct FieldError {
    /// Dotted path of the field (`owner.email`), or the parameter name.
    pub field: String,
    /// What is wrong with it, for people.
    pub message: String,
}

impl FieldError {
    /// A field error.
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self { field: field.into(), message: message.into() }
    }
}

/// Every way a request can fail.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// 400 `validation_failed`: the request is malformed or breaks a rule.
    #[error("validation failed")]
    Validation(Vec<FieldError>),
    /// 401 `unauthenticated`: no valid credentials.
    #[error("unauthenticated")]
    Unauthenticated,
    /// 401 `mfa_required`: the password was right, a second factor is needed.
    #[error("mfa required")]
    MfaRequired,
    /// 403 `forbidden`: authenticated, visible, but not allowed.
    #[error("forbidden: {0}")]
    Forbidden(String),
    /// 404 `not_found`: absent, or belonging to a tenant the caller cannot see.
    #[error("not found")]
    NotFound,
    /// 409 `conflict`: clashes with the current state.
    #[error("conflict: {0}")]
    Conflict(String),
    /// 412 `precondition_failed`: `If-Match` did not match the current version.
    #[error("precondition failed")]
    PreconditionFailed,
    /// 413 `payload_too_large`.
    #[error("payload too large")]
    PayloadTooLarge,
    /// 415 `unsupported_media_type`.
    #[error("unsupported media type")]
    UnsupportedMediaType,
    /// 405 `method_not_allowed`.
    #[error("method not allowed")]
    MethodNotAllowed,
    /// 423 `account_locked`, with when it opens again.
    #[error("account locked")]
    AccountLocked {
        /// When the lock ends (RFC 3339), if known.
        until: Option<chrono::DateTime<chrono::Utc>>,
    },
    /// 429 `rate_limited`, with `Retry-After` seconds.
    #[error("rate limited")]
    RateLimited {
        /// Seconds until a retry may succeed.
        retry_after: u64,
    },
    /// 500 `internal`: anything unexpected; the cause is logged, not sent.
    #[error("internal error")]
    Internal(#[source] anyhow::Error),
    /// 503 `service_unavailable`: the function cannot serve yet (its signing
    /// keys could not be read); retrying may succeed. The cause is logged.
    #[error("service unavailable")]
    Unavailable(#[source] anyhow::Error),
}

impl ApiError {
    /// A 400 for one field.
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        ApiError::Validation(vec![FieldError::new(field, message)])
    }

    /// The HTTP status of this error.
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::Validation(_) => StatusCode::BAD_REQUEST,
            ApiError::Unauthenticated | ApiError::MfaRequired => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::NotFound => StatusCode::NOT_FOUND,
            ApiError::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::Conflict(_) => StatusCode::CONFLICT,
            ApiError::PreconditionFailed => StatusCode::PRECONDITION_FAILED,
            ApiError::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::AccountLocked { .. } => StatusCode::LOCKED,
            ApiError::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
            ApiError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    /// The stable machine code of this error.
    pub fn code(&self) -> &'static str {
        match self {
            ApiError::Validation(_) => "validation_failed",
            ApiError::Unauthenticated => "unauthenticated",
            ApiError::MfaRequired => "mfa_required",
            ApiError::Forbidden(_) => "forbidden",
            ApiError::NotFound => "not_found",
            ApiError::MethodNotAllowed => "method_not_allowed",
            ApiError::Conflict(_) => "conflict",
            ApiError::PreconditionFailed => "precondition_failed",
            ApiError::PayloadTooLarge => "payload_too_large",
            ApiError::UnsupportedMediaType => "unsupported_media_type",
            ApiError::AccountLocked { .. } => "account_locked",
            ApiError::RateLimited { .. } => "rate_limited",
            ApiError::Internal(_) => "internal",
            ApiError::Unavailable(_) => "service_unavailable",
        }
    }

    fn detail(&self) -> String {
        match self {
            ApiError::Validation(_) => "The request is not valid; see errors.".into(),
            ApiError::Unauthenticated => "Valid credentials are required.".into(),
            ApiError::MfaRequired => "A second factor (mfaCode) is required.".into(),
            ApiError::Forbidden(why) | ApiError::Conflict(why) => why.clone(),
            ApiError::NotFound => "The resource does not exist.".into(),
            ApiError::MethodNotAllowed => "The method is not allowed on this resource.".into(),
            ApiError::PreconditionFailed => "If-Match does not match the current version.".into(),
            ApiError::PayloadTooLarge => "The request body is too large.".into(),
            ApiError::UnsupportedMediaType => "Send the body as application/json.".into(),
            ApiError::AccountLocked { until: Some(t) } => {
                format!("The account is locked until {}.", t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
            }
            ApiError::AccountLocked { until: None } => "The account is locked.".into(),
            ApiError::RateLimited { retry_after } => format!("Too many requests; retry in {retry_after} s."),
            ApiError::Internal(_) => "An unexpected error occurred.".into(),
            ApiError::Unavailable(_) => "The service cannot answer yet; retry shortly.".into(),
        }
    }

    /// The problem document for this error.
    pub fn problem(&self) -> Problem {
        let status = self.status();
        Problem {
            r#type: format!("https://sundial.dev/problems/{}", self.code().replace('_', "-")),
            title: status.canonical_reason().unwrap_or("Error").to_string(),
            status: status.as_u16(),
            detail: self.detail(),
            code: self.code().to_string(),
            errors: match self {
                ApiError::Validation(errors) => Some(errors.clone()),
                _ => None,
            },
            locked_until: match self {
                ApiError::AccountLocked { until } => *until,
                _ => None,
            },
        }
    }
}

/// An RFC 9457 problem document.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Problem {
    /// URI naming the problem type.
    pub r#type: String,
    /// Short summary of the status.
    pub title: String,
    /// HTTP status.
    pub status: u16,
    /// What happened, for people.
    pub detail: String,
    /// Stable machine code (`validation_failed`, `not_found`, ...).
    pub code: String,
    /// Invalid fields, for `validation_failed`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub errors: Option<Vec<FieldError>>,
    /// When a locked account opens again, for `account_locked`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub locked_until: Option<chrono::DateTime<chrono::Utc>>,
}

/// Marker extension carrying an internal error's cause chain to the
/// request-logging middleware, which logs it once with the request id.
#[derive(Clone, Debug)]
pub struct InternalCause(pub std::sync::Arc<String>);

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let problem = self.problem();
        let body = serde_json::to_vec(&problem).unwrap_or_default();
        let mut response = (self.status(), body).into_response();
        let headers = response.headers_mut();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
        if let ApiError::RateLimited { retry_after } = &self {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(*retry_after));
        }
        if let ApiError::Unavailable(_) = &self {
            headers.insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        }
        if let ApiError::Internal(cause) | ApiError::Unavailable(cause) = &self {
            response.extensions_mut().insert(InternalCause(std::sync::Arc::new(format!("{cause:#}"))));
        }
        response
    }
}

impl From<anyhow::Error> for ApiError {
    fn from(err: anyhow::Error) -> Self {
        ApiError::Internal(err)
    }
}

/// Generic explanation of a lost race.
pub const CHANGED_CONCURRENTLY: &str = "The resource changed concurrently; retry the request.";

impl From<TableError> for ApiError {
    /// The one mapping of a storage failure that a handler did not handle
    /// itself: a lost race (a transaction conflict, or a condition that no
    /// longer held) is a 409 the client may retry; anything else is internal.
    fn from(err: TableError) -> Self {
        match err {
            TableError::Conflict | TableError::ConditionFailed { .. } => {
                ApiError::Conflict(CHANGED_CONCURRENTLY.into())
            }
            other => ApiError::Internal(anyhow::Error::new(other)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn internal_errors_do_not_leak_their_cause() {
        let err = ApiError::Internal(anyhow::anyhow!("password=hunter2 table exploded"));
        let response = err.into_response();
        assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(response.headers()[header::CONTENT_TYPE], PROBLEM_JSON);
        let body = axum::body::to_bytes(response.into_body(), usize::MAX).await.unwrap();
        let text = String::from_utf8(body.to_vec()).unwrap();
        assert!(!text.contains("hunter2"), "{text}");
        let json: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(json["code"], "internal");
        assert_eq!(json["status"], 500);
    }

    #[test]
    fn validation_problems_list_their_fields() {
        let problem = ApiError::invalid("owner.email", "must be an email address").problem();
        assert_eq!(problem.status, 400);
        assert_eq!(problem.code, "validation_failed");
        assert_eq!(problem.errors.unwrap()[0].field, "owner.email");
    }

    #[test]
    fn rate_limited_sets_retry_after() {
        let response = ApiError::RateLimited { retry_after: 7 }.into_response();
        assert_eq!(response.headers()[header::RETRY_AFTER], "7");
    }
}
