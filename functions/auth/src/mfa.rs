//! Routes for TOTP and backup codes (seed 003's MFA endpoints). The logic
//! (codes, replay protection, backup-code storage) is in `shared::identity::mfa`,
//! which sign-in uses too; these routes manage the configuration.
//!
//! A new secret stays pending until a code from it is confirmed, so a
//! half-finished setup can never lock anyone out. Turning MFA on or off
//! updates the user item (`mfaEnabled`, read by sign-in) in the same
//! transaction as the configuration and the audit entry.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use shared::context::Ctx;
use shared::error::Problem;
use shared::extract::Json;
use shared::idempotency::no_store;
use shared::identity::auth::Principal;
use shared::identity::auth::require_recent_login;
use shared::identity::mfa;
use shared::identity::mfa::TotpRecord;
use shared::mail::templates::{self, SecurityEvent};
use shared::people::users::UserChange;
use shared::{ApiError, AppState, Result};

use crate::password::{Proof, changed_meanwhile, current_user, reauthenticate, recipient, send_quietly};
use shared::kit::BodyProblems;
use shared::kit::commit_with;

/// Whether the caller has MFA on.
#[derive(Debug, Serialize, ToSchema)]
pub struct MfaStatus {
    /// Whether sign-in needs a second factor.
    pub enabled: bool,
}

/// A new, pending TOTP secret.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TotpSetup {
    /// The shared secret, base32 (shown now only).
    pub secret: String,
    /// The `otpauth://` URL for authenticator apps (QR code content).
    pub otpauth_url: String,
}

impl std::fmt::Debug for TotpSetup {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TotpSetup(***)")
    }
}

/// A current code (TOTP, or for disabling also a backup code).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CodeRequest {
    /// The code.
    #[schema(schema_with = shared::domain::code_schema)]
    pub code: String,
}

/// A new set of backup codes.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct BackupCodes {
    /// Ten one-time codes (shown now only), each usable once instead of `mfaCode`.
    pub backup_codes: Vec<String>,
}

impl std::fmt::Debug for BackupCodes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("BackupCodes(***)")
    }
}

fn wrong_code() -> ApiError {
    ApiError::invalid("code", "is wrong, expired or already used")
}

fn code_field(code: &str) -> Result<&str> {
    let code = code.trim();
    if code.is_empty() { Err(ApiError::invalid("code", "must not be empty")) } else { Ok(code) }
}

/// Whether the caller has MFA on.
#[utoipa::path(
    get,
    path = "/v1/auth/mfa",
    tag = "auth",
    security(("bearer" = [])),
    responses(
        (status = 200, body = MfaStatus),
        (status = 401, body = Problem, content_type = "application/problem+json"),
    )
)]
#[tracing::instrument(skip_all, fields(user_id = %principal.user_id))]
pub async fn get_mfa(State(state): State<AppState>, principal: Principal) -> Result<Json<MfaStatus>> {
    principal.require("auth", false)?;
    let user = current_user(&state, &principal).await?;
    Ok(Json(MfaStatus { enabled: user.mfa_enabled }))
}

/// Creates a new TOTP secret, pending until confirmed with a code; replaces
/// an earlier pending one.
#[utoipa::path(
    post,
    path = "/v1/auth/mfa/totp",
    tag = "auth",
    security(("bearer" = [])),
    responses(
        (status = 201, body = TotpSetup),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json", description = "MFA is already on"),
    )
)]
#[tracing::instrument(skip_all, fields(user_id = %ctx.principal.user_id))]
pub async fn create_totp(State(state): State<AppState>, ctx: Ctx) -> Result<(StatusCode, HeaderMap, Json<TotpSetup>)> {
    let principal = &ctx.principal;
    principal.require("auth", true)?;
    let user = current_user(&state, principal).await?;
    if user.mfa_enabled {
        return Err(ApiError::Conflict("MFA is already on; turn it off first to change the secret.".into()));
    }
    let now = ctx.now;
    let record = TotpRecord::new(user.id, now);
    let otpauth_url = record.otpauth_url(&user.email)?;
    let ops =
        vec![mfa::pending_put_op(&record)?, ctx.audit(None, "mfa.totp_created", format!("user/{}", user.id)).write()];
    commit_with(state.table.as_ref(), ops, |_| ApiError::Conflict("MFA is already on.".into())).await?;
    Ok((StatusCode::CREATED, no_store(), Json(TotpSetup { secret: record.secret, otpauth_url })))
}

