//! Calendar event handlers: one-off and all-day events, recurring series
//! and their instances, edits with `scope=one|future|all`, and the
//! per-occurrence state (done, list progress, stopped alarm).
//!
//! An instance of a series is addressed as `<seriesId>_<originalStart>`
//! (`20260329T063000Z`, or `20260329` for all-day events). Exceptions live
//! as occurrence items next to the series (see `shared::calendar::events`):
//! `one` writes such an item (the series then skips the original time even
//! if the copy moves), `future` splits the series, `all` changes it. Every
//! write goes through `shared::calendar::commit`.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use chrono::{DateTime, Duration, NaiveDate, SecondsFormat, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use shared::access::authz::Area;
use shared::access::authz::UserAccess;
use shared::access::authz::user_access;
use shared::audit::AuditEntry;
use shared::calendar::events as repo;
use shared::calendar::events::Alarm;
use shared::calendar::events::Detached;
use shared::calendar::events::EventChange;
use shared::calendar::events::EventDetails;
use shared::calendar::events::EventPut;
use shared::calendar::events::EventRecord;
use shared::calendar::events::EventStatus;
use shared::calendar::events::OccurrencePut;
use shared::calendar::events::OccurrenceRecord;
use shared::calendar::events::OccurrenceState;
use shared::calendar::events::Reminder;
use shared::concurrency::{IfMatch, etag_headers};
use shared::context::Ctx;
use shared::domain::{BoundedText, TimeZoneName};
use shared::extract::{Json, Query};
use shared::identity::auth::Principal;
use shared::pagination::PageRequest;
use shared::people::users;
use shared::validation::Validator;
use shared::{ApiError, AppState, Result};

use crate::common;
use crate::series::{self, Recurrence, Timing};
use shared::kit::write_failed;
use shared::kit::{BodyProblems, ListResponse, Problems, WriteProblems, created_headers};

/// Longest window a list may ask for.
pub const MAX_WINDOW_DAYS: i64 = 366;

// ---------------------------------------------------------------------------
// Wire types
// ---------------------------------------------------------------------------

/// A new event.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct CreateEvent {
    /// Whose calendar (default: the caller).
    pub owner_id: Option<Uuid>,
    /// The organisation the event belongs to: one of the owner's that the
    /// caller plans in. Default: the caller's organisation when an
    /// administrator or planner creates it, none (personal) when the owner
    /// does. Administrators see only their organisation's events of a
    /// member (and the personal ones when they administer every
    /// organisation of the member).
    #[serde(default)]
    pub organisation_id: Option<Uuid>,
    /// Title (1–200 characters).
    #[schema(schema_with = BoundedText::<200>::schema)]
    pub title: String,
    /// Description (≤ 5000 characters).
    #[serde(default)]
    #[schema(max_length = 5000)]
    pub description: String,
    /// Timed: an RFC 3339 instant; all-day: a date (`2026-03-29`); in the
    /// years 1970–2200.
    #[schema(schema_with = time_schema)]
    pub start: String,
    /// Timed: an RFC 3339 instant after `start` (required); all-day: the
    /// date after the last day (default: one day). At most 366 days after
    /// `start`.
    #[schema(schema_with = nullable_time_schema)]
    pub end: Option<String>,
    /// IANA zone; required for recurring events (default `UTC`).
    #[schema(value_type = Option<TimeZoneName>)]
    pub time_zone: Option<String>,
    /// Whole days.
    #[serde(default)]
    pub all_day: bool,
    /// RFC 5545 lines: one `RRULE:...` and any `EXDATE...`.
    #[serde(default)]
    #[schema(schema_with = recurrence_schema)]
    pub recurrence: Vec<String>,
    /// Reminders (≤ 10).
    #[serde(default)]
    #[schema(max_items = 10)]
    pub reminders: Vec<Reminder>,
    /// Alarm.
    pub alarm: Option<Alarm>,
    /// Location (≤ 500 characters).
    #[serde(default)]
    #[schema(max_length = 500)]
    pub location: String,
    /// Users attending (same organisation as the owner; ≤ 25).
    #[serde(default)]
    #[schema(max_items = 25)]
    pub attendee_ids: Vec<Uuid>,
    /// Media attached (≤ 50).
    #[serde(default)]
    #[schema(max_items = 50)]
    pub media_ids: Vec<Uuid>,
    /// Lists attached (≤ 50).
    #[serde(default)]
    #[schema(max_items = 50)]
    pub list_ids: Vec<Uuid>,
    /// Category (≤ 100 characters).
    #[serde(default)]
    #[schema(max_length = 100)]
    pub category: String,
    /// Tags (≤ 20, each 1–50 characters).
    #[serde(default)]
    #[schema(schema_with = common::tags_schema)]
    pub tags: Vec<String>,
}

/// An event's time: an RFC 3339 instant, or a `YYYY-MM-DD` date for
/// all-day events (which one, [`CreateEvent`]'s rules say). The years
/// 1970–2200 are in the description only: as a pattern beside the format,
/// they left generators (schemathesis) filtering out most of what they drew.
fn time_schema() -> utoipa::openapi::schema::Schema {
    use utoipa::openapi::{KnownFormat, ObjectBuilder, SchemaFormat, Type};
    let as_format =
        |format| ObjectBuilder::new().schema_type(Type::String).format(Some(SchemaFormat::KnownFormat(format)));
    utoipa::openapi::schema::AnyOfBuilder::new()
        .item(as_format(KnownFormat::DateTime))
        .item(as_format(KnownFormat::Date))
        .build()
        .into()
}

/// [`time_schema`], also allowing `null`.
fn nullable_time_schema() -> utoipa::openapi::schema::Schema {
    let mut schema = time_schema();
    if let utoipa::openapi::schema::Schema::AnyOf(any) = &mut schema {
        any.items.push(utoipa::openapi::ObjectBuilder::new().schema_type(utoipa::openapi::Type::Null).into());
    }
    schema
}

/// Recurrence lines: at least their `RRULE:` or `EXDATE` start (the rest
/// follows RFC 5545, as far as [`series::parse_recurrence`] supports it).
fn recurrence_schema() -> utoipa::openapi::schema::Array {
    let line = utoipa::openapi::ObjectBuilder::new()
        .schema_type(utoipa::openapi::Type::String)
        .pattern(Some("^(?:[Rr][Rr][Uu][Ll][Ee]:|[Ee][Xx][Dd][Aa][Tt][Ee][;:])"));
    utoipa::openapi::schema::ArrayBuilder::new().items(line).build()
}

/// The rules across a new event's fields: `start` and `end` are dates for
/// an all-day event and instants otherwise, where `end` is required; a
/// recurring event names its time zone.
impl shared::openapi::BodyRules for CreateEvent {
    fn rules() -> Vec<utoipa::openapi::schema::Schema> {
        let date = serde_json::json!({"type": "string", "format": "date"});
        let instant = serde_json::json!({"type": "string", "format": "date-time"});
        let all_day = serde_json::json!({
            "required": ["allDay"],
            "properties": {"allDay": {"const": true}, "start": date, "end": {"anyOf": [date, {"type": "null"}]}}
        });
        let timed = serde_json::json!({
            "required": ["end"],
            "properties": {"allDay": {"const": false}, "start": instant, "end": instant}
        });
        let recurring = serde_json::json!({"required": ["recurrence"], "properties": {"recurrence": {"minItems": 1}}});
        let zoned = serde_json::json!({"required": ["timeZone"], "properties": {"timeZone": {"type": "string"}}});
        vec![
            shared::openapi::keyword("All-day dates or timed instants", "oneOf", serde_json::json!([all_day, timed])),
            shared::openapi::keyword(
                "A recurring event names its time zone",
                "anyOf",
                serde_json::json!([{"not": recurring}, zoned]),
            ),
        ]
    }
}

shared::body_with_rules! {
    /// A new event's fields with the rules across them.
    pub CreateEventRequest for CreateEvent
}

