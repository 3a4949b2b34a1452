//! The contract every [`Table`] adapter must honour, as executable checks.
//!
//! The port promises DynamoDB semantics; this suite is where that promise is
//! written down precisely enough to test. Each public function exercises one
//! behaviour against a fresh, empty table and panics (via `assert!`) when
//! the adapter deviates. [`table_contract_tests!`](crate::table_contract_tests)
//! turns the whole suite into one `#[tokio::test]` per function for an
//! adapter, so the embedded adapter and the DynamoDB adapter (against the
//! emulator) are held to exactly the same checks.
//!
//! It is compiled as a normal module (not `cfg(test)`) so integration tests
//! of any crate can run it against their own adapters.

use std::collections::HashSet;

use serde_json::{Value, json};

use super::{Cmp, Condition, Index, Item, Key, Page, Query, SortKey, Table, TableError, Update, WriteOp};

/// Generates one `#[tokio::test]` per contract function.
///
/// The argument is a function or closure taking no arguments and returning
/// a future of a fresh, empty table fixture: any value implementing
/// `AsRef<dyn Table>`, such as `Arc<dyn Table>`, `Box<dyn Table>` or a struct
/// that also owns the table's temporary directory. The calling crate needs
/// `tokio` (with `macros` and `rt`) as a (dev-)dependency.
///
/// ```ignore
/// async fn fresh() -> std::sync::Arc<dyn shared::table::Table> { /* ... */ }
/// platform::table_contract_tests!(fresh);
/// ```
#[macro_export]
macro_rules! table_contract_tests {
    ($fresh:expr) => {
        $crate::table_contract_tests!(@each $fresh;
            put_get_delete_roundtrip,
            put_replaces_whole_item,
            values_of_every_type_roundtrip,
            item_without_key_is_invalid,
            conditional_put_refuses_overwrite,
            item_existence_conditions,
            attribute_presence_conditions,
            comparison_conditions,
            combined_conditions,
            version_is_guards_concurrent_writers,
            concurrent_conditional_writes_have_one_winner,
            update_sets_removes_and_adds,
            update_upserts_missing_item,
            update_condition_failure_changes_nothing,
            update_add_to_non_number_is_invalid,
            update_of_key_attributes_is_invalid,
            delete_returns_old_item,
            conditional_delete_keeps_item_on_failure,
            query_sort_key_conditions_on_every_index,
            query_pages_through_partition_on_every_index,
            query_limit_and_last_key,
            query_stays_in_its_partition,
            sort_keys_order_by_utf8_bytes,
            sparse_global_secondary_indexes,
            indexes_follow_updates_and_deletes,
            batch_get_follows_request_order,
            batch_get_limits,
            transaction_applies_every_operation,
            transaction_is_all_or_nothing,
            transaction_check_operations,
            transaction_same_item_twice_is_invalid,
            transaction_size_limits,
        );
    };
    (@each $fresh:expr; $($name:ident),+ $(,)?) => {
        $(
            #[tokio::test]
            async fn $name() {
                let fixture = ($fresh)().await;
                let table: &dyn $crate::table::Table = ::std::convert::AsRef::as_ref(&fixture);
                $crate::table::contract::$name(table).await;
            }
        )+
    };
}

// ---------------------------------------------------------------------------
// Helpers.
// ---------------------------------------------------------------------------

/// Builds an item from `PK`, `SK` and a JSON object of further attributes.
fn item(pk: &str, sk: &str, rest: Value) -> Item {
    let mut item = Item::new();
    item.insert("PK".into(), pk.into());
    item.insert("SK".into(), sk.into());
    if let Value::Object(rest) = rest {
        item.extend(rest);
    }
    item
}

async fn put(t: &dyn Table, item: Item) {
    let key = Key::of(&item);
    t.put(item, Condition::Always).await.unwrap_or_else(|e| panic!("put {key:?} failed: {e:?}"));
}

async fn get(t: &dyn Table, key: &Key) -> Option<Item> {
    t.get(key).await.unwrap_or_else(|e| panic!("get {key:?} failed: {e:?}"))
}

async fn query(t: &dyn Table, q: &Query) -> Page {
    t.query(q).await.unwrap_or_else(|e| panic!("query {q:?} failed: {e:?}"))
}

fn attr<'a>(item: &'a Item, name: &str) -> &'a str {
    item.get(name).and_then(Value::as_str).unwrap_or_else(|| panic!("{item:?} lacks string attribute {name}"))
}

/// The values of `name` in each item, in order.
fn column(items: &[Item], name: &str) -> Vec<String> {
    items.iter().map(|i| attr(i, name).to_owned()).collect()
}

fn assert_condition_failed<T: std::fmt::Debug>(result: Result<T, TableError>, index: Option<usize>, what: &str) {
    match result {
        Err(TableError::ConditionFailed { index: got }) => assert_eq!(got, index, "{what}: wrong failing index"),
        other => panic!("{what}: expected ConditionFailed {{ index: {index:?} }}, got {other:?}"),
    }
}

fn assert_invalid<T: std::fmt::Debug>(result: Result<T, TableError>, what: &str) {
    assert!(matches!(result, Err(TableError::Invalid(_))), "{what}: expected Invalid, got {result:?}");
}

/// Reads a whole query page by page with `page_size`, checking each page.
async fn collect_pages(t: &dyn Table, mut q: Query, page_size: u32) -> Vec<Item> {
    q.limit = Some(page_size);
    let mut all = Vec::new();
    for _ in 0..1000 {
        let page = query(t, &q).await;
        assert!(page.items.len() <= page_size as usize, "a page exceeded its limit");
        let full = page.items.len() == page_size as usize;
        all.extend(page.items);
        match page.last_key {
            Some(last) => q.start_after = Some(last),
            None => {
                return all;
            }
        }
        assert!(full, "a short page carried a continuation key");
    }
    panic!("paging did not terminate");
}

