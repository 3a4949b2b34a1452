//! Small pieces every module of the group uses: nested path ids, the list
//! query string, and helpers for member lists joined with user profiles.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use shared::ApiError;
use shared::error::Problem;
use shared::repo::users::Person;
use shared::table::{Table, TableError};

/// Problems any organisation route can answer.
#[derive(utoipa::IntoResponses)]
#[allow(dead_code)]
pub enum Problems {
    /// The request is invalid (`validation_failed`).
    #[response(status = 400, content_type = "application/problem+json")]
    BadRequest(Problem),
    /// No valid credentials.
    #[response(status = 401, content_type = "application/problem+json")]
    Unauthenticated(Problem),
    /// Visible, but not allowed (not an owner or admin, or a credential without the scope).
    #[response(status = 403, content_type = "application/problem+json")]
    Forbidden(Problem),
    /// No such resource, or one in an organisation the caller does not belong to.
    #[response(status = 404, content_type = "application/problem+json")]
    NotFound(Problem),
}

/// Problems of writes.
#[derive(utoipa::IntoResponses)]
#[allow(dead_code)]
pub enum WriteProblems {
    /// Clashes with the current state (the last owner, the last head, a concurrent change).
    #[response(status = 409, content_type = "application/problem+json")]
    Conflict(Problem),
    /// `If-Match` does not match the current version.
    #[response(status = 412, content_type = "application/problem+json")]
    PreconditionFailed(Problem),
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

/// `limit` and `cursor` of a list.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListParams {
    /// Items per page (1–100, default 25).
    pub limit: Option<u32>,
    /// The `nextCursor` of the previous page.
    pub cursor: Option<String>,
}

/// A user joined into a membership list.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UserEntry {
    /// The user.
    pub user_id: Uuid,
    /// Since when they hold this place.
    pub created_at: DateTime<Utc>,
    /// As much of the user as the caller may see (absent if the account no
    /// longer exists).
    pub user: Option<Person>,
}

/// Reads a list of user ids from `add`/`remove`, rejecting duplicates and
/// ids in both lists, and bounding the size of one change.
pub fn check_change(add: &[Uuid], remove: &[Uuid], max: usize) -> Result<(), ApiError> {
    let mut v = shared::validation::Validator::new();
    if add.len() + remove.len() > max {
        v.error("add", format!("at most {max} users may be added and removed in one request"));
    }
    let mut seen = std::collections::HashSet::new();
    for (i, id) in add.iter().enumerate() {
        if !seen.insert(*id) {
            v.error(&format!("add[{i}]"), "is listed twice");
        }
    }
    for (i, id) in remove.iter().enumerate() {
        if !seen.insert(*id) {
            v.error(&format!("remove[{i}]"), "is listed twice or also in add");
        }
    }
    v.finish()
}

/// Commits a write guarded by versions: a failed condition means the
/// resource changed since it was read (412), a transaction clash is a 409.
pub async fn commit_versioned(table: &dyn Table, ops: Vec<shared::table::WriteOp>) -> Result<(), ApiError> {
    match table.transact_write(ops).await {
        Ok(()) => Ok(()),
        Err(TableError::ConditionFailed { .. }) => Err(ApiError::PreconditionFailed),
        Err(TableError::Conflict) => Err(ApiError::Conflict("Changed concurrently; retry.".into())),
        Err(err) => Err(err.into()),
    }
}

/// `ETag` plus `Location` headers for a created resource.
pub fn created_headers(version: i64, location: &str) -> axum::http::HeaderMap {
    let mut headers = shared::concurrency::etag_headers(version);
    if let Ok(value) = location.parse() {
        headers.insert(axum::http::header::LOCATION, value);
    }
    headers
}

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

/// A transaction whose every write says what its failing condition means,
/// so a failed commit answers with the right problem.
#[derive(Debug, Default)]
pub struct Tx {
    ops: Vec<shared::table::WriteOp>,
    failures: Vec<Failure>,
}

/// Generic explanation of a lost race.
pub const CHANGED_CONCURRENTLY: &str = "The resource changed concurrently; retry the request.";

impl Tx {
    /// An empty transaction.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a write.
    pub fn push(&mut self, op: shared::table::WriteOp, failure: Failure) {
        self.ops.push(op);
        self.failures.push(failure);
    }

    /// Commits all writes or none; 409 when it would exceed one transaction.
    pub async fn commit(self, table: &dyn Table) -> Result<(), ApiError> {
        if self.ops.len() > shared::table::MAX_TRANSACTION_ITEMS {
            return Err(ApiError::Conflict("The change touches too many items for one request; split it.".into()));
        }
        match table.transact_write(self.ops).await {
            Ok(()) => Ok(()),
            Err(TableError::ConditionFailed { index: Some(i) }) => {
                Err(self.failures.get(i).map(Failure::error).unwrap_or(ApiError::Conflict(CHANGED_CONCURRENTLY.into())))
            }
            Err(TableError::ConditionFailed { index: None } | TableError::Conflict) => {
                Err(ApiError::Conflict(CHANGED_CONCURRENTLY.into()))
            }
            Err(err) => Err(err.into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_change_lists_each_user_once() {
        let (a, b) = (Uuid::now_v7(), Uuid::now_v7());
        assert!(check_change(&[a], &[b], 10).is_ok());
        assert!(check_change(&[a, a], &[], 10).is_err());
        assert!(check_change(&[a], &[a], 10).is_err());
        assert!(check_change(&[a, b], &[], 1).is_err());
    }
}
