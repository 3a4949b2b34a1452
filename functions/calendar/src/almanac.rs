//! The almanac (seed 002): platform-wide subjects, locations and the dated
//! events of a subject at a location, which users follow through their
//! `almanac` preference. Every signed-in user reads it; only platform
//! superadmins change it, and every change is audited at platform level.
//!
//! Subjects and locations get a slug generated from the name at creation
//! (`ekadashi`, then `ekadashi-2` ...), kept unique by a guard item written
//! in the same transaction, and never changed afterwards (a rename keeps it),
//! so clients can use it as a stable second key. `?q=` search reads the
//! kind's whole partition with a Query and filters it in memory: the almanac
//! holds hundreds of items, so a search index would cost more than it saves.
//! Events are indexed by date, so `?locationId=&startDate=&endDate=` is a
//! Query in date order.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use chrono::{DateTime, NaiveDate, Utc};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use shared::access::authz_org::require_superadmin;
use shared::calendar::almanac;
use shared::calendar::almanac::AlmanacEvent;
use shared::calendar::almanac::EVENT;
use shared::calendar::almanac::EventName;
use shared::calendar::almanac::LOCATION;
use shared::calendar::almanac::Location;
use shared::calendar::almanac::SUBJECT;
use shared::calendar::almanac::Subject;
use shared::concurrency::{IfMatch, etag_headers};
use shared::context::Ctx;
use shared::domain::{BoundedText, TimeZoneName};
use shared::extract::{Json, PathId, Query};
use shared::identity::auth::Principal;
use shared::kit::write_failed;
use shared::pagination::{PageRequest, query_page};
use shared::store::Writes;
use shared::validation::Validator;
use shared::{ApiError, AppState, Result};

use crate::common;
use shared::kit::{BodyProblems, ListResponse, Problems, WriteProblems};

/// Most keywords per item.
const MAX_KEYWORDS: usize = 20;
/// Numbered slug candidates tried before giving up (`name-2` .. `name-100`).
const MAX_SLUG_CANDIDATES: u32 = 100;
/// Attempts when another writer claims the same slug meanwhile.
const SLUG_ATTEMPTS: u32 = 5;

/// The fields of a subject (create and replace).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct SubjectBody {
    /// Name (1–200 characters).
    #[schema(schema_with = BoundedText::<200>::schema)]
    pub name: String,
    /// Category, e.g. `EKADASI` (≤ 50 characters).
    #[serde(default, rename = "type")]
    #[schema(max_length = 50)]
    pub kind: String,
    /// Body (≤ 20000 characters).
    #[serde(default)]
    #[schema(max_length = 20000)]
    pub content: String,
    /// Summary (≤ 1000 characters).
    #[serde(default)]
    #[schema(max_length = 1000)]
    pub excerpt: String,
    /// Extra search words (≤ 20, each 1–50 characters).
    #[serde(default)]
    #[schema(schema_with = keywords_schema)]
    pub keywords: Vec<String>,
    /// Wanted slug (create only; default: generated from the name). It never changes afterwards.
    #[schema(schema_with = almanac::slug_schema)]
    pub slug: Option<String>,
}

/// The fields of a location (create and replace).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct LocationBody {
    /// Name (1–200 characters).
    #[schema(schema_with = BoundedText::<200>::schema)]
    pub name: String,
    /// IANA time zone, e.g. `Pacific/Auckland`.
    #[schema(value_type = TimeZoneName)]
    pub time_zone: String,
    /// Extra search words (≤ 20, each 1–50 characters).
    #[serde(default)]
    #[schema(schema_with = keywords_schema)]
    pub keywords: Vec<String>,
    /// Wanted slug (create only; default: generated from the name). It never changes afterwards.
    #[schema(schema_with = almanac::slug_schema)]
    pub slug: Option<String>,
}

/// The fields of an almanac event (create and replace).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct AlmanacEventBody {
    /// The subject (must exist).
    pub subject_id: Uuid,
    /// The location the date holds for (must exist).
    pub location_id: Uuid,
    /// Title (1–200 characters) and subtitle (≤ 200).
    pub name: EventName,
    /// Local day at the location, `YYYY-MM-DD`.
    #[schema(format = Date)]
    pub date: String,
    /// The date as the source calendar gave it (≤ 100 characters).
    #[serde(default)]
    #[schema(max_length = 100)]
    pub raw_date: String,
}

