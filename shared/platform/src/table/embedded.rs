//! The embedded adapter of the [`Table`] port: a single durable file on
//! local disk, managed by [`redb`].
//!
//! It exists so that the development server and the tests run without AWS,
//! yet behave exactly like DynamoDB: the same conditions evaluated atomically
//! with their write, all-or-nothing transactions with the same limits, sort
//! keys ordered by UTF-8 bytes, sparse global secondary indexes and the same
//! paging. Anything DynamoDB rejects as a `ValidationException` is rejected
//! here as [`TableError::Invalid`]; the shared contract suite
//! (`table::contract`) keeps the two adapters honest.
//!
//! Layout inside the redb file:
//! - `items`: `(PK, SK)` to the item as JSON;
//! - `gsi1` / `gsi2`: `(GSI PK, GSI SK, PK, SK)` to nothing. Including the
//!   base key in the index key makes entries unique and breaks ties between
//!   equal GSI sort keys by base key, which is what makes paging with
//!   `start_after` exact. Items lacking either GSI key attribute have no entry
//!   (a sparse index, as in DynamoDB).
//!
//! Every write call is one redb write transaction, committed with redb's
//! default (immediate) durability: once a call returns `Ok`, the write
//! survives a crash or `kill -9`. redb admits one writer at a time (across
//! processes too, for a table opened with [`EmbeddedTable::open_shared`]),
//! so a condition can never be invalidated between its check and its write,
//! and [`TableError::Conflict`] never occurs here.
//!
//! TTL is not enforced: like DynamoDB, which deletes expired items lazily
//! (often days later), readers must treat `ttl` themselves.

use std::collections::HashSet;
use std::ops::Bound;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context;
use async_trait::async_trait;
use redb::{Builder, ConcurrencyMode, Database, ReadableDatabase, ReadableTable, TableDefinition};
use serde_json::{Number, Value};

use super::{
    Cmp, Condition, Index, Item, Key, MAX_BATCH_GET, MAX_TRANSACTION_ITEMS, PK, Page, Query, SK, SortKey, Table,
    TableError, Update, WriteOp, key_attributes,
};

/// Base table: `(PK, SK)` to the item serialised as JSON.
const ITEMS: TableDefinition<(&str, &str), &[u8]> = TableDefinition::new("items");

/// A secondary index table: `(index PK, index SK, PK, SK)` to nothing.
type IndexDefinition = TableDefinition<'static, (&'static str, &'static str, &'static str, &'static str), ()>;
/// GSI1 entries.
const GSI1: IndexDefinition = TableDefinition::new("gsi1");
/// GSI2 entries.
const GSI2: IndexDefinition = TableDefinition::new("gsi2");

/// The two secondary indexes with their redb tables.
const SECONDARY: [(Index, IndexDefinition); 2] = [(Index::Gsi1, GSI1), (Index::Gsi2, GSI2)];

/// A [`Table`] stored in one redb file on local disk.
///
/// Cheap to clone: clones share the open database.
#[derive(Clone)]
pub struct EmbeddedTable {
    db: Arc<Database>,
    path: Arc<PathBuf>,
}

impl std::fmt::Debug for EmbeddedTable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EmbeddedTable").field("path", &self.path).finish()
    }
}

impl EmbeddedTable {
    /// Opens (or creates) the database file at `path`, creating missing
    /// parent directories. The file is locked: a second process opening it
    /// fails rather than corrupting it.
    pub fn open(path: &Path) -> anyhow::Result<Self> {
        Self::open_in(path, ConcurrencyMode::ExclusiveWriter)
    }

    /// Like [`open`](Self::open), but any number of processes that open the
    /// file this way share it: the devserver and the functions run by `cargo
    /// lambda watch`, each its own process, over one data directory. redb's
    /// multi-writer mode coordinates them with byte-range locks on the file:
    /// one write transaction at a time across all of them (a `begin_write`
    /// waits for another process's to end), every transaction sees the
    /// latest commit, and a crashed process's locks go with it. So a
    /// condition is still checked and written atomically. Commits cost a
    /// little more (always two-phase), hence not the default. An
    /// [`open`](Self::open) of the same file fails while it is shared, and
    /// the other way round.
    pub fn open_shared(path: &Path) -> anyhow::Result<Self> {
        Self::open_in(path, ConcurrencyMode::MultiWriter)
    }

