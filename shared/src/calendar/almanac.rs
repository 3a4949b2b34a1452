//! The almanac (seed 002): platform-wide subjects (festivals, personalities,
//! Ekadasi ...), locations with their time zone, and the dated events of a
//! subject at a location. Subjects and locations carry a slug, unique per
//! kind, enforced by a guard item written in the same transaction as the
//! item; the slug never changes after creation so it stays a second key.
//!
//! Each kind lives in one partition (`ALMANAC#<KIND>`, SK = id). The almanac
//! is small (hundreds of items), so search reads the kind's partition with a
//! Query and filters it in memory instead of keeping a search index.
//! Events are also indexed by date, per location (GSI1) and overall (GSI2),
//! so date windows are Queries.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::keys;
use crate::store::from_item;
use crate::store::to_item;
use crate::table::{Condition, Index, Item, Key, Query, Table, WriteOp};

/// Kind of subjects (partition and slug-guard name).
pub const SUBJECT: &str = "SUBJECT";
/// Kind of locations.
pub const LOCATION: &str = "LOCATION";
/// Kind of events.
pub const EVENT: &str = "EVENT";

/// A subject: the content behind almanac events (also its API view).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Subject {
    /// Subject id (UUIDv7).
    pub id: Uuid,
    /// Category, e.g. `EKADASI`, `PERSONALITIES`, `CELEBRATIONS`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Name.
    pub name: String,
    /// Unique, generated from the name at creation and never changed.
    pub slug: String,
    /// Body (HTML as given).
    pub content: String,
    /// Short summary.
    pub excerpt: String,
    /// Extra search words.
    pub keywords: Vec<String>,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Last changed.
    pub updated_at: DateTime<Utc>,
    /// Version (also the ETag).
    pub version: i64,
}

/// A location whose almanac dates are calculated for it (also its API view).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Location {
    /// Location id (UUIDv7).
    pub id: Uuid,
    /// Name, e.g. `Auckland, New Zealand`.
    pub name: String,
    /// Unique, generated from the name at creation and never changed.
    pub slug: String,
    /// IANA time zone.
    pub time_zone: String,
    /// Extra search words.
    pub keywords: Vec<String>,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Last changed.
    pub updated_at: DateTime<Utc>,
    /// Version (also the ETag).
    pub version: i64,
}

/// The title of an almanac event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct EventName {
    /// Title, e.g. `Bhaktivinode Thakur` (1–200 characters).
    #[schema(schema_with = crate::domain::BoundedText::<200>::schema)]
    pub title: String,
    /// Subtitle, e.g. `Disappearance` (≤ 200 characters).
    #[serde(default)]
    #[schema(max_length = 200)]
    pub subtitle: String,
}

/// A dated almanac event of a subject at a location (also its API view).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AlmanacEvent {
    /// Event id (UUIDv7).
    pub id: Uuid,
    /// The subject.
    pub subject_id: Uuid,
    /// The location the date holds for.
    pub location_id: Uuid,
    /// Title and subtitle.
    pub name: EventName,
    /// The local calendar day at the location.
    pub date: NaiveDate,
    /// The date as the source calendar gave it (free text).
    pub raw_date: String,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Last changed.
    pub updated_at: DateTime<Utc>,
    /// Version (also the ETag).
    pub version: i64,
}

/// What a slug guard stores: the id owning the slug.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct SlugGuard {
    id: Uuid,
}

/// The key of an almanac item of `kind`.
pub fn key(kind: &str, id: Uuid) -> Key {
    Key::new(keys::almanac_pk(kind), keys::almanac_sk(id))
}

/// The key of a slug guard.
pub fn slug_key(kind: &str, slug: &str) -> Key {
    Key::new(keys::almanac_slug_pk(kind, slug), keys::ALMANAC_SLUG_SK)
}

/// The base slug of a name (`Padmini Ekādaśī!` → `padmini-ekadasi`); `fallback` when nothing is left.
pub fn base_slug(name: &str, fallback: &str) -> String {
    let slug = slug::slugify(name);
    let slug: String = slug.chars().take(80).collect();
    let slug = slug.trim_end_matches('-').to_string();
    if slug.is_empty() { fallback.to_string() } else { slug }
}

/// Whether `s` is a slug as generated (1–80 characters of a-z, 0-9 and single inner dashes).
pub fn is_slug(s: &str) -> bool {
    !s.is_empty() && s.len() <= MAX_SLUG && slug::slugify(s) == s
}

