//! Routes for email verification and email change (seeds 001 and 003).
//!
//! A change of address is a request first: it needs the password (and the
//! second factor when MFA is on), mails a one-time link to the new address
//! and a notice to the old one, and only the link swaps the address. The
//! swap moves the uniqueness guard (`EMAIL#<address>`) and updates the user
//! in one transaction, so two accounts can never end up with one address.

use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use shared::context::{AnonymousCtx, Ctx};
use shared::domain::Email;
use shared::error::Problem;
use shared::extract::Json;
use shared::identity::auth::Principal;
use shared::identity::email_changes;
use shared::identity::email_changes::PendingEmailChangeRecord;
use shared::identity::one_time;
use shared::identity::one_time::Purpose;
use shared::mail::templates::{self, Recipient, SecurityEvent};
use shared::people::users;
use shared::people::users::User;
use shared::people::users::UserChange;
use shared::validation::Validator;
use shared::{ApiError, AppState, Result};

use crate::password::{
    Proof, changed_meanwhile, current_password, current_user, reauthenticate, recipient, send_quietly,
};
use shared::kit::BodyProblems;
use shared::kit::commit_with;

/// A one-time token from a mail.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TokenRequest {
    /// The token (the `token` query parameter of the mailed link).
    pub token: String,
}

impl std::fmt::Debug for TokenRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TokenRequest(***)")
    }
}

/// A request to change the account's email address.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct EmailChangeRequest {
    /// The new address.
    #[schema(schema_with = shared::domain::Email::schema)]
    pub new_email: String,
    /// The current password.
    #[schema(schema_with = shared::domain::Password::current_schema)]
    pub password: String,
    /// A current TOTP or backup code, required when MFA is on.
    #[serde(default)]
    pub mfa_code: Option<String>,
}

impl std::fmt::Debug for EmailChangeRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EmailChangeRequest").field("new_email", &self.new_email).finish_non_exhaustive()
    }
}

/// The pending email change.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PendingEmailChange {
    /// The address waiting for confirmation.
    pub new_email: String,
    /// When the confirmation link stops working.
    pub expires_at: DateTime<Utc>,
}

/// The pending change of `user`, unless there is none or it expired.
async fn pending(state: &AppState, user: Uuid, now: DateTime<Utc>) -> Result<Option<PendingEmailChangeRecord>> {
    let record = email_changes::get(state.table.as_ref(), user).await?;
    Ok(record.filter(|r| r.expires_at > now))
}

async fn send_required(state: &AppState, mail: &shared::mail::Mail) -> Result<()> {
    state.mailer.send(mail).await.map_err(|e| ApiError::Internal(e.context("sending a mail with a token")))
}

