//! Invitations through HTTP on both table adapters: inviting mails the
//! organisation's text and a single-use link, accepting creates the account
//! or joins the signed-in one, revoking, resending and expiry kill links,
//! conflicts, the filtered list, and who may invite.

use chrono::Duration;
use reqwest::{Method, Response};
use serde_json::{Value, json};

use sundial_tests::identity::{PASSWORD, sign_in, signed_up_owner_as, try_sign_in};
use sundial_tests::{TestApp, on_both_tables, problem};
use uuid::Uuid;

async fn send(app: &TestApp, method: Method, path: &str, body: Option<&Value>, token: Option<&str>) -> Response {
    let mut req = app.client.request(method, format!("{}{path}", app.base));
    if let Some(token) = token {
        req = req.bearer_auth(token);
    }
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
    owner: Uuid,
    token: String,
}

async fn new_org(app: &TestApp) -> Org {
    let email = format!("owner-{}@example.com", Uuid::now_v7().simple());
    let (id, owner, token) = signed_up_owner_as(app, "Sunrise Care", &email).await;
    Org { id, owner, token }
}

/// Moves the clock on; access tokens live 15 minutes, so the owner gets a fresh one.
async fn advance(app: &TestApp, org: &mut Org, by: Duration) {
    app.clock.advance(by);
    org.token = app.token_for(org.owner).await;
}

fn fresh_email() -> String {
    format!("invitee-{}@example.com", Uuid::now_v7().simple())
}

/// A user added to `org` with `role` (no password), with a token.
async fn member(app: &TestApp, org: &Org, role: &str) -> (Uuid, String) {
    sundial_tests::identity::created_member(app, org.id, &org.token, "Member", role).await
}

use sundial_tests::json_of;

async fn invite(app: &TestApp, org: &Org, email: &str, role: &str) -> Response {
    let path = format!("/v1/organisations/{}/invitations", org.id);
    send(app, Method::POST, &path, Some(&json!({"email": email, "role": role})), Some(&org.token)).await
}

async fn invited(app: &TestApp, org: &Org, email: &str, role: &str) -> Value {
    json_of(invite(app, org, email, role).await, 201).await
}

/// The token of the newest mail to `email`, and that mail.
fn mailed_token(app: &TestApp, email: &str) -> (String, shared::mail::SentMail) {
    let mail = app.outbox.list(Some(email)).unwrap().into_iter().next().expect("a mail");
    let at = mail.text.find("token=").expect("a token link") + "token=".len();
    let token: String =
        mail.text[at..].chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_').collect();
    (token, mail)
}

fn new_account(token: &str) -> Value {
    json!({"token": token, "firstName": "Grace", "lastName": "Hopper", "password": "a long new password"})
}

async fn accept(app: &TestApp, body: &Value, bearer: Option<&str>) -> Response {
    send(app, Method::POST, "/v1/invitations/accept", Some(body), bearer).await
}

async fn list(app: &TestApp, org: &Org, query: &str) -> Value {
    let path = format!("/v1/organisations/{}/invitations{query}", org.id);
    json_of(send(app, Method::GET, &path, None, Some(&org.token)).await, 200).await
}

