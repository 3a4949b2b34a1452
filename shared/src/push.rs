//! The push port: sends a notification to one registered device. The
//! reminders deliver `push` reminders through it; the real adapter (APNs /
//! FCM / Web Push) arrives with the notifications work of wave 2, until then
//! [`RecordingPush`] records what would have been sent so the devserver and
//! the tests can see it.

use std::sync::Mutex;

use async_trait::async_trait;

/// Sends push notifications.
#[async_trait]
pub trait Push: Send + Sync + 'static {
    /// Sends one notification to one device; an error means it was not accepted.
    async fn send(&self, device_token: &str, title: &str, body: &str) -> anyhow::Result<()>;
}

/// One recorded push.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SentPush {
    /// The device it went to.
    pub device_token: String,
    /// Its title.
    pub title: String,
    /// Its body.
    pub body: String,
}

/// A push adapter that only records what it is asked to send.
#[derive(Debug, Default)]
pub struct RecordingPush {
    sent: Mutex<Vec<SentPush>>,
}

impl RecordingPush {
    /// Everything sent so far, oldest first.
    pub fn sent(&self) -> Vec<SentPush> {
        self.sent.lock().map(|s| s.clone()).unwrap_or_default()
    }
}

#[async_trait]
impl Push for RecordingPush {
    async fn send(&self, device_token: &str, title: &str, body: &str) -> anyhow::Result<()> {
        let mut sent = self.sent.lock().map_err(|_| anyhow::anyhow!("the push recorder is poisoned"))?;
        sent.push(SentPush { device_token: device_token.into(), title: title.into(), body: body.into() });
        Ok(())
    }
}
