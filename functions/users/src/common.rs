//! What every handler of the group shares: loading the target user through
//! the one authorization decision (the rest is in `shared::kit`).

use uuid::Uuid;

use shared::access::authz::Area;
use shared::access::authz::UserAccess;
use shared::access::authz::user_access;
use shared::identity::auth::Principal;
use shared::{AppState, Result};

/// Checks the credential's scope, decides the caller's access to `user`
/// and checks it covers `area` (read or write).
pub async fn access(
    state: &AppState,
    principal: &Principal,
    user: Uuid,
    area: Area,
    write: bool,
) -> Result<UserAccess> {
    principal.require("users", write)?;
    let access = user_access(state.table.as_ref(), principal, user).await?;
    access.require(area, write)?;
    Ok(access)
}
