//! Personal access tokens (`sdl_pat_...`): long-lived, scoped credentials a
//! user creates for scripts. Each token is two items written and deleted
//! together: the record under its user (listing) and a lookup item keyed by
//! the token's SHA-256 (authentication with one GetItem). The token itself
//! is never stored.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::crypto::{random_token, sha256_hex};
use crate::keys;
use crate::store::from_item;
use crate::store::to_item;
use crate::table::{Condition, Index, Key, Query, SortKey, Table, WriteOp};

/// Every personal access token starts with this.
pub const PREFIX: &str = "sdl_pat_";

/// A stored personal access token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PersonalTokenRecord {
    /// Token id.
    pub id: Uuid,
    /// Whose token it is.
    pub user_id: Uuid,
    /// The user's name for it.
    pub name: String,
    /// Granted scopes (`<area>:read|write`).
    pub scopes: Vec<String>,
    /// When it stops working (`None`: never).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<DateTime<Utc>>,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// SHA-256 of the token.
    pub token_hash: String,
    /// Optimistic-concurrency version.
    pub version: i64,
    /// DynamoDB TTL (Unix seconds) of an expiring token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ttl: Option<i64>,
}

/// A personal access token as the API lists it (never with its secret).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PersonalToken {
    /// Token id.
    pub id: Uuid,
    /// Name.
    pub name: String,
    /// Granted scopes.
    pub scopes: Vec<String>,
    /// When it stops working (`null`: never).
    pub expires_at: Option<DateTime<Utc>>,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Version (also the ETag).
    pub version: i64,
}

impl PersonalTokenRecord {
    /// A new token for `user`; returns the record and the secret to show once.
    pub fn new(
        user: Uuid,
        name: &str,
        scopes: Vec<String>,
        expires_at: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> (Self, String) {
        let token = format!("{PREFIX}{}", random_token(32));
        let record = Self {
            id: crate::domain::new_id(),
            user_id: user,
            name: name.to_string(),
            scopes,
            expires_at,
            created_at: now,
            token_hash: hash(&token),
            version: 1,
            ttl: expires_at.map(|t| t.timestamp()),
        };
        (record, token)
    }

    /// Whether the token has expired at `now` (the table's TTL sweep is lazy).
    pub fn is_expired(&self, now: DateTime<Utc>) -> bool {
        self.expires_at.is_some_and(|t| now >= t)
    }

    /// The public view.
    pub fn view(&self) -> PersonalToken {
        PersonalToken {
            id: self.id,
            name: self.name.clone(),
            scopes: self.scopes.clone(),
            expires_at: self.expires_at,
            created_at: self.created_at,
            version: self.version,
        }
    }
}

/// How a token is stored and looked up.
pub fn hash(token: &str) -> String {
    sha256_hex(token.as_bytes())
}

fn record_key(user: Uuid, id: Uuid) -> Key {
    Key::new(keys::user_pk(user), keys::pat_sk(id))
}

fn lookup_key(hash: &str) -> Key {
    Key::new(keys::pat_hash_pk(hash), keys::PAT_HASH_SK)
}

/// Writes creating `token` (record and lookup item).
pub fn create_ops(token: &PersonalTokenRecord) -> anyhow::Result<Vec<WriteOp>> {
    let key = record_key(token.user_id, token.id);
    let record = to_item(token, key.pk, key.sk, "PersonalToken")?;
    let lookup = lookup_key(&token.token_hash);
    let lookup = to_item(token, lookup.pk, lookup.sk, "PersonalTokenLookup")?;
    Ok(vec![
        WriteOp::Put { item: record, condition: Condition::NotExists },
        WriteOp::Put { item: lookup, condition: Condition::NotExists },
    ])
}

/// Writes deleting `token` (record at this version, and its lookup item).
pub fn delete_ops(token: &PersonalTokenRecord) -> Vec<WriteOp> {
    vec![
        WriteOp::Delete { key: record_key(token.user_id, token.id), condition: Condition::version_is(token.version) },
        WriteOp::Delete { key: lookup_key(&token.token_hash), condition: Condition::Always },
    ]
}

/// Reads one of `user`'s tokens.
pub async fn get(table: &dyn Table, user: Uuid, id: Uuid) -> anyhow::Result<Option<PersonalTokenRecord>> {
    match table.get(&record_key(user, id)).await? {
        Some(item) => Ok(Some(from_item(item)?)),
        None => Ok(None),
    }
}

/// Finds the token a caller presented (expired ones included).
pub async fn find_by_token(table: &dyn Table, token: &str) -> anyhow::Result<Option<PersonalTokenRecord>> {
    match table.get(&lookup_key(&hash(token))).await? {
        Some(item) => Ok(Some(from_item(item)?)),
        None => Ok(None),
    }
}

/// The query listing `user`'s tokens, oldest first.
pub fn list_query(user: Uuid) -> Query {
    Query::new(Index::Primary, keys::user_pk(user)).sort_key(SortKey::BeginsWith(keys::PAT_PREFIX.into()))
}

/// Decodes listed tokens.
pub fn decode(items: Vec<crate::table::Item>) -> anyhow::Result<Vec<PersonalTokenRecord>> {
    items.into_iter().map(from_item).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_prefixed_and_stored_only_as_hashes() {
        let now = chrono::DateTime::parse_from_rfc3339("2026-03-29T06:30:00Z").unwrap().with_timezone(&Utc);
        let (record, token) = PersonalTokenRecord::new(Uuid::now_v7(), "ci", vec!["calendar:read".into()], None, now);
        assert!(token.starts_with(PREFIX));
        assert_eq!(record.token_hash, hash(&token));
        let stored = serde_json::to_string(&record).unwrap();
        assert!(!stored.contains(&token));
        assert!(!record.is_expired(now + chrono::Duration::days(3650)));
    }
}
