//! Recurring series, as pure functions shared by the calendar handlers and
//! the reminders' due-item scheduling: parsing the RFC 5545 `recurrence`
//! lines of an event into a canonical form, expanding a series into its
//! occurrences inside a window (in the event's own IANA zone, so a daily
//! 08:00 stays at 08:00 local across DST changes), and splitting a series
//! at an occurrence ("this and following"). No I/O here, so every rule is
//! unit-tested against the RFC's published examples.
//!
//! Expansion is done by the `rrule` crate. Two rules of RFC 5545 that matter
//! for people's days are pinned by tests here: a local time that does not
//! exist (spring forward, e.g. 02:30 on 2026-03-29 in Stockholm) is taken
//! with the offset before the gap (so it happens at 03:30 local), and an
//! ambiguous one (fall back) is the first of the two. As in RFC 5545, a
//! `DTSTART` that does not match the rule is not itself an occurrence.
//!
//! All-day events are expanded as floating dates (midnight UTC stands for
//! "that date"), and placed in the event's zone only when compared with a
//! window.
//!
//! A window costs what it returns, not the series' age: a series without
//! `COUNT` is not walked from its `DTSTART` but from the start of the last
//! period of the rule (day, week, month or year, counted in `INTERVAL`s from
//! `DTSTART`) that begins before the window. The crate's iteration is
//! periodic in those periods, so it yields there exactly the occurrences the
//! full walk would. The commonest rules (plain daily and weekly ones) are
//! made without the crate, date by date, the crate's way. Tests hold both
//! paths to the crate's full walk. A `COUNT` series is still walked from its
//! start, as its count runs from there; it has at most 10,000 occurrences.

use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Timelike, Utc};
use chrono_tz::Tz;
use rrule::{Frequency, RRule, RRuleSet, Unvalidated, Validated};

/// Most occurrences one expansion yields (a year of a daily series fits many times).
pub const MAX_EXPANSION: usize = 5000;

/// Canonical form of an event's `recurrence` lines.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recurrence {
    /// The RRULE parts other than `UNTIL` and `COUNT`, e.g. `FREQ=WEEKLY;BYDAY=MO,WE`.
    pub rule: String,
    /// `COUNT`, if any.
    pub count: Option<u32>,
    /// `UNTIL` as an instant (all-day: the floating date at midnight UTC), inclusive.
    pub until: Option<DateTime<Utc>>,
    /// Excluded occurrence starts (all-day: floating dates at midnight UTC), sorted.
    pub exdates: Vec<DateTime<Utc>>,
}

/// When a (possibly recurring) event happens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Timing {
    /// First start (all-day: the floating date at midnight UTC).
    pub start: DateTime<Utc>,
    /// Length of every occurrence.
    pub duration: Duration,
    /// The zone the series repeats in (all-day: where its dates are placed).
    pub tz: Tz,
    /// Whether the event takes whole days.
    pub all_day: bool,
    /// The recurrence, if the event repeats.
    pub recurrence: Option<Recurrence>,
}

/// The instant a floating date stands for.
pub fn floating(date: NaiveDate) -> DateTime<Utc> {
    Utc.from_utc_datetime(&date.and_time(NaiveTime::MIN))
}

/// A local wall time in `tz` as an instant, the RFC 5545 way: a time in a
/// gap (spring forward) uses the offset before the gap; an ambiguous time
/// (fall back) is the first of the two.
pub fn local_to_utc(tz: Tz, local: NaiveDateTime) -> DateTime<Utc> {
    match tz.from_local_datetime(&local) {
        chrono::LocalResult::Single(t) => t.with_timezone(&Utc),
        chrono::LocalResult::Ambiguous(first, _) => first.with_timezone(&Utc),
        chrono::LocalResult::None => {
            // Gaps are at most a few hours; twelve hours before is safely on the other side.
            let before = tz.offset_from_utc_datetime(&(local - Duration::hours(12)));
            let offset = chrono::Offset::fix(&before);
            Utc.from_utc_datetime(&(local - Duration::seconds(i64::from(offset.local_minus_utc()))))
        }
    }
}

/// Where a floating all-day date begins, in `tz`.
pub fn day_start(tz: Tz, date: NaiveDate) -> DateTime<Utc> {
    local_to_utc(tz, date.and_time(NaiveTime::MIN))
}

/// The compact form of an occurrence start used in instance ids:
/// `20260329T063000Z`, or `20260329` for all-day events.
pub fn compact(start: DateTime<Utc>, all_day: bool) -> String {
    let mut out = String::with_capacity(16);
    push_compact(&mut out, start, all_day);
    out
}

/// Appends [`compact`]'s form to `out`.
pub fn push_compact(out: &mut String, start: DateTime<Utc>, all_day: bool) {
    push_instant(out, start, all_day, false);
}

/// The API form of an instant: `2026-03-29T06:30:00Z` (RFC 3339, whole
/// seconds), or the date `2026-03-29` for all-day events.
pub fn api_time(at: DateTime<Utc>, all_day: bool) -> String {
    let mut out = String::with_capacity(20);
    push_instant(&mut out, at, all_day, true);
    out
}

/// Writes an instant in UTC, `separated` (`2026-03-29T06:30:00Z`) or
/// compact (`20260329T063000Z`), and only its date when `date_only`.
/// Listings write four per instance, so the digits go straight into a
/// fixed layout rather than through format strings; years outside 0–9999
/// (which need a sign) go through chrono.
fn push_instant(out: &mut String, at: DateTime<Utc>, date_only: bool, separated: bool) {
    let naive = at.naive_utc();
    let (date, time) = (naive.date(), naive.time());
    let Ok(year @ 0..=9999) = u32::try_from(date.year()) else {
        let format = match (date_only, separated) {
            (true, true) => "%Y-%m-%d",
            (true, false) => "%Y%m%d",
            (false, true) => "%Y-%m-%dT%H:%M:%SZ",
            (false, false) => "%Y%m%dT%H%M%SZ",
        };
        out.push_str(&at.format(format).to_string());
        return;
    };
    let fields = [year / 100, year % 100, date.month(), date.day(), time.hour(), time.minute(), time.second()];
    let (mut text, places, len) = if separated {
        (*b"0000-00-00T00:00:00Z", [0, 2, 5, 8, 11, 14, 17], if date_only { 10 } else { 20 })
    } else {
        (*b"00000000T000000Z____", [0, 2, 4, 6, 9, 11, 13], if date_only { 8 } else { 16 })
    };
    for (value, at) in fields.into_iter().zip(places) {
        // Every field is below 100.
        let value = u8::try_from(value % 100).unwrap_or(0);
        text[at] = b'0' + value / 10;
        text[at + 1] = b'0' + value % 10;
    }
    out.push_str(std::str::from_utf8(&text[..len]).unwrap_or_default());
}

/// Parses the compact form back (either shape).
pub fn parse_compact(raw: &str) -> Option<DateTime<Utc>> {
    if raw.len() == 8 {
        return NaiveDate::parse_from_str(raw, "%Y%m%d").ok().map(floating);
    }
    NaiveDateTime::parse_from_str(raw, "%Y%m%dT%H%M%SZ").ok().map(|t| Utc.from_utc_datetime(&t))
}

/// An iCalendar DATE or DATE-TIME value.
enum Moment {
    Utc(DateTime<Utc>),
    Local(NaiveDateTime),
    Date(NaiveDate),
}