/// Turns MFA on with a code from the pending secret.
#[utoipa::path(
    post,
    path = "/v1/auth/mfa/totp/enable",
    tag = "auth",
    request_body = CodeRequest,
    security(("bearer" = [])),
    responses(
        BodyProblems,
        (status = 200, body = MfaStatus),
        (status = 400, body = Problem, content_type = "application/problem+json", description = "Wrong or used code"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json", description = "Already on, or no pending secret"),
    )
)]
#[tracing::instrument(skip_all, fields(user_id = %ctx.principal.user_id))]
pub async fn enable_totp(
    State(state): State<AppState>,
    ctx: Ctx,
    Json(body): Json<CodeRequest>,
) -> Result<Json<MfaStatus>> {
    let principal = &ctx.principal;
    principal.require("auth", true)?;
    let code = code_field(&body.code)?;
    let user = current_user(&state, principal).await?;
    if user.mfa_enabled {
        return Err(ApiError::Conflict("MFA is already on.".into()));
    }
    let Some(record) = mfa::get(state.table.as_ref(), user.id).await?.filter(|r| !r.enabled) else {
        return Err(ApiError::Conflict("Create a TOTP secret first (POST /v1/auth/mfa/totp).".into()));
    };
    let now = ctx.now;
    let step = record.accepts(code, now)?.ok_or_else(wrong_code)?;

    let ops = vec![
        mfa::enable_op(&record, step, now),
        UserChange::of(&user, now).mfa_enabled(true).op(),
        ctx.audit(None, "mfa.enabled", format!("user/{}", user.id)).write(),
    ];
    commit_with(state.table.as_ref(), ops, |_| changed_meanwhile()).await?;
    tracing::info!("MFA enabled");
    Ok(Json(MfaStatus { enabled: true }))
}

/// Turns MFA off; needs a current TOTP code or a backup code, and a recent
/// sign-in. The backup codes are deleted and a notice is mailed.
#[utoipa::path(
    post,
    path = "/v1/auth/mfa/totp/disable",
    tag = "auth",
    request_body = CodeRequest,
    security(("bearer" = [])),
    responses(
        BodyProblems,
        (status = 200, body = MfaStatus),
        (status = 400, body = Problem, content_type = "application/problem+json", description = "Wrong or used code"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json", description = "No sign-in within the last hour"),
        (status = 409, body = Problem, content_type = "application/problem+json", description = "MFA is off"),
        (status = 423, body = Problem, content_type = "application/problem+json", description = "Too many wrong passwords or codes, here or at sign-in: locked (`lockedUntil`), also for the right one until then"),
    )
)]
#[tracing::instrument(skip_all, fields(user_id = %ctx.principal.user_id))]
pub async fn disable_totp(
    State(state): State<AppState>,
    ctx: Ctx,
    Json(body): Json<CodeRequest>,
) -> Result<Json<MfaStatus>> {
    let principal = &ctx.principal;
    principal.require("auth", true)?;
    let code = code_field(&body.code)?;
    let user = current_user(&state, principal).await?;
    let now = ctx.now;
    require_recent_login(principal, &user, None, now).await?;
    let table = state.table.as_ref();
    let record = match mfa::get(table, user.id).await? {
        Some(record) if user.mfa_enabled && record.enabled => record,
        _ => return Err(ApiError::Conflict("MFA is not on.".into())),
    };
    // A code is an attempt on the address's counter, as at sign-in.
    let check = async {
        Ok(match mfa::verify(table, &record, code, now).await? {
            Some(factor) => Proof::Proved(factor),
            None => Proof::Wrong(wrong_code()),
        })
    };
    let factor = reauthenticate(&state, &ctx, &user, check).await?;

    let mut ops = mfa::disable_ops(table, user.id, &factor).await?;
    ops.push(UserChange::of(&user, now).mfa_enabled(false).op());
    ops.push(ctx.audit(None, "mfa.disabled", format!("user/{}", user.id)).write());
    let user_index = ops.len() - 2;
    commit_with(
        state.table.as_ref(),
        ops,
        |index| if index == Some(user_index) { changed_meanwhile() } else { wrong_code() },
    )
    .await?;
    tracing::info!("MFA disabled");

    let notice = templates::security_notice(&state.app_url, recipient(&user), &SecurityEvent::MfaDisabled);
    send_quietly(&state, &notice, "MFA-disabled notice").await;
    Ok(Json(MfaStatus { enabled: false }))
}

/// Creates ten new backup codes, replacing any older ones; needs MFA on and
/// a recent sign-in. Only their hashes are stored.
#[utoipa::path(
    post,
    path = "/v1/auth/mfa/backup-codes",
    tag = "auth",
    security(("bearer" = [])),
    responses(
        (status = 201, body = BackupCodes),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json", description = "No sign-in within the last hour"),
        (status = 409, body = Problem, content_type = "application/problem+json", description = "MFA is off"),
    )
)]
#[tracing::instrument(skip_all, fields(user_id = %ctx.principal.user_id))]
pub async fn create_backup_codes(
    State(state): State<AppState>,
    ctx: Ctx,
) -> Result<(StatusCode, HeaderMap, Json<BackupCodes>)> {
    let principal = &ctx.principal;
    principal.require("auth", true)?;
    let user = current_user(&state, principal).await?;
    let now = ctx.now;
    require_recent_login(principal, &user, None, now).await?;
    let table = state.table.as_ref();
    let record = match mfa::get(table, user.id).await? {
        Some(record) if user.mfa_enabled && record.enabled => record,
        _ => return Err(ApiError::Conflict("Turn MFA on before creating backup codes.".into())),
    };

    let codes = mfa::new_backup_codes();
    let mut ops = mfa::replace_backup_codes_ops(table, &record, &codes, now).await?;
    ops.push(ctx.audit(None, "mfa.backup_codes_created", format!("user/{}", user.id)).write());
    commit_with(state.table.as_ref(), ops, |_| changed_meanwhile()).await?;
    Ok((StatusCode::CREATED, no_store(), Json(BackupCodes { backup_codes: codes })))
}
