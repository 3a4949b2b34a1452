//! Members of an organisation and their roles. A membership is one item in
//! the organisation's partition, indexed under the user (GSI1, "my
//! organisations") and under its role (GSI2, `?role=`); roles are read on
//! every request, so a change takes effect on the caller's next request.
//!
//! An organisation always keeps an owner: demoting or removing an owner
//! needs another owner, and the transaction checks that other owner's
//! membership still says `owner`, so two owners demoting each other at once
//! cannot both succeed. Removing a member also removes their places in
//! units and their personal links in the same transaction; demoting someone
//! below planner drops their group staff places.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use shared::access::authz::OrgAccess;
use shared::access::authz_org::OrgContext;
use shared::access::authz_org::org_context;
use shared::concurrency::{IfMatch, etag_headers};
use shared::context::Ctx;
use shared::domain::Role;
use shared::extract::{Json, PathId, Query};
use shared::identity::auth::Principal;
use shared::organisations;
use shared::organisations::Membership;
use shared::organisations::links;
use shared::organisations::links::LinkScope;
use shared::organisations::structure;
use shared::organisations::structure::Kind;
use shared::organisations::structure::Relation;
use shared::organisations::structure::RelationRecord;
use shared::pagination::{ListResponse, PageRequest};
use shared::people::planners;
use shared::people::users;
use shared::people::users::Person;
use shared::{ApiError, AppState, Result};

use shared::kit::{BodyProblems, CHANGED_CONCURRENTLY, Failure, PathIds, Problems, Tx, WriteProblems};

/// Counter changes of one unit.
type Deltas = Vec<(Relation, i64)>;

const LAST_OWNER: &str = "An organisation keeps at least one owner.";

/// A member as listed: the membership with as much of the user as the
/// caller may see (colleagues: the directory entry; owners and admins: all).
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Member {
    /// The user.
    pub user_id: Uuid,
    /// Their role in the organisation.
    pub role: Role,
    /// Suspended in this organisation by one of its administrators.
    pub suspended: bool,
    /// Member since.
    pub created_at: DateTime<Utc>,
    /// Version of the membership (also the ETag).
    pub version: i64,
    /// The user (absent if the account no longer exists).
    pub user: Option<Person>,
}

impl Member {
    fn of(m: Membership, user: Option<Person>) -> Self {
        Self {
            user_id: m.user_id,
            role: m.role,
            suspended: m.suspended,
            created_at: m.created_at,
            version: m.version,
            user,
        }
    }
}

/// Which members to list.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct MemberListParams {
    /// Only members with this role.
    pub role: Option<Role>,
    /// Items per page (1–100, default 25).
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<u32>,
    /// The `nextCursor` of the previous page.
    pub cursor: Option<String>,
}

/// Lists the members of an organisation with their profiles.
#[utoipa::path(
    get,
    path = "/v1/organisations/{id}/members",
    tag = "organisations",
    params(("id" = Uuid, Path, description = "Organisation id"), MemberListParams),
    security(("bearer" = [])),
    responses((status = 200, body = ListResponse<Member>), Problems)
)]
#[tracing::instrument(skip_all)]
pub async fn list_members(
    State(state): State<AppState>,
    principal: Principal,
    PathId(org): PathId,
    Query(params): Query<MemberListParams>,
) -> Result<Json<ListResponse<Member>>> {
    principal.require("organisations", false)?;
    let context = org_context(state.table.as_ref(), &principal, org).await?;
    let page = PageRequest::new(params.limit, params.cursor)?;
    let found = organisations::list_members(state.table.as_ref(), &state.cursors, org, params.role, &page).await?;
    let (memberships, next_cursor) = (found.items, found.next_cursor);
    let ids: Vec<Uuid> = memberships.iter().map(|m| m.user_id).collect();
    let users = context.people(state.table.as_ref(), &principal, &ids).await?;
    let items = memberships.into_iter().zip(users).map(|(m, u)| Member::of(m, u)).collect();
    Ok(Json(ListResponse { items, next_cursor }))
}

/// A member's role.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct PutMemberRequest {
    /// `owner`, `admin`, `planner`, `member` or `guest`.
    pub role: Role,
}

