//! Planner links (seed 000 planner): who plans for a user, with which
//! per-area permissions, and inviting a planner by mail.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use shared::access::authz::Area;
use shared::access::authz::Relation;
use shared::access::authz::UserAccess;
use shared::concurrency::{IfMatch, etag_headers};
use shared::context::Ctx;
use shared::domain::{Email, Role};
use shared::extract::{Json, PathId, Query};
use shared::identity::auth::Principal;
use shared::mail::Mail;
use shared::organisations;
use shared::pagination::query_page;
use shared::people::planners;
use shared::people::planners::PlannerLink;
use shared::people::planners::PlannerPermissions;
use shared::{ApiError, AppState, Result};

use crate::common::access;
use shared::kit::{BodyProblems, ListParams, ListResponse, Problems, WriteProblems, commit_versioned, page_of};

/// A planner's permissions for the user.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PlannerBody {
    /// Per area: `read`, `write` or `null` (none).
    pub permissions: PlannerPermissions,
}

fn parse_ids(id: &str, planner: &str) -> Result<(Uuid, Uuid)> {
    match (Uuid::parse_str(id), Uuid::parse_str(planner)) {
        (Ok(a), Ok(b)) => Ok((a, b)),
        _ => Err(ApiError::NotFound),
    }
}

/// Managing a user's planners: the user themself or an administrator.
fn require_manager(access: &UserAccess) -> Result<()> {
    match access.relation {
        Relation::Itself | Relation::Superadmin | Relation::OrgAdmin { .. } => Ok(()),
        Relation::Planner(_) => Err(ApiError::Forbidden("Planners cannot change the user's planners.".into())),
        Relation::Colleague(_) => Err(ApiError::NotFound),
    }
}

/// Lists who plans for user `id`.
#[utoipa::path(
    get,
    path = "/v1/users/{id}/planners",
    tag = "users",
    params(("id" = Uuid, Path, description = "User id"), ListParams),
    security(("bearer" = [])),
    responses((status = 200, body = ListResponse<PlannerLink>), Problems)
)]
#[tracing::instrument(skip_all)]
pub async fn list_planners(
    State(state): State<AppState>,
    principal: Principal,
    PathId(id): PathId,
    Query(params): Query<ListParams>,
) -> Result<Json<ListResponse<PlannerLink>>> {
    access(&state, &principal, id, Area::Profile, false).await?;
    let page = params.page()?;
    let (items, next) = query_page(
        state.table.as_ref(),
        &state.cursors,
        &format!("planners:{id}"),
        planners::planners_query(id),
        &page,
    )
    .await?;
    page_of(planners::decode(items), next)
}

/// Links a planner to user `id` (or changes their permissions). The planner
/// must be a planner, admin or owner of an organisation the user belongs to
/// (and, for an administrator linking, one they administer): the link is
/// made through that organisation, shows the planner the user's personal
/// data and that organisation's, and ends when either leaves it.
#[utoipa::path(
    put,
    path = "/v1/users/{id}/planners/{plannerId}",
    tag = "users",
    request_body = PlannerBody,
    params(
        ("id" = Uuid, Path, description = "The member planned for"),
        ("plannerId" = Uuid, Path, description = "The planner"),
        shared::concurrency::IfMatch,
    ),
    security(("bearer" = [])),
    responses(
        BodyProblems,
        (status = 200, body = PlannerLink, description = "Changed"),
        (status = 201, body = PlannerLink, description = "Linked"),
        Problems, WriteProblems
    )
)]
#[tracing::instrument(skip_all)]
pub async fn put_planner(
    State(state): State<AppState>,
    ctx: Ctx,
    if_match: IfMatch,
    Path((id, planner)): Path<(String, String)>,
    Json(body): Json<PlannerBody>,
) -> Result<(StatusCode, HeaderMap, Json<PlannerLink>)> {
    let (id, planner) = parse_ids(&id, &planner)?;
    let access = access(&state, &ctx.principal, id, Area::Profile, true).await?;
    require_manager(&access)?;
    if planner == id {
        return Err(ApiError::invalid("plannerId", "a user cannot plan for themself"));
    }
    let table = state.table.as_ref();
    // The organisations the link may be made through: the user's (active)
    // ones, narrowed to those the caller administers when acting as an admin.
    let through: Vec<uuid::Uuid> = match &access.relation {
        Relation::OrgAdmin { organisations, .. } => organisations.iter().map(|(o, _)| *o).collect(),
        _ => access.memberships.iter().filter(|m| !m.suspended).map(|m| m.organisation_id).collect(),
    };
    let current = planners::get(table, id, planner).await?;
    if let Some(org) = current.as_ref().and_then(|l| l.organisation_id)
        && !through.contains(&org)
    {
        return Err(ApiError::Forbidden("The link was made through an organisation you do not administer.".into()));
    }
    let mut shared_role = None;
    for org in &through {
        if let Some(theirs) = organisations::membership(table, *org, planner).await?.filter(|m| !m.suspended) {
            let fits = matches!(theirs.role, Role::Planner | Role::Admin | Role::Owner);
            if shared_role.is_none() || fits {
                shared_role = Some((theirs.role, *org));
            }
            if fits {
                break;
            }
        }
    }
    let organisation_id = match shared_role {
        None => return Err(ApiError::NotFound),
        Some((Role::Planner | Role::Admin | Role::Owner, org)) => {
            current.as_ref().and_then(|l| l.organisation_id).unwrap_or(org)
        }
        Some(_) => {
            return Err(ApiError::invalid("plannerId", "must be a planner, admin or owner of the user's organisation"));
        }
    };
    match &current {
        Some(link) => if_match.check(link.version)?,
        None if if_match != IfMatch::Absent => return Err(ApiError::PreconditionFailed),
        None => {}
    }
    let now = ctx.now;
    let link = PlannerLink {
        user_id: id,
        planner_id: planner,
        permissions: body.permissions,
        organisation_id: Some(organisation_id),
        created_at: current.as_ref().map_or(now, |l| l.created_at),
        updated_at: now,
        version: current.as_ref().map_or(1, |l| l.version + 1),
    };
    let audit = ctx.audit(access.audit_organisation(), "planner.linked", format!("user/{id}/planners/{planner}"));
    commit_versioned(
        state.table.as_ref(),
        vec![planners::put_op(&link, current.as_ref().map(|l| l.version))?, audit.write()],
    )
    .await?;
    let status = if current.is_some() { StatusCode::OK } else { StatusCode::CREATED };
    Ok((status, etag_headers(link.version), Json(link)))
}

