//! Sign-in, lockout, refresh rotation, logout, the session list and cookie
//! sessions with CSRF, through HTTP, on both table adapters.

use chrono::Duration;
use reqwest::Response;
use serde_json::{Value, json};
use shared::table::{Index, Key, Query, Update};
use sundial_tests::identity::{PASSWORD, cookie_sign_in, sign_in, signed_up_owner_as, try_sign_in};
use sundial_tests::{ClockExt, TestApp, on_both_tables, problem};
use uuid::Uuid;

const ADA: &str = "ada@example.com";

/// Signs Ada up, without signing her in.
async fn ada(app: &TestApp) -> Uuid {
    let body = app.sign_up("Sunrise Care", ADA).await;
    Uuid::parse_str(body["user"]["id"].as_str().unwrap()).unwrap()
}

async fn refresh(app: &TestApp, refresh_token: &str) -> Response {
    app.post("/v1/auth/refresh", &json!({"refreshToken": refresh_token}), None).await
}

async fn sessions_of(app: &TestApp, access_token: &str) -> Value {
    let response = app.get("/v1/auth/sessions", Some(access_token)).await;
    assert_eq!(response.status(), 200);
    response.json().await.unwrap()
}

async fn status_with(app: &TestApp, access_token: &str) -> u16 {
    app.get("/v1/auth/sessions", Some(access_token)).await.status().as_u16()
}

async fn audit_actions(app: &TestApp) -> Vec<String> {
    let query = Query::new(Index::Primary, shared::keys::audit_pk(None));
    let items = app.state.table.query(&query).await.unwrap().items;
    items.iter().map(|e| e["action"].as_str().unwrap().to_string()).collect()
}

async fn sign_in_returns_a_token_pair_and_the_user(app: TestApp) {
    let user = ada(&app).await;

    let response = try_sign_in(&app, "ADA@example.com", PASSWORD, None).await;

    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["cache-control"], "no-store");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["tokenType"], "Bearer");
    assert_eq!(body["expiresIn"], 900);
    assert_eq!(body["user"]["id"], user.to_string());
    assert_eq!(body["user"]["email"], ADA);
    assert!(body["user"].get("passwordHash").is_none());
    let access = body["accessToken"].as_str().unwrap();
    assert_eq!(status_with(&app, access).await, 200, "the access token works");
    assert!(audit_actions(&app).await.contains(&"session.created".to_string()));
}

async fn unknown_email_and_wrong_password_get_the_same_answer(app: TestApp) {
    ada(&app).await;

    let unknown = try_sign_in(&app, "nobody@example.com", PASSWORD, None).await;
    let wrong = try_sign_in(&app, ADA, "not the password", None).await;

    assert_eq!(unknown.status(), 401);
    assert_eq!(wrong.status(), 401);
    let (unknown, wrong) = (problem(unknown).await, problem(wrong).await);
    assert_eq!(unknown["code"], "unauthenticated");
    assert_eq!(unknown, wrong, "nothing tells an unknown email from a wrong password");
}

async fn malformed_sign_in_requests_are_rejected_field_by_field(app: TestApp) {
    let response = app.post("/v1/auth/token", &json!({"email": "not-an-email", "password": ""}), None).await;

    assert_eq!(response.status(), 400);
    let problem = problem(response).await;
    let mut fields: Vec<&str> =
        problem["errors"].as_array().unwrap().iter().map(|e| e["field"].as_str().unwrap()).collect();
    fields.sort();
    assert_eq!(fields, ["email", "password"]);
    let unknown_field = app.post("/v1/auth/token", &json!({"email": ADA, "password": "x", "extra": 1}), None).await;
    assert_eq!(unknown_field.status(), 400);
}

async fn five_failures_lock_the_account_for_fifteen_minutes(app: TestApp) {
    ada(&app).await;
    for _ in 0..4 {
        assert_eq!(try_sign_in(&app, ADA, "wrong password", None).await.status(), 401);
    }

    let fifth = try_sign_in(&app, ADA, "wrong password", None).await;
    assert_eq!(fifth.status(), 423);
    let locked = problem(fifth).await;
    assert_eq!(locked["code"], "account_locked");
    let until = (app.clock.now_utc() + Duration::minutes(15)).to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    assert_eq!(locked["lockedUntil"], until);

    let right_password = try_sign_in(&app, ADA, PASSWORD, None).await;
    assert_eq!(right_password.status(), 423, "even the right password waits for the lock to end");

    app.clock.advance(Duration::minutes(15));
    sign_in(&app, ADA, PASSWORD).await;
    assert!(audit_actions(&app).await.contains(&"user.locked_out".to_string()));
}

