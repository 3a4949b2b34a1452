//! A user's notification inbox (where `inapp` reminders land), newest first.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::keys;
use crate::scheduling::reminders::NotificationRecord;
use crate::scheduling::reminders::notification_created_at;
use crate::scheduling::reminders::notification_key;
use crate::store::from_item;
use crate::table::{Condition, Index, Item, Query, SortKey, Table, Update, WriteOp};

/// The query listing `user`'s notifications, newest first.
pub fn list_query(user: Uuid) -> Query {
    Query::new(Index::Primary, keys::user_pk(user))
        .sort_key(SortKey::BeginsWith(keys::NOTIFICATION_PREFIX.into()))
        .reverse()
}

/// Decodes listed notifications.
pub fn decode(items: Vec<Item>) -> anyhow::Result<Vec<NotificationRecord>> {
    items.into_iter().map(from_item).collect()
}

/// Reads notification `id` of `user` (ids that are not UUIDv7 name none).
pub async fn get(table: &dyn Table, user: Uuid, id: Uuid) -> anyhow::Result<Option<NotificationRecord>> {
    let Some(created_at) = notification_created_at(id) else { return Ok(None) };
    table.get(&notification_key(user, created_at, id)).await?.map(from_item).transpose()
}

/// The write that marks `record` read at `now` (fails when it is gone).
pub fn mark_read_op(record: &NotificationRecord, now: DateTime<Utc>) -> WriteOp {
    WriteOp::Update(
        Update::new(notification_key(record.user_id, record.created_at, record.id))
            .set("readAt", serde_json::to_value(now).unwrap_or_default())
            .when(Condition::Exists),
    )
}
