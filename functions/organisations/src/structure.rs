//! Groups, departments, locations and security groups: one implementation
//! parameterised by [`Kind`], mounted under each kind's path by
//! `unit_routes!` (which only adds the documented, per-path entry points).
//!
//! A unit's members — and a department's heads, a group's staff — change
//! with one `{add, remove}` request applied in one transaction: only members
//! of the organisation may be added (400 otherwise), each added user's
//! membership is checked in the same transaction, and the unit's counters
//! move with the relation items. Heads and members are independent
//! relations (a head need not be listed as a member). Deleting a unit marks
//! it first (it then reads as absent and takes no new relations), removes
//! its relations and its scoped links in batches, and deletes it last, so a
//! repeated `DELETE` finishes an interrupted one.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use serde::Deserialize;
use utoipa::ToSchema;
use uuid::Uuid;

use shared::access::authz_org::OrgContext;
use shared::access::authz_org::org_context;
use shared::audit::AuditEntry;
use shared::concurrency::{IfMatch, etag_headers};
use shared::context::Ctx;
use shared::domain::{BoundedText, FreeText, TimeZoneName};
use shared::extract::{Json, PathId, Query};
use shared::identity::auth::Principal;
use shared::organisations;
use shared::organisations::links;
use shared::organisations::links::LinkScope;
use shared::organisations::structure;
use shared::organisations::structure::Kind;
use shared::organisations::structure::Relation;
use shared::organisations::structure::RelationRecord;
use shared::organisations::structure::Unit;
use shared::organisations::structure::UnitState;
use shared::pagination::{ListResponse, PageRequest};
use shared::validation::Validator;
use shared::{ApiError, AppState, Result};

use crate::common::{UserEntry, check_change};
use shared::kit::{
    BodyProblems, CHANGED_CONCURRENTLY, Failure, ListParams, PathIds, Problems, Tx, WriteProblems, created_headers,
};

type UnitName = BoundedText<200>;
/// Most users one `{add, remove}` request may name.
pub const MAX_CHANGE: usize = 40;
/// Most heads a department may be created with.
const MAX_INITIAL_HEADS: usize = 25;
const MAX_DESCRIPTION: usize = 2000;

/// A new group or security group.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct CreateUnitRequest {
    /// Display name (1–200 characters).
    #[schema(schema_with = UnitName::schema)]
    pub name: String,
    /// Free text (up to 2000 characters; blank: none).
    #[schema(schema_with = description_schema)]
    pub description: Option<String>,
}

/// A new department, with its first heads.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct CreateDepartmentRequest {
    /// Display name (1–200 characters).
    #[schema(schema_with = UnitName::schema)]
    pub name: String,
    /// Free text (up to 2000 characters; blank: none).
    #[schema(schema_with = description_schema)]
    pub description: Option<String>,
    /// User ids of the first heads: 1–25 members of the organisation, each once.
    // Optional to serde so that its absence is reported with every other
    // problem of the request, after the caller's rights are checked.
    #[schema(schema_with = heads_schema, required = true)]
    pub heads: Option<Vec<Uuid>>,
}

/// A new location.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct CreateLocationRequest {
    /// Display name (1–200 characters).
    #[schema(schema_with = UnitName::schema)]
    pub name: String,
    /// Free text (up to 2000 characters; blank: none).
    #[schema(schema_with = description_schema)]
    pub description: Option<String>,
    /// Its IANA time zone, such as `Europe/Stockholm`.
    // Optional to serde so that its absence is reported with every other
    // problem of the request, after the caller's rights are checked.
    #[schema(value_type = TimeZoneName, required = true)]
    pub time_zone: Option<String>,
}

/// What every kind's create request gives [`create_unit`].
pub struct NewUnit {
    name: String,
    description: Option<String>,
    time_zone: Option<String>,
    heads: Vec<Uuid>,
}

impl From<CreateUnitRequest> for NewUnit {
    fn from(body: CreateUnitRequest) -> Self {
        Self { name: body.name, description: body.description, time_zone: None, heads: Vec::new() }
    }
}

impl From<CreateDepartmentRequest> for NewUnit {
    fn from(body: CreateDepartmentRequest) -> Self {
        Self { name: body.name, description: body.description, time_zone: None, heads: body.heads.unwrap_or_default() }
    }
}

