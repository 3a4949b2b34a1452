//! Routes for sign-in (token, cookie), refresh, logout and the session list.
//!
//! Sign-in answers an unknown email and a wrong password identically (same
//! status, body and roughly the same time: the same reads, and a dummy
//! Argon2 verification for unknown emails). Every sign-in is first claimed
//! as an attempt on its address's counter (`shared::identity::attempts`),
//! known or not: five failures lock the address for 15 minutes, during
//! which nothing is checked and the right password is refused too,
//! whatever the concurrency. Refresh tokens rotate on every use; presenting
//! one that already rotated revokes the whole session, except within a
//! short grace period in which a retry (a lost response, two tabs) gets the
//! same successor.

use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use shared::context::{AnonymousCtx, Ctx, PublicCtx};
use shared::crypto::random_token;
use shared::domain::{Email, Password, PasswordHash};
use shared::error::Problem;
use shared::extract::{Json, PathId, Query};
use shared::idempotency::no_store;
use shared::identity::attempts;
use shared::identity::auth;
use shared::identity::auth::ACCESS_TOKEN_TTL;
use shared::identity::auth::Credential;
use shared::identity::auth::Principal;
use shared::identity::auth::hashes_match;
use shared::identity::sessions;
use shared::identity::sessions::SESSION_TTL;
use shared::identity::sessions::SessionKind;
use shared::identity::sessions::SessionRecord;
use shared::kit::{BodyProblems, ListParams};
use shared::pagination::{ListResponse, PageRequest, query_page};
use shared::people::users;
use shared::people::users::User;
use shared::people::users::UserRecord;
use shared::validation::Validator;
use shared::{ApiError, AppState, Result};

use crate::password::log_unsettled;

/// How long after a refresh token's first use a retry gets the same successor.
pub const REFRESH_GRACE: Duration = Duration::seconds(10);
/// How many rotations back an old refresh token is still recognised (and
/// its reuse punished); older ones are simply invalid.
const MAX_GENERATIONS_BACK: u32 = 1000;

/// Credentials for signing in.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct SignInRequest {
    /// Email address (case-insensitive).
    #[schema(schema_with = shared::domain::Email::schema)]
    pub email: String,
    /// Password.
    #[schema(schema_with = shared::domain::Password::current_schema)]
    pub password: String,
    /// TOTP or backup code, when MFA is on (at most 64 characters).
    #[serde(default)]
    #[schema(schema_with = shared::domain::mfa_code_schema)]
    pub mfa_code: Option<String>,
}

impl std::fmt::Debug for SignInRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SignInRequest").field("email", &self.email).finish_non_exhaustive()
    }
}

/// Tokens of a new bearer session.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TokenResponse {
    /// Short-lived access token (JWT) for `Authorization: Bearer`.
    pub access_token: String,
    /// Single-use refresh token for `POST /v1/auth/refresh`.
    pub refresh_token: String,
    /// Seconds until the access token expires.
    pub expires_in: i64,
    /// Always `Bearer`.
    pub token_type: String,
    /// The signed-in user.
    pub user: User,
}

/// A browser session.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CookieSessionResponse {
    /// The signed-in user.
    pub user: User,
    /// Send as `X-CSRF-Token` with every state-changing request.
    pub csrf_token: String,
}

/// A refresh request.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RefreshRequest {
    /// The current refresh token.
    pub refresh_token: String,
}

impl std::fmt::Debug for RefreshRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RefreshRequest(***)")
    }
}

/// A rotated token pair.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RefreshResponse {
    /// New access token.
    pub access_token: String,
    /// New refresh token (the presented one is now used).
    pub refresh_token: String,
    /// Seconds until the access token expires.
    pub expires_in: i64,
    /// Always `Bearer`.
    pub token_type: String,
}

/// A login session as its user sees it.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Session {
    /// Session id.
    pub id: Uuid,
    /// Signed in.
    pub created_at: DateTime<Utc>,
    /// Last request (to the minute).
    pub last_seen_at: DateTime<Utc>,
    /// Client at sign-in.
    pub user_agent: Option<String>,
    /// IP address at sign-in.
    pub ip: Option<String>,
    /// Whether this request was made in this session.
    pub current: bool,
}

