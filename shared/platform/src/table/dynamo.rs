//! The DynamoDB adapter of the [`Table`] port: what the Lambdas use in AWS.
//!
//! It is a thin mapping onto the DynamoDB data plane. The few things worth
//! knowing:
//! - attribute names and values always go through placeholders (`#n0`,
//!   `:v0`, ...), never spliced into expressions, so any attribute name is
//!   safe and reserved words need no special care;
//! - reads of the base table are strongly consistent (GSIs cannot be);
//! - a query without a limit follows `LastEvaluatedKey` until the partition
//!   is exhausted, and a query with a limit keeps reading until it has that
//!   many items, so DynamoDB's 1 MB page cap never shows through the port;
//! - request limits DynamoDB enforces (100 items per transaction, no item
//!   twice, ...) are also checked before sending, so they fail the same way
//!   against the emulator as against AWS.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use anyhow::Context;
use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, ConditionCheck, Delete, GlobalSecondaryIndex, KeySchemaElement,
    KeyType, KeysAndAttributes, Projection, ProjectionType, Put, ReturnValue, ScalarAttributeType, TableStatus,
    TimeToLiveSpecification, TimeToLiveStatus, TransactWriteItem, Update as DynamoUpdate,
};
use serde_dynamo::aws_sdk_dynamodb_1 as convert;
use serde_json::Value;

use super::{
    Cmp, Condition, Index, Item, Key, MAX_BATCH_GET, MAX_TRANSACTION_ITEMS, PK, Page, Query, SK, SortKey, Table,
    TableError, Update, WriteOp, layout,
};

/// DynamoDB's representation of an item or key.
type AttributeMap = HashMap<String, AttributeValue>;

/// How often `batch_get` retries unprocessed keys before giving up.
const BATCH_GET_ATTEMPTS: u32 = 10;

/// A [`Table`] backed by one DynamoDB table.
#[derive(Debug, Clone)]
pub struct DynamoTable {
    client: Client,
    table_name: String,
}

impl DynamoTable {
    /// An adapter for the existing table `table_name` (see [`create_table`]).
    pub fn new(client: Client, table_name: impl Into<String>) -> Self {
        Self { client, table_name: table_name.into() }
    }

    /// The name of the underlying DynamoDB table.
    pub fn table_name(&self) -> &str {
        &self.table_name
    }
}

/// Creates the table `name` as `layout` describes it (on-demand billing,
/// GSIs projecting all attributes), waits until it is active and enables TTL
/// on the `ttl` attribute. Succeeds without change if the table exists.
pub async fn create_table(client: &Client, name: &str) -> anyhow::Result<()> {
    let string_attribute = |attribute: &str| {
        AttributeDefinition::builder()
            .attribute_name(attribute)
            .attribute_type(ScalarAttributeType::S)
            .build()
            .context("building an attribute definition")
    };
    let key_schema = |partition: &str, sort: &str| -> anyhow::Result<Vec<KeySchemaElement>> {
        Ok(vec![
            KeySchemaElement::builder().attribute_name(partition).key_type(KeyType::Hash).build()?,
            KeySchemaElement::builder().attribute_name(sort).key_type(KeyType::Range).build()?,
        ])
    };
    let mut request = client
        .create_table()
        .table_name(name)
        .billing_mode(BillingMode::PayPerRequest)
        .set_key_schema(Some(key_schema(layout::PRIMARY_KEY.0, layout::PRIMARY_KEY.1)?));
    for attribute in layout::key_attribute_names() {
        request = request.attribute_definitions(string_attribute(attribute)?);
    }
    for (index, partition, sort) in layout::global_secondary_indexes() {
        let gsi = GlobalSecondaryIndex::builder()
            .index_name(index)
            .set_key_schema(Some(key_schema(partition, sort)?))
            .projection(Projection::builder().projection_type(ProjectionType::All).build())
            .build()
            .context("building a global secondary index")?;
        request = request.global_secondary_indexes(gsi);
    }
    match request.send().await {
        Ok(_) => {}
        // Someone (maybe an earlier run) created it already.
        Err(e) if e.code() == Some("ResourceInUseException") => {}
        Err(e) => return Err(e).with_context(|| format!("creating DynamoDB table {name}")),
    }
    wait_until_active(client, name).await?;
    enable_ttl(client, name).await
}