/// Filters of the subject and location lists.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
pub struct AlmanacListParams {
    /// Only the item with exactly this slug (not together with `q`).
    pub slug: Option<String>,
    /// Words that must all occur (case-insensitively) in the name or keywords
    /// (not blank, at most 200 characters; not together with `slug`).
    #[param(schema_with = search_schema)]
    pub q: Option<String>,
    /// Items per page (1–100, default 25).
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<u32>,
    /// From `nextCursor` of the previous page.
    pub cursor: Option<String>,
}

/// Filters of the event list (ordered by date).
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
pub struct AlmanacEventListParams {
    /// Only this location's events.
    pub location_id: Option<Uuid>,
    /// First day (inclusive), `YYYY-MM-DD`.
    #[param(format = Date)]
    pub start_date: Option<String>,
    /// Last day (inclusive, not before `startDate`), `YYYY-MM-DD`.
    #[param(format = Date)]
    pub end_date: Option<String>,
    /// Items per page (1–100, default 25).
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<u32>,
    /// From `nextCursor` of the previous page.
    pub cursor: Option<String>,
}

/// What search, replacement and deletion need of a subject or location
/// (the two kinds differ only in their fields).
trait Named: DeserializeOwned + Clone {
    /// Its kind in keys and slug guards.
    const KIND: &'static str;
    /// Its noun in audit actions (`almanac_<noun>.updated`) and targets (`almanac-<noun>/<id>`).
    const NOUN: &'static str;
    fn name(&self) -> &str;
    fn keywords(&self) -> &[String];
    fn slug(&self) -> &str;
    fn version(&self) -> i64;
    /// The same item as changed at `now`: its next version.
    fn changed(&self, now: DateTime<Utc>) -> Self;
    /// The writes storing it (`previous`: the version read).
    fn put_ops(&self, previous: Option<i64>) -> anyhow::Result<Writes>;
}

impl Named for Subject {
    const KIND: &'static str = SUBJECT;
    const NOUN: &'static str = "subject";
    fn name(&self) -> &str {
        &self.name
    }
    fn keywords(&self) -> &[String] {
        &self.keywords
    }
    fn slug(&self) -> &str {
        &self.slug
    }
    fn version(&self) -> i64 {
        self.version
    }
    fn changed(&self, now: DateTime<Utc>) -> Self {
        Self { updated_at: now, version: self.version + 1, ..self.clone() }
    }
    fn put_ops(&self, previous: Option<i64>) -> anyhow::Result<Writes> {
        Ok(vec![almanac::put_subject_op(self, previous)?])
    }
}

impl Named for Location {
    const KIND: &'static str = LOCATION;
    const NOUN: &'static str = "location";
    fn name(&self) -> &str {
        &self.name
    }
    fn keywords(&self) -> &[String] {
        &self.keywords
    }
    fn slug(&self) -> &str {
        &self.slug
    }
    fn version(&self) -> i64 {
        self.version
    }
    fn changed(&self, now: DateTime<Utc>) -> Self {
        Self { updated_at: now, version: self.version + 1, ..self.clone() }
    }
    fn put_ops(&self, previous: Option<i64>) -> anyhow::Result<Writes> {
        Ok(vec![almanac::put_location_op(self, previous)?])
    }
}

/// `PUT` of a subject or location (superadmin): `check` validates the body
/// onto the item as changed now; the slug stays.
async fn replace_named<T: Named>(
    state: &AppState,
    ctx: &Ctx,
    if_match: &IfMatch,
    id: Uuid,
    slug: Option<&str>,
    check: impl FnOnce(T, &mut Validator) -> Option<T>,
) -> Result<(HeaderMap, Json<T>)> {
    require_writer(state, &ctx.principal).await?;
    let current: T = load(state, &ctx.principal, T::KIND, id).await?;
    if_match.check(current.version())?;
    let mut v = Validator::new();
    same_slug(&mut v, slug, current.slug());
    let replaced = check(current.changed(ctx.now), &mut v);
    v.finish()?;
    let replaced = replaced.ok_or_else(|| ApiError::invalid("body", "is invalid"))?;
    let (action, target) = (format!("almanac_{}.updated", T::NOUN), format!("almanac-{}/{id}", T::NOUN));
    let mut ops = replaced.put_ops(Some(current.version()))?;
    ops.push(ctx.audit(None, &action, target).write());
    state.table.transact_write(ops).await.map_err(|e| write_failed(e, if_match, "almanac"))?;
    Ok((etag_headers(replaced.version()), Json(replaced)))
}

