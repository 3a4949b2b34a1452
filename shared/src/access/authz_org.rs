//! Organisation-level authorization for the organisations group: the
//! caller's access to a live organisation, read in one round trip, and the
//! rules for who may administer it. An organisation being deleted answers
//! 404 to everyone; so does one the caller does not belong to.

use uuid::Uuid;

use crate::domain::Role;
use crate::error::ApiError;
use crate::identity::auth::Principal;
use crate::keys;
use crate::organisations;
use crate::organisations::Membership;
use crate::organisations::OrganisationRecord;
use crate::people::users;
use crate::people::users::Person;
use crate::people::users::Visibility;
use crate::store::from_item;
use crate::table::{Key, Table};

/// How the caller relates to an organisation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrgAccess {
    /// Platform superadmin: sees every organisation.
    Superadmin,
    /// A member with this role.
    Member(Role),
    /// An API key of this organisation: administers it like an admin (never
    /// an owner), within the key's scopes. A key reaches no other organisation.
    ApiKey,
}

impl OrgAccess {
    /// Owners, admins and superadmins administer the organisation.
    pub fn is_admin(self) -> bool {
        match self {
            OrgAccess::Superadmin | OrgAccess::ApiKey => true,
            OrgAccess::Member(role) => role.is_admin(),
        }
    }
}

/// The caller's access to `org`; 404 when they have none (or it does not exist).
/// An organisation being deleted answers 404 here too, so no group keeps
/// serving it while its memberships are removed.
pub async fn org_access(table: &dyn Table, principal: &Principal, org: Uuid) -> Result<OrgAccess, ApiError> {
    Ok(org_context(table, principal, org).await?.access)
}

/// The caller's access to a live organisation, and the organisation.
#[derive(Debug, Clone)]
pub struct OrgContext {
    /// How the caller relates to it.
    pub access: OrgAccess,
    /// The organisation as stored.
    pub record: OrganisationRecord,
    /// The caller's membership, if they are a member.
    pub membership: Option<Membership>,
}

impl OrgContext {
    /// 403 unless the caller administers the organisation (they can see it,
    /// so 404 would be wrong).
    pub fn require_admin(&self) -> Result<(), ApiError> {
        if self.access.is_admin() {
            Ok(())
        } else {
            Err(ApiError::Forbidden("Only owners and admins of the organisation may do this.".into()))
        }
    }

    /// Whether the caller is an owner (or a superadmin).
    pub fn is_owner(&self) -> bool {
        matches!(self.access, OrgAccess::Superadmin | OrgAccess::Member(crate::domain::Role::Owner))
    }

    /// How much of a member the caller sees in this organisation's lists:
    /// owners, admins, API keys and superadmins everything; members and
    /// planners the directory entry, with email and phone where the
    /// organisation keeps a contact directory; guests the directory entry.
    /// Everyone sees all of themself.
    pub fn visibility_of(&self, principal: &Principal, user: Uuid) -> Visibility {
        if self.access.is_admin() || user == principal.user_id {
            return Visibility::Full;
        }
        match self.access {
            OrgAccess::Member(Role::Guest) => Visibility::Directory,
            _ if self.record.organisation.contact_directory => Visibility::Contacts,
            _ => Visibility::Directory,
        }
    }

    /// `users` (read together) as the caller may see them, in the order of
    /// `ids`; `None` for an account that no longer exists.
    pub async fn people(
        &self,
        table: &dyn Table,
        principal: &Principal,
        ids: &[Uuid],
    ) -> Result<Vec<Option<Person>>, ApiError> {
        let found = users::get_many(table, ids).await?;
        Ok(ids
            .iter()
            .map(|id| found.iter().find(|u| u.id == *id).map(|u| u.person(self.visibility_of(principal, *id))))
            .collect())
    }
}

/// Reads the organisation, the caller's membership and the caller's user
/// item with one batch get; 404 when the organisation does not exist, is
/// being deleted, or the caller is neither a member nor a superadmin.
pub async fn org_context(table: &dyn Table, principal: &Principal, org: Uuid) -> Result<OrgContext, ApiError> {
    let context = org_context_any(table, principal, org).await?;
    if context.record.deleting { Err(ApiError::NotFound) } else { Ok(context) }
}

/// As [`org_context`], but also for an organisation being deleted (only the
/// deletion itself resumes on one).
pub async fn org_context_any(table: &dyn Table, principal: &Principal, org: Uuid) -> Result<OrgContext, ApiError> {
    if let Some(own) = principal.api_key_organisation() {
        // An API key sees its own organisation only, and is nobody's membership.
        if own != org {
            return Err(ApiError::NotFound);
        }
        let record = organisations::get_record(table, org).await?.ok_or(ApiError::NotFound)?;
        return Ok(OrgContext { access: OrgAccess::ApiKey, record, membership: None });
    }
    let org_key = organisations::org_key(org);
    let member_key = organisations::membership_key(org, principal.user_id);
    let user_key = Key::new(keys::user_pk(principal.user_id), keys::USER_SK);
    let items = table.batch_get(&[org_key.clone(), member_key.clone(), user_key.clone()]).await?;
    let (mut record, mut membership, mut superadmin) = (None, None, false);
    for item in items {
        match Key::of(&item) {
            Some(k) if k == org_key => record = Some(organisations::record_from_item(item)?),
            // A suspended membership gives no access.
            Some(k) if k == member_key => membership = Some(from_item::<Membership>(item)?).filter(|m| !m.suspended),
            Some(k) if k == user_key => superadmin = from_item::<users::UserRecord>(item)?.is_superadmin(),
            _ => {}
        }
    }
    let record = record.ok_or(ApiError::NotFound)?;
    let access = match (&membership, superadmin) {
        (Some(m), _) => OrgAccess::Member(m.role),
        (None, true) => OrgAccess::Superadmin,
        (None, false) => return Err(ApiError::NotFound),
    };
    Ok(OrgContext { access, record, membership })
}

/// 403 unless the caller is a platform superadmin (never an API key).
pub async fn require_superadmin(table: &dyn Table, principal: &Principal) -> Result<(), ApiError> {
    principal.require_person()?;
    match users::get(table, principal.user_id).await? {
        Some(user) if user.is_superadmin() => Ok(()),
        _ => Err(ApiError::Forbidden("Only platform superadmins may do this.".into())),
    }
}