impl From<CreateLocationRequest> for NewUnit {
    fn from(body: CreateLocationRequest) -> Self {
        Self { name: body.name, description: body.description, time_zone: body.time_zone, heads: Vec::new() }
    }
}

/// Changes to a group, department or security group.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct UpdateUnitRequest {
    /// New display name (1–200 characters).
    #[schema(schema_with = UnitName::nullable_schema)]
    pub name: Option<String>,
    /// New description (up to 2000 characters; blank removes it).
    #[schema(schema_with = description_schema)]
    pub description: Option<String>,
}

/// Changes to a location.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct UpdateLocationRequest {
    /// New display name (1–200 characters).
    #[schema(schema_with = UnitName::nullable_schema)]
    pub name: Option<String>,
    /// New description (up to 2000 characters; blank removes it).
    #[schema(schema_with = description_schema)]
    pub description: Option<String>,
    /// New IANA time zone.
    #[schema(value_type = Option<TimeZoneName>)]
    pub time_zone: Option<String>,
}

/// What every kind's update request gives [`update_unit`].
pub struct UnitChange {
    name: Option<String>,
    description: Option<String>,
    time_zone: Option<String>,
}

impl From<UpdateUnitRequest> for UnitChange {
    fn from(body: UpdateUnitRequest) -> Self {
        Self { name: body.name, description: body.description, time_zone: None }
    }
}

impl From<UpdateLocationRequest> for UnitChange {
    fn from(body: UpdateLocationRequest) -> Self {
        Self { name: body.name, description: body.description, time_zone: body.time_zone }
    }
}

/// Users to add to and remove from a unit's members, heads or staff: at
/// most 40 in all, each named once.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RelationChange {
    /// User ids to add (members of the organisation).
    #[serde(default)]
    #[schema(schema_with = change_schema)]
    pub add: Vec<Uuid>,
    /// User ids to remove (not also in `add`).
    #[serde(default)]
    #[schema(schema_with = change_schema)]
    pub remove: Vec<Uuid>,
}

/// The schema of a department's first heads.
fn heads_schema() -> utoipa::openapi::schema::Array {
    shared::domain::id_list_schema(1, MAX_INITIAL_HEADS)
}

/// The schema of the users one relation change adds or removes.
fn change_schema() -> utoipa::openapi::schema::Array {
    shared::domain::id_list_schema(0, MAX_CHANGE)
}

type Description = FreeText<MAX_DESCRIPTION>;

/// The schema of a unit's description (`null` or absent: unchanged / none).
fn description_schema() -> utoipa::openapi::Object {
    Description::nullable_schema()
}

fn parse_description(raw: &str) -> std::result::Result<Option<String>, String> {
    Description::parse(raw)
}

/// Checks an IANA time zone name (`Europe/Stockholm`).
pub fn parse_time_zone(raw: &str) -> std::result::Result<String, String> {
    TimeZoneName::parse(raw).map(|tz| tz.name().to_string())
}

async fn read_context(state: &AppState, principal: &Principal, org: Uuid) -> Result<OrgContext> {
    principal.require("organisations", false)?;
    org_context(state.table.as_ref(), principal, org).await
}

async fn write_context(state: &AppState, principal: &Principal, org: Uuid) -> Result<OrgContext> {
    principal.require("organisations", true)?;
    let context = org_context(state.table.as_ref(), principal, org).await?;
    context.require_admin()?;
    Ok(context)
}

async fn live_unit(state: &AppState, org: Uuid, kind: Kind, id: Uuid) -> Result<Unit> {
    structure::get(state.table.as_ref(), org, kind, id, false).await?.ok_or(ApiError::NotFound)
}

struct Audit<'a> {
    ctx: &'a Ctx,
    org: Uuid,
    kind: Kind,
}

impl Audit<'_> {
    fn entry(&self, what: &str, unit: Uuid) -> AuditEntry {
        let action = format!("{}.{what}", self.kind.noun());
        let target = format!("{}/{unit}", self.kind.noun());
        self.ctx.audit(Some(self.org), &action, target)
    }
}

