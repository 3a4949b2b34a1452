//! Routes for password change and reset. Also the small account helpers the
//! MFA and email routes share (loading the caller, updating the user item
//! under its version, mailing notices), so each flow reads the same way.
//!
//! A reset request answers 202 whether or not the address exists, so the
//! route cannot be used to find out who has an account; only an existing
//! account gets a mail, with a one-time token valid for an hour.

use axum::extract::State;
use axum::http::StatusCode;
use chrono::Duration;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use shared::context::{AnonymousCtx, Ctx};
use shared::domain::{Email, Password};
use shared::error::Problem;
use shared::extract::Json;
use shared::identity::attempts;
use shared::identity::auth::Principal;
use shared::identity::auth::require_recent_login;
use shared::identity::one_time;
use shared::identity::one_time::Purpose;
use shared::identity::sessions;
use shared::kit::BodyProblems;
use shared::kit::commit_with;
use shared::mail::Mail;
use shared::mail::templates::{self, Recipient, SecurityEvent};
use shared::people::users;
use shared::people::users::UserChange;
use shared::people::users::UserRecord;
use shared::validation::Validator;
use shared::{ApiError, AppState, Result};

/// How long a password-reset link works.
pub const RESET_TOKEN_TTL: Duration = Duration::hours(1);

// ---- helpers shared by the auth routes ------------------------------------

/// The signed-in caller's user item (401 if it is gone).
pub(crate) async fn current_user(state: &AppState, principal: &Principal) -> Result<UserRecord> {
    users::get(state.table.as_ref(), principal.user_id).await?.filter(|u| !u.deleting).ok_or(ApiError::Unauthenticated)
}

/// Who a mail to `user` goes to.
pub(crate) fn recipient(user: &UserRecord) -> Recipient<'_> {
    Recipient { email: &user.email, first_name: &user.first_name }
}

/// Sends a mail whose loss must not fail the request (notices, and the
/// reset mail whose failure must not reveal that the account exists). The
/// failure is logged without the body (it may carry a token).
pub(crate) async fn send_quietly(state: &AppState, mail: &Mail, what: &str) {
    if let Err(err) = state.mailer.send(mail).await {
        tracing::error!(error = format!("{err:#}"), mail = what, "sending a mail failed");
    }
}

/// 409 for a write that lost a race with another change of the same account.
pub(crate) fn changed_meanwhile() -> ApiError {
    ApiError::Conflict("The account changed at the same time; retry.".into())
}

/// What a re-authentication check found.
pub(crate) enum Proof<T> {
    /// The secret was right.
    Proved(T),
    /// The secret was wrong: answer this (unless the failure locks the address).
    Wrong(ApiError),
}

/// Runs `check`, a re-authentication of the signed-in `user` (the current
/// password, an MFA code), as one attempt on the counter of the account's
/// address, the one sign-in uses: refused with 423 while the address is
/// locked; a wrong secret counts (the failure that locks answers 423); a
/// right one clears the count as a sign-in does, unless a failure locked
/// the address meanwhile (423). Any other outcome gives the attempt back.
pub(crate) async fn reauthenticate<T>(
    state: &AppState,
    ctx: &Ctx,
    user: &UserRecord,
    check: impl Future<Output = Result<Proof<T>>>,
) -> Result<T> {
    let table = state.table.as_ref();
    let claim = attempts::claim(table, &user.email, ctx.now).await?;
    match check.await {
        Ok(Proof::Proved(value)) => {
            attempts::commit_success(table, &claim, Vec::new(), ctx.now, |_| changed_meanwhile()).await?;
            Ok(value)
        }
        Ok(Proof::Wrong(err)) => match attempts::failed(table, &claim, ctx.now).await? {
            None => Err(err),
            Some(until) => {
                let entry = ctx.audit(None, "user.locked_out", format!("user/{}", user.id));
                state.table.transact_write(vec![entry.write()]).await?;
                tracing::info!(user_id = %user.id, "account locked after repeated failed re-authentications");
                Err(ApiError::AccountLocked { until: Some(until) })
            }
        },
        Err(err) => {
            log_unsettled(attempts::release(table, &claim).await);
            Err(err)
        }
    }
}

