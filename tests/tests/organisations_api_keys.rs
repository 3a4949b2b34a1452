//! Organisation API keys through HTTP on both table adapters: created by
//! owners and admins and shown once, used with `X-API-Key` within their
//! scopes and their organisation only, revoked at once, audited as the key,
//! and removed with their organisation.

use reqwest::{Method, Response};
use serde_json::{Value, json};
use shared::keys;

use shared::table::{Index, Key, Query};
use sundial_tests::identity::signed_up_owner_as;
use sundial_tests::json_of;
use sundial_tests::{TestApp, on_both_tables, problem};
use uuid::Uuid;

enum Auth<'a> {
    Bearer(&'a str),
    Key(&'a str),
}

async fn send(app: &TestApp, method: Method, path: &str, body: Option<&Value>, auth: Auth<'_>) -> Response {
    let mut req = app.client.request(method, format!("{}{path}", app.base));
    req = match auth {
        Auth::Bearer(token) => req.bearer_auth(token),
        Auth::Key(key) => req.header("X-API-Key", key),
    };
    if let Some(body) = body {
        req = req.json(body);
    }
    req.send().await.expect("request")
}

async fn code_of(response: Response, status: u16) -> String {
    let actual = response.status().as_u16();
    let body = problem(response).await;
    assert_eq!(actual, status, "unexpected status; body: {body}");
    body["code"].as_str().unwrap_or_default().to_string()
}

struct Org {
    id: Uuid,
    token: String,
}

async fn new_org(app: &TestApp) -> Org {
    let email = format!("owner-{}@example.com", Uuid::now_v7().simple());
    let (id, _, token) = signed_up_owner_as(app, "Sunrise Care", &email).await;
    Org { id, token }
}

/// A user added to `org` with `role`, with a token.
async fn member(app: &TestApp, org: &Org, role: &str) -> (Uuid, String) {
    sundial_tests::identity::created_member(app, org.id, &org.token, "Member", role).await
}

/// Creates a key with `scopes`; returns the 201 body.
async fn new_key(app: &TestApp, org: &Org, scopes: &[&str]) -> Value {
    let path = format!("/v1/organisations/{}/api-keys", org.id);
    let body = json!({"name": "CRM sync", "scopes": scopes});
    json_of(send(app, Method::POST, &path, Some(&body), Auth::Bearer(&org.token)).await, 201).await
}

async fn a_key_is_shown_once_and_acts_within_its_scopes(app: TestApp) {
    let org = new_org(&app).await;
    let (member_id, _) = member(&app, &org, "member").await;
    let path = format!("/v1/organisations/{}/api-keys", org.id);
    let body = json!({"name": "CRM sync", "scopes": ["organisations:read", "users:read"]});
    let response = send(&app, Method::POST, &path, Some(&body), Auth::Bearer(&org.token)).await;
    assert_eq!(response.headers().get("cache-control").unwrap(), "no-store");
    let created = json_of(response, 201).await;
    let key = created["key"].as_str().unwrap().to_string();
    assert!(key.starts_with("sdl_key_"));
    assert_eq!(created["scopes"], json!(["organisations:read", "users:read"]));

    let listed = json_of(send(&app, Method::GET, &path, None, Auth::Bearer(&org.token)).await, 200).await;
    assert_eq!(listed["items"].as_array().unwrap().len(), 1);
    assert_eq!(listed["items"][0]["id"], created["id"]);
    assert!(listed["items"][0].get("key").is_none());
    assert!(!listed.to_string().contains(&key), "the secret is never listed");

    let org_path = format!("/v1/organisations/{}", org.id);
    let read = json_of(send(&app, Method::GET, &org_path, None, Auth::Key(&key)).await, 200).await;
    assert_eq!(read["id"], org.id.to_string());
    let members = format!("/v1/organisations/{}/members", org.id);
    let members = json_of(send(&app, Method::GET, &members, None, Auth::Key(&key)).await, 200).await;
    assert_eq!(members["items"].as_array().unwrap().len(), 2);
    let user = format!("/v1/users/{member_id}");
    json_of(send(&app, Method::GET, &user, None, Auth::Key(&key)).await, 200).await;

    // Outside its scopes, and routes about a person, are refused.
    let rename = json!({"name": "Renamed"});
    let patch = send(&app, Method::PATCH, &org_path, Some(&rename), Auth::Key(&key)).await;
    assert_eq!(code_of(patch, 403).await, "forbidden");
    let templates = format!("/v1/event-templates?organisationId={}", org.id);
    assert_eq!(code_of(send(&app, Method::GET, &templates, None, Auth::Key(&key)).await, 403).await, "forbidden");
    assert_eq!(code_of(send(&app, Method::GET, "/v1/users/me", None, Auth::Key(&key)).await, 403).await, "forbidden");
    let sessions = send(&app, Method::GET, "/v1/auth/sessions", None, Auth::Key(&key)).await;
    assert_eq!(code_of(sessions, 403).await, "forbidden");
    let minting = send(&app, Method::POST, &path, Some(&body), Auth::Key(&key)).await;
    assert_eq!(code_of(minting, 403).await, "forbidden");
}

async fn a_key_reaches_only_its_own_organisation(app: TestApp) {
    let org = new_org(&app).await;
    let other = new_org(&app).await;
    let (stranger, _) = member(&app, &other, "member").await;
    let key = new_key(&app, &org, &["organisations:write", "users:write"]).await["key"].as_str().unwrap().to_string();

    let other_path = format!("/v1/organisations/{}", other.id);
    assert_eq!(code_of(send(&app, Method::GET, &other_path, None, Auth::Key(&key)).await, 404).await, "not_found");
    let members = format!("{other_path}/members");
    assert_eq!(code_of(send(&app, Method::GET, &members, None, Auth::Key(&key)).await, 404).await, "not_found");
    let invite = json!({"email": "x@example.com", "role": "member"});
    let invitations = format!("{other_path}/invitations");
    let response = send(&app, Method::POST, &invitations, Some(&invite), Auth::Key(&key)).await;
    assert_eq!(code_of(response, 404).await, "not_found");
    let user = format!("/v1/users/{stranger}");
    assert_eq!(code_of(send(&app, Method::GET, &user, None, Auth::Key(&key)).await, 404).await, "not_found");
    // No superadmin powers either.
    let all = send(&app, Method::GET, "/v1/organisations", None, Auth::Key(&key)).await;
    assert_eq!(code_of(all, 403).await, "forbidden");
}

async fn a_revoked_or_unknown_key_is_unauthenticated(app: TestApp) {
    let org = new_org(&app).await;
    let created = new_key(&app, &org, &["organisations:read"]).await;
    let key = created["key"].as_str().unwrap();
    let org_path = format!("/v1/organisations/{}", org.id);
    json_of(send(&app, Method::GET, &org_path, None, Auth::Key(key)).await, 200).await;

    let one = format!("/v1/organisations/{}/api-keys/{}", org.id, created["id"].as_str().unwrap());
    json_of(send(&app, Method::DELETE, &one, None, Auth::Bearer(&org.token)).await, 204).await;
    assert_eq!(code_of(send(&app, Method::GET, &org_path, None, Auth::Key(key)).await, 401).await, "unauthenticated");
    let listed = json_of(
        send(&app, Method::GET, &format!("/v1/organisations/{}/api-keys", org.id), None, Auth::Bearer(&org.token))
            .await,
        200,
    )
    .await;
    assert!(listed["items"].as_array().unwrap().is_empty());
    assert_eq!(code_of(send(&app, Method::DELETE, &one, None, Auth::Bearer(&org.token)).await, 404).await, "not_found");
    let forged = "sdl_key_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
    assert_eq!(
        code_of(send(&app, Method::GET, &org_path, None, Auth::Key(forged)).await, 401).await,
        "unauthenticated"
    );
    assert_eq!(
        code_of(send(&app, Method::GET, &org_path, None, Auth::Key("nonsense")).await, 401).await,
        "unauthenticated"
    );
}

async fn changes_made_with_a_key_are_audited_as_the_key(app: TestApp) {
    let org = new_org(&app).await;
    let created = new_key(&app, &org, &["organisations:write"]).await;
    let key = created["key"].as_str().unwrap();
    let key_id = created["id"].as_str().unwrap();
    let path = format!("/v1/organisations/{}/invitations", org.id);
    let body = json!({"email": format!("{}@example.com", Uuid::now_v7().simple()), "role": "member"});
    let invitation = json_of(send(&app, Method::POST, &path, Some(&body), Auth::Key(key)).await, 201).await;
    let actor = format!("apikey:{key_id}");
    assert_eq!(invitation["invitedBy"], actor.as_str());

    let query = Query::new(Index::Gsi1, keys::audit_by_gsi1pk(&actor));
    let entries = app.state.table.query(&query).await.unwrap().items;
    let actions: Vec<&str> = entries.iter().map(|e| e["action"].as_str().unwrap()).collect();
    assert_eq!(actions, ["invitation.created"]);
    assert_eq!(entries[0]["organisationId"], org.id.to_string());
    // A key cannot invite an owner: it administers like an admin, never an owner.
    let owner = json!({"email": "boss@example.com", "role": "owner"});
    assert_eq!(code_of(send(&app, Method::POST, &path, Some(&owner), Auth::Key(key)).await, 403).await, "forbidden");
}

async fn only_owners_and_admins_manage_keys_and_never_with_auth_scopes(app: TestApp) {
    let org = new_org(&app).await;
    let (_, plain) = member(&app, &org, "member").await;
    let (_, admin) = member(&app, &org, "admin").await;
    let other = new_org(&app).await;
    let path = format!("/v1/organisations/{}/api-keys", org.id);
    let body = json!({"name": "CRM sync", "scopes": ["calendar:read"]});
    assert_eq!(
        code_of(send(&app, Method::POST, &path, Some(&body), Auth::Bearer(&plain)).await, 403).await,
        "forbidden"
    );
    assert_eq!(code_of(send(&app, Method::GET, &path, None, Auth::Bearer(&plain)).await, 403).await, "forbidden");
    let foreign = send(&app, Method::POST, &path, Some(&body), Auth::Bearer(&other.token)).await;
    assert_eq!(code_of(foreign, 404).await, "not_found");
    json_of(send(&app, Method::POST, &path, Some(&body), Auth::Bearer(&admin)).await, 201).await;

    let bad = json!({"name": "", "scopes": ["auth:read", "calendar:write"]});
    let response = send(&app, Method::POST, &path, Some(&bad), Auth::Bearer(&org.token)).await;
    let status = response.status().as_u16();
    let problem = problem(response).await;
    assert_eq!(status, 400);
    let fields: Vec<&str> =
        problem["errors"].as_array().unwrap().iter().map(|e| e["field"].as_str().unwrap()).collect();
    assert_eq!(fields, ["name", "scopes[0]"]);
}

async fn deleting_the_organisation_removes_its_keys(app: TestApp) {
    let org = new_org(&app).await;
    let created = new_key(&app, &org, &["organisations:read"]).await;
    let key = created["key"].as_str().unwrap();
    let org_path = format!("/v1/organisations/{}", org.id);
    let deleted = send(&app, Method::DELETE, &org_path, None, Auth::Bearer(&org.token)).await;
    assert!(deleted.status().is_success(), "deleted: {}", deleted.status());
    assert_eq!(code_of(send(&app, Method::GET, &org_path, None, Auth::Key(key)).await, 401).await, "unauthenticated");
    let lookup = Key::new(keys::api_key_hash_pk(&shared::access::api_keys::hash(key)), keys::API_KEY_HASH_SK);
    assert!(app.state.table.get(&lookup).await.unwrap().is_none());
}

on_both_tables!(
    a_key_is_shown_once_and_acts_within_its_scopes,
    a_key_reaches_only_its_own_organisation,
    a_revoked_or_unknown_key_is_unauthenticated,
    changes_made_with_a_key_are_audited_as_the_key,
    only_owners_and_admins_manage_keys_and_never_with_auth_scopes,
    deleting_the_organisation_removes_its_keys,
);