/// Lists the units of one kind, oldest first.
pub async fn list_units(
    state: &AppState,
    principal: &Principal,
    org: Uuid,
    kind: Kind,
    params: ListParams,
) -> Result<Json<ListResponse<Unit>>> {
    read_context(state, principal, org).await?;
    let page = PageRequest::new(params.limit, params.cursor)?;
    Ok(Json(structure::list_units(state.table.as_ref(), &state.cursors, org, kind, &page).await?))
}

/// Creates a unit (with a department's first heads).
pub async fn create_unit(
    state: &AppState,
    ctx: &Ctx,
    org: Uuid,
    kind: Kind,
    body: NewUnit,
) -> Result<(StatusCode, HeaderMap, Json<Unit>)> {
    write_context(state, &ctx.principal, org).await?;
    let mut v = Validator::new();
    let name = v.field("name", UnitName::parse(&body.name));
    let description = v.optional("description", body.description.as_deref(), parse_description);
    let time_zone = match (kind, body.time_zone.as_deref()) {
        (Kind::Location, Some(raw)) => v.field("timeZone", parse_time_zone(raw)).map(Some),
        (Kind::Location, None) => {
            v.error("timeZone", "is required for a location");
            None
        }
        (_, Some(_)) => {
            v.error("timeZone", "only locations have a time zone");
            None
        }
        (_, None) => Some(None),
    };
    let heads = body.heads;
    match kind {
        Kind::Department if heads.is_empty() => v.error("heads", "a department needs at least one head"),
        Kind::Department if heads.len() > MAX_INITIAL_HEADS => {
            v.error("heads", format!("at most {MAX_INITIAL_HEADS} heads when creating"))
        }
        Kind::Department => {}
        _ if !heads.is_empty() => v.error("heads", "only departments have heads"),
        _ => {}
    }
    if let Err(ApiError::Validation(errors)) = check_change(&heads, &[], MAX_INITIAL_HEADS.max(heads.len())) {
        for e in errors {
            v.error(&e.field.replacen("add", "heads", 1), e.message);
        }
    }
    let memberships = organisations::memberships_of(state.table.as_ref(), org, &heads).await?;
    for (i, m) in memberships.iter().enumerate() {
        if m.is_none() {
            v.error(&format!("heads[{i}]"), "is not a member of this organisation");
        }
    }
    let (Some(name), Some(description), Some(time_zone)) = (name, description, time_zone) else {
        return Err(v.into_error());
    };
    v.finish()?;

    let now = ctx.now;
    let mut unit = Unit::new(org, kind, name.as_str(), now);
    unit.description = description.flatten();
    unit.time_zone = time_zone;
    if kind.has(Relation::Head) {
        unit.head_count = Some(heads.len() as i64);
    }
    let audit = Audit { ctx, org, kind };
    let mut tx = Tx::new();
    tx.push(structure::create_op(&unit)?, Failure::Conflict(CHANGED_CONCURRENTLY));
    for head in &heads {
        let record = RelationRecord {
            organisation_id: org,
            kind,
            unit_id: unit.id,
            relation: Relation::Head,
            user_id: *head,
            created_at: now,
        };
        tx.push(structure::add_relation_op(&record)?, Failure::Conflict(CHANGED_CONCURRENTLY));
        tx.push(
            structure::relation_check_op(org, *head, Relation::Head),
            Failure::Conflict("A head is no longer a member."),
        );
    }
    tx.push(audit.entry("created", unit.id).write(), Failure::Conflict(CHANGED_CONCURRENTLY));
    tx.commit(state.table.as_ref()).await?;
    let plural = path_segment(kind);
    let headers = created_headers(unit.version, &format!("/v1/organisations/{org}/{plural}/{}", unit.id));
    Ok((StatusCode::CREATED, headers, Json(unit)))
}

/// The path segment of a kind.
pub fn path_segment(kind: Kind) -> &'static str {
    match kind {
        Kind::Group => "groups",
        Kind::Department => "departments",
        Kind::Location => "locations",
        Kind::SecurityGroup => "security-groups",
    }
}

/// Reads one unit.
pub async fn get_unit(
    state: &AppState,
    principal: &Principal,
    org: Uuid,
    kind: Kind,
    id: Uuid,
) -> Result<(HeaderMap, Json<Unit>)> {
    read_context(state, principal, org).await?;
    let unit = live_unit(state, org, kind, id).await?;
    Ok((etag_headers(unit.version), Json(unit)))
}