fn parse_moment(raw: &str) -> Result<Moment, String> {
    let raw = raw.trim();
    let bad = || format!("`{raw}` is not an iCalendar date (20260329) or date-time (20260329T080000[Z])");
    if let Some(utc) = raw.strip_suffix('Z') {
        let t = NaiveDateTime::parse_from_str(utc, "%Y%m%dT%H%M%S").map_err(|_| bad())?;
        return Ok(Moment::Utc(Utc.from_utc_datetime(&t)));
    }
    if raw.len() == 8 {
        return NaiveDate::parse_from_str(raw, "%Y%m%d").map(Moment::Date).map_err(|_| bad());
    }
    NaiveDateTime::parse_from_str(raw, "%Y%m%dT%H%M%S").map(Moment::Local).map_err(|_| bad())
}

/// Resolves a moment against the series: UTC stays, local times are in
/// `tz`, dates take the series' local start time (all-day: the date itself).
/// `end_of_day` makes a bare date mean its last second (for `UNTIL`).
fn resolve(moment: Moment, tz: Tz, all_day: bool, start: DateTime<Utc>, end_of_day: bool) -> DateTime<Utc> {
    match (moment, all_day) {
        (Moment::Date(d), true) => floating(d),
        (Moment::Utc(t), true) => floating(t.with_timezone(&tz).date_naive()),
        (Moment::Local(t), true) => floating(t.date()),
        (Moment::Date(d), false) if end_of_day => {
            local_to_utc(tz, d.and_time(NaiveTime::MIN) + Duration::days(1)) - Duration::seconds(1)
        }
        (Moment::Date(d), false) => local_to_utc(tz, d.and_time(start.with_timezone(&tz).time())),
        (Moment::Utc(t), false) => t,
        (Moment::Local(t), false) => local_to_utc(tz, t),
    }
}

const FREQUENCIES: [&str; 4] = ["DAILY", "WEEKLY", "MONTHLY", "YEARLY"];
const ALLOWED_PARTS: [&str; 10] =
    ["FREQ", "INTERVAL", "COUNT", "UNTIL", "BYDAY", "BYMONTHDAY", "BYMONTH", "BYSETPOS", "WKST", "BYYEARDAY"];

/// Parses the `recurrence` lines of an event (`RRULE:...`, `EXDATE...`)
/// into canonical form; `Err((line index, message))` names the bad line.
/// An empty list means a one-off event.
pub fn parse_recurrence(
    lines: &[String],
    tz: Tz,
    all_day: bool,
    start: DateTime<Utc>,
) -> Result<Option<Recurrence>, (usize, String)> {
    if lines.is_empty() {
        return Ok(None);
    }
    let mut rule: Option<(String, Option<u32>, Option<DateTime<Utc>>)> = None;
    let mut exdates = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        let (name, value) =
            line.split_once(':').ok_or((i, "must look like `RRULE:FREQ=...` or `EXDATE:...`".into()))?;
        let mut params = name.split(';');
        let property = params.next().unwrap_or("").to_ascii_uppercase();
        match property.as_str() {
            "RRULE" => {
                if rule.is_some() {
                    return Err((i, "only one RRULE is allowed".into()));
                }
                if name.contains(';') {
                    return Err((i, "RRULE takes no parameters".into()));
                }
                rule = Some(parse_rule(value, tz, all_day, start).map_err(|m| (i, m))?);
            }
            "EXDATE" => {
                let mut zone = tz;
                for param in params {
                    let (key, val) = param.split_once('=').ok_or((i, format!("bad parameter `{param}`")))?;
                    match key.to_ascii_uppercase().as_str() {
                        "TZID" => zone = val.parse::<Tz>().map_err(|_| (i, format!("unknown time zone `{val}`")))?,
                        "VALUE" if val.eq_ignore_ascii_case("DATE") || val.eq_ignore_ascii_case("DATE-TIME") => {}
                        _ => return Err((i, format!("unsupported parameter `{param}`"))),
                    }
                }
                for raw in value.split(',') {
                    let moment = parse_moment(raw).map_err(|m| (i, m))?;
                    let at = match moment {
                        Moment::Local(t) if !all_day => local_to_utc(zone, t),
                        other => resolve(other, tz, all_day, start, false),
                    };
                    exdates.push(at);
                }
            }
            _ => return Err((i, format!("unsupported property `{property}` (use RRULE and EXDATE)"))),
        }
    }
    let Some((rule, count, until)) = rule else {
        return Err((0, "an RRULE line is required when recurrence is given".into()));
    };
    exdates.sort();
    exdates.dedup();
    if exdates.len() > 1000 {
        return Err((lines.len() - 1, "at most 1000 excluded dates".into()));
    }
    let recurrence = Recurrence { rule, count, until, exdates };
    // Let the crate validate the whole rule (ranges, BYSETPOS with a BYxxx, ...).
    build(&recurrence, tz, all_day, start).map_err(|m| (0, m))?;
    Ok(Some(recurrence))
}

type ParsedRule = (String, Option<u32>, Option<DateTime<Utc>>);

fn parse_rule(value: &str, tz: Tz, all_day: bool, start: DateTime<Utc>) -> Result<ParsedRule, String> {
    let mut kept = Vec::new();
    let mut count = None;
    let mut until = None;
    let mut freq = None;
    for part in value.split(';').filter(|p| !p.is_empty()) {
        let (key, val) = part.split_once('=').ok_or_else(|| format!("`{part}` is not KEY=VALUE"))?;
        let key = key.to_ascii_uppercase();
        if !ALLOWED_PARTS.contains(&key.as_str()) {
            return Err(format!("{key} is not supported (use {})", ALLOWED_PARTS.join(", ")));
        }
        match key.as_str() {
            "COUNT" => {
                let n: u32 = val.parse().map_err(|_| "COUNT must be a positive integer".to_string())?;
                if n == 0 || n > 10_000 {
                    return Err("COUNT must be between 1 and 10000".into());
                }
                count = Some(n);
            }
            "UNTIL" => until = Some(resolve(parse_moment(val)?, tz, all_day, start, true)),
            _ => {
                if key == "FREQ" {
                    let f = val.to_ascii_uppercase();
                    if !FREQUENCIES.contains(&f.as_str()) {
                        return Err(format!("FREQ must be one of {}", FREQUENCIES.join(", ")));
                    }
                    freq = Some(f);
                }
                kept.push(format!("{key}={}", val.to_ascii_uppercase()));
            }
        }
    }
    if freq.is_none() {
        return Err("FREQ is required".into());
    }
    if count.is_some() && until.is_some() {
        return Err("COUNT and UNTIL cannot both be given".into());
    }
    Ok((kept.join(";"), count, until))
}

impl Recurrence {
    /// The canonical `recurrence` lines to store and show.
    pub fn to_lines(&self, all_day: bool) -> Vec<String> {
        let mut rrule = format!("RRULE:{}", self.rule);
        if let Some(count) = self.count {
            rrule.push_str(&format!(";COUNT={count}"));
        }
        if let Some(until) = self.until {
            rrule.push_str(&format!(";UNTIL={}", compact(until, all_day)));
        }
        let mut lines = vec![rrule];
        if !self.exdates.is_empty() {
            let values: Vec<String> = self.exdates.iter().map(|d| compact(*d, all_day)).collect();
            let name = if all_day { "EXDATE;VALUE=DATE" } else { "EXDATE" };
            lines.push(format!("{name}:{}", values.join(",")));
        }
        lines
    }
}

