//! Users and the email uniqueness guard.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::{from_item, to_item};
use crate::domain::{Email, PasswordHash};
use crate::keys;
use crate::table::{Condition, Item, Key, Table, WriteOp};

/// Platform-wide role.
pub const SUPERADMIN: &str = "superadmin";

/// A stored user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UserRecord {
    /// User id.
    pub id: Uuid,
    /// Normalised email.
    pub email: String,
    /// Whether the address was verified.
    pub email_verified: bool,
    /// Argon2id PHC hash, if a password is set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password_hash: Option<String>,
    /// First name.
    pub first_name: String,
    /// Last name.
    pub last_name: String,
    /// `superadmin` or absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform_role: Option<String>,
    /// Locked by an administrator (`/lock`, `/deactivate`): cannot sign in.
    #[serde(default)]
    pub locked: bool,
    /// Deactivated (`/deactivate`): cannot sign in until activated.
    #[serde(default)]
    pub deactivated: bool,
    /// Consecutive failed sign-ins (reset on success).
    #[serde(default)]
    pub failed_logins: u32,
    /// Temporary lock after repeated failures, until this instant.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lockout_until: Option<DateTime<Utc>>,
    /// Whether TOTP is enabled.
    #[serde(default)]
    pub mfa_enabled: bool,
    /// When the password last changed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password_changed_at: Option<DateTime<Utc>>,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Last changed.
    pub updated_at: DateTime<Utc>,
    /// Optimistic-concurrency version.
    pub version: i64,
}

impl UserRecord {
    /// A new user.
    pub fn new(
        email: &Email,
        first_name: &str,
        last_name: &str,
        password: Option<&PasswordHash>,
        now: DateTime<Utc>,
    ) -> Self {
        Self {
            id: crate::domain::new_id(),
            email: email.as_str().to_string(),
            email_verified: false,
            password_hash: password.map(|p| p.as_str().to_string()),
            first_name: first_name.to_string(),
            last_name: last_name.to_string(),
            platform_role: None,
            locked: false,
            deactivated: false,
            failed_logins: 0,
            lockout_until: None,
            mfa_enabled: false,
            password_changed_at: None,
            created_at: now,
            updated_at: now,
            version: 1,
        }
    }

    /// Whether the user is a platform superadmin.
    pub fn is_superadmin(&self) -> bool {
        self.platform_role.as_deref() == Some(SUPERADMIN)
    }

    /// The public view.
    pub fn view(&self) -> User {
        User {
            id: self.id,
            email: self.email.clone(),
            email_verified: self.email_verified,
            first_name: self.first_name.clone(),
            last_name: self.last_name.clone(),
            created_at: self.created_at,
            updated_at: self.updated_at,
            version: self.version,
        }
    }
}

/// A user as the API shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct User {
    /// User id (UUIDv7).
    pub id: Uuid,
    /// Email address (lower case).
    pub email: String,
    /// Whether the address was verified.
    pub email_verified: bool,
    /// First name.
    pub first_name: String,
    /// Last name.
    pub last_name: String,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Last changed.
    pub updated_at: DateTime<Utc>,
    /// Version (also the ETag).
    pub version: i64,
}

/// Writes that create `user` with its email guard (fails on a taken email).
pub fn create_ops(user: &UserRecord) -> anyhow::Result<Vec<WriteOp>> {
    let item = to_item(user, keys::user_pk(user.id), keys::USER_SK.into(), "User")?;
    let mut guard = Item::new();
    guard.insert("PK".into(), keys::email_pk(&user.email).into());
    guard.insert("SK".into(), keys::EMAIL_SK.into());
    guard.insert(keys::ENTITY_TYPE.into(), "EmailGuard".into());
    guard.insert("userId".into(), user.id.to_string().into());
    Ok(vec![
        WriteOp::Put { item, condition: Condition::NotExists },
        WriteOp::Put { item: guard, condition: Condition::NotExists },
    ])
}

/// Reads a user.
pub async fn get(table: &dyn Table, id: Uuid) -> anyhow::Result<Option<UserRecord>> {
    match table.get(&Key::new(keys::user_pk(id), keys::USER_SK)).await? {
        Some(item) => Ok(Some(from_item(item)?)),
        None => Ok(None),
    }
}

/// Finds a user by (normalised) email through the guard item.
pub async fn find_by_email(table: &dyn Table, email: &Email) -> anyhow::Result<Option<UserRecord>> {
    let Some(guard) = table.get(&Key::new(keys::email_pk(email.as_str()), keys::EMAIL_SK)).await? else {
        return Ok(None);
    };
    let Some(id) = guard.get("userId").and_then(|v| v.as_str()).and_then(|v| Uuid::parse_str(v).ok()) else {
        anyhow::bail!("email guard without a user id");
    };
    get(table, id).await
}