// ---------------------------------------------------------------------------
// Items.
// ---------------------------------------------------------------------------

/// Put, get and delete one item; a missing item reads as `None`.
pub async fn put_get_delete_roundtrip(t: &dyn Table) {
    let key = Key::new("USER#1", "PROFILE");
    assert_eq!(get(t, &key).await, None, "a fresh table is empty");
    let stored = item("USER#1", "PROFILE", json!({"name": "Ada", "age": 36}));
    put(t, stored.clone()).await;
    assert_eq!(get(t, &key).await, Some(stored.clone()));
    assert_eq!(get(t, &Key::new("USER#1", "OTHER")).await, None, "same PK, other SK is another item");
    let deleted = t.delete(&key, Condition::Always).await.expect("delete");
    assert_eq!(deleted, Some(stored));
    assert_eq!(get(t, &key).await, None, "deleted item is gone");
    let again = t.delete(&key, Condition::Always).await.expect("deleting a missing item succeeds");
    assert_eq!(again, None, "deleting a missing item returns nothing");
}

/// A put replaces the whole item, dropping attributes it does not name.
pub async fn put_replaces_whole_item(t: &dyn Table) {
    let key = Key::new("P", "S");
    put(t, item("P", "S", json!({"a": 1, "b": 2}))).await;
    put(t, item("P", "S", json!({"c": 3}))).await;
    assert_eq!(get(t, &key).await, Some(item("P", "S", json!({"c": 3}))));
}

/// Every JSON type survives a round trip; integral floats come back as
/// integers because DynamoDB numbers have no such distinction.
pub async fn values_of_every_type_roundtrip(t: &dyn Table) {
    let attributes = json!({
        "string": "héllo ✓", "empty": "", "int": 42, "negative": -7, "big": 9_007_199_254_740_993_i64,
        "float": 1.5, "bool": true, "null": null,
        "list": [1, "two", false, null, {"three": 3}],
        "map": {"nested": {"deeper": [1, 2]}, "flag": false},
        "empty_list": [], "empty_map": {}
    });
    put(t, item("TYPES", "ALL", attributes.clone())).await;
    assert_eq!(get(t, &Key::new("TYPES", "ALL")).await, Some(item("TYPES", "ALL", attributes)));

    put(t, item("TYPES", "INTEGRAL", json!({"n": 2.0}))).await;
    let read = get(t, &Key::new("TYPES", "INTEGRAL")).await.expect("stored");
    assert_eq!(read.get("n"), Some(&json!(2)), "2.0 reads back as the number 2");
}

/// Items without string `PK`/`SK` cannot be stored.
pub async fn item_without_key_is_invalid(t: &dyn Table) {
    let mut no_sk = Item::new();
    no_sk.insert("PK".into(), "P".into());
    assert_invalid(t.put(no_sk, Condition::Always).await, "put without SK");
    let mut numeric_pk = item("P", "S", json!({}));
    numeric_pk.insert("PK".into(), json!(1));
    assert_invalid(t.put(numeric_pk, Condition::Always).await, "put with a numeric PK");
    let numeric_index_key = item("P", "S", json!({"GSI1PK": 5, "GSI1SK": "x"}));
    assert_invalid(t.put(numeric_index_key, Condition::Always).await, "put with a numeric GSI key");
    assert_eq!(get(t, &Key::new("P", "S")).await, None, "nothing was stored");
}

// ---------------------------------------------------------------------------
// Conditions.
// ---------------------------------------------------------------------------

/// Checks `condition` against the item at `key` through a conditional
/// update, which must succeed exactly when the condition holds.
async fn expect_condition(t: &dyn Table, key: &Key, condition: Condition, holds: bool) {
    let result = t.update(Update::new(key.clone()).set("probe", 1).when(condition.clone())).await;
    if holds {
        assert!(result.is_ok(), "{condition:?} should hold: {result:?}");
    } else {
        assert_condition_failed(result, None, &format!("{condition:?} should not hold"));
    }
}

/// Checks `condition` against a missing item through a conditional delete
/// (which, unlike an update, does not create the item).
async fn expect_condition_on_missing(t: &dyn Table, condition: Condition, holds: bool) {
    let key = Key::new("MISSING", "ITEM");
    let result = t.delete(&key, condition.clone()).await;
    if holds {
        assert!(matches!(result, Ok(None)), "{condition:?} should hold for a missing item: {result:?}");
    } else {
        assert_condition_failed(result, None, &format!("{condition:?} should not hold for a missing item"));
    }
}

/// `NotExists` makes a put create-only.
pub async fn conditional_put_refuses_overwrite(t: &dyn Table) {
    let first = item("ORG#1", "META", json!({"name": "first"}));
    t.put(first.clone(), Condition::NotExists).await.expect("creating a new item");
    let second = item("ORG#1", "META", json!({"name": "second"}));
    assert_condition_failed(t.put(second, Condition::NotExists).await, None, "overwriting with NotExists");
    assert_eq!(get(t, &Key::new("ORG#1", "META")).await, Some(first), "the original is untouched");
}

/// `Exists` and `NotExists` on present and missing items, for every kind of write.
pub async fn item_existence_conditions(t: &dyn Table) {
    let key = Key::new("E", "1");
    assert_condition_failed(
        t.put(item("E", "1", json!({})), Condition::Exists).await,
        None,
        "put with Exists on a missing item",
    );
    assert_condition_failed(
        t.update(Update::new(key.clone()).set("a", 1).when(Condition::Exists)).await,
        None,
        "update with Exists on a missing item",
    );
    assert_eq!(get(t, &key).await, None, "a failed conditional update creates nothing");
    expect_condition_on_missing(t, Condition::Exists, false).await;
    expect_condition_on_missing(t, Condition::NotExists, true).await;

    put(t, item("E", "1", json!({"a": 0}))).await;
    expect_condition(t, &key, Condition::Exists, true).await;
    expect_condition(t, &key, Condition::NotExists, false).await;
    t.put(item("E", "1", json!({"a": 2})), Condition::Exists).await.expect("put with Exists on a present item");
    assert_condition_failed(t.delete(&key, Condition::NotExists).await, None, "delete with NotExists");
    let deleted = t.delete(&key, Condition::Exists).await.expect("delete with Exists");
    assert_eq!(deleted, Some(item("E", "1", json!({"a": 2}))));
}

