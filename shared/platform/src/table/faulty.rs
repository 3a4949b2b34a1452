//! A `Table` decorator that fails writes on demand the way DynamoDB can and
//! the embedded table never does (a transaction cancelled by a concurrent
//! one, throttling, a backend error), so the mapping from a storage failure
//! to a problem is tested over both adapters through the real routes.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;

use super::{Condition, Item, Key, Page, Query, Table, TableError, Update, WriteOp};

/// A failure to inject.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// `TransactionCanceledException` with `TransactionConflict`.
    Conflict,
    /// A backend failure (throttling, a 5xx, a dropped connection).
    Backend,
    /// DynamoDB refusing the request itself (`ValidationException`, e.g. an
    /// item over 400 KB): retrying the same write never helps.
    Invalid,
}

impl Fault {
    fn error(self) -> TableError {
        match self {
            Fault::Conflict => TableError::Conflict,
            Fault::Backend => TableError::Backend(anyhow::anyhow!("injected backend failure")),
            Fault::Invalid => TableError::Invalid("injected: item size has exceeded the maximum allowed size".into()),
        }
    }
}

/// Wraps a table; the next writes fail with the queued faults, in order,
/// without reaching the wrapped table.
pub struct FaultyTable {
    inner: Arc<dyn Table>,
    faults: Mutex<VecDeque<Fault>>,
}

impl std::fmt::Debug for FaultyTable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FaultyTable").finish_non_exhaustive()
    }
}

impl FaultyTable {
    /// Delegates to `inner` until faults are queued.
    pub fn new(inner: Arc<dyn Table>) -> Self {
        Self { inner, faults: Mutex::new(VecDeque::new()) }
    }

    /// Makes the next write (single or transaction) fail with `fault`.
    pub fn fail_next_write(&self, fault: Fault) {
        self.faults.lock().unwrap_or_else(|e| e.into_inner()).push_back(fault);
    }

    /// Faults queued and not yet raised.
    pub fn pending(&self) -> usize {
        self.faults.lock().unwrap_or_else(|e| e.into_inner()).len()
    }

    fn injected(&self) -> Result<(), TableError> {
        match self.faults.lock().unwrap_or_else(|e| e.into_inner()).pop_front() {
            Some(fault) => Err(fault.error()),
            None => Ok(()),
        }
    }
}

#[async_trait]
impl Table for FaultyTable {
    async fn get(&self, key: &Key) -> Result<Option<Item>, TableError> {
        self.inner.get(key).await
    }

    async fn batch_get(&self, keys: &[Key]) -> Result<Vec<Item>, TableError> {
        self.inner.batch_get(keys).await
    }

    async fn put(&self, item: Item, condition: Condition) -> Result<(), TableError> {
        self.injected()?;
        self.inner.put(item, condition).await
    }

    async fn update(&self, update: Update) -> Result<Item, TableError> {
        self.injected()?;
        self.inner.update(update).await
    }

    async fn delete(&self, key: &Key, condition: Condition) -> Result<Option<Item>, TableError> {
        self.injected()?;
        self.inner.delete(key, condition).await
    }

    async fn query(&self, query: &Query) -> Result<Page, TableError> {
        self.inner.query(query).await
    }

    async fn transact_write(&self, ops: Vec<WriteOp>) -> Result<(), TableError> {
        self.injected()?;
        self.inner.transact_write(ops).await
    }
}
