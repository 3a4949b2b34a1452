//! Helpers for tests that sign in through HTTP: every group's tests get
//! their callers the way real clients do, so a session always exists behind
//! an access token. (Owned by the sessions work of the identity issue; the
//! signatures here are stable.)

use reqwest::Response;
use serde_json::{Value, json};
use shared::identity::sessions;
use shared::identity::sessions::SessionKind;
use shared::identity::sessions::SessionRecord;
use uuid::Uuid;

use crate::{ClockExt, TestApp, sign_up_body};

/// The password every helper-made account has (see [`sign_up_body`]).
pub const PASSWORD: &str = "correct horse battery";

/// What `POST /v1/auth/token` returned.
#[derive(Debug, Clone)]
pub struct Tokens {
    /// The bearer access token.
    pub access_token: String,
    /// The refresh token.
    pub refresh_token: String,
    /// The whole response body (`expiresIn`, `tokenType`, `user`).
    pub body: Value,
}

impl Tokens {
    fn from_body(body: Value) -> Self {
        let field = |name: &str| body[name].as_str().unwrap_or_else(|| panic!("{name} in {body}")).to_string();
        Tokens { access_token: field("accessToken"), refresh_token: field("refreshToken"), body }
    }

    /// The signed-in user's id.
    pub fn user_id(&self) -> Uuid {
        Uuid::parse_str(self.body["user"]["id"].as_str().expect("user.id")).expect("uuid")
    }
}

/// What `POST /v1/auth/cookie` returned.
#[derive(Debug, Clone)]
pub struct CookieSession {
    /// The `Cookie` request header value (`__Host-sundial_session=...`).
    pub cookie: String,
    /// The `X-CSRF-Token` value for state-changing requests.
    pub csrf_token: String,
    /// The whole response body (`user`, `csrfToken`).
    pub body: Value,
}

/// `POST /v1/auth/token` with these credentials (and an MFA code); the raw response.
pub async fn try_sign_in(app: &TestApp, email: &str, password: &str, mfa_code: Option<&str>) -> Response {
    let mut body = json!({"email": email, "password": password});
    if let Some(code) = mfa_code {
        body["mfaCode"] = code.into();
    }
    app.post("/v1/auth/token", &body, None).await
}

/// Signs in; panics unless it succeeds.
pub async fn sign_in(app: &TestApp, email: &str, password: &str) -> Tokens {
    sign_in_with_mfa(app, email, password, None).await
}

/// Signs in with a second factor; panics unless it succeeds.
pub async fn sign_in_with_mfa(app: &TestApp, email: &str, password: &str, mfa_code: Option<&str>) -> Tokens {
    let response = try_sign_in(app, email, password, mfa_code).await;
    let status = response.status();
    let body: Value = response.json().await.expect("json");
    assert_eq!(status, 200, "sign-in failed: {body}");
    Tokens::from_body(body)
}

/// Signs in for a browser session; panics unless it succeeds.
pub async fn cookie_sign_in(app: &TestApp, email: &str, password: &str) -> CookieSession {
    let response = app.post("/v1/auth/cookie", &json!({"email": email, "password": password}), None).await;
    assert_eq!(response.status(), 200, "cookie sign-in failed");
    let set_cookie = response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("__Host-sundial_session="))
        .expect("a __Host-sundial_session cookie")
        .to_string();
    let cookie = set_cookie.split(';').next().expect("cookie pair").to_string();
    let body: Value = response.json().await.expect("json");
    let csrf_token = body["csrfToken"].as_str().expect("csrfToken").to_string();
    CookieSession { cookie, csrf_token, body }
}

