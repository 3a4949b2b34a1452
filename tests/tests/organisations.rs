//! Public sign-up and reading an organisation, through HTTP, on both table
//! adapters.

use serde_json::json;
use shared::table::{Index, Query};
use sundial_tests::{ClockExt, TestApp, on_both_tables, problem, sign_up_body};
use uuid::Uuid;

async fn organisation_count(app: &TestApp) -> usize {
    let query = Query::new(Index::Gsi1, shared::keys::ORGS_GSI1PK);
    app.state.table.query(&query).await.expect("query").items.len()
}

async fn sign_up_creates_the_organisation_and_its_owner(app: TestApp) {
    let response = app.post("/v1/public/organisations", &sign_up_body("Sunrise Care", "Owner@Example.com"), None).await;

    assert_eq!(response.status(), 201);
    assert_eq!(response.headers()["etag"], "\"1\"");
    let location = response.headers()["location"].to_str().unwrap().to_string();
    let body: serde_json::Value = response.json().await.unwrap();
    let org_id = body["organisation"]["id"].as_str().unwrap();
    assert_eq!(location, format!("/v1/organisations/{org_id}"));
    assert_eq!(body["organisation"]["name"], "Sunrise Care");
    assert_eq!(body["organisation"]["version"], 1);
    assert_eq!(body["user"]["email"], "owner@example.com");
    assert_eq!(body["user"]["firstName"], "Ada");
    assert!(body["user"].get("passwordHash").is_none(), "the hash never leaves the server");
    assert!(Uuid::parse_str(org_id).unwrap().get_version_num() == 7);

    // The owner reads it back.
    let owner = Uuid::parse_str(body["user"]["id"].as_str().unwrap()).unwrap();
    let read = app.get(&location, Some(&app.token_for(owner).await)).await;
    assert_eq!(read.status(), 200);
    assert_eq!(read.headers()["etag"], "\"1\"");
    let org: serde_json::Value = read.json().await.unwrap();
    assert_eq!(org, body["organisation"]);

    // The change was audited in the same transaction.
    let audit = Query::new(Index::Primary, format!("AUDIT#{org_id}"));
    let entries = app.state.table.query(&audit).await.unwrap().items;
    let actions: Vec<&str> = entries.iter().map(|e| e["action"].as_str().unwrap()).collect();
    assert!(actions.contains(&"organisation.created") && actions.contains(&"user.created"), "{actions:?}");
}

async fn invalid_sign_up_lists_every_bad_field_and_stores_nothing(app: TestApp) {
    let body = json!({
        "organisation": {"name": "  "},
        "owner": {"email": "not-an-email", "password": "short", "firstName": "Ada", "lastName": "x".repeat(101)}
    });
    let response = app.post("/v1/public/organisations", &body, None).await;

    assert_eq!(response.status(), 400);
    let problem = problem(response).await;
    assert_eq!(problem["code"], "validation_failed");
    let mut fields: Vec<&str> =
        problem["errors"].as_array().unwrap().iter().map(|e| e["field"].as_str().unwrap()).collect();
    fields.sort();
    assert_eq!(fields, ["organisation.name", "owner.email", "owner.lastName", "owner.password"]);
    assert_eq!(organisation_count(&app).await, 0);
}

async fn a_taken_email_is_a_conflict_whatever_its_case(app: TestApp) {
    app.sign_up("First", "ada@example.com").await;

    let response = app.post("/v1/public/organisations", &sign_up_body("Second", "ADA@example.com"), None).await;

    assert_eq!(response.status(), 409);
    assert_eq!(problem(response).await["code"], "conflict");
    assert_eq!(organisation_count(&app).await, 1, "the failed sign-up left nothing behind");
}

