//! Calendar: events and their recurrence, templates, the almanac, and (in
//! this module itself) [`commit`], the single write path of the calendar: an event change and the
//! scheduling of its due items (reminders, alarms) in one transaction. It
//! sits above `events` (what a change writes) and `reminders` (what it
//! schedules), so neither depends on the other.

pub mod almanac;
pub mod events;
pub mod recurrence;
pub mod templates;

use crate::scheduling::reminders;
use crate::table::{Table, TableError};
use events::EventChange;

/// Writes a change all-or-nothing, with its due-item scheduling. A failed
/// condition means another writer changed one of the events or occurrences
/// meanwhile. A reminders run may move an event's due pointer between the
/// read and the write; then the scheduling is read again and retried.
pub async fn commit(table: &dyn Table, change: &EventChange) -> Result<(), TableError> {
    let base = events::transaction(change).map_err(TableError::Backend)?;
    let mut attempt = 0;
    loop {
        let scheduling = reminders::load(table, change).await.map_err(TableError::Backend)?;
        let mut ops = base.clone();
        ops.extend(reminders::scheduling_ops(change, &scheduling).map_err(TableError::Backend)?);
        match table.transact_write(ops).await {
            Err(TableError::ConditionFailed { index: Some(i) }) if i >= base.len() && attempt < 3 => attempt += 1,
            other => return other,
        }
    }
}
