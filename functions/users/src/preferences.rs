//! A user's preferences: `GET` the list, `PUT`/`GET`/`DELETE` one by key.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use serde::Deserialize;
use utoipa::ToSchema;
use uuid::Uuid;

use shared::audit::{AuditEntry, RequestMeta};
use shared::auth::Principal;
use shared::authz::{Area, UserAccess};
use shared::concurrency::{IfMatch, etag_headers};
use shared::extract::{Json, Query};
use shared::pagination::query_page;
use shared::repo::preferences::{self, MAX_VALUE_BYTES, Preference};
use shared::table::{Condition, WriteOp};
use shared::{ApiError, AppState, Result};

use crate::common::{Page, PageParams, Problems, WriteProblems, access, commit_versioned, page_of};

/// A preference's new value.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PreferenceBody {
    /// Any JSON value (at most 4 KiB serialised).
    #[schema(value_type = Object)]
    pub value: serde_json::Value,
}

fn parse_path(id: &str, key: &str) -> Result<(Uuid, String)> {
    let id = Uuid::parse_str(id).map_err(|_| ApiError::NotFound)?;
    let key = preferences::parse_key(key).map_err(|m| ApiError::invalid("key", m))?;
    Ok((id, key))
}

fn audit(
    access: &UserAccess,
    principal: &Principal,
    action: &str,
    id: Uuid,
    key: &str,
    state: &AppState,
    meta: &RequestMeta,
) -> WriteOp {
    AuditEntry::new(
        access.audit_organisation(),
        principal.actor(),
        action,
        format!("user/{id}/preferences/{key}"),
        state.clock.now(),
        meta,
    )
    .write()
}

/// Lists a user's preferences, in key order.
#[utoipa::path(
    get,
    path = "/v1/users/{id}/preferences",
    tag = "users",
    params(("id" = Uuid, Path, description = "User id"), PageParams),
    security(("bearer" = [])),
    responses((status = 200, body = Page<Preference>), Problems)
)]
#[tracing::instrument(skip_all)]
pub async fn list_preferences(
    State(state): State<AppState>,
    principal: Principal,
    shared::extract::PathId(id): shared::extract::PathId,
    Query(params): Query<PageParams>,
) -> Result<Json<Page<Preference>>> {
    access(&state, &principal, id, Area::Profile, false).await?;
    let page = params.page()?;
    let (items, next) =
        query_page(state.table.as_ref(), &state.cursors, &format!("prefs:{id}"), preferences::list_query(id), &page)
            .await?;
    page_of(preferences::decode(items), next)
}

/// Reads one preference.
#[utoipa::path(
    get,
    path = "/v1/users/{id}/preferences/{key}",
    tag = "users",
    params(("id" = Uuid, Path, description = "User id"), ("key" = String, Path, description = "Preference key")),
    security(("bearer" = [])),
    responses((status = 200, body = Preference, headers(("ETag" = String, description = "The version"))), Problems)
)]
#[tracing::instrument(skip_all)]
pub async fn get_preference(
    State(state): State<AppState>,
    principal: Principal,
    Path((id, key)): Path<(String, String)>,
) -> Result<(HeaderMap, Json<Preference>)> {
    let (id, key) = parse_path(&id, &key)?;
    access(&state, &principal, id, Area::Profile, false).await?;
    let pref = preferences::get(state.table.as_ref(), id, &key).await?.ok_or(ApiError::NotFound)?;
    Ok((etag_headers(pref.version), Json(pref)))
}

/// Sets one preference (creating it: 201, replacing it: 200).
#[utoipa::path(
    put,
    path = "/v1/users/{id}/preferences/{key}",
    tag = "users",
    request_body = PreferenceBody,
    params(
        ("id" = Uuid, Path, description = "User id"),
        ("key" = String, Path, description = "Preference key (1–64 of A-Z a-z 0-9 . _ -)"),
        ("If-Match" = Option<String>, Header, description = "The version the change is based on"),
    ),
    security(("bearer" = [])),
    responses(
        (status = 200, body = Preference, description = "Replaced"),
        (status = 201, body = Preference, description = "Created"),
        Problems, WriteProblems
    )
)]
#[tracing::instrument(skip_all)]
pub async fn put_preference(
    State(state): State<AppState>,
    principal: Principal,
    meta: RequestMeta,
    if_match: IfMatch,
    Path((id, key)): Path<(String, String)>,
    Json(body): Json<PreferenceBody>,
) -> Result<(StatusCode, HeaderMap, Json<Preference>)> {
    let (id, key) = parse_path(&id, &key)?;
    if serde_json::to_vec(&body.value).map(|b| b.len()).unwrap_or(usize::MAX) > MAX_VALUE_BYTES {
        return Err(ApiError::invalid("value", format!("must be at most {MAX_VALUE_BYTES} bytes as JSON")));
    }
    let access = access(&state, &principal, id, Area::Profile, true).await?;
    let current = preferences::get(state.table.as_ref(), id, &key).await?;
    match (&current, &if_match) {
        (Some(p), _) => if_match.check(p.version)?,
        (None, IfMatch::Any | IfMatch::Versions(_)) => return Err(ApiError::PreconditionFailed),
        (None, IfMatch::Absent) => {}
    }
    let pref = Preference {
        user_id: id,
        key: key.clone(),
        value: body.value,
        updated_at: state.clock.now(),
        version: current.as_ref().map_or(1, |p| p.version + 1),
    };
    let ops = vec![
        preferences::put_op(&pref, current.as_ref().map(|p| p.version))?,
        audit(&access, &principal, "preference.set", id, &key, &state, &meta),
    ];
    commit_versioned(&state, ops).await?;
    let status = if current.is_some() { StatusCode::OK } else { StatusCode::CREATED };
    Ok((status, etag_headers(pref.version), Json(pref)))
}

/// Deletes one preference.
#[utoipa::path(
    delete,
    path = "/v1/users/{id}/preferences/{key}",
    tag = "users",
    params(
        ("id" = Uuid, Path, description = "User id"),
        ("key" = String, Path, description = "Preference key"),
        ("If-Match" = Option<String>, Header, description = "The version to delete"),
    ),
    security(("bearer" = [])),
    responses((status = 204, description = "Deleted"), Problems, WriteProblems)
)]
#[tracing::instrument(skip_all)]
pub async fn delete_preference(
    State(state): State<AppState>,
    principal: Principal,
    meta: RequestMeta,
    if_match: IfMatch,
    Path((id, key)): Path<(String, String)>,
) -> Result<StatusCode> {
    let (id, key) = parse_path(&id, &key)?;
    let access = access(&state, &principal, id, Area::Profile, true).await?;
    let current = preferences::get(state.table.as_ref(), id, &key).await?.ok_or(ApiError::NotFound)?;
    if_match.check(current.version)?;
    let ops = vec![
        WriteOp::Delete { key: preferences::key(id, &key), condition: Condition::version_is(current.version) },
        audit(&access, &principal, "preference.deleted", id, &key, &state, &meta),
    ];
    commit_versioned(&state, ops).await?;
    Ok(StatusCode::NO_CONTENT)
}
