//! A user's preferences: `GET` the list, `PUT`/`GET`/`DELETE` one by key.
//!
//! Values are free-form JSON except for the key `almanac`, the user's
//! almanac settings: they are validated, and when they turn the daily
//! almanac digest on, its next due item is scheduled (or replaced, or
//! removed) in the same transaction as the preference write
//! (`shared::scheduling::digests`), so the reminders run only ever finds current
//! digests.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use serde::Deserialize;
use serde_json::Value;
use utoipa::ToSchema;
use uuid::Uuid;

use shared::access::authz::Area;
use shared::calendar::almanac;
use shared::calendar::almanac::Location;
use shared::concurrency::{IfMatch, etag_headers};
use shared::context::Ctx;
use shared::error::FieldError;
use shared::extract::{Json, Query};
use shared::identity::auth::Principal;
use shared::pagination::query_page;
use shared::people::preferences;
use shared::people::preferences::MAX_VALUE_BYTES;
use shared::people::preferences::Preference;
use shared::scheduling::digests;
use shared::scheduling::digests::AlmanacSettings;
use shared::scheduling::digests::DueDigest;
use shared::{ApiError, AppState, Result};

use crate::common::access;
use shared::kit::{BodyProblems, ListParams, ListResponse, Problems, WriteProblems, commit_versioned, page_of};

/// A preference's new value.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PreferenceBody {
    /// Any JSON value (at most 4 KiB serialised); under the key `almanac`,
    /// almanac settings (see the operation).
    pub value: serde_json::Value,
}

fn parse_path(id: &str, key: &str) -> Result<(Uuid, String)> {
    let id = Uuid::parse_str(id).map_err(|_| ApiError::NotFound)?;
    let key = preferences::parse_key(key).map_err(|m| ApiError::invalid("key", m))?;
    Ok((id, key))
}