/// Changes to an event; absent fields stay as they are.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct PatchEvent {
    /// Title (1–200 characters).
    #[schema(schema_with = BoundedText::<200>::nullable_schema)]
    pub title: Option<String>,
    /// Description (≤ 5000 characters).
    #[schema(max_length = 5000)]
    pub description: Option<String>,
    /// New start (an instance's new start with `scope=one`; with
    /// `future`/`all` on an instance, the series moves by as much).
    #[schema(schema_with = nullable_time_schema)]
    pub start: Option<String>,
    /// New end (default: the same length as before).
    #[schema(schema_with = nullable_time_schema)]
    pub end: Option<String>,
    /// IANA zone (series and one-off events only).
    #[schema(value_type = Option<TimeZoneName>)]
    pub time_zone: Option<String>,
    /// Whole days (needs `start`).
    pub all_day: Option<bool>,
    /// New recurrence (`[]` makes a series a one-off event).
    #[schema(schema_with = nullable_recurrence_schema)]
    pub recurrence: Option<Vec<String>>,
    /// Reminders (≤ 10).
    #[schema(max_items = 10)]
    pub reminders: Option<Vec<Reminder>>,
    /// Alarm.
    pub alarm: Option<Alarm>,
    /// Location (≤ 500 characters).
    #[schema(max_length = 500)]
    pub location: Option<String>,
    /// Attendees (≤ 25).
    #[schema(max_items = 25)]
    pub attendee_ids: Option<Vec<Uuid>>,
    /// Media (≤ 50).
    #[schema(max_items = 50)]
    pub media_ids: Option<Vec<Uuid>>,
    /// Lists (≤ 50).
    #[schema(max_items = 50)]
    pub list_ids: Option<Vec<Uuid>>,
    /// Category (≤ 100 characters).
    #[schema(max_length = 100)]
    pub category: Option<String>,
    /// Tags (≤ 20, each 1–50 characters).
    #[schema(schema_with = nullable_tags_schema)]
    pub tags: Option<Vec<String>>,
}

/// [`recurrence_schema`], also allowing `null`.
fn nullable_recurrence_schema() -> utoipa::openapi::schema::Array {
    let mut schema = recurrence_schema();
    schema.schema_type =
        utoipa::openapi::schema::SchemaType::from_iter([utoipa::openapi::Type::Array, utoipa::openapi::Type::Null]);
    schema
}

/// Tags, also allowing `null`.
fn nullable_tags_schema() -> utoipa::openapi::schema::Array {
    let mut schema = common::tags_schema();
    schema.schema_type =
        utoipa::openapi::schema::SchemaType::from_iter([utoipa::openapi::Type::Array, utoipa::openapi::Type::Null]);
    schema
}

/// An event, a series or one instance of a series.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct EventView {
    /// Event id, series id, or instance id `<seriesId>_<originalStart>`.
    pub id: String,
    /// On instances: the series.
    pub recurring_event_id: Option<Uuid>,
    /// On instances: the start the series gives it (UTC instant, or a date for all-day).
    pub original_start: Option<String>,
    /// Whose calendar.
    pub owner_id: Uuid,
    /// The organisation it belongs to (`null`: the owner's personal event).
    pub organisation_id: Option<Uuid>,
    /// Title.
    pub title: String,
    /// Description.
    pub description: String,
    /// Start: UTC instant, or a date for all-day events.
    pub start: String,
    /// End (exclusive): UTC instant, or a date for all-day events.
    pub end: String,
    /// IANA zone.
    pub time_zone: String,
    /// Whole days.
    pub all_day: bool,
    /// RFC 5545 lines of a series (empty on instances and one-off events).
    pub recurrence: Vec<String>,
    /// Reminders.
    pub reminders: Vec<Reminder>,
    /// Alarm.
    pub alarm: Option<Alarm>,
    /// Location.
    pub location: String,
    /// Attendees.
    pub attendee_ids: Vec<Uuid>,
    /// Media.
    pub media_ids: Vec<Uuid>,
    /// Lists.
    pub list_ids: Vec<Uuid>,
    /// Category.
    pub category: String,
    /// Tags.
    pub tags: Vec<String>,
    /// `confirmed` or `cancelled`.
    pub status: EventStatus,
    /// Done (per occurrence).
    pub done: bool,
    /// Checked list items (per occurrence): `{listId: [itemId]}`.
    pub progress: BTreeMap<String, Vec<String>>,
    /// When the alarm was stopped (per occurrence).
    pub alarm_stopped_at: Option<DateTime<Utc>>,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Last changed.
    pub updated_at: DateTime<Utc>,
    /// Version (also the ETag).
    pub version: i64,
}

/// Which occurrences of a series a change applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Scope {
    /// Only this instance.
    One,
    /// This instance and all after it (the series is split).
    Future,
    /// The whole series.
    All,
}

/// `?scope=`
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ScopeParams {
    /// `one|future|all`; required for instance ids of a series, default `all` otherwise.
    // Inline: a parameter's schema is not collected into the components.
    #[param(inline)]
    pub scope: Option<Scope>,
}

/// The window of a calendar list.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
pub struct ListParams {
    /// Whose calendar (default: the caller).
    pub owner_id: Option<Uuid>,
    /// Window start (RFC 3339).
    #[param(format = DateTime)]
    pub from: String,
    /// Window end (RFC 3339, exclusive; after `from`, at most 366 days after it).
    #[param(format = DateTime)]
    pub to: String,
    /// Items per page (1–100, default 25).
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<u32>,
    /// From `nextCursor` of the previous page.
    pub cursor: Option<String>,
}

/// `{done}`
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DoneRequest {
    /// Done or not.
    pub done: bool,
}

// ---------------------------------------------------------------------------
// Times and views
// ---------------------------------------------------------------------------

fn fmt_time(at: DateTime<Utc>, all_day: bool) -> String {
    series::api_time(at, all_day)
}

fn parse_time(raw: &str, all_day: bool) -> std::result::Result<DateTime<Utc>, String> {
    if all_day {
        NaiveDate::parse_from_str(raw, "%Y-%m-%d")
            .map(series::floating)
            .map_err(|_| format!("`{raw}` is not a date such as 2026-03-29"))
    } else {
        DateTime::parse_from_rfc3339(raw)
            .map(|t| t.with_timezone(&Utc))
            .map_err(|_| format!("`{raw}` is not an RFC 3339 instant such as 2026-03-29T06:30:00Z"))
    }
}

/// Validated timing of an event.
struct Times {
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    tz: Tz,
    all_day: bool,
    recurrence: Option<Recurrence>,
}

impl Times {
    fn lines(&self) -> Vec<String> {
        self.recurrence.as_ref().map(|r| r.to_lines(self.all_day)).unwrap_or_default()
    }
}

struct RawTimes<'a> {
    start: &'a str,
    end: Option<&'a str>,
    keep_duration: Option<Duration>,
    time_zone: Option<&'a str>,
    all_day: bool,
    recurrence: &'a [String],
}

fn check_times(v: &mut Validator, raw: RawTimes<'_>) -> Option<Times> {
    let tz = match raw.time_zone {
        Some(name) => v.field("timeZone", name.parse::<Tz>().map_err(|_| format!("`{name}` is not an IANA time zone"))),
        None if raw.recurrence.is_empty() => Some(Tz::UTC),
        None => {
            v.error("timeZone", "is required for recurring events");
            None
        }
    };
    let start = v.field("start", parse_time(raw.start, raw.all_day));
    let start = start.filter(|s| {
        let ok = (1970..=2200).contains(&chrono::Datelike::year(s));
        if !ok {
            v.error("start", "must be between the years 1970 and 2200");
        }
        ok
    });
    let end = match (raw.end, start, raw.keep_duration) {
        (Some(e), _, _) => v.field("end", parse_time(e, raw.all_day)),
        (None, Some(s), Some(d)) => Some(s + d),
        (None, Some(s), None) if raw.all_day => Some(s + Duration::days(1)),
        (None, Some(_), None) => {
            v.error("end", "is required for timed events");
            None
        }
        (None, None, _) => None,
    };
    let (Some(start), Some(end), Some(tz)) = (start, end, tz) else { return None };
    if end <= start {
        v.error("end", "must be after start");
        return None;
    }
    if end - start > Duration::days(MAX_WINDOW_DAYS) {
        v.error("end", "an event lasts at most 366 days");
        return None;
    }
    match series::parse_recurrence(raw.recurrence, tz, raw.all_day, start) {
        Ok(recurrence) => Some(Times { start, end, tz, all_day: raw.all_day, recurrence }),
        Err((i, message)) => {
            v.error(&format!("recurrence[{i}]"), message);
            None
        }
    }
}

