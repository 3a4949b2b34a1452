//! Login sessions and their refresh tokens. (Owned by the sessions work of
//! the identity issue; the signature of `revoke_all` is relied on by the
//! password, lock and deactivate flows.)

use uuid::Uuid;

use crate::table::Table;

/// Ends every session of `user` except `keep` (the caller's own, when a
/// password change should keep it); returns how many ended. Access tokens of
/// ended sessions stop working at once (the auth extractor checks the session).
pub async fn revoke_all(table: &dyn Table, user: Uuid, keep: Option<&str>) -> anyhow::Result<u32> {
    let _ = (table, user, keep);
    anyhow::bail!("sessions::revoke_all is not implemented yet")
}