/// Only owners make owners or change what an owner is.
fn require_owner_for(context: &OrgContext, current: Option<Role>, wanted: Option<Role>) -> Result<()> {
    let touches_owner = current == Some(Role::Owner) || wanted == Some(Role::Owner);
    if touches_owner && !context.is_owner() {
        return Err(ApiError::Forbidden("Only owners may make, change or remove owners.".into()));
    }
    Ok(())
}

/// Adds to `tx` the check that another owner than `leaving` remains; 409
/// when none does.
async fn check_other_owner(tx: &mut Tx, state: &AppState, org: Uuid, leaving: Uuid) -> Result<()> {
    // The role index may lag; the check in the transaction is what makes it safe.
    let other = organisations::other_owner(state.table.as_ref(), org, leaving)
        .await?
        .ok_or_else(|| ApiError::Conflict(LAST_OWNER.into()))?;
    tx.push(organisations::owner_check_op(org, other.user_id), Failure::Conflict(LAST_OWNER));
    Ok(())
}

/// Adds the writes that remove `relations` (of one user) to `tx`, moving
/// each unit's counters once.
fn remove_relations(tx: &mut Tx, org: Uuid, relations: &[RelationRecord]) {
    // One counter update per unit: an item may appear once per transaction.
    let mut per_unit: Vec<(Kind, Uuid, Deltas)> = Vec::new();
    for r in relations {
        tx.push(
            structure::remove_relation_op(r.organisation_id, r.kind, r.unit_id, r.relation, r.user_id),
            Failure::Conflict(CHANGED_CONCURRENTLY),
        );
        match per_unit.iter_mut().find(|(k, u, _)| *k == r.kind && *u == r.unit_id) {
            Some((_, _, deltas)) => deltas.push((r.relation, -1)),
            None => per_unit.push((r.kind, r.unit_id, vec![(r.relation, -1)])),
        }
    }
    for (kind, unit, deltas) in per_unit {
        let failure = if deltas.iter().any(|(r, _)| *r == Relation::Head) {
            Failure::Conflict("They are the last head of a department; appoint another head first.")
        } else {
            Failure::Conflict(CHANGED_CONCURRENTLY)
        };
        tx.push(structure::counters_op(org, kind, unit, &deltas), failure);
    }
}

/// Changes the role of a member (owners and admins; only owners make,
/// change or remove owners). Nobody joins an organisation this way: members
/// join by accepting an invitation, signing up, or being created as a new
/// account (`POST /v1/users`), so a user who is not a member is 404 here.
/// Only a platform superadmin may add an existing account directly.
#[utoipa::path(
    put,
    path = "/v1/organisations/{id}/members/{userId}",
    tag = "organisations",
    request_body = PutMemberRequest,
    params(
        ("id" = Uuid, Path, description = "Organisation id"),
        ("userId" = Uuid, Path, description = "User id"),
        shared::concurrency::IfMatch,
    ),
    security(("bearer" = [])),
    responses(
        BodyProblems,
        (status = 200, body = Membership, description = "Role changed", headers(("ETag" = String, description = "The membership version"))),
        (status = 201, body = Membership, description = "Member added (superadmins only)", headers(("ETag" = String, description = "The membership version"))),
        Problems, WriteProblems
    )
)]
#[tracing::instrument(skip_all)]
pub async fn put_member(
    State(state): State<AppState>,
    ctx: Ctx,
    if_match: IfMatch,
    PathIds(org, user_id): PathIds,
    Json(body): Json<PutMemberRequest>,
) -> Result<(StatusCode, HeaderMap, Json<Membership>)> {
    let principal = &ctx.principal;
    principal.require("organisations", true)?;
    let context = org_context(state.table.as_ref(), principal, org).await?;
    context.require_admin()?;
    let table = state.table.as_ref();
    let current = organisations::membership(table, org, user_id).await?;
    let now = ctx.now;
    let mut tx = Tx::new();

    let Some(current) = current else {
        // Membership is by consent; a superadmin's direct add is the one exception.
        if context.access != OrgAccess::Superadmin {
            return Err(ApiError::NotFound);
        }
        users::get(table, user_id).await?.filter(|u| !u.deleting).ok_or(ApiError::NotFound)?;
        if if_match != IfMatch::Absent {
            return Err(ApiError::PreconditionFailed);
        }
        let membership = Membership::new(org, user_id, body.role, now);
        tx.push(
            organisations::add_member_op(&membership)?,
            Failure::Conflict("They became a member concurrently; retry."),
        );
        tx.push(
            ctx.audit(Some(org), "member.added", format!("user/{user_id}")).write(),
            Failure::Conflict(CHANGED_CONCURRENTLY),
        );
        tx.commit(table).await?;
        return Ok((StatusCode::CREATED, etag_headers(membership.version), Json(membership)));
    };
    require_owner_for(&context, Some(current.role), Some(body.role))?;
    // Nobody but a superadmin acts on a superadmin (the authorization module decides).
    shared::access::authz::user_access(table, principal, user_id).await?.require_may_act_on()?;

    if_match.check(current.version)?;
    if current.role == body.role {
        return Ok((StatusCode::OK, etag_headers(current.version), Json(current)));
    }
    tx.push(organisations::change_role_op(&current, body.role), Failure::Precondition);
    if current.role == Role::Owner {
        check_other_owner(&mut tx, &state, org, user_id).await?;
    }
    if !Relation::Staff.allows(body.role) {
        let staff: Vec<RelationRecord> = structure::relations_of_user(table, org, user_id)
            .await?
            .into_iter()
            .filter(|r| r.relation == Relation::Staff)
            .collect();
        remove_relations(&mut tx, org, &staff);
    }
    tx.push(
        ctx.audit(Some(org), "member.role_changed", format!("user/{user_id}")).write(),
        Failure::Conflict(CHANGED_CONCURRENTLY),
    );
    tx.commit(table).await?;
    let changed = Membership { role: body.role, version: current.version + 1, ..current };
    Ok((StatusCode::OK, etag_headers(changed.version), Json(changed)))
}

