//! Creating the configured superadmin if absent: at devserver start from
//! `SUNDIAL_BOOTSTRAP_*`, and in a deployment through `sundial-admin`.

use platform::table::{Table, TableError};
use secrecy::{ExposeSecret, SecretString};
use shared::audit::{AuditEntry, RequestMeta};
use shared::clock::Clock;
use shared::domain::{Email, Password};
use shared::people::users;
use shared::people::users::SUPERADMIN;
use shared::people::users::UserRecord;

/// Whether the superadmin was created now or already existed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bootstrapped {
    /// Created by this call.
    Created,
    /// An account with that email already existed; nothing changed.
    AlreadyPresent,
}

/// Ensures a superadmin with `email` exists (creating it with `password`).
pub async fn ensure_superadmin(
    table: &dyn Table,
    clock: &dyn Clock,
    email: &str,
    password: &SecretString,
) -> anyhow::Result<Bootstrapped> {
    let email = Email::parse(email).map_err(|e| anyhow::anyhow!("the bootstrap email {e}"))?;
    if users::find_by_email(table, &email).await?.is_some() {
        return Ok(Bootstrapped::AlreadyPresent);
    }
    let password =
        Password::parse(password.expose_secret()).map_err(|e| anyhow::anyhow!("the bootstrap password {e}"))?;
    let hash = tokio::task::spawn_blocking(move || password.hash()).await??;
    let now = clock.now();
    let mut user = UserRecord::new(&email, "Sundial", "Admin", Some(&hash), now);
    user.platform_role = Some(SUPERADMIN.into());
    user.email_verified = true;
    let mut ops = users::create_ops(&user)?;
    let meta = RequestMeta { request_id: "bootstrap".into(), ..RequestMeta::default() };
    ops.push(AuditEntry::new(None, "system", "user.bootstrapped", format!("user/{}", user.id), now, &meta).write());
    match table.transact_write(ops).await {
        Ok(()) => Ok(Bootstrapped::Created),
        // Another process created it first: fine.
        Err(TableError::ConditionFailed { .. }) => Ok(Bootstrapped::AlreadyPresent),
        Err(err) => Err(err.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use platform::table::embedded::EmbeddedTable;
    use shared::clock::SystemClock;

    #[tokio::test]
    async fn creates_a_verified_superadmin_once() {
        let dir = tempfile::tempdir().unwrap();
        let table = EmbeddedTable::open(&dir.path().join("t.redb")).unwrap();
        let password = SecretString::from("correct horse battery");
        let first = ensure_superadmin(&table, &SystemClock, "Root@Example.com", &password).await.unwrap();
        let second = ensure_superadmin(&table, &SystemClock, "root@example.com", &password).await.unwrap();
        assert_eq!((first, second), (Bootstrapped::Created, Bootstrapped::AlreadyPresent));
        let user = users::find_by_email(&table, &Email::parse("root@example.com").unwrap()).await.unwrap().unwrap();
        assert!(user.is_superadmin() && user.email_verified);
        assert!(shared::domain::PasswordHash::from_stored(user.password_hash.unwrap()).verify("correct horse battery"));
    }

    #[tokio::test]
    async fn rejects_a_weak_password() {
        let dir = tempfile::tempdir().unwrap();
        let table = EmbeddedTable::open(&dir.path().join("t.redb")).unwrap();
        let result = ensure_superadmin(&table, &SystemClock, "root@example.com", &SecretString::from("short")).await;
        assert!(result.is_err());
    }
}
