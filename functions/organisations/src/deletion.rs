//! Deleting an organisation, which may own far more items than one request
//! or one transaction can remove. The approach:
//!
//! 1. **Mark.** The organisation item gets `deleting: true` and
//!    `deletionRequestedBy` (conditioned on its version, so `If-Match` and
//!    concurrent renames are honoured) and leaves the `ORGS` index. From then
//!    on every route of the organisation answers 404, and no new structure
//!    can be attached to it.
//! 2. **Planner links** made through the organisation, then **memberships**, in batches of at most 12 memberships per
//!    transaction (each with, for a user who belongs to no other
//!    organisation, the update deactivating them: at most 24 writes), so
//!    members lose access, in every group, as early as possible. Sessions of
//!    deactivated users are revoked before the batch that deactivates them.
//! 3. **Everything else** in the partition `ORG#<id>` (units, relations,
//!    links, the invitation text, invitations and API keys) in batches of at
//!    most 25 deletes per transaction; an item naming a companion outside
//!    the partition (`companionPK`/`companionSK`) takes it with it.
//! 4. **The organisation item last**, with the audit entry of the deletion.
//!
//! Every step is idempotent and the state lives in the table, not in the
//! request: each request does at most [`MAX_BATCHES`] transactions (well
//! within API Gateway's 29 s) and answers 202 while work remains; a second
//! `DELETE` — or one after a crash or timeout anywhere in between — simply
//! continues from what is left. The audit log (`AUDIT#<id>`) is kept.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use shared::context::Ctx;
use shared::identity::sessions;
use shared::organisations::Membership;
use shared::organisations::organisation_deletion as store;
use shared::people::planners;
use shared::people::users;
use shared::store::Writes;
use shared::{ApiError, AppState};

use crate::common::commit;

/// Most transactions one request performs before answering 202.
pub const MAX_BATCHES: usize = 40;
/// Planner links per transaction.
const LINKS_PER_BATCH: usize = 25;
/// Memberships per transaction (each may bring a user deactivation).
const MEMBERSHIPS_PER_BATCH: usize = 12;

/// Whether the organisation is gone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Progress {
    /// Everything, the organisation item included, is deleted.
    Done,
    /// The request's budget ran out; another `DELETE` continues.
    More,
}

/// Deletes what is left of `org` (already marked), within the budget; the
/// final entry is the caller's of `ctx`.
pub async fn purge(state: &AppState, ctx: &Ctx, org: Uuid) -> Result<Progress, ApiError> {
    let table = state.table.as_ref();
    let mut batches = 0;

    // 2a. Planner links made through the organisation end before the
    //     memberships they rest on.
    loop {
        if batches >= MAX_BATCHES {
            return Ok(Progress::More);
        }
        let links = planners::through_organisation(table, org, LINKS_PER_BATCH).await?;
        if links.is_empty() {
            break;
        }
        commit(state, links.iter().map(planners::delete_op).collect()).await?;
        batches += 1;
    }

    // 2b. Memberships.
    let mut after = None;
    loop {
        if batches >= MAX_BATCHES {
            return Ok(Progress::More);
        }
        let Some((memberships, last)) = store::memberships(table, org, after.as_ref(), MEMBERSHIPS_PER_BATCH).await?
        else {
            break;
        };
        let ops = membership_batch(state, org, &memberships, ctx.now).await?;
        commit(state, ops).await?;
        batches += 1;
        after = Some(last);
    }

    // 3. Everything else in the partition but the organisation item.
    let mut after = None;
    loop {
        if batches >= MAX_BATCHES {
            return Ok(Progress::More);
        }
        let Some((ops, last)) = store::contents(table, org, after.as_ref()).await? else { break };
        commit(state, ops).await?;
        batches += 1;
        after = Some(last);
    }

    // 4. The organisation item, with its audit entry (done too when another
    //    request finished first).
    let audit = ctx.audit(Some(org), "organisation.deleted", format!("organisation/{org}"));
    store::delete_marked(table, org, audit.write()).await?;
    Ok(Progress::Done)
}

/// Deletes `memberships`, deactivating users left without an organisation.
async fn membership_batch(
    state: &AppState,
    org: Uuid,
    memberships: &[Membership],
    now: DateTime<Utc>,
) -> Result<Writes, ApiError> {
    let table = state.table.as_ref();
    let ids: Vec<Uuid> = memberships.iter().map(|m| m.user_id).collect();
    let existing = users::get_many(table, &ids).await?;
    let mut ops = Vec::with_capacity(memberships.len() * 2);
    for membership in memberships {
        ops.push(store::delete_membership_op(org, membership.user_id));
        let Some(user) = existing.iter().find(|u| u.id == membership.user_id) else { continue };
        if user.deactivated || user.is_superadmin() {
            continue;
        }
        let elsewhere = users::memberships(table, user.id).await?.iter().any(|m| m.organisation_id != org);
        if elsewhere {
            continue;
        }
        // Revoked first: if the batch then fails, the retry deactivates them.
        if let Err(err) = sessions::revoke_all(table, user.id, None).await {
            tracing::warn!(user_id = %user.id, error = %format!("{err:#}"), "could not revoke sessions");
        }
        ops.push(users::deactivate_op(user.id, now));
    }
    Ok(ops)
}
