//! What a reminders run reads from the minute buckets and how it delivers a
//! due reminder or alarm firing: the parts of the run's storage that span
//! several repositories (event reminders and almanac digests share the
//! buckets; a delivery puts pending sends, which `outbound` keeps below
//! `reminders`). The watermark and the delivery outcome are in
//! [`crate::scheduling::reminders`], a digest's firing in [`crate::scheduling::digests`].

use chrono::{DateTime, Utc};

use crate::keys;
use crate::scheduling::digests;
use crate::scheduling::digests::DueDigest;
use crate::scheduling::outbound::PendingSend;
use crate::scheduling::reminders::Delivery;
use crate::scheduling::reminders::Due;
use crate::scheduling::reminders::DueItem;
use crate::scheduling::reminders::NotificationRecord;
use crate::scheduling::reminders::SHARDS;
use crate::scheduling::reminders::delivery_ops;
use crate::scheduling::reminders::notification_put;
use crate::scheduling::reminders::successor_ops;
use crate::store::from_item;
use crate::table::{Index, Key, Query, Table};

/// What fell due in one minute bucket.
#[derive(Debug, Clone, Default)]
pub struct Bucket {
    /// Event reminders and alarm firings.
    pub reminders: Vec<Due<DueItem>>,
    /// Almanac digests.
    pub digests: Vec<Due<DueDigest>>,
}

/// Reads every shard of the bucket of `minute` (see
/// [`crate::scheduling::reminders::bucket`]). A malformed item must not hold up every other
/// one: it is logged and left.
pub async fn read_bucket(table: &dyn Table, minute: DateTime<Utc>) -> anyhow::Result<Bucket> {
    let mut bucket = Bucket::default();
    for shard in 0..SHARDS {
        let query = Query::new(Index::Primary, keys::due_pk(minute, shard));
        for item in table.query(&query).await?.items {
            let Some(key) = Key::of(&item) else { continue };
            if digests::is_due_digest(&item) {
                match from_item::<DueDigest>(item) {
                    Ok(due) => bucket.digests.push(Due::new(key, due)),
                    Err(e) => {
                        tracing::error!(error = %format!("{e:#}"), sk = %key.sk, "unreadable due digest skipped");
                    }
                }
                continue;
            }
            match from_item::<DueItem>(item) {
                Ok(due) => bucket.reminders.push(Due::new(key, due)),
                Err(e) => tracing::error!(error = %format!("{e:#}"), sk = %key.sk, "unreadable due item skipped"),
            }
        }
    }
    Ok(bucket)
}

/// Records the delivery of a due reminder or alarm firing at `now` in one
/// transaction: the delivery marker (which must not exist: a retried or
/// duplicated run delivers nothing twice) and the delete of the due item
/// (which must still exist: an edit may have replaced it), the inbox
/// `notification` (a new one), for a series or an alarm the following
/// occurrence's (or repeat's) item and the pointer listing it (on the
/// pointer's version, read now), and `sends`, the mail and push still to
/// send. A moved pointer (an edit or a concurrent run) is
/// [`Delivery::Retry`]: deliver again.
pub async fn deliver_reminder(
    table: &dyn Table,
    due: &Due<DueItem>,
    now: DateTime<Utc>,
    notification: Option<&NotificationRecord>,
    sends: &[PendingSend],
) -> anyhow::Result<Delivery> {
    let mut ops = delivery_ops(due, now);
    if let Some(notification) = notification {
        ops.push(notification_put(notification)?);
    }
    ops.extend(successor_ops(table, due).await?);
    for send in sends {
        ops.push(send.put()?);
    }
    Delivery::of(table.transact_write(ops).await)
}

/// Whether a delivery failed because the store refuses its writes as such
/// (one user's data over an item size limit): retrying never helps, so the
/// run logs and skips the item instead of stalling every other one.
pub fn is_unwritable(err: &anyhow::Error) -> bool {
    crate::table::TableError::is_unwritable(err)
}
