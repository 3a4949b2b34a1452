//! Bulk create and bulk delete (seed 004): one result per item, each item
//! atomic on its own (an item's failure never touches another item).

use axum::extract::State;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use shared::concurrency::IfMatch;
use shared::context::Ctx;
use shared::error::Problem;
use shared::extract::Json;
use shared::people::users::User;
use shared::{ApiError, AppState, Result};

use crate::users::CreateUser;
use shared::kit::{BodyProblems, Problems};

/// Most items in one bulk request.
pub const MAX_BULK: usize = 100;

/// Users to create.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BulkCreate {
    /// 1 to 100 users.
    #[schema(min_items = 1, max_items = 100)]
    pub users: Vec<CreateUser>,
}

/// The outcome of one bulk item.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct BulkResult {
    /// The item's position in the request.
    pub index: usize,
    /// The HTTP status the item alone would have had.
    pub status: u16,
    /// The created user (creations that succeeded).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user: Option<User>,
    /// The user id (deletions).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<Uuid>,
    /// Why the item failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<Problem>,
}

/// Per-item results.
#[derive(Debug, Serialize, ToSchema)]
pub struct BulkResponse {
    /// One per item, in request order.
    pub results: Vec<BulkResult>,
}

fn check_count(len: usize, field: &str) -> Result<()> {
    if len == 0 || len > MAX_BULK {
        return Err(ApiError::invalid(field, format!("must hold 1 to {MAX_BULK} items")));
    }
    Ok(())
}

/// Creates several users; each item as `POST /v1/users` would.
#[utoipa::path(
    post,
    path = "/v1/users/bulk",
    tag = "users",
    request_body = BulkCreate,
    params(shared::idempotency::IdempotencyKey),
    security(("bearer" = [])),
    responses(
        shared::kit::IdempotentProblems,BodyProblems, (status = 200, body = BulkResponse, description = "Per-item results"), Problems)
)]
#[tracing::instrument(skip_all)]
pub async fn bulk_create_users(
    State(state): State<AppState>,
    ctx: Ctx,
    Json(body): Json<BulkCreate>,
) -> Result<Json<BulkResponse>> {
    ctx.principal.require("users", true)?;
    check_count(body.users.len(), "users")?;
    let mut results = Vec::with_capacity(body.users.len());
    for (index, item) in body.users.into_iter().enumerate() {
        results.push(match crate::users::create_one(&state, &ctx, item).await {
            Ok(user) => BulkResult { index, status: 201, user: Some(user), id: None, error: None },
            Err(err) => failed(index, None, err),
        });
    }
    Ok(Json(BulkResponse { results }))
}

fn failed(index: usize, id: Option<Uuid>, err: ApiError) -> BulkResult {
    if let ApiError::Internal(cause) = &err {
        tracing::error!(index, cause = %format!("{cause:#}"), "bulk item failed");
    }
    let problem = err.problem();
    BulkResult { index, status: problem.status, user: None, id, error: Some(problem) }
}

/// Users to delete.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BulkDelete {
    /// 1 to 100 user ids.
    #[schema(min_items = 1, max_items = 100)]
    pub ids: Vec<Uuid>,
}

/// Deletes several users; each item as `DELETE /v1/users/{id}` would.
#[utoipa::path(
    post,
    path = "/v1/users/bulk-delete",
    tag = "users",
    request_body = BulkDelete,
    security(("bearer" = [])),
    responses(BodyProblems, (status = 200, body = BulkResponse, description = "Per-item results"), Problems)
)]
#[tracing::instrument(skip_all)]
pub async fn bulk_delete_users(
    State(state): State<AppState>,
    ctx: Ctx,
    Json(body): Json<BulkDelete>,
) -> Result<Json<BulkResponse>> {
    ctx.principal.require("users", true)?;
    check_count(body.ids.len(), "ids")?;
    let mut results = Vec::with_capacity(body.ids.len());
    for (index, id) in body.ids.into_iter().enumerate() {
        results.push(match crate::deletion::delete(&state, &ctx, &IfMatch::Absent, id).await {
            Ok(()) => BulkResult { index, status: 204, user: None, id: Some(id), error: None },
            Err(err) => failed(index, Some(id), err),
        });
    }
    Ok(Json(BulkResponse { results }))
}
