//! The scheduled reminders function. EventBridge invokes it every minute;
//! it takes "now" from the event's `time`, so a replayed event is
//! deterministic.
//!
//! A run reads the minute buckets of due items (`shared::repo::reminders`)
//! from the minute after its watermark up to now (at most 24 hours back, so
//! an outage is caught up, late), and delivers each item in one transaction
//! that puts its delivery marker (which must not exist: a retried or
//! duplicated run delivers nothing twice), the inbox notification, deletes
//! the due item (which must still exist: an edit may have replaced it), for
//! a series stores the following occurrence's item, and puts a pending send
//! (`shared::repo::outbound`) for the mail and for the push, holding the
//! rendered message and the device tokens to reach. The watermark advances
//! bucket by bucket on a condition on its previous value.
//!
//! Email and push are at least once: the run sends them right after the
//! commit and deletes each pending send once it went out; a failed send (or
//! a crash before it) leaves the pending send, and every run, after its
//! buckets, retries the due ones (see [`sends`]) with backoff (1, 2, 4 …
//! minutes, at most 30), a push only to the devices not reached yet. A
//! message is sent twice only if the process dies between a successful send
//! and deleting its pending send; one still failing after 24 hours is given
//! up (logged at error level, counted as `abandoned`).
//!
//! The same buckets hold alarm firings (delivered like reminders, to the
//! inbox and devices, each storing the next repeat) and almanac digests
//! (one mail a day per user, see [`digest`]).

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use shared::AppState;
use shared::keys;
use shared::mail::templates::{self, Recipient};
use shared::repo::events::{self, Channel};
use shared::repo::outbound::{Message, PendingSend, Purpose};
use shared::repo::reminders::{self as due, DueItem, DueKey, DueKind, NotificationRecord};
use shared::repo::{from_item, to_item};
use shared::table::{Condition, Index, Key, Query, SortKey, TableError, WriteOp};
use tokio::task::JoinSet;

pub mod digest;
pub mod sends;

/// Items delivered at the same time within a bucket.
const CONCURRENCY: usize = 32;
/// Fire times older than this at run time are delivered marked late.
const LATE_AFTER_MINUTES: i64 = 5;
/// How far back a run catches up.
const MAX_CATCH_UP_HOURS: i64 = 24;

/// Deliveries per channel.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Delivered {
    /// Into the notification inbox.
    pub inapp: u64,
    /// Through the mailer.
    pub email: u64,
    /// To registered devices.
    pub push: u64,
}

/// What one run did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Summary {
    /// The instant the run treated as now.
    pub time: DateTime<Utc>,
    /// Minute buckets read.
    pub buckets_read: u64,
    /// Items delivered per channel (mail and push: sent this run, retries included).
    pub delivered: Delivered,
    /// Deliveries that were late (caught up after a gap).
    pub late: u64,
    /// Items skipped because an earlier run had delivered them.
    pub skipped_duplicates: u64,
    /// Almanac digest mails sent.
    pub digests: u64,
    /// Mails and pushes sent on a retry (also counted in `delivered` and `digests`).
    pub retried: u64,
    /// Failed mail and push attempts (one per mail or device); they are retried.
    pub send_failures: u64,
    /// Pending mails and pushes given up after failing for a day.
    pub abandoned: u64,
}

/// The watermark: the last minute bucket fully read.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Watermark {
    minute: DateTime<Utc>,
    version: i64,
}

fn watermark_key() -> Key {
    Key::new(keys::REMINDERS_WATERMARK_PK, keys::REMINDERS_WATERMARK_SK)
}

async fn read_watermark(state: &AppState) -> anyhow::Result<Option<Watermark>> {
    state.table.get(&watermark_key()).await?.map(from_item).transpose()
}

