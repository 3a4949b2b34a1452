//! Pending external sends (mail, push): the outbox pattern for the reminders
//! run. A delivery that mails or pushes puts one [`PendingSend`] per message
//! in the same transaction as its delivery marker, holding everything needed
//! to send it (the rendered mail, or the push text and the device tokens
//! still to reach). The run sends at once and deletes the item on success;
//! a failure (or a crash before the send) leaves it, and a later run retries
//! it. So a mail or push is sent at least once; it is sent twice only if a
//! process dies between a successful send and deleting the item.
//!
//! Pending sends live in a few partitions (`OUTBOUND#<shard>`, sort key
//! creation time + id), so a run finds them with one Query per shard. Every
//! send happens under a lease: a new item is created leased to the run that
//! delivers it, and a retrying run first [`claim`]s an item with a put on its
//! version that moves `nextAttemptAt` to the end of the lease, so two runs
//! never send the same item at the same time. Runs take "now" from their
//! schedule, which a long catch-up run falls behind, so callers start a
//! lease at the later of that and the wall clock. A failure records the attempt
//! and the next time with exponential [`backoff`]; an item older than
//! [`GIVE_UP_AFTER_HOURS`] is given up.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::keys;
use crate::mail::Mail;
use crate::store::from_item;
use crate::store::to_item;
use crate::table::{Condition, Index, Key, Query, Table, TableError, WriteOp};

/// Partitions pending sends are spread over.
pub const SHARDS: u32 = 4;
/// How long a run holds a send it is attempting; longer than any send takes,
/// so another run never takes it over while it is still on its way.
pub const LEASE_MINUTES: i64 = 5;
/// The longest wait between two attempts.
pub const MAX_BACKOFF_MINUTES: i64 = 30;
/// A send still failing this long after its delivery is given up.
pub const GIVE_UP_AFTER_HOURS: i64 = 24;

/// What the message announces (for counting and logs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Purpose {
    /// An event reminder.
    Reminder,
    /// An alarm firing.
    Alarm,
    /// An almanac digest.
    Digest,
}

/// The message itself, rendered at delivery.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "channel", rename_all = "camelCase")]
pub enum Message {
    /// One mail.
    Email {
        /// The rendered mail.
        mail: Mail,
    },
    /// One push notification to some devices.
    Push {
        /// Its title.
        title: String,
        /// Its body.
        body: String,
        /// Device tokens not reached yet.
        devices: Vec<String>,
    },
}

/// One external message waiting to be sent (or being sent).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PendingSend {
    /// Id.
    pub id: Uuid,
    /// The recipient user.
    pub user_id: Uuid,
    /// What it announces.
    pub purpose: Purpose,
    /// The event it is about, if any (for logs).
    pub event_id: Option<Uuid>,
    /// The message.
    pub message: Message,
    /// Failed attempts so far.
    pub attempts: u32,
    /// When it may be attempted next (while leased: when the lease ends).
    pub next_attempt_at: DateTime<Utc>,
    /// When its delivery was recorded.
    pub created_at: DateTime<Utc>,
    /// Version, for conditional changes.
    pub version: i64,
}

/// The wait after the `attempts`-th failed attempt: 1, 2, 4 … minutes, at
/// most [`MAX_BACKOFF_MINUTES`].
pub fn backoff(attempts: u32) -> Duration {
    let exponent = attempts.saturating_sub(1).min(16);
    Duration::minutes((1i64 << exponent).min(MAX_BACKOFF_MINUTES))
}

/// The shard of a pending send: FNV-1a of its id, modulo [`SHARDS`].
pub fn shard(id: Uuid) -> u32 {
    crate::scheduling::reminders::shard(id) % SHARDS
}

impl PendingSend {
    /// A new pending send of a delivery recorded at `now`, leased from
    /// `lease_start` to the run delivering it (it sends at once).
    pub fn new(
        user_id: Uuid,
        purpose: Purpose,
        event_id: Option<Uuid>,
        message: Message,
        now: DateTime<Utc>,
        lease_start: DateTime<Utc>,
    ) -> Self {
        Self {
            id: crate::domain::new_id(),
            user_id,
            purpose,
            event_id,
            message,
            attempts: 0,
            next_attempt_at: lease_start + Duration::minutes(LEASE_MINUTES),
            created_at: now,
            version: 1,
        }
    }

