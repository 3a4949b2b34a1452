//! Organisation statistics. Counts come from Queries of the organisation's
//! partition (memberships by prefix, units by kind) rather than from stored
//! counters: they are always exact, add no write to every membership
//! change, and an organisation of a few thousand members is a handful of
//! query pages. Should organisations grow far beyond that, per-role
//! counters on the organisation item (moved in the membership
//! transactions) would replace the member Query.

use axum::extract::State;
use serde::Serialize;
use utoipa::ToSchema;

use shared::access::authz_org::org_context;
use shared::domain::Role;
use shared::extract::{Json, PathId};
use shared::identity::auth::Principal;
use shared::organisations;
use shared::organisations::structure;
use shared::organisations::structure::Kind;
use shared::{AppState, Result};

use shared::kit::Problems;

/// Member counts by role.
#[derive(Debug, Default, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct MemberCounts {
    /// Every member.
    pub total: u64,
    /// Owners.
    pub owner: u64,
    /// Admins.
    pub admin: u64,
    /// Planners.
    pub planner: u64,
    /// Members.
    pub member: u64,
    /// Guests.
    pub guest: u64,
}

/// What an organisation holds.
#[derive(Debug, Default, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Statistics {
    /// Members by role.
    pub members: MemberCounts,
    /// Groups.
    pub groups: u64,
    /// Departments.
    pub departments: u64,
    /// Locations.
    pub locations: u64,
    /// Security groups.
    pub security_groups: u64,
}

/// Counts an organisation's members by role and its units by kind.
#[utoipa::path(
    get,
    path = "/v1/organisations/{id}/statistics",
    tag = "organisations",
    params(("id" = Uuid, Path, description = "Organisation id")),
    security(("bearer" = [])),
    responses((status = 200, body = Statistics), Problems)
)]
#[tracing::instrument(skip_all)]
pub async fn get_statistics(
    State(state): State<AppState>,
    principal: Principal,
    PathId(org): PathId,
) -> Result<Json<Statistics>> {
    principal.require("organisations", false)?;
    org_context(state.table.as_ref(), &principal, org).await?;
    let table = state.table.as_ref();

    let mut stats = Statistics::default();
    for membership in organisations::members(table, org).await? {
        let counts = &mut stats.members;
        counts.total += 1;
        match membership.role {
            Role::Owner => counts.owner += 1,
            Role::Admin => counts.admin += 1,
            Role::Planner => counts.planner += 1,
            Role::Member => counts.member += 1,
            Role::Guest => counts.guest += 1,
        }
    }
    for kind in Kind::ALL {
        let units = structure::count_units(table, org, kind).await?;
        match kind {
            Kind::Group => stats.groups = units,
            Kind::Department => stats.departments = units,
            Kind::Location => stats.locations = units,
            Kind::SecurityGroup => stats.security_groups = units,
        }
    }
    Ok(Json(stats))
}