/// Changes a unit's name, description or time zone.
pub async fn update_unit(
    state: &AppState,
    ctx: &Ctx,
    if_match: IfMatch,
    org: Uuid,
    kind: Kind,
    id: Uuid,
    body: UnitChange,
) -> Result<(HeaderMap, Json<Unit>)> {
    write_context(state, &ctx.principal, org).await?;
    let mut v = Validator::new();
    let name = v.optional("name", body.name.as_deref(), UnitName::parse);
    let description = v.optional("description", body.description.as_deref(), parse_description);
    let time_zone = match (kind, body.time_zone.as_deref()) {
        (Kind::Location, raw) => v.optional("timeZone", raw, parse_time_zone),
        (_, Some(_)) => {
            v.error("timeZone", "only locations have a time zone");
            None
        }
        (_, None) => Some(None),
    };
    let (Some(name), Some(description), Some(time_zone)) = (name, description, time_zone) else {
        return Err(v.into_error());
    };
    let current = live_unit(state, org, kind, id).await?;
    if_match.check(current.version)?;

    let now = ctx.now;
    let mut unit = current.clone();
    if let Some(name) = name {
        unit.name = name.as_str().to_string();
    }
    if let Some(text) = description {
        unit.description = text;
    }
    if let Some(tz) = time_zone {
        unit.time_zone = Some(tz);
    }
    unit.updated_at = now;
    let audit = Audit { ctx, org, kind };
    let mut tx = Tx::new();
    tx.push(structure::update_op(&current, &unit)?, Failure::Precondition);
    tx.push(audit.entry("updated", id).write(), Failure::Conflict(CHANGED_CONCURRENTLY));
    tx.commit(state.table.as_ref()).await?;
    unit.version += 1;
    Ok((etag_headers(unit.version), Json(unit)))
}