/// `DELETE` of a subject or location (superadmin), freeing its slug.
async fn delete_named<T: Named>(state: &AppState, ctx: &Ctx, if_match: &IfMatch, id: Uuid) -> Result<StatusCode> {
    require_writer(state, &ctx.principal).await?;
    let current: T = load(state, &ctx.principal, T::KIND, id).await?;
    if_match.check(current.version())?;
    let (action, target) = (format!("almanac_{}.deleted", T::NOUN), format!("almanac-{}/{id}", T::NOUN));
    let ops = vec![
        almanac::delete_op(T::KIND, id, current.version()),
        almanac::release_slug_op(T::KIND, current.slug()),
        ctx.audit(None, &action, target).write(),
    ];
    state.table.transact_write(ops).await.map_err(|e| write_failed(e, if_match, "almanac"))?;
    Ok(StatusCode::NO_CONTENT)
}

async fn require_writer(state: &AppState, principal: &Principal) -> Result<()> {
    principal.require("calendar", true)?;
    require_superadmin(state.table.as_ref(), principal).await
}

/// The schema of `q`: not blank, at most 200 characters.
fn search_schema() -> utoipa::openapi::Object {
    utoipa::openapi::ObjectBuilder::new()
        .schema_type(utoipa::openapi::Type::String)
        .min_length(Some(1))
        .max_length(Some(200))
        .pattern(Some(shared::domain::NOT_WHITE_SPACE))
        .build()
}

/// The schema of keywords: what [`keywords`] accepts (the rule of tags).
fn keywords_schema() -> utoipa::openapi::schema::Array {
    common::tags_schema()
}

fn keywords(v: &mut Validator, raw: &[String]) -> Option<Vec<String>> {
    if raw.len() > MAX_KEYWORDS {
        v.error("keywords", format!("at most {MAX_KEYWORDS} keywords"));
        return None;
    }
    let mut ok = true;
    for (i, word) in raw.iter().enumerate() {
        if word.trim().is_empty() || word.chars().count() > 50 {
            v.error(&format!("keywords[{i}]"), "must be 1–50 characters");
            ok = false;
        }
    }
    ok.then(|| raw.iter().map(|w| w.trim().to_string()).collect())
}

/// A `YYYY-MM-DD` date (RFC 3339 `full-date`, the schema's `format: date`).
fn date(v: &mut Validator, field: &str, raw: &str) -> Option<NaiveDate> {
    let shaped = raw.len() == 10
        && raw.bytes().enumerate().all(|(i, b)| if i == 4 || i == 7 { b == b'-' } else { b.is_ascii_digit() });
    let parsed = NaiveDate::parse_from_str(raw, "%Y-%m-%d").ok().filter(|_| shaped);
    if parsed.is_none() {
        v.error(field, "must be a date YYYY-MM-DD");
    }
    parsed
}

/// A wanted slug must already be in slug form (so it round-trips through URLs unchanged).
fn wanted_slug(v: &mut Validator, raw: Option<&str>) -> Option<Option<String>> {
    match raw {
        None => Some(None),
        Some(s) if almanac::is_slug(s) => Some(Some(s.to_string())),
        Some(_) => {
            v.error("slug", "must be 1–80 characters of a-z, 0-9 and single dashes");
            None
        }
    }
}

/// Finds a free slug: the wanted one (409 if taken) or the first free candidate of the name.
async fn free_slug(state: &AppState, kind: &str, name: &str, wanted: Option<&str>) -> Result<String> {
    let table = state.table.as_ref();
    if let Some(slug) = wanted {
        if almanac::slug_taken(table, kind, slug).await? {
            return Err(ApiError::Conflict(format!("The slug {slug} is taken.")));
        }
        return Ok(slug.to_string());
    }
    let base = almanac::base_slug(name, &kind.to_lowercase());
    for n in 1..=MAX_SLUG_CANDIDATES {
        let candidate = almanac::slug_candidate(&base, n);
        if !almanac::slug_taken(table, kind, &candidate).await? {
            return Ok(candidate);
        }
    }
    Err(ApiError::Conflict(format!("Too many items are named like this; give a slug instead of {base}-N.")))
}

/// Creates an item with a fresh slug: `build` makes the item's write for a
/// slug. Another writer may take the same slug between the read and the
/// write; the guard's condition then fails the whole transaction and a
/// generated slug is chosen again.
async fn create_with_slug<F>(
    state: &AppState,
    kind: &str,
    name: &str,
    wanted: Option<&str>,
    mut build: F,
) -> Result<String>
where
    F: FnMut(&str) -> Result<(Uuid, Writes)>,
{
    let mut attempt = 0;
    loop {
        attempt += 1;
        let slug = free_slug(state, kind, name, wanted).await?;
        let (id, mut ops) = build(&slug)?;
        ops.push(almanac::claim_slug_op(kind, &slug, id)?);
        match state.table.transact_write(ops).await {
            Ok(()) => return Ok(slug),
            Err(e) if e.is_race() && wanted.is_none() && attempt < SLUG_ATTEMPTS => {}
            Err(e) => return Err(write_failed(e, &IfMatch::Absent, "almanac")),
        }
    }
}