    fn open_in(path: &Path, mode: ConcurrencyMode) -> anyhow::Result<Self> {
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent)
                .with_context(|| format!("creating directory {} for the embedded table", parent.display()))?;
        }
        let db = Builder::new()
            .set_concurrency_mode(mode)
            .create(path)
            .with_context(|| format!("opening embedded table {}", path.display()))?;
        // Create the tables up front so read transactions can always open them.
        let txn = db.begin_write().context("starting the schema transaction")?;
        txn.open_table(ITEMS).context("creating the items table")?;
        for (_, def) in SECONDARY {
            txn.open_table(def).context("creating a secondary index table")?;
        }
        txn.commit().context("committing the schema transaction")?;
        Ok(Self { db: Arc::new(db), path: Arc::new(path.to_path_buf()) })
    }

    /// The database file this table lives in.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Runs blocking redb work on the blocking thread pool.
    async fn run<T, F>(&self, work: F) -> Result<T, TableError>
    where
        T: Send + 'static,
        F: FnOnce(&Database) -> Result<T, TableError> + Send + 'static,
    {
        let db = Arc::clone(&self.db);
        tokio::task::spawn_blocking(move || work(&db))
            .await
            .context("embedded table task did not complete")
            .map_err(TableError::Backend)?
    }
}

/// Wraps a redb (or serialisation) failure with what was being done.
fn backend<E>(what: &'static str) -> impl FnOnce(E) -> TableError
where
    E: std::error::Error + Send + Sync + 'static,
{
    move |e| TableError::Backend(anyhow::Error::new(e).context(what))
}

fn invalid(message: impl Into<String>) -> TableError {
    TableError::Invalid(message.into())
}

// ---------------------------------------------------------------------------
// Validation: everything DynamoDB answers with a ValidationException.
// ---------------------------------------------------------------------------

fn is_key_attribute(name: &str) -> bool {
    name == PK || name == SK
}

fn validate_key(key: &Key) -> Result<(), TableError> {
    if key.pk.is_empty() || key.sk.is_empty() {
        return Err(invalid(format!("key attributes may not be empty strings: {key:?}")));
    }
    Ok(())
}

/// Checks an item about to be stored: string, non-empty base keys, and
/// string, non-empty GSI keys where present.
fn validate_item(item: &Item) -> Result<Key, TableError> {
    let key = Key::of(item).ok_or_else(|| invalid("an item needs string PK and SK attributes"))?;
    validate_key(&key)?;
    for (index, _) in SECONDARY {
        let (p, s) = index.key_attributes();
        for name in [p, s] {
            match item.get(name) {
                None => {}
                Some(Value::String(v)) if !v.is_empty() => {}
                Some(_) => return Err(invalid(format!("index key attribute {name} must be a non-empty string"))),
            }
        }
    }
    if item.keys().any(|k| k.is_empty()) {
        return Err(invalid("attribute names may not be empty"));
    }
    Ok(key)
}

fn validate_condition(condition: &Condition) -> Result<(), TableError> {
    match condition {
        Condition::Always | Condition::Exists | Condition::NotExists => Ok(()),
        Condition::AttrExists(name) | Condition::AttrNotExists(name) if name.is_empty() => {
            Err(invalid("condition attribute names may not be empty"))
        }
        Condition::AttrExists(_) | Condition::AttrNotExists(_) => Ok(()),
        Condition::Compare(name, cmp, value) => {
            if name.is_empty() {
                return Err(invalid("condition attribute names may not be empty"));
            }
            // DynamoDB refuses to order booleans, nulls, lists and maps.
            if *cmp != Cmp::Eq && !matches!(value, Value::Number(_) | Value::String(_)) {
                return Err(invalid(format!("operator {cmp:?} needs a number or string operand")));
            }
            Ok(())
        }
        Condition::All(all) | Condition::Any(all) => all.iter().try_for_each(validate_condition),
    }
}

fn validate_update(update: &Update) -> Result<(), TableError> {
    validate_key(&update.key)?;
    validate_condition(&update.condition)?;
    let mut seen = HashSet::new();
    let names = update
        .set
        .keys()
        .map(String::as_str)
        .chain(update.remove.iter().map(String::as_str))
        .chain(update.add.iter().map(|(n, _)| n.as_str()));
    for name in names {
        if name.is_empty() {
            return Err(invalid("attribute names may not be empty"));
        }
        if is_key_attribute(name) {
            return Err(invalid(format!("cannot update key attribute {name}")));
        }
        // DynamoDB: "Two document paths overlap".
        if !seen.insert(name) {
            return Err(invalid(format!("attribute {name} appears twice in one update")));
        }
    }
    Ok(())
}

fn validate_op(op: &WriteOp) -> Result<Key, TableError> {
    match op {
        WriteOp::Put { item, condition } => {
            validate_condition(condition)?;
            validate_item(item)
        }
        WriteOp::Update(update) => {
            validate_update(update)?;
            Ok(update.key.clone())
        }
        WriteOp::Delete { key, condition } | WriteOp::Check { key, condition } => {
            validate_key(key)?;
            validate_condition(condition)?;
            Ok(key.clone())
        }
    }
}

// ---------------------------------------------------------------------------
// Values: DynamoDB numbers have no integer/float distinction, so a float with
// an integral value comes back from DynamoDB as an integer. Store it that way.
// ---------------------------------------------------------------------------

fn normalize(value: Value) -> Value {
    match value {
        Value::Number(n) if !n.is_i64() && !n.is_u64() => match n.as_f64() {
            // The casts are exact: the value is integral and within range.
            Some(f) if f.fract() == 0.0 && f >= -(2f64.powi(63)) && f < 2f64.powi(63) => Value::from(f as i64),
            Some(f) if f.fract() == 0.0 && f >= 0.0 && f < 2f64.powi(64) => Value::from(f as u64),
            _ => Value::Number(n),
        },
        Value::Array(values) => Value::Array(values.into_iter().map(normalize).collect()),
        Value::Object(map) => Value::Object(map.into_iter().map(|(k, v)| (k, normalize(v))).collect()),
        other => other,
    }
}

fn normalize_item(item: Item) -> Item {
    item.into_iter().map(|(k, v)| (k, normalize(v))).collect()
}

fn compare_numbers(a: &Number, b: &Number) -> Option<std::cmp::Ordering> {
    if let (Some(x), Some(y)) = (a.as_i64(), b.as_i64()) {
        return Some(x.cmp(&y));
    }
    if let (Some(x), Some(y)) = (a.as_u64(), b.as_u64()) {
        return Some(x.cmp(&y));
    }
    a.as_f64()?.partial_cmp(&b.as_f64()?)
}

/// DynamoDB equality: same type and same value, numbers numerically.
fn values_equal(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => compare_numbers(x, y) == Some(std::cmp::Ordering::Equal),
        (Value::Array(x), Value::Array(y)) => x.len() == y.len() && x.iter().zip(y).all(|(a, b)| values_equal(a, b)),
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| values_equal(v, w)))
        }
        _ => a == b,
    }
}