/// A hash no password has (random salt and output) with the parameters of
/// every stored hash (a test checks), verified when the email is unknown so
/// that such requests take as long as real ones, the first one after a cold
/// start too (no hash to compute first).
const DUMMY_HASH: &str =
    "$argon2id$v=19$m=19456,t=2,p=1$4NE/J3FwejFumHEXb9jiDg$aeS8XmLFEup5Sk+RXYONslZ6vlapUTiw9P+rfh3ygUc";

async fn dummy_verify(candidate: String) -> Result<()> {
    verify_password(DUMMY_HASH, candidate).await?;
    Ok(())
}

async fn verify_password(hash: &str, candidate: String) -> Result<bool> {
    let hash = PasswordHash::from_stored(hash.to_string());
    tokio::task::spawn_blocking(move || hash.verify(&candidate)).await.map_err(|e| ApiError::Internal(e.into()))
}

/// What checking the credentials of a sign-in found.
enum Verdict {
    /// Password (and second factor) right.
    Proved(Box<UserRecord>),
    /// Wrong or unknown credentials; the audit target.
    Wrong(String),
    /// The right password, but no sign-in (`mfa_required`, an
    /// administrator's lock): neither a failure nor a success.
    Stopped(ApiError),
}

/// The account with this address, if any. An unknown address costs the
/// same reads as a known one (the guard, then a user item).
async fn find_user(state: &AppState, email: &Email) -> Result<Option<UserRecord>> {
    let table = state.table.as_ref();
    let user = users::find_by_email(table, email).await?;
    if user.is_none() {
        users::get(table, Uuid::nil()).await?;
    }
    Ok(user.filter(|u| !u.deleting))
}

/// Checks the credentials (the attempt is already claimed).
async fn check_credentials(
    state: &AppState,
    body: &SignInRequest,
    email: &Email,
    now: DateTime<Utc>,
) -> Result<Verdict> {
    let user = find_user(state, email).await?;
    let (Some(user), Some(hash)) = (user.as_ref(), user.as_ref().and_then(|u| u.password_hash.as_deref())) else {
        // Unknown email (or no password set): the same work, the same answer.
        dummy_verify(body.password.clone()).await?;
        return Ok(Verdict::Wrong(user.map_or_else(|| "user/unknown".to_string(), |u| format!("user/{}", u.id))));
    };
    if !verify_password(hash, body.password.clone()).await? {
        return Ok(Verdict::Wrong(format!("user/{}", user.id)));
    }
    // Only someone who knows the password learns that an administrator locked the account.
    if user.locked || user.deactivated {
        return Ok(Verdict::Stopped(ApiError::AccountLocked { until: None }));
    }
    match shared::identity::mfa::check_second_factor(state.table.as_ref(), user, body.mfa_code.as_deref(), now).await {
        Ok(()) => Ok(Verdict::Proved(Box::new(user.clone()))),
        // A wrong second factor counts like a wrong password, so codes cannot be brute-forced.
        Err(ApiError::Unauthenticated) => Ok(Verdict::Wrong(format!("user/{}", user.id))),
        Err(err) => Ok(Verdict::Stopped(err)),
    }
}