/// A PUT may repeat the slug but never change it.
fn same_slug(v: &mut Validator, given: Option<&str>, current: &str) {
    if given.is_some_and(|s| s != current) {
        v.error("slug", "never changes; it stays a stable key of the item");
    }
}

/// Lists subjects or locations: by slug, by search words, or all in creation order.
async fn list_named<T: Named>(state: &AppState, kind: &str, params: AlmanacListParams) -> Result<ListResponse<T>> {
    let page = PageRequest::new(params.limit, params.cursor)?;
    let table = state.table.as_ref();
    if let Some(slug) = params.slug {
        if params.q.is_some() {
            return Err(ApiError::invalid("q", "give either slug or q"));
        }
        let item = match almanac::id_by_slug(table, kind, &slug).await? {
            Some(id) => almanac::get::<T>(table, kind, id).await?,
            None => None,
        };
        return Ok(ListResponse { items: item.into_iter().collect(), next_cursor: None });
    }
    let list = format!("almanac:{kind}");
    if params.q.as_ref().is_some_and(|q| q.chars().count() > 200) {
        return Err(ApiError::invalid("q", "must be at most 200 characters"));
    }
    match params.q.as_deref().map(str::trim) {
        Some("") => Err(ApiError::invalid("q", "must not be empty")),
        Some(q) => {
            // In memory over the kind's partition (small; see the module doc).
            let list = format!("{list}:q:{q}");
            let after = match &page.cursor {
                Some(c) => state.cursors.decode(&list, c)?.get("SK").and_then(|v| v.as_str()).map(str::to_string),
                None => None,
            };
            let mut found = Vec::new();
            for (sk, value) in almanac::all_of_kind::<T>(table, kind).await? {
                if after.as_ref().is_some_and(|a| sk.as_str() <= a.as_str()) {
                    continue;
                }
                if almanac::matches(q, value.name(), value.keywords()) {
                    found.push((sk, value));
                }
                if found.len() > page.limit as usize {
                    break;
                }
            }
            let next_cursor = if found.len() > page.limit as usize {
                found.truncate(page.limit as usize);
                found.last().map(|(sk, _)| {
                    let mut position = serde_json::Map::new();
                    position.insert("SK".into(), sk.clone().into());
                    state.cursors.encode(&list, &position)
                })
            } else {
                None
            };
            Ok(ListResponse { items: found.into_iter().map(|(_, v)| v).collect(), next_cursor })
        }
        None => {
            let (items, next_cursor) =
                query_page(table, &state.cursors, &list, almanac::kind_query(kind), &page).await?;
            let items = almanac::decode::<T>(items)?;
            Ok(ListResponse { items, next_cursor })
        }
    }
}

async fn load<T: DeserializeOwned>(state: &AppState, principal: &Principal, kind: &str, id: Uuid) -> Result<T> {
    principal.require("calendar", false)?;
    almanac::get(state.table.as_ref(), kind, id).await?.ok_or(ApiError::NotFound)
}

fn created<T>(path: String, version: i64, body: T) -> (StatusCode, HeaderMap, Json<T>) {
    let mut headers = etag_headers(version);
    if let Ok(location) = path.parse() {
        headers.insert(header::LOCATION, location);
    }
    (StatusCode::CREATED, headers, Json(body))
}

// ---------------------------------------------------------------- subjects

fn checked_subject(body: &SubjectBody, base: Subject, v: &mut Validator) -> Option<Subject> {
    let name = common::title(v, "name", &body.name);
    let kind = common::text(v, "type", &body.kind, 50);
    let content = common::text(v, "content", &body.content, 20_000);
    let excerpt = common::text(v, "excerpt", &body.excerpt, 1000);
    let keywords = keywords(v, &body.keywords);
    Some(Subject { name: name?, kind: kind?, content: content?, excerpt: excerpt?, keywords: keywords?, ..base })
}

