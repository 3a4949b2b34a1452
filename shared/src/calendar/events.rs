//! Calendar events: one-off events, recurring series and their
//! per-occurrence items, all in the owner's partition `CAL#<ownerId>`, so a
//! window read is one Query of that calendar.
//!
//! Every event write goes through `crate::calendar::commit`, which builds the one
//! transaction of a change (events, occurrence items, the id references,
//! attendee index items, audit entries). Work that must follow every event
//! change atomically — the reminders' due-item scheduling — hooks in at
//! [`scheduling_ops`], the single extension point.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::keys;
use crate::store::from_item;
use crate::store::to_item;
use crate::table::{Condition, Index, Item, Key, Query, SortKey, Table, WriteOp};

/// Whether an event (or occurrence) takes place.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum EventStatus {
    /// It takes place.
    #[default]
    Confirmed,
    /// Called off; still readable by id, left out of windows.
    Cancelled,
}

/// Where a reminder is delivered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Channel {
    /// The notification inbox.
    Inapp,
    /// Email.
    Email,
    /// Push to registered devices.
    Push,
}

/// A reminder before each occurrence.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Reminder {
    /// Minutes before the start (0–40320, four weeks).
    #[schema(maximum = 40320)]
    pub minutes_before: u32,
    /// Where to deliver it (at least one).
    #[schema(min_items = 1)]
    pub channels: Vec<Channel>,
}

/// An alarm at the start of each occurrence, repeating every
/// `repeatEveryMinutes` while at most `forMinutes` after the start, until
/// the occurrence is marked done or its alarm stopped. Firings go to the
/// inbox (`kind: alarm`) and to push devices, never by mail.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Alarm {
    /// Whether the alarm sounds.
    pub enabled: bool,
    /// Minutes between repeats (1–60).
    #[schema(minimum = 1, maximum = 60)]
    pub repeat_every_minutes: u32,
    /// For how long it repeats (1–240 minutes).
    #[schema(minimum = 1, maximum = 240)]
    pub for_minutes: u32,
}

/// What an event is about: the fields an occurrence may override.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EventDetails {
    /// Title.
    pub title: String,
    /// Description.
    #[serde(default)]
    pub description: String,
    /// Reminders.
    #[serde(default)]
    pub reminders: Vec<Reminder>,
    /// Alarm.
    #[serde(default)]
    pub alarm: Option<Alarm>,
    /// Location.
    #[serde(default)]
    pub location: String,
    /// Users attending (besides the owner).
    #[serde(default)]
    pub attendee_ids: Vec<Uuid>,
    /// Media attached.
    #[serde(default)]
    pub media_ids: Vec<Uuid>,
    /// Lists attached.
    #[serde(default)]
    pub list_ids: Vec<Uuid>,
    /// Category.
    #[serde(default)]
    pub category: String,
    /// Tags.
    #[serde(default)]
    pub tags: Vec<String>,
}

/// Per-occurrence (or one-off event) state.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OccurrenceState {
    /// Marked done.
    #[serde(default)]
    pub done: bool,
    /// Checked items per attached list: `{listId: [itemId]}`.
    #[serde(default)]
    pub progress: BTreeMap<String, Vec<String>>,
    /// When the alarm was stopped (no more repeats).
    #[serde(default)]
    pub alarm_stopped_at: Option<DateTime<Utc>>,
}

