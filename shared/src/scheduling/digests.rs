//! Almanac digests: a user whose almanac settings (the preference with key
//! [`PREFERENCE_KEY`]) turn notifications on gets one mail a day at their
//! chosen local time, in their almanac location's zone, listing the
//! location's almanac events of the next days.
//!
//! The digest rides on the reminders' machinery: its next firing is a due
//! item ([`DueDigest`]) in the minute bucket it fires in (`DUE#<minute>#<shard>`,
//! sort key `DIGEST#...`), so the reminders run finds it without reading
//! any user. As with event reminders, a due item exists if and only if it is
//! current: every write of the preference replaces it (or removes it) in the
//! preference write's own transaction, through the per-user pointer item
//! ([`DigestPointer`]) that names it, and the run that fires it deletes it
//! (requiring it to exist) and stores the next day's in one transaction.

use chrono::{DateTime, Days, Duration, NaiveDate, NaiveDateTime, NaiveTime, Offset, TimeZone, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use uuid::Uuid;

use crate::calendar::almanac;
use crate::calendar::almanac::AlmanacEvent;
use crate::calendar::almanac::Location;
use crate::error::FieldError;
use crate::keys;
use crate::people::preferences;
use crate::people::users;
use crate::people::users::UserRecord;
use crate::scheduling::outbound::PendingSend;
use crate::scheduling::reminders::Delivery;
use crate::scheduling::reminders::Due;
use crate::scheduling::reminders::DueKey;
use crate::scheduling::reminders::bucket;
use crate::scheduling::reminders::delivery_ops;
use crate::scheduling::reminders::shard;
use crate::store::from_item;
use crate::store::to_item;
use crate::table::{Condition, Item, Key, Table, TableError, WriteOp};

/// The preference key holding a user's almanac settings.
pub const PREFERENCE_KEY: &str = "almanac";
/// Entity type of a due digest (how a reminders run tells it from a reminder).
pub const DUE_ENTITY: &str = "DueDigest";
/// Entity type of a digest pointer.
pub const POINTER_ENTITY: &str = "DigestPointer";

/// How far ahead a digest looks (`reminders.schedule`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum Schedule {
    /// Today and the next two days (the default, as in the original system).
    #[default]
    #[serde(rename = "3_DAYS")]
    ThreeDays,
    /// Today and the next six days.
    #[serde(rename = "1_WEEK")]
    OneWeek,
}

impl Schedule {
    /// Days covered, today included.
    pub fn days(self) -> u64 {
        match self {
            Schedule::ThreeDays => 3,
            Schedule::OneWeek => 7,
        }
    }
}

/// `reminders` of the almanac settings.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReminderSettings {
    /// Whether upcoming almanac events are shown as reminders (a client setting).
    pub enabled: bool,
    /// The window of upcoming events (also the digest's).
    #[serde(default)]
    pub schedule: Schedule,
}

/// `notifications` of the almanac settings: the daily digest mail.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NotificationSettings {
    /// Whether the daily digest is sent.
    pub enabled: bool,
    /// Local time of day `HH:MM` (required when enabled).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time: Option<String>,
}

/// A user's almanac settings, as validated and stored (defaults filled in).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AlmanacSettings {
    /// The almanac location whose events and zone apply.
    pub location_id: Uuid,
    /// Reminder settings (default: off, three days).
    #[serde(default)]
    pub reminders: ReminderSettings,
    /// Digest settings (default: off).
    #[serde(default)]
    pub notifications: NotificationSettings,
}

impl AlmanacSettings {
    /// The digest's local time of day, if the digest is on.
    pub fn digest_time(&self) -> Option<NaiveTime> {
        if !self.notifications.enabled {
            return None;
        }
        self.notifications.time.as_deref().and_then(|t| parse_time(t).ok())
    }
}

