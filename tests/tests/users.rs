//! The users group through HTTP, on both table adapters: creating users
//! (with their mails), OData lists, profiles, lifecycle, preferences,
//! follows, planners, contacts, attachments, deletion, bulk routes, and the
//! authorization matrix (who may touch which user; another tenant gets 404).

use reqwest::{Method, Response};
use serde_json::{Value, json};
use shared::identity::one_time;
use shared::identity::one_time::Purpose;
use shared::table::{Index, Query};
use sundial_tests::{ClockExt, TestApp, bad_fields, json_of, on_both_tables, problem};
use uuid::Uuid;

const PASSWORD: &str = "correct horse battery";

/// Sends `method path` with an optional bearer token, JSON body and If-Match.
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
    if let Some(tag) = if_match {
        req = req.header("If-Match", tag);
    }
    req.send().await.expect("request")
}

/// A signed-up organisation: `(org id, owner id, owner token)`.
async fn organisation(app: &TestApp, name: &str) -> (Uuid, Uuid, String) {
    let email = format!("owner-{}@example.com", Uuid::now_v7().simple());
    let body = app.sign_up(name, &email).await;
    let org = Uuid::parse_str(body["organisation"]["id"].as_str().unwrap()).unwrap();
    let owner = Uuid::parse_str(body["user"]["id"].as_str().unwrap()).unwrap();
    let token = app.token_for(owner).await;
    (org, owner, token)
}

/// Creates a user in `org` with `role` as `admin_token`; `(id, token)`.
async fn member(app: &TestApp, admin_token: &str, org: Uuid, role: &str, first: &str, last: &str) -> (Uuid, String) {
    let email = format!("{}-{}@example.com", first.to_lowercase(), Uuid::now_v7().simple());
    let body = json!({"email": email, "password": PASSWORD, "firstName": first, "lastName": last,
                      "organisationId": org, "role": role});
    let response = app.post("/v1/users", &body, Some(admin_token)).await;
    assert_eq!(response.status(), 201, "creating {first} failed");
    let user: Value = response.json().await.unwrap();
    let id = Uuid::parse_str(user["id"].as_str().unwrap()).unwrap();
    (id, app.token_for(id).await)
}

fn token_in(text: &str) -> String {
    let start = text.find("token=").expect("a token link") + "token=".len();
    text[start..].chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_').collect()
}

async fn partition_items(app: &TestApp, index: Index, pk: String) -> Vec<shared::table::Item> {
    app.state.table.query(&Query::new(index, pk)).await.unwrap().items
}

async fn an_admin_creates_a_user_without_a_password_who_is_mailed_a_set_password_link(app: TestApp) {
    let (org, _, owner) = organisation(&app, "Sunrise").await;
    let body = json!({"email": "Bo@Example.com", "firstName": "Bo", "lastName": "Ek", "organisationId": org,
                      "role": "member"});

    let response = app.post("/v1/users", &body, Some(&owner)).await;

    assert_eq!(response.status(), 201);
    assert_eq!(response.headers()["etag"], "\"1\"");
    let location = response.headers()["location"].to_str().unwrap().to_string();
    let user: Value = response.json().await.unwrap();
    assert_eq!(location, format!("/v1/users/{}", user["id"].as_str().unwrap()));
    assert_eq!(user["email"], "bo@example.com");
    assert_eq!(user["locked"], false);
    let mails = app.outbox.list(Some("bo@example.com")).unwrap();
    assert_eq!(mails.len(), 1);
    assert!(mails[0].subject.contains("password"), "{}", mails[0].subject);
    assert!(mails[0].text.contains("Sunrise"));
    let token = token_in(&mails[0].text);
    assert_eq!(token, token_in(&mails[0].html), "the same token in both parts");
    let valid = one_time::check(app.state.table.as_ref(), Purpose::PasswordReset, &token, app.clock.now_utc())
        .await
        .expect("the mailed token is a live password-reset token");
    assert_eq!(valid.token.user_id.to_string(), user["id"].as_str().unwrap());
    // Member, email guard and audit entry came with it.
    let members = partition_items(&app, Index::Primary, format!("ORG#{org}")).await;
    assert!(members.iter().any(|m| m.get("userId") == Some(&user["id"]) && m.get("role") == Some(&json!("member"))));
    let audit = partition_items(&app, Index::Primary, format!("AUDIT#{org}")).await;
    assert!(
        audit
            .iter()
            .any(|e| e["action"] == "user.created" && e["target"] == format!("user/{}", user["id"].as_str().unwrap()))
    );
}

async fn creating_with_a_password_sends_a_welcome_and_a_taken_email_is_a_conflict(app: TestApp) {
    let (org, _, owner) = organisation(&app, "Sunrise").await;
    let body = json!({"email": "cy@example.com", "password": PASSWORD, "firstName": "Cy", "lastName": "Lo",
                      "organisationId": org, "role": "planner"});
    assert_eq!(app.post("/v1/users", &body, Some(&owner)).await.status(), 201);
    let mails = app.outbox.list(Some("cy@example.com")).unwrap();
    assert_eq!(mails.len(), 1);
    assert!(mails[0].subject.contains("Welcome"), "{}", mails[0].subject);
    assert!(!mails[0].text.contains("token="));

    let mut again = body.clone();
    again["email"] = json!("CY@example.com");
    let response = app.post("/v1/users", &again, Some(&owner)).await;
    assert_eq!(response.status(), 409);
    assert_eq!(problem(response).await["code"], "conflict");
    let members = partition_items(&app, Index::Primary, format!("ORG#{org}")).await;
    assert_eq!(members.iter().filter(|m| m["entityType"] == "Membership").count(), 2, "nothing half-written");
}