/// Lists subjects (`?slug=` exact, `?q=` search over name and keywords).
#[utoipa::path(
    get,
    path = "/v1/almanac/subjects",
    tag = "calendar",
    params(AlmanacListParams),
    security(("bearer" = [])),
    responses((status = 200, body = ListResponse<Subject>), Problems)
)]
#[tracing::instrument(skip_all)]
pub async fn list_almanac_subjects(
    State(state): State<AppState>,
    principal: Principal,
    Query(params): Query<AlmanacListParams>,
) -> Result<Json<ListResponse<Subject>>> {
    principal.require("calendar", false)?;
    Ok(Json(list_named(&state, SUBJECT, params).await?))
}

/// Creates a subject (superadmin); its slug is generated from the name unless given.
#[utoipa::path(
    post,
    path = "/v1/almanac/subjects",
    tag = "calendar",
    request_body = SubjectBody,
    params(shared::idempotency::IdempotencyKey),
    security(("bearer" = [])),
    responses(
        shared::kit::IdempotentProblems,BodyProblems, (status = 201, body = Subject, headers(("ETag" = String, description = "The version"))), Problems, WriteProblems)
)]
#[tracing::instrument(skip_all)]
pub async fn create_almanac_subject(
    State(state): State<AppState>,
    ctx: Ctx,
    Json(body): Json<SubjectBody>,
) -> Result<(StatusCode, HeaderMap, Json<Subject>)> {
    require_writer(&state, &ctx.principal).await?;
    let mut v = Validator::new();
    let wanted = wanted_slug(&mut v, body.slug.as_deref());
    let now = ctx.now;
    let base = Subject {
        id: shared::domain::new_id(),
        kind: String::new(),
        name: String::new(),
        slug: String::new(),
        content: String::new(),
        excerpt: String::new(),
        keywords: Vec::new(),
        created_at: now,
        updated_at: now,
        version: 1,
    };
    let subject = checked_subject(&body, base, &mut v);
    v.finish()?;
    let (Some(wanted), Some(subject)) = (wanted, subject) else {
        return Err(ApiError::invalid("body", "is invalid"));
    };
    let mut stored = subject.clone();
    let slug = create_with_slug(&state, SUBJECT, &subject.name, wanted.as_deref(), |slug| {
        let with_slug = Subject { slug: slug.to_string(), ..subject.clone() };
        let ops = vec![
            almanac::put_subject_op(&with_slug, None)?,
            ctx.audit(None, "almanac_subject.created", format!("almanac-subject/{}", subject.id)).write(),
        ];
        Ok((subject.id, ops))
    })
    .await?;
    stored.slug = slug;
    Ok(created(format!("/v1/almanac/subjects/{}", stored.id), stored.version, stored))
}

/// Reads a subject.
#[utoipa::path(
    get,
    path = "/v1/almanac/subjects/{id}",
    tag = "calendar",
    params(("id" = Uuid, Path, description = "Subject id")),
    security(("bearer" = [])),
    responses((status = 200, body = Subject, headers(("ETag" = String, description = "The version"))), Problems)
)]
#[tracing::instrument(skip_all)]
pub async fn get_almanac_subject(
    State(state): State<AppState>,
    principal: Principal,
    PathId(id): PathId,
) -> Result<(HeaderMap, Json<Subject>)> {
    let subject: Subject = load(&state, &principal, SUBJECT, id).await?;
    Ok((etag_headers(subject.version), Json(subject)))
}

/// Replaces a subject's fields (superadmin); the slug stays.
#[utoipa::path(
    put,
    path = "/v1/almanac/subjects/{id}",
    tag = "calendar",
    request_body = SubjectBody,
    params(("id" = Uuid, Path, description = "Subject id"), shared::concurrency::IfMatch),
    security(("bearer" = [])),
    responses(BodyProblems, (status = 200, body = Subject, headers(("ETag" = String, description = "The version"))), Problems, WriteProblems)
)]
#[tracing::instrument(skip_all)]
pub async fn put_almanac_subject(
    State(state): State<AppState>,
    ctx: Ctx,
    if_match: IfMatch,
    PathId(id): PathId,
    Json(body): Json<SubjectBody>,
) -> Result<(HeaderMap, Json<Subject>)> {
    replace_named(&state, &ctx, &if_match, id, body.slug.as_deref(), |base, v| checked_subject(&body, base, v)).await
}

/// Deletes a subject and frees its slug (superadmin).
#[utoipa::path(
    delete,
    path = "/v1/almanac/subjects/{id}",
    tag = "calendar",
    params(("id" = Uuid, Path, description = "Subject id"), shared::concurrency::IfMatch),
    security(("bearer" = [])),
    responses((status = 204, description = "Deleted"), Problems, WriteProblems)
)]
#[tracing::instrument(skip_all)]
pub async fn delete_almanac_subject(
    State(state): State<AppState>,
    ctx: Ctx,
    if_match: IfMatch,
    PathId(id): PathId,
) -> Result<StatusCode> {
    delete_named::<Subject>(&state, &ctx, &if_match, id).await
}

