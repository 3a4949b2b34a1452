//! Helpers shared by the MFA, password and email-flow tests: TOTP codes
//! computed the way an authenticator app does, tokens read from mailed
//! links, and the few verbs `TestApp` has no method for.

#![allow(dead_code)] // each test binary uses a different subset

use chrono::{DateTime, Utc};
use reqwest::Response;
use serde_json::Value;
use shared::mail::SentMail;
use sundial_tests::{ClockExt, TestApp};
use totp_rs::{Algorithm, Builder, Secret};

/// The 6-digit code an authenticator app shows for `secret` (base32) at `at`.
pub fn totp_code(secret: &str, at: DateTime<Utc>) -> String {
    let secret = Secret::try_from_base32(secret).expect("base32 secret");
    let totp = Builder::new().with_algorithm(Algorithm::SHA1).with_digits(6).with_secret(secret).build().expect("totp");
    totp.generate(u64::try_from(at.timestamp()).expect("after 1970")).to_string()
}

/// The code for the app's current time.
pub fn current_code(app: &TestApp, secret: &str) -> String {
    totp_code(secret, app.clock.now_utc())
}

/// Moves the app's clock into the next TOTP time step (a code of the
/// previous step was used, and a step works only once).
pub fn next_step(app: &TestApp) {
    app.clock.advance(chrono::Duration::seconds(30));
}

/// The `token=` value of the link at `path` in `text`, if any.
pub fn token_in(text: &str, path: &str) -> Option<String> {
    let start = text.find(&format!("/{path}?token="))? + path.len() + "/?token=".len();
    let token: String =
        text[start..].chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_').collect();
    (!token.is_empty()).then_some(token)
}

/// The token of the link at `path` in `mail`, asserting it is the same in
/// the text and the HTML part.
pub fn mailed_token(mail: &SentMail, path: &str) -> String {
    let text = token_in(&mail.text, path).unwrap_or_else(|| panic!("no {path} link in the text part: {}", mail.text));
    let html = token_in(&mail.html, path).unwrap_or_else(|| panic!("no {path} link in the HTML part: {}", mail.html));
    assert_eq!(text, html, "the same token in both parts");
    text
}

/// Mails sent to `to`, newest first.
pub fn mails_to(app: &TestApp, to: &str) -> Vec<SentMail> {
    app.outbox.list(Some(to)).expect("outbox")
}

/// Sends `method` with an optional JSON body and bearer token.
pub async fn send(
    app: &TestApp,
    method: reqwest::Method,
    path: &str,
    body: Option<&Value>,
    token: Option<&str>,
) -> Response {
    let mut req = app.client.request(method, format!("{}{path}", app.base));
    if let Some(body) = body {
        req = req.json(body);
    }
    if let Some(token) = token {
        req = req.bearer_auth(token);
    }
    req.send().await.expect("request")
}

/// `PUT` JSON.
pub async fn put(app: &TestApp, path: &str, body: &Value, token: Option<&str>) -> Response {
    send(app, reqwest::Method::PUT, path, Some(body), token).await
}

/// `DELETE`.
pub async fn delete(app: &TestApp, path: &str, token: Option<&str>) -> Response {
    send(app, reqwest::Method::DELETE, path, None, token).await
}

/// The audit actions recorded about accounts (platform scope), oldest first.
pub async fn platform_audit_actions(app: &TestApp) -> Vec<String> {
    let query = shared::table::Query::new(shared::table::Index::Primary, shared::keys::audit_pk(None));
    let items = app.state.table.query(&query).await.expect("audit query").items;
    items.iter().filter_map(|e| e["action"].as_str().map(str::to_string)).collect()
}

/// The stored user item.
pub async fn user_item(app: &TestApp, user: uuid::Uuid) -> shared::table::Item {
    let key = shared::table::Key::new(shared::keys::user_pk(user), shared::keys::USER_SK);
    app.state.table.get(&key).await.expect("get").expect("user item")
}
