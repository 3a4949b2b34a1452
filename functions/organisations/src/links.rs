//! Quick links and SSO entries. Each link belongs to one scope — the whole
//! organisation, a department, a location or one user — and lists of a
//! scope come back ordered by `order` straight from the index (GSI2
//! `LINKS#<orgId>#<scope>`, sort key the zero-padded order), so paging
//! through them needs no sorting in memory.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use shared::audit::{AuditEntry, RequestMeta};
use shared::auth::Principal;
use shared::authz_org::org_context;
use shared::concurrency::{IfMatch, etag_headers};
use shared::domain::BoundedText;
use shared::extract::{Json, PathId, Query};
use shared::keys;
use shared::pagination::{ListResponse, PageRequest, query_page};
use shared::repo::structure::{self, Kind};
use shared::repo::{from_item, organisations, to_item};
use shared::table::{Condition, Index, Key, Update, WriteOp};
use shared::validation::Validator;
use shared::{ApiError, AppState, Result};

use shared::kit::{BodyProblems, CHANGED_CONCURRENTLY, Failure, PathIds, Problems, Tx, WriteProblems, created_headers};

type LinkName = BoundedText<200>;
const MAX_URL: usize = 2048;
/// Largest `order`.
pub const MAX_ORDER: u32 = 1_000_000;

/// What a link opens.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub enum LinkType {
    /// A plain link.
    #[serde(rename = "QUICK_LINK")]
    QuickLink,
    /// A single sign-on entry.
    #[serde(rename = "SSO")]
    Sso,
}

/// A stored link (also its API view).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Link {
    /// Link id (UUIDv7).
    pub id: Uuid,
    /// The organisation.
    pub organisation_id: Uuid,
    /// `QUICK_LINK` or `SSO`.
    #[serde(rename = "type")]
    pub link_type: LinkType,
    /// Display name.
    pub name: String,
    /// Where it goes (http or https).
    pub url: String,
    /// Position within its scope (ascending).
    pub order: u32,
    /// Scoped to this department.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub department_id: Option<Uuid>,
    /// Scoped to this location.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location_id: Option<Uuid>,
    /// Scoped to this user.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<Uuid>,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Last changed.
    pub updated_at: DateTime<Utc>,
    /// Version (also the ETag).
    pub version: i64,
}

impl Link {
    fn scope(&self) -> String {
        scope_of(self.department_id, self.location_id, self.user_id)
    }

    fn key(&self) -> Key {
        Key::new(keys::org_pk(self.organisation_id), keys::link_sk(self.id))
    }
}

fn scope_of(department: Option<Uuid>, location: Option<Uuid>, user: Option<Uuid>) -> String {
    match (department, location, user) {
        (Some(d), _, _) => format!("DEPT#{d}"),
        (_, Some(l), _) => format!("LOC#{l}"),
        (_, _, Some(u)) => format!("USER#{u}"),
        _ => "ORG".into(),
    }
}

/// The link scope of a unit, for kinds that scope links.
pub fn unit_scope(kind: Kind, unit: Uuid) -> Option<String> {
    match kind {
        Kind::Department => Some(scope_of(Some(unit), None, None)),
        Kind::Location => Some(scope_of(None, Some(unit), None)),
        Kind::Group | Kind::SecurityGroup => None,
    }
}

/// The link scope of one user.
pub fn user_scope(user: Uuid) -> String {
    scope_of(None, None, Some(user))
}

fn link_op(link: &Link, condition: Condition) -> anyhow::Result<WriteOp> {
    let mut item = to_item(link, keys::org_pk(link.organisation_id), keys::link_sk(link.id), "Link")?;
    item.insert("GSI2PK".into(), keys::links_gsi2pk(link.organisation_id, &link.scope()).into());
    item.insert("GSI2SK".into(), keys::link_gsi2sk(link.order, link.id).into());
    Ok(WriteOp::Put { item, condition })
}

/// Checks an http(s) URL with a host.
pub fn parse_url(raw: &str) -> std::result::Result<String, String> {
    let raw = raw.trim();
    if raw.len() > MAX_URL {
        return Err(format!("must be at most {MAX_URL} characters"));
    }
    let url = url::Url::parse(raw).map_err(|e| format!("must be an absolute URL ({e})"))?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none_or(str::is_empty) {
        return Err("must be an http or https URL with a host".into());
    }
    Ok(url.to_string())
}

