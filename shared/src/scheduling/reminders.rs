//! Due reminders: every reminder of an event becomes a due item in the
//! minute bucket it fires in (`DUE#<minute>#<shard>`), so a reminders run
//! reads only the minutes since its watermark, never all events. For a
//! series only the next upcoming occurrence of each reminder is stored; the
//! run that fires it stores the following one ([`next_after`]).
//!
//! An event's alarm works the same way: its firings (at each occurrence's
//! start, then every `repeatEveryMinutes` while within `forMinutes`) are due
//! items of kind [`DueKind::Alarm`], one stored at a time, each firing storing
//! the next; marking the occurrence done or stopping its alarm is an event
//! change, so it removes the pending firing in its own transaction.
//!
//! The invariant that keeps delivery correct: a due item exists if and only
//! if it is current. Every event change replaces the event's due items in
//! the change's own transaction ([`scheduling_ops`], fed by [`load`]), using
//! the per-event pointer item that lists them, and a run deletes the item it
//! fires (requiring it to exist) in the same transaction as the delivery.
//!
//! The run's side: it reads the buckets after its [`Watermark`] (see
//! `crate::scheduling::runs`), and every delivery transaction starts with the same two
//! writes ([`delivery_ops`]: the marker that must not exist, the delete of
//! the item that must), so [`Delivery`] tells from the failing condition
//! whether the item was delivered already, is gone, or must be read again.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Duration, DurationRound, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::calendar::events::Alarm;
use crate::calendar::events::Channel;
use crate::calendar::events::EventChange;
use crate::calendar::events::EventRecord;
use crate::calendar::events::EventStatus;
use crate::calendar::events::OccurrenceRecord;
use crate::calendar::events::OccurrenceState;
use crate::calendar::recurrence::Timing;
use crate::calendar::recurrence::compact;
use crate::calendar::recurrence::parse_recurrence;
use crate::keys;
use crate::store::from_item;
use crate::store::to_item;
use crate::table::{Condition, Item, Key, Table, TableError, WriteOp};

/// Shards per minute bucket, so one busy minute spreads over partitions.
pub const SHARDS: u32 = 8;

/// How far ahead a series is searched for its next occurrence (the longest
/// reminder is four weeks; yearly series need a year beyond that).
const LOOKAHEAD_DAYS: i64 = 28 + 400;

/// The shard of an event: FNV-1a of its id, modulo [`SHARDS`] (stable across
/// processes, unlike the std hasher).
pub fn shard(event: Uuid) -> u32 {
    let mut hash: u32 = 0x811c_9dc5;
    for byte in event.as_bytes() {
        hash ^= u32::from(*byte);
        hash = hash.wrapping_mul(0x0100_0193);
    }
    hash % SHARDS
}

/// The minute bucket a fire time is delivered in: the minute at or after it,
/// so a reminder is never delivered early.
pub fn bucket(fire_at: DateTime<Utc>) -> DateTime<Utc> {
    let floor = minute(fire_at);
    if floor == fire_at { floor } else { floor + Duration::minutes(1) }
}

/// `at` truncated to its minute.
pub fn minute(at: DateTime<Utc>) -> DateTime<Utc> {
    at.duration_trunc(Duration::minutes(1)).unwrap_or(at)
}

/// What a due item announces.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum DueKind {
    /// One of the event's reminders, `minutesBefore` its start.
    #[default]
    Reminder,
    /// A firing of the event's alarm, at or after its start.
    Alarm,
}

/// Where alarm firings are delivered: they repeat every few minutes, so
/// the inbox and devices, never mail.
pub const ALARM_CHANNELS: [Channel; 2] = [Channel::Inapp, Channel::Push];

/// One reminder (or alarm firing) of one occurrence, waiting for its minute.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DueItem {
    /// Reminder or alarm (items stored before alarms existed are reminders).
    #[serde(default)]
    pub kind: DueKind,
    /// The event (series) it reminds of.
    pub event_id: Uuid,
    /// Whose calendar (who is reminded).
    pub owner_id: Uuid,
    /// Whether the event is a series (firing schedules the next occurrence).
    pub recurring: bool,
    /// The occurrence's identity (its original start, compact).
    pub occurrence: String,
    /// The occurrence's original start.
    pub original_start: DateTime<Utc>,
    /// When the occurrence actually starts.
    pub occurrence_start: DateTime<Utc>,
    /// Which of the event's reminders (0 for an alarm).
    pub reminder_index: usize,
    /// Minutes before the start (0 for an alarm).
    pub minutes_before: u32,
    /// Where to deliver it.
    pub channels: Vec<Channel>,
    /// The event's title (kept current: every change rewrites due items).
    pub title: String,
    /// The event's zone (to say when it starts in local time).
    pub time_zone: String,
    /// Whole-day event.
    pub all_day: bool,
    /// When it is due.
    pub fire_at: DateTime<Utc>,
}