fn check_details(v: &mut Validator, d: &EventDetails) -> Option<EventDetails> {
    let title = common::title(v, "title", &d.title);
    let description = common::text(v, "description", &d.description, 5000);
    let location = common::text(v, "location", &d.location, 500);
    let category = common::text(v, "category", &d.category, 100);
    let tags = common::tags(v, "tags", &d.tags);
    let reminders = common::reminders(v, "reminders", &d.reminders);
    let alarm = common::alarm(v, "alarm", d.alarm.as_ref());
    let attendee_ids = common::ids(v, "attendeeIds", &d.attendee_ids, common::MAX_ATTENDEES);
    let media_ids = common::ids(v, "mediaIds", &d.media_ids, common::MAX_ATTACHED);
    let list_ids = common::ids(v, "listIds", &d.list_ids, common::MAX_ATTACHED);
    Some(EventDetails {
        title: title?,
        description: description?,
        reminders: reminders?,
        alarm: alarm?,
        location: location?,
        attendee_ids: attendee_ids?,
        media_ids: media_ids?,
        list_ids: list_ids?,
        category: category?,
        tags: tags?,
    })
}

fn timing(record: &EventRecord) -> Timing {
    let tz = record.time_zone.parse::<Tz>().unwrap_or(Tz::UTC);
    let recurrence = series::parse_recurrence(&record.recurrence, tz, record.all_day, record.start).ok().flatten();
    Timing { start: record.start, duration: record.end - record.start, tz, all_day: record.all_day, recurrence }
}

fn view(
    id: String,
    record: &EventRecord,
    details: &EventDetails,
    (start, end): (DateTime<Utc>, DateTime<Utc>),
    state: &OccurrenceState,
    instance: Option<(DateTime<Utc>, Option<&OccurrenceRecord>)>,
) -> EventView {
    // An instance's view is made in one go: listings make thousands, and a
    // view is large enough that each extra move shows.
    let (recurring_event_id, original_start, status, updated_at, version) = match instance {
        None => (None, None, record.status, record.updated_at, record.version),
        Some((original, occurrence)) => (
            Some(record.id),
            Some(fmt_time(original, record.all_day)),
            match occurrence {
                Some(o) if record.status == EventStatus::Confirmed => o.status,
                _ => record.status,
            },
            occurrence.map_or(record.updated_at, |o| record.updated_at.max(o.updated_at)),
            record.version + occurrence.map_or(0, |o| o.version),
        ),
    };
    EventView {
        id,
        recurring_event_id,
        original_start,
        owner_id: record.owner_id,
        organisation_id: record.organisation_id,
        title: details.title.clone(),
        description: details.description.clone(),
        start: fmt_time(start, record.all_day),
        end: fmt_time(end, record.all_day),
        time_zone: record.time_zone.clone(),
        all_day: record.all_day,
        recurrence: Vec::new(),
        reminders: details.reminders.clone(),
        alarm: details.alarm.clone(),
        location: details.location.clone(),
        attendee_ids: details.attendee_ids.clone(),
        media_ids: details.media_ids.clone(),
        list_ids: details.list_ids.clone(),
        category: details.category.clone(),
        tags: details.tags.clone(),
        status,
        done: state.done,
        progress: state.progress.clone(),
        alarm_stopped_at: state.alarm_stopped_at,
        created_at: record.created_at,
        updated_at,
        version,
    }
}

/// The view of a one-off event or of a series itself.
pub fn event_view(record: &EventRecord) -> EventView {
    let mut out = view(record.id.to_string(), record, &record.details, (record.start, record.end), &record.state, None);
    out.recurrence = record.recurrence.clone();
    if record.is_recurring() {
        // Per-occurrence state lives on instances, never on the series.
        out.done = false;
        out.progress = BTreeMap::new();
        out.alarm_stopped_at = None;
    }
    out
}

/// The id of an instance.
pub fn instance_id(series: &EventRecord, original: DateTime<Utc>) -> String {
    let mut id = String::with_capacity(53);
    id.push_str(series.id.hyphenated().encode_lower(&mut Uuid::encode_buffer()));
    id.push('_');
    series::push_compact(&mut id, original, series.all_day);
    id
}

/// The view of one instance of a series, with its occurrence item if any.
pub fn instance_view(
    series: &EventRecord,
    duration: Duration,
    original: DateTime<Utc>,
    occurrence: Option<&OccurrenceRecord>,
) -> EventView {
    instance_view_as(instance_id(series, original), series, duration, original, occurrence)
}

/// [`instance_view`] with the instance's id already made.
fn instance_view_as(
    id: String,
    series: &EventRecord,
    duration: Duration,
    original: DateTime<Utc>,
    occurrence: Option<&OccurrenceRecord>,
) -> EventView {
    let default_state = OccurrenceState::default();
    let (details, span) = match occurrence.and_then(|o| o.detached.as_ref()) {
        Some(d) => (&d.details, (d.start, d.end)),
        None => (&series.details, (original, original + duration)),
    };
    let state = occurrence.map(|o| &o.state).unwrap_or(&default_state);
    view(id, series, details, span, state, Some((original, occurrence)))
}

/// One instance of the window list before its view is made: the instant it
/// sorts by, its id (which breaks ties) and what the view is made from.
/// Views are made once, in order, after sorting.
struct Listed<'a> {
    begins: DateTime<Utc>,
    id: String,
    record: &'a EventRecord,
    /// For an instance of a series: its original start and occurrence item.
    instance: Option<(DateTime<Utc>, Option<&'a OccurrenceRecord>)>,
}

impl Listed<'_> {
    /// Its view (taking its id).
    fn view(&mut self) -> EventView {
        match self.instance {
            None => event_view(self.record),
            Some((original, occurrence)) => {
                let duration = self.record.end - self.record.start;
                instance_view_as(std::mem::take(&mut self.id), self.record, duration, original, occurrence)
            }
        }
    }
}

/// The instances of one event (one-off or series) overlapping `[from, to)`,
/// leaving out cancelled and deleted ones and including detached copies
/// wherever they moved.
fn instances<'a>(
    record: &'a EventRecord,
    occurrences: &'a [OccurrenceRecord],
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    out: &mut Vec<Listed<'a>>,
) {
    if record.status == EventStatus::Cancelled {
        return;
    }
    let t = timing(record);
    if !record.is_recurring() {
        let (begins, ends) = t.span(record.start);
        if begins < to && ends > from {
            out.push(Listed { begins, id: record.id.to_string(), record, instance: None });
        }
        return;
    }
    let applying: BTreeMap<DateTime<Utc>, &OccurrenceRecord> =
        occurrences.iter().filter(|o| record.applies(o)).map(|o| (o.original_start, o)).collect();
    for original in t.expand(from, to) {
        let occurrence = applying.get(&original).copied();
        if occurrence.is_some_and(|o| o.deleted || o.status == EventStatus::Cancelled || o.detached.is_some()) {
            continue;
        }
        let (begins, _) = t.span(original);
        out.push(Listed { begins, id: instance_id(record, original), record, instance: Some((original, occurrence)) });
    }
    for o in applying.values().copied() {
        let Some(d) = &o.detached else { continue };
        if o.deleted || o.status == EventStatus::Cancelled {
            continue;
        }
        let (begins, ends) = if record.all_day {
            let span = Timing { start: d.start, duration: d.end - d.start, ..t.clone() };
            span.span(d.start)
        } else {
            (d.start, d.end)
        };
        if begins < to && ends > from {
            let id = instance_id(record, o.original_start);
            out.push(Listed { begins, id, record, instance: Some((o.original_start, Some(o))) });
        }
    }
}

