//! Reading a list straight from one query: one page of it, decoded, or
//! every item. The query and the name its cursors are bound to stay in the
//! repository that owns the access pattern; handlers get typed items and
//! the next cursor.

use serde::de::DeserializeOwned;

use crate::error::ApiError;
use crate::pagination::{CursorCodec, ListResponse, PageRequest, query_page};
use crate::store::from_item;
use crate::table::{Item, Query, Table};

/// The page `page` asks for of `query`, its cursors bound to `list`
/// (an invalid cursor is a 400; the last page has no `nextCursor`).
pub(crate) async fn page<T: DeserializeOwned>(
    table: &dyn Table,
    cursors: &CursorCodec,
    list: &str,
    query: Query,
    page: &PageRequest,
) -> Result<ListResponse<T>, ApiError> {
    let (items, next_cursor) = query_page(table, cursors, list, query, page).await?;
    let items = items.into_iter().map(from_item).collect::<anyhow::Result<Vec<T>>>()?;
    Ok(ListResponse { items, next_cursor })
}

/// Every item a query matches, page by page.
pub async fn query_all(table: &dyn Table, mut query: Query) -> anyhow::Result<Vec<Item>> {
    let mut out = Vec::new();
    loop {
        let page = table.query(&query).await?;
        out.extend(page.items);
        match page.last_key {
            Some(last) => query.start_after = Some(last),
            None => break,
        }
    }
    Ok(out)
}