impl DueItem {
    /// Where it is stored.
    pub fn key(&self) -> Key {
        let sk = match self.kind {
            DueKind::Reminder => keys::due_sk(self.fire_at, self.event_id, &self.occurrence, self.reminder_index),
            DueKind::Alarm => keys::alarm_due_sk(self.fire_at, self.event_id, &self.occurrence),
        };
        Key::new(keys::due_pk(bucket(self.fire_at), shard(self.event_id)), sk)
    }

    /// The put of this item.
    pub fn put(&self) -> anyhow::Result<WriteOp> {
        let key = self.key();
        Ok(WriteOp::Put { item: to_item(self, key.pk, key.sk, "DueReminder")?, condition: Condition::Always })
    }
}

/// A due item's key as stored in the pointer.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DueKey {
    /// Partition key.
    pub pk: String,
    /// Sort key.
    pub sk: String,
}

impl From<Key> for DueKey {
    fn from(key: Key) -> Self {
        Self { pk: key.pk, sk: key.sk }
    }
}

/// The per-event item listing its current due items (they cannot be found
/// otherwise: they live in the minute they fire in).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DuePointer {
    /// The event.
    pub event_id: Uuid,
    /// Its owner.
    pub owner_id: Uuid,
    /// Keys of its due items (some may have fired already).
    pub due: Vec<DueKey>,
    /// Version, for the conditional replacement.
    pub version: i64,
}

/// The key of an event's pointer.
pub fn pointer_key(owner: Uuid, event: Uuid) -> Key {
    Key::new(keys::calendar_pk(owner), keys::due_pointer_sk(event))
}

/// Reads an event's pointer.
pub async fn get_pointer(table: &dyn Table, owner: Uuid, event: Uuid) -> anyhow::Result<Option<DuePointer>> {
    table.get(&pointer_key(owner, event)).await?.map(from_item).transpose()
}

/// The write replacing an event's pointer `previous` by one listing `due`.
pub fn pointer_write(
    owner: Uuid,
    event: Uuid,
    previous: Option<&DuePointer>,
    due: Vec<DueKey>,
) -> anyhow::Result<Option<WriteOp>> {
    let condition = match previous {
        Some(p) => Condition::version_is(p.version),
        None => Condition::NotExists,
    };
    if due.is_empty() {
        return Ok(previous.map(|_| WriteOp::Delete { key: pointer_key(owner, event), condition }));
    }
    let pointer = DuePointer { event_id: event, owner_id: owner, due, version: previous.map_or(1, |p| p.version + 1) };
    let key = pointer_key(owner, event);
    Ok(Some(WriteOp::Put { item: to_item(&pointer, key.pk, key.sk, "DuePointer")?, condition }))
}

/// One candidate occurrence of an event, with what applies to it.
struct Candidate<'a> {
    original_start: DateTime<Utc>,
    start: DateTime<Utc>,
    title: &'a str,
    reminders: &'a [crate::calendar::events::Reminder],
    alarm: Option<&'a Alarm>,
    /// Done or alarm stopped: no (more) alarm firings.
    silenced: bool,
}

fn silenced(state: &OccurrenceState) -> bool {
    state.done || state.alarm_stopped_at.is_some()
}

fn timing(record: &EventRecord) -> Timing {
    let tz = record.time_zone.parse::<Tz>().unwrap_or(Tz::UTC);
    let recurrence = parse_recurrence(&record.recurrence, tz, record.all_day, record.start).ok().flatten();
    Timing { start: record.start, duration: record.end - record.start, tz, all_day: record.all_day, recurrence }
}

/// The occurrences of `record` starting after `after`, in order, with their
/// own details (detached ones) and without deleted or cancelled ones.
fn candidates<'a>(
    record: &'a EventRecord,
    occurrences: &'a [OccurrenceRecord],
    after: DateTime<Utc>,
) -> Vec<Candidate<'a>> {
    if record.status == EventStatus::Cancelled {
        return Vec::new();
    }
    let t = timing(record);
    if !record.is_recurring() {
        let start = t.span(record.start).0;
        return vec![Candidate {
            original_start: record.start,
            start,
            title: &record.details.title,
            reminders: &record.details.reminders,
            alarm: record.details.alarm.as_ref(),
            silenced: silenced(&record.state),
        }];
    }
    let applying: BTreeMap<DateTime<Utc>, &OccurrenceRecord> =
        occurrences.iter().filter(|o| record.applies(o)).map(|o| (o.original_start, o)).collect();
    // A day of slack: all-day occurrences are floating dates placed in the zone.
    let from = after - Duration::days(1);
    let mut out = Vec::new();
    for original in t.expand(from, after + Duration::days(LOOKAHEAD_DAYS)) {
        let stored = applying.get(&original);
        if stored.is_some_and(|o| o.deleted || o.status == EventStatus::Cancelled) {
            continue;
        }
        let (start, details) = match stored.and_then(|o| o.detached.as_ref()) {
            Some(d) => (t.span(d.start).0, &d.details),
            None => (t.span(original).0, &record.details),
        };
        out.push(Candidate {
            original_start: original,
            start,
            title: &details.title,
            reminders: &details.reminders,
            alarm: details.alarm.as_ref(),
            silenced: stored.is_some_and(|o| silenced(&o.state)),
        });
    }
    out.sort_by_key(|c| c.start);
    out
}