fn rrule_tz(tz: Tz, all_day: bool) -> rrule::Tz {
    if all_day { rrule::Tz::UTC } else { rrule::Tz::Tz(tz) }
}

/// The crate's rule for a series, validated against its real `DTSTART`,
/// which fixes the parts RFC 5545 takes from it when the rule names none
/// (the time of day; the weekday, day of the month or month).
fn validated(
    recurrence: &Recurrence,
    tz: Tz,
    all_day: bool,
    start: DateTime<Utc>,
) -> Result<(RRule<Validated>, DateTime<rrule::Tz>), String> {
    let zone = rrule_tz(tz, all_day);
    let mut text = recurrence.rule.clone();
    if let Some(count) = recurrence.count {
        text.push_str(&format!(";COUNT={count}"));
    }
    let mut rule: RRule<Unvalidated> = text.parse().map_err(|e: rrule::RRuleError| e.to_string())?;
    if let Some(until) = recurrence.until {
        rule = rule.until(until.with_timezone(&rrule::Tz::UTC));
    }
    let dt_start = start.with_timezone(&zone);
    rule.validate(dt_start).map(|rule| (rule, dt_start)).map_err(|e| e.to_string())
}

/// The crate's rule set for a series (EXDATEs are applied by [`expand`]).
fn build(recurrence: &Recurrence, tz: Tz, all_day: bool, start: DateTime<Utc>) -> Result<RRuleSet, String> {
    let (rule, dt_start) = validated(recurrence, tz, all_day, start)?;
    Ok(RRuleSet::new(dt_start).rrule(rule).limit())
}

/// The first day of the period of a rule (a day; a week from `week_start`,
/// Monday being 0; a month; a year) reached from `first`'s period by whole
/// `interval`s without passing `target`'s period, with the number of
/// intervals taken (0 when `target` is in or before `first`'s period).
fn aligned_period(
    freq: Frequency,
    interval: i64,
    week_start: u32,
    first: NaiveDate,
    target: NaiveDate,
) -> Option<(i64, NaiveDate)> {
    let interval = interval.max(1);
    match freq {
        Frequency::Daily => {
            let steps = (target - first).num_days().div_euclid(interval).max(0);
            Some((steps, first.checked_add_signed(Duration::days(steps * interval))?))
        }
        Frequency::Weekly => {
            let week_of =
                |d: NaiveDate| d - Duration::days(i64::from((d.weekday().num_days_from_monday() + 7 - week_start) % 7));
            let first_week = week_of(first);
            let steps = ((week_of(target) - first_week).num_days() / 7).div_euclid(interval).max(0);
            Some((steps, first_week.checked_add_signed(Duration::weeks(steps * interval))?))
        }
        Frequency::Monthly => {
            let month_of = |d: NaiveDate| i64::from(d.year()) * 12 + i64::from(d.month0());
            let steps = (month_of(target) - month_of(first)).div_euclid(interval).max(0);
            let month = month_of(first) + steps * interval;
            let year = i32::try_from(month.div_euclid(12)).ok()?;
            Some((steps, NaiveDate::from_ymd_opt(year, u32::try_from(month.rem_euclid(12)).ok()? + 1, 1)?))
        }
        Frequency::Yearly => {
            let steps = i64::from(target.year() - first.year()).div_euclid(interval).max(0);
            let year = first.year().checked_add(i32::try_from(steps * interval).ok()?)?;
            Some((steps, NaiveDate::from_ymd_opt(year, 1, 1)?))
        }
        // Not accepted by `parse_recurrence`.
        _ => None,
    }
}

/// Where the crate's walk may start instead of `DTSTART` so that it yields
/// every occurrence from `lower` on exactly as the full walk does: local
/// midnight on the first day of the last period of the rule (counted in
/// `INTERVAL`s from `DTSTART`'s period) that begins on or before `lower`'s
/// date. `None` when that is `DTSTART`'s own period.
///
/// Why this is exact (rrule 0.14, like python-dateutil): the walk visits one
/// period at a time — a day; a week from `WKST`; a month; a year — stepping
/// `INTERVAL` periods from `DTSTART`'s, and picks the period's occurrences
/// from the rule's BYxxx parts (fixed by [`validated`] from the real
/// `DTSTART`) and the period's calendar alone, keeping those not before
/// its start. So from an aligned period on, with nothing counted (no
/// `COUNT`), both walks produce the same instants; and starting at the
/// period's first midnight keeps all of that period's occurrences.
fn aligned_start(
    rule: &RRule<Validated>,
    dt_start: &DateTime<rrule::Tz>,
    lower: DateTime<Utc>,
) -> Option<DateTime<rrule::Tz>> {
    let rrule::Tz::Tz(zone) = dt_start.timezone() else { return None };
    let target = lower.with_timezone(&zone).date_naive();
    let week_start = rule.get_week_start().num_days_from_monday();
    let interval = i64::from(rule.get_interval());
    let (steps, date) = aligned_period(rule.get_freq(), interval, week_start, dt_start.date_naive(), target)?;
    if steps < 1 {
        return None;
    }
    Some(local_to_utc(zone, date.and_time(NaiveTime::MIN)).with_timezone(&rrule::Tz::Tz(zone)))
}

/// The commonest series — `FREQ=DAILY`, or `FREQ=WEEKLY` on plain weekdays,
/// with `INTERVAL` and `WKST` and nothing else, no `COUNT` — expanded
/// without the crate, which spends most of a listing's expansion time on
/// its general machinery. It makes exactly what the crate makes (rrule
/// 0.14; the tests compare the two on many such rules from 1970 on): on
/// every date of the rule, `DTSTART`'s local time (whole seconds) placed in
/// the zone as the crate places it, none before `DTSTART`, none after
/// `UNTIL`, no year after 10000.
#[derive(Debug, Clone)]
struct Plain {
    zone: Tz,
    time: NaiveTime,
    interval: i64,
    /// WEEKLY's weekdays (Monday first) and week start (Monday 0); `None` for DAILY.
    week: Option<([bool; 7], u32)>,
    start: DateTime<Utc>,
    until: Option<DateTime<Utc>>,
}

fn weekday_number(code: &str) -> Option<u32> {
    ["MO", "TU", "WE", "TH", "FR", "SA", "SU"].iter().position(|d| *d == code).and_then(|i| u32::try_from(i).ok())
}

impl Plain {
    /// The plain form of a series' rule, if it has one.
    fn of(recurrence: &Recurrence, zone: Tz, start: DateTime<Utc>) -> Option<Self> {
        if recurrence.count.is_some() {
            return None;
        }
        let (mut freq, mut interval, mut week_start, mut days) = (None, 1, 0, None);
        for part in recurrence.rule.split(';') {
            let (key, value) = part.split_once('=')?;
            match key {
                "FREQ" => freq = Some(value),
                "INTERVAL" => interval = value.parse::<i64>().ok().filter(|n| (1..=i64::from(u16::MAX)).contains(n))?,
                "WKST" => week_start = weekday_number(value)?,
                "BYDAY" => days = Some(value.split(',').map(weekday_number).collect::<Option<Vec<u32>>>()?),
                _ => return None,
            }
        }
        let local = start.with_timezone(&zone);
        let week = match (freq?, days) {
            ("DAILY", None) => None,
            ("WEEKLY", days) => {
                let mut set = [false; 7];
                for day in days.unwrap_or_else(|| vec![local.weekday().num_days_from_monday()]) {
                    set[usize::try_from(day).ok()?] = true;
                }
                Some((set, week_start))
            }
            _ => return None,
        };
        let time = NaiveTime::from_hms_opt(local.hour(), local.minute(), local.second())?;
        Some(Self { zone, time, interval, week, start, until: recurrence.until })
    }