// ---------------------------------------------------------------- locations

fn checked_location(body: &LocationBody, base: Location, v: &mut Validator) -> Option<Location> {
    let name = common::title(v, "name", &body.name);
    let zone = match body.time_zone.parse::<chrono_tz::Tz>() {
        Ok(_) => Some(body.time_zone.clone()),
        Err(_) => {
            v.error("timeZone", "must be an IANA time zone such as Pacific/Auckland");
            None
        }
    };
    let keywords = keywords(v, &body.keywords);
    Some(Location { name: name?, time_zone: zone?, keywords: keywords?, ..base })
}

/// Lists locations (`?slug=` exact, `?q=` search over name and keywords).
#[utoipa::path(
    get,
    path = "/v1/almanac/locations",
    tag = "calendar",
    params(AlmanacListParams),
    security(("bearer" = [])),
    responses((status = 200, body = ListResponse<Location>), Problems)
)]
#[tracing::instrument(skip_all)]
pub async fn list_almanac_locations(
    State(state): State<AppState>,
    principal: Principal,
    Query(params): Query<AlmanacListParams>,
) -> Result<Json<ListResponse<Location>>> {
    principal.require("calendar", false)?;
    Ok(Json(list_named(&state, LOCATION, params).await?))
}

/// Creates a location (superadmin); its slug is generated from the name unless given.
#[utoipa::path(
    post,
    path = "/v1/almanac/locations",
    tag = "calendar",
    request_body = LocationBody,
    params(shared::idempotency::IdempotencyKey),
    security(("bearer" = [])),
    responses(
        shared::kit::IdempotentProblems,BodyProblems, (status = 201, body = Location, headers(("ETag" = String, description = "The version"))), Problems, WriteProblems)
)]
#[tracing::instrument(skip_all)]
pub async fn create_almanac_location(
    State(state): State<AppState>,
    ctx: Ctx,
    Json(body): Json<LocationBody>,
) -> Result<(StatusCode, HeaderMap, Json<Location>)> {
    require_writer(&state, &ctx.principal).await?;
    let mut v = Validator::new();
    let wanted = wanted_slug(&mut v, body.slug.as_deref());
    let now = ctx.now;
    let base = Location {
        id: shared::domain::new_id(),
        name: String::new(),
        slug: String::new(),
        time_zone: String::new(),
        keywords: Vec::new(),
        created_at: now,
        updated_at: now,
        version: 1,
    };
    let location = checked_location(&body, base, &mut v);
    v.finish()?;
    let (Some(wanted), Some(location)) = (wanted, location) else {
        return Err(ApiError::invalid("body", "is invalid"));
    };
    let slug = create_with_slug(&state, LOCATION, &location.name, wanted.as_deref(), |slug| {
        let with_slug = Location { slug: slug.to_string(), ..location.clone() };
        let ops = vec![
            almanac::put_location_op(&with_slug, None)?,
            ctx.audit(None, "almanac_location.created", format!("almanac-location/{}", location.id)).write(),
        ];
        Ok((location.id, ops))
    })
    .await?;
    let stored = Location { slug, ..location };
    Ok(created(format!("/v1/almanac/locations/{}", stored.id), stored.version, stored))
}

/// Reads a location.
#[utoipa::path(
    get,
    path = "/v1/almanac/locations/{id}",
    tag = "calendar",
    params(("id" = Uuid, Path, description = "Location id")),
    security(("bearer" = [])),
    responses((status = 200, body = Location, headers(("ETag" = String, description = "The version"))), Problems)
)]
#[tracing::instrument(skip_all)]
pub async fn get_almanac_location(
    State(state): State<AppState>,
    principal: Principal,
    PathId(id): PathId,
) -> Result<(HeaderMap, Json<Location>)> {
    let location: Location = load(&state, &principal, LOCATION, id).await?;
    Ok((etag_headers(location.version), Json(location)))
}

