//! What every repository shares: the item codec (a record with its keys and
//! entity type), [`Writes`] and paging through a query. The repositories
//! themselves live in their contexts (`identity`, `access`, `organisations`,
//! `people`, `calendar`, `scheduling`): one per aggregate, written once on
//! top of the `Table` port, so there is exactly one version of every access
//! pattern.

pub(crate) mod listing;

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