    /// The crate's placement of a local date and time: the time if it
    /// exists once, otherwise as long after the date's midnight as the time
    /// is after 00:00 (nothing if midnight itself does not exist once).
    fn place(&self, date: NaiveDate) -> Option<DateTime<Utc>> {
        if let Some(at) = self.zone.from_local_datetime(&date.and_time(self.time)).single() {
            return Some(at.with_timezone(&Utc));
        }
        let midnight = self.zone.from_local_datetime(&date.and_time(NaiveTime::MIN)).single()?;
        let since = Duration::seconds(i64::from(self.time.num_seconds_from_midnight()));
        midnight.checked_add_signed(since).map(|at| at.with_timezone(&Utc))
    }

    /// The occurrence starts, in order, from the period holding `lower`'s
    /// date (or the first period).
    fn starts(self, lower: DateTime<Utc>) -> impl Iterator<Item = DateTime<Utc>> {
        let first = self.start.with_timezone(&self.zone).date_naive();
        let target = lower.with_timezone(&self.zone).date_naive();
        let (freq, length) = if self.week.is_some() { (Frequency::Weekly, 7) } else { (Frequency::Daily, 1) };
        let week_start = self.week.map_or(0, |(_, start)| start);
        let period = aligned_period(freq, self.interval, week_start, first, target).map(|(_, date)| date);
        let step = Duration::days(self.interval * length);
        let periods = std::iter::successors(period, move |p| p.checked_add_signed(step));
        let dates = periods
            .take_while(|p| p.year() <= 10_000)
            .flat_map(move |p| (0..length).filter_map(move |i| p.checked_add_signed(Duration::days(i))))
            .filter(move |d| self.week.is_none_or(|(days, _)| days[d.weekday().num_days_from_monday() as usize]));
        let (start, until) = (self.start, self.until);
        dates
            .filter_map(move |d| self.place(d))
            .filter(move |at| *at >= start)
            .take_while(move |at| until.is_none_or(|u| *at <= u))
    }
}

impl Timing {
    /// Where an occurrence starting at `start` lies in time: `[from, to)`.
    pub fn span(&self, start: DateTime<Utc>) -> (DateTime<Utc>, DateTime<Utc>) {
        if self.all_day {
            let first = start.date_naive();
            let days = self.duration.num_days().max(1);
            (day_start(self.tz, first), day_start(self.tz, first + Duration::days(days)))
        } else {
            (start, start + self.duration)
        }
    }

    /// Every occurrence start of the series (before EXDATEs) in order,
    /// lazily; a one-off event yields its start.
    fn starts(&self) -> Box<dyn Iterator<Item = DateTime<Utc>> + '_> {
        self.starts_near(None)
    }

    /// The occurrence starts (before EXDATEs) in order, lazily: every one
    /// from `lower` on, and perhaps some before it. With `lower`, a plain
    /// rule is made by [`Plain`] and any other series without `COUNT` is
    /// walked by the crate from the period of its rule that holds `lower`
    /// (see [`aligned_start`]), so the cost does not grow with the series'
    /// age; `None` walks the crate from `DTSTART` (what the tests hold both
    /// fast paths to).
    fn starts_near(&self, lower: Option<DateTime<Utc>>) -> Box<dyn Iterator<Item = DateTime<Utc>> + '_> {
        let Some(recurrence) = &self.recurrence else { return Box::new(std::iter::once(self.start)) };
        // (The crate accepts every plain rule; with an UNTIL before DTSTART both yield nothing.)
        if let Some(lower) = lower
            && let Some(plain) = Plain::of(recurrence, if self.all_day { Tz::UTC } else { self.tz }, self.start)
        {
            return Box::new(plain.starts(lower).take(100_000));
        }
        // Stored rules were validated on the way in; an unreadable one yields nothing.
        let Ok((rule, dt_start)) = validated(recurrence, self.tz, self.all_day, self.start) else {
            return Box::new(std::iter::empty());
        };
        let from = match lower {
            Some(lower) if recurrence.count.is_none() => aligned_start(&rule, &dt_start, lower).unwrap_or(dt_start),
            _ => dt_start,
        };
        let set = RRuleSet::new(from).rrule(rule).limit();
        Box::new(set.into_iter().map(|t| t.with_timezone(&Utc)).take(100_000))
    }

    fn excluded(&self, start: &DateTime<Utc>) -> bool {
        self.recurrence.as_ref().is_some_and(|r| r.exdates.binary_search(start).is_ok())
    }

    /// Occurrence starts (after EXDATEs) whose span overlaps `[from, to)`,
    /// in order, at most [`MAX_EXPANSION`].
    pub fn expand(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> Vec<DateTime<Utc>> {
        self.expand_with(from, to, true)
    }

    /// [`Timing::expand`] walking every series from its `DTSTART`: what the
    /// fast path is checked against.
    #[cfg(test)]
    fn expand_walking_from_the_start(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> Vec<DateTime<Utc>> {
        self.expand_with(from, to, false)
    }

    fn expand_with(&self, from: DateTime<Utc>, to: DateTime<Utc>, near: bool) -> Vec<DateTime<Utc>> {
        // An occurrence overlapping the window starts after `from` less its
        // length; all-day dates are placed up to 14 hours from UTC (two days of slack).
        let lower = near.then(|| from - self.duration.max(Duration::zero()) - Duration::days(2));
        let mut out = Vec::new();
        for start in self.starts_near(lower) {
            let (begin, end) = self.span(start);
            if begin >= to {
                break;
            }
            if end > from && !(begin == end && begin < from) && !self.excluded(&start) {
                out.push(start);
                if out.len() >= MAX_EXPANSION {
                    break;
                }
            }
        }
        out
    }

    /// Whether `start` is an occurrence of the series (EXDATEs excluded).
    pub fn is_occurrence(&self, start: DateTime<Utc>) -> bool {
        if self.excluded(&start) {
            return false;
        }
        self.starts_near(Some(start - Duration::days(2))).take_while(|t| *t <= start).any(|t| t == start)
    }

    /// Whether the series has an occurrence (EXDATEs included) before `at`.
    pub fn starts_before(&self, at: DateTime<Utc>) -> bool {
        self.starts().next().is_some_and(|t| t < at)
    }

    /// How many occurrences the rule generates before `at` (EXDATEs count,
    /// as they do for RFC 5545's COUNT).
    pub fn count_before(&self, at: DateTime<Utc>) -> u32 {
        u32::try_from(self.starts().take_while(|t| *t < at).count()).unwrap_or(u32::MAX)
    }
}

/// A series split at one of its occurrences ("this and following").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Split {
    /// The old series' recurrence, ending before the occurrence; `None`
    /// when the occurrence was the first (nothing is left of the old series).
    pub before: Option<Recurrence>,
    /// The new series' recurrence, starting at the occurrence.
    pub after: Recurrence,
}

