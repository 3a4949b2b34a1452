//! The contract every `Mailer` adapter must meet, as one suite run against
//! each of them (`shared/tests/mail_*.rs`). A [`DeliveryProbe`] reports
//! what actually reached the other side (the outbox file, the emulator's
//! record of sent mail), so the suite checks delivery, not just that
//! `send` returned `Ok`.
//!
//! Each function mails fresh, unique recipients, so they can share a
//! mailer and run concurrently.

use super::{Mail, Mailer, outbox::Outbox};
use anyhow::{Context as _, ensure};
use async_trait::async_trait;

/// One delivered mail, as a probe sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivered {
    /// Recipient address.
    pub to: String,
    /// Subject line.
    pub subject: String,
    /// Plain-text part, `None` when the probe cannot see it (the SES
    /// emulator keeps only the HTML part).
    pub text: Option<String>,
    /// HTML part.
    pub html: String,
}

/// Reports what a mailer delivered.
#[async_trait]
pub trait DeliveryProbe: Send + Sync {
    /// Every mail delivered to `to` (compared case-insensitively), in any
    /// order.
    async fn delivered_to(&self, to: &str) -> anyhow::Result<Vec<Delivered>>;
}

/// The outbox is its own probe: what it lists is what it "delivered".
#[async_trait]
impl DeliveryProbe for Outbox {
    async fn delivered_to(&self, to: &str) -> anyhow::Result<Vec<Delivered>> {
        Ok(self
            .list(Some(to))?
            .into_iter()
            .map(|m| Delivered { to: m.to, subject: m.subject, text: Some(m.text), html: m.html })
            .collect())
    }
}

/// Runs the whole suite.
pub async fn run_all(m: &dyn Mailer, probe: &dyn DeliveryProbe) -> anyhow::Result<()> {
    send_is_delivered_intact(m, probe).await.context("send_is_delivered_intact")?;
    each_send_is_one_delivery_to_its_recipient(m, probe).await.context("each_send_is_one_delivery_to_its_recipient")?;
    Ok(())
}

/// A sent mail is delivered once, to its recipient, with subject and parts
/// unchanged, non-ASCII text included.
pub async fn send_is_delivered_intact(m: &dyn Mailer, probe: &dyn DeliveryProbe) -> anyhow::Result<()> {
    let to = unique_recipient();
    let mail = Mail {
        to: to.clone(),
        subject: "Rappel : réunion à 9 h ☀".to_owned(),
        text: "Bonjour Zoë,\nla réunion commence à 9 h.".to_owned(),
        html: "<p>Bonjour Zoë,</p><p>la réunion commence à <b>9 h</b>.</p>".to_owned(),
    };
    m.send(&mail).await.context("send")?;
    let delivered = probe.delivered_to(&to).await.context("probing deliveries")?;
    ensure!(delivered.len() == 1, "expected one delivery to {to}, found {delivered:?}");
    let got = &delivered[0];
    ensure!(got.to.eq_ignore_ascii_case(&to), "delivered to {:?}, not {to:?}", got.to);
    ensure!(got.subject == mail.subject, "subject arrived as {:?}", got.subject);
    ensure!(got.html == mail.html, "HTML part arrived as {:?}", got.html);
    if let Some(text) = &got.text {
        ensure!(*text == mail.text, "text part arrived as {text:?}");
    }
    Ok(())
}

/// Mails to different recipients stay apart, and sending twice delivers
/// twice.
pub async fn each_send_is_one_delivery_to_its_recipient(
    m: &dyn Mailer,
    probe: &dyn DeliveryProbe,
) -> anyhow::Result<()> {
    let (alice, bob) = (unique_recipient(), unique_recipient());
    for (to, subject) in [(&alice, "first"), (&bob, "for bob"), (&alice, "second")] {
        let mail = Mail {
            to: to.clone(),
            subject: subject.to_owned(),
            text: format!("{subject} (text)"),
            html: format!("<p>{subject}</p>"),
        };
        m.send(&mail).await.with_context(|| format!("sending {subject:?}"))?;
    }
    let mut to_alice: Vec<String> =
        probe.delivered_to(&alice).await.context("probing alice")?.into_iter().map(|d| d.subject).collect();
    to_alice.sort();
    ensure!(to_alice == ["first", "second"], "alice received {to_alice:?}");
    let to_bob: Vec<String> =
        probe.delivered_to(&bob).await.context("probing bob")?.into_iter().map(|d| d.subject).collect();
    ensure!(to_bob == ["for bob"], "bob received {to_bob:?}");
    Ok(())
}

/// An address no other run uses.
fn unique_recipient() -> String {
    format!("contract-{}@example.com", uuid::Uuid::now_v7().simple())
}