/// Unlinks a planner from user `id` (the user, an administrator, or the
/// planner stepping down).
#[utoipa::path(
    delete,
    path = "/v1/users/{id}/planners/{plannerId}",
    tag = "users",
    params(
        ("id" = Uuid, Path, description = "The member planned for"),
        ("plannerId" = Uuid, Path, description = "The planner"),
        shared::concurrency::IfMatch,
    ),
    security(("bearer" = [])),
    responses((status = 204, description = "Unlinked"), Problems, WriteProblems)
)]
#[tracing::instrument(skip_all)]
pub async fn delete_planner(
    State(state): State<AppState>,
    ctx: Ctx,
    if_match: IfMatch,
    Path((id, planner)): Path<(String, String)>,
) -> Result<StatusCode> {
    let principal = &ctx.principal;
    let (id, planner) = parse_ids(&id, &planner)?;
    principal.require("users", true)?;
    let access = shared::access::authz::user_access(state.table.as_ref(), principal, id).await?;
    if planner != principal.user_id {
        access.require(Area::Profile, true)?;
        require_manager(&access)?;
    }
    let current = planners::get(state.table.as_ref(), id, planner).await?.ok_or(ApiError::NotFound)?;
    if_match.check(current.version)?;
    let audit = ctx.audit(access.audit_organisation(), "planner.unlinked", format!("user/{id}/planners/{planner}"));
    let delete = planners::delete_versioned_op(id, planner, current.version);
    commit_versioned(state.table.as_ref(), vec![delete, audit.write()]).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Whom to invite as a planner.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PlannerInviteBody {
    /// The invitee's email address.
    #[schema(schema_with = Email::schema)]
    pub email: String,
}

/// An invitation that was sent.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PlannerInvite {
    /// The address it was sent to (normalised).
    pub email: String,
    /// The user to plan for.
    pub user_id: Uuid,
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;").replace('\'', "&#39;")
}

/// Mails an invitation to plan for user `id`. It names the user and links
/// to the web app; an administrator then links the planner with `PUT
/// /v1/users/{id}/planners/{plannerId}` once they have an account.
#[utoipa::path(
    post,
    path = "/v1/users/{id}/planner-invites",
    tag = "users",
    request_body = PlannerInviteBody,
    params(("id" = Uuid, Path, description = "The member to plan for")),
    security(("bearer" = [])),
    responses(BodyProblems, (status = 202, body = PlannerInvite, description = "Invitation sent"), Problems)
)]
#[tracing::instrument(skip_all)]
pub async fn invite_planner(
    State(state): State<AppState>,
    ctx: Ctx,
    PathId(id): PathId,
    Json(body): Json<PlannerInviteBody>,
) -> Result<(StatusCode, Json<PlannerInvite>)> {
    let email = Email::parse(&body.email).map_err(|m| ApiError::invalid("email", m))?;
    let access = access(&state, &ctx.principal, id, Area::Profile, true).await?;
    require_manager(&access)?;
    let org_name = match access.audit_organisation() {
        Some(org) => organisations::get(state.table.as_ref(), org).await?.map(|o| o.name),
        None => None,
    };
    let user = &access.target;
    let who = format!("{} {}", user.first_name, user.last_name);
    let place = org_name.map(|n| format!(" at {n}")).unwrap_or_default();
    let link = format!("{}/planner-invites?userId={id}", state.app_url);
    let text = format!(
        "Hello,\n\nyou are invited to plan for {who}{place} on Sundial.\n\nOpen {link} to sign in or create an account.\n\nIf you did not expect this, you can ignore this mail.\n"
    );
    let html = format!(
        "<p>Hello,</p><p>you are invited to plan for {}{} on Sundial.</p><p><a href=\"{}\">Open Sundial</a></p><p>If you did not expect this, you can ignore this mail.</p>",
        escape(&who),
        escape(&place),
        escape(&link)
    );
    let audit = ctx.audit(access.audit_organisation(), "planner.invited", format!("user/{id}"));
    state.table.transact_write(vec![audit.write()]).await?;
    let mail = Mail { to: email.as_str().to_string(), subject: format!("Plan for {who} on Sundial"), text, html };
    state.mailer.send(&mail).await?;
    Ok((StatusCode::ACCEPTED, Json(PlannerInvite { email: email.as_str().to_string(), user_id: id })))
}