/// Checks the credentials as one attempt on the address's counter: the
/// user and the claimed attempt (to settle once the session exists), else
/// the error to answer.
async fn authenticate(
    state: &AppState,
    body: &SignInRequest,
    ctx: &PublicCtx,
) -> Result<(UserRecord, attempts::Claim)> {
    let mut v = Validator::new();
    let email = v.field("email", Email::parse(&body.email));
    if body.password.is_empty() {
        v.error("password", "must not be empty");
    } else if body.password.chars().count() > Password::MAX_LEN {
        v.error("password", format!("must be at most {} characters", Password::MAX_LEN));
    }
    if body.mfa_code.as_ref().is_some_and(|c| c.chars().count() > shared::domain::MAX_MFA_CODE) {
        v.error("mfaCode", "must be at most 64 characters");
    }
    let Some(email) = email else { return Err(v.into_error()) };
    v.finish()?;

    // Claimed before anything is read or checked, for an unknown address as
    // for a known one: 423 while five attempts are outstanding, so however
    // many requests race, at most five passwords are checked.
    let table = state.table.as_ref();
    let claim = attempts::claim(table, email.as_str(), ctx.now).await?;
    match check_credentials(state, body, &email, ctx.now).await {
        Ok(Verdict::Proved(user)) => Ok((*user, claim)),
        Ok(Verdict::Wrong(target)) => {
            // The failure that filled the last slot locks the address.
            let lock = attempts::failed(table, &claim, ctx.now).await?;
            let action = if lock.is_some() { "user.locked_out" } else { "auth.sign_in_failed" };
            table.transact_write(vec![ctx.audit(None, "anonymous", action, target).write()]).await?;
            Err(match lock {
                Some(until) => {
                    tracing::info!("address locked after repeated failed sign-ins");
                    ApiError::AccountLocked { until: Some(until) }
                }
                None => ApiError::Unauthenticated,
            })
        }
        Ok(Verdict::Stopped(err)) | Err(err) => {
            log_unsettled(attempts::release(table, &claim).await);
            Err(err)
        }
    }
}

/// Signs in: the credentials as one claimed attempt, then a new session of
/// `kind`.
async fn sign_in(
    state: &AppState,
    body: &SignInRequest,
    kind: SessionKind,
    ctx: &PublicCtx,
) -> Result<(UserRecord, SessionRecord, String, Option<String>)> {
    let (user, claim) = authenticate(state, body, ctx).await?;
    let (session, secret, csrf) = start_session(state, &user, &claim, kind, ctx).await?;
    Ok((user, session, secret, csrf))
}

/// Stores a new session for `user`, the success of its attempt `claim`, and
/// returns it with its secret and, for a cookie session, its CSRF token.
async fn start_session(
    state: &AppState,
    user: &UserRecord,
    claim: &attempts::Claim,
    kind: SessionKind,
    ctx: &PublicCtx,
) -> Result<(SessionRecord, String, Option<String>)> {
    let now = ctx.now;
    let mut session = SessionRecord::new(user.id, kind, now, String::new());
    let secret = sessions::new_secret(user.id, session.id);
    session.secret_hash = sessions::hash_secret(&secret);
    session.user_agent = ctx.meta.user_agent.clone();
    session.ip = ctx.meta.ip.clone();
    let csrf = (kind == SessionKind::Cookie).then(|| random_token(32));
    session.csrf_hash = csrf.as_deref().map(sessions::hash_secret);

    // The password just verified must still be the password, and the account
    // still open: a concurrent password change or lock (which revoke every
    // session) cannot be outrun by this one. Nor can a failure that locked
    // the address while this attempt was checked: the session is committed
    // with the attempt's success (a sign-in that loses either race stays a
    // counted attempt).
    let user_op = users::signed_in_op(user);
    let actor = format!("user:{}", user.id);
    let ops = vec![
        sessions::create_op(&session)?,
        user_op,
        ctx.audit(None, actor, "session.created", format!("session/{}", session.id)).write(),
    ];
    attempts::commit_success(state.table.as_ref(), claim, ops, now, |_| ApiError::Unauthenticated).await?;
    tracing::info!(user_id = %user.id, session_id = %session.id, ?kind, "session started");
    Ok((session, secret, csrf))
}

fn access_token(state: &AppState, session: &SessionRecord) -> Result<String> {
    Ok(state.tokens.issue(session.user_id, &session.id.to_string(), "*", state.clock.now(), session.auth_time)?)
}

