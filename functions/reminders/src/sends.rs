//! Sending the mails and pushes a delivery recorded as pending sends
//! (`shared::scheduling::outbound`): at once after the delivery commits, and again
//! by every later run until they are sent or too old.

use chrono::{DateTime, Utc};
use shared::AppState;
use shared::scheduling::outbound;
use shared::scheduling::outbound::Message;
use shared::scheduling::outbound::PendingSend;
use shared::scheduling::outbound::Purpose;
use tokio::task::JoinSet;

use super::CONCURRENCY;

/// What sending came to.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Sent {
    /// Reminder and alarm mails sent.
    pub email: u64,
    /// Pushes sent (one per device).
    pub push: u64,
    /// Digest mails sent.
    pub digests: u64,
    /// Of all those, ones sent on a retry.
    pub retried: u64,
    /// Failed attempts (one per mail or device).
    pub failures: u64,
    /// Pending sends given up.
    pub abandoned: u64,
}

impl std::ops::AddAssign for Sent {
    fn add_assign(&mut self, other: Self) {
        self.email += other.email;
        self.push += other.push;
        self.digests += other.digests;
        self.retried += other.retried;
        self.failures += other.failures;
        self.abandoned += other.abandoned;
    }
}

impl Sent {
    /// Every message sent, whatever the channel.
    pub fn total(&self) -> u64 {
        self.email + self.push + self.digests
    }
}

/// Where a lease taken now starts: the run's "now" comes from its schedule
/// and a long catch-up run falls behind the wall clock, so the later of the
/// two (a lease must outlast the actual send).
pub fn lease_start(state: &AppState, now: DateTime<Utc>) -> DateTime<Utc> {
    now.max(state.clock.now())
}

/// One attempt of a send this run holds (created by its delivery, or
/// claimed): sends what is left, then deletes the pending send, or records
/// the failure with the devices still to reach.
pub async fn attempt(state: &AppState, now: DateTime<Utc>, held: PendingSend, retry: bool) -> anyhow::Result<Sent> {
    let mut sent = Sent::default();
    let mut remaining = None;
    match &held.message {
        Message::Email { mail } => match state.mailer.send(mail).await {
            Ok(()) if held.purpose == Purpose::Digest => sent.digests += 1,
            Ok(()) => sent.email += 1,
            Err(e) => {
                sent.failures += 1;
                tracing::warn!(error = %format!("{e:#}"), send = %held.id, attempts = held.attempts + 1,
                    purpose = ?held.purpose, "a mail failed; it is retried later");
            }
        },
        Message::Push { title, body, devices } => {
            let mut failed = Vec::new();
            for token in devices {
                match state.push.send(token, title, body).await {
                    Ok(()) => sent.push += 1,
                    Err(e) => {
                        sent.failures += 1;
                        tracing::warn!(error = %format!("{e:#}"), send = %held.id, attempts = held.attempts + 1,
                            purpose = ?held.purpose, "a push failed; it is retried later");
                        failed.push(token.clone());
                    }
                }
            }
            remaining = Some(failed);
        }
    }
    if retry {
        sent.retried = sent.total();
    }
    let table = state.table.as_ref();
    let done = if sent.failures == 0 {
        outbound::remove(table, &held).await?
    } else {
        outbound::record_failure(table, &held, now, remaining).await?
    };
    if !done {
        // Only possible when this run overran its lease and another run took the send over.
        tracing::warn!(send = %held.id, "a pending send changed while it was being sent");
    }
    Ok(sent)
}

/// Retries every pending send that is due, each claimed first so that a
/// concurrent run does not send it too; gives up those older than a day.
pub async fn retry_due(state: &AppState, now: DateTime<Utc>) -> anyhow::Result<Sent> {
    let mut total = Sent::default();
    let mut due = Vec::new();
    for shard in 0..outbound::SHARDS {
        for pending in outbound::list_shard(state.table.as_ref(), shard).await? {
            if !pending.is_due(now) {
                continue;
            }
            if pending.is_expired(now) {
                if outbound::remove(state.table.as_ref(), &pending).await? {
                    let channel = match &pending.message {
                        Message::Email { .. } => "email",
                        Message::Push { .. } => "push",
                    };
                    tracing::error!(send = %pending.id, user = %pending.user_id, event = ?pending.event_id,
                        purpose = ?pending.purpose, channel, attempts = pending.attempts, created_at = %pending.created_at,
                        "a send kept failing for a day and was given up");
                    total.abandoned += 1;
                }
                continue;
            }
            due.push(pending);
        }
    }
    let mut tasks = JoinSet::new();
    let mut pending = due.into_iter();
    loop {
        while tasks.len() < CONCURRENCY {
            let Some(item) = pending.next() else { break };
            let state = state.clone();
            tasks.spawn(async move {
                let lease_start = lease_start(&state, now);
                match outbound::claim(state.table.as_ref(), &item, lease_start).await? {
                    Some(held) => attempt(&state, now, held, true).await,
                    // Another run holds it.
                    None => Ok(Sent::default()),
                }
            });
        }
        let Some(done) = tasks.join_next().await else { break };
        total += done??;
    }
    Ok(total)
}