/// Parses a time of day `HH:MM` (exactly two digits each, 00:00–23:59).
pub fn parse_time(raw: &str) -> Result<NaiveTime, String> {
    let b = raw.as_bytes();
    let digit = |i: usize| b[i].is_ascii_digit();
    if b.len() == 5 && b[2] == b':' && digit(0) && digit(1) && digit(3) && digit(4) {
        let hour = u32::from(b[0] - b'0') * 10 + u32::from(b[1] - b'0');
        let minute = u32::from(b[3] - b'0') * 10 + u32::from(b[4] - b'0');
        if let Some(time) = NaiveTime::from_hms_opt(hour, minute, 0) {
            return Ok(time);
        }
    }
    Err("must be a time of day HH:MM from 00:00 to 23:59".into())
}

/// The object at `path`, with an error for it if it is not one and for each unknown field.
fn object<'a>(
    value: &'a Value,
    path: &str,
    allowed: &[&str],
    errors: &mut Vec<FieldError>,
) -> Option<&'a Map<String, Value>> {
    let Some(map) = value.as_object() else {
        errors.push(FieldError::new(path, "must be an object"));
        return None;
    };
    for field in map.keys().filter(|k| !allowed.contains(&k.as_str())) {
        errors.push(FieldError::new(format!("{path}.{field}"), "is not a known field"));
    }
    Some(map)
}

fn required_bool(map: &Map<String, Value>, path: &str, field: &str, errors: &mut Vec<FieldError>) -> Option<bool> {
    match map.get(field) {
        Some(Value::Bool(b)) => Some(*b),
        Some(_) => {
            errors.push(FieldError::new(format!("{path}.{field}"), "must be true or false"));
            None
        }
        None => {
            errors.push(FieldError::new(format!("{path}.{field}"), "is required"));
            None
        }
    }
}

/// Checks the shape of almanac settings (`path` names the value in errors,
/// e.g. `value`) and fills in defaults. Every problem is reported, each
/// under its own field. Whether the location exists is the caller's check.
pub fn parse_settings(value: &Value, path: &str) -> Result<AlmanacSettings, Vec<FieldError>> {
    let mut errors = Vec::new();
    let Some(root) = object(value, path, &["locationId", "reminders", "notifications"], &mut errors) else {
        return Err(errors);
    };
    let location_id = match root.get("locationId") {
        Some(Value::String(s)) => match Uuid::parse_str(s) {
            Ok(id) => Some(id),
            Err(_) => {
                errors.push(FieldError::new(format!("{path}.locationId"), "must be an almanac location id"));
                None
            }
        },
        Some(_) => {
            errors.push(FieldError::new(format!("{path}.locationId"), "must be an almanac location id"));
            None
        }
        None => {
            errors.push(FieldError::new(format!("{path}.locationId"), "is required"));
            None
        }
    };

    let mut reminders = Some(ReminderSettings::default());
    if let Some(raw) = root.get("reminders") {
        let sub = format!("{path}.reminders");
        reminders = object(raw, &sub, &["enabled", "schedule"], &mut errors).and_then(|map| {
            let enabled = required_bool(map, &sub, "enabled", &mut errors);
            let schedule = match map.get("schedule") {
                None => Some(Schedule::default()),
                Some(raw) => match serde_json::from_value::<Schedule>(raw.clone()) {
                    Ok(s) => Some(s),
                    Err(_) => {
                        errors.push(FieldError::new(format!("{sub}.schedule"), "must be 3_DAYS or 1_WEEK"));
                        None
                    }
                },
            };
            Some(ReminderSettings { enabled: enabled?, schedule: schedule? })
        });
    }

    let mut notifications = Some(NotificationSettings::default());
    if let Some(raw) = root.get("notifications") {
        let sub = format!("{path}.notifications");
        notifications = object(raw, &sub, &["enabled", "time"], &mut errors).and_then(|map| {
            let enabled = required_bool(map, &sub, "enabled", &mut errors);
            let time = match map.get("time") {
                None if enabled == Some(true) => {
                    errors.push(FieldError::new(format!("{sub}.time"), "is required when notifications are enabled"));
                    None
                }
                None => Some(None),
                Some(Value::String(s)) => match parse_time(s) {
                    Ok(_) => Some(Some(s.clone())),
                    Err(m) => {
                        errors.push(FieldError::new(format!("{sub}.time"), m));
                        None
                    }
                },
                Some(_) => {
                    errors.push(FieldError::new(format!("{sub}.time"), "must be a time of day HH:MM"));
                    None
                }
            };
            Some(NotificationSettings { enabled: enabled?, time: time? })
        });
    }

    match (location_id, reminders, notifications) {
        (Some(location_id), Some(reminders), Some(notifications)) if errors.is_empty() => {
            Ok(AlmanacSettings { location_id, reminders, notifications })
        }
        _ => Err(errors),
    }
}

