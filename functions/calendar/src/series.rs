//! Recurring series: the pure recurrence logic now lives in
//! `shared::recurrence`, because the reminders' due-item scheduling (in
//! `shared::repo::reminders::scheduling_ops`, inside every event transaction)
//! needs the same expansion. Re-exported here so the calendar keeps its paths.

pub use shared::recurrence::*;