async fn invalid_creates_list_every_bad_field_and_non_admins_cannot_create(app: TestApp) {
    let (org, _, owner) = organisation(&app, "Sunrise").await;
    let body = json!({"email": "nope", "password": "short", "firstName": " ", "lastName": "x".repeat(101),
                      "organisationId": org, "role": "member"});
    let response = app.post("/v1/users", &body, Some(&owner)).await;
    assert_eq!(response.status(), 400);
    let problem = problem(response).await;
    let mut fields: Vec<&str> =
        problem["errors"].as_array().unwrap().iter().map(|e| e["field"].as_str().unwrap()).collect();
    fields.sort();
    assert_eq!(fields, ["email", "firstName", "lastName", "password"]);

    let bad_role =
        json!({"email": "a@example.com", "firstName": "A", "lastName": "B", "organisationId": org, "role": "root"});
    assert_eq!(app.post("/v1/users", &bad_role, Some(&owner)).await.status(), 400);

    let (_, member_token) = member(&app, &owner, org, "member", "Mo", "Member").await;
    let ok =
        json!({"email": "x@example.com", "firstName": "X", "lastName": "Y", "organisationId": org, "role": "member"});
    assert_eq!(app.post("/v1/users", &ok, Some(&member_token)).await.status(), 403);
    let (_, _, stranger) = organisation(&app, "Other").await;
    assert_eq!(app.post("/v1/users", &ok, Some(&stranger)).await.status(), 404, "another tenant's organisation");
    let (_, admin_token) = member(&app, &owner, org, "admin", "Ad", "Min").await;
    let owner_body =
        json!({"email": "o2@example.com", "firstName": "O", "lastName": "T", "organisationId": org, "role": "owner"});
    assert_eq!(app.post("/v1/users", &owner_body, Some(&admin_token)).await.status(), 403, "only owners make owners");
}

async fn the_user_list_filters_orders_searches_and_pages(app: TestApp) {
    let (org, _, owner) = organisation(&app, "Sunrise").await;
    let (anna, _) = member(&app, &owner, org, "planner", "Anna", "Berg").await;
    member(&app, &owner, org, "member", "Bert", "Ceder").await;
    let (cleo, _) = member(&app, &owner, org, "member", "Cleo", "Alm").await;
    let patch = json!({"timeZone": "Europe/Stockholm", "customFields": {"shoe": 42}});
    assert_eq!(send(&app, Method::PATCH, &format!("/v1/users/{cleo}"), &owner, Some(patch), None).await.status(), 200);
    let (_, _, other_owner) = organisation(&app, "Other").await;

    let list = |query: &'static str| {
        let app = &app;
        let owner = owner.clone();
        async move {
            let response = app.get(&format!("/v1/users?{query}"), Some(&owner)).await;
            let status = response.status().as_u16();
            (status, response.json::<Value>().await.unwrap())
        }
    };
    let names = |body: &Value| -> Vec<String> {
        body["items"].as_array().unwrap().iter().map(|u| u["firstName"].as_str().unwrap().to_string()).collect()
    };

    let (status, all) = list("$orderBy=lastName%20desc").await;
    assert_eq!(status, 200);
    assert_eq!(names(&all), ["Ada", "Bert", "Anna", "Cleo"]);
    assert_eq!(all["items"][2]["role"], "planner");
    assert_eq!(all["items"][0]["role"], "owner");

    let (_, planners) = list("$filter=role%20eq%20'planner'").await;
    assert_eq!(names(&planners), ["Anna"]);
    assert_eq!(planners["items"][0]["id"], anna.to_string());
    let (_, by_role) = list("role=member&$orderBy=firstName").await;
    assert_eq!(names(&by_role), ["Bert", "Cleo"]);
    let (_, nested) = list("$filter=customFields.shoe%20ge%2040%20and%20not%20(timeZone%20eq%20null)").await;
    assert_eq!(names(&nested), ["Cleo"]);
    let (_, found) = list("q=ANNA%20b").await;
    assert_eq!(names(&found), ["Anna"]);

    let (_, first) = list("$orderBy=firstName&$top=2").await;
    assert_eq!(names(&first), ["Ada", "Anna"]);
    let cursor = first["nextCursor"].as_str().expect("a next page").to_string();
    let response = app.get(&format!("/v1/users?$orderBy=firstName&limit=2&cursor={cursor}"), Some(&owner)).await;
    let second: Value = response.json().await.unwrap();
    assert_eq!(names(&second), ["Bert", "Cleo"]);
    assert!(second["nextCursor"].is_null());
    let (_, skipped) = list("$orderBy=firstName&$skip=3").await;
    assert_eq!(names(&skipped), ["Cleo"]);

    let (status, bad) = list("$filter=shoe%20eq%201&$orderBy=nope").await;
    assert_eq!(status, 400);
    let fields: Vec<&str> = bad["errors"].as_array().unwrap().iter().map(|e| e["field"].as_str().unwrap()).collect();
    assert_eq!(fields, ["$filter", "$orderBy"]);
    assert_eq!(list("$filter=firstName%20eq").await.0, 400);
    assert_eq!(list("$top=0").await.0, 400);
    assert_eq!(list("colour=red").await.0, 400, "unknown parameters are refused");

    // Another tenant sees none of this organisation.
    let response = app.get(&format!("/v1/users?organisationId={org}"), Some(&other_owner)).await;
    assert_eq!(response.status(), 404);
    let theirs: Value = app.get("/v1/users", Some(&other_owner)).await.json().await.unwrap();
    assert_eq!(theirs["items"].as_array().unwrap().len(), 1, "only their own owner");
}