fn compare(actual: &Value, cmp: Cmp, expected: &Value) -> bool {
    if cmp == Cmp::Eq {
        return values_equal(actual, expected);
    }
    let ordering = match (actual, expected) {
        (Value::Number(a), Value::Number(b)) => compare_numbers(a, b),
        // `str` orders by UTF-8 bytes, which is DynamoDB's string order.
        (Value::String(a), Value::String(b)) => Some(a.as_str().cmp(b.as_str())),
        _ => None,
    };
    let Some(ordering) = ordering else { return false };
    match cmp {
        Cmp::Eq => ordering.is_eq(),
        Cmp::Lt => ordering.is_lt(),
        Cmp::Le => ordering.is_le(),
        Cmp::Gt => ordering.is_gt(),
        Cmp::Ge => ordering.is_ge(),
    }
}

/// Evaluates a condition against the current item (`None`: no such item).
fn holds(condition: &Condition, item: Option<&Item>) -> bool {
    match condition {
        Condition::Always => true,
        Condition::Exists => item.is_some(),
        Condition::NotExists => item.is_none(),
        Condition::AttrExists(name) => item.is_some_and(|i| i.contains_key(name)),
        Condition::AttrNotExists(name) => !item.is_some_and(|i| i.contains_key(name)),
        Condition::Compare(name, cmp, value) => item.and_then(|i| i.get(name)).is_some_and(|a| compare(a, *cmp, value)),
        Condition::All(all) => all.iter().all(|c| holds(c, item)),
        Condition::Any(any) => any.iter().any(|c| holds(c, item)),
    }
}

