//! Quick links and SSO entries. Each link belongs to one scope — the whole
//! organisation, a department, a location or one user — and lists of a
//! scope come back ordered by `order` (see `shared::organisations::links`).

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use shared::access::authz_org::org_context;
use shared::concurrency::{IfMatch, etag_headers};
use shared::context::Ctx;
use shared::domain::BoundedText;
use shared::extract::{Json, PathId, Query};
use shared::identity::auth::Principal;
use shared::organisations;
use shared::organisations::links;
use shared::organisations::links::Link;
use shared::organisations::links::LinkScope;
use shared::organisations::links::LinkType;
use shared::organisations::structure;
use shared::organisations::structure::Kind;
use shared::pagination::{ListResponse, PageRequest};
use shared::validation::Validator;
use shared::{ApiError, AppState, Result};

use shared::kit::{BodyProblems, CHANGED_CONCURRENTLY, Failure, PathIds, Problems, Tx, WriteProblems, created_headers};

type LinkName = BoundedText<200>;
const MAX_URL: usize = 2048;
/// Largest `order`.
pub const MAX_ORDER: u32 = 1_000_000;

/// Checks an http(s) URL with a host.
pub fn parse_url(raw: &str) -> std::result::Result<String, String> {
    if raw.chars().count() > MAX_URL {
        return Err(format!("must be at most {MAX_URL} characters"));
    }
    let raw = raw.trim();
    let url = url::Url::parse(raw).map_err(|e| format!("must be an absolute URL ({e})"))?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none_or(str::is_empty) {
        return Err("must be an http or https URL with a host".into());
    }
    Ok(url.to_string())
}

/// The schema of a link's URL: `maxLength` is `parse_url`'s bound, and the
/// pattern the canonical form it always accepts (white space around an
/// http or https URL with a host name, an optional port and a path, query
/// and fragment of URI characters). `parse_url` (a WHATWG URL parser) also
/// takes other spellings, such as IP addresses or user names.
fn url_schema() -> utoipa::openapi::Object {
    let ws = shared::domain::WHITE_SPACE;
    let label = "[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?";
    // The last label starts with a letter: an all-digit one is read as an IPv4 address.
    let top = "[A-Za-z](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?";
    let port = "(?::(?:[0-9]{1,4}|[1-5][0-9]{4}|6[0-4][0-9]{3}|65[0-4][0-9]{2}|655[0-2][0-9]|6553[0-5]))?";
    let uri_char = "(?:[A-Za-z0-9._~!$&'()*+,;=:@/?-]|%[0-9A-Fa-f]{2})";
    let pattern =
        format!(r"^{ws}*[Hh][Tt][Tt][Pp][Ss]?://(?:{label}\.)*{top}{port}(?:/{uri_char}*)?(?:#{uri_char}*)?{ws}*$");
    utoipa::openapi::ObjectBuilder::new()
        .schema_type(utoipa::openapi::Type::String)
        .min_length(Some(1))
        .max_length(Some(MAX_URL))
        .pattern(Some(pattern))
        .build()
}

/// [`url_schema`], also allowing `null`.
fn nullable_url_schema() -> utoipa::openapi::Object {
    shared::domain::nullable(url_schema())
}

fn check_order(order: u32) -> std::result::Result<u32, String> {
    if order > MAX_ORDER { Err(format!("must be between 0 and {MAX_ORDER}")) } else { Ok(order) }
}

/// Which links to list.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
pub struct LinkListParams {
    /// The links of this department (at most one of `departmentId`, `locationId` and `userId`).
    pub department_id: Option<Uuid>,
    /// The links of this location (at most one of `departmentId`, `locationId` and `userId`).
    pub location_id: Option<Uuid>,
    /// The links of this user (themselves, owners and admins only; at most
    /// one of `departmentId`, `locationId` and `userId`).
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
    let scope = LinkScope::of(params.department_id, params.location_id, params.user_id);
    Ok(Json(links::list(state.table.as_ref(), &state.cursors, org, scope, &page).await?))
}