async fn patch_changes_profile_fields_and_refuses_protected_ones(app: TestApp) {
    let (org, owner_id, owner) = organisation(&app, "Sunrise").await;
    let (bo, bo_token) = member(&app, &owner, org, "member", "Bo", "Ek").await;
    let path = format!("/v1/users/{bo}");
    let patch = json!({"displayName": "Bosse", "phone": "+46 70 123 45 67", "locale": "sv-SE",
                       "timeZone": "Europe/Stockholm", "bio": "Likes\nwalks"});

    let response = send(&app, Method::PATCH, &path, &bo_token, Some(patch), Some("\"1\"")).await;

    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["etag"], "\"2\"");
    let user: Value = response.json().await.unwrap();
    assert_eq!(user["timeZone"], "Europe/Stockholm");
    assert_eq!(user["displayName"], "Bosse");
    assert_eq!(user["version"], 2);
    let read: Value = app.get(&path, Some(&bo_token)).await.json().await.unwrap();
    assert_eq!(read, user, "what PATCH answered is what is stored");

    // Admin-managed fields: owners and admins only, with ids of the organisation.
    let dept_path = format!("/v1/organisations/{org}/departments");
    let dept = json_of(app.post(&dept_path, &json!({"name": "Garden", "heads": [owner_id]}), Some(&owner)).await, 201)
        .await["id"]
        .clone();
    let managed = json!({"designation": "Gardener", "departmentId": dept, "reportsTo": owner_id,
                         "customFields": {"a": 1, "b": 2}});
    let by_self = send(&app, Method::PATCH, &path, &bo_token, Some(managed.clone()), None).await;
    assert_eq!(by_self.status(), 403, "a member does not set their own department or manager");
    let user: Value = send(&app, Method::PATCH, &path, &owner, Some(managed), None).await.json().await.unwrap();
    assert_eq!((user["designation"].as_str(), user["departmentId"].clone()), (Some("Gardener"), dept.clone()));
    assert_eq!(user["reportsTo"], owner_id.to_string());
    let foreign = json!({"departmentId": Uuid::now_v7(), "locationId": Uuid::now_v7(), "reportsTo": Uuid::now_v7()});
    let response = send(&app, Method::PATCH, &path, &owner, Some(foreign), None).await;
    assert_eq!(bad_fields(response).await, ["departmentId", "locationId", "reportsTo"]);

    // null clears, customFields merge, absent fields stay.
    let clear = json!({"phone": null, "customFields": {"a": null, "c": 3}});
    let user: Value = send(&app, Method::PATCH, &path, &owner, Some(clear), None).await.json().await.unwrap();
    assert!(user["phone"].is_null());
    assert_eq!(user["customFields"], json!({"b": 2, "c": 3}));
    assert_eq!(user["bio"], "Likes\nwalks");

    let bad = json!({"timeZone": "Mars/Olympus", "locale": "english!", "phone": "call me", "firstName": " "});
    let response = send(&app, Method::PATCH, &path, &bo_token, Some(bad), None).await;
    assert_eq!(response.status(), 400);
    let body = problem(response).await;
    let mut fields: Vec<&str> =
        body["errors"].as_array().unwrap().iter().map(|e| e["field"].as_str().unwrap()).collect();
    fields.sort();
    assert_eq!(fields, ["firstName", "locale", "phone", "timeZone"]);

    for (field, value) in [
        ("email", json!("x@example.com")),
        ("password", json!(PASSWORD)),
        ("role", json!("owner")),
        ("locked", json!(false)),
        ("deactivated", json!(false)),
    ] {
        let response = send(&app, Method::PATCH, &path, &owner, Some(json!({ field: value })), None).await;
        assert_eq!(response.status(), 400, "{field} must not be patchable");
        assert_eq!(problem(response).await["errors"][0]["field"], field);
    }
    let stale = send(&app, Method::PATCH, &path, &bo_token, Some(json!({"bio": "x"})), Some("\"1\"")).await;
    assert_eq!(stale.status(), 412);
    let read: Value = app.get(&path, Some(&bo_token)).await.json().await.unwrap();
    assert_eq!(read["version"], 4, "failed changes changed nothing");
    let me: Value = app.get("/v1/users/me", Some(&bo_token)).await.json().await.unwrap();
    assert_eq!(me["id"], bo.to_string());
}

/// Statuses of every user-scoped route for one actor, against `target`.
async fn route_statuses(app: &TestApp, token: &str, target: Uuid) -> Vec<(String, u16)> {
    let routes: Vec<(Method, String, Option<Value>)> = vec![
        (Method::GET, format!("/v1/users/{target}"), None),
        (Method::PATCH, format!("/v1/users/{target}"), Some(json!({"bio": "hi"}))),
        (Method::GET, format!("/v1/users/{target}/preferences"), None),
        (Method::PUT, format!("/v1/users/{target}/preferences/theme"), Some(json!({"value": "dark"}))),
        (Method::GET, format!("/v1/users/{target}/preferences/theme"), None),
        (Method::GET, format!("/v1/users/{target}/followers"), None),
        (Method::GET, format!("/v1/users/{target}/planners"), None),
        (Method::GET, format!("/v1/users/{target}/contacts"), None),
        (Method::POST, format!("/v1/users/{target}/contacts"), Some(json!({"name": "Doc"}))),
        (Method::GET, format!("/v1/users/{target}/attachments"), None),
        (
            Method::POST,
            format!("/v1/users/{target}/attachments/upload-url"),
            Some(json!({"fileName": "a.pdf", "contentType": "application/pdf", "size": 10})),
        ),
        (Method::POST, format!("/v1/users/{target}/planner-invites"), Some(json!({"email": "p@example.com"}))),
        (Method::POST, format!("/v1/users/{target}/unlock"), None),
        (Method::DELETE, format!("/v1/users/{target}/preferences/theme"), None),
    ];
    let mut out = Vec::new();
    for (method, path, body) in routes {
        let label = format!("{method} {}", path.replace(&target.to_string(), "{id}"));
        let status = send(app, method, &path, token, body, None).await.status().as_u16();
        out.push((label, status));
    }
    out
}