/// Polls until the table and its indexes are active (immediately, on the
/// emulator; a few seconds on AWS).
async fn wait_until_active(client: &Client, name: &str) -> anyhow::Result<()> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(300);
    loop {
        let described = client
            .describe_table()
            .table_name(name)
            .send()
            .await
            .with_context(|| format!("describing DynamoDB table {name}"))?;
        let table = described.table();
        let active = table.and_then(|t| t.table_status()) == Some(&TableStatus::Active)
            && table
                .map_or(&[][..], |t| t.global_secondary_indexes())
                .iter()
                .all(|g| g.index_status().is_none_or(|s| *s == aws_sdk_dynamodb::types::IndexStatus::Active));
        if active {
            return Ok(());
        }
        anyhow::ensure!(tokio::time::Instant::now() < deadline, "DynamoDB table {name} did not become active");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

async fn enable_ttl(client: &Client, name: &str) -> anyhow::Result<()> {
    let current = client
        .describe_time_to_live()
        .table_name(name)
        .send()
        .await
        .with_context(|| format!("reading the TTL setting of {name}"))?;
    let description = current.time_to_live_description();
    let status = description.and_then(|d| d.time_to_live_status());
    let attribute = description.and_then(|d| d.attribute_name());
    if matches!(status, Some(TimeToLiveStatus::Enabled | TimeToLiveStatus::Enabling))
        && attribute == Some(layout::TTL_ATTRIBUTE)
    {
        return Ok(());
    }
    let specification = TimeToLiveSpecification::builder()
        .enabled(true)
        .attribute_name(layout::TTL_ATTRIBUTE)
        .build()
        .context("building the TTL specification")?;
    client
        .update_time_to_live()
        .table_name(name)
        .time_to_live_specification(specification)
        .send()
        .await
        .with_context(|| format!("enabling TTL on {name}"))?;
    Ok(())
}

// ---------------------------------------------------------------------------
// Expressions.
// ---------------------------------------------------------------------------

/// Placeholders of one request's expressions.
#[derive(Default)]
struct Placeholders {
    /// `#n<i>` to attribute name.
    names: HashMap<String, String>,
    /// Attribute name to its placeholder, so each name gets one.
    by_name: HashMap<String, String>,
    /// `:v<i>` to value.
    values: HashMap<String, AttributeValue>,
}

impl Placeholders {
    fn name(&mut self, attribute: &str) -> String {
        if let Some(placeholder) = self.by_name.get(attribute) {
            return placeholder.clone();
        }
        let placeholder = format!("#n{}", self.names.len());
        self.names.insert(placeholder.clone(), attribute.to_owned());
        self.by_name.insert(attribute.to_owned(), placeholder.clone());
        placeholder
    }

    fn value(&mut self, value: &Value) -> Result<String, TableError> {
        let placeholder = format!(":v{}", self.values.len());
        self.values.insert(placeholder.clone(), to_attribute(value)?);
        Ok(placeholder)
    }

    /// The name map, or `None` when empty (DynamoDB rejects empty maps).
    fn names(&self) -> Option<HashMap<String, String>> {
        (!self.names.is_empty()).then(|| self.names.clone())
    }

    /// The value map, or `None` when empty.
    fn values(&self) -> Option<AttributeMap> {
        (!self.values.is_empty()).then(|| self.values.clone())
    }
}

/// Whether a condition is constant: `Always`, and `All`/`Any` made of
/// constants. DynamoDB has no literal true/false, so these are folded away.
fn constant(condition: &Condition) -> Option<bool> {
    match condition {
        Condition::Always => Some(true),
        Condition::All(all) => {
            let parts: Vec<_> = all.iter().map(constant).collect();
            if parts.contains(&Some(false)) {
                Some(false)
            } else if parts.iter().all(|p| *p == Some(true)) {
                Some(true)
            } else {
                None
            }
        }
        Condition::Any(any) => {
            let parts: Vec<_> = any.iter().map(constant).collect();
            if parts.contains(&Some(true)) {
                Some(true)
            } else if parts.iter().all(|p| *p == Some(false)) {
                Some(false)
            } else {
                None
            }
        }
        _ => None,
    }
}

/// Renders a condition that is not constant (see [`constant`]).
fn render(condition: &Condition, p: &mut Placeholders) -> Result<String, TableError> {
    Ok(match condition {
        Condition::Always => unreachable_constant()?,
        Condition::Exists => format!("attribute_exists({})", p.name(PK)),
        Condition::NotExists => format!("attribute_not_exists({})", p.name(PK)),
        Condition::AttrExists(name) => format!("attribute_exists({})", p.name(name)),
        Condition::AttrNotExists(name) => format!("attribute_not_exists({})", p.name(name)),
        Condition::Compare(name, cmp, value) => {
            let op = match cmp {
                Cmp::Eq => "=",
                Cmp::Lt => "<",
                Cmp::Le => "<=",
                Cmp::Gt => ">",
                Cmp::Ge => ">=",
            };
            format!("{} {op} {}", p.name(name), p.value(value)?)
        }
        Condition::All(parts) | Condition::Any(parts) => {
            let (skip, joiner) = if matches!(condition, Condition::All(_)) { (true, " AND ") } else { (false, " OR ") };
            // Constant parts are neutral here (true in AND, false in OR):
            // the whole would be constant otherwise.
            let rendered = parts
                .iter()
                .filter(|c| constant(c) != Some(skip))
                .map(|c| render(c, p))
                .collect::<Result<Vec<_>, _>>()?;
            // DynamoDB rejects redundant parentheses, so a lone part stays bare.
            if rendered.len() == 1 {
                rendered.concat()
            } else {
                rendered.iter().map(|r| format!("({r})")).collect::<Vec<_>>().join(joiner)
            }
        }
    })
}

fn unreachable_constant() -> Result<String, TableError> {
    Err(TableError::Backend(anyhow::anyhow!("a constant condition reached the expression renderer")))
}

/// The `ConditionExpression` for `condition` (`None`: unconditional).
fn condition_expression(condition: &Condition, p: &mut Placeholders) -> Result<Option<String>, TableError> {
    match constant(condition) {
        Some(true) => Ok(None),
        // The item both has and lacks its partition key: never true.
        Some(false) => {
            let pk = p.name(PK);
            Ok(Some(format!("attribute_exists({pk}) AND attribute_not_exists({pk})")))
        }
        None => render(condition, p).map(Some),
    }
}

/// The `UpdateExpression` for `update`.
fn update_expression(update: &Update, p: &mut Placeholders) -> Result<String, TableError> {
    let mut clauses = Vec::new();
    if !update.set.is_empty() {
        let sets = update
            .set
            .iter()
            .map(|(name, value)| Ok(format!("{} = {}", p.name(name), p.value(value)?)))
            .collect::<Result<Vec<_>, TableError>>()?;
        clauses.push(format!("SET {}", sets.join(", ")));
    }
    if !update.remove.is_empty() {
        let removes: Vec<_> = update.remove.iter().map(|name| p.name(name)).collect();
        clauses.push(format!("REMOVE {}", removes.join(", ")));
    }
    if !update.add.is_empty() {
        let adds = update
            .add
            .iter()
            .map(|(name, amount)| Ok(format!("{} {}", p.name(name), p.value(&Value::from(*amount))?)))
            .collect::<Result<Vec<_>, TableError>>()?;
        clauses.push(format!("ADD {}", adds.join(", ")));
    }
    if clauses.is_empty() {
        // An update that changes nothing still creates a missing item; a
        // transaction needs some expression, and removing an attribute that
        // nobody uses is a harmless one.
        clauses.push(format!("REMOVE {}", p.name("sundial_no_op")));
    }
    Ok(clauses.join(" "))
}

// ---------------------------------------------------------------------------
// Conversions and errors.
// ---------------------------------------------------------------------------

fn to_attribute(value: &Value) -> Result<AttributeValue, TableError> {
    convert::to_attribute_value(value)
        .context("converting a value to a DynamoDB attribute")
        .map_err(TableError::Backend)
}

fn to_attributes(item: &Item) -> Result<AttributeMap, TableError> {
    convert::to_item(item).context("converting an item to DynamoDB attributes").map_err(TableError::Backend)
}

fn from_attributes(attributes: AttributeMap) -> Result<Item, TableError> {
    convert::from_item(attributes).context("converting a DynamoDB item").map_err(TableError::Backend)
}

fn key_attributes(key: &Key) -> AttributeMap {
    HashMap::from([
        (PK.to_owned(), AttributeValue::S(key.pk.clone())),
        (SK.to_owned(), AttributeValue::S(key.sk.clone())),
    ])
}

fn invalid(message: impl Into<String>) -> TableError {
    TableError::Invalid(message.into())
}

/// Maps an SDK error of a single-item operation onto the port's errors.
fn map_error<E, R>(error: SdkError<E, R>, what: &'static str) -> TableError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    match error.code() {
        Some("ConditionalCheckFailedException") => TableError::ConditionFailed { index: None },
        Some("TransactionConflictException") => TableError::Conflict,
        Some("ValidationException") => invalid(error.message().unwrap_or("rejected by DynamoDB").to_owned()),
        _ => TableError::Backend(anyhow::Error::new(error).context(what)),
    }
}

