//! The state every router shares: the ports, the signing keys and the clock,
//! built once per cold start (Lambda) or process (devserver, tests).
//!
//! A deployed function reads its master secret from Secrets Manager. That
//! read is started at cold start but not awaited there, so the runtime
//! reaches the Lambda Runtime API at once: the keys derived from the secret
//! ([`AppState::tokens`], [`AppState::cursors`]) become available when it
//! completes, and [`crate::http::app`] makes every group route wait for them
//! ([`SigningKeys::wait`]) before it runs, so handlers read them
//! synchronously. A failed read answers 503 and is tried again by the next
//! request.

use std::future::Future;
use std::ops::Deref;
use std::path::Path;
use std::pin::Pin;
use std::sync::{Arc, OnceLock};

use anyhow::Context;
use tokio::task::JoinHandle;

use crate::blobs::{Blobs, UnconfiguredBlobs};
use crate::clock::Clock;
use crate::config::LambdaConfig;
use crate::crypto::hmac_sha256;
use crate::identity::access_token::TokenKeys;
use crate::mail::{Mailer, UnconfiguredMailer};
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
    /// Access-token keys (derived from the master secret, see [`SigningKeys`]).
    pub tokens: Derived<TokenKeys>,
    /// Cursor signing (derived from the master secret, see [`SigningKeys`]).
    pub cursors: Derived<CursorCodec>,
    /// The master secret's state: ready, or being read.
    pub signing: Arc<SigningKeys>,
    /// Base URL of the web app, for links in mails (`<appUrl>/reset-password?token=...`).
    pub app_url: Arc<str>,
    /// Push notifications to registered devices (refusing every send until a
    /// provider is configured; the devserver and tests set a recorder).
    pub push: Arc<dyn Push>,
    /// How long a login session may go without a request before it ends
    /// (`SUNDIAL_SESSION_IDLE_DAYS`), besides its absolute 30-day limit.
    pub session_idle: chrono::Duration,
}

/// Reads the master secret (again).
pub type ReadSecret = dyn Fn() -> Pin<Box<dyn Future<Output = anyhow::Result<Vec<u8>>> + Send>> + Send + Sync;

/// The keys derived from the master secret. Purpose-specific keys are derived
/// from one master secret so that a cursor can never pass as a token.
struct Keys {
    tokens: TokenKeys,
    cursors: CursorCodec,
}

impl Keys {
    fn derive(master: &[u8]) -> Self {
        Self {
            tokens: TokenKeys::new(&derive_key(master, "access-token")),
            cursors: CursorCodec::new(derive_key(master, "cursor")),
        }
    }
}

/// The signing keys of a process: known at once (devserver, tests), or read
/// in the background from a secret store (a Lambda cold start).
pub struct SigningKeys {
    keys: Arc<OnceLock<Keys>>,
    read: Option<Arc<ReadSecret>>,
    /// The read in flight, if any: started at cold start, or by the request
    /// after a failed one.
    attempt: tokio::sync::Mutex<Option<JoinHandle<anyhow::Result<()>>>>,
}

impl std::fmt::Debug for SigningKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKeys").field("ready", &self.is_ready()).finish_non_exhaustive()
    }
}

impl SigningKeys {
    /// Keys derived from a master secret at hand.
    pub fn ready(master: &[u8]) -> Arc<Self> {
        let keys = OnceLock::new();
        let _ = keys.set(Keys::derive(master));
        Arc::new(Self { keys: Arc::new(keys), read: None, attempt: tokio::sync::Mutex::new(None) })
    }

    /// Starts reading the master secret with `read` in a task of its own and
    /// returns at once (call inside a Tokio runtime).
    pub fn read_in_background(read: Arc<ReadSecret>) -> Arc<Self> {
        let keys = Arc::new(OnceLock::new());
        let first = spawn_read(keys.clone(), read.clone());
        Arc::new(Self { keys, read: Some(read), attempt: tokio::sync::Mutex::new(Some(first)) })
    }

    /// Whether the keys are known.
    pub fn is_ready(&self) -> bool {
        self.keys.get().is_some()
    }

