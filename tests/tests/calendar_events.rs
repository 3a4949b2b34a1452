//! Calendar events through HTTP on both table adapters: one-off, all-day and
//! recurring events, DST weeks in Stockholm and New York, every edit scope
//! for patch, cancel and delete, per-occurrence state, permissions and
//! validation.

use chrono::{DateTime, Utc};
use reqwest::{Method, Response};
use serde_json::{Value, json};
use shared::calendar::events;
use shared::calendar::events::MAX_SERIES_PER_OWNER;
use shared::calendar::events::{EventChange, EventDetails, EventPut, EventRecord, EventStatus, OccurrenceState};
use shared::domain::{Email, Role};
use shared::organisations;
use shared::organisations::Membership;
use shared::people::planners;
use shared::people::planners::Access;
use shared::people::planners::PlannerLink;
use shared::people::planners::PlannerPermissions;
use shared::people::users;
use shared::people::users::UserRecord;
use shared::table::{Index, Query};
use sundial_tests::identity::signed_up_owner;
use sundial_tests::json_of;
use sundial_tests::{ClockExt, TestApp, on_both_tables, problem};
use uuid::Uuid;

/// Sends a request with an optional JSON body and `If-Match`.
async fn send(
    app: &TestApp,
    method: Method,
    path: &str,
    token: &str,
    body: Option<Value>,
    if_match: Option<&str>,
) -> Response {
    let mut req = app.client.request(method, format!("{}{path}", app.base)).bearer_auth(token);
    if let Some(body) = body {
        req = req.json(&body);
    }
    if let Some(v) = if_match {
        req = req.header("If-Match", v);
    }
    req.send().await.expect("request")
}

async fn create(app: &TestApp, token: &str, body: Value) -> Value {
    json_of(app.post("/v1/events", &body, Some(token)).await, 201).await
}

async fn list(app: &TestApp, token: &str, query: &str) -> Vec<Value> {
    let body = json_of(app.get(&format!("/v1/events?limit=100&{query}"), Some(token)).await, 200).await;
    body["items"].as_array().unwrap().clone()
}

fn field<'a>(items: &'a [Value], name: &str) -> Vec<&'a str> {
    items.iter().map(|e| e[name].as_str().unwrap()).collect()
}

/// A user added straight to `org` with `role`, with a session token.
async fn member(app: &TestApp, org: Uuid, role: Role) -> (Uuid, String) {
    let now = app.clock.now_utc();
    let email = Email::parse(&format!("m-{}@example.com", Uuid::now_v7().simple())).unwrap();
    let user = UserRecord::new(&email, "Mia", "Member", None, now);
    let mut ops = users::create_ops(&user).unwrap();
    let membership = Membership::new(org, user.id, role, now);
    ops.push(organisations::add_member_op(&membership).unwrap());
    app.state.table.transact_write(ops).await.unwrap();
    (user.id, app.token_for(user.id).await)
}

async fn link_planner(app: &TestApp, member: Uuid, planner: Uuid, calendar: Access) {
    let now = app.clock.now_utc();
    let link = PlannerLink {
        user_id: member,
        planner_id: planner,
        permissions: PlannerPermissions { calendar: Some(calendar), ..Default::default() },
        organisation_id: None,
        created_at: now,
        updated_at: now,
        version: 1,
    };
    app.state.table.transact_write(vec![planners::put_op(&link, None).unwrap()]).await.unwrap();
}

fn daily(start: &str, tz: &str, rule: &str) -> Value {
    let begin = DateTime::parse_from_rfc3339(start).unwrap().with_timezone(&Utc);
    let end = (begin + chrono::Duration::minutes(30)).to_rfc3339();
    json!({"title": "Medicine", "start": start, "end": end, "timeZone": tz, "recurrence": [rule]})
}

