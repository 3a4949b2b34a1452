//! The `Mailer` contract against the outbox file, plus its own promises:
//! newest first, case-insensitive filtering, surviving restarts.

use chrono::{DateTime, Utc};
use platform::{
    clock::{FixedClock, SystemClock},
    mail::{Mail, Mailer, contract, outbox::Outbox},
};
use std::sync::Arc;

fn open(dir: &tempfile::TempDir) -> Outbox {
    // A nested path: the outbox creates missing parent directories.
    Outbox::open(&dir.path().join("dev/mail/outbox.jsonl"), Arc::new(SystemClock)).unwrap()
}

fn mail(to: &str, subject: &str) -> Mail {
    Mail {
        to: to.to_owned(),
        subject: subject.to_owned(),
        text: format!("{subject} text"),
        html: format!("<p>{subject}</p>"),
    }
}

#[tokio::test]
async fn send_is_delivered_intact() {
    let dir = tempfile::tempdir().unwrap();
    let outbox = open(&dir);
    contract::send_is_delivered_intact(&outbox, &outbox).await.unwrap();
}

#[tokio::test]
async fn each_send_is_one_delivery_to_its_recipient() {
    let dir = tempfile::tempdir().unwrap();
    let outbox = open(&dir);
    contract::each_send_is_one_delivery_to_its_recipient(&outbox, &outbox).await.unwrap();
}

#[tokio::test]
async fn list_is_newest_first_and_filters_case_insensitively() {
    let dir = tempfile::tempdir().unwrap();
    let start = DateTime::parse_from_rfc3339("2026-03-29T06:30:00Z").unwrap().with_timezone(&Utc);
    let clock = Arc::new(FixedClock::new(start));
    let outbox = Outbox::open(&dir.path().join("outbox.jsonl"), clock.clone()).unwrap();
    outbox.send(&mail("Ann@Example.com", "one")).await.unwrap();
    clock.advance(chrono::Duration::minutes(1));
    outbox.send(&mail("bob@example.com", "two")).await.unwrap();
    outbox.send(&mail("ann@example.com", "three")).await.unwrap();

    let all: Vec<String> = outbox.list(None).unwrap().into_iter().map(|m| m.subject).collect();
    assert_eq!(all, ["three", "two", "one"]);
    let ann = outbox.list(Some("ANN@example.COM")).unwrap();
    let ann_subjects: Vec<&str> = ann.iter().map(|m| m.subject.as_str()).collect();
    assert_eq!(ann_subjects, ["three", "one"]);
    assert_eq!(ann[0].sent_at, start + chrono::Duration::minutes(1));
    assert_eq!(ann[1].sent_at, start);
    assert!(outbox.list(Some("nobody@example.com")).unwrap().is_empty());
}

#[tokio::test]
async fn mail_survives_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    open(&dir).send(&mail("a@example.com", "before restart")).await.unwrap();
    let reopened = open(&dir);
    reopened.send(&mail("a@example.com", "after restart")).await.unwrap();
    let subjects: Vec<String> = reopened.list(None).unwrap().into_iter().map(|m| m.subject).collect();
    assert_eq!(subjects, ["after restart", "before restart"]);
}

#[tokio::test]
async fn concurrent_sends_each_write_one_whole_line() {
    let dir = tempfile::tempdir().unwrap();
    let outbox = open(&dir);
    let sends = (0..20).map(|i| {
        let outbox = outbox.clone();
        tokio::spawn(async move { outbox.send(&mail("many@example.com", &format!("mail {i}"))).await })
    });
    for send in sends.collect::<Vec<_>>() {
        send.await.unwrap().unwrap();
    }
    let mut subjects: Vec<String> = outbox.list(None).unwrap().into_iter().map(|m| m.subject).collect();
    subjects.sort();
    let mut expected: Vec<String> = (0..20).map(|i| format!("mail {i}")).collect();
    expected.sort();
    assert_eq!(subjects, expected);
}
