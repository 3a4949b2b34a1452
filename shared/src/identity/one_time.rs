//! Single-use, expiring tokens mailed to people (verify email, reset or set
//! a password, confirm an email change): stored only as a hash, consumed with
//! a conditional delete so each works exactly once. (Owned by the email-flow
//! work of the identity issue; users and invitations rely on `issue`.)
//!
//! The stored item carries the DynamoDB `ttl` attribute so expired tokens
//! are eventually removed, but DynamoDB deletes lazily (often days later) and
//! the embedded table not at all, so every read also checks `expiresAt`.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::crypto::{random_token, sha256_hex};
use crate::error::ApiError;
use crate::keys;
use crate::store::from_item;
use crate::store::to_item;
use crate::table::{Condition, Key, Table, TableError, WriteOp};

/// Random bytes in a token (256 bits, 43 base64url characters).
const TOKEN_BYTES: usize = 32;

/// How long an email-verification link works.
pub const VERIFY_EMAIL_TTL: Duration = Duration::hours(24);
/// How long a set-password link (account created without a password) works.
pub const SET_PASSWORD_TTL: Duration = Duration::days(7);
/// How long an email-change confirmation link works.
pub const EMAIL_CHANGE_TTL: Duration = Duration::hours(24);

/// What a token is for (never interchangeable).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Purpose {
    /// Verify the account's email address.
    VerifyEmail,
    /// Reset a forgotten password (also used for set-password mails).
    PasswordReset,
    /// Confirm a change of email address.
    EmailChange,
}

impl Purpose {
    fn as_str(self) -> &'static str {
        match self {
            Purpose::VerifyEmail => "verifyEmail",
            Purpose::PasswordReset => "passwordReset",
            Purpose::EmailChange => "emailChange",
        }
    }
}

/// A freshly issued token: the plaintext to mail, and the write that stores
/// its hash (add it to the same transaction as the change that needs it).
pub struct Issued {
    /// The plaintext token (goes only into the mail).
    pub token: String,
    /// Stores the token's hash with its expiry.
    pub write: WriteOp,
}

impl std::fmt::Debug for Issued {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Issued").field("token", &"***").finish_non_exhaustive()
    }
}

impl Issued {
    /// The hash the token is stored under (to delete it later, e.g. when a
    /// pending email change is aborted).
    pub fn hash(&self) -> String {
        sha256_hex(self.token.as_bytes())
    }
}

/// A stored token, as consumed.
#[derive(Debug, Clone)]
pub struct Consumed {
    /// The user it was issued to.
    pub user_id: Uuid,
    /// Extra data given at issue (e.g. the new email address).
    pub data: serde_json::Value,
}

/// A token that is valid now, with the write that consumes it: for flows
/// that must spend the token in the same transaction as their change.
#[derive(Debug, Clone)]
pub struct Valid {
    /// What the token carries.
    pub token: Consumed,
    /// Its hash (the key it is stored under).
    pub hash: String,
    /// Deletes the token if it still exists (fails the transaction if it was
    /// spent meanwhile).
    pub consume: WriteOp,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Stored {
    purpose: Purpose,
    user_id: Uuid,
    #[serde(default)]
    data: serde_json::Value,
    created_at: DateTime<Utc>,
    expires_at: DateTime<Utc>,
    ttl: i64,
}

fn key(hash: &str) -> Key {
    Key::new(keys::one_time_pk(hash), keys::ONE_TIME_SK)
}

/// The write that deletes the token stored under `hash`, whether or not it
/// still exists (e.g. the token of a replaced email-change request).
pub fn revoke_op(hash: &str) -> WriteOp {
    WriteOp::Delete { key: key(hash), condition: Condition::Always }
}

/// Issues a token for `user`, valid for `ttl` from `now`.
pub fn issue(
    purpose: Purpose,
    user: Uuid,
    data: serde_json::Value,
    now: DateTime<Utc>,
    ttl: Duration,
) -> anyhow::Result<Issued> {
    anyhow::ensure!(ttl > Duration::zero(), "a one-time token needs a positive lifetime");
    let token = random_token(TOKEN_BYTES);
    let hash = sha256_hex(token.as_bytes());
    let expires_at = now + ttl;
    let stored = Stored { purpose, user_id: user, data, created_at: now, expires_at, ttl: expires_at.timestamp() };
    let item = to_item(&stored, keys::one_time_pk(&hash), keys::ONE_TIME_SK.into(), "OneTimeToken")?;
    // 256 random bits never collide; the condition makes that an error, not an overwrite.
    Ok(Issued { token, write: WriteOp::Put { item, condition: Condition::NotExists } })
}

/// Issues an email-verification token for `user`'s current address `email`
/// (the address is recorded, so a token mailed to an old address can never
/// verify a newer one). Mail it with `mail::templates::verify_email`.
pub fn issue_verify_email(user: Uuid, email: &str, now: DateTime<Utc>) -> anyhow::Result<Issued> {
    issue(Purpose::VerifyEmail, user, serde_json::json!({ "email": email }), now, VERIFY_EMAIL_TTL)
}

/// Issues a set-password token for a user created without a password (a
/// `PasswordReset` token valid [`SET_PASSWORD_TTL`]; `PUT
/// /v1/auth/password-reset` takes it). Mail it with `mail::templates::set_password`.
pub fn issue_set_password(user: Uuid, now: DateTime<Utc>) -> anyhow::Result<Issued> {
    issue(Purpose::PasswordReset, user, serde_json::Value::Null, now, SET_PASSWORD_TTL)
}

/// Checks a token without spending it: 404 `not_found` if unknown, expired,
/// used or of another purpose. Spend it with [`Valid::consume`] in the
/// transaction of the change it authorises.
pub async fn check(table: &dyn Table, purpose: Purpose, token: &str, now: DateTime<Utc>) -> Result<Valid, ApiError> {
    // A token is base64url; anything else cannot have been issued (and is
    // not worth a table read).
    if token.is_empty()
        || token.len() > 128
        || !token.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        return Err(ApiError::NotFound);
    }
    let hash = sha256_hex(token.as_bytes());
    let Some(item) = table.get(&key(&hash)).await? else {
        return Err(ApiError::NotFound);
    };
    let stored: Stored = from_item(item)?;
    if stored.purpose != purpose || stored.expires_at <= now {
        return Err(ApiError::NotFound);
    }
    let consume = WriteOp::Delete {
        key: key(&hash),
        condition: Condition::All(vec![Condition::Exists, Condition::eq("purpose", purpose.as_str())]),
    };
    Ok(Valid { token: Consumed { user_id: stored.user_id, data: stored.data }, hash, consume })
}