/// Deletes a unit with its relations and the links scoped to it.
pub async fn delete_unit(
    state: &AppState,
    ctx: &Ctx,
    if_match: IfMatch,
    org: Uuid,
    kind: Kind,
    id: Uuid,
) -> Result<StatusCode> {
    write_context(state, &ctx.principal, org).await?;
    let table = state.table.as_ref();
    let current = structure::get_state(table, org, kind, id).await?.ok_or(ApiError::NotFound)?;
    let audit = Audit { ctx, org, kind };
    if let UnitState::Live(unit) = current {
        if_match.check(unit.version)?;
        let mut tx = Tx::new();
        tx.push(structure::mark_deleting_op(&unit), Failure::Precondition);
        tx.commit(table).await?;
    }
    // Relations, then scoped links, in bounded batches (each delete is idempotent).
    structure::delete_relations(table, org, kind, id).await?;
    if let Some(scope) = LinkScope::unit(kind, id) {
        links::delete_scope(table, org, scope).await?;
    }
    let mut tx = Tx::new();
    tx.push(structure::delete_marked_op(org, kind, id), Failure::NotFound);
    tx.push(audit.entry("deleted", id).write(), Failure::Conflict(CHANGED_CONCURRENTLY));
    tx.commit(table).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Lists the members, heads or staff of a unit with their profiles.
#[allow(clippy::too_many_arguments)]
pub async fn list_relation(
    state: &AppState,
    principal: &Principal,
    org: Uuid,
    kind: Kind,
    id: Uuid,
    relation: Relation,
    params: ListParams,
) -> Result<Json<ListResponse<UserEntry>>> {
    let context = read_context(state, principal, org).await?;
    live_unit(state, org, kind, id).await?;
    let page = PageRequest::new(params.limit, params.cursor)?;
    let found = structure::list_relation(state.table.as_ref(), &state.cursors, org, kind, id, relation, &page).await?;
    let (records, next_cursor) = (found.items, found.next_cursor);
    let ids: Vec<Uuid> = records.iter().map(|r| r.user_id).collect();
    let users = context.people(state.table.as_ref(), principal, &ids).await?;
    let items = records
        .into_iter()
        .zip(users)
        .map(|(r, user)| UserEntry { user_id: r.user_id, created_at: r.created_at, user })
        .collect();
    Ok(Json(ListResponse { items, next_cursor }))
}

/// Adds and removes members, heads or staff of a unit in one transaction.
pub async fn change_relation(
    state: &AppState,
    ctx: &Ctx,
    org: Uuid,
    kind: Kind,
    id: Uuid,
    relation: Relation,
    body: RelationChange,
) -> Result<Json<Unit>> {
    write_context(state, &ctx.principal, org).await?;
    let unit = live_unit(state, org, kind, id).await?;
    check_change(&body.add, &body.remove, MAX_CHANGE)?;
    let mut v = Validator::new();
    let memberships = organisations::memberships_of(state.table.as_ref(), org, &body.add).await?;
    for (i, m) in memberships.iter().enumerate() {
        match m {
            None => v.error(&format!("add[{i}]"), "is not a member of this organisation"),
            Some(m) if !relation.allows(m.role) => {
                v.error(&format!("add[{i}]"), "must be a planner, admin or owner of the organisation")
            }
            Some(_) => {}
        }
    }
    v.finish()?;

    // Only real changes are written, so the counters stay exact.
    let table = state.table.as_ref();
    let named: Vec<Uuid> = body.add.iter().chain(&body.remove).copied().collect();
    let held = structure::holders(table, org, kind, id, relation, &named).await?;
    let exists = |user: &Uuid| held.contains(user);
    let adds: Vec<Uuid> = body.add.iter().filter(|u| !exists(u)).copied().collect();
    let removes: Vec<Uuid> = body.remove.iter().filter(|u| exists(u)).copied().collect();
    if adds.is_empty() && removes.is_empty() {
        return Ok(Json(unit));
    }
    let delta = adds.len() as i64 - removes.len() as i64;
    if unit.count(relation) + delta < relation.minimum() {
        return Err(ApiError::Conflict(last_one_message(relation).into()));
    }

    let now = ctx.now;
    let audit = Audit { ctx, org, kind };
    let mut tx = Tx::new();
    for user in &adds {
        let record =
            RelationRecord { organisation_id: org, kind, unit_id: id, relation, user_id: *user, created_at: now };
        tx.push(structure::add_relation_op(&record)?, Failure::Conflict(CHANGED_CONCURRENTLY));
        tx.push(
            structure::relation_check_op(org, *user, relation),
            Failure::Conflict("A user to add is no longer a member."),
        );
    }
    for user in &removes {
        tx.push(structure::remove_relation_op(org, kind, id, relation, *user), Failure::Conflict(CHANGED_CONCURRENTLY));
    }
    let counter_failure = if delta < 0 && relation.minimum() > 0 {
        Failure::Conflict(last_one_message(relation))
    } else {
        Failure::NotFound
    };
    tx.push(structure::counters_op(org, kind, id, &[(relation, delta)]), counter_failure);
    let what = match relation {
        Relation::Member => "members_changed",
        Relation::Head => "heads_changed",
        Relation::Staff => "staff_changed",
    };
    tx.push(audit.entry(what, id).write(), Failure::Conflict(CHANGED_CONCURRENTLY));
    tx.commit(table).await?;
    let unit = live_unit(state, org, kind, id).await?;
    Ok(Json(unit))
}

fn last_one_message(relation: Relation) -> &'static str {
    match relation {
        Relation::Head => "A department keeps at least one head.",
        Relation::Member | Relation::Staff => CHANGED_CONCURRENTLY,
    }
}