/// Applies an update to the current item (or to a fresh item holding only
/// the key: updates are upserts).
fn apply_update(update: &Update, current: Option<Item>) -> Result<Item, TableError> {
    let mut item = current.unwrap_or_else(|| {
        let mut fresh = Item::new();
        fresh.insert(PK.into(), Value::from(update.key.pk.as_str()));
        fresh.insert(SK.into(), Value::from(update.key.sk.as_str()));
        fresh
    });
    for (name, value) in &update.set {
        item.insert(name.clone(), normalize(value.clone()));
    }
    for name in &update.remove {
        item.remove(name);
    }
    for (name, amount) in &update.add {
        let sum = match item.get(name) {
            None => Value::from(*amount),
            Some(Value::Number(n)) => {
                if let Some(sum) = n.as_i64().and_then(|i| i.checked_add(*amount)) {
                    Value::from(sum)
                } else {
                    let f = n.as_f64().unwrap_or(0.0) + *amount as f64;
                    normalize(Number::from_f64(f).map(Value::Number).ok_or_else(|| invalid("number out of range"))?)
                }
            }
            Some(_) => return Err(invalid(format!("cannot add to non-number attribute {name}"))),
        };
        item.insert(name.clone(), sum);
    }
    validate_item(&item)?;
    Ok(item)
}

// ---------------------------------------------------------------------------
// Storage inside one write transaction.
// ---------------------------------------------------------------------------

type BaseTable<'t> = redb::Table<'t, (&'static str, &'static str), &'static [u8]>;
type IndexTable<'t> = redb::Table<'t, (&'static str, &'static str, &'static str, &'static str), ()>;

/// The open tables of one write transaction.
struct Writer<'t> {
    items: BaseTable<'t>,
    indexes: [IndexTable<'t>; 2],
}

impl<'t> Writer<'t> {
    fn open(txn: &'t redb::WriteTransaction) -> Result<Self, TableError> {
        Ok(Self {
            items: txn.open_table(ITEMS).map_err(backend("opening the items table"))?,
            indexes: [
                txn.open_table(GSI1).map_err(backend("opening the GSI1 table"))?,
                txn.open_table(GSI2).map_err(backend("opening the GSI2 table"))?,
            ],
        })
    }

    fn load(&self, key: &Key) -> Result<Option<Item>, TableError> {
        let raw = self.items.get((key.pk.as_str(), key.sk.as_str())).map_err(backend("reading an item"))?;
        raw.map(|v| decode(v.value())).transpose()
    }

    /// Replaces `old` (the current state of `key`) by `new`, keeping the
    /// secondary indexes in step.
    fn store(&mut self, key: &Key, old: Option<&Item>, new: Option<&Item>) -> Result<(), TableError> {
        for (slot, (index, _)) in SECONDARY.iter().enumerate() {
            let before = old.and_then(|i| index_key(*index, i));
            let after = new.and_then(|i| index_key(*index, i));
            if before == after {
                continue;
            }
            let table = &mut self.indexes[slot];
            if let Some((p, s)) = &before {
                table
                    .remove((p.as_str(), s.as_str(), key.pk.as_str(), key.sk.as_str()))
                    .map_err(backend("updating an index"))?;
            }
            if let Some((p, s)) = &after {
                table
                    .insert((p.as_str(), s.as_str(), key.pk.as_str(), key.sk.as_str()), ())
                    .map_err(backend("updating an index"))?;
            }
        }
        let base = (key.pk.as_str(), key.sk.as_str());
        match new {
            Some(item) => {
                let bytes = serde_json::to_vec(item).map_err(backend("serialising an item"))?;
                self.items.insert(base, bytes.as_slice()).map_err(backend("writing an item"))?;
            }
            None => {
                self.items.remove(base).map_err(backend("deleting an item"))?;
            }
        }
        Ok(())
    }

