//! Email verification and email change through HTTP, on both table
//! adapters: links read from the outbox, the address swapped atomically
//! with its uniqueness guard, the old address told, taken addresses refused.

mod auth_support;

use auth_support::{current_code, delete, mailed_token, mails_to, next_step, platform_audit_actions, user_item};
use serde_json::{Value, json};
use sundial_tests::identity::{PASSWORD, sign_in, signed_up_owner_as, try_sign_in};
use sundial_tests::{TestApp, on_both_tables, problem};

const OLD: &str = "ada@example.com";
const NEW: &str = "ada.lovelace@example.org";

fn change(new_email: &str, password: &str) -> Value {
    json!({"newEmail": new_email, "password": password})
}

async fn a_verification_link_marks_the_address_verified_once(app: TestApp) {
    let (_, user, token) = signed_up_owner_as(&app, "Sunrise", OLD).await;
    assert_eq!(user_item(&app, user).await["emailVerified"], false);

    let resend = app.post("/v1/auth/verify-email/resend", &json!({}), Some(&token)).await;
    assert_eq!(resend.status(), 202);
    let mail = &mails_to(&app, OLD)[0];
    let link = mailed_token(mail, "verify-email");

    let verified = app.post("/v1/auth/verify-email", &json!({"token": link}), None).await;
    assert_eq!(verified.status(), 204);
    assert_eq!(user_item(&app, user).await["emailVerified"], true);

    let again = app.post("/v1/auth/verify-email", &json!({"token": link}), None).await;
    assert_eq!(again.status(), 404, "the link works once");
    let resend = app.post("/v1/auth/verify-email/resend", &json!({}), Some(&token)).await;
    assert_eq!(resend.status(), 409, "nothing left to verify");
    assert!(platform_audit_actions(&app).await.iter().any(|a| a == "user.email_verified"));
}

async fn an_email_change_is_confirmed_from_the_new_address_and_announced_to_the_old(app: TestApp) {
    let (_, user, token) = signed_up_owner_as(&app, "Sunrise", OLD).await;
    assert_eq!(app.get("/v1/auth/email-change", Some(&token)).await.status(), 404);

    let wrong = app.post("/v1/auth/email-change", &change(NEW, "not my password"), Some(&token)).await;
    assert_eq!(wrong.status(), 403);
    assert!(mails_to(&app, NEW).is_empty());

    let requested =
        app.post("/v1/auth/email-change", &change("  Ada.Lovelace@Example.org ", PASSWORD), Some(&token)).await;
    assert_eq!(requested.status(), 202);
    let body: Value = requested.json().await.unwrap();
    assert_eq!(body["newEmail"], NEW);
    assert_eq!(body["expiresAt"], "2026-03-30T06:30:00Z");
    let pending: Value = app.get("/v1/auth/email-change", Some(&token)).await.json().await.unwrap();
    assert_eq!(pending, body);

    let notice = &mails_to(&app, OLD)[0];
    assert!(notice.text.contains(NEW) && !notice.text.contains("token="), "{}", notice.text);
    let link = mailed_token(&mails_to(&app, NEW)[0], "confirm-email-change");
    // Nothing changes until the new address confirms.
    sign_in(&app, OLD, PASSWORD).await;

    let confirmed = app.post("/v1/auth/email-change/confirm", &json!({"token": link}), None).await;
    assert_eq!(confirmed.status(), 200);
    let account: Value = confirmed.json().await.unwrap();
    assert_eq!(account["email"], NEW);
    assert_eq!(account["emailVerified"], true);
    assert_eq!(user_item(&app, user).await["email"], NEW);

    sign_in(&app, NEW, PASSWORD).await;
    assert_eq!(try_sign_in(&app, OLD, PASSWORD, None).await.status(), 401, "the old address is free");
    let changed = &mails_to(&app, OLD)[0];
    assert!(changed.subject.contains("email address was changed"), "{}", changed.subject);

    let again = app.post("/v1/auth/email-change/confirm", &json!({"token": link}), None).await;
    assert_eq!(again.status(), 404, "the link works once");
    assert_eq!(app.get("/v1/auth/email-change", Some(&token)).await.status(), 404);
    // The old address can be registered again.
    signed_up_owner_as(&app, "Other", OLD).await;
    let actions = platform_audit_actions(&app).await;
    assert!(
        actions.iter().any(|a| a == "user.email_change_requested") && actions.iter().any(|a| a == "user.email_changed"),
        "{actions:?}"
    );
}