async fn a_successful_sign_in_resets_the_failure_count(app: TestApp) {
    ada(&app).await;
    for _ in 0..4 {
        assert_eq!(try_sign_in(&app, ADA, "wrong password", None).await.status(), 401);
    }
    sign_in(&app, ADA, PASSWORD).await;

    for _ in 0..4 {
        assert_eq!(try_sign_in(&app, ADA, "wrong password", None).await.status(), 401, "the count started again");
    }
    sign_in(&app, ADA, PASSWORD).await;
}

async fn an_administrator_lock_shows_only_after_the_right_password(app: TestApp) {
    let user = ada(&app).await;
    let key = Key::new(shared::keys::user_pk(user), shared::keys::USER_SK);
    app.state.table.update(Update::new(key).set("locked", true)).await.unwrap();

    let wrong = try_sign_in(&app, ADA, "wrong password", None).await;
    assert_eq!(wrong.status(), 401, "a wrong password learns nothing about the lock");

    let right = try_sign_in(&app, ADA, PASSWORD, None).await;
    assert_eq!(right.status(), 423);
    let problem = problem(right).await;
    assert_eq!(problem["code"], "account_locked");
    assert!(problem.get("lockedUntil").is_none(), "an administrator's lock has no end");
}

async fn refresh_tokens_rotate_and_a_reused_one_ends_the_session(app: TestApp) {
    ada(&app).await;
    let first = sign_in(&app, ADA, PASSWORD).await;

    let response = refresh(&app, &first.refresh_token).await;
    assert_eq!(response.status(), 200);
    let second: Value = response.json().await.unwrap();
    let (access, next_refresh) = (second["accessToken"].as_str().unwrap(), second["refreshToken"].as_str().unwrap());
    assert_ne!(next_refresh, first.refresh_token);
    assert_eq!(second["tokenType"], "Bearer");
    assert_eq!(status_with(&app, access).await, 200);

    // After the grace period the old token is a replay: the whole session ends.
    app.clock.advance(Duration::seconds(11));
    let reuse = refresh(&app, &first.refresh_token).await;
    assert_eq!(reuse.status(), 401);
    assert_eq!(problem(reuse).await["code"], "unauthenticated");
    assert_eq!(status_with(&app, access).await, 401, "the session's access token stopped working");
    assert_eq!(refresh(&app, next_refresh).await.status(), 401, "and so did its newest refresh token");
    assert!(audit_actions(&app).await.contains(&"session.revoked_on_reuse".to_string()));
}

async fn an_older_refresh_token_presented_again_also_ends_the_session(app: TestApp) {
    ada(&app).await;
    let first = sign_in(&app, ADA, PASSWORD).await;
    let second: Value = refresh(&app, &first.refresh_token).await.json().await.unwrap();
    let third: Value = refresh(&app, second["refreshToken"].as_str().unwrap()).await.json().await.unwrap();

    // Two rotations back is never a retry, grace period or not.
    assert_eq!(refresh(&app, &first.refresh_token).await.status(), 401);
    assert_eq!(status_with(&app, third["accessToken"].as_str().unwrap()).await, 401);
}

async fn a_retry_within_the_grace_period_gets_the_same_pair(app: TestApp) {
    ada(&app).await;
    let first = sign_in(&app, ADA, PASSWORD).await;

    // Two tabs refreshing at once.
    let (a, b) = tokio::join!(refresh(&app, &first.refresh_token), refresh(&app, &first.refresh_token));
    assert_eq!((a.status().as_u16(), b.status().as_u16()), (200, 200));
    let (a, b): (Value, Value) = (a.json().await.unwrap(), b.json().await.unwrap());
    assert_eq!(a["refreshToken"], b["refreshToken"]);
    assert_eq!(a["accessToken"], b["accessToken"]);

    // A lost response retried a few seconds later.
    app.clock.advance(Duration::seconds(9));
    let retry: Value = refresh(&app, &first.refresh_token).await.json().await.unwrap();
    assert_eq!(retry["refreshToken"], a["refreshToken"]);
    assert_eq!(status_with(&app, retry["accessToken"].as_str().unwrap()).await, 200);

    // The successor carries on normally.
    assert_eq!(refresh(&app, a["refreshToken"].as_str().unwrap()).await.status(), 200);
}