fn check_order(order: u32) -> std::result::Result<u32, String> {
    if order > MAX_ORDER { Err(format!("must be between 0 and {MAX_ORDER}")) } else { Ok(order) }
}

/// Which links to list.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
pub struct LinkListParams {
    /// The links of this department.
    pub department_id: Option<Uuid>,
    /// The links of this location.
    pub location_id: Option<Uuid>,
    /// The links of this user (themselves, owners and admins only).
    pub user_id: Option<Uuid>,
    /// Items per page (1–100, default 25).
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<u32>,
    /// The `nextCursor` of the previous page.
    pub cursor: Option<String>,
}

fn one_scope(department: Option<Uuid>, location: Option<Uuid>, user: Option<Uuid>) -> Result<()> {
    let given = [department.is_some(), location.is_some(), user.is_some()].iter().filter(|x| **x).count();
    if given > 1 {
        Err(ApiError::invalid("departmentId", "give at most one of departmentId, locationId and userId"))
    } else {
        Ok(())
    }
}

/// Lists the links of one scope (the organisation's own without a filter), by `order`.
#[utoipa::path(
    get,
    path = "/v1/organisations/{id}/links",
    tag = "organisations",
    params(("id" = Uuid, Path, description = "Organisation id"), LinkListParams),
    security(("bearer" = [])),
    responses((status = 200, body = ListResponse<Link>), Problems)
)]
#[tracing::instrument(skip_all)]
pub async fn list_links(
    State(state): State<AppState>,
    principal: Principal,
    PathId(org): PathId,
    Query(params): Query<LinkListParams>,
) -> Result<Json<ListResponse<Link>>> {
    principal.require("organisations", false)?;
    let context = org_context(state.table.as_ref(), &principal, org).await?;
    one_scope(params.department_id, params.location_id, params.user_id)?;
    if let Some(user) = params.user_id
        && user != principal.user_id
    {
        context.require_admin()?;
    }
    let page = PageRequest::new(params.limit, params.cursor)?;
    let scope = scope_of(params.department_id, params.location_id, params.user_id);
    let query = shared::table::Query::new(Index::Gsi2, keys::links_gsi2pk(org, &scope));
    let list = format!("links:{org}:{scope}");
    let (items, next_cursor) = query_page(state.table.as_ref(), &state.cursors, &list, query, &page).await?;
    let items = items.into_iter().map(from_item).collect::<anyhow::Result<Vec<Link>>>()?;
    Ok(Json(ListResponse { items, next_cursor }))
}

/// A new link.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct CreateLinkRequest {
    /// `QUICK_LINK` or `SSO`.
    #[serde(rename = "type")]
    pub link_type: LinkType,
    /// Display name (1–200 characters).
    pub name: String,
    /// An http or https URL.
    pub url: String,
    /// Position within its scope (0–1000000, default 0).
    #[serde(default)]
    pub order: u32,
    /// Scope it to this department.
    pub department_id: Option<Uuid>,
    /// Scope it to this location.
    pub location_id: Option<Uuid>,
    /// Scope it to this member.
    pub user_id: Option<Uuid>,
}

