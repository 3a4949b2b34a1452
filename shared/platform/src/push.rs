//! The push port: sends a notification to one registered device. The
//! reminders deliver `push` reminders through it. The real adapters (SNS
//! mobile push, Web Push) are not written yet: until they are, deployed
//! functions use [`UnconfiguredPush`], which refuses every send, so each
//! push is retried and finally logged as abandoned instead of "succeeding"
//! silently. The devserver and the tests use [`RecordingPush`] (feature
//! `embedded`), which records what would have been sent.

#[cfg(feature = "embedded")]
use std::sync::Mutex;

use async_trait::async_trait;

/// Sends push notifications.
#[async_trait]
pub trait Push: Send + Sync + 'static {
    /// Sends one notification to one device; an error means it was not accepted.
    async fn send(&self, device_token: &str, title: &str, body: &str) -> anyhow::Result<()>;
}

/// The deployed default while no push provider is configured: every send
/// fails, loudly.
#[derive(Debug, Default)]
pub struct UnconfiguredPush;

#[async_trait]
impl Push for UnconfiguredPush {
    async fn send(&self, _device_token: &str, _title: &str, _body: &str) -> anyhow::Result<()> {
        anyhow::bail!("no push provider is configured for this deployment")
    }
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
#[cfg(feature = "embedded")]
#[derive(Debug, Default)]
pub struct RecordingPush {
    sent: Mutex<Vec<SentPush>>,
}

#[cfg(feature = "embedded")]
impl RecordingPush {
    /// Everything sent so far, oldest first.
    pub fn sent(&self) -> Vec<SentPush> {
        self.sent.lock().map(|s| s.clone()).unwrap_or_default()
    }
}

#[cfg(feature = "embedded")]
#[async_trait]
impl Push for RecordingPush {
    async fn send(&self, device_token: &str, title: &str, body: &str) -> anyhow::Result<()> {
        let mut sent = self.sent.lock().map_err(|_| anyhow::anyhow!("the push recorder is poisoned"))?;
        sent.push(SentPush { device_token: device_token.into(), title: title.into(), body: body.into() });
        Ok(())
    }
}
