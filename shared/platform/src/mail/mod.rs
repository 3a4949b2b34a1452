//! The `Mailer` port: every mail Sundial sends goes through it. Adapters:
//! SESv2 (`ses`) and a local outbox file that the devserver shows at
//! `GET /_dev/outbox` (`outbox`). Both are held to one contract suite
//! (`contract`).

#[cfg(feature = "testkit")]
pub mod contract;
#[cfg(feature = "embedded")]
pub mod outbox;
pub mod ses;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// One mail with a plain-text and an HTML part.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Mail {
    /// Recipient address.
    pub to: String,
    /// Subject line.
    pub subject: String,
    /// Plain-text body.
    pub text: String,
    /// HTML body.
    pub html: String,
}

/// A mail as the local outbox recorded it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SentMail {
    /// Recipient address.
    pub to: String,
    /// Subject line.
    pub subject: String,
    /// Plain-text body.
    pub text: String,
    /// HTML body.
    pub html: String,
    /// When it was handed to the outbox.
    pub sent_at: DateTime<Utc>,
}

/// The mail port.
#[async_trait]
pub trait Mailer: Send + Sync + 'static {
    /// Sends one mail; an error means it was not accepted for delivery.
    async fn send(&self, mail: &Mail) -> anyhow::Result<()>;
}

/// The mailer of a function that sends no mail (a deployed function links
/// only the AWS clients it uses): every send fails, loudly.
#[derive(Debug, Default)]
pub struct UnconfiguredMailer;

#[async_trait]
impl Mailer for UnconfiguredMailer {
    async fn send(&self, _mail: &Mail) -> anyhow::Result<()> {
        anyhow::bail!("this function has no mailer configured")
    }
}