/// The instant of a local date-time in `tz`. A local time that does not
/// exist (skipped when clocks spring forward) is read with the offset in
/// force before the gap, i.e. moved forward by the gap's length (02:30 on a
/// 02:00→03:00 night is 03:30), as RFC 5545 does; one that occurs twice
/// (clocks falling back) is the first.
pub fn resolve_local(tz: Tz, local: NaiveDateTime) -> DateTime<Utc> {
    if let Some(at) = tz.from_local_datetime(&local).earliest() {
        return at.with_timezone(&Utc);
    }
    // In a gap: the offset of the last local time before it (gaps are at most a few hours).
    let before = (1..=48)
        .filter_map(|quarter| tz.from_local_datetime(&(local - Duration::minutes(15 * quarter))).latest())
        .map(|at| at.offset().fix().local_minus_utc())
        .next()
        .unwrap_or(0);
    Utc.from_utc_datetime(&(local - Duration::seconds(i64::from(before))))
}

/// The first occurrence of the local time `time` in `tz` strictly after `after`.
pub fn next_local_time(after: DateTime<Utc>, tz: Tz, time: NaiveTime) -> DateTime<Utc> {
    let today = after.with_timezone(&tz).date_naive();
    // Yesterday's time can only be later than `after` around a gap at midnight; look from there.
    let mut day = today.checked_sub_days(Days::new(1)).unwrap_or(today);
    for _ in 0..4 {
        let at = resolve_local(tz, day.and_time(time));
        if at > after {
            return at;
        }
        day = day.checked_add_days(Days::new(1)).unwrap_or(day);
    }
    // Unreachable for real zones (each day has the time or its gap-moved stand-in).
    after + Duration::days(1)
}

/// The local calendar day of `at` in `tz`.
pub fn local_date(at: DateTime<Utc>, tz: Tz) -> NaiveDate {
    at.with_timezone(&tz).date_naive()
}

/// A zone by IANA name (UTC for a name that does not parse: locations are validated when written).
pub fn zone(name: &str) -> Tz {
    name.parse::<Tz>().unwrap_or(Tz::UTC)
}

/// One user's next digest, waiting in the minute it fires in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DueDigest {
    /// Who gets it.
    pub user_id: Uuid,
    /// The almanac location it lists.
    pub location_id: Uuid,
    /// The location's zone when it was scheduled.
    pub time_zone: String,
    /// The local time of day (`HH:MM`).
    pub time: String,
    /// The version of the preference it was scheduled from.
    pub preference_version: i64,
    /// When it is due.
    pub fire_at: DateTime<Utc>,
}

impl DueDigest {
    /// The digest that `settings` (stored at `preference_version`) call for
    /// next after `after`, in the location's zone `time_zone`; `None` when
    /// the digest is off.
    pub fn next(
        user: Uuid,
        settings: &AlmanacSettings,
        time_zone: &str,
        preference_version: i64,
        after: DateTime<Utc>,
    ) -> Option<Self> {
        let time = settings.digest_time()?;
        Some(Self {
            user_id: user,
            location_id: settings.location_id,
            time_zone: time_zone.to_string(),
            time: time.format("%H:%M").to_string(),
            preference_version,
            fire_at: next_local_time(after, zone(time_zone), time),
        })
    }

