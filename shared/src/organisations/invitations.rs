//! Invitations to join an organisation (seeds 001 invitations, 003
//! InviteUser/ResendInvitation). Three kinds of item, all owned by the
//! organisation so that deleting it deletes them:
//!
//! - the invitation record `ORG#<org>` / `INVITE#<id>`, which while pending
//!   carries the hash of its current mailed token and names the token's
//!   lookup item as its companion;
//! - the token lookup `INVTOKEN#<sha256>` (one GetItem finds the invitation
//!   of a presented token); deleting it kills the link, so accepting,
//!   revoking and resending delete it in the same transaction as their
//!   change (single use, and a resent invitation's old link dies);
//! - the pending guard `ORG#<org>` / `INVEMAIL#<email>`, created with a
//!   not-exists condition, so an address has at most one pending invitation
//!   per organisation even under concurrent requests.
//!
//! `expired` is never stored: a pending invitation whose `expiresAt` passed
//! reads as expired, and its token no longer works.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::crypto::{random_token, sha256_hex};
use crate::domain::Role;
use crate::error::ApiError;
use crate::keys;
use crate::pagination::{CursorCodec, ListResponse, PageRequest};
use crate::store::from_item;
use crate::store::to_item;
use crate::table::{Condition, Index, Item, Key, Query, SortKey, Table, Update, WriteOp, key_attributes};

/// How long an invitation link works.
pub const TTL: Duration = Duration::days(7);

/// Where an invitation stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum InvitationStatus {
    /// Mailed, not yet answered.
    Pending,
    /// Accepted: the invitee is a member.
    Accepted,
    /// Revoked by an administrator.
    Revoked,
    /// Pending past its expiry (computed when read, never stored).
    Expired,
}

/// A stored invitation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InvitationRecord {
    /// Invitation id.
    pub id: Uuid,
    /// The organisation.
    pub organisation_id: Uuid,
    /// The invited (normalised) address.
    pub email: String,
    /// The role the invitee gets.
    pub role: Role,
    /// Stored status (`pending`, `accepted` or `revoked`).
    pub status: InvitationStatus,
    /// Who invited (audit actor: `user:<id>` or `apikey:<id>`).
    pub invited_by: String,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// When the current link stops working.
    pub expires_at: DateTime<Utc>,
    /// When it was accepted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub accepted_at: Option<DateTime<Utc>>,
    /// Who accepted it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub accepted_by: Option<Uuid>,
    /// SHA-256 of the current token while pending.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_hash: Option<String>,
    /// Last changed.
    pub updated_at: DateTime<Utc>,
    /// Optimistic-concurrency version.
    pub version: i64,
}

/// An invitation as the API shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Invitation {
    /// Invitation id.
    pub id: Uuid,
    /// The invited address.
    pub email: String,
    /// The role the invitee gets.
    pub role: Role,
    /// `pending`, `accepted`, `revoked` or `expired`.
    pub status: InvitationStatus,
    /// Who invited (`user:<id>` or `apikey:<id>`).
    pub invited_by: String,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// When the link stops (or stopped) working.
    pub expires_at: DateTime<Utc>,
    /// When it was accepted.
    pub accepted_at: Option<DateTime<Utc>>,
    /// Version (also the ETag).
    pub version: i64,
}

/// What the token lookup item holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TokenLookup {
    /// The organisation.
    pub organisation_id: Uuid,
    /// The invitation.
    pub invitation_id: Uuid,
    /// When the token stops working.
    pub expires_at: DateTime<Utc>,
    /// DynamoDB TTL (Unix seconds).
    pub ttl: i64,
}

/// A freshly minted token: the plaintext for the mail and its hash.
pub struct NewToken {
    /// The plaintext (goes only into the mail).
    pub token: String,
    /// Its SHA-256.
    pub hash: String,
}

impl std::fmt::Debug for NewToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewToken").field("hash", &self.hash).finish_non_exhaustive()
    }
}

/// Mints a token (256 random bits, base64url).
pub fn new_token() -> NewToken {
    let token = random_token(32);
    NewToken { hash: hash(&token), token }
}

