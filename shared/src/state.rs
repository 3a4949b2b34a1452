//! The state every router shares: the ports, the signing keys and the clock,
//! built once per cold start (Lambda) or process (devserver, tests).

use std::path::Path;
use std::sync::Arc;

use anyhow::Context;

use crate::access_token::TokenKeys;
use crate::blobs::Blobs;
use crate::clock::Clock;
use crate::config::LambdaConfig;
use crate::crypto::hmac_sha256;
use crate::mail::Mailer;
use crate::pagination::CursorCodec;
use crate::push::{Push, UnconfiguredPush};
use crate::table::Table;

/// Shared application state (cheap to clone).
#[derive(Clone)]
pub struct AppState {
    /// The single table.
    pub table: Arc<dyn Table>,
    /// The blob store.
    pub blobs: Arc<dyn Blobs>,
    /// The mailer.
    pub mailer: Arc<dyn Mailer>,
    /// The clock.
    pub clock: Arc<dyn Clock>,
    /// Access-token keys.
    pub tokens: Arc<TokenKeys>,
    /// Cursor signing.
    pub cursors: CursorCodec,
    /// Base URL of the web app, for links in mails (`<appUrl>/reset-password?token=...`).
    pub app_url: Arc<str>,
    /// Push notifications to registered devices (refusing every send until a
    /// provider is configured; the devserver and tests set a recorder).
    pub push: Arc<dyn Push>,
}

impl AppState {
    /// State over the given adapters. Purpose-specific keys are derived from
    /// one master secret so that a cursor can never pass as a token.
    pub fn new(
        table: Arc<dyn Table>,
        blobs: Arc<dyn Blobs>,
        mailer: Arc<dyn Mailer>,
        clock: Arc<dyn Clock>,
        master_key: &[u8],
    ) -> Self {
        Self {
            table,
            blobs,
            mailer,
            clock,
            tokens: Arc::new(TokenKeys::new(&derive_key(master_key, "access-token"))),
            cursors: CursorCodec::new(derive_key(master_key, "cursor")),
            app_url: Arc::from("http://127.0.0.1:3000"),
            push: Arc::new(UnconfiguredPush),
        }
    }

    /// Sets the push adapter.
    pub fn with_push(mut self, push: Arc<dyn Push>) -> Self {
        self.push = push;
        self
    }

    /// Sets the web app's base URL used in mailed links.
    pub fn with_app_url(mut self, app_url: &str) -> Self {
        self.app_url = Arc::from(app_url.trim_end_matches('/'));
        self
    }

    /// State on the AWS adapters, configured from the Lambda environment.
    pub async fn from_lambda_env() -> anyhow::Result<Self> {
        let config = LambdaConfig::from_env()?;
        let sdk = crate::aws::load_config().await;
        Self::from_lambda_config(&config, &sdk).await
    }

    /// State on the AWS adapters for `config`, with clients from `sdk`
    /// (tests pass the emulator's configuration).
    pub async fn from_lambda_config(config: &LambdaConfig, sdk: &aws_config::SdkConfig) -> anyhow::Result<Self> {
        let sdk = sdk.clone();
        let master_key = crate::config::read_signing_secret(&sdk, &config.signing_key_secret_arn).await?;
        let table = crate::table::dynamo::DynamoTable::new(aws_sdk_dynamodb::Client::new(&sdk), config.table.clone());
        let blobs = crate::blobs::s3::S3Blobs::new(crate::aws::s3_client(&sdk), config.bucket.clone());
        let mailer = crate::mail::ses::SesMailer::new(aws_sdk_sesv2::Client::new(&sdk), config.mail_from.clone());
        Ok(Self::new(
            Arc::new(table),
            Arc::new(blobs),
            Arc::new(mailer),
            Arc::new(crate::clock::SystemClock),
            secrecy::ExposeSecret::expose_secret(&master_key).as_bytes(),
        )
        .with_app_url(&config.app_url))
    }
}

/// A key for one purpose, derived from the master secret.
pub fn derive_key(master: &[u8], purpose: &str) -> Vec<u8> {
    hmac_sha256(master, format!("sundial/{purpose}").as_bytes())
}

/// The local master secret: read from `dir/signing.key`, created (random,
/// owner-only) on first start so tokens survive devserver restarts.
pub fn local_master_key(dir: &Path) -> anyhow::Result<Vec<u8>> {
    let path = dir.join("signing.key");
    if let Ok(existing) = std::fs::read(&path)
        && existing.len() >= 32
    {
        return Ok(existing);
    }
    std::fs::create_dir_all(dir).with_context(|| format!("Failed to create {}", dir.display()))?;
    let key = crate::crypto::random_token(48).into_bytes();
    std::fs::write(&path, &key).with_context(|| format!("Failed to write {}", path.display()))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))
            .with_context(|| format!("Failed to restrict {}", path.display()))?;
    }
    Ok(key)
}