/// Replaces a location's fields (superadmin); the slug stays.
#[utoipa::path(
    put,
    path = "/v1/almanac/locations/{id}",
    tag = "calendar",
    request_body = LocationBody,
    params(("id" = Uuid, Path, description = "Location id"), shared::concurrency::IfMatch),
    security(("bearer" = [])),
    responses(BodyProblems, (status = 200, body = Location, headers(("ETag" = String, description = "The version"))), Problems, WriteProblems)
)]
#[tracing::instrument(skip_all)]
pub async fn put_almanac_location(
    State(state): State<AppState>,
    ctx: Ctx,
    if_match: IfMatch,
    PathId(id): PathId,
    Json(body): Json<LocationBody>,
) -> Result<(HeaderMap, Json<Location>)> {
    replace_named(&state, &ctx, &if_match, id, body.slug.as_deref(), |base, v| checked_location(&body, base, v)).await
}

/// Deletes a location and frees its slug (superadmin).
#[utoipa::path(
    delete,
    path = "/v1/almanac/locations/{id}",
    tag = "calendar",
    params(("id" = Uuid, Path, description = "Location id"), shared::concurrency::IfMatch),
    security(("bearer" = [])),
    responses((status = 204, description = "Deleted"), Problems, WriteProblems)
)]
#[tracing::instrument(skip_all)]
pub async fn delete_almanac_location(
    State(state): State<AppState>,
    ctx: Ctx,
    if_match: IfMatch,
    PathId(id): PathId,
) -> Result<StatusCode> {
    delete_named::<Location>(&state, &ctx, &if_match, id).await
}

// ---------------------------------------------------------------- events

/// Validates an event body, including that its subject and location exist.
async fn checked_event(state: &AppState, body: &AlmanacEventBody, base: AlmanacEvent) -> Result<AlmanacEvent> {
    let mut v = Validator::new();
    let title = common::title(&mut v, "name.title", &body.name.title);
    let subtitle = common::text(&mut v, "name.subtitle", &body.name.subtitle, 200);
    let date = date(&mut v, "date", &body.date);
    let raw_date = common::text(&mut v, "rawDate", &body.raw_date, 100);
    let table = state.table.as_ref();
    if almanac::get::<Subject>(table, SUBJECT, body.subject_id).await?.is_none() {
        v.error("subjectId", "is not an almanac subject");
    }
    if almanac::get::<Location>(table, LOCATION, body.location_id).await?.is_none() {
        v.error("locationId", "is not an almanac location");
    }
    let (Some(title), Some(subtitle), Some(date), Some(raw_date)) = (title, subtitle, date, raw_date) else {
        return Err(v.into_error());
    };
    v.finish()?;
    Ok(AlmanacEvent {
        subject_id: body.subject_id,
        location_id: body.location_id,
        name: EventName { title, subtitle },
        date,
        raw_date,
        ..base
    })
}

/// Lists events in date order, of one location or all, within a window of days.
#[utoipa::path(
    get,
    path = "/v1/almanac/events",
    tag = "calendar",
    params(AlmanacEventListParams),
    security(("bearer" = [])),
    responses((status = 200, body = ListResponse<AlmanacEvent>), Problems)
)]
#[tracing::instrument(skip_all)]
pub async fn list_almanac_events(
    State(state): State<AppState>,
    principal: Principal,
    Query(params): Query<AlmanacEventListParams>,
) -> Result<Json<ListResponse<AlmanacEvent>>> {
    principal.require("calendar", false)?;
    let page = PageRequest::new(params.limit, params.cursor)?;
    let mut v = Validator::new();
    let start = params.start_date.as_deref().map(|d| date(&mut v, "startDate", d));
    let end = params.end_date.as_deref().map(|d| date(&mut v, "endDate", d));
    v.finish()?;
    let (start, end) = (start.flatten(), end.flatten());
    if let (Some(s), Some(e)) = (start, end)
        && s > e
    {
        return Err(ApiError::invalid("endDate", "must not be before startDate"));
    }
    let day = |d: Option<NaiveDate>| d.map(|d| d.to_string()).unwrap_or_default();
    let scope = params.location_id.map(|l| l.to_string()).unwrap_or_default();
    let list = format!("almanac:events:{scope}:{}:{}", day(start), day(end));
    let query = almanac::events_query(params.location_id, start, end);
    let (items, next_cursor) = query_page(state.table.as_ref(), &state.cursors, &list, query, &page).await?;
    let items = almanac::decode::<AlmanacEvent>(items)?;
    Ok(Json(ListResponse { items, next_cursor }))
}

