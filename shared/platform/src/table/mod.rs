//! The `Table` port: the one storage interface every repository is written
//! against. It is a deliberately small subset of DynamoDB's data plane
//! (single-table design), so that the DynamoDB adapter is a thin mapping and
//! the embedded adapter can reproduce the same semantics exactly. Both are
//! held to one contract suite (`contract`).

#[cfg(feature = "testkit")]
pub mod contract;
#[cfg(feature = "testkit")]
pub mod counting;
pub mod dynamo;
#[cfg(feature = "embedded")]
pub mod embedded;
#[cfg(feature = "testkit")]
pub mod faulty;
pub mod layout;

use async_trait::async_trait;
use serde_json::Value;

/// One stored item: attribute name to JSON value. Numbers map to DynamoDB
/// `N`, strings to `S`, booleans to `BOOL`, null to `NULL`, arrays to `L` and
/// objects to `M`.
pub type Item = serde_json::Map<String, Value>;

/// Partition key attribute of the base table.
pub const PK: &str = "PK";
/// Sort key attribute of the base table.
pub const SK: &str = "SK";
/// Attribute holding an item's expiry as Unix seconds (DynamoDB TTL).
pub const TTL: &str = "ttl";

/// The primary key of an item.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Key {
    /// Partition key value (`PK`).
    pub pk: String,
    /// Sort key value (`SK`).
    pub sk: String,
}

impl Key {
    /// Builds a key from its two parts.
    pub fn new(pk: impl Into<String>, sk: impl Into<String>) -> Self {
        Self { pk: pk.into(), sk: sk.into() }
    }

    /// Reads the primary key out of a stored item, if it has one.
    pub fn of(item: &Item) -> Option<Self> {
        Some(Self::new(item.get(PK)?.as_str()?, item.get(SK)?.as_str()?))
    }
}

/// Which index a query reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Index {
    /// The base table, keyed by `PK`/`SK`.
    Primary,
    /// Global secondary index 1, keyed by `GSI1PK`/`GSI1SK`, projecting all attributes.
    Gsi1,
    /// Global secondary index 2, keyed by `GSI2PK`/`GSI2SK`, projecting all attributes.
    Gsi2,
}

impl Index {
    /// Every index, base table first.
    pub const ALL: [Index; 3] = [Index::Primary, Index::Gsi1, Index::Gsi2];

    /// The index name as DynamoDB knows it (`None` for the base table).
    pub fn name(self) -> Option<&'static str> {
        match self {
            Index::Primary => None,
            Index::Gsi1 => Some("GSI1"),
            Index::Gsi2 => Some("GSI2"),
        }
    }

    /// The (partition, sort) key attribute names of this index.
    pub fn key_attributes(self) -> (&'static str, &'static str) {
        match self {
            Index::Primary => (PK, SK),
            Index::Gsi1 => ("GSI1PK", "GSI1SK"),
            Index::Gsi2 => ("GSI2PK", "GSI2SK"),
        }
    }
}

/// A comparison operator for conditions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cmp {
    /// `=`
    Eq,
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
}

/// A write condition, evaluated atomically with the write it guards.
///
/// Comparisons against an attribute the item lacks (or a missing item) are
/// false, as in DynamoDB. Values compare only with values of the same type
/// (numbers numerically, strings by UTF-8 bytes); anything else is false.
#[derive(Debug, Clone, PartialEq)]
pub enum Condition {
    /// No condition.
    Always,
    /// The item must exist (`attribute_exists(PK)`).
    Exists,
    /// The item must not exist (`attribute_not_exists(PK)`).
    NotExists,
    /// The named attribute must be present.
    AttrExists(String),
    /// The named attribute must be absent.
    AttrNotExists(String),
    /// `attribute <op> value`.
    Compare(String, Cmp, Value),
    /// Every condition must hold.
    All(Vec<Condition>),
    /// At least one condition must hold.
    Any(Vec<Condition>),
}

impl Condition {
    /// Optimistic concurrency: the stored `version` attribute equals `version`.
    pub fn version_is(version: i64) -> Self {
        Condition::Compare("version".into(), Cmp::Eq, Value::from(version))
    }

    /// `attribute = value`.
    pub fn eq(attribute: impl Into<String>, value: impl Into<Value>) -> Self {
        Condition::Compare(attribute.into(), Cmp::Eq, value.into())
    }
}