/// Longest slug.
pub const MAX_SLUG: usize = 80;

/// The OpenAPI schema of a wanted slug (also `null`): exactly what
/// [`is_slug`] accepts, lower-case letters and digits in runs joined by
/// single dashes.
pub fn slug_schema() -> utoipa::openapi::Object {
    crate::domain::nullable(
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::Type::String)
            .min_length(Some(1))
            .max_length(Some(MAX_SLUG))
            .pattern(Some("^[a-z0-9]+(?:-[a-z0-9]+)*$"))
            .build(),
    )
}

/// The `n`th candidate for `base`: `base`, then `base-2`, `base-3` ...
pub fn slug_candidate(base: &str, n: u32) -> String {
    if n <= 1 { base.to_string() } else { format!("{base}-{n}") }
}

/// Whether a slug is already taken in `kind`.
pub async fn slug_taken(table: &dyn Table, kind: &str, slug: &str) -> anyhow::Result<bool> {
    Ok(table.get(&slug_key(kind, slug)).await?.is_some())
}

/// The id owning `slug` in `kind`.
pub async fn id_by_slug(table: &dyn Table, kind: &str, slug: &str) -> anyhow::Result<Option<Uuid>> {
    match table.get(&slug_key(kind, slug)).await? {
        Some(item) => Ok(Some(from_item::<SlugGuard>(item)?.id)),
        None => Ok(None),
    }
}

/// The write that claims `slug` for `id` (fails if it is taken).
pub fn claim_slug_op(kind: &str, slug: &str, id: Uuid) -> anyhow::Result<WriteOp> {
    let item =
        to_item(&SlugGuard { id }, keys::almanac_slug_pk(kind, slug), keys::ALMANAC_SLUG_SK.into(), "AlmanacSlug")?;
    Ok(WriteOp::Put { item, condition: Condition::NotExists })
}

/// The write that releases `slug` (it must still be `id`'s).
pub fn release_slug_op(kind: &str, slug: &str) -> WriteOp {
    WriteOp::Delete { key: slug_key(kind, slug), condition: Condition::Exists }
}

fn condition(previous: Option<i64>) -> Condition {
    match previous {
        Some(v) => Condition::version_is(v),
        None => Condition::NotExists,
    }
}

/// The write that stores `subject` (`previous`: the version read, `None` for a new one).
pub fn put_subject_op(subject: &Subject, previous: Option<i64>) -> anyhow::Result<WriteOp> {
    let item = to_item(subject, keys::almanac_pk(SUBJECT), keys::almanac_sk(subject.id), "AlmanacSubject")?;
    Ok(WriteOp::Put { item, condition: condition(previous) })
}

/// The write that stores `location`.
pub fn put_location_op(location: &Location, previous: Option<i64>) -> anyhow::Result<WriteOp> {
    let item = to_item(location, keys::almanac_pk(LOCATION), keys::almanac_sk(location.id), "AlmanacLocation")?;
    Ok(WriteOp::Put { item, condition: condition(previous) })
}

/// The write that stores `event`, with its date-ordered index keys.
pub fn put_event_op(event: &AlmanacEvent, previous: Option<i64>) -> anyhow::Result<WriteOp> {
    let mut item = to_item(event, keys::almanac_pk(EVENT), keys::almanac_sk(event.id), "AlmanacEvent")?;
    let sort = keys::almanac_event_date_sk(event.date, event.id);
    item.insert("GSI1PK".into(), keys::almanac_location_events_gsi1pk(event.location_id).into());
    item.insert("GSI1SK".into(), sort.clone().into());
    item.insert("GSI2PK".into(), keys::ALMANAC_EVENTS_GSI2PK.into());
    item.insert("GSI2SK".into(), sort.into());
    Ok(WriteOp::Put { item, condition: condition(previous) })
}

/// The write that deletes the item of `kind` at the version read.
pub fn delete_op(kind: &str, id: Uuid, version: i64) -> WriteOp {
    WriteOp::Delete { key: key(kind, id), condition: Condition::version_is(version) }
}

/// The condition-only write that fails unless the item of `kind` exists.
pub fn exists_op(kind: &str, id: Uuid) -> WriteOp {
    WriteOp::Check { key: key(kind, id), condition: Condition::Exists }
}