/// A due item of one occurrence firing at `fire_at`, with an alarm's
/// reminder fields (index 0, no lead time, inbox and push); a reminder's
/// item overrides those.
fn occurrence_item(record: &EventRecord, c: &Candidate<'_>, kind: DueKind, fire_at: DateTime<Utc>) -> DueItem {
    DueItem {
        kind,
        event_id: record.id,
        owner_id: record.owner_id,
        recurring: record.is_recurring(),
        occurrence: compact(c.original_start, record.all_day),
        original_start: c.original_start,
        occurrence_start: c.start,
        reminder_index: 0,
        minutes_before: 0,
        channels: ALARM_CHANNELS.to_vec(),
        title: c.title.to_string(),
        time_zone: record.time_zone.clone(),
        all_day: record.all_day,
        fire_at,
    }
}

fn due_item(record: &EventRecord, c: &Candidate<'_>, index: usize) -> Option<DueItem> {
    let reminder = c.reminders.get(index)?;
    let fire_at = c.start - Duration::minutes(i64::from(reminder.minutes_before));
    Some(DueItem {
        reminder_index: index,
        minutes_before: reminder.minutes_before,
        channels: reminder.channels.clone(),
        ..occurrence_item(record, c, DueKind::Reminder, fire_at)
    })
}

/// The alarm firings of one occurrence: its start, then every
/// `repeatEveryMinutes` up to `forMinutes` after it (none once done or
/// stopped, or when the alarm is off).
fn alarm_firings(c: &Candidate<'_>) -> Vec<DateTime<Utc>> {
    match c.alarm {
        Some(alarm) if alarm.enabled && !c.silenced => {
            let every = i64::from(alarm.repeat_every_minutes.max(1));
            (0..=i64::from(alarm.for_minutes) / every).map(|k| c.start + Duration::minutes(k * every)).collect()
        }
        _ => Vec::new(),
    }
}

