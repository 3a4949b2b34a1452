//! The `Table` contract run against the embedded (redb) adapter, plus the
//! durability it promises beyond the contract: acknowledged writes survive
//! closing the database and a crashed process.

use std::process::Command;

use platform::table::embedded::EmbeddedTable;
use platform::table::{Condition, Index, Item, Key, Query, Table, Update};
use serde_json::json;
use tempfile::TempDir;

/// A fresh table in its own temporary directory, removed when dropped.
struct Fresh {
    table: EmbeddedTable,
    _dir: TempDir,
}

impl AsRef<dyn Table> for Fresh {
    fn as_ref(&self) -> &(dyn Table + 'static) {
        &self.table
    }
}

async fn fresh() -> Fresh {
    let dir = tempfile::tempdir().expect("temporary directory");
    // A nested path also checks that missing parent directories are created.
    let table = EmbeddedTable::open(&dir.path().join("nested/dir/table.redb")).expect("open embedded table");
    Fresh { table, _dir: dir }
}

platform::table_contract_tests!(fresh);

/// The contract again on a table opened in shared (multi-process) mode,
/// each call going through one of two handles of the file in turn. Each
/// handle holds its own locks on the file (redb takes open-file-description
/// locks), so two handles behave as two processes: what one writes the
/// other must read, and conditions hold across them.
mod shared_mode {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use async_trait::async_trait;
    use platform::table::embedded::EmbeddedTable;
    use platform::table::{Condition, Item, Key, Page, Query, Table, TableError, Update, WriteOp};
    use tempfile::TempDir;

    pub struct TwoHandles {
        handles: [EmbeddedTable; 2],
        next: AtomicUsize,
        _dir: TempDir,
    }

    impl TwoHandles {
        fn pick(&self) -> &EmbeddedTable {
            &self.handles[self.next.fetch_add(1, Ordering::Relaxed) % 2]
        }
    }

    impl AsRef<dyn Table> for TwoHandles {
        fn as_ref(&self) -> &(dyn Table + 'static) {
            self
        }
    }

    #[async_trait]
    impl Table for TwoHandles {
        async fn get(&self, key: &Key) -> Result<Option<Item>, TableError> {
            self.pick().get(key).await
        }
        async fn batch_get(&self, keys: &[Key]) -> Result<Vec<Item>, TableError> {
            self.pick().batch_get(keys).await
        }
        async fn put(&self, item: Item, condition: Condition) -> Result<(), TableError> {
            self.pick().put(item, condition).await
        }
        async fn update(&self, update: Update) -> Result<Item, TableError> {
            self.pick().update(update).await
        }
        async fn delete(&self, key: &Key, condition: Condition) -> Result<Option<Item>, TableError> {
            self.pick().delete(key, condition).await
        }
        async fn query(&self, query: &Query) -> Result<Page, TableError> {
            self.pick().query(query).await
        }
        async fn transact_write(&self, ops: Vec<WriteOp>) -> Result<(), TableError> {
            self.pick().transact_write(ops).await
        }
    }

    pub async fn fresh() -> TwoHandles {
        let dir = tempfile::tempdir().expect("temporary directory");
        let path = dir.path().join("nested/table.redb");
        let first = EmbeddedTable::open_shared(&path).expect("open shared");
        let second = EmbeddedTable::open_shared(&path).expect("open shared again");
        TwoHandles { handles: [first, second], next: AtomicUsize::new(0), _dir: dir }
    }

    platform::table_contract_tests!(fresh);
}

fn item(pk: &str, sk: &str, n: i64) -> Item {
    let mut item = Item::new();
    item.insert("PK".into(), pk.into());
    item.insert("SK".into(), sk.into());
    item.insert("GSI1PK".into(), "G".into());
    item.insert("GSI1SK".into(), format!("{n:03}").into());
    item.insert("n".into(), n.into());
    item
}

#[tokio::test]
async fn writes_survive_reopening() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let path = dir.path().join("table.redb");
    {
        let table = EmbeddedTable::open(&path).expect("open");
        for n in 0..10 {
            table.put(item("P", &n.to_string(), n), Condition::Always).await.expect("put");
        }
        table.update(Update::new(Key::new("P", "3")).add("n", 100)).await.expect("update");
        table.delete(&Key::new("P", "4"), Condition::Always).await.expect("delete");
    }
    let table = EmbeddedTable::open(&path).expect("reopen");
    let three = table.get(&Key::new("P", "3")).await.expect("get").expect("present");
    assert_eq!(three.get("n"), Some(&json!(103)));
    assert_eq!(table.get(&Key::new("P", "4")).await.expect("get"), None);
    let indexed = table.query(&Query::new(Index::Gsi1, "G")).await.expect("query");
    assert_eq!(indexed.items.len(), 9, "the index survives too");
}