/// Expands a calendar into its instances in `[from, to)`, ordered by start
/// (then id), each with the instant it sorts by. Public for the benchmark.
pub fn window(
    events: &[EventRecord],
    occurrences: &BTreeMap<Uuid, Vec<OccurrenceRecord>>,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Vec<(DateTime<Utc>, EventView)> {
    let mut out = Vec::new();
    for record in events {
        let own = occurrences.get(&record.id).map(Vec::as_slice).unwrap_or(&[]);
        instances(record, own, from, to, &mut out);
    }
    // Sort positions rather than the entries themselves (a tenth of the bytes to move).
    let mut order: Vec<(DateTime<Utc>, usize)> = out.iter().map(|l| l.begins).zip(0..).collect();
    order.sort_by(|(a, i), (b, j)| a.cmp(b).then_with(|| out[*i].id.cmp(&out[*j].id)));
    let mut views = Vec::with_capacity(out.len());
    views.extend(order.into_iter().map(|(begins, i)| (begins, out[i].view())));
    views
}

// ---------------------------------------------------------------------------
// Loading what a request addresses
// ---------------------------------------------------------------------------

/// What an event id in a URL addresses. (One per request: boxing the
/// larger variant would buy nothing.)
#[allow(clippy::large_enum_variant)]
enum Target {
    /// A one-off event or a series as a whole.
    Event(EventRecord),
    /// One instance of a series.
    Instance { series: EventRecord, original: DateTime<Utc>, occurrence: Option<OccurrenceRecord> },
}

struct Loaded {
    target: Target,
    /// `None` when the caller only attends the event.
    access: Option<UserAccess>,
}

impl Loaded {
    fn version(&self) -> i64 {
        match &self.target {
            Target::Event(r) => r.version,
            Target::Instance { series, occurrence, .. } => {
                series.version + occurrence.as_ref().map(|o| o.version).unwrap_or(0)
            }
        }
    }

    fn record(&self) -> &EventRecord {
        match &self.target {
            Target::Event(r) | Target::Instance { series: r, .. } => r,
        }
    }

    fn organisation(&self) -> Option<Uuid> {
        self.access.as_ref().and_then(|a| a.audit_organisation()).or(self.record().organisation_id)
    }

    fn view(&self) -> EventView {
        match &self.target {
            Target::Event(r) => event_view(r),
            Target::Instance { series, original, occurrence } => {
                instance_view(series, series.end - series.start, *original, occurrence.as_ref())
            }
        }
    }
}

/// The instance part of an id: the original start and its compact form as given.
type InstancePart<'a> = (DateTime<Utc>, &'a str);

/// Splits an id into the event id and, for an instance, its original start
/// and the compact form as given. Only canonical forms are accepted, so an
/// instance has exactly one id.
fn parse_event_id(raw: &str) -> Result<(Uuid, Option<InstancePart<'_>>)> {
    let (id, instance) = match raw.split_once('_') {
        Some((id, at)) => (id, Some((series::parse_compact(at).ok_or(ApiError::NotFound)?, at))),
        None => (raw, None),
    };
    let uuid = Uuid::parse_str(id).map_err(|_| ApiError::NotFound)?;
    if uuid.to_string() != id {
        return Err(ApiError::NotFound);
    }
    Ok((uuid, instance))
}

/// The caller's access to `owner`'s calendar (404 if none; 403 if visible but
/// not allowed, e.g. a planner with read-only calendar permission writing).
async fn calendar_access(state: &AppState, principal: &Principal, owner: Uuid, write: bool) -> Result<UserAccess> {
    principal.require("calendar", write)?;
    let access = user_access(state.table.as_ref(), principal, owner).await?;
    access.require(Area::Calendar, write)?;
    Ok(access)
}

async fn load(state: &AppState, principal: &Principal, raw_id: &str, write: bool) -> Result<Loaded> {
    principal.require("calendar", write)?;
    let (id, instance) = parse_event_id(raw_id)?;
    let table = state.table.as_ref();
    let owner = repo::owner_of(table, id).await?.ok_or(ApiError::NotFound)?;
    let record = repo::get(table, owner, id).await?.ok_or(ApiError::NotFound)?;
    let access = match calendar_access(state, principal, owner, write).await {
        Ok(access) if access.sees(record.organisation_id) => Some(access),
        Ok(_) if record.details.attendee_ids.contains(&principal.user_id) && !write => None,
        Ok(_) => return Err(ApiError::NotFound),
        // Attendees see the events they attend, and change nothing.
        Err(ApiError::NotFound) if record.details.attendee_ids.contains(&principal.user_id) => {
            if write {
                return Err(ApiError::Forbidden("Attendees cannot change the event.".into()));
            }
            None
        }
        Err(err) => return Err(err),
    };
    let target = match instance {
        None => Target::Event(record),
        Some((original, given)) => {
            if !record.is_recurring() || series::compact(original, record.all_day) != given {
                return Err(ApiError::NotFound);
            }
            if !timing(&record).is_occurrence(original) {
                return Err(ApiError::NotFound);
            }
            let key = series::compact(original, record.all_day);
            let occurrence = repo::get_occurrence(table, owner, id, &key).await?.filter(|o| record.applies(o));
            if occurrence.as_ref().is_some_and(|o| o.deleted) {
                return Err(ApiError::NotFound);
            }
            Target::Instance { series: record, original, occurrence }
        }
    };
    Ok(Loaded { target, access })
}

/// Attendees must share an organisation with the owner.
async fn check_attendees(state: &AppState, access: &UserAccess, attendees: &[Uuid]) -> Result<()> {
    let mut v = Validator::new();
    for (i, attendee) in attendees.iter().enumerate() {
        let theirs = users::memberships(state.table.as_ref(), *attendee).await?;
        let shared_org =
            theirs.iter().any(|m| access.memberships.iter().any(|o| o.organisation_id == m.organisation_id));
        if !shared_org {
            v.error(&format!("attendeeIds[{i}]"), "is not a user of the owner's organisation");
        }
    }
    v.finish()
}

/// Refuses a new series when the owner's calendar already holds
/// [`repo::MAX_SERIES_PER_OWNER`]: every listing of a calendar expands all
/// of its series, so their number bounds what a listing costs.
async fn check_series_room(state: &AppState, owner: Uuid) -> Result<()> {
    if repo::series_count(state.table.as_ref(), owner).await? >= repo::MAX_SERIES_PER_OWNER {
        return Err(ApiError::Conflict(format!(
            "A calendar holds at most {} recurring series; delete one (DELETE /v1/events/{{id}}) first.",
            repo::MAX_SERIES_PER_OWNER
        )));
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// Handlers
// ---------------------------------------------------------------------------

/// Creates an event (one-off, all-day or a recurring series).
#[utoipa::path(
    post,
    path = "/v1/events",
    tag = "calendar",
    request_body = CreateEventRequest,
    params(shared::idempotency::IdempotencyKey),
    security(("bearer" = [])),
    responses(
        shared::kit::IdempotentProblems,BodyProblems, (status = 201, body = EventView, headers(("ETag" = String, description = "The version"))), Problems)
)]
#[tracing::instrument(skip_all)]
pub async fn create_event(
    State(state): State<AppState>,
    ctx: Ctx,
    Json(body): Json<CreateEvent>,
) -> Result<(StatusCode, HeaderMap, Json<EventView>)> {
    let principal = &ctx.principal;
    let owner = body.owner_id.unwrap_or(principal.user_id);
    let access = calendar_access(&state, principal, owner, true).await?;
    let mut v = Validator::new();
    let details = check_details(
        &mut v,
        &EventDetails {
            title: body.title,
            description: body.description,
            reminders: body.reminders,
            alarm: body.alarm,
            location: body.location,
            attendee_ids: body.attendee_ids,
            media_ids: body.media_ids,
            list_ids: body.list_ids,
            category: body.category,
            tags: body.tags,
        },
    );
    let times = check_times(
        &mut v,
        RawTimes {
            start: &body.start,
            end: body.end.as_deref(),
            keep_duration: None,
            time_zone: body.time_zone.as_deref(),
            all_day: body.all_day,
            recurrence: &body.recurrence,
        },
    );
    let organisation = v.field("organisationId", access.organisation_for_new(body.organisation_id));
    let (Some(details), Some(times), Some(organisation)) = (details, times, organisation) else {
        return Err(v.into_error());
    };
    check_attendees(&state, &access, &details.attendee_ids).await?;
    if times.recurrence.is_some() {
        check_series_room(&state, owner).await?;
    }

    let now = ctx.now;
    let record = EventRecord {
        id: shared::domain::new_id(),
        owner_id: owner,
        organisation_id: organisation,
        details,
        start: times.start,
        end: times.end,
        time_zone: times.tz.name().to_string(),
        all_day: times.all_day,
        recurrence: times.lines(),
        status: EventStatus::Confirmed,
        state: OccurrenceState::default(),
        epoch: 0,
        ends_before: None,
        created_by: principal.user_id,
        created_at: now,
        updated_at: now,
        version: 1,
    };
    let change = EventChange {
        puts: vec![EventPut { record: record.clone(), previous: None }],
        audit: vec![ctx.audit(
            organisation.or(access.audit_organisation()),
            "event.created",
            format!("event/{}", record.id),
        )],
        ..Default::default()
    };
    shared::calendar::commit(state.table.as_ref(), &change)
        .await
        .map_err(|e| write_failed(e, &IfMatch::Absent, "event"))?;
    let out = event_view(&record);
    Ok((StatusCode::CREATED, created_headers(record.version, &format!("/v1/events/{}", out.id)), Json(out)))
}