/// `AttrExists`/`AttrNotExists`, including on a missing item.
pub async fn attribute_presence_conditions(t: &dyn Table) {
    let key = Key::new("A", "1");
    put(t, item("A", "1", json!({"present": "yes", "nothing": null}))).await;
    expect_condition(t, &key, Condition::AttrExists("present".into()), true).await;
    expect_condition(t, &key, Condition::AttrExists("absent".into()), false).await;
    expect_condition(t, &key, Condition::AttrExists("nothing".into()), true).await;
    expect_condition(t, &key, Condition::AttrNotExists("absent".into()), true).await;
    expect_condition(t, &key, Condition::AttrNotExists("present".into()), false).await;
    expect_condition_on_missing(t, Condition::AttrExists("present".into()), false).await;
    expect_condition_on_missing(t, Condition::AttrNotExists("present".into()), true).await;
}

/// Every comparison operator on numbers and strings; missing attributes and
/// mismatched types compare false.
pub async fn comparison_conditions(t: &dyn Table) {
    let key = Key::new("C", "1");
    put(t, item("C", "1", json!({"n": 5, "f": 2.5, "s": "m", "b": true, "l": [1, 2], "name with spaces": "x"}))).await;
    let cmp = |name: &str, op: Cmp, v: Value| Condition::Compare(name.into(), op, v);
    let cases = [
        (cmp("n", Cmp::Eq, json!(5)), true),
        (cmp("n", Cmp::Eq, json!(6)), false),
        (cmp("n", Cmp::Lt, json!(6)), true),
        (cmp("n", Cmp::Lt, json!(5)), false),
        (cmp("n", Cmp::Le, json!(5)), true),
        (cmp("n", Cmp::Le, json!(4)), false),
        (cmp("n", Cmp::Gt, json!(4)), true),
        (cmp("n", Cmp::Gt, json!(5)), false),
        (cmp("n", Cmp::Ge, json!(5)), true),
        (cmp("n", Cmp::Ge, json!(6)), false),
        // Numbers compare numerically, not as text.
        (cmp("n", Cmp::Lt, json!(10)), true),
        (cmp("n", Cmp::Gt, json!(-10)), true),
        (cmp("f", Cmp::Gt, json!(2)), true),
        (cmp("f", Cmp::Lt, json!(2.75)), true),
        (cmp("s", Cmp::Eq, json!("m")), true),
        (cmp("s", Cmp::Lt, json!("n")), true),
        (cmp("s", Cmp::Gt, json!("l")), true),
        // Byte order: uppercase sorts before lowercase.
        (cmp("s", Cmp::Gt, json!("Z")), true),
        (cmp("s", Cmp::Le, json!("M")), false),
        (cmp("b", Cmp::Eq, json!(true)), true),
        (cmp("b", Cmp::Eq, json!(false)), false),
        (cmp("l", Cmp::Eq, json!([1, 2])), true),
        (cmp("name with spaces", Cmp::Eq, json!("x")), true),
        // Different types are never equal or ordered.
        (cmp("n", Cmp::Eq, json!("5")), false),
        (cmp("b", Cmp::Eq, json!("true")), false),
        // A missing attribute fails every comparison.
        (cmp("missing", Cmp::Eq, json!(5)), false),
        (cmp("missing", Cmp::Lt, json!(5)), false),
        (cmp("missing", Cmp::Ge, json!("")), false),
        (Condition::eq("n", 5), true),
        (Condition::version_is(5), false),
    ];
    for (condition, holds) in cases {
        expect_condition(t, &key, condition, holds).await;
    }
    expect_condition_on_missing(t, cmp("n", Cmp::Lt, json!(100)), false).await;
    expect_condition_on_missing(t, Condition::version_is(0), false).await;
}

/// `All`/`Any`, nested, with `Always` inside, and their empty forms.
pub async fn combined_conditions(t: &dyn Table) {
    let key = Key::new("C", "2");
    put(t, item("C", "2", json!({"n": 5, "s": "x"}))).await;
    let yes = || Condition::eq("n", 5);
    let no = || Condition::eq("n", 6);
    let cases = [
        (Condition::All(vec![yes(), Condition::eq("s", "x")]), true),
        (Condition::All(vec![yes(), no()]), false),
        (Condition::Any(vec![no(), yes()]), true),
        (Condition::Any(vec![no(), Condition::eq("s", "y")]), false),
        (Condition::All(vec![Condition::Any(vec![no(), yes()]), Condition::Any(vec![Condition::eq("s", "x")])]), true),
        (Condition::Any(vec![Condition::All(vec![yes(), no()]), Condition::All(vec![no()])]), false),
        (Condition::All(vec![]), true),
        (Condition::Any(vec![]), false),
        (Condition::All(vec![Condition::Always, yes()]), true),
        (Condition::All(vec![Condition::Always, no()]), false),
        (Condition::Any(vec![Condition::Always, no()]), true),
        (Condition::Any(vec![Condition::All(vec![]), no()]), true),
        (Condition::All(vec![Condition::Any(vec![]), yes()]), false),
        (Condition::Always, true),
    ];
    for (condition, holds) in cases {
        expect_condition(t, &key, condition, holds).await;
    }
    expect_condition_on_missing(t, Condition::Any(vec![Condition::NotExists, Condition::eq("n", 1)]), true).await;
    expect_condition_on_missing(t, Condition::All(vec![Condition::Any(vec![])]), false).await;
}

