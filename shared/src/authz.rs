//! Authorization, decided in one place from the contract's roles. Anything a
//! caller may not see answers 404, never 403, so IDs of other tenants cannot
//! be probed.

use uuid::Uuid;

use crate::auth::Principal;
use crate::domain::Role;
use crate::error::ApiError;
use crate::repo::{organisations, users};
use crate::state::AppState;

/// How the caller relates to an organisation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrgAccess {
    /// Platform superadmin: sees every organisation.
    Superadmin,
    /// A member with this role.
    Member(Role),
}

impl OrgAccess {
    /// Owners, admins and superadmins administer the organisation.
    pub fn is_admin(self) -> bool {
        match self {
            OrgAccess::Superadmin => true,
            OrgAccess::Member(role) => role.is_admin(),
        }
    }
}

/// The caller's access to `org`; 404 when they have none (or it does not exist).
pub async fn org_access(state: &AppState, principal: &Principal, org: Uuid) -> Result<OrgAccess, ApiError> {
    if let Some(m) = organisations::membership(state.table.as_ref(), org, principal.user_id).await? {
        return Ok(OrgAccess::Member(m.role));
    }
    let superadmin = users::get(state.table.as_ref(), principal.user_id).await?.is_some_and(|u| u.is_superadmin());
    if superadmin && organisations::get(state.table.as_ref(), org).await?.is_some() {
        return Ok(OrgAccess::Superadmin);
    }
    Err(ApiError::NotFound)
}
