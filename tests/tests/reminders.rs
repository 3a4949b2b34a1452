//! Event reminders through HTTP on both table adapters: events are written
//! over the calendar API, runs are driven with `POST /_dev/reminders/run`
//! (the same `reminders::run` the Lambda calls) and results read from the
//! inbox (`GET /v1/notifications`), the outbox and the run summaries.

use reqwest::{Method, Response};
use serde_json::{Value, json};
use sundial_tests::identity::{signed_up_owner, signed_up_owner_as};
use sundial_tests::json_of;
use sundial_tests::reminders::{delivered, forget_watermark, run};
use sundial_tests::{TestApp, on_both_tables};

async fn send(app: &TestApp, method: Method, path: &str, token: &str, body: Option<Value>) -> Response {
    let mut req = app.client.request(method, format!("{}{path}", app.base)).bearer_auth(token);
    if let Some(body) = body {
        req = req.json(&body);
    }
    req.send().await.expect("request")
}

async fn inbox(app: &TestApp, token: &str) -> Vec<Value> {
    let body = json_of(app.get("/v1/notifications?limit=100", Some(token)).await, 200).await;
    body["items"].as_array().unwrap().clone()
}

async fn create_event(app: &TestApp, token: &str, title: &str, start: &str, end: &str, channels: Value) -> Value {
    let body = json!({"title": title, "start": start, "end": end, "timeZone": "UTC",
                      "reminders": [{"minutesBefore": 10, "channels": channels}]});
    json_of(app.post("/v1/events", &body, Some(token)).await, 201).await
}

async fn a_reminder_lands_in_the_inbox_once_when_its_run_is_duplicated_or_retried(app: TestApp) {
    let (_, _, token) = signed_up_owner(&app).await;
    let event =
        create_event(&app, &token, "Morning pills", "2026-03-29T08:00:00Z", "2026-03-29T08:15:00Z", json!(["inapp"]))
            .await;

    let early = run(&app, "2026-03-29T07:49:00Z").await;
    assert_eq!(delivered(&early, "inapp"), 0, "not before its minute");
    assert!(inbox(&app, &token).await.is_empty());

    // Two runs for the same minute at the same time (a duplicated invocation).
    let (a, b) = tokio::join!(run(&app, "2026-03-29T07:50:00Z"), run(&app, "2026-03-29T07:50:00Z"));
    assert_eq!(delivered(&a, "inapp") + delivered(&b, "inapp"), 1, "{a} {b}");
    // A retried run of that minute, and the next minute's run.
    let retried = run(&app, "2026-03-29T07:50:00Z").await;
    assert_eq!(delivered(&retried, "inapp"), 0);
    forget_watermark(&app).await;
    let replayed = run(&app, "2026-03-29T07:50:00Z").await;
    assert_eq!(replayed["bucketsRead"], 2, "a run without watermark reads from the minute before");
    assert_eq!(delivered(&replayed, "inapp"), 0, "a replay delivers nothing twice");
    run(&app, "2026-03-29T07:51:00Z").await;

    let items = inbox(&app, &token).await;
    assert_eq!(items.len(), 1, "{items:?}");
    let n = &items[0];
    assert_eq!(n["kind"], "reminder");
    assert_eq!(n["eventId"], event["id"]);
    assert_eq!(n["occurrenceStart"], "2026-03-29T08:00:00Z");
    assert_eq!(n["late"], false);
    assert_eq!(n["readAt"], Value::Null);
    assert!(n["title"].as_str().unwrap().contains("Morning pills"));
    assert!(n["body"].as_str().unwrap().contains("Morning pills"));
}

async fn a_run_after_a_three_hour_gap_delivers_the_missed_reminder_late(app: TestApp) {
    let (_, _, token) = signed_up_owner(&app).await;
    run(&app, "2026-03-29T06:31:00Z").await;
    create_event(&app, &token, "Insulin", "2026-03-29T08:00:00Z", "2026-03-29T08:15:00Z", json!(["inapp"])).await;

    let summary = run(&app, "2026-03-29T10:50:00Z").await;
    assert_eq!(summary["bucketsRead"], 259, "every minute since the last run");
    assert_eq!(delivered(&summary, "inapp"), 1);
    assert_eq!(summary["late"], 1);
    let items = inbox(&app, &token).await;
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["late"], true);
}

async fn editing_the_event_time_reschedules_its_reminder(app: TestApp) {
    let (_, _, token) = signed_up_owner(&app).await;
    let event =
        create_event(&app, &token, "Walk", "2026-03-29T08:00:00Z", "2026-03-29T08:30:00Z", json!(["inapp"])).await;
    let id = event["id"].as_str().unwrap();
    let patch = json!({"start": "2026-03-29T09:00:00Z", "end": "2026-03-29T09:30:00Z"});
    json_of(send(&app, Method::PATCH, &format!("/v1/events/{id}"), &token, Some(patch)).await, 200).await;

    let old = run(&app, "2026-03-29T07:50:00Z").await;
    assert_eq!(delivered(&old, "inapp"), 0, "the old time delivers nothing");
    forget_watermark(&app).await;
    let new = run(&app, "2026-03-29T08:50:00Z").await;
    assert_eq!(delivered(&new, "inapp"), 1, "the new time delivers");
    let items = inbox(&app, &token).await;
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["occurrenceStart"], "2026-03-29T09:00:00Z");
}