    /// Where it is stored.
    pub fn key(&self) -> Key {
        Key::new(
            keys::due_pk(bucket(self.fire_at), shard(self.user_id)),
            keys::digest_due_sk(self.fire_at, self.user_id),
        )
    }

    /// The put of this item.
    pub fn put(&self) -> anyhow::Result<WriteOp> {
        let key = self.key();
        Ok(WriteOp::Put { item: to_item(self, key.pk, key.sk, DUE_ENTITY)?, condition: Condition::Always })
    }
}

/// Whether an item read from a minute bucket is a due digest.
pub fn is_due_digest(item: &Item) -> bool {
    item.get(keys::ENTITY_TYPE).and_then(Value::as_str) == Some(DUE_ENTITY)
}

/// The per-user item naming their current due digest (it cannot be found
/// otherwise: it lives in the minute it fires in).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DigestPointer {
    /// The user.
    pub user_id: Uuid,
    /// The key of their due digest.
    pub due: DueKey,
    /// Version, for the conditional replacement.
    pub version: i64,
}

/// The key of a user's digest pointer.
pub fn pointer_key(user: Uuid) -> Key {
    Key::new(keys::user_pk(user), keys::DIGEST_POINTER_SK)
}

/// Reads a user's digest pointer.
pub async fn get_pointer(table: &dyn Table, user: Uuid) -> anyhow::Result<Option<DigestPointer>> {
    table.get(&pointer_key(user)).await?.map(from_item).transpose()
}

/// The write replacing the pointer `previous` (as read) by one naming `due`,
/// or deleting it for `None`; conditioned on the version read.
pub fn pointer_write(
    user: Uuid,
    previous: Option<&DigestPointer>,
    due: Option<DueKey>,
) -> anyhow::Result<Option<WriteOp>> {
    let condition = match previous {
        Some(p) => Condition::version_is(p.version),
        None => Condition::NotExists,
    };
    let key = pointer_key(user);
    match due {
        None => Ok(previous.map(|_| WriteOp::Delete { key, condition })),
        Some(due) => {
            let pointer = DigestPointer { user_id: user, due, version: previous.map_or(1, |p| p.version + 1) };
            Ok(Some(WriteOp::Put { item: to_item(&pointer, key.pk, key.sk, POINTER_ENTITY)?, condition }))
        }
    }
}

/// The writes that replace a user's due digest by `next` (`None`: no
/// digest any more), given their pointer as read just before; they go in
/// the same transaction as the preference write.
pub fn replace_ops(
    user: Uuid,
    previous: Option<&DigestPointer>,
    next: Option<&DueDigest>,
) -> anyhow::Result<Vec<WriteOp>> {
    let mut ops = Vec::new();
    let next_key = next.map(|n| DueKey::from(n.key()));
    if let Some(old) = previous.map(|p| &p.due).filter(|old| Some(*old) != next_key.as_ref()) {
        // `Always`: the item may have fired and been deleted already (its run then moved the pointer).
        ops.push(WriteOp::Delete { key: Key::new(old.pk.clone(), old.sk.clone()), condition: Condition::Always });
    }
    if let Some(next) = next {
        ops.push(next.put()?);
    }
    if let Some(op) = pointer_write(user, previous, next_key)? {
        ops.push(op);
    }
    Ok(ops)
}

/// Commits `ops` (a preference write first, then its audit entry) with the
/// writes that replace the user's due almanac digest by `next`. The digest
/// pointer is read again when a reminders run moved it meanwhile (it fired
/// the digest); a failed condition of `ops` is a 412.
pub async fn commit_replacing(
    table: &dyn Table,
    ops: Vec<WriteOp>,
    user: Uuid,
    next: Option<DueDigest>,
) -> Result<(), crate::ApiError> {
    for _attempt in 0..4 {
        let pointer = get_pointer(table, user).await?;
        let mut all = ops.clone();
        let first_digest_op = all.len();
        all.extend(replace_ops(user, pointer.as_ref(), next.as_ref())?);
        match table.transact_write(all).await {
            Ok(()) => return Ok(()),
            Err(TableError::ConditionFailed { index: Some(i) }) if i >= first_digest_op => continue,
            Err(TableError::Conflict) => continue,
            Err(TableError::ConditionFailed { .. }) => return Err(crate::ApiError::PreconditionFailed),
            Err(err) => return Err(err.into()),
        }
    }
    Err(crate::ApiError::Conflict("the almanac digest kept changing; try again".into()))
}