/// Maps a failed `TransactWriteItems`, using the per-operation cancellation
/// reasons to say which operation's condition failed.
fn map_transaction_error<R>(error: SdkError<TransactWriteItemsError, R>) -> TableError
where
    R: std::fmt::Debug + Send + Sync + 'static,
{
    if let Some(TransactWriteItemsError::TransactionCanceledException(cancelled)) = error.as_service_error() {
        let codes: Vec<_> = cancelled.cancellation_reasons().iter().map(|r| r.code().unwrap_or("None")).collect();
        if let Some(index) = codes.iter().position(|c| *c == "ConditionalCheckFailed") {
            return TableError::ConditionFailed { index: Some(index) };
        }
        if codes.contains(&"TransactionConflict") {
            return TableError::Conflict;
        }
        if let Some(index) = codes.iter().position(|c| *c == "ValidationError") {
            let message = cancelled.cancellation_reasons()[index].message().unwrap_or("rejected by DynamoDB");
            return invalid(format!("operation {index}: {message}"));
        }
    }
    map_error(error, "writing a DynamoDB transaction")
}

// ---------------------------------------------------------------------------
// Request checks DynamoDB would make too (the emulator may not).
// ---------------------------------------------------------------------------

fn check_update(update: &Update) -> Result<(), TableError> {
    let names = update.set.keys().chain(&update.remove).chain(update.add.iter().map(|(n, _)| n));
    let mut seen = HashSet::new();
    for name in names {
        if name == PK || name == SK {
            return Err(invalid(format!("cannot update key attribute {name}")));
        }
        // DynamoDB: "Two document paths overlap".
        if !seen.insert(name) {
            return Err(invalid(format!("attribute {name} appears twice in one update")));
        }
    }
    check_key_values(&update.set)
}