async fn a_one_off_event_is_created_read_listed_and_audited(app: TestApp) {
    let (org, owner, token) = signed_up_owner(&app).await;
    let response = app
        .post(
            "/v1/events",
            &json!({"title": "Dentist", "start": "2026-04-02T08:00:00+02:00", "end": "2026-04-02T09:00:00+02:00",
                    "timeZone": "Europe/Stockholm", "location": "Main street 1", "tags": ["health"],
                    "reminders": [{"minutesBefore": 30, "channels": ["push", "inapp"]}],
                    "alarm": {"enabled": true, "repeatEveryMinutes": 5, "forMinutes": 30}}),
            Some(&token),
        )
        .await;
    assert_eq!(response.status(), 201);
    assert_eq!(response.headers()["etag"], "\"1\"");
    let location = response.headers()["location"].to_str().unwrap().to_string();
    let event: Value = response.json().await.unwrap();
    assert_eq!(location, format!("/v1/events/{}", event["id"].as_str().unwrap()));
    assert_eq!(event["start"], "2026-04-02T06:00:00Z", "instants are answered in UTC");
    assert_eq!(event["timeZone"], "Europe/Stockholm");
    assert_eq!(event["ownerId"], owner.to_string());
    assert_eq!(event["status"], "confirmed");
    assert_eq!(event["done"], false);
    assert_eq!(event["reminders"][0]["channels"], json!(["inapp", "push"]));

    let read = json_of(app.get(&location, Some(&token)).await, 200).await;
    assert_eq!(read, event);
    let items = list(&app, &token, "from=2026-04-01T00:00:00Z&to=2026-04-03T00:00:00Z").await;
    assert_eq!(field(&items, "id"), [event["id"].as_str().unwrap()]);
    assert!(list(&app, &token, "from=2026-04-03T00:00:00Z&to=2026-04-04T00:00:00Z").await.is_empty());

    let audit = Query::new(Index::Primary, format!("AUDIT#{org}"));
    let entries = app.state.table.query(&audit).await.unwrap().items;
    assert!(entries.iter().any(|e| e["action"] == "event.created"), "{entries:?}");
}

async fn a_daily_series_stays_at_eight_local_through_the_stockholm_dst_weeks(app: TestApp) {
    let (_, _, token) = signed_up_owner(&app).await;
    let series = create(&app, &token, daily("2026-03-26T08:00:00+01:00", "Europe/Stockholm", "RRULE:FREQ=DAILY")).await;
    let id = series["id"].as_str().unwrap();
    assert_eq!(series["recurrence"], json!(["RRULE:FREQ=DAILY"]));

    let spring = list(&app, &token, "from=2026-03-27T00:00:00Z&to=2026-03-31T00:00:00Z").await;
    assert_eq!(
        field(&spring, "start"),
        ["2026-03-27T07:00:00Z", "2026-03-28T07:00:00Z", "2026-03-29T06:00:00Z", "2026-03-30T06:00:00Z"]
    );
    assert_eq!(spring[2]["id"], format!("{id}_20260329T060000Z"));
    assert_eq!(spring[2]["recurringEventId"], id);
    assert_eq!(spring[2]["originalStart"], "2026-03-29T06:00:00Z");
    assert_eq!(spring[2]["end"], "2026-03-29T06:30:00Z");

    let autumn = list(&app, &token, "from=2026-10-24T00:00:00Z&to=2026-10-27T00:00:00Z").await;
    assert_eq!(field(&autumn, "start"), ["2026-10-24T06:00:00Z", "2026-10-25T07:00:00Z", "2026-10-26T07:00:00Z"]);

    // 02:30 does not exist on 2026-03-29 in Stockholm: that day it is at 03:30 local (01:30Z).
    let night =
        create(&app, &token, daily("2026-03-28T02:30:00+01:00", "Europe/Stockholm", "RRULE:FREQ=DAILY;COUNT=3")).await;
    let items = list(
        &app,
        &token,
        &format!("from=2026-03-28T00:00:00Z&to=2026-03-31T00:00:00Z&ownerId={}", night["ownerId"].as_str().unwrap()),
    )
    .await;
    let night_items: Vec<&Value> = items.iter().filter(|e| e["recurringEventId"] == night["id"]).collect();
    let starts: Vec<&str> = night_items.iter().map(|e| e["start"].as_str().unwrap()).collect();
    assert_eq!(starts, ["2026-03-28T01:30:00Z", "2026-03-29T01:30:00Z", "2026-03-30T00:30:00Z"]);
    // The list is ordered by start across series.
    let all_starts = field(&items, "start");
    let mut sorted = all_starts.clone();
    sorted.sort();
    assert_eq!(all_starts, sorted);
}

async fn a_daily_series_stays_at_eight_local_through_the_new_york_dst_weeks(app: TestApp) {
    let (_, _, token) = signed_up_owner(&app).await;
    create(&app, &token, daily("2026-03-06T08:00:00-05:00", "America/New_York", "RRULE:FREQ=DAILY")).await;
    let spring = list(&app, &token, "from=2026-03-07T00:00:00Z&to=2026-03-10T00:00:00Z").await;
    assert_eq!(field(&spring, "start"), ["2026-03-07T13:00:00Z", "2026-03-08T12:00:00Z", "2026-03-09T12:00:00Z"]);
    let autumn = list(&app, &token, "from=2026-10-31T00:00:00Z&to=2026-11-03T00:00:00Z").await;
    assert_eq!(field(&autumn, "start"), ["2026-10-31T12:00:00Z", "2026-11-01T13:00:00Z", "2026-11-02T13:00:00Z"]);
}

