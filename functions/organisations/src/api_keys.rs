//! Organisation API keys (seed 003 API-Token): owners and admins create
//! scoped keys for integrations; a key (`X-API-Key: sdl_key_...`) then acts
//! for the organisation (see `shared::identity::auth`). The secret is shown once, in
//! the creation response, which is marked `no-store` so neither caches nor
//! the idempotency layer keep it; only its hash is stored. Deleting a key
//! removes its lookup item, so it stops working at once. A key also stops
//! at its optional `expiresAt`, and as soon as its creator no longer
//! administers the organisation (checked on every request).

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use shared::access::api_keys;
use shared::access::api_keys::ApiKey;
use shared::access::api_keys::ApiKeyRecord;
use shared::access::api_keys::SCOPE_AREAS;
use shared::access::authz_org::org_context;
use shared::concurrency::IfMatch;
use shared::context::Ctx;
use shared::domain::BoundedText;
use shared::extract::{Json, PathId, Query};
use shared::identity::auth::Principal;
use shared::pagination::ListResponse;
use shared::validation::Validator;
use shared::{ApiError, AppState, Result};

use crate::common::commit;
use shared::kit::{BodyProblems, CHANGED_CONCURRENTLY, Failure, ListParams, PathIds, Problems, Tx, WriteProblems};

type KeyName = BoundedText<100>;

/// A new API key.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct NewApiKey {
    /// What it is for (1–100 characters).
    #[schema(schema_with = KeyName::schema)]
    pub name: String,
    /// Scopes such as `users:read` (areas: users, organisations, calendar, notifications; never auth).
    #[schema(schema_with = scopes_schema)]
    pub scopes: Vec<String>,
    /// When the key stops working (RFC 3339, in the future); absent: never.
    #[serde(default)]
    pub expires_at: Option<DateTime<Utc>>,
}

/// A created API key, with its secret (shown only here).
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CreatedApiKey {
    /// Key id.
    pub id: Uuid,
    /// Name.
    pub name: String,
    /// Granted scopes.
    pub scopes: Vec<String>,
    /// Who created it.
    pub created_by: String,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// When it stops working (`null`: never).
    pub expires_at: Option<DateTime<Utc>>,
    /// Version (also the ETag).
    pub version: i64,
    /// The secret (`sdl_key_...`): shown once, store it now.
    pub key: String,
}

/// Checks each scope against the areas a key may name (never `auth`).
/// The schema of `scopes`: what `parse_scopes` accepts.
fn scopes_schema() -> utoipa::openapi::Array {
    shared::identity::auth::scopes_schema(&SCOPE_AREAS)
}

fn parse_scopes(v: &mut Validator, raw: &[String]) -> Vec<String> {
    shared::identity::auth::parse_scopes(v, raw, &SCOPE_AREAS)
}

/// Lists the organisation's API keys (never their secrets).
#[utoipa::path(
    get,
    path = "/v1/organisations/{id}/api-keys",
    tag = "organisations",
    params(("id" = Uuid, Path, description = "Organisation id"), ListParams),
    security(("bearer" = []), ("apiKey" = [])),
    responses((status = 200, body = ListResponse<ApiKey>), Problems)
)]
#[tracing::instrument(skip_all)]
pub async fn list_api_keys(
    State(state): State<AppState>,
    principal: Principal,
    PathId(org): PathId,
    Query(params): Query<ListParams>,
) -> Result<Json<ListResponse<ApiKey>>> {
    principal.require("organisations", false)?;
    org_context(state.table.as_ref(), &principal, org).await?.require_admin()?;
    let page = params.page()?;
    let keys = api_keys::list(state.table.as_ref(), &state.cursors, org, &page).await?;
    Ok(Json(ListResponse { items: keys.items.iter().map(ApiKeyRecord::view).collect(), next_cursor: keys.next_cursor }))
}