/// Optimistic concurrency: of two writers holding version 1, only the
/// first to write wins.
pub async fn version_is_guards_concurrent_writers(t: &dyn Table) {
    let key = Key::new("DOC", "1");
    put(t, item("DOC", "1", json!({"version": 1, "body": "v1"}))).await;
    let first = Update::new(key.clone()).set("body", "first").add("version", 1).when(Condition::version_is(1));
    let after = t.update(first).await.expect("first writer");
    assert_eq!(after.get("version"), Some(&json!(2)));
    let second = Update::new(key.clone()).set("body", "second").add("version", 1).when(Condition::version_is(1));
    assert_condition_failed(t.update(second).await, None, "stale writer");
    let stored = get(t, &key).await.expect("stored");
    assert_eq!(stored.get("body"), Some(&json!("first")));
    assert_eq!(stored.get("version"), Some(&json!(2)));
}

/// Concurrent create-only writes of one item: exactly one wins, and the
/// stored item is the winner's.
pub async fn concurrent_conditional_writes_have_one_winner(t: &dyn Table) {
    let attempt = |n: i64| t.put(item("RACE", "1", json!({"writer": n})), Condition::NotExists);
    let (a, b, c, d) = tokio::join!(attempt(0), attempt(1), attempt(2), attempt(3));
    let results = [a, b, c, d];
    let winners: Vec<usize> = results.iter().enumerate().filter(|(_, r)| r.is_ok()).map(|(n, _)| n).collect();
    assert_eq!(winners.len(), 1, "exactly one create wins: {results:?}");
    for result in results.iter().filter(|r| r.is_err()) {
        assert!(matches!(result, Err(TableError::ConditionFailed { index: None })), "losers fail their condition");
    }
    let stored = get(t, &Key::new("RACE", "1")).await.expect("stored");
    assert_eq!(stored.get("writer"), Some(&json!(winners[0])));
}

// ---------------------------------------------------------------------------
// Updates and deletes.
// ---------------------------------------------------------------------------

/// Set, remove and add together; the returned item is the stored one.
pub async fn update_sets_removes_and_adds(t: &dyn Table) {
    let key = Key::new("U", "1");
    put(t, item("U", "1", json!({"keep": "k", "gone": "g", "count": 10, "old": 1}))).await;
    let update = Update::new(key.clone())
        .set("old", json!({"now": "a map"}))
        .set("fresh", "f")
        .remove("gone")
        .remove("never-there")
        .add("count", -3)
        .add("created", 5);
    let returned = t.update(update).await.expect("update");
    let expected =
        item("U", "1", json!({"keep": "k", "count": 7, "created": 5, "old": {"now": "a map"}, "fresh": "f"}));
    assert_eq!(returned, expected, "update returns the item after the update");
    assert_eq!(get(t, &key).await, Some(expected));
}

/// An update of a missing item creates it (upsert), also with only `add`.
pub async fn update_upserts_missing_item(t: &dyn Table) {
    let created = t.update(Update::new(Key::new("U", "new")).set("name", "n")).await.expect("upsert");
    assert_eq!(created, item("U", "new", json!({"name": "n"})));
    assert_eq!(get(t, &Key::new("U", "new")).await, Some(created));

    let counter = t.update(Update::new(Key::new("U", "counter")).add("hits", 1)).await.expect("add upsert");
    assert_eq!(counter, item("U", "counter", json!({"hits": 1})));
    let counter = t.update(Update::new(Key::new("U", "counter")).add("hits", 1)).await.expect("add again");
    assert_eq!(counter.get("hits"), Some(&json!(2)));

    // Even an update that changes nothing creates the item, alone or in a transaction.
    let bare = t.update(Update::new(Key::new("U", "bare"))).await.expect("empty update");
    assert_eq!(bare, item("U", "bare", json!({})));
    t.transact_write(vec![WriteOp::Update(Update::new(Key::new("U", "bare-tx")))]).await.expect("empty update");
    assert_eq!(get(t, &Key::new("U", "bare-tx")).await, Some(item("U", "bare-tx", json!({}))));

    let guarded = Update::new(Key::new("U", "guarded")).set("a", 1).when(Condition::NotExists);
    t.update(guarded.clone()).await.expect("create-only update of a missing item");
    assert_condition_failed(t.update(guarded).await, None, "create-only update of a present item");
}

/// A failed condition leaves the item exactly as it was.
pub async fn update_condition_failure_changes_nothing(t: &dyn Table) {
    let key = Key::new("U", "2");
    let original = item("U", "2", json!({"state": "open", "n": 1}));
    put(t, original.clone()).await;
    let update =
        Update::new(key.clone()).set("state", "closed").remove("n").add("m", 1).when(Condition::eq("state", "closed"));
    assert_condition_failed(t.update(update).await, None, "update guarded by a false condition");
    assert_eq!(get(t, &key).await, Some(original));
    let ok = Update::new(key.clone()).set("state", "closed").when(Condition::eq("state", "open"));
    assert_eq!(t.update(ok).await.expect("true condition").get("state"), Some(&json!("closed")));
}

/// `add` to an attribute that is not a number is rejected.
pub async fn update_add_to_non_number_is_invalid(t: &dyn Table) {
    let key = Key::new("U", "3");
    let original = item("U", "3", json!({"label": "text"}));
    put(t, original.clone()).await;
    assert_invalid(t.update(Update::new(key.clone()).add("label", 1)).await, "add to a string");
    assert_eq!(get(t, &key).await, Some(original));
}

