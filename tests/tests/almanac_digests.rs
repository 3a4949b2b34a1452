//! Almanac digests through HTTP on both table adapters: a user's `almanac`
//! preference (validated) turns on one mail a day at a local time in their
//! almanac location's zone; runs are driven with `POST /_dev/reminders/run`
//! and the mails read from the outbox.

use reqwest::{Method, Response};
use serde_json::{Value, json};
use sundial_tests::identity::superadmin;
use sundial_tests::identity::{PASSWORD, signed_up_owner_as};
use sundial_tests::json_of;
use sundial_tests::reminders::{forget_watermark, run};
use sundial_tests::{TestApp, bad_fields, on_both_tables};
use uuid::Uuid;

async fn send(app: &TestApp, method: Method, path: &str, token: &str, body: Option<Value>) -> Response {
    let mut req = app.client.request(method, format!("{}{path}", app.base)).bearer_auth(token);
    if let Some(body) = body {
        req = req.json(&body);
    }
    req.send().await.expect("request")
}

fn digests(summary: &Value) -> u64 {
    summary["digests"].as_u64().expect("digests in the summary")
}

/// Runs as of `time` after forgetting the watermark; returns the digests sent.
async fn run_fresh(app: &TestApp, time: &str) -> u64 {
    forget_watermark(app).await;
    digests(&run(app, time).await)
}

/// A signed-in superadmin's access token (almanac writes need one).
/// An almanac with one subject; creates locations and events.
struct Almanac {
    root: String,
    subject: Value,
}

impl Almanac {
    async fn new(app: &TestApp) -> Self {
        let (_, root) = superadmin(app).await;
        let subject = json_of(
            send(app, Method::POST, "/v1/almanac/subjects", &root, Some(json!({"name": "Ekadasi"}))).await,
            201,
        )
        .await["id"]
            .clone();
        Self { root, subject }
    }

    async fn location(&self, app: &TestApp, name: &str, zone: &str) -> String {
        let body = json!({"name": name, "timeZone": zone});
        let location =
            json_of(send(app, Method::POST, "/v1/almanac/locations", &self.root, Some(body)).await, 201).await;
        location["id"].as_str().unwrap().to_string()
    }

    async fn event(&self, app: &TestApp, location: &str, title: &str, date: &str) {
        let body = json!({"subjectId": self.subject, "locationId": location,
                          "name": {"title": title, "subtitle": "Fast"}, "date": date, "rawDate": date});
        json_of(send(app, Method::POST, "/v1/almanac/events", &self.root, Some(body)).await, 201).await;
    }
}

/// A fresh user: `(user id, email, access token)`.
async fn user(app: &TestApp, name: &str) -> (Uuid, String, String) {
    let email = format!("{name}-{}@example.com", Uuid::now_v7().simple());
    let (_, id, token) = signed_up_owner_as(app, "Sunrise Care", &email).await;
    (id, email, token)
}

async fn put_settings(app: &TestApp, user: Uuid, token: &str, value: Value) -> Response {
    let path = format!("/v1/users/{user}/preferences/almanac");
    send(app, Method::PUT, &path, token, Some(json!({"value": value}))).await
}

fn settings(location: &str, schedule: &str, time: &str) -> Value {
    json!({"locationId": location, "reminders": {"enabled": true, "schedule": schedule},
           "notifications": {"enabled": true, "time": time}})
}

/// The almanac digests `email` received, newest first.
fn digest_mails(app: &TestApp, email: &str) -> Vec<shared::mail::SentMail> {
    app.outbox.list(Some(email)).unwrap().into_iter().filter(|m| m.subject.starts_with("Almanac")).collect()
}