/// DynamoDB rejects key attributes (base or index) that are not non-empty
/// strings; the emulator stores them anyway, so check here.
fn check_key_values<'a>(attributes: impl IntoIterator<Item = (&'a String, &'a Value)>) -> Result<(), TableError> {
    let key_names = layout::key_attribute_names();
    for (name, value) in attributes {
        if key_names.contains(&name.as_str()) && !matches!(value, Value::String(s) if !s.is_empty()) {
            return Err(invalid(format!("key attribute {name} must be a non-empty string")));
        }
    }
    Ok(())
}

fn check_item(item: &Item) -> Result<(), TableError> {
    if Key::of(item).is_none() {
        return Err(invalid("an item needs string PK and SK attributes"));
    }
    check_key_values(item)
}

fn check_transaction(ops: &[WriteOp]) -> Result<(), TableError> {
    if ops.is_empty() || ops.len() > MAX_TRANSACTION_ITEMS {
        return Err(invalid(format!("a transaction needs 1 to {MAX_TRANSACTION_ITEMS} operations, not {}", ops.len())));
    }
    let mut seen = HashSet::new();
    for op in ops {
        let key = op.key().ok_or_else(|| invalid("an item needs string PK and SK attributes"))?;
        if !seen.insert(key.clone()) {
            return Err(invalid(format!("a transaction touches {key:?} more than once")));
        }
        match op {
            WriteOp::Put { item, .. } => check_item(item)?,
            WriteOp::Update(update) => check_update(update)?,
            WriteOp::Delete { .. } | WriteOp::Check { .. } => {}
        }
    }
    Ok(())
}

