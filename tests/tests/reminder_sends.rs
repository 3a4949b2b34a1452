//! Reminder mails and pushes are sent at least once: a send that fails (or
//! never happens because the run died) stays pending and a later run retries
//! it, a push only to the devices it did not reach, until it goes out or is a
//! day old. Events and devices are written over HTTP; the runs call
//! `reminders::run` (what the Lambda calls) on a copy of the app's state
//! whose mailer and push adapter fail on demand (`sundial_tests::senders`).

use chrono::{DateTime, Duration, Utc};
use serde_json::{Value, json};
use shared::AppState;
use shared::mail::Mail;
use shared::scheduling::outbound;
use shared::scheduling::outbound::Message;
use shared::scheduling::outbound::PendingSend;
use shared::scheduling::outbound::Purpose;
use shared::table::WriteOp;
use sundial_tests::identity::signed_up_owner_as;
use sundial_tests::identity::superadmin;
use sundial_tests::json_of;
use sundial_tests::reminders::{delivered, forget_watermark};
use sundial_tests::{TestApp, on_both_tables};
use uuid::Uuid;

/// Runs the reminders on `state` as of `time`; the summary as JSON.
async fn run(state: &AppState, time: &str) -> Value {
    let summary = reminders::run(state, time.parse().unwrap()).await.expect("the run succeeds");
    serde_json::to_value(summary).unwrap()
}

fn count(summary: &Value, field: &str) -> u64 {
    summary[field].as_u64().unwrap_or_else(|| panic!("no {field} in {summary}"))
}

/// An owner with a fresh address: (user id, token, address).
async fn owner(app: &TestApp) -> (Uuid, String, String) {
    let email = format!("pills-{}@example.com", Uuid::now_v7().simple());
    let (_, user, token) = signed_up_owner_as(app, "Sunrise Care", &email).await;
    (user, token, email)
}

/// An event at 08:00 with a reminder ten minutes before on `channels`.
async fn remind(app: &TestApp, token: &str, title: &str, channels: Value) {
    let body = json!({"title": title, "start": "2026-03-29T08:00:00Z", "end": "2026-03-29T08:15:00Z",
                      "timeZone": "UTC", "reminders": [{"minutesBefore": 10, "channels": channels}]});
    json_of(app.post("/v1/events", &body, Some(token)).await, 201).await;
}

/// Reminder mails about `title` that reached the outbox.
fn mails_about(app: &TestApp, email: &str, title: &str) -> usize {
    app.outbox.list(Some(email)).unwrap().iter().filter(|m| m.subject.contains(title)).count()
}

/// Every pending send, across the shards.
async fn pending_sends(app: &TestApp) -> Vec<PendingSend> {
    let mut all = Vec::new();
    for shard in 0..outbound::SHARDS {
        all.extend(outbound::list_shard(app.state.table.as_ref(), shard).await.unwrap());
    }
    all
}

async fn a_reminder_mail_whose_first_send_fails_is_retried_by_the_next_run_and_arrives_once(app: TestApp) {
    let (_, token, email) = owner(&app).await;
    remind(&app, &token, "Morning pills", json!(["email"])).await;
    let flaky = app.with_flaky_senders();
    flaky.mailer.fail_next(1);

    let first = run(&flaky.state, "2026-03-29T07:50:00Z").await;
    assert_eq!(delivered(&first, "email"), 0, "{first}");
    assert_eq!(count(&first, "sendFailures"), 1, "{first}");
    assert_eq!(mails_about(&app, &email, "Morning pills"), 0);
    let pending = pending_sends(&app).await;
    assert_eq!(pending.len(), 1, "the failed mail stays pending");
    assert_eq!(pending[0].attempts, 1);

    let second = run(&flaky.state, "2026-03-29T07:51:00Z").await;
    assert_eq!(delivered(&second, "email"), 1, "{second}");
    assert_eq!(count(&second, "retried"), 1, "{second}");
    assert_eq!(count(&second, "sendFailures"), 0, "{second}");
    let third = run(&flaky.state, "2026-03-29T07:52:00Z").await;
    assert_eq!(delivered(&third, "email") + count(&third, "retried"), 0, "{third}");

    assert_eq!(mails_about(&app, &email, "Morning pills"), 1, "the mail arrives once");
    assert!(pending_sends(&app).await.is_empty(), "nothing left to send");
}