/// A sort-key condition for queries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SortKey {
    /// `SK = v`
    Eq(String),
    /// `begins_with(SK, prefix)`
    BeginsWith(String),
    /// `SK BETWEEN a AND b` (both inclusive)
    Between(String, String),
    /// `SK < v`
    Lt(String),
    /// `SK <= v`
    Le(String),
    /// `SK > v`
    Gt(String),
    /// `SK >= v`
    Ge(String),
}

/// A query over one partition of one index.
#[derive(Debug, Clone)]
pub struct Query {
    /// The index to read.
    pub index: Index,
    /// The partition key value of that index.
    pub pk: String,
    /// Optional condition on the index's sort key.
    pub sort_key: Option<SortKey>,
    /// Ascending sort-key order when true (the default), descending otherwise.
    pub forward: bool,
    /// Maximum number of items to return (`None`: everything, page by page).
    pub limit: Option<u32>,
    /// Exclusive start: the key attributes (`PK`, `SK` and, for a GSI, that
    /// index's key attributes) of the last item already seen.
    pub start_after: Option<Item>,
}

impl Query {
    /// A forward query of the whole partition `pk` of `index`.
    pub fn new(index: Index, pk: impl Into<String>) -> Self {
        Self { index, pk: pk.into(), sort_key: None, forward: true, limit: None, start_after: None }
    }

    /// Restricts the sort key.
    pub fn sort_key(mut self, condition: SortKey) -> Self {
        self.sort_key = Some(condition);
        self
    }

    /// Reads in descending sort-key order.
    pub fn reverse(mut self) -> Self {
        self.forward = false;
        self
    }

    /// Returns at most `limit` items.
    pub fn limit(mut self, limit: u32) -> Self {
        self.limit = Some(limit);
        self
    }

    /// Continues after `item` (only its key attributes for this index are used).
    pub fn start_after(mut self, item: &Item) -> Self {
        self.start_after = Some(key_attributes(self.index, item));
        self
    }
}

/// The key attributes of `item` that identify its position in `index`
/// (base-table keys always included, as DynamoDB's `LastEvaluatedKey` does).
pub fn key_attributes(index: Index, item: &Item) -> Item {
    let (ipk, isk) = index.key_attributes();
    let mut key = Item::new();
    for name in [PK, SK, ipk, isk] {
        if let Some(v) = item.get(name) {
            key.insert(name.to_string(), v.clone());
        }
    }
    key
}

/// One page of query results.
#[derive(Debug, Clone, Default)]
pub struct Page {
    /// Items in index order.
    pub items: Vec<Item>,
    /// Present when the query stopped at its limit: the key to continue from.
    /// It may be present even when no further items exist.
    pub last_key: Option<Item>,
}

/// An update of some attributes of one item (an upsert unless the condition
/// says otherwise).
#[derive(Debug, Clone)]
pub struct Update {
    /// The item to update.
    pub key: Key,
    /// Attributes to set (must not include `PK`/`SK`).
    pub set: Item,
    /// Attributes to remove.
    pub remove: Vec<String>,
    /// Numeric attributes to increment (created at the amount if absent).
    pub add: Vec<(String, i64)>,
    /// Condition on the current item.
    pub condition: Condition,
}

impl Update {
    /// An unconditional update of `key` that changes nothing yet.
    pub fn new(key: Key) -> Self {
        Self { key, set: Item::new(), remove: Vec::new(), add: Vec::new(), condition: Condition::Always }
    }

    /// Sets one attribute.
    pub fn set(mut self, name: impl Into<String>, value: impl Into<Value>) -> Self {
        self.set.insert(name.into(), value.into());
        self
    }

    /// Removes one attribute.
    pub fn remove(mut self, name: impl Into<String>) -> Self {
        self.remove.push(name.into());
        self
    }

    /// Adds `amount` to a numeric attribute.
    pub fn add(mut self, name: impl Into<String>, amount: i64) -> Self {
        self.add.push((name.into(), amount));
        self
    }

    /// Guards the update with a condition.
    pub fn when(mut self, condition: Condition) -> Self {
        self.condition = condition;
        self
    }
}