    /// Where it is stored.
    pub fn key(&self) -> Key {
        Key::new(keys::outbound_pk(shard(self.id)), keys::outbound_sk(self.created_at, self.id))
    }

    /// The put of a new pending send (in the delivery's transaction).
    pub fn put(&self) -> anyhow::Result<WriteOp> {
        Ok(WriteOp::Put { item: self.item()?, condition: Condition::NotExists })
    }

    fn item(&self) -> anyhow::Result<crate::table::Item> {
        let key = self.key();
        to_item(self, key.pk, key.sk, "PendingSend")
    }

    /// Whether a run may attempt it now (not leased, its backoff over).
    pub fn is_due(&self, now: DateTime<Utc>) -> bool {
        self.next_attempt_at <= now
    }

    /// Whether it has failed for too long and is to be given up.
    pub fn is_expired(&self, now: DateTime<Utc>) -> bool {
        now - self.created_at >= Duration::hours(GIVE_UP_AFTER_HOURS)
    }

    /// This send leased to a run from `lease_start` (the next version).
    pub fn leased(&self, lease_start: DateTime<Utc>) -> Self {
        Self {
            next_attempt_at: lease_start + Duration::minutes(LEASE_MINUTES),
            version: self.version + 1,
            ..self.clone()
        }
    }

    /// This send after a failed attempt at `now` (the next version); for a
    /// push, `devices` are the tokens still not reached.
    pub fn failed(&self, now: DateTime<Utc>, devices: Option<Vec<String>>) -> Self {
        let attempts = self.attempts + 1;
        let message = match (&self.message, devices) {
            (Message::Push { title, body, .. }, Some(devices)) => {
                Message::Push { title: title.clone(), body: body.clone(), devices }
            }
            (message, _) => message.clone(),
        };
        Self { attempts, next_attempt_at: now + backoff(attempts), message, version: self.version + 1, ..self.clone() }
    }
}

/// The query listing one shard's pending sends, oldest first.
pub fn shard_query(shard: u32) -> Query {
    Query::new(Index::Primary, keys::outbound_pk(shard))
}

/// Every pending send of one shard (a malformed item is logged and left).
pub async fn list_shard(table: &dyn Table, shard: u32) -> anyhow::Result<Vec<PendingSend>> {
    let mut out = Vec::new();
    let mut query = shard_query(shard);
    loop {
        let page = table.query(&query).await?;
        for item in page.items {
            let sk = Key::of(&item).map(|k| k.sk).unwrap_or_default();
            match from_item::<PendingSend>(item) {
                Ok(pending) => out.push(pending),
                Err(e) => {
                    tracing::error!(error = %format!("{e:#}"), %sk, "unreadable pending send skipped");
                }
            }
        }
        match page.last_key {
            Some(last) => query = shard_query(shard).start_after(&last),
            None => return Ok(out),
        }
    }
}

/// Replaces `current` by `next` if nobody changed it since it was read;
/// `false` when another run did (or it is gone).
async fn replace(table: &dyn Table, current: &PendingSend, next: &PendingSend) -> anyhow::Result<bool> {
    match table.put(next.item()?, Condition::version_is(current.version)).await {
        Ok(()) => Ok(true),
        Err(TableError::ConditionFailed { .. }) => Ok(false),
        Err(e) => Err(e.into()),
    }
}

/// Claims a due send for one attempt by this run: leases it from
/// `lease_start` on the version read. `None` when another run claimed or
/// finished it first.
pub async fn claim(
    table: &dyn Table,
    pending: &PendingSend,
    lease_start: DateTime<Utc>,
) -> anyhow::Result<Option<PendingSend>> {
    let leased = pending.leased(lease_start);
    Ok(replace(table, pending, &leased).await?.then_some(leased))
}