/// Lists the instances in a window of someone's calendar, ordered by start:
/// recurring events expanded in their own time zone, detached instances
/// where they moved to, cancelled and deleted ones left out. The caller's
/// own list also holds the events they attend.
#[utoipa::path(
    get,
    path = "/v1/events",
    tag = "calendar",
    params(ListParams),
    security(("bearer" = [])),
    responses((status = 200, body = ListResponse<EventView>), Problems)
)]
#[tracing::instrument(skip_all)]
pub async fn list_events(
    State(state): State<AppState>,
    principal: Principal,
    Query(params): Query<ListParams>,
) -> Result<Json<ListResponse<EventView>>> {
    let mut v = Validator::new();
    let from = v.field("from", parse_time(&params.from, false));
    let to = v.field("to", parse_time(&params.to, false));
    let page = v
        .field("limit", PageRequest::new(params.limit, params.cursor.clone()).map_err(|_| "must be between 1 and 100"));
    let (Some(from), Some(to), Some(page)) = (from, to, page) else { return Err(v.into_error()) };
    if to <= from {
        return Err(ApiError::invalid("to", "must be after from"));
    }
    if to - from > Duration::days(MAX_WINDOW_DAYS) {
        return Err(ApiError::invalid("to", "a window spans at most 366 days"));
    }
    let owner = params.owner_id.unwrap_or(principal.user_id);
    let access = calendar_access(&state, &principal, owner, false).await?;

    let table = state.table.as_ref();
    let mut calendar = repo::calendar(table, owner).await?;
    // Only the events of organisations the caller sees the owner through.
    calendar.events.retain(|e| access.sees(e.organisation_id));
    if owner == principal.user_id {
        for (other, id) in repo::attended(table, owner).await? {
            let attended = repo::series(table, other, id).await?;
            calendar.events.extend(attended.events.into_iter().filter(|e| e.details.attendee_ids.contains(&owner)));
            calendar.occurrences.extend(attended.occurrences);
        }
    }
    let all = window(&calendar.events, &calendar.occurrences, from, to);

    // The cursor is the position (start instant, id) of the last instance
    // returned; the next page continues after it even if it is gone meanwhile.
    let list = format!("events:{owner}:{}:{}", params.from, params.to);
    let after = match &page.cursor {
        Some(cursor) => {
            let key = state.cursors.decode(&list, cursor)?;
            let begins = key.get("s").and_then(|s| s.as_str()).and_then(|s| DateTime::parse_from_rfc3339(s).ok());
            let id = key.get("i").and_then(|s| s.as_str()).map(str::to_string);
            match (begins, id) {
                (Some(b), Some(i)) => Some((b.with_timezone(&Utc), i)),
                _ => return Err(ApiError::invalid("cursor", "is not a valid cursor for this list")),
            }
        }
        None => None,
    };
    let rest: Vec<(DateTime<Utc>, EventView)> = all
        .into_iter()
        .filter(|(begins, view)| after.as_ref().is_none_or(|(b, i)| (*begins, &view.id) > (*b, i)))
        .collect();
    let limit = page.limit as usize;
    let next_cursor = if rest.len() > limit {
        let (begins, last) = &rest[limit - 1];
        let mut key = serde_json::Map::new();
        key.insert("s".into(), begins.to_rfc3339_opts(SecondsFormat::Secs, true).into());
        key.insert("i".into(), last.id.clone().into());
        Some(state.cursors.encode(&list, &key))
    } else {
        None
    };
    let rest = rest.into_iter().map(|(_, view)| view);
    Ok(Json(ListResponse { items: rest.into_iter().take(limit).collect(), next_cursor }))
}

/// Reads an event, a series or one instance (`<seriesId>_<originalStart>`).
#[utoipa::path(
    get,
    path = "/v1/events/{id}",
    tag = "calendar",
    params(("id" = String, Path, description = "Event id, series id or instance id"), ScopeParams),
    security(("bearer" = [])),
    responses((status = 200, body = EventView, headers(("ETag" = String, description = "The version"))), Problems)
)]
#[tracing::instrument(skip_all)]
pub async fn get_event(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
    Query(_params): Query<ScopeParams>,
) -> Result<(HeaderMap, Json<EventView>)> {
    let loaded = load(&state, &principal, &id, false).await?;
    Ok((etag_headers(loaded.version()), Json(loaded.view())))
}

/// The scope a write applies with: required on instances, `all` otherwise.
fn scope_of(loaded: &Loaded, scope: Option<Scope>) -> Result<Scope> {
    match (&loaded.target, scope) {
        (Target::Instance { .. }, None) => {
            Err(ApiError::invalid("scope", "is required for an instance: one, future or all"))
        }
        (Target::Instance { .. }, Some(s)) => Ok(s),
        (Target::Event(r), Some(Scope::One | Scope::Future)) if r.is_recurring() => {
            Err(ApiError::invalid("scope", "one and future need an instance id (<seriesId>_<originalStart>)"))
        }
        (Target::Event(_), _) => Ok(Scope::All),
    }
}

/// The series with its details and timing merged from a patch. `anchor` is
/// the instance the patch's times refer to (the series moves by as much as
/// the instance does), or `None` when they are the series' own.
fn merged_series(
    v: &mut Validator,
    record: &EventRecord,
    patch: &PatchEvent,
    anchor: Option<(DateTime<Utc>, DateTime<Utc>)>,
) -> Option<(EventDetails, Times)> {
    let d = &record.details;
    let details = check_details(
        v,
        &EventDetails {
            title: patch.title.clone().unwrap_or_else(|| d.title.clone()),
            description: patch.description.clone().unwrap_or_else(|| d.description.clone()),
            reminders: patch.reminders.clone().unwrap_or_else(|| d.reminders.clone()),
            alarm: patch.alarm.clone().or_else(|| d.alarm.clone()),
            location: patch.location.clone().unwrap_or_else(|| d.location.clone()),
            attendee_ids: patch.attendee_ids.clone().unwrap_or_else(|| d.attendee_ids.clone()),
            media_ids: patch.media_ids.clone().unwrap_or_else(|| d.media_ids.clone()),
            list_ids: patch.list_ids.clone().unwrap_or_else(|| d.list_ids.clone()),
            category: patch.category.clone().unwrap_or_else(|| d.category.clone()),
            tags: patch.tags.clone().unwrap_or_else(|| d.tags.clone()),
        },
    );
    let all_day = patch.all_day.unwrap_or(record.all_day);
    if all_day != record.all_day && patch.start.is_none() {
        v.error("start", "is required when allDay changes");
        return None;
    }
    // Times the patch gives for an instance move the series by as much.
    let (start, end) = match anchor {
        Some((instance_start, instance_end)) if all_day == record.all_day => {
            let new_start = match &patch.start {
                Some(raw) => v.field("start", parse_time(raw, all_day))?,
                None => instance_start,
            };
            let new_end = match &patch.end {
                Some(raw) => v.field("end", parse_time(raw, all_day))?,
                None => new_start + (instance_end - instance_start),
            };
            let series_start = record.start + (new_start - instance_start);
            (Some(fmt_time(series_start, all_day)), Some(fmt_time(series_start + (new_end - new_start), all_day)))
        }
        _ => (patch.start.clone(), patch.end.clone()),
    };
    let start_raw = start.unwrap_or_else(|| fmt_time(record.start, record.all_day));
    let keep = (end.is_none() && all_day == record.all_day).then_some(record.end - record.start);
    let end_raw = match (&end, &patch.start) {
        (Some(e), _) => Some(e.clone()),
        (None, Some(_)) => None,
        (None, None) => Some(fmt_time(record.end, record.all_day)),
    };
    let lines = patch.recurrence.clone().unwrap_or_else(|| record.recurrence.clone());
    let zone = patch.time_zone.clone().unwrap_or_else(|| record.time_zone.clone());
    let times = check_times(
        v,
        RawTimes {
            start: &start_raw,
            end: end_raw.as_deref(),
            keep_duration: keep,
            time_zone: Some(&zone),
            all_day,
            recurrence: &lines,
        },
    );
    Some((details?, times?))
}

