//! Routes for personal access tokens: long-lived, scoped credentials for
//! scripts (`Authorization: Bearer sdl_pat_...`). The secret is shown once
//! at creation and stored only as a hash. Creating one is a sensitive
//! change (a recent sign-in is needed), so a token can never mint another.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use shared::concurrency::{IfMatch, etag_headers};
use shared::context::Ctx;
use shared::domain::BoundedText;
use shared::error::Problem;
use shared::extract::{Json, PathId, Query};
use shared::identity::auth::Principal;
use shared::identity::auth::require_recent_login;
use shared::identity::personal_tokens;
use shared::identity::personal_tokens::PersonalToken;
use shared::identity::personal_tokens::PersonalTokenRecord;
use shared::kit::{BodyProblems, ListParams};
use shared::mail::templates::{self, SecurityEvent};
use shared::pagination::{ListResponse, PageRequest, query_page};
use shared::people::users;
use shared::validation::Validator;
use shared::{ApiError, AppState, Result};

/// The areas a scope may name (`<area>:read` / `<area>:write`).
pub const SCOPE_AREAS: [&str; 5] = ["auth", "users", "organisations", "calendar", "notifications"];

type TokenName = BoundedText<100>;

/// A new personal access token.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct NewPersonalToken {
    /// What it is for (1–100 characters).
    #[schema(schema_with = TokenName::schema)]
    pub name: String,
    /// Scopes such as `calendar:read` (areas: auth, users, organisations, calendar, notifications).
    #[schema(schema_with = scopes_schema)]
    pub scopes: Vec<String>,
    /// When it stops working (future; absent: never).
    #[serde(default)]
    pub expires_at: Option<DateTime<Utc>>,
}

/// A created personal access token, with its secret (shown only here).
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CreatedPersonalToken {
    /// Token id.
    pub id: Uuid,
    /// Name.
    pub name: String,
    /// Granted scopes.
    pub scopes: Vec<String>,
    /// When it stops working (`null`: never).
    pub expires_at: Option<DateTime<Utc>>,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Version (also the ETag).
    pub version: i64,
    /// The secret (`sdl_pat_...`): shown once, store it now.
    pub token: String,
}

/// The schema of `scopes`: what `parse_scopes` accepts.
fn scopes_schema() -> utoipa::openapi::Array {
    shared::identity::auth::scopes_schema(&SCOPE_AREAS)
}

/// Checks each scope against the areas a personal access token may name.
fn parse_scopes(v: &mut Validator, raw: &[String]) -> Vec<String> {
    shared::identity::auth::parse_scopes(v, raw, &SCOPE_AREAS)
}

/// Lists the caller's personal access tokens (never their secrets).
#[utoipa::path(
    get,
    path = "/v1/auth/tokens",
    tag = "auth",
    params(ListParams),
    security(("bearer" = []), ("cookie" = [])),
    responses(
        (status = 200, body = ListResponse<PersonalToken>),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
    )
)]
#[tracing::instrument(skip_all)]
pub async fn list_personal_tokens(
    State(state): State<AppState>,
    principal: Principal,
    Query(params): Query<ListParams>,
) -> Result<Json<ListResponse<PersonalToken>>> {
    principal.require("auth", false)?;
    let page = PageRequest::new(params.limit, params.cursor)?;
    let list = format!("tokens:{}", principal.user_id);
    let query = personal_tokens::list_query(principal.user_id);
    let (items, next_cursor) = query_page(state.table.as_ref(), &state.cursors, &list, query, &page).await?;
    let items = personal_tokens::decode(items)?.iter().map(PersonalTokenRecord::view).collect();
    Ok(Json(ListResponse { items, next_cursor }))
}