    /// Waits until the keys are known. Joins the read in flight, or starts
    /// a new one when the last failed; its error is returned (and the next
    /// call tries again).
    pub async fn wait(&self) -> anyhow::Result<()> {
        if self.is_ready() {
            return Ok(());
        }
        let mut attempt = self.attempt.lock().await;
        if self.is_ready() {
            return Ok(());
        }
        let read = self.read.clone().context("no source for the signing keys")?;
        let handle = attempt.take().unwrap_or_else(|| spawn_read(self.keys.clone(), read));
        match handle.await {
            Ok(outcome) => outcome,
            Err(join) => Err(anyhow::Error::new(join).context("the signing key read did not complete")),
        }
    }
}

fn spawn_read(keys: Arc<OnceLock<Keys>>, read: Arc<ReadSecret>) -> JoinHandle<anyhow::Result<()>> {
    tokio::spawn(async move {
        let master = read().await?;
        let _ = keys.set(Keys::derive(&master));
        Ok(())
    })
}

/// One of the keys derived from the master secret, read like the key itself
/// (`state.tokens.verify(..)`, `&state.cursors`). Only once the keys are
/// ready: requests wait for them in [`crate::http::app`]; anything else
/// must [`SigningKeys::wait`] first.
pub struct Derived<T: 'static> {
    signing: Arc<SigningKeys>,
    pick: fn(&Keys) -> &T,
}

impl<T> Clone for Derived<T> {
    fn clone(&self) -> Self {
        Self { signing: self.signing.clone(), pick: self.pick }
    }
}

impl<T> Deref for Derived<T> {
    type Target = T;

    fn deref(&self) -> &T {
        let keys = self.signing.keys.get().expect("signing keys used before they were read: await SigningKeys::wait");
        (self.pick)(keys)
    }
}

impl AppState {
    /// State over the given adapters, with keys derived from `master_key`.
    pub fn new(
        table: Arc<dyn Table>,
        blobs: Arc<dyn Blobs>,
        mailer: Arc<dyn Mailer>,
        clock: Arc<dyn Clock>,
        master_key: &[u8],
    ) -> Self {
        Self::with_signing(table, blobs, mailer, clock, SigningKeys::ready(master_key))
    }

    /// State over the given adapters and signing keys (ready or being read).
    pub fn with_signing(
        table: Arc<dyn Table>,
        blobs: Arc<dyn Blobs>,
        mailer: Arc<dyn Mailer>,
        clock: Arc<dyn Clock>,
        signing: Arc<SigningKeys>,
    ) -> Self {
        Self {
            table,
            blobs,
            mailer,
            clock,
            tokens: Derived { signing: signing.clone(), pick: |keys| &keys.tokens },
            cursors: Derived { signing: signing.clone(), pick: |keys| &keys.cursors },
            signing,
            app_url: Arc::from("http://127.0.0.1:3000"),
            push: Arc::new(UnconfiguredPush),
            session_idle: chrono::Duration::days(i64::from(crate::config::DEFAULT_SESSION_IDLE_DAYS)),
        }
    }