/// What firing a current due digest needs, as read just before its
/// transaction ([`prepare`], then [`fire`]).
#[derive(Debug, Clone)]
pub struct Firing {
    /// The recipient (not being deleted; a deactivated one keeps the
    /// schedule but is sent no mail).
    pub user: UserRecord,
    /// Their almanac settings.
    pub settings: AlmanacSettings,
    /// The almanac location the digest lists.
    pub location: Location,
    /// The digest after this one, stored by the firing.
    next: DueDigest,
    /// The pointer as read (replaced on its version).
    pointer: Option<DigestPointer>,
    /// The version of the preference read (checked by the firing).
    preference_version: i64,
}

/// Reads what firing `due` at `now` depends on: the user's pointer, the
/// user, the preference and the location. `None` when the digest is no
/// longer current — the user is gone or being deleted, the preference or
/// its settings are gone, the location is gone, the pointer names another
/// item, or notifications are off (the preference write should have removed
/// the item already) — after deleting it, and the pointer if that still
/// names it; nothing is sent then.
pub async fn prepare(table: &dyn Table, due: &Due<DueDigest>, now: DateTime<Utc>) -> anyhow::Result<Option<Firing>> {
    let user_id = due.item.user_id;
    let pointer = get_pointer(table, user_id).await?;
    let user = users::get(table, user_id).await?.filter(|u| !u.deleting);
    let preference = preferences::get(table, user_id, PREFERENCE_KEY).await?;
    let settings = preference.as_ref().and_then(|p| parse_settings(&p.value, "value").ok());
    let current = pointer.as_ref().is_some_and(|p| &p.due == due.due_key());
    let location = match &settings {
        Some(s) => almanac::get::<Location>(table, almanac::LOCATION, s.location_id).await?,
        None => None,
    };
    let (Some(user), Some(preference), Some(settings), Some(location), true) =
        (user, preference, settings, location, current)
    else {
        drop_stale(table, due, pointer.as_ref()).await?;
        return Ok(None);
    };
    // After a late delivery the next one is still the next local time after now, never a second one today.
    let next = DueDigest::next(user_id, &settings, &location.time_zone, preference.version, now.max(due.item.fire_at));
    let Some(next) = next else {
        drop_stale(table, due, pointer.as_ref()).await?;
        return Ok(None);
    };
    Ok(Some(Firing { user, settings, location, next, pointer, preference_version: preference.version }))
}

/// Deletes a digest that is no longer current, and the pointer if it still names it.
async fn drop_stale(table: &dyn Table, due: &Due<DueDigest>, pointer: Option<&DigestPointer>) -> anyhow::Result<()> {
    let mut ops = vec![WriteOp::Delete { key: due.table_key(), condition: Condition::Always }];
    if let Some(p) = pointer.filter(|p| &p.due == due.due_key()) {
        ops.extend(pointer_write(due.item.user_id, Some(p), None)?);
    }
    match table.transact_write(ops).await {
        // A moved pointer means a preference write replaced the digest meanwhile: nothing left to do.
        Ok(()) | Err(TableError::ConditionFailed { .. } | TableError::Conflict) => Ok(()),
        Err(e) => Err(e.into()),
    }
}

