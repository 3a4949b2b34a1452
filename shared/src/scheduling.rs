//! Scheduling: due reminders and alarms, almanac digests, the reminder
//! runs' watermark, and the outbound sends with their delivery records.

pub mod digests;
pub mod outbound;
pub mod reminders;
pub mod runs;
