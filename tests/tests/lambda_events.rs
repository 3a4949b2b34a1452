//! Each sample event in `events/` parses as Lambda would deliver it and
//! reaches its function's real handler.

use std::sync::Arc;

use axum::body::Body;
use shared::clock::FixedClock;
use tower::ServiceExt;

fn event(name: &str) -> String {
    std::fs::read_to_string(format!("{}/../events/{name}", env!("CARGO_MANIFEST_DIR"))).expect("sample event")
}

/// Sends an API Gateway HTTP API v2 sample through `router` as lambda_http would.
async fn invoke(router: axum::Router, name: &str) -> (u16, serde_json::Value) {
    let request = lambda_http::request::from_str(&event(name)).expect("event parses");
    let request = request.map(|body| Body::from(body.to_vec()));
    let response = shared::lambda::with_request_context(router).oneshot(request).await.expect("infallible");
    let status = response.status().as_u16();
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX).await.unwrap();
    (status, serde_json::from_slice(&bytes).unwrap_or(serde_json::Value::Null))
}

fn state(dir: &std::path::Path) -> shared::AppState {
    let clock = Arc::new(FixedClock::new(sundial_tests::start_time()));
    devserver::build(dir, "http://127.0.0.1:9", clock).expect("app").state
}

#[tokio::test]
async fn every_http_function_answers_its_health_sample() {
    let dir = tempfile::tempdir().unwrap();
    let state = state(dir.path());
    let routers: [(&str, axum::Router); 4] = [
        ("auth-get-health.json", auth::router(state.clone())),
        ("users-get-health.json", users::router(state.clone())),
        ("organisations-get-health.json", organisations::router(state.clone())),
        ("calendar-get-health.json", calendar::router(state.clone())),
    ];
    for (name, router) in routers {
        let (status, body) = invoke(router, name).await;
        assert_eq!(status, 200, "{name}");
        assert_eq!(body["status"], "ok", "{name}");
    }
}

#[tokio::test]
async fn the_sign_up_sample_creates_an_organisation() {
    let dir = tempfile::tempdir().unwrap();
    let (status, body) = invoke(organisations::router(state(dir.path())), "organisations-create-public.json").await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["organisation"]["name"], "Sunrise Care");
}

#[tokio::test]
async fn the_scheduled_sample_runs_the_reminders_function_at_its_time() {
    let dir = tempfile::tempdir().unwrap();
    let event: aws_lambda_events::eventbridge::EventBridgeEvent<serde_json::Value> =
        serde_json::from_str(&event("reminders-scheduled.json")).unwrap();
    let now = reminders::event_time(&event).unwrap();
    let summary = reminders::run(&state(dir.path()), now).await.unwrap();
    assert_eq!(summary.time, sundial_tests::start_time());
}
