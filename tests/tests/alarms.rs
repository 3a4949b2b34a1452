//! Event alarms through HTTP on both table adapters: an alarm rings at each
//! occurrence's start and repeats every `repeatEveryMinutes` for
//! `forMinutes`, into the inbox and to devices, until the occurrence is
//! marked done or its alarm stopped. Runs are driven with
//! `POST /_dev/reminders/run`, as in `reminders.rs`.

use chrono::{DateTime, Utc};
use reqwest::Method;
use serde_json::{Value, json};
use sundial_tests::identity::signed_up_owner;
use sundial_tests::json_of;
use sundial_tests::reminders::{delivered, forget_watermark, run};
use sundial_tests::{ClockExt, TestApp, on_both_tables};
use uuid::Uuid;

async fn alarms_in_inbox(app: &TestApp, token: &str) -> Vec<Value> {
    let body = json_of(app.get("/v1/notifications?limit=100", Some(token)).await, 200).await;
    body["items"].as_array().unwrap().iter().filter(|n| n["kind"] == "alarm").cloned().collect()
}

/// Moves the app's clock to `at` and returns a fresh token (access tokens
/// last 15 minutes).
async fn at(app: &TestApp, user: Uuid, at: &str) -> String {
    let target: DateTime<Utc> = at.parse().unwrap();
    app.clock.advance(target - app.clock.now_utc());
    app.token_for(user).await
}

async fn post(app: &TestApp, path: &str, token: &str, body: Option<Value>) -> Value {
    let mut req = app.client.request(Method::POST, format!("{}{path}", app.base)).bearer_auth(token);
    if let Some(body) = body {
        req = req.json(&body);
    }
    json_of(req.send().await.unwrap(), 200).await
}

async fn an_alarm_rings_at_the_start_and_repeats_until_its_period_ends(app: TestApp) {
    let (_, _, token) = signed_up_owner(&app).await;
    json_of(
        app.post("/v1/notifications/devices", &json!({"token": "phone-1", "platform": "android"}), Some(&token)).await,
        201,
    )
    .await;
    let body = json!({"title": "Heart pills", "start": "2026-03-29T08:00:00Z", "end": "2026-03-29T08:15:00Z",
                      "timeZone": "UTC", "alarm": {"enabled": true, "repeatEveryMinutes": 5, "forMinutes": 10}});
    let event = json_of(app.post("/v1/events", &body, Some(&token)).await, 201).await;

    assert_eq!(delivered(&run(&app, "2026-03-29T07:59:00Z").await, "inapp"), 0, "not before the start");
    for time in ["2026-03-29T08:00:00Z", "2026-03-29T08:05:00Z", "2026-03-29T08:10:00Z"] {
        let summary = run(&app, time).await;
        assert_eq!(delivered(&summary, "inapp"), 1, "{time}: {summary}");
        assert_eq!(delivered(&summary, "push"), 1, "{time}: {summary}");
        assert_eq!(delivered(&summary, "email"), 0, "alarms never mail");
    }
    let after = run(&app, "2026-03-29T08:20:00Z").await;
    assert_eq!(delivered(&after, "inapp"), 0, "the period is over: {after}");
    forget_watermark(&app).await;
    let replay = run(&app, "2026-03-29T08:05:00Z").await;
    assert_eq!(delivered(&replay, "inapp") + replay["skippedDuplicates"].as_u64().unwrap(), 0, "{replay}");

    let alarms = alarms_in_inbox(&app, &token).await;
    assert_eq!(alarms.len(), 3, "{alarms:?}");
    assert!(alarms.iter().all(|n| n["eventId"] == event["id"] && n["occurrenceStart"] == "2026-03-29T08:00:00Z"));
    assert!(alarms.iter().all(|n| n["title"].as_str().unwrap().contains("Heart pills")));
    assert!(alarms[2]["body"].as_str().unwrap().contains("now"), "the first firing: {}", alarms[2]["body"]);
}

