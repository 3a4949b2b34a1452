//! Quick links and SSO entries of an organisation. Each link belongs to one
//! scope — the whole organisation, a department, a location or one user —
//! and is indexed under it (GSI2 `LINKS#<orgId>#<scope>`, sort key the
//! zero-padded order), so a scope's links come back ordered by `order`
//! straight from the index and paging needs no sorting in memory.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::error::ApiError;
use crate::keys;
use crate::organisations::structure::Kind;
use crate::organisations::structure::delete_matching;
use crate::pagination::{CursorCodec, ListResponse, PageRequest};
use crate::store::from_item;
use crate::store::listing::query_all;
use crate::store::to_item;
use crate::table::{Condition, Index, Key, Query, Table, TableError, Update, WriteOp};

/// What a link opens.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub enum LinkType {
    /// A plain link.
    #[serde(rename = "QUICK_LINK")]
    QuickLink,
    /// A single sign-on entry.
    #[serde(rename = "SSO")]
    Sso,
}

/// A stored link (also its API view).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Link {
    /// Link id (UUIDv7).
    pub id: Uuid,
    /// The organisation.
    pub organisation_id: Uuid,
    /// `QUICK_LINK` or `SSO`.
    #[serde(rename = "type")]
    pub link_type: LinkType,
    /// Display name.
    pub name: String,
    /// Where it goes (http or https).
    pub url: String,
    /// Position within its scope (ascending).
    pub order: u32,
    /// Scoped to this department.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub department_id: Option<Uuid>,
    /// Scoped to this location.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location_id: Option<Uuid>,
    /// Scoped to this user.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<Uuid>,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Last changed.
    pub updated_at: DateTime<Utc>,
    /// Version (also the ETag).
    pub version: i64,
}

/// Whose links a link belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkScope {
    /// The whole organisation.
    Organisation,
    /// One department.
    Department(Uuid),
    /// One location.
    Location(Uuid),
    /// One user.
    User(Uuid),
}

impl LinkScope {
    /// The scope named by the first of `department`, `location` and `user`
    /// that is given (the organisation's own without any).
    pub fn of(department: Option<Uuid>, location: Option<Uuid>, user: Option<Uuid>) -> Self {
        match (department, location, user) {
            (Some(d), _, _) => LinkScope::Department(d),
            (_, Some(l), _) => LinkScope::Location(l),
            (_, _, Some(u)) => LinkScope::User(u),
            _ => LinkScope::Organisation,
        }
    }

    /// The scope of a unit, for the kinds that scope links.
    pub fn unit(kind: Kind, unit: Uuid) -> Option<Self> {
        match kind {
            Kind::Department => Some(LinkScope::Department(unit)),
            Kind::Location => Some(LinkScope::Location(unit)),
            Kind::Group | Kind::SecurityGroup => None,
        }
    }

    /// The key segment (`ORG`, `DEPT#<id>`, `LOC#<id>`, `USER#<id>`).
    fn segment(self) -> String {
        match self {
            LinkScope::Organisation => "ORG".into(),
            LinkScope::Department(d) => format!("DEPT#{d}"),
            LinkScope::Location(l) => format!("LOC#{l}"),
            LinkScope::User(u) => format!("USER#{u}"),
        }
    }

    /// The query of this scope's links in `org`, by `order`.
    fn query(self, org: Uuid) -> Query {
        Query::new(Index::Gsi2, keys::links_gsi2pk(org, &self.segment()))
    }
}

impl Link {
    /// The scope the link belongs to.
    pub fn scope(&self) -> LinkScope {
        LinkScope::of(self.department_id, self.location_id, self.user_id)
    }
}

fn key(org: Uuid, id: Uuid) -> Key {
    Key::new(keys::org_pk(org), keys::link_sk(id))
}

/// The write that creates `link` (fails if it exists).
pub fn create_op(link: &Link) -> anyhow::Result<WriteOp> {
    let mut item = to_item(link, keys::org_pk(link.organisation_id), keys::link_sk(link.id), "Link")?;
    item.insert("GSI2PK".into(), keys::links_gsi2pk(link.organisation_id, &link.scope().segment()).into());
    item.insert("GSI2SK".into(), keys::link_gsi2sk(link.order, link.id).into());
    Ok(WriteOp::Put { item, condition: Condition::NotExists })
}

/// Reads one link of `org`.
pub async fn get(table: &dyn Table, org: Uuid, id: Uuid) -> anyhow::Result<Option<Link>> {
    match table.get(&key(org, id)).await? {
        Some(item) => Ok(Some(from_item(item)?)),
        None => Ok(None),
    }
}

/// One page of the links of `scope` in `org`, by `order`.
pub async fn list(
    table: &dyn Table,
    cursors: &CursorCodec,
    org: Uuid,
    scope: LinkScope,
    page: &PageRequest,
) -> Result<ListResponse<Link>, ApiError> {
    let list = format!("links:{org}:{}", scope.segment());
    crate::store::listing::page(table, cursors, &list, scope.query(org), page).await
}

/// The write that changes `current` (as read, guarded by its version) into
/// `changed`: type, name, url and order (which moves it in its scope's
/// order); the scope is fixed.
pub fn update_op(current: &Link, changed: &Link) -> anyhow::Result<WriteOp> {
    let mut update = Update::new(key(current.organisation_id, current.id))
        .set("updatedAt", serde_json::to_value(changed.updated_at)?)
        .add("version", 1)
        .when(Condition::version_is(current.version));
    if changed.link_type != current.link_type {
        update = update.set("type", serde_json::to_value(changed.link_type)?);
    }
    if changed.name != current.name {
        update = update.set("name", changed.name.as_str());
    }
    if changed.url != current.url {
        update = update.set("url", changed.url.as_str());
    }
    if changed.order != current.order {
        update = update.set("order", changed.order).set("GSI2SK", keys::link_gsi2sk(changed.order, current.id));
    }
    Ok(WriteOp::Update(update))
}

/// The write that deletes `link` if it is still at its version.
pub fn delete_op(link: &Link) -> WriteOp {
    WriteOp::Delete { key: key(link.organisation_id, link.id), condition: Condition::version_is(link.version) }
}

/// Every link of `scope` in `org` (all pages).
pub async fn in_scope(table: &dyn Table, org: Uuid, scope: LinkScope) -> anyhow::Result<Vec<Link>> {
    query_all(table, scope.query(org)).await?.into_iter().map(from_item).collect()
}

/// The write that deletes `link` whatever its version (its scope ends).
pub fn drop_op(link: &Link) -> WriteOp {
    WriteOp::Delete { key: key(link.organisation_id, link.id), condition: Condition::Always }
}

/// Deletes every link of `scope` in `org`, in bounded transactions
/// (idempotent: a repeat finishes an interrupted sweep).
pub async fn delete_scope(table: &dyn Table, org: Uuid, scope: LinkScope) -> Result<(), TableError> {
    delete_matching(table, scope.query(org)).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_name_one_owner() {
        let id = Uuid::now_v7();
        assert_eq!(LinkScope::of(None, None, None).segment(), "ORG");
        assert_eq!(LinkScope::of(Some(id), None, None).segment(), format!("DEPT#{id}"));
        assert_eq!(LinkScope::of(Some(id), Some(id), Some(id)), LinkScope::Department(id));
        assert_eq!(LinkScope::unit(Kind::Location, id).map(LinkScope::segment), Some(format!("LOC#{id}")));
        assert_eq!(LinkScope::unit(Kind::Group, id), None);
        assert_eq!(LinkScope::User(id).segment(), format!("USER#{id}"));
    }
}