async fn editing_one_instance_detaches_it_and_the_series_skips_its_original_time(app: TestApp) {
    let (_, _, token) = signed_up_owner(&app).await;
    let series =
        create(&app, &token, daily("2026-04-01T08:00:00+02:00", "Europe/Stockholm", "RRULE:FREQ=DAILY;COUNT=5")).await;
    let id = series["id"].as_str().unwrap();
    let instance = format!("{id}_20260402T060000Z");

    // An instance of a series needs a scope.
    let missing =
        send(&app, Method::PATCH, &format!("/v1/events/{instance}"), &token, Some(json!({"title": "x"})), None).await;
    assert_eq!(missing.status(), 400);
    assert_eq!(problem(missing).await["errors"][0]["field"], "scope");

    let moved = send(
        &app,
        Method::PATCH,
        &format!("/v1/events/{instance}?scope=one"),
        &token,
        Some(json!({"title": "Medicine (late)", "start": "2026-04-06T10:00:00Z"})),
        None,
    )
    .await;
    let moved = json_of(moved, 200).await;
    assert_eq!(moved["id"], instance);
    assert_eq!(moved["start"], "2026-04-06T10:00:00Z");
    assert_eq!(moved["end"], "2026-04-06T10:30:00Z", "keeps its length");
    assert_eq!(moved["originalStart"], "2026-04-02T06:00:00Z");

    let items = list(&app, &token, "from=2026-04-01T00:00:00Z&to=2026-04-08T00:00:00Z").await;
    assert_eq!(
        field(&items, "start"),
        [
            "2026-04-01T06:00:00Z",
            "2026-04-03T06:00:00Z",
            "2026-04-04T06:00:00Z",
            "2026-04-05T06:00:00Z",
            "2026-04-06T10:00:00Z"
        ]
    );
    assert_eq!(items[4]["title"], "Medicine (late)");
    assert_eq!(items[0]["title"], "Medicine");
    let read = json_of(app.get(&format!("/v1/events/{instance}"), Some(&token)).await, 200).await;
    assert_eq!(read["title"], "Medicine (late)");
    // An id that is not an occurrence of the series does not exist.
    let off = app.get(&format!("/v1/events/{id}_20260402T070000Z"), Some(&token)).await;
    assert_eq!(off.status(), 404);
}

async fn editing_this_and_following_splits_the_series_and_shares_its_count(app: TestApp) {
    let (_, _, token) = signed_up_owner(&app).await;
    let series =
        create(&app, &token, daily("2026-04-01T08:00:00+02:00", "Europe/Stockholm", "RRULE:FREQ=DAILY;COUNT=10")).await;
    let id = series["id"].as_str().unwrap();
    let fifth = format!("{id}_20260405T060000Z");
    let new = send(
        &app,
        Method::PATCH,
        &format!("/v1/events/{fifth}?scope=future"),
        &token,
        Some(json!({"title": "New dose"})),
        None,
    )
    .await;
    let new = json_of(new, 200).await;
    assert_ne!(new["id"], id);
    assert_eq!(new["start"], "2026-04-05T06:00:00Z");
    assert_eq!(new["recurrence"], json!(["RRULE:FREQ=DAILY;COUNT=6"]));

    let old = json_of(app.get(&format!("/v1/events/{id}"), Some(&token)).await, 200).await;
    assert_eq!(old["recurrence"], json!(["RRULE:FREQ=DAILY;COUNT=4"]));
    let items = list(&app, &token, "from=2026-04-01T00:00:00Z&to=2026-04-20T00:00:00Z").await;
    assert_eq!(items.len(), 10);
    let titles = field(&items, "title");
    assert_eq!(titles[..4], ["Medicine"; 4]);
    assert_eq!(titles[4..], ["New dose"; 6]);
}

