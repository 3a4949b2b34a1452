//! A user's push devices (`USER#<id>` / `DEVICE#<sha256 of the token>`):
//! where push reminders and alarms go.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::crypto::sha256_hex;
use crate::keys;
use crate::store::from_item;
use crate::store::to_item;
use crate::table::{Condition, Index, Key, Query, SortKey, Table, WriteOp};

/// Most devices a user may register: bounds what one push to a user holds.
pub const MAX_PER_USER: usize = 10;

/// The platform a device is on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Platform {
    /// Apple.
    Ios,
    /// Android.
    Android,
    /// A browser (Web Push).
    Web,
}

/// A registered device.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Device {
    /// The token.
    pub token: String,
    /// Its platform.
    pub platform: Platform,
    /// Registered (again) at.
    pub registered_at: DateTime<Utc>,
}

/// The token's hash: how a device is keyed and named in the audit (the
/// token is a device address, not a secret of ours, but need not be logged).
pub fn token_hash(token: &str) -> String {
    sha256_hex(token.as_bytes())
}

fn key(user: Uuid, token: &str) -> Key {
    Key::new(keys::user_pk(user), keys::device_sk(&token_hash(token)))
}

/// The write that registers `device` of `user` (again: refreshes it).
pub fn put_op(user: Uuid, device: &Device) -> anyhow::Result<WriteOp> {
    let key = key(user, &device.token);
    Ok(WriteOp::Put { item: to_item(device, key.pk, key.sk, "PushDevice")?, condition: Condition::Always })
}

/// The write that removes `user`'s device `token` (fails when there is none).
pub fn delete_op(user: Uuid, token: &str) -> WriteOp {
    WriteOp::Delete { key: key(user, token), condition: Condition::Exists }
}

/// Every device of `user`. An unreadable device item is skipped with a
/// warning: one bad registration must never stop a reminder run.
pub async fn of_user(table: &dyn Table, user: Uuid) -> anyhow::Result<Vec<Device>> {
    let query =
        Query::new(Index::Primary, keys::user_pk(user)).sort_key(SortKey::BeginsWith(keys::DEVICE_PREFIX.into()));
    let items = crate::store::listing::query_all(table, query).await?;
    Ok(items
        .into_iter()
        .filter_map(|item| match from_item::<Device>(item) {
            Ok(device) => Some(device),
            Err(err) => {
                tracing::warn!(user_id = %user, error = %err, "skipping an unreadable push device");
                None
            }
        })
        .collect())
}