async fn stopping_the_alarm_of_one_occurrence_silences_only_that_one(app: TestApp) {
    let (_, user, token) = signed_up_owner(&app).await;
    let body = json!({"title": "Insulin", "start": "2026-03-30T08:00:00+02:00", "end": "2026-03-30T08:10:00+02:00",
                      "timeZone": "Europe/Stockholm", "recurrence": ["RRULE:FREQ=DAILY"],
                      "alarm": {"enabled": true, "repeatEveryMinutes": 5, "forMinutes": 30}});
    let series = json_of(app.post("/v1/events", &body, Some(&token)).await, 201).await;
    let id = series["id"].as_str().unwrap();

    forget_watermark(&app).await;
    assert_eq!(delivered(&run(&app, "2026-03-30T06:00:00Z").await, "inapp"), 1, "08:00 local rings");
    let token = at(&app, user, "2026-03-30T06:02:00Z").await;
    let stopped = post(&app, &format!("/v1/events/{id}_20260330T060000Z/stop-alarm"), &token, None).await;
    assert_eq!(stopped["alarmStoppedAt"], "2026-03-30T06:02:00Z", "{stopped}");
    let rest = run(&app, "2026-03-30T06:40:00Z").await;
    assert_eq!(delivered(&rest, "inapp"), 0, "no more repeats today: {rest}");

    forget_watermark(&app).await;
    let tomorrow = run(&app, "2026-03-31T06:00:00Z").await;
    assert_eq!(delivered(&tomorrow, "inapp"), 1, "tomorrow's occurrence still rings: {tomorrow}");
    assert_eq!(delivered(&run(&app, "2026-03-31T06:05:00Z").await, "inapp"), 1, "and repeats");
    let starts: Vec<Value> = alarms_in_inbox(&app, &token).await.iter().map(|n| n["occurrenceStart"].clone()).collect();
    assert_eq!(starts, ["2026-03-31T06:00:00Z", "2026-03-31T06:00:00Z", "2026-03-30T06:00:00Z"]);
}

async fn marking_the_event_done_stops_its_alarm_and_undoing_resumes_it(app: TestApp) {
    let (_, user, token) = signed_up_owner(&app).await;
    let body = json!({"title": "Walk the dog", "start": "2026-03-29T08:00:00Z", "end": "2026-03-29T08:30:00Z",
                      "timeZone": "UTC", "alarm": {"enabled": true, "repeatEveryMinutes": 5, "forMinutes": 60}});
    let event = json_of(app.post("/v1/events", &body, Some(&token)).await, 201).await;
    let done = format!("/v1/events/{}/done", event["id"].as_str().unwrap());

    assert_eq!(delivered(&run(&app, "2026-03-29T08:00:00Z").await, "inapp"), 1);
    let token = at(&app, user, "2026-03-29T08:03:00Z").await;
    post(&app, &done, &token, Some(json!({"done": true}))).await;
    assert_eq!(delivered(&run(&app, "2026-03-29T08:11:00Z").await, "inapp"), 0, "done: silent");

    let token = at(&app, user, "2026-03-29T08:12:00Z").await;
    post(&app, &done, &token, Some(json!({"done": false}))).await;
    let resumed = run(&app, "2026-03-29T08:15:00Z").await;
    assert_eq!(delivered(&resumed, "inapp"), 1, "not done after all: the next repeat rings ({resumed})");
    assert_eq!(alarms_in_inbox(&app, &token).await.len(), 2);
}

async fn turning_the_alarm_off_removes_its_pending_firing(app: TestApp) {
    let (_, _, token) = signed_up_owner(&app).await;
    let body = json!({"title": "Stretch", "start": "2026-03-29T08:00:00Z", "end": "2026-03-29T08:30:00Z",
                      "timeZone": "UTC", "alarm": {"enabled": true, "repeatEveryMinutes": 5, "forMinutes": 10}});
    let event = json_of(app.post("/v1/events", &body, Some(&token)).await, 201).await;
    let path = format!("{}/v1/events/{}", app.base, event["id"].as_str().unwrap());
    let patch = json!({"alarm": {"enabled": false, "repeatEveryMinutes": 5, "forMinutes": 10}});
    let response = app.client.patch(&path).bearer_auth(&token).json(&patch).send().await.unwrap();
    json_of(response, 200).await;
    assert_eq!(delivered(&run(&app, "2026-03-29T08:00:00Z").await, "inapp"), 0);
    assert!(alarms_in_inbox(&app, &token).await.is_empty());
}

on_both_tables!(
    an_alarm_rings_at_the_start_and_repeats_until_its_period_ends,
    stopping_the_alarm_of_one_occurrence_silences_only_that_one,
    marking_the_event_done_stops_its_alarm_and_undoing_resumes_it,
    turning_the_alarm_off_removes_its_pending_firing,
);
