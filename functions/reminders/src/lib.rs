//! The scheduled reminders function. EventBridge invokes it every minute;
//! it takes "now" from the event's `time`, so a replayed event is
//! deterministic.
//!
//! A run reads the minute buckets of due items (`shared::scheduling::runs`; the
//! items and the watermark are `shared::scheduling::reminders`') from the minute
//! after its watermark up to now (at most 24 hours back, so an outage is
//! caught up, late), and delivers each item in one transaction
//! that puts its delivery marker (which must not exist: a retried or
//! duplicated run delivers nothing twice), the inbox notification, deletes
//! the due item (which must still exist: an edit may have replaced it), for
//! a series stores the following occurrence's item, and puts a pending send
//! (`shared::scheduling::outbound`) for the mail and for the push, holding the
//! rendered message and the device tokens to reach (the repository builds
//! that transaction and tells from its conditions how it ended). The
//! watermark advances bucket by bucket on a condition on its previous value.
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
use serde::Serialize;
use shared::AppState;
use shared::calendar::events::Channel;
use shared::mail::templates::{self, Recipient};
use shared::people::devices;
use shared::scheduling::outbound::Message;
use shared::scheduling::outbound::PendingSend;
use shared::scheduling::outbound::Purpose;
use shared::scheduling::reminders as due;
use shared::scheduling::reminders::Delivery;
use shared::scheduling::reminders::Due;
use shared::scheduling::reminders::DueItem;
use shared::scheduling::reminders::DueKind;
use shared::scheduling::reminders::NotificationRecord;
use shared::scheduling::runs;
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
    /// Due items the store refused to write (e.g. one user's data over an
    /// item size limit): logged and skipped, so they never stop the others.
    pub unwritable: u64,
    /// Due items whose delivery failed for a reason that may pass (a
    /// throttled or failing store): their minute is read again next run.
    pub held_back: u64,
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
    let mut watermark = due::watermark(state.table.as_ref()).await?;
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
        unwritable: 0,
        held_back: 0,
    };
    while bucket <= last {
        summary.buckets_read += 1;
        // A malformed item must not hold up every other one: the read logs and leaves it.
        let due_now = runs::read_bucket(state.table.as_ref(), bucket).await?;
        let mut tasks = JoinSet::new();
        let mut pending = due_now.reminders.into_iter();
        loop {
            while tasks.len() < CONCURRENCY {
                let Some(entry) = pending.next() else { break };
                let state = state.clone();
                tasks.spawn(async move { deliver(&state, now, entry).await });
            }
            let Some(done) = tasks.join_next().await else { break };
            // One item's failure never stops the others in its minute.
            let outcome = match done? {
                Ok(outcome) => outcome,
                Err(err) if runs::is_unwritable(&err) => {
                    tracing::error!(error = %format!("{err:#}"), minute = %bucket, "a due item cannot be written; skipped");
                    summary.unwritable += 1;
                    continue;
                }
                Err(err) => {
                    tracing::warn!(error = %format!("{err:#}"), minute = %bucket, "delivering a due item failed; its minute is read again next run");
                    summary.held_back += 1;
                    continue;
                }
            };
            summary.delivered.inapp += outcome.delivered.inapp;
            summary.delivered.email += outcome.delivered.email;
            summary.delivered.push += outcome.delivered.push;
            summary.late += outcome.late;
            summary.skipped_duplicates += outcome.duplicate;
            summary.send_failures += outcome.send_failures;
        }
        let digested = digest::deliver_all(state, now, due_now.digests).await?;
        summary.digests += digested.sent;
        summary.late += digested.late;
        summary.skipped_duplicates += digested.duplicate;
        summary.send_failures += digested.send_failures;
        if summary.held_back > 0 {
            // Not past a minute with an item still to deliver: the next run
            // reads it again (what was delivered is skipped as a duplicate).
            break;
        }
        if watermark.as_ref().is_none_or(|w| w.minute < bucket) {
            watermark = due::advance_watermark(state.table.as_ref(), watermark, bucket).await?;
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

/// Delivers one due item (see the module doc for the guarantees).
async fn deliver(state: &AppState, now: DateTime<Utc>, entry: Due<DueItem>) -> anyhow::Result<Outcome> {
    let item = &entry.item;
    let late = now - item.fire_at > Duration::minutes(LATE_AFTER_MINUTES);
    let title = item.title.clone();
    let (kind, body) = match item.kind {
        DueKind::Reminder => ("reminder", format!("{title} starts {}.", when(item))),
        DueKind::Alarm if item.fire_at == item.occurrence_start => ("alarm", format!("{title} starts now.")),
        DueKind::Alarm => ("alarm", format!("{title} started {}. Mark it done or stop the alarm.", when(item))),
    };
    let pending = pending_sends(state, now, item, &title, &body, late).await?;
    for _attempt in 0..4 {
        let notification = item.channels.contains(&Channel::Inapp).then(|| {
            let created_at = DateTime::from_timestamp_millis(now.timestamp_millis()).unwrap_or(now);
            NotificationRecord {
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
            }
        });
        // The repository also stores a series' following occurrence (or an alarm's next repeat).
        match runs::deliver_reminder(state.table.as_ref(), &entry, now, notification.as_ref(), &pending).await? {
            Delivery::Committed => return send(state, now, item, pending, late).await,
            Delivery::Duplicate => return Ok(Outcome { duplicate: 1, ..Outcome::default() }),
            // Delivered and removed by another run, or replaced by an edit.
            Delivery::Gone => return Ok(Outcome::default()),
            // The pointer moved (an edit or a concurrent run): read again.
            Delivery::Retry => continue,
        }
    }
    anyhow::bail!("the due item {} kept conflicting", entry.name())
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
        match shared::people::users::get(state.table.as_ref(), item.owner_id).await? {
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
        let devices: Vec<String> =
            devices::of_user(state.table.as_ref(), item.owner_id).await?.into_iter().map(|d| d.token).collect();
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