async fn garbage_refresh_tokens_are_rejected_without_ending_the_session(app: TestApp) {
    let user = ada(&app).await;
    let tokens = sign_in(&app, ADA, PASSWORD).await;
    let session = sessions_of(&app, &tokens.access_token).await["items"][0]["id"].as_str().unwrap().to_string();

    for garbage in ["nope".to_string(), format!("{user}.{session}.forged")] {
        assert_eq!(refresh(&app, &garbage).await.status(), 401);
    }
    assert_eq!(status_with(&app, &tokens.access_token).await, 200, "a guess cannot end someone's session");
    assert_eq!(refresh(&app, &tokens.refresh_token).await.status(), 200);
}

async fn logout_ends_access_at_once(app: TestApp) {
    ada(&app).await;
    let tokens = sign_in(&app, ADA, PASSWORD).await;

    let response = app.post("/v1/auth/logout", &json!({}), Some(&tokens.access_token)).await;

    assert_eq!(response.status(), 204);
    assert_eq!(status_with(&app, &tokens.access_token).await, 401);
    assert_eq!(refresh(&app, &tokens.refresh_token).await.status(), 401);
    assert!(audit_actions(&app).await.contains(&"session.ended".to_string()));
}

async fn the_session_list_shows_each_session_and_marks_the_current_one(app: TestApp) {
    ada(&app).await;
    sign_in(&app, ADA, PASSWORD).await;
    let body = json!({"email": ADA, "password": PASSWORD});
    let response = app
        .client
        .post(format!("{}/v1/auth/token", app.base))
        .header("user-agent", "SundialTests/1.0")
        .json(&body)
        .send()
        .await
        .unwrap();
    let second: Value = response.json().await.unwrap();

    let list = sessions_of(&app, second["accessToken"].as_str().unwrap()).await;

    let items = list["items"].as_array().unwrap();
    assert_eq!(items.len(), 2);
    assert_eq!(list["nextCursor"], Value::Null);
    let current: Vec<&Value> = items.iter().filter(|s| s["current"] == true).collect();
    assert_eq!(current.len(), 1);
    assert_eq!(current[0]["userAgent"], "SundialTests/1.0");
    assert_eq!(current[0]["ip"], "127.0.0.1");
    assert_eq!(current[0]["createdAt"], "2026-03-29T06:30:00Z");
    for key in ["id", "createdAt", "lastSeenAt", "userAgent", "ip", "current"] {
        assert!(items[0].get(key).is_some(), "{key} in {}", items[0]);
    }
    let page = app.get("/v1/auth/sessions?limit=1", Some(second["accessToken"].as_str().unwrap())).await;
    let page: Value = page.json().await.unwrap();
    assert_eq!(page["items"].as_array().unwrap().len(), 1);
    assert!(page["nextCursor"].is_string());
}

async fn last_seen_moves_at_most_once_a_minute(app: TestApp) {
    ada(&app).await;
    let tokens = sign_in(&app, ADA, PASSWORD).await;
    let last_seen = |list: Value| list["items"][0]["lastSeenAt"].as_str().unwrap().to_string();

    app.clock.advance(Duration::seconds(30));
    assert_eq!(last_seen(sessions_of(&app, &tokens.access_token).await), "2026-03-29T06:30:00Z");

    app.clock.advance(Duration::seconds(40));
    sessions_of(&app, &tokens.access_token).await;
    assert_eq!(last_seen(sessions_of(&app, &tokens.access_token).await), "2026-03-29T06:31:10Z");
}