/// A stored one-off event or recurring series.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EventRecord {
    /// Event (series) id.
    pub id: Uuid,
    /// Whose calendar it is in.
    pub owner_id: Uuid,
    /// The organisation its audit entries go to.
    pub organisation_id: Option<Uuid>,
    /// What it is.
    #[serde(flatten)]
    pub details: EventDetails,
    /// First start (all-day: the date at 00:00 UTC, a floating date).
    pub start: DateTime<Utc>,
    /// First end (exclusive; all-day: the day after the last day at 00:00 UTC).
    pub end: DateTime<Utc>,
    /// IANA zone the event repeats in (and its dates are placed in).
    pub time_zone: String,
    /// Whole days rather than times.
    pub all_day: bool,
    /// Canonical RFC 5545 lines (`RRULE:...`, `EXDATE:...`); empty for one-off events.
    pub recurrence: Vec<String>,
    /// Confirmed or cancelled (the whole series).
    pub status: EventStatus,
    /// State of a one-off event (per-occurrence items hold it for series).
    #[serde(flatten)]
    pub state: OccurrenceState,
    /// Bumped whenever the series' timing changes: occurrence items of an
    /// older epoch no longer apply.
    #[serde(default)]
    pub epoch: u32,
    /// After a split, occurrence items from this start on no longer apply.
    #[serde(default)]
    pub ends_before: Option<DateTime<Utc>>,
    /// Who created it.
    pub created_by: Uuid,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Last changed.
    pub updated_at: DateTime<Utc>,
    /// Version (also the ETag).
    pub version: i64,
}

impl EventRecord {
    /// Whether the event repeats.
    pub fn is_recurring(&self) -> bool {
        !self.recurrence.is_empty()
    }

    /// Whether an occurrence item still applies to this series.
    pub fn applies(&self, occurrence: &OccurrenceRecord) -> bool {
        occurrence.series_id == self.id
            && occurrence.epoch == self.epoch
            && self.ends_before.is_none_or(|end| occurrence.original_start < end)
    }
}

/// An occurrence moved or changed on its own ("detached").
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Detached {
    /// Its own details.
    #[serde(flatten)]
    pub details: EventDetails,
    /// Its own start.
    pub start: DateTime<Utc>,
    /// Its own end.
    pub end: DateTime<Utc>,
}

/// A stored exception or per-occurrence state of one occurrence of a series.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OccurrenceRecord {
    /// The series.
    pub series_id: Uuid,
    /// Whose calendar.
    pub owner_id: Uuid,
    /// The start the series gives this occurrence (its identity).
    pub original_start: DateTime<Utc>,
    /// Its compact form, as in the instance id.
    pub original_key: String,
    /// The series epoch this item belongs to.
    pub epoch: u32,
    /// Present when detached: the occurrence's own details and times.
    #[serde(default)]
    pub detached: Option<Detached>,
    /// Confirmed or cancelled.
    pub status: EventStatus,
    /// Deleted (the series skips it).
    #[serde(default)]
    pub deleted: bool,
    /// Done, progress, alarm.
    #[serde(flatten)]
    pub state: OccurrenceState,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Last changed.
    pub updated_at: DateTime<Utc>,
    /// Version of this item.
    pub version: i64,
}

/// An event written by a change, with the record it replaces (`None`: new).
#[derive(Debug, Clone)]
pub struct EventPut {
    /// The event as it will be.
    pub record: EventRecord,
    /// The event as read before the change; the write requires it unchanged.
    pub previous: Option<EventRecord>,
}

/// An occurrence item written by a change.
#[derive(Debug, Clone)]
pub struct OccurrencePut {
    /// The item as it will be.
    pub record: OccurrenceRecord,
    /// The version read before (`None`: the item must not exist yet).
    pub previous_version: Option<i64>,
}

/// Everything one event change writes, atomically.
#[derive(Debug, Clone, Default)]
pub struct EventChange {
    /// Events created or replaced.
    pub puts: Vec<EventPut>,
    /// Events removed (each must still be at the version read).
    pub deletes: Vec<EventRecord>,
    /// Occurrence items created or replaced.
    pub occurrences: Vec<OccurrencePut>,
    /// Events not written that must still be at the version read.
    pub guards: Vec<EventRecord>,
    /// Items removed whatever their state (occurrence items of a deleted series).
    pub cleanup: Vec<Key>,
    /// Audit entries of the change.
    pub audit: Vec<crate::audit::AuditEntry>,
}

/// Most recurring series one calendar may hold. Every window read of a
/// calendar expands each of its series, so this bounds what a listing costs;
/// one-off events are not series. Cancelled and ended series count until
/// they are deleted (they are still stored and read with the calendar).
pub const MAX_SERIES_PER_OWNER: usize = 500;