/// Signs in with email and password (and a second factor when MFA is on)
/// and starts a bearer session.
#[utoipa::path(
    post,
    path = "/v1/auth/token",
    tag = "auth",
    request_body = SignInRequest,
    responses(
        BodyProblems,
        (status = 200, body = TokenResponse, description = "Signed in"),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json", description = "Wrong credentials (`unauthenticated`) or a second factor needed (`mfa_required`)"),
        (status = 423, body = Problem, content_type = "application/problem+json", description = "Locked (`lockedUntil` when it opens by itself)"),
    )
)]
#[tracing::instrument(skip_all)]
pub async fn create_token(
    State(state): State<AppState>,
    AnonymousCtx(ctx): AnonymousCtx,
    Json(body): Json<SignInRequest>,
) -> Result<(HeaderMap, Json<TokenResponse>)> {
    let (user, session, refresh_token, _) = sign_in(&state, &body, SessionKind::Bearer, &ctx).await?;
    let response = TokenResponse {
        access_token: access_token(&state, &session)?,
        refresh_token,
        expires_in: ACCESS_TOKEN_TTL.num_seconds(),
        token_type: "Bearer".into(),
        user: user.view(),
    };
    Ok((no_store(), Json(response)))
}

/// Signs in a browser: sets the `__Host-sundial_session` cookie (HttpOnly, Secure,
/// SameSite=Lax) and returns the CSRF token for state-changing requests.
#[utoipa::path(
    post,
    path = "/v1/auth/cookie",
    tag = "auth",
    request_body = SignInRequest,
    responses(
        BodyProblems,
        (status = 200, body = CookieSessionResponse, description = "Signed in", headers(("Set-Cookie" = String, description = "The session cookie"))),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 423, body = Problem, content_type = "application/problem+json"),
    )
)]
#[tracing::instrument(skip_all)]
pub async fn create_cookie_session(
    State(state): State<AppState>,
    AnonymousCtx(ctx): AnonymousCtx,
    Json(body): Json<SignInRequest>,
) -> Result<(HeaderMap, Json<CookieSessionResponse>)> {
    let (user, _, secret, csrf) = sign_in(&state, &body, SessionKind::Cookie, &ctx).await?;
    let csrf_token = csrf.ok_or_else(|| anyhow::anyhow!("a cookie session without a CSRF token"))?;
    let mut headers = no_store();
    headers.insert(
        header::SET_COOKIE,
        HeaderValue::from_str(&auth::session_cookie(&secret, SESSION_TTL)).map_err(anyhow::Error::from)?,
    );
    Ok((headers, Json(CookieSessionResponse { user: user.view(), csrf_token })))
}

/// How many rotations ago `presented` was the session's refresh token, if
/// it ever was (walking the deterministic successor chain forward).
fn generations_behind(state: &AppState, presented: &str, current_hash: &str, generation: u32) -> Option<u32> {
    let mut token = presented.to_string();
    // The stored generation only bounds the walk; one step is always tried,
    // so a counter that lags its hash can never turn a retry into a reuse.
    for behind in 1..=generation.clamp(1, MAX_GENERATIONS_BACK) {
        token = state.tokens.refresh_successor(&token)?;
        if hashes_match(&sessions::hash_secret(&token), current_hash) {
            return Some(behind);
        }
    }
    None
}

fn pair(
    state: &AppState,
    session: &SessionRecord,
    refresh_token: String,
) -> Result<(HeaderMap, Json<RefreshResponse>)> {
    let response = RefreshResponse {
        access_token: access_token(state, session)?,
        refresh_token,
        expires_in: ACCESS_TOKEN_TTL.num_seconds(),
        token_type: "Bearer".into(),
    };
    Ok((no_store(), Json(response)))
}