async fn a_push_to_two_devices_where_one_fails_is_retried_for_that_device_only(app: TestApp) {
    let (_, token, _) = owner(&app).await;
    for device in ["phone-token", "tablet-token"] {
        let body = json!({"token": device, "platform": "ios"});
        json_of(app.post("/v1/notifications/devices", &body, Some(&token)).await, 201).await;
    }
    remind(&app, &token, "Insulin", json!(["push"])).await;
    let flaky = app.with_flaky_senders();
    flaky.push.fail_for("tablet-token");

    let first = run(&flaky.state, "2026-03-29T07:50:00Z").await;
    assert_eq!(delivered(&first, "push"), 1, "{first}");
    assert_eq!(count(&first, "sendFailures"), 1, "{first}");
    let second = run(&flaky.state, "2026-03-29T07:51:00Z").await;
    assert_eq!((delivered(&second, "push"), count(&second, "sendFailures")), (0, 1), "{second}");

    flaky.push.recover();
    let waiting = run(&flaky.state, "2026-03-29T07:52:00Z").await;
    assert_eq!(count(&waiting, "retried"), 0, "after two failures the next attempt waits two minutes: {waiting}");
    let third = run(&flaky.state, "2026-03-29T07:53:00Z").await;
    assert_eq!(delivered(&third, "push"), 1, "{third}");
    assert_eq!(count(&third, "retried"), 1, "{third}");

    let mut reached: Vec<String> = flaky.push.sent().into_iter().map(|p| p.device_token).collect();
    reached.sort();
    assert_eq!(reached, ["phone-token", "tablet-token"], "each device got the reminder once");
    assert!(flaky.push.sent().iter().all(|p| p.title.contains("Insulin")));
    assert!(pending_sends(&app).await.is_empty());
}

async fn a_mail_that_keeps_failing_is_given_up_after_a_day(app: TestApp) {
    let (_, token, email) = owner(&app).await;
    remind(&app, &token, "Blood pressure", json!(["email"])).await;
    let flaky = app.with_flaky_senders();
    flaky.mailer.fail_next(u64::MAX);

    assert_eq!(count(&run(&flaky.state, "2026-03-29T07:50:00Z").await, "sendFailures"), 1);
    assert_eq!(count(&run(&flaky.state, "2026-03-29T07:51:00Z").await, "sendFailures"), 1);
    forget_watermark(&app).await;
    let almost = run(&flaky.state, "2026-03-30T07:49:00Z").await;
    assert_eq!((count(&almost, "sendFailures"), count(&almost, "abandoned")), (1, 0), "still tried: {almost}");
    forget_watermark(&app).await;
    let given_up = run(&flaky.state, "2026-03-30T08:00:00Z").await;
    assert_eq!(count(&given_up, "abandoned"), 1, "{given_up}");
    assert_eq!(count(&given_up, "sendFailures"), 0, "not tried again: {given_up}");
    assert!(pending_sends(&app).await.is_empty());

    flaky.mailer.fail_next(0);
    let after = run(&flaky.state, "2026-03-30T08:01:00Z").await;
    assert_eq!(delivered(&after, "email") + count(&after, "abandoned"), 0, "{after}");
    assert_eq!(mails_about(&app, &email, "Blood pressure"), 0);
}

async fn two_concurrent_runs_retry_a_pending_send_once(app: TestApp) {
    let (_, token, email) = owner(&app).await;
    remind(&app, &token, "Eye drops", json!(["email"])).await;
    let flaky = app.with_flaky_senders();
    flaky.mailer.fail_next(1);
    run(&flaky.state, "2026-03-29T07:50:00Z").await;

    let (a, b) = tokio::join!(run(&flaky.state, "2026-03-29T07:51:00Z"), run(&flaky.state, "2026-03-29T07:51:00Z"));
    assert_eq!(count(&a, "retried") + count(&b, "retried"), 1, "{a} {b}");
    assert_eq!(delivered(&a, "email") + delivered(&b, "email"), 1, "{a} {b}");
    assert_eq!(mails_about(&app, &email, "Eye drops"), 1);
    assert!(pending_sends(&app).await.is_empty());
}