/// How a token is stored and looked up.
pub fn hash(token: &str) -> String {
    sha256_hex(token.as_bytes())
}

impl InvitationRecord {
    /// A new pending invitation with the token hashed to `token_hash`.
    pub fn new(org: Uuid, email: &str, role: Role, invited_by: String, token_hash: String, now: DateTime<Utc>) -> Self {
        Self {
            id: crate::domain::new_id(),
            organisation_id: org,
            email: email.to_string(),
            role,
            status: InvitationStatus::Pending,
            invited_by,
            created_at: now,
            expires_at: now + TTL,
            accepted_at: None,
            accepted_by: None,
            token_hash: Some(token_hash),
            updated_at: now,
            version: 1,
        }
    }

    /// The status at `now`: a pending invitation past its expiry is expired.
    pub fn status_at(&self, now: DateTime<Utc>) -> InvitationStatus {
        match self.status {
            InvitationStatus::Pending if self.expires_at <= now => InvitationStatus::Expired,
            status => status,
        }
    }

    /// The API view at `now`.
    pub fn view(&self, now: DateTime<Utc>) -> Invitation {
        Invitation {
            id: self.id,
            email: self.email.clone(),
            role: self.role,
            status: self.status_at(now),
            invited_by: self.invited_by.clone(),
            created_at: self.created_at,
            expires_at: self.expires_at,
            accepted_at: self.accepted_at,
            version: self.version,
        }
    }
}

/// The key of an invitation.
fn record_key(org: Uuid, id: Uuid) -> Key {
    Key::new(keys::org_pk(org), keys::invitation_sk(id))
}

fn token_key(hash: &str) -> Key {
    Key::new(keys::invitation_token_pk(hash), keys::INVITATION_TOKEN_SK)
}

fn guard_key(org: Uuid, email: &str) -> Key {
    Key::new(keys::org_pk(org), keys::invitation_email_sk(email))
}

fn token_item(record: &InvitationRecord, hash: &str) -> anyhow::Result<Item> {
    let key = token_key(hash);
    let lookup = TokenLookup {
        organisation_id: record.organisation_id,
        invitation_id: record.id,
        expires_at: record.expires_at,
        ttl: record.expires_at.timestamp(),
    };
    to_item(&lookup, key.pk, key.sk, "InvitationToken")
}

/// The write storing the token lookup of `record`'s current token.
pub fn put_token_op(record: &InvitationRecord) -> anyhow::Result<WriteOp> {
    let hash = record.token_hash.as_deref().ok_or_else(|| anyhow::anyhow!("a pending invitation has a token"))?;
    // 256 random bits never collide; the condition makes that an error, not an overwrite.
    Ok(WriteOp::Put { item: token_item(record, hash)?, condition: Condition::NotExists })
}

/// The write deleting the token lookup stored under `hash`; it fails the
/// transaction if the token was spent or replaced meanwhile.
pub fn spend_token_op(hash: &str) -> WriteOp {
    WriteOp::Delete { key: token_key(hash), condition: Condition::Exists }
}

/// The write deleting a token lookup whether or not it still exists.
pub fn drop_token_op(hash: &str) -> WriteOp {
    WriteOp::Delete { key: token_key(hash), condition: Condition::Always }
}

/// The write creating `record` (naming its token lookup as companion).
pub fn create_op(record: &InvitationRecord) -> anyhow::Result<WriteOp> {
    let key = record_key(record.organisation_id, record.id);
    let mut item = to_item(record, key.pk, key.sk, "Invitation")?;
    if let Some(hash) = &record.token_hash {
        let companion = token_key(hash);
        item.insert(keys::COMPANION_PK.into(), companion.pk.into());
        item.insert(keys::COMPANION_SK.into(), companion.sk.into());
    }
    Ok(WriteOp::Put { item, condition: Condition::NotExists })
}

