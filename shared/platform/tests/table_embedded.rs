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