/// Signs up an organisation whose owner has `email` (password [`PASSWORD`])
/// and signs the owner in: `(organisation id, user id, access token)`.
pub async fn signed_up_owner_as(app: &TestApp, org_name: &str, email: &str) -> (Uuid, Uuid, String) {
    let response = app.post("/v1/public/organisations", &sign_up_body(org_name, email), None).await;
    assert_eq!(response.status(), 201, "sign-up failed");
    let body: Value = response.json().await.expect("json");
    let org = Uuid::parse_str(body["organisation"]["id"].as_str().expect("organisation.id")).expect("uuid");
    let user = Uuid::parse_str(body["user"]["id"].as_str().expect("user.id")).expect("uuid");
    let tokens = sign_in(app, email, PASSWORD).await;
    (org, user, tokens.access_token)
}

/// A fresh organisation with a fresh owner (unique email), signed in:
/// `(organisation id, user id, access token)`.
pub async fn signed_up_owner(app: &TestApp) -> (Uuid, Uuid, String) {
    let email = format!("owner-{}@example.com", Uuid::now_v7().simple());
    signed_up_owner_as(app, "Sunrise Care", &email).await
}

/// An access token for `user` in a new session written straight to the
/// table (for users that cannot sign in over HTTP, e.g. without a password).
/// Prefer [`sign_in`] where possible.
pub async fn session_token(app: &TestApp, user: Uuid) -> String {
    let now = app.clock.now_utc();
    let session =
        SessionRecord::new(user, SessionKind::Bearer, now, sessions::hash_secret(&Uuid::now_v7().to_string()));
    let op = sessions::create_op(&session).expect("session item");
    app.state.table.transact_write(vec![op]).await.expect("store session");
    app.state.tokens.issue(user, &session.id.to_string(), "*", now, now).expect("token")
}

/// A brand-new account that an owner or admin (`admin_token`) creates in
/// `org` with `role` through `POST /v1/users` — the way a member joins
/// without an invitation — with a session token: `(user id, token)`.
pub async fn created_member(
    app: &TestApp,
    org: Uuid,
    admin_token: &str,
    first_name: &str,
    role: &str,
) -> (Uuid, String) {
    let email = format!("{}@example.com", Uuid::now_v7().simple());
    let body = serde_json::json!({
        "email": email, "firstName": first_name, "lastName": "Tester", "organisationId": org, "role": role
    });
    let created = crate::json_of(app.post("/v1/users", &body, Some(admin_token)).await, 201).await;
    let id = Uuid::parse_str(created["id"].as_str().expect("id")).expect("uuid");
    (id, app.token_for(id).await)
}

/// `user` (signed in with `user_token`, mail `email`) joins `org` by their
/// own act: an admin (`admin_token`) invites them with `role` and they
/// accept the mailed link while signed in.
pub async fn join_by_invitation(
    app: &TestApp,
    org: Uuid,
    admin_token: &str,
    email: &str,
    user_token: &str,
    role: &str,
) {
    let path = format!("/v1/organisations/{org}/invitations");
    let invite = serde_json::json!({"email": email, "role": role});
    crate::json_of(app.post(&path, &invite, Some(admin_token)).await, 201).await;
    let mail = app.outbox.list(Some(email)).expect("outbox").into_iter().next().expect("an invitation mail");
    let at = mail.text.find("token=").expect("a token link") + "token=".len();
    let token: String =
        mail.text[at..].chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_').collect();
    let accepted = app.post("/v1/invitations/accept", &serde_json::json!({"token": token}), Some(user_token)).await;
    crate::json_of(accepted, 200).await;
}

/// The platform superadmin `root@example.com` (password [`PASSWORD`]), created
/// as a deployment's bootstrap does, signed in over HTTP: `(user id, access token)`.
pub async fn superadmin(app: &TestApp) -> (Uuid, String) {
    let email = "root@example.com";
    let secret = secrecy::SecretString::from(PASSWORD);
    devserver::ensure_superadmin(app.state.table.as_ref(), app.state.clock.as_ref(), email, &secret)
        .await
        .expect("bootstrap the superadmin");
    let tokens = sign_in(app, email, PASSWORD).await;
    (tokens.user_id(), tokens.access_token)
}