/// Advances the watermark to `minute` unless another run already moved it
/// at least as far; returns the watermark as it now is.
async fn advance_watermark(
    state: &AppState,
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
    match state.table.put(item, condition).await {
        Ok(()) => Ok(Some(next)),
        // A concurrent run moved it; it delivers the same buckets (markers dedupe).
        Err(TableError::ConditionFailed { .. }) => read_watermark(state).await,
        Err(e) => Err(e.into()),
    }
}

/// What delivering one item came to.
#[derive(Debug, Default)]
struct Outcome {
    delivered: Delivered,
    late: u64,
    duplicate: u64,
    send_failures: u64,
}

/// Runs once as of `now`.
#[tracing::instrument(skip(state))]
pub async fn run(state: &AppState, now: DateTime<Utc>) -> anyhow::Result<Summary> {
    let last = due::minute(now);
    let mut watermark = read_watermark(state).await?;
    let earliest = last - Duration::hours(MAX_CATCH_UP_HOURS);
    let mut bucket = match &watermark {
        Some(w) => (w.minute + Duration::minutes(1)).max(earliest),
        None => last - Duration::minutes(1),
    };
    let mut summary = Summary {
        time: now,
        buckets_read: 0,
        delivered: Delivered::default(),
        late: 0,
        skipped_duplicates: 0,
        digests: 0,
        retried: 0,
        send_failures: 0,
        abandoned: 0,
    };
    while bucket <= last {
        summary.buckets_read += 1;
        let mut items = Vec::new();
        let mut digests = Vec::new();
        for shard in 0..due::SHARDS {
            let query = Query::new(Index::Primary, keys::due_pk(bucket, shard));
            for item in state.table.query(&query).await?.items {
                let Some(key) = Key::of(&item) else { continue };
                if shared::repo::digests::is_due_digest(&item) {
                    digests.push((key, item));
                    continue;
                }
                // A malformed item must not hold up every other reminder: it is logged and left.
                match from_item::<DueItem>(item) {
                    Ok(due) => items.push((key, due)),
                    Err(e) => tracing::error!(error = %format!("{e:#}"), sk = %key.sk, "unreadable due item skipped"),
                }
            }
        }
        let mut tasks = JoinSet::new();
        let mut pending = items.into_iter();
        loop {
            while tasks.len() < CONCURRENCY {
                let Some((key, item)) = pending.next() else { break };
                let state = state.clone();
                tasks.spawn(async move { deliver(&state, now, key, item).await });
            }
            let Some(done) = tasks.join_next().await else { break };
            let outcome = done??;
            summary.delivered.inapp += outcome.delivered.inapp;
            summary.delivered.email += outcome.delivered.email;
            summary.delivered.push += outcome.delivered.push;
            summary.late += outcome.late;
            summary.skipped_duplicates += outcome.duplicate;
            summary.send_failures += outcome.send_failures;
        }
        let digested = digest::deliver_all(state, now, digests).await?;
        summary.digests += digested.sent;
        summary.late += digested.late;
        summary.skipped_duplicates += digested.duplicate;
        summary.send_failures += digested.send_failures;
        if watermark.as_ref().is_none_or(|w| w.minute < bucket) {
            watermark = advance_watermark(state, watermark, bucket).await?;
        }
        bucket += Duration::minutes(1);
    }
    // After the buckets, so this run's own sends (leased to it) are not yet due.
    let retried = sends::retry_due(state, now).await?;
    summary.delivered.email += retried.email;
    summary.delivered.push += retried.push;
    summary.digests += retried.digests;
    summary.retried += retried.retried;
    summary.send_failures += retried.failures;
    summary.abandoned += retried.abandoned;
    tracing::info!(summary = %serde_json::to_string(&summary)?, "reminder run");
    Ok(summary)
}

/// The local start, for texts.
fn when(item: &DueItem) -> String {
    let tz = item.time_zone.parse::<chrono_tz::Tz>().unwrap_or(chrono_tz::Tz::UTC);
    if item.all_day {
        format!("on {}", item.original_start.format("%Y-%m-%d"))
    } else {
        format!("at {} ({})", item.occurrence_start.with_timezone(&tz).format("%Y-%m-%d %H:%M"), item.time_zone)
    }
}

