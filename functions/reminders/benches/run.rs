//! The cost of one reminders run (`reminders::run`, what the Lambda does
//! each minute) on the embedded table, in time and in table requests and
//! items read per delivered reminder (counted by
//! `shared::table::counting::CountingTable`), for:
//!
//! - 1,000 and 5,000 one-off reminders due in the same minute (inapp);
//! - 1,000 reminders of daily series, written through the calendar's write
//!   path (`shared::calendar::commit`), so each firing reads its series
//!   and pointer and schedules the next day's occurrence;
//! - an idle minute (nothing due);
//! - a catch-up run over 3 hours of empty minutes.
//!
//! A run consumes what is due, so every iteration prepares fresh data
//! untimed and only the run itself is timed (`iter_custom`). The counts are
//! printed once per scenario (criterion measures only time).
//!
//! Run: `cargo bench -p reminders --bench run`

use std::sync::Arc;
use std::time::{Duration as StdDuration, Instant};

use chrono::{DateTime, Duration, Utc};
use criterion::{Criterion, SamplingMode, Throughput, criterion_group, criterion_main};
use reminders::Summary;
use shared::AppState;
use shared::blobs::local::LocalBlobs;
use shared::calendar::events::Channel;
use shared::calendar::events::EventChange;
use shared::calendar::events::EventDetails;
use shared::calendar::events::EventPut;
use shared::calendar::events::EventRecord;
use shared::calendar::events::EventStatus;
use shared::calendar::events::OccurrenceState;
use shared::calendar::events::Reminder;
use shared::clock::{Clock, FixedClock};
use shared::mail::outbox::Outbox;
use shared::scheduling::reminders as due;
use shared::scheduling::reminders::DueItem;
use shared::scheduling::reminders::DueKind;
use shared::table::counting::{CountingTable, TableCounts};
use shared::table::embedded::EmbeddedTable;
use tokio::runtime::Runtime;
use uuid::Uuid;

/// Reminders per owner in the generated data (owners' partitions matter on DynamoDB).
const PER_OWNER: usize = 10;

fn utc(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).expect("instant").with_timezone(&Utc)
}

/// An `AppState` on a fresh embedded table in a temporary directory, with
/// the table wrapped in a counter.
struct Bench {
    runtime: Runtime,
    state: AppState,
    counting: Arc<CountingTable>,
    _dir: tempfile::TempDir,
}

impl Bench {
    fn new() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let clock: Arc<dyn Clock> = Arc::new(FixedClock::new(utc("2026-03-29T06:30:00Z")));
        let embedded = EmbeddedTable::open(&dir.path().join("table.redb")).expect("embedded table");
        let counting = Arc::new(CountingTable::new(Arc::new(embedded)));
        let key = [7u8; 32];
        let blobs = Arc::new(LocalBlobs::new(
            dir.path().join("blobs"),
            "http://127.0.0.1:3000".into(),
            key.to_vec(),
            clock.clone(),
        ));
        let outbox = Arc::new(Outbox::open(&dir.path().join("outbox.jsonl"), clock.clone()).expect("outbox"));
        let state = AppState::new(counting.clone(), blobs, outbox, clock, &key);
        // As the Lambda runs: tokio's multi-threaded runtime.
        let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("runtime");
        Self { runtime, state, counting, _dir: dir }
    }

    /// Leaves the watermark at the minute before `now`, so that the run at
    /// `now` reads exactly one bucket (`minutes` buckets when given more).
    fn watermark_before(&self, now: DateTime<Utc>, minutes: i64) {
        self.runtime.block_on(async {
            due::forget_watermark(self.state.table.as_ref()).await.expect("forget the watermark");
            // Without a watermark a run reads from the minute before its own.
            reminders::run(&self.state, now - Duration::minutes(minutes)).await.expect("setup run");
        });
    }

    /// Times one run at `now`, returning its duration, summary and counts.
    fn timed_run(&self, now: DateTime<Utc>) -> (StdDuration, Summary, TableCounts) {
        self.counting.reset();
        let started = Instant::now();
        let summary = self.runtime.block_on(reminders::run(&self.state, now)).expect("run");
        let elapsed = started.elapsed();
        (elapsed, summary, self.counting.reset())
    }
}