/// Creates a link (owners and admins).
#[utoipa::path(
    post,
    path = "/v1/organisations/{id}/links",
    tag = "organisations",
    request_body = CreateLinkRequest,
    params(
        ("id" = Uuid, Path, description = "Organisation id"),
        ("Idempotency-Key" = Option<String>, Header, description = "Makes a retry return the first response"),
    ),
    security(("bearer" = [])),
    responses(BodyProblems, (status = 201, body = Link, description = "Created"), Problems, WriteProblems)
)]
#[tracing::instrument(skip_all)]
pub async fn create_link(
    State(state): State<AppState>,
    principal: Principal,
    meta: RequestMeta,
    PathId(org): PathId,
    Json(body): Json<CreateLinkRequest>,
) -> Result<(StatusCode, HeaderMap, Json<Link>)> {
    principal.require("organisations", true)?;
    let context = org_context(state.table.as_ref(), &principal, org).await?;
    context.require_admin()?;
    let mut v = Validator::new();
    let name = v.field("name", LinkName::parse(&body.name));
    let url = v.field("url", parse_url(&body.url));
    let order = v.field("order", check_order(body.order));
    if let Err(ApiError::Validation(errors)) = one_scope(body.department_id, body.location_id, body.user_id) {
        for e in errors {
            v.error(&e.field, e.message);
        }
    }
    // The scope must exist now, and still exist when the link is written.
    let table = state.table.as_ref();
    let mut scope_check = None;
    if let Some(d) = body.department_id {
        match structure::get(table, org, Kind::Department, d, false).await? {
            Some(unit) => scope_check = Some(WriteOp::Check { key: unit.key(), condition: structure::live() }),
            None => v.error("departmentId", "no such department"),
        }
    }
    if let Some(l) = body.location_id {
        match structure::get(table, org, Kind::Location, l, false).await? {
            Some(unit) => scope_check = Some(WriteOp::Check { key: unit.key(), condition: structure::live() }),
            None => v.error("locationId", "no such location"),
        }
    }
    if let Some(u) = body.user_id {
        match organisations::membership(table, org, u).await? {
            Some(_) => {
                scope_check =
                    Some(WriteOp::Check { key: organisations::membership_key(org, u), condition: Condition::Exists })
            }
            None => v.error("userId", "is not a member of this organisation"),
        }
    }
    let (Some(name), Some(url), Some(order)) = (name, url, order) else { return Err(v.into_error()) };
    v.finish()?;

    let now = state.clock.now();
    let link = Link {
        id: shared::domain::new_id(),
        organisation_id: org,
        link_type: body.link_type,
        name: name.as_str().to_string(),
        url,
        order,
        department_id: body.department_id,
        location_id: body.location_id,
        user_id: body.user_id,
        created_at: now,
        updated_at: now,
        version: 1,
    };
    let mut tx = Tx::new();
    tx.push(link_op(&link, Condition::NotExists)?, Failure::Conflict(CHANGED_CONCURRENTLY));
    if let Some(check) = scope_check {
        tx.push(check, Failure::Conflict("The link's scope no longer exists."));
    }
    tx.push(
        AuditEntry::new(Some(org), principal.actor(), "link.created", format!("link/{}", link.id), now, &meta).write(),
        Failure::Conflict(CHANGED_CONCURRENTLY),
    );
    tx.commit(table).await?;
    let headers = created_headers(link.version, &format!("/v1/organisations/{org}/links/{}", link.id));
    Ok((StatusCode::CREATED, headers, Json(link)))
}

/// Changes to a link (its scope is fixed).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct UpdateLinkRequest {
    /// `QUICK_LINK` or `SSO`.
    #[serde(rename = "type")]
    pub link_type: Option<LinkType>,
    /// Display name.
    pub name: Option<String>,
    /// An http or https URL.
    pub url: Option<String>,
    /// Position within its scope.
    pub order: Option<u32>,
}

async fn read_link(state: &AppState, org: Uuid, id: Uuid) -> Result<Link> {
    let item = state.table.get(&Key::new(keys::org_pk(org), keys::link_sk(id))).await?.ok_or(ApiError::NotFound)?;
    Ok(from_item(item)?)
}

