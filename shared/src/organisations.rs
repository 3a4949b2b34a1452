//! Organisations: organisations and their memberships, their structure
//! (groups, departments, locations, security groups), invitations and their
//! text, links, and the deletion of a whole organisation.
//! This module itself holds the organisation and its memberships.

pub mod invitation_text;
pub mod invitations;
pub mod links;
pub mod organisation_deletion;
pub mod structure;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::domain::Role;
use crate::keys;
use crate::store::from_item;
use crate::store::to_item;
use crate::table::{Condition, Item, Key, Table, Update, WriteOp};

/// A stored organisation (also its API view).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Organisation {
    /// Organisation id (UUIDv7).
    pub id: Uuid,
    /// Display name.
    pub name: String,
    /// A contact directory: members (not guests) also see colleagues'
    /// email and phone. Off by default.
    #[serde(default)]
    pub contact_directory: bool,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Last changed.
    pub updated_at: DateTime<Utc>,
    /// Version (also the ETag).
    pub version: i64,
}

impl Organisation {
    /// A new organisation.
    pub fn new(name: &str, now: DateTime<Utc>) -> Self {
        Self {
            id: crate::domain::new_id(),
            name: name.to_string(),
            contact_directory: false,
            created_at: now,
            updated_at: now,
            version: 1,
        }
    }
}

/// A stored membership of a user in an organisation (also its API view).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Membership {
    /// The organisation.
    pub organisation_id: Uuid,
    /// The user.
    pub user_id: Uuid,
    /// Their role there.
    pub role: Role,
    /// Suspended by an administrator of this organisation: the membership
    /// gives no access until the suspension is lifted (the account itself
    /// is untouched).
    #[serde(default)]
    pub suspended: bool,
    /// Since when.
    pub created_at: DateTime<Utc>,
    /// Version.
    pub version: i64,
}

impl Membership {
    /// A new, active membership.
    pub fn new(organisation_id: Uuid, user_id: Uuid, role: Role, now: DateTime<Utc>) -> Self {
        Self { organisation_id, user_id, role, suspended: false, created_at: now, version: 1 }
    }
}

/// The write that creates `org`.
pub fn create_op(org: &Organisation) -> anyhow::Result<WriteOp> {
    let mut item = to_item(org, keys::org_pk(org.id), keys::ORG_SK.into(), "Organisation")?;
    item.insert("GSI1PK".into(), keys::ORGS_GSI1PK.into());
    item.insert("GSI1SK".into(), keys::org_gsi1sk(org.id).into());
    Ok(WriteOp::Put { item, condition: Condition::NotExists })
}

/// The write that creates `membership`.
pub fn add_member_op(membership: &Membership) -> anyhow::Result<WriteOp> {
    let mut item = to_item(
        membership,
        keys::org_pk(membership.organisation_id),
        keys::member_sk(membership.user_id),
        "Membership",
    )?;
    item.insert("GSI1PK".into(), keys::user_pk(membership.user_id).into());
    item.insert("GSI1SK".into(), keys::org_pk(membership.organisation_id).into());
    item.insert("GSI2PK".into(), keys::org_role_gsi2pk(membership.organisation_id, membership.role.as_str()).into());
    item.insert("GSI2SK".into(), keys::member_sk(membership.user_id).into());
    Ok(WriteOp::Put { item, condition: Condition::NotExists })
}

/// The key of the membership of `user` in `org`.
pub(crate) fn membership_key(org: Uuid, user: Uuid) -> Key {
    Key::new(keys::org_pk(org), keys::member_sk(user))
}

/// The key of the organisation item.
pub(crate) fn org_key(org: Uuid) -> Key {
    Key::new(keys::org_pk(org), keys::ORG_SK)
}

/// The write that changes the role of a membership read at `current.version`
/// (the role index moves with it).
pub fn change_role_op(current: &Membership, role: Role) -> WriteOp {
    WriteOp::Update(
        Update::new(membership_key(current.organisation_id, current.user_id))
            .set("role", role.as_str())
            .set("GSI2PK", keys::org_role_gsi2pk(current.organisation_id, role.as_str()))
            .add("version", 1)
            .when(Condition::version_is(current.version)),
    )
}

/// The write that suspends (or reinstates) a membership read at `current.version`.
pub fn suspend_op(current: &Membership, suspended: bool) -> WriteOp {
    WriteOp::Update(
        Update::new(membership_key(current.organisation_id, current.user_id))
            .set("suspended", suspended)
            .add("version", 1)
            .when(Condition::version_is(current.version)),
    )
}

/// The write that removes a membership read at `version`.
pub fn remove_member_op(org: Uuid, user: Uuid, version: i64) -> WriteOp {
    WriteOp::Delete { key: membership_key(org, user), condition: Condition::version_is(version) }
}

/// An organisation as stored, with the lifecycle attributes the API view
/// does not show.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OrganisationRecord {
    /// The API view.
    #[serde(flatten)]
    pub organisation: Organisation,
    /// Set once deletion began: the organisation answers 404 from then on.
    #[serde(default)]
    pub deleting: bool,
    /// Who started the deletion (they, or a superadmin, may resume it).
    #[serde(default)]
    pub deletion_requested_by: Option<Uuid>,
}

/// Parses a stored organisation item.
pub(crate) fn record_from_item(item: Item) -> anyhow::Result<OrganisationRecord> {
    from_item(item)
}