    /// Sets how long a login session may go without a request before it ends.
    pub fn with_session_idle_days(mut self, days: u32) -> Self {
        self.session_idle = chrono::Duration::days(i64::from(days));
        self
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

    /// State on the AWS adapters, configured from the Lambda environment:
    /// the table and the signing keys, and what `adapters` adds
    /// ([`LambdaAdapters::with_blobs`], [`LambdaAdapters::with_mail`]). Chosen
    /// in the function's `main`, so its binary links only the AWS clients it
    /// uses.
    pub async fn from_lambda_env(adapters: impl FnOnce(LambdaAdapters) -> LambdaAdapters) -> anyhow::Result<Self> {
        let config = LambdaConfig::from_env()?;
        let sdk = crate::aws::load_config().await;
        Ok(Self::from_lambda_adapters(adapters(LambdaAdapters::new(config, sdk))))
    }

    /// State on every AWS adapter for `config`, with clients from `sdk`
    /// (tests pass the emulator's configuration). The master secret is read
    /// in the background ([`SigningKeys::read_in_background`]): this returns
    /// without waiting for it, and a missing or short secret shows as
    /// [`SigningKeys::wait`] failing (503 to requests).
    pub async fn from_lambda_config(config: &LambdaConfig, sdk: &aws_config::SdkConfig) -> anyhow::Result<Self> {
        let adapters = LambdaAdapters::new(config.clone(), sdk.clone()).with_blobs().with_mail();
        Ok(Self::from_lambda_adapters(adapters))
    }

    /// State on `adapters`: DynamoDB, and the master secret read from Secrets
    /// Manager in the background.
    fn from_lambda_adapters(adapters: LambdaAdapters) -> Self {
        let LambdaAdapters { config, sdk, blobs, mailer } = adapters;
        // Built by the background read, off the path to the first request.
        let secrets = crate::aws::LazyClient::new(&sdk, aws_sdk_secretsmanager::Client::new);
        let arn: Arc<str> = Arc::from(config.signing_key_secret_arn.as_str());
        let read: Arc<ReadSecret> = Arc::new(move || {
            let (secrets, arn) = (secrets.clone(), arn.clone());
            Box::pin(async move {
                let secret = crate::config::read_signing_secret(secrets.get(), &arn).await?;
                Ok(secrecy::ExposeSecret::expose_secret(&secret).as_bytes().to_vec())
            })
        });
        let table = crate::table::dynamo::DynamoTable::new(aws_sdk_dynamodb::Client::new(&sdk), config.table.clone());
        Self::with_signing(
            Arc::new(table),
            blobs,
            mailer,
            Arc::new(crate::clock::SystemClock),
            SigningKeys::read_in_background(read),
        )
        .with_app_url(&config.app_url)
        .with_session_idle_days(config.session_idle_days)
    }
}

/// The AWS adapters a deployed function uses beyond its table and signing
/// keys. Each starts as a stand-in that refuses every call
/// ([`UnconfiguredBlobs`], [`UnconfiguredMailer`]); a function asks for the
/// real one, and only then does its binary link that AWS client.
pub struct LambdaAdapters {
    config: LambdaConfig,
    sdk: aws_config::SdkConfig,
    blobs: Arc<dyn Blobs>,
    mailer: Arc<dyn Mailer>,
}

impl LambdaAdapters {
    fn new(config: LambdaConfig, sdk: aws_config::SdkConfig) -> Self {
        Self { config, sdk, blobs: Arc::new(UnconfiguredBlobs), mailer: Arc::new(UnconfiguredMailer) }
    }

    /// Media in S3 (`SUNDIAL_BUCKET`).
    pub fn with_blobs(mut self) -> Self {
        self.blobs = Arc::new(crate::blobs::s3::S3Blobs::on_first_use(&self.sdk, self.config.bucket.clone()));
        self
    }

    /// Mail through SES (`SUNDIAL_MAIL_FROM`).
    pub fn with_mail(mut self) -> Self {
        self.mailer = Arc::new(crate::mail::ses::SesMailer::on_first_use(&self.sdk, self.config.mail_from.clone()));
        self
    }
}

/// A key for one purpose, derived from the master secret.
pub fn derive_key(master: &[u8], purpose: &str) -> Vec<u8> {
    hmac_sha256(master, format!("sundial/{purpose}").as_bytes())
}

/// The local master secret: read from `dir/signing.key`, created (random,
/// owner-only) on first start so tokens survive devserver restarts. Several
/// processes may start at once over one directory (the devserver and the
/// functions under `cargo lambda watch`): a new key is written to a file of
/// its own and linked into place, which fails if another process got there
/// first; then that one's key is used. No process reads a half-written key,
/// and all end up with the same one.
pub fn local_master_key(dir: &Path) -> anyhow::Result<Vec<u8>> {
    let path = dir.join("signing.key");
    let read = |path: &Path| std::fs::read(path).ok().filter(|key| key.len() >= 32);
    if let Some(existing) = read(&path) {
        return Ok(existing);
    }
    std::fs::create_dir_all(dir).with_context(|| format!("Failed to create {}", dir.display()))?;
    let candidate = dir.join(format!(".signing.key.{}.{}", std::process::id(), crate::crypto::random_token(8)));
    let key = crate::crypto::random_token(48).into_bytes();
    write_owner_only(&candidate, &key)?;
    let linked = match std::fs::hard_link(&candidate, &path) {
        Ok(()) => Ok(()),
        // Another process's key is in place; or a damaged (short) one, replaced.
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => match read(&path) {
            Some(_) => Ok(()),
            None => std::fs::rename(&candidate, &path),
        },
        Err(e) => Err(e),
    };
    let _ = std::fs::remove_file(&candidate);
    linked.with_context(|| format!("Failed to write {}", path.display()))?;
    read(&path).with_context(|| format!("Failed to read {}", path.display()))
}

fn write_owner_only(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path).with_context(|| format!("Failed to create {}", path.display()))?;
    file.write_all(bytes).and_then(|()| file.sync_all()).with_context(|| format!("Failed to write {}", path.display()))
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    use super::*;