/// Lists a user's preferences, in key order.
#[utoipa::path(
    get,
    path = "/v1/users/{id}/preferences",
    tag = "users",
    params(("id" = Uuid, Path, description = "User id"), ListParams),
    security(("bearer" = [])),
    responses((status = 200, body = ListResponse<Preference>), Problems)
)]
#[tracing::instrument(skip_all)]
pub async fn list_preferences(
    State(state): State<AppState>,
    principal: Principal,
    shared::extract::PathId(id): shared::extract::PathId,
    Query(params): Query<ListParams>,
) -> Result<Json<ListResponse<Preference>>> {
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
    params(("id" = Uuid, Path, description = "User id"), ("key" = String, Path, description = "Preference key (1–64 of A-Z a-z 0-9 . _ -)", min_length = 1, max_length = 64, pattern = r"^[A-Za-z0-9._-]+$")),
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

/// Checks almanac settings: their shape (every bad field reported) and that
/// the location exists; the settings with defaults filled in, and the location.
async fn almanac_settings(state: &AppState, value: &Value) -> Result<(AlmanacSettings, Location)> {
    let location_id = value.get("locationId").and_then(Value::as_str).and_then(|s| Uuid::parse_str(s).ok());
    let location = match location_id {
        Some(id) => almanac::get::<Location>(state.table.as_ref(), almanac::LOCATION, id).await?,
        None => None,
    };
    let parsed = digests::parse_settings(value, "value");
    let mut errors = parsed.as_ref().err().cloned().unwrap_or_default();
    if location_id.is_some() && location.is_none() {
        errors.push(FieldError::new("value.locationId", "is not an almanac location"));
    }
    match (parsed, location) {
        (Ok(settings), Some(location)) if errors.is_empty() => Ok((settings, location)),
        _ => Err(ApiError::Validation(errors)),
    }
}

/// Sets one preference (creating it: 201, replacing it: 200).
///
/// Values are free-form JSON, except under the key `almanac` (the almanac
/// settings): `{locationId, reminders: {enabled, schedule}, notifications:
/// {enabled, time}}`, no other fields. `locationId` must name an existing
/// almanac location. `reminders` may be left out (off, `3_DAYS`), and so may
/// its `schedule` (`3_DAYS` or `1_WEEK`, default `3_DAYS`, as the original
/// system did); `notifications` may be left out (off); `time` (`HH:MM`,
/// 00:00–23:59, in the location's time zone) is required when
/// notifications are enabled. The stored value has the defaults filled in.
/// Every bad field is reported (`value.notifications.time` ...) and nothing
/// is stored. With notifications enabled, a digest mail listing the
/// location's almanac events of the `schedule`'s days is sent daily at
/// `time` by the reminders function; a local time skipped by a DST change
/// is moved forward by the gap (02:30 → 03:30), a repeated one is the
/// first. Replacing or deleting the preference reschedules or stops it.
#[utoipa::path(
    put,
    path = "/v1/users/{id}/preferences/{key}",
    tag = "users",
    request_body = PreferenceBody,
    params(
        ("id" = Uuid, Path, description = "User id"),
        ("key" = String, Path, description = "Preference key (1–64 of A-Z a-z 0-9 . _ -)", min_length = 1, max_length = 64, pattern = r"^[A-Za-z0-9._-]+$"),
        shared::concurrency::IfMatch,
    ),
    security(("bearer" = [])),
    responses(
        BodyProblems,
        (status = 200, body = Preference, description = "Replaced"),
        (status = 201, body = Preference, description = "Created"),
        Problems, WriteProblems
    )
)]
#[tracing::instrument(skip_all)]
pub async fn put_preference(
    State(state): State<AppState>,
    ctx: Ctx,
    if_match: IfMatch,
    Path((id, key)): Path<(String, String)>,
    Json(body): Json<PreferenceBody>,
) -> Result<(StatusCode, HeaderMap, Json<Preference>)> {
    let (id, key) = parse_path(&id, &key)?;
    if serde_json::to_vec(&body.value).map(|b| b.len()).unwrap_or(usize::MAX) > MAX_VALUE_BYTES {
        return Err(ApiError::invalid("value", format!("must be at most {MAX_VALUE_BYTES} bytes as JSON")));
    }
    let access = access(&state, &ctx.principal, id, Area::Profile, true).await?;
    let almanac = match key.as_str() {
        digests::PREFERENCE_KEY => Some(almanac_settings(&state, &body.value).await?),
        _ => None,
    };
    let value = match &almanac {
        Some((settings, _)) => serde_json::to_value(settings).map_err(anyhow::Error::from)?,
        None => body.value,
    };
    let current = preferences::get(state.table.as_ref(), id, &key).await?;
    match (&current, &if_match) {
        (Some(p), _) => if_match.check(p.version)?,
        (None, IfMatch::Any | IfMatch::Versions(_)) => return Err(ApiError::PreconditionFailed),
        (None, IfMatch::Absent) => {}
    }
    let pref = Preference {
        user_id: id,
        key: key.clone(),
        value,
        updated_at: ctx.now,
        version: current.as_ref().map_or(1, |p| p.version + 1),
    };
    let ops = vec![
        preferences::put_op(&pref, current.as_ref().map(|p| p.version))?,
        ctx.audit(access.audit_organisation(), "preference.set", format!("user/{id}/preferences/{key}")).write(),
    ];
    match &almanac {
        Some((settings, location)) => {
            let next = DueDigest::next(id, settings, &location.time_zone, pref.version, pref.updated_at);
            digests::commit_replacing(state.table.as_ref(), ops, id, next).await?;
        }
        None => commit_versioned(state.table.as_ref(), ops).await?,
    }
    let status = if current.is_some() { StatusCode::OK } else { StatusCode::CREATED };
    Ok((status, etag_headers(pref.version), Json(pref)))
}

/// Deletes one preference.
///
/// Deleting `almanac` (the almanac settings) also stops the almanac digest.
#[utoipa::path(
    delete,
    path = "/v1/users/{id}/preferences/{key}",
    tag = "users",
    params(
        ("id" = Uuid, Path, description = "User id"),
        ("key" = String, Path, description = "Preference key (1–64 of A-Z a-z 0-9 . _ -)", min_length = 1, max_length = 64, pattern = r"^[A-Za-z0-9._-]+$"),
        shared::concurrency::IfMatch,
    ),
    security(("bearer" = [])),
    responses((status = 204, description = "Deleted"), Problems, WriteProblems)
)]
#[tracing::instrument(skip_all)]
pub async fn delete_preference(
    State(state): State<AppState>,
    ctx: Ctx,
    if_match: IfMatch,
    Path((id, key)): Path<(String, String)>,
) -> Result<StatusCode> {
    let (id, key) = parse_path(&id, &key)?;
    let access = access(&state, &ctx.principal, id, Area::Profile, true).await?;
    let current = preferences::get(state.table.as_ref(), id, &key).await?.ok_or(ApiError::NotFound)?;
    if_match.check(current.version)?;
    let ops = vec![
        preferences::delete_op(id, &key, current.version),
        ctx.audit(access.audit_organisation(), "preference.deleted", format!("user/{id}/preferences/{key}")).write(),
    ];
    if key == digests::PREFERENCE_KEY {
        digests::commit_replacing(state.table.as_ref(), ops, id, None).await?;
    } else {
        commit_versioned(state.table.as_ref(), ops).await?;
    }
    Ok(StatusCode::NO_CONTENT)
}
