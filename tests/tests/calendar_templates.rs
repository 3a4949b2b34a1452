//! Event templates through HTTP on both table adapters: a user's own,
//! an organisation's (written by its admins), import into a user's, and
//! tenant isolation.

use reqwest::{Method, Response};
use serde_json::{Value, json};
use shared::domain::{Email, Role};
use shared::organisations;
use shared::organisations::Membership;
use shared::people::users;
use shared::people::users::UserRecord;
use sundial_tests::identity::signed_up_owner;
use sundial_tests::json_of;
use sundial_tests::{ClockExt, TestApp, on_both_tables, problem};
use uuid::Uuid;

async fn send(
    app: &TestApp,
    method: Method,
    path: &str,
    token: &str,
    body: Option<Value>,
    if_match: Option<&str>,
) -> Response {
    let mut req = app.client.request(method, format!("{}{path}", app.base)).bearer_auth(token);
    if let Some(body) = body {
        req = req.json(&body);
    }
    if let Some(v) = if_match {
        req = req.header("If-Match", v);
    }
    req.send().await.expect("request")
}

async fn member(app: &TestApp, org: Uuid, role: Role) -> (Uuid, String) {
    let now = app.clock.now_utc();
    let email = Email::parse(&format!("m-{}@example.com", Uuid::now_v7().simple())).unwrap();
    let user = UserRecord::new(&email, "Mia", "Member", None, now);
    let mut ops = users::create_ops(&user).unwrap();
    let membership = Membership::new(org, user.id, role, now);
    ops.push(organisations::add_member_op(&membership).unwrap());
    app.state.table.transact_write(ops).await.unwrap();
    (user.id, app.token_for(user.id).await)
}

async fn a_user_creates_reads_replaces_lists_and_deletes_their_templates(app: TestApp) {
    let (_, owner, token) = signed_up_owner(&app).await;
    let created = app
        .post(
            "/v1/event-templates",
            &json!({"title": "Morning walk", "durationMinutes": 45, "tags": ["outdoor"],
                    "reminders": [{"minutesBefore": 10, "channels": ["push"]}]}),
            Some(&token),
        )
        .await;
    assert_eq!(created.status(), 201);
    assert_eq!(created.headers()["etag"], "\"1\"");
    let template = json_of(created, 201).await;
    assert_eq!(template["userId"], owner.to_string());
    assert!(template["organisationId"].is_null());
    let path = format!("/v1/event-templates/{}", template["id"].as_str().unwrap());
    assert_eq!(json_of(app.get(&path, Some(&token)).await, 200).await, template);

    let replaced = send(&app, Method::PUT, &path, &token, Some(json!({"title": "Evening walk"})), Some("\"1\"")).await;
    let replaced = json_of(replaced, 200).await;
    assert_eq!(replaced["title"], "Evening walk");
    assert_eq!(replaced["durationMinutes"], 60, "a replace sets every field");
    assert_eq!(replaced["version"], 2);
    let stale = send(&app, Method::PUT, &path, &token, Some(json!({"title": "x"})), Some("\"1\"")).await;
    assert_eq!(stale.status(), 412);

    let listed = json_of(app.get("/v1/event-templates", Some(&token)).await, 200).await;
    assert_eq!(listed["items"].as_array().unwrap().len(), 1);
    assert!(listed["nextCursor"].is_null());

    assert_eq!(send(&app, Method::DELETE, &path, &token, None, None).await.status(), 204);
    assert_eq!(app.get(&path, Some(&token)).await.status(), 404);
}

async fn invalid_templates_are_rejected_with_every_field(app: TestApp) {
    let (_, _, token) = signed_up_owner(&app).await;
    let response =
        app.post("/v1/event-templates", &json!({"title": "", "durationMinutes": 0, "tags": [""]}), Some(&token)).await;
    assert_eq!(response.status(), 400);
    let problem = problem(response).await;
    let mut fields: Vec<&str> =
        problem["errors"].as_array().unwrap().iter().map(|e| e["field"].as_str().unwrap()).collect();
    fields.sort();
    assert_eq!(fields, ["durationMinutes", "tags[0]", "title"]);
    let unknown = app.post("/v1/event-templates", &json!({"title": "x", "colour": "red"}), Some(&token)).await;
    assert_eq!(unknown.status(), 400);
}

async fn organisation_templates_are_written_by_admins_and_imported_by_members(app: TestApp) {
    let (org, _, admin_token) = signed_up_owner(&app).await;
    let (member_id, member_token) = member(&app, org, Role::Member).await;
    let (_, _, stranger_token) = signed_up_owner(&app).await;

    let body = json!({"organisationId": org, "title": "Fika", "durationMinutes": 30});
    assert_eq!(app.post("/v1/event-templates", &body, Some(&member_token)).await.status(), 403);
    assert_eq!(app.post("/v1/event-templates", &body, Some(&stranger_token)).await.status(), 404);
    let template = json_of(app.post("/v1/event-templates", &body, Some(&admin_token)).await, 201).await;
    let id = template["id"].as_str().unwrap();

    // Members read their organisation's templates; strangers do not.
    let listed =
        json_of(app.get(&format!("/v1/event-templates?organisationId={org}"), Some(&member_token)).await, 200).await;
    assert_eq!(listed["items"][0]["id"], id);
    assert_eq!(app.get(&format!("/v1/event-templates/{id}"), Some(&stranger_token)).await.status(), 404);
    assert_eq!(
        app.get(&format!("/v1/event-templates?organisationId={org}"), Some(&stranger_token)).await.status(),
        404
    );

    let imported = app
        .post(
            &format!("/v1/users/{member_id}/event-templates/import"),
            &json!({"templateIds": [id]}),
            Some(&member_token),
        )
        .await;
    let imported = json_of(imported, 201).await;
    let copy = &imported["items"][0];
    assert_eq!(copy["userId"], member_id.to_string());
    assert!(copy["organisationId"].is_null());
    assert_eq!(copy["importedFrom"], id);
    assert_eq!(copy["title"], "Fika");
    let mine = json_of(app.get("/v1/event-templates", Some(&member_token)).await, 200).await;
    assert_eq!(mine["items"].as_array().unwrap().len(), 1);

    // Only templates of the user's own organisations can be imported.
    let foreign =
        json_of(app.post("/v1/event-templates", &json!({"title": "Secret"}), Some(&stranger_token)).await, 201).await;
    let refused = app
        .post(
            &format!("/v1/users/{member_id}/event-templates/import"),
            &json!({"templateIds": [foreign["id"]]}),
            Some(&member_token),
        )
        .await;
    assert_eq!(problem(refused).await["errors"][0]["field"], "templateIds[0]");
    let cross = app
        .post(
            &format!("/v1/users/{member_id}/event-templates/import"),
            &json!({"templateIds": [id]}),
            Some(&stranger_token),
        )
        .await;
    assert_eq!(cross.status(), 404);
}

on_both_tables!(
    a_user_creates_reads_replaces_lists_and_deletes_their_templates,
    invalid_templates_are_rejected_with_every_field,
    organisation_templates_are_written_by_admins_and_imported_by_members,
);