async fn a_new_user_accepts_the_mailed_invitation_and_can_sign_in(app: TestApp) {
    let org = new_org(&app).await;
    let text_path = format!("/v1/organisations/{}/invitation-text", org.id);
    let text = "Welcome to Sunrise Care. We plan our days together.";
    let req = app
        .client
        .put(format!("{}{text_path}", app.base))
        .bearer_auth(&org.token)
        .header("If-Match", "\"0\"")
        .json(&json!({"text": text}));
    json_of(req.send().await.unwrap(), 200).await;

    let email = fresh_email();
    let invitation = invited(&app, &org, &email, "planner").await;
    assert_eq!(invitation["email"], email);
    assert_eq!(invitation["role"], "planner");
    assert_eq!(invitation["status"], "pending");
    assert!(invitation["invitedBy"].as_str().unwrap().starts_with("user:"));
    assert_eq!(invitation["version"], 1);
    assert_eq!(invitation["expiresAt"], "2026-04-05T06:30:00Z");

    let (token, mail) = mailed_token(&app, &email);
    let link = format!("/invitations/accept?token={token}");
    assert!(mail.text.contains(&link) && mail.html.contains(&link), "link in both parts");
    assert!(mail.text.contains(text) && mail.html.contains(text), "the organisation's text in both parts");

    let body = json_of(accept(&app, &new_account(&token), None).await, 201).await;
    assert_eq!(body["organisation"]["id"], org.id.to_string());
    assert_eq!(body["user"]["email"], email);
    assert_eq!(body["user"]["emailVerified"], true);
    let user_id = body["user"]["id"].as_str().unwrap().to_string();

    let signed_in = sign_in(&app, &email, "a long new password").await;
    assert_eq!(signed_in.user_id().to_string(), user_id);
    let members = format!("/v1/organisations/{}/members?role=planner", org.id);
    let members = json_of(send(&app, Method::GET, &members, None, Some(&org.token)).await, 200).await;
    assert!(members["items"].as_array().unwrap().iter().any(|m| m["userId"] == user_id.as_str()));
    let org_path = format!("/v1/organisations/{}", org.id);
    json_of(send(&app, Method::GET, &org_path, None, Some(&signed_in.access_token)).await, 200).await;

    // The link worked once.
    assert_eq!(code_of(accept(&app, &new_account(&token), None).await, 404).await, "not_found");
    let listed = list(&app, &org, "").await;
    assert_eq!(listed["items"][0]["status"], "accepted");
    assert!(listed["items"][0]["acceptedAt"].is_string());
}

async fn an_existing_user_accepts_with_their_bearer_token(app: TestApp) {
    let org = new_org(&app).await;
    let email = fresh_email();
    let (_, existing, existing_token) = signed_up_owner_as(&app, "Elsewhere", &email).await;
    invited(&app, &org, &email, "member").await;
    let (token, _) = mailed_token(&app, &email);

    // Someone else signed in cannot take it, and a signed-in accept takes no new-account fields.
    let stranger = new_org(&app).await;
    assert_eq!(code_of(accept(&app, &json!({"token": token}), Some(&stranger.token)).await, 403).await, "forbidden");
    assert_eq!(
        code_of(accept(&app, &new_account(&token), Some(&existing_token)).await, 400).await,
        "validation_failed"
    );

    let body = json_of(accept(&app, &json!({"token": token}), Some(&existing_token)).await, 200).await;
    assert_eq!(body["user"]["id"], existing.to_string());
    assert_eq!(body["organisation"]["id"], org.id.to_string());
    let members = format!("/v1/organisations/{}/members?role=member", org.id);
    let members = json_of(send(&app, Method::GET, &members, None, Some(&org.token)).await, 200).await;
    assert!(members["items"].as_array().unwrap().iter().any(|m| m["userId"] == existing.to_string()));
    assert_eq!(code_of(accept(&app, &json!({"token": token}), Some(&existing_token)).await, 404).await, "not_found");
    // Their own password still signs them in; nothing about the account changed.
    assert_eq!(try_sign_in(&app, &email, PASSWORD, None).await.status(), 200);
}

async fn an_address_registered_meanwhile_must_sign_in_to_accept(app: TestApp) {
    let org = new_org(&app).await;
    let email = fresh_email();
    invited(&app, &org, &email, "member").await;
    let (token, _) = mailed_token(&app, &email);
    signed_up_owner_as(&app, "Meanwhile", &email).await;
    assert_eq!(code_of(accept(&app, &new_account(&token), None).await, 409).await, "conflict");
    // The link still works for the signed-in owner of the address.
    let tokens = sign_in(&app, &email, PASSWORD).await;
    json_of(accept(&app, &json!({"token": token}), Some(&tokens.access_token)).await, 200).await;
}

async fn a_revoked_invitation_link_is_not_found(app: TestApp) {
    let org = new_org(&app).await;
    let email = fresh_email();
    let invitation = invited(&app, &org, &email, "member").await;
    let (token, _) = mailed_token(&app, &email);
    let path = format!("/v1/organisations/{}/invitations/{}", org.id, invitation["id"].as_str().unwrap());
    json_of(send(&app, Method::DELETE, &path, None, Some(&org.token)).await, 204).await;

    assert_eq!(code_of(accept(&app, &new_account(&token), None).await, 404).await, "not_found");
    assert_eq!(list(&app, &org, "").await["items"][0]["status"], "revoked");
    let resend = format!("{path}/resend");
    assert_eq!(code_of(send(&app, Method::POST, &resend, None, Some(&org.token)).await, 409).await, "conflict");
    // The address is free for a new invitation.
    invited(&app, &org, &email, "member").await;
}

