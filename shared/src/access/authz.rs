//! Authorization, decided in one place from the contract's roles. Anything a
//! caller may not see answers 404, never 403, so IDs of other tenants cannot
//! be probed.

use uuid::Uuid;

use crate::domain::Role;
use crate::error::ApiError;
use crate::identity::auth::Principal;
use crate::organisations;
use crate::organisations::Membership;
use crate::people::planners;
use crate::people::planners::Access;
use crate::people::planners::PlannerPermissions;
use crate::people::users;
use crate::people::users::Person;
use crate::people::users::UserRecord;
use crate::people::users::Visibility;
use crate::store::from_item;
use crate::table::{Key, MAX_BATCH_GET, Table};

pub use crate::access::authz_org::OrgAccess;
pub use crate::access::authz_org::org_access;

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

/// Profile fields only owners and admins change (ids among them are checked
/// against the organisations the caller administers by the users group).
pub const ADMIN_MANAGED_FIELDS: &[&str] = &["departmentId", "locationId", "designation", "reportsTo", "customFields"];

/// Profile fields that are the person's own: an administrator who does not
/// administer every organisation of the user leaves them to the user.
pub const PERSONAL_FIELDS: &[&str] = &["phone", "bio", "locale", "timeZone"];

/// A planner link as it counts for access.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannerScope {
    /// Per-area permissions.
    pub permissions: PlannerPermissions,
    /// The organisation the link was made through (`None` for links from
    /// before links named one: any shared organisation then).
    pub organisation_id: Option<Uuid>,
}

impl PlannerScope {
    fn require(&self, area: Area, write: bool) -> Result<(), ApiError> {
        match area.of(&self.permissions) {
            Some(Access::Write) => Ok(()),
            Some(Access::Read) if !write => Ok(()),
            _ => Err(ApiError::Forbidden(format!(
                "The planner link lacks {} access to {}.",
                if write { "write" } else { "read" },
                area.as_str()
            ))),
        }
    }
}

/// How the caller relates to a user, the most powerful relation first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Relation {
    /// Platform superadmin.
    Superadmin,
    /// The user themself.
    Itself,
    /// Owner or admin (or an API key) of some of the organisations the user
    /// belongs to. Their power is scoped to those organisations: what
    /// belongs to them, the user's profile and membership there.
    OrgAdmin {
        /// The organisations the caller administers and the user belongs
        /// to, with the caller's role in each.
        organisations: Vec<(Uuid, Role)>,
        /// Whether that is every organisation the user belongs to: only
        /// then do account-wide actions and the user's personal data
        /// (contacts, attachments, preferences ...) fall to the caller.
        covers_all: bool,
    },
    /// A planner linked to the user.
    Planner(PlannerScope),
    /// A member or guest of an organisation the user also belongs to: sees
    /// the directory entry, nothing else.
    Colleague(Visibility),
}

/// The caller's access to one user, with what was read to decide it.
#[derive(Debug, Clone)]
pub struct UserAccess {
    /// How the caller relates to the user.
    pub relation: Relation,
    /// The user.
    pub target: UserRecord,
    /// The user's organisation memberships (suspended ones too).
    pub memberships: Vec<Membership>,
    /// The caller's active memberships in the user's organisations (empty
    /// for a superadmin and for an API key, whose decisions never need them).
    pub shared: Vec<Membership>,
    /// The caller's planner link to the user, while it holds.
    pub link: Option<PlannerScope>,
}

impl UserAccess {
    /// 403 unless the caller may read (`write == false`) or write the
    /// user's `area`. Planners are limited per area; an administrator who
    /// does not administer every organisation of the user reaches their
    /// calendar (scoped item by item with [`Self::sees`]) but not their
    /// personal data; colleagues get 404.
    pub fn require(&self, area: Area, write: bool) -> Result<(), ApiError> {
        match &self.relation {
            Relation::Superadmin | Relation::Itself => Ok(()),
            Relation::OrgAdmin { covers_all, .. } => {
                if *covers_all || area == Area::Calendar {
                    return Ok(());
                }
                match &self.link {
                    Some(link) => link.require(area, write),
                    None => Err(ApiError::Forbidden(format!(
                        "The user also belongs to an organisation you do not administer: their {} is theirs.",
                        area.as_str()
                    ))),
                }
            }
            Relation::Planner(link) => link.require(area, write),
            Relation::Colleague(_) => Err(ApiError::NotFound),
        }
    }

