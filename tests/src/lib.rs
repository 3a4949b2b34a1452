//! Test harness: `spawn_app()` starts the real devserver application on a
//! random port over a fresh data directory, on the embedded table or on
//! DynamoDB in the local emulator, and gives a client for it.

pub mod identity;
pub mod reminders;
pub mod senders;

use std::sync::Arc;

use chrono::{DateTime, Utc};
use reqwest::{Client, Response};
use serde_json::Value;
use shared::AppState;
use shared::clock::FixedClock;
use shared::mail::outbox::Outbox;
use shared::table::Table;
use shared::table::dynamo::{DynamoTable, create_table};
use shared::table::embedded::EmbeddedTable;
use uuid::Uuid;

/// Which table adapter the app runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// The embedded redb store.
    Embedded,
    /// DynamoDB in the local emulator (`SUNDIAL_TEST_AWS_ENDPOINT`).
    DynamoDb,
}

/// A running application.
pub struct TestApp {
    /// `http://127.0.0.1:<port>`
    pub base: String,
    /// A plain HTTP client.
    pub client: Client,
    /// The app's state (to read the table directly, mint tokens ...).
    pub state: AppState,
    /// The local outbox.
    pub outbox: Arc<Outbox>,
    /// The app's clock, which tests move.
    pub clock: Arc<FixedClock>,
    _dir: tempfile::TempDir,
}

/// The instant every test app starts at.
pub fn start_time() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-03-29T06:30:00Z").expect("valid instant").with_timezone(&Utc)
}

/// Starts the app on the embedded table.
pub async fn spawn_app() -> TestApp {
    spawn_app_on(Backend::Embedded).await
}

/// Starts the app on the given table adapter.
pub async fn spawn_app_on(backend: Backend) -> TestApp {
    spawn_app_wrapping(backend, |table| table).await
}

/// Starts the app on the given table adapter with a decorator between the
/// app and the table ([`shared::table::faulty::FaultyTable`] for injected
/// failures, a counting table ...).
pub async fn spawn_app_wrapping(backend: Backend, wrap: impl FnOnce(Arc<dyn Table>) -> Arc<dyn Table>) -> TestApp {
    let dir = tempfile::tempdir().expect("temp dir");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("address"));
    let clock = Arc::new(FixedClock::new(start_time()));
    let table: Arc<dyn Table> = match backend {
        Backend::Embedded => Arc::new(EmbeddedTable::open(&dir.path().join("table.redb")).expect("embedded table")),
        Backend::DynamoDb => {
            let endpoint = shared::aws::test_endpoint();
            let sdk = shared::aws::emulator_config(&endpoint).await;
            let client = aws_sdk_dynamodb::Client::new(&sdk);
            let name = format!("sundial-test-{}", Uuid::now_v7());
            create_table(&client, &name).await.expect("create table");
            Arc::new(DynamoTable::new(client, name))
        }
    };
    let app = devserver::build_with_table(dir.path(), &base, clock.clone(), wrap(table)).expect("build app");
    let router = app.router.clone();
    tokio::spawn(async move {
        axum::serve(listener, router.into_make_service_with_connect_info::<std::net::SocketAddr>())
            .await
            .expect("serve");
    });
    TestApp { base, client: Client::new(), state: app.state, outbox: app.outbox, clock, _dir: dir }
}

impl TestApp {
    /// An access token for `user` in a new login session (the auth extractor
    /// checks that the session exists, so a bare signed token is not enough).
    pub async fn token_for(&self, user: Uuid) -> String {
        identity::session_token(self, user).await
    }

    /// `POST` JSON.
    pub async fn post(&self, path: &str, body: &Value, token: Option<&str>) -> Response {
        let mut req = self.client.post(format!("{}{path}", self.base)).json(body);
        if let Some(token) = token {
            req = req.bearer_auth(token);
        }
        req.send().await.expect("request")
    }

