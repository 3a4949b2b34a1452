//! Follows (seed 001): a user or an organisation follows a user. Only
//! within an organisation: the followed user must share an organisation
//! with the follower, so follows never cross tenants.

use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use shared::access::authz::Area;
use shared::access::authz::org_access;
use shared::access::authz::user_access;
use shared::context::Ctx;
use shared::extract::{Json, PathId, Query};
use shared::identity::auth::Principal;
use shared::kit::{CHANGED_CONCURRENTLY, Failure, Tx};
use shared::organisations;
use shared::pagination::{PageRequest, query_page};
use shared::people::follows;
use shared::people::follows::Follow;
use shared::people::follows::FollowerType;
use shared::people::users;
use shared::{ApiError, AppState, Result};

use crate::common::access;
use shared::kit::{BodyProblems, ListParams, ListResponse, Problems, page_of};

/// Who follows (or stops following).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct FollowerBody {
    /// The follower's id.
    pub follower_id: Uuid,
    /// A user or an organisation.
    pub follower_type: FollowerType,
}

/// Checks the caller may make `body`'s follower follow user `id`; 404 when
/// the user is not visible to that follower. Returns the audit organisation.
async fn check_follower(
    state: &AppState,
    principal: &Principal,
    id: Uuid,
    body: &FollowerBody,
) -> Result<Option<Uuid>> {
    principal.require("users", true)?;
    let table = state.table.as_ref();
    let target = users::get(table, id).await?.filter(|u| !u.deleting).ok_or(ApiError::NotFound)?;
    let target_orgs: Vec<Uuid> =
        users::memberships(table, target.id).await?.iter().map(|m| m.organisation_id).collect();
    match body.follower_type {
        FollowerType::Organisation => {
            // 404 unless the caller belongs to it; only its admins act for it.
            if !org_access(state.table.as_ref(), principal, body.follower_id).await?.is_admin() {
                return Err(ApiError::Forbidden("Only the organisation's owners and admins may do this.".into()));
            }
            if !target_orgs.contains(&body.follower_id) {
                return Err(ApiError::NotFound);
            }
            Ok(Some(body.follower_id))
        }
        FollowerType::User => {
            if body.follower_id != principal.user_id {
                // Acting for another user: only who administers that user.
                // Acting for another user: only who administers that user, and
                // their follows are personal (an admin of every organisation of theirs).
                let follower = user_access(state.table.as_ref(), principal, body.follower_id).await?;
                follower.require_admin()?;
                follower.require(Area::Profile, true)?;
            }
            for org in &target_orgs {
                if organisations::membership(table, *org, body.follower_id).await?.is_some() {
                    return Ok(Some(*org));
                }
            }
            Err(ApiError::NotFound)
        }
    }
}

/// Makes a user or an organisation follow user `id`.
#[utoipa::path(
    post,
    path = "/v1/users/{id}/followers",
    tag = "users",
    request_body = FollowerBody,
    params(("id" = Uuid, Path, description = "The user to follow")),
    security(("bearer" = [])),
    responses(
        BodyProblems,
        (status = 201, body = Follow, description = "Now following"),
        Problems,
        (status = 409, body = shared::error::Problem, content_type = "application/problem+json", description = "Already following"),
    )
)]
#[tracing::instrument(skip_all)]
pub async fn follow_user(
    State(state): State<AppState>,
    ctx: Ctx,
    PathId(id): PathId,
    Json(body): Json<FollowerBody>,
) -> Result<(StatusCode, Json<Follow>)> {
    if body.follower_type == FollowerType::User && body.follower_id == id {
        return Err(ApiError::invalid("followerId", "a user cannot follow themself"));
    }
    let org = check_follower(&state, &ctx.principal, id, &body).await?;
    let now = ctx.now;
    let follow =
        Follow { user_id: id, follower_id: body.follower_id, follower_type: body.follower_type, created_at: now };
    let audit = ctx.audit(org, "user.followed", format!("user/{id}"));
    let mut tx = Tx::new();
    tx.push(follows::create_op(&follow)?, Failure::Conflict("Already following."));
    tx.push(audit.write(), Failure::Conflict(CHANGED_CONCURRENTLY));
    tx.commit(state.table.as_ref()).await?;
    Ok((StatusCode::CREATED, Json(follow)))
}