async fn editing_all_from_an_instance_moves_and_renames_the_whole_series(app: TestApp) {
    let (_, _, token) = signed_up_owner(&app).await;
    let series =
        create(&app, &token, daily("2026-04-01T08:00:00+02:00", "Europe/Stockholm", "RRULE:FREQ=DAILY;COUNT=3")).await;
    let id = series["id"].as_str().unwrap();
    let second = format!("{id}_20260402T060000Z");
    let response = send(
        &app,
        Method::PATCH,
        &format!("/v1/events/{second}?scope=all"),
        &token,
        Some(json!({"title": "Walk", "start": "2026-04-02T07:00:00Z"})),
        Some("\"1\""),
    )
    .await;
    let updated = json_of(response, 200).await;
    assert_eq!(updated["id"], id);
    assert_eq!(updated["version"], 2);
    let items = list(&app, &token, "from=2026-04-01T00:00:00Z&to=2026-04-05T00:00:00Z").await;
    assert_eq!(field(&items, "start"), ["2026-04-01T07:00:00Z", "2026-04-02T07:00:00Z", "2026-04-03T07:00:00Z"]);
    assert_eq!(field(&items, "title"), ["Walk"; 3]);
    // The old version no longer matches.
    let stale =
        send(&app, Method::PATCH, &format!("/v1/events/{id}"), &token, Some(json!({"title": "x"})), Some("\"1\""))
            .await;
    assert_eq!(stale.status(), 412);
    // A series id takes no instance scope.
    let wrong =
        send(&app, Method::PATCH, &format!("/v1/events/{id}?scope=one"), &token, Some(json!({"title": "x"})), None)
            .await;
    assert_eq!(wrong.status(), 400);
}

async fn deleting_with_each_scope_removes_one_the_rest_or_everything(app: TestApp) {
    let (_, _, token) = signed_up_owner(&app).await;
    let series =
        create(&app, &token, daily("2026-04-01T08:00:00+02:00", "Europe/Stockholm", "RRULE:FREQ=DAILY;COUNT=6")).await;
    let id = series["id"].as_str().unwrap();
    let window = "from=2026-04-01T00:00:00Z&to=2026-04-10T00:00:00Z";

    let one =
        send(&app, Method::DELETE, &format!("/v1/events/{id}_20260402T060000Z?scope=one"), &token, None, None).await;
    assert_eq!(one.status(), 204);
    assert_eq!(app.get(&format!("/v1/events/{id}_20260402T060000Z"), Some(&token)).await.status(), 404);
    assert_eq!(list(&app, &token, window).await.len(), 5);

    let future =
        send(&app, Method::DELETE, &format!("/v1/events/{id}_20260404T060000Z?scope=future"), &token, None, None).await;
    assert_eq!(future.status(), 204);
    let items = list(&app, &token, window).await;
    assert_eq!(field(&items, "start"), ["2026-04-01T06:00:00Z", "2026-04-03T06:00:00Z"]);

    let all =
        send(&app, Method::DELETE, &format!("/v1/events/{id}_20260401T060000Z?scope=all"), &token, None, None).await;
    assert_eq!(all.status(), 204);
    assert!(list(&app, &token, window).await.is_empty());
    assert_eq!(app.get(&format!("/v1/events/{id}"), Some(&token)).await.status(), 404);
}

async fn cancelling_with_each_scope_keeps_cancelled_instances_readable_but_out_of_lists(app: TestApp) {
    let (_, _, token) = signed_up_owner(&app).await;
    let series =
        create(&app, &token, daily("2026-04-01T08:00:00+02:00", "Europe/Stockholm", "RRULE:FREQ=DAILY;COUNT=6")).await;
    let id = series["id"].as_str().unwrap();
    let window = "from=2026-04-01T00:00:00Z&to=2026-04-10T00:00:00Z";

    let one =
        send(&app, Method::POST, &format!("/v1/events/{id}_20260402T060000Z/cancel?scope=one"), &token, None, None)
            .await;
    assert_eq!(json_of(one, 200).await["status"], "cancelled");
    let read = json_of(app.get(&format!("/v1/events/{id}_20260402T060000Z"), Some(&token)).await, 200).await;
    assert_eq!(read["status"], "cancelled");
    assert_eq!(list(&app, &token, window).await.len(), 5);

    let future =
        send(&app, Method::POST, &format!("/v1/events/{id}_20260405T060000Z/cancel?scope=future"), &token, None, None)
            .await;
    let rest = json_of(future, 200).await;
    assert_eq!(rest["status"], "cancelled");
    assert_eq!(rest["recurrence"], json!(["RRULE:FREQ=DAILY;COUNT=2"]));
    assert_eq!(
        field(&list(&app, &token, window).await, "start"),
        ["2026-04-01T06:00:00Z", "2026-04-03T06:00:00Z", "2026-04-04T06:00:00Z"]
    );

    let all = send(&app, Method::POST, &format!("/v1/events/{id}/cancel"), &token, None, None).await;
    assert_eq!(json_of(all, 200).await["status"], "cancelled");
    assert!(list(&app, &token, window).await.is_empty());
}

