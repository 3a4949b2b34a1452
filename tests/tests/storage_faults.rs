//! Storage failures the embedded table never raises by itself — a DynamoDB
//! transaction cancelled by a concurrent one, a backend failure — injected
//! under the real routes on both table adapters: a lost race is a 409 the
//! client may retry (never a 500), a backend failure a 500 that leaks
//! nothing, and neither leaves a half-written change.

use std::sync::{Arc, OnceLock};

use reqwest::Method;
use serde_json::{Value, json};
use shared::table::faulty::{Fault, FaultyTable};
use sundial_tests::identity::created_member;
use sundial_tests::reminders::{delivered, run};
use sundial_tests::{Backend, TestApp, json_of, problem, spawn_app_wrapping};
use uuid::Uuid;

async fn app_with_faults(backend: Backend) -> (TestApp, Arc<FaultyTable>) {
    let faulty = Arc::new(OnceLock::new());
    let slot = faulty.clone();
    let app = spawn_app_wrapping(backend, move |table| {
        let wrapped = Arc::new(FaultyTable::new(table));
        slot.set(wrapped.clone()).expect("wrapped once");
        wrapped
    })
    .await;
    let faulty = faulty.get().expect("wrapped").clone();
    (app, faulty)
}

async fn send(app: &TestApp, method: Method, path: &str, token: &str, body: Option<Value>) -> reqwest::Response {
    let mut req = app.client.request(method, format!("{}{path}", app.base)).bearer_auth(token);
    if let Some(body) = body {
        req = req.json(&body);
    }
    req.send().await.expect("request")
}

async fn organisation(app: &TestApp) -> (Uuid, Uuid, String) {
    let body = app.sign_up("Sunrise", &format!("owner-{}@example.com", Uuid::now_v7().simple())).await;
    let org = Uuid::parse_str(body["organisation"]["id"].as_str().unwrap()).unwrap();
    let owner = Uuid::parse_str(body["user"]["id"].as_str().unwrap()).unwrap();
    (org, owner, app.token_for(owner).await)
}

async fn a_transaction_conflict_is_a_409_on_every_group_and_changes_nothing(backend: Backend) {
    let (app, faults) = app_with_faults(backend).await;
    let (org, _, owner) = organisation(&app).await;
    let (bo, _) = created_member(&app, org, &owner, "Bo", "member").await;
    let user_path = format!("/v1/users/{bo}");
    let writes: Vec<(Method, String, Value)> = vec![
        (Method::PATCH, user_path.clone(), json!({"displayName": "Bosse"})),
        (Method::POST, format!("{user_path}/lock"), json!(null)),
        (Method::PUT, format!("/v1/organisations/{org}/members/{bo}"), json!({"role": "planner"})),
        (
            Method::POST,
            "/v1/events".into(),
            json!({"ownerId": bo, "title": "Walk", "start": "2026-04-01T08:00:00Z",
                                                    "end": "2026-04-01T09:00:00Z"}),
        ),
        (Method::POST, format!("{user_path}/contacts"), json!({"name": "Nils"})),
    ];
    for (method, path, body) in writes {
        let before = json_of(send(&app, Method::GET, &user_path, &owner, None).await, 200).await;
        faults.fail_next_write(Fault::Conflict);
        let body = (!body.is_null()).then_some(body);
        let response = send(&app, method.clone(), &path, &owner, body.clone()).await;
        assert_eq!(response.status(), 409, "{method} {path}");
        assert_eq!(problem(response).await["code"], "conflict", "{method} {path}");
        assert_eq!(faults.pending(), 0, "{method} {path} reached the table");
        let after = json_of(send(&app, Method::GET, &user_path, &owner, None).await, 200).await;
        assert_eq!(before, after, "{method} {path} changed nothing");
        // The same request, retried, goes through.
        assert!(send(&app, method.clone(), &path, &owner, body).await.status().is_success(), "{method} {path} retry");
    }
}

async fn a_conflict_on_the_idempotency_claim_is_a_409_and_the_retry_creates_once(backend: Backend) {
    let (app, faults) = app_with_faults(backend).await;
    let (org, _, owner) = organisation(&app).await;
    let body = json!({"email": "new@example.com", "firstName": "N", "lastName": "U", "organisationId": org,
                      "role": "member"});
    let post = || {
        app.client
            .post(format!("{}/v1/users", app.base))
            .bearer_auth(&owner)
            .header("Idempotency-Key", "create-new-user-1")
            .json(&body)
            .send()
    };
    faults.fail_next_write(Fault::Conflict);
    assert_eq!(post().await.unwrap().status(), 409);
    let first = json_of(post().await.unwrap(), 201).await;
    let replay = post().await.unwrap();
    assert_eq!(replay.headers()["idempotent-replayed"], "true");
    assert_eq!(json_of(replay, 201).await["id"], first["id"]);
}