/// Changes a link (owners and admins).
#[utoipa::path(
    patch,
    path = "/v1/organisations/{id}/links/{linkId}",
    tag = "organisations",
    request_body = UpdateLinkRequest,
    params(
        ("id" = Uuid, Path, description = "Organisation id"),
        ("linkId" = Uuid, Path, description = "Link id"),
        ("If-Match" = Option<String>, Header, description = "The version to change"),
    ),
    security(("bearer" = [])),
    responses(BodyProblems, (status = 200, body = Link, headers(("ETag" = String, description = "The new version"))), Problems, WriteProblems)
)]
#[tracing::instrument(skip_all)]
pub async fn update_link(
    State(state): State<AppState>,
    principal: Principal,
    meta: RequestMeta,
    if_match: IfMatch,
    PathIds(org, id): PathIds,
    Json(body): Json<UpdateLinkRequest>,
) -> Result<(HeaderMap, Json<Link>)> {
    principal.require("organisations", true)?;
    org_context(state.table.as_ref(), &principal, org).await?.require_admin()?;
    let mut v = Validator::new();
    let name = v.optional("name", body.name.as_deref(), LinkName::parse);
    let url = v.optional("url", body.url.as_deref(), parse_url);
    let order = v.optional("order", body.order, check_order);
    let (Some(name), Some(url), Some(order)) = (name, url, order) else { return Err(v.into_error()) };
    let mut link = read_link(&state, org, id).await?;
    if_match.check(link.version)?;

    let now = state.clock.now();
    let mut update = Update::new(link.key())
        .set("updatedAt", serde_json::to_value(now).map_err(anyhow::Error::from)?)
        .add("version", 1)
        .when(Condition::version_is(link.version));
    if let Some(t) = body.link_type {
        update = update.set("type", serde_json::to_value(t).map_err(anyhow::Error::from)?);
        link.link_type = t;
    }
    if let Some(name) = name {
        update = update.set("name", name.as_str());
        link.name = name.as_str().to_string();
    }
    if let Some(url) = url {
        update = update.set("url", url.clone());
        link.url = url;
    }
    if let Some(order) = order {
        update = update.set("order", order).set("GSI2SK", keys::link_gsi2sk(order, id));
        link.order = order;
    }
    let mut tx = Tx::new();
    tx.push(WriteOp::Update(update), Failure::Precondition);
    tx.push(
        AuditEntry::new(Some(org), principal.actor(), "link.updated", format!("link/{id}"), now, &meta).write(),
        Failure::Conflict(CHANGED_CONCURRENTLY),
    );
    tx.commit(state.table.as_ref()).await?;
    link.updated_at = now;
    link.version += 1;
    Ok((etag_headers(link.version), Json(link)))
}

/// Deletes a link (owners and admins).
#[utoipa::path(
    delete,
    path = "/v1/organisations/{id}/links/{linkId}",
    tag = "organisations",
    params(
        ("id" = Uuid, Path, description = "Organisation id"),
        ("linkId" = Uuid, Path, description = "Link id"),
        ("If-Match" = Option<String>, Header, description = "The version to delete"),
    ),
    security(("bearer" = [])),
    responses((status = 204, description = "Deleted"), Problems, WriteProblems)
)]
#[tracing::instrument(skip_all)]
pub async fn delete_link(
    State(state): State<AppState>,
    principal: Principal,
    meta: RequestMeta,
    if_match: IfMatch,
    PathIds(org, id): PathIds,
) -> Result<StatusCode> {
    principal.require("organisations", true)?;
    org_context(state.table.as_ref(), &principal, org).await?.require_admin()?;
    let link = read_link(&state, org, id).await?;
    if_match.check(link.version)?;
    let now = state.clock.now();
    let mut tx = Tx::new();
    tx.push(WriteOp::Delete { key: link.key(), condition: Condition::version_is(link.version) }, Failure::Precondition);
    tx.push(
        AuditEntry::new(Some(org), principal.actor(), "link.deleted", format!("link/{id}"), now, &meta).write(),
        Failure::Conflict(CHANGED_CONCURRENTLY),
    );
    tx.commit(state.table.as_ref()).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_http_urls_with_a_host_are_links() {
        assert_eq!(parse_url("https://example.com/a?b=c").unwrap(), "https://example.com/a?b=c");
        assert!(parse_url("http://intranet.local").is_ok());
        assert!(parse_url("javascript:alert(1)").is_err());
        assert!(parse_url("ftp://example.com").is_err());
        assert!(parse_url("example.com").is_err());
        assert!(parse_url(&format!("https://example.com/{}", "a".repeat(MAX_URL))).is_err());
    }

    #[test]
    fn scopes_name_one_owner() {
        let id = Uuid::now_v7();
        assert_eq!(scope_of(None, None, None), "ORG");
        assert_eq!(scope_of(Some(id), None, None), format!("DEPT#{id}"));
        assert_eq!(unit_scope(Kind::Location, id), Some(format!("LOC#{id}")));
        assert_eq!(unit_scope(Kind::Group, id), None);
        assert!(one_scope(Some(id), Some(id), None).is_err());
    }
}