async fn done_progress_and_stopped_alarms_belong_to_one_occurrence(app: TestApp) {
    let (_, _, token) = signed_up_owner(&app).await;
    let series =
        create(&app, &token, daily("2026-04-01T08:00:00+02:00", "Europe/Stockholm", "RRULE:FREQ=DAILY;COUNT=3")).await;
    let id = series["id"].as_str().unwrap();
    let second = format!("{id}_20260402T060000Z");
    let (list_id, item_id) = (Uuid::now_v7(), Uuid::now_v7());

    let done = json_of(
        send(&app, Method::POST, &format!("/v1/events/{second}/done"), &token, Some(json!({"done": true})), None).await,
        200,
    )
    .await;
    assert_eq!(done["done"], true);
    let progress = send(
        &app,
        Method::POST,
        &format!("/v1/events/{second}/progress"),
        &token,
        Some(json!({list_id.to_string(): [item_id]})),
        None,
    )
    .await;
    assert_eq!(json_of(progress, 200).await["progress"][list_id.to_string()], json!([item_id]));
    app.clock.advance(chrono::Duration::minutes(3));
    let stopped =
        json_of(send(&app, Method::POST, &format!("/v1/events/{second}/stop-alarm"), &token, None, None).await, 200)
            .await;
    assert_eq!(stopped["alarmStoppedAt"], "2026-03-29T06:33:00Z");

    let items = list(&app, &token, "from=2026-04-01T00:00:00Z&to=2026-04-05T00:00:00Z").await;
    let done_flags: Vec<bool> = items.iter().map(|e| e["done"].as_bool().unwrap()).collect();
    assert_eq!(done_flags, [false, true, false]);
    assert!(items[0]["alarmStoppedAt"].is_null() && !items[1]["alarmStoppedAt"].is_null());
    // On a series as a whole it is ambiguous.
    let whole =
        send(&app, Method::POST, &format!("/v1/events/{id}/done"), &token, Some(json!({"done": true})), None).await;
    assert_eq!(whole.status(), 400);
    // On a one-off event it is the event's own.
    let single =
        create(&app, &token, json!({"title": "Call", "start": "2026-04-02T10:00:00Z", "end": "2026-04-02T10:15:00Z"}))
            .await;
    let marked = send(
        &app,
        Method::POST,
        &format!("/v1/events/{}/done", single["id"].as_str().unwrap()),
        &token,
        Some(json!({"done": true})),
        None,
    )
    .await;
    assert_eq!(json_of(marked, 200).await["version"], 2);
}

async fn all_day_events_use_dates_with_an_exclusive_end(app: TestApp) {
    let (_, _, token) = signed_up_owner(&app).await;
    let day = create(
        &app,
        &token,
        json!({"title": "Birthday", "start": "2026-03-29", "allDay": true, "timeZone": "Europe/Stockholm"}),
    )
    .await;
    assert_eq!((day["start"].as_str(), day["end"].as_str()), (Some("2026-03-29"), Some("2026-03-30")));
    let weekly = create(
        &app,
        &token,
        json!({"title": "Market", "start": "2026-04-04", "end": "2026-04-05", "allDay": true, "timeZone": "Europe/Stockholm",
               "recurrence": ["RRULE:FREQ=WEEKLY;BYDAY=SA;COUNT=3"]}),
    )
    .await;
    let id = weekly["id"].as_str().unwrap();
    // 2026-03-29 begins at 2026-03-28T23:00Z in Stockholm.
    let items = list(&app, &token, "from=2026-03-28T23:30:00Z&to=2026-04-30T00:00:00Z").await;
    assert_eq!(field(&items, "start"), ["2026-03-29", "2026-04-04", "2026-04-11", "2026-04-18"]);
    assert_eq!(items[1]["id"], format!("{id}_20260404"));
    assert_eq!(items[1]["originalStart"], "2026-04-04");
    let instance = json_of(app.get(&format!("/v1/events/{id}_20260411"), Some(&token)).await, 200).await;
    assert_eq!(instance["end"], "2026-04-12");
}