    /// 403 unless the caller administers the user (owner/admin of one of
    /// their organisations, an API key of one, or a superadmin).
    pub fn require_admin(&self) -> Result<(), ApiError> {
        match self.relation {
            Relation::Superadmin | Relation::OrgAdmin { .. } => Ok(()),
            // Colleagues see the directory entry and nothing else of the user.
            Relation::Colleague(_) => Err(ApiError::NotFound),
            _ => Err(ApiError::Forbidden("Only an administrator of the user's organisation may do this.".into())),
        }
    }

    /// Whether the caller administers the user.
    pub fn is_admin(&self) -> bool {
        self.require_admin().is_ok()
    }

    /// Whether the caller's power over the user is account-wide: a
    /// superadmin, or an administrator of every organisation they belong to.
    pub fn covers_all(&self) -> bool {
        matches!(self.relation, Relation::Superadmin | Relation::OrgAdmin { covers_all: true, .. })
    }

    /// The organisations in which the caller administers the user (every
    /// one of the user's for a superadmin), whatever the relation chosen;
    /// so also for someone acting on themself.
    pub fn admin_organisations(&self) -> Vec<Uuid> {
        match &self.relation {
            Relation::Superadmin => self.memberships.iter().map(|m| m.organisation_id).collect(),
            Relation::OrgAdmin { organisations, .. } => organisations.iter().map(|(o, _)| *o).collect(),
            _ => self.shared.iter().filter(|m| m.role.is_admin()).map(|m| m.organisation_id).collect(),
        }
    }

    /// Whether the caller sees an item of the user's that belongs to `org`
    /// (`None`: the user's personal data). Administrators see their
    /// organisations' items, and personal ones only when they administer
    /// every organisation of the user; planners see personal items and
    /// those of the organisation their link is made through.
    pub fn sees(&self, org: Option<Uuid>) -> bool {
        match (&self.relation, org) {
            (Relation::Superadmin | Relation::Itself, _) => true,
            (Relation::OrgAdmin { organisations, covers_all }, item) => {
                let admin = match item {
                    Some(o) => organisations.iter().any(|(a, _)| *a == o),
                    None => *covers_all,
                };
                admin || self.link.as_ref().is_some_and(|l| planner_sees(l, item))
            }
            (Relation::Planner(link), item) => planner_sees(link, item),
            (Relation::Colleague(_), _) => false,
        }
    }

    /// The organisation a new item of the user's, made by the caller,
    /// belongs to: the one `requested` (it must be one the caller may
    /// place items in), else the caller's
    /// organisation for an administrator or a planner, else none (personal).
    /// The error is the message for the field that named the organisation.
    pub fn organisation_for_new(&self, requested: Option<Uuid>) -> Result<Option<Uuid>, String> {
        let allowed: Vec<Uuid> = match &self.relation {
            Relation::Superadmin | Relation::Itself => {
                self.memberships.iter().filter(|m| !m.suspended).map(|m| m.organisation_id).collect()
            }
            Relation::OrgAdmin { organisations, .. } => organisations.iter().map(|(o, _)| *o).collect(),
            Relation::Planner(link) => match link.organisation_id {
                Some(org) => vec![org],
                None => self.shared.iter().map(|m| m.organisation_id).collect(),
            },
            Relation::Colleague(_) => Vec::new(),
        };
        match requested {
            Some(org) if allowed.contains(&org) => Ok(Some(org)),
            Some(_) => Err("is not an organisation of the owner that you may plan in".into()),
            None => match &self.relation {
                Relation::Superadmin | Relation::Itself => Ok(None),
                Relation::Planner(link) if link.organisation_id.is_none() => Ok(None),
                _ => Ok(allowed.first().copied()),
            },
        }
    }

    /// 403 unless the caller may act on the person (lock, deactivate,
    /// change their profile as an administrator, delete, change their
    /// membership): nobody but a superadmin acts on a superadmin, and
    /// nobody but an owner acts on an owner of the organisation acted in.
    pub fn require_may_act_on(&self) -> Result<(), ApiError> {
        if matches!(self.relation, Relation::Superadmin | Relation::Itself) {
            return Ok(());
        }
        if self.target.is_superadmin() {
            return Err(ApiError::Forbidden("Only a superadmin may act on a superadmin.".into()));
        }
        if let Relation::OrgAdmin { organisations, .. } = &self.relation {
            for (org, my_role) in organisations {
                let theirs = self.memberships.iter().find(|m| m.organisation_id == *org).map(|m| m.role);
                if theirs == Some(Role::Owner) && *my_role != Role::Owner {
                    return Err(ApiError::Forbidden("Only an owner may act on an owner.".into()));
                }
            }
        }
        Ok(())
    }