/// Reads one almanac item of `kind`.
pub async fn get<T: serde::de::DeserializeOwned>(table: &dyn Table, kind: &str, id: Uuid) -> anyhow::Result<Option<T>> {
    match table.get(&key(kind, id)).await? {
        Some(item) => Ok(Some(from_item(item)?)),
        None => Ok(None),
    }
}

/// The query listing a kind in creation order.
pub fn kind_query(kind: &str) -> Query {
    Query::new(Index::Primary, keys::almanac_pk(kind))
}

/// Every item of a kind with its sort position (for in-memory search of
/// the small almanac), in creation order.
pub async fn all_of_kind<T: serde::de::DeserializeOwned>(
    table: &dyn Table,
    kind: &str,
) -> anyhow::Result<Vec<(String, T)>> {
    let items = crate::store::listing::query_all(table, kind_query(kind)).await?;
    items
        .into_iter()
        .map(|item| {
            let sk = item.get("SK").and_then(|v| v.as_str()).unwrap_or_default().to_string();
            Ok((sk, from_item(item)?))
        })
        .collect()
}

/// Decodes listed almanac items of one kind.
pub fn decode<T: serde::de::DeserializeOwned>(items: Vec<Item>) -> anyhow::Result<Vec<T>> {
    items.into_iter().map(from_item).collect()
}

/// An event's write plus checks that its subject and location still exist
/// when it commits (a concurrent delete fails the transaction).
pub fn event_ops(event: &AlmanacEvent, previous: Option<i64>) -> anyhow::Result<Vec<WriteOp>> {
    Ok(vec![
        put_event_op(event, previous)?,
        exists_op(SUBJECT, event.subject_id),
        exists_op(LOCATION, event.location_id),
    ])
}

/// The query listing events in date order, of one location or of all, within `[start, end]` (days inclusive).
pub fn events_query(location: Option<Uuid>, start: Option<NaiveDate>, end: Option<NaiveDate>) -> Query {
    use crate::table::SortKey;
    let query = match location {
        Some(location) => Query::new(Index::Gsi1, keys::almanac_location_events_gsi1pk(location)),
        None => Query::new(Index::Gsi2, keys::ALMANAC_EVENTS_GSI2PK),
    };
    // `<date>#<id>`: `#` sorts before `$`, so `<day>#` .. `<day>$` spans exactly that day's events.
    let day = |d: NaiveDate| d.format("%Y-%m-%d").to_string();
    match (start, end) {
        (Some(s), Some(e)) => query.sort_key(SortKey::Between(format!("{}#", day(s)), format!("{}$", day(e)))),
        (Some(s), None) => query.sort_key(SortKey::Ge(format!("{}#", day(s)))),
        (None, Some(e)) => query.sort_key(SortKey::Lt(format!("{}$", day(e)))),
        (None, None) => query,
    }
}

/// Case-insensitive match of every word of `q` against a name and keywords.
pub fn matches(q: &str, name: &str, keywords: &[String]) -> bool {
    let haystack = std::iter::once(name).chain(keywords.iter().map(String::as_str)).collect::<Vec<_>>().join(" ");
    let haystack = haystack.to_lowercase();
    let folded = slug::slugify(&haystack).replace('-', " ");
    q.split_whitespace()
        .map(str::to_lowercase)
        .all(|word| haystack.contains(&word) || folded.contains(&slug::slugify(&word).replace('-', " ")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_are_lowercase_ascii_words_joined_by_dashes() {
        assert_eq!(base_slug("Padmini Ekādaśī!", "subject"), "padmini-ekadasi");
        assert_eq!(base_slug("Bhagavad-gita, Advent of", "subject"), "bhagavad-gita-advent-of");
        assert_eq!(base_slug("!!!", "subject"), "subject");
    }

    #[test]
    fn later_candidates_are_numbered_from_two() {
        assert_eq!(slug_candidate("ekadashi", 1), "ekadashi");
        assert_eq!(slug_candidate("ekadashi", 2), "ekadashi-2");
    }

    #[test]
    fn search_matches_every_word_in_name_or_keywords_ignoring_case_and_accents() {
        let keywords = vec!["nz".to_string()];
        assert!(matches("new", "Auckland, New Zealand", &keywords));
        assert!(matches("NZ auck", "Auckland, New Zealand", &keywords));
        assert!(matches("ekadasi", "Padmini Ekādaśī", &[]));
        assert!(!matches("sydney", "Auckland, New Zealand", &keywords));
    }
}
