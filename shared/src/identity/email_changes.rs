//! A user's pending email change (`USER#<id>` / `EMAILCHANGE`): the new
//! address waiting for confirmation and the hash of the only link that
//! confirms it.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::keys;
use crate::store::from_item;
use crate::store::to_item;
use crate::table::{Condition, Key, Table, WriteOp};

/// A stored pending email change.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PendingEmailChangeRecord {
    /// Whose address changes.
    pub user_id: Uuid,
    /// The address waiting for confirmation.
    pub new_email: String,
    /// Hash of the confirmation token (to revoke it, and so only the latest link works).
    pub token_hash: String,
    /// Requested.
    pub created_at: DateTime<Utc>,
    /// When the link stops working.
    pub expires_at: DateTime<Utc>,
    /// Expiry for the table's TTL (epoch seconds).
    pub ttl: i64,
}

fn key(user: Uuid) -> Key {
    Key::new(keys::user_pk(user), keys::EMAIL_CHANGE_SK)
}

/// The pending change of `user`, expired or not.
pub async fn get(table: &dyn Table, user: Uuid) -> anyhow::Result<Option<PendingEmailChangeRecord>> {
    table.get(&key(user)).await?.map(from_item).transpose()
}

/// The write that stores `record`, replacing any earlier request.
pub fn put_op(record: &PendingEmailChangeRecord) -> anyhow::Result<WriteOp> {
    let item = to_item(record, keys::user_pk(record.user_id), keys::EMAIL_CHANGE_SK.into(), "EmailChange")?;
    Ok(WriteOp::Put { item, condition: Condition::Always })
}

/// The write that ends `record` (fails if another request replaced it).
pub fn delete_op(record: &PendingEmailChangeRecord) -> WriteOp {
    WriteOp::Delete { key: key(record.user_id), condition: Condition::eq("tokenHash", record.token_hash.clone()) }
}