/// Reads an organisation with its lifecycle attributes (deleting ones too).
pub async fn get_record(table: &dyn Table, id: Uuid) -> anyhow::Result<Option<OrganisationRecord>> {
    match table.get(&org_key(id)).await? {
        Some(item) => Ok(Some(record_from_item(item)?)),
        None => Ok(None),
    }
}

/// Reads an organisation; one being deleted reads as absent.
pub async fn get(table: &dyn Table, id: Uuid) -> anyhow::Result<Option<Organisation>> {
    Ok(get_record(table, id).await?.filter(|r| !r.deleting).map(|r| r.organisation))
}

/// Reads one membership.
pub async fn membership(table: &dyn Table, org: Uuid, user: Uuid) -> anyhow::Result<Option<Membership>> {
    match table.get(&Key::new(keys::org_pk(org), keys::member_sk(user))).await? {
        Some(item) => Ok(Some(from_item(item)?)),
        None => Ok(None),
    }
}

/// The query of the memberships of `org`, in user-id order: the one
/// definition of "the members of an organisation" (read whole, by page, or
/// swept when it is deleted).
pub(crate) fn members_query(org: Uuid) -> crate::table::Query {
    crate::table::Query::new(crate::table::Index::Primary, keys::org_pk(org))
        .sort_key(crate::table::SortKey::BeginsWith(keys::MEMBER_PREFIX.into()))
}

/// Every membership of organisation `org` (all pages): the one reading of
/// "the members of an organisation".
pub async fn members(table: &dyn Table, org: Uuid) -> anyhow::Result<Vec<Membership>> {
    crate::store::listing::query_all(table, members_query(org)).await?.into_iter().map(from_item).collect()
}

/// One page of every organisation (the superadmins' list), oldest first.
pub async fn list(
    table: &dyn Table,
    cursors: &crate::pagination::CursorCodec,
    page: &crate::pagination::PageRequest,
) -> Result<crate::pagination::ListResponse<Organisation>, crate::error::ApiError> {
    let query = crate::table::Query::new(crate::table::Index::Gsi1, keys::ORGS_GSI1PK);
    crate::store::listing::page(table, cursors, "organisations", query, page).await
}

/// One page of the members of `org`, in user-id order; with `role`, only
/// the members holding it (read from the role index).
pub async fn list_members(
    table: &dyn Table,
    cursors: &crate::pagination::CursorCodec,
    org: Uuid,
    role: Option<Role>,
    page: &crate::pagination::PageRequest,
) -> Result<crate::pagination::ListResponse<Membership>, crate::error::ApiError> {
    use crate::table::{Index, Query};
    let (query, list) = match role {
        Some(role) => (
            Query::new(Index::Gsi2, keys::org_role_gsi2pk(org, role.as_str())),
            format!("members:{org}:{}", role.as_str()),
        ),
        None => (members_query(org), format!("members:{org}")),
    };
    crate::store::listing::page(table, cursors, &list, query, page).await
}

/// The memberships of `users` in `org`, in the order given (`None`: not a member).
pub async fn memberships_of(table: &dyn Table, org: Uuid, users: &[Uuid]) -> anyhow::Result<Vec<Option<Membership>>> {
    let mut found: Vec<Membership> = Vec::new();
    for chunk in users.chunks(crate::table::MAX_BATCH_GET) {
        let keys: Vec<Key> = chunk.iter().map(|u| membership_key(org, *u)).collect();
        for item in table.batch_get(&keys).await? {
            found.push(from_item(item)?);
        }
    }
    Ok(users.iter().map(|u| found.iter().find(|m| m.user_id == *u).cloned()).collect())
}

/// An owner of `org` other than `user`, as the role index knows them. The
/// index may lag: a write relying on that owner also checks them with
/// [`owner_check_op`].
pub async fn other_owner(table: &dyn Table, org: Uuid, user: Uuid) -> anyhow::Result<Option<Membership>> {
    let query =
        crate::table::Query::new(crate::table::Index::Gsi2, keys::org_role_gsi2pk(org, Role::Owner.as_str())).limit(2);
    let owners = table.query(&query).await?.items;
    let owners = owners.into_iter().map(from_item::<Membership>).collect::<anyhow::Result<Vec<_>>>()?;
    Ok(owners.into_iter().find(|m| m.user_id != user))
}

/// A check (no write) that `user` is still an owner of `org`.
pub fn owner_check_op(org: Uuid, user: Uuid) -> WriteOp {
    WriteOp::Check { key: membership_key(org, user), condition: Condition::eq("role", Role::Owner.as_str()) }
}

/// A check (no write) that `user` is still a member of `org`.
pub fn member_check_op(org: Uuid, user: Uuid) -> WriteOp {
    WriteOp::Check { key: membership_key(org, user), condition: Condition::Exists }
}

/// The write that changes `current` (as read: at its version, not being
/// deleted) into `changed`: its name and settings.
pub fn update_op(current: &Organisation, changed: &Organisation) -> anyhow::Result<WriteOp> {
    let mut update = Update::new(org_key(current.id))
        .set("updatedAt", serde_json::to_value(changed.updated_at)?)
        .add("version", 1)
        .when(Condition::All(vec![
            Condition::version_is(current.version),
            Condition::AttrNotExists("deleting".into()),
        ]));
    if changed.name != current.name {
        update = update.set("name", changed.name.as_str());
    }
    if changed.contact_directory != current.contact_directory {
        update = update.set("contactDirectory", changed.contact_directory);
    }
    Ok(WriteOp::Update(update))
}
