//! Creating the configured superadmin at start, if absent.

use secrecy::{ExposeSecret, SecretString};
use shared::AppState;
use shared::audit::{AuditEntry, RequestMeta};
use shared::domain::{Email, Password};
use shared::repo::users::{self, SUPERADMIN, UserRecord};
use shared::table::TableError;

/// Ensures a superadmin with `email` exists (creating it with `password`).
pub async fn ensure_superadmin(state: &AppState, email: &str, password: &SecretString) -> anyhow::Result<()> {
    let email = Email::parse(email).map_err(|e| anyhow::anyhow!("SUNDIAL_BOOTSTRAP_EMAIL {e}"))?;
    if users::find_by_email(state.table.as_ref(), &email).await?.is_some() {
        return Ok(());
    }
    let password =
        Password::parse(password.expose_secret()).map_err(|e| anyhow::anyhow!("SUNDIAL_BOOTSTRAP_PASSWORD {e}"))?;
    let hash = tokio::task::spawn_blocking(move || password.hash()).await??;
    let now = state.clock.now();
    let mut user = UserRecord::new(&email, "Sundial", "Admin", Some(&hash), now);
    user.platform_role = Some(SUPERADMIN.into());
    user.email_verified = true;
    let mut ops = users::create_ops(&user)?;
    let meta = RequestMeta { request_id: "bootstrap".into(), ..RequestMeta::default() };
    ops.push(AuditEntry::new(None, "system", "user.bootstrapped", format!("user/{}", user.id), now, &meta).write());
    match state.table.transact_write(ops).await {
        // Another process created it first: fine.
        Ok(()) | Err(TableError::ConditionFailed { .. }) => Ok(()),
        Err(err) => Err(err.into()),
    }
}
