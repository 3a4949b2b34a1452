//! The SESv2 `Mailer` adapter used in AWS: each mail is one `SendEmail`
//! with simple content (a UTF-8 text part and a UTF-8 HTML part), so SES
//! builds the multipart/alternative message and mail clients pick the part
//! they can show.

use super::{Mail, Mailer};
use crate::aws::LazyClient;
use anyhow::Context as _;
use async_trait::async_trait;
use aws_config::SdkConfig;
use aws_sdk_sesv2::{
    Client,
    types::{Body, Content, Destination, EmailContent, Message},
};

/// Every part is declared UTF-8 so non-ASCII names and text arrive intact.
const CHARSET: &str = "UTF-8";

/// Sends mail through Amazon SES (v2 API) from one verified sender.
#[derive(Debug, Clone)]
pub struct SesMailer {
    client: LazyClient<Client>,
    from: String,
}

impl SesMailer {
    /// Sends with `client` from `from` (an address or `Name <address>`;
    /// the address or its domain must be a verified SES identity).
    pub fn new(client: Client, from: impl Into<String>) -> Self {
        Self { client: LazyClient::ready(client), from: from.into() }
    }

    /// Sends from `from` with a client built from `config` on the first
    /// mail, so a cold start does not build one.
    pub fn on_first_use(config: &SdkConfig, from: impl Into<String>) -> Self {
        Self { client: LazyClient::new(config, Client::new), from: from.into() }
    }
}

fn utf8(data: &str) -> anyhow::Result<Content> {
    Content::builder().data(data).charset(CHARSET).build().context("building SES content")
}

#[async_trait]
impl Mailer for SesMailer {
    async fn send(&self, mail: &Mail) -> anyhow::Result<()> {
        let message = Message::builder()
            .subject(utf8(&mail.subject)?)
            .body(Body::builder().text(utf8(&mail.text)?).html(utf8(&mail.html)?).build())
            .build();
        let output = self
            .client
            .get()
            .send_email()
            .from_email_address(&self.from)
            .destination(Destination::builder().to_addresses(&mail.to).build())
            .content(EmailContent::builder().simple(message).build())
            .send()
            .await
            // The recipient is personal data: left out of the error, which
            // ends up in logs.
            .with_context(|| format!("SES SendEmail from {} failed", self.from))?;
        tracing::debug!(message_id = output.message_id(), "mail accepted by SES");
        Ok(())
    }
}