/// Creates a personal access token; its secret is in this response only.
/// Needs a sign-in within the last hour.
#[utoipa::path(
    post,
    path = "/v1/auth/tokens",
    tag = "auth",
    request_body = NewPersonalToken,
    security(("bearer" = []), ("cookie" = [])),
    responses(
        BodyProblems,
        (status = 201, body = CreatedPersonalToken, description = "Created", headers(("ETag" = String, description = "The version"))),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json", description = "Scope missing, or no recent sign-in"),
    )
)]
#[tracing::instrument(skip_all)]
pub async fn create_personal_token(
    State(state): State<AppState>,
    ctx: Ctx,
    Json(body): Json<NewPersonalToken>,
) -> Result<(StatusCode, HeaderMap, Json<CreatedPersonalToken>)> {
    let principal = &ctx.principal;
    principal.require("auth", true)?;
    let now = ctx.now;
    let mut v = Validator::new();
    let name = v.field("name", TokenName::parse(&body.name));
    let scopes = parse_scopes(&mut v, &body.scopes);
    if body.expires_at.is_some_and(|at| at <= now) {
        v.error("expiresAt", "must be in the future");
    }
    let Some(name) = name else { return Err(v.into_error()) };
    v.finish()?;

    let user = users::get(state.table.as_ref(), principal.user_id).await?.ok_or(ApiError::Unauthenticated)?;
    require_recent_login(principal, &user, None, now).await?;

    let (record, token) = PersonalTokenRecord::new(user.id, name.as_str(), scopes, body.expires_at, now);
    let mut ops = personal_tokens::create_ops(&record)?;
    ops.push(ctx.audit(None, "personal_token.created", format!("personal_token/{}", record.id)).write());
    state.table.transact_write(ops).await?;
    tracing::info!(user_id = %user.id, token_id = %record.id, "personal access token created");
    // A token the user did not create must not go unnoticed.
    let notice = SecurityEvent::TokenCreated { name: record.name.clone() };
    let mail = templates::security_notice(&state.app_url, crate::password::recipient(&user), &notice);
    crate::password::send_quietly(&state, &mail, "personal token notice").await;

    let mut headers = etag_headers(record.version);
    shared::idempotency::mark_no_store(&mut headers);
    let view = record.view();
    let created = CreatedPersonalToken {
        id: view.id,
        name: view.name,
        scopes: view.scopes,
        expires_at: view.expires_at,
        created_at: view.created_at,
        version: view.version,
        token,
    };
    Ok((StatusCode::CREATED, headers, Json(created)))
}

/// Revokes one of the caller's personal access tokens, at once.
#[utoipa::path(
    delete,
    path = "/v1/auth/tokens/{id}",
    tag = "auth",
    params(
        ("id" = Uuid, Path, description = "Token id"),
        shared::concurrency::IfMatch,
    ),
    security(("bearer" = []), ("cookie" = [])),
    responses(
        (status = 204, description = "Revoked"),
        (status = 400, body = Problem, content_type = "application/problem+json", description = "`If-Match` is not an ETag"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 412, body = Problem, content_type = "application/problem+json"),
    )
)]
#[tracing::instrument(skip_all)]
pub async fn delete_personal_token(
    State(state): State<AppState>,
    ctx: Ctx,
    if_match: IfMatch,
    PathId(id): PathId,
) -> Result<StatusCode> {
    let principal = &ctx.principal;
    principal.require("auth", true)?;
    let record = personal_tokens::get(state.table.as_ref(), principal.user_id, id).await?.ok_or(ApiError::NotFound)?;
    if_match.check(record.version)?;
    let mut ops = personal_tokens::delete_ops(&record);
    ops.push(ctx.audit(None, "personal_token.deleted", format!("personal_token/{id}")).write());
    match state.table.transact_write(ops).await {
        Ok(()) => Ok(StatusCode::NO_CONTENT),
        // Deleted concurrently.
        Err(err) if err.is_condition_failed() => Err(ApiError::NotFound),
        Err(err) => Err(err.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_must_name_a_known_area_and_access() {
        let mut v = Validator::new();
        let raw: Vec<String> = ["calendar:read", "users:write", "calendar:read"].map(String::from).to_vec();
        assert_eq!(parse_scopes(&mut v, &raw), ["calendar:read", "users:write"]);
        assert!(v.finish().is_ok());

        let mut v = Validator::new();
        let raw: Vec<String> = ["calendar:delete", "*", "lists:read", "calendar"].map(String::from).to_vec();
        parse_scopes(&mut v, &raw);
        let ApiError::Validation(errors) = v.into_error() else { panic!("expected a validation error") };
        let fields: Vec<_> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["scopes[0]", "scopes[1]", "scopes[2]", "scopes[3]"]);

        let mut v = Validator::new();
        parse_scopes(&mut v, &[]);
        assert!(v.finish().is_err());
    }
}