/// Removes a member with their unit places and personal links (owners and
/// admins, or the member themselves; only owners remove owners).
#[utoipa::path(
    delete,
    path = "/v1/organisations/{id}/members/{userId}",
    tag = "organisations",
    params(
        ("id" = Uuid, Path, description = "Organisation id"),
        ("userId" = Uuid, Path, description = "User id"),
        shared::concurrency::IfMatch,
    ),
    security(("bearer" = [])),
    responses((status = 204, description = "Removed"), Problems, WriteProblems)
)]
#[tracing::instrument(skip_all)]
pub async fn delete_member(
    State(state): State<AppState>,
    ctx: Ctx,
    if_match: IfMatch,
    PathIds(org, user_id): PathIds,
) -> Result<StatusCode> {
    let principal = &ctx.principal;
    principal.require("organisations", true)?;
    let context = org_context(state.table.as_ref(), principal, org).await?;
    let leaving_self = user_id == principal.user_id;
    if !leaving_self {
        context.require_admin()?;
    }
    let table = state.table.as_ref();
    let current = organisations::membership(table, org, user_id).await?.ok_or(ApiError::NotFound)?;
    if !leaving_self {
        require_owner_for(&context, Some(current.role), None)?;
    }
    if_match.check(current.version)?;

    let mut tx = Tx::new();
    tx.push(organisations::remove_member_op(org, user_id, current.version), Failure::Precondition);
    if current.role == Role::Owner {
        check_other_owner(&mut tx, &state, org, user_id).await?;
    }
    let relations = structure::relations_of_user(table, org, user_id).await?;
    remove_relations(&mut tx, org, &relations);
    // Planner links made through this organisation end with the membership.
    for link in planners::links_through(table, org, user_id).await? {
        tx.push(planners::delete_op(&link), Failure::Conflict(CHANGED_CONCURRENTLY));
    }
    for link in links::in_scope(table, org, LinkScope::User(user_id)).await? {
        tx.push(links::drop_op(&link), Failure::Conflict(CHANGED_CONCURRENTLY));
    }
    tx.push(
        ctx.audit(Some(org), "member.removed", format!("user/{user_id}")).write(),
        Failure::Conflict(CHANGED_CONCURRENTLY),
    );
    tx.commit(table).await?;
    Ok(StatusCode::NO_CONTENT)
}