/// The first alarm firing of `record` strictly after `after`. Candidates
/// come ordered by start and no firing precedes its occurrence's start, so
/// the search stops at the first occurrence starting after the best found.
fn next_alarm(record: &EventRecord, candidates: &[Candidate<'_>], after: DateTime<Utc>) -> Option<DueItem> {
    let mut best: Option<(DateTime<Utc>, &Candidate<'_>)> = None;
    for c in candidates {
        if best.is_some_and(|(at, _)| c.start > at) {
            break;
        }
        if let Some(at) = alarm_firings(c).into_iter().find(|at| *at > after)
            && best.is_none_or(|(best_at, _)| at < best_at)
        {
            best = Some((at, c));
        }
    }
    best.map(|(fire_at, c)| occurrence_item(record, c, DueKind::Alarm, fire_at))
}

/// The due items of `record` as of `now`: for each of its reminders, the
/// first occurrence whose fire time is still ahead, and its next alarm
/// firing. Reminders whose time has already passed when the event is
/// written are not delivered.
pub fn due_items(record: &EventRecord, occurrences: &[OccurrenceRecord], now: DateTime<Utc>) -> Vec<DueItem> {
    // Alarms of occurrences that started up to `forMinutes` (≤ 4 h) ago may still be ringing.
    let candidates = candidates(record, occurrences, now - Duration::hours(4));
    let count = record.details.reminders.len();
    let mut out = Vec::new();
    for index in 0..count {
        if let Some(item) = candidates.iter().filter_map(|c| due_item(record, c, index)).find(|item| item.fire_at > now)
        {
            out.push(item);
        }
    }
    out.extend(next_alarm(record, &candidates, now));
    out
}

/// The item that follows `fired` for the same reminder (a later occurrence
/// firing later) or alarm (its next repeat, else the next occurrence's
/// first), if there is one.
pub fn next_after(record: &EventRecord, occurrences: &[OccurrenceRecord], fired: &DueItem) -> Option<DueItem> {
    if fired.kind == DueKind::Alarm {
        let candidates = candidates(record, occurrences, fired.original_start.min(fired.occurrence_start));
        return next_alarm(record, &candidates, fired.fire_at);
    }
    if !record.is_recurring() {
        return None;
    }
    candidates(record, occurrences, fired.original_start.min(fired.occurrence_start))
        .iter()
        .filter(|c| c.original_start > fired.original_start)
        .filter_map(|c| due_item(record, c, fired.reminder_index))
        .find(|item| item.fire_at > fired.fire_at)
}

/// What [`scheduling_ops`] needs to know beyond the change: per event, its
/// pointer and stored occurrence items, as read just before the commit.
#[derive(Debug, Clone, Default)]
pub struct Scheduling {
    events: BTreeMap<Uuid, Stored>,
}

#[derive(Debug, Clone, Default)]
struct Stored {
    pointer: Option<DuePointer>,
    record: Option<EventRecord>,
    occurrences: Vec<OccurrenceRecord>,
}

/// The events a change touches, with their owners.
fn touched(change: &EventChange) -> BTreeMap<Uuid, Uuid> {
    let mut out = BTreeMap::new();
    for put in &change.puts {
        out.insert(put.record.id, put.record.owner_id);
    }
    for record in &change.deletes {
        out.insert(record.id, record.owner_id);
    }
    for put in &change.occurrences {
        out.insert(put.record.series_id, put.record.owner_id);
    }
    out
}

/// Reads what the scheduling of `change` depends on: one Query of each
/// touched event (its record and occurrence items) and its pointer.
pub async fn load(table: &dyn Table, change: &EventChange) -> anyhow::Result<Scheduling> {
    let mut scheduling = Scheduling::default();
    for (event, owner) in touched(change) {
        let calendar = crate::calendar::events::series(table, owner, event).await?;
        let pointer = get_pointer(table, owner, event).await?;
        let stored = Stored {
            pointer,
            record: calendar.events.into_iter().find(|e| e.id == event),
            occurrences: calendar.occurrences.get(&event).cloned().unwrap_or_default(),
        };
        scheduling.events.insert(event, stored);
    }
    Ok(scheduling)
}

/// The writes that replace the due items of every event `change` touches
/// (see `crate::calendar::commit`).
pub fn scheduling_ops(change: &EventChange, scheduling: &Scheduling) -> anyhow::Result<Vec<WriteOp>> {
    let mut ops = Vec::new();
    for (event, owner) in touched(change) {
        let empty = Stored::default();
        let stored = scheduling.events.get(&event).unwrap_or(&empty);
        let deleted = change.deletes.iter().any(|r| r.id == event);
        let put = change.puts.iter().find(|p| p.record.id == event).map(|p| &p.record);
        let record = if deleted { None } else { put.or(stored.record.as_ref()) };
        // The change's occurrence items replace the stored ones.
        let mut occurrences: BTreeMap<String, OccurrenceRecord> =
            stored.occurrences.iter().map(|o| (o.original_key.clone(), o.clone())).collect();
        let mut now = put.map(|r| r.updated_at);
        for o in change.occurrences.iter().filter(|o| o.record.series_id == event) {
            now = Some(now.map_or(o.record.updated_at, |n| n.max(o.record.updated_at)));
            occurrences.insert(o.record.original_key.clone(), o.record.clone());
        }
        let occurrences: Vec<OccurrenceRecord> = occurrences.into_values().collect();
        let items = match (record, now) {
            (Some(record), Some(now)) => due_items(record, &occurrences, now),
            (Some(record), None) => due_items(record, &occurrences, record.updated_at),
            (None, _) => Vec::new(),
        };
        let new: BTreeSet<DueKey> = items.iter().map(|i| i.key().into()).collect();
        if let Some(pointer) = &stored.pointer {
            for old in &pointer.due {
                if !new.contains(old) {
                    let key = Key::new(old.pk.clone(), old.sk.clone());
                    ops.push(WriteOp::Delete { key, condition: Condition::Always });
                }
            }
        }
        for item in &items {
            ops.push(item.put()?);
        }
        if let Some(op) = pointer_write(owner, event, stored.pointer.as_ref(), new.into_iter().collect())? {
            ops.push(op);
        }
    }
    Ok(ops)
}

/// The inbox item of a notification. Its id is a UUIDv7 carrying its
/// creation time, so the item's key follows from the id alone.
pub fn notification_id(created_at: DateTime<Utc>) -> Uuid {
    let millis = u64::try_from(created_at.timestamp_millis()).unwrap_or(0);
    let ts = uuid::Timestamp::from_unix(
        uuid::NoContext,
        millis / 1000,
        u32::try_from(millis % 1000).unwrap_or(0) * 1_000_000,
    );
    Uuid::new_v7(ts)
}

/// The creation time carried by a notification id (`None`: not a UUIDv7).
pub fn notification_created_at(id: Uuid) -> Option<DateTime<Utc>> {
    if id.get_version_num() != 7 {
        return None;
    }
    let (secs, nanos) = id.get_timestamp()?.to_unix();
    DateTime::from_timestamp(i64::try_from(secs).ok()?, nanos)
}

/// A notification in a user's inbox.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NotificationRecord {
    /// Id (UUIDv7 carrying `created_at`).
    pub id: Uuid,
    /// Whose inbox.
    pub user_id: Uuid,
    /// What kind (`reminder` or `alarm`).
    pub kind: String,
    /// Title.
    pub title: String,
    /// Body.
    pub body: String,
    /// The event it is about.
    pub event_id: Option<Uuid>,
    /// The occurrence it is about.
    pub occurrence_start: Option<DateTime<Utc>>,
    /// Delivered after its time (a run caught up).
    pub late: bool,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// When the user read it.
    pub read_at: Option<DateTime<Utc>>,
}

/// The key of a notification.
pub fn notification_key(user: Uuid, created_at: DateTime<Utc>, id: Uuid) -> Key {
    Key::new(keys::user_pk(user), keys::notification_sk(created_at, id))
}

/// The put of a new notification (it must not exist yet).
pub fn notification_put(record: &NotificationRecord) -> anyhow::Result<WriteOp> {
    let key = notification_key(record.user_id, record.created_at, record.id);
    Ok(WriteOp::Put { item: to_item(record, key.pk, key.sk, "Notification")?, condition: Condition::NotExists })
}

/// How long a delivery marker is kept: a run catches up at most 24 hours,
/// so no run can meet the item again after that.
pub const DELIVERY_RETENTION: Duration = Duration::hours(48);

/// The delivery marker of a due item: its put succeeds once only. It
/// expires (table TTL) after [`DELIVERY_RETENTION`].
pub fn delivery_put(due: &Key, delivered_at: DateTime<Utc>) -> WriteOp {
    let mut item = Item::new();
    item.insert("PK".into(), keys::delivery_pk(&due.pk, &due.sk).into());
    item.insert("SK".into(), keys::DELIVERY_SK.into());
    item.insert(keys::ENTITY_TYPE.into(), "ReminderDelivery".into());
    item.insert("deliveredAt".into(), keys::timestamp(delivered_at).into());
    item.insert(crate::table::TTL.into(), (delivered_at + DELIVERY_RETENTION).timestamp().into());
    WriteOp::Put { item, condition: Condition::NotExists }
}

/// Something due, as read from its minute bucket: the item, and the key it
/// was read under (its delivery marker and its delete use that key, not one
/// computed again from the item).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Due<T> {
    key: DueKey,
    /// What is due.
    pub item: T,
}

