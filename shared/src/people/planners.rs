//! Planner links (seed 000 planner): a planner plans for a member with
//! per-area permissions. Stored under the member's partition (so checking
//! "is P a planner of M" is one get) and indexed by planner on GSI1.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::keys;
use crate::store::from_item;
use crate::store::to_item;
use crate::table::{Condition, Index, Item, Key, Query, SortKey, Table, WriteOp};

/// How much of one area a planner may touch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Access {
    /// See it.
    Read,
    /// See and change it.
    Write,
}

/// A planner's permissions, per area; absent (`null`) means no access.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct PlannerPermissions {
    /// Calendar events, templates and reminders.
    #[serde(default)]
    pub calendar: Option<Access>,
    /// Lists and notes.
    #[serde(default)]
    pub lists: Option<Access>,
    /// Media library and photo diary.
    #[serde(default)]
    pub media: Option<Access>,
    /// Messages.
    #[serde(default)]
    pub messages: Option<Access>,
    /// The profile, preferences, contacts and attachments.
    #[serde(default)]
    pub profile: Option<Access>,
}

/// A stored planner link (also its API view).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PlannerLink {
    /// The member planned for.
    pub user_id: Uuid,
    /// The planner.
    pub planner_id: Uuid,
    /// What the planner may do.
    pub permissions: PlannerPermissions,
    /// The organisation the link is made through: both belong to it, and
    /// the link ends when either leaves it (or it is deleted). Its data is
    /// what the planner sees of the member besides their personal data.
    #[serde(default)]
    pub organisation_id: Option<Uuid>,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Last changed.
    pub updated_at: DateTime<Utc>,
    /// Version (also the ETag).
    pub version: i64,
}

/// The key of one link.
pub fn key(member: Uuid, planner: Uuid) -> Key {
    Key::new(keys::user_pk(member), keys::planner_sk(planner))
}

/// The write that stores `link` if its stored version is `expected` (`None`: new).
pub fn put_op(link: &PlannerLink, expected: Option<i64>) -> anyhow::Result<WriteOp> {
    let k = key(link.user_id, link.planner_id);
    let mut item = to_item(link, k.pk, k.sk, "PlannerLink")?;
    item.insert("GSI1PK".into(), keys::plans_gsi1pk(link.planner_id).into());
    item.insert("GSI1SK".into(), keys::user_pk(link.user_id).into());
    if let Some(org) = link.organisation_id {
        item.insert("GSI2PK".into(), keys::org_plans_gsi2pk(org).into());
        item.insert("GSI2SK".into(), format!("{}#{}", link.user_id, link.planner_id).into());
    }
    let condition = match expected {
        Some(v) => Condition::version_is(v),
        None => Condition::NotExists,
    };
    Ok(WriteOp::Put { item, condition })
}

/// Reads one link.
pub async fn get(table: &dyn Table, member: Uuid, planner: Uuid) -> anyhow::Result<Option<PlannerLink>> {
    match table.get(&key(member, planner)).await? {
        Some(item) => Ok(Some(from_item(item)?)),
        None => Ok(None),
    }
}

/// The planners of `member`.
pub fn planners_query(member: Uuid) -> Query {
    Query::new(Index::Primary, keys::user_pk(member)).sort_key(SortKey::BeginsWith(keys::PLANNER_PREFIX.into()))
}

/// The members `planner` plans for.
pub fn members_query(planner: Uuid) -> Query {
    Query::new(Index::Gsi1, keys::plans_gsi1pk(planner))
}

/// The first `limit` planner links made through `org` (they end with the
/// organisation).
pub async fn through_organisation(table: &dyn Table, org: Uuid, limit: usize) -> anyhow::Result<Vec<PlannerLink>> {
    let query = Query::new(Index::Gsi2, keys::org_plans_gsi2pk(org)).limit(limit as u32);
    decode(table.query(&query).await?.items)
}

/// The links made through `org` in which `user` is the member or the
/// planner (those end when `user` leaves `org`). Links from before links
/// named their organisation end too, unless the two still share another.
pub async fn links_through(table: &dyn Table, org: Uuid, user: Uuid) -> anyhow::Result<Vec<PlannerLink>> {
    let mut links = Vec::new();
    for query in [planners_query(user), members_query(user)] {
        links.extend(decode(crate::store::listing::query_all(table, query).await?)?);
    }
    let mut ending = Vec::new();
    // The user's memberships, read once and only for links from before links
    // named their organisation.
    let mut mine = None;
    for link in links {
        let ends = match link.organisation_id {
            Some(through) => through == org,
            None => {
                let other = if link.user_id == user { link.planner_id } else { link.user_id };
                let theirs = crate::people::users::memberships(table, other).await?;
                if mine.is_none() {
                    mine = Some(crate::people::users::memberships(table, user).await?);
                }
                !mine
                    .iter()
                    .flatten()
                    .any(|m| m.organisation_id != org && theirs.iter().any(|t| t.organisation_id == m.organisation_id))
            }
        };
        if ends {
            ending.push(link);
        }
    }
    Ok(ending)
}

/// The write that ends `link` whatever its version.
pub fn delete_op(link: &PlannerLink) -> WriteOp {
    WriteOp::Delete { key: key(link.user_id, link.planner_id), condition: Condition::Always }
}

/// Decodes listed items.
pub fn decode(items: Vec<Item>) -> anyhow::Result<Vec<PlannerLink>> {
    items.into_iter().map(from_item).collect()
}

/// The write that ends the link of `member` and `planner` at `version`.
pub fn delete_versioned_op(member: Uuid, planner: Uuid, version: i64) -> WriteOp {
    WriteOp::Delete { key: key(member, planner), condition: Condition::version_is(version) }
}
