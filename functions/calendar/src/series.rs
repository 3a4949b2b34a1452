//! Recurring series: the pure recurrence logic now lives in
//! `shared::calendar::recurrence`, because the reminders' due-item scheduling (in
//! `shared::scheduling::reminders::scheduling_ops`, inside every event transaction)
//! needs the same expansion. Re-exported here so the calendar keeps its paths.

pub use shared::calendar::recurrence::*;
