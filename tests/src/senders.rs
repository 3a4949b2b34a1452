//! Test-only mail and push adapters that fail on demand, to exercise the
//! retries of the reminders run. Tests put them into a clone of the app's
//! state ([`TestApp::with_flaky_senders`]) and run `reminders::run` on it,
//! the function the Lambda calls.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::Mutex;

use async_trait::async_trait;
use shared::AppState;
use shared::mail::{Mail, Mailer};
use shared::push::{Push, RecordingPush, SentPush};

use crate::TestApp;

/// A mailer handing mails to the app's outbox, except while told to fail.
pub struct FlakyMailer {
    inner: Arc<dyn Mailer>,
    failures_left: Mutex<u64>,
}

impl FlakyMailer {
    /// Fails the next `count` sends (`u64::MAX`: until told otherwise).
    pub fn fail_next(&self, count: u64) {
        *self.failures_left.lock().expect("lock") = count;
    }
}

#[async_trait]
impl Mailer for FlakyMailer {
    async fn send(&self, mail: &Mail) -> anyhow::Result<()> {
        {
            let mut left = self.failures_left.lock().expect("lock");
            if *left > 0 {
                *left -= 1;
                anyhow::bail!("the mail service is throttling (test)");
            }
        }
        self.inner.send(mail).await
    }
}

/// A push recorder that refuses some device tokens.
#[derive(Default)]
pub struct FlakyPush {
    inner: RecordingPush,
    failing: Mutex<BTreeSet<String>>,
}

impl FlakyPush {
    /// Sends to `token` fail until [`FlakyPush::recover`].
    pub fn fail_for(&self, token: &str) {
        self.failing.lock().expect("lock").insert(token.into());
    }

    /// Every device is reachable again.
    pub fn recover(&self) {
        self.failing.lock().expect("lock").clear();
    }

    /// Pushes accepted so far, oldest first.
    pub fn sent(&self) -> Vec<SentPush> {
        self.inner.sent()
    }
}

#[async_trait]
impl Push for FlakyPush {
    async fn send(&self, device_token: &str, title: &str, body: &str) -> anyhow::Result<()> {
        if self.failing.lock().expect("lock").contains(device_token) {
            anyhow::bail!("the push provider is down (test)");
        }
        self.inner.send(device_token, title, body).await
    }
}

/// The app's state with flaky senders, and handles to steer them.
pub struct FlakyState {
    /// The state to run the reminders on.
    pub state: AppState,
    /// Its mailer (sending into the app's outbox).
    pub mailer: Arc<FlakyMailer>,
    /// Its push adapter.
    pub push: Arc<FlakyPush>,
}

impl TestApp {
    /// A clone of the app's state whose mailer and push fail on demand (the
    /// HTTP routes keep the app's own adapters).
    pub fn with_flaky_senders(&self) -> FlakyState {
        let mailer = Arc::new(FlakyMailer { inner: self.outbox.clone(), failures_left: Mutex::new(0) });
        let push = Arc::new(FlakyPush::default());
        let mut state = self.state.clone().with_push(push.clone());
        state.mailer = mailer.clone();
        FlakyState { state, mailer, push }
    }
}