async fn the_digest_arrives_once_at_the_local_time_listing_only_the_events_of_its_window(app: TestApp) {
    // The apps' clock starts 2026-03-29T06:30Z: 08:30 in Stockholm (summer time since 01:00Z).
    let almanac = Almanac::new(&app).await;
    let stockholm = almanac.location(&app, "Stockholm, Sweden", "Europe/Stockholm").await;
    let auckland = almanac.location(&app, "Auckland, New Zealand", "Pacific/Auckland").await;
    for (title, date) in [
        ("Papamochani Ekadasi", "2026-03-29"),
        ("Rama Navami", "2026-03-31"),
        ("Kamada Ekadasi", "2026-04-01"),
        ("Hanuman Jayanti", "2026-04-04"),
        ("Varuthini Ekadasi", "2026-04-05"),
        ("Yesterday's festival", "2026-03-28"),
    ] {
        almanac.event(&app, &stockholm, title, date).await;
    }
    almanac.event(&app, &auckland, "Elsewhere", "2026-03-30").await;
    let (ada, ada_email, ada_token) = user(&app, "ada").await;
    let (bob, bob_email, bob_token) = user(&app, "bob").await;
    let stored = json_of(put_settings(&app, ada, &ada_token, settings(&stockholm, "3_DAYS", "09:00")).await, 201).await;
    assert_eq!(stored["value"]["notifications"]["time"], "09:00");
    json_of(put_settings(&app, bob, &bob_token, settings(&stockholm, "1_WEEK", "09:00")).await, 201).await;

    let early = run(&app, "2026-03-29T06:59:00Z").await;
    assert_eq!(digests(&early), 0, "not before 09:00 local: {early}");
    let on_time = run(&app, "2026-03-29T07:00:00Z").await;
    assert_eq!(digests(&on_time), 2, "09:00 in Stockholm: {on_time}");
    assert_eq!(on_time["late"], 0);
    assert_eq!(digests(&run(&app, "2026-03-29T07:01:00Z").await), 0, "once");

    let mails = digest_mails(&app, &ada_email);
    assert_eq!(mails.len(), 1);
    let three_days = &mails[0].text;
    for listed in ["Sunday 29 March 2026: Papamochani Ekadasi — Fast", "Tuesday 31 March 2026: Rama Navami — Fast"]
    {
        assert!(three_days.contains(listed), "{listed} in {three_days}");
    }
    for absent in ["Kamada", "Hanuman", "Varuthini", "Yesterday", "Elsewhere", "is late"] {
        assert!(!three_days.contains(absent), "{absent} not in {three_days}");
    }
    assert!(mails[0].subject.contains("Stockholm, Sweden"), "{}", mails[0].subject);

    let week = &digest_mails(&app, &bob_email)[0].text;
    for listed in ["Papamochani", "Rama Navami", "Kamada", "Saturday 4 April 2026: Hanuman Jayanti"] {
        assert!(week.contains(listed), "{listed} in {week}");
    }
    for absent in ["Varuthini", "Yesterday", "Elsewhere"] {
        assert!(!week.contains(absent), "{absent} not in {week}");
    }
}

async fn a_duplicated_run_sends_the_digest_once_and_the_next_day_brings_the_next(app: TestApp) {
    let almanac = Almanac::new(&app).await;
    let stockholm = almanac.location(&app, "Stockholm", "Europe/Stockholm").await;
    almanac.event(&app, &stockholm, "Rama Navami", "2026-03-31").await;
    let (ada, email, token) = user(&app, "ada").await;
    json_of(put_settings(&app, ada, &token, settings(&stockholm, "3_DAYS", "09:00")).await, 201).await;

    let (a, b) = tokio::join!(run(&app, "2026-03-29T07:00:00Z"), run(&app, "2026-03-29T07:00:00Z"));
    assert_eq!(digests(&a) + digests(&b), 1, "{a} {b}");
    assert_eq!(digests(&run(&app, "2026-03-29T07:00:00Z").await), 0, "a retried run");
    assert_eq!(run_fresh(&app, "2026-03-29T07:00:00Z").await, 0, "a replay without watermark");
    assert_eq!(digest_mails(&app, &email).len(), 1);

    assert_eq!(run_fresh(&app, "2026-03-30T06:59:00Z").await, 0);
    let next_day = run(&app, "2026-03-30T07:00:00Z").await;
    assert_eq!(digests(&next_day), 1, "the next day at 09:00 again: {next_day}");
    let mails = digest_mails(&app, &email);
    assert_eq!(mails.len(), 2);
    assert!(mails[0].text.contains("Tuesday 31 March 2026: Rama Navami"));
}

async fn a_digest_missed_in_an_outage_arrives_late_and_says_so(app: TestApp) {
    let almanac = Almanac::new(&app).await;
    let stockholm = almanac.location(&app, "Stockholm", "Europe/Stockholm").await;
    almanac.event(&app, &stockholm, "Rama Navami", "2026-03-31").await;
    let (ada, email, token) = user(&app, "ada").await;
    json_of(put_settings(&app, ada, &token, settings(&stockholm, "3_DAYS", "09:00")).await, 201).await;
    run(&app, "2026-03-29T06:40:00Z").await;

    let caught_up = run(&app, "2026-03-29T09:40:00Z").await;
    assert_eq!(caught_up["bucketsRead"], 180);
    assert_eq!(digests(&caught_up), 1, "{caught_up}");
    assert_eq!(caught_up["late"], 1);
    let mails = digest_mails(&app, &email);
    assert!(mails[0].text.contains("This digest is late"), "{}", mails[0].text);
    // The next one is tomorrow's, on time.
    assert_eq!(run_fresh(&app, "2026-03-30T07:00:00Z").await, 1);
    assert!(!digest_mails(&app, &email)[0].text.contains("is late"));
}

