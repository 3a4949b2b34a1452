//! A user's preferences: small key/value settings a client stores per user
//! (seed 001), one item each under the user's partition.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::keys;
use crate::store::from_item;
use crate::store::to_item;
use crate::table::{Condition, Index, Item, Key, Query, SortKey, Table, WriteOp};

/// Most preferences one user may have.
pub const MAX_PREFERENCES: usize = 200;
/// Largest serialised value (bytes).
pub const MAX_VALUE_BYTES: usize = 4096;

/// A stored preference (also its API view).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Preference {
    /// The user.
    pub user_id: Uuid,
    /// The key (1–64 of `A-Z a-z 0-9 . _ -`).
    pub key: String,
    /// Any JSON value.
    pub value: serde_json::Value,
    /// Last changed.
    pub updated_at: DateTime<Utc>,
    /// Version (also the ETag).
    pub version: i64,
}

/// Checks a preference key.
pub fn parse_key(raw: &str) -> Result<String, String> {
    if raw.is_empty() || raw.len() > 64 {
        return Err("must be 1 to 64 characters".into());
    }
    if !raw.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-')) {
        return Err("may only contain letters, digits, '.', '_' and '-'".into());
    }
    Ok(raw.to_string())
}

/// The key of one preference.
pub fn key(user: Uuid, name: &str) -> Key {
    Key::new(keys::user_pk(user), keys::pref_sk(name))
}

/// The write that stores `pref` if its stored version is still `expected`
/// (`None`: it must not exist yet).
pub fn put_op(pref: &Preference, expected: Option<i64>) -> anyhow::Result<WriteOp> {
    let item = to_item(pref, keys::user_pk(pref.user_id), keys::pref_sk(&pref.key), "Preference")?;
    let condition = match expected {
        Some(v) => Condition::version_is(v),
        None => Condition::NotExists,
    };
    Ok(WriteOp::Put { item, condition })
}

/// Reads one preference.
pub async fn get(table: &dyn Table, user: Uuid, name: &str) -> anyhow::Result<Option<Preference>> {
    match table.get(&key(user, name)).await? {
        Some(item) => Ok(Some(from_item(item)?)),
        None => Ok(None),
    }
}

/// The query of a user's preferences, in key order.
pub fn list_query(user: Uuid) -> Query {
    Query::new(Index::Primary, keys::user_pk(user)).sort_key(SortKey::BeginsWith(keys::PREF_PREFIX.into()))
}

/// Decodes listed items.
pub fn decode(items: Vec<Item>) -> anyhow::Result<Vec<Preference>> {
    items.into_iter().map(from_item).collect()
}

/// The write that deletes preference `name` of `user` at `version`.
pub fn delete_op(user: Uuid, name: &str, version: i64) -> WriteOp {
    WriteOp::Delete { key: key(user, name), condition: Condition::version_is(version) }
}