async fn an_idempotent_retry_returns_the_first_response(app: TestApp) {
    let send = |body: serde_json::Value| {
        app.client
            .post(format!("{}/v1/public/organisations", app.base))
            .header("Idempotency-Key", "signup-1")
            .json(&body)
            .send()
    };
    let first = send(sign_up_body("Sunrise", "ada@example.com")).await.unwrap();
    assert_eq!(first.status(), 201);
    let first_body: serde_json::Value = first.json().await.unwrap();

    let retry = send(sign_up_body("Sunrise", "ada@example.com")).await.unwrap();
    assert_eq!(retry.status(), 201);
    assert_eq!(retry.headers()["idempotent-replayed"], "true");
    assert_eq!(retry.headers()["etag"], "\"1\"");
    let retry_body: serde_json::Value = retry.json().await.unwrap();
    assert_eq!(retry_body, first_body);
    assert_eq!(organisation_count(&app).await, 1);

    let other = send(sign_up_body("Other", "bob@example.com")).await.unwrap();
    assert_eq!(other.status(), 409, "same key, different request");
    assert_eq!(organisation_count(&app).await, 1);
}

async fn idempotency_keys_belong_to_the_signed_in_principal_and_remember_only_successes(app: TestApp) {
    use sundial_tests::identity::{PASSWORD, sign_in, signed_up_owner_as};
    let (_, owner, _) = signed_up_owner_as(&app, "Keys Care", "keys@example.com").await;
    let (_, other, other_token) = signed_up_owner_as(&app, "Other Care", "other@example.com").await;
    let session = sign_in(&app, "keys@example.com", PASSWORD).await;
    let send = |user: Uuid, token: String, body: serde_json::Value| {
        app.client
            .post(format!("{}/v1/users/{user}/contacts", app.base))
            .bearer_auth(token)
            .header("Idempotency-Key", "contact-1")
            .json(&body)
            .send()
    };
    let app = &app;
    let contact_count = |user: Uuid| async move {
        let list = app.get(&format!("/v1/users/{user}/contacts"), Some(&app.token_for(user).await)).await;
        let body: serde_json::Value = list.json().await.unwrap();
        body["items"].as_array().unwrap().len()
    };

    // A refused request is not remembered: fixed, the retry with the same key runs.
    let refused = send(owner, session.access_token.clone(), json!({"name": ""})).await.unwrap();
    assert_eq!(refused.status(), 400);
    let created = send(owner, session.access_token.clone(), json!({"name": "Grace"})).await.unwrap();
    assert_eq!(created.status(), 201);
    assert!(created.headers().get("idempotent-replayed").is_none());
    let first: serde_json::Value = created.json().await.unwrap();

    // The same login session with a new access token (after a refresh) replays.
    let refreshed = app.post("/v1/auth/refresh", &json!({"refreshToken": session.refresh_token}), None).await;
    assert_eq!(refreshed.status(), 200);
    let renewed = refreshed.json::<serde_json::Value>().await.unwrap()["accessToken"].as_str().unwrap().to_string();
    let retry = send(owner, renewed, json!({"name": "Grace"})).await.unwrap();
    assert_eq!(retry.status(), 201);
    assert_eq!(retry.headers()["idempotent-replayed"], "true");
    assert_eq!(retry.json::<serde_json::Value>().await.unwrap(), first);
    assert_eq!(contact_count(owner).await, 1);

    // Another principal's identical key and body is a request of its own.
    let theirs = send(other, other_token, json!({"name": "Grace"})).await.unwrap();
    assert_eq!(theirs.status(), 201);
    assert!(theirs.headers().get("idempotent-replayed").is_none());
    assert_ne!(theirs.json::<serde_json::Value>().await.unwrap()["id"], first["id"]);
    assert_eq!(contact_count(other).await, 1);

    // The same user in another login session is another principal too.
    let elsewhere = sign_in(app, "keys@example.com", PASSWORD).await;
    let again = send(owner, elsewhere.access_token, json!({"name": "Grace"})).await.unwrap();
    assert_eq!(again.status(), 201);
    assert!(again.headers().get("idempotent-replayed").is_none());
    assert_eq!(contact_count(owner).await, 2);
}

