//! Repositories: one per aggregate, written once on top of the `Table`
//! port, so there is exactly one version of every access pattern.

pub mod almanac;
pub mod api_keys;
pub mod attachments;
pub mod calendar;
pub mod contacts;
pub mod devices;
pub mod digests;
pub mod email_changes;
pub mod events;
pub mod follows;
pub mod inbox;
pub mod invitation_text;
pub mod invitations;
pub mod links;
mod listing;
pub mod organisation_deletion;
pub mod organisations;
pub mod outbound;
pub mod personal_tokens;
pub mod planners;
pub mod preferences;
pub mod reminders;
pub mod runs;
pub mod sessions;
pub mod structure;
pub mod templates;
pub mod users;

use serde::Serialize;

/// A transaction's writes, as the repositories build them: group crates
/// hold, combine and commit them but cannot build one (they cannot name the
/// store's write type).
pub type Writes = Vec<crate::table::WriteOp>;
use serde::de::DeserializeOwned;

use crate::keys::ENTITY_TYPE;
use crate::table::Item;

/// Serialises `value` into an item with its keys and entity type.
pub(crate) fn to_item<T: Serialize>(value: &T, pk: String, sk: String, entity: &str) -> anyhow::Result<Item> {
    let mut item = match serde_json::to_value(value)? {
        serde_json::Value::Object(map) => map,
        other => anyhow::bail!("{entity} did not serialise to an object: {other}"),
    };
    item.insert("PK".into(), pk.into());
    item.insert("SK".into(), sk.into());
    item.insert(ENTITY_TYPE.into(), entity.into());
    Ok(item)
}

/// Deserialises an item (key attributes are ignored by the target type).
pub(crate) fn from_item<T: DeserializeOwned>(item: Item) -> anyhow::Result<T> {
    let entity = item.get(ENTITY_TYPE).and_then(|v| v.as_str()).unwrap_or("item").to_string();
    serde_json::from_value(serde_json::Value::Object(item))
        .map_err(|e| anyhow::anyhow!("stored {entity} is malformed: {e}"))
}
