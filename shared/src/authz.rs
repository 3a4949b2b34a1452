//! Authorization, decided in one place from the contract's roles. Anything a
//! caller may not see answers 404, never 403, so IDs of other tenants cannot
//! be probed.

use uuid::Uuid;

use crate::auth::Principal;
use crate::domain::Role;
use crate::error::ApiError;
use crate::repo::organisations::Membership;
use crate::repo::planners::{self, Access, PlannerPermissions};
use crate::repo::users::UserRecord;
use crate::repo::{organisations, users};
use crate::state::AppState;

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
pub async fn org_access(state: &AppState, principal: &Principal, org: Uuid) -> Result<OrgAccess, ApiError> {
    Ok(crate::authz_org::org_context(state, principal, org).await?.access)
}

/// An area of a member's data that a planner is given access to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Area {
    /// Calendar events, templates and reminders.
    Calendar,
    /// Lists and notes.
    Lists,
    /// Media library and photo diary.
    Media,
    /// Messages.
    Messages,
    /// Profile, preferences, follows, contacts and attachments.
    Profile,
}

impl Area {
    /// The area's name, as in the permissions object.
    pub fn as_str(self) -> &'static str {
        match self {
            Area::Calendar => "calendar",
            Area::Lists => "lists",
            Area::Media => "media",
            Area::Messages => "messages",
            Area::Profile => "profile",
        }
    }

    /// A planner's access to this area.
    pub fn of(self, permissions: &PlannerPermissions) -> Option<Access> {
        match self {
            Area::Calendar => permissions.calendar,
            Area::Lists => permissions.lists,
            Area::Media => permissions.media,
            Area::Messages => permissions.messages,
            Area::Profile => permissions.profile,
        }
    }
}

/// How the caller relates to a user, most powerful relation first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Relation {
    /// Platform superadmin.
    Superadmin,
    /// Owner or admin of an organisation the user belongs to.
    OrgAdmin {
        /// That organisation.
        organisation_id: Uuid,
        /// The caller's role there.
        role: Role,
    },
    /// The user themself.
    Itself,
    /// A planner linked to the user, with these permissions.
    Planner(PlannerPermissions),
}

/// The caller's access to one user, with what was read to decide it.
#[derive(Debug, Clone)]
pub struct UserAccess {
    /// How the caller relates to the user.
    pub relation: Relation,
    /// The user.
    pub target: UserRecord,
    /// The user's organisation memberships.
    pub memberships: Vec<Membership>,
}

impl UserAccess {
    /// 403 unless the caller may read (`write == false`) or write `area`;
    /// only planners are limited per area.
    pub fn require(&self, area: Area, write: bool) -> Result<(), ApiError> {
        match &self.relation {
            Relation::Planner(permissions) => match area.of(permissions) {
                Some(Access::Write) => Ok(()),
                Some(Access::Read) if !write => Ok(()),
                _ => Err(ApiError::Forbidden(format!(
                    "The planner link lacks {} access to {}.",
                    if write { "write" } else { "read" },
                    area.as_str()
                ))),
            },
            _ => Ok(()),
        }
    }

    /// 403 unless the caller administers the user (org owner/admin or superadmin).
    pub fn require_admin(&self) -> Result<(), ApiError> {
        match self.relation {
            Relation::Superadmin | Relation::OrgAdmin { .. } => Ok(()),
            _ => Err(ApiError::Forbidden("Only an administrator of the user's organisation may do this.".into())),
        }
    }

    /// Whether the caller administers the user.
    pub fn is_admin(&self) -> bool {
        self.require_admin().is_ok()
    }

    /// The organisation audit entries about this user go to: the one the
    /// access came through, else the user's first organisation.
    pub fn audit_organisation(&self) -> Option<Uuid> {
        match self.relation {
            Relation::OrgAdmin { organisation_id, .. } => Some(organisation_id),
            _ => self.memberships.first().map(|m| m.organisation_id),
        }
    }
}

