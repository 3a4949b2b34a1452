//! The organisations group beyond sign-up, through HTTP on both table
//! adapters: organisations, members and roles, groups / departments /
//! locations / security groups with their members, heads and staff, links,
//! statistics, the invitation text, deletion, and tenant isolation.

use reqwest::{Method, Response};
use serde_json::{Value, json};
use shared::people::users;
use shared::people::users::UserRecord;
use shared::table::{Index, Key, Query, Update};
use sundial_tests::identity::superadmin;
use sundial_tests::json_of;
use sundial_tests::{TestApp, on_both_tables, problem};
use uuid::Uuid;

async fn send(
    app: &TestApp,
    method: Method,
    path: &str,
    body: Option<&Value>,
    token: &str,
    if_match: Option<&str>,
) -> Response {
    let mut req = app.client.request(method, format!("{}{path}", app.base)).bearer_auth(token);
    if let Some(body) = body {
        req = req.json(body);
    }
    if let Some(tag) = if_match {
        req = req.header("If-Match", tag);
    }
    req.send().await.expect("request")
}

async fn code_of(response: Response, status: u16) -> String {
    assert_eq!(response.status().as_u16(), status);
    problem(response).await["code"].as_str().unwrap_or_default().to_string()
}

struct Org {
    id: String,
    owner: Uuid,
    token: String,
}

async fn new_org(app: &TestApp, name: &str) -> Org {
    let email = format!("owner-{}@example.com", Uuid::now_v7().simple());
    let body = app.sign_up(name, &email).await;
    let owner = Uuid::parse_str(body["user"]["id"].as_str().unwrap()).unwrap();
    Org { id: body["organisation"]["id"].as_str().unwrap().to_string(), owner, token: app.token_for(owner).await }
}

/// A user who belongs to no organisation yet, with a token.
async fn new_user(app: &TestApp, first_name: &str) -> (Uuid, String) {
    let email = shared::domain::Email::parse(&format!("{}@example.com", Uuid::now_v7().simple())).unwrap();
    let user = UserRecord::new(&email, first_name, "Tester", None, app.clock_now());
    app.state.table.transact_write(users::create_ops(&user).unwrap()).await.unwrap();
    (user.id, app.token_for(user.id).await)
}

/// A new account created into `org` with `role` by its owner.
async fn member(app: &TestApp, org: &Org, role: &str) -> (Uuid, String) {
    let id = Uuid::parse_str(&org.id).unwrap();
    sundial_tests::identity::created_member(app, id, &org.token, role, role).await
}

/// `user` joins `org` with `role`, written straight to the table as an
/// accepted invitation would (joining is the user's own act).
async fn join(app: &TestApp, org: &Org, user: Uuid, role: &str) {
    let role: shared::domain::Role = serde_json::from_value(json!(role)).unwrap();
    let membership =
        shared::organisations::Membership::new(Uuid::parse_str(&org.id).unwrap(), user, role, app.clock_now());
    let op = shared::organisations::add_member_op(&membership).unwrap();
    app.state.table.transact_write(vec![op]).await.unwrap();
}

trait Now {
    fn clock_now(&self) -> chrono::DateTime<chrono::Utc>;
}
impl Now for TestApp {
    fn clock_now(&self) -> chrono::DateTime<chrono::Utc> {
        shared::clock::Clock::now(self.clock.as_ref())
    }
}

async fn partition(app: &TestApp, org: &str) -> Vec<shared::table::Item> {
    app.state.table.query(&Query::new(Index::Primary, format!("ORG#{org}"))).await.unwrap().items
}

async fn create(app: &TestApp, org: &Org, kind: &str, body: Value) -> Value {
    json_of(
        send(app, Method::POST, &format!("/v1/organisations/{}/{kind}", org.id), Some(&body), &org.token, None).await,
        201,
    )
    .await
}

async fn superadmins_create_and_list_organisations(app: TestApp) {
    let (_, root) = superadmin(&app).await;
    let (future_owner, owner_token) = new_user(&app, "Olive").await;

    let created = send(
        &app,
        Method::POST,
        "/v1/organisations",
        Some(&json!({"name": "Harbour", "owner": future_owner})),
        &root,
        None,
    )
    .await;
    assert_eq!(created.headers()["etag"], "\"1\"");
    let org = json_of(created, 201).await;
    let id = org["id"].as_str().unwrap();
    // The named owner is its owner.
    let read = send(&app, Method::GET, &format!("/v1/organisations/{id}"), None, &owner_token, None).await;
    assert_eq!(json_of(read, 200).await["name"], "Harbour");
    let members = json_of(
        send(&app, Method::GET, &format!("/v1/organisations/{id}/members"), None, &owner_token, None).await,
        200,
    )
    .await;
    assert_eq!(members["items"][0]["role"], "owner");

    let listed = json_of(send(&app, Method::GET, "/v1/organisations?limit=1", None, &root, None).await, 200).await;
    assert_eq!(listed["items"].as_array().unwrap().len(), 1);
    assert_eq!(listed["items"][0]["id"], id);

    // Only superadmins create and list.
    let other = new_org(&app, "Other").await;
    assert_eq!(
        code_of(send(&app, Method::GET, "/v1/organisations", None, &other.token, None).await, 403).await,
        "forbidden"
    );
    let post = send(&app, Method::POST, "/v1/organisations", Some(&json!({"name": "X"})), &other.token, None).await;
    assert_eq!(code_of(post, 403).await, "forbidden");
    // Bad input changes nothing.
    let bad =
        send(&app, Method::POST, "/v1/organisations", Some(&json!({"name": "", "owner": Uuid::now_v7()})), &root, None)
            .await;
    let problem = problem_fields(bad).await;
    assert_eq!(problem, ["name", "owner"]);
    let unknown =
        send(&app, Method::POST, "/v1/organisations", Some(&json!({"name": "Y", "colour": "red"})), &root, None).await;
    assert_eq!(code_of(unknown, 400).await, "validation_failed");
    // A superadmin reads any organisation.
    assert_eq!(
        send(&app, Method::GET, &format!("/v1/organisations/{}", other.id), None, &root, None).await.status(),
        200
    );
}

