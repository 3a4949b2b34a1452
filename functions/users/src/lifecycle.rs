//! Lock, unlock, deactivate and activate a user (seed 001): administrator
//! actions. On the account they need a superadmin or an administrator of
//! every organisation the user belongs to; locking and deactivating then
//! also end every session of the user, so a locked account stops working
//! at once, not when its tokens expire. An administrator of only some of
//! the user's organisations suspends (lock, deactivate) or reinstates
//! (unlock, activate) the user's membership in those organisations
//! instead: the account, and the user's other organisations, are not theirs.

use axum::extract::State;
use axum::http::HeaderMap;
use uuid::Uuid;

use shared::access::authz::UserAccess;
use shared::access::authz::user_access;
use shared::concurrency::{IfMatch, etag_headers};
use shared::context::Ctx;
use shared::extract::{Json, PathId};
use shared::identity::attempts;
use shared::kit::commit_versioned;
use shared::organisations;
use shared::people::users::User;
use shared::people::users::UserChange;
use shared::{ApiError, AppState, Result};

use shared::kit::{Problems, WriteProblems};

#[derive(Clone, Copy)]
enum Action {
    Lock,
    Unlock,
    Deactivate,
    Activate,
}

async fn apply(
    state: &AppState,
    ctx: &Ctx,
    if_match: &IfMatch,
    id: Uuid,
    action: Action,
) -> Result<(HeaderMap, Json<User>)> {
    let principal = &ctx.principal;
    principal.require("users", true)?;
    let access = user_access(state.table.as_ref(), principal, id).await?;
    if id == principal.user_id {
        // A member is simply not allowed; an administrator is told why not.
        return Err(if access.admin_organisations().is_empty() {
            ApiError::Forbidden("Only an administrator of the user's organisation may do this.".into())
        } else {
            ApiError::Conflict("You cannot lock, unlock, deactivate or activate yourself.".into())
        });
    }
    access.require_admin()?;
    access.require_may_act_on()?;
    if !access.covers_all() {
        return suspend(state, ctx, if_match, &access, action).await;
    }
    if_match.check(access.target.version)?;
    let mut user = access.target.clone();
    let now = ctx.now;
    let (name, ends_sessions) = match action {
        Action::Lock => {
            user.locked = true;
            ("user.locked", true)
        }
        Action::Unlock => {
            user.locked = false;
            ("user.unlocked", false)
        }
        Action::Deactivate => {
            user.locked = true;
            user.deactivated = true;
            ("user.deactivated", true)
        }
        Action::Activate => {
            user.locked = false;
            user.deactivated = false;
            ("user.activated", false)
        }
    };
    let change = UserChange::of(&access.target, now).lock_state(user.locked, user.deactivated);
    let audit = ctx.audit(access.audit_organisation(), name, format!("user/{id}"));
    let mut ops = vec![change.op(), audit.write()];
    // Unlocking also lifts a lock that failed attempts put on the address.
    if matches!(action, Action::Unlock | Action::Activate) {
        ops.push(attempts::clear_op(&user.email, now));
    }
    commit_versioned(state.table.as_ref(), ops).await?;
    if ends_sessions {
        shared::identity::sessions::revoke_all(state.table.as_ref(), id, None).await?;
    }
    user.updated_at = now;
    user.version += 1;
    Ok((etag_headers(user.version), Json(user.view())))
}

/// Suspends or reinstates the user's memberships in the organisations the
/// caller administers, in one transaction; the account is untouched.
async fn suspend(
    state: &AppState,
    ctx: &Ctx,
    if_match: &IfMatch,
    access: &UserAccess,
    action: Action,
) -> Result<(HeaderMap, Json<User>)> {
    if_match.check(access.target.version)?;
    let suspended = matches!(action, Action::Lock | Action::Deactivate);
    let name = if suspended { "member.suspended" } else { "member.reinstated" };
    let mut ops = Vec::new();
    for org in access.admin_organisations() {
        let Some(membership) = access.memberships.iter().find(|m| m.organisation_id == org) else { continue };
        if membership.suspended != suspended {
            ops.push(organisations::suspend_op(membership, suspended));
            let id = access.target.id;
            ops.push(ctx.audit(Some(org), name, format!("user/{id}")).write());
        }
    }
    if !ops.is_empty() {
        commit_versioned(state.table.as_ref(), ops).await?;
    }
    Ok((etag_headers(access.target.version), Json(access.target.view())))
}

macro_rules! lifecycle_route {
    ($name:ident, $path:literal, $action:expr, $doc:literal) => {
        #[doc = $doc]
        #[utoipa::path(
            post,
            path = $path,
            tag = "users",
            params(
                ("id" = Uuid, Path, description = "User id"),
                shared::concurrency::IfMatch,
            ),
            security(("bearer" = [])),
            responses((status = 200, body = User, headers(("ETag" = String, description = "The new version"))), Problems, WriteProblems)
        )]
        #[tracing::instrument(skip_all)]
        pub async fn $name(
            State(state): State<AppState>,
            ctx: Ctx,
            if_match: IfMatch,
            PathId(id): PathId,
        ) -> Result<(HeaderMap, Json<User>)> {
            apply(&state, &ctx, &if_match, id, $action).await
        }
    };
}

lifecycle_route!(
    lock_user,
    "/v1/users/{id}/lock",
    Action::Lock,
    "Locks a user (administrators of all their organisations): they cannot sign in, and their sessions end. An administrator of only some suspends the membership there."
);
lifecycle_route!(
    unlock_user,
    "/v1/users/{id}/unlock",
    Action::Unlock,
    "Unlocks a user (administrators of all their organisations), also clearing a lockout after failed sign-ins. An administrator of only some reinstates the membership there."
);
lifecycle_route!(
    deactivate_user,
    "/v1/users/{id}/deactivate",
    Action::Deactivate,
    "Deactivates a user (administrators of all their organisations): locked until activated, every session ended. An administrator of only some suspends the membership there."
);
lifecycle_route!(
    activate_user,
    "/v1/users/{id}/activate",
    Action::Activate,
    "Activates a deactivated user (administrators of all their organisations), unlocking them. An administrator of only some reinstates the membership there."
);