/// Key attributes cannot be changed by an update, and no attribute may be
/// changed twice by one.
pub async fn update_of_key_attributes_is_invalid(t: &dyn Table) {
    let key = Key::new("U", "4");
    put(t, item("U", "4", json!({}))).await;
    assert_invalid(t.update(Update::new(key.clone()).set("SK", "other")).await, "setting SK");
    assert_invalid(t.update(Update::new(key.clone()).remove("PK")).await, "removing PK");
    assert_invalid(t.update(Update::new(key.clone()).set("a", 1).remove("a")).await, "set and remove one attribute");
    assert_invalid(t.update(Update::new(key.clone()).set("a", 1).add("a", 1)).await, "set and add one attribute");
    assert_eq!(get(t, &key).await, Some(item("U", "4", json!({}))));
}

/// A delete returns what it deleted.
pub async fn delete_returns_old_item(t: &dyn Table) {
    let stored = item("D", "1", json!({"x": [1, 2, 3]}));
    put(t, stored.clone()).await;
    let deleted = t.delete(&Key::new("D", "1"), Condition::eq("x", json!([1, 2, 3]))).await.expect("delete");
    assert_eq!(deleted, Some(stored));
    assert_eq!(get(t, &Key::new("D", "1")).await, None);
}

/// A conditional delete whose condition fails deletes nothing.
pub async fn conditional_delete_keeps_item_on_failure(t: &dyn Table) {
    let stored = item("D", "2", json!({"version": 3}));
    put(t, stored.clone()).await;
    assert_condition_failed(t.delete(&Key::new("D", "2"), Condition::version_is(2)).await, None, "stale delete");
    assert_eq!(get(t, &Key::new("D", "2")).await, Some(stored));
}

// ---------------------------------------------------------------------------
// Queries.
// ---------------------------------------------------------------------------

/// Sort keys chosen to expose text-vs-number and case ordering mistakes.
const SORT_VALUES: [&str; 11] = ["a", "a#1", "a#10", "a#2", "a#9", "b", "b#1", "B#1", "Z", "c", "é"];

/// Puts one item per sort value, keyed identically in all three indexes
/// (partition "P" in the base table, "G1"/"G2" in the GSIs).
async fn put_sorted_items(t: &dyn Table) {
    for (n, sk) in SORT_VALUES.iter().enumerate() {
        put(t, item("P", sk, json!({"GSI1PK": "G1", "GSI1SK": sk, "GSI2PK": "G2", "GSI2SK": sk, "n": n}))).await;
    }
    // Neighbouring partitions that must never leak into results.
    put(t, item("P#", "a", json!({"GSI1PK": "G1#", "GSI1SK": "a", "GSI2PK": "G", "GSI2SK": "a"}))).await;
}

/// Every `SortKey` variant, forward and reverse, on every index.
pub async fn query_sort_key_conditions_on_every_index(t: &dyn Table) {
    put_sorted_items(t).await;
    let mut sorted: Vec<&str> = SORT_VALUES.to_vec();
    sorted.sort_unstable();
    type Pick = fn(&str) -> bool;
    let cases: [(Option<SortKey>, Pick); 12] = [
        (None, |_| true),
        (Some(SortKey::Eq("a#10".into())), |s| s == "a#10"),
        (Some(SortKey::Eq("a#3".into())), |_| false),
        (Some(SortKey::BeginsWith("a#1".into())), |s| s.starts_with("a#1")),
        (Some(SortKey::BeginsWith("a".into())), |s| s.starts_with('a')),
        (Some(SortKey::BeginsWith("b".into())), |s| s.starts_with('b')),
        (Some(SortKey::Between("a#10".into(), "b".into())), |s| ("a#10"..="b").contains(&s)),
        (Some(SortKey::Lt("a#2".into())), |s| s < "a#2"),
        (Some(SortKey::Le("a#2".into())), |s| s <= "a#2"),
        (Some(SortKey::Gt("a#2".into())), |s| s > "a#2"),
        (Some(SortKey::Ge("a#2".into())), |s| s >= "a#2"),
        (Some(SortKey::Gt("b#1".into())), |s| s > "b#1"),
    ];
    for index in Index::ALL {
        let (_, sort_attribute) = index.key_attributes();
        let partition = match index {
            Index::Primary => "P",
            Index::Gsi1 => "G1",
            Index::Gsi2 => "G2",
        };
        for (condition, pick) in &cases {
            let expected: Vec<String> = sorted.iter().filter(|s| pick(s)).map(|s| s.to_string()).collect();
            let mut q = Query::new(index, partition);
            q.sort_key = condition.clone();
            let forward = query(t, &q).await;
            assert_eq!(column(&forward.items, sort_attribute), expected, "{index:?} {condition:?} forward");
            assert!(forward.last_key.is_none(), "{index:?} {condition:?}: no limit, no continuation");
            let reverse = query(t, &q.clone().reverse()).await;
            let mut reversed = expected.clone();
            reversed.reverse();
            assert_eq!(column(&reverse.items, sort_attribute), reversed, "{index:?} {condition:?} reverse");
        }
    }
}