/// How a delivery transaction ended. Every delivery transaction (a due
/// reminder, alarm firing or digest) starts with the delivery marker and the
/// delete of the due item, so their conditions say what happened.
enum Delivery {
    /// Recorded: now send.
    Committed,
    /// The marker exists: another run delivered it.
    Duplicate,
    /// The due item no longer exists.
    Gone,
    /// Another condition failed (something read before moved): read again.
    Retry,
}

impl Delivery {
    fn of(result: Result<(), TableError>) -> anyhow::Result<Self> {
        match result {
            Ok(()) => Ok(Self::Committed),
            Err(TableError::ConditionFailed { index: Some(0) }) => Ok(Self::Duplicate),
            Err(TableError::ConditionFailed { index: Some(1) }) => Ok(Self::Gone),
            Err(TableError::ConditionFailed { .. } | TableError::Conflict) => Ok(Self::Retry),
            Err(e) => Err(e.into()),
        }
    }
}

/// Delivers one due item (see the module doc for the guarantees).
async fn deliver(state: &AppState, now: DateTime<Utc>, key: Key, item: DueItem) -> anyhow::Result<Outcome> {
    let late = now - item.fire_at > Duration::minutes(LATE_AFTER_MINUTES);
    let title = item.title.clone();
    let (kind, body) = match item.kind {
        DueKind::Reminder => ("reminder", format!("{title} starts {}.", when(&item))),
        DueKind::Alarm if item.fire_at == item.occurrence_start => ("alarm", format!("{title} starts now.")),
        DueKind::Alarm => ("alarm", format!("{title} started {}. Mark it done or stop the alarm.", when(&item))),
    };
    let pending = pending_sends(state, now, &item, &title, &body, late).await?;
    for _attempt in 0..4 {
        let mut ops =
            vec![due::delivery_put(&key, now), WriteOp::Delete { key: key.clone(), condition: Condition::Exists }];
        if item.channels.contains(&Channel::Inapp) {
            let created_at = DateTime::from_timestamp_millis(now.timestamp_millis()).unwrap_or(now);
            let notification = NotificationRecord {
                id: due::notification_id(created_at),
                user_id: item.owner_id,
                kind: kind.into(),
                title: title.clone(),
                body: body.clone(),
                event_id: Some(item.event_id),
                occurrence_start: Some(item.occurrence_start),
                late,
                created_at,
                read_at: None,
            };
            ops.push(due::notification_put(&notification)?);
        }
        if item.recurring || item.kind == DueKind::Alarm {
            // The following occurrence's (or alarm repeat's) item, and the pointer listing it.
            let calendar = events::series(state.table.as_ref(), item.owner_id, item.event_id).await?;
            let pointer = due::get_pointer(state.table.as_ref(), item.owner_id, item.event_id).await?;
            let next = calendar.events.iter().find(|e| e.id == item.event_id).and_then(|record| {
                let occurrences = calendar.occurrences.get(&record.id).map(Vec::as_slice).unwrap_or(&[]);
                due::next_after(record, occurrences, &item)
            });
            let fired = DueKey::from(key.clone());
            let mut keys: Vec<DueKey> =
                pointer.as_ref().map(|p| p.due.iter().filter(|k| **k != fired).cloned().collect()).unwrap_or_default();
            if let Some(next) = &next {
                ops.push(next.put()?);
                let next_key = DueKey::from(next.key());
                if !keys.contains(&next_key) {
                    keys.push(next_key);
                }
            }
            if let Some(op) = due::pointer_write(item.owner_id, item.event_id, pointer.as_ref(), keys)? {
                ops.push(op);
            }
        }
        for send in &pending {
            ops.push(send.put()?);
        }
        match Delivery::of(state.table.transact_write(ops).await)? {
            Delivery::Committed => return send(state, now, &item, pending, late).await,
            Delivery::Duplicate => return Ok(Outcome { duplicate: 1, ..Outcome::default() }),
            // Delivered and removed by another run, or replaced by an edit.
            Delivery::Gone => return Ok(Outcome::default()),
            // The pointer moved (an edit or a concurrent run): read again.
            Delivery::Retry => continue,
        }
    }
    anyhow::bail!("the due item {} kept conflicting", key.sk)
}