/// Prints what one run cost, per delivered reminder where any were delivered.
fn report(scenario: &str, elapsed: StdDuration, summary: &Summary, counts: &TableCounts) {
    let delivered = summary.delivered.inapp + summary.delivered.email + summary.delivered.push;
    let per = |n: u64| if delivered == 0 { "-".to_string() } else { format!("{:.2}", n as f64 / delivered as f64) };
    eprintln!(
        "reminder run [{scenario}]: {delivered} delivered, {} buckets, {elapsed:.2?} \
         ({} per delivered reminder); items read {} ({} per delivered), requests {} ({} per delivered): \
         {} queries, {} gets, {} batch gets, {} single writes, {} transactions, {} items written",
        summary.buckets_read,
        if delivered == 0 { "-".to_string() } else { format!("{:.2?}", elapsed / delivered as u32) },
        counts.items_read,
        per(counts.items_read),
        counts.requests,
        per(counts.requests),
        counts.queries,
        counts.gets,
        counts.batch_gets,
        counts.writes,
        counts.transactions,
        counts.items_written,
    );
}

/// Writes `count` one-off inapp reminders due at `fire_at`, as the calendar
/// write path stores them (a due item each; one-offs need nothing else to
/// be delivered).
fn one_off_reminders(bench: &Bench, fire_at: DateTime<Utc>, count: usize) {
    let start = fire_at + Duration::minutes(10);
    let mut owner = Uuid::now_v7();
    let mut items = Vec::with_capacity(count);
    for i in 0..count {
        if i % PER_OWNER == 0 {
            owner = Uuid::now_v7();
        }
        let item = DueItem {
            kind: DueKind::Reminder,
            event_id: Uuid::now_v7(),
            owner_id: owner,
            recurring: false,
            occurrence: shared::calendar::recurrence::compact(start, false),
            original_start: start,
            occurrence_start: start,
            reminder_index: 0,
            minutes_before: 10,
            channels: vec![Channel::Inapp],
            title: format!("Dose {i}"),
            time_zone: "Europe/Stockholm".into(),
            all_day: false,
            fire_at,
        };
        items.push(item);
    }
    bench.runtime.block_on(due::put_due_items(bench.state.table.as_ref(), &items)).expect("write due items");
}

fn one_offs(c: &mut Criterion, count: usize) {
    let bench = Bench::new();
    let now = utc("2026-03-29T07:50:00Z");
    let prepare = || {
        bench.watermark_before(now, 1);
        one_off_reminders(&bench, now, count);
    };
    let scenario = format!("{count} one-off reminders due in one minute");
    prepare();
    let (elapsed, summary, counts) = bench.timed_run(now);
    assert_eq!(summary.delivered.inapp, count as u64, "every reminder delivered");
    report(&scenario, elapsed, &summary, &counts);

    let mut group = c.benchmark_group("reminder run");
    group.sampling_mode(SamplingMode::Flat).throughput(Throughput::Elements(count as u64));
    group.bench_function(&scenario, |b| {
        b.iter_custom(|iters| {
            let mut total = StdDuration::ZERO;
            for _ in 0..iters {
                prepare();
                let (elapsed, summary, _) = bench.timed_run(now);
                assert_eq!(summary.delivered.inapp, count as u64);
                total += elapsed;
            }
            total
        })
    });
    group.finish();
}

fn one_off_1000(c: &mut Criterion) {
    one_offs(c, 1000);
}

fn one_off_5000(c: &mut Criterion) {
    one_offs(c, 5000);
}