/// The series record after a merge; the epoch moves on when its timing changed.
fn apply(record: &EventRecord, details: EventDetails, times: &Times, now: DateTime<Utc>) -> EventRecord {
    let lines = times.lines();
    let timing_changed = times.start != record.start
        || times.end != record.end
        || times.tz.name() != record.time_zone
        || times.all_day != record.all_day
        || lines != record.recurrence;
    EventRecord {
        details,
        start: times.start,
        end: times.end,
        time_zone: times.tz.name().to_string(),
        all_day: times.all_day,
        recurrence: lines,
        epoch: if timing_changed { record.epoch + 1 } else { record.epoch },
        ends_before: if timing_changed { None } else { record.ends_before },
        updated_at: now,
        version: record.version + 1,
        ..record.clone()
    }
}

/// The occurrence item of an instance, ready to change (new if absent).
fn occurrence_of(
    series: &EventRecord,
    original: DateTime<Utc>,
    existing: Option<&OccurrenceRecord>,
    now: DateTime<Utc>,
) -> OccurrenceRecord {
    match existing {
        Some(o) => OccurrenceRecord { updated_at: now, version: o.version + 1, ..o.clone() },
        None => OccurrenceRecord {
            series_id: series.id,
            owner_id: series.owner_id,
            original_start: original,
            original_key: series::compact(original, series.all_day),
            epoch: series.epoch,
            detached: None,
            status: EventStatus::Confirmed,
            deleted: false,
            state: OccurrenceState::default(),
            created_at: now,
            updated_at: now,
            version: 1,
        },
    }
}

/// The change writing one occurrence item, guarded by the series' version.
fn occurrence_change(
    series: &EventRecord,
    occurrence: OccurrenceRecord,
    previous: Option<i64>,
    audit: AuditEntry,
) -> EventChange {
    EventChange {
        occurrences: vec![OccurrencePut { record: occurrence, previous_version: previous }],
        guards: vec![series.clone()],
        audit: vec![audit],
        ..Default::default()
    }
}

/// Splits `series` before `original`: the old series ends there, a new one
/// (built by `make_new` from the old and the remaining recurrence) starts there.
fn split_change(
    series: &EventRecord,
    original: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Option<(EventRecord, Recurrence)> {
    let t = timing(series);
    let split = series::split(&t, original)?;
    let before = split.before?;
    let old = EventRecord {
        recurrence: before.to_lines(series.all_day),
        ends_before: Some(original),
        updated_at: now,
        version: series.version + 1,
        ..series.clone()
    };
    Some((old, split.after))
}

fn fresh_series(from: &EventRecord, principal: &Principal, now: DateTime<Utc>) -> EventRecord {
    EventRecord {
        id: shared::domain::new_id(),
        state: OccurrenceState::default(),
        epoch: 0,
        ends_before: None,
        created_by: principal.user_id,
        created_at: now,
        updated_at: now,
        version: 1,
        ..from.clone()
    }
}

/// Changes an event: the instance only (`one`), the series from this
/// instance on (`future`, a split), or the whole series (`all`).
#[utoipa::path(
    patch,
    path = "/v1/events/{id}",
    tag = "calendar",
    request_body = PatchEvent,
    params(
        ("id" = String, Path, description = "Event id, series id or instance id"),
        shared::concurrency::IfMatch,
        ScopeParams
    ),
    security(("bearer" = [])),
    responses(
        BodyProblems,
        (status = 200, body = EventView, description = "The instance (one), the new series (future) or the event/series (all)", headers(("ETag" = String, description = "The version"))),
        Problems,
        WriteProblems
    )
)]
#[tracing::instrument(skip_all)]
pub async fn patch_event(
    State(state): State<AppState>,
    ctx: Ctx,
    if_match: IfMatch,
    Path(id): Path<String>,
    Query(params): Query<ScopeParams>,
    Json(patch): Json<PatchEvent>,
) -> Result<(HeaderMap, Json<EventView>)> {
    let principal = &ctx.principal;
    let loaded = load(&state, principal, &id, true).await?;
    let scope = scope_of(&loaded, params.scope)?;
    if_match.check(loaded.version())?;
    let now = ctx.now;
    let org = loaded.organisation();
    let access = loaded.access.as_ref().ok_or(ApiError::NotFound)?;
    let mut v = Validator::new();

    let (change, out) = match (&loaded.target, scope) {
        (Target::Instance { series, original, occurrence }, Scope::One) => {
            for (field, given) in [
                ("timeZone", patch.time_zone.is_some()),
                ("allDay", patch.all_day.is_some()),
                ("recurrence", patch.recurrence.is_some()),
            ] {
                if given {
                    v.error(field, "cannot change for one instance; use scope=all or future");
                }
            }
            let current = instance_view(series, series.end - series.start, *original, occurrence.as_ref());
            let base = occurrence.as_ref().and_then(|o| o.detached.as_ref());
            let d = base.map(|b| &b.details).unwrap_or(&series.details);
            let details = check_details(
                &mut v,
                &EventDetails {
                    title: patch.title.clone().unwrap_or_else(|| d.title.clone()),
                    description: patch.description.clone().unwrap_or_else(|| d.description.clone()),
                    reminders: patch.reminders.clone().unwrap_or_else(|| d.reminders.clone()),
                    alarm: patch.alarm.clone().or_else(|| d.alarm.clone()),
                    location: patch.location.clone().unwrap_or_else(|| d.location.clone()),
                    attendee_ids: patch.attendee_ids.clone().unwrap_or_else(|| d.attendee_ids.clone()),
                    media_ids: patch.media_ids.clone().unwrap_or_else(|| d.media_ids.clone()),
                    list_ids: patch.list_ids.clone().unwrap_or_else(|| d.list_ids.clone()),
                    category: patch.category.clone().unwrap_or_else(|| d.category.clone()),
                    tags: patch.tags.clone().unwrap_or_else(|| d.tags.clone()),
                },
            );
            let (cur_start, cur_end) = (
                parse_time(&current.start, series.all_day).unwrap_or(*original),
                parse_time(&current.end, series.all_day).unwrap_or(*original),
            );
            let start = match &patch.start {
                Some(raw) => v.field("start", parse_time(raw, series.all_day)),
                None => Some(cur_start),
            };
            let end = match (&patch.end, start) {
                (Some(raw), _) => v.field("end", parse_time(raw, series.all_day)),
                (None, Some(s)) => Some(s + (cur_end - cur_start)),
                (None, None) => None,
            };
            if let (Some(s), Some(e)) = (start, end)
                && e <= s
            {
                v.error("end", "must be after start");
            }
            v.finish()?;
            let (Some(details), Some(start), Some(end)) = (details, start, end) else {
                return Err(ApiError::invalid("body", "invalid request"));
            };
            check_attendees(&state, access, &details.attendee_ids).await?;
            let mut item = occurrence_of(series, *original, occurrence.as_ref(), now);
            item.detached = Some(Detached { details, start, end });
            let out = instance_view(series, series.end - series.start, *original, Some(&item));
            let change = occurrence_change(
                series,
                item,
                occurrence.as_ref().map(|o| o.version),
                ctx.audit(org, "event.updated", format!("event/{}", out.id)),
            );
            (change, out)
        }
        (Target::Instance { series, original, occurrence }, Scope::Future)
            if timing(series).count_before(*original) > 0 =>
        {
            let current = instance_view(series, series.end - series.start, *original, occurrence.as_ref());
            let anchor = (
                parse_time(&current.start, series.all_day).unwrap_or(*original),
                parse_time(&current.end, series.all_day).unwrap_or(*original),
            );
            let Some((old, after)) = split_change(series, *original, now) else {
                return Err(ApiError::NotFound);
            };
            // The new series starts at this instance, with what is left of the rule.
            let mut base = fresh_series(series, principal, now);
            base.start = *original;
            base.end = *original + (series.end - series.start);
            base.recurrence = after.to_lines(series.all_day);
            let merged = merged_series(&mut v, &base, &patch, Some(anchor));
            v.finish()?;
            let Some((details, times)) = merged else { return Err(ApiError::invalid("body", "invalid request")) };
            check_attendees(&state, access, &details.attendee_ids).await?;
            let mut new = apply(&base, details, &times, now);
            new.epoch = 0;
            new.version = 1;
            let change = EventChange {
                puts: vec![
                    EventPut { record: old.clone(), previous: Some(series.clone()) },
                    EventPut { record: new.clone(), previous: None },
                ],
                audit: vec![
                    ctx.audit(org, "event.updated", format!("event/{}", series.id)),
                    ctx.audit(org, "event.created", format!("event/{}", new.id)),
                ],
                ..Default::default()
            };
            (change, event_view(&new))
        }
        (Target::Instance { series, original, occurrence }, _) => {
            // `all` on an instance (or `future` from the first one): the series moves with it.
            let current = instance_view(series, series.end - series.start, *original, occurrence.as_ref());
            let anchor = (
                parse_time(&current.start, series.all_day).unwrap_or(*original),
                parse_time(&current.end, series.all_day).unwrap_or(*original),
            );
            let merged = merged_series(&mut v, series, &patch, Some(anchor));
            v.finish()?;
            let Some((details, times)) = merged else { return Err(ApiError::invalid("body", "invalid request")) };
            check_attendees(&state, access, &details.attendee_ids).await?;
            let record = apply(series, details, &times, now);
            let change = EventChange {
                puts: vec![EventPut { record: record.clone(), previous: Some(series.clone()) }],
                audit: vec![ctx.audit(org, "event.updated", format!("event/{}", record.id))],
                ..Default::default()
            };
            (change, event_view(&record))
        }
        (Target::Event(record), _) => {
            let merged = merged_series(&mut v, record, &patch, None);
            v.finish()?;
            let Some((details, times)) = merged else { return Err(ApiError::invalid("body", "invalid request")) };
            check_attendees(&state, access, &details.attendee_ids).await?;
            if !record.is_recurring() && times.recurrence.is_some() {
                // A one-off event becoming a series is a new series.
                check_series_room(&state, record.owner_id).await?;
            }
            let updated = apply(record, details, &times, now);
            let change = EventChange {
                puts: vec![EventPut { record: updated.clone(), previous: Some(record.clone()) }],
                audit: vec![ctx.audit(org, "event.updated", format!("event/{}", updated.id))],
                ..Default::default()
            };
            (change, event_view(&updated))
        }
    };
    shared::calendar::commit(state.table.as_ref(), &change).await.map_err(|e| write_failed(e, &if_match, "event"))?;
    Ok((etag_headers(out.version), Json(out)))
}

