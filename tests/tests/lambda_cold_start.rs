//! A deployed function's cold start does not wait for its master secret
//! (read from Secrets Manager in the background): the runtime asks the
//! Lambda Runtime API for work at once, a request that needs the keys waits
//! for the read, and a failed read answers 503 and is tried again by the
//! next request (`lambda_state.rs`). Driven here through a loopback Runtime
//! API with a secret source the test controls.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::routing::{get, post};
use serde_json::Value;
use sundial_tests::secrets::{gated, state_reading};
use tokio::sync::{Mutex, Notify, mpsc, oneshot};

/// An API Gateway HTTP API event for `GET path`, without credentials.
fn event(path: &str) -> Value {
    let text =
        std::fs::read_to_string(format!("{}/../events/organisations-get-health.json", env!("CARGO_MANIFEST_DIR")))
            .expect("sample event");
    let mut event: Value = serde_json::from_str(&text).expect("json");
    event["rawPath"] = path.into();
    event["requestContext"]["http"]["path"] = path.into();
    event["routeKey"] = "$default".into();
    event
}

/// A loopback Lambda Runtime API: hands out the events sent to `events` and
/// reports the first `/next` and every response.
#[derive(Clone)]
struct RuntimeApi {
    first_next: Arc<Mutex<Option<oneshot::Sender<()>>>>,
    events: Arc<Mutex<mpsc::Receiver<(String, Value)>>>,
    responses: mpsc::Sender<(String, Value)>,
}

async fn next(State(api): State<RuntimeApi>) -> (HeaderMap, String) {
    if let Some(first) = api.first_next.lock().await.take() {
        let _ = first.send(());
    }
    let (id, event) = api.events.lock().await.recv().await.expect("an event");
    let mut headers = HeaderMap::new();
    headers.insert("lambda-runtime-aws-request-id", id.parse().unwrap());
    headers.insert("lambda-runtime-deadline-ms", "4102444800000".parse().unwrap());
    headers.insert("lambda-runtime-invoked-function-arn", "arn:aws:lambda:us-east-1:1:function:f".parse().unwrap());
    headers.insert("content-type", "application/json".parse().unwrap());
    (headers, event.to_string())
}

async fn response(State(api): State<RuntimeApi>, Path(id): Path<String>, body: String) -> &'static str {
    api.responses.send((id, serde_json::from_str(&body).expect("json response"))).await.expect("listener");
    ""
}

/// The runtime reaches `/next` before the secret is read; a request that
/// needs the keys waits for it and then gets its answer (a 401: no
/// credentials); health answers meanwhile. The only test in this binary,
/// as it sets the process's Lambda environment.
#[tokio::test]
async fn the_runtime_polls_before_the_secret_is_read_and_requests_wait_for_it() {
    let (first_tx, first_rx) = oneshot::channel();
    let (event_tx, event_rx) = mpsc::channel(4);
    let (response_tx, mut response_rx) = mpsc::channel(4);
    let api = RuntimeApi {
        first_next: Arc::new(Mutex::new(Some(first_tx))),
        events: Arc::new(Mutex::new(event_rx)),
        responses: response_tx,
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let runtime_api = Router::new()
        .route("/2018-06-01/runtime/invocation/next", get(next))
        .route("/2018-06-01/runtime/invocation/{id}/response", post(response))
        .with_state(api);
    tokio::spawn(async move { axum::serve(listener, runtime_api).await.unwrap() });

    // SAFETY: the only test of this binary; nothing else reads the environment concurrently.
    unsafe {
        std::env::set_var("AWS_LAMBDA_RUNTIME_API", address.to_string());
        std::env::set_var("AWS_LAMBDA_FUNCTION_NAME", "organisations");
        std::env::set_var("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "1024");
        std::env::set_var("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST");
    }
    let dir = tempfile::tempdir().unwrap();
    let gate = Arc::new(Notify::new());
    let state = state_reading(dir.path(), gated(gate.clone()));
    let signing = state.signing.clone();
    // The runtime's future is not `Send`: it runs on this thread, beside the test.
    let local = tokio::task::LocalSet::new();
    local.spawn_local(shared::lambda::run(organisations::router(state)));
    local
        .run_until(async move {
            tokio::time::timeout(Duration::from_secs(10), first_rx).await.expect("the runtime polls /next").unwrap();
            assert!(!signing.is_ready(), "the runtime polled before the secret was read");

            event_tx.send(("health".into(), event("/v1/health"))).await.unwrap();
            let (id, answer) =
                tokio::time::timeout(Duration::from_secs(10), response_rx.recv()).await.unwrap().unwrap();
            assert_eq!(
                (id.as_str(), answer["statusCode"].as_u64()),
                ("health", Some(200)),
                "health does not wait: {answer}"
            );

            event_tx.send(("list".into(), event("/v1/organisations"))).await.unwrap();
            assert!(
                tokio::time::timeout(Duration::from_millis(300), response_rx.recv()).await.is_err(),
                "a request that needs the keys waits for them"
            );
            gate.notify_one();
            let (id, answer) =
                tokio::time::timeout(Duration::from_secs(10), response_rx.recv()).await.unwrap().unwrap();
            assert_eq!(id, "list");
            assert_eq!(answer["statusCode"], 401, "then it is answered: {answer}");
            assert!(signing.is_ready());
        })
        .await;
}
