//! Driving the reminders function from tests: a run through
//! `POST /_dev/reminders/run` (the same `reminders::run` the Lambda calls),
//! reading its summary, and starting a run from scratch.

use serde_json::{Value, json};
use shared::table::{Condition, Key};

use crate::{TestApp, json_of};

/// Runs the reminders as of `time` (RFC 3339); returns the run's summary.
pub async fn run(app: &TestApp, time: &str) -> Value {
    json_of(app.post("/_dev/reminders/run", &json!({"time": time}), None).await, 200).await
}

/// How many deliveries a summary counts on `channel` (`inapp`, `email`, `push`).
pub fn delivered(summary: &Value, channel: &str) -> u64 {
    summary["delivered"][channel].as_u64().expect("a delivered count")
}

/// Forgets the watermark, as a freshly deployed function would start (its
/// first run reads from a minute before now); spares a test the 1,440 empty
/// minutes of a day between two runs.
pub async fn forget_watermark(app: &TestApp) {
    let key = Key::new(shared::keys::REMINDERS_WATERMARK_PK, shared::keys::REMINDERS_WATERMARK_SK);
    app.state.table.delete(&key, Condition::Always).await.expect("delete the watermark");
}
