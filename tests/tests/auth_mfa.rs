//! TOTP and backup codes through HTTP, on both table adapters: setting up
//! MFA with a code computed here as an authenticator app would, sign-in
//! needing the second factor, replays refused, backup codes working once,
//! and turning MFA off.

mod auth_support;

use auth_support::{current_code, mails_to, next_step, platform_audit_actions, user_item};
use serde_json::{Value, json};
use sundial_tests::identity::{PASSWORD, sign_in, sign_in_with_mfa, signed_up_owner_as, try_sign_in};
use sundial_tests::{TestApp, on_both_tables, problem};
use uuid::Uuid;

const EMAIL: &str = "ada@example.com";

/// Signs up and turns MFA on; returns (user id, access token, TOTP secret).
async fn owner_with_mfa(app: &TestApp) -> (Uuid, String, String) {
    let (_, user, token) = signed_up_owner_as(app, "Sunrise", EMAIL).await;
    let setup = app.post("/v1/auth/mfa/totp", &json!({}), Some(&token)).await;
    assert_eq!(setup.status(), 201);
    let secret = setup.json::<Value>().await.unwrap()["secret"].as_str().unwrap().to_string();
    let code = current_code(app, &secret);
    let enabled = app.post("/v1/auth/mfa/totp/enable", &json!({"code": code}), Some(&token)).await;
    assert_eq!(enabled.status(), 200);
    (user, token, secret)
}

async fn backup_codes(app: &TestApp, token: &str) -> Vec<String> {
    let response = app.post("/v1/auth/mfa/backup-codes", &json!({}), Some(token)).await;
    assert_eq!(response.status(), 201);
    let body: Value = response.json().await.unwrap();
    body["backupCodes"].as_array().unwrap().iter().map(|c| c.as_str().unwrap().to_string()).collect()
}

async fn enabling_totp_makes_sign_in_need_a_code(app: TestApp) {
    let (_, user, token) = signed_up_owner_as(&app, "Sunrise", EMAIL).await;
    let status: Value = app.get("/v1/auth/mfa", Some(&token)).await.json().await.unwrap();
    assert_eq!(status, json!({"enabled": false}));

    let setup = app.post("/v1/auth/mfa/totp", &json!({}), Some(&token)).await;
    assert_eq!(setup.status(), 201);
    assert_eq!(setup.headers()["cache-control"], "no-store", "the secret is never cached or replayed");
    let setup: Value = setup.json().await.unwrap();
    let secret = setup["secret"].as_str().unwrap();
    let url = setup["otpauthUrl"].as_str().unwrap();
    assert!(url.starts_with("otpauth://totp/Sundial:ada%40example.com?") && url.contains(secret), "{url}");

    // A pending secret changes nothing at sign-in.
    sign_in(&app, EMAIL, PASSWORD).await;

    let wrong = app.post("/v1/auth/mfa/totp/enable", &json!({"code": "000000"}), Some(&token)).await;
    assert_eq!(wrong.status(), 400);
    assert_eq!(problem(wrong).await["errors"][0]["field"], "code");

    let code = current_code(&app, secret);
    let enabled = app.post("/v1/auth/mfa/totp/enable", &json!({"code": code}), Some(&token)).await;
    assert_eq!(enabled.status(), 200);
    assert_eq!(enabled.json::<Value>().await.unwrap(), json!({"enabled": true}));
    let status: Value = app.get("/v1/auth/mfa", Some(&token)).await.json().await.unwrap();
    assert_eq!(status, json!({"enabled": true}));
    assert_eq!(user_item(&app, user).await["mfaEnabled"], true);
    let stored = app.state.table.get(&shared::identity::mfa::totp_key(user)).await.unwrap().unwrap();
    assert_eq!(stored["enabled"], true);

    // The code that enabled MFA cannot sign in (same time step).
    let replay = try_sign_in(&app, EMAIL, PASSWORD, Some(&code)).await;
    assert_eq!(replay.status(), 401);
    assert_eq!(problem(replay).await["code"], "unauthenticated");

    let without = try_sign_in(&app, EMAIL, PASSWORD, None).await;
    assert_eq!(without.status(), 401);
    assert_eq!(problem(without).await["code"], "mfa_required");

    next_step(&app);
    let code = current_code(&app, secret);
    sign_in_with_mfa(&app, EMAIL, PASSWORD, Some(&code)).await;
    let replay = try_sign_in(&app, EMAIL, PASSWORD, Some(&code)).await;
    assert_eq!(replay.status(), 401, "a code works once");
    assert_eq!(problem(replay).await["code"], "unauthenticated");

    // A new secret cannot replace an enabled one.
    let again = app.post("/v1/auth/mfa/totp", &json!({}), Some(&token)).await;
    assert_eq!(again.status(), 409);

    let actions = platform_audit_actions(&app).await;
    assert!(
        actions.iter().any(|a| a == "mfa.totp_created") && actions.iter().any(|a| a == "mfa.enabled"),
        "{actions:?}"
    );
}