/// A daily series at 08:00 in Stockholm from 2026-03-30, reminding 10
/// minutes before (05:50 UTC in summer time).
fn daily_series(owner: Uuid, i: usize, created: DateTime<Utc>) -> EventRecord {
    let start = utc("2026-03-30T08:00:00+02:00");
    EventRecord {
        id: Uuid::now_v7(),
        owner_id: owner,
        organisation_id: None,
        details: EventDetails {
            title: format!("Vitamins {i}"),
            reminders: vec![Reminder { minutes_before: 10, channels: vec![Channel::Inapp] }],
            ..Default::default()
        },
        start,
        end: start + Duration::minutes(5),
        time_zone: "Europe/Stockholm".into(),
        all_day: false,
        recurrence: vec!["RRULE:FREQ=DAILY".into()],
        status: EventStatus::Confirmed,
        state: OccurrenceState::default(),
        epoch: 0,
        ends_before: None,
        created_by: owner,
        created_at: created,
        updated_at: created,
        version: 1,
    }
}

fn series_reminders(c: &mut Criterion) {
    const COUNT: usize = 1000;
    let bench = Bench::new();
    let created = utc("2026-03-29T06:30:00Z");
    bench.runtime.block_on(async {
        let mut owner = Uuid::now_v7();
        for i in 0..COUNT {
            if i % PER_OWNER == 0 {
                owner = Uuid::now_v7();
            }
            let change = EventChange {
                puts: vec![EventPut { record: daily_series(owner, i, created), previous: None }],
                ..Default::default()
            };
            shared::calendar::commit(bench.state.table.as_ref(), &change).await.expect("create series");
        }
    });
    // Each iteration fires the next day's occurrence (the run before stored it).
    let first = utc("2026-03-30T05:50:00Z");
    let mut day = 0;
    let mut next_run = || {
        let now = first + Duration::days(day);
        day += 1;
        bench.watermark_before(now, 1);
        now
    };
    let scenario = format!("{COUNT} reminders of daily series due in one minute");
    let (elapsed, summary, counts) = bench.timed_run(next_run());
    assert_eq!(summary.delivered.inapp, COUNT as u64, "every series reminded");
    report(&scenario, elapsed, &summary, &counts);

    let mut group = c.benchmark_group("reminder run");
    group.sampling_mode(SamplingMode::Flat).throughput(Throughput::Elements(COUNT as u64));
    group.bench_function(&scenario, |b| {
        b.iter_custom(|iters| {
            let mut total = StdDuration::ZERO;
            for _ in 0..iters {
                let (elapsed, summary, _) = bench.timed_run(next_run());
                assert_eq!(summary.delivered.inapp, COUNT as u64, "each run stored the next day's reminders");
                total += elapsed;
            }
            total
        })
    });
    group.finish();
}

/// Runs over `minutes` empty buckets (1: an idle minute; 180: catching up
/// three hours).
fn empty_minutes(c: &mut Criterion, minutes: i64, scenario: &str) {
    let bench = Bench::new();
    let now = utc("2026-03-29T12:00:00Z");
    bench.watermark_before(now, minutes);
    let (elapsed, summary, counts) = bench.timed_run(now);
    assert_eq!(summary.buckets_read, minutes as u64);
    report(scenario, elapsed, &summary, &counts);

    let mut group = c.benchmark_group("reminder run");
    group.throughput(Throughput::Elements(minutes as u64));
    group.bench_function(scenario, |b| {
        b.iter_custom(|iters| {
            let mut total = StdDuration::ZERO;
            for _ in 0..iters {
                bench.watermark_before(now, minutes);
                let (elapsed, summary, _) = bench.timed_run(now);
                assert_eq!(summary.buckets_read, minutes as u64);
                total += elapsed;
            }
            total
        })
    });
    group.finish();
}

fn idle_minute(c: &mut Criterion) {
    empty_minutes(c, 1, "an idle minute");
}

fn catch_up(c: &mut Criterion) {
    empty_minutes(c, 180, "catching up 3 hours of empty minutes");
}

criterion_group! {
    name = benches;
    // Small samples: the whole bench should take minutes on a 2-core machine.
    config = Criterion::default()
        .sample_size(10)
        .warm_up_time(StdDuration::from_secs(1))
        .measurement_time(StdDuration::from_secs(5));
    targets = idle_minute, catch_up, one_off_1000, one_off_5000, series_reminders
}
criterion_main!(benches);