async fn who_may_touch_a_user_is_decided_by_relation_and_other_tenants_get_404(app: TestApp) {
    let (org, _, owner) = organisation(&app, "Sunrise").await;
    let (target, target_token) = member(&app, &owner, org, "member", "Tess", "Target").await;
    let (_, admin) = member(&app, &owner, org, "admin", "Ada", "Admin").await;
    let (reader_id, reader) = member(&app, &owner, org, "planner", "Rita", "Reader").await;
    let (calendar_only_id, calendar_only) = member(&app, &owner, org, "planner", "Cal", "Only").await;
    let (_, colleague) = member(&app, &owner, org, "member", "Col", "League").await;
    let (_, _, stranger) = organisation(&app, "Elsewhere").await;
    for (planner, permissions) in
        [(reader_id, json!({"profile": "read", "calendar": "write"})), (calendar_only_id, json!({"calendar": "write"}))]
    {
        let path = format!("/v1/users/{target}/planners/{planner}");
        let body = json!({"permissions": permissions});
        assert_eq!(send(&app, Method::PUT, &path, &owner, Some(body), None).await.status(), 201);
    }

    let expect_all = |statuses: Vec<(String, u16)>, expected: &dyn Fn(&str) -> u16, actor: &str| {
        for (route, status) in statuses {
            assert_eq!(status, expected(&route), "{actor}: {route}");
        }
    };
    let ok = |route: &str| -> u16 {
        match route {
            r if r.starts_with("PUT") && r.contains("preferences") => 0, // 200 or 201, checked below
            r if r.starts_with("POST") && r.ends_with("/contacts") => 201,
            r if r.ends_with("upload-url") => 201,
            r if r.ends_with("planner-invites") => 202,
            r if r.starts_with("DELETE") => 204,
            _ => 200,
        }
    };
    let normalise = |statuses: Vec<(String, u16)>| -> Vec<(String, u16)> {
        statuses
            .into_iter()
            .map(|(r, s)| if r.starts_with("PUT") && (s == 200 || s == 201) { (r, 0) } else { (r, s) })
            .collect()
    };

    // Administrators: every route.
    expect_all(normalise(route_statuses(&app, &owner, target).await), &ok, "owner");
    expect_all(normalise(route_statuses(&app, &admin, target).await), &ok, "admin");
    // The user themself: everything but administrator actions.
    expect_all(
        normalise(route_statuses(&app, &target_token, target).await),
        &|r| if r.ends_with("/unlock") { 403 } else { ok(r) },
        "self",
    );
    // A planner with profile read: reads yes, writes 403.
    expect_all(
        route_statuses(&app, &reader, target).await,
        &|r| if r.starts_with("GET") { if r.ends_with("/preferences/theme") { 404 } else { 200 } } else { 403 },
        "planner with profile read",
    );
    // A planner without profile access: linked, so the directory entry and 403 on everything else.
    let directory_only = |code: u16| move |r: &str| if r == "GET /v1/users/{id}" { 200 } else { code };
    expect_all(route_statuses(&app, &calendar_only, target).await, &directory_only(403), "planner without profile");
    // A colleague sees the directory entry; for them nothing else of the user exists.
    expect_all(route_statuses(&app, &colleague, target).await, &directory_only(404), "colleague");
    let entry = json_of(app.get(&format!("/v1/users/{target}"), Some(&colleague)).await, 200).await;
    assert_eq!(entry["firstName"], "Tess");
    assert!(entry.get("email").is_none() && entry.get("phone").is_none() && entry.get("customFields").is_none());
    // Another organisation's owner: the user does not exist for them.
    expect_all(route_statuses(&app, &stranger, target).await, &|_| 404, "other tenant");
    for path in [
        format!("/v1/users/{target}/lock"),
        format!("/v1/users/{target}/deactivate"),
        format!("/v1/users/{target}/activate"),
    ] {
        assert_eq!(send(&app, Method::POST, &path, &stranger, None, None).await.status(), 404);
    }
    assert_eq!(send(&app, Method::DELETE, &format!("/v1/users/{target}"), &stranger, None, None).await.status(), 404);
    assert_eq!(send(&app, Method::DELETE, &format!("/v1/users/{target}"), &reader, None, None).await.status(), 403);
    assert_eq!(app.get(&format!("/v1/users/{}", Uuid::now_v7()), Some(&owner)).await.status(), 404);
    assert_eq!(app.get("/v1/users/not-a-uuid", Some(&owner)).await.status(), 404);
    assert_eq!(app.get(&format!("/v1/users/{target}"), None).await.status(), 401);
}

async fn locking_and_deactivating_end_sessions_and_activation_restores(app: TestApp) {
    let (org, owner_id, owner) = organisation(&app, "Sunrise").await;
    let (bo, bo_token) = member(&app, &owner, org, "member", "Bo", "Ek").await;
    assert_eq!(app.get("/v1/users/me", Some(&bo_token)).await.status(), 200);

    let response = send(&app, Method::POST, &format!("/v1/users/{bo}/lock"), &owner, None, Some("\"1\"")).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["etag"], "\"2\"");
    let user: Value = response.json().await.unwrap();
    assert_eq!(user["locked"], true);
    assert_eq!(app.get("/v1/users/me", Some(&bo_token)).await.status(), 401, "the session ended");

    let user: Value =
        send(&app, Method::POST, &format!("/v1/users/{bo}/unlock"), &owner, None, None).await.json().await.unwrap();
    assert_eq!(user["locked"], false);
    let bo_token = app.token_for(bo).await;
    let user: Value =
        send(&app, Method::POST, &format!("/v1/users/{bo}/deactivate"), &owner, None, None).await.json().await.unwrap();
    assert_eq!((user["locked"].clone(), user["deactivated"].clone()), (json!(true), json!(true)));
    assert_eq!(app.get("/v1/users/me", Some(&bo_token)).await.status(), 401);
    let user: Value =
        send(&app, Method::POST, &format!("/v1/users/{bo}/activate"), &owner, None, None).await.json().await.unwrap();
    assert_eq!((user["locked"].clone(), user["deactivated"].clone()), (json!(false), json!(false)));
    assert_eq!(
        send(&app, Method::POST, &format!("/v1/users/{bo}/lock"), &owner, None, Some("\"1\"")).await.status(),
        412
    );
    let own = send(&app, Method::POST, &format!("/v1/users/{owner_id}/lock"), &owner, None, None).await;
    assert_eq!(own.status(), 409, "nobody locks themself out");
    let audit = partition_items(&app, Index::Primary, format!("AUDIT#{org}")).await;
    for action in ["user.locked", "user.unlocked", "user.deactivated", "user.activated"] {
        assert!(audit.iter().any(|e| e["action"] == action), "{action} audited");
    }
}