/// How many recurring series `owner`'s calendar holds: one Query of its
/// partition (the one a window read makes), counting the events with a
/// `recurrence`.
pub async fn series_count(table: &dyn Table, owner: Uuid) -> anyhow::Result<usize> {
    let query =
        Query::new(Index::Primary, keys::calendar_pk(owner)).sort_key(SortKey::BeginsWith(keys::EVENT_PREFIX.into()));
    let items = crate::store::listing::query_all(table, query).await?;
    Ok(items
        .iter()
        .filter(|item| item.get(keys::ENTITY_TYPE).and_then(|v| v.as_str()) == Some("Event"))
        .filter(|item| item.get("recurrence").and_then(|v| v.as_array()).is_some_and(|lines| !lines.is_empty()))
        .count())
}

/// The key of an event.
pub fn event_key(owner: Uuid, id: Uuid) -> Key {
    Key::new(keys::calendar_pk(owner), keys::event_sk(id))
}

/// The key of an occurrence item.
pub fn occurrence_key(owner: Uuid, series: Uuid, original_key: &str) -> Key {
    Key::new(keys::calendar_pk(owner), keys::occurrence_sk(series, original_key))
}

/// The keys of the occurrence items of `series` (to remove with it).
pub async fn series_leftovers(table: &dyn Table, series: &EventRecord) -> anyhow::Result<Vec<Key>> {
    let items = self::series(table, series.owner_id, series.id).await?;
    Ok(items.occurrences.values().flatten().map(|o| occurrence_key(o.owner_id, o.series_id, &o.original_key)).collect())
}

fn version_condition(previous: Option<i64>) -> Condition {
    match previous {
        Some(v) => Condition::version_is(v),
        None => Condition::NotExists,
    }
}

fn attendee_put(event: &EventRecord, user: Uuid) -> WriteOp {
    let mut item = Item::new();
    item.insert("PK".into(), keys::calendar_pk(event.owner_id).into());
    item.insert("SK".into(), keys::attendee_sk(event.id, user).into());
    item.insert("GSI1PK".into(), keys::attendee_gsi1pk(user).into());
    item.insert("GSI1SK".into(), keys::event_sk(event.id).into());
    item.insert(keys::ENTITY_TYPE.into(), "EventAttendee".into());
    item.insert("ownerId".into(), event.owner_id.to_string().into());
    item.insert("eventId".into(), event.id.to_string().into());
    WriteOp::Put { item, condition: Condition::Always }
}

fn attendee_delete(event: &EventRecord, user: Uuid) -> WriteOp {
    WriteOp::Delete {
        key: Key::new(keys::calendar_pk(event.owner_id), keys::attendee_sk(event.id, user)),
        condition: Condition::Always,
    }
}

/// The operations of a change, in one list (see `crate::calendar::commit`,
/// which adds the change's scheduling).
pub fn transaction(change: &EventChange) -> anyhow::Result<Vec<WriteOp>> {
    let mut ops = Vec::new();
    for put in &change.puts {
        let record = &put.record;
        let item = to_item(record, keys::calendar_pk(record.owner_id), keys::event_sk(record.id), "Event")?;
        ops.push(WriteOp::Put { item, condition: version_condition(put.previous.as_ref().map(|p| p.version)) });
        let before: &[Uuid] = put.previous.as_ref().map(|p| p.details.attendee_ids.as_slice()).unwrap_or(&[]);
        for user in &record.details.attendee_ids {
            if !before.contains(user) {
                ops.push(attendee_put(record, *user));
            }
        }
        for user in before {
            if !record.details.attendee_ids.contains(user) {
                ops.push(attendee_delete(record, *user));
            }
        }
        if put.previous.is_none() {
            let mut reference = Item::new();
            reference.insert("PK".into(), keys::event_ref_pk(record.id).into());
            reference.insert("SK".into(), keys::EVENT_REF_SK.into());
            reference.insert(keys::ENTITY_TYPE.into(), "EventRef".into());
            reference.insert("ownerId".into(), record.owner_id.to_string().into());
            ops.push(WriteOp::Put { item: reference, condition: Condition::NotExists });
        }
    }
    for record in &change.deletes {
        ops.push(WriteOp::Delete {
            key: event_key(record.owner_id, record.id),
            condition: Condition::version_is(record.version),
        });
        ops.push(WriteOp::Delete {
            key: Key::new(keys::event_ref_pk(record.id), keys::EVENT_REF_SK),
            condition: Condition::Always,
        });
        for user in &record.details.attendee_ids {
            ops.push(attendee_delete(record, *user));
        }
    }
    for put in &change.occurrences {
        let r = &put.record;
        let item = to_item(
            r,
            keys::calendar_pk(r.owner_id),
            keys::occurrence_sk(r.series_id, &r.original_key),
            "EventOccurrence",
        )?;
        ops.push(WriteOp::Put { item, condition: version_condition(put.previous_version) });
    }
    for record in &change.guards {
        ops.push(WriteOp::Check {
            key: event_key(record.owner_id, record.id),
            condition: Condition::version_is(record.version),
        });
    }
    for key in &change.cleanup {
        ops.push(WriteOp::Delete { key: key.clone(), condition: Condition::Always });
    }
    ops.extend(change.audit.iter().map(crate::audit::AuditEntry::write));
    Ok(ops)
}

