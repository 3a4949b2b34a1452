//! Password change and reset through HTTP, on both table adapters: the
//! change ends the other sessions, the reset answers the same for unknown
//! addresses, its mailed token works once and for one hour only.

mod auth_support;

use auth_support::{mailed_token, mails_to, platform_audit_actions, put};
use serde_json::{Value, json};
use sundial_tests::identity::{PASSWORD, sign_in, signed_up_owner_as, try_sign_in};
use sundial_tests::{TestApp, on_both_tables, problem};

const EMAIL: &str = "ada@example.com";
const NEW_PASSWORD: &str = "a much better passphrase";

/// Whether `token` still authenticates.
async fn works(app: &TestApp, token: &str) -> bool {
    let status = app.get("/v1/auth/mfa", Some(token)).await.status();
    assert!(status == 200 || status == 401, "{status}");
    status == 200
}

async fn request_reset(app: &TestApp, email: &str) -> String {
    let response = app.post("/v1/auth/password-reset", &json!({"email": email}), None).await;
    assert_eq!(response.status(), 202);
    let mail = &mails_to(app, email)[0];
    assert!(mail.subject.contains("Reset"), "{}", mail.subject);
    mailed_token(mail, "reset-password")
}

async fn changing_the_password_ends_the_other_sessions(app: TestApp) {
    let (_, _, this) = signed_up_owner_as(&app, "Sunrise", EMAIL).await;
    let other = sign_in(&app, EMAIL, PASSWORD).await.access_token;

    let wrong = put(
        &app,
        "/v1/auth/password",
        &json!({"currentPassword": "not my password", "newPassword": NEW_PASSWORD}),
        Some(&this),
    )
    .await;
    assert_eq!(wrong.status(), 403);
    assert!(works(&app, &other).await, "a failed change ends nothing");

    let changed =
        put(&app, "/v1/auth/password", &json!({"currentPassword": PASSWORD, "newPassword": NEW_PASSWORD}), Some(&this))
            .await;
    assert_eq!(changed.status(), 204);
    assert!(works(&app, &this).await, "the caller's session survives");
    assert!(!works(&app, &other).await, "every other session ended");

    assert_eq!(try_sign_in(&app, EMAIL, PASSWORD, None).await.status(), 401);
    sign_in(&app, EMAIL, NEW_PASSWORD).await;
    let notice = &mails_to(&app, EMAIL)[0];
    assert!(notice.subject.contains("password was changed"), "{}", notice.subject);
    assert!(!notice.text.contains(NEW_PASSWORD));
    assert!(platform_audit_actions(&app).await.iter().any(|a| a == "user.password_changed"));
}

async fn a_bad_new_password_is_a_validation_error(app: TestApp) {
    let (_, _, token) = signed_up_owner_as(&app, "Sunrise", EMAIL).await;
    let response =
        put(&app, "/v1/auth/password", &json!({"currentPassword": "", "newPassword": "short"}), Some(&token)).await;
    assert_eq!(response.status(), 400);
    let problem = problem(response).await;
    let mut fields: Vec<&str> =
        problem["errors"].as_array().unwrap().iter().map(|e| e["field"].as_str().unwrap()).collect();
    fields.sort();
    assert_eq!(fields, ["currentPassword", "newPassword"]);
    sign_in(&app, EMAIL, PASSWORD).await;
}

async fn a_reset_for_an_unknown_address_looks_the_same_and_mails_nothing(app: TestApp) {
    signed_up_owner_as(&app, "Sunrise", EMAIL).await;
    let before = mails_to(&app, EMAIL).len();
    let known = app.post("/v1/auth/password-reset", &json!({"email": EMAIL}), None).await;
    let unknown = app.post("/v1/auth/password-reset", &json!({"email": "nobody@example.com"}), None).await;
    assert_eq!(known.status(), 202);
    assert_eq!(unknown.status(), 202);
    assert_eq!(known.text().await.unwrap(), unknown.text().await.unwrap());
    assert!(mails_to(&app, "nobody@example.com").is_empty());
    assert_eq!(mails_to(&app, EMAIL).len(), before + 1);
}