/// Creates an event (superadmin).
#[utoipa::path(
    post,
    path = "/v1/almanac/events",
    tag = "calendar",
    request_body = AlmanacEventBody,
    params(shared::idempotency::IdempotencyKey),
    security(("bearer" = [])),
    responses(
        shared::kit::IdempotentProblems,BodyProblems, (status = 201, body = AlmanacEvent, headers(("ETag" = String, description = "The version"))), Problems, WriteProblems)
)]
#[tracing::instrument(skip_all)]
pub async fn create_almanac_event(
    State(state): State<AppState>,
    ctx: Ctx,
    Json(body): Json<AlmanacEventBody>,
) -> Result<(StatusCode, HeaderMap, Json<AlmanacEvent>)> {
    require_writer(&state, &ctx.principal).await?;
    let now = ctx.now;
    let base = AlmanacEvent {
        id: shared::domain::new_id(),
        subject_id: body.subject_id,
        location_id: body.location_id,
        name: EventName { title: String::new(), subtitle: String::new() },
        date: NaiveDate::MIN,
        raw_date: String::new(),
        created_at: now,
        updated_at: now,
        version: 1,
    };
    let event = checked_event(&state, &body, base).await?;
    let mut ops = almanac::event_ops(&event, None)?;
    ops.push(ctx.audit(None, "almanac_event.created", format!("almanac-event/{}", event.id)).write());
    state.table.transact_write(ops).await.map_err(|e| write_failed(e, &IfMatch::Absent, "almanac"))?;
    Ok(created(format!("/v1/almanac/events/{}", event.id), event.version, event))
}

/// Reads an event.
#[utoipa::path(
    get,
    path = "/v1/almanac/events/{id}",
    tag = "calendar",
    params(("id" = Uuid, Path, description = "Almanac event id")),
    security(("bearer" = [])),
    responses((status = 200, body = AlmanacEvent, headers(("ETag" = String, description = "The version"))), Problems)
)]
#[tracing::instrument(skip_all)]
pub async fn get_almanac_event(
    State(state): State<AppState>,
    principal: Principal,
    PathId(id): PathId,
) -> Result<(HeaderMap, Json<AlmanacEvent>)> {
    let event: AlmanacEvent = load(&state, &principal, EVENT, id).await?;
    Ok((etag_headers(event.version), Json(event)))
}

/// Replaces an event's fields (superadmin).
#[utoipa::path(
    put,
    path = "/v1/almanac/events/{id}",
    tag = "calendar",
    request_body = AlmanacEventBody,
    params(("id" = Uuid, Path, description = "Almanac event id"), shared::concurrency::IfMatch),
    security(("bearer" = [])),
    responses(BodyProblems, (status = 200, body = AlmanacEvent, headers(("ETag" = String, description = "The version"))), Problems, WriteProblems)
)]
#[tracing::instrument(skip_all)]
pub async fn put_almanac_event(
    State(state): State<AppState>,
    ctx: Ctx,
    if_match: IfMatch,
    PathId(id): PathId,
    Json(body): Json<AlmanacEventBody>,
) -> Result<(HeaderMap, Json<AlmanacEvent>)> {
    let principal = &ctx.principal;
    require_writer(&state, principal).await?;
    let current: AlmanacEvent = load(&state, principal, EVENT, id).await?;
    if_match.check(current.version)?;
    let base = AlmanacEvent { updated_at: ctx.now, version: current.version + 1, ..current.clone() };
    let event = checked_event(&state, &body, base).await?;
    let mut ops = almanac::event_ops(&event, Some(current.version))?;
    ops.push(ctx.audit(None, "almanac_event.updated", format!("almanac-event/{id}")).write());
    state.table.transact_write(ops).await.map_err(|e| write_failed(e, &if_match, "almanac"))?;
    Ok((etag_headers(event.version), Json(event)))
}

/// Deletes an event (superadmin).
#[utoipa::path(
    delete,
    path = "/v1/almanac/events/{id}",
    tag = "calendar",
    params(("id" = Uuid, Path, description = "Almanac event id"), shared::concurrency::IfMatch),
    security(("bearer" = [])),
    responses((status = 204, description = "Deleted"), Problems, WriteProblems)
)]
#[tracing::instrument(skip_all)]
pub async fn delete_almanac_event(
    State(state): State<AppState>,
    ctx: Ctx,
    if_match: IfMatch,
    PathId(id): PathId,
) -> Result<StatusCode> {
    let principal = &ctx.principal;
    require_writer(&state, principal).await?;
    let current: AlmanacEvent = load(&state, principal, EVENT, id).await?;
    if_match.check(current.version)?;
    let ops = vec![
        almanac::delete_op(EVENT, id, current.version),
        ctx.audit(None, "almanac_event.deleted", format!("almanac-event/{id}")).write(),
    ];
    state.table.transact_write(ops).await.map_err(|e| write_failed(e, &if_match, "almanac"))?;
    Ok(StatusCode::NO_CONTENT)
}