async fn a_backup_code_signs_in_once_and_new_codes_replace_old_ones(app: TestApp) {
    let (_, token, _) = owner_with_mfa(&app).await;
    let codes = backup_codes(&app, &token).await;
    assert_eq!(codes.len(), 10);

    sign_in_with_mfa(&app, EMAIL, PASSWORD, Some(&codes[0])).await;
    let reused = try_sign_in(&app, EMAIL, PASSWORD, Some(&codes[0])).await;
    assert_eq!(reused.status(), 401, "a backup code works once");
    // Typed loosely (upper case, no dash), another code still works.
    let loose = codes[1].replace('-', "").to_uppercase();
    sign_in_with_mfa(&app, EMAIL, PASSWORD, Some(&loose)).await;

    let fresh = backup_codes(&app, &token).await;
    assert!(fresh.iter().all(|c| !codes.contains(c)));
    let old = try_sign_in(&app, EMAIL, PASSWORD, Some(&codes[2])).await;
    assert_eq!(old.status(), 401, "older codes are replaced");
    sign_in_with_mfa(&app, EMAIL, PASSWORD, Some(&fresh[0])).await;
}

async fn disabling_mfa_needs_a_current_code_and_sends_a_notice(app: TestApp) {
    let (user, token, secret) = owner_with_mfa(&app).await;
    backup_codes(&app, &token).await;

    let missing = app.post("/v1/auth/mfa/totp/disable", &json!({"code": ""}), Some(&token)).await;
    assert_eq!(missing.status(), 400);
    let wrong = app.post("/v1/auth/mfa/totp/disable", &json!({"code": "123456"}), Some(&token)).await;
    assert_eq!(wrong.status(), 400);
    let replayed = current_code(&app, &secret);
    let replay = app.post("/v1/auth/mfa/totp/disable", &json!({"code": replayed}), Some(&token)).await;
    assert_eq!(replay.status(), 400, "the code that enabled MFA was used already");
    let status: Value = app.get("/v1/auth/mfa", Some(&token)).await.json().await.unwrap();
    assert_eq!(status, json!({"enabled": true}), "failed attempts change nothing");

    next_step(&app);
    let code = current_code(&app, &secret);
    let disabled = app.post("/v1/auth/mfa/totp/disable", &json!({"code": code}), Some(&token)).await;
    assert_eq!(disabled.status(), 200);
    assert_eq!(disabled.json::<Value>().await.unwrap(), json!({"enabled": false}));

    sign_in(&app, EMAIL, PASSWORD).await;
    let notice = &mails_to(&app, EMAIL)[0];
    assert!(notice.subject.contains("Two-factor authentication was turned off"), "{}", notice.subject);
    let leftover = shared::identity::mfa::backup_code_keys(app.state.table.as_ref(), user).await.unwrap();
    assert!(leftover.is_empty(), "backup codes go with MFA");
    assert!(platform_audit_actions(&app).await.iter().any(|a| a == "mfa.disabled"));
}

async fn mfa_routes_need_a_signed_in_caller(app: TestApp) {
    for path in ["/v1/auth/mfa/totp", "/v1/auth/mfa/totp/enable", "/v1/auth/mfa/backup-codes"] {
        let response = app.post(path, &json!({"code": "123456"}), None).await;
        assert_eq!(response.status(), 401, "{path}");
    }
    assert_eq!(app.get("/v1/auth/mfa", None).await.status(), 401);
}

async fn backup_codes_need_mfa_on(app: TestApp) {
    let (_, _, token) = signed_up_owner_as(&app, "Sunrise", EMAIL).await;
    let response = app.post("/v1/auth/mfa/backup-codes", &json!({}), Some(&token)).await;
    assert_eq!(response.status(), 409);
}

on_both_tables!(
    enabling_totp_makes_sign_in_need_a_code,
    a_backup_code_signs_in_once_and_new_codes_replace_old_ones,
    disabling_mfa_needs_a_current_code_and_sends_a_notice,
    mfa_routes_need_a_signed_in_caller,
    backup_codes_need_mfa_on,
);