/// The owner of an event, from its id reference.
pub async fn owner_of(table: &dyn Table, id: Uuid) -> anyhow::Result<Option<Uuid>> {
    let Some(item) = table.get(&Key::new(keys::event_ref_pk(id), keys::EVENT_REF_SK)).await? else {
        return Ok(None);
    };
    Ok(item.get("ownerId").and_then(|v| v.as_str()).and_then(|v| Uuid::parse_str(v).ok()))
}

/// Reads an event.
pub async fn get(table: &dyn Table, owner: Uuid, id: Uuid) -> anyhow::Result<Option<EventRecord>> {
    match table.get(&event_key(owner, id)).await? {
        Some(item) => Ok(Some(from_item(item)?)),
        None => Ok(None),
    }
}

/// Reads one occurrence item.
pub async fn get_occurrence(
    table: &dyn Table,
    owner: Uuid,
    series: Uuid,
    original_key: &str,
) -> anyhow::Result<Option<OccurrenceRecord>> {
    match table.get(&occurrence_key(owner, series, original_key)).await? {
        Some(item) => Ok(Some(from_item(item)?)),
        None => Ok(None),
    }
}

/// What one calendar (or one series of it) holds.
#[derive(Debug, Clone, Default)]
pub struct Calendar {
    /// One-off events and series.
    pub events: Vec<EventRecord>,
    /// Occurrence items, by series.
    pub occurrences: BTreeMap<Uuid, Vec<OccurrenceRecord>>,
}

fn decode(items: Vec<Item>, calendar: &mut Calendar) -> anyhow::Result<()> {
    for item in items {
        match item.get(keys::ENTITY_TYPE).and_then(|v| v.as_str()) {
            Some("Event") => calendar.events.push(from_item(item)?),
            Some("EventOccurrence") => {
                let occurrence: OccurrenceRecord = from_item(item)?;
                calendar.occurrences.entry(occurrence.series_id).or_default().push(occurrence);
            }
            _ => {}
        }
    }
    Ok(())
}

/// Everything in `owner`'s calendar: one Query of its partition.
pub async fn calendar(table: &dyn Table, owner: Uuid) -> anyhow::Result<Calendar> {
    let query =
        Query::new(Index::Primary, keys::calendar_pk(owner)).sort_key(SortKey::BeginsWith(keys::EVENT_PREFIX.into()));
    let mut calendar = Calendar::default();
    decode(table.query(&query).await?.items, &mut calendar)?;
    Ok(calendar)
}

/// One event with its occurrence items: one Query.
pub async fn series(table: &dyn Table, owner: Uuid, id: Uuid) -> anyhow::Result<Calendar> {
    let query = Query::new(Index::Primary, keys::calendar_pk(owner)).sort_key(SortKey::BeginsWith(keys::event_sk(id)));
    let mut calendar = Calendar::default();
    decode(table.query(&query).await?.items, &mut calendar)?;
    Ok(calendar)
}

