//! Delivery of almanac digests (`shared::repo::digests`): a run finds a
//! user's due digest in the minute bucket it fires in, next to event
//! reminders, and hands it here.
//!
//! One transaction puts the delivery marker (which must not exist: a
//! retried or duplicated run sends nothing twice), deletes the due item
//! (which must still exist), checks the preference is still the one read,
//! and stores the next day's item with the pointer naming it (on the
//! pointer's version; a conflict is read again). The mail is rendered before
//! that transaction and put in it as a pending send, sent right after the
//! commit and retried by later runs if that fails, so at least once, like
//! reminder mails (see the crate doc). A digest whose user,
//! preference or location is gone, or whose notifications were turned off,
//! is not current: it is deleted without a mail and nothing follows it.
//! A deactivated user's digests keep their schedule but send no mail until
//! the user is activated again.

use std::collections::BTreeMap;

use chrono::{DateTime, Days, Duration, NaiveDate, Utc};
use shared::AppState;
use shared::mail::templates::{self, Recipient};
use shared::repo::almanac::{self, AlmanacEvent, Location};
use shared::repo::digests::{self, DigestPointer, DueDigest};
use shared::repo::outbound::{Message, PendingSend, Purpose};
use shared::repo::reminders::{self as due, DueKey};
use shared::repo::{from_item, preferences, users};
use shared::table::{Condition, Item, Key, TableError, WriteOp};
use tokio::task::JoinSet;

use super::{CONCURRENCY, Delivery, LATE_AFTER_MINUTES};

/// What delivering digests came to.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct DigestOutcome {
    /// Mails sent.
    pub sent: u64,
    /// Of those, late ones (caught up after an outage).
    pub late: u64,
    /// Skipped because an earlier run had delivered them.
    pub duplicate: u64,
    /// Mails that failed (they stay pending and are retried).
    pub send_failures: u64,
}

impl std::ops::AddAssign for DigestOutcome {
    fn add_assign(&mut self, other: Self) {
        self.sent += other.sent;
        self.late += other.late;
        self.duplicate += other.duplicate;
        self.send_failures += other.send_failures;
    }
}

/// Delivers the due digests of one bucket, a few at a time.
pub async fn deliver_all(
    state: &AppState,
    now: DateTime<Utc>,
    items: Vec<(Key, Item)>,
) -> anyhow::Result<DigestOutcome> {
    let mut total = DigestOutcome::default();
    let mut tasks = JoinSet::new();
    let mut pending = items.into_iter();
    loop {
        while tasks.len() < CONCURRENCY {
            let Some((key, item)) = pending.next() else { break };
            let state = state.clone();
            tasks.spawn(async move { deliver(&state, now, key, item).await });
        }
        let Some(done) = tasks.join_next().await else { break };
        total += done??;
    }
    Ok(total)
}

/// Deletes a digest that is no longer current, and the pointer if it still names it.
async fn drop_stale(
    state: &AppState,
    key: &Key,
    digest: &DueDigest,
    pointer: Option<&DigestPointer>,
) -> anyhow::Result<()> {
    let mut ops = vec![WriteOp::Delete { key: key.clone(), condition: Condition::Always }];
    if let Some(p) = pointer.filter(|p| p.due == DueKey::from(key.clone())) {
        ops.extend(digests::pointer_write(digest.user_id, Some(p), None)?);
    }
    match state.table.transact_write(ops).await {
        // A moved pointer means a preference write replaced the digest meanwhile: nothing left to do.
        Ok(()) | Err(TableError::ConditionFailed { .. } | TableError::Conflict) => Ok(()),
        Err(e) => Err(e.into()),
    }
}