async fn a_day_without_events_sends_nothing_but_the_next_digest_still_comes(app: TestApp) {
    let almanac = Almanac::new(&app).await;
    let stockholm = almanac.location(&app, "Stockholm", "Europe/Stockholm").await;
    // Only on the third day after the first digest: outside its window, inside the next day's.
    almanac.event(&app, &stockholm, "Kamada Ekadasi", "2026-04-01").await;
    let (ada, email, token) = user(&app, "ada").await;
    json_of(put_settings(&app, ada, &token, settings(&stockholm, "3_DAYS", "09:00")).await, 201).await;

    assert_eq!(run_fresh(&app, "2026-03-29T07:00:00Z").await, 0, "nothing to list");
    assert!(digest_mails(&app, &email).is_empty());
    assert_eq!(run_fresh(&app, "2026-03-30T07:00:00Z").await, 1);
    assert!(digest_mails(&app, &email)[0].text.contains("Wednesday 1 April 2026: Kamada Ekadasi"));
}

async fn the_digest_keeps_its_local_time_across_the_stockholm_spring_forward_weekend(app: TestApp) {
    // Friday before the night of 2026-03-29, when Stockholm moves from UTC+1 to UTC+2 at 02:00.
    app.clock.set(chrono::DateTime::parse_from_rfc3339("2026-03-27T12:00:00Z").unwrap().with_timezone(&chrono::Utc));
    let almanac = Almanac::new(&app).await;
    let stockholm = almanac.location(&app, "Stockholm", "Europe/Stockholm").await;
    for date in ["2026-03-28", "2026-03-29", "2026-03-30", "2026-03-31"] {
        almanac.event(&app, &stockholm, &format!("Festival {date}"), date).await;
    }
    let (ada, ada_email, ada_token) = user(&app, "ada").await;
    let (bob, bob_email, bob_token) = user(&app, "bob").await;
    json_of(put_settings(&app, ada, &ada_token, settings(&stockholm, "3_DAYS", "06:30")).await, 201).await;
    // 02:30 does not exist on 2026-03-29 in Stockholm.
    json_of(put_settings(&app, bob, &bob_token, settings(&stockholm, "3_DAYS", "02:30")).await, 201).await;

    // Saturday: winter time.
    assert_eq!(run_fresh(&app, "2026-03-28T01:30:00Z").await, 1, "bob at 02:30 CET");
    assert_eq!(run_fresh(&app, "2026-03-28T05:30:00Z").await, 1, "ada at 06:30 CET");
    // Sunday: bob's 02:30 is skipped by the clocks, so 03:30 CEST (01:30Z) — moved forward by the gap.
    assert_eq!(run_fresh(&app, "2026-03-29T00:30:00Z").await, 0);
    assert_eq!(run_fresh(&app, "2026-03-29T01:30:00Z").await, 1, "bob at 03:30 CEST");
    // Ada stays at 06:30 local, now 04:30Z; not at the old UTC minute.
    assert_eq!(run_fresh(&app, "2026-03-29T04:29:00Z").await, 0);
    assert_eq!(digests(&run(&app, "2026-03-29T04:30:00Z").await), 1, "ada at 06:30 CEST");
    assert_eq!(run_fresh(&app, "2026-03-29T05:30:00Z").await, 0, "not an hour late as well");
    // Monday: both at their local time in summer time.
    assert_eq!(run_fresh(&app, "2026-03-30T00:30:00Z").await, 1, "bob at 02:30 CEST");
    assert_eq!(run_fresh(&app, "2026-03-30T04:30:00Z").await, 1, "ada at 06:30 CEST");

    assert_eq!(digest_mails(&app, &ada_email).len(), 3);
    let bob_mails = digest_mails(&app, &bob_email);
    assert_eq!(bob_mails.len(), 3);
    assert!(bob_mails[1].text.contains("Sunday 29 March 2026: Festival 2026-03-29"), "{}", bob_mails[1].text);
    assert!(!bob_mails[1].text.contains("Festival 2026-03-28"), "Sunday's digest lists from Sunday");
}

