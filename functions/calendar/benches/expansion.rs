//! Expanding a year of a busy calendar: 50 series (20 dailies, 20 weeklies
//! on several days, 10 monthlies with BYDAY/BYMONTHDAY/BYSETPOS) in two time
//! zones, with a detached and a done occurrence per series, into the
//! ordered instance list `GET /v1/events` answers.
//!
//! Run: `cargo bench -p calendar --bench expansion`

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};
use criterion::{Criterion, criterion_group, criterion_main};
use shared::calendar::events::Detached;
use shared::calendar::events::EventDetails;
use shared::calendar::events::EventRecord;
use shared::calendar::events::EventStatus;
use shared::calendar::events::OccurrenceRecord;
use shared::calendar::events::OccurrenceState;
use uuid::Uuid;

fn utc(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).expect("instant").with_timezone(&Utc)
}

fn series(i: usize, rule: &str, tz: &str, start: DateTime<Utc>) -> EventRecord {
    EventRecord {
        id: Uuid::now_v7(),
        owner_id: Uuid::nil(),
        organisation_id: None,
        details: EventDetails { title: format!("Series {i}"), ..Default::default() },
        start,
        end: start + Duration::minutes(30),
        time_zone: tz.into(),
        all_day: false,
        recurrence: vec![format!("RRULE:{rule}")],
        status: EventStatus::Confirmed,
        state: OccurrenceState::default(),
        epoch: 0,
        ends_before: None,
        created_by: Uuid::nil(),
        created_at: start,
        updated_at: start,
        version: 1,
    }
}

fn busy_calendar() -> (Vec<EventRecord>, BTreeMap<Uuid, Vec<OccurrenceRecord>>) {
    let rules = [
        "FREQ=DAILY",
        "FREQ=WEEKLY;BYDAY=MO,WE,FR",
        "FREQ=WEEKLY;INTERVAL=2;BYDAY=TU,TH;WKST=SU",
        "FREQ=MONTHLY;BYDAY=-1FR",
        "FREQ=MONTHLY;BYMONTHDAY=1,-1",
        "FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-1",
    ];
    let mut events = Vec::new();
    let mut occurrences = BTreeMap::new();
    for i in 0..50 {
        let rule = match i {
            0..20 => rules[0],
            20..30 => rules[1],
            30..40 => rules[2],
            _ => rules[3 + i % 3],
        };
        let tz = if i % 2 == 0 { "Europe/Stockholm" } else { "America/New_York" };
        // Series that began a year before the window, as real calendars have.
        let start = utc("2025-01-06T07:00:00Z") + Duration::minutes(15 * i as i64);
        let record = series(i, rule, tz, start);
        let original = start + Duration::days(7);
        let items = vec![OccurrenceRecord {
            series_id: record.id,
            owner_id: record.owner_id,
            original_start: original,
            original_key: original.format("%Y%m%dT%H%M%SZ").to_string(),
            epoch: 0,
            detached: Some(Detached {
                details: record.details.clone(),
                start: original + Duration::hours(2),
                end: original + Duration::hours(3),
            }),
            status: EventStatus::Confirmed,
            deleted: false,
            state: OccurrenceState { done: true, ..Default::default() },
            created_at: start,
            updated_at: start,
            version: 1,
        }];
        occurrences.insert(record.id, items);
        events.push(record);
    }
    (events, occurrences)
}

fn expand_a_year(c: &mut Criterion) {
    let (events, occurrences) = busy_calendar();
    let (from, to) = (utc("2026-01-01T00:00:00Z"), utc("2027-01-01T00:00:00Z"));
    let count = calendar::events::window(&events, &occurrences, from, to).len();
    eprintln!("a year of the busy calendar: {count} instances");
    c.bench_function("expand a year of 50 series", |b| {
        b.iter(|| calendar::events::window(std::hint::black_box(&events), &occurrences, from, to))
    });
}

criterion_group!(benches, expand_a_year);
criterion_main!(benches);
