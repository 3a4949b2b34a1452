//! Delivery of almanac digests (`shared::scheduling::digests`): a run finds a
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
use shared::calendar::almanac::Location;
use shared::mail::templates::{self, Recipient};
use shared::people::users;
use shared::scheduling::digests;
use shared::scheduling::digests::DueDigest;
use shared::scheduling::outbound::Message;
use shared::scheduling::outbound::PendingSend;
use shared::scheduling::outbound::Purpose;
use shared::scheduling::reminders::Delivery;
use shared::scheduling::reminders::Due;
use tokio::task::JoinSet;

use super::{CONCURRENCY, LATE_AFTER_MINUTES};

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
    items: Vec<Due<DueDigest>>,
) -> anyhow::Result<DigestOutcome> {
    let mut total = DigestOutcome::default();
    let mut tasks = JoinSet::new();
    let mut pending = items.into_iter();
    loop {
        while tasks.len() < CONCURRENCY {
            let Some(due) = pending.next() else { break };
            let state = state.clone();
            tasks.spawn(async move { deliver(&state, now, due).await });
        }
        let Some(done) = tasks.join_next().await else { break };
        total += done??;
    }
    Ok(total)
}

/// Delivers one due digest (see the module doc for the guarantees).
pub async fn deliver(state: &AppState, now: DateTime<Utc>, due: Due<DueDigest>) -> anyhow::Result<DigestOutcome> {
    let late = now - due.item.fire_at > Duration::minutes(LATE_AFTER_MINUTES);
    let table = state.table.as_ref();
    for _attempt in 0..4 {
        // Not current any more: the repository deleted it, nothing follows it.
        let Some(firing) = digests::prepare(table, &due, now).await? else { return Ok(DigestOutcome::default()) };
        let days = firing.settings.reminders.schedule.days();
        // A deactivated user keeps their schedule but gets no mail until activated again.
        let pending = if firing.user.deactivated {
            None
        } else {
            render(state, now, &firing.user, &firing.location, days, late).await?
        };
        match digests::fire(table, &due, &firing, now, pending.as_ref()).await? {
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
    anyhow::bail!("the due digest {} kept conflicting", due.name())
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
    for event in digests::location_events(state.table.as_ref(), location.id, from, to).await? {
        let title = match event.name.subtitle.trim() {
            "" => event.name.title,
            subtitle => format!("{} — {subtitle}", event.name.title),
        };
        by_date.entry(event.date).or_default().push(title);
    }
    Ok(by_date.into_iter().collect())
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