async fn invalid_events_list_every_bad_field_and_store_nothing(app: TestApp) {
    let (_, _, token) = signed_up_owner(&app).await;
    let cases = [
        (json!({"title": "x", "start": "2026-04-02T10:00:00Z", "end": "2026-04-02T09:00:00Z"}), vec!["end"]),
        (
            json!({"title": "x", "start": "2026-04-02T10:00:00Z", "end": "2026-04-02T11:00:00Z", "recurrence": ["RRULE:FREQ=DAILY"]}),
            vec!["timeZone"],
        ),
        (
            json!({"title": "x", "start": "2026-04-02T10:00:00Z", "end": "2026-04-02T11:00:00Z", "timeZone": "Europe/Stockholm", "recurrence": ["RRULE:FREQ=SOMETIMES"]}),
            vec!["recurrence[0]"],
        ),
        (
            json!({"title": "x", "start": "2026-04-02T10:00:00Z", "end": "2026-04-02T11:00:00Z", "colour": "red"}),
            vec!["body"],
        ),
        (
            json!({"title": " ", "start": "yesterday", "end": "2026-04-02T11:00:00Z", "timeZone": "Mars/Olympus"}),
            vec!["start", "timeZone", "title"],
        ),
        (
            json!({"title": "x", "start": "2026-04-02T10:00:00Z", "end": "2026-04-02T11:00:00Z", "reminders": [{"minutesBefore": 5, "channels": ["pigeon"]}]}),
            vec!["reminders[0].channels[0]"],
        ),
    ];
    for (body, expected) in cases {
        let response = app.post("/v1/events", &body, Some(&token)).await;
        assert_eq!(response.status(), 400, "{body}");
        let problem = problem(response).await;
        assert_eq!(problem["code"], "validation_failed");
        let mut fields: Vec<String> =
            problem["errors"].as_array().unwrap().iter().map(|e| e["field"].as_str().unwrap().to_string()).collect();
        fields.sort();
        if expected == ["body"] {
            assert!(fields.len() == 1, "{problem}");
        } else {
            assert_eq!(fields, expected, "{body}");
        }
    }
    assert!(list(&app, &token, "from=2026-04-01T00:00:00Z&to=2026-04-05T00:00:00Z").await.is_empty());
    let wide = app.get("/v1/events?from=2026-01-01T00:00:00Z&to=2027-01-03T00:00:00Z", Some(&token)).await;
    assert_eq!(wide.status(), 400, "a window spans at most 366 days");
    let unknown = app.get("/v1/events?from=2026-01-01T00:00:00Z&to=2026-01-03T00:00:00Z&sort=x", Some(&token)).await;
    assert_eq!(unknown.status(), 400);
}

async fn other_tenants_get_404_and_planners_and_admins_get_their_permissions(app: TestApp) {
    let (org, _, owner_token) = signed_up_owner(&app).await;
    let (member_id, member_token) = member(&app, org, Role::Member).await;
    let (planner_id, planner_token) = member(&app, org, Role::Planner).await;
    let (reader_id, reader_token) = member(&app, org, Role::Planner).await;
    link_planner(&app, member_id, planner_id, Access::Write).await;
    link_planner(&app, member_id, reader_id, Access::Read).await;
    let (_, _, stranger_token) = signed_up_owner(&app).await;

    let body = |title: &str| json!({"ownerId": member_id, "title": title, "start": "2026-04-02T10:00:00Z", "end": "2026-04-02T11:00:00Z"});
    // The organisation's owner (an admin) and a planner with calendar write plan for the member.
    let by_admin = create(&app, &owner_token, body("By admin")).await;
    create(&app, &planner_token, body("By planner")).await;
    // A read-only planner sees but cannot write; a stranger sees nothing.
    assert_eq!(app.post("/v1/events", &body("x"), Some(&reader_token)).await.status(), 403);
    assert_eq!(app.post("/v1/events", &body("x"), Some(&stranger_token)).await.status(), 404);
    let window = format!("ownerId={member_id}&from=2026-04-01T00:00:00Z&to=2026-04-05T00:00:00Z");
    assert_eq!(list(&app, &reader_token, &window).await.len(), 2);
    assert_eq!(list(&app, &member_token, "from=2026-04-01T00:00:00Z&to=2026-04-05T00:00:00Z").await.len(), 2);
    assert_eq!(app.get(&format!("/v1/events?limit=5&{window}"), Some(&stranger_token)).await.status(), 404);

    let path = format!("/v1/events/{}", by_admin["id"].as_str().unwrap());
    assert_eq!(app.get(&path, Some(&stranger_token)).await.status(), 404);
    assert_eq!(
        send(&app, Method::PATCH, &path, &stranger_token, Some(json!({"title": "x"})), None).await.status(),
        404
    );
    assert_eq!(send(&app, Method::DELETE, &path, &stranger_token, None, None).await.status(), 404);
    assert_eq!(app.get(&path, Some(&member_token)).await.status(), 200);
}