/// The write that makes the invitation of `email` in `org` the pending one:
/// fails if another pending invitation holds the address, unless that one is
/// `replacing` (an expired invitation being superseded).
pub fn claim_guard_op(record: &InvitationRecord, replacing: Option<Uuid>) -> WriteOp {
    let key = guard_key(record.organisation_id, &record.email);
    let mut item = Item::new();
    item.insert("PK".into(), key.pk.into());
    item.insert("SK".into(), key.sk.into());
    item.insert(keys::ENTITY_TYPE.into(), "InvitationGuard".into());
    item.insert("invitationId".into(), record.id.to_string().into());
    let condition = match replacing {
        None => Condition::NotExists,
        Some(old) => Condition::eq("invitationId", old.to_string()),
    };
    WriteOp::Put { item, condition }
}

/// The write releasing the address of `record` (only if `record` holds it).
pub fn release_guard_op(record: &InvitationRecord) -> WriteOp {
    WriteOp::Delete {
        key: guard_key(record.organisation_id, &record.email),
        condition: Condition::eq("invitationId", record.id.to_string()),
    }
}

/// A check (no write) that `record` still holds its address: a resent
/// invitation must not become a second pending one for it.
pub fn holds_guard_op(record: &InvitationRecord) -> WriteOp {
    WriteOp::Check {
        key: guard_key(record.organisation_id, &record.email),
        condition: Condition::eq("invitationId", record.id.to_string()),
    }
}

/// Which invitation holds the address `email` in `org`, if any.
pub async fn pending_holder(table: &dyn Table, org: Uuid, email: &str) -> anyhow::Result<Option<Uuid>> {
    Ok(table
        .get(&guard_key(org, email))
        .await?
        .and_then(|item| item.get("invitationId").and_then(|v| v.as_str()).and_then(|v| Uuid::parse_str(v).ok())))
}

/// An update of `current` (conditioned on its version) that ends it with
/// `status` (accepted or revoked): the token hash and companion go.
pub fn close_op(current: &InvitationRecord, status: InvitationStatus, by: Option<Uuid>, now: DateTime<Utc>) -> WriteOp {
    let mut update = Update::new(record_key(current.organisation_id, current.id))
        .set("status", serde_json::to_value(status).unwrap_or_default())
        .set("updatedAt", serde_json::to_value(now).unwrap_or_default())
        .remove("tokenHash")
        .remove(keys::COMPANION_PK)
        .remove(keys::COMPANION_SK)
        .add("version", 1)
        .when(Condition::version_is(current.version));
    if status == InvitationStatus::Accepted {
        update = update.set("acceptedAt", serde_json::to_value(now).unwrap_or_default());
        if let Some(user) = by {
            update = update.set("acceptedBy", user.to_string());
        }
    }
    WriteOp::Update(update)
}

/// An update of `current` (conditioned on its version) giving it a new token
/// and a new expiry from `now`.
pub fn renew_op(current: &InvitationRecord, token_hash: &str, now: DateTime<Utc>) -> WriteOp {
    let companion = token_key(token_hash);
    WriteOp::Update(
        Update::new(record_key(current.organisation_id, current.id))
            .set("tokenHash", token_hash)
            .set("expiresAt", serde_json::to_value(now + TTL).unwrap_or_default())
            .set("updatedAt", serde_json::to_value(now).unwrap_or_default())
            .set(keys::COMPANION_PK, companion.pk)
            .set(keys::COMPANION_SK, companion.sk)
            .add("version", 1)
            .when(Condition::version_is(current.version)),
    )
}

/// Reads one invitation of `org`.
pub async fn get(table: &dyn Table, org: Uuid, id: Uuid) -> anyhow::Result<Option<InvitationRecord>> {
    match table.get(&record_key(org, id)).await? {
        Some(item) => Ok(Some(from_item(item)?)),
        None => Ok(None),
    }
}

/// Finds the invitation a presented token belongs to, if the token is
/// still the invitation's current one (`None` otherwise).
pub async fn find_by_token(table: &dyn Table, token: &str) -> anyhow::Result<Option<InvitationRecord>> {
    // A token is base64url; anything else cannot have been issued.
    if token.is_empty()
        || token.len() > 128
        || !token.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        return Ok(None);
    }
    let hash = hash(token);
    let Some(item) = table.get(&token_key(&hash)).await? else { return Ok(None) };
    let lookup: TokenLookup = from_item(item)?;
    let record = get(table, lookup.organisation_id, lookup.invitation_id).await?;
    Ok(record.filter(|r| r.token_hash.as_deref() == Some(hash.as_str())))
}

