//! A user's contacts (seed 000 contact): people to call or message, kept on
//! the user's own partition.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::keys;
use crate::store::from_item;
use crate::store::to_item;
use crate::table::{Condition, Index, Item, Key, Query, SortKey, Table, WriteOp};

/// A stored contact (also its API view).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Contact {
    /// Contact id.
    pub id: Uuid,
    /// The user whose contact it is.
    pub user_id: Uuid,
    /// Name.
    pub name: String,
    /// Phone number.
    pub phone: Option<String>,
    /// Email address.
    pub email: Option<String>,
    /// How they relate to the user (`daughter`, `GP`...).
    pub relation: Option<String>,
    /// Free-text note.
    pub note: Option<String>,
    /// Media id of a picture.
    pub avatar_media_id: Option<Uuid>,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Last changed.
    pub updated_at: DateTime<Utc>,
    /// Version (also the ETag).
    pub version: i64,
}

/// The key of one contact.
pub fn key(user: Uuid, contact: Uuid) -> Key {
    Key::new(keys::user_pk(user), keys::contact_sk(contact))
}

/// The write that stores `contact` if its stored version is `expected` (`None`: new).
pub fn put_op(contact: &Contact, expected: Option<i64>) -> anyhow::Result<WriteOp> {
    let item = to_item(contact, keys::user_pk(contact.user_id), keys::contact_sk(contact.id), "Contact")?;
    let condition = match expected {
        Some(v) => Condition::version_is(v),
        None => Condition::NotExists,
    };
    Ok(WriteOp::Put { item, condition })
}

/// Reads one contact.
pub async fn get(table: &dyn Table, user: Uuid, contact: Uuid) -> anyhow::Result<Option<Contact>> {
    match table.get(&key(user, contact)).await? {
        Some(item) => Ok(Some(from_item(item)?)),
        None => Ok(None),
    }
}

/// A user's contacts, oldest first.
pub fn list_query(user: Uuid) -> Query {
    Query::new(Index::Primary, keys::user_pk(user)).sort_key(SortKey::BeginsWith(keys::CONTACT_PREFIX.into()))
}

/// Decodes listed items.
pub fn decode(items: Vec<Item>) -> anyhow::Result<Vec<Contact>> {
    items.into_iter().map(from_item).collect()
}

/// The write that deletes contact `contact` of `user` at `version`.
pub fn delete_op(user: Uuid, contact: Uuid, version: i64) -> WriteOp {
    WriteOp::Delete { key: key(user, contact), condition: Condition::version_is(version) }
}
