//! Event templates: ready-made events a user (or an organisation, for its
//! members to import) starts from. Each template is its own item, found by
//! id with a Get and listed per owner through GSI1.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::calendar::events::Alarm;
use crate::calendar::events::Reminder;
use crate::keys;
use crate::store::from_item;
use crate::store::to_item;
use crate::table::{Condition, Index, Item, Key, Query, SortKey, Table, WriteOp};

/// A stored template (also its API view).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Template {
    /// Template id (UUIDv7).
    pub id: Uuid,
    /// The user it belongs to (absent for organisation templates).
    pub user_id: Option<Uuid>,
    /// The organisation it belongs to (absent for user templates).
    pub organisation_id: Option<Uuid>,
    /// Title of the events made from it.
    pub title: String,
    /// Description.
    pub description: String,
    /// Length of the events in minutes (timed events).
    pub duration_minutes: u32,
    /// Whole-day events.
    pub all_day: bool,
    /// Reminders.
    pub reminders: Vec<Reminder>,
    /// Alarm.
    pub alarm: Option<Alarm>,
    /// Location.
    pub location: String,
    /// Media attached.
    pub media_ids: Vec<Uuid>,
    /// Lists attached.
    pub list_ids: Vec<Uuid>,
    /// Category.
    pub category: String,
    /// Tags.
    pub tags: Vec<String>,
    /// The organisation template this one was imported from.
    pub imported_from: Option<Uuid>,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Last changed.
    pub updated_at: DateTime<Utc>,
    /// Version (also the ETag).
    pub version: i64,
}

/// The key of a template.
pub fn key(id: Uuid) -> Key {
    Key::new(keys::template_pk(id), keys::TEMPLATE_SK)
}

fn owner_partition(template: &Template) -> anyhow::Result<String> {
    match (template.user_id, template.organisation_id) {
        (Some(user), None) => Ok(keys::user_templates_gsi1pk(user)),
        (None, Some(org)) => Ok(keys::org_templates_gsi1pk(org)),
        _ => anyhow::bail!("a template belongs to exactly one user or organisation"),
    }
}

/// The write that stores `template` (`previous`: the version read, `None` for a new one).
pub fn put_op(template: &Template, previous: Option<i64>) -> anyhow::Result<WriteOp> {
    let mut item = to_item(template, keys::template_pk(template.id), keys::TEMPLATE_SK.into(), "EventTemplate")?;
    item.insert("GSI1PK".into(), owner_partition(template)?.into());
    item.insert("GSI1SK".into(), keys::template_pk(template.id).into());
    let condition = match previous {
        Some(v) => Condition::version_is(v),
        None => Condition::NotExists,
    };
    Ok(WriteOp::Put { item, condition })
}

/// The write that deletes `template` at the version read.
pub fn delete_op(template: &Template) -> WriteOp {
    WriteOp::Delete { key: key(template.id), condition: Condition::version_is(template.version) }
}

/// Reads a template.
pub async fn get(table: &dyn Table, id: Uuid) -> anyhow::Result<Option<Template>> {
    match table.get(&key(id)).await? {
        Some(item) => Ok(Some(from_item(item)?)),
        None => Ok(None),
    }
}

/// The query listing a user's templates (oldest first).
pub fn user_query(user: Uuid) -> Query {
    Query::new(Index::Gsi1, keys::user_templates_gsi1pk(user)).sort_key(SortKey::BeginsWith("TEMPLATE#".into()))
}

/// The query listing an organisation's templates (oldest first).
pub fn organisation_query(org: Uuid) -> Query {
    Query::new(Index::Gsi1, keys::org_templates_gsi1pk(org)).sort_key(SortKey::BeginsWith("TEMPLATE#".into()))
}

/// Decodes listed templates.
pub fn decode(items: Vec<Item>) -> anyhow::Result<Vec<Template>> {
    items.into_iter().map(from_item).collect()
}