/// Deletes an event, one instance, the series from an instance on, or the whole series.
#[utoipa::path(
    delete,
    path = "/v1/events/{id}",
    tag = "calendar",
    params(
        ("id" = String, Path, description = "Event id, series id or instance id"),
        shared::concurrency::IfMatch,
        ScopeParams
    ),
    security(("bearer" = [])),
    responses((status = 204, description = "Deleted"), Problems, WriteProblems)
)]
#[tracing::instrument(skip_all)]
pub async fn delete_event(
    State(state): State<AppState>,
    ctx: Ctx,
    if_match: IfMatch,
    Path(id): Path<String>,
    Query(params): Query<ScopeParams>,
) -> Result<StatusCode> {
    let loaded = load(&state, &ctx.principal, &id, true).await?;
    let scope = scope_of(&loaded, params.scope)?;
    if_match.check(loaded.version())?;
    let now = ctx.now;
    let org = loaded.organisation();
    let table = state.table.as_ref();
    let whole = |record: &EventRecord, leftovers: Vec<_>| {
        // Items beyond one transaction stay behind unreachable (the series is gone).
        let cleanup = leftovers.into_iter().take(60).collect();
        EventChange {
            deletes: vec![record.clone()],
            cleanup,
            audit: vec![ctx.audit(org, "event.deleted", format!("event/{}", record.id))],
            ..Default::default()
        }
    };
    let change = match (&loaded.target, scope) {
        (Target::Instance { series, original, occurrence }, Scope::One) => {
            let mut item = occurrence_of(series, *original, occurrence.as_ref(), now);
            item.deleted = true;
            let target = instance_id(series, *original);
            occurrence_change(
                series,
                item,
                occurrence.as_ref().map(|o| o.version),
                ctx.audit(org, "event.deleted", format!("event/{target}")),
            )
        }
        (Target::Instance { series, original, .. }, Scope::Future) if timing(series).count_before(*original) > 0 => {
            let Some((old, _)) = split_change(series, *original, now) else { return Err(ApiError::NotFound) };
            EventChange {
                puts: vec![EventPut { record: old, previous: Some(series.clone()) }],
                audit: vec![ctx.audit(org, "event.updated", format!("event/{}", series.id))],
                ..Default::default()
            }
        }
        (Target::Instance { series: record, .. }, _) | (Target::Event(record), _) => {
            whole(record, repo::series_leftovers(table, record).await?)
        }
    };
    shared::calendar::commit(table, &change).await.map_err(|e| write_failed(e, &if_match, "event"))?;
    Ok(StatusCode::NO_CONTENT)
}

/// Cancels an event, one instance, the series from an instance on, or the
/// whole series. Cancelled instances stay readable by id and leave windows.
#[utoipa::path(
    post,
    path = "/v1/events/{id}/cancel",
    tag = "calendar",
    params(
        ("id" = String, Path, description = "Event id, series id or instance id"),
        shared::concurrency::IfMatch,
        ScopeParams
    ),
    security(("bearer" = [])),
    responses(
        (status = 200, body = EventView, description = "The cancelled instance, new series (future) or event/series", headers(("ETag" = String, description = "The version"))),
        Problems,
        WriteProblems
    )
)]
#[tracing::instrument(skip_all)]
pub async fn cancel_event(
    State(state): State<AppState>,
    ctx: Ctx,
    if_match: IfMatch,
    Path(id): Path<String>,
    Query(params): Query<ScopeParams>,
) -> Result<(HeaderMap, Json<EventView>)> {
    let principal = &ctx.principal;
    let loaded = load(&state, principal, &id, true).await?;
    let scope = scope_of(&loaded, params.scope)?;
    if_match.check(loaded.version())?;
    let now = ctx.now;
    let org = loaded.organisation();
    let (change, out) = match (&loaded.target, scope) {
        (Target::Instance { series, original, occurrence }, Scope::One) => {
            let mut item = occurrence_of(series, *original, occurrence.as_ref(), now);
            item.status = EventStatus::Cancelled;
            let out = instance_view(series, series.end - series.start, *original, Some(&item));
            let change = occurrence_change(
                series,
                item,
                occurrence.as_ref().map(|o| o.version),
                ctx.audit(org, "event.cancelled", format!("event/{}", out.id)),
            );
            (change, out)
        }
        (Target::Instance { series, original, .. }, Scope::Future) if timing(series).count_before(*original) > 0 => {
            let Some((old, after)) = split_change(series, *original, now) else { return Err(ApiError::NotFound) };
            let mut new = fresh_series(series, principal, now);
            new.start = *original;
            new.end = *original + (series.end - series.start);
            new.recurrence = after.to_lines(series.all_day);
            new.status = EventStatus::Cancelled;
            let change = EventChange {
                puts: vec![
                    EventPut { record: old, previous: Some(series.clone()) },
                    EventPut { record: new.clone(), previous: None },
                ],
                audit: vec![ctx.audit(org, "event.cancelled", format!("event/{}", new.id))],
                ..Default::default()
            };
            (change, event_view(&new))
        }
        (Target::Instance { series: record, .. }, _) | (Target::Event(record), _) => {
            let updated = EventRecord {
                status: EventStatus::Cancelled,
                updated_at: now,
                version: record.version + 1,
                ..record.clone()
            };
            let change = EventChange {
                puts: vec![EventPut { record: updated.clone(), previous: Some(record.clone()) }],
                audit: vec![ctx.audit(org, "event.cancelled", format!("event/{}", record.id))],
                ..Default::default()
            };
            (change, event_view(&updated))
        }
    };
    shared::calendar::commit(state.table.as_ref(), &change).await.map_err(|e| write_failed(e, &if_match, "event"))?;
    Ok((etag_headers(out.version), Json(out)))
}