    /// `GET`.
    pub async fn get(&self, path: &str, token: Option<&str>) -> Response {
        let mut req = self.client.get(format!("{}{path}", self.base));
        if let Some(token) = token {
            req = req.bearer_auth(token);
        }
        req.send().await.expect("request")
    }

    /// Signs up an organisation with a fresh owner; returns the 201 body.
    pub async fn sign_up(&self, org_name: &str, email: &str) -> Value {
        let response = self.post("/v1/public/organisations", &sign_up_body(org_name, email), None).await;
        assert_eq!(response.status(), 201, "sign-up failed");
        response.json().await.expect("json")
    }
}

/// A valid sign-up body.
pub fn sign_up_body(org_name: &str, email: &str) -> Value {
    serde_json::json!({
        "organisation": {"name": org_name},
        "owner": {"email": email, "password": "correct horse battery", "firstName": "Ada", "lastName": "Lovelace"}
    })
}

/// Reads a response's JSON body (`null` when empty), asserting its status
/// (the body is in the failure message).
pub async fn json_of(response: Response, status: u16) -> Value {
    let actual = response.status().as_u16();
    let text = response.text().await.expect("body");
    assert_eq!(actual, status, "unexpected status; body: {text}");
    if text.is_empty() { Value::Null } else { serde_json::from_str(&text).expect("json") }
}

/// The sorted fields a 400 `validation_failed` problem names.
pub async fn bad_fields(response: Response) -> Vec<String> {
    assert_eq!(response.status(), 400);
    let problem = problem(response).await;
    assert_eq!(problem["code"], "validation_failed");
    let mut fields: Vec<String> =
        problem["errors"].as_array().unwrap().iter().map(|e| e["field"].as_str().unwrap().to_string()).collect();
    fields.sort();
    fields
}

/// Reads a JSON body, asserting the problem content type for errors.
pub async fn problem(response: Response) -> Value {
    let content_type = response.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
    assert_eq!(content_type, "application/problem+json", "errors are problem documents");
    response.json().await.expect("json problem")
}

/// A small extension so tests read "now" from the app's clock.
pub trait ClockExt {
    /// The clock's current instant.
    fn now_utc(&self) -> DateTime<Utc>;
}

impl ClockExt for FixedClock {
    fn now_utc(&self) -> DateTime<Utc> {
        shared::clock::Clock::now(self)
    }
}

/// Generates one test per backend from an `async fn(TestApp)` scenario.
#[macro_export]
macro_rules! on_both_tables {
    ($($name:ident),+ $(,)?) => {
        mod embedded {
            $(#[tokio::test] async fn $name() { super::$name($crate::spawn_app_on($crate::Backend::Embedded).await).await })+
        }
        mod dynamodb {
            $(#[tokio::test] async fn $name() { super::$name($crate::spawn_app_on($crate::Backend::DynamoDb).await).await })+
        }
    };
}

/// The app's state with signing keys read in the background from a source
/// the test controls, as a deployed function's are.
pub mod secrets {
    use std::sync::Arc;

    use shared::AppState;
    use shared::clock::FixedClock;
    use shared::state::{ReadSecret, SigningKeys};
    use tokio::sync::Notify;

    /// The embedded app's state over `dir`, its keys from `read`.
    pub fn state_reading(dir: &std::path::Path, read: Arc<ReadSecret>) -> AppState {
        let clock = Arc::new(FixedClock::new(super::start_time()));
        let local = devserver::build(dir, "http://127.0.0.1:9", clock.clone()).expect("app").state;
        AppState::with_signing(local.table, local.blobs, local.mailer, clock, SigningKeys::read_in_background(read))
    }

    /// A secret source that answers (64 bytes) once `gate` is opened.
    pub fn gated(gate: Arc<Notify>) -> Arc<ReadSecret> {
        Arc::new(move || {
            let gate = gate.clone();
            Box::pin(async move {
                gate.notified().await;
                Ok(vec![b'k'; 64])
            })
        })
    }
}
