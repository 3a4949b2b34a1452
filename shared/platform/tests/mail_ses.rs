//! The `Mailer` contract against `SesMailer` on the AWS emulator
//! (`SUNDIAL_TEST_AWS_ENDPOINT`). What was delivered is read back from the
//! emulator's state dump (`/moto-api/data.json`), which keeps each sent
//! message's recipients, subject and (only) its HTML part.

use anyhow::Context as _;
use async_trait::async_trait;
use platform::mail::{
    contract::{self, Delivered, DeliveryProbe},
    ses::SesMailer,
};
use serde::Deserialize;

const SENDER: &str = "noreply@sundial.test";

/// Reads sent mail from the emulator's state dump.
struct MotoProbe {
    endpoint: String,
    http: reqwest::Client,
}

#[derive(Deserialize)]
struct Dump {
    ses: SesDump,
}

#[derive(Deserialize)]
struct SesDump {
    #[serde(rename = "Message")]
    messages: Vec<SentMessage>,
}

#[derive(Deserialize)]
struct SentMessage {
    destinations: Destinations,
    subject: String,
    body: String,
}

#[derive(Deserialize)]
struct Destinations {
    #[serde(rename = "ToAddresses", default)]
    to: Vec<String>,
}

#[async_trait]
impl DeliveryProbe for MotoProbe {
    async fn delivered_to(&self, to: &str) -> anyhow::Result<Vec<Delivered>> {
        let url = format!("{}/moto-api/data.json", self.endpoint.trim_end_matches('/'));
        let response = self.http.get(&url).send().await.context("fetching the emulator state")?;
        let dump: Dump = response.error_for_status()?.json().await.context("parsing the emulator state")?;
        Ok(dump
            .ses
            .messages
            .into_iter()
            .flat_map(|m| {
                let (subject, html) = (m.subject, m.body);
                m.destinations.to.into_iter().filter(|t| t.eq_ignore_ascii_case(to)).map(move |t| Delivered {
                    to: t,
                    subject: subject.clone(),
                    text: None,
                    html: html.clone(),
                })
            })
            .collect())
    }
}

/// A mailer on the emulator with its sender verified, and a probe.
async fn setup() -> (SesMailer, MotoProbe) {
    let endpoint = platform::aws::test_endpoint();
    let config = platform::aws::emulator_config(&endpoint).await;
    let client = aws_sdk_sesv2::Client::new(&config);
    // The emulator, like SES, only sends from known identities; tests share
    // one, so "already exists" is fine.
    if let Err(err) = client.create_email_identity().email_identity(SENDER).send().await
        && !err.as_service_error().is_some_and(|e| e.is_already_exists_exception())
    {
        panic!("creating the sender identity: {err:?}");
    }
    (SesMailer::new(client, SENDER), MotoProbe { endpoint, http: reqwest::Client::new() })
}

#[tokio::test]
async fn send_is_delivered_intact() {
    let (mailer, probe) = setup().await;
    contract::send_is_delivered_intact(&mailer, &probe).await.unwrap();
}

#[tokio::test]
async fn each_send_is_one_delivery_to_its_recipient() {
    let (mailer, probe) = setup().await;
    contract::each_send_is_one_delivery_to_its_recipient(&mailer, &probe).await.unwrap();
}
