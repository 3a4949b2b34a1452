//! The group kit: what every resource group's handlers use the same way —
//! the problem responses of the OpenAPI document, the list envelope and its
//! query parameters, nested path ids, the created-response headers, and the
//! one mapping from a failed write to a problem. A new group imports these
//! instead of writing its own copies (copies drift: one answered 500 where
//! its twin said 409).

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, header};
use serde::Deserialize;
use utoipa::IntoParams;
use uuid::Uuid;

use crate::concurrency::{IfMatch, etag_headers};
use crate::error::{ApiError, Problem};
use crate::pagination::PageRequest;
use crate::table::{MAX_TRANSACTION_ITEMS, Table, TableError, WriteOp};

pub use crate::pagination::ListResponse;

/// Problems any authenticated route can answer.
#[derive(utoipa::IntoResponses)]
#[allow(dead_code)]
pub enum Problems {
    /// The request is invalid (`validation_failed`).
    #[response(status = 400, content_type = "application/problem+json")]
    BadRequest(Problem),
    /// No valid credentials.
    #[response(status = 401, content_type = "application/problem+json")]
    Unauthenticated(Problem),
    /// Visible, but not allowed (the caller's role or planner permission, or
    /// a credential without the scope).
    #[response(status = 403, content_type = "application/problem+json")]
    Forbidden(Problem),
    /// No such resource, or one the caller may not see (another tenant's).
    #[response(status = 404, content_type = "application/problem+json")]
    NotFound(Problem),
}

/// Problems of writes.
#[derive(utoipa::IntoResponses)]
#[allow(dead_code)]
pub enum WriteProblems {
    /// Clashes with the current state (a rule such as the last owner, or a
    /// concurrent change).
    #[response(status = 409, content_type = "application/problem+json")]
    Conflict(Problem),
    /// `If-Match` does not match the current version.
    #[response(status = 412, content_type = "application/problem+json")]
    PreconditionFailed(Problem),
}

/// Problems of routes that take a JSON body.
#[derive(utoipa::IntoResponses)]
#[allow(dead_code)]
pub enum BodyProblems {
    /// The body is larger than the route accepts (`payload_too_large`).
    #[response(status = 413, content_type = "application/problem+json")]
    PayloadTooLarge(Problem),
    /// The body is not `application/json` (`unsupported_media_type`).
    #[response(status = 415, content_type = "application/problem+json")]
    UnsupportedMediaType(Problem),
}

/// Problems of a `POST` create that takes `Idempotency-Key` (answered by
/// the idempotency layer before the handler runs).
#[derive(utoipa::IntoResponses)]
#[allow(dead_code)]
pub enum IdempotentProblems {
    /// The key was already used with a different request, or the first
    /// request with it is still being processed (`conflict`).
    #[response(status = 409, content_type = "application/problem+json")]
    KeyInUse(Problem),
}

/// `limit` and `cursor` of a list.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListParams {
    /// Items per page (1–100, default 25).
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<u32>,
    /// The `nextCursor` of the previous page.
    pub cursor: Option<String>,
}

impl ListParams {
    /// The validated page request.
    pub fn page(self) -> Result<PageRequest, ApiError> {
        PageRequest::new(self.limit, self.cursor)
    }
}

/// A page of decoded items in the list envelope.
pub fn page_of<T>(
    decoded: anyhow::Result<Vec<T>>,
    next_cursor: Option<String>,
) -> Result<crate::extract::Json<ListResponse<T>>, ApiError> {
    Ok(crate::extract::Json(ListResponse { items: decoded?, next_cursor }))
}

/// Two UUID path parameters (`/v1/organisations/{id}/groups/{groupId}`);
/// anything that is not a UUID is a 404, as with `PathId`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PathIds(pub Uuid, pub Uuid);

impl<S: Send + Sync> FromRequestParts<S> for PathIds {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let axum::extract::Path((a, b)) = axum::extract::Path::<(String, String)>::from_request_parts(parts, state)
            .await
            .map_err(|_| ApiError::NotFound)?;
        match (Uuid::parse_str(&a), Uuid::parse_str(&b)) {
            (Ok(a), Ok(b)) => Ok(PathIds(a, b)),
            _ => Err(ApiError::NotFound),
        }
    }
}

/// `ETag` plus `Location` headers for a created resource.
pub fn created_headers(version: i64, location: &str) -> HeaderMap {
    let mut headers = etag_headers(version);
    if let Ok(value) = location.parse() {
        headers.insert(header::LOCATION, value);
    }
    headers
}

