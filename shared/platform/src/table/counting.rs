//! A `Table` decorator that counts what is asked of the table it wraps, so a
//! benchmark (or a test) can state the cost of an operation in requests and
//! items read — the units DynamoDB bills and throttles by — rather than only
//! in time, which depends on the adapter and the machine.
//!
//! It counts calls of the port, not backend round trips: a `query` without a
//! limit is one call here even when the DynamoDB adapter needs several pages.
//! Every call is counted whether it succeeds or not (a failed condition still
//! costs a request).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use async_trait::async_trait;

use super::{Condition, Item, Key, Page, Query, Table, TableError, Update, WriteOp};

/// What was asked of a [`CountingTable`] since it was made or last reset.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TableCounts {
    /// Every call of the port.
    pub requests: u64,
    /// `get` calls.
    pub gets: u64,
    /// `batch_get` calls.
    pub batch_gets: u64,
    /// `query` calls.
    pub queries: u64,
    /// Items returned by `get`, `batch_get` and `query`.
    pub items_read: u64,
    /// `put`, `update` and `delete` calls.
    pub writes: u64,
    /// `transact_write` calls.
    pub transactions: u64,
    /// Items written: one per single write, one per operation of a transaction.
    pub items_written: u64,
}

#[derive(Debug, Default)]
struct Counters {
    requests: AtomicU64,
    gets: AtomicU64,
    batch_gets: AtomicU64,
    queries: AtomicU64,
    items_read: AtomicU64,
    writes: AtomicU64,
    transactions: AtomicU64,
    items_written: AtomicU64,
}

fn bump(counter: &AtomicU64, by: usize) {
    counter.fetch_add(u64::try_from(by).unwrap_or(u64::MAX), Ordering::Relaxed);
}

/// Wraps a table, delegating every call and counting it.
pub struct CountingTable {
    inner: Arc<dyn Table>,
    counters: Counters,
}

impl std::fmt::Debug for CountingTable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CountingTable").field("counts", &self.counts()).finish_non_exhaustive()
    }
}

impl CountingTable {
    /// Counts the calls made of `inner`, from zero.
    pub fn new(inner: Arc<dyn Table>) -> Self {
        Self { inner, counters: Counters::default() }
    }

    /// The counts so far.
    pub fn counts(&self) -> TableCounts {
        let c = &self.counters;
        let load = |a: &AtomicU64| a.load(Ordering::Relaxed);
        TableCounts {
            requests: load(&c.requests),
            gets: load(&c.gets),
            batch_gets: load(&c.batch_gets),
            queries: load(&c.queries),
            items_read: load(&c.items_read),
            writes: load(&c.writes),
            transactions: load(&c.transactions),
            items_written: load(&c.items_written),
        }
    }

    /// Returns the counts so far and starts again from zero.
    pub fn reset(&self) -> TableCounts {
        let c = &self.counters;
        let take = |a: &AtomicU64| a.swap(0, Ordering::Relaxed);
        TableCounts {
            requests: take(&c.requests),
            gets: take(&c.gets),
            batch_gets: take(&c.batch_gets),
            queries: take(&c.queries),
            items_read: take(&c.items_read),
            writes: take(&c.writes),
            transactions: take(&c.transactions),
            items_written: take(&c.items_written),
        }
    }

    fn request(&self, kind: &AtomicU64) {
        bump(&self.counters.requests, 1);
        bump(kind, 1);
    }

    fn write(&self) {
        self.request(&self.counters.writes);
        bump(&self.counters.items_written, 1);
    }
}

#[async_trait]
impl Table for CountingTable {
    async fn get(&self, key: &Key) -> Result<Option<Item>, TableError> {
        self.request(&self.counters.gets);
        let item = self.inner.get(key).await?;
        bump(&self.counters.items_read, usize::from(item.is_some()));
        Ok(item)
    }

    async fn batch_get(&self, keys: &[Key]) -> Result<Vec<Item>, TableError> {
        self.request(&self.counters.batch_gets);
        let items = self.inner.batch_get(keys).await?;
        bump(&self.counters.items_read, items.len());
        Ok(items)
    }

    async fn put(&self, item: Item, condition: Condition) -> Result<(), TableError> {
        self.write();
        self.inner.put(item, condition).await
    }

    async fn update(&self, update: Update) -> Result<Item, TableError> {
        self.write();
        self.inner.update(update).await
    }

    async fn delete(&self, key: &Key, condition: Condition) -> Result<Option<Item>, TableError> {
        self.write();
        self.inner.delete(key, condition).await
    }

    async fn query(&self, query: &Query) -> Result<Page, TableError> {
        self.request(&self.counters.queries);
        let page = self.inner.query(query).await?;
        bump(&self.counters.items_read, page.items.len());
        Ok(page)
    }

    async fn transact_write(&self, ops: Vec<WriteOp>) -> Result<(), TableError> {
        self.request(&self.counters.transactions);
        bump(&self.counters.items_written, ops.len());
        self.inner.transact_write(ops).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::table::Index;
    use crate::table::embedded::EmbeddedTable;

    fn item(pk: &str, sk: &str) -> Item {
        let mut item = Item::new();
        item.insert("PK".into(), pk.into());
        item.insert("SK".into(), sk.into());
        item
    }

    #[tokio::test]
    async fn every_call_is_delegated_and_counted_with_the_items_it_reads_and_writes() {
        let dir = tempfile::tempdir().unwrap();
        let inner: Arc<dyn Table> = Arc::new(EmbeddedTable::open(&dir.path().join("t.redb")).unwrap());
        let table = CountingTable::new(inner.clone());

        table.put(item("P", "a"), Condition::NotExists).await.unwrap();
        let ops = vec![
            WriteOp::Put { item: item("P", "b"), condition: Condition::Always },
            WriteOp::Put { item: item("P", "c"), condition: Condition::Always },
        ];
        table.transact_write(ops).await.unwrap();
        assert!(table.put(item("P", "a"), Condition::NotExists).await.is_err(), "conditions still apply");
        assert_eq!(table.query(&Query::new(Index::Primary, "P")).await.unwrap().items.len(), 3);
        assert!(table.get(&Key::new("P", "a")).await.unwrap().is_some());
        assert!(table.get(&Key::new("P", "missing")).await.unwrap().is_none());
        let keys = [Key::new("P", "b"), Key::new("P", "missing")];
        assert_eq!(table.batch_get(&keys).await.unwrap().len(), 1);
        table.update(Update::new(Key::new("P", "a")).set("n", 1)).await.unwrap();
        table.delete(&Key::new("P", "c"), Condition::Always).await.unwrap();
        assert!(inner.get(&Key::new("P", "c")).await.unwrap().is_none(), "the write reached the inner table");

        let expected = TableCounts {
            requests: 9,
            gets: 2,
            batch_gets: 1,
            queries: 1,
            items_read: 3 + 1 + 1,
            writes: 4,
            transactions: 1,
            items_written: 4 + 2,
        };
        assert_eq!(table.reset(), expected);
        assert_eq!(table.counts(), TableCounts::default(), "reset starts from zero");
    }
}
