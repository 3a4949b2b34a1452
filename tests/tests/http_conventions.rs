//! The conventions every route follows: problem documents for every error,
//! request ids, health.

use sundial_tests::{problem, spawn_app};

#[tokio::test]
async fn health_answers_with_a_request_id() {
    let app = spawn_app().await;
    let response = app.get("/v1/health", None).await;
    assert_eq!(response.status(), 200);
    assert!(response.headers().contains_key("x-request-id"));
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["status"], "ok");
}

#[tokio::test]
async fn unknown_routes_and_methods_are_problem_documents() {
    let app = spawn_app().await;
    let missing = app.get("/v1/nothing-here", None).await;
    assert_eq!(missing.status(), 404);
    assert_eq!(problem(missing).await["code"], "not_found");

    let wrong_method = app.client.delete(format!("{}/v1/health", app.base)).send().await.unwrap();
    assert_eq!(wrong_method.status(), 405);
    assert_eq!(problem(wrong_method).await["code"], "method_not_allowed");
}

#[tokio::test]
async fn malformed_bodies_are_400_never_500() {
    let app = spawn_app().await;
    let url = format!("{}/v1/public/organisations", app.base);
    let send = |body: &'static str, content_type: &'static str| {
        app.client.post(&url).header("content-type", content_type).body(body).send()
    };

    let malformed = send("{\"organisation\": ", "application/json").await.unwrap();
    assert_eq!(malformed.status(), 400);
    assert_eq!(problem(malformed).await["code"], "validation_failed");

    let wrong_type = send(r#"{"organisation": {"name": 5}, "owner": {}}"#, "application/json").await.unwrap();
    assert_eq!(wrong_type.status(), 400);
    assert_eq!(problem(wrong_type).await["errors"][0]["field"], "organisation.name");

    let unknown_field = send(
        r#"{"organisation": {"name": "A", "colour": "red"}, "owner": {"email": "a@example.com", "password": "correct horse", "firstName": "A", "lastName": "B"}}"#,
        "application/json",
    )
    .await
    .unwrap();
    assert_eq!(unknown_field.status(), 400);

    let not_json = send("name=A", "application/x-www-form-urlencoded").await.unwrap();
    assert_eq!(not_json.status(), 415);
    assert_eq!(problem(not_json).await["code"], "unsupported_media_type");

    let huge = app
        .client
        .post(&url)
        .header("content-type", "application/json")
        .body(vec![b' '; 2 * 1024 * 1024])
        .send()
        .await
        .unwrap();
    assert_eq!(huge.status(), 413);
    assert_eq!(problem(huge).await["code"], "payload_too_large");
}

#[tokio::test]
async fn bad_idempotency_keys_are_rejected() {
    let app = spawn_app().await;
    let response = app
        .client
        .post(format!("{}/v1/public/organisations", app.base))
        .header("Idempotency-Key", "has space")
        .json(&sundial_tests::sign_up_body("A", "a@example.com"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    assert_eq!(problem(response).await["errors"][0]["field"], "Idempotency-Key");
}

#[tokio::test]
async fn authentication_comes_before_the_idempotency_key_and_the_body() {
    let app = spawn_app().await;
    for path in ["/v1/events", "/v1/organisations", "/v1/users", "/v1/organisations/x/groups"] {
        for key in ["has space", "fine-key"] {
            let response = app
                .client
                .post(format!("{}{path}", app.base))
                .header("Idempotency-Key", key)
                .json(&serde_json::json!({"not": "valid"}))
                .send()
                .await
                .unwrap();
            assert_eq!(response.status(), 401, "{path} with key {key:?}");
            assert_eq!(problem(response).await["code"], "unauthenticated");
        }
    }
    // A bad credential is a 401 too, before the key is read.
    let response = app
        .client
        .post(format!("{}/v1/events", app.base))
        .bearer_auth("not-a-token")
        .header("Idempotency-Key", "has space")
        .json(&serde_json::json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
    // With valid credentials the key is checked as before.
    let body = app.sign_up("Sunrise", "owner@example.com").await;
    let owner = uuid::Uuid::parse_str(body["user"]["id"].as_str().unwrap()).unwrap();
    let token = app.token_for(owner).await;
    let response = app
        .client
        .post(format!("{}/v1/events", app.base))
        .bearer_auth(&token)
        .header("Idempotency-Key", "has space")
        .json(&serde_json::json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    assert_eq!(problem(response).await["errors"][0]["field"], "Idempotency-Key");
}

#[tokio::test]
async fn dev_routes_answer_only_a_caller_naming_this_machine() {
    let app = spawn_app().await;
    let outbox = format!("{}/_dev/outbox", app.base);
    let local = app.client.get(&outbox).send().await.unwrap();
    assert_eq!(local.status(), 200, "the test client names 127.0.0.1");
    // A page in the developer's browser reaching the port through a
    // rebound DNS name sends its own name as Host.
    let rebound = app.client.get(&outbox).header("Host", "evil.example:3000").send().await.unwrap();
    assert_eq!(rebound.status(), 404);
    assert_eq!(rebound.headers()["content-type"], "application/problem+json");
    let run = app
        .client
        .post(format!("{}/_dev/reminders/run", app.base))
        .header("Host", "evil.example")
        .json(&serde_json::json!({"time": "2026-01-01T00:00:00Z"}))
        .send()
        .await
        .unwrap();
    assert_eq!(run.status(), 404, "no reminder run for a remote page");
}

#[tokio::test]
async fn responses_with_personal_data_are_never_stored_by_caches() {
    let app = spawn_app().await;
    let signed_up = app.sign_up("Cache Care", "cache@example.com").await;
    let owner = signed_up["user"]["id"].as_str().expect("owner id").parse().expect("uuid");
    let token = app.token_for(owner).await;

    // Personal data, a created resource (replayable by Idempotency-Key) and a
    // problem document: none may be kept by a browser or a proxy.
    let me = app.get("/v1/users/me", Some(&token)).await;
    assert_eq!(me.status(), 200);
    assert_eq!(me.headers()["cache-control"], "no-store");

    let created = app
        .client
        .post(format!("{}/v1/auth/tokens", app.base))
        .bearer_auth(&token)
        .header("Idempotency-Key", "cache-test-1")
        .json(&serde_json::json!({"name": "cli", "scopes": ["users:read"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);
    assert_eq!(created.headers()["cache-control"], "no-store");

    let unauthenticated = app.get("/v1/users/me", None).await;
    assert_eq!(unauthenticated.status(), 401);
    assert_eq!(unauthenticated.headers()["cache-control"], "no-store");
}