    /// 403 unless the caller may change these profile fields of the user:
    /// the admin-managed ones ([`ADMIN_MANAGED_FIELDS`]) need an owner/admin
    /// of one of the user's organisations; an administrator whose power does
    /// not cover all the user's organisations leaves the personal ones
    /// ([`PERSONAL_FIELDS`]) to the user (and planners with profile write);
    /// and an administrator may act on the person at all
    /// ([`Self::require_may_act_on`]).
    pub fn require_profile_change(&self, fields: &[&str]) -> Result<(), ApiError> {
        let given = |names: &'static [&'static str]| -> Vec<&'static str> {
            names.iter().copied().filter(|n| fields.contains(n)).collect()
        };
        let managed = given(ADMIN_MANAGED_FIELDS);
        if !managed.is_empty() && self.admin_organisations().is_empty() {
            return Err(ApiError::Forbidden(format!("Only owners and admins change {}.", managed.join(", "))));
        }
        if let Relation::OrgAdmin { covers_all: false, .. } = self.relation {
            let personal = given(PERSONAL_FIELDS);
            let planner_may = self.link.as_ref().and_then(|l| l.permissions.profile) == Some(Access::Write);
            if !personal.is_empty() && !planner_may {
                return Err(ApiError::Forbidden(format!(
                    "The user also belongs to an organisation you do not administer: {} are theirs to change.",
                    personal.join(", ")
                )));
            }
        }
        if self.is_admin() {
            self.require_may_act_on()?;
        }
        Ok(())
    }

    /// How much of the user's profile the caller sees.
    pub fn visibility(&self) -> Visibility {
        match &self.relation {
            Relation::Superadmin | Relation::Itself | Relation::OrgAdmin { .. } => Visibility::Full,
            Relation::Planner(link) if link.permissions.profile.is_some() => Visibility::Full,
            Relation::Planner(_) => Visibility::Directory,
            Relation::Colleague(visibility) => *visibility,
        }
    }

    /// The user as the caller may see them.
    pub fn person(&self) -> Person {
        self.target.person(self.visibility())
    }

    /// The organisation audit entries about this user go to: the one the
    /// access came through, else the user's first organisation.
    pub fn audit_organisation(&self) -> Option<Uuid> {
        match &self.relation {
            Relation::OrgAdmin { organisations, .. } => organisations.first().map(|(o, _)| *o),
            Relation::Planner(PlannerScope { organisation_id: Some(org), .. }) => Some(*org),
            _ => self.memberships.first().map(|m| m.organisation_id),
        }
    }
}

fn planner_sees(link: &PlannerScope, item: Option<Uuid>) -> bool {
    match (item, link.organisation_id) {
        (None, _) | (_, None) => true,
        (Some(item), Some(through)) => item == through,
    }
}

/// The caller's access to `target`: themself, a superadmin, an owner/admin
/// of an organisation the target belongs to, a planner linked to the target
/// or a colleague. Anyone else, and a user that does not exist or is being
/// deleted, gets 404, so user ids cannot be probed. An organisation API key
/// reaches the members of its organisation as an admin would, and has no
/// "self" (403: routes such as `/users/me` need a person's credential).
pub async fn user_access(table: &dyn Table, principal: &Principal, target: Uuid) -> Result<UserAccess, ApiError> {
    if principal.api_key_organisation().is_some() && target == principal.user_id {
        principal.require_person()?;
    }
    match users::get(table, target).await?.filter(|u| !u.deleting) {
        Some(record) => user_access_to(table, principal, record).await,
        None => Err(ApiError::NotFound),
    }
}