async fn preferences_are_set_read_listed_and_deleted(app: TestApp) {
    let (_, me, token) = organisation(&app, "Sunrise").await;
    let base = format!("/v1/users/{me}/preferences");
    let response =
        send(&app, Method::PUT, &format!("{base}/theme"), &token, Some(json!({"value": "dark"})), None).await;
    assert_eq!(response.status(), 201);
    let response = send(
        &app,
        Method::PUT,
        &format!("{base}/theme"),
        &token,
        Some(json!({"value": {"mode": "light"}})),
        Some("\"1\""),
    )
    .await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["etag"], "\"2\"");
    send(&app, Method::PUT, &format!("{base}/alarm.volume"), &token, Some(json!({"value": 7})), None).await;
    let stale =
        send(&app, Method::PUT, &format!("{base}/theme"), &token, Some(json!({"value": 1})), Some("\"1\"")).await;
    assert_eq!(stale.status(), 412);
    let bad = send(&app, Method::PUT, &format!("{base}/bad%20key"), &token, Some(json!({"value": 1})), None).await;
    assert_eq!(bad.status(), 400);
    let extra =
        send(&app, Method::PUT, &format!("{base}/x"), &token, Some(json!({"value": 1, "other": 2})), None).await;
    assert_eq!(extra.status(), 400);

    let one: Value = app.get(&format!("{base}/theme"), Some(&token)).await.json().await.unwrap();
    assert_eq!(one["value"], json!({"mode": "light"}));
    let list: Value = app.get(&format!("{base}?limit=1"), Some(&token)).await.json().await.unwrap();
    assert_eq!(list["items"][0]["key"], "alarm.volume");
    let cursor = list["nextCursor"].as_str().unwrap();
    let next: Value = app.get(&format!("{base}?limit=1&cursor={cursor}"), Some(&token)).await.json().await.unwrap();
    assert_eq!(next["items"][0]["key"], "theme");

    assert_eq!(send(&app, Method::DELETE, &format!("{base}/theme"), &token, None, None).await.status(), 204);
    assert_eq!(app.get(&format!("{base}/theme"), Some(&token)).await.status(), 404);
    assert_eq!(send(&app, Method::DELETE, &format!("{base}/theme"), &token, None, None).await.status(), 404);
}

async fn users_and_organisations_follow_users_of_their_organisation(app: TestApp) {
    let (org, owner_id, owner) = organisation(&app, "Sunrise").await;
    let (bo, bo_token) = member(&app, &owner, org, "member", "Bo", "Ek").await;
    let (_, other_owner_id, other_owner) = organisation(&app, "Elsewhere").await;
    let followers = format!("/v1/users/{owner_id}/followers");

    let response = app.post(&followers, &json!({"followerId": bo, "followerType": "user"}), Some(&bo_token)).await;
    assert_eq!(response.status(), 201);
    assert_eq!(
        app.post(&followers, &json!({"followerId": bo, "followerType": "user"}), Some(&bo_token)).await.status(),
        409
    );
    let by_org = json!({"followerId": org, "followerType": "organisation"});
    assert_eq!(app.post(&format!("/v1/users/{bo}/followers"), &by_org, Some(&owner)).await.status(), 201);
    assert_eq!(
        app.post(&format!("/v1/users/{bo}/followers"), &by_org, Some(&bo_token)).await.status(),
        403,
        "members do not act for the organisation"
    );

    // Across tenants there is nobody to follow.
    let cross = json!({"followerId": other_owner_id, "followerType": "user"});
    assert_eq!(app.post(&followers, &cross, Some(&other_owner)).await.status(), 404);
    let bad_type = json!({"followerId": bo, "followerType": "product"});
    assert_eq!(app.post(&followers, &bad_type, Some(&bo_token)).await.status(), 400);

    let list: Value = app.get(&followers, Some(&owner)).await.json().await.unwrap();
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
    assert_eq!(list["items"][0]["followerId"], bo.to_string());
    let mine: Value =
        app.get(&format!("/v1/follows?followerId={bo}&type=user"), Some(&bo_token)).await.json().await.unwrap();
    assert_eq!(mine["items"][0]["userId"], owner_id.to_string());
    let orgs: Value =
        app.get(&format!("/v1/follows?followerId={org}&type=organisation"), Some(&owner)).await.json().await.unwrap();
    assert_eq!(orgs["items"][0]["userId"], bo.to_string());
    assert_eq!(
        app.get(&format!("/v1/follows?followerId={org}&type=organisation"), Some(&other_owner)).await.status(),
        404
    );
    assert_eq!(app.get(&format!("/v1/follows?followerId={bo}&type=user"), Some(&other_owner)).await.status(), 404);

    let unfollow = app
        .client
        .delete(format!("{}{followers}", app.base))
        .bearer_auth(&bo_token)
        .json(&json!({"followerId": bo, "followerType": "user"}))
        .send()
        .await
        .unwrap();
    assert_eq!(unfollow.status(), 204);
    let list: Value = app.get(&followers, Some(&owner)).await.json().await.unwrap();
    assert!(list["items"].as_array().unwrap().is_empty());
}