    /// Checks `op`'s condition and applies it. `position` is the operation's
    /// place in a transaction, reported when its condition fails.
    fn apply(&mut self, op: &WriteOp, key: &Key, position: Option<usize>) -> Result<Applied, TableError> {
        let current = self.load(key)?;
        let condition = match op {
            WriteOp::Put { condition, .. } | WriteOp::Delete { condition, .. } | WriteOp::Check { condition, .. } => {
                condition
            }
            WriteOp::Update(update) => &update.condition,
        };
        if !holds(condition, current.as_ref()) {
            return Err(TableError::ConditionFailed { index: position });
        }
        match op {
            WriteOp::Put { item, .. } => {
                let item = normalize_item(item.clone());
                self.store(key, current.as_ref(), Some(&item))?;
                Ok(Applied::Written(item))
            }
            WriteOp::Update(update) => {
                let item = apply_update(update, current.clone())?;
                self.store(key, current.as_ref(), Some(&item))?;
                Ok(Applied::Written(item))
            }
            WriteOp::Delete { .. } => {
                if current.is_some() {
                    self.store(key, current.as_ref(), None)?;
                }
                Ok(Applied::Deleted(current))
            }
            WriteOp::Check { .. } => Ok(Applied::Checked),
        }
    }
}

/// What one applied operation did.
enum Applied {
    Written(Item),
    Deleted(Option<Item>),
    Checked,
}

/// The `(partition, sort)` key of `item` in a secondary index, if it has both.
fn index_key(index: Index, item: &Item) -> Option<(String, String)> {
    let (p, s) = index.key_attributes();
    Some((item.get(p)?.as_str()?.to_owned(), item.get(s)?.as_str()?.to_owned()))
}

fn decode(bytes: &[u8]) -> Result<Item, TableError> {
    serde_json::from_slice(bytes).map_err(backend("decoding a stored item"))
}

/// Runs `op` alone in its own write transaction.
fn write_one(db: &Database, op: &WriteOp) -> Result<Applied, TableError> {
    let key = validate_op(op)?;
    let txn = db.begin_write().map_err(backend("starting a write transaction"))?;
    let applied = {
        let mut writer = Writer::open(&txn)?;
        writer.apply(op, &key, None)?
    };
    if matches!(applied, Applied::Checked) {
        txn.abort().map_err(backend("ending a read-only write transaction"))?;
    } else {
        txn.commit().map_err(backend("committing a write"))?;
    }
    Ok(applied)
}

// ---------------------------------------------------------------------------
// Queries.
// ---------------------------------------------------------------------------

/// Sort-key bounds of a query: inclusive lower, exclusive upper (`None`: the
/// end of the partition). Appending `'\0'` gives the smallest string greater
/// than a value, which turns every condition into this one shape.
fn sort_bounds(condition: Option<&SortKey>) -> Result<(String, Option<String>), TableError> {
    let after = |v: &str| format!("{v}\0");
    Ok(match condition {
        None => (String::new(), None),
        Some(SortKey::Eq(v)) => (v.clone(), Some(after(v))),
        Some(SortKey::BeginsWith(p)) => (p.clone(), prefix_end(p)),
        Some(SortKey::Between(a, b)) => {
            if a > b {
                return Err(invalid(format!("BETWEEN bounds out of order: {a:?} > {b:?}")));
            }
            (a.clone(), Some(after(b)))
        }
        Some(SortKey::Lt(v)) => (String::new(), Some(v.clone())),
        Some(SortKey::Le(v)) => (String::new(), Some(after(v))),
        Some(SortKey::Gt(v)) => (after(v), None),
        Some(SortKey::Ge(v)) => (v.clone(), None),
    })
}

/// The smallest string greater than every string starting with `prefix`
/// (`None` if there is none): the prefix with its last incrementable
/// character incremented. Strings order by code point, as their bytes do.
fn prefix_end(prefix: &str) -> Option<String> {
    let mut chars: Vec<char> = prefix.chars().collect();
    while let Some(last) = chars.pop() {
        let next = (u32::from(last) + 1..=u32::from(char::MAX)).find_map(char::from_u32);
        if let Some(next) = next {
            chars.push(next);
            return Some(chars.into_iter().collect());
        }
    }
    None
}