/// Splits a series at the occurrence starting `at`: the old part keeps the
/// occurrences before it (COUNT becomes how many there were, otherwise
/// UNTIL becomes the second before), the new part starts at `at` with the
/// remaining COUNT (or the old UNTIL). EXDATEs go to the side they fall on.
pub fn split(timing: &Timing, at: DateTime<Utc>) -> Option<Split> {
    let recurrence = timing.recurrence.as_ref()?;
    // Only a COUNT needs the number; otherwise whether there is any (cheap for old series).
    let before_count = match recurrence.count {
        Some(_) => timing.count_before(at),
        None => u32::from(timing.starts_before(at)),
    };
    let (early, late): (Vec<_>, Vec<_>) = recurrence.exdates.iter().partition(|d| **d < at);
    let after = Recurrence {
        rule: recurrence.rule.clone(),
        count: recurrence.count.map(|n| n.saturating_sub(before_count).max(1)),
        until: recurrence.until,
        exdates: late,
    };
    let before = (before_count > 0).then(|| Recurrence {
        rule: recurrence.rule.clone(),
        count: recurrence.count.map(|_| before_count),
        until: if recurrence.count.is_some() {
            None
        } else if timing.all_day {
            Some(at - Duration::days(1))
        } else {
            Some(at - Duration::seconds(1))
        },
        exdates: early,
    });
    Some(Split { before, after })
}