/// Declares the documented routes of one kind; each is a one-line call
/// into the generic implementation above.
macro_rules! unit_routes {
    ($module:ident, $kind:expr, $plural:literal, $noun:literal, $create:ty, $update:ty) => {
        #[doc = concat!("Routes of ", $plural, ".")]
        pub mod $module {
            use super::*;

            #[doc = concat!("Lists the ", $plural, " of an organisation.")]
            #[utoipa::path(
                get,
                summary = concat!("Lists the ", $plural, " of an organisation."),
                path = concat!("/v1/organisations/{id}/", $plural),
                operation_id = concat!("list_", $noun, "s"),
                tag = "organisations",
                params(("id" = Uuid, Path, description = "Organisation id"), ListParams),
                security(("bearer" = [])),
                responses(BodyProblems, (status = 200, body = ListResponse<Unit>), Problems)
            )]
            pub async fn list(
                State(state): State<AppState>,
                principal: Principal,
                PathId(org): PathId,
                Query(params): Query<ListParams>,
            ) -> Result<Json<ListResponse<Unit>>> {
                list_units(&state, &principal, org, $kind, params).await
            }

            #[doc = concat!("Creates a ", $noun, " (owners and admins).")]
            #[utoipa::path(
                post,
                summary = concat!("Creates a ", $noun, " (owners and admins)."),
                path = concat!("/v1/organisations/{id}/", $plural),
                operation_id = concat!("create_", $noun),
                tag = "organisations",
                request_body = $create,
                params(
                    ("id" = Uuid, Path, description = "Organisation id"),
                    shared::idempotency::IdempotencyKey,
                ),
                security(("bearer" = [])),
                responses(BodyProblems, (status = 201, body = Unit, description = "Created"), Problems, WriteProblems)
            )]
            pub async fn create(
                State(state): State<AppState>,
                ctx: Ctx,
                PathId(org): PathId,
                Json(body): Json<$create>,
            ) -> Result<(StatusCode, HeaderMap, Json<Unit>)> {
                create_unit(&state, &ctx, org, $kind, body.into()).await
            }

            #[doc = concat!("Reads a ", $noun, ".")]
            #[utoipa::path(
                get,
                summary = concat!("Reads a ", $noun, "."),
                path = concat!("/v1/organisations/{id}/", $plural, "/{unitId}"),
                operation_id = concat!("get_", $noun),
                tag = "organisations",
                params(("id" = Uuid, Path, description = "Organisation id"), ("unitId" = Uuid, Path, description = "Unit id")),
                security(("bearer" = [])),
                responses((status = 200, body = Unit, headers(("ETag" = String, description = "The version"))), Problems)
            )]
            pub async fn get(
                State(state): State<AppState>,
                principal: Principal,
                PathIds(org, id): PathIds,
            ) -> Result<(HeaderMap, Json<Unit>)> {
                get_unit(&state, &principal, org, $kind, id).await
            }

            #[doc = concat!("Changes a ", $noun, " (owners and admins).")]
            #[utoipa::path(
                patch,
                summary = concat!("Changes a ", $noun, " (owners and admins)."),
                path = concat!("/v1/organisations/{id}/", $plural, "/{unitId}"),
                operation_id = concat!("update_", $noun),
                tag = "organisations",
                request_body = $update,
                params(
                    ("id" = Uuid, Path, description = "Organisation id"),
                    ("unitId" = Uuid, Path, description = "Unit id"),
                    shared::concurrency::IfMatch,
                ),
                security(("bearer" = [])),
                responses(BodyProblems, (status = 200, body = Unit, headers(("ETag" = String, description = "The new version"))), Problems, WriteProblems)
            )]
            pub async fn update(
                State(state): State<AppState>,
                ctx: Ctx,
                if_match: IfMatch,
                PathIds(org, id): PathIds,
                Json(body): Json<$update>,
            ) -> Result<(HeaderMap, Json<Unit>)> {
                update_unit(&state, &ctx, if_match, org, $kind, id, body.into()).await
            }

            #[doc = concat!("Deletes a ", $noun, " with its memberships (owners and admins).")]
            #[utoipa::path(
                delete,
                summary = concat!("Deletes a ", $noun, " with its memberships (owners and admins)."),
                path = concat!("/v1/organisations/{id}/", $plural, "/{unitId}"),
                operation_id = concat!("delete_", $noun),
                tag = "organisations",
                params(
                    ("id" = Uuid, Path, description = "Organisation id"),
                    ("unitId" = Uuid, Path, description = "Unit id"),
                    shared::concurrency::IfMatch,
                ),
                security(("bearer" = [])),
                responses((status = 204, description = "Deleted"), Problems, WriteProblems)
            )]
            pub async fn delete(
                State(state): State<AppState>,
                ctx: Ctx,
                if_match: IfMatch,
                PathIds(org, id): PathIds,
            ) -> Result<StatusCode> {
                delete_unit(&state, &ctx, if_match, org, $kind, id).await
            }
        }
    };
}