/// Combines the condition's bounds with an exclusive start key into a redb
/// range, or `None` when the range is empty.
fn range_bounds<K: Ord>(lower: K, upper: K, start: Option<K>, forward: bool) -> Option<(Bound<K>, Bound<K>)> {
    let (lower, upper) = match start {
        Some(s) if forward && s >= lower => (Bound::Excluded(s), upper),
        Some(s) if !forward && s < upper => (Bound::Included(lower), s),
        _ => (Bound::Included(lower), upper),
    };
    let nonempty = match &lower {
        Bound::Included(l) | Bound::Excluded(l) => *l < upper,
        Bound::Unbounded => true,
    };
    nonempty.then_some((lower, Bound::Excluded(upper)))
}

fn string_attr<'a>(item: &'a Item, name: &str) -> Result<&'a str, TableError> {
    item.get(name)
        .and_then(Value::as_str)
        .ok_or_else(|| invalid(format!("the exclusive start key lacks the string attribute {name}")))
}

/// Collects up to `limit` results from an iterator of raw entries, noting
/// whether more remain.
fn take<I, T>(mut iter: I, limit: Option<u32>) -> Result<(Vec<T>, bool), TableError>
where
    I: Iterator<Item = Result<T, TableError>>,
{
    let mut out = Vec::new();
    for entry in iter.by_ref() {
        out.push(entry?);
        if limit.is_some_and(|l| out.len() >= l as usize) {
            // Peek so that a page ending exactly at the partition's end
            // carries no continuation key.
            return Ok((out, iter.next().is_some()));
        }
    }
    Ok((out, false))
}

fn run_query(db: &Database, query: &Query) -> Result<Page, TableError> {
    if query.limit == Some(0) {
        return Err(invalid("a query limit must be at least 1"));
    }
    if query.pk.is_empty() {
        return Err(invalid("the partition key value may not be empty"));
    }
    let (low_sk, high_sk) = sort_bounds(query.sort_key.as_ref())?;
    let pk = query.pk.as_str();
    // Past every key of the partition: the next partition value.
    let next_pk = format!("{pk}\0");
    let txn = db.begin_read().map_err(backend("starting a read transaction"))?;
    let items = txn.open_table(ITEMS).map_err(backend("opening the items table"))?;
    let start = query.start_after.as_ref();

    let (found, more) = match query.index {
        Index::Primary => {
            let lower = (pk, low_sk.as_str());
            let upper = match &high_sk {
                Some(h) => (pk, h.as_str()),
                None => (next_pk.as_str(), ""),
            };
            let start = start.map(|s| Ok::<_, TableError>((string_attr(s, PK)?, string_attr(s, SK)?))).transpose()?;
            let Some(bounds) = range_bounds(lower, upper, start, query.forward) else {
                return Ok(Page::default());
            };
            let range = items.range(bounds).map_err(backend("scanning the items table"))?;
            let iter: Box<dyn Iterator<Item = _>> = if query.forward { Box::new(range) } else { Box::new(range.rev()) };
            let iter = iter.map(|entry| {
                let (_, value) = entry.map_err(backend("scanning the items table"))?;
                decode(value.value())
            });
            take(iter, query.limit)?
        }
        index @ (Index::Gsi1 | Index::Gsi2) => {
            let def = if index == Index::Gsi1 { GSI1 } else { GSI2 };
            let (ipk, isk) = index.key_attributes();
            let table = txn.open_table(def).map_err(backend("opening an index table"))?;
            let lower = (pk, low_sk.as_str(), "", "");
            let upper = match &high_sk {
                Some(h) => (pk, h.as_str(), "", ""),
                None => (next_pk.as_str(), "", "", ""),
            };
            let start = start
                .map(|s| {
                    Ok::<_, TableError>((
                        string_attr(s, ipk)?,
                        string_attr(s, isk)?,
                        string_attr(s, PK)?,
                        string_attr(s, SK)?,
                    ))
                })
                .transpose()?;
            let Some(bounds) = range_bounds(lower, upper, start, query.forward) else {
                return Ok(Page::default());
            };
            let range = table.range(bounds).map_err(backend("scanning an index"))?;
            let iter: Box<dyn Iterator<Item = _>> = if query.forward { Box::new(range) } else { Box::new(range.rev()) };
            let iter = iter.map(|entry| {
                let (key, _) = entry.map_err(backend("scanning an index"))?;
                let (_, _, base_pk, base_sk) = key.value();
                let raw = items.get((base_pk, base_sk)).map_err(backend("reading an indexed item"))?;
                let raw = raw.context("an index entry points at a missing item").map_err(TableError::Backend)?;
                decode(raw.value())
            });
            take(iter, query.limit)?
        }
    };
    let last_key = if more { found.last().map(|item| key_attributes(query.index, item)) } else { None };
    Ok(Page { items: found, last_key })
}

