//! The notification inbox and device routes through HTTP on both table
//! adapters: input validation, unknown ids and the caller-only scope. How
//! reminders fill the inbox is in `reminders.rs`.

use serde_json::json;
use sundial_tests::identity::signed_up_owner;
use sundial_tests::{TestApp, on_both_tables, problem};

async fn a_device_needs_a_token_and_a_known_platform(app: TestApp) {
    let (_, _, token) = signed_up_owner(&app).await;
    let empty = app.post("/v1/notifications/devices", &json!({"token": " ", "platform": "ios"}), Some(&token)).await;
    assert_eq!(empty.status(), 400);
    assert_eq!(problem(empty).await["errors"][0]["field"], "token");
    let platform =
        app.post("/v1/notifications/devices", &json!({"token": "t1", "platform": "nokia"}), Some(&token)).await;
    assert_eq!(platform.status(), 400);
    let ok = app.post("/v1/notifications/devices", &json!({"token": "t1", "platform": "web"}), Some(&token)).await;
    assert_eq!(ok.status(), 201);
    let again = app.post("/v1/notifications/devices", &json!({"token": "t1", "platform": "web"}), Some(&token)).await;
    assert_eq!(again.status(), 201, "registering again refreshes the device");
}

async fn the_inbox_needs_credentials_and_rejects_unknown_parameters(app: TestApp) {
    let (_, _, token) = signed_up_owner(&app).await;
    assert_eq!(app.get("/v1/notifications", None).await.status(), 401);
    assert_eq!(app.get("/v1/notifications?sort=asc", Some(&token)).await.status(), 400);
    assert_eq!(app.get("/v1/notifications?limit=0", Some(&token)).await.status(), 400);
    let empty = app.get("/v1/notifications", Some(&token)).await;
    assert_eq!(empty.status(), 200);
    let body: serde_json::Value = empty.json().await.unwrap();
    assert_eq!(body, json!({"items": [], "nextCursor": null}));
}

async fn marking_an_unknown_notification_read_is_not_found(app: TestApp) {
    let (_, _, token) = signed_up_owner(&app).await;
    let random = format!("/v1/notifications/{}/read", uuid::Uuid::now_v7());
    assert_eq!(app.post(&random, &json!({}), Some(&token)).await.status(), 404);
    assert_eq!(app.post("/v1/notifications/not-a-uuid/read", &json!({}), Some(&token)).await.status(), 404);
}

async fn a_user_has_at_most_ten_devices(app: TestApp) {
    let (_, _, token) = signed_up_owner(&app).await;
    for n in 0..10 {
        let body = json!({"token": format!("device-{n}"), "platform": "android"});
        assert_eq!(app.post("/v1/notifications/devices", &body, Some(&token)).await.status(), 201, "device {n}");
    }
    let eleventh =
        app.post("/v1/notifications/devices", &json!({"token": "device-10", "platform": "ios"}), Some(&token)).await;
    assert_eq!(eleventh.status(), 409);
    assert!(problem(eleventh).await["detail"].as_str().unwrap().contains("at most 10"));
    let known =
        app.post("/v1/notifications/devices", &json!({"token": "device-3", "platform": "android"}), Some(&token)).await;
    assert_eq!(known.status(), 201, "a known device is refreshed at the limit");
    let removed = app
        .client
        .delete(format!("{}/v1/notifications/devices/device-0", app.base))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(removed.status(), 204);
    let now_fits =
        app.post("/v1/notifications/devices", &json!({"token": "device-10", "platform": "ios"}), Some(&token)).await;
    assert_eq!(now_fits.status(), 201, "room again after a removal");
}

on_both_tables!(
    a_user_has_at_most_ten_devices,
    a_device_needs_a_token_and_a_known_platform,
    the_inbox_needs_credentials_and_rejects_unknown_parameters,
    marking_an_unknown_notification_read_is_not_found,
);