    /// A secret source that answers only when `gate` is opened.
    fn gated(gate: Arc<tokio::sync::Notify>) -> Arc<ReadSecret> {
        Arc::new(move || {
            let gate = gate.clone();
            Box::pin(async move {
                gate.notified().await;
                Ok(vec![7; 48])
            })
        })
    }

    #[tokio::test]
    async fn a_slow_read_is_waited_for_and_gives_the_same_keys() {
        let gate = Arc::new(tokio::sync::Notify::new());
        let signing = SigningKeys::read_in_background(gated(gate.clone()));
        assert!(!signing.is_ready(), "nothing waits for the read at start");
        let waiting = tokio::spawn({
            let signing = signing.clone();
            async move { signing.wait().await }
        });
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(!waiting.is_finished(), "a request waits while the secret is being read");
        gate.notify_one();
        waiting.await.unwrap().expect("the read succeeds");
        assert!(signing.is_ready());
        let derived = Keys::derive(&[7; 48]);
        let cursors = Derived { signing: signing.clone(), pick: |keys| &keys.cursors };
        let position = serde_json::json!({"SK": "x"}).as_object().unwrap().clone();
        assert_eq!(cursors.encode("l", &position), derived.cursors.encode("l", &position), "the same derivation");
    }

    #[tokio::test]
    async fn a_failed_read_fails_the_wait_and_the_next_wait_reads_again() {
        let calls = Arc::new(AtomicUsize::new(0));
        let read: Arc<ReadSecret> = Arc::new({
            let calls = calls.clone();
            move || {
                let first = calls.fetch_add(1, Ordering::SeqCst) == 0;
                Box::pin(async move { if first { anyhow::bail!("secrets manager is down") } else { Ok(vec![1; 32]) } })
            }
        });
        let signing = SigningKeys::read_in_background(read);
        let err = signing.wait().await.expect_err("the first read fails");
        assert!(format!("{err:#}").contains("secrets manager is down"), "{err:#}");
        assert!(!signing.is_ready());
        signing.wait().await.expect("the next wait reads again and succeeds");
        assert!(signing.is_ready());
        signing.wait().await.expect("ready now");
        assert_eq!(calls.load(Ordering::SeqCst), 2, "no read once the keys are known");
    }

    #[test]
    fn processes_starting_together_agree_on_the_local_master_key() {
        let dir = tempfile::tempdir().unwrap();
        let keys: Vec<Vec<u8>> = std::thread::scope(|scope| {
            let handles: Vec<_> = (0..8).map(|_| scope.spawn(|| local_master_key(dir.path()).unwrap())).collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        assert!(keys.iter().all(|k| k == &keys[0] && k.len() >= 32), "one key for all");
        assert_eq!(local_master_key(dir.path()).unwrap(), keys[0], "and it is kept");
        let stray: Vec<_> = std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(stray, vec![std::ffi::OsString::from("signing.key")], "no candidate files left behind");
    }
}
