//! Routes for sign-in (token, cookie), refresh, logout and the session list.
//!
//! Sign-in answers an unknown email and a wrong password identically (same
//! status, body and roughly the same time: a dummy Argon2 verification runs
//! for unknown emails). Five consecutive failures lock the account for 15
//! minutes. Refresh tokens rotate on every use; presenting one that already
//! rotated revokes the whole session, except within a short grace period
//! in which a retry (a lost response, two tabs) gets the same successor.

use std::sync::OnceLock;

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

/// Consecutive failed sign-ins that lock an account.
pub const MAX_FAILED_SIGN_INS: u32 = 5;
/// How long such a lock lasts.
pub const LOCKOUT: Duration = Duration::minutes(15);
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
    /// TOTP or backup code, when MFA is on.
    #[serde(default)]
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

/// A hash of a password nobody has, verified when the email is unknown so
/// that such requests take as long as real ones.
async fn dummy_verify(candidate: String) -> Result<()> {
    static DUMMY: OnceLock<PasswordHash> = OnceLock::new();
    tokio::task::spawn_blocking(move || {
        let hash = match DUMMY.get() {
            Some(hash) => hash.clone(),
            None => {
                let hash = Password::parse(&random_token(24)).map_err(anyhow::Error::msg)?.hash()?;
                DUMMY.get_or_init(|| hash).clone()
            }
        };
        let _ = hash.verify(&candidate);
        Ok::<_, anyhow::Error>(())
    })
    .await
    .map_err(|e| ApiError::Internal(e.into()))??;
    Ok(())
}

async fn verify_password(hash: &str, candidate: String) -> Result<bool> {
    let hash = PasswordHash::from_stored(hash.to_string());
    tokio::task::spawn_blocking(move || hash.verify(&candidate)).await.map_err(|e| ApiError::Internal(e.into()))
}

/// Records a failed sign-in of `user` (locking it on the fifth) and returns
/// the error to answer: 401, or 423 when this failure locked the account.
async fn record_failure(state: &AppState, user: &UserRecord, ctx: &PublicCtx) -> Result<ApiError> {
    let now = ctx.now;
    let mut failed = user.failed_logins;
    // The counter is guarded by its own value; a concurrent failure makes us re-read.
    for _ in 0..5 {
        let locks = failed + 1 >= MAX_FAILED_SIGN_INS;
        let until = now + LOCKOUT;
        let action = if locks { "user.locked_out" } else { "auth.sign_in_failed" };
        let ops = vec![
            users::failed_sign_in_op(user.id, failed, locks.then_some(until)),
            ctx.audit(None, "anonymous", action, format!("user/{}", user.id)).write(),
        ];
        match state.table.transact_write(ops).await {
            Ok(()) => {
                if locks {
                    tracing::info!(user_id = %user.id, "account locked after repeated failed sign-ins");
                    return Ok(ApiError::AccountLocked { until: Some(until) });
                }
                return Ok(ApiError::Unauthenticated);
            }
            Err(err) if err.is_race() => match users::get(state.table.as_ref(), user.id).await? {
                Some(current) => failed = current.failed_logins,
                None => return Ok(ApiError::Unauthenticated),
            },
            Err(err) => return Err(err.into()),
        }
    }
    Ok(ApiError::Unauthenticated)
}

/// Checks the credentials: the user on success, else the error to answer.
async fn authenticate(state: &AppState, body: &SignInRequest, ctx: &PublicCtx) -> Result<UserRecord> {
    let mut v = Validator::new();
    let email = v.field("email", Email::parse(&body.email));
    if body.password.is_empty() {
        v.error("password", "must not be empty");
    } else if body.password.chars().count() > Password::MAX_LEN {
        v.error("password", format!("must be at most {} characters", Password::MAX_LEN));
    }
    if body.mfa_code.as_ref().is_some_and(|c| c.chars().count() > 64) {
        v.error("mfaCode", "must be at most 64 characters");
    }
    let Some(email) = email else { return Err(v.into_error()) };
    v.finish()?;

    let user = users::find_by_email(state.table.as_ref(), &email).await?.filter(|u| !u.deleting);
    let (Some(user), Some(hash)) = (user.as_ref(), user.as_ref().and_then(|u| u.password_hash.clone())) else {
        // Unknown email (or no password set): same work (a hash and a write,
        // as a failure count would be), same answer.
        dummy_verify(body.password.clone()).await?;
        let target = user.map_or_else(|| "user/unknown".to_string(), |u| format!("user/{}", u.id));
        let entry = ctx.audit(None, "anonymous", "auth.sign_in_failed", target).write();
        state.table.transact_write(vec![entry]).await?;
        return Err(ApiError::Unauthenticated);
    };
    let now = ctx.now;
    if let Some(until) = user.lockout_until.filter(|until| *until > now) {
        return Err(ApiError::AccountLocked { until: Some(until) });
    }
    if !verify_password(&hash, body.password.clone()).await? {
        return Err(record_failure(state, user, ctx).await?);
    }
    // Only someone who knows the password learns that an administrator locked the account.
    if user.locked || user.deactivated {
        return Err(ApiError::AccountLocked { until: None });
    }
    match shared::identity::mfa::check_second_factor(state.table.as_ref(), user, body.mfa_code.as_deref(), now).await {
        // A wrong second factor counts like a wrong password, so codes cannot be brute-forced.
        Err(ApiError::Unauthenticated) => return Err(record_failure(state, user, ctx).await?),
        other => other?,
    }
    Ok(user.clone())
}

/// Stores a new session for `user` (resetting the failure counter) and
/// returns it with its secret and, for a cookie session, its CSRF token.
async fn start_session(
    state: &AppState,
    user: &UserRecord,
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
    // session) cannot be outrun by this one.
    let user_op = users::signed_in_op(user);
    let actor = format!("user:{}", user.id);
    let ops = vec![
        sessions::create_op(&session)?,
        user_op,
        ctx.audit(None, actor, "session.created", format!("session/{}", session.id)).write(),
    ];
    match state.table.transact_write(ops).await {
        Ok(()) => {}
        Err(err) if err.is_race() => return Err(ApiError::Unauthenticated),
        Err(err) => return Err(err.into()),
    }
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
    let user = authenticate(&state, &body, &ctx).await?;
    let (session, refresh_token, _) = start_session(&state, &user, SessionKind::Bearer, &ctx).await?;
    let response = TokenResponse {
        access_token: access_token(&state, &session)?,
        refresh_token,
        expires_in: ACCESS_TOKEN_TTL.num_seconds(),
        token_type: "Bearer".into(),
        user: user.view(),
    };
    Ok((no_store(), Json(response)))
}

/// Signs in a browser: sets the `sundial_session` cookie (HttpOnly, Secure,
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
    let user = authenticate(&state, &body, &ctx).await?;
    let (_, secret, csrf) = start_session(&state, &user, SessionKind::Cookie, &ctx).await?;
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
        if session.kind != SessionKind::Bearer || session.is_expired(now) {
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
        if session.is_expired(now) {
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