/// Changes the per-occurrence state of a one-off event or of one instance.
async fn change_state(
    state: &AppState,
    ctx: &Ctx,
    if_match: &IfMatch,
    id: &str,
    action: &str,
    edit: impl FnOnce(&mut OccurrenceState, DateTime<Utc>),
) -> Result<(HeaderMap, Json<EventView>)> {
    let loaded = load(state, &ctx.principal, id, true).await?;
    if_match.check(loaded.version())?;
    let now = ctx.now;
    let org = loaded.organisation();
    let (change, out) = match &loaded.target {
        Target::Event(record) if record.is_recurring() => {
            return Err(ApiError::invalid(
                "id",
                "applies per occurrence: use an instance id (<seriesId>_<originalStart>)",
            ));
        }
        Target::Event(record) => {
            let mut updated = EventRecord { updated_at: now, version: record.version + 1, ..record.clone() };
            edit(&mut updated.state, now);
            let change = EventChange {
                puts: vec![EventPut { record: updated.clone(), previous: Some(record.clone()) }],
                audit: vec![ctx.audit(org, action, format!("event/{}", record.id))],
                ..Default::default()
            };
            (change, event_view(&updated))
        }
        Target::Instance { series, original, occurrence } => {
            let mut item = occurrence_of(series, *original, occurrence.as_ref(), now);
            edit(&mut item.state, now);
            let out = instance_view(series, series.end - series.start, *original, Some(&item));
            let change = occurrence_change(
                series,
                item,
                occurrence.as_ref().map(|o| o.version),
                ctx.audit(org, action, format!("event/{}", out.id)),
            );
            (change, out)
        }
    };
    shared::calendar::commit(state.table.as_ref(), &change).await.map_err(|e| write_failed(e, if_match, "event"))?;
    Ok((etag_headers(out.version), Json(out)))
}

/// Marks a one-off event or one instance done (or not).
#[utoipa::path(
    post,
    path = "/v1/events/{id}/done",
    tag = "calendar",
    request_body = DoneRequest,
    params(("id" = String, Path, description = "Event id or instance id"), shared::concurrency::IfMatch),
    security(("bearer" = [])),
    responses(BodyProblems, (status = 200, body = EventView, headers(("ETag" = String, description = "The version"))), Problems, WriteProblems)
)]
#[tracing::instrument(skip_all)]
pub async fn mark_event_done(
    State(state): State<AppState>,
    ctx: Ctx,
    if_match: IfMatch,
    Path(id): Path<String>,
    Json(body): Json<DoneRequest>,
) -> Result<(HeaderMap, Json<EventView>)> {
    change_state(&state, &ctx, &if_match, &id, "event.done", |s, _| s.done = body.done).await
}

/// The body of a progress save: at most 50 lists (by id), each with at
/// most 500 item ids; `save_event_progress` parses it as a map.
pub struct ProgressRequest;

impl utoipa::PartialSchema for ProgressRequest {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{AdditionalProperties, ArrayBuilder, ObjectBuilder, SchemaFormat, Type};
        let id = || {
            ObjectBuilder::new()
                .schema_type(Type::String)
                .format(Some(SchemaFormat::KnownFormat(utoipa::openapi::KnownFormat::Uuid)))
        };
        ObjectBuilder::new()
            .schema_type(Type::Object)
            .description(Some("Checked items per attached list: `{listId: [itemId]}`."))
            .max_properties(Some(common::MAX_ATTACHED))
            .property_names(Some(id()))
            .additional_properties(Some(AdditionalProperties::RefOr(
                ArrayBuilder::new().items(id()).max_items(Some(MAX_PROGRESS_ITEMS)).into(),
            )))
            .into()
    }
}

impl ToSchema for ProgressRequest {}

/// Most checked items per list.
const MAX_PROGRESS_ITEMS: usize = 500;

/// Saves which items of the attached lists are checked, for a one-off event
/// or one instance: `{listId: [itemId]}` (each list given is replaced).
#[utoipa::path(
    post,
    path = "/v1/events/{id}/progress",
    tag = "calendar",
    request_body = ProgressRequest,
    params(("id" = String, Path, description = "Event id or instance id"), shared::concurrency::IfMatch),
    security(("bearer" = [])),
    responses(BodyProblems, (status = 200, body = EventView, headers(("ETag" = String, description = "The version"))), Problems, WriteProblems)
)]
#[tracing::instrument(skip_all)]
pub async fn save_event_progress(
    State(state): State<AppState>,
    ctx: Ctx,
    if_match: IfMatch,
    Path(id): Path<String>,
    Json(body): Json<BTreeMap<String, Vec<String>>>,
) -> Result<(HeaderMap, Json<EventView>)> {
    let mut v = Validator::new();
    if body.len() > common::MAX_ATTACHED {
        v.error("body", format!("at most {} lists", common::MAX_ATTACHED));
    }
    for (list, items) in &body {
        if Uuid::parse_str(list).is_err() {
            v.error(list, "must be a list id");
        }
        if items.len() > MAX_PROGRESS_ITEMS || items.iter().any(|i| Uuid::parse_str(i).is_err()) {
            v.error(list, "must be at most 500 item ids");
        }
    }
    v.finish()?;
    change_state(&state, &ctx, &if_match, &id, "event.progress", |s, _| {
        for (list, items) in body {
            let mut items = items;
            items.dedup();
            if items.is_empty() {
                s.progress.remove(&list);
            } else {
                s.progress.insert(list, items);
            }
        }
    })
    .await
}

/// Stops the repeating alarm of a one-off event or one instance.
#[utoipa::path(
    post,
    path = "/v1/events/{id}/stop-alarm",
    tag = "calendar",
    params(("id" = String, Path, description = "Event id or instance id"), shared::concurrency::IfMatch),
    security(("bearer" = [])),
    responses((status = 200, body = EventView, headers(("ETag" = String, description = "The version"))), Problems, WriteProblems)
)]
#[tracing::instrument(skip_all)]
pub async fn stop_event_alarm(
    State(state): State<AppState>,
    ctx: Ctx,
    if_match: IfMatch,
    Path(id): Path<String>,
) -> Result<(HeaderMap, Json<EventView>)> {
    change_state(&state, &ctx, &if_match, &id, "event.alarm_stopped", |s, now| {
        s.alarm_stopped_at = Some(now);
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(raw: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(raw).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn times_parse_and_print_as_instants_or_floating_dates() {
        let at = parse_time("2026-03-29T08:30:00+02:00", false).unwrap();
        assert_eq!(at, utc("2026-03-29T06:30:00Z"));
        assert_eq!(fmt_time(at, false), "2026-03-29T06:30:00Z");
        let day = parse_time("2026-03-29", true).unwrap();
        assert_eq!(fmt_time(day, true), "2026-03-29");
        assert!(parse_time("2026-03-29", false).unwrap_err().contains("RFC 3339"));
        assert!(parse_time("2026-03-29T06:30:00Z", true).unwrap_err().contains("date"));
        assert!(parse_time("yesterday", false).is_err());
    }

    #[test]
    fn event_ids_are_canonical_uuids_with_an_optional_instance_part() {
        let id = Uuid::now_v7();
        assert_eq!(parse_event_id(&id.to_string()).unwrap(), (id, None));
        let upper = id.to_string().to_uppercase();
        assert_eq!(parse_event_id(&upper).unwrap_err().code(), "not_found", "one spelling per event");
        assert_eq!(parse_event_id("not-an-id").unwrap_err().code(), "not_found");
        let original = utc("2026-03-29T06:30:00Z");
        let instance = format!("{id}_{}", series::compact(original, false));
        let (parsed, part) = parse_event_id(&instance).unwrap();
        assert_eq!((parsed, part.map(|(at, _)| at)), (id, Some(original)));
        assert_eq!(parse_event_id(&format!("{id}_tomorrow")).unwrap_err().code(), "not_found");
    }
}
