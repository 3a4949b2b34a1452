//! Personal access tokens: creation, listing, revocation, scopes and expiry,
//! through HTTP, on both table adapters.

use chrono::Duration;
use reqwest::Response;
use serde_json::{Value, json};
use shared::table::{Index, Key, Query, Update};
use sundial_tests::identity::{PASSWORD, sign_in, signed_up_owner, signed_up_owner_as};
use sundial_tests::{TestApp, on_both_tables, problem};
use uuid::Uuid;

async fn create(app: &TestApp, access_token: &str, body: Value) -> Response {
    app.post("/v1/auth/tokens", &body, Some(access_token)).await
}

/// Creates a token with these scopes; returns `(id, secret)`.
async fn token_with(app: &TestApp, access_token: &str, scopes: &[&str], expires_at: Option<&str>) -> (String, String) {
    let mut body = json!({"name": "script", "scopes": scopes});
    if let Some(at) = expires_at {
        body["expiresAt"] = at.into();
    }
    let response = create(app, access_token, body).await;
    assert_eq!(response.status(), 201);
    let created: Value = response.json().await.unwrap();
    (created["id"].as_str().unwrap().to_string(), created["token"].as_str().unwrap().to_string())
}

async fn delete(app: &TestApp, credential: &str, id: &str) -> Response {
    app.client.delete(format!("{}/v1/auth/tokens/{id}", app.base)).bearer_auth(credential).send().await.unwrap()
}

async fn list(app: &TestApp, credential: &str) -> Value {
    let response = app.get("/v1/auth/tokens", Some(credential)).await;
    assert_eq!(response.status(), 200);
    response.json().await.unwrap()
}

async fn tokens_are_created_listed_and_deleted(app: TestApp) {
    let (_, user, access) = signed_up_owner(&app).await;

    let response = create(
        &app,
        &access,
        json!({"name": "Backup script", "scopes": ["calendar:read", "users:write"], "expiresAt": "2026-06-01T00:00:00Z"}),
    )
    .await;

    assert_eq!(response.status(), 201);
    assert_eq!(response.headers()["etag"], "\"1\"");
    assert_eq!(response.headers()["cache-control"], "no-store");
    let created: Value = response.json().await.unwrap();
    let token = created["token"].as_str().unwrap();
    assert!(token.starts_with("sdl_pat_") && token.len() > 40, "{token}");
    assert_eq!(created["name"], "Backup script");
    assert_eq!(created["scopes"], json!(["calendar:read", "users:write"]));
    assert_eq!(created["expiresAt"], "2026-06-01T00:00:00Z");
    let id = created["id"].as_str().unwrap();

    let listed = list(&app, &access).await;
    assert_eq!(listed["items"].as_array().unwrap().len(), 1);
    assert_eq!(listed["items"][0]["id"], id);
    assert!(listed["items"][0].get("token").is_none(), "the secret is shown once only");
    let notices: Vec<_> =
        app.outbox.list(None).unwrap().into_iter().filter(|m| m.text.contains("Backup script")).collect();
    assert_eq!(notices.len(), 1, "a notice mail names the new token");
    assert!(!notices[0].text.contains(token) && !notices[0].html.contains(token), "never the secret");

    // Stored only as a hash.
    let stored = app.state.table.query(&Query::new(Index::Primary, shared::keys::user_pk(user))).await.unwrap();
    assert!(!serde_json::to_string(&stored.items).unwrap().contains(token));

    assert_eq!(delete(&app, &access, id).await.status(), 204);
    assert_eq!(list(&app, &access).await["items"], json!([]));
    assert_eq!(delete(&app, &access, id).await.status(), 404);
}

async fn a_token_works_within_its_scopes_only(app: TestApp) {
    let (org, _, access) = signed_up_owner(&app).await;
    let (_, reader) = token_with(&app, &access, &["organisations:read"], None).await;
    let (_, calendar) = token_with(&app, &access, &["calendar:write"], None).await;
    let organisation = format!("/v1/organisations/{org}");

    assert_eq!(app.get(&organisation, Some(&reader)).await.status(), 200);
    let outside = app.get(&organisation, Some(&calendar)).await;
    assert_eq!(outside.status(), 403);
    assert_eq!(problem(outside).await["code"], "forbidden");
    assert_eq!(app.get("/v1/auth/tokens", Some(&reader)).await.status(), 403, "listing tokens needs auth:read");
}

async fn a_token_cannot_mint_tokens_or_end_sessions_it_lacks_the_scope_for(app: TestApp) {
    let (_, _, access) = signed_up_owner(&app).await;
    let (_, auth_writer) = token_with(&app, &access, &["auth:write"], None).await;
    let (_, reader) = token_with(&app, &access, &["auth:read"], None).await;

    let minted = create(&app, &auth_writer, json!({"name": "child", "scopes": ["auth:read"]})).await;
    assert_eq!(minted.status(), 403, "a token never counts as a recent sign-in");
    assert_eq!(app.post("/v1/auth/logout-all", &json!({}), Some(&reader)).await.status(), 403);
    assert_eq!(app.get("/v1/auth/sessions", Some(&reader)).await.status(), 200);
    assert_eq!(app.get("/v1/auth/sessions", Some(&access)).await.status(), 200, "the session survived");
}

async fn a_revoked_token_stops_working_at_once(app: TestApp) {
    let (org, _, access) = signed_up_owner(&app).await;
    let (id, token) = token_with(&app, &access, &["organisations:read"], None).await;

    assert_eq!(delete(&app, &access, &id).await.status(), 204);

    let response = app.get(&format!("/v1/organisations/{org}"), Some(&token)).await;
    assert_eq!(response.status(), 401);
    assert_eq!(problem(response).await["code"], "unauthenticated");
}