impl<T> Due<T> {
    /// `item` as read under `key`.
    pub(crate) fn new(key: Key, item: T) -> Self {
        Self { key: key.into(), item }
    }

    /// The stored item's name (its sort key), for logs and errors.
    pub fn name(&self) -> &str {
        &self.key.sk
    }

    /// Its key as a pointer lists it.
    pub(crate) fn due_key(&self) -> &DueKey {
        &self.key
    }

    /// Its key in the table.
    pub(crate) fn table_key(&self) -> Key {
        Key::new(self.key.pk.clone(), self.key.sk.clone())
    }
}

/// How a delivery transaction ended. Every delivery transaction (a due
/// reminder, alarm firing or digest) starts with the delivery marker and the
/// delete of the due item ([`delivery_ops`]), so their conditions say what
/// happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delivery {
    /// Recorded: now send.
    Committed,
    /// The marker exists: another run delivered it.
    Duplicate,
    /// The due item no longer exists: delivered and removed by another run,
    /// or replaced by an edit (or, for a digest, a preference write).
    Gone,
    /// Another condition failed (something read before moved, e.g. the
    /// pointer or the preference) or the transaction clashed: read again.
    Retry,
}

impl Delivery {
    /// The outcome of a delivery transaction that starts with [`delivery_ops`].
    pub(crate) fn of(result: Result<(), TableError>) -> anyhow::Result<Self> {
        match result {
            Ok(()) => Ok(Self::Committed),
            Err(TableError::ConditionFailed { index: Some(0) }) => Ok(Self::Duplicate),
            Err(TableError::ConditionFailed { index: Some(1) }) => Ok(Self::Gone),
            Err(TableError::ConditionFailed { .. } | TableError::Conflict) => Ok(Self::Retry),
            Err(e) => Err(e.into()),
        }
    }
}