async fn turning_notifications_off_or_deleting_the_settings_stops_the_digests(app: TestApp) {
    let almanac = Almanac::new(&app).await;
    let stockholm = almanac.location(&app, "Stockholm", "Europe/Stockholm").await;
    almanac.event(&app, &stockholm, "Rama Navami", "2026-03-31").await;
    let (ada, ada_email, ada_token) = user(&app, "ada").await;
    let (bob, bob_email, bob_token) = user(&app, "bob").await;
    json_of(put_settings(&app, ada, &ada_token, settings(&stockholm, "3_DAYS", "09:00")).await, 201).await;
    json_of(put_settings(&app, bob, &bob_token, settings(&stockholm, "3_DAYS", "09:00")).await, 201).await;

    let off = json!({"locationId": stockholm, "notifications": {"enabled": false}});
    let stored = json_of(put_settings(&app, ada, &ada_token, off).await, 200).await;
    assert_eq!(stored["value"]["reminders"], json!({"enabled": false, "schedule": "3_DAYS"}), "defaults filled in");
    let path = format!("/v1/users/{bob}/preferences/almanac");
    assert_eq!(send(&app, Method::DELETE, &path, &bob_token, None).await.status(), 204);

    assert_eq!(run_fresh(&app, "2026-03-29T07:00:00Z").await, 0);
    assert!(digest_mails(&app, &ada_email).is_empty() && digest_mails(&app, &bob_email).is_empty());

    // On again at another time: only the new time sends.
    json_of(put_settings(&app, ada, &ada_token, settings(&stockholm, "3_DAYS", "09:05")).await, 200).await;
    json_of(put_settings(&app, ada, &ada_token, settings(&stockholm, "3_DAYS", "09:10")).await, 200).await;
    assert_eq!(run_fresh(&app, "2026-03-29T07:05:00Z").await, 0, "the replaced time sends nothing");
    assert_eq!(run_fresh(&app, "2026-03-29T07:10:00Z").await, 1);
    assert_eq!(run_fresh(&app, "2026-03-30T07:00:00Z").await, 0, "bob's deleted settings send nothing");
}

async fn a_deleted_user_gets_no_digest_and_their_due_item_disappears(app: TestApp) {
    let almanac = Almanac::new(&app).await;
    let stockholm = almanac.location(&app, "Stockholm", "Europe/Stockholm").await;
    almanac.event(&app, &stockholm, "Rama Navami", "2026-03-31").await;
    let (org, _, owner) = signed_up_owner_as(&app, "Sunrise Care", "owner@example.com").await;
    let body = json!({"email": "bo@example.com", "password": PASSWORD, "firstName": "Bo", "lastName": "Ek",
                      "organisationId": org, "role": "member"});
    let bo = json_of(app.post("/v1/users", &body, Some(&owner)).await, 201).await;
    let bo = Uuid::parse_str(bo["id"].as_str().unwrap()).unwrap();
    let bo_token = app.token_for(bo).await;
    json_of(put_settings(&app, bo, &bo_token, settings(&stockholm, "3_DAYS", "09:00")).await, 201).await;
    assert_eq!(send(&app, Method::DELETE, &format!("/v1/users/{bo}"), &owner, None).await.status(), 204);

    let minute = chrono::DateTime::parse_from_rfc3339("2026-03-29T07:00:00Z").unwrap().with_timezone(&chrono::Utc);
    let due_items = || async {
        let mut count = 0;
        for shard in 0..shared::scheduling::reminders::SHARDS {
            let query = shared::table::Query::new(shared::table::Index::Primary, shared::keys::due_pk(minute, shard));
            count += app.state.table.query(&query).await.unwrap().items.len();
        }
        count
    };
    assert_eq!(due_items().await, 1, "the user's deletion does not reach into the minute buckets");

    let summary = run(&app, "2026-03-29T07:00:00Z").await;
    assert_eq!(digests(&summary), 0, "{summary}");
    assert!(digest_mails(&app, "bo@example.com").is_empty());
    assert_eq!(due_items().await, 0, "the stale digest is gone");
}