async fn planner_links_need_a_planner_of_the_organisation_and_grant_their_areas(app: TestApp) {
    let (org, _, owner) = organisation(&app, "Sunrise").await;
    let (bo, bo_token) = member(&app, &owner, org, "member", "Bo", "Ek").await;
    let (pia, pia_token) = member(&app, &owner, org, "planner", "Pia", "Plan").await;
    let (mo, _) = member(&app, &owner, org, "member", "Mo", "Member").await;
    let (_, stranger_id, _) = organisation(&app, "Elsewhere").await;
    let link = format!("/v1/users/{bo}/planners/{pia}");

    let colleague = json_of(app.get(&format!("/v1/users/{bo}"), Some(&pia_token)).await, 200).await;
    assert!(colleague.get("email").is_none() && colleague.get("bio").is_none(), "not linked yet: the directory entry");
    let body = json!({"permissions": {"profile": "write", "calendar": "read"}});
    let response = send(&app, Method::PUT, &link, &bo_token, Some(body), None).await;
    assert_eq!(response.status(), 201, "a member chooses their planners");
    let created: Value = response.json().await.unwrap();
    assert_eq!(created["permissions"]["profile"], "write");
    assert!(created["permissions"]["media"].is_null());
    assert_eq!(
        send(&app, Method::PATCH, &format!("/v1/users/{bo}"), &pia_token, Some(json!({"bio": "planned"})), None)
            .await
            .status(),
        200
    );

    let read_only = json!({"permissions": {"profile": "read"}});
    let response = send(&app, Method::PUT, &link, &owner, Some(read_only), Some("\"1\"")).await;
    assert_eq!(response.status(), 200);
    assert_eq!(
        send(&app, Method::PATCH, &format!("/v1/users/{bo}"), &pia_token, Some(json!({"bio": "x"})), None)
            .await
            .status(),
        403
    );
    assert_eq!(
        send(&app, Method::PUT, &link, &pia_token, Some(json!({"permissions": {"profile": "write"}})), None)
            .await
            .status(),
        403,
        "planners cannot raise their own permissions"
    );

    let bad = json!({"permissions": {"profile": "admin"}});
    assert_eq!(send(&app, Method::PUT, &link, &owner, Some(bad), None).await.status(), 400);
    let not_planner = format!("/v1/users/{bo}/planners/{mo}");
    assert_eq!(
        send(&app, Method::PUT, &not_planner, &owner, Some(json!({"permissions": {}})), None).await.status(),
        400
    );
    let foreign = format!("/v1/users/{bo}/planners/{stranger_id}");
    assert_eq!(send(&app, Method::PUT, &foreign, &owner, Some(json!({"permissions": {}})), None).await.status(), 404);

    let list: Value = app.get(&format!("/v1/users/{bo}/planners"), Some(&bo_token)).await.json().await.unwrap();
    assert_eq!(list["items"][0]["plannerId"], pia.to_string());
    let invite = app
        .post(&format!("/v1/users/{bo}/planner-invites"), &json!({"email": "New@Example.com"}), Some(&bo_token))
        .await;
    assert_eq!(invite.status(), 202);
    let mails = app.outbox.list(Some("new@example.com")).unwrap();
    assert!(mails[0].text.contains("Bo Ek") && mails[0].text.contains("Sunrise"));

    // The planner steps down.
    assert_eq!(send(&app, Method::DELETE, &link, &pia_token, None, None).await.status(), 204);
    let colleague = json_of(app.get(&format!("/v1/users/{bo}"), Some(&pia_token)).await, 200).await;
    assert!(colleague.get("email").is_none(), "back to the directory entry");
}

async fn contacts_are_created_replaced_listed_and_deleted(app: TestApp) {
    let (_, me, token) = organisation(&app, "Sunrise").await;
    let base = format!("/v1/users/{me}/contacts");
    let response =
        app.post(&base, &json!({"name": "Dr. Who", "phone": "+46 8 123 456", "relation": "GP"}), Some(&token)).await;
    assert_eq!(response.status(), 201);
    let contact: Value = response.json().await.unwrap();
    let path = format!("{base}/{}", contact["id"].as_str().unwrap());
    let bad = app.post(&base, &json!({"name": "", "email": "nope", "phone": "x"}), Some(&token)).await;
    assert_eq!(bad.status(), 400);
    assert_eq!(problem(bad).await["errors"].as_array().unwrap().len(), 3);

    let replaced = send(
        &app,
        Method::PUT,
        &path,
        &token,
        Some(json!({"name": "Dr. Who", "email": "who@example.com"})),
        Some("\"1\""),
    )
    .await;
    assert_eq!(replaced.status(), 200);
    let replaced: Value = replaced.json().await.unwrap();
    assert!(replaced["phone"].is_null(), "PUT replaces every field");
    assert_eq!(replaced["version"], 2);
    assert_eq!(send(&app, Method::PUT, &path, &token, Some(json!({"name": "X"})), Some("\"1\"")).await.status(), 412);

    let list: Value = app.get(&base, Some(&token)).await.json().await.unwrap();
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
    assert_eq!(send(&app, Method::DELETE, &path, &token, None, Some("\"2\"")).await.status(), 204);
    let list: Value = app.get(&base, Some(&token)).await.json().await.unwrap();
    assert!(list["items"].as_array().unwrap().is_empty());
}