/// The local date of `at` in `tz` (for all-day events created from dates).
pub fn local_date(at: DateTime<Utc>, tz: Tz) -> NaiveDate {
    let local = at.with_timezone(&tz);
    NaiveDate::from_ymd_opt(local.year(), local.month(), local.day()).unwrap_or(local.date_naive())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn timed(start_local: &str, tz: Tz, lines: &[&str]) -> Timing {
        let local = NaiveDateTime::parse_from_str(start_local, "%Y-%m-%dT%H:%M:%S").unwrap();
        let start = local_to_utc(tz, local);
        let lines: Vec<String> = lines.iter().map(|s| s.to_string()).collect();
        let recurrence = parse_recurrence(&lines, tz, false, start).unwrap();
        Timing { start, duration: Duration::hours(1), tz, all_day: false, recurrence }
    }

    fn local_strings(times: &[DateTime<Utc>], tz: Tz) -> Vec<String> {
        times.iter().map(|t| t.with_timezone(&tz).format("%Y-%m-%d %H:%M").to_string()).collect()
    }

    fn everything(t: &Timing) -> Vec<DateTime<Utc>> {
        t.expand(utc("1990-01-01T00:00:00Z"), utc("2100-01-01T00:00:00Z"))
    }

    const NY: Tz = chrono_tz::America::New_York;
    const STHLM: Tz = chrono_tz::Europe::Stockholm;

    #[test]
    fn rfc5545_daily_for_ten_occurrences() {
        let t = timed("1997-09-02T09:00:00", NY, &["RRULE:FREQ=DAILY;COUNT=10"]);
        let all = everything(&t);
        assert_eq!(all.len(), 10);
        assert_eq!(local_strings(&all[..1], NY), ["1997-09-02 09:00"]);
        assert_eq!(local_strings(&all[9..], NY), ["1997-09-11 09:00"]);
    }

    #[test]
    fn rfc5545_every_other_week_on_monday_wednesday_friday_until_december_24() {
        let t = timed(
            "1997-09-01T09:00:00",
            NY,
            &["RRULE:FREQ=WEEKLY;INTERVAL=2;UNTIL=19971224T000000Z;WKST=SU;BYDAY=MO,WE,FR"],
        );
        let all = local_strings(&everything(&t), NY);
        assert_eq!(all.len(), 25);
        assert_eq!(
            all[..6],
            [
                "1997-09-01 09:00",
                "1997-09-03 09:00",
                "1997-09-05 09:00",
                "1997-09-15 09:00",
                "1997-09-17 09:00",
                "1997-09-19 09:00"
            ]
        );
        // Across the end of daylight saving time (26 October 1997) still at 09:00 local.
        assert!(all.contains(&"1997-10-27 09:00".to_string()));
        assert_eq!(all.last().unwrap(), "1997-12-22 09:00");
    }

    #[test]
    fn rfc5545_monthly_on_the_last_friday() {
        // "Monthly on the 1st Friday ..." family: BYDAY=-1FR is the last Friday.
        let t = timed("1997-09-26T09:00:00", NY, &["RRULE:FREQ=MONTHLY;COUNT=4;BYDAY=-1FR"]);
        assert_eq!(
            local_strings(&everything(&t), NY),
            ["1997-09-26 09:00", "1997-10-31 09:00", "1997-11-28 09:00", "1997-12-26 09:00"]
        );
    }

    #[test]
    fn rfc5545_monthly_on_the_first_and_last_day() {
        let t = timed("1997-09-30T09:00:00", NY, &["RRULE:FREQ=MONTHLY;COUNT=6;BYMONTHDAY=1,-1"]);
        assert_eq!(
            local_strings(&everything(&t), NY),
            [
                "1997-09-30 09:00",
                "1997-10-01 09:00",
                "1997-10-31 09:00",
                "1997-11-01 09:00",
                "1997-11-30 09:00",
                "1997-12-01 09:00"
            ]
        );
    }

    #[test]
    fn rfc5545_last_work_day_of_the_month_with_bysetpos() {
        let t = timed("1997-09-29T09:00:00", NY, &["RRULE:FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-1;COUNT=4"]);
        assert_eq!(
            local_strings(&everything(&t), NY),
            ["1997-09-30 09:00", "1997-10-31 09:00", "1997-11-28 09:00", "1997-12-31 09:00"]
        );
    }

    #[test]
    fn rfc5545_third_instance_of_tuesday_wednesday_or_thursday_for_the_next_three_months() {
        let t = timed("1997-09-04T09:00:00", NY, &["RRULE:FREQ=MONTHLY;COUNT=3;BYDAY=TU,WE,TH;BYSETPOS=3"]);
        assert_eq!(local_strings(&everything(&t), NY), ["1997-09-04 09:00", "1997-10-07 09:00", "1997-11-06 09:00"]);
    }

    #[test]
    fn rfc5545_yearly_in_june_and_july_for_ten_occurrences() {
        let t = timed("1997-06-10T09:00:00", NY, &["RRULE:FREQ=YEARLY;COUNT=10;BYMONTH=6,7"]);
        let all = local_strings(&everything(&t), NY);
        assert_eq!(all.len(), 10);
        assert_eq!(all[..4], ["1997-06-10 09:00", "1997-07-10 09:00", "1998-06-10 09:00", "1998-07-10 09:00"]);
    }

    #[test]
    fn rfc5545_wkst_changes_the_result() {
        // RFC 5545: with WKST=MO and WKST=SU the same rule gives different days.
        let mo = timed("1997-08-05T09:00:00", NY, &["RRULE:FREQ=WEEKLY;INTERVAL=2;COUNT=4;BYDAY=TU,SU;WKST=MO"]);
        assert_eq!(
            local_strings(&everything(&mo), NY),
            ["1997-08-05 09:00", "1997-08-10 09:00", "1997-08-19 09:00", "1997-08-24 09:00"]
        );
        let su = timed("1997-08-05T09:00:00", NY, &["RRULE:FREQ=WEEKLY;INTERVAL=2;COUNT=4;BYDAY=TU,SU;WKST=SU"]);
        assert_eq!(
            local_strings(&everything(&su), NY),
            ["1997-08-05 09:00", "1997-08-17 09:00", "1997-08-19 09:00", "1997-08-31 09:00"]
        );
    }

    #[test]
    fn exdates_remove_occurrences_but_still_count() {
        let t = timed(
            "2026-03-02T09:00:00",
            STHLM,
            &["RRULE:FREQ=DAILY;COUNT=5", "EXDATE;TZID=Europe/Stockholm:20260303T090000,20260305T080000Z"],
        );
        assert_eq!(local_strings(&everything(&t), STHLM), ["2026-03-02 09:00", "2026-03-04 09:00", "2026-03-06 09:00"]);
        assert_eq!(t.count_before(utc("2026-03-06T08:00:00Z")), 4);
    }

    #[test]
    fn daily_eight_oclock_in_stockholm_stays_at_eight_across_both_dst_changes() {
        let t = timed("2026-03-27T08:00:00", STHLM, &["RRULE:FREQ=DAILY"]);
        let spring = t.expand(utc("2026-03-27T00:00:00Z"), utc("2026-03-31T00:00:00Z"));
        assert_eq!(
            local_strings(&spring, STHLM),
            ["2026-03-27 08:00", "2026-03-28 08:00", "2026-03-29 08:00", "2026-03-30 08:00"]
        );
        assert_eq!(spring[1], utc("2026-03-28T07:00:00Z"));
        assert_eq!(spring[2], utc("2026-03-29T06:00:00Z"), "summer time: UTC+2");
        let autumn = t.expand(utc("2026-10-24T00:00:00Z"), utc("2026-10-27T00:00:00Z"));
        assert_eq!(autumn, [utc("2026-10-24T06:00:00Z"), utc("2026-10-25T07:00:00Z"), utc("2026-10-26T07:00:00Z")]);
    }

    #[test]
    fn daily_eight_oclock_in_new_york_stays_at_eight_across_both_dst_changes() {
        let t = timed("2026-03-06T08:00:00", NY, &["RRULE:FREQ=DAILY"]);
        let spring = t.expand(utc("2026-03-07T00:00:00Z"), utc("2026-03-10T00:00:00Z"));
        assert_eq!(spring, [utc("2026-03-07T13:00:00Z"), utc("2026-03-08T12:00:00Z"), utc("2026-03-09T12:00:00Z")]);
        let autumn = t.expand(utc("2026-10-31T00:00:00Z"), utc("2026-11-03T00:00:00Z"));
        assert_eq!(autumn, [utc("2026-10-31T12:00:00Z"), utc("2026-11-01T13:00:00Z"), utc("2026-11-02T13:00:00Z")]);
    }

    #[test]
    fn a_half_past_two_event_on_the_spring_forward_day_moves_past_the_gap() {
        // 02:30 does not exist in Stockholm on 2026-03-29: RFC 5545 takes the
        // offset before the gap (UTC+1), i.e. 01:30Z = 03:30 local.
        let t = timed("2026-03-28T02:30:00", STHLM, &["RRULE:FREQ=DAILY;COUNT=3"]);
        assert_eq!(
            everything(&t),
            [utc("2026-03-28T01:30:00Z"), utc("2026-03-29T01:30:00Z"), utc("2026-03-30T00:30:00Z")]
        );
        assert_eq!(local_strings(&everything(&t), STHLM), ["2026-03-28 02:30", "2026-03-29 03:30", "2026-03-30 02:30"]);
        // The same rule for a one-off local time.
        let gap = NaiveDateTime::parse_from_str("2026-03-29T02:30:00", "%Y-%m-%dT%H:%M:%S").unwrap();
        assert_eq!(local_to_utc(STHLM, gap), utc("2026-03-29T01:30:00Z"));
        // An ambiguous time (fall back) is the first of the two.
        let twice = NaiveDateTime::parse_from_str("2026-10-25T02:30:00", "%Y-%m-%dT%H:%M:%S").unwrap();
        assert_eq!(local_to_utc(STHLM, twice), utc("2026-10-25T00:30:00Z"));
    }

    #[test]
    fn windows_include_occurrences_that_overlap_them() {
        let t = timed("2026-04-01T09:00:00", STHLM, &["RRULE:FREQ=DAILY;COUNT=3"]);
        // 07:00Z–08:00Z is the 09:00–10:00 local occurrence; a window starting at 07:30Z still sees it.
        assert_eq!(t.expand(utc("2026-04-01T07:30:00Z"), utc("2026-04-01T07:45:00Z")), [utc("2026-04-01T07:00:00Z")]);
        assert!(t.expand(utc("2026-04-01T08:00:00Z"), utc("2026-04-02T07:00:00Z")).is_empty());
    }

    #[test]
    fn all_day_series_are_dates_placed_in_their_zone() {
        let start = floating(NaiveDate::from_ymd_opt(2026, 3, 27).unwrap());
        let lines = vec!["RRULE:FREQ=DAILY;UNTIL=20260330".to_string(), "EXDATE;VALUE=DATE:20260328".to_string()];
        let recurrence = parse_recurrence(&lines, STHLM, true, start).unwrap();
        let t = Timing { start, duration: Duration::days(1), tz: STHLM, all_day: true, recurrence };
        let all = everything(&t);
        let dates: Vec<String> = all.iter().map(|d| compact(*d, true)).collect();
        assert_eq!(dates, ["20260327", "20260329", "20260330"]);
        assert_eq!(t.span(all[1]), (utc("2026-03-28T23:00:00Z"), utc("2026-03-29T22:00:00Z")));
        assert_eq!(
            t.recurrence.unwrap().to_lines(true),
            ["RRULE:FREQ=DAILY;UNTIL=20260330", "EXDATE;VALUE=DATE:20260328"]
        );
    }

    #[test]
    fn bad_rules_are_rejected_with_the_line_that_is_wrong() {
        let start = utc("2026-03-29T06:30:00Z");
        let check = |lines: &[&str]| {
            let lines: Vec<String> = lines.iter().map(|s| s.to_string()).collect();
            parse_recurrence(&lines, STHLM, false, start).unwrap_err()
        };
        assert_eq!(check(&["RRULE:FREQ=FORTNIGHTLY"]).0, 0);
        assert_eq!(check(&["RRULE:FREQ=HOURLY"]).0, 0);
        assert_eq!(check(&["RRULE:FREQ=DAILY;BYHOUR=3"]).0, 0);
        assert_eq!(check(&["RRULE:FREQ=DAILY;COUNT=2;UNTIL=20270101T000000Z"]).0, 0);
        assert_eq!(check(&["RRULE:FREQ=MONTHLY;BYMONTHDAY=40"]).0, 0);
        assert_eq!(check(&["RRULE:FREQ=DAILY", "EXDATE:yesterday"]).0, 1);
        assert_eq!(check(&["RRULE:FREQ=DAILY", "RDATE:20260401T000000Z"]).0, 1);
        assert_eq!(check(&["EXDATE:20260401T000000Z"]).0, 0);
        assert_eq!(check(&["nonsense"]).0, 0);
    }

    #[test]
    fn canonical_lines_round_trip() {
        let t = timed(
            "2026-03-02T09:00:00",
            STHLM,
            &["RRULE:freq=weekly;byday=mo,we;until=20260401T000000Z", "EXDATE:20260304T080000Z"],
        );
        let lines = t.recurrence.as_ref().unwrap().to_lines(false);
        assert_eq!(lines, ["RRULE:FREQ=WEEKLY;BYDAY=MO,WE;UNTIL=20260401T000000Z", "EXDATE:20260304T080000Z"]);
        assert_eq!(parse_recurrence(&lines, STHLM, false, t.start).unwrap(), t.recurrence);
    }

    #[test]
    fn splitting_a_counted_series_shares_the_count() {
        let t = timed(
            "2026-03-02T09:00:00",
            STHLM,
            &["RRULE:FREQ=DAILY;COUNT=10", "EXDATE:20260303T080000Z,20260308T080000Z"],
        );
        let at = utc("2026-03-06T08:00:00Z"); // the fifth occurrence
        let s = split(&t, at).unwrap();
        let before = s.before.unwrap();
        assert_eq!(before.count, Some(4));
        assert_eq!(before.exdates, [utc("2026-03-03T08:00:00Z")]);
        assert_eq!(s.after.count, Some(6));
        assert_eq!(s.after.exdates, [utc("2026-03-08T08:00:00Z")]);
        let old = Timing { recurrence: Some(before), ..t.clone() };
        let new = Timing { start: at, recurrence: Some(s.after), ..t.clone() };
        let mut joined = everything(&old);
        joined.extend(everything(&new));
        assert_eq!(joined, everything(&t), "the two halves are the original series");
    }

    #[test]
    fn splitting_an_open_series_ends_the_old_part_just_before() {
        let t = timed("2026-03-02T09:00:00", STHLM, &["RRULE:FREQ=WEEKLY;BYDAY=MO,TH"]);
        let at = utc("2026-03-12T08:00:00Z");
        let s = split(&t, at).unwrap();
        let before = s.before.unwrap();
        assert_eq!(before.until, Some(utc("2026-03-12T07:59:59Z")));
        assert_eq!(before.count, None);
        assert_eq!(s.after.until, None);
        let old = Timing { recurrence: Some(before), ..t.clone() };
        assert_eq!(everything(&old).len(), 3);
        // Splitting at the first occurrence leaves nothing before.
        assert!(split(&t, t.start).unwrap().before.is_none());
    }

    #[test]
    fn occurrences_are_recognised_exactly() {
        let t = timed("2026-03-02T09:00:00", STHLM, &["RRULE:FREQ=DAILY;COUNT=3", "EXDATE:20260303T080000Z"]);
        assert!(t.is_occurrence(utc("2026-03-02T08:00:00Z")));
        assert!(!t.is_occurrence(utc("2026-03-03T08:00:00Z")), "excluded");
        assert!(!t.is_occurrence(utc("2026-03-02T08:00:01Z")));
        assert!(!t.is_occurrence(utc("2026-03-05T08:00:00Z")), "beyond COUNT");
        assert_eq!(parse_compact(&compact(utc("2026-03-29T06:30:00Z"), false)), Some(utc("2026-03-29T06:30:00Z")));
        assert_eq!(compact(utc("2026-03-29T06:30:00Z"), false), "20260329T063000Z");
        let far = Utc.with_ymd_and_hms(12026, 3, 29, 6, 30, 0).unwrap();
        for at in ["0001-01-01T00:00:00Z", "1970-01-01T00:00:00Z", "2030-12-31T23:59:59.999Z", "9999-12-31T23:59:59Z"] {
            let at = utc(at);
            assert_eq!(compact(at, false), at.format("%Y%m%dT%H%M%SZ").to_string());
            assert_eq!(compact(at, true), at.format("%Y%m%d").to_string());
            assert_eq!(api_time(at, false), at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true));
            assert_eq!(api_time(at, true), at.format("%Y-%m-%d").to_string());
        }
        assert_eq!(compact(far, false), "+120260329T063000Z");
        assert_eq!(api_time(far, true), "+12026-03-29");
    }

    const AMS: Tz = chrono_tz::Europe::Amsterdam;

    /// Rules of every frequency, intervals 1–3, with the BYxxx parts people use.
    const RULES: [&str; 27] = [
        "FREQ=DAILY",
        "FREQ=DAILY;INTERVAL=2",
        "FREQ=DAILY;INTERVAL=3",
        "FREQ=DAILY;INTERVAL=2;BYDAY=MO,WE,FR",
        "FREQ=DAILY;BYMONTH=3,10,11",
        "FREQ=WEEKLY",
        "FREQ=WEEKLY;INTERVAL=2",
        "FREQ=WEEKLY;INTERVAL=3",
        "FREQ=WEEKLY;BYDAY=MO,WE,FR",
        "FREQ=WEEKLY;INTERVAL=2;BYDAY=TU,TH;WKST=SU",
        "FREQ=WEEKLY;INTERVAL=3;BYDAY=SA,SU,MO;WKST=WE",
        "FREQ=MONTHLY",
        "FREQ=MONTHLY;INTERVAL=2",
        "FREQ=MONTHLY;BYMONTHDAY=1,15,-1",
        "FREQ=MONTHLY;INTERVAL=3;BYMONTHDAY=31",
        "FREQ=MONTHLY;BYDAY=-1FR",
        "FREQ=MONTHLY;INTERVAL=2;BYDAY=2TU,-1SU",
        "FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-1",
        "FREQ=MONTHLY;INTERVAL=3;BYDAY=TU,WE,TH;BYSETPOS=3",
        "FREQ=YEARLY",
        "FREQ=YEARLY;INTERVAL=2",
        "FREQ=YEARLY;INTERVAL=3;BYMONTH=6,7",
        "FREQ=YEARLY;BYMONTH=3,10;BYDAY=-1SU",
        "FREQ=YEARLY;BYMONTH=3,11;BYDAY=2SU,1SU",
        "FREQ=YEARLY;BYYEARDAY=1,100,-1",
        "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=29",
        "FREQ=YEARLY;BYMONTH=1,4,7,10;BYDAY=MO;BYSETPOS=1",
    ];

    /// Local starts from 1970 to last year, each in one of the two zones:
    /// near midnight; in a spring-forward gap (02:30 on 2023-03-12 in New
    /// York, and 02:30 is in the gap every spring); in a fall-back fold (New
    /// York 1987, Amsterdam 2022); on a leap day; on a month's 31st. Walks
    /// from the 1970s are what the plain expansion is slow at, and slower in
    /// debug builds: daily rules take only the first of those.
    const STARTS: [(&str, Tz); 8] = [
        ("1970-01-01T00:30:00", AMS),
        ("1975-03-30T02:30:00", NY),
        ("1987-10-25T01:30:00", NY),
        ("2020-02-29T09:15:00", AMS),
        ("2022-10-30T02:30:00", AMS),
        ("2023-03-12T02:30:00", NY),
        ("2024-01-31T23:45:00", NY),
        ("2029-06-15T07:00:00", AMS),
    ];

    /// The 2030 windows: DST weeks of both zones, a plain week, the whole year.
    const WINDOWS: [(&str, &str); 5] = [
        ("2030-03-08T00:00:00Z", "2030-03-15T00:00:00Z"),
        ("2030-03-28T00:00:00Z", "2030-04-04T00:00:00Z"),
        ("2030-07-01T12:00:00Z", "2030-07-08T12:00:00Z"),
        ("2030-10-25T00:00:00Z", "2030-11-05T00:00:00Z"),
        ("2030-01-01T00:00:00Z", "2031-01-01T00:00:00Z"),
    ];

    fn series(start_local: &str, tz: Tz, all_day: bool, lines: &[String]) -> Timing {
        let local = NaiveDateTime::parse_from_str(start_local, "%Y-%m-%dT%H:%M:%S").unwrap();
        let (start, duration) = if all_day {
            (floating(local.date()), Duration::days(1))
        } else {
            (local_to_utc(tz, local), Duration::minutes(90))
        };
        let recurrence = parse_recurrence(lines, tz, all_day, start).unwrap_or_else(|e| panic!("{lines:?}: {e:?}"));
        Timing { start, duration, tz, all_day, recurrence }
    }

    /// Every rule from the starts, open; with an UNTIL inside 2030 and with
    /// a COUNT from one start each; all day from one or two.
    fn fixtures() -> Vec<(String, Timing)> {
        let mut out = Vec::new();
        for rule in RULES {
            let daily = rule.starts_with("FREQ=DAILY");
            let mut variants: Vec<(&str, Tz, &str, bool)> = STARTS
                .iter()
                .filter(|(start, _)| !daily || *start == STARTS[0].0 || *start >= "2020")
                .map(|(start, tz)| (*start, *tz, "", false))
                .collect();
            variants.push(("2022-10-30T02:30:00", NY, ";UNTIL=20300330T000000Z", false));
            variants.push(("1975-03-30T02:30:00", AMS, ";COUNT=700", false));
            variants.push(("2016-02-29T00:00:00", AMS, ";UNTIL=20301101", true));
            if !daily {
                variants.push(("1971-12-31T00:00:00", NY, "", true));
            }
            for (start, tz, tail, all_day) in variants {
                let lines = vec![format!("RRULE:{rule}{tail}")];
                let name = format!("{rule}{tail} from {start} in {tz}{}", if all_day { ", all day" } else { "" });
                out.push((name, series(start, tz, all_day, &lines)));
            }
        }
        out
    }

    #[test]
    fn the_fast_path_lists_in_2030_what_the_walk_from_the_start_lists() {
        let end = utc("2031-01-02T00:00:00Z");
        let mut shifted = 0;
        for (name, t) in fixtures() {
            // The plain walk, once per series (walks from 1970 are slow in debug builds).
            let full: Vec<_> = t.starts().take_while(|s| *s < end).collect();
            for (from, to) in WINDOWS {
                let (from, to) = (utc(from), utc(to));
                // The crate's walk from an aligned period yields the plain walk's starts.
                let lower = from - Duration::days(2);
                let near: Vec<_> =
                    t.starts_near(Some(lower)).skip_while(|s| *s < lower).take_while(|s| *s < end).collect();
                let expected: Vec<_> = full.iter().copied().filter(|s| *s >= lower).collect();
                assert_eq!(near, expected, "{name}: the walk from {lower}");
                if t.starts_near(Some(lower)).next() != full.first().copied() {
                    shifted += 1;
                }
                // And the window lists what overlaps it, as the plain expansion does.
                let overlapping: Vec<_> = full
                    .iter()
                    .copied()
                    .filter(|s| {
                        let (begin, end) = t.span(*s);
                        begin < to && end > from && !(begin == end && begin < from)
                    })
                    .collect();
                assert_eq!(t.expand(from, to), overlapping, "{name}: {from}..{to}");
            }
        }
        assert!(shifted > 1000, "most fixtures take the fast path ({shifted})");
    }

    #[test]
    fn windows_around_the_start_list_what_the_walk_from_the_start_lists() {
        // A DTSTART that does not match the rule is no occurrence; the days of
        // its week (or month, year) before it are none either.
        for rule in RULES {
            for (start, tz) in STARTS {
                for (all_day, fraction) in [(false, 0), (true, 0), (false, 500)] {
                    let mut t = series(start, tz, all_day, &[format!("RRULE:{rule};UNTIL=20310101T000000Z")]);
                    // An API start may have a fraction of a second; occurrences are whole seconds.
                    t.start += Duration::milliseconds(fraction);
                    for (before, after) in [(1, 1), (10, 40), (400, 400)] {
                        let (from, to) = (t.start - Duration::days(before), t.start + Duration::days(after));
                        let expected = t.expand_walking_from_the_start(from, to);
                        assert_eq!(t.expand(from, to), expected, "{rule} from {start} in {tz}, {from}..{to}");
                        for s in &expected {
                            assert!(t.is_occurrence(*s), "{rule} from {start} in {tz}: {s}");
                        }
                    }
                    let walked = t.starts().take_while(|s| *s <= t.start).any(|s| s == t.start);
                    assert_eq!(t.is_occurrence(t.start), walked, "{rule} from {start} in {tz}, all day: {all_day}");
                }
            }
        }
    }

    #[test]
    fn exdates_long_occurrences_and_occurrence_checks_agree_with_the_full_walk() {
        let lines = vec![
            "RRULE:FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,SU".to_string(),
            "EXDATE;TZID=Europe/Amsterdam:20300331T023000,20300401T023000,19750407T023000".to_string(),
        ];
        let mut t = series("1975-03-30T02:30:00", AMS, false, &lines);
        for duration in [Duration::zero(), Duration::hours(30), Duration::days(20)] {
            t.duration = duration;
            for (from, to) in WINDOWS {
                let (from, to) = (utc(from), utc(to));
                assert_eq!(t.expand(from, to), t.expand_walking_from_the_start(from, to), "{duration}, {from}..{to}");
            }
        }
        let year = t.expand_walking_from_the_start(utc("2030-01-01T00:00:00Z"), utc("2031-01-01T00:00:00Z"));
        assert!(!year.contains(&utc("2030-03-31T01:30:00Z")) && year.contains(&utc("2030-04-14T00:30:00Z")));
        for s in &year {
            assert!(t.is_occurrence(*s), "{s}");
            assert!(!t.is_occurrence(*s + Duration::minutes(1)));
            assert!(!t.is_occurrence(*s - Duration::days(1)), "{s}: the day before is not one");
        }
        assert!(!t.is_occurrence(utc("2030-03-31T01:30:00Z")), "excluded");
        assert!(t.starts_before(utc("2030-01-01T00:00:00Z")));
        assert!(!t.starts_before(t.start));
        // A COUNT still counts from the real start: the 700th occurrence is
        // the Monday 349 weeks after the first (a Sunday) and the next day.
        let counted =
            series("1975-03-30T02:30:00", AMS, false, &["RRULE:FREQ=WEEKLY;BYDAY=MO,SU;COUNT=700".to_string()]);
        assert!(counted.expand(utc("2030-01-01T00:00:00Z"), utc("2031-01-01T00:00:00Z")).is_empty());
        let last = counted.expand(utc("1981-01-01T00:00:00Z"), utc("1983-01-01T00:00:00Z"));
        assert_eq!(local_strings(&last[last.len() - 2..], AMS), ["1981-12-06 02:30", "1981-12-07 02:30"]);
    }

    #[test]
    fn a_series_from_1975_and_one_from_2029_list_the_same_week_of_2030() {
        let old = timed("1975-01-06T08:00:00", AMS, &["RRULE:FREQ=DAILY"]);
        let new = timed("2029-12-03T08:00:00", AMS, &["RRULE:FREQ=DAILY"]);
        let (from, to) = (utc("2030-03-28T00:00:00Z"), utc("2030-04-04T00:00:00Z"));
        assert_eq!(old.expand(from, to), new.expand(from, to));
        assert_eq!(
            local_strings(&old.expand(from, to), AMS),
            [
                "2030-03-28 08:00",
                "2030-03-29 08:00",
                "2030-03-30 08:00",
                "2030-03-31 08:00",
                "2030-04-01 08:00",
                "2030-04-02 08:00",
                "2030-04-03 08:00"
            ]
        );
    }
}