/// Exchanges a refresh token for a new pair. Each refresh token works once;
/// presenting a used one again revokes the session (within 10 s of its
/// first use, a retry gets the same new pair instead).
#[utoipa::path(
    post,
    path = "/v1/auth/refresh",
    tag = "auth",
    request_body = RefreshRequest,
    responses(
        BodyProblems,
        (status = 200, body = RefreshResponse, description = "A new pair"),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json", description = "Invalid, expired or reused (the session is now ended)"),
    )
)]
#[tracing::instrument(skip_all)]
pub async fn refresh_token(
    State(state): State<AppState>,
    AnonymousCtx(ctx): AnonymousCtx,
    Json(body): Json<RefreshRequest>,
) -> Result<(HeaderMap, Json<RefreshResponse>)> {
    let presented = body.refresh_token;
    let (user_id, session_id) = sessions::parse_secret(&presented).ok_or(ApiError::Unauthenticated)?;
    let presented_hash = sessions::hash_secret(&presented);
    let actor = format!("user:{user_id}");
    let target = format!("session/{session_id}");
    let now = ctx.now;
    // A lost race against a concurrent refresh re-reads and lands in the grace case.
    for _ in 0..3 {
        let session =
            sessions::get(state.table.as_ref(), user_id, session_id).await?.ok_or(ApiError::Unauthenticated)?;
        if session.kind != SessionKind::Bearer || session.has_ended(now, state.session_idle) {
            return Err(ApiError::Unauthenticated);
        }
        if hashes_match(&session.secret_hash, &presented_hash) {
            let next = state.tokens.refresh_successor(&presented).ok_or(ApiError::Unauthenticated)?;
            let update = sessions::rotate_op(&session, &presented_hash, sessions::hash_secret(&next), now);
            let ops = vec![update, ctx.audit(None, &actor, "session.refreshed", target.clone()).write()];
            match state.table.transact_write(ops).await {
                Ok(()) => return pair(&state, &session, next),
                Err(err) if err.is_race() => continue,
                Err(err) => return Err(err.into()),
            }
        }
        return match generations_behind(&state, &presented, &session.secret_hash, session.generation) {
            Some(1) if session.rotated_at.is_some_and(|at| now - at <= REFRESH_GRACE) => {
                let next = state.tokens.refresh_successor(&presented).ok_or(ApiError::Unauthenticated)?;
                pair(&state, &session, next)
            }
            Some(_) => {
                // A used token came back: whoever holds it, the session is compromised.
                let ops = vec![
                    sessions::revoke_op(&session),
                    ctx.audit(None, &actor, "session.revoked_on_reuse", target.clone()).write(),
                ];
                state.table.transact_write(ops).await?;
                tracing::warn!(user_id = %user_id, session_id = %session_id, "refresh token reused; session revoked");
                Err(ApiError::Unauthenticated)
            }
            None => Err(ApiError::Unauthenticated),
        };
    }
    Err(ApiError::Conflict("The session changed concurrently; retry.".into()))
}

/// The login session of a principal (personal access tokens have none).
fn own_session(principal: &Principal) -> Result<Uuid> {
    match principal.credential {
        Credential::AccessToken | Credential::Cookie => {
            Uuid::parse_str(&principal.session_id).map_err(|_| ApiError::Unauthenticated)
        }
        _ => Err(ApiError::Forbidden(
            "Only a login session can be ended; delete a personal access token instead.".into(),
        )),
    }
}

/// Ends the session of this request (its access and refresh tokens, or its cookie).
#[utoipa::path(
    post,
    path = "/v1/auth/logout",
    tag = "auth",
    security(("bearer" = []), ("cookie" = [])),
    responses(
        (status = 204, description = "Signed out"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json", description = "Missing CSRF token, or not a login session"),
    )
)]
#[tracing::instrument(skip_all)]
pub async fn end_current_session(State(state): State<AppState>, ctx: Ctx) -> Result<(StatusCode, HeaderMap)> {
    let principal = &ctx.principal;
    principal.require("auth", true)?;
    let session_id = own_session(principal)?;
    let ops = vec![
        sessions::delete_op(principal.user_id, session_id),
        ctx.audit(None, "session.ended", format!("session/{session_id}")).write(),
    ];
    match state.table.transact_write(ops).await {
        // Already ended concurrently: the outcome the caller wanted.
        Ok(()) => {}
        Err(err) if err.is_condition_failed() => {}
        Err(err) => return Err(err.into()),
    }
    let mut headers = HeaderMap::new();
    if principal.credential == Credential::Cookie {
        headers.insert(
            header::SET_COOKIE,
            HeaderValue::from_str(&auth::clear_session_cookie()).map_err(anyhow::Error::from)?,
        );
    }
    Ok((StatusCode::NO_CONTENT, headers))
}