async fn attachments_upload_confirm_download_and_delete(app: TestApp) {
    let (_, me, token) = organisation(&app, "Sunrise").await;
    let base = format!("/v1/users/{me}/attachments");
    let bytes = b"%PDF-1.4 hello".to_vec();
    let ticket = app
        .post(
            &format!("{base}/upload-url"),
            &json!({"fileName": "care plan.pdf", "contentType": "application/pdf", "size": bytes.len()}),
            Some(&token),
        )
        .await;
    assert_eq!(ticket.status(), 201);
    let ticket: Value = ticket.json().await.unwrap();
    let attachment_id = ticket["attachmentId"].as_str().unwrap().to_string();

    // Not uploaded yet: confirming is a conflict, and it is not listed.
    assert_eq!(app.post(&base, &json!({"attachmentId": attachment_id}), Some(&token)).await.status(), 409);
    let list: Value = app.get(&base, Some(&token)).await.json().await.unwrap();
    assert!(list["items"].as_array().unwrap().is_empty());

    let upload = &ticket["upload"];
    let mut put = app.client.request(
        Method::from_bytes(upload["method"].as_str().unwrap().as_bytes()).unwrap(),
        upload["url"].as_str().unwrap(),
    );
    for header in upload["headers"].as_array().unwrap() {
        put = put.header(header[0].as_str().unwrap(), header[1].as_str().unwrap());
    }
    assert!(put.body(bytes.clone()).send().await.unwrap().status().is_success());

    let confirmed = app.post(&base, &json!({"attachmentId": attachment_id}), Some(&token)).await;
    assert_eq!(confirmed.status(), 201);
    let confirmed: Value = confirmed.json().await.unwrap();
    assert_eq!(confirmed["status"], "ready");
    let path = format!("{base}/{attachment_id}");
    let read: Value = app.get(&path, Some(&token)).await.json().await.unwrap();
    assert_eq!(read["fileName"], "care plan.pdf");
    let download = app.client.get(read["download"]["url"].as_str().unwrap()).send().await.unwrap();
    assert_eq!(download.bytes().await.unwrap().to_vec(), bytes);
    let list: Value = app.get(&base, Some(&token)).await.json().await.unwrap();
    assert_eq!(list["items"].as_array().unwrap().len(), 1);

    let too_big = app
        .post(
            &format!("{base}/upload-url"),
            &json!({"fileName": "big.mp4", "contentType": "video/mp4", "size": 50 * 1024 * 1024 + 1}),
            Some(&token),
        )
        .await;
    assert_eq!(too_big.status(), 413);
    let wrong_type = app
        .post(
            &format!("{base}/upload-url"),
            &json!({"fileName": "x.exe", "contentType": "application/x-msdownload", "size": 10}),
            Some(&token),
        )
        .await;
    assert_eq!(wrong_type.status(), 415);

    assert_eq!(send(&app, Method::DELETE, &path, &token, None, None).await.status(), 204);
    assert_eq!(app.get(&path, Some(&token)).await.status(), 404);
    let key = shared::people::attachments::blob_key(me, Uuid::parse_str(&attachment_id).unwrap());
    assert!(app.state.blobs.head(&key).await.unwrap().is_none(), "the file went with it");
}

async fn deleting_a_user_removes_everything_they_own_and_can_be_resumed(app: TestApp) {
    let (org, owner_id, owner) = organisation(&app, "Sunrise").await;
    let (bo, bo_token) = member(&app, &owner, org, "planner", "Bo", "Ek").await;
    let (mo, mo_token) = member(&app, &owner, org, "member", "Mo", "Member").await;
    let bo_email =
        app.get(&format!("/v1/users/{bo}"), Some(&bo_token)).await.json::<Value>().await.unwrap()["email"].clone();
    // Bo owns: a preference, a contact, an attachment, a follower; follows Mo; plans for Mo.
    send(&app, Method::PUT, &format!("/v1/users/{bo}/preferences/theme"), &bo_token, Some(json!({"value": 1})), None)
        .await;
    app.post(&format!("/v1/users/{bo}/contacts"), &json!({"name": "Doc"}), Some(&bo_token)).await;
    let ticket: Value = app
        .post(
            &format!("/v1/users/{bo}/attachments/upload-url"),
            &json!({"fileName": "a.txt", "contentType": "text/plain", "size": 2}),
            Some(&bo_token),
        )
        .await
        .json()
        .await
        .unwrap();
    let attachment = Uuid::parse_str(ticket["attachmentId"].as_str().unwrap()).unwrap();
    let blob = shared::people::attachments::blob_key(bo, attachment);
    let upload = &ticket["upload"];
    let mut put = app.client.put(upload["url"].as_str().unwrap());
    for header in upload["headers"].as_array().unwrap() {
        put = put.header(header[0].as_str().unwrap(), header[1].as_str().unwrap());
    }
    put.body("hi").send().await.unwrap();
    app.post(&format!("/v1/users/{bo}/attachments"), &json!({"attachmentId": attachment}), Some(&bo_token)).await;
    app.post(
        &format!("/v1/users/{bo}/followers"),
        &json!({"followerId": owner_id, "followerType": "user"}),
        Some(&owner),
    )
    .await;
    app.post(&format!("/v1/users/{mo}/followers"), &json!({"followerId": bo, "followerType": "user"}), Some(&bo_token))
        .await;
    send(
        &app,
        Method::PUT,
        &format!("/v1/users/{mo}/planners/{bo}"),
        &mo_token,
        Some(json!({"permissions": {"profile": "read"}})),
        None,
    )
    .await;
    assert!(app.state.blobs.head(&blob).await.unwrap().is_some());

    // A deletion interrupted after marking the user resumes on retry.
    let key = shared::table::Key::new(format!("USER#{bo}"), "USER");
    app.state.table.update(shared::table::Update::new(key).set("deleting", true).add("version", 1)).await.unwrap();
    assert_eq!(app.get(&format!("/v1/users/{bo}"), Some(&owner)).await.status(), 404, "already gone for reads");
    let response = send(&app, Method::DELETE, &format!("/v1/users/{bo}"), &owner, None, None).await;
    assert_eq!(response.status(), 204);

    assert!(
        partition_items(&app, Index::Primary, format!("USER#{bo}")).await.is_empty(),
        "nothing left under the user"
    );
    assert!(partition_items(&app, Index::Gsi1, format!("USER#{bo}")).await.is_empty(), "no memberships");
    assert!(partition_items(&app, Index::Gsi1, format!("FOLLOWS#user#{bo}")).await.is_empty(), "no follows");
    assert!(partition_items(&app, Index::Gsi1, format!("PLANS#{bo}")).await.is_empty(), "no planner links");
    assert!(app.state.blobs.head(&blob).await.unwrap().is_none(), "no files");
    let members = partition_items(&app, Index::Primary, format!("ORG#{org}")).await;
    assert!(!members.iter().any(|m| m.get("userId") == Some(&json!(bo.to_string()))));
    assert_eq!(send(&app, Method::DELETE, &format!("/v1/users/{bo}"), &owner, None, None).await.status(), 404);
    // The address is free again.
    let again =
        json!({"email": bo_email, "firstName": "Bo", "lastName": "Again", "organisationId": org, "role": "member"});
    assert_eq!(app.post("/v1/users", &again, Some(&owner)).await.status(), 201);

    // The last owner cannot leave their organisation ownerless; members delete themselves.
    assert_eq!(send(&app, Method::DELETE, "/v1/users/me", &owner, None, None).await.status(), 409);
    assert_eq!(send(&app, Method::DELETE, "/v1/users/me", &mo_token, None, Some("\"9\"")).await.status(), 412);
    assert_eq!(send(&app, Method::DELETE, "/v1/users/me", &mo_token, None, None).await.status(), 204);
    assert!(partition_items(&app, Index::Primary, format!("USER#{mo}")).await.is_empty());
    let audit = partition_items(&app, Index::Primary, format!("AUDIT#{org}")).await;
    assert_eq!(
        audit.iter().filter(|e| e["action"] == "user.deleted").count(),
        1,
        "the resumed deletion was marked outside the API"
    );
}