/// The pending sends of a delivery: the rendered mail and the push with
/// the owner's devices as they are now.
async fn pending_sends(
    state: &AppState,
    now: DateTime<Utc>,
    item: &DueItem,
    title: &str,
    body: &str,
    late: bool,
) -> anyhow::Result<Vec<PendingSend>> {
    let purpose = match item.kind {
        DueKind::Reminder => Purpose::Reminder,
        DueKind::Alarm => Purpose::Alarm,
    };
    let lease_start = sends::lease_start(state, now);
    let mut pending = Vec::new();
    if item.channels.contains(&Channel::Email) {
        match shared::repo::users::get(state.table.as_ref(), item.owner_id).await? {
            Some(user) => {
                let to = Recipient { email: &user.email, first_name: &user.first_name };
                let mail = templates::event_reminder(&state.app_url, to, title, &when(item), late);
                let message = Message::Email { mail };
                pending.push(PendingSend::new(item.owner_id, purpose, Some(item.event_id), message, now, lease_start));
            }
            None => tracing::warn!(event = %item.event_id, "the owner of a reminded event no longer exists"),
        }
    }
    if item.channels.contains(&Channel::Push) {
        let query = Query::new(Index::Primary, keys::user_pk(item.owner_id))
            .sort_key(SortKey::BeginsWith(keys::DEVICE_PREFIX.into()));
        let devices: Vec<String> = state
            .table
            .query(&query)
            .await?
            .items
            .iter()
            .filter_map(|device| device.get("token").and_then(|v| v.as_str()).map(String::from))
            .collect();
        if !devices.is_empty() {
            let message = Message::Push { title: title.into(), body: body.into(), devices };
            pending.push(PendingSend::new(item.owner_id, purpose, Some(item.event_id), message, now, lease_start));
        }
    }
    Ok(pending)
}

/// The external channels, right after the delivery is recorded; what fails
/// stays pending for a later run (see the module doc).
async fn send(
    state: &AppState,
    now: DateTime<Utc>,
    item: &DueItem,
    pending: Vec<PendingSend>,
    late: bool,
) -> anyhow::Result<Outcome> {
    let mut outcome = Outcome { late: u64::from(late), ..Outcome::default() };
    if item.channels.contains(&Channel::Inapp) {
        outcome.delivered.inapp += 1;
    }
    for held in pending {
        let sent = sends::attempt(state, now, held, false).await?;
        outcome.delivered.email += sent.email;
        outcome.delivered.push += sent.push;
        outcome.send_failures += sent.failures;
    }
    Ok(outcome)
}

/// "Now" for a scheduled event: its `time`, so replays are exact.
pub fn event_time(
    event: &aws_lambda_events::eventbridge::EventBridgeEvent<serde_json::Value>,
) -> anyhow::Result<DateTime<Utc>> {
    event.time.ok_or_else(|| anyhow::anyhow!("the scheduled event has no time"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sample_event_parses_and_gives_its_time() {
        let raw = include_str!("../../../events/reminders-scheduled.json");
        let event: aws_lambda_events::eventbridge::EventBridgeEvent<serde_json::Value> =
            serde_json::from_str(raw).unwrap();
        assert_eq!(event_time(&event).unwrap().to_rfc3339(), "2026-03-29T06:30:00+00:00");
    }
}
