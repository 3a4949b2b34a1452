//! Login sessions. A session is created at sign-in (`bearer`: access and
//! refresh tokens; `cookie`: the browser's session cookie) and lives under
//! its user's partition, so that every credential finds it with one GetItem
//! and a user's sessions are one Query (list, revoke all).
//!
//! Session secrets (refresh tokens, cookie values) have the form
//! `<userId>.<sessionId>.<secret>`: the ids locate the session item, the
//! random part proves possession and is stored only as a SHA-256 hash. The
//! signature of [`revoke_all`] is relied on by the password, lock and
//! deactivate flows.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::crypto::{random_token, sha256_hex};
use crate::keys;
use crate::store::from_item;
use crate::store::to_item;
use crate::table::{Condition, Key, MAX_TRANSACTION_ITEMS, Query, SortKey, Table, TableError, Update, WriteOp};

/// How long a session lives after sign-in (refresh tokens and cookies die with it).
pub const SESSION_TTL: Duration = Duration::days(30);
/// `lastSeenAt` is written at most this often, so that reads stay reads.
pub const LAST_SEEN_RESOLUTION: Duration = Duration::minutes(1);

/// How the session authenticates its requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SessionKind {
    /// Bearer access tokens, renewed with a rotating refresh token.
    Bearer,
    /// The `__Host-sundial_session` cookie with a CSRF token.
    Cookie,
}

/// A stored login session.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SessionRecord {
    /// Session id (UUIDv7, so a user's sessions sort by creation).
    pub id: Uuid,
    /// Whose session it is.
    pub user_id: Uuid,
    /// Bearer or cookie.
    pub kind: SessionKind,
    /// Created (sign-in).
    pub created_at: DateTime<Utc>,
    /// Last request seen, to within [`LAST_SEEN_RESOLUTION`].
    pub last_seen_at: DateTime<Utc>,
    /// When the user proved their password for this session.
    pub auth_time: DateTime<Utc>,
    /// When the session ends whatever happens.
    pub expires_at: DateTime<Utc>,
    /// The client's `User-Agent` at sign-in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_agent: Option<String>,
    /// The client's IP at sign-in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ip: Option<String>,
    /// SHA-256 of the current secret: the refresh token (bearer) or the cookie value.
    pub secret_hash: String,
    /// SHA-256 of the CSRF token (cookie sessions).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub csrf_hash: Option<String>,
    /// When the current refresh token replaced its predecessor (bearer).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rotated_at: Option<DateTime<Utc>>,
    /// How many times the refresh token has rotated.
    #[serde(default)]
    pub generation: u32,
    /// DynamoDB TTL (Unix seconds): the table drops the item after expiry.
    pub ttl: i64,
}

impl SessionRecord {
    /// A new session for `user`, signed in at `now`, whose first secret hashes to `secret_hash`.
    pub fn new(user: Uuid, kind: SessionKind, now: DateTime<Utc>, secret_hash: String) -> Self {
        let expires_at = now + SESSION_TTL;
        Self {
            id: crate::domain::new_id(),
            user_id: user,
            kind,
            created_at: now,
            last_seen_at: now,
            auth_time: now,
            expires_at,
            user_agent: None,
            ip: None,
            secret_hash,
            csrf_hash: None,
            rotated_at: None,
            generation: 0,
            ttl: expires_at.timestamp(),
        }
    }

    /// The key of this session's item.
    pub fn key(&self) -> Key {
        session_key(self.user_id, self.id)
    }

    /// Whether the session has ended by age at `now` (the table's TTL sweep is lazy).
    pub fn is_expired(&self, now: DateTime<Utc>) -> bool {
        now >= self.expires_at
    }

    /// Whether the session has ended at `now`: by age, or because no request
    /// used it for `idle` (its `lastSeenAt` is kept to within
    /// [`LAST_SEEN_RESOLUTION`], so it may end up to that much early).
    pub fn has_ended(&self, now: DateTime<Utc>, idle: Duration) -> bool {
        self.is_expired(now) || now - self.last_seen_at >= idle
    }
}

/// The key of a session item.
pub fn session_key(user: Uuid, session: Uuid) -> Key {
    Key::new(keys::user_pk(user), keys::session_sk(session))
}

/// A session secret as the client holds it: `<userId>.<sessionId>.<secret>`.
pub fn compose_secret(user: Uuid, session: Uuid, secret: &str) -> String {
    format!("{user}.{session}.{secret}")
}

/// A fresh session secret for `user`'s `session` (32 random bytes).
pub fn new_secret(user: Uuid, session: Uuid) -> String {
    compose_secret(user, session, &random_token(32))
}

/// The (user, session) a presented secret claims to belong to; `None` when
/// it is not shaped like a session secret.
pub fn parse_secret(presented: &str) -> Option<(Uuid, Uuid)> {
    let mut parts = presented.splitn(3, '.');
    let user = Uuid::parse_str(parts.next()?).ok()?;
    let session = Uuid::parse_str(parts.next()?).ok()?;
    let secret = parts.next()?;
    (!secret.is_empty()).then_some((user, session))
}

/// How a session secret is stored.
pub fn hash_secret(secret: &str) -> String {
    sha256_hex(secret.as_bytes())
}