/// ~30 items read page by page in both directions, on every index: nothing
/// repeated, nothing missed. GSI sort keys repeat, so ties must page
/// correctly too.
pub async fn query_pages_through_partition_on_every_index(t: &dyn Table) {
    for n in 0..30 {
        let sk = n.to_string();
        let fields = json!({"GSI1PK": "TIES", "GSI1SK": format!("s{}", n % 4), "GSI2PK": "UNIQUE", "GSI2SK": format!("{:02}", 29 - n)});
        put(t, item("PAGED", &sk, fields)).await;
    }
    for index in Index::ALL {
        let partition = match index {
            Index::Primary => "PAGED",
            Index::Gsi1 => "TIES",
            Index::Gsi2 => "UNIQUE",
        };
        let (_, sort_attribute) = index.key_attributes();
        for forward in [true, false] {
            let mut q = Query::new(index, partition);
            q.forward = forward;
            let whole = query(t, &q).await.items;
            assert_eq!(whole.len(), 30, "{index:?}: the whole partition");
            let sorts = column(&whole, sort_attribute);
            let mut ordered = sorts.clone();
            ordered.sort_unstable();
            if !forward {
                ordered.reverse();
            }
            assert_eq!(sorts, ordered, "{index:?} forward={forward}: index order");
            for page_size in [1, 7, 10, 30, 31] {
                let paged = collect_pages(t, q.clone(), page_size).await;
                let keys: Vec<_> = paged.iter().map(|i| Key::of(i).expect("key")).collect();
                let unique: HashSet<_> = keys.iter().collect();
                assert_eq!(unique.len(), keys.len(), "{index:?} forward={forward} pages of {page_size}: duplicates");
                assert_eq!(paged, whole, "{index:?} forward={forward} pages of {page_size}: same as one query");
            }
        }
        // Paging also composes with a sort-key condition.
        let bounded = Query::new(index, partition).sort_key(SortKey::Ge("2".into()));
        let bounded = match index {
            Index::Gsi1 => bounded.sort_key(SortKey::Between("s1".into(), "s2".into())),
            _ => bounded,
        };
        let whole = query(t, &bounded).await.items;
        assert!(!whole.is_empty() && whole.len() < 30, "{index:?}: the condition selects part of the partition");
        assert_eq!(collect_pages(t, bounded, 4).await, whole, "{index:?}: paging with a sort-key condition");
    }
}

/// A limited query returns a continuation key exactly when it stopped early,
/// and `start_after` an item continues right after it.
pub async fn query_limit_and_last_key(t: &dyn Table) {
    for sk in ["1", "2", "3", "4", "5"] {
        put(t, item("L", sk, json!({"GSI1PK": "LG", "GSI1SK": sk}))).await;
    }
    let first = query(t, &Query::new(Index::Primary, "L").limit(2)).await;
    assert_eq!(column(&first.items, "SK"), ["1", "2"]);
    let last = first.last_key.expect("more items remain, so a continuation key");
    assert_eq!(last.get("SK"), Some(&json!("2")), "the continuation key is the last item's key");
    let rest = query(t, &Query::new(Index::Primary, "L").start_after(&first.items[1])).await;
    assert_eq!(column(&rest.items, "SK"), ["3", "4", "5"]);
    assert!(rest.last_key.is_none());
    let short = query(t, &Query::new(Index::Primary, "L").limit(10)).await;
    assert_eq!(short.items.len(), 5);
    assert!(short.last_key.is_none(), "a page short of its limit has no continuation key");

    let reverse = query(t, &Query::new(Index::Gsi1, "LG").reverse().limit(2)).await;
    assert_eq!(column(&reverse.items, "GSI1SK"), ["5", "4"]);
    let gsi_last = reverse.last_key.expect("continuation key on a GSI");
    for name in ["PK", "SK", "GSI1PK", "GSI1SK"] {
        assert!(gsi_last.contains_key(name), "a GSI continuation key includes {name}");
    }
    let rest = query(t, &Query::new(Index::Gsi1, "LG").reverse().start_after(&reverse.items[1])).await;
    assert_eq!(column(&rest.items, "GSI1SK"), ["3", "2", "1"]);

    assert_invalid(t.query(&Query::new(Index::Primary, "L").limit(0)).await, "limit 0");
}

/// A query never returns items of another partition, even one whose key
/// extends the queried one.
pub async fn query_stays_in_its_partition(t: &dyn Table) {
    for pk in ["ORG", "ORG#1", "ORG#10", "ORF", "ORH", "org"] {
        put(t, item(pk, "X", json!({"GSI2PK": pk, "GSI2SK": "X"}))).await;
    }
    for index in [Index::Primary, Index::Gsi2] {
        let found = query(t, &Query::new(index, "ORG#1")).await.items;
        assert_eq!(column(&found, "PK"), ["ORG#1"], "{index:?}");
        assert!(query(t, &Query::new(index, "ORG#")).await.items.is_empty(), "{index:?}: no prefix matching");
    }
}

/// Sort keys order by UTF-8 bytes: "a#10" < "a#9", uppercase before
/// lowercase, and code-point order beyond the BMP (not UTF-16 order).
pub async fn sort_keys_order_by_utf8_bytes(t: &dyn Table) {
    let values = ["a#9", "a#10", "b", "B", "a", "A", "_", "~", "é", "\u{FFFD}", "\u{1F600}", "a#", "a#1"];
    for sk in values {
        put(t, item("ORDER", sk, json!({"GSI1PK": "ORDER", "GSI1SK": sk}))).await;
    }
    let expected = ["A", "B", "_", "a", "a#", "a#1", "a#10", "a#9", "b", "~", "é", "\u{FFFD}", "\u{1F600}"];
    let found = query(t, &Query::new(Index::Primary, "ORDER")).await.items;
    assert_eq!(column(&found, "SK"), expected);
    let found = query(t, &Query::new(Index::Gsi1, "ORDER")).await.items;
    assert_eq!(column(&found, "GSI1SK"), expected);
    let below = query(t, &Query::new(Index::Primary, "ORDER").sort_key(SortKey::Lt("a#9".into()))).await.items;
    assert!(column(&below, "SK").contains(&"a#10".to_owned()), "\"a#10\" < \"a#9\"");
}

/// GSIs are sparse: items lacking either key attribute of an index are not
/// in it.
pub async fn sparse_global_secondary_indexes(t: &dyn Table) {
    put(t, item("S", "both", json!({"GSI1PK": "G", "GSI1SK": "1"}))).await;
    put(t, item("S", "pk-only", json!({"GSI1PK": "G"}))).await;
    put(t, item("S", "sk-only", json!({"GSI1SK": "2"}))).await;
    put(t, item("S", "none", json!({}))).await;
    put(t, item("S", "other-index", json!({"GSI2PK": "G", "GSI2SK": "1"}))).await;
    let gsi1 = query(t, &Query::new(Index::Gsi1, "G")).await.items;
    assert_eq!(column(&gsi1, "SK"), ["both"]);
    let gsi2 = query(t, &Query::new(Index::Gsi2, "G")).await.items;
    assert_eq!(column(&gsi2, "SK"), ["other-index"]);
    assert_eq!(query(t, &Query::new(Index::Primary, "S")).await.items.len(), 5);
}

