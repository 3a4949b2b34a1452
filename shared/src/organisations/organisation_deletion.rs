//! The storage side of deleting an organisation, which may own far more
//! items than one transaction can remove: the mark, sweeps that each yield
//! one transaction's worth of writes and where they stopped, and the
//! organisation item last. The order, the budget per request and what
//! happens to members left without an organisation are the caller's.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::keys;
use crate::organisations::Membership;
use crate::organisations::members_query;
use crate::organisations::membership_key;
use crate::organisations::org_key;
use crate::organisations::structure::DELETE_BATCH;
use crate::store::from_item;
use crate::table::{Condition, Index, Item, Key, Query, Table, TableError, Update, WriteOp};

/// Where a sweep through an organisation's partition stands: just after
/// the last item it handled.
#[derive(Debug, Clone)]
pub struct Position(Item);

/// The write that marks `org` (read at `version`) as being deleted by `by`:
/// it leaves the list of organisations and reads as absent from then on.
pub fn mark_op(org: Uuid, version: i64, by: Uuid, now: DateTime<Utc>) -> anyhow::Result<WriteOp> {
    Ok(WriteOp::Update(
        Update::new(org_key(org))
            .set("deleting", true)
            .set("deletionRequestedBy", by.to_string())
            .set("updatedAt", serde_json::to_value(now)?)
            .remove("GSI1PK")
            .remove("GSI1SK")
            .add("version", 1)
            .when(Condition::All(vec![Condition::version_is(version), Condition::AttrNotExists("deleting".into())])),
    ))
}

/// The next `limit` memberships of `org` after `after`, with the position
/// after the last of them; `None` when none are left.
pub async fn memberships(
    table: &dyn Table,
    org: Uuid,
    after: Option<&Position>,
    limit: usize,
) -> anyhow::Result<Option<(Vec<Membership>, Position)>> {
    let mut query = members_query(org).limit(limit as u32);
    if let Some(Position(last)) = after {
        query = query.start_after(last);
    }
    let page = table.query(&query).await?;
    let Some(last) = page.items.last().cloned() else { return Ok(None) };
    let memberships = page.items.into_iter().map(from_item).collect::<anyhow::Result<Vec<Membership>>>()?;
    Ok(Some((memberships, Position(last))))
}

/// The write that deletes the membership of `user` in `org` whatever its version.
pub fn delete_membership_op(org: Uuid, user: Uuid) -> WriteOp {
    WriteOp::Delete { key: membership_key(org, user), condition: Condition::Always }
}

/// The deletes of the next items of `org`'s partition after `after` —
/// everything but the organisation item, each with the companion it names
/// outside the partition (`companionPK`/`companionSK`) — at most
/// [`DELETE_BATCH`] writes, with the position after the last item they
/// delete; `None` when nothing is left.
pub async fn contents(
    table: &dyn Table,
    org: Uuid,
    after: Option<&Position>,
) -> anyhow::Result<Option<(Vec<WriteOp>, Position)>> {
    let mut query = Query::new(Index::Primary, keys::org_pk(org)).limit(DELETE_BATCH as u32 + 1);
    if let Some(Position(last)) = after {
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
        if ops.len() + 1 + usize::from(companion.is_some()) > DELETE_BATCH {
            break;
        }
        ops.push(WriteOp::Delete { key, condition: Condition::Always });
        if let Some(companion) = companion {
            ops.push(WriteOp::Delete { key: companion, condition: Condition::Always });
        }
        last_seen = Some(item.clone());
    }
    Ok(last_seen.map(|last| (ops, Position(last))))
}

/// The item outside the partition an item takes with it, if any.
fn companion_key(item: &Item) -> Option<Key> {
    let pk = item.get(keys::COMPANION_PK)?.as_str()?;
    let sk = item.get(keys::COMPANION_SK)?.as_str()?;
    Some(Key::new(pk, sk))
}

/// Deletes the organisation item, last, with `audit` (the entry of the
/// deletion), only while it is marked: when another request finished the
/// deletion first, the organisation is gone all the same (`Ok`).
pub async fn delete_marked(table: &dyn Table, org: Uuid, audit: WriteOp) -> Result<(), TableError> {
    let ops = vec![WriteOp::Delete { key: org_key(org), condition: Condition::AttrExists("deleting".into()) }, audit];
    match table.transact_write(ops).await {
        Ok(()) | Err(TableError::ConditionFailed { .. }) => Ok(()),
        Err(err) => Err(err),
    }
}