impl DynamoTable {
    fn transact_item(&self, op: &WriteOp) -> Result<TransactWriteItem, TableError> {
        let mut p = Placeholders::default();
        let built = match op {
            WriteOp::Put { item, condition } => {
                let condition = condition_expression(condition, &mut p)?;
                let put = Put::builder()
                    .table_name(&self.table_name)
                    .set_item(Some(to_attributes(item)?))
                    .set_condition_expression(condition)
                    .set_expression_attribute_names(p.names())
                    .set_expression_attribute_values(p.values())
                    .build()
                    .context("building a transactional put");
                put.map(|put| TransactWriteItem::builder().put(put).build())
            }
            WriteOp::Update(update) => {
                let expression = update_expression(update, &mut p)?;
                let condition = condition_expression(&update.condition, &mut p)?;
                let update = DynamoUpdate::builder()
                    .table_name(&self.table_name)
                    .set_key(Some(key_attributes(&update.key)))
                    .update_expression(expression)
                    .set_condition_expression(condition)
                    .set_expression_attribute_names(p.names())
                    .set_expression_attribute_values(p.values())
                    .build()
                    .context("building a transactional update");
                update.map(|update| TransactWriteItem::builder().update(update).build())
            }
            WriteOp::Delete { key, condition } => {
                let condition = condition_expression(condition, &mut p)?;
                let delete = Delete::builder()
                    .table_name(&self.table_name)
                    .set_key(Some(key_attributes(key)))
                    .set_condition_expression(condition)
                    .set_expression_attribute_names(p.names())
                    .set_expression_attribute_values(p.values())
                    .build()
                    .context("building a transactional delete");
                delete.map(|delete| TransactWriteItem::builder().delete(delete).build())
            }
            WriteOp::Check { key, condition } => {
                // A check needs an expression; an always-true one for `Always`.
                let expression = match condition_expression(condition, &mut p)? {
                    Some(expression) => expression,
                    None => {
                        let pk = p.name(PK);
                        format!("attribute_exists({pk}) OR attribute_not_exists({pk})")
                    }
                };
                let check = ConditionCheck::builder()
                    .table_name(&self.table_name)
                    .set_key(Some(key_attributes(key)))
                    .condition_expression(expression)
                    .set_expression_attribute_names(p.names())
                    .set_expression_attribute_values(p.values())
                    .build()
                    .context("building a transactional condition check");
                check.map(|check| TransactWriteItem::builder().condition_check(check).build())
            }
        };
        built.map_err(TableError::Backend)
    }