/// The events `user` attends in other people's calendars: `(owner, event)`.
pub async fn attended(table: &dyn Table, user: Uuid) -> anyhow::Result<Vec<(Uuid, Uuid)>> {
    let query = Query::new(Index::Gsi1, keys::attendee_gsi1pk(user));
    let mut out = Vec::new();
    for item in table.query(&query).await?.items {
        let owner = item.get("ownerId").and_then(|v| v.as_str()).and_then(|v| Uuid::parse_str(v).ok());
        let event = item.get("eventId").and_then(|v| v.as_str()).and_then(|v| Uuid::parse_str(v).ok());
        if let (Some(owner), Some(event)) = (owner, event) {
            out.push((owner, event));
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(attendees: Vec<Uuid>) -> EventRecord {
        let now = Utc::now();
        EventRecord {
            id: Uuid::now_v7(),
            owner_id: Uuid::now_v7(),
            organisation_id: None,
            details: EventDetails { title: "Walk".into(), attendee_ids: attendees, ..Default::default() },
            start: now,
            end: now,
            time_zone: "UTC".into(),
            all_day: false,
            recurrence: Vec::new(),
            status: EventStatus::Confirmed,
            state: OccurrenceState::default(),
            epoch: 0,
            ends_before: None,
            created_by: Uuid::now_v7(),
            created_at: now,
            updated_at: now,
            version: 1,
        }
    }

    #[test]
    fn a_new_event_gets_its_reference_and_attendee_items() {
        let a = Uuid::now_v7();
        let record = event(vec![a]);
        let change =
            EventChange { puts: vec![EventPut { record: record.clone(), previous: None }], ..Default::default() };
        let ops = transaction(&change).unwrap();
        let keys: Vec<Key> = ops.iter().filter_map(WriteOp::key).collect();
        assert!(keys.contains(&event_key(record.owner_id, record.id)));
        assert!(keys.contains(&Key::new(keys::event_ref_pk(record.id), keys::EVENT_REF_SK)));
        assert!(keys.contains(&Key::new(keys::calendar_pk(record.owner_id), keys::attendee_sk(record.id, a))));
        let WriteOp::Put { condition, .. } = &ops[0] else { panic!("a put first") };
        assert_eq!(*condition, Condition::NotExists);
    }

    #[test]
    fn replacing_an_event_diffs_its_attendees_and_checks_the_version() {
        let (a, b) = (Uuid::now_v7(), Uuid::now_v7());
        let previous = event(vec![a]);
        let mut record = previous.clone();
        record.details.attendee_ids = vec![b];
        record.version = 2;
        let change =
            EventChange { puts: vec![EventPut { record, previous: Some(previous.clone()) }], ..Default::default() };
        let ops = transaction(&change).unwrap();
        assert_eq!(ops.len(), 3, "event, new attendee, removed attendee; no second reference");
        let WriteOp::Put { condition, .. } = &ops[0] else { panic!("a put first") };
        assert_eq!(*condition, Condition::version_is(1));
        assert!(matches!(&ops[2], WriteOp::Delete { key, .. } if key.sk == keys::attendee_sk(previous.id, a)));
    }

    #[test]
    fn occurrence_items_apply_only_to_their_epoch_and_before_a_split() {
        let mut series = event(Vec::new());
        let now = series.start;
        let occurrence = OccurrenceRecord {
            series_id: series.id,
            owner_id: series.owner_id,
            original_start: now,
            original_key: "x".into(),
            epoch: 0,
            detached: None,
            status: EventStatus::Confirmed,
            deleted: false,
            state: OccurrenceState::default(),
            created_at: now,
            updated_at: now,
            version: 1,
        };
        assert!(series.applies(&occurrence));
        series.ends_before = Some(now);
        assert!(!series.applies(&occurrence));
        series.ends_before = None;
        series.epoch = 1;
        assert!(!series.applies(&occurrence));
    }
}