/// Fires `due` as `firing` (from [`prepare`]) found it, in one transaction:
/// the delivery marker (which must not exist: a retried or duplicated run
/// sends nothing twice) and the delete of the due item (which must still
/// exist), a check that the preference is still the version read, the next
/// digest with the pointer naming it (on the pointer's version), and `mail`,
/// the rendered digest as a pending send (`None`: nothing to list, or the
/// user is deactivated). A moved preference or pointer is
/// [`Delivery::Retry`]: prepare and fire again.
pub async fn fire(
    table: &dyn Table,
    due: &Due<DueDigest>,
    firing: &Firing,
    now: DateTime<Utc>,
    mail: Option<&PendingSend>,
) -> anyhow::Result<Delivery> {
    let user_id = due.item.user_id;
    let mut ops = delivery_ops(due, now);
    ops.push(WriteOp::Check {
        key: preferences::key(user_id, PREFERENCE_KEY),
        condition: Condition::version_is(firing.preference_version),
    });
    ops.push(firing.next.put()?);
    ops.extend(pointer_write(user_id, firing.pointer.as_ref(), Some(firing.next.key().into()))?);
    if let Some(mail) = mail {
        ops.push(mail.put()?);
    }
    Delivery::of(table.transact_write(ops).await)
}

/// The almanac events of `location` from `from` through `to` (days
/// inclusive), in date order: what a digest lists.
pub async fn location_events(
    table: &dyn Table,
    location: Uuid,
    from: NaiveDate,
    to: NaiveDate,
) -> anyhow::Result<Vec<AlmanacEvent>> {
    let mut events = Vec::new();
    let mut query = almanac::events_query(Some(location), Some(from), Some(to));
    loop {
        let page = table.query(&query).await?;
        for item in page.items {
            events.push(from_item(item)?);
        }
        match page.last_key {
            Some(last) => query = almanac::events_query(Some(location), Some(from), Some(to)).start_after(&last),
            None => return Ok(events),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn hm(s: &str) -> NaiveTime {
        parse_time(s).unwrap()
    }

    const STOCKHOLM: Tz = chrono_tz::Europe::Stockholm;
    const NEW_YORK: Tz = chrono_tz::America::New_York;

    #[test]
    fn the_next_local_time_is_today_if_still_ahead_otherwise_tomorrow() {
        // 06:00Z is 07:00 in Stockholm (winter time) on 2026-03-20.
        assert_eq!(next_local_time(utc("2026-03-20T06:00:00Z"), STOCKHOLM, hm("07:30")), utc("2026-03-20T06:30:00Z"));
        assert_eq!(next_local_time(utc("2026-03-20T06:30:00Z"), STOCKHOLM, hm("07:30")), utc("2026-03-21T06:30:00Z"));
        assert_eq!(
            next_local_time(utc("2026-03-20T23:30:00Z"), STOCKHOLM, hm("00:15")),
            utc("2026-03-20T23:15:00Z") + Duration::days(1)
        );
    }

    #[test]
    fn the_local_time_stays_put_across_the_spring_forward_night() {
        // Europe/Stockholm springs forward 2026-03-29 02:00 → 03:00 (UTC+1 → UTC+2).
        assert_eq!(next_local_time(utc("2026-03-28T06:00:00Z"), STOCKHOLM, hm("06:30")), utc("2026-03-29T04:30:00Z"));
        assert_eq!(
            next_local_time(utc("2026-03-28T05:30:00Z"), STOCKHOLM, hm("06:30")),
            utc("2026-03-28T05:30:00Z") + Duration::days(1) - Duration::hours(1)
        );
    }

    #[test]
    fn a_nonexistent_local_time_moves_forward_by_the_gap() {
        let at = next_local_time(utc("2026-03-28T02:00:00Z"), STOCKHOLM, hm("02:30"));
        assert_eq!(at, utc("2026-03-29T01:30:00Z"), "02:30 does not exist; 03:30 CEST does");
        assert_eq!(at.with_timezone(&STOCKHOLM).format("%H:%M").to_string(), "03:30");
        // The day after it is 02:30 again.
        assert_eq!(next_local_time(at, STOCKHOLM, hm("02:30")), utc("2026-03-30T00:30:00Z"));
        // New York springs forward 2026-03-08 02:00 → 03:00 (UTC-5 → UTC-4).
        assert_eq!(next_local_time(utc("2026-03-07T12:00:00Z"), NEW_YORK, hm("02:15")), utc("2026-03-08T07:15:00Z"));
    }

    #[test]
    fn an_ambiguous_local_time_takes_the_first_and_fires_once() {
        // Europe/Stockholm falls back 2026-10-25 03:00 → 02:00: 02:30 happens at 00:30Z and at 01:30Z.
        let first = next_local_time(utc("2026-10-24T12:00:00Z"), STOCKHOLM, hm("02:30"));
        assert_eq!(first, utc("2026-10-25T00:30:00Z"));
        assert_eq!(next_local_time(first, STOCKHOLM, hm("02:30")), utc("2026-10-26T01:30:00Z"), "not the second 02:30");
    }

    #[test]
    fn times_are_two_digit_hours_and_minutes_within_a_day() {
        assert_eq!(parse_time("00:00"), Ok(hm("00:00")));
        assert!(parse_time("23:59").is_ok());
        for bad in ["24:00", "12:60", "6:30", "06:3", "06-30", "06:30:00", "", "ab:cd"] {
            assert!(parse_time(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn settings_fill_in_defaults_and_report_every_bad_field() {
        let id = Uuid::now_v7();
        let s =
            parse_settings(&json!({"locationId": id, "notifications": {"enabled": true, "time": "06:30"}}), "value")
                .unwrap();
        assert_eq!(s.reminders.schedule, Schedule::ThreeDays);
        assert!(!s.reminders.enabled);
        assert_eq!(s.digest_time(), Some(hm("06:30")));
        let s =
            parse_settings(&json!({"locationId": id, "reminders": {"enabled": true, "schedule": "1_WEEK"}}), "value")
                .unwrap();
        assert_eq!((s.reminders.schedule.days(), s.digest_time()), (7, None));

        let bad = json!({"locationId": "nope", "extra": 1,
                         "reminders": {"enabled": "yes", "schedule": "2_DAYS"},
                         "notifications": {"enabled": true, "time": "25:00", "sound": true}});
        let mut fields: Vec<String> = parse_settings(&bad, "value").unwrap_err().into_iter().map(|e| e.field).collect();
        fields.sort();
        assert_eq!(
            fields,
            [
                "value.extra",
                "value.locationId",
                "value.notifications.sound",
                "value.notifications.time",
                "value.reminders.enabled",
                "value.reminders.schedule"
            ]
        );
        let missing = parse_settings(&json!({"notifications": {"enabled": true}}), "value").unwrap_err();
        let fields: Vec<&str> = missing.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["value.locationId", "value.notifications.time"]);
        assert_eq!(parse_settings(&json!([1]), "value").unwrap_err()[0].field, "value");
    }

    #[test]
    fn replacing_a_digest_deletes_the_old_item_unless_it_is_the_same() {
        let user = Uuid::now_v7();
        let settings = parse_settings(
            &json!({"locationId": Uuid::now_v7(), "notifications": {"enabled": true, "time": "06:30"}}),
            "value",
        )
        .unwrap();
        let next = DueDigest::next(user, &settings, "Europe/Stockholm", 1, utc("2026-03-20T12:00:00Z")).unwrap();
        assert_eq!(next.fire_at, utc("2026-03-21T05:30:00Z"));
        assert!(next.key().sk.starts_with(keys::DIGEST_DUE_PREFIX));
        let same = DigestPointer { user_id: user, due: next.key().into(), version: 3 };
        let ops = replace_ops(user, Some(&same), Some(&next)).unwrap();
        assert_eq!(ops.len(), 2, "no delete of the key that is put again");
        let other =
            DigestPointer { user_id: user, due: DueKey { pk: "DUE#x#1".into(), sk: "DIGEST#y".into() }, version: 3 };
        assert_eq!(replace_ops(user, Some(&other), Some(&next)).unwrap().len(), 3);
        let off = replace_ops(user, Some(&other), None).unwrap();
        assert!(matches!(off.as_slice(), [WriteOp::Delete { .. }, WriteOp::Delete { .. }]));
        assert!(replace_ops(user, None, None).unwrap().is_empty());
    }
}