async fn attendees_see_the_events_they_attend_and_cannot_change_them(app: TestApp) {
    let (org, owner, owner_token) = signed_up_owner(&app).await;
    let (guest_id, guest_token) = member(&app, org, Role::Member).await;
    let (_, stranger, _) = signed_up_owner(&app).await;

    let outsider = app
        .post("/v1/events", &json!({"title": "x", "start": "2026-04-02T10:00:00Z", "end": "2026-04-02T11:00:00Z", "attendeeIds": [stranger]}), Some(&owner_token))
        .await;
    assert_eq!(problem(outsider).await["errors"][0]["field"], "attendeeIds[0]");

    let meeting = create(
        &app,
        &owner_token,
        json!({"title": "Team meeting", "start": "2026-04-01T08:00:00Z", "end": "2026-04-01T09:00:00Z", "timeZone": "Europe/Stockholm",
               "recurrence": ["RRULE:FREQ=WEEKLY;BYDAY=WE;COUNT=2"], "attendeeIds": [guest_id]}),
    )
    .await;
    let items = list(&app, &guest_token, "from=2026-04-01T00:00:00Z&to=2026-04-30T00:00:00Z").await;
    assert_eq!(field(&items, "title"), ["Team meeting", "Team meeting"]);
    assert_eq!(items[0]["ownerId"], owner.to_string());
    let id = meeting["id"].as_str().unwrap();
    assert_eq!(app.get(&format!("/v1/events/{id}"), Some(&guest_token)).await.status(), 200);
    let change =
        send(&app, Method::PATCH, &format!("/v1/events/{id}"), &guest_token, Some(json!({"title": "Mine"})), None)
            .await;
    assert_eq!(change.status(), 403);

    // Removing the attendee takes the event out of their list.
    let removed =
        send(&app, Method::PATCH, &format!("/v1/events/{id}"), &owner_token, Some(json!({"attendeeIds": []})), None)
            .await;
    assert_eq!(removed.status(), 200);
    assert!(list(&app, &guest_token, "from=2026-04-01T00:00:00Z&to=2026-04-30T00:00:00Z").await.is_empty());
}

async fn long_windows_page_through_every_instance_in_order(app: TestApp) {
    let (_, _, token) = signed_up_owner(&app).await;
    create(&app, &token, daily("2026-01-01T08:00:00+01:00", "Europe/Stockholm", "RRULE:FREQ=DAILY")).await;
    create(&app, &token, daily("2026-01-05T12:00:00+01:00", "Europe/Stockholm", "RRULE:FREQ=WEEKLY;BYDAY=MO,WE,FR"))
        .await;
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut path = "/v1/events?from=2026-01-01T00:00:00Z&to=2027-01-01T00:00:00Z&limit=100".to_string();
        if let Some(c) = &cursor {
            path.push_str(&format!("&cursor={c}"));
        }
        let page = json_of(app.get(&path, Some(&token)).await, 200).await;
        seen.extend(page["items"].as_array().unwrap().iter().map(|e| e["start"].as_str().unwrap().to_string()));
        match page["nextCursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => break,
        }
    }
    assert_eq!(seen.len(), 365 + 155);
    let mut sorted = seen.clone();
    sorted.sort();
    assert_eq!(seen, sorted);
}

async fn a_calendar_holds_at_most_500_recurring_series(app: TestApp) {
    let (_, owner, token) = signed_up_owner(&app).await;
    // All but one of the series the cap allows, written straight to the
    // table (500 requests would make the test slow; so does every request
    // that counts them, on moto).
    let now = app.clock.now_utc();
    let puts: Vec<EventPut> = (1..MAX_SERIES_PER_OWNER)
        .map(|i| {
            let start = now + chrono::Duration::minutes(i as i64);
            let record = EventRecord {
                id: Uuid::now_v7(),
                owner_id: owner,
                organisation_id: None,
                details: EventDetails { title: format!("Series {i}"), ..Default::default() },
                start,
                end: start + chrono::Duration::minutes(30),
                time_zone: "Europe/Stockholm".into(),
                all_day: false,
                recurrence: vec!["RRULE:FREQ=WEEKLY".into()],
                status: EventStatus::Confirmed,
                state: OccurrenceState::default(),
                epoch: 0,
                ends_before: None,
                created_by: owner,
                created_at: now,
                updated_at: now,
                version: 1,
            };
            EventPut { record, previous: None }
        })
        .collect();
    for chunk in puts.chunks(40) {
        let ops = events::transaction(&EventChange { puts: chunk.to_vec(), ..Default::default() }).unwrap();
        app.state.table.transact_write(ops).await.unwrap();
    }
    let weekly = daily("2026-04-01T08:00:00+02:00", "Europe/Stockholm", "RRULE:FREQ=WEEKLY");
    let last = create(&app, &token, weekly.clone()).await;
    let refused = app.post("/v1/events", &weekly, Some(&token)).await;
    assert_eq!(refused.status(), 409);
    let detail = problem(refused).await["detail"].as_str().unwrap().to_string();
    assert!(detail.contains(&format!("at most {MAX_SERIES_PER_OWNER} recurring series")), "{detail}");

    // One-off events are not series; making one recurring is adding a series.
    let one_off =
        create(&app, &token, json!({"title": "Call", "start": "2026-04-02T10:00:00Z", "end": "2026-04-02T10:15:00Z"}))
            .await;
    let path = format!("/v1/events/{}", one_off["id"].as_str().unwrap());
    let change = json!({"timeZone": "Europe/Stockholm", "recurrence": ["RRULE:FREQ=DAILY"]});
    let turned = send(&app, Method::PATCH, &path, &token, Some(change.clone()), None).await;
    assert_eq!(turned.status(), 409);
    // Changing a series is not adding one.
    let renamed = send(
        &app,
        Method::PATCH,
        &format!("/v1/events/{}", last["id"].as_str().unwrap()),
        &token,
        Some(json!({"title": "Renamed"})),
        None,
    )
    .await;
    assert_eq!(renamed.status(), 200);

    // Deleting a series makes room for one.
    let deleted =
        send(&app, Method::DELETE, &format!("/v1/events/{}", last["id"].as_str().unwrap()), &token, None, None).await;
    assert_eq!(deleted.status(), 204);
    assert_eq!(send(&app, Method::PATCH, &path, &token, Some(change), None).await.status(), 200);
}