async fn cancelling_or_deleting_an_event_removes_its_reminders(app: TestApp) {
    let (_, _, token) = signed_up_owner(&app).await;
    let cancelled =
        create_event(&app, &token, "Gym", "2026-03-29T08:00:00Z", "2026-03-29T09:00:00Z", json!(["inapp"])).await;
    let deleted =
        create_event(&app, &token, "Swim", "2026-03-29T08:00:00Z", "2026-03-29T09:00:00Z", json!(["inapp"])).await;
    let path = format!("/v1/events/{}/cancel", cancelled["id"].as_str().unwrap());
    json_of(send(&app, Method::POST, &path, &token, None).await, 200).await;
    let path = format!("/v1/events/{}", deleted["id"].as_str().unwrap());
    assert_eq!(send(&app, Method::DELETE, &path, &token, None).await.status(), 204);

    let summary = run(&app, "2026-03-29T07:50:00Z").await;
    assert_eq!(delivered(&summary, "inapp"), 0, "{summary}");
    assert!(inbox(&app, &token).await.is_empty());
}

async fn a_daily_series_reminds_on_consecutive_days(app: TestApp) {
    let (_, _, token) = signed_up_owner(&app).await;
    let body = json!({"title": "Vitamins", "start": "2026-03-29T08:00:00+02:00", "end": "2026-03-29T08:05:00+02:00",
                      "timeZone": "Europe/Stockholm", "recurrence": ["RRULE:FREQ=DAILY"],
                      "reminders": [{"minutesBefore": 10, "channels": ["inapp"]}]});
    json_of(app.post("/v1/events", &body, Some(&token)).await, 201).await;

    for (day, run_at) in ["2026-03-30T05:50:00Z", "2026-03-31T05:50:00Z", "2026-04-01T05:50:00Z"].iter().enumerate() {
        forget_watermark(&app).await;
        let summary = run(&app, run_at).await;
        assert_eq!(delivered(&summary, "inapp"), 1, "day {day}: {summary}");
    }
    let items = inbox(&app, &token).await;
    let starts: Vec<&str> = items.iter().map(|n| n["occurrenceStart"].as_str().unwrap()).collect();
    assert_eq!(starts, ["2026-04-01T06:00:00Z", "2026-03-31T06:00:00Z", "2026-03-30T06:00:00Z"], "newest first");
    assert!(items[0]["body"].as_str().unwrap().contains("08:00"), "local time named: {}", items[0]["body"]);
}

async fn an_email_reminder_reaches_the_outbox_and_a_push_reminder_the_devices(app: TestApp) {
    let email = format!("pills-{}@example.com", uuid::Uuid::now_v7().simple());
    let (_, _, token) = signed_up_owner_as(&app, "Sunrise Care", &email).await;
    let device = json!({"token": "device-token-1", "platform": "ios"});
    json_of(app.post("/v1/notifications/devices", &device, Some(&token)).await, 201).await;
    create_event(
        &app,
        &token,
        "Blood pressure",
        "2026-03-29T08:00:00Z",
        "2026-03-29T08:15:00Z",
        json!(["email", "push"]),
    )
    .await;

    let summary = run(&app, "2026-03-29T07:50:00Z").await;
    assert_eq!(delivered(&summary, "email"), 1, "{summary}");
    assert_eq!(delivered(&summary, "push"), 1, "{summary}");
    assert_eq!(delivered(&summary, "inapp"), 0);
    let mails = app.outbox.list(Some(&email)).unwrap();
    let reminder = mails.iter().find(|m| m.subject.contains("Blood pressure")).expect("a reminder mail");
    assert!(reminder.text.contains("Blood pressure"));
    assert!(inbox(&app, &token).await.is_empty(), "no inapp channel, no inbox item");

    let removed = send(&app, Method::DELETE, "/v1/notifications/devices/device-token-1", &token, None).await;
    assert_eq!(removed.status(), 204);
    let again = send(&app, Method::DELETE, "/v1/notifications/devices/device-token-1", &token, None).await;
    assert_eq!(again.status(), 404);
}

