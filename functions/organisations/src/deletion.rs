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

use shared::audit::{AuditEntry, RequestMeta};
use shared::keys;
use shared::repo::organisations::{self, Membership};
use shared::repo::{from_item, planners, sessions, users};
use shared::table::{Condition, Index, Item, Key, Query, SortKey, Table, Update, WriteOp};
use shared::{ApiError, AppState};

/// Most writes in one deletion transaction.
pub const BATCH: usize = 25;
/// Most transactions one request performs before answering 202.
pub const MAX_BATCHES: usize = 40;
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

/// The write that marks `org` (read at `version`) as being deleted by `by`.
pub fn mark_op(org: Uuid, version: i64, by: Uuid, now: DateTime<Utc>) -> anyhow::Result<WriteOp> {
    Ok(WriteOp::Update(
        Update::new(organisations::org_key(org))
            .set("deleting", true)
            .set("deletionRequestedBy", by.to_string())
            .set("updatedAt", serde_json::to_value(now)?)
            .remove("GSI1PK")
            .remove("GSI1SK")
            .add("version", 1)
            .when(Condition::All(vec![Condition::version_is(version), Condition::AttrNotExists("deleting".into())])),
    ))
}

/// Deletes what is left of `org` (already marked), within the budget.
pub async fn purge(state: &AppState, org: Uuid, actor: &str, meta: &RequestMeta) -> Result<Progress, ApiError> {
    let table = state.table.as_ref();
    let mut batches = 0;

    // 2a. Planner links made through the organisation end before the
    //     memberships they rest on.
    loop {
        if batches >= MAX_BATCHES {
            return Ok(Progress::More);
        }
        let page = table.query(&planners::organisation_query(org).limit(BATCH as u32)).await?;
        if page.items.is_empty() {
            break;
        }
        let ops = planners::decode(page.items)?.iter().map(planners::delete_op).collect();
        table.transact_write(ops).await?;
        batches += 1;
    }

    // 2b. Memberships.
    let mut after: Option<Item> = None;
    loop {
        if batches >= MAX_BATCHES {
            return Ok(Progress::More);
        }
        let mut query = Query::new(Index::Primary, keys::org_pk(org))
            .sort_key(SortKey::BeginsWith(keys::MEMBER_PREFIX.into()))
            .limit(MEMBERSHIPS_PER_BATCH as u32);
        if let Some(last) = &after {
            query = query.start_after(last);
        }
        let page = table.query(&query).await?;
        let Some(last) = page.items.last().cloned() else { break };
        let memberships = page.items.into_iter().map(from_item::<Membership>).collect::<anyhow::Result<Vec<_>>>()?;
        let ops = membership_batch(state, org, &memberships).await?;
        table.transact_write(ops).await?;
        batches += 1;
        after = Some(last);
    }

    // 3. Everything else in the partition but the organisation item.
    let mut after: Option<Item> = None;
    loop {
        if batches >= MAX_BATCHES {
            return Ok(Progress::More);
        }
        let mut query = Query::new(Index::Primary, keys::org_pk(org)).limit(BATCH as u32 + 1);
        if let Some(last) = &after {
            query = query.start_after(last);
        }
        let page = table.query(&query).await?;
        let mut ops = Vec::new();
        let mut last_seen = None;
        for item in &page.items {
            let Some(key) = Key::of(item) else { continue };
            if key.sk == keys::ORG_SK {
                continue;
            }
            let companion = companion_key(item);
            if ops.len() + 1 + usize::from(companion.is_some()) > BATCH {
                break;
            }
            ops.push(WriteOp::Delete { key, condition: Condition::Always });
            if let Some(companion) = companion {
                ops.push(WriteOp::Delete { key: companion, condition: Condition::Always });
            }
            last_seen = Some(item.clone());
        }
        let Some(last) = last_seen else { break };
        table.transact_write(ops).await?;
        batches += 1;
        after = Some(last);
    }

    // 4. The organisation item, with its audit entry.
    let now = state.clock.now();
    let ops = vec![
        WriteOp::Delete { key: organisations::org_key(org), condition: Condition::AttrExists("deleting".into()) },
        AuditEntry::new(Some(org), actor, "organisation.deleted", format!("organisation/{org}"), now, meta).write(),
    ];
    match table.transact_write(ops).await {
        Ok(()) => Ok(Progress::Done),
        // Another request finished first.
        Err(shared::table::TableError::ConditionFailed { .. }) => Ok(Progress::Done),
        Err(err) => Err(err.into()),
    }
}

/// The item outside the partition an item takes with it, if any.
fn companion_key(item: &Item) -> Option<Key> {
    let pk = item.get(keys::COMPANION_PK)?.as_str()?;
    let sk = item.get(keys::COMPANION_SK)?.as_str()?;
    Some(Key::new(pk, sk))
}

/// Deletes `memberships`, deactivating users left without an organisation.
async fn membership_batch(state: &AppState, org: Uuid, memberships: &[Membership]) -> Result<Vec<WriteOp>, ApiError> {
    let table: &dyn Table = state.table.as_ref();
    let now = state.clock.now();
    let ids: Vec<Uuid> = memberships.iter().map(|m| m.user_id).collect();
    let existing = users::get_many(table, &ids).await?;
    let mut ops = Vec::with_capacity(memberships.len() * 2);
    for membership in memberships {
        ops.push(WriteOp::Delete {
            key: organisations::membership_key(org, membership.user_id),
            condition: Condition::Always,
        });
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
        ops.push(WriteOp::Update(
            Update::new(Key::new(keys::user_pk(user.id), keys::USER_SK))
                .set("deactivated", true)
                .set("updatedAt", serde_json::to_value(now).map_err(anyhow::Error::from)?)
                .add("version", 1)
                .when(Condition::Exists),
        ));
    }
    Ok(ops)
}