async fn problem_fields(response: Response) -> Vec<String> {
    assert_eq!(response.status(), 400);
    let mut fields: Vec<String> = problem(response).await["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap().to_string())
        .collect();
    fields.sort();
    fields
}

async fn renaming_honours_roles_and_if_match(app: TestApp) {
    let org = new_org(&app, "Sunrise").await;
    let (_, admin) = member(&app, &org, "admin").await;
    let (_, plain) = member(&app, &org, "member").await;
    let path = format!("/v1/organisations/{}", org.id);

    let renamed = send(&app, Method::PATCH, &path, Some(&json!({"name": "Sunset"})), &org.token, Some("\"1\"")).await;
    assert_eq!(renamed.headers()["etag"], "\"2\"");
    let body = json_of(renamed, 200).await;
    assert_eq!((body["name"].as_str(), body["version"].as_i64()), (Some("Sunset"), Some(2)));
    let stale = send(&app, Method::PATCH, &path, Some(&json!({"name": "Noon"})), &admin, Some("\"1\"")).await;
    assert_eq!(code_of(stale, 412).await, "precondition_failed");
    let forbidden = send(&app, Method::PATCH, &path, Some(&json!({"name": "Noon"})), &plain, None).await;
    assert_eq!(code_of(forbidden, 403).await, "forbidden");
    let unknown = send(&app, Method::PATCH, &path, Some(&json!({"title": "Noon"})), &admin, None).await;
    assert_eq!(code_of(unknown, 400).await, "validation_failed");
    let by_admin =
        json_of(send(&app, Method::PATCH, &path, Some(&json!({"name": "Noon"})), &admin, None).await, 200).await;
    assert_eq!(by_admin["version"], 3);
    // Admins may not delete; owners may.
    assert_eq!(code_of(send(&app, Method::DELETE, &path, None, &admin, None).await, 403).await, "forbidden");
}

async fn members_are_added_listed_by_role_changed_and_removed(app: TestApp) {
    let org = new_org(&app, "Sunrise").await;
    let (planner, planner_token) = member(&app, &org, "planner").await;
    let (guest, _) = member(&app, &org, "guest").await;
    let base = format!("/v1/organisations/{}/members", org.id);

    let all = json_of(send(&app, Method::GET, &base, None, &planner_token, None).await, 200).await;
    assert_eq!(all["items"].as_array().unwrap().len(), 3);
    let entry = all["items"].as_array().unwrap().iter().find(|m| m["userId"] == planner.to_string()).unwrap();
    assert_eq!(entry["role"], "planner");
    assert_eq!(entry["user"]["firstName"], "planner", "each item joins the user's public fields");
    assert!(entry["user"].get("passwordHash").is_none());

    let planners =
        json_of(send(&app, Method::GET, &format!("{base}?role=planner"), None, &org.token, None).await, 200).await;
    assert_eq!(planners["items"].as_array().unwrap().len(), 1);
    let page = json_of(send(&app, Method::GET, &format!("{base}?limit=2"), None, &org.token, None).await, 200).await;
    let cursor = page["nextCursor"].as_str().unwrap();
    let next =
        json_of(send(&app, Method::GET, &format!("{base}?limit=2&cursor={cursor}"), None, &org.token, None).await, 200)
            .await;
    assert_eq!(next["items"].as_array().unwrap().len(), 1);
    assert!(next["nextCursor"].is_null());
    assert_eq!(
        code_of(send(&app, Method::GET, &format!("{base}?role=king"), None, &org.token, None).await, 400).await,
        "validation_failed"
    );
    assert_eq!(
        code_of(send(&app, Method::GET, &format!("{base}?sort=x"), None, &org.token, None).await, 400).await,
        "validation_failed"
    );

    // A role change takes effect on the next request.
    let promote =
        send(&app, Method::PUT, &format!("{base}/{guest}"), Some(&json!({"role": "admin"})), &org.token, Some("\"1\""))
            .await;
    let promoted = json_of(promote, 200).await;
    assert_eq!((promoted["role"].as_str(), promoted["version"].as_i64()), (Some("admin"), Some(2)));
    let stale = send(
        &app,
        Method::PUT,
        &format!("{base}/{guest}"),
        Some(&json!({"role": "member"})),
        &org.token,
        Some("\"1\""),
    )
    .await;
    assert_eq!(code_of(stale, 412).await, "precondition_failed");
    let by_planner =
        send(&app, Method::PUT, &format!("{base}/{guest}"), Some(&json!({"role": "member"})), &planner_token, None)
            .await;
    assert_eq!(code_of(by_planner, 403).await, "forbidden");
    let unknown_user = send(
        &app,
        Method::PUT,
        &format!("{base}/{}", Uuid::now_v7()),
        Some(&json!({"role": "member"})),
        &org.token,
        None,
    )
    .await;
    assert_eq!(unknown_user.status(), 404);

    // Removal: by an admin, and a member leaving by themselves.
    assert_eq!(send(&app, Method::DELETE, &format!("{base}/{guest}"), None, &org.token, None).await.status(), 204);
    assert_eq!(
        send(&app, Method::DELETE, &format!("{base}/{planner}"), None, &planner_token, None).await.status(),
        204
    );
    let org_path = format!("/v1/organisations/{}", org.id);
    assert_eq!(
        send(&app, Method::GET, &org_path, None, &planner_token, None).await.status(),
        404,
        "access ends at once"
    );
    let left = json_of(send(&app, Method::GET, &base, None, &org.token, None).await, 200).await;
    assert_eq!(left["items"].as_array().unwrap().len(), 1);
    // The user's organisations are a GSI1 query and agree.
    let theirs = users::memberships(app.state.table.as_ref(), planner).await.unwrap();
    assert!(theirs.is_empty());
}

async fn an_organisation_always_keeps_an_owner(app: TestApp) {
    let org = new_org(&app, "Sunrise").await;
    let (admin, admin_token) = member(&app, &org, "admin").await;
    let base = format!("/v1/organisations/{}/members", org.id);
    let me = format!("{base}/{}", org.owner);

    let demote = send(&app, Method::PUT, &me, Some(&json!({"role": "admin"})), &org.token, None).await;
    assert_eq!(code_of(demote, 409).await, "conflict");
    assert_eq!(code_of(send(&app, Method::DELETE, &me, None, &org.token, None).await, 409).await, "conflict");
    // Admins neither make owners nor touch them.
    let make_owner =
        send(&app, Method::PUT, &format!("{base}/{admin}"), Some(&json!({"role": "owner"})), &admin_token, None).await;
    assert_eq!(code_of(make_owner, 403).await, "forbidden");
    assert_eq!(code_of(send(&app, Method::DELETE, &me, None, &admin_token, None).await, 403).await, "forbidden");

    // With a second owner, the first may step down.
    json_of(
        send(&app, Method::PUT, &format!("{base}/{admin}"), Some(&json!({"role": "owner"})), &org.token, None).await,
        200,
    )
    .await;
    json_of(send(&app, Method::PUT, &me, Some(&json!({"role": "member"})), &org.token, None).await, 200).await;
    let last = send(&app, Method::DELETE, &format!("{base}/{admin}"), None, &admin_token, None).await;
    assert_eq!(code_of(last, 409).await, "conflict");
}

async fn units_of_every_kind_have_crud_and_members(app: TestApp) {
    let org = new_org(&app, "Sunrise").await;
    let (alice, alice_token) = member(&app, &org, "member").await;
    let (bob, _) = member(&app, &org, "planner").await;
    for (kind, extra) in [
        ("groups", json!({})),
        ("departments", json!({"heads": [org.owner]})),
        ("locations", json!({"timeZone": "Europe/Stockholm"})),
        ("security-groups", json!({})),
    ] {
        let mut body = json!({"name": format!("First {kind}"), "description": "Line one\nline two"});
        body.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
        let unit = create(&app, &org, kind, body).await;
        let id = unit["id"].as_str().unwrap();
        let path = format!("/v1/organisations/{}/{kind}/{id}", org.id);
        assert_eq!(unit["memberCount"], 0, "{kind}");

        let read = json_of(send(&app, Method::GET, &path, None, &alice_token, None).await, 200).await;
        assert_eq!(read, unit, "{kind}: any member reads");
        let listed = json_of(
            send(&app, Method::GET, &format!("/v1/organisations/{}/{kind}", org.id), None, &alice_token, None).await,
            200,
        )
        .await;
        assert_eq!(listed["items"].as_array().unwrap().len(), 1, "{kind}: units of one kind only");

        let renamed = send(
            &app,
            Method::PATCH,
            &path,
            Some(&json!({"name": "Renamed", "description": ""})),
            &org.token,
            Some("\"1\""),
        )
        .await;
        let renamed = json_of(renamed, 200).await;
        assert_eq!((renamed["name"].as_str(), renamed["version"].as_i64()), (Some("Renamed"), Some(2)));
        assert!(renamed.get("description").is_none());
        let stale = send(&app, Method::PATCH, &path, Some(&json!({"name": "Again"})), &org.token, Some("\"1\"")).await;
        assert_eq!(code_of(stale, 412).await, "precondition_failed", "{kind}");
        let by_member = send(&app, Method::PATCH, &path, Some(&json!({"name": "Mine"})), &alice_token, None).await;
        assert_eq!(code_of(by_member, 403).await, "forbidden", "{kind}");

        let members = format!("{path}/members");
        let added = send(&app, Method::POST, &members, Some(&json!({"add": [alice, bob]})), &org.token, None).await;
        assert_eq!(json_of(added, 200).await["memberCount"], 2, "{kind}");
        let again =
            send(&app, Method::POST, &members, Some(&json!({"add": [alice], "remove": [bob]})), &org.token, None).await;
        assert_eq!(json_of(again, 200).await["memberCount"], 1, "{kind}: adding twice counts once");
        let list = json_of(send(&app, Method::GET, &members, None, &alice_token, None).await, 200).await;
        assert_eq!(list["items"].as_array().unwrap().len(), 1);
        assert_eq!(list["items"][0]["userId"], alice.to_string());
        assert_eq!(list["items"][0]["user"]["firstName"], "member");

        assert_eq!(
            code_of(send(&app, Method::DELETE, &path, None, &org.token, Some("\"1\"")).await, 412).await,
            "precondition_failed"
        );
        assert_eq!(send(&app, Method::DELETE, &path, None, &org.token, Some("\"2\"")).await.status(), 204, "{kind}");
        assert_eq!(send(&app, Method::GET, &path, None, &org.token, None).await.status(), 404, "{kind}");
    }
    // Deleting units took their relations with them: only memberships and the organisation remain.
    let left: Vec<String> =
        partition(&app, &org.id).await.iter().map(|i| i["SK"].as_str().unwrap().to_string()).collect();
    assert!(left.iter().all(|sk| sk == "ORG" || sk.starts_with("MEMBER#")), "{left:?}");
}

async fn locations_need_an_iana_time_zone(app: TestApp) {
    let org = new_org(&app, "Sunrise").await;
    let base = format!("/v1/organisations/{}", org.id);
    let bad = send(
        &app,
        Method::POST,
        &format!("{base}/locations"),
        Some(&json!({"name": "HQ", "timeZone": "Mars/Olympus"})),
        &org.token,
        None,
    )
    .await;
    assert_eq!(problem_fields(bad).await, ["timeZone"]);
    let missing =
        send(&app, Method::POST, &format!("{base}/locations"), Some(&json!({"name": ""})), &org.token, None).await;
    assert_eq!(problem_fields(missing).await, ["name", "timeZone"]);
    let on_group = send(
        &app,
        Method::POST,
        &format!("{base}/groups"),
        Some(&json!({"name": "G", "timeZone": "UTC"})),
        &org.token,
        None,
    )
    .await;
    assert_eq!(problem_fields(on_group).await, ["timeZone"]);
    let unknown = send(
        &app,
        Method::POST,
        &format!("{base}/groups"),
        Some(&json!({"name": "G", "colour": "red"})),
        &org.token,
        None,
    )
    .await;
    assert_eq!(code_of(unknown, 400).await, "validation_failed");

    let location = create(&app, &org, "locations", json!({"name": "HQ", "timeZone": "America/New_York"})).await;
    assert_eq!(location["timeZone"], "America/New_York");
    let path = format!("{base}/locations/{}", location["id"].as_str().unwrap());
    let moved = send(&app, Method::PATCH, &path, Some(&json!({"timeZone": "Asia/Tokyo"})), &org.token, None).await;
    assert_eq!(json_of(moved, 200).await["timeZone"], "Asia/Tokyo");
    let wrong = send(&app, Method::PATCH, &path, Some(&json!({"timeZone": "Tokyo"})), &org.token, None).await;
    assert_eq!(problem_fields(wrong).await, ["timeZone"]);
}

async fn departments_keep_at_least_one_head(app: TestApp) {
    let org = new_org(&app, "Sunrise").await;
    let (head, _) = member(&app, &org, "member").await;
    let (outsider, _) = new_user(&app, "Out").await;
    let base = format!("/v1/organisations/{}/departments", org.id);

    let headless = send(&app, Method::POST, &base, Some(&json!({"name": "Care"})), &org.token, None).await;
    assert_eq!(problem_fields(headless).await, ["heads"]);
    let foreign =
        send(&app, Method::POST, &base, Some(&json!({"name": "Care", "heads": [outsider]})), &org.token, None).await;
    assert_eq!(problem_fields(foreign).await, ["heads[0]"]);

    let dept = create(&app, &org, "departments", json!({"name": "Care", "heads": [head]})).await;
    assert_eq!(dept["headCount"], 1);
    let heads = format!("{base}/{}/heads", dept["id"].as_str().unwrap());
    let last = send(&app, Method::POST, &heads, Some(&json!({"remove": [head]})), &org.token, None).await;
    assert_eq!(code_of(last, 409).await, "conflict");
    // Removing the last head from the organisation is refused too.
    let leave =
        send(&app, Method::DELETE, &format!("/v1/organisations/{}/members/{head}", org.id), None, &org.token, None)
            .await;
    assert_eq!(code_of(leave, 409).await, "conflict");

    let swapped =
        send(&app, Method::POST, &heads, Some(&json!({"add": [org.owner], "remove": [head]})), &org.token, None).await;
    assert_eq!(json_of(swapped, 200).await["headCount"], 1);
    let listed = json_of(send(&app, Method::GET, &heads, None, &org.token, None).await, 200).await;
    assert_eq!(listed["items"][0]["userId"], org.owner.to_string());
    // Now the former head leaves freely.
    let leave =
        send(&app, Method::DELETE, &format!("/v1/organisations/{}/members/{head}", org.id), None, &org.token, None)
            .await;
    assert_eq!(leave.status(), 204);
}

async fn only_members_join_units_and_staff_must_plan(app: TestApp) {
    let org = new_org(&app, "Sunrise").await;
    let (plain, _) = member(&app, &org, "member").await;
    let (planner, _) = member(&app, &org, "planner").await;
    let (outsider, _) = new_user(&app, "Out").await;
    let group = create(&app, &org, "groups", json!({"name": "Morning"})).await;
    let path = format!("/v1/organisations/{}/groups/{}", org.id, group["id"].as_str().unwrap());

    let foreign = send(
        &app,
        Method::POST,
        &format!("{path}/members"),
        Some(&json!({"add": [plain, outsider]})),
        &org.token,
        None,
    )
    .await;
    assert_eq!(problem_fields(foreign).await, ["add[1]"]);
    let twice = send(
        &app,
        Method::POST,
        &format!("{path}/members"),
        Some(&json!({"add": [plain], "remove": [plain]})),
        &org.token,
        None,
    )
    .await;
    assert_eq!(code_of(twice, 400).await, "validation_failed");
    let unit = json_of(send(&app, Method::GET, &path, None, &org.token, None).await, 200).await;
    assert_eq!(unit["memberCount"], 0, "a rejected change changes nothing");

    let staff = format!("{path}/staff");
    let not_planner = send(&app, Method::POST, &staff, Some(&json!({"add": [plain]})), &org.token, None).await;
    assert_eq!(problem_fields(not_planner).await, ["add[0]"]);
    let added = send(&app, Method::POST, &staff, Some(&json!({"add": [planner]})), &org.token, None).await;
    assert_eq!(json_of(added, 200).await["staffCount"], 1);
    // Demoted below planner, they leave the staff in the same transaction.
    let demote = format!("/v1/organisations/{}/members/{planner}", org.id);
    json_of(send(&app, Method::PUT, &demote, Some(&json!({"role": "member"})), &org.token, None).await, 200).await;
    let unit = json_of(send(&app, Method::GET, &path, None, &org.token, None).await, 200).await;
    assert_eq!(unit["staffCount"], 0);
    let list = json_of(send(&app, Method::GET, &staff, None, &org.token, None).await, 200).await;
    assert!(list["items"].as_array().unwrap().is_empty());
    // Heads are a department thing.
    assert_eq!(send(&app, Method::GET, &format!("{path}/heads"), None, &org.token, None).await.status(), 404);
}

async fn links_are_scoped_and_ordered(app: TestApp) {
    let org = new_org(&app, "Sunrise").await;
    let (user, user_token) = member(&app, &org, "member").await;
    let (_, other_token) = member(&app, &org, "member").await;
    let base = format!("/v1/organisations/{}/links", org.id);
    let mut ids = Vec::new();
    for (name, order) in [("Five", 5), ("One", 1), ("Three", 3)] {
        let body = json!({"type": "QUICK_LINK", "name": name, "url": "https://example.com/x", "order": order});
        ids.push(
            json_of(send(&app, Method::POST, &base, Some(&body), &org.token, None).await, 201).await["id"].clone(),
        );
    }
    let names = |v: &Value| {
        v["items"].as_array().unwrap().iter().map(|l| l["name"].as_str().unwrap().to_string()).collect::<Vec<_>>()
    };
    let listed = json_of(send(&app, Method::GET, &base, None, &user_token, None).await, 200).await;
    assert_eq!(names(&listed), ["One", "Three", "Five"]);

    // Reordering moves it in the list.
    let five = format!("{base}/{}", ids[0].as_str().unwrap());
    let moved =
        send(&app, Method::PATCH, &five, Some(&json!({"order": 0, "type": "SSO"})), &org.token, Some("\"1\"")).await;
    let moved = json_of(moved, 200).await;
    assert_eq!((moved["type"].as_str(), moved["version"].as_i64()), (Some("SSO"), Some(2)));
    let listed = json_of(send(&app, Method::GET, &base, None, &user_token, None).await, 200).await;
    assert_eq!(names(&listed), ["Five", "One", "Three"]);
    assert_eq!(
        code_of(send(&app, Method::DELETE, &five, None, &org.token, Some("\"1\"")).await, 412).await,
        "precondition_failed"
    );
    assert_eq!(send(&app, Method::DELETE, &five, None, &org.token, Some("\"2\"")).await.status(), 204);

    // Scoped links list only under their scope.
    let dept = create(&app, &org, "departments", json!({"name": "Care", "heads": [org.owner]})).await;
    let dept_id = dept["id"].as_str().unwrap();
    let body = json!({"type": "SSO", "name": "Rota", "url": "http://rota.example.com", "departmentId": dept_id});
    json_of(send(&app, Method::POST, &base, Some(&body), &org.token, None).await, 201).await;
    let scoped =
        json_of(send(&app, Method::GET, &format!("{base}?departmentId={dept_id}"), None, &user_token, None).await, 200)
            .await;
    assert_eq!(names(&scoped), ["Rota"]);
    let personal = json!({"type": "QUICK_LINK", "name": "Mine", "url": "https://me.example.com", "userId": user});
    json_of(send(&app, Method::POST, &base, Some(&personal), &org.token, None).await, 201).await;
    let mine =
        json_of(send(&app, Method::GET, &format!("{base}?userId={user}"), None, &user_token, None).await, 200).await;
    assert_eq!(names(&mine), ["Mine"]);
    let theirs = send(&app, Method::GET, &format!("{base}?userId={user}"), None, &other_token, None).await;
    assert_eq!(code_of(theirs, 403).await, "forbidden");

    // Bad input: every field named, nothing stored.
    let bad = json!({"type": "QUICK_LINK", "name": "", "url": "javascript:alert(1)", "order": 2_000_000, "departmentId": Uuid::now_v7()});
    assert_eq!(
        problem_fields(send(&app, Method::POST, &base, Some(&bad), &org.token, None).await).await,
        ["departmentId", "name", "order", "url"]
    );
    let wrong_type = json!({"type": "BOOKMARK", "name": "x", "url": "https://example.com"});
    assert_eq!(
        code_of(send(&app, Method::POST, &base, Some(&wrong_type), &org.token, None).await, 400).await,
        "validation_failed"
    );
    let by_member = json!({"type": "QUICK_LINK", "name": "x", "url": "https://example.com"});
    assert_eq!(
        code_of(send(&app, Method::POST, &base, Some(&by_member), &user_token, None).await, 403).await,
        "forbidden"
    );

    // Deleting the department takes its links.
    let dept_path = format!("/v1/organisations/{}/departments/{dept_id}", org.id);
    assert_eq!(send(&app, Method::DELETE, &dept_path, None, &org.token, None).await.status(), 204);
    let scoped =
        json_of(send(&app, Method::GET, &format!("{base}?departmentId={dept_id}"), None, &org.token, None).await, 200)
            .await;
    assert!(scoped["items"].as_array().unwrap().is_empty());
}

async fn statistics_count_members_and_units(app: TestApp) {
    let org = new_org(&app, "Sunrise").await;
    member(&app, &org, "planner").await;
    member(&app, &org, "member").await;
    let (_, member_token) = member(&app, &org, "member").await;
    create(&app, &org, "groups", json!({"name": "A"})).await;
    create(&app, &org, "groups", json!({"name": "B"})).await;
    create(&app, &org, "locations", json!({"name": "HQ", "timeZone": "UTC"})).await;

    let stats = json_of(
        send(&app, Method::GET, &format!("/v1/organisations/{}/statistics", org.id), None, &member_token, None).await,
        200,
    )
    .await;
    assert_eq!(stats["members"], json!({"total": 4, "owner": 1, "admin": 0, "planner": 1, "member": 2, "guest": 0}));
    assert_eq!(
        (stats["groups"].as_u64(), stats["locations"].as_u64(), stats["departments"].as_u64()),
        (Some(2), Some(1), Some(0))
    );
}

async fn the_invitation_text_round_trips_with_if_match(app: TestApp) {
    let org = new_org(&app, "Sunrise").await;
    let (_, member_token) = member(&app, &org, "member").await;
    let path = format!("/v1/organisations/{}/invitation-text", org.id);

    let empty = send(&app, Method::GET, &path, None, &member_token, None).await;
    assert_eq!(empty.headers()["etag"], "\"0\"");
    assert_eq!(json_of(empty, 200).await["text"], Value::Null);
    let set =
        send(&app, Method::PUT, &path, Some(&json!({"text": "Welcome!\nSee you soon."})), &org.token, Some("\"0\""))
            .await;
    assert_eq!(json_of(set, 200).await["version"], 1);
    let stale = send(&app, Method::PUT, &path, Some(&json!({"text": "Hi"})), &org.token, Some("\"0\"")).await;
    assert_eq!(code_of(stale, 412).await, "precondition_failed");
    let by_member = send(&app, Method::PUT, &path, Some(&json!({"text": "Hi"})), &member_token, None).await;
    assert_eq!(code_of(by_member, 403).await, "forbidden");
    let read = json_of(send(&app, Method::GET, &path, None, &member_token, None).await, 200).await;
    assert_eq!(read["text"], "Welcome!\nSee you soon.");
}

/// Every route of organisation A, with a body where it takes one.
fn routes_of(org: &str, ids: &Value) -> Vec<(Method, String, Option<Value>)> {
    let o = format!("/v1/organisations/{org}");
    let id = |k: &str| ids[k].as_str().unwrap().to_string();
    let mut routes = vec![
        (Method::GET, o.clone(), None),
        (Method::PATCH, o.clone(), Some(json!({"name": "Taken"}))),
        (Method::DELETE, o.clone(), None),
        (Method::GET, format!("{o}/statistics"), None),
        (Method::GET, format!("{o}/members"), None),
        (Method::PUT, format!("{o}/members/{}", id("user")), Some(json!({"role": "admin"}))),
        (Method::DELETE, format!("{o}/members/{}", id("user")), None),
        (Method::GET, format!("{o}/links"), None),
        (Method::POST, format!("{o}/links"), Some(json!({"type": "SSO", "name": "x", "url": "https://x.example"}))),
        (Method::PATCH, format!("{o}/links/{}", id("link")), Some(json!({"name": "y"}))),
        (Method::DELETE, format!("{o}/links/{}", id("link")), None),
        (Method::GET, format!("{o}/invitation-text"), None),
        (Method::PUT, format!("{o}/invitation-text"), Some(json!({"text": "x"}))),
    ];
    for (kind, key, relations) in [
        ("groups", "group", &["members", "staff"][..]),
        ("departments", "department", &["members", "heads"][..]),
        ("locations", "location", &["members"][..]),
        ("security-groups", "securityGroup", &["members"][..]),
    ] {
        let unit = format!("{o}/{kind}/{}", id(key));
        routes.push((Method::GET, format!("{o}/{kind}"), None));
        routes.push((Method::POST, format!("{o}/{kind}"), Some(json!({"name": "x"}))));
        routes.push((Method::GET, unit.clone(), None));
        routes.push((Method::PATCH, unit.clone(), Some(json!({"name": "y"}))));
        routes.push((Method::DELETE, unit.clone(), None));
        for relation in relations {
            routes.push((Method::GET, format!("{unit}/{relation}"), None));
            routes.push((Method::POST, format!("{unit}/{relation}"), Some(json!({"add": [id("user")]}))));
        }
    }
    routes
}

async fn other_tenants_get_404_and_plain_members_403_on_every_route(app: TestApp) {
    let a = new_org(&app, "A").await;
    let b = new_org(&app, "B").await;
    let (plain, plain_token) = member(&app, &a, "member").await;
    let mut ids = json!({"user": plain.to_string()});
    for (kind, key, body) in [
        ("groups", "group", json!({"name": "G"})),
        ("departments", "department", json!({"name": "D", "heads": [a.owner]})),
        ("locations", "location", json!({"name": "L", "timeZone": "UTC"})),
        ("security-groups", "securityGroup", json!({"name": "S"})),
    ] {
        ids[key] = create(&app, &a, kind, body).await["id"].clone();
    }
    let link = json!({"type": "QUICK_LINK", "name": "L", "url": "https://example.com"});
    ids["link"] = json_of(
        send(&app, Method::POST, &format!("/v1/organisations/{}/links", a.id), Some(&link), &a.token, None).await,
        201,
    )
    .await["id"]
        .clone();

    for (method, path, body) in routes_of(&a.id, &ids) {
        let response = send(&app, method.clone(), &path, body.as_ref(), &b.token, None).await;
        assert_eq!(response.status(), 404, "{method} {path}: another tenant's owner gets 404");
        assert_eq!(problem(response).await["code"], "not_found");
        let expected = if method == Method::GET { 200 } else { 403 };
        let own_leave = method == Method::DELETE && path.ends_with(&format!("/members/{plain}"));
        if !own_leave {
            let response = send(&app, method.clone(), &path, body.as_ref(), &plain_token, None).await;
            assert_eq!(response.status().as_u16(), expected, "{method} {path}: a plain member");
        }
    }
    // Unknown and malformed ids are 404 too.
    let unknown = format!("/v1/organisations/{}/groups/{}", a.id, Uuid::now_v7());
    assert_eq!(send(&app, Method::GET, &unknown, None, &a.token, None).await.status(), 404);
    let malformed = format!("/v1/organisations/{}/groups/not-a-uuid", a.id);
    assert_eq!(send(&app, Method::GET, &malformed, None, &a.token, None).await.status(), 404);
    // B's owner changed nothing in A.
    let org =
        json_of(send(&app, Method::GET, &format!("/v1/organisations/{}", a.id), None, &a.token, None).await, 200).await;
    assert_eq!(org["version"], 1);
}

async fn deleting_an_organisation_removes_it_and_deactivates_users_left_alone(app: TestApp) {
    let org = new_org(&app, "Doomed").await;
    let other = new_org(&app, "Other").await;
    let (alone, alone_token) = member(&app, &org, "member").await;
    let (both, _) = member(&app, &org, "planner").await;
    // `both` also joined the other organisation (as by an accepted invitation).
    join(&app, &other, both, "member").await;
    let (_, admin_token) = member(&app, &org, "admin").await;
    let group = create(&app, &org, "groups", json!({"name": "G"})).await;
    let gpath = format!("/v1/organisations/{}/groups/{}", org.id, group["id"].as_str().unwrap());
    json_of(
        send(&app, Method::POST, &format!("{gpath}/members"), Some(&json!({"add": [alone, both]})), &org.token, None)
            .await,
        200,
    )
    .await;
    create(&app, &org, "departments", json!({"name": "D", "heads": [both]})).await;
    let link = json!({"type": "SSO", "name": "L", "url": "https://example.com", "userId": alone});
    json_of(
        send(&app, Method::POST, &format!("/v1/organisations/{}/links", org.id), Some(&link), &org.token, None).await,
        201,
    )
    .await;
    json_of(
        send(
            &app,
            Method::PUT,
            &format!("/v1/organisations/{}/invitation-text", org.id),
            Some(&json!({"text": "Hi"})),
            &org.token,
            None,
        )
        .await,
        200,
    )
    .await;

    let path = format!("/v1/organisations/{}", org.id);
    assert_eq!(code_of(send(&app, Method::DELETE, &path, None, &admin_token, None).await, 403).await, "forbidden");
    assert_eq!(
        code_of(send(&app, Method::DELETE, &path, None, &org.token, Some("\"7\"")).await, 412).await,
        "precondition_failed"
    );
    assert_eq!(send(&app, Method::DELETE, &path, None, &org.token, Some("\"1\"")).await.status(), 204);

    assert!(partition(&app, &org.id).await.is_empty(), "nothing of the organisation is left");
    assert_eq!(send(&app, Method::GET, &path, None, &other.token, None).await.status(), 404);
    // Users left without an organisation are deactivated and signed out.
    assert_eq!(send(&app, Method::GET, &path, None, &org.token, None).await.status(), 401);
    assert_eq!(send(&app, Method::GET, &path, None, &alone_token, None).await.status(), 401);
    let table = app.state.table.as_ref();
    assert!(users::get(table, alone).await.unwrap().unwrap().deactivated, "no organisation left: deactivated");
    assert!(!users::get(table, both).await.unwrap().unwrap().deactivated, "still in another organisation");
    assert!(users::get(table, org.owner).await.unwrap().unwrap().deactivated);
    assert!(users::memberships(table, both).await.unwrap().iter().all(|m| m.organisation_id.to_string() == other.id));
    let audit = table.query(&Query::new(Index::Primary, format!("AUDIT#{}", org.id))).await.unwrap().items;
    assert!(audit.iter().any(|e| e["action"] == "organisation.deleted"), "the audit trail is kept");
    assert_eq!(
        send(&app, Method::GET, &format!("/v1/organisations/{}", other.id), None, &other.token, None).await.status(),
        200
    );
}

async fn an_interrupted_deletion_resumes_with_another_delete(app: TestApp) {
    let org = new_org(&app, "Doomed").await;
    let (m1, _) = member(&app, &org, "member").await;
    member(&app, &org, "guest").await;
    for i in 0..30 {
        create(&app, &org, "groups", json!({"name": format!("G{i}")})).await;
    }
    // Simulate a deletion that crashed half-way: marked, some items gone.
    let table = app.state.table.as_ref();
    let org_id = Uuid::parse_str(&org.id).unwrap();
    let mark = Update::new(Key::new(format!("ORG#{}", org.id), "ORG"))
        .set("deleting", true)
        .set("deletionRequestedBy", org.owner.to_string())
        .remove("GSI1PK")
        .remove("GSI1SK");
    table.update(mark).await.unwrap();
    table
        .delete(&Key::new(format!("ORG#{}", org.id), format!("MEMBER#{m1}")), shared::table::Condition::Always)
        .await
        .unwrap();
    let groups =
        partition(&app, &org.id).await.into_iter().filter(|i| i["SK"].as_str().unwrap().starts_with("GROUP#")).take(10);
    for item in groups {
        table.delete(&Key::of(&item).unwrap(), shared::table::Condition::Always).await.unwrap();
    }
    assert!(
        shared::organisations::get(table, org_id).await.unwrap().is_none(),
        "a deleting organisation reads as gone"
    );
    let path = format!("/v1/organisations/{}", org.id);
    assert_eq!(send(&app, Method::GET, &path, None, &org.token, None).await.status(), 404);

    assert_eq!(send(&app, Method::DELETE, &path, None, &org.token, None).await.status(), 204);
    assert!(partition(&app, &org.id).await.is_empty());
    let (_, root) = superadmin(&app).await;
    assert_eq!(send(&app, Method::DELETE, &path, None, &root, None).await.status(), 404, "and then it is gone");
}

on_both_tables!(
    superadmins_create_and_list_organisations,
    renaming_honours_roles_and_if_match,
    members_are_added_listed_by_role_changed_and_removed,
    an_organisation_always_keeps_an_owner,
    units_of_every_kind_have_crud_and_members,
    locations_need_an_iana_time_zone,
    departments_keep_at_least_one_head,
    only_members_join_units_and_staff_must_plan,
    links_are_scoped_and_ordered,
    statistics_count_members_and_units,
    the_invitation_text_round_trips_with_if_match,
    other_tenants_get_404_and_plain_members_403_on_every_route,
    deleting_an_organisation_removes_it_and_deactivates_users_left_alone,
    an_interrupted_deletion_resumes_with_another_delete,
);