pub use crate::error::CHANGED_CONCURRENTLY;

/// What a failed condition of one write means to the client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// The resource changed since it was read (412).
    Precondition,
    /// A rule of the current state (409 with this explanation).
    Conflict(&'static str),
    /// The resource is gone (404).
    NotFound,
}

impl Failure {
    fn error(&self) -> ApiError {
        match self {
            Failure::Precondition => ApiError::PreconditionFailed,
            Failure::Conflict(why) => ApiError::Conflict((*why).into()),
            Failure::NotFound => ApiError::NotFound,
        }
    }
}

/// The problem for a failed write whose every condition means "the resource
/// changed since it was read": 412 when the client pinned a version with
/// `If-Match`, else 409 (`what` says which resource). A transaction clash is
/// the same race, so it answers the same; any other storage failure is
/// internal.
pub fn write_failed(err: TableError, if_match: &IfMatch, what: &str) -> ApiError {
    match err {
        TableError::ConditionFailed { .. } | TableError::Conflict => match if_match {
            IfMatch::Versions(_) => ApiError::PreconditionFailed,
            _ => ApiError::Conflict(format!("The {what} changed meanwhile; read it again and retry.")),
        },
        other => other.into(),
    }
}

/// Commits `ops` all or nothing: a failed condition becomes
/// `on_condition(index of the failing write)`, a transaction clash a 409.
pub async fn commit_with(
    table: &dyn Table,
    ops: Vec<WriteOp>,
    on_condition: impl FnOnce(Option<usize>) -> ApiError,
) -> Result<(), ApiError> {
    match table.transact_write(ops).await {
        Ok(()) => Ok(()),
        Err(TableError::ConditionFailed { index }) => Err(on_condition(index)),
        Err(err) => Err(err.into()),
    }
}

/// Commits a write guarded by versions: a failed condition means the
/// resource changed since it was read (412), a transaction clash is a 409.
pub async fn commit_versioned(table: &dyn Table, ops: Vec<WriteOp>) -> Result<(), ApiError> {
    match table.transact_write(ops).await {
        Ok(()) => Ok(()),
        Err(TableError::ConditionFailed { .. }) => Err(ApiError::PreconditionFailed),
        Err(err) => Err(err.into()),
    }
}

/// A transaction whose every write says what its failing condition means,
/// so a failed commit answers with the right problem.
#[derive(Debug, Default)]
pub struct Tx {
    ops: Vec<WriteOp>,
    failures: Vec<Failure>,
}

impl Tx {
    /// An empty transaction.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a write.
    pub fn push(&mut self, op: WriteOp, failure: Failure) {
        self.ops.push(op);
        self.failures.push(failure);
    }

    /// Commits all writes or none; 409 when it would exceed one transaction.
    pub async fn commit(self, table: &dyn Table) -> Result<(), ApiError> {
        if self.ops.len() > MAX_TRANSACTION_ITEMS {
            return Err(ApiError::Conflict("The change touches too many items for one request; split it.".into()));
        }
        match table.transact_write(self.ops).await {
            Ok(()) => Ok(()),
            Err(TableError::ConditionFailed { index: Some(i) }) => {
                Err(self.failures.get(i).map(Failure::error).unwrap_or(ApiError::Conflict(CHANGED_CONCURRENTLY.into())))
            }
            Err(err) => Err(err.into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failed_write_is_412_with_if_match_and_409_without() {
        let pinned = IfMatch::Versions(vec![3]);
        assert_eq!(
            write_failed(TableError::ConditionFailed { index: None }, &pinned, "x").code(),
            "precondition_failed"
        );
        assert_eq!(write_failed(TableError::Conflict, &pinned, "x").code(), "precondition_failed");
        assert_eq!(write_failed(TableError::Conflict, &IfMatch::Absent, "event").code(), "conflict");
        let backend = TableError::Backend(anyhow::anyhow!("down"));
        assert_eq!(write_failed(backend, &IfMatch::Absent, "x").code(), "internal");
    }

    #[test]
    fn unhandled_storage_races_are_conflicts_never_internal() {
        assert_eq!(ApiError::from(TableError::Conflict).code(), "conflict");
        assert_eq!(ApiError::from(TableError::ConditionFailed { index: Some(1) }).code(), "conflict");
        assert_eq!(ApiError::from(TableError::Invalid("x".into())).code(), "internal");
    }
}