/// One page of those of `org`'s invitations that `keep` accepts, oldest
/// first. At most `max_examined` invitations are read per call, so a
/// selective filter may return a short page with a `nextCursor`. The
/// cursors are bound to `filter` (the text of what `keep` tests), so a
/// cursor cannot be replayed under another filter.
pub async fn list_filtered(
    table: &dyn Table,
    cursors: &CursorCodec,
    org: Uuid,
    filter: &str,
    page: &PageRequest,
    max_examined: usize,
    mut keep: impl FnMut(&InvitationRecord) -> anyhow::Result<bool>,
) -> Result<ListResponse<InvitationRecord>, ApiError> {
    let filter_id = sha256_hex(filter.trim().as_bytes());
    let list = format!("invitations:{org}:{}", &filter_id[..16]);
    let limit = page.limit as usize;
    let mut query = Query::new(Index::Primary, keys::org_pk(org))
        .sort_key(SortKey::BeginsWith(keys::INVITATION_PREFIX.into()))
        .limit(100);
    if let Some(cursor) = &page.cursor {
        query.start_after = Some(cursors.decode(&list, cursor)?);
    }
    let (mut items, mut next_cursor, mut examined) = (Vec::new(), None, 0usize);
    let mut last_returned = None;
    'pages: loop {
        let result = table.query(&query).await?;
        for item in result.items {
            let position = key_attributes(Index::Primary, &item);
            let record = from_item::<InvitationRecord>(item)?;
            if keep(&record)? {
                if items.len() == limit {
                    // One more match exists: the page ends at the last returned item.
                    next_cursor = last_returned.as_ref().map(|p| cursors.encode(&list, p));
                    break 'pages;
                }
                items.push(record);
                last_returned = Some(position.clone());
            }
            examined += 1;
            if examined >= max_examined {
                // Bound the work of one request; continue from here next time.
                next_cursor = Some(cursors.encode(&list, &position));
                break 'pages;
            }
        }
        match result.last_key {
            Some(last) => query.start_after = Some(last),
            None => break,
        }
    }
    Ok(ListResponse { items, next_cursor })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-03-29T06:30:00Z").unwrap().with_timezone(&Utc)
    }

    #[test]
    fn a_pending_invitation_expires_after_seven_days_when_read() {
        let token = new_token();
        let record =
            InvitationRecord::new(Uuid::now_v7(), "ada@example.com", Role::Member, "user:x".into(), token.hash, now());
        assert_eq!(record.status_at(now() + Duration::days(7) - Duration::seconds(1)), InvitationStatus::Pending);
        assert_eq!(record.status_at(now() + Duration::days(7)), InvitationStatus::Expired);
        let revoked = InvitationRecord { status: InvitationStatus::Revoked, ..record };
        assert_eq!(revoked.status_at(now() + Duration::days(30)), InvitationStatus::Revoked);
    }

    #[test]
    fn only_the_token_hash_is_stored_and_named_as_companion() {
        let token = new_token();
        let record = InvitationRecord::new(
            Uuid::now_v7(),
            "ada@example.com",
            Role::Admin,
            "user:x".into(),
            token.hash.clone(),
            now(),
        );
        let WriteOp::Put { item, .. } = create_op(&record).unwrap() else { panic!("put") };
        assert!(!serde_json::to_string(&item).unwrap().contains(&token.token));
        assert_eq!(item[keys::COMPANION_PK], keys::invitation_token_pk(&token.hash));
        let WriteOp::Put { item, .. } = put_token_op(&record).unwrap() else { panic!("put") };
        assert!(!serde_json::to_string(&item).unwrap().contains(&token.token));
        assert_eq!(serde_json::to_value(InvitationStatus::Expired).unwrap(), "expired");
    }
}