/// One write inside a transaction.
#[derive(Debug, Clone)]
pub enum WriteOp {
    /// Put (replace) a whole item.
    Put {
        /// The item, with `PK` and `SK`.
        item: Item,
        /// Condition on the current item.
        condition: Condition,
    },
    /// Update some attributes.
    Update(Update),
    /// Delete an item.
    Delete {
        /// The item to delete.
        key: Key,
        /// Condition on the current item.
        condition: Condition,
    },
    /// Only check a condition on an item, writing nothing.
    Check {
        /// The item to check.
        key: Key,
        /// The condition that must hold.
        condition: Condition,
    },
}

impl WriteOp {
    /// The key of the item this operation touches.
    pub fn key(&self) -> Option<Key> {
        match self {
            WriteOp::Put { item, .. } => Key::of(item),
            WriteOp::Update(u) => Some(u.key.clone()),
            WriteOp::Delete { key, .. } | WriteOp::Check { key, .. } => Some(key.clone()),
        }
    }
}

/// Most items one transaction may touch (DynamoDB's limit).
pub const MAX_TRANSACTION_ITEMS: usize = 100;
/// Most keys one batch get may ask for (DynamoDB's limit).
pub const MAX_BATCH_GET: usize = 100;

/// What can go wrong with a table operation.
#[derive(Debug, thiserror::Error)]
pub enum TableError {
    /// A condition did not hold; nothing was written. For a transaction,
    /// `index` is the position of the first operation whose condition failed.
    #[error("condition failed (operation {index:?})")]
    ConditionFailed {
        /// Position of the failing operation within a transaction.
        index: Option<usize>,
    },
    /// Another transaction touched the same items at the same time; nothing
    /// was written and the whole operation may be retried.
    #[error("transaction conflict")]
    Conflict,
    /// The request itself is invalid (too many items, the same item twice in
    /// one transaction, a missing key attribute, ...).
    #[error("invalid table request: {0}")]
    Invalid(String),
    /// The backend failed; the cause chain says why.
    #[error("table backend failed")]
    Backend(#[source] anyhow::Error),
}

impl TableError {
    /// Whether the write lost a race (a condition failed or a transaction
    /// clashed): the data changed since it was read, so reading again and
    /// retrying may succeed. Lets callers outside the repositories decide
    /// without naming the variants.
    pub fn is_race(&self) -> bool {
        matches!(self, TableError::ConditionFailed { .. } | TableError::Conflict)
    }

    /// Whether a condition failed (not a transaction clash).
    pub fn is_condition_failed(&self) -> bool {
        matches!(self, TableError::ConditionFailed { .. })
    }

    /// Whether `err` (anywhere in its chain) is a request the store refuses
    /// as such (an item too large, a malformed request): writing the same
    /// again can never succeed.
    pub fn is_unwritable(err: &anyhow::Error) -> bool {
        err.chain().any(|cause| matches!(cause.downcast_ref::<TableError>(), Some(TableError::Invalid(_))))
    }
}

/// The storage port. All operations are atomic per call; `transact_write` is
/// all-or-nothing across up to [`MAX_TRANSACTION_ITEMS`] items.
#[async_trait]
pub trait Table: Send + Sync + 'static {
    /// Reads one item (strongly consistent).
    async fn get(&self, key: &Key) -> Result<Option<Item>, TableError>;

    /// Reads up to [`MAX_BATCH_GET`] items; missing ones are skipped. The
    /// result follows the order of `keys`.
    async fn batch_get(&self, keys: &[Key]) -> Result<Vec<Item>, TableError>;

    /// Writes a whole item if `condition` holds.
    async fn put(&self, item: Item, condition: Condition) -> Result<(), TableError>;

    /// Updates (or creates) an item if its condition holds; returns the item
    /// as it is after the update.
    async fn update(&self, update: Update) -> Result<Item, TableError>;

    /// Deletes an item if `condition` holds; returns the deleted item, if any.
    async fn delete(&self, key: &Key, condition: Condition) -> Result<Option<Item>, TableError>;

    /// Queries one partition of an index.
    async fn query(&self, query: &Query) -> Result<Page, TableError>;

    /// Applies all operations or none. Each item may appear only once.
    async fn transact_write(&self, ops: Vec<WriteOp>) -> Result<(), TableError>;
}