/// Creates an API key for the organisation (owners and admins); the secret
/// `key` is in this response only.
#[utoipa::path(
    post,
    path = "/v1/organisations/{id}/api-keys",
    tag = "organisations",
    request_body = NewApiKey,
    params(("id" = Uuid, Path, description = "Organisation id")),
    security(("bearer" = [])),
    responses(
        BodyProblems,
        (status = 201, body = CreatedApiKey, description = "Created; `Cache-Control: no-store`"),
        Problems
    )
)]
#[tracing::instrument(skip_all)]
pub async fn create_api_key(
    State(state): State<AppState>,
    ctx: Ctx,
    PathId(org): PathId,
    Json(body): Json<NewApiKey>,
) -> Result<(StatusCode, HeaderMap, Json<CreatedApiKey>)> {
    let principal = &ctx.principal;
    principal.require("organisations", true)?;
    // A key minting keys would outlive its own revocation.
    principal.require_person()?;
    org_context(state.table.as_ref(), principal, org).await?.require_admin()?;
    let mut v = Validator::new();
    let name = v.field("name", KeyName::parse(&body.name));
    let scopes = parse_scopes(&mut v, &body.scopes);
    let now = ctx.now;
    if body.expires_at.is_some_and(|at| at <= now) {
        v.error("expiresAt", "must be in the future");
    }
    let Some(name) = name else { return Err(v.into_error()) };
    v.finish()?;

    let (record, key) = ApiKeyRecord::new(org, name.as_str(), scopes, principal.actor(), body.expires_at, now);
    let mut ops = api_keys::create_ops(&record)?;
    ops.push(ctx.audit(Some(org), "api_key.created", format!("api_key/{}", record.id)).write());
    commit(&state, ops).await?;
    tracing::info!(organisation_id = %org, key_id = %record.id, "api key created");

    let mut headers = shared::concurrency::etag_headers(record.version);
    shared::idempotency::mark_no_store(&mut headers);
    if let Ok(location) = format!("/v1/organisations/{org}/api-keys/{}", record.id).parse() {
        headers.insert(header::LOCATION, location);
    }
    let view = record.view();
    let created = CreatedApiKey {
        id: view.id,
        name: view.name,
        scopes: view.scopes,
        created_by: view.created_by,
        created_at: view.created_at,
        expires_at: view.expires_at,
        version: view.version,
        key,
    };
    Ok((StatusCode::CREATED, headers, Json(created)))
}

/// Revokes an API key at once (owners and admins; a key may revoke itself).
#[utoipa::path(
    delete,
    path = "/v1/organisations/{id}/api-keys/{keyId}",
    tag = "organisations",
    params(
        ("id" = Uuid, Path, description = "Organisation id"),
        ("keyId" = Uuid, Path, description = "Key id"),
        shared::concurrency::IfMatch,
    ),
    security(("bearer" = []), ("apiKey" = [])),
    responses((status = 204, description = "Revoked"), Problems, WriteProblems)
)]
#[tracing::instrument(skip_all)]
pub async fn delete_api_key(
    State(state): State<AppState>,
    ctx: Ctx,
    if_match: IfMatch,
    PathIds(org, id): PathIds,
) -> Result<StatusCode> {
    let principal = &ctx.principal;
    principal.require("organisations", true)?;
    org_context(state.table.as_ref(), principal, org).await?.require_admin()?;
    let table = state.table.as_ref();
    let record = api_keys::get(table, org, id).await?.ok_or(ApiError::NotFound)?;
    if_match.check(record.version)?;
    let mut tx = Tx::new();
    let [delete_record, delete_lookup]: [_; 2] =
        api_keys::delete_ops(&record).try_into().map_err(|_| anyhow::anyhow!("two deletes"))?;
    tx.push(delete_record, Failure::Precondition);
    tx.push(delete_lookup, Failure::Conflict(CHANGED_CONCURRENTLY));
    tx.push(
        ctx.audit(Some(org), "api_key.revoked", format!("api_key/{id}")).write(),
        Failure::Conflict(CHANGED_CONCURRENTLY),
    );
    tx.commit(table).await?;
    tracing::info!(organisation_id = %org, key_id = %id, "api key revoked");
    Ok(StatusCode::NO_CONTENT)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_cannot_be_given_auth_scopes() {
        let mut v = Validator::new();
        let raw = ["users:read".to_string(), "auth:read".into(), "users:read".into(), "calendar:delete".into()];
        assert_eq!(parse_scopes(&mut v, &raw), ["users:read"]);
        let fields: Vec<String> = v.into_error().problem().errors.unwrap().into_iter().map(|e| e.field).collect();
        assert_eq!(fields, ["scopes[1]", "scopes[3]"]);
    }
}