/// Ends every session of the caller, this one included.
#[utoipa::path(
    post,
    path = "/v1/auth/logout-all",
    tag = "auth",
    security(("bearer" = []), ("cookie" = [])),
    responses(
        (status = 204, description = "Every session ended"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
    )
)]
#[tracing::instrument(skip_all)]
pub async fn end_all_sessions(State(state): State<AppState>, ctx: Ctx) -> Result<(StatusCode, HeaderMap)> {
    let principal = &ctx.principal;
    principal.require("auth", true)?;
    let ended = sessions::revoke_all(state.table.as_ref(), principal.user_id, None).await?;
    // Many sessions take several transactions, so the entry follows the deletes.
    let entry = ctx.audit(None, "session.ended_all", format!("user/{}", principal.user_id));
    state.table.transact_write(vec![entry.write()]).await?;
    tracing::info!(user_id = %principal.user_id, ended, "all sessions ended");
    let mut headers = HeaderMap::new();
    if principal.credential == Credential::Cookie {
        headers.insert(
            header::SET_COOKIE,
            HeaderValue::from_str(&auth::clear_session_cookie()).map_err(anyhow::Error::from)?,
        );
    }
    Ok((StatusCode::NO_CONTENT, headers))
}

/// Lists the caller's login sessions, newest first.
#[utoipa::path(
    get,
    path = "/v1/auth/sessions",
    tag = "auth",
    params(ListParams),
    security(("bearer" = []), ("cookie" = [])),
    responses(
        (status = 200, body = ListResponse<Session>),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
    )
)]
#[tracing::instrument(skip_all)]
pub async fn list_sessions(
    State(state): State<AppState>,
    principal: Principal,
    Query(params): Query<ListParams>,
) -> Result<Json<ListResponse<Session>>> {
    principal.require("auth", false)?;
    let page = PageRequest::new(params.limit, params.cursor)?;
    let list = format!("sessions:{}", principal.user_id);
    let query = sessions::list_query(principal.user_id).reverse();
    let (items, next_cursor) = query_page(state.table.as_ref(), &state.cursors, &list, query, &page).await?;
    let now = state.clock.now();
    let mut out = Vec::with_capacity(items.len());
    for session in sessions::decode(items)? {
        if session.has_ended(now, state.session_idle) {
            continue;
        }
        out.push(Session {
            id: session.id,
            created_at: session.created_at,
            last_seen_at: session.last_seen_at,
            user_agent: session.user_agent,
            ip: session.ip,
            current: session.id.to_string() == principal.session_id,
        });
    }
    Ok(Json(ListResponse { items: out, next_cursor }))
}

/// Ends one of the caller's sessions (another user's id answers 404).
#[utoipa::path(
    delete,
    path = "/v1/auth/sessions/{id}",
    tag = "auth",
    params(("id" = Uuid, Path, description = "Session id")),
    security(("bearer" = []), ("cookie" = [])),
    responses(
        (status = 204, description = "Ended"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    )
)]
#[tracing::instrument(skip_all)]
pub async fn delete_session(State(state): State<AppState>, ctx: Ctx, PathId(id): PathId) -> Result<StatusCode> {
    ctx.principal.require("auth", true)?;
    // Sessions live under their user, so another user's id simply is not there.
    let ops = vec![
        sessions::delete_op(ctx.principal.user_id, id),
        ctx.audit(None, "session.ended", format!("session/{id}")).write(),
    ];
    match state.table.transact_write(ops).await {
        Ok(()) => Ok(StatusCode::NO_CONTENT),
        Err(err) if err.is_condition_failed() => Err(ApiError::NotFound),
        Err(err) => Err(err.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `$argon2id$v=19$m=...,t=...,p=...$`: what the verification costs.
    fn parameters(phc: &str) -> String {
        phc.split('$').take(4).collect::<Vec<_>>().join("$")
    }

    #[tokio::test]
    async fn the_dummy_hash_costs_what_a_real_one_does_and_matches_nothing() {
        let real = Password::parse("correct horse battery").unwrap().hash().unwrap();
        assert_eq!(parameters(DUMMY_HASH), parameters(real.as_str()));
        assert!(!verify_password(DUMMY_HASH, "correct horse battery".into()).await.unwrap());
    }
}