async fn resending_kills_the_old_link(app: TestApp) {
    let mut org = new_org(&app).await;
    let email = fresh_email();
    let invitation = invited(&app, &org, &email, "admin").await;
    let (old, _) = mailed_token(&app, &email);
    advance(&app, &mut org, Duration::days(3)).await;
    let path = format!("/v1/organisations/{}/invitations/{}/resend", org.id, invitation["id"].as_str().unwrap());
    let resent = json_of(send(&app, Method::POST, &path, None, Some(&org.token)).await, 200).await;
    assert_eq!(resent["version"], 2);
    assert_eq!(resent["expiresAt"], "2026-04-08T06:30:00Z");
    let (new, _) = mailed_token(&app, &email);
    assert_ne!(old, new);
    assert_eq!(app.outbox.list(Some(&email)).unwrap().len(), 2);

    assert_eq!(code_of(accept(&app, &new_account(&old), None).await, 404).await, "not_found");
    let body = json_of(accept(&app, &new_account(&new), None).await, 201).await;
    assert_eq!(body["user"]["email"], email);
}

async fn an_invitation_expires_after_seven_days(app: TestApp) {
    let mut org = new_org(&app).await;
    let email = fresh_email();
    let first = invited(&app, &org, &email, "member").await;
    let (token, _) = mailed_token(&app, &email);
    advance(&app, &mut org, Duration::days(7)).await;

    assert_eq!(code_of(accept(&app, &new_account(&token), None).await, 404).await, "not_found");
    let expired = list(&app, &org, "?$filter=status%20eq%20'expired'").await;
    assert_eq!(expired["items"].as_array().unwrap().len(), 1);
    assert_eq!(expired["items"][0]["id"], first["id"]);

    // An expired invitation no longer holds the address: a new one replaces it,
    // after which the old one cannot be resent.
    let second = invited(&app, &org, &email, "guest").await;
    assert_eq!(second["status"], "pending");
    let resend = format!("/v1/organisations/{}/invitations/{}/resend", org.id, first["id"].as_str().unwrap());
    assert_eq!(code_of(send(&app, Method::POST, &resend, None, Some(&org.token)).await, 409).await, "conflict");
    let (token, _) = mailed_token(&app, &email);
    json_of(accept(&app, &new_account(&token), None).await, 201).await;
}

async fn an_expired_invitation_can_be_resent(app: TestApp) {
    let mut org = new_org(&app).await;
    let email = fresh_email();
    let invitation = invited(&app, &org, &email, "member").await;
    advance(&app, &mut org, Duration::days(8)).await;
    let path = format!("/v1/organisations/{}/invitations/{}/resend", org.id, invitation["id"].as_str().unwrap());
    let resent = json_of(send(&app, Method::POST, &path, None, Some(&org.token)).await, 200).await;
    assert_eq!(resent["status"], "pending");
    let (token, _) = mailed_token(&app, &email);
    json_of(accept(&app, &new_account(&token), None).await, 201).await;
}

async fn members_and_pending_addresses_cannot_be_invited_twice(app: TestApp) {
    let org = new_org(&app).await;
    let email = fresh_email();
    invited(&app, &org, &email, "member").await;
    assert_eq!(code_of(invite(&app, &org, &email, "admin").await, 409).await, "conflict");
    assert_eq!(code_of(invite(&app, &org, &email.to_uppercase(), "member").await, 409).await, "conflict");

    let (token, _) = mailed_token(&app, &email);
    json_of(accept(&app, &new_account(&token), None).await, 201).await;
    assert_eq!(code_of(invite(&app, &org, &email, "member").await, 409).await, "conflict");

    let bad = invite(&app, &org, "not-an-address", "boss").await;
    assert_eq!(code_of(bad, 400).await, "validation_failed");
    let missing = accept(&app, &json!({"token": "x"}), None).await;
    let body = problem(missing).await;
    let fields: Vec<&str> = body["errors"].as_array().unwrap().iter().map(|e| e["field"].as_str().unwrap()).collect();
    assert_eq!(fields, ["firstName", "lastName", "password"]);
}

