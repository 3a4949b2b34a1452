//! Cursor pagination: `limit` + an opaque, tamper-evident `cursor`, and the
//! `{items, nextCursor}` envelope. A cursor is the key of the last item
//! returned, bound to the list it came from and signed with HMAC, so a
//! client can neither forge a position nor replay it on another list.

use serde::Serialize;
use utoipa::ToSchema;

use crate::crypto::{b64url, b64url_decode, hmac_sha256, hmac_sha256_verify};
use crate::error::ApiError;
use crate::table::{Index, Item, Query, Table, TableError, key_attributes};

/// Default page size.
pub const DEFAULT_LIMIT: u32 = 25;
/// Largest page size.
pub const MAX_LIMIT: u32 = 100;

/// The list envelope.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ListResponse<T> {
    /// This page's items.
    pub items: Vec<T>,
    /// Pass as `cursor` to get the next page; `null` on the last page.
    pub next_cursor: Option<String>,
}

/// Signs and checks cursors.
#[derive(Clone)]
pub struct CursorCodec {
    key: Vec<u8>,
}

impl std::fmt::Debug for CursorCodec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CursorCodec(***)")
    }
}

impl CursorCodec {
    /// A codec signing with `key`.
    pub fn new(key: Vec<u8>) -> Self {
        Self { key }
    }

    /// Encodes `position` for the list named `list`.
    pub fn encode(&self, list: &str, position: &Item) -> String {
        let payload = serde_json::to_vec(&serde_json::json!({ "l": list, "k": position })).unwrap_or_default();
        let tag = hmac_sha256(&self.key, &payload);
        format!("{}.{}", b64url(&payload), b64url(&tag))
    }

    /// Decodes a cursor for the list named `list`; any tampering, or a cursor
    /// from another list, is a 400 on `cursor`.
    pub fn decode(&self, list: &str, cursor: &str) -> Result<Item, ApiError> {
        let invalid = || ApiError::invalid("cursor", "is not a valid cursor for this list");
        let (payload, tag) = cursor.split_once('.').ok_or_else(invalid)?;
        let payload = b64url_decode(payload).ok_or_else(invalid)?;
        let tag = b64url_decode(tag).ok_or_else(invalid)?;
        if !hmac_sha256_verify(&self.key, &payload, &tag) {
            return Err(invalid());
        }
        let value: serde_json::Value = serde_json::from_slice(&payload).map_err(|_| invalid())?;
        if value["l"] != list {
            return Err(invalid());
        }
        match value.get("k") {
            Some(serde_json::Value::Object(key)) => Ok(key.clone()),
            _ => Err(invalid()),
        }
    }
}

/// A validated page request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageRequest {
    /// Items per page (1–100).
    pub limit: u32,
    /// The raw cursor, if any.
    pub cursor: Option<String>,
}

impl PageRequest {
    /// Checks `limit` (default 25, 1–100).
    pub fn new(limit: Option<u32>, cursor: Option<String>) -> Result<Self, ApiError> {
        let limit = limit.unwrap_or(DEFAULT_LIMIT);
        if !(1..=MAX_LIMIT).contains(&limit) {
            return Err(ApiError::invalid("limit", format!("must be between 1 and {MAX_LIMIT}")));
        }
        Ok(Self { limit, cursor: cursor.filter(|c| !c.is_empty()) })
    }
}

/// Runs `query` for one page: reads one item more than the limit so that
/// `nextCursor` is `null` exactly on the last page.
pub async fn query_page(
    table: &dyn Table,
    codec: &CursorCodec,
    list: &str,
    query: Query,
    page: &PageRequest,
) -> Result<(Vec<Item>, Option<String>), ApiError> {
    let index: Index = query.index;
    let mut query = query.limit(page.limit + 1);
    if let Some(cursor) = &page.cursor {
        let start = codec.decode(list, cursor)?;
        query.start_after = Some(start);
    }
    let mut items = table.query(&query).await.map_err(|e: TableError| ApiError::Internal(e.into()))?.items;
    let next = if items.len() > page.limit as usize {
        items.truncate(page.limit as usize);
        items.last().map(|last| codec.encode(list, &key_attributes(index, last)))
    } else {
        None
    };
    Ok((items, next))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn position() -> Item {
        serde_json::json!({"PK": "ORG#1", "SK": "MEMBER#2"}).as_object().unwrap().clone()
    }

    #[test]
    fn cursors_round_trip() {
        let codec = CursorCodec::new(b"k".to_vec());
        let cursor = codec.encode("members:1", &position());
        assert_eq!(codec.decode("members:1", &cursor).unwrap(), position());
    }

    #[test]
    fn tampered_or_foreign_cursors_are_rejected() {
        let codec = CursorCodec::new(b"k".to_vec());
        let cursor = codec.encode("members:1", &position());
        assert!(codec.decode("members:2", &cursor).is_err());
        let (payload, tag) = cursor.split_once('.').unwrap();
        let forged = b64url(br#"{"l":"members:1","k":{"PK":"ORG#9","SK":"x"}}"#);
        assert!(codec.decode("members:1", &format!("{forged}.{tag}")).is_err());
        assert!(codec.decode("members:1", &format!("{payload}.AAAA")).is_err());
        assert!(CursorCodec::new(b"other".to_vec()).decode("members:1", &cursor).is_err());
        assert!(codec.decode("members:1", "garbage").is_err());
    }

    #[test]
    fn limits_are_bounded() {
        assert_eq!(PageRequest::new(None, None).unwrap().limit, 25);
        assert!(PageRequest::new(Some(0), None).is_err());
        assert!(PageRequest::new(Some(101), None).is_err());
        assert_eq!(PageRequest::new(Some(100), Some(String::new())).unwrap().cursor, None);
    }
}