/// The two writes every delivery transaction starts with, in this order
/// ([`Delivery::of`] reads the failing one's index): the delivery marker,
/// which must not exist (a retried or duplicated run delivers nothing
/// twice), and the delete of the due item, which must still exist (an edit
/// may have replaced it, or another run delivered it).
pub(crate) fn delivery_ops<T>(due: &Due<T>, delivered_at: DateTime<Utc>) -> Vec<WriteOp> {
    let key = due.table_key();
    vec![delivery_put(&key, delivered_at), WriteOp::Delete { key, condition: Condition::Exists }]
}

/// The writes that schedule what follows a fired reminder or alarm firing:
/// for a series or an alarm, the following occurrence's (or alarm repeat's)
/// item, and the event's pointer listing it instead of the fired one,
/// written on the pointer's version as read now (a moved pointer, after an
/// edit or a concurrent run, fails the delivery with [`Delivery::Retry`]).
/// Nothing for a one-off reminder.
pub(crate) async fn successor_ops(table: &dyn Table, fired: &Due<DueItem>) -> anyhow::Result<Vec<WriteOp>> {
    let item = &fired.item;
    if !item.recurring && item.kind != DueKind::Alarm {
        return Ok(Vec::new());
    }
    let calendar = crate::calendar::events::series(table, item.owner_id, item.event_id).await?;
    let pointer = get_pointer(table, item.owner_id, item.event_id).await?;
    let next = calendar.events.iter().find(|e| e.id == item.event_id).and_then(|record| {
        let occurrences = calendar.occurrences.get(&record.id).map(Vec::as_slice).unwrap_or(&[]);
        next_after(record, occurrences, item)
    });
    let mut ops = Vec::new();
    let mut keys: Vec<DueKey> =
        pointer.as_ref().map(|p| p.due.iter().filter(|k| *k != fired.due_key()).cloned().collect()).unwrap_or_default();
    if let Some(next) = &next {
        ops.push(next.put()?);
        let next_key = DueKey::from(next.key());
        if !keys.contains(&next_key) {
            keys.push(next_key);
        }
    }
    if let Some(op) = pointer_write(item.owner_id, item.event_id, pointer.as_ref(), keys)? {
        ops.push(op);
    }
    Ok(ops)
}

/// A reminders run's watermark: the last minute bucket it fully read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Watermark {
    /// The last minute bucket fully read.
    pub minute: DateTime<Utc>,
    /// Version, for the conditional advance.
    version: i64,
}

fn watermark_key() -> Key {
    Key::new(keys::REMINDERS_WATERMARK_PK, keys::REMINDERS_WATERMARK_SK)
}

/// Reads the watermark (`None`: no run has advanced it yet).
pub async fn watermark(table: &dyn Table) -> anyhow::Result<Option<Watermark>> {
    table.get(&watermark_key()).await?.map(from_item).transpose()
}

/// Advances the watermark to `minute` unless another run already moved it
/// at least as far (the put is conditioned on `current`, the watermark as
/// read, or on there being none); returns the watermark as it now is.
pub async fn advance_watermark(
    table: &dyn Table,
    current: Option<Watermark>,
    minute: DateTime<Utc>,
) -> anyhow::Result<Option<Watermark>> {
    let condition = match &current {
        Some(w) => Condition::version_is(w.version),
        None => Condition::NotExists,
    };
    let next = Watermark { minute, version: current.as_ref().map_or(1, |w| w.version + 1) };
    let key = watermark_key();
    let item = to_item(&next, key.pk, key.sk, "RemindersWatermark")?;
    match table.put(item, condition).await {
        Ok(()) => Ok(Some(next)),
        // A concurrent run moved it; it delivers the same buckets (markers dedupe).
        Err(TableError::ConditionFailed { .. }) => watermark(table).await,
        Err(e) => Err(e.into()),
    }
}

/// Forgets the watermark, as a freshly deployed function starts (its first
/// run reads from the minute before its own); tests and benchmarks use it
/// to start runs from scratch without reading the empty minutes between.
#[cfg(feature = "testkit")]
pub async fn forget_watermark(table: &dyn Table) -> anyhow::Result<()> {
    table.delete(&watermark_key(), Condition::Always).await?;
    Ok(())
}