/// Checks the current password a change asks for (a recent sign-in stands
/// in for it when the account has none): for [`reauthenticate`].
pub(crate) async fn current_password(
    principal: &Principal,
    user: &UserRecord,
    password: &str,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<Proof<()>> {
    match require_recent_login(principal, user, Some(password), now).await {
        Ok(()) => Ok(Proof::Proved(())),
        Err(err @ ApiError::Forbidden(_)) if user.password_hash.is_some() => Ok(Proof::Wrong(err)),
        Err(err) => Err(err),
    }
}

/// Giving an attempt back only keeps the count exact: a failure to write it
/// leaves the attempt counted (the safe side) and must not fail the request.
pub(crate) fn log_unsettled(result: anyhow::Result<()>) {
    if let Err(err) = result {
        tracing::error!(error = format!("{err:#}"), "settling an attempt failed");
    }
}

async fn hash_password(password: Password) -> Result<shared::domain::PasswordHash> {
    // Argon2 is CPU-heavy: keep it off the async workers.
    Ok(tokio::task::spawn_blocking(move || password.hash()).await.map_err(|e| ApiError::Internal(e.into()))??)
}

// ---- password change -------------------------------------------------------

/// A password change.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ChangePasswordRequest {
    /// The current password.
    #[schema(schema_with = shared::domain::Password::current_schema)]
    pub current_password: String,
    /// The new password (8–128 characters).
    #[schema(schema_with = shared::domain::Password::schema)]
    pub new_password: String,
}

impl std::fmt::Debug for ChangePasswordRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ChangePasswordRequest(***)")
    }
}

/// Changes the caller's password; every other session of the account ends.
#[utoipa::path(
    put,
    path = "/v1/auth/password",
    tag = "auth",
    request_body = ChangePasswordRequest,
    security(("bearer" = [])),
    responses(
        BodyProblems,
        (status = 204, description = "Changed; the other sessions ended and a notice was mailed"),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json", description = "The current password is wrong"),
        (status = 409, body = Problem, content_type = "application/problem+json", description = "The account changed at the same time"),
        (status = 423, body = Problem, content_type = "application/problem+json", description = "Too many wrong passwords or codes, here or at sign-in: locked (`lockedUntil`), also for the right one until then"),
    )
)]
#[tracing::instrument(skip_all, fields(user_id = %ctx.principal.user_id))]
pub async fn change_password(
    State(state): State<AppState>,
    ctx: Ctx,
    Json(body): Json<ChangePasswordRequest>,
) -> Result<StatusCode> {
    let principal = &ctx.principal;
    principal.require("auth", true)?;
    let mut v = Validator::new();
    let current = v.field("currentPassword", Password::check_current(&body.current_password));
    let new_password = v.field("newPassword", Password::parse(&body.new_password));
    let Some(new_password) = new_password.filter(|_| current.is_some()) else {
        return Err(v.into_error());
    };

    let user = current_user(&state, principal).await?;
    let now = ctx.now;
    reauthenticate(&state, &ctx, &user, current_password(principal, &user, &body.current_password, now)).await?;
    let hash = hash_password(new_password).await?;

    let update = UserChange::of(&user, now).password(&hash, now);
    let ops = vec![update.op(), ctx.audit(None, "user.password_changed", format!("user/{}", user.id)).write()];
    commit_with(state.table.as_ref(), ops, |_| changed_meanwhile()).await?;

    // The caller's own session survives; a personal access token has none,
    // so then every session ends.
    let keep = Some(principal.session_id.as_str()).filter(|s| !s.is_empty());
    let ended = sessions::revoke_all(state.table.as_ref(), user.id, keep).await?;
    tracing::info!(ended_sessions = ended, "password changed");

    let notice = templates::security_notice(&state.app_url, recipient(&user), &SecurityEvent::PasswordChanged);
    send_quietly(&state, &notice, "password-changed notice").await;
    Ok(StatusCode::NO_CONTENT)
}

// ---- password reset --------------------------------------------------------

/// A request for a password-reset mail.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct PasswordResetRequest {
    /// The account's email address.
    #[schema(schema_with = shared::domain::Email::schema)]
    pub email: String,
}

/// Mails a one-time reset link (valid one hour) if an account has this
/// address; answers 202 either way.
#[utoipa::path(
    post,
    path = "/v1/auth/password-reset",
    tag = "auth",
    request_body = PasswordResetRequest,
    responses(
        BodyProblems,
        (status = 202, description = "Accepted; a mail was sent if the address belongs to an account"),
        (status = 400, body = Problem, content_type = "application/problem+json"),
    )
)]
#[tracing::instrument(skip_all)]
pub async fn request_password_reset(
    State(state): State<AppState>,
    AnonymousCtx(ctx): AnonymousCtx,
    Json(body): Json<PasswordResetRequest>,
) -> Result<StatusCode> {
    let email = Email::parse(&body.email).map_err(|e| ApiError::invalid("email", e))?;
    let Some(user) = users::find_by_email(state.table.as_ref(), &email).await?.filter(|u| !u.deleting) else {
        return Ok(StatusCode::ACCEPTED);
    };
    let issued = one_time::issue(Purpose::PasswordReset, user.id, serde_json::Value::Null, ctx.now, RESET_TOKEN_TTL)?;
    let target = format!("user/{}", user.id);
    let ops = vec![issued.write.clone(), ctx.audit(None, "anonymous", "user.password_reset_requested", target).write()];
    if let Err(err) = state.table.transact_write(ops).await {
        // Answer as for any address: a failure must not reveal that this one exists.
        tracing::error!(error = format!("{:#}", anyhow::Error::new(err)), "storing a reset token failed");
        return Ok(StatusCode::ACCEPTED);
    }
    let mail = templates::password_reset(&state.app_url, recipient(&user), &issued.token);
    send_quietly(&state, &mail, "password reset").await;
    Ok(StatusCode::ACCEPTED)
}