/// Declares the documented list and change routes of one relation of a kind.
macro_rules! relation_routes {
    ($module:ident, $kind:expr, $relation:expr, $plural:literal, $segment:literal, $noun:literal) => {
        #[doc = concat!("Routes of the ", $segment, " of ", $plural, ".")]
        pub mod $module {
            use super::*;

            #[doc = concat!("Lists the ", $segment, " of a ", $noun, " with their profiles.")]
            #[utoipa::path(
                get,
                summary = concat!("Lists the ", $segment, " of a ", $noun, " with their profiles."),
                path = concat!("/v1/organisations/{id}/", $plural, "/{unitId}/", $segment),
                operation_id = concat!("list_", $noun, "_", $segment),
                tag = "organisations",
                params(
                    ("id" = Uuid, Path, description = "Organisation id"),
                    ("unitId" = Uuid, Path, description = "Unit id"),
                    ListParams
                ),
                security(("bearer" = [])),
                responses((status = 200, body = ListResponse<UserEntry>), Problems)
            )]
            pub async fn list(
                State(state): State<AppState>,
                principal: Principal,
                PathIds(org, id): PathIds,
                Query(params): Query<ListParams>,
            ) -> Result<Json<ListResponse<UserEntry>>> {
                list_relation(&state, &principal, org, $kind, id, $relation, params).await
            }

            #[doc = concat!("Adds and removes ", $segment, " of a ", $noun, " in one transaction (owners and admins).")]
            #[utoipa::path(
                post,
                summary = concat!("Adds and removes ", $segment, " of a ", $noun, " in one transaction (owners and admins)."),
                path = concat!("/v1/organisations/{id}/", $plural, "/{unitId}/", $segment),
                operation_id = concat!("change_", $noun, "_", $segment),
                tag = "organisations",
                request_body = RelationChange,
                params(("id" = Uuid, Path, description = "Organisation id"), ("unitId" = Uuid, Path, description = "Unit id")),
                security(("bearer" = [])),
                responses(BodyProblems, (status = 200, body = Unit, description = "The unit with its new counts"), Problems, WriteProblems)
            )]
            pub async fn change(
                State(state): State<AppState>,
                ctx: Ctx,
                PathIds(org, id): PathIds,
                Json(body): Json<RelationChange>,
            ) -> Result<Json<Unit>> {
                change_relation(&state, &ctx, org, $kind, id, $relation, body).await
            }
        }
    };
}

unit_routes!(groups, Kind::Group, "groups", "group", CreateUnitRequest, UpdateUnitRequest);
unit_routes!(departments, Kind::Department, "departments", "department", CreateDepartmentRequest, UpdateUnitRequest);
unit_routes!(locations, Kind::Location, "locations", "location", CreateLocationRequest, UpdateLocationRequest);
unit_routes!(
    security_groups,
    Kind::SecurityGroup,
    "security-groups",
    "security_group",
    CreateUnitRequest,
    UpdateUnitRequest
);
relation_routes!(group_members, Kind::Group, Relation::Member, "groups", "members", "group");
relation_routes!(group_staff, Kind::Group, Relation::Staff, "groups", "staff", "group");
relation_routes!(department_members, Kind::Department, Relation::Member, "departments", "members", "department");
relation_routes!(department_heads, Kind::Department, Relation::Head, "departments", "heads", "department");
relation_routes!(location_members, Kind::Location, Relation::Member, "locations", "members", "location");
relation_routes!(
    security_group_members,
    Kind::SecurityGroup,
    Relation::Member,
    "security-groups",
    "members",
    "security_group"
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_zones_must_be_iana_names() {
        assert_eq!(parse_time_zone("Europe/Stockholm").unwrap(), "Europe/Stockholm");
        assert!(parse_time_zone("Mars/Olympus").is_err());
        assert!(parse_time_zone("").is_err());
    }

    #[test]
    fn descriptions_keep_line_breaks_but_not_other_controls() {
        assert_eq!(parse_description(" a\nb ").unwrap().as_deref(), Some("a\nb"));
        assert_eq!(parse_description("  ").unwrap(), None);
        assert!(parse_description("a\u{0}").is_err());
        assert!(parse_description(&"x".repeat(MAX_DESCRIPTION + 1)).is_err());
    }
}