/// Marks the address the token was mailed to as verified.
#[utoipa::path(
    post,
    path = "/v1/auth/verify-email",
    tag = "auth",
    request_body = TokenRequest,
    responses(
        BodyProblems,
        (status = 204, description = "The address is verified"),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json", description = "Unknown, used or expired token"),
    )
)]
#[tracing::instrument(skip_all)]
pub async fn verify_email(
    State(state): State<AppState>,
    AnonymousCtx(ctx): AnonymousCtx,
    Json(body): Json<TokenRequest>,
) -> Result<StatusCode> {
    let table = state.table.as_ref();
    let now = ctx.now;
    let valid = one_time::check(table, Purpose::VerifyEmail, &body.token, now).await?;
    let user = users::get(table, valid.token.user_id).await?.filter(|u| !u.deleting).ok_or(ApiError::NotFound)?;
    // A link mailed to an earlier address verifies nothing now.
    if valid.token.data.get("email").and_then(|e| e.as_str()).is_some_and(|e| e != user.email) {
        return Err(ApiError::NotFound);
    }
    let actor = format!("user:{}", user.id);
    let ops = vec![
        valid.consume,
        UserChange::of(&user, now).email_verified(true).op(),
        ctx.audit(None, actor, "user.email_verified", format!("user/{}", user.id)).write(),
    ];
    commit_with(
        state.table.as_ref(),
        ops,
        |index| if index == Some(0) { ApiError::NotFound } else { changed_meanwhile() },
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Mails a new verification link to the caller's address.
#[utoipa::path(
    post,
    path = "/v1/auth/verify-email/resend",
    tag = "auth",
    security(("bearer" = [])),
    responses(
        (status = 202, description = "A verification mail was sent"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json", description = "Already verified"),
    )
)]
#[tracing::instrument(skip_all, fields(user_id = %ctx.principal.user_id))]
pub async fn resend_verification(State(state): State<AppState>, ctx: Ctx) -> Result<StatusCode> {
    let principal = &ctx.principal;
    principal.require("auth", true)?;
    let user = current_user(&state, principal).await?;
    if user.email_verified {
        return Err(ApiError::Conflict("The email address is already verified.".into()));
    }
    let now = ctx.now;
    let issued = one_time::issue_verify_email(user.id, &user.email, now)?;
    let ops =
        vec![issued.write.clone(), ctx.audit(None, "user.verification_sent", format!("user/{}", user.id)).write()];
    commit_with(state.table.as_ref(), ops, |_| changed_meanwhile()).await?;
    send_required(&state, &templates::verify_email(&state.app_url, recipient(&user), &issued.token)).await?;
    Ok(StatusCode::ACCEPTED)
}

/// Requests a change of the caller's address: needs the password (and a
/// second factor when MFA is on); mails a confirmation link to the new
/// address and a notice to the old one. Replaces an earlier pending request.
#[utoipa::path(
    post,
    path = "/v1/auth/email-change",
    tag = "auth",
    request_body = EmailChangeRequest,
    security(("bearer" = [])),
    responses(
        BodyProblems,
        (status = 202, body = PendingEmailChange, description = "Pending until the link mailed to the new address is used"),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json", description = "Unauthenticated, or `mfa_required`"),
        (status = 403, body = Problem, content_type = "application/problem+json", description = "The password is wrong"),
        (status = 409, body = Problem, content_type = "application/problem+json", description = "The address is taken"),
        (status = 423, body = Problem, content_type = "application/problem+json", description = "Too many wrong passwords or codes, here or at sign-in: locked (`lockedUntil`), also for the right one until then"),
    )
)]
#[tracing::instrument(skip_all, fields(user_id = %ctx.principal.user_id))]
pub async fn request_email_change(
    State(state): State<AppState>,
    ctx: Ctx,
    Json(body): Json<EmailChangeRequest>,
) -> Result<(StatusCode, Json<PendingEmailChange>)> {
    let principal = &ctx.principal;
    principal.require("auth", true)?;
    let mut v = Validator::new();
    let new_email = v.field("newEmail", Email::parse(&body.new_email));
    v.field("password", shared::domain::Password::check_current(&body.password));
    let user = current_user(&state, principal).await?;
    if new_email.as_ref().is_some_and(|e| e.as_str() == user.email) {
        v.error("newEmail", "is already the account's address");
    }
    v.finish()?;
    let Some(new_email) = new_email else { return Err(ApiError::invalid("newEmail", "is required")) };

    let now = ctx.now;
    let table = state.table.as_ref();
    // Password and second factor are one attempt on the address's counter.
    let check = async {
        if let wrong @ Proof::Wrong(_) = current_password(principal, &user, &body.password, now).await? {
            return Ok(wrong);
        }
        match shared::identity::mfa::check_second_factor(table, &user, body.mfa_code.as_deref(), now).await {
            Ok(()) => Ok(Proof::Proved(())),
            // The caller is signed in: a wrong code is a bad field, not a lost session.
            Err(ApiError::Unauthenticated) => {
                Ok(Proof::Wrong(ApiError::invalid("mfaCode", "is wrong, expired or already used")))
            }
            Err(other) => Err(other),
        }
    };
    reauthenticate(&state, &ctx, &user, check).await?;
    if users::find_by_email(table, &new_email).await?.is_some() {
        return Err(ApiError::Conflict("An account with this email already exists.".into()));
    }

    let issued = one_time::issue(
        Purpose::EmailChange,
        user.id,
        serde_json::json!({ "newEmail": new_email.as_str() }),
        now,
        one_time::EMAIL_CHANGE_TTL,
    )?;
    let expires_at = now + one_time::EMAIL_CHANGE_TTL;
    let record = PendingEmailChangeRecord {
        user_id: user.id,
        new_email: new_email.as_str().to_string(),
        token_hash: issued.hash(),
        created_at: now,
        expires_at,
        ttl: expires_at.timestamp(),
    };
    let mut ops = vec![
        issued.write.clone(),
        email_changes::put_op(&record)?,
        ctx.audit(None, "user.email_change_requested", format!("user/{}", user.id)).write(),
    ];
    // Only the latest link works: the earlier request's token goes.
    if let Some(earlier) = email_changes::get(table, user.id).await? {
        ops.push(one_time::revoke_op(&earlier.token_hash));
    }
    commit_with(state.table.as_ref(), ops, |_| changed_meanwhile()).await?;

    let to_new = Recipient { email: new_email.as_str(), first_name: &user.first_name };
    send_required(&state, &templates::email_change_confirmation(&state.app_url, to_new, &issued.token)).await?;
    let notice = templates::email_change_requested(&state.app_url, recipient(&user), new_email.as_str());
    send_quietly(&state, &notice, "email-change notice").await;
    Ok((StatusCode::ACCEPTED, Json(PendingEmailChange { new_email: record.new_email, expires_at })))
}

