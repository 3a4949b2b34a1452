//! Single-use, expiring tokens mailed to people (verify email, reset or set
//! a password, confirm an email change): stored only as a hash, consumed with
//! a conditional delete so each works exactly once. (Owned by the email-flow
//! work of the identity issue; users and invitations rely on `issue`.)

use chrono::{DateTime, Duration, Utc};
use uuid::Uuid;

use crate::error::ApiError;
use crate::table::{Table, WriteOp};

/// What a token is for (never interchangeable).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// Verify the account's email address.
    VerifyEmail,
    /// Reset a forgotten password (also used for set-password mails).
    PasswordReset,
    /// Confirm a change of email address.
    EmailChange,
}

/// A freshly issued token: the plaintext to mail, and the write that stores
/// its hash (add it to the same transaction as the change that needs it).
pub struct Issued {
    /// The plaintext token (goes only into the mail).
    pub token: String,
    /// Stores the token's hash with its expiry.
    pub write: WriteOp,
}

/// A stored token, as consumed.
#[derive(Debug, Clone)]
pub struct Consumed {
    /// The user it was issued to.
    pub user_id: Uuid,
    /// Extra data given at issue (e.g. the new email address).
    pub data: serde_json::Value,
}

/// Issues a token for `user`, valid for `ttl` from `now`.
pub fn issue(
    purpose: Purpose,
    user: Uuid,
    data: serde_json::Value,
    now: DateTime<Utc>,
    ttl: Duration,
) -> anyhow::Result<Issued> {
    let _ = (purpose, user, data, now, ttl);
    anyhow::bail!("one_time::issue is not implemented yet")
}

/// Consumes a token: 404 `not_found` if unknown, expired, used or of another purpose.
pub async fn consume(
    table: &dyn Table,
    purpose: Purpose,
    token: &str,
    now: DateTime<Utc>,
) -> Result<Consumed, ApiError> {
    let _ = (table, purpose, token, now);
    Err(ApiError::Internal(anyhow::anyhow!("one_time::consume is not implemented yet")))
}