async fn only_ones_own_sessions_can_be_ended(app: TestApp) {
    ada(&app).await;
    signed_up_owner_as(&app, "Other", "bob@example.com").await;
    assert_eq!(
        sessions_of(&app, &sign_in(&app, "bob@example.com", PASSWORD).await.access_token).await["items"]
            .as_array()
            .unwrap()
            .len(),
        2,
        "the helper signed bob in"
    );
    let ada_tokens = sign_in(&app, ADA, PASSWORD).await;
    let bob_tokens = sign_in(&app, "bob@example.com", PASSWORD).await;
    let ada_session = sessions_of(&app, &ada_tokens.access_token).await["items"][0]["id"].as_str().unwrap().to_string();

    let delete = |id: String, token: String| {
        app.client.delete(format!("{}/v1/auth/sessions/{id}", app.base)).bearer_auth(token).send()
    };
    let response = delete(ada_session.clone(), bob_tokens.access_token.clone()).await.unwrap();
    assert_eq!(response.status(), 404, "another user's session is not there for bob");
    assert_eq!(problem(response).await["code"], "not_found");
    assert_eq!(status_with(&app, &ada_tokens.access_token).await, 200);
    let unknown = delete(Uuid::now_v7().to_string(), bob_tokens.access_token.clone()).await.unwrap();
    assert_eq!(unknown.status(), 404);

    let own = delete(ada_session, ada_tokens.access_token.clone()).await.unwrap();
    assert_eq!(own.status(), 204);
    assert_eq!(status_with(&app, &ada_tokens.access_token).await, 401);
}

async fn logout_all_ends_every_session(app: TestApp) {
    ada(&app).await;
    let phone = sign_in(&app, ADA, PASSWORD).await;
    let laptop = sign_in(&app, ADA, PASSWORD).await;
    let browser = cookie_sign_in(&app, ADA, PASSWORD).await;

    let response = app.post("/v1/auth/logout-all", &json!({}), Some(&laptop.access_token)).await;

    assert_eq!(response.status(), 204);
    assert_eq!(status_with(&app, &phone.access_token).await, 401);
    assert_eq!(status_with(&app, &laptop.access_token).await, 401);
    assert_eq!(refresh(&app, &phone.refresh_token).await.status(), 401);
    let cookie = app.client.get(format!("{}/v1/auth/sessions", app.base)).header("cookie", &browser.cookie);
    assert_eq!(cookie.send().await.unwrap().status(), 401);
}

async fn revoke_all_can_keep_the_callers_session(app: TestApp) {
    let user = ada(&app).await;
    let keep = sign_in(&app, ADA, PASSWORD).await;
    let other = sign_in(&app, ADA, PASSWORD).await;
    let list = sessions_of(&app, &keep.access_token).await;
    let keep_id = list["items"].as_array().unwrap().iter().find(|s| s["current"] == true).unwrap()["id"].clone();

    let ended = shared::identity::sessions::revoke_all(app.state.table.as_ref(), user, keep_id.as_str()).await.unwrap();

    assert_eq!(ended, 1);
    assert_eq!(status_with(&app, &keep.access_token).await, 200);
    assert_eq!(status_with(&app, &other.access_token).await, 401);
}

async fn cookie_sessions_need_the_csrf_token_to_change_anything(app: TestApp) {
    ada(&app).await;
    let response = app.post("/v1/auth/cookie", &json!({"email": ADA, "password": PASSWORD}), None).await;
    assert_eq!(response.status(), 200);
    let set_cookie = response.headers()["set-cookie"].to_str().unwrap().to_string();
    // `__Host-`: the browser keeps it only if Secure, for this host alone, path /.
    for flag in ["__Host-sundial_session=", "HttpOnly", "Secure", "SameSite=Lax", "Path=/"] {
        assert!(set_cookie.contains(flag), "{set_cookie} lacks {flag}");
    }
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["user"]["email"], ADA);
    let browser = cookie_sign_in(&app, ADA, PASSWORD).await;
    let url = |path: &str| format!("{}{path}", app.base);

    let read = app.client.get(url("/v1/auth/sessions")).header("cookie", &browser.cookie).send().await.unwrap();
    assert_eq!(read.status(), 200, "reads need no CSRF token");

    let without = app.client.post(url("/v1/auth/logout")).header("cookie", &browser.cookie).send().await.unwrap();
    assert_eq!(without.status(), 403);
    assert_eq!(problem(without).await["code"], "forbidden");
    let wrong = app
        .client
        .post(url("/v1/auth/logout"))
        .header("cookie", &browser.cookie)
        .header("x-csrf-token", body["csrfToken"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 403, "another session's CSRF token does not count");

    let with = app
        .client
        .post(url("/v1/auth/logout"))
        .header("cookie", &browser.cookie)
        .header("x-csrf-token", &browser.csrf_token)
        .send()
        .await
        .unwrap();
    assert_eq!(with.status(), 204);
    assert!(with.headers()["set-cookie"].to_str().unwrap().contains("Max-Age=0"), "the cookie is cleared");
    let after = app.client.get(url("/v1/auth/sessions")).header("cookie", &browser.cookie).send().await.unwrap();
    assert_eq!(after.status(), 401);
}