/// Records a failed attempt of a send this run holds; `false` when the item
/// moved meanwhile (given up by another run after the lease ran out).
pub async fn record_failure(
    table: &dyn Table,
    pending: &PendingSend,
    now: DateTime<Utc>,
    devices: Option<Vec<String>>,
) -> anyhow::Result<bool> {
    replace(table, pending, &pending.failed(now, devices)).await
}

/// Deletes a send this run holds (sent, or given up); `false` when the item
/// moved or is gone.
pub async fn remove(table: &dyn Table, pending: &PendingSend) -> anyhow::Result<bool> {
    match table.delete(&pending.key(), Condition::version_is(pending.version)).await {
        Ok(_) => Ok(true),
        Err(TableError::ConditionFailed { .. }) => Ok(false),
        Err(e) => Err(e.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::table::embedded::EmbeddedTable;

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn push(now: DateTime<Utc>) -> PendingSend {
        let message =
            Message::Push { title: "Pills".into(), body: "Now.".into(), devices: vec!["a".into(), "b".into()] };
        PendingSend::new(Uuid::now_v7(), Purpose::Reminder, None, message, now, now)
    }

    #[test]
    fn backoff_doubles_from_one_minute_up_to_thirty() {
        let minutes: Vec<i64> = (1..=8).map(|n| backoff(n).num_minutes()).collect();
        assert_eq!(minutes, [1, 2, 4, 8, 16, 30, 30, 30]);
        assert_eq!(backoff(0).num_minutes(), 1);
        assert_eq!(backoff(u32::MAX).num_minutes(), 30);
    }

    #[test]
    fn a_new_send_is_leased_to_its_run_and_a_failure_schedules_the_next_attempt() {
        let now = utc("2026-03-29T07:50:00Z");
        let pending = push(now);
        assert!(!pending.is_due(now), "the delivering run holds it");
        assert!(pending.is_due(now + Duration::minutes(LEASE_MINUTES)));
        assert!(pending.key().pk.starts_with("OUTBOUND#"));
        let failed = pending.failed(now, Some(vec!["b".into()])).failed(now + Duration::minutes(1), None);
        assert_eq!(failed.attempts, 2);
        assert_eq!(failed.version, 3);
        assert_eq!(failed.next_attempt_at, utc("2026-03-29T07:53:00Z"));
        let Message::Push { devices, .. } = &failed.message else { panic!("a push") };
        assert_eq!(devices, &["b".to_string()], "a reached device is not retried");
        assert!(!failed.is_expired(now + Duration::hours(23)));
        assert!(failed.is_expired(now + Duration::hours(24)));
    }

    #[tokio::test]
    async fn only_one_of_two_runs_claims_a_send_and_the_loser_cannot_touch_it() {
        let dir = tempfile::tempdir().unwrap();
        let table = EmbeddedTable::open(&dir.path().join("t.redb")).unwrap();
        let now = utc("2026-03-29T07:50:00Z");
        let pending = push(now);
        let WriteOp::Put { item, condition } = pending.put().unwrap() else { unreachable!() };
        table.put(item, condition).await.unwrap();

        let later = now + Duration::minutes(LEASE_MINUTES);
        let listed = list_shard(&table, shard(pending.id)).await.unwrap();
        assert_eq!(listed, vec![pending.clone()]);
        let first = claim(&table, &listed[0], later).await.unwrap().expect("the first claim wins");
        assert!(claim(&table, &listed[0], later).await.unwrap().is_none(), "the second run read the same version");
        assert!(!remove(&table, &listed[0]).await.unwrap(), "a stale copy cannot delete it");
        let stored = list_shard(&table, shard(pending.id)).await.unwrap();
        assert_eq!(stored, vec![first.clone()]);
        assert!(!stored[0].is_due(later), "leased");

        assert!(record_failure(&table, &first, later, None).await.unwrap());
        let stored = list_shard(&table, shard(pending.id)).await.unwrap();
        assert_eq!(stored[0].attempts, 1);
        assert_eq!(stored[0].next_attempt_at, later + Duration::minutes(1));
        assert!(!remove(&table, &first).await.unwrap(), "the holder's old version is stale too");
        assert!(remove(&table, &stored[0]).await.unwrap());
        assert!(list_shard(&table, shard(pending.id)).await.unwrap().is_empty());
    }
}