/// The address is held to the document's rule (its pattern and
/// `maxLength`) before anything is looked up: what the schema refuses is a
/// 400 whether or not an account has something like it; white space around
/// an address is dropped.
async fn a_reset_for_an_address_the_schema_refuses_is_a_validation_error(app: TestApp) {
    signed_up_owner_as(&app, "Sunrise", EMAIL).await;
    let long = format!("{}@example.com", "a".repeat(250));
    let padded_too_long = format!("{EMAIL}{}", " ".repeat(250));
    for bad in [
        "",
        "ada",
        "ada@example",
        "\"ada\"@example.com",
        "ada@[127.0.0.1]",
        "ada..lovelace@example.com",
        "ada@-example.com",
        long.as_str(),
        padded_too_long.as_str(),
    ] {
        let response = app.post("/v1/auth/password-reset", &json!({"email": bad}), None).await;
        assert_eq!(response.status(), 400, "{bad:?}");
        assert_eq!(problem(response).await["errors"][0]["field"], "email", "{bad:?}");
    }
    let before = mails_to(&app, EMAIL).len();
    let padded = app.post("/v1/auth/password-reset", &json!({"email": format!("\t {EMAIL}\r\n")}), None).await;
    assert_eq!(padded.status(), 202);
    assert_eq!(mails_to(&app, EMAIL).len(), before + 1);
}

async fn a_reset_link_sets_the_password_once_ends_every_session_and_lifts_a_lockout(app: TestApp) {
    let (_, _, session) = signed_up_owner_as(&app, "Sunrise", EMAIL).await;
    // Repeated failures lock the account.
    for _ in 0..5 {
        try_sign_in(&app, EMAIL, "not the password", None).await;
    }
    assert_eq!(try_sign_in(&app, EMAIL, PASSWORD, None).await.status(), 423);

    let token = request_reset(&app, EMAIL).await;
    let check = app.get(&format!("/v1/auth/password-reset/{token}"), None).await;
    assert_eq!(check.status(), 200);
    assert_eq!(check.json::<Value>().await.unwrap(), json!({"valid": true}));

    let short = put(&app, "/v1/auth/password-reset", &json!({"token": token, "newPassword": "short"}), None).await;
    assert_eq!(short.status(), 400, "a bad password does not use the token up");
    let reset = put(&app, "/v1/auth/password-reset", &json!({"token": token, "newPassword": NEW_PASSWORD}), None).await;
    assert_eq!(reset.status(), 204);

    assert!(!works(&app, &session).await, "every session ended");
    sign_in(&app, EMAIL, NEW_PASSWORD).await;

    let again =
        put(&app, "/v1/auth/password-reset", &json!({"token": token, "newPassword": "yet another passphrase"}), None)
            .await;
    assert_eq!(again.status(), 404, "the token works once");
    assert_eq!(problem(again).await["code"], "not_found");
    assert_eq!(app.get(&format!("/v1/auth/password-reset/{token}"), None).await.status(), 404);
    sign_in(&app, EMAIL, NEW_PASSWORD).await;
    let actions = platform_audit_actions(&app).await;
    assert!(
        actions.iter().any(|a| a == "user.password_reset_requested")
            && actions.iter().any(|a| a == "user.password_reset"),
        "{actions:?}"
    );
}

async fn a_reset_link_expires_after_an_hour(app: TestApp) {
    signed_up_owner_as(&app, "Sunrise", EMAIL).await;
    let token = request_reset(&app, EMAIL).await;
    app.clock.advance(chrono::Duration::minutes(59));
    assert_eq!(app.get(&format!("/v1/auth/password-reset/{token}"), None).await.status(), 200);
    app.clock.advance(chrono::Duration::minutes(1));
    assert_eq!(app.get(&format!("/v1/auth/password-reset/{token}"), None).await.status(), 404);
    let late = put(&app, "/v1/auth/password-reset", &json!({"token": token, "newPassword": NEW_PASSWORD}), None).await;
    assert_eq!(late.status(), 404);
    sign_in(&app, EMAIL, PASSWORD).await;
}

async fn a_made_up_reset_token_is_not_found(app: TestApp) {
    assert_eq!(app.get("/v1/auth/password-reset/not-a-real-token", None).await.status(), 404);
    let response =
        put(&app, "/v1/auth/password-reset", &json!({"token": "nope", "newPassword": NEW_PASSWORD}), None).await;
    assert_eq!(response.status(), 404);
}

on_both_tables!(
    changing_the_password_ends_the_other_sessions,
    a_bad_new_password_is_a_validation_error,
    a_reset_for_an_unknown_address_looks_the_same_and_mails_nothing,
    a_reset_for_an_address_the_schema_refuses_is_a_validation_error,
    a_reset_link_sets_the_password_once_ends_every_session_and_lifts_a_lockout,
    a_reset_link_expires_after_an_hour,
    a_made_up_reset_token_is_not_found,
);