/// Whether a reset token can still be used.
#[derive(Debug, Serialize, ToSchema)]
pub struct TokenValidity {
    /// Always `true` (an unusable token is a 404).
    pub valid: bool,
}

/// Tells whether a reset token is still valid (for showing a warning before
/// the user types a new password); does not use it up.
#[utoipa::path(
    get,
    path = "/v1/auth/password-reset/{token}",
    tag = "auth",
    params(("token" = String, Path, description = "The token from the reset mail")),
    responses(
        (status = 200, body = TokenValidity),
        (status = 404, body = Problem, content_type = "application/problem+json", description = "Unknown, used or expired"),
    )
)]
#[tracing::instrument(skip_all)]
pub async fn check_password_reset(
    State(state): State<AppState>,
    path: std::result::Result<axum::extract::Path<String>, axum::extract::rejection::PathRejection>,
) -> Result<Json<TokenValidity>> {
    let axum::extract::Path(token) = path.map_err(|_| ApiError::NotFound)?;
    one_time::check(state.table.as_ref(), Purpose::PasswordReset, &token, state.clock.now()).await?;
    Ok(Json(TokenValidity { valid: true }))
}

/// A new password set with a reset token.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct CompletePasswordResetRequest {
    /// The token from the reset (or set-password) mail.
    #[schema(schema_with = shared::domain::non_empty_schema)]
    pub token: String,
    /// The new password (8–128 characters).
    #[schema(schema_with = shared::domain::Password::schema)]
    pub new_password: String,
}

impl std::fmt::Debug for CompletePasswordResetRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CompletePasswordResetRequest(***)")
    }
}

/// Sets a new password with a reset token: the token is used up, every
/// session of the account ends and a temporary lockout is lifted.
#[utoipa::path(
    put,
    path = "/v1/auth/password-reset",
    tag = "auth",
    request_body = CompletePasswordResetRequest,
    responses(
        BodyProblems,
        (status = 204, description = "The password was set"),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json", description = "Unknown, used or expired token"),
    )
)]
#[tracing::instrument(skip_all)]
pub async fn complete_password_reset(
    State(state): State<AppState>,
    AnonymousCtx(ctx): AnonymousCtx,
    Json(body): Json<CompletePasswordResetRequest>,
) -> Result<StatusCode> {
    let mut v = Validator::new();
    if body.token.is_empty() {
        v.error("token", "must not be empty");
    }
    let new_password = v.field("newPassword", Password::parse(&body.new_password));
    let Some(new_password) = new_password.filter(|_| !body.token.is_empty()) else {
        return Err(v.into_error());
    };
    let table = state.table.as_ref();
    let now = ctx.now;
    let valid = one_time::check(table, Purpose::PasswordReset, &body.token, now).await?;
    let user = users::get(table, valid.token.user_id).await?.filter(|u| !u.deleting).ok_or(ApiError::NotFound)?;
    let hash = hash_password(new_password).await?;

    let update = UserChange::of(&user, now).password(&hash, now);
    let entry = ctx.audit(None, format!("user:{}", user.id), "user.password_reset", format!("user/{}", user.id));
    // The address's failed attempts go with the old password.
    let ops = vec![valid.consume, update.op(), entry.write(), attempts::clear_op(&user.email, now)];
    // Operation 0 is the token: spent by a concurrent request.
    commit_with(
        state.table.as_ref(),
        ops,
        |index| if index == Some(0) { ApiError::NotFound } else { changed_meanwhile() },
    )
    .await?;

    let ended = sessions::revoke_all(table, user.id, None).await?;
    tracing::info!(user_id = %user.id, ended_sessions = ended, "password reset");
    let notice = templates::security_notice(&state.app_url, recipient(&user), &SecurityEvent::PasswordChanged);
    send_quietly(&state, &notice, "password-changed notice").await;
    Ok(StatusCode::NO_CONTENT)
}