async fn a_locked_users_tokens_stop_working(app: TestApp) {
    let (org, user, access) = signed_up_owner(&app).await;
    let (_, token) = token_with(&app, &access, &["organisations:read"], None).await;
    let key = Key::new(shared::keys::user_pk(user), shared::keys::USER_SK);

    app.state.table.update(Update::new(key).set("locked", true)).await.unwrap();

    assert_eq!(app.get(&format!("/v1/organisations/{org}"), Some(&token)).await.status(), 401);
}

async fn an_expired_token_stops_working(app: TestApp) {
    let (org, _, access) = signed_up_owner(&app).await;
    let (_, token) = token_with(&app, &access, &["organisations:read"], Some("2026-03-29T07:30:00Z")).await;
    let organisation = format!("/v1/organisations/{org}");
    assert_eq!(app.get(&organisation, Some(&token)).await.status(), 200);

    app.clock.advance(Duration::hours(1));

    assert_eq!(app.get(&organisation, Some(&token)).await.status(), 401);
}

async fn creating_a_token_needs_a_recent_sign_in(app: TestApp) {
    signed_up_owner_as(&app, "Sunrise", "ada@example.com").await;
    let tokens = sign_in(&app, "ada@example.com", PASSWORD).await;
    app.clock.advance(Duration::minutes(61));
    // A refreshed access token keeps the original sign-in time.
    let refreshed: Value =
        app.post("/v1/auth/refresh", &json!({"refreshToken": tokens.refresh_token}), None).await.json().await.unwrap();

    let response =
        create(&app, refreshed["accessToken"].as_str().unwrap(), json!({"name": "x", "scopes": ["auth:read"]})).await;

    assert_eq!(response.status(), 403);
    let fresh = sign_in(&app, "ada@example.com", PASSWORD).await;
    let again = create(&app, &fresh.access_token, json!({"name": "x", "scopes": ["auth:read"]})).await;
    assert_eq!(again.status(), 201);
}

async fn invalid_tokens_are_refused_field_by_field_and_nothing_is_stored(app: TestApp) {
    let (_, _, access) = signed_up_owner(&app).await;

    let response = create(
        &app,
        &access,
        json!({"name": " ", "scopes": ["calendar:read", "lists:read", "calendar:admin"], "expiresAt": "2026-03-29T06:00:00Z"}),
    )
    .await;

    assert_eq!(response.status(), 400);
    let problem = problem(response).await;
    let mut fields: Vec<&str> =
        problem["errors"].as_array().unwrap().iter().map(|e| e["field"].as_str().unwrap()).collect();
    fields.sort();
    assert_eq!(fields, ["expiresAt", "name", "scopes[1]", "scopes[2]"]);
    let empty = create(&app, &access, json!({"name": "x", "scopes": []})).await;
    assert_eq!(empty.status(), 400);
    assert_eq!(list(&app, &access).await["items"], json!([]));
}

async fn another_users_token_answers_not_found(app: TestApp) {
    let (_, _, ada) = signed_up_owner(&app).await;
    let (_, _, bob) = signed_up_owner(&app).await;
    let (id, token) = token_with(&app, &ada, &["auth:read"], None).await;

    assert_eq!(delete(&app, &bob, &id).await.status(), 404);
    assert_eq!(delete(&app, &bob, &Uuid::now_v7().to_string()).await.status(), 404);
    assert_eq!(app.get("/v1/auth/tokens", Some(&token)).await.status(), 200, "still valid");
}

async fn deleting_honours_if_match(app: TestApp) {
    let (_, _, access) = signed_up_owner(&app).await;
    let (id, _) = token_with(&app, &access, &["auth:read"], None).await;
    let url = format!("{}/v1/auth/tokens/{id}", app.base);

    let stale = app.client.delete(&url).bearer_auth(&access).header("if-match", "\"7\"").send().await.unwrap();
    assert_eq!(stale.status(), 412);
    let current = app.client.delete(&url).bearer_auth(&access).header("if-match", "\"1\"").send().await.unwrap();
    assert_eq!(current.status(), 204);
}

async fn an_idempotent_retry_never_replays_the_secret(app: TestApp) {
    let (_, _, access) = signed_up_owner(&app).await;
    let send = || {
        app.client
            .post(format!("{}/v1/auth/tokens", app.base))
            .bearer_auth(&access)
            .header("Idempotency-Key", "pat-1")
            .json(&json!({"name": "x", "scopes": ["auth:read"]}))
            .send()
    };

    let first: Value = send().await.unwrap().json().await.unwrap();
    let retry = send().await.unwrap();

    assert_eq!(retry.status(), 201);
    assert!(retry.headers().get("idempotent-replayed").is_none(), "the secret was never stored to replay");
    let retry: Value = retry.json().await.unwrap();
    assert_ne!(retry["token"], first["token"]);
}

on_both_tables!(
    tokens_are_created_listed_and_deleted,
    a_token_works_within_its_scopes_only,
    a_token_cannot_mint_tokens_or_end_sessions_it_lacks_the_scope_for,
    a_revoked_token_stops_working_at_once,
    a_locked_users_tokens_stop_working,
    an_expired_token_stops_working,
    creating_a_token_needs_a_recent_sign_in,
    invalid_tokens_are_refused_field_by_field_and_nothing_is_stored,
    another_users_token_answers_not_found,
    deleting_honours_if_match,
    an_idempotent_retry_never_replays_the_secret,
);