/// Updates move items within, into and out of indexes; deletes remove them.
pub async fn indexes_follow_updates_and_deletes(t: &dyn Table) {
    put(t, item("I", "1", json!({"GSI1PK": "G", "GSI1SK": "b"}))).await;
    put(t, item("I", "2", json!({"GSI1PK": "G", "GSI1SK": "c"}))).await;
    put(t, item("I", "3", json!({}))).await;
    let sks = |items: Vec<Item>| column(&items, "SK");
    assert_eq!(sks(query(t, &Query::new(Index::Gsi1, "G")).await.items), ["1", "2"]);

    t.update(Update::new(Key::new("I", "2")).set("GSI1SK", "a")).await.expect("move within the index");
    assert_eq!(sks(query(t, &Query::new(Index::Gsi1, "G")).await.items), ["2", "1"]);

    t.update(Update::new(Key::new("I", "3")).set("GSI1PK", "G").set("GSI1SK", "z")).await.expect("join");
    assert_eq!(sks(query(t, &Query::new(Index::Gsi1, "G")).await.items), ["2", "1", "3"]);

    t.update(Update::new(Key::new("I", "1")).remove("GSI1SK")).await.expect("leave");
    assert_eq!(sks(query(t, &Query::new(Index::Gsi1, "G")).await.items), ["2", "3"]);

    t.update(Update::new(Key::new("I", "2")).set("GSI1PK", "H")).await.expect("change partition");
    assert_eq!(sks(query(t, &Query::new(Index::Gsi1, "G")).await.items), ["3"]);
    assert_eq!(sks(query(t, &Query::new(Index::Gsi1, "H")).await.items), ["2"]);

    put(t, item("I", "3", json!({"GSI1PK": "H", "GSI1SK": "0"}))).await;
    assert!(query(t, &Query::new(Index::Gsi1, "G")).await.items.is_empty(), "a put replaces index entries");
    t.delete(&Key::new("I", "2"), Condition::Always).await.expect("delete");
    assert_eq!(sks(query(t, &Query::new(Index::Gsi1, "H")).await.items), ["3"]);
}

// ---------------------------------------------------------------------------
// Batch reads.
// ---------------------------------------------------------------------------

/// Results follow the order of the requested keys; missing keys are skipped.
pub async fn batch_get_follows_request_order(t: &dyn Table) {
    for n in 1..=5 {
        put(t, item("B", &n.to_string(), json!({"n": n}))).await;
    }
    let keys =
        [Key::new("B", "3"), Key::new("B", "missing"), Key::new("B", "1"), Key::new("B", "5"), Key::new("X", "1")];
    let found = t.batch_get(&keys).await.expect("batch get");
    assert_eq!(column(&found, "SK"), ["3", "1", "5"]);
    assert_eq!(found[0], item("B", "3", json!({"n": 3})));
    let everything: Vec<_> = (1..=5).rev().map(|n| Key::new("B", n.to_string())).collect();
    let found = t.batch_get(&everything).await.expect("batch get");
    assert_eq!(column(&found, "SK"), ["5", "4", "3", "2", "1"]);
}

/// At most 100 keys per batch; an empty batch returns nothing.
pub async fn batch_get_limits(t: &dyn Table) {
    assert!(t.batch_get(&[]).await.expect("empty batch").is_empty());
    put(t, item("B", "0", json!({}))).await;
    let hundred: Vec<_> = (0..100).map(|n| Key::new("B", n.to_string())).collect();
    let found = t.batch_get(&hundred).await.expect("100 keys");
    assert_eq!(column(&found, "SK"), ["0"]);
    let too_many: Vec<_> = (0..101).map(|n| Key::new("B", n.to_string())).collect();
    assert_invalid(t.batch_get(&too_many).await, "101 keys");
}

// ---------------------------------------------------------------------------
// Transactions.
// ---------------------------------------------------------------------------

/// Put, update, delete and check in one transaction all take effect.
pub async fn transaction_applies_every_operation(t: &dyn Table) {
    put(t, item("T", "update-me", json!({"n": 1, "GSI1PK": "TG", "GSI1SK": "old"}))).await;
    put(t, item("T", "delete-me", json!({"GSI1PK": "TG", "GSI1SK": "del"}))).await;
    put(t, item("T", "check-me", json!({"version": 4}))).await;
    let ops = vec![
        WriteOp::Put {
            item: item("T", "new", json!({"GSI1PK": "TG", "GSI1SK": "new"})),
            condition: Condition::NotExists,
        },
        WriteOp::Update(
            Update::new(Key::new("T", "update-me")).add("n", 1).set("GSI1SK", "moved").when(Condition::Exists),
        ),
        WriteOp::Delete { key: Key::new("T", "delete-me"), condition: Condition::Exists },
        WriteOp::Check { key: Key::new("T", "check-me"), condition: Condition::version_is(4) },
        WriteOp::Update(Update::new(Key::new("T", "upserted")).set("a", "b")),
    ];
    t.transact_write(ops).await.expect("transaction");
    assert_eq!(get(t, &Key::new("T", "new")).await, Some(item("T", "new", json!({"GSI1PK": "TG", "GSI1SK": "new"}))));
    let updated = get(t, &Key::new("T", "update-me")).await.expect("updated");
    assert_eq!(updated.get("n"), Some(&json!(2)));
    assert_eq!(get(t, &Key::new("T", "delete-me")).await, None);
    assert_eq!(get(t, &Key::new("T", "check-me")).await, Some(item("T", "check-me", json!({"version": 4}))));
    assert_eq!(get(t, &Key::new("T", "upserted")).await, Some(item("T", "upserted", json!({"a": "b"}))));
    let indexed = query(t, &Query::new(Index::Gsi1, "TG")).await.items;
    assert_eq!(column(&indexed, "GSI1SK"), ["moved", "new"], "indexes follow transactional writes");
}