async fn other_users_cannot_read_or_mark_your_notifications(app: TestApp) {
    let (_, _, ada) = signed_up_owner(&app).await;
    let (_, _, bob) = signed_up_owner(&app).await;
    create_event(&app, &ada, "Physio", "2026-03-29T08:00:00Z", "2026-03-29T09:00:00Z", json!(["inapp"])).await;
    run(&app, "2026-03-29T07:50:00Z").await;
    let items = inbox(&app, &ada).await;
    let id = items[0]["id"].as_str().unwrap();

    assert!(inbox(&app, &bob).await.is_empty());
    let path = format!("/v1/notifications/{id}/read");
    assert_eq!(send(&app, Method::POST, &path, &bob, None).await.status(), 404);
    assert_eq!(inbox(&app, &ada).await[0]["readAt"], Value::Null);

    app.clock.advance(chrono::Duration::minutes(10));
    let read = json_of(send(&app, Method::POST, &path, &ada, None).await, 200).await;
    assert_eq!(read["readAt"], "2026-03-29T06:40:00Z");
    assert_eq!(inbox(&app, &ada).await[0]["readAt"], "2026-03-29T06:40:00Z");
}

async fn deleting_the_next_occurrence_of_a_series_moves_its_reminder_to_the_one_after(app: TestApp) {
    let (_, _, token) = signed_up_owner(&app).await;
    let body = json!({"title": "Eye drops", "start": "2026-03-30T08:00:00+02:00", "end": "2026-03-30T08:05:00+02:00",
                      "timeZone": "Europe/Stockholm", "recurrence": ["RRULE:FREQ=DAILY"],
                      "reminders": [{"minutesBefore": 10, "channels": ["inapp"]}]});
    let series = json_of(app.post("/v1/events", &body, Some(&token)).await, 201).await;
    let instance = format!("/v1/events/{}_20260330T060000Z?scope=one", series["id"].as_str().unwrap());
    assert_eq!(send(&app, Method::DELETE, &instance, &token, None).await.status(), 204);

    let skipped = run(&app, "2026-03-30T05:50:00Z").await;
    assert_eq!(delivered(&skipped, "inapp"), 0, "the deleted occurrence reminds nobody");
    forget_watermark(&app).await;
    let next = run(&app, "2026-03-31T05:50:00Z").await;
    assert_eq!(delivered(&next, "inapp"), 1, "{next}");
    assert_eq!(inbox(&app, &token).await[0]["occurrenceStart"], "2026-03-31T06:00:00Z");
}

on_both_tables!(
    a_reminder_lands_in_the_inbox_once_when_its_run_is_duplicated_or_retried,
    a_run_after_a_three_hour_gap_delivers_the_missed_reminder_late,
    editing_the_event_time_reschedules_its_reminder,
    cancelling_or_deleting_an_event_removes_its_reminders,
    a_daily_series_reminds_on_consecutive_days,
    an_email_reminder_reaches_the_outbox_and_a_push_reminder_the_devices,
    other_users_cannot_read_or_mark_your_notifications,
    deleting_the_next_occurrence_of_a_series_moves_its_reminder_to_the_one_after,
    five_thousand_reminders_due_in_one_minute_are_all_delivered_once,
);

/// 5,000 reminders due in one minute, written straight through the
/// repository (creating 5,000 events over HTTP would dominate the test):
/// one run delivers each once, a replay none.
async fn five_thousand_reminders_due_in_one_minute_are_all_delivered_once(app: TestApp) {
    use shared::calendar::events::Channel;
    use shared::scheduling::reminders::DueItem;
    let (_, owner, token) = signed_up_owner(&app).await;
    let fire_at = chrono::DateTime::parse_from_rfc3339("2026-03-29T07:50:00Z").unwrap().with_timezone(&chrono::Utc);
    let mut batch = Vec::new();
    for i in 0..5000u32 {
        let item = DueItem {
            kind: shared::scheduling::reminders::DueKind::Reminder,
            event_id: uuid::Uuid::now_v7(),
            owner_id: owner,
            recurring: false,
            occurrence: "20260329T080000Z".into(),
            original_start: fire_at + chrono::Duration::minutes(10),
            occurrence_start: fire_at + chrono::Duration::minutes(10),
            reminder_index: 0,
            minutes_before: 10,
            channels: vec![Channel::Inapp],
            title: format!("Dose {i}"),
            time_zone: "UTC".into(),
            all_day: false,
            fire_at,
        };
        batch.push(item.put().unwrap());
        if batch.len() == 100 {
            app.state.table.transact_write(std::mem::take(&mut batch)).await.unwrap();
        }
    }
    let started = std::time::Instant::now();
    let summary = run(&app, "2026-03-29T07:50:00Z").await;
    eprintln!("5000 reminders delivered in {:?}", started.elapsed());
    assert_eq!(delivered(&summary, "inapp"), 5000, "{summary}");
    forget_watermark(&app).await;
    let replay = run(&app, "2026-03-29T07:50:00Z").await;
    assert_eq!(delivered(&replay, "inapp"), 0);

    let mut count = 0;
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(c) => format!("/v1/notifications?limit=100&cursor={c}"),
            None => "/v1/notifications?limit=100".to_string(),
        };
        let page = json_of(app.get(&path, Some(&token)).await, 200).await;
        count += page["items"].as_array().unwrap().len();
        match page["nextCursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => break,
        }
    }
    assert_eq!(count, 5000);
}