async fn a_backend_failure_is_a_500_that_leaks_nothing_and_writes_nothing(backend: Backend) {
    let (app, faults) = app_with_faults(backend).await;
    let (org, _, owner) = organisation(&app).await;
    let (bo, _) = created_member(&app, org, &owner, "Bo", "member").await;
    let path = format!("/v1/users/{bo}");
    faults.fail_next_write(Fault::Backend);
    let response = send(&app, Method::PATCH, &path, &owner, Some(json!({"displayName": "Bosse"}))).await;
    assert_eq!(response.status(), 500);
    let body = problem(response).await;
    assert_eq!(body["code"], "internal");
    assert!(!body.to_string().contains("injected"), "no internals in {body}");
    let user = json_of(send(&app, Method::GET, &path, &owner, None).await, 200).await;
    assert!(user["displayName"].is_null());
}

/// Two users' reminders due in the same minute, created through the API.
async fn two_reminders_due_at_0750(app: &TestApp) {
    for name in ["Ann", "Bo"] {
        let (_, _, token) = organisation(app).await;
        let body = json!({"title": format!("{name}'s pills"), "start": "2026-03-29T08:00:00Z",
                          "end": "2026-03-29T08:15:00Z", "timeZone": "UTC",
                          "reminders": [{"minutesBefore": 10, "channels": ["inapp"]}]});
        json_of(send(app, Method::POST, "/v1/events", &token, Some(body)).await, 201).await;
    }
}

async fn one_unwritable_reminder_is_skipped_and_never_stops_the_others(backend: Backend) {
    let (app, faults) = app_with_faults(backend).await;
    two_reminders_due_at_0750(&app).await;
    run(&app, "2026-03-29T07:49:00Z").await;
    // One user's delivery is refused as such (DynamoDB's item size limit).
    faults.fail_next_write(Fault::Invalid);
    let summary = run(&app, "2026-03-29T07:50:00Z").await;
    assert_eq!((delivered(&summary, "inapp"), summary["unwritable"].as_u64()), (1, Some(1)), "{summary}");
    assert_eq!(summary["heldBack"], 0);
    // The run went on: the watermark passed the minute, later minutes run.
    let next = run(&app, "2026-03-29T07:51:00Z").await;
    assert_eq!((next["bucketsRead"].as_u64(), delivered(&next, "inapp")), (Some(1), 0), "{next}");
}

async fn a_reminder_whose_delivery_failed_for_now_is_delivered_by_the_next_run(backend: Backend) {
    let (app, faults) = app_with_faults(backend).await;
    two_reminders_due_at_0750(&app).await;
    run(&app, "2026-03-29T07:49:00Z").await;
    faults.fail_next_write(Fault::Backend);
    let first = run(&app, "2026-03-29T07:50:00Z").await;
    assert_eq!((delivered(&first, "inapp"), first["heldBack"].as_u64()), (1, Some(1)), "{first}");
    // The minute is read again: the held-back item is delivered, the other not twice.
    let second = run(&app, "2026-03-29T07:51:00Z").await;
    assert_eq!(second["bucketsRead"], 2, "{second}");
    assert_eq!((delivered(&second, "inapp"), second["heldBack"].as_u64()), (1, Some(0)), "{second}");
}

macro_rules! on_both {
    ($($name:ident),+ $(,)?) => {
        mod embedded {
            $(#[tokio::test] async fn $name() { super::$name(sundial_tests::Backend::Embedded).await })+
        }
        mod dynamodb {
            $(#[tokio::test] async fn $name() { super::$name(sundial_tests::Backend::DynamoDb).await })+
        }
    };
}

on_both!(
    a_transaction_conflict_is_a_409_on_every_group_and_changes_nothing,
    a_conflict_on_the_idempotency_claim_is_a_409_and_the_retry_creates_once,
    a_backend_failure_is_a_500_that_leaks_nothing_and_writes_nothing,
    one_unwritable_reminder_is_skipped_and_never_stops_the_others,
    a_reminder_whose_delivery_failed_for_now_is_delivered_by_the_next_run,
);
