//! The organisation's invitation text (seed 003 `invitation-config`): the
//! words invitation mails carry, one small versioned item per organisation.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::keys;
use crate::store::from_item;
use crate::store::to_item;
use crate::table::{Condition, Key, Table, WriteOp};

/// The invitation text (version 0 and no text until one is set).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct InvitationText {
    /// The text, or `null` when none is set.
    pub text: Option<String>,
    /// Last changed.
    pub updated_at: Option<DateTime<Utc>>,
    /// Version (also the ETag); 0 before the first `PUT`.
    pub version: i64,
}

/// Reads the invitation text of `org` (version 0 and no text when none was set).
pub async fn get(table: &dyn Table, org: Uuid) -> anyhow::Result<InvitationText> {
    Ok(match table.get(&Key::new(keys::org_pk(org), keys::INVITATION_TEXT_SK)).await? {
        Some(item) => from_item(item)?,
        None => InvitationText { text: None, updated_at: None, version: 0 },
    })
}

/// The write that stores `text` for `org` if the stored version is still
/// `expected` (0: none stored yet).
pub fn put_op(org: Uuid, text: &InvitationText, expected: i64) -> anyhow::Result<WriteOp> {
    let item = to_item(text, keys::org_pk(org), keys::INVITATION_TEXT_SK.into(), "InvitationText")?;
    let condition = if expected == 0 { Condition::NotExists } else { Condition::version_is(expected) };
    Ok(WriteOp::Put { item, condition })
}