    /// The key condition of a query, with its placeholders.
    fn key_condition(query: &Query, p: &mut Placeholders) -> Result<String, TableError> {
        let (partition, sort) = query.index.key_attributes();
        let mut expression = format!("{} = {}", p.name(partition), p.value(&Value::from(query.pk.as_str()))?);
        if let Some(condition) = &query.sort_key {
            let sk = p.name(sort);
            let mut v = |s: &String| p.value(&Value::from(s.as_str()));
            let clause = match condition {
                SortKey::Eq(s) => format!("{sk} = {}", v(s)?),
                SortKey::BeginsWith(s) => format!("begins_with({sk}, {})", v(s)?),
                SortKey::Between(a, b) => format!("{sk} BETWEEN {} AND {}", v(a)?, v(b)?),
                SortKey::Lt(s) => format!("{sk} < {}", v(s)?),
                SortKey::Le(s) => format!("{sk} <= {}", v(s)?),
                SortKey::Gt(s) => format!("{sk} > {}", v(s)?),
                SortKey::Ge(s) => format!("{sk} >= {}", v(s)?),
            };
            expression = format!("{expression} AND {clause}");
        }
        Ok(expression)
    }
}

#[async_trait]
impl Table for DynamoTable {
    async fn get(&self, key: &Key) -> Result<Option<Item>, TableError> {
        let output = self
            .client
            .get_item()
            .table_name(&self.table_name)
            .set_key(Some(key_attributes(key)))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| map_error(e, "reading a DynamoDB item"))?;
        output.item.map(from_attributes).transpose()
    }

    async fn batch_get(&self, keys: &[Key]) -> Result<Vec<Item>, TableError> {
        if keys.len() > MAX_BATCH_GET {
            return Err(invalid(format!("a batch get may ask for at most {MAX_BATCH_GET} keys, not {}", keys.len())));
        }
        if keys.iter().collect::<HashSet<_>>().len() != keys.len() {
            return Err(invalid("a batch get names the same key twice"));
        }
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        let mut pending: Vec<AttributeMap> = keys.iter().map(key_attributes).collect();
        let mut found: HashMap<Key, Item> = HashMap::with_capacity(keys.len());
        let mut attempt = 0;
        while !pending.is_empty() {
            if attempt > 0 {
                if attempt >= BATCH_GET_ATTEMPTS {
                    return Err(TableError::Backend(anyhow::anyhow!(
                        "DynamoDB left {} keys unprocessed after {attempt} attempts",
                        pending.len()
                    )));
                }
                // Unprocessed keys mean throttling: back off exponentially.
                tokio::time::sleep(Duration::from_millis(25 << attempt.min(6))).await;
            }
            attempt += 1;
            let request = KeysAndAttributes::builder()
                .set_keys(Some(std::mem::take(&mut pending)))
                .consistent_read(true)
                .build()
                .context("building a batch get request")
                .map_err(TableError::Backend)?;
            let output = self
                .client
                .batch_get_item()
                .request_items(&self.table_name, request)
                .send()
                .await
                .map_err(|e| map_error(e, "batch reading DynamoDB items"))?;
            for attributes in output.responses.and_then(|mut r| r.remove(&self.table_name)).unwrap_or_default() {
                let item = from_attributes(attributes)?;
                let key = Key::of(&item)
                    .context("DynamoDB returned an item without string PK/SK")
                    .map_err(TableError::Backend)?;
                found.insert(key, item);
            }
            pending = output
                .unprocessed_keys
                .and_then(|mut u| u.remove(&self.table_name))
                .map(|k| k.keys)
                .unwrap_or_default();
        }
        Ok(keys.iter().filter_map(|k| found.remove(k)).collect())
    }

    async fn put(&self, item: Item, condition: Condition) -> Result<(), TableError> {
        check_item(&item)?;
        let mut p = Placeholders::default();
        let condition = condition_expression(&condition, &mut p)?;
        self.client
            .put_item()
            .table_name(&self.table_name)
            .set_item(Some(to_attributes(&item)?))
            .set_condition_expression(condition)
            .set_expression_attribute_names(p.names())
            .set_expression_attribute_values(p.values())
            .send()
            .await
            .map_err(|e| map_error(e, "writing a DynamoDB item"))?;
        Ok(())
    }

    async fn update(&self, update: Update) -> Result<Item, TableError> {
        check_update(&update)?;
        let mut p = Placeholders::default();
        let expression = update_expression(&update, &mut p)?;
        let condition = condition_expression(&update.condition, &mut p)?;
        let output = self
            .client
            .update_item()
            .table_name(&self.table_name)
            .set_key(Some(key_attributes(&update.key)))
            .update_expression(expression)
            .set_condition_expression(condition)
            .set_expression_attribute_names(p.names())
            .set_expression_attribute_values(p.values())
            .return_values(ReturnValue::AllNew)
            .send()
            .await
            .map_err(|e| map_error(e, "updating a DynamoDB item"))?;
        let attributes =
            output.attributes.context("DynamoDB returned no attributes for an update").map_err(TableError::Backend)?;
        from_attributes(attributes)
    }

    async fn delete(&self, key: &Key, condition: Condition) -> Result<Option<Item>, TableError> {
        let mut p = Placeholders::default();
        let condition = condition_expression(&condition, &mut p)?;
        let output = self
            .client
            .delete_item()
            .table_name(&self.table_name)
            .set_key(Some(key_attributes(key)))
            .set_condition_expression(condition)
            .set_expression_attribute_names(p.names())
            .set_expression_attribute_values(p.values())
            .return_values(ReturnValue::AllOld)
            .send()
            .await
            .map_err(|e| map_error(e, "deleting a DynamoDB item"))?;
        output.attributes.filter(|a| !a.is_empty()).map(from_attributes).transpose()
    }

    async fn query(&self, query: &Query) -> Result<Page, TableError> {
        if query.limit == Some(0) {
            return Err(invalid("a query limit must be at least 1"));
        }
        let mut p = Placeholders::default();
        let key_condition = Self::key_condition(query, &mut p)?;
        let mut start = query.start_after.as_ref().map(to_attributes).transpose()?;
        let mut items = Vec::new();
        loop {
            let remaining = query.limit.map(|limit| i32::try_from(limit as usize - items.len()).unwrap_or(i32::MAX));
            let output = self
                .client
                .query()
                .table_name(&self.table_name)
                .set_index_name(query.index.name().map(str::to_owned))
                .key_condition_expression(&key_condition)
                .set_expression_attribute_names(p.names())
                .set_expression_attribute_values(p.values())
                .scan_index_forward(query.forward)
                .set_limit(remaining)
                // Only the base table supports consistent reads.
                .set_consistent_read((query.index == Index::Primary).then_some(true))
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(|e| map_error(e, "querying DynamoDB"))?;
            for attributes in output.items.unwrap_or_default() {
                items.push(from_attributes(attributes)?);
            }
            match output.last_evaluated_key.filter(|k| !k.is_empty()) {
                None => return Ok(Page { items, last_key: None }),
                Some(last) if query.limit.is_some_and(|l| items.len() >= l as usize) => {
                    return Ok(Page { items, last_key: Some(from_attributes(last)?) });
                }
                Some(last) => start = Some(last),
            }
        }
    }

    async fn transact_write(&self, ops: Vec<WriteOp>) -> Result<(), TableError> {
        check_transaction(&ops)?;
        let items = ops.iter().map(|op| self.transact_item(op)).collect::<Result<Vec<_>, _>>()?;
        self.client
            .transact_write_items()
            .set_transact_items(Some(items))
            .send()
            .await
            .map_err(map_transaction_error)?;
        Ok(())
    }
}