/// Stores due items directly, bypassing the calendar's write path (no
/// events, no pointers: enough for one-off reminders), in transactions of
/// at most [`crate::table::MAX_TRANSACTION_ITEMS`]; for tests and benchmarks that
/// need thousands of them.
#[cfg(feature = "testkit")]
pub async fn put_due_items(table: &dyn Table, items: &[DueItem]) -> anyhow::Result<()> {
    for chunk in items.chunks(crate::table::MAX_TRANSACTION_ITEMS) {
        table.transact_write(chunk.iter().map(DueItem::put).collect::<anyhow::Result<_>>()?).await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::calendar::events::EventDetails;
    use crate::calendar::events::OccurrenceState;
    use crate::calendar::events::Reminder;

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn event(start: &str, recurrence: &[&str], minutes: &[u32]) -> EventRecord {
        let start = utc(start);
        EventRecord {
            id: Uuid::now_v7(),
            owner_id: Uuid::now_v7(),
            organisation_id: None,
            details: EventDetails {
                title: "Pills".into(),
                reminders: minutes
                    .iter()
                    .map(|m| Reminder { minutes_before: *m, channels: vec![Channel::Inapp] })
                    .collect(),
                ..Default::default()
            },
            start,
            end: start + Duration::minutes(30),
            time_zone: "Europe/Stockholm".into(),
            all_day: false,
            recurrence: recurrence.iter().map(|s| s.to_string()).collect(),
            status: EventStatus::Confirmed,
            state: OccurrenceState::default(),
            epoch: 0,
            ends_before: None,
            created_by: Uuid::now_v7(),
            created_at: start,
            updated_at: start,
            version: 1,
        }
    }

    #[test]
    fn buckets_round_up_so_nothing_fires_early() {
        assert_eq!(bucket(utc("2026-03-29T06:30:00Z")), utc("2026-03-29T06:30:00Z"));
        assert_eq!(bucket(utc("2026-03-29T06:30:01Z")), utc("2026-03-29T06:31:00Z"));
        assert!(shard(Uuid::now_v7()) < SHARDS);
    }

    #[test]
    fn a_one_off_event_gets_one_item_per_future_reminder() {
        let record = event("2026-03-29T08:00:00Z", &[], &[10, 600]);
        let items = due_items(&record, &[], utc("2026-03-29T06:30:00Z"));
        assert_eq!(items.len(), 1, "the ten-hour reminder is already past");
        assert_eq!(items[0].fire_at, utc("2026-03-29T07:50:00Z"));
    }

    #[test]
    fn a_series_gets_its_next_occurrence_and_each_firing_the_following() {
        let record = event("2026-03-28T07:00:00Z", &["RRULE:FREQ=DAILY"], &[10]);
        let items = due_items(&record, &[], utc("2026-03-29T06:30:00Z"));
        assert_eq!(items.len(), 1);
        // 08:00 local in Stockholm (summer time from 2026-03-29); today's is past, so tomorrow's.
        assert_eq!(items[0].occurrence_start, utc("2026-03-30T06:00:00Z"));
        let items = due_items(&record, &[], utc("2026-03-29T05:00:00Z"));
        assert_eq!(items[0].fire_at, utc("2026-03-29T05:50:00Z"));
        let next = next_after(&record, &[], &items[0]).unwrap();
        assert_eq!(next.occurrence_start, utc("2026-03-30T06:00:00Z"));
        assert_ne!(next.key(), items[0].key());
    }

    #[test]
    fn a_cancelled_event_has_no_due_items() {
        let mut record = event("2026-03-29T08:00:00Z", &[], &[10]);
        record.status = EventStatus::Cancelled;
        assert!(due_items(&record, &[], utc("2026-03-29T06:30:00Z")).is_empty());
    }

    fn with_alarm(mut record: EventRecord, every: u32, for_minutes: u32) -> EventRecord {
        record.details.alarm = Some(Alarm { enabled: true, repeat_every_minutes: every, for_minutes });
        record
    }

    fn alarm_times(record: &EventRecord, occurrences: &[OccurrenceRecord], now: &str, max: usize) -> Vec<String> {
        let mut out = Vec::new();
        let mut next = due_items(record, occurrences, utc(now)).into_iter().find(|i| i.kind == DueKind::Alarm);
        while let Some(item) = next {
            if out.len() == max {
                break;
            }
            assert_eq!(item.channels, ALARM_CHANNELS.to_vec());
            out.push(item.fire_at.format("%m-%dT%H:%M").to_string());
            next = next_after(record, occurrences, &item);
        }
        out
    }

    #[test]
    fn an_alarm_rings_at_the_start_and_repeats_within_its_period() {
        let record = with_alarm(event("2026-03-29T08:00:00Z", &[], &[]), 5, 15);
        assert_eq!(
            alarm_times(&record, &[], "2026-03-29T07:00:00Z", 10),
            ["03-29T08:00", "03-29T08:05", "03-29T08:10", "03-29T08:15"]
        );
        // Written while ringing: the next repeat, not the past ones.
        assert_eq!(alarm_times(&record, &[], "2026-03-29T08:07:00Z", 10), ["03-29T08:10", "03-29T08:15"]);
        let off = EventRecord {
            details: EventDetails {
                alarm: Some(Alarm { enabled: false, repeat_every_minutes: 5, for_minutes: 15 }),
                ..record.details.clone()
            },
            ..record.clone()
        };
        assert!(alarm_times(&off, &[], "2026-03-29T07:00:00Z", 10).is_empty());
    }

    #[test]
    fn done_or_stopped_silences_a_one_off_alarm() {
        let mut record = with_alarm(event("2026-03-29T08:00:00Z", &[], &[]), 5, 15);
        record.state.alarm_stopped_at = Some(utc("2026-03-29T08:02:00Z"));
        assert!(alarm_times(&record, &[], "2026-03-29T08:02:00Z", 10).is_empty());
        record.state = OccurrenceState { done: true, ..OccurrenceState::default() };
        assert!(alarm_times(&record, &[], "2026-03-29T07:00:00Z", 10).is_empty());
    }

    #[test]
    fn a_series_alarm_moves_on_to_the_next_occurrence_and_stopping_one_spares_the_others() {
        // 08:00 Stockholm daily; 2026-03-29 is the first day of summer time.
        let record = with_alarm(event("2026-03-28T07:00:00Z", &["RRULE:FREQ=DAILY;COUNT=3"], &[]), 10, 10);
        assert_eq!(
            alarm_times(&record, &[], "2026-03-28T06:00:00Z", 10),
            ["03-28T07:00", "03-28T07:10", "03-29T06:00", "03-29T06:10", "03-30T06:00", "03-30T06:10"]
        );
        let stopped = OccurrenceRecord {
            series_id: record.id,
            owner_id: record.owner_id,
            original_start: utc("2026-03-29T06:00:00Z"),
            original_key: compact(utc("2026-03-29T06:00:00Z"), false),
            epoch: record.epoch,
            detached: None,
            status: EventStatus::Confirmed,
            deleted: false,
            state: OccurrenceState { alarm_stopped_at: Some(utc("2026-03-29T06:01:00Z")), ..Default::default() },
            created_at: utc("2026-03-29T06:01:00Z"),
            updated_at: utc("2026-03-29T06:01:00Z"),
            version: 1,
        };
        assert_eq!(alarm_times(&record, &[stopped], "2026-03-29T06:01:00Z", 10), ["03-30T06:00", "03-30T06:10"]);
    }

    #[test]
    fn alarm_and_reminder_items_of_one_occurrence_have_distinct_keys() {
        let record = with_alarm(event("2026-03-29T08:00:00Z", &[], &[0]), 5, 5);
        let items = due_items(&record, &[], utc("2026-03-29T07:00:00Z"));
        assert_eq!(items.len(), 2);
        assert_eq!(items[0].fire_at, items[1].fire_at);
        assert_ne!(items[0].key(), items[1].key());
    }

    #[test]
    fn delivery_markers_expire_after_the_catch_up_window() {
        let at = utc("2026-03-29T06:30:00Z");
        let WriteOp::Put { item, condition } = delivery_put(&Key::new("DUE#x", "y"), at) else { panic!("a put") };
        assert_eq!(condition, Condition::NotExists);
        assert_eq!(item["ttl"], (at + Duration::hours(48)).timestamp());
        assert!(DELIVERY_RETENTION > Duration::hours(24), "longer than a run ever looks back");
    }

    #[test]
    fn a_delivery_starts_with_its_marker_then_the_delete_and_its_conditions_say_how_it_ended() {
        let at = utc("2026-03-29T06:30:00Z");
        let due = Due::new(Key::new("DUE#x", "y"), ());
        let ops = delivery_ops(&due, at);
        assert!(matches!(&ops[0], WriteOp::Put { condition: Condition::NotExists, .. }), "the marker is new");
        assert!(
            matches!(&ops[1], WriteOp::Delete { key, condition: Condition::Exists } if *key == due.table_key()),
            "the due item still exists"
        );
        let failed = |index| Err(TableError::ConditionFailed { index });
        assert_eq!(Delivery::of(Ok(())).unwrap(), Delivery::Committed);
        assert_eq!(Delivery::of(failed(Some(0))).unwrap(), Delivery::Duplicate);
        assert_eq!(Delivery::of(failed(Some(1))).unwrap(), Delivery::Gone);
        assert_eq!(Delivery::of(failed(Some(2))).unwrap(), Delivery::Retry);
        assert_eq!(Delivery::of(failed(None)).unwrap(), Delivery::Retry);
        assert_eq!(Delivery::of(Err(TableError::Conflict)).unwrap(), Delivery::Retry);
        assert!(Delivery::of(Err(TableError::Backend(anyhow::anyhow!("down")))).is_err());
    }

    #[test]
    fn notification_ids_carry_their_creation_time() {
        let at = utc("2026-03-29T06:30:00.123Z");
        assert_eq!(notification_created_at(notification_id(at)), Some(at));
    }
}
