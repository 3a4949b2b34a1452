//! Organisation API keys (`sdl_key_...`): scoped credentials an
//! organisation's owners and admins create for integrations. Like personal
//! access tokens, each key is two items written and deleted together: the
//! record in the organisation's partition (listing; it names the lookup item
//! as its companion, so deleting the organisation deletes both) and a lookup
//! item keyed by the key's SHA-256 (authentication with one GetItem). The
//! key itself is never stored.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::crypto::{random_token, sha256_hex};
use crate::error::ApiError;
use crate::keys;
use crate::pagination::{CursorCodec, ListResponse, PageRequest};
use crate::store::from_item;
use crate::store::to_item;
use crate::table::{Condition, Index, Key, Query, SortKey, Table, WriteOp};

/// Every organisation API key starts with this.
pub const PREFIX: &str = "sdl_key_";
/// The areas an API key's scopes may name: every area but `auth` (a key
/// acts for an organisation, never for a person's credentials).
pub const SCOPE_AREAS: [&str; 4] = ["users", "organisations", "calendar", "notifications"];

/// A stored API key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ApiKeyRecord {
    /// Key id.
    pub id: Uuid,
    /// The organisation it acts for.
    pub organisation_id: Uuid,
    /// Its name.
    pub name: String,
    /// Granted scopes (`<area>:read|write`).
    pub scopes: Vec<String>,
    /// Who created it (audit actor, `user:<id>`).
    pub created_by: String,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// When it stops working, if ever.
    #[serde(default)]
    pub expires_at: Option<DateTime<Utc>>,
    /// SHA-256 of the key.
    pub key_hash: String,
    /// Optimistic-concurrency version.
    pub version: i64,
}

/// An API key as the API lists it (never with its secret).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ApiKey {
    /// Key id.
    pub id: Uuid,
    /// Name.
    pub name: String,
    /// Granted scopes.
    pub scopes: Vec<String>,
    /// Who created it (`user:<id>`).
    pub created_by: String,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// When it stops working (`null`: never).
    pub expires_at: Option<DateTime<Utc>>,
    /// Version (also the ETag).
    pub version: i64,
}

impl ApiKeyRecord {
    /// A new key for `org`; returns the record and the secret to show once.
    pub fn new(
        org: Uuid,
        name: &str,
        scopes: Vec<String>,
        created_by: String,
        expires_at: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> (Self, String) {
        let key = format!("{PREFIX}{}", random_token(32));
        let record = Self {
            id: crate::domain::new_id(),
            organisation_id: org,
            name: name.to_string(),
            scopes,
            created_by,
            created_at: now,
            expires_at,
            key_hash: hash(&key),
            version: 1,
        };
        (record, key)
    }

    /// The public view.
    pub fn view(&self) -> ApiKey {
        ApiKey {
            id: self.id,
            name: self.name.clone(),
            scopes: self.scopes.clone(),
            created_by: self.created_by.clone(),
            created_at: self.created_at,
            expires_at: self.expires_at,
            version: self.version,
        }
    }
}

impl ApiKeyRecord {
    /// The user who created the key (`None` for a record naming no user).
    pub fn creator(&self) -> Option<Uuid> {
        self.created_by.strip_prefix("user:").and_then(|id| Uuid::parse_str(id).ok())
    }

    /// Whether the key has expired at `now`.
    pub fn is_expired(&self, now: DateTime<Utc>) -> bool {
        self.expires_at.is_some_and(|at| at <= now)
    }
}

/// How a key is stored and looked up.
pub fn hash(key: &str) -> String {
    sha256_hex(key.as_bytes())
}

fn record_key(org: Uuid, id: Uuid) -> Key {
    Key::new(keys::org_pk(org), keys::api_key_sk(id))
}

fn lookup_key(hash: &str) -> Key {
    Key::new(keys::api_key_hash_pk(hash), keys::API_KEY_HASH_SK)
}

/// Writes creating `key` (record naming its lookup item, and the lookup item).
pub fn create_ops(key: &ApiKeyRecord) -> anyhow::Result<Vec<WriteOp>> {
    let at = record_key(key.organisation_id, key.id);
    let lookup = lookup_key(&key.key_hash);
    let mut record = to_item(key, at.pk, at.sk, "ApiKey")?;
    record.insert(keys::COMPANION_PK.into(), lookup.pk.clone().into());
    record.insert(keys::COMPANION_SK.into(), lookup.sk.clone().into());
    let lookup = to_item(key, lookup.pk, lookup.sk, "ApiKeyLookup")?;
    Ok(vec![
        WriteOp::Put { item: record, condition: Condition::NotExists },
        WriteOp::Put { item: lookup, condition: Condition::NotExists },
    ])
}

/// Writes deleting `key` (record at this version, and its lookup item).
pub fn delete_ops(key: &ApiKeyRecord) -> Vec<WriteOp> {
    vec![
        WriteOp::Delete { key: record_key(key.organisation_id, key.id), condition: Condition::version_is(key.version) },
        WriteOp::Delete { key: lookup_key(&key.key_hash), condition: Condition::Always },
    ]
}

/// Reads one of `org`'s keys.
pub async fn get(table: &dyn Table, org: Uuid, id: Uuid) -> anyhow::Result<Option<ApiKeyRecord>> {
    match table.get(&record_key(org, id)).await? {
        Some(item) => Ok(Some(from_item(item)?)),
        None => Ok(None),
    }
}

/// Finds the key a caller presented (`None`: unknown or revoked).
pub async fn find_by_key(table: &dyn Table, key: &str) -> anyhow::Result<Option<ApiKeyRecord>> {
    match table.get(&lookup_key(&hash(key))).await? {
        Some(item) => Ok(Some(from_item(item)?)),
        None => Ok(None),
    }
}

/// One page of `org`'s keys, oldest first.
pub async fn list(
    table: &dyn Table,
    cursors: &CursorCodec,
    org: Uuid,
    page: &PageRequest,
) -> Result<ListResponse<ApiKeyRecord>, ApiError> {
    let query =
        Query::new(Index::Primary, keys::org_pk(org)).sort_key(SortKey::BeginsWith(keys::API_KEY_PREFIX.into()));
    crate::store::listing::page(table, cursors, &format!("api-keys:{org}"), query, page).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_prefixed_stored_only_as_hashes_and_name_their_lookup() {
        let now = chrono::DateTime::parse_from_rfc3339("2026-03-29T06:30:00Z").unwrap().with_timezone(&Utc);
        let org = Uuid::now_v7();
        let (record, key) = ApiKeyRecord::new(org, "crm", vec!["users:read".into()], "user:x".into(), None, now);
        assert!(key.starts_with(PREFIX));
        assert_eq!(record.key_hash, hash(&key));
        let ops = create_ops(&record).unwrap();
        for op in &ops {
            let WriteOp::Put { item, .. } = op else { panic!("puts") };
            assert!(!serde_json::to_string(item).unwrap().contains(&key));
        }
        let WriteOp::Put { item, .. } = &ops[0] else { panic!("put") };
        assert_eq!(item[keys::COMPANION_PK], keys::api_key_hash_pk(&record.key_hash));
        assert_eq!(item["PK"], keys::org_pk(org));
    }
}