/// One failing condition cancels the whole transaction and reports its position.
pub async fn transaction_is_all_or_nothing(t: &dyn Table) {
    let existing = item("T", "existing", json!({"version": 1, "GSI1PK": "TG", "GSI1SK": "e"}));
    let doomed = item("T", "doomed", json!({"keep": true}));
    put(t, existing.clone()).await;
    put(t, doomed.clone()).await;
    let ops = vec![
        WriteOp::Put {
            item: item("T", "new", json!({"GSI1PK": "TG", "GSI1SK": "n"})),
            condition: Condition::NotExists,
        },
        WriteOp::Update(Update::new(Key::new("T", "existing")).set("version", 2).set("GSI1SK", "moved")),
        WriteOp::Delete { key: Key::new("T", "doomed"), condition: Condition::Always },
        WriteOp::Put { item: item("T", "clash", json!({})), condition: Condition::Exists },
        WriteOp::Update(Update::new(Key::new("T", "counter")).add("n", 1)),
    ];
    assert_condition_failed(t.transact_write(ops).await, Some(3), "transaction with a failing put");
    assert_eq!(get(t, &Key::new("T", "new")).await, None, "nothing was written");
    assert_eq!(get(t, &Key::new("T", "existing")).await, Some(existing), "nothing was updated");
    assert_eq!(get(t, &Key::new("T", "doomed")).await, Some(doomed), "nothing was deleted");
    assert_eq!(get(t, &Key::new("T", "counter")).await, None, "nothing was upserted");
    let indexed = query(t, &Query::new(Index::Gsi1, "TG")).await.items;
    assert_eq!(column(&indexed, "GSI1SK"), ["e"], "indexes are untouched");

    let first_fails = vec![
        WriteOp::Update(Update::new(Key::new("T", "existing")).set("x", 1).when(Condition::version_is(7))),
        WriteOp::Put { item: item("T", "other", json!({})), condition: Condition::Always },
    ];
    assert_condition_failed(t.transact_write(first_fails).await, Some(0), "transaction failing first");
    assert_eq!(get(t, &Key::new("T", "other")).await, None);
}

/// Check operations gate a transaction without writing anything.
pub async fn transaction_check_operations(t: &dyn Table) {
    let guard = item("T", "guard", json!({"status": "active"}));
    put(t, guard.clone()).await;
    let guarded_put = |status: &str| {
        vec![
            WriteOp::Put { item: item("T", "child", json!({})), condition: Condition::Always },
            WriteOp::Check { key: Key::new("T", "guard"), condition: Condition::eq("status", status) },
        ]
    };
    assert_condition_failed(t.transact_write(guarded_put("frozen")).await, Some(1), "failing check");
    assert_eq!(get(t, &Key::new("T", "child")).await, None);
    t.transact_write(guarded_put("active")).await.expect("passing check");
    assert!(get(t, &Key::new("T", "child")).await.is_some());
    assert_eq!(get(t, &Key::new("T", "guard")).await, Some(guard), "a check writes nothing");

    let on_missing = vec![
        WriteOp::Check { key: Key::new("T", "absent"), condition: Condition::NotExists },
        WriteOp::Check { key: Key::new("T", "absent-too"), condition: Condition::Exists },
    ];
    assert_condition_failed(t.transact_write(on_missing).await, Some(1), "check on a missing item");
    let always = vec![WriteOp::Check { key: Key::new("T", "absent"), condition: Condition::Always }];
    t.transact_write(always).await.expect("an unconditional check passes");
    assert_eq!(get(t, &Key::new("T", "absent")).await, None, "a check creates nothing");
}

/// The same item twice in one transaction is rejected before anything runs.
pub async fn transaction_same_item_twice_is_invalid(t: &dyn Table) {
    let ops = vec![
        WriteOp::Put { item: item("T", "twice", json!({"a": 1})), condition: Condition::Always },
        WriteOp::Put { item: item("T", "other", json!({})), condition: Condition::Always },
        WriteOp::Update(Update::new(Key::new("T", "twice")).set("b", 2)),
    ];
    assert_invalid(t.transact_write(ops).await, "same item twice");
    let check_and_write = vec![
        WriteOp::Check { key: Key::new("T", "twice"), condition: Condition::NotExists },
        WriteOp::Put { item: item("T", "twice", json!({})), condition: Condition::Always },
    ];
    assert_invalid(t.transact_write(check_and_write).await, "check and write of one item");
    assert_eq!(get(t, &Key::new("T", "twice")).await, None);
    assert_eq!(get(t, &Key::new("T", "other")).await, None);
}

/// 100 operations work; 101, or none at all, are rejected.
pub async fn transaction_size_limits(t: &dyn Table) {
    let puts = |count: usize| -> Vec<WriteOp> {
        (0..count)
            .map(|n| WriteOp::Put {
                item: item("BIG", &format!("{n:03}"), json!({"n": n})),
                condition: Condition::NotExists,
            })
            .collect()
    };
    assert_invalid(t.transact_write(puts(101)).await, "101 operations");
    assert!(
        query(t, &Query::new(Index::Primary, "BIG")).await.items.is_empty(),
        "a rejected transaction writes nothing"
    );
    assert_invalid(t.transact_write(Vec::new()).await, "an empty transaction");
    t.transact_write(puts(100)).await.expect("100 operations");
    let stored = query(t, &Query::new(Index::Primary, "BIG")).await.items;
    assert_eq!(stored.len(), 100);
    assert_eq!(stored[99], item("BIG", "099", json!({"n": 99})));
}
