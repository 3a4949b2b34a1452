//! Authorization across organisations, through HTTP on both table adapters
//! (issue 9): membership only by the member's own act, administrator power
//! scoped to the organisation it comes through, planner links that end with
//! the shared organisation, least data shown to colleagues, API keys that
//! expire and die with their creator's power, and a matrix of every route
//! that takes a user id against every kind of caller.

use reqwest::{Method, Response};
use serde_json::{Value, json};
use shared::people::planners;
use sundial_tests::identity::{created_member, join_by_invitation, superadmin};
use sundial_tests::{TestApp, json_of, on_both_tables};
use uuid::Uuid;

/// How a request authenticates.
#[derive(Clone, Copy)]
enum Auth<'a> {
    Bearer(&'a str),
    Key(&'a str),
}

async fn send(app: &TestApp, method: Method, path: &str, auth: Auth<'_>, body: Option<Value>) -> Response {
    let mut req = app.client.request(method, format!("{}{path}", app.base));
    req = match auth {
        Auth::Bearer(token) => req.bearer_auth(token),
        Auth::Key(key) => req.header("X-API-Key", key),
    };
    if let Some(body) = body {
        req = req.json(&body);
    }
    req.send().await.expect("request")
}

async fn status(app: &TestApp, method: Method, path: &str, auth: Auth<'_>, body: Option<Value>) -> u16 {
    send(app, method, path, auth, body).await.status().as_u16()
}

async fn get(app: &TestApp, path: &str, token: &str) -> Value {
    json_of(send(app, Method::GET, path, Auth::Bearer(token), None).await, 200).await
}

/// An organisation signed up by a fresh owner.
struct Org {
    id: Uuid,
    owner: Uuid,
    token: String,
}

async fn org(app: &TestApp, name: &str) -> Org {
    let email = format!("owner-{}@example.com", Uuid::now_v7().simple());
    let body = app.sign_up(name, &email).await;
    let id = Uuid::parse_str(body["organisation"]["id"].as_str().unwrap()).unwrap();
    let owner = Uuid::parse_str(body["user"]["id"].as_str().unwrap()).unwrap();
    Org { id, owner, token: app.token_for(owner).await }
}

/// A person with an account.
struct Person {
    id: Uuid,
    email: String,
    token: String,
}

/// A brand-new account created into `org` with `role` by its owner.
async fn person(app: &TestApp, org: &Org, first_name: &str, role: &str) -> Person {
    let (id, token) = created_member(app, org.id, &org.token, first_name, role).await;
    let user = get(app, &format!("/v1/users/{id}"), &org.token).await;
    Person { id, email: user["email"].as_str().unwrap().to_string(), token }
}

/// An event in `owner`'s calendar created by `token`; returns its id.
async fn event(app: &TestApp, token: &str, owner: Uuid, title: &str) -> String {
    let body = json!({"ownerId": owner, "title": title, "start": "2026-04-01T08:00:00Z",
                      "end": "2026-04-01T09:00:00Z", "timeZone": "Europe/Stockholm"});
    json_of(app.post("/v1/events", &body, Some(token)).await, 201).await["id"].as_str().unwrap().to_string()
}

async fn titles(app: &TestApp, auth: Auth<'_>, owner: Uuid) -> Result<Vec<String>, u16> {
    let path = format!("/v1/events?ownerId={owner}&from=2026-03-30T00:00:00Z&to=2026-04-30T00:00:00Z");
    let response = send(app, Method::GET, &path, auth, None).await;
    if response.status() != 200 {
        return Err(response.status().as_u16());
    }
    let body: Value = response.json().await.unwrap();
    let mut out: Vec<String> =
        body["items"].as_array().unwrap().iter().map(|e| e["title"].as_str().unwrap().to_string()).collect();
    out.sort();
    Ok(out)
}

/// An organisation API key with every area writable, created by `token`.
async fn api_key(app: &TestApp, org: Uuid, token: &str, expires_at: Option<&str>) -> String {
    let mut body = json!({"name": "integration",
                          "scopes": ["users:write", "organisations:write", "calendar:write", "notifications:write"]});
    if let Some(at) = expires_at {
        body["expiresAt"] = json!(at);
    }
    let created = json_of(app.post(&format!("/v1/organisations/{org}/api-keys"), &body, Some(token)).await, 201).await;
    created["key"].as_str().unwrap().to_string()
}

fn is_full(user: &Value) -> bool {
    user.get("email").is_some() && user.get("customFields").is_some()
}

async fn nobody_joins_an_organisation_but_by_their_own_act(app: TestApp) {
    let b = org(&app, "Birch Care").await;
    let x = org(&app, "Someone Else").await;
    let v = person(&app, &b, "Vera", "member").await;
    let contact = json!({"name": "Nils", "phone": "+46 70 000 00 00"});
    json_of(app.post(&format!("/v1/users/{}/contacts", v.id), &contact, Some(&v.token)).await, 201).await;
    event(&app, &b.token, v.id, "Care plan").await;
    let x_owner = Auth::Bearer(&x.token);

    // X's owner cannot make B's member (or B's owner) a member of X.
    for user in [v.id, b.owner] {
        let path = format!("/v1/organisations/{}/members/{user}", x.id);
        assert_eq!(status(&app, Method::PUT, &path, x_owner, Some(json!({"role": "member"}))).await, 404);
    }
    let members = get(&app, &format!("/v1/organisations/{}/members", x.id), &x.token).await;
    assert_eq!(members["items"].as_array().unwrap().len(), 1, "only X's owner");
    // ... and so reaches nothing of theirs.
    for path in [
        format!("/v1/users/{}", v.id),
        format!("/v1/users/{}/contacts", v.id),
        format!("/v1/users/{}/attachments", v.id),
    ] {
        assert_eq!(status(&app, Method::GET, &path, x_owner, None).await, 404, "{path}");
    }
    assert_eq!(titles(&app, x_owner, v.id).await, Err(404));
    assert_eq!(status(&app, Method::POST, &format!("/v1/users/{}/deactivate", b.owner), x_owner, None).await, 404);
    assert_eq!(get(&app, &format!("/v1/organisations/{}", b.id), &b.token).await["id"], b.id.to_string());

    // A role change answers the membership, not the profile.
    let admin = person(&app, &x, "Adam", "member").await;
    let path = format!("/v1/organisations/{}/members/{}", x.id, admin.id);
    let changed = json_of(send(&app, Method::PUT, &path, x_owner, Some(json!({"role": "admin"}))).await, 200).await;
    assert_eq!((changed["role"].as_str(), changed["userId"].as_str()), (Some("admin"), Some(&*admin.id.to_string())));
    assert_eq!(changed["organisationId"], x.id.to_string());
    assert!(changed.get("user").is_none() && changed.get("email").is_none());

    // A platform superadmin may still add an existing account directly.
    let (_, root_token) = superadmin(&app).await;
    let path = format!("/v1/organisations/{}/members/{}", x.id, v.id);
    let added =
        json_of(send(&app, Method::PUT, &path, Auth::Bearer(&root_token), Some(json!({"role": "guest"}))).await, 201)
            .await;
    assert_eq!((added["role"].as_str(), added["suspended"].as_bool()), (Some("guest"), Some(false)));
}

async fn an_administrator_acts_only_within_their_own_organisation(app: TestApp) {
    let a = org(&app, "Aspen Care").await;
    let b = org(&app, "Birch Work").await;
    let v = person(&app, &a, "Vera", "member").await;
    join_by_invitation(&app, b.id, &b.token, &v.email, &v.token, "member").await;
    let (oa, ob) = (Auth::Bearer(&a.token), Auth::Bearer(&b.token));

    let a_event = event(&app, &a.token, v.id, "A care plan").await;
    let b_event = event(&app, &b.token, v.id, "B shift").await;
    event(&app, &v.token, v.id, "Private").await;
    let read = get(&app, &format!("/v1/events/{a_event}"), &v.token).await;
    assert_eq!(read["organisationId"], a.id.to_string(), "an admin's event belongs to their organisation");
    let contact = json!({"name": "Nils"});
    json_of(app.post(&format!("/v1/users/{}/contacts", v.id), &contact, Some(&v.token)).await, 201).await;

    // Each administrator sees their organisation's events of V; V sees all.
    assert_eq!(titles(&app, oa, v.id).await, Ok(vec!["A care plan".to_string()]));
    assert_eq!(titles(&app, ob, v.id).await, Ok(vec!["B shift".to_string()]));
    assert_eq!(titles(&app, Auth::Bearer(&v.token), v.id).await.unwrap().len(), 3);
    assert_eq!(status(&app, Method::GET, &format!("/v1/events/{b_event}"), oa, None).await, 404);
    let rename = Some(json!({"title": "Mine now"}));
    assert_eq!(status(&app, Method::PATCH, &format!("/v1/events/{b_event}"), oa, rename).await, 404);
    // An event placed in an organisation the caller does not plan in is refused.
    let body = json!({"ownerId": v.id, "organisationId": b.id, "title": "x", "start": "2026-04-02T08:00:00Z",
                      "end": "2026-04-02T09:00:00Z"});
    let response = app.post("/v1/events", &body, Some(&a.token)).await;
    assert_eq!(sundial_tests::bad_fields(response).await, ["organisationId"]);

    // V's personal data is V's: neither administrator reaches it.
    for token in [oa, ob] {
        for path in ["contacts", "attachments", "preferences", "planners"] {
            let path = format!("/v1/users/{}/{path}", v.id);
            assert_eq!(status(&app, Method::GET, &path, token, None).await, 403, "{path}");
        }
    }
    // The profile they see and change (directory fields), not the personal ones.
    assert!(is_full(&get(&app, &format!("/v1/users/{}", v.id), &a.token).await));
    let path = format!("/v1/users/{}", v.id);
    assert_eq!(status(&app, Method::PATCH, &path, oa, Some(json!({"displayName": "V"}))).await, 200);
    assert_eq!(status(&app, Method::PATCH, &path, oa, Some(json!({"bio": "mine"}))).await, 403);

    // Deactivating suspends the membership in A only; V keeps B and their account.
    let deactivated = send(&app, Method::POST, &format!("/v1/users/{}/deactivate", v.id), oa, None).await;
    assert_eq!(json_of(deactivated, 200).await["deactivated"], false);
    assert_eq!(status(&app, Method::GET, "/v1/users/me", Auth::Bearer(&v.token), None).await, 200);
    let (org_a, org_b) = (format!("/v1/organisations/{}", a.id), format!("/v1/organisations/{}", b.id));
    assert_eq!(status(&app, Method::GET, &org_a, Auth::Bearer(&v.token), None).await, 404);
    assert_eq!(status(&app, Method::GET, &org_b, Auth::Bearer(&v.token), None).await, 200);
    let members = get(&app, &format!("{org_a}/members"), &a.token).await;
    let entry = members["items"].as_array().unwrap().iter().find(|m| m["userId"] == v.id.to_string()).unwrap();
    assert_eq!(entry["suspended"], true);
    assert_eq!(status(&app, Method::POST, &format!("/v1/users/{}/activate", v.id), oa, None).await, 200);
    assert_eq!(status(&app, Method::GET, &org_a, Auth::Bearer(&v.token), None).await, 200);
    // Deleting the account needs an administrator of every organisation of V.
    assert_eq!(status(&app, Method::DELETE, &format!("/v1/users/{}", v.id), oa, None).await, 403);

    // Nobody but an owner acts on an owner; nobody but a superadmin on a superadmin.
    let admin = person(&app, &a, "Ada", "admin").await;
    let on_owner = format!("/v1/users/{}", a.owner);
    let admin_auth = Auth::Bearer(&admin.token);
    assert_eq!(status(&app, Method::POST, &format!("{on_owner}/lock"), admin_auth, None).await, 403);
    assert_eq!(status(&app, Method::PATCH, &on_owner, admin_auth, Some(json!({"displayName": "x"}))).await, 403);
    let (root, root_token) = superadmin(&app).await;
    let path = format!("/v1/organisations/{}/members/{}", a.id, root);
    let body = Some(json!({"role": "member"}));
    assert_eq!(status(&app, Method::PUT, &path, Auth::Bearer(&root_token), body).await, 201);
    let on_root = format!("/v1/users/{}", root);
    assert_eq!(status(&app, Method::POST, &format!("{on_root}/lock"), oa, None).await, 403);
    assert_eq!(status(&app, Method::PATCH, &on_root, oa, Some(json!({"displayName": "x"}))).await, 403);
    let path = format!("/v1/organisations/{}/members/{}", a.id, root);
    assert_eq!(status(&app, Method::PUT, &path, oa, Some(json!({"role": "guest"}))).await, 403);
}

async fn planner_links_end_when_planner_and_member_stop_sharing_the_organisation(app: TestApp) {
    let a = org(&app, "Aspen Care").await;
    let planner = person(&app, &a, "Pia", "planner").await;
    let member = person(&app, &a, "Mo", "member").await;
    let link = format!("/v1/users/{}/planners/{}", member.id, planner.id);
    let body = Some(json!({"permissions": {"calendar": "write", "profile": "read"}}));
    let created = json_of(send(&app, Method::PUT, &link, Auth::Bearer(&member.token), body).await, 201).await;
    assert_eq!(created["organisationId"], a.id.to_string());
    assert_eq!(titles(&app, Auth::Bearer(&planner.token), member.id).await, Ok(vec![]));

    let leave = format!("/v1/organisations/{}/members/{}", a.id, planner.id);
    assert_eq!(status(&app, Method::DELETE, &leave, Auth::Bearer(&a.token), None).await, 204);
    let links = get(&app, &format!("/v1/users/{}/planners", member.id), &member.token).await;
    assert!(links["items"].as_array().unwrap().is_empty(), "the link ended with the membership");
    assert_eq!(titles(&app, Auth::Bearer(&planner.token), member.id).await, Err(404));

    // Deleting the organisation ends the links made through it.
    let c = org(&app, "Cedar Family").await;
    let p2 = person(&app, &c, "Per", "planner").await;
    let m2 = person(&app, &c, "Maj", "member").await;
    let link = format!("/v1/users/{}/planners/{}", m2.id, p2.id);
    let body = Some(json!({"permissions": {"calendar": "read"}}));
    assert_eq!(status(&app, Method::PUT, &link, Auth::Bearer(&c.token), body).await, 201);
    let delete = format!("/v1/organisations/{}", c.id);
    assert_eq!(status(&app, Method::DELETE, &delete, Auth::Bearer(&c.token), None).await, 204);
    assert!(planners::get(app.state.table.as_ref(), m2.id, p2.id).await.unwrap().is_none());
}

async fn colleagues_see_directory_fields_unless_the_workplace_keeps_a_contact_directory(app: TestApp) {
    let a = org(&app, "Aspen Works").await;
    let target = person(&app, &a, "Tess", "member").await;
    let colleague = person(&app, &a, "Col", "member").await;
    let guest = person(&app, &a, "Gus", "guest").await;
    let phone = Some(json!({"phone": "+46 70 111 22 33", "bio": "private"}));
    let path = format!("/v1/users/{}", target.id);
    assert_eq!(status(&app, Method::PATCH, &path, Auth::Bearer(&target.token), phone).await, 200);
    let group = json_of(
        app.post(&format!("/v1/organisations/{}/groups", a.id), &json!({"name": "Morning"}), Some(&a.token)).await,
        201,
    )
    .await;
    let group_members = format!("/v1/organisations/{}/groups/{}/members", a.id, group["id"].as_str().unwrap());
    let add = app.post(&group_members, &json!({"add": [target.id]}), Some(&a.token)).await;
    assert!(add.status().is_success());

    let entry_in = |list: &Value| -> Value {
        list["items"].as_array().unwrap().iter().find(|m| m["userId"] == target.id.to_string()).unwrap()["user"].clone()
    };
    let members = format!("/v1/organisations/{}/members", a.id);
    for token in [&colleague.token, &guest.token] {
        for list in [&members, &group_members] {
            let user = entry_in(&get(&app, list, token).await);
            assert_eq!(user["firstName"], "Tess");
            assert!(user.get("email").is_none() && user.get("phone").is_none() && user.get("bio").is_none(), "{list}");
        }
        let read = get(&app, &path, token).await;
        assert!(read.get("email").is_none() && read.get("bio").is_none());
    }
    assert!(is_full(&entry_in(&get(&app, &members, &a.token).await)), "owners see everything");
    assert!(is_full(&entry_in(&get(&app, &members, &target.token).await)), "everyone sees all of themself");

    // The workplace opts in to a contact directory: members, not guests, see email and phone.
    let settings = Some(json!({"contactDirectory": true}));
    let org_path = format!("/v1/organisations/{}", a.id);
    let changed = json_of(send(&app, Method::PATCH, &org_path, Auth::Bearer(&a.token), settings).await, 200).await;
    assert_eq!(changed["contactDirectory"], true);
    let user = entry_in(&get(&app, &members, &colleague.token).await);
    assert_eq!((user["email"].as_str(), user["phone"].as_str()), (Some(&*target.email), Some("+46 70 111 22 33")));
    assert!(user.get("bio").is_none());
    assert_eq!(get(&app, &path, &colleague.token).await["email"], target.email.as_str());
    let user = entry_in(&get(&app, &members, &guest.token).await);
    assert!(user.get("email").is_none(), "guests never see contact details");
    let settings = Some(json!({"contactDirectory": true}));
    assert_eq!(status(&app, Method::PATCH, &org_path, Auth::Bearer(&colleague.token), settings).await, 403);
}

async fn api_keys_expire_die_with_their_creators_power_and_never_add_members(app: TestApp) {
    let a = org(&app, "Aspen Care").await;
    let admin = person(&app, &a, "Ada", "admin").await;
    let member = person(&app, &a, "Mo", "member").await;
    let user_path = format!("/v1/users/{}", member.id);

    let body = json!({"name": "old", "scopes": ["users:read"], "expiresAt": "2020-01-01T00:00:00Z"});
    let response = app.post(&format!("/v1/organisations/{}/api-keys", a.id), &body, Some(&admin.token)).await;
    assert_eq!(sundial_tests::bad_fields(response).await, ["expiresAt"]);
    let expiring = api_key(&app, a.id, &admin.token, Some("2026-03-29T07:30:00Z")).await;
    assert_eq!(status(&app, Method::GET, &user_path, Auth::Key(&expiring), None).await, 200);
    app.clock.advance(chrono::Duration::hours(2));
    assert_eq!(status(&app, Method::GET, &user_path, Auth::Key(&expiring), None).await, 401, "expired");

    let admin_token = app.token_for(admin.id).await;
    let key = api_key(&app, a.id, &admin_token, None).await;
    assert_eq!(status(&app, Method::GET, &user_path, Auth::Key(&key), None).await, 200);
    let demote = format!("/v1/organisations/{}/members/{}", a.id, admin.id);
    let a_token = app.token_for(a.owner).await;
    let body = Some(json!({"role": "member"}));
    assert_eq!(status(&app, Method::PUT, &demote, Auth::Bearer(&a_token), body).await, 200);
    assert_eq!(status(&app, Method::GET, &user_path, Auth::Key(&key), None).await, 401, "its creator lost admin");

    let key = api_key(&app, a.id, &a_token, None).await;
    let new_user = json!({"email": "new@example.com", "firstName": "N", "lastName": "U", "organisationId": a.id,
                          "role": "member"});
    assert_eq!(status(&app, Method::POST, "/v1/users", Auth::Key(&key), Some(new_user)).await, 403);
    let outsider = org(&app, "Elsewhere").await;
    let add = format!("/v1/organisations/{}/members/{}", a.id, outsider.owner);
    assert_eq!(status(&app, Method::PUT, &add, Auth::Key(&key), Some(json!({"role": "member"}))).await, 404);
    let on_owner = format!("/v1/users/{}", a.owner);
    assert_eq!(status(&app, Method::POST, &format!("{on_owner}/lock"), Auth::Key(&key), None).await, 403);
    let rename = Some(json!({"displayName": "x"}));
    assert_eq!(status(&app, Method::PATCH, &on_owner, Auth::Key(&key), rename).await, 403);
    let promote = format!("/v1/organisations/{}/members/{}", a.id, member.id);
    assert_eq!(status(&app, Method::PUT, &promote, Auth::Key(&key), Some(json!({"role": "owner"}))).await, 403);
}

/// What one actor may do to the target user in the matrix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Sees {
    /// 404 everywhere.
    Nothing,
    /// The directory entry; `other` on everything else.
    Directory { other: u16 },
    /// The whole profile and personal data (self, planner with profile
    /// write, superadmin, administrator of all the user's organisations).
    Everything,
    /// An administrator of one of the user's two organisations.
    ScopedAdmin,
}