/// A new link.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct CreateLinkRequest {
    /// `QUICK_LINK` or `SSO`.
    #[serde(rename = "type")]
    pub link_type: LinkType,
    /// Display name (1–200 characters).
    #[schema(schema_with = LinkName::schema)]
    pub name: String,
    /// An http or https URL.
    #[schema(schema_with = url_schema)]
    pub url: String,
    /// Position within its scope (0–1000000, default 0).
    #[serde(default)]
    #[schema(maximum = 1_000_000)]
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
        shared::idempotency::IdempotencyKey,
    ),
    security(("bearer" = [])),
    responses(
        shared::kit::IdempotentProblems,BodyProblems, (status = 201, body = Link, description = "Created"), Problems, WriteProblems)
)]
#[tracing::instrument(skip_all)]
pub async fn create_link(
    State(state): State<AppState>,
    ctx: Ctx,
    PathId(org): PathId,
    Json(body): Json<CreateLinkRequest>,
) -> Result<(StatusCode, HeaderMap, Json<Link>)> {
    let principal = &ctx.principal;
    principal.require("organisations", true)?;
    let context = org_context(state.table.as_ref(), principal, org).await?;
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
            Some(unit) => scope_check = Some(structure::live_check_op(&unit)),
            None => v.error("departmentId", "no such department"),
        }
    }
    if let Some(l) = body.location_id {
        match structure::get(table, org, Kind::Location, l, false).await? {
            Some(unit) => scope_check = Some(structure::live_check_op(&unit)),
            None => v.error("locationId", "no such location"),
        }
    }
    if let Some(u) = body.user_id {
        match organisations::membership(table, org, u).await? {
            Some(_) => scope_check = Some(organisations::member_check_op(org, u)),
            None => v.error("userId", "is not a member of this organisation"),
        }
    }
    let (Some(name), Some(url), Some(order)) = (name, url, order) else { return Err(v.into_error()) };
    v.finish()?;

    let now = ctx.now;
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
    tx.push(links::create_op(&link)?, Failure::Conflict(CHANGED_CONCURRENTLY));
    if let Some(check) = scope_check {
        tx.push(check, Failure::Conflict("The link's scope no longer exists."));
    }
    tx.push(
        ctx.audit(Some(org), "link.created", format!("link/{}", link.id)).write(),
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
    /// Display name (1–200 characters).
    #[schema(schema_with = LinkName::nullable_schema)]
    pub name: Option<String>,
    /// An http or https URL.
    #[schema(schema_with = nullable_url_schema)]
    pub url: Option<String>,
    /// Position within its scope (0–1000000).
    #[schema(maximum = 1_000_000)]
    pub order: Option<u32>,
}

async fn read_link(state: &AppState, org: Uuid, id: Uuid) -> Result<Link> {
    links::get(state.table.as_ref(), org, id).await?.ok_or(ApiError::NotFound)
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
        shared::concurrency::IfMatch,
    ),
    security(("bearer" = [])),
    responses(BodyProblems, (status = 200, body = Link, headers(("ETag" = String, description = "The new version"))), Problems, WriteProblems)
)]
#[tracing::instrument(skip_all)]
pub async fn update_link(
    State(state): State<AppState>,
    ctx: Ctx,
    if_match: IfMatch,
    PathIds(org, id): PathIds,
    Json(body): Json<UpdateLinkRequest>,
) -> Result<(HeaderMap, Json<Link>)> {
    let principal = &ctx.principal;
    principal.require("organisations", true)?;
    org_context(state.table.as_ref(), principal, org).await?.require_admin()?;
    let mut v = Validator::new();
    let name = v.optional("name", body.name.as_deref(), LinkName::parse);
    let url = v.optional("url", body.url.as_deref(), parse_url);
    let order = v.optional("order", body.order, check_order);
    let (Some(name), Some(url), Some(order)) = (name, url, order) else { return Err(v.into_error()) };
    let current = read_link(&state, org, id).await?;
    if_match.check(current.version)?;

    let now = ctx.now;
    let mut link = current.clone();
    if let Some(t) = body.link_type {
        link.link_type = t;
    }
    if let Some(name) = name {
        link.name = name.as_str().to_string();
    }
    if let Some(url) = url {
        link.url = url;
    }
    if let Some(order) = order {
        link.order = order;
    }
    link.updated_at = now;
    let mut tx = Tx::new();
    tx.push(links::update_op(&current, &link)?, Failure::Precondition);
    tx.push(
        ctx.audit(Some(org), "link.updated", format!("link/{id}")).write(),
        Failure::Conflict(CHANGED_CONCURRENTLY),
    );
    tx.commit(state.table.as_ref()).await?;
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
        shared::concurrency::IfMatch,
    ),
    security(("bearer" = [])),
    responses((status = 204, description = "Deleted"), Problems, WriteProblems)
)]
#[tracing::instrument(skip_all)]
pub async fn delete_link(
    State(state): State<AppState>,
    ctx: Ctx,
    if_match: IfMatch,
    PathIds(org, id): PathIds,
) -> Result<StatusCode> {
    let principal = &ctx.principal;
    principal.require("organisations", true)?;
    org_context(state.table.as_ref(), principal, org).await?.require_admin()?;
    let link = read_link(&state, org, id).await?;
    if_match.check(link.version)?;
    let mut tx = Tx::new();
    tx.push(links::delete_op(&link), Failure::Precondition);
    tx.push(
        ctx.audit(Some(org), "link.deleted", format!("link/{id}")).write(),
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
    fn a_list_names_at_most_one_scope() {
        let id = Uuid::now_v7();
        assert!(one_scope(None, None, None).is_ok());
        assert!(one_scope(None, Some(id), None).is_ok());
        assert!(one_scope(Some(id), Some(id), None).is_err());
    }
}