/// The caller's pending email change.
#[utoipa::path(
    get,
    path = "/v1/auth/email-change",
    tag = "auth",
    security(("bearer" = [])),
    responses(
        (status = 200, body = PendingEmailChange),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json", description = "No pending change"),
    )
)]
#[tracing::instrument(skip_all, fields(user_id = %principal.user_id))]
pub async fn get_email_change(State(state): State<AppState>, principal: Principal) -> Result<Json<PendingEmailChange>> {
    principal.require("auth", false)?;
    let record = pending(&state, principal.user_id, state.clock.now()).await?.ok_or(ApiError::NotFound)?;
    Ok(Json(PendingEmailChange { new_email: record.new_email, expires_at: record.expires_at }))
}

/// Aborts the caller's pending email change (its link stops working).
#[utoipa::path(
    delete,
    path = "/v1/auth/email-change",
    tag = "auth",
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Aborted"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json", description = "No pending change"),
    )
)]
#[tracing::instrument(skip_all, fields(user_id = %ctx.principal.user_id))]
pub async fn cancel_email_change(State(state): State<AppState>, ctx: Ctx) -> Result<StatusCode> {
    let principal = &ctx.principal;
    principal.require("auth", true)?;
    let record = pending(&state, principal.user_id, ctx.now).await?.ok_or(ApiError::NotFound)?;
    let ops = vec![
        email_changes::delete_op(&record),
        one_time::revoke_op(&record.token_hash),
        ctx.audit(None, "user.email_change_cancelled", format!("user/{}", principal.user_id)).write(),
    ];
    commit_with(state.table.as_ref(), ops, |_| ApiError::NotFound).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Confirms an email change with the link mailed to the new address: the
/// address is swapped (and counts as verified) and the old address gets a notice.
#[utoipa::path(
    post,
    path = "/v1/auth/email-change/confirm",
    tag = "auth",
    request_body = TokenRequest,
    responses(
        BodyProblems,
        (status = 200, body = User, description = "The account with its new address"),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json", description = "Unknown, used, aborted or expired token"),
        (status = 409, body = Problem, content_type = "application/problem+json", description = "The address was taken meanwhile"),
    )
)]
#[tracing::instrument(skip_all)]
pub async fn confirm_email_change(
    State(state): State<AppState>,
    AnonymousCtx(ctx): AnonymousCtx,
    Json(body): Json<TokenRequest>,
) -> Result<Json<User>> {
    let table = state.table.as_ref();
    let now = ctx.now;
    let valid = one_time::check(table, Purpose::EmailChange, &body.token, now).await?;
    let user_id = valid.token.user_id;
    let user = users::get(table, user_id).await?.filter(|u| !u.deleting).ok_or(ApiError::NotFound)?;
    // Only the latest, not aborted request's link works.
    let record =
        pending(&state, user_id, now).await?.filter(|r| r.token_hash == valid.hash).ok_or(ApiError::NotFound)?;

    let ops = vec![
        valid.consume,
        email_changes::delete_op(&record),
        users::delete_email_guard_op(&user.email, user_id),
        users::email_guard_op(&record.new_email, user_id),
        UserChange::of(&user, now).email(&record.new_email, true).op(),
        ctx.audit(None, format!("user:{user_id}"), "user.email_changed", format!("user/{user_id}")).write(),
    ];
    commit_with(state.table.as_ref(), ops, |index| match index {
        Some(0 | 1) => ApiError::NotFound,
        Some(3) => ApiError::Conflict("An account with this email already exists.".into()),
        _ => changed_meanwhile(),
    })
    .await?;
    tracing::info!(user_id = %user_id, "email changed");

    let notice = templates::security_notice(
        &state.app_url,
        recipient(&user),
        &SecurityEvent::EmailChanged { new_email: record.new_email.clone() },
    );
    send_quietly(&state, &notice, "email-changed notice").await;
    let updated = users::get(table, user_id).await?.ok_or(ApiError::NotFound)?;
    Ok(Json(updated.view()))
}