/// A run that committed a delivery and died before sending leaves its
/// pending send leased; once the lease is over a later run sends it.
async fn a_mail_left_by_a_run_that_died_before_sending_goes_out_after_its_lease(app: TestApp) {
    let (user, _, email) = owner(&app).await;
    let committed_at: DateTime<Utc> = "2026-03-29T07:50:00Z".parse().unwrap();
    let mail = Mail {
        to: email.clone(),
        subject: "Reminder: Physio".into(),
        text: "Physio starts at 08:00.".into(),
        html: "<p>Physio starts at 08:00.</p>".into(),
    };
    let pending = PendingSend::new(user, Purpose::Reminder, None, Message::Email { mail }, committed_at, committed_at);
    let WriteOp::Put { item, condition } = pending.put().unwrap() else { unreachable!() };
    app.state.table.put(item, condition).await.unwrap();

    let leased = run(&app.state, "2026-03-29T07:51:00Z").await;
    assert_eq!(count(&leased, "retried"), 0, "the dead run's lease still holds: {leased}");
    let lease_over = committed_at + Duration::minutes(outbound::LEASE_MINUTES);
    let later = run(&app.state, &lease_over.to_rfc3339()).await;
    assert_eq!(count(&later, "retried"), 1, "{later}");
    assert_eq!(delivered(&later, "email"), 1, "{later}");
    assert_eq!(mails_about(&app, &email, "Physio"), 1);
}

/// A superadmin's token, to write the almanac a digest lists.
async fn an_almanac_digest_whose_mail_fails_is_retried_and_counted_as_a_digest(app: TestApp) {
    let (_, root) = superadmin(&app).await;
    let subject = json_of(app.post("/v1/almanac/subjects", &json!({"name": "Ekadasi"}), Some(&root)).await, 201).await;
    let body = json!({"name": "Stockholm", "timeZone": "Europe/Stockholm"});
    let location = json_of(app.post("/v1/almanac/locations", &body, Some(&root)).await, 201).await;
    let body = json!({"subjectId": subject["id"], "locationId": location["id"],
                      "name": {"title": "Rama Navami", "subtitle": "Fast"}, "date": "2026-03-31", "rawDate": "2026-03-31"});
    json_of(app.post("/v1/almanac/events", &body, Some(&root)).await, 201).await;
    let (user, token, email) = owner(&app).await;
    let settings = json!({"value": {"locationId": location["id"], "reminders": {"enabled": true, "schedule": "3_DAYS"},
                                    "notifications": {"enabled": true, "time": "09:00"}}});
    let path = format!("/v1/users/{user}/preferences/almanac");
    let response = app.client.put(format!("{}{path}", app.base)).bearer_auth(&token).json(&settings).send().await;
    json_of(response.unwrap(), 201).await;
    let flaky = app.with_flaky_senders();
    flaky.mailer.fail_next(1);

    // 09:00 in Stockholm.
    let first = run(&flaky.state, "2026-03-29T07:00:00Z").await;
    assert_eq!((count(&first, "digests"), count(&first, "sendFailures")), (0, 1), "{first}");
    let retried = run(&flaky.state, "2026-03-29T07:01:00Z").await;
    assert_eq!(count(&retried, "digests"), 1, "{retried}");
    assert_eq!(count(&retried, "retried"), 1, "{retried}");
    assert_eq!(delivered(&retried, "email"), 0, "digests are counted apart from reminder mails: {retried}");
    let mails: Vec<_> =
        app.outbox.list(Some(&email)).unwrap().into_iter().filter(|m| m.subject.starts_with("Almanac")).collect();
    assert_eq!(mails.len(), 1);
    assert!(mails[0].text.contains("Rama Navami"), "{}", mails[0].text);
}

on_both_tables!(
    an_almanac_digest_whose_mail_fails_is_retried_and_counted_as_a_digest,
    a_reminder_mail_whose_first_send_fails_is_retried_by_the_next_run_and_arrives_once,
    a_push_to_two_devices_where_one_fails_is_retried_for_that_device_only,
    a_mail_that_keeps_failing_is_given_up_after_a_day,
    two_concurrent_runs_retry_a_pending_send_once,
    a_mail_left_by_a_run_that_died_before_sending_goes_out_after_its_lease,
);