/// Like [`user_access`], for a user record already read (including one
/// marked `deleting`, so that an interrupted deletion can be resumed by
/// whoever was allowed to start it).
pub async fn user_access_to(
    table: &dyn Table,
    principal: &Principal,
    record: UserRecord,
) -> Result<UserAccess, ApiError> {
    let target = record.id;
    let memberships = users::memberships(table, target).await?;
    let done = |relation, shared: Vec<Membership>, link: Option<PlannerScope>| {
        Ok(UserAccess { relation, target: record.clone(), memberships: memberships.clone(), shared, link })
    };
    let covers = |orgs: &[(Uuid, Role)]| memberships.iter().all(|m| orgs.iter().any(|(o, _)| *o == m.organisation_id));

    if let Some(org) = principal.api_key_organisation() {
        // An API key is no user: only its organisation's membership counts,
        // and only while the organisation is not being deleted.
        return match memberships.iter().find(|m| m.organisation_id == org) {
            // A key is nobody's membership: `shared` stays empty.
            Some(_) if organisations::get(table, org).await?.is_some() => {
                let orgs = vec![(org, Role::Admin)];
                done(Relation::OrgAdmin { covers_all: covers(&orgs), organisations: orgs }, Vec::new(), None)
            }
            _ => Err(ApiError::NotFound),
        };
    }

    let caller = principal.user_id;
    let caller_is_superadmin = if caller == target {
        record.is_superadmin()
    } else {
        users::get(table, caller).await?.is_some_and(|u| u.is_superadmin())
    };
    if caller_is_superadmin {
        // Every decision for a superadmin reads the target's memberships only.
        return done(Relation::Superadmin, Vec::new(), None);
    }
    // The caller's active memberships in the target's organisations, in one batch.
    let shared = caller_memberships(table, caller, &memberships).await?;
    if caller == target {
        return done(Relation::Itself, shared, None);
    }
    let active = |org: Uuid| memberships.iter().any(|m| m.organisation_id == org && !m.suspended);
    let link = match planners::get(table, target, caller).await? {
        Some(link) => {
            let holds = match link.organisation_id {
                Some(org) => active(org) && shared.iter().any(|m| m.organisation_id == org),
                None => shared.iter().any(|m| active(m.organisation_id)),
            };
            holds.then_some(PlannerScope { permissions: link.permissions, organisation_id: link.organisation_id })
        }
        None => None,
    };
    let admin: Vec<(Uuid, Role)> =
        shared.iter().filter(|m| m.role.is_admin()).map(|m| (m.organisation_id, m.role)).collect();
    if !admin.is_empty() {
        let covers_all = covers(&admin);
        return done(Relation::OrgAdmin { organisations: admin, covers_all }, shared, link);
    }
    if let Some(scope) = link.clone() {
        return done(Relation::Planner(scope), shared, link);
    }
    let colleagues: Vec<&Membership> = shared.iter().filter(|m| active(m.organisation_id)).collect();
    if colleagues.is_empty() {
        return Err(ApiError::NotFound);
    }
    // Members (not guests) of an organisation with a contact directory also
    // see email and phone.
    let mut visibility = Visibility::Directory;
    for mine in colleagues.iter().filter(|m| m.role != Role::Guest) {
        if organisations::get(table, mine.organisation_id).await?.is_some_and(|o| o.contact_directory) {
            visibility = Visibility::Contacts;
            break;
        }
    }
    done(Relation::Colleague(visibility), shared, None)
}