/// Stops a user or an organisation following user `id`.
#[utoipa::path(
    delete,
    path = "/v1/users/{id}/followers",
    tag = "users",
    request_body = FollowerBody,
    params(("id" = Uuid, Path, description = "The followed user")),
    security(("bearer" = [])),
    responses(BodyProblems, (status = 204, description = "No longer following"), Problems)
)]
#[tracing::instrument(skip_all)]
pub async fn unfollow_user(
    State(state): State<AppState>,
    ctx: Ctx,
    PathId(id): PathId,
    Json(body): Json<FollowerBody>,
) -> Result<StatusCode> {
    let org = check_follower(&state, &ctx.principal, id, &body).await?;
    let audit = ctx.audit(org, "user.unfollowed", format!("user/{id}"));
    let mut tx = Tx::new();
    tx.push(follows::delete_op(id, body.follower_type, body.follower_id), Failure::NotFound);
    tx.push(audit.write(), Failure::Conflict(CHANGED_CONCURRENTLY));
    tx.commit(state.table.as_ref()).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Lists who follows user `id`.
#[utoipa::path(
    get,
    path = "/v1/users/{id}/followers",
    tag = "users",
    params(("id" = Uuid, Path, description = "User id"), ListParams),
    security(("bearer" = [])),
    responses((status = 200, body = ListResponse<Follow>), Problems)
)]
#[tracing::instrument(skip_all)]
pub async fn list_followers(
    State(state): State<AppState>,
    principal: Principal,
    PathId(id): PathId,
    Query(params): Query<ListParams>,
) -> Result<Json<ListResponse<Follow>>> {
    access(&state, &principal, id, Area::Profile, false).await?;
    let page = params.page()?;
    let (items, next) = query_page(
        state.table.as_ref(),
        &state.cursors,
        &format!("followers:{id}"),
        follows::followers_query(id),
        &page,
    )
    .await?;
    page_of(follows::decode(items), next)
}

/// Query of `GET /v1/follows`.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
pub struct FollowsParams {
    /// The follower.
    pub follower_id: Uuid,
    /// Its type.
    #[serde(rename = "type")]
    #[param(rename = "type")]
    pub follower_type: FollowerType,
    /// Items per page (1–100, default 25).
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<u32>,
    /// From `nextCursor` of the previous page.
    pub cursor: Option<String>,
}

/// Lists the users a user or an organisation follows: a user's own follows
/// (or of a user the caller administers), an organisation's for its members.
#[utoipa::path(
    get,
    path = "/v1/follows",
    tag = "users",
    params(FollowsParams),
    security(("bearer" = [])),
    responses((status = 200, body = ListResponse<Follow>), Problems)
)]
#[tracing::instrument(skip_all)]
pub async fn list_follows(
    State(state): State<AppState>,
    principal: Principal,
    Query(params): Query<FollowsParams>,
) -> Result<Json<ListResponse<Follow>>> {
    principal.require("users", false)?;
    let page = PageRequest::new(params.limit, params.cursor)?;
    match params.follower_type {
        FollowerType::User => {
            access(&state, &principal, params.follower_id, Area::Profile, false).await?;
        }
        FollowerType::Organisation => {
            org_access(state.table.as_ref(), &principal, params.follower_id).await?;
        }
    }
    let list = format!("follows:{}:{}", params.follower_type.as_str(), params.follower_id);
    let query = follows::following_query(params.follower_type, params.follower_id);
    let (items, next) = query_page(state.table.as_ref(), &state.cursors, &list, query, &page).await?;
    page_of(follows::decode(items), next)
}