async fn a_daily_series_from_1975_lists_a_week_of_2030_like_one_from_2029(app: TestApp) {
    let (_, _, token) = signed_up_owner(&app).await;
    let old = create(&app, &token, daily("1975-01-06T08:00:00+01:00", "Europe/Amsterdam", "RRULE:FREQ=DAILY")).await;
    let new = create(&app, &token, daily("2029-12-03T08:00:00+01:00", "Europe/Amsterdam", "RRULE:FREQ=DAILY")).await;
    // The week summer time begins (2030-03-31): 08:00 local is 07:00Z, then 06:00Z.
    let items = list(&app, &token, "from=2030-03-28T00:00:00Z&to=2030-04-04T00:00:00Z").await;
    let expected = [
        "2030-03-28T07:00:00Z",
        "2030-03-29T07:00:00Z",
        "2030-03-30T07:00:00Z",
        "2030-03-31T06:00:00Z",
        "2030-04-01T06:00:00Z",
        "2030-04-02T06:00:00Z",
        "2030-04-03T06:00:00Z",
    ];
    for series in [&old, &new] {
        let id = series["id"].as_str().unwrap();
        let own: Vec<Value> = items.iter().filter(|e| e["recurringEventId"] == id).cloned().collect();
        assert_eq!(field(&own, "start"), expected, "{}", series["start"]);
        assert_eq!(own[3]["id"], format!("{id}_20300331T060000Z"));
        assert_eq!(own[3]["end"], "2030-03-31T06:30:00Z");
    }
    assert_eq!(items.len(), 14);
    // The old series' instance is found by its id, and a time it does not have is not.
    let old_id = old["id"].as_str().unwrap();
    let read = json_of(app.get(&format!("/v1/events/{old_id}_20300331T060000Z"), Some(&token)).await, 200).await;
    assert_eq!(read["start"], "2030-03-31T06:00:00Z");
    assert_eq!(app.get(&format!("/v1/events/{old_id}_20300331T070000Z"), Some(&token)).await.status(), 404);
}

on_both_tables!(
    a_one_off_event_is_created_read_listed_and_audited,
    a_daily_series_stays_at_eight_local_through_the_stockholm_dst_weeks,
    a_daily_series_stays_at_eight_local_through_the_new_york_dst_weeks,
    editing_one_instance_detaches_it_and_the_series_skips_its_original_time,
    editing_this_and_following_splits_the_series_and_shares_its_count,
    editing_all_from_an_instance_moves_and_renames_the_whole_series,
    deleting_with_each_scope_removes_one_the_rest_or_everything,
    cancelling_with_each_scope_keeps_cancelled_instances_readable_but_out_of_lists,
    done_progress_and_stopped_alarms_belong_to_one_occurrence,
    all_day_events_use_dates_with_an_exclusive_end,
    invalid_events_list_every_bad_field_and_store_nothing,
    other_tenants_get_404_and_planners_and_admins_get_their_permissions,
    attendees_see_the_events_they_attend_and_cannot_change_them,
    long_windows_page_through_every_instance_in_order,
    a_calendar_holds_at_most_500_recurring_series,
    a_daily_series_from_1975_lists_a_week_of_2030_like_one_from_2029,
);
