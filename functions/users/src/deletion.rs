//! Deleting a user and everything they own, so that it is never half-done:
//! the user item is first marked `deleting` (with the audit entry, in one
//! transaction; from then on the user is gone for every other route), then
//! the owned items go in bounded transactions, the user item LAST. If any
//! step fails, repeating the `DELETE` resumes from what is left.

use uuid::Uuid;

use shared::access::authz::Relation;
use shared::access::authz::UserAccess;
use shared::access::authz::user_access_to;
use shared::concurrency::IfMatch;
use shared::context::Ctx;
use shared::domain::Role;
use shared::identity::auth::Principal;
use shared::kit::commit_versioned;
use shared::organisations;
use shared::people::attachments;
use shared::people::users;
use shared::people::users::UserChange;
use shared::{ApiError, AppState, Result};

/// Checks the caller may delete the user: themself, a superadmin, or an
/// owner/admin of EVERY organisation the user belongs to (an admin of one
/// organisation cannot delete a person another organisation also has); only
/// owners delete owners; and no organisation may lose its last owner.
async fn check_allowed(state: &AppState, principal: &Principal, access: &UserAccess) -> Result<()> {
    principal.require("users", true)?;
    let table = state.table.as_ref();
    match access.relation {
        Relation::Itself | Relation::Superadmin => {}
        Relation::Planner(_) => {
            return Err(ApiError::Forbidden("Planners cannot delete the users they plan for.".into()));
        }
        Relation::Colleague(_) => return Err(ApiError::NotFound),
        Relation::OrgAdmin { .. } => {
            access.require_may_act_on()?;
            for membership in &access.memberships {
                let mine = organisations::membership(table, membership.organisation_id, principal.user_id).await?;
                match mine.map(|m| m.role) {
                    Some(Role::Owner) => {}
                    Some(Role::Admin) if membership.role != Role::Owner => {}
                    Some(Role::Admin) => {
                        return Err(ApiError::Forbidden("Only an owner may delete an owner.".into()));
                    }
                    _ => {
                        return Err(ApiError::Forbidden(
                            "The user also belongs to an organisation you do not administer.".into(),
                        ));
                    }
                }
            }
        }
    }
    if access.target.deleting {
        return Ok(());
    }
    for membership in access.memberships.iter().filter(|m| m.role == Role::Owner) {
        if organisations::other_owner(table, membership.organisation_id, access.target.id).await?.is_none() {
            return Err(ApiError::Conflict(format!(
                "The user is the only owner of organisation {}; make someone else owner first.",
                membership.organisation_id
            )));
        }
    }
    Ok(())
}

/// Deletes user `id` for the caller of `ctx` (see the module documentation).
pub async fn delete(state: &AppState, ctx: &Ctx, if_match: &IfMatch, id: Uuid) -> Result<()> {
    let principal = &ctx.principal;
    let table = state.table.as_ref();
    let record = users::get(table, id).await?.ok_or(ApiError::NotFound)?;
    let access = user_access_to(state.table.as_ref(), principal, record).await?;
    check_allowed(state, principal, &access).await?;
    let user = &access.target;

    if !user.deleting {
        if_match.check(user.version)?;
        let now = ctx.now;
        let mark = UserChange::of(user, now).deleting().op();
        let audit = ctx.audit(access.audit_organisation(), "user.deleted", format!("user/{id}"));
        commit_versioned(table, vec![mark, audit.write()]).await?;
    }

    // Sessions end first, so that nothing acts as the user while the rest goes.
    shared::identity::sessions::revoke_all(table, id, None).await?;

    let belongings = users::belongings(table, id).await?;
    for attachment in &belongings.attachments {
        state.blobs.delete(&attachments::blob_key(id, *attachment)).await?;
    }
    users::delete_belongings(table, belongings, &user.email, id).await?;
    // Last: the user item itself (only while it is still marked deleting).
    users::delete_marked(table, id).await?;
    tracing::info!(user_id = %id, "user deleted");
    Ok(())
}