async fn organisations_are_invisible_to_other_tenants(app: TestApp) {
    let a = app.sign_up("A", "a@example.com").await;
    let b = app.sign_up("B", "b@example.com").await;
    let a_org = a["organisation"]["id"].as_str().unwrap();
    let b_owner = Uuid::parse_str(b["user"]["id"].as_str().unwrap()).unwrap();
    let b_token = app.token_for(b_owner).await;

    let response = app.get(&format!("/v1/organisations/{a_org}"), Some(&b_token)).await;
    assert_eq!(response.status(), 404, "another tenant's id answers 404, not 403");
    assert_eq!(problem(response).await["code"], "not_found");
    let unknown = app.get(&format!("/v1/organisations/{}", Uuid::now_v7()), Some(&b_token)).await;
    assert_eq!(unknown.status(), 404);
    let malformed = app.get("/v1/organisations/not-a-uuid", Some(&b_token)).await;
    assert_eq!(malformed.status(), 404);
}

async fn reading_needs_a_valid_unexpired_token(app: TestApp) {
    let a = app.sign_up("A", "a@example.com").await;
    let path = format!("/v1/organisations/{}", a["organisation"]["id"].as_str().unwrap());
    let owner = Uuid::parse_str(a["user"]["id"].as_str().unwrap()).unwrap();

    let anonymous = app.get(&path, None).await;
    assert_eq!(anonymous.status(), 401);
    assert_eq!(problem(anonymous).await["code"], "unauthenticated");

    let token = app.token_for(owner).await;
    let mut tampered = token.clone();
    tampered.pop();
    tampered.push(if token.ends_with('A') { 'B' } else { 'A' });
    assert_eq!(app.get(&path, Some(&tampered)).await.status(), 401);

    app.clock.advance(chrono::Duration::minutes(16));
    assert_eq!(app.get(&path, Some(&token)).await.status(), 401, "access tokens expire");
    let _ = app.clock.now_utc();
}

async fn sign_up_mails_the_owner_a_verification_link_that_works_once(app: TestApp) {
    let body = app.sign_up("Sunrise", "ada@example.com").await;
    let owner = Uuid::parse_str(body["user"]["id"].as_str().unwrap()).unwrap();
    assert_eq!(body["user"]["emailVerified"], false);

    let mails = app.outbox.list(Some("ada@example.com")).unwrap();
    assert_eq!(mails.len(), 1, "exactly one mail: the verification");
    let token_of = |text: &str| {
        let start = text.find("token=").expect("a token link") + "token=".len();
        text[start..].chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_').collect::<String>()
    };
    let token = token_of(&mails[0].text);
    assert_eq!(token_of(&mails[0].html), token, "the same link in both parts");

    let verified = app.post("/v1/auth/verify-email", &json!({"token": token}), None).await;
    assert!(verified.status().is_success(), "{}", verified.status());
    let me = app.get("/v1/users/me", Some(&app.token_for(owner).await)).await;
    assert_eq!(me.json::<serde_json::Value>().await.unwrap()["emailVerified"], true);
    let again = app.post("/v1/auth/verify-email", &json!({"token": token}), None).await;
    assert_eq!(again.status(), 404, "the link works once");
}

on_both_tables!(
    sign_up_creates_the_organisation_and_its_owner,
    sign_up_mails_the_owner_a_verification_link_that_works_once,
    invalid_sign_up_lists_every_bad_field_and_stores_nothing,
    a_taken_email_is_a_conflict_whatever_its_case,
    an_idempotent_retry_returns_the_first_response,
    idempotency_keys_belong_to_the_signed_in_principal_and_remember_only_successes,
    organisations_are_invisible_to_other_tenants,
    reading_needs_a_valid_unexpired_token,
);
