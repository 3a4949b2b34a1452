//! Follows (seed 001): a user or an organisation follows a user. Stored once
//! under the followed user's partition, indexed by the follower on GSI1 so
//! both directions are a Query.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::keys;
use crate::store::from_item;
use crate::store::to_item;
use crate::table::{Condition, Index, Item, Key, Query, SortKey, WriteOp};

/// Who follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum FollowerType {
    /// A user.
    User,
    /// An organisation.
    Organisation,
}

impl FollowerType {
    /// The stored / wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            FollowerType::User => "user",
            FollowerType::Organisation => "organisation",
        }
    }
}

/// A stored follow (also its API view).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Follow {
    /// The followed user.
    pub user_id: Uuid,
    /// Who follows.
    pub follower_id: Uuid,
    /// What kind of follower.
    pub follower_type: FollowerType,
    /// Since when.
    pub created_at: DateTime<Utc>,
}

/// The key of one follow.
pub fn key(user: Uuid, follower_type: FollowerType, follower: Uuid) -> Key {
    Key::new(keys::user_pk(user), keys::follower_sk(follower_type.as_str(), follower))
}

/// The write that creates `follow` (fails if it exists).
pub fn create_op(follow: &Follow) -> anyhow::Result<WriteOp> {
    let k = key(follow.user_id, follow.follower_type, follow.follower_id);
    let mut item = to_item(follow, k.pk, k.sk, "Follow")?;
    item.insert("GSI1PK".into(), keys::follows_gsi1pk(follow.follower_type.as_str(), follow.follower_id).into());
    item.insert("GSI1SK".into(), keys::user_pk(follow.user_id).into());
    Ok(WriteOp::Put { item, condition: Condition::NotExists })
}

/// The followers of `user`.
pub fn followers_query(user: Uuid) -> Query {
    Query::new(Index::Primary, keys::user_pk(user)).sort_key(SortKey::BeginsWith(keys::FOLLOWER_PREFIX.into()))
}

/// The users `follower` follows.
pub fn following_query(follower_type: FollowerType, follower: Uuid) -> Query {
    Query::new(Index::Gsi1, keys::follows_gsi1pk(follower_type.as_str(), follower))
}

/// Decodes listed items.
pub fn decode(items: Vec<Item>) -> anyhow::Result<Vec<Follow>> {
    items.into_iter().map(from_item).collect()
}

/// The write that ends a follow (its condition fails when there is none).
pub fn delete_op(user: Uuid, follower_type: FollowerType, follower: Uuid) -> WriteOp {
    WriteOp::Delete { key: key(user, follower_type, follower), condition: Condition::Exists }
}