/// Consumes a token: 404 `not_found` if unknown, expired, used or of another purpose.
pub async fn consume(
    table: &dyn Table,
    purpose: Purpose,
    token: &str,
    now: DateTime<Utc>,
) -> Result<Consumed, ApiError> {
    let valid = check(table, purpose, token, now).await?;
    let WriteOp::Delete { key, condition } = valid.consume else {
        return Err(ApiError::Internal(anyhow::anyhow!("a token is consumed by a delete")));
    };
    // Two concurrent consumers: only one delete finds the item.
    match table.delete(&key, condition).await {
        Ok(Some(_)) => Ok(valid.token),
        Ok(None) | Err(TableError::ConditionFailed { .. }) => Err(ApiError::NotFound),
        Err(err) => Err(err.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::table::embedded::EmbeddedTable;

    fn now() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-03-29T06:30:00Z").unwrap().with_timezone(&Utc)
    }

    fn table() -> (tempfile::TempDir, EmbeddedTable) {
        let dir = tempfile::tempdir().unwrap();
        let table = EmbeddedTable::open(&dir.path().join("table.redb")).unwrap();
        (dir, table)
    }

    async fn store(table: &EmbeddedTable, issued: &Issued) {
        table.transact_write(vec![issued.write.clone()]).await.unwrap();
    }

    #[tokio::test]
    async fn a_token_works_exactly_once() {
        let (_dir, table) = table();
        let user = Uuid::now_v7();
        let issued =
            issue(Purpose::PasswordReset, user, serde_json::json!({"a": 1}), now(), Duration::hours(1)).unwrap();
        store(&table, &issued).await;

        let consumed = consume(&table, Purpose::PasswordReset, &issued.token, now()).await.unwrap();
        assert_eq!(consumed.user_id, user);
        assert_eq!(consumed.data, serde_json::json!({"a": 1}));
        let again = consume(&table, Purpose::PasswordReset, &issued.token, now()).await;
        assert!(matches!(again, Err(ApiError::NotFound)));
    }

    #[tokio::test]
    async fn only_the_hash_is_stored() {
        let (_dir, table) = table();
        let issued =
            issue(Purpose::VerifyEmail, Uuid::now_v7(), serde_json::Value::Null, now(), Duration::hours(1)).unwrap();
        store(&table, &issued).await;
        let item = table.get(&key(&issued.hash())).await.unwrap().unwrap();
        let text = serde_json::to_string(&item).unwrap();
        assert!(!text.contains(&issued.token));
        assert_eq!(item["ttl"], (now() + Duration::hours(1)).timestamp());
    }

    #[tokio::test]
    async fn an_expired_token_is_not_found_even_before_the_table_deletes_it() {
        let (_dir, table) = table();
        let issued =
            issue(Purpose::PasswordReset, Uuid::now_v7(), serde_json::Value::Null, now(), Duration::hours(1)).unwrap();
        store(&table, &issued).await;
        assert!(check(&table, Purpose::PasswordReset, &issued.token, now() + Duration::minutes(59)).await.is_ok());
        let late = consume(&table, Purpose::PasswordReset, &issued.token, now() + Duration::hours(1)).await;
        assert!(matches!(late, Err(ApiError::NotFound)));
    }

    #[tokio::test]
    async fn a_token_of_another_purpose_is_not_found() {
        let (_dir, table) = table();
        let issued =
            issue(Purpose::VerifyEmail, Uuid::now_v7(), serde_json::Value::Null, now(), Duration::hours(1)).unwrap();
        store(&table, &issued).await;
        let wrong = consume(&table, Purpose::PasswordReset, &issued.token, now()).await;
        assert!(matches!(wrong, Err(ApiError::NotFound)));
        assert!(consume(&table, Purpose::VerifyEmail, &issued.token, now()).await.is_ok());
    }

    #[tokio::test]
    async fn garbage_tokens_are_not_found() {
        let (_dir, table) = table();
        for bad in ["", "a b", "x".repeat(500).as_str(), "ä"] {
            assert!(matches!(check(&table, Purpose::VerifyEmail, bad, now()).await, Err(ApiError::NotFound)));
        }
    }
}