/// The caller's access to `target`: themself, a superadmin, an owner/admin
/// of an organisation the target belongs to, or a planner linked to the
/// target. Anyone else, and a user that does not exist or is being deleted,
/// gets 404, so user ids cannot be probed. An organisation API key reaches
/// the members of its organisation as an admin would, and has no "self"
/// (403: routes such as `/users/me` need a person's credential).
pub async fn user_access(state: &AppState, principal: &Principal, target: Uuid) -> Result<UserAccess, ApiError> {
    if principal.api_key_organisation().is_some() && target == principal.user_id {
        principal.require_person()?;
    }
    match users::get(state.table.as_ref(), target).await?.filter(|u| !u.deleting) {
        Some(record) => user_access_to(state, principal, record).await,
        None => Err(ApiError::NotFound),
    }
}

/// Like [`user_access`], for a user record already read (including one
/// marked `deleting`, so that an interrupted deletion can be resumed by
/// whoever was allowed to start it).
pub async fn user_access_to(
    state: &AppState,
    principal: &Principal,
    record: UserRecord,
) -> Result<UserAccess, ApiError> {
    let table = state.table.as_ref();
    let target = record.id;
    let memberships = users::memberships(table, target).await?;
    let done = |relation| Ok(UserAccess { relation, target: record.clone(), memberships: memberships.clone() });

    if let Some(org) = principal.api_key_organisation() {
        // An API key is no user: only its organisation's membership counts,
        // and only while the organisation is not being deleted.
        return if memberships.iter().any(|m| m.organisation_id == org)
            && organisations::get(table, org).await?.is_some()
        {
            done(Relation::OrgAdmin { organisation_id: org, role: Role::Admin })
        } else {
            Err(ApiError::NotFound)
        };
    }

    let caller_is_superadmin = if principal.user_id == target {
        record.is_superadmin()
    } else {
        users::get(table, principal.user_id).await?.is_some_and(|u| u.is_superadmin())
    };
    if caller_is_superadmin {
        return done(Relation::Superadmin);
    }
    for membership in &memberships {
        if let Some(mine) = organisations::membership(table, membership.organisation_id, principal.user_id).await?
            && mine.role.is_admin()
        {
            return done(Relation::OrgAdmin { organisation_id: mine.organisation_id, role: mine.role });
        }
    }
    if principal.user_id == target {
        return done(Relation::Itself);
    }
    if let Some(link) = planners::get(table, target, principal.user_id).await? {
        return done(Relation::Planner(link.permissions));
    }
    Err(ApiError::NotFound)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn access(relation: Relation) -> UserAccess {
        let email = crate::domain::Email::parse("ada@example.com").unwrap();
        UserAccess {
            relation,
            target: UserRecord::new(&email, "Ada", "Lovelace", None, chrono::Utc::now()),
            memberships: Vec::new(),
        }
    }

    #[test]
    fn planners_are_limited_per_area_and_write_implies_read() {
        let permissions =
            PlannerPermissions { calendar: Some(Access::Write), profile: Some(Access::Read), ..Default::default() };
        let planner = access(Relation::Planner(permissions));
        assert!(planner.require(Area::Calendar, true).is_ok());
        assert!(planner.require(Area::Calendar, false).is_ok());
        assert!(planner.require(Area::Profile, false).is_ok());
        assert_eq!(planner.require(Area::Profile, true).unwrap_err().code(), "forbidden");
        assert_eq!(planner.require(Area::Media, false).unwrap_err().code(), "forbidden");
        assert!(planner.require_admin().is_err());
    }

    #[test]
    fn self_and_admins_reach_every_area_but_only_admins_administer() {
        let me = access(Relation::Itself);
        assert!(me.require(Area::Profile, true).is_ok() && me.require(Area::Messages, true).is_ok());
        assert!(me.require_admin().is_err());
        let admin = access(Relation::OrgAdmin { organisation_id: Uuid::now_v7(), role: Role::Admin });
        assert!(admin.require_admin().is_ok());
        assert!(access(Relation::Superadmin).require_admin().is_ok());
    }
}