/// One row of the matrix: name, credential, what they see, and the event
/// titles they list (or the status they get).
type Actor<'a> = (&'a str, Auth<'a>, Sees, Result<Vec<&'a str>, u16>);

async fn every_route_that_takes_a_user_id_answers_each_kind_of_caller(app: TestApp) {
    let a = org(&app, "Aspen Care").await;
    let b = org(&app, "Birch Work").await;
    let u = org(&app, "Unrelated").await;
    let v = person(&app, &a, "Vera", "member").await;
    join_by_invitation(&app, b.id, &b.token, &v.email, &v.token, "member").await;
    let colleague = person(&app, &a, "Col", "member").await;
    let guest = person(&app, &a, "Gus", "guest").await;
    let full_planner = person(&app, &a, "Pia", "planner").await;
    let bare_planner = person(&app, &a, "Per", "planner").await;
    for (planner, permissions) in
        [(&full_planner, json!({"profile": "write", "calendar": "read"})), (&bare_planner, json!({}))]
    {
        let link = format!("/v1/users/{}/planners/{}", v.id, planner.id);
        let body = Some(json!({"permissions": permissions}));
        assert_eq!(status(&app, Method::PUT, &link, Auth::Bearer(&v.token), body).await, 201);
    }
    let admin_a = person(&app, &a, "Ada", "admin").await;
    let admin_b = person(&app, &b, "Bea", "admin").await;
    let admin_u = person(&app, &u, "Ulf", "admin").await;
    let key_a = api_key(&app, a.id, &a.token, None).await;
    let key_b = api_key(&app, b.id, &b.token, None).await;
    let key_u = api_key(&app, u.id, &u.token, None).await;
    let (_, root_token) = superadmin(&app).await;
    event(&app, &a.token, v.id, "A plan").await;
    event(&app, &b.token, v.id, "B plan").await;
    event(&app, &v.token, v.id, "Private").await;

    let actors: Vec<Actor<'_>> = vec![
        ("self", Auth::Bearer(&v.token), Sees::Everything, Ok(vec!["A plan", "B plan", "Private"])),
        ("colleague", Auth::Bearer(&colleague.token), Sees::Directory { other: 404 }, Err(404)),
        ("guest", Auth::Bearer(&guest.token), Sees::Directory { other: 404 }, Err(404)),
        ("planner with profile", Auth::Bearer(&full_planner.token), Sees::Everything, Ok(vec!["A plan", "Private"])),
        ("planner without", Auth::Bearer(&bare_planner.token), Sees::Directory { other: 403 }, Err(403)),
        ("admin of A", Auth::Bearer(&admin_a.token), Sees::ScopedAdmin, Ok(vec!["A plan"])),
        ("admin of B", Auth::Bearer(&admin_b.token), Sees::ScopedAdmin, Ok(vec!["B plan"])),
        ("admin elsewhere", Auth::Bearer(&admin_u.token), Sees::Nothing, Err(404)),
        ("key of A", Auth::Key(&key_a), Sees::ScopedAdmin, Ok(vec!["A plan"])),
        ("key of B", Auth::Key(&key_b), Sees::ScopedAdmin, Ok(vec!["B plan"])),
        ("key elsewhere", Auth::Key(&key_u), Sees::Nothing, Err(404)),
        ("superadmin", Auth::Bearer(&root_token), Sees::Everything, Ok(vec!["A plan", "B plan", "Private"])),
    ];
    let id = v.id;
    for (name, auth, sees, events) in actors {
        // The profile, with the fields this actor may see.
        let response = send(&app, Method::GET, &format!("/v1/users/{id}"), auth, None).await;
        match sees {
            Sees::Nothing => assert_eq!(response.status(), 404, "{name}: GET user"),
            Sees::Directory { .. } => {
                let user = json_of(response, 200).await;
                assert_eq!(user["firstName"], "Vera", "{name}");
                assert!(user.get("email").is_none() && user.get("customFields").is_none(), "{name}: directory only");
            }
            Sees::Everything | Sees::ScopedAdmin => assert!(is_full(&json_of(response, 200).await), "{name}"),
        }
        // Events: each sees the events of the organisations they come through.
        let expected = events.map(|t| t.into_iter().map(String::from).collect::<Vec<_>>());
        assert_eq!(titles(&app, auth, id).await, expected, "{name}: events");
        // Personal data.
        for path in ["contacts", "attachments", "preferences", "planners", "followers"] {
            let expected = match sees {
                Sees::Nothing => 404,
                Sees::Directory { other } => other,
                Sees::Everything => 200,
                Sees::ScopedAdmin => 403,
            };
            let got = status(&app, Method::GET, &format!("/v1/users/{id}/{path}"), auth, None).await;
            assert_eq!(got, expected, "{name}: GET {path}");
        }
        // Changing the directory profile.
        let expected = match sees {
            Sees::Nothing => 404,
            Sees::Directory { other } => other,
            Sees::Everything | Sees::ScopedAdmin => 200,
        };
        let rename = Some(json!({"displayName": "Vera V"}));
        assert_eq!(status(&app, Method::PATCH, &format!("/v1/users/{id}"), auth, rename).await, expected, "{name}");
        // Writes to personal data (the planner link grants profile write, not calendar write).
        let writes: Vec<(Method, String, Value, u16)> = vec![
            (Method::PUT, format!("/v1/users/{id}/preferences/theme"), json!({"value": "dark"}), 200),
            (Method::POST, format!("/v1/users/{id}/contacts"), json!({"name": "Nils"}), 201),
            (
                Method::POST,
                format!("/v1/users/{id}/attachments/upload-url"),
                json!({"fileName": "a.pdf", "contentType": "application/pdf", "size": 10}),
                201,
            ),
        ];
        for (method, path, body, allowed) in writes {
            let expected = match sees {
                Sees::Nothing => 404,
                Sees::Directory { other } => other,
                Sees::Everything => allowed,
                Sees::ScopedAdmin => 403,
            };
            let got = status(&app, method.clone(), &path, auth, Some(body)).await;
            // A preference is created (201) the first time and replaced (200) after.
            let got = if got == 201 && allowed == 200 { 200 } else { got };
            assert_eq!(got, expected, "{name}: {method} {path}");
        }
        // Importing templates is a calendar write of the user's own templates
        // (an empty list is a 400 for whoever may do it).
        let import = format!("/v1/users/{id}/event-templates/import");
        let expected = match (name, sees) {
            (_, Sees::Nothing) => 404,
            (_, Sees::Directory { other }) => other,
            ("planner with profile", _) | (_, Sees::ScopedAdmin) => 403,
            _ => 400,
        };
        let got = status(&app, Method::POST, &import, auth, Some(json!({"templateIds": []}))).await;
        assert_eq!(got, expected, "{name}: import templates");
        // Inviting a planner: the user or an administrator of all their organisations.
        let invite = format!("/v1/users/{id}/planner-invites");
        let expected = match (name, sees) {
            (_, Sees::Nothing) => 404,
            (_, Sees::Directory { other }) => other,
            ("self" | "superadmin", _) => 202,
            _ => 403,
        };
        let got = status(&app, Method::POST, &invite, auth, Some(json!({"email": "p@example.com"}))).await;
        assert_eq!(got, expected, "{name}: planner invite");
        // Lock then unlock: a scoped admin suspends the membership only.
        let expected = match (name, sees) {
            ("self", _) => 403,
            (_, Sees::Nothing) => 404,
            (_, Sees::Directory { other }) => other,
            (_, Sees::Everything) if name != "superadmin" => 403,
            _ => 200,
        };
        for (off, on, flag) in [("lock", "unlock", "locked"), ("deactivate", "activate", "deactivated")] {
            let response = send(&app, Method::POST, &format!("/v1/users/{id}/{off}"), auth, None).await;
            assert_eq!(response.status(), expected, "{name}: {off}");
            if expected == 200 {
                let account = response.json::<Value>().await.unwrap()[flag].as_bool();
                assert_eq!(
                    account,
                    Some(name == "superadmin"),
                    "{name}: only account-wide power can {off} the account"
                );
                assert_eq!(status(&app, Method::POST, &format!("/v1/users/{id}/{on}"), auth, None).await, 200);
            }
        }
        // Deleting the account: an If-Match that cannot match shows who passed authorization (412).
        let mut req = app.client.delete(format!("{}/v1/users/{id}", app.base)).header("If-Match", "\"999\"");
        req = match auth {
            Auth::Bearer(token) => req.bearer_auth(token),
            Auth::Key(key) => req.header("X-API-Key", key),
        };
        let expected = match (name, sees) {
            ("self" | "superadmin", _) => 412,
            (_, Sees::Nothing) | (_, Sees::Directory { other: 404 }) => 404,
            _ => 403,
        };
        assert_eq!(req.send().await.unwrap().status(), expected, "{name}: delete");
    }
}

on_both_tables!(
    nobody_joins_an_organisation_but_by_their_own_act,
    an_administrator_acts_only_within_their_own_organisation,
    planner_links_end_when_planner_and_member_stop_sharing_the_organisation,
    colleagues_see_directory_fields_unless_the_workplace_keeps_a_contact_directory,
    api_keys_expire_die_with_their_creators_power_and_never_add_members,
    every_route_that_takes_a_user_id_answers_each_kind_of_caller,
);
