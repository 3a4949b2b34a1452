//! What every handler of the group shares: loading the target user through
//! the one authorization decision, the problem responses of the OpenAPI
//! document, and small helpers for transactions and list pages.

use axum::http::{HeaderMap, header};
use serde::Serialize;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use shared::auth::Principal;
use shared::authz::{Area, UserAccess, user_access};
use shared::error::Problem;
use shared::pagination::PageRequest;
use shared::table::{TableError, WriteOp};
use shared::{ApiError, AppState, Result};

/// Problems any user-scoped route can answer.
#[derive(utoipa::IntoResponses)]
#[allow(dead_code)]
pub enum Problems {
    /// The request is invalid (`validation_failed`).
    #[response(status = 400, content_type = "application/problem+json")]
    BadRequest(Problem),
    /// No valid credentials.
    #[response(status = 401, content_type = "application/problem+json")]
    Unauthenticated(Problem),
    /// Visible, but not allowed (a planner without the area permission, a
    /// credential without the scope, a non-administrator).
    #[response(status = 403, content_type = "application/problem+json")]
    Forbidden(Problem),
    /// No such user, or one the caller may not see.
    #[response(status = 404, content_type = "application/problem+json")]
    NotFound(Problem),
}

/// Problems of writes that honour `If-Match`.
#[derive(utoipa::IntoResponses)]
#[allow(dead_code)]
pub enum WriteProblems {
    /// Clashes with the current state.
    #[response(status = 409, content_type = "application/problem+json")]
    Conflict(Problem),
    /// `If-Match` does not match the current version.
    #[response(status = 412, content_type = "application/problem+json")]
    PreconditionFailed(Problem),
}

/// `limit` and `cursor` of a plain list.
#[derive(Debug, serde::Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct PageParams {
    /// Items per page (1–100, default 25).
    pub limit: Option<u32>,
    /// From `nextCursor` of the previous page.
    pub cursor: Option<String>,
}

impl PageParams {
    /// The validated page request.
    pub fn page(self) -> Result<PageRequest> {
        PageRequest::new(self.limit, self.cursor)
    }
}

/// Checks the credential's scope, decides the caller's access to `user`
/// and checks it covers `area` (read or write).
pub async fn access(
    state: &AppState,
    principal: &Principal,
    user: Uuid,
    area: Area,
    write: bool,
) -> Result<UserAccess> {
    principal.require("users", write)?;
    let access = user_access(state, principal, user).await?;
    access.require(area, write)?;
    Ok(access)
}

/// Runs a transaction whose only conditions are version checks: a failed
/// condition means someone else changed the resource first (412).
pub async fn commit_versioned(state: &AppState, ops: Vec<WriteOp>) -> Result<()> {
    match state.table.transact_write(ops).await {
        Ok(()) => Ok(()),
        Err(TableError::ConditionFailed { .. }) => Err(ApiError::PreconditionFailed),
        Err(err) => Err(err.into()),
    }
}

/// `ETag` plus `Location` headers for a created resource.
pub fn created_headers(version: i64, location: &str) -> HeaderMap {
    let mut headers = shared::concurrency::etag_headers(version);
    if let Ok(value) = location.parse() {
        headers.insert(header::LOCATION, value);
    }
    headers
}

/// A list page of some view type, for the OpenAPI document.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Page<T> {
    /// This page's items.
    pub items: Vec<T>,
    /// Pass as `cursor` to get the next page; `null` on the last page.
    pub next_cursor: Option<String>,
}

/// Decodes a page of items.
pub fn page_of<T>(
    decoded: anyhow::Result<Vec<T>>,
    next_cursor: Option<String>,
) -> Result<shared::extract::Json<Page<T>>> {
    Ok(shared::extract::Json(Page { items: decoded?, next_cursor }))
}