async fn a_deactivated_user_gets_no_digest_until_activated_again(app: TestApp) {
    let almanac = Almanac::new(&app).await;
    let stockholm = almanac.location(&app, "Stockholm", "Europe/Stockholm").await;
    almanac.event(&app, &stockholm, "Rama Navami", "2026-03-31").await;
    let (org, _, owner) = signed_up_owner_as(&app, "Sunrise Care", "owner@example.com").await;
    let body = json!({"email": "cy@example.com", "password": PASSWORD, "firstName": "Cy", "lastName": "Ek",
                      "organisationId": org, "role": "member"});
    let cy = json_of(app.post("/v1/users", &body, Some(&owner)).await, 201).await;
    let cy = Uuid::parse_str(cy["id"].as_str().unwrap()).unwrap();
    let cy_token = app.token_for(cy).await;
    json_of(put_settings(&app, cy, &cy_token, settings(&stockholm, "3_DAYS", "09:00")).await, 201).await;
    json_of(send(&app, Method::POST, &format!("/v1/users/{cy}/deactivate"), &owner, None).await, 200).await;

    let summary = run(&app, "2026-03-29T07:00:00Z").await;
    assert_eq!(digests(&summary), 0, "{summary}");
    assert!(digest_mails(&app, "cy@example.com").is_empty());

    json_of(send(&app, Method::POST, &format!("/v1/users/{cy}/activate"), &owner, None).await, 200).await;
    assert_eq!(run_fresh(&app, "2026-03-30T07:00:00Z").await, 1, "activated: the next day's digest comes");
    assert_eq!(digest_mails(&app, "cy@example.com").len(), 1);
}

async fn bad_almanac_settings_get_400_naming_every_field_and_store_nothing(app: TestApp) {
    let almanac = Almanac::new(&app).await;
    let stockholm = almanac.location(&app, "Stockholm", "Europe/Stockholm").await;
    let (ada, _, token) = user(&app, "ada").await;
    let bad = json!({"locationId": "not-an-id", "colour": "red",
                     "reminders": {"enabled": "yes", "schedule": "2_WEEKS"},
                     "notifications": {"enabled": true, "time": "24:00", "sound": "bell"}});
    assert_eq!(
        bad_fields(put_settings(&app, ada, &token, bad).await).await,
        [
            "value.colour",
            "value.locationId",
            "value.notifications.sound",
            "value.notifications.time",
            "value.reminders.enabled",
            "value.reminders.schedule"
        ]
    );
    let unknown_location = settings(&Uuid::now_v7().to_string(), "3_DAYS", "6:30");
    assert_eq!(
        bad_fields(put_settings(&app, ada, &token, unknown_location).await).await,
        ["value.locationId", "value.notifications.time"]
    );
    assert_eq!(bad_fields(put_settings(&app, ada, &token, json!("Stockholm")).await).await, ["value"]);
    let no_time = json!({"locationId": stockholm, "notifications": {"enabled": true}});
    assert_eq!(bad_fields(put_settings(&app, ada, &token, no_time).await).await, ["value.notifications.time"]);
    let path = format!("/v1/users/{ada}/preferences/almanac");
    json_of(send(&app, Method::GET, &path, &token, None).await, 404).await;

    // A valid value, then a bad one: the stored value and the digest stay as they were.
    json_of(put_settings(&app, ada, &token, settings(&stockholm, "1_WEEK", "09:00")).await, 201).await;
    let unknown = settings(&Uuid::now_v7().to_string(), "1_WEEK", "09:30");
    assert_eq!(bad_fields(put_settings(&app, ada, &token, unknown).await).await, ["value.locationId"]);
    let stored = json_of(send(&app, Method::GET, &path, &token, None).await, 200).await;
    assert_eq!(stored["version"], 1);
    assert_eq!(stored["value"], settings(&stockholm, "1_WEEK", "09:00"));
    almanac.event(&app, &stockholm, "Rama Navami", "2026-03-31").await;
    assert_eq!(run_fresh(&app, "2026-03-29T07:00:00Z").await, 1, "still at 09:00");

    // Other keys stay free-form.
    let theme = format!("/v1/users/{ada}/preferences/theme");
    let free_form = json!({"value": [1, "x"]});
    json_of(send(&app, Method::PUT, &theme, &token, Some(free_form)).await, 201).await;
}

on_both_tables!(
    the_digest_arrives_once_at_the_local_time_listing_only_the_events_of_its_window,
    a_duplicated_run_sends_the_digest_once_and_the_next_day_brings_the_next,
    a_digest_missed_in_an_outage_arrives_late_and_says_so,
    a_day_without_events_sends_nothing_but_the_next_digest_still_comes,
    the_digest_keeps_its_local_time_across_the_stockholm_spring_forward_weekend,
    turning_notifications_off_or_deleting_the_settings_stops_the_digests,
    a_deleted_user_gets_no_digest_and_their_due_item_disappears,
    a_deactivated_user_gets_no_digest_until_activated_again,
    bad_almanac_settings_get_400_naming_every_field_and_store_nothing,
);
