//! What the calendar handlers share: the OpenAPI problem responses, the
//! list envelope and request validation of event fields.

use shared::calendar::events::Alarm;
use shared::calendar::events::Reminder;
use shared::domain::BoundedText;
use shared::validation::Validator;

/// Most reminders per event.
pub const MAX_REMINDERS: usize = 10;
/// Most attendees per event (each is an index item in the event's transaction).
pub const MAX_ATTENDEES: usize = 25;
/// Most attached media or lists.
pub const MAX_ATTACHED: usize = 50;

/// Checks a title, returning it trimmed.
pub fn title(v: &mut Validator, field: &str, raw: &str) -> Option<String> {
    v.field(field, BoundedText::<200>::parse(raw)).map(|t| t.as_str().to_string())
}

/// Checks free text of at most `max` characters (may be empty).
pub fn text(v: &mut Validator, field: &str, raw: &str, max: usize) -> Option<String> {
    if raw.chars().count() > max {
        v.error(field, format!("must be at most {max} characters"));
        None
    } else {
        Some(raw.trim().to_string())
    }
}

/// Most tags.
pub const MAX_TAGS: usize = 20;
/// Longest tag (characters as sent).
pub const MAX_TAG: usize = 50;

/// The schema of tags: what [`tags`] accepts.
pub fn tags_schema() -> utoipa::openapi::schema::Array {
    let tag = utoipa::openapi::ObjectBuilder::new()
        .schema_type(utoipa::openapi::Type::String)
        .min_length(Some(1))
        .max_length(Some(MAX_TAG))
        .pattern(Some(shared::domain::NOT_WHITE_SPACE));
    utoipa::openapi::schema::ArrayBuilder::new().items(tag).max_items(Some(MAX_TAGS)).build()
}

/// Checks tags: at most 20, each at most 50 characters and not blank.
pub fn tags(v: &mut Validator, field: &str, raw: &[String]) -> Option<Vec<String>> {
    if raw.len() > MAX_TAGS {
        v.error(field, format!("at most {MAX_TAGS} tags"));
        return None;
    }
    let mut ok = true;
    for (i, tag) in raw.iter().enumerate() {
        if tag.trim().is_empty() || tag.chars().count() > MAX_TAG {
            v.error(&format!("{field}[{i}]"), "must be 1–50 characters");
            ok = false;
        }
    }
    ok.then(|| raw.iter().map(|t| t.trim().to_string()).collect())
}

/// Checks reminders.
pub fn reminders(v: &mut Validator, field: &str, raw: &[Reminder]) -> Option<Vec<Reminder>> {
    if raw.len() > MAX_REMINDERS {
        v.error(field, format!("at most {MAX_REMINDERS} reminders"));
        return None;
    }
    let mut ok = true;
    for (i, r) in raw.iter().enumerate() {
        if r.minutes_before > 40_320 {
            v.error(&format!("{field}[{i}].minutesBefore"), "must be at most 40320 (four weeks)");
            ok = false;
        }
        if r.channels.is_empty() {
            v.error(&format!("{field}[{i}].channels"), "must name at least one channel");
            ok = false;
        }
    }
    ok.then(|| {
        raw.iter()
            .map(|r| {
                let mut channels = r.channels.clone();
                channels.sort();
                channels.dedup();
                Reminder { minutes_before: r.minutes_before, channels }
            })
            .collect()
    })
}

/// Checks an alarm.
pub fn alarm(v: &mut Validator, field: &str, raw: Option<&Alarm>) -> Option<Option<Alarm>> {
    let Some(a) = raw else { return Some(None) };
    let mut ok = true;
    if !(1..=60).contains(&a.repeat_every_minutes) {
        v.error(&format!("{field}.repeatEveryMinutes"), "must be 1–60");
        ok = false;
    }
    if !(1..=240).contains(&a.for_minutes) {
        v.error(&format!("{field}.forMinutes"), "must be 1–240");
        ok = false;
    }
    ok.then(|| Some(a.clone()))
}

/// Checks a list of ids (deduplicated, bounded).
pub fn ids(v: &mut Validator, field: &str, raw: &[uuid::Uuid], max: usize) -> Option<Vec<uuid::Uuid>> {
    if raw.len() > max {
        v.error(field, format!("at most {max}"));
        return None;
    }
    let mut out = Vec::with_capacity(raw.len());
    for id in raw {
        if !out.contains(id) {
            out.push(*id);
        }
    }
    Some(out)
}