async fn the_list_filters_and_pages(app: TestApp) {
    let org = new_org(&app).await;
    let mut ids = Vec::new();
    for _ in 0..3 {
        ids.push(invited(&app, &org, &fresh_email(), "member").await["id"].as_str().unwrap().to_string());
    }
    let path = format!("/v1/organisations/{}/invitations/{}", org.id, ids[1]);
    json_of(send(&app, Method::DELETE, &path, None, Some(&org.token)).await, 204).await;

    let pending = list(&app, &org, "?$filter=status%20eq%20'pending'").await;
    let got: Vec<&str> = pending["items"].as_array().unwrap().iter().map(|i| i["id"].as_str().unwrap()).collect();
    assert_eq!(got, [ids[0].as_str(), ids[2].as_str()]);
    assert!(pending["nextCursor"].is_null());

    let first = list(&app, &org, "?$filter=status%20eq%20'pending'&limit=1").await;
    assert_eq!(first["items"][0]["id"], ids[0].as_str());
    let cursor = first["nextCursor"].as_str().expect("a next page");
    let second = list(&app, &org, &format!("?$filter=status%20eq%20'pending'&limit=1&cursor={cursor}")).await;
    assert_eq!(second["items"][0]["id"], ids[2].as_str());
    assert!(second["nextCursor"].is_null());

    let revoked = list(&app, &org, "?$filter=status%20ne%20'pending'%20and%20role%20eq%20'member'").await;
    assert_eq!(revoked["items"].as_array().unwrap().len(), 1);
    let unknown = format!("/v1/organisations/{}/invitations?$filter=token%20eq%20'x'", org.id);
    assert_eq!(
        code_of(send(&app, Method::GET, &unknown, None, Some(&org.token)).await, 400).await,
        "validation_failed"
    );
    let stray = format!("/v1/organisations/{}/invitations?status=pending", org.id);
    assert_eq!(code_of(send(&app, Method::GET, &stray, None, Some(&org.token)).await, 400).await, "validation_failed");
}

async fn only_owners_and_admins_invite_and_only_owners_invite_owners(app: TestApp) {
    let org = new_org(&app).await;
    let (_, plain) = member(&app, &org, "member").await;
    let (_, admin) = member(&app, &org, "admin").await;
    let path = format!("/v1/organisations/{}/invitations", org.id);
    let body = json!({"email": fresh_email(), "role": "member"});
    assert_eq!(code_of(send(&app, Method::POST, &path, Some(&body), Some(&plain)).await, 403).await, "forbidden");
    assert_eq!(code_of(send(&app, Method::GET, &path, None, Some(&plain)).await, 403).await, "forbidden");

    let other = new_org(&app).await;
    assert_eq!(code_of(send(&app, Method::POST, &path, Some(&body), Some(&other.token)).await, 404).await, "not_found");
    assert_eq!(code_of(send(&app, Method::GET, &path, None, Some(&other.token)).await, 404).await, "not_found");

    let owner_invite = json!({"email": fresh_email(), "role": "owner"});
    assert_eq!(
        code_of(send(&app, Method::POST, &path, Some(&owner_invite), Some(&admin)).await, 403).await,
        "forbidden"
    );
    json_of(send(&app, Method::POST, &path, Some(&body), Some(&admin)).await, 201).await;
    let created = json_of(send(&app, Method::POST, &path, Some(&owner_invite), Some(&org.token)).await, 201).await;

    // Another tenant cannot revoke or resend it either.
    let one = format!("{path}/{}", created["id"].as_str().unwrap());
    assert_eq!(code_of(send(&app, Method::DELETE, &one, None, Some(&other.token)).await, 404).await, "not_found");
    let resend = format!("{one}/resend");
    assert_eq!(code_of(send(&app, Method::POST, &resend, None, Some(&admin)).await, 403).await, "forbidden");
    assert_eq!(code_of(send(&app, Method::DELETE, &one, None, Some(&plain)).await, 403).await, "forbidden");
}

on_both_tables!(
    a_new_user_accepts_the_mailed_invitation_and_can_sign_in,
    an_existing_user_accepts_with_their_bearer_token,
    an_address_registered_meanwhile_must_sign_in_to_accept,
    a_revoked_invitation_link_is_not_found,
    resending_kills_the_old_link,
    an_invitation_expires_after_seven_days,
    an_expired_invitation_can_be_resent,
    members_and_pending_addresses_cannot_be_invited_twice,
    the_list_filters_and_pages,
    only_owners_and_admins_invite_and_only_owners_invite_owners,
);