/// Delivers one due digest (see the module doc for the guarantees).
pub async fn deliver(state: &AppState, now: DateTime<Utc>, key: Key, item: Item) -> anyhow::Result<DigestOutcome> {
    let digest: DueDigest = match from_item(item) {
        Ok(d) => d,
        Err(e) => {
            // A malformed item must not hold up the others: logged and left.
            tracing::error!(error = %format!("{e:#}"), sk = %key.sk, "unreadable due digest skipped");
            return Ok(DigestOutcome::default());
        }
    };
    let late = now - digest.fire_at > Duration::minutes(LATE_AFTER_MINUTES);
    let table = state.table.as_ref();
    let user_id = digest.user_id;
    for _attempt in 0..4 {
        let pointer = digests::get_pointer(table, user_id).await?;
        let user = users::get(table, user_id).await?.filter(|u| !u.deleting);
        let preference = preferences::get(table, user_id, digests::PREFERENCE_KEY).await?;
        let settings = preference.as_ref().and_then(|p| digests::parse_settings(&p.value, "value").ok());
        let current = pointer.as_ref().is_some_and(|p| p.due == DueKey::from(key.clone()));
        let location = match &settings {
            Some(s) => almanac::get::<Location>(table, almanac::LOCATION, s.location_id).await?,
            None => None,
        };
        let (Some(user), Some(preference), Some(settings), Some(location), true) =
            (user, preference, settings, location, current)
        else {
            drop_stale(state, &key, &digest, pointer.as_ref()).await?;
            return Ok(DigestOutcome::default());
        };
        // After a late delivery the next one is still the next local time after now, never a second one today.
        let next =
            DueDigest::next(user_id, &settings, &location.time_zone, preference.version, now.max(digest.fire_at));
        let Some(next) = next else {
            // Notifications are off (the preference write should have removed the item already).
            drop_stale(state, &key, &digest, pointer.as_ref()).await?;
            return Ok(DigestOutcome::default());
        };
        let days = settings.reminders.schedule.days();
        // A deactivated user keeps their schedule but gets no mail until activated again.
        let pending = if user.deactivated { None } else { render(state, now, &user, &location, days, late).await? };
        let mut ops = vec![
            due::delivery_put(&key, now),
            WriteOp::Delete { key: key.clone(), condition: Condition::Exists },
            WriteOp::Check {
                key: preferences::key(user_id, digests::PREFERENCE_KEY),
                condition: Condition::version_is(preference.version),
            },
            next.put()?,
        ];
        ops.extend(digests::pointer_write(user_id, pointer.as_ref(), Some(next.key().into()))?);
        if let Some(pending) = &pending {
            ops.push(pending.put()?);
        }
        match Delivery::of(table.transact_write(ops).await)? {
            Delivery::Committed => {
                let Some(held) = pending else { return Ok(DigestOutcome::default()) };
                let sent = super::sends::attempt(state, now, held, false).await?;
                return Ok(DigestOutcome {
                    sent: sent.digests,
                    late: if late { sent.digests } else { 0 },
                    duplicate: 0,
                    send_failures: sent.failures,
                });
            }
            Delivery::Duplicate => return Ok(DigestOutcome { duplicate: 1, ..DigestOutcome::default() }),
            // Delivered by another run, or replaced by a preference write.
            Delivery::Gone => return Ok(DigestOutcome::default()),
            // The preference or the pointer moved: read again.
            Delivery::Retry => continue,
        }
    }
    anyhow::bail!("the due digest {} kept conflicting", key.sk)
}

/// The location's almanac events from `from` for `days` days, by date.
async fn events_by_date(
    state: &AppState,
    location: &Location,
    from: NaiveDate,
    days: u64,
) -> anyhow::Result<Vec<(NaiveDate, Vec<String>)>> {
    let to = from.checked_add_days(Days::new(days.saturating_sub(1))).unwrap_or(from);
    let mut by_date: BTreeMap<NaiveDate, Vec<String>> = BTreeMap::new();
    let mut query = almanac::events_query(Some(location.id), Some(from), Some(to));
    loop {
        let page = state.table.query(&query).await?;
        for item in page.items {
            let event: AlmanacEvent = from_item(item)?;
            let title = match event.name.subtitle.trim() {
                "" => event.name.title,
                subtitle => format!("{} — {subtitle}", event.name.title),
            };
            by_date.entry(event.date).or_default().push(title);
        }
        match page.last_key {
            Some(last) => query = almanac::events_query(Some(location.id), Some(from), Some(to)).start_after(&last),
            None => return Ok(by_date.into_iter().collect()),
        }
    }
}

/// The digest mail as a pending send of its delivery; `None` when there is
/// nothing to list (no mail).
async fn render(
    state: &AppState,
    now: DateTime<Utc>,
    user: &users::UserRecord,
    location: &Location,
    days: u64,
    late: bool,
) -> anyhow::Result<Option<PendingSend>> {
    // "Today" for the reader: the location's local date as the digest is delivered.
    let today = digests::local_date(now, digests::zone(&location.time_zone));
    let events = events_by_date(state, location, today, days).await?;
    if events.is_empty() {
        return Ok(None);
    }
    let to = Recipient { email: &user.email, first_name: &user.first_name };
    let mail = templates::almanac_digest(&state.app_url, to, &location.name, days, &events, late);
    let lease_start = super::sends::lease_start(state, now);
    Ok(Some(PendingSend::new(user.id, Purpose::Digest, None, Message::Email { mail }, now, lease_start)))
}