/// The caller's active (not suspended) memberships in the organisations of
/// `theirs`, read with batched gets.
async fn caller_memberships(
    table: &dyn Table,
    caller: Uuid,
    theirs: &[Membership],
) -> Result<Vec<Membership>, ApiError> {
    let keys: Vec<Key> = theirs.iter().map(|m| organisations::membership_key(m.organisation_id, caller)).collect();
    let mut mine = Vec::new();
    for chunk in keys.chunks(MAX_BATCH_GET) {
        for item in table.batch_get(chunk).await? {
            let membership: Membership = from_item(item)?;
            if !membership.suspended {
                mine.push(membership);
            }
        }
    }
    Ok(mine)
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
            shared: Vec::new(),
            link: None,
        }
    }

    #[test]
    fn planners_are_limited_per_area_and_write_implies_read() {
        let permissions =
            PlannerPermissions { calendar: Some(Access::Write), profile: Some(Access::Read), ..Default::default() };
        let planner = access(Relation::Planner(PlannerScope { permissions, organisation_id: None }));
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
        let admin = access(Relation::OrgAdmin { organisations: vec![(Uuid::now_v7(), Role::Admin)], covers_all: true });
        assert!(admin.require_admin().is_ok());
        assert!(access(Relation::Superadmin).require_admin().is_ok());
    }
    fn membership(org: Uuid, role: Role) -> Membership {
        Membership::new(org, Uuid::now_v7(), role, chrono::Utc::now())
    }

    #[test]
    fn an_admin_of_one_of_two_organisations_sees_only_that_ones_items_and_no_personal_data() {
        let (a, b) = (Uuid::now_v7(), Uuid::now_v7());
        let mut admin = access(Relation::OrgAdmin { organisations: vec![(a, Role::Admin)], covers_all: false });
        admin.memberships = vec![membership(a, Role::Member), membership(b, Role::Member)];
        assert!(admin.sees(Some(a)) && !admin.sees(Some(b)) && !admin.sees(None));
        assert!(admin.require(Area::Calendar, true).is_ok(), "items are filtered one by one");
        assert_eq!(admin.require(Area::Profile, false).unwrap_err().code(), "forbidden");
        assert!(!admin.covers_all());
        assert_eq!(admin.organisation_for_new(None), Ok(Some(a)));
        assert!(admin.organisation_for_new(Some(b)).is_err());
        assert_eq!(admin.visibility(), Visibility::Full);

        let whole = access(Relation::OrgAdmin { organisations: vec![(a, Role::Admin)], covers_all: true });
        assert!(whole.sees(None) && whole.require(Area::Profile, true).is_ok() && whole.covers_all());
    }

    #[test]
    fn a_planner_sees_personal_items_and_those_of_the_organisation_the_link_is_made_through() {
        let (a, b) = (Uuid::now_v7(), Uuid::now_v7());
        let scope = PlannerScope { permissions: PlannerPermissions::default(), organisation_id: Some(a) };
        let planner = access(Relation::Planner(scope));
        assert!(planner.sees(None) && planner.sees(Some(a)) && !planner.sees(Some(b)));
        assert_eq!(planner.organisation_for_new(None), Ok(Some(a)));
        assert_eq!(planner.visibility(), Visibility::Directory, "no profile permission");
    }

    #[test]
    fn only_owners_act_on_owners_and_only_superadmins_on_superadmins() {
        let a = Uuid::now_v7();
        let mut on_owner = access(Relation::OrgAdmin { organisations: vec![(a, Role::Admin)], covers_all: true });
        on_owner.memberships = vec![membership(a, Role::Owner)];
        assert_eq!(on_owner.require_may_act_on().unwrap_err().code(), "forbidden");
        on_owner.relation = Relation::OrgAdmin { organisations: vec![(a, Role::Owner)], covers_all: true };
        assert!(on_owner.require_may_act_on().is_ok());

        let mut on_root = access(Relation::OrgAdmin { organisations: vec![(a, Role::Owner)], covers_all: true });
        on_root.target.platform_role = Some(crate::people::users::SUPERADMIN.into());
        assert_eq!(on_root.require_may_act_on().unwrap_err().code(), "forbidden");
        on_root.relation = Relation::Superadmin;
        assert!(on_root.require_may_act_on().is_ok());
    }

    #[test]
    fn colleagues_see_the_directory_entry_and_nothing_else() {
        let colleague = access(Relation::Colleague(Visibility::Directory));
        assert_eq!(colleague.require(Area::Profile, false).unwrap_err().code(), "not_found");
        assert_eq!(colleague.require_admin().unwrap_err().code(), "not_found");
        assert!(!colleague.sees(None));
        let entry = serde_json::to_value(colleague.person()).unwrap();
        assert!(entry.get("email").is_none() && entry["firstName"] == "Ada");
        let contacts = access(Relation::Colleague(Visibility::Contacts));
        assert_eq!(serde_json::to_value(contacts.person()).unwrap()["email"], "ada@example.com");
    }

    #[test]
    fn admin_managed_fields_need_an_admin_and_personal_ones_the_person() {
        let a = Uuid::now_v7();
        let me = access(Relation::Itself);
        assert!(me.require_profile_change(&["bio", "phone"]).is_ok());
        assert_eq!(me.require_profile_change(&["designation"]).unwrap_err().code(), "forbidden");
        let mut scoped = access(Relation::OrgAdmin { organisations: vec![(a, Role::Admin)], covers_all: false });
        scoped.memberships = vec![membership(a, Role::Member)];
        assert!(scoped.require_profile_change(&["designation", "displayName"]).is_ok());
        assert_eq!(scoped.require_profile_change(&["bio"]).unwrap_err().code(), "forbidden");
        let whole = access(Relation::OrgAdmin { organisations: vec![(a, Role::Admin)], covers_all: true });
        assert!(whole.require_profile_change(&["bio", "customFields"]).is_ok());
    }
}