async fn a_taken_address_is_a_conflict_when_requested_and_when_confirmed(app: TestApp) {
    let (_, _, token) = signed_up_owner_as(&app, "Sunrise", OLD).await;
    signed_up_owner_as(&app, "Other", "grace@example.com").await;
    let taken = app.post("/v1/auth/email-change", &change("GRACE@example.com", PASSWORD), Some(&token)).await;
    assert_eq!(taken.status(), 409);
    assert_eq!(problem(taken).await["code"], "conflict");

    let requested = app.post("/v1/auth/email-change", &change(NEW, PASSWORD), Some(&token)).await;
    assert_eq!(requested.status(), 202);
    let link = mailed_token(&mails_to(&app, NEW)[0], "confirm-email-change");
    // Someone registers the address before the link is used.
    signed_up_owner_as(&app, "Third", NEW).await;
    let late = app.post("/v1/auth/email-change/confirm", &json!({"token": link}), None).await;
    assert_eq!(late.status(), 409);
    sign_in(&app, OLD, PASSWORD).await;
}

async fn an_aborted_or_replaced_request_link_no_longer_works(app: TestApp) {
    let (_, _, token) = signed_up_owner_as(&app, "Sunrise", OLD).await;
    app.post("/v1/auth/email-change", &change(NEW, PASSWORD), Some(&token)).await;
    let first = mailed_token(&mails_to(&app, NEW)[0], "confirm-email-change");
    assert_eq!(delete(&app, "/v1/auth/email-change", Some(&token)).await.status(), 204);
    assert_eq!(app.get("/v1/auth/email-change", Some(&token)).await.status(), 404);
    assert_eq!(delete(&app, "/v1/auth/email-change", Some(&token)).await.status(), 404);
    let aborted = app.post("/v1/auth/email-change/confirm", &json!({"token": first}), None).await;
    assert_eq!(aborted.status(), 404);

    app.post("/v1/auth/email-change", &change(NEW, PASSWORD), Some(&token)).await;
    let second = mailed_token(&mails_to(&app, NEW)[0], "confirm-email-change");
    app.post("/v1/auth/email-change", &change("third@example.com", PASSWORD), Some(&token)).await;
    let replaced = app.post("/v1/auth/email-change/confirm", &json!({"token": second}), None).await;
    assert_eq!(replaced.status(), 404, "only the latest request's link works");
    sign_in(&app, OLD, PASSWORD).await;
}

async fn an_email_change_needs_the_second_factor_when_mfa_is_on(app: TestApp) {
    let (_, _, token) = signed_up_owner_as(&app, "Sunrise", OLD).await;
    let secret: Value = app.post("/v1/auth/mfa/totp", &json!({}), Some(&token)).await.json().await.unwrap();
    let secret = secret["secret"].as_str().unwrap().to_string();
    let code = current_code(&app, &secret);
    assert_eq!(app.post("/v1/auth/mfa/totp/enable", &json!({"code": code}), Some(&token)).await.status(), 200);

    let without = app.post("/v1/auth/email-change", &change(NEW, PASSWORD), Some(&token)).await;
    assert_eq!(without.status(), 401);
    assert_eq!(problem(without).await["code"], "mfa_required");
    next_step(&app);
    let mut body = change(NEW, PASSWORD);
    body["mfaCode"] = current_code(&app, &secret).into();
    assert_eq!(app.post("/v1/auth/email-change", &body, Some(&token)).await.status(), 202);
    let replay = app.post("/v1/auth/email-change", &body, Some(&token)).await;
    assert_eq!(replay.status(), 400, "a code works once");
}

async fn bad_input_lists_every_field(app: TestApp) {
    let (_, _, token) = signed_up_owner_as(&app, "Sunrise", OLD).await;
    let response = app.post("/v1/auth/email-change", &change("not an address", ""), Some(&token)).await;
    assert_eq!(response.status(), 400);
    let problem = problem(response).await;
    let mut fields: Vec<&str> =
        problem["errors"].as_array().unwrap().iter().map(|e| e["field"].as_str().unwrap()).collect();
    fields.sort();
    assert_eq!(fields, ["newEmail", "password"]);
    let same = app.post("/v1/auth/email-change", &change(OLD, PASSWORD), Some(&token)).await;
    assert_eq!(same.status(), 400);
    assert_eq!(app.post("/v1/auth/verify-email", &json!({"token": "made-up"}), None).await.status(), 404);
}

on_both_tables!(
    a_verification_link_marks_the_address_verified_once,
    an_email_change_is_confirmed_from_the_new_address_and_announced_to_the_old,
    a_taken_address_is_a_conflict_when_requested_and_when_confirmed,
    an_aborted_or_replaced_request_link_no_longer_works,
    an_email_change_needs_the_second_factor_when_mfa_is_on,
    bad_input_lists_every_field,
);