async fn bulk_routes_report_each_item_and_apply_the_good_ones(app: TestApp) {
    let (org, _, owner) = organisation(&app, "Sunrise").await;
    let (_, _, stranger) = organisation(&app, "Elsewhere").await;
    let body = json!({"users": [
        {"email": "one@example.com", "firstName": "One", "lastName": "A", "organisationId": org, "role": "member"},
        {"email": "one@example.com", "firstName": "Dup", "lastName": "A", "organisationId": org, "role": "member"},
        {"email": "bad", "firstName": "Bad", "lastName": "A", "organisationId": org, "role": "member"},
        {"email": "two@example.com", "password": PASSWORD, "firstName": "Two", "lastName": "B", "organisationId": org, "role": "planner"},
    ]});
    let response = app.post("/v1/users/bulk", &body, Some(&owner)).await;
    assert_eq!(response.status(), 200);
    let results: Value = response.json().await.unwrap();
    let statuses: Vec<u64> =
        results["results"].as_array().unwrap().iter().map(|r| r["status"].as_u64().unwrap()).collect();
    assert_eq!(statuses, [201, 409, 400, 201]);
    assert_eq!(results["results"][2]["error"]["errors"][0]["field"], "email");
    let one = results["results"][0]["user"]["id"].as_str().unwrap().to_string();
    let two = results["results"][3]["user"]["id"].as_str().unwrap().to_string();
    assert_eq!(app.post("/v1/users/bulk", &json!({"users": []}), Some(&owner)).await.status(), 400);

    let missing = Uuid::now_v7().to_string();
    let response = app.post("/v1/users/bulk-delete", &json!({"ids": [one, missing, two]}), Some(&stranger)).await;
    let results: Value = response.json().await.unwrap();
    let statuses: Vec<u64> =
        results["results"].as_array().unwrap().iter().map(|r| r["status"].as_u64().unwrap()).collect();
    assert_eq!(statuses, [404, 404, 404], "another tenant deletes nothing");
    let response = app.post("/v1/users/bulk-delete", &json!({"ids": [one, missing, two]}), Some(&owner)).await;
    let results: Value = response.json().await.unwrap();
    let statuses: Vec<u64> =
        results["results"].as_array().unwrap().iter().map(|r| r["status"].as_u64().unwrap()).collect();
    assert_eq!(statuses, [204, 404, 204]);
    assert_eq!(app.get(&format!("/v1/users/{one}"), Some(&owner)).await.status(), 404);
}

on_both_tables!(
    an_admin_creates_a_user_without_a_password_who_is_mailed_a_set_password_link,
    creating_with_a_password_sends_a_welcome_and_a_taken_email_is_a_conflict,
    invalid_creates_list_every_bad_field_and_non_admins_cannot_create,
    the_user_list_filters_orders_searches_and_pages,
    patch_changes_profile_fields_and_refuses_protected_ones,
    who_may_touch_a_user_is_decided_by_relation_and_other_tenants_get_404,
    locking_and_deactivating_end_sessions_and_activation_restores,
    preferences_are_set_read_listed_and_deleted,
    users_and_organisations_follow_users_of_their_organisation,
    planner_links_need_a_planner_of_the_organisation_and_grant_their_areas,
    contacts_are_created_replaced_listed_and_deleted,
    attachments_upload_confirm_download_and_delete,
    deleting_a_user_removes_everything_they_own_and_can_be_resumed,
    bulk_routes_report_each_item_and_apply_the_good_ones,
);