#[async_trait]
impl Table for EmbeddedTable {
    async fn get(&self, key: &Key) -> Result<Option<Item>, TableError> {
        validate_key(key)?;
        let key = key.clone();
        self.run(move |db| {
            let txn = db.begin_read().map_err(backend("starting a read transaction"))?;
            let items = txn.open_table(ITEMS).map_err(backend("opening the items table"))?;
            let raw = items.get((key.pk.as_str(), key.sk.as_str())).map_err(backend("reading an item"))?;
            raw.map(|v| decode(v.value())).transpose()
        })
        .await
    }

    async fn batch_get(&self, keys: &[Key]) -> Result<Vec<Item>, TableError> {
        if keys.len() > MAX_BATCH_GET {
            return Err(invalid(format!("a batch get may ask for at most {MAX_BATCH_GET} keys, not {}", keys.len())));
        }
        let mut seen = HashSet::new();
        for key in keys {
            validate_key(key)?;
            if !seen.insert(key) {
                return Err(invalid(format!("a batch get names {key:?} twice")));
            }
        }
        let keys = keys.to_vec();
        self.run(move |db| {
            // One read transaction: a consistent snapshot, like DynamoDB's
            // consistent batch reads (which are per item, so this is stronger).
            let txn = db.begin_read().map_err(backend("starting a read transaction"))?;
            let items = txn.open_table(ITEMS).map_err(backend("opening the items table"))?;
            let mut found = Vec::with_capacity(keys.len());
            for key in &keys {
                if let Some(raw) = items.get((key.pk.as_str(), key.sk.as_str())).map_err(backend("reading an item"))? {
                    found.push(decode(raw.value())?);
                }
            }
            Ok(found)
        })
        .await
    }

    async fn put(&self, item: Item, condition: Condition) -> Result<(), TableError> {
        let op = WriteOp::Put { item, condition };
        self.run(move |db| write_one(db, &op).map(|_| ())).await
    }

    async fn update(&self, update: Update) -> Result<Item, TableError> {
        let op = WriteOp::Update(update);
        self.run(move |db| match write_one(db, &op)? {
            Applied::Written(item) => Ok(item),
            _ => Err(TableError::Backend(anyhow::anyhow!("an update wrote no item"))),
        })
        .await
    }

    async fn delete(&self, key: &Key, condition: Condition) -> Result<Option<Item>, TableError> {
        let op = WriteOp::Delete { key: key.clone(), condition };
        self.run(move |db| match write_one(db, &op)? {
            Applied::Deleted(old) => Ok(old),
            _ => Err(TableError::Backend(anyhow::anyhow!("a delete did not delete"))),
        })
        .await
    }

    async fn query(&self, query: &Query) -> Result<Page, TableError> {
        let query = query.clone();
        self.run(move |db| run_query(db, &query)).await
    }

    async fn transact_write(&self, ops: Vec<WriteOp>) -> Result<(), TableError> {
        if ops.is_empty() || ops.len() > MAX_TRANSACTION_ITEMS {
            return Err(invalid(format!(
                "a transaction needs 1 to {MAX_TRANSACTION_ITEMS} operations, not {}",
                ops.len()
            )));
        }
        let mut keys = Vec::with_capacity(ops.len());
        let mut seen = HashSet::new();
        for op in &ops {
            let key = validate_op(op)?;
            if !seen.insert(key.clone()) {
                return Err(invalid(format!("a transaction touches {key:?} more than once")));
            }
            keys.push(key);
        }
        self.run(move |db| {
            let txn = db.begin_write().map_err(backend("starting a write transaction"))?;
            {
                let mut writer = Writer::open(&txn)?;
                // Every operation touches a different item, so applying them
                // in order sees the same state as checking all conditions
                // first. An error returns early and dropping `txn` aborts it:
                // nothing is written.
                for (position, (op, key)) in ops.iter().zip(&keys).enumerate() {
                    writer.apply(op, key, Some(position))?;
                }
            }
            txn.commit().map_err(backend("committing a transaction"))
        })
        .await
    }
}