async fn forged_or_orphaned_access_tokens_are_rejected(app: TestApp) {
    let user = ada(&app).await;
    let now = app.clock.now_utc();
    let wrong_key =
        shared::identity::auth::TokenKeys::new(&[9; 32]).issue(user, &Uuid::now_v7().to_string(), "*", now, now);
    let no_session = app.state.tokens.issue(user, &Uuid::now_v7().to_string(), "*", now, now);
    let tokens = sign_in(&app, ADA, PASSWORD).await;
    let claims = tokens.access_token.split('.').nth(1).unwrap().to_string();
    let alg_none = format!("eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.{claims}.");

    for token in [wrong_key.unwrap(), no_session.unwrap(), alg_none, "sdl_pat_unknown".to_string()] {
        assert_eq!(status_with(&app, &token).await, 401, "{token}");
    }
    let cookie =
        app.client.get(format!("{}/v1/auth/sessions", app.base)).header("cookie", "__Host-sundial_session=forged");
    assert_eq!(cookie.send().await.unwrap().status(), 401);
}

async fn sessions_end_after_a_week_without_a_request(app: TestApp) {
    ada(&app).await;
    let mut tokens = sign_in(&app, ADA, PASSWORD).await;
    // Used every six days, a session lives on (each refresh is a request)...
    for _ in 0..3 {
        app.clock.advance(Duration::days(6));
        let refreshed = refresh(&app, &tokens.refresh_token).await;
        assert_eq!(refreshed.status(), 200);
        let body: Value = refreshed.json().await.unwrap();
        tokens.refresh_token = body["refreshToken"].as_str().unwrap().to_string();
        tokens.access_token = body["accessToken"].as_str().unwrap().to_string();
    }
    assert_eq!(status_with(&app, &tokens.access_token).await, 200);
    // ...left alone for seven, it has ended, for its tokens and its cookie alike.
    let browser = cookie_sign_in(&app, ADA, PASSWORD).await;
    app.clock.advance(Duration::days(7));
    assert_eq!(refresh(&app, &tokens.refresh_token).await.status(), 401);
    let cookie = app.client.get(format!("{}/v1/auth/sessions", app.base)).header("cookie", &browser.cookie);
    assert_eq!(cookie.send().await.unwrap().status(), 401);
    let fresh = sign_in(&app, ADA, PASSWORD).await;
    let listed = sessions_of(&app, &fresh.access_token).await;
    assert_eq!(listed["items"].as_array().unwrap().len(), 1, "ended sessions are not listed: {listed}");
}

async fn sessions_end_thirty_days_after_sign_in(app: TestApp) {
    ada(&app).await;
    let tokens = sign_in(&app, ADA, PASSWORD).await;

    app.clock.advance(Duration::days(30));

    assert_eq!(refresh(&app, &tokens.refresh_token).await.status(), 401);
}

on_both_tables!(
    sign_in_returns_a_token_pair_and_the_user,
    unknown_email_and_wrong_password_get_the_same_answer,
    malformed_sign_in_requests_are_rejected_field_by_field,
    five_failures_lock_the_account_for_fifteen_minutes,
    a_successful_sign_in_resets_the_failure_count,
    an_administrator_lock_shows_only_after_the_right_password,
    refresh_tokens_rotate_and_a_reused_one_ends_the_session,
    an_older_refresh_token_presented_again_also_ends_the_session,
    a_retry_within_the_grace_period_gets_the_same_pair,
    garbage_refresh_tokens_are_rejected_without_ending_the_session,
    logout_ends_access_at_once,
    the_session_list_shows_each_session_and_marks_the_current_one,
    last_seen_moves_at_most_once_a_minute,
    only_ones_own_sessions_can_be_ended,
    logout_all_ends_every_session,
    revoke_all_can_keep_the_callers_session,
    cookie_sessions_need_the_csrf_token_to_change_anything,
    forged_or_orphaned_access_tokens_are_rejected,
    sessions_end_thirty_days_after_sign_in,
    sessions_end_after_a_week_without_a_request,
);
