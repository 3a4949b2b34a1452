//! A user's attachments (seed 001): files uploaded straight to the blob
//! store with a presigned URL. The item is written `pending` when the URL is
//! handed out (expiring with the table's TTL if never confirmed) and becomes
//! `ready` once the upload is confirmed against the store.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::keys;
use crate::store::from_item;
use crate::store::to_item;
use crate::table::{Condition, Index, Item, Key, Query, SortKey, Table, WriteOp};

/// Content types an attachment may have.
pub const ALLOWED_CONTENT_TYPES: &[&str] = &[
    "image/jpeg",
    "image/png",
    "image/gif",
    "image/webp",
    "image/heic",
    "application/pdf",
    "text/plain",
    "text/csv",
    "audio/mpeg",
    "video/mp4",
    "application/msword",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
];

/// The OpenAPI schema of an upload's declared content type: exactly what
/// the upload route accepts, an allowed type in any letter case, with
/// white space around it (anything else is a 415).
pub fn content_type_schema() -> utoipa::openapi::Object {
    let any_case = |name: &str| -> String {
        name.chars()
            .map(|c| match c {
                c if c.is_ascii_alphabetic() => format!("[{}{}]", c.to_ascii_lowercase(), c.to_ascii_uppercase()),
                c if c.is_ascii_alphanumeric() => c.to_string(),
                c => format!(r"\{c}"),
            })
            .collect()
    };
    let ws = crate::domain::WHITE_SPACE;
    let alternatives: Vec<String> = ALLOWED_CONTENT_TYPES.iter().map(|name| any_case(name)).collect();
    utoipa::openapi::ObjectBuilder::new()
        .schema_type(utoipa::openapi::Type::String)
        .pattern(Some(format!("^{ws}*(?:{}){ws}*$", alternatives.join("|"))))
        .examples(ALLOWED_CONTENT_TYPES.iter().map(|name| serde_json::Value::from(*name)))
        .build()
}

/// Whether an upload finished.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum AttachmentStatus {
    /// An upload URL was handed out; not confirmed yet.
    Pending,
    /// Uploaded and confirmed.
    Ready,
}

/// A stored attachment (also its API view).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Attachment {
    /// Attachment id.
    pub id: Uuid,
    /// The owner.
    pub user_id: Uuid,
    /// The file's name as the client gave it.
    pub file_name: String,
    /// Its content type.
    pub content_type: String,
    /// Its size in bytes.
    pub size: u64,
    /// Upload state.
    pub status: AttachmentStatus,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Last changed.
    pub updated_at: DateTime<Utc>,
    /// Version (also the ETag).
    pub version: i64,
}

/// The blob key of an attachment.
pub fn blob_key(user: Uuid, attachment: Uuid) -> String {
    format!("users/{user}/attachments/{attachment}")
}

/// The key of one attachment.
pub fn key(user: Uuid, attachment: Uuid) -> Key {
    Key::new(keys::user_pk(user), keys::attachment_sk(attachment))
}

/// The write that stores `attachment` if its stored version is `expected`
/// (`None`: new). A pending one carries a TTL so abandoned uploads vanish.
pub fn put_op(
    attachment: &Attachment,
    expected: Option<i64>,
    expires: Option<DateTime<Utc>>,
) -> anyhow::Result<WriteOp> {
    let mut item =
        to_item(attachment, keys::user_pk(attachment.user_id), keys::attachment_sk(attachment.id), "Attachment")?;
    if let Some(at) = expires {
        item.insert(crate::table::TTL.into(), at.timestamp().into());
    }
    let condition = match expected {
        Some(v) => Condition::version_is(v),
        None => Condition::NotExists,
    };
    Ok(WriteOp::Put { item, condition })
}

/// Reads one attachment.
pub async fn get(table: &dyn Table, user: Uuid, attachment: Uuid) -> anyhow::Result<Option<Attachment>> {
    match table.get(&key(user, attachment)).await? {
        Some(item) => Ok(Some(from_item(item)?)),
        None => Ok(None),
    }
}

/// A user's attachments, oldest first.
pub fn list_query(user: Uuid) -> Query {
    Query::new(Index::Primary, keys::user_pk(user)).sort_key(SortKey::BeginsWith(keys::ATTACHMENT_PREFIX.into()))
}

/// Decodes listed items.
pub fn decode(items: Vec<Item>) -> anyhow::Result<Vec<Attachment>> {
    items.into_iter().map(from_item).collect()
}

/// The write that deletes attachment `attachment` of `user` at `version`.
pub fn delete_op(user: Uuid, attachment: Uuid, version: i64) -> WriteOp {
    WriteOp::Delete { key: key(user, attachment), condition: Condition::version_is(version) }
}