/// The write creating `session` (fails if the id is taken).
pub fn create_op(session: &SessionRecord) -> anyhow::Result<WriteOp> {
    let key = session.key();
    let item = to_item(session, key.pk, key.sk, "Session")?;
    Ok(WriteOp::Put { item, condition: Condition::NotExists })
}

/// The write ending a session that must still exist.
pub fn delete_op(user: Uuid, session: Uuid) -> WriteOp {
    WriteOp::Delete { key: session_key(user, session), condition: Condition::Exists }
}

/// The write ending `session` whatever state it is in (a reused refresh
/// token: the session is compromised).
pub fn revoke_op(session: &SessionRecord) -> WriteOp {
    WriteOp::Delete { key: session.key(), condition: Condition::Always }
}

/// The write rotating `session`'s refresh secret from `presented_hash` to
/// `next_hash` at `now` (fails if another refresh rotated it first).
pub fn rotate_op(session: &SessionRecord, presented_hash: &str, next_hash: String, now: DateTime<Utc>) -> WriteOp {
    let at = serde_json::to_value(now).unwrap_or_default();
    WriteOp::Update(
        Update::new(session.key())
            .set("secretHash", next_hash)
            .set("rotatedAt", at.clone())
            .set("lastSeenAt", at)
            .add("generation", 1)
            .when(Condition::eq("secretHash", presented_hash)),
    )
}

/// Decodes listed sessions.
pub fn decode(items: Vec<crate::table::Item>) -> anyhow::Result<Vec<SessionRecord>> {
    items.into_iter().map(from_item).collect()
}

/// Reads a session (expired ones included; check [`SessionRecord::is_expired`]).
pub async fn get(table: &dyn Table, user: Uuid, session: Uuid) -> anyhow::Result<Option<SessionRecord>> {
    match table.get(&session_key(user, session)).await? {
        Some(item) => Ok(Some(from_item(item)?)),
        None => Ok(None),
    }
}

/// The query listing `user`'s sessions, oldest first.
pub fn list_query(user: Uuid) -> Query {
    Query::new(crate::table::Index::Primary, keys::user_pk(user))
        .sort_key(SortKey::BeginsWith(keys::SESSION_PREFIX.into()))
}

/// Records activity at `now` unless `lastSeenAt` is fresher than
/// [`LAST_SEEN_RESOLUTION`]. Never recreates an ended session.
pub async fn touch(table: &dyn Table, session: &SessionRecord, now: DateTime<Utc>) -> anyhow::Result<()> {
    if now - session.last_seen_at < LAST_SEEN_RESOLUTION {
        return Ok(());
    }
    let update = Update::new(session.key()).set("lastSeenAt", serde_json::to_value(now)?).when(Condition::Exists);
    match table.update(update).await {
        Ok(_) | Err(TableError::ConditionFailed { .. }) => Ok(()),
        Err(err) => Err(err.into()),
    }
}

/// Ends every session of `user` except `keep` (the caller's own, when a
/// password change should keep it); returns how many ended. Access tokens of
/// ended sessions stop working at once (the auth extractor checks the
/// session), and so do their refresh tokens and cookies, whose hashes live on
/// the session item. Deletes run in transactions of up to 100 items.
pub async fn revoke_all(table: &dyn Table, user: Uuid, keep: Option<&str>) -> anyhow::Result<u32> {
    let mut keys_to_delete = Vec::new();
    let mut query = list_query(user);
    loop {
        let page = table.query(&query).await?;
        for item in &page.items {
            let Some(key) = Key::of(item) else { continue };
            let id = key.sk.trim_start_matches(keys::SESSION_PREFIX);
            if keep != Some(id) {
                keys_to_delete.push(key);
            }
        }
        match page.last_key {
            Some(last) => query = query.start_after(&last),
            _ => break,
        }
    }
    let mut ended = 0;
    for chunk in keys_to_delete.chunks(MAX_TRANSACTION_ITEMS) {
        let ops = chunk.iter().map(|key| WriteOp::Delete { key: key.clone(), condition: Condition::Always }).collect();
        table.transact_write(ops).await?;
        ended += chunk.len() as u32;
    }
    Ok(ended)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_name_their_session() {
        let (user, session) = (Uuid::now_v7(), Uuid::now_v7());
        let secret = new_secret(user, session);
        assert_eq!(parse_secret(&secret), Some((user, session)));
        assert_ne!(new_secret(user, session), secret, "secrets are random");
        assert_eq!(parse_secret("nope"), None);
        assert_eq!(parse_secret(&format!("{user}.{session}.")), None);
        assert_eq!(parse_secret(&format!("{user}.x.abc")), None);
    }

    #[test]
    fn sessions_expire_after_thirty_days() {
        let now = chrono::DateTime::parse_from_rfc3339("2026-03-29T06:30:00Z").unwrap().with_timezone(&Utc);
        let session = SessionRecord::new(Uuid::now_v7(), SessionKind::Bearer, now, hash_secret("x"));
        assert!(!session.is_expired(now + Duration::days(29)));
        assert!(session.is_expired(now + Duration::days(30)));
        assert_eq!(session.ttl, (now + Duration::days(30)).timestamp());
    }
}