/// Environment variable telling a re-executed test binary to act as the
/// crashing writer.
const CRASH_CHILD: &str = "SUNDIAL_EMBEDDED_CRASH_CHILD";

/// A process that writes and then aborts (no destructors, no clean close,
/// like `kill -9`) loses none of its acknowledged writes.
#[tokio::test]
async fn acknowledged_writes_survive_a_crash() {
    if let Ok(path) = std::env::var(CRASH_CHILD) {
        let table = EmbeddedTable::open(std::path::Path::new(&path)).expect("open in child");
        for n in 0..20 {
            table.put(item("CRASH", &n.to_string(), n), Condition::Always).await.expect("put in child");
        }
        std::process::abort();
    }
    let dir = tempfile::tempdir().expect("temporary directory");
    let path = dir.path().join("table.redb");
    let status = Command::new(std::env::current_exe().expect("test binary"))
        .args(["--exact", "acknowledged_writes_survive_a_crash", "--nocapture", "--test-threads=1"])
        .env(CRASH_CHILD, &path)
        .status()
        .expect("run the crashing child");
    assert!(!status.success(), "the child must have aborted");
    let table = EmbeddedTable::open(&path).expect("reopen after a crash");
    let found = table.query(&Query::new(Index::Primary, "CRASH")).await.expect("query");
    assert_eq!(found.items.len(), 20, "every acknowledged write survived");
}

/// Ordering a string against a number is false here, as in DynamoDB. (Not
/// part of the shared contract: the emulator fails such requests outright.)
#[tokio::test]
async fn ordering_across_types_is_false() {
    use platform::table::{Cmp, TableError};
    let fixture = fresh().await;
    let table = &fixture.table;
    table.put(item("P", "1", 1), Condition::Always).await.expect("put");
    for condition in
        [Condition::Compare("GSI1SK".into(), Cmp::Lt, json!(100)), Condition::Compare("n".into(), Cmp::Ge, json!("0"))]
    {
        let result = table.update(Update::new(Key::new("P", "1")).set("x", 1).when(condition.clone())).await;
        assert!(matches!(result, Err(TableError::ConditionFailed { index: None })), "{condition:?}: {result:?}");
    }
    let unorderable = Condition::Compare("n".into(), Cmp::Lt, json!(true));
    let result = table.update(Update::new(Key::new("P", "1")).when(unorderable)).await;
    assert!(matches!(result, Err(TableError::Invalid(_))), "ordering against a boolean: {result:?}");
}

/// Environment variable telling a re-executed test binary to act as one of
/// several processes sharing a table.
const SHARING_CHILD: &str = "SUNDIAL_EMBEDDED_SHARING_CHILD";

/// Processes sharing one file (the devserver and functions under `cargo
/// lambda watch`) each increment one counter with a read-then-conditional-
/// write loop, as repositories do; no increment is lost, and an exclusive
/// open is refused while the file is shared.
#[tokio::test]
async fn processes_sharing_a_table_lose_no_write() {
    const PROCESSES: usize = 3;
    const INCREMENTS: i64 = 40;
    if let Ok(path) = std::env::var(SHARING_CHILD) {
        let table = EmbeddedTable::open_shared(std::path::Path::new(&path)).expect("open shared in child");
        let key = Key::new("COUNTER", "C");
        let mut done = 0;
        while done < INCREMENTS {
            let current = table.get(&key).await.expect("get").and_then(|i| i.get("n").and_then(|n| n.as_i64()));
            let condition = match current {
                Some(n) => Condition::Compare("n".into(), platform::table::Cmp::Eq, json!(n)),
                None => Condition::NotExists,
            };
            let update = Update::new(key.clone()).set("n", current.unwrap_or(0) + 1).when(condition);
            match table.update(update).await {
                Ok(_) => done += 1,
                Err(platform::table::TableError::ConditionFailed { .. }) => {}
                Err(e) => panic!("update in child: {e:?}"),
            }
        }
        return;
    }
    let dir = tempfile::tempdir().expect("temporary directory");
    let path = dir.path().join("table.redb");
    let parent = EmbeddedTable::open_shared(&path).expect("open shared");
    assert!(EmbeddedTable::open(&path).is_err(), "an exclusive open is refused while the file is shared");
    let children: Vec<_> = (0..PROCESSES)
        .map(|_| {
            Command::new(std::env::current_exe().expect("test binary"))
                .args(["--exact", "processes_sharing_a_table_lose_no_write", "--nocapture", "--test-threads=1"])
                .env(SHARING_CHILD, &path)
                .spawn()
                .expect("spawn a sharing child")
        })
        .collect();
    for mut child in children {
        assert!(child.wait().expect("wait for child").success(), "a child failed");
    }
    let counter = parent.get(&Key::new("COUNTER", "C")).await.expect("get").expect("counter");
    assert_eq!(counter.get("n"), Some(&json!(PROCESSES as i64 * INCREMENTS)), "every increment is kept");
}
