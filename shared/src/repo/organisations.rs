//! Organisations and their memberships.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::{from_item, to_item};
use crate::domain::Role;
use crate::keys;
use crate::table::{Condition, Key, Table, WriteOp};

/// A stored organisation (also its API view).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Organisation {
    /// Organisation id (UUIDv7).
    pub id: Uuid,
    /// Display name.
    pub name: String,
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
        Self { id: crate::domain::new_id(), name: name.to_string(), created_at: now, updated_at: now, version: 1 }
    }
}

/// A stored membership of a user in an organisation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Membership {
    /// The organisation.
    pub organisation_id: Uuid,
    /// The user.
    pub user_id: Uuid,
    /// Their role there.
    pub role: Role,
    /// Since when.
    pub created_at: DateTime<Utc>,
    /// Version.
    pub version: i64,
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
    Ok(WriteOp::Put { item, condition: Condition::NotExists })
}

/// Reads an organisation.
pub async fn get(table: &dyn Table, id: Uuid) -> anyhow::Result<Option<Organisation>> {
    match table.get(&Key::new(keys::org_pk(id), keys::ORG_SK)).await? {
        Some(item) => Ok(Some(from_item(item)?)),
        None => Ok(None),
    }
}

/// Reads one membership.
pub async fn membership(table: &dyn Table, org: Uuid, user: Uuid) -> anyhow::Result<Option<Membership>> {
    match table.get(&Key::new(keys::org_pk(org), keys::member_sk(user))).await? {
        Some(item) => Ok(Some(from_item(item)?)),
        None => Ok(None),
    }
}
