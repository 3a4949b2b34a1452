//! Event templates: ready-made events of a user, or of an organisation for
//! its members to import into their own. A user's templates follow the
//! calendar permissions (the user, their planners, organisation admins);
//! an organisation's are read by its members and written by its admins.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use shared::access::authz::Area;
use shared::access::authz::UserAccess;
use shared::access::authz::org_access;
use shared::access::authz::user_access;
use shared::calendar::events::Alarm;
use shared::calendar::events::Reminder;
use shared::calendar::templates;
use shared::calendar::templates::Template;
use shared::concurrency::{IfMatch, etag_headers};
use shared::context::Ctx;
use shared::domain::BoundedText;
use shared::extract::{Json, PathId, Query};
use shared::identity::auth::Principal;
use shared::pagination::{PageRequest, query_page};
use shared::validation::Validator;
use shared::{ApiError, AppState, Result};

use crate::common;
use shared::kit::write_failed;
use shared::kit::{BodyProblems, ListResponse, Problems, WriteProblems};

/// The fields of a template (create and replace).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct TemplateBody {
    /// Owner user (create only; default: the caller unless `organisationId` is given).
    pub user_id: Option<Uuid>,
    /// Owner organisation (create only; its admins write it).
    pub organisation_id: Option<Uuid>,
    /// Title (1–200 characters).
    #[schema(schema_with = BoundedText::<200>::schema)]
    pub title: String,
    /// Description (≤ 5000 characters).
    #[serde(default)]
    #[schema(max_length = 5000)]
    pub description: String,
    /// Length in minutes of the events made from it (1–1440, default 60).
    #[schema(minimum = 1, maximum = 1440)]
    pub duration_minutes: Option<u32>,
    /// Whole-day events.
    #[serde(default)]
    pub all_day: bool,
    /// Reminders (≤ 10).
    #[serde(default)]
    #[schema(max_items = 10)]
    pub reminders: Vec<Reminder>,
    /// Alarm.
    pub alarm: Option<Alarm>,
    /// Location (≤ 500 characters).
    #[serde(default)]
    #[schema(max_length = 500)]
    pub location: String,
    /// Media (≤ 50).
    #[serde(default)]
    #[schema(max_items = 50)]
    pub media_ids: Vec<Uuid>,
    /// Lists (≤ 50).
    #[serde(default)]
    #[schema(max_items = 50)]
    pub list_ids: Vec<Uuid>,
    /// Category (≤ 100 characters).
    #[serde(default)]
    #[schema(max_length = 100)]
    pub category: String,
    /// Tags (≤ 20, each 1–50 characters).
    #[serde(default)]
    #[schema(schema_with = common::tags_schema)]
    pub tags: Vec<String>,
}

/// A template is a user's or an organisation's, never both.
impl shared::openapi::BodyRules for TemplateBody {
    fn rules() -> Vec<utoipa::openapi::schema::Schema> {
        vec![shared::openapi::at_most_one_of(&["userId", "organisationId"])]
    }
}

shared::body_with_rules! {
    /// A template's fields with the rule across them.
    pub TemplateRequest for TemplateBody
}

/// Whose templates to list.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
pub struct TemplateListParams {
    /// A user's templates (default: the caller's; not together with `organisationId`).
    pub user_id: Option<Uuid>,
    /// An organisation's templates instead (not together with `userId`).
    pub organisation_id: Option<Uuid>,
    /// Items per page (1–100, default 25).
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<u32>,
    /// From `nextCursor` of the previous page.
    pub cursor: Option<String>,
}

/// Organisation templates to copy into a user's.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ImportRequest {
    /// Templates of the user's organisations (1–25).
    #[schema(min_items = 1, max_items = 25)]
    pub template_ids: Vec<Uuid>,
}

/// Who owns a template.
enum Owner {
    User(Uuid),
    Organisation(Uuid),
}

/// Checks the caller may read (or write) templates of `owner`; returns the audit organisation.
async fn authorise(state: &AppState, principal: &Principal, owner: &Owner, write: bool) -> Result<Option<Uuid>> {
    principal.require("calendar", write)?;
    match owner {
        Owner::User(user) => {
            let access = user_access(state.table.as_ref(), principal, *user).await?;
            access.require(Area::Calendar, write)?;
            personal(&access)?;
            Ok(access.audit_organisation())
        }
        Owner::Organisation(org) => {
            let access = org_access(state.table.as_ref(), principal, *org).await?;
            if write && !access.is_admin() {
                return Err(ApiError::Forbidden("Only organisation admins change organisation templates.".into()));
            }
            Ok(Some(*org))
        }
    }
}

/// A member's own templates are personal data: an administrator who does
/// not administer every organisation of the member does not reach them.
fn personal(access: &UserAccess) -> Result<()> {
    if access.sees(None) {
        Ok(())
    } else {
        Err(ApiError::Forbidden(
            "The user also belongs to an organisation you do not administer: their own templates are theirs.".into(),
        ))
    }
}

fn owner_of(template: &Template) -> Owner {
    match template.organisation_id {
        Some(org) => Owner::Organisation(org),
        None => Owner::User(template.user_id.unwrap_or_default()),
    }
}

/// The validated fields, applied to `base`.
fn checked(body: TemplateBody, base: Template) -> Result<Template> {
    let mut v = Validator::new();
    let title = common::title(&mut v, "title", &body.title);
    let description = common::text(&mut v, "description", &body.description, 5000);
    let location = common::text(&mut v, "location", &body.location, 500);
    let category = common::text(&mut v, "category", &body.category, 100);
    let tags = common::tags(&mut v, "tags", &body.tags);
    let reminders = common::reminders(&mut v, "reminders", &body.reminders);
    let alarm = common::alarm(&mut v, "alarm", body.alarm.as_ref());
    let media_ids = common::ids(&mut v, "mediaIds", &body.media_ids, common::MAX_ATTACHED);
    let list_ids = common::ids(&mut v, "listIds", &body.list_ids, common::MAX_ATTACHED);
    let duration = body.duration_minutes.unwrap_or(60);
    if !(1..=1440).contains(&duration) {
        v.error("durationMinutes", "must be 1–1440");
    }
    let (
        Some(title),
        Some(description),
        Some(location),
        Some(category),
        Some(tags),
        Some(reminders),
        Some(alarm),
        Some(media_ids),
        Some(list_ids),
    ) = (title, description, location, category, tags, reminders, alarm, media_ids, list_ids)
    else {
        return Err(v.into_error());
    };
    v.finish()?;
    Ok(Template {
        title,
        description,
        duration_minutes: duration,
        all_day: body.all_day,
        reminders,
        alarm,
        location,
        media_ids,
        list_ids,
        category,
        tags,
        ..base
    })
}

/// Lists a user's templates (default: the caller's) or an organisation's.
#[utoipa::path(
    get,
    path = "/v1/event-templates",
    tag = "calendar",
    params(TemplateListParams),
    security(("bearer" = [])),
    responses((status = 200, body = ListResponse<Template>), Problems)
)]
#[tracing::instrument(skip_all)]
pub async fn list_event_templates(
    State(state): State<AppState>,
    principal: Principal,
    Query(params): Query<TemplateListParams>,
) -> Result<Json<ListResponse<Template>>> {
    let page = PageRequest::new(params.limit, params.cursor)?;
    let (owner, query, list) = match (params.organisation_id, params.user_id) {
        (Some(_), Some(_)) => return Err(ApiError::invalid("organisationId", "give either userId or organisationId")),
        (Some(org), None) => {
            (Owner::Organisation(org), templates::organisation_query(org), format!("templates:org:{org}"))
        }
        (None, user) => {
            let user = user.unwrap_or(principal.user_id);
            (Owner::User(user), templates::user_query(user), format!("templates:user:{user}"))
        }
    };
    authorise(&state, &principal, &owner, false).await?;
    let (items, next_cursor) = query_page(state.table.as_ref(), &state.cursors, &list, query, &page).await?;
    let items = templates::decode(items)?;
    Ok(Json(ListResponse { items, next_cursor }))
}

/// Creates a template for a user (default: the caller) or an organisation.
#[utoipa::path(
    post,
    path = "/v1/event-templates",
    tag = "calendar",
    request_body = TemplateRequest,
    params(shared::idempotency::IdempotencyKey),
    security(("bearer" = [])),
    responses(
        shared::kit::IdempotentProblems,BodyProblems, (status = 201, body = Template, headers(("ETag" = String, description = "The version"))), Problems)
)]
#[tracing::instrument(skip_all)]
pub async fn create_event_template(
    State(state): State<AppState>,
    ctx: Ctx,
    Json(body): Json<TemplateBody>,
) -> Result<(StatusCode, HeaderMap, Json<Template>)> {
    let principal = &ctx.principal;
    let owner = match (body.organisation_id, body.user_id) {
        (Some(_), Some(_)) => return Err(ApiError::invalid("organisationId", "give either userId or organisationId")),
        (Some(org), None) => Owner::Organisation(org),
        (None, user) => Owner::User(user.unwrap_or(principal.user_id)),
    };
    let org = authorise(&state, principal, &owner, true).await?;
    let now = ctx.now;
    let (user_id, organisation_id) = match owner {
        Owner::User(u) => (Some(u), None),
        Owner::Organisation(o) => (None, Some(o)),
    };
    let base = Template {
        id: shared::domain::new_id(),
        user_id,
        organisation_id,
        title: String::new(),
        description: String::new(),
        duration_minutes: 60,
        all_day: false,
        reminders: Vec::new(),
        alarm: None,
        location: String::new(),
        media_ids: Vec::new(),
        list_ids: Vec::new(),
        category: String::new(),
        tags: Vec::new(),
        imported_from: None,
        created_at: now,
        updated_at: now,
        version: 1,
    };
    let template = checked(body, base)?;
    let ops = vec![
        templates::put_op(&template, None)?,
        ctx.audit(org, "event_template.created", format!("event-template/{}", template.id)).write(),
    ];
    state.table.transact_write(ops).await.map_err(|e| write_failed(e, &IfMatch::Absent, "template"))?;
    let mut headers = etag_headers(template.version);
    if let Ok(location) = format!("/v1/event-templates/{}", template.id).parse() {
        headers.insert(header::LOCATION, location);
    }
    Ok((StatusCode::CREATED, headers, Json(template)))
}

async fn load(state: &AppState, principal: &Principal, id: Uuid, write: bool) -> Result<(Template, Option<Uuid>)> {
    let template = templates::get(state.table.as_ref(), id).await?.ok_or(ApiError::NotFound)?;
    let org = authorise(state, principal, &owner_of(&template), write).await?;
    Ok((template, org))
}

/// Reads a template.
#[utoipa::path(
    get,
    path = "/v1/event-templates/{id}",
    tag = "calendar",
    params(("id" = Uuid, Path, description = "Template id")),
    security(("bearer" = [])),
    responses((status = 200, body = Template, headers(("ETag" = String, description = "The version"))), Problems)
)]
#[tracing::instrument(skip_all)]
pub async fn get_event_template(
    State(state): State<AppState>,
    principal: Principal,
    PathId(id): PathId,
) -> Result<(HeaderMap, Json<Template>)> {
    let (template, _) = load(&state, &principal, id, false).await?;
    Ok((etag_headers(template.version), Json(template)))
}

/// Replaces a template's fields (its owner stays).
#[utoipa::path(
    put,
    path = "/v1/event-templates/{id}",
    tag = "calendar",
    request_body = TemplateRequest,
    params(("id" = Uuid, Path, description = "Template id"), shared::concurrency::IfMatch),
    security(("bearer" = [])),
    responses(BodyProblems, (status = 200, body = Template, headers(("ETag" = String, description = "The version"))), Problems, WriteProblems)
)]
#[tracing::instrument(skip_all)]
pub async fn put_event_template(
    State(state): State<AppState>,
    ctx: Ctx,
    if_match: IfMatch,
    PathId(id): PathId,
    Json(body): Json<TemplateBody>,
) -> Result<(HeaderMap, Json<Template>)> {
    let (current, org) = load(&state, &ctx.principal, id, true).await?;
    if_match.check(current.version)?;
    let mut v = Validator::new();
    if body.user_id.is_some_and(|u| Some(u) != current.user_id) {
        v.error("userId", "cannot change; create a new template");
    }
    if body.organisation_id.is_some_and(|o| Some(o) != current.organisation_id) {
        v.error("organisationId", "cannot change; create a new template");
    }
    v.finish()?;
    let base = Template { updated_at: ctx.now, version: current.version + 1, ..current.clone() };
    let template = checked(body, base)?;
    let ops = vec![
        templates::put_op(&template, Some(current.version))?,
        ctx.audit(org, "event_template.updated", format!("event-template/{id}")).write(),
    ];
    state.table.transact_write(ops).await.map_err(|e| write_failed(e, &if_match, "template"))?;
    Ok((etag_headers(template.version), Json(template)))
}

/// Deletes a template.
#[utoipa::path(
    delete,
    path = "/v1/event-templates/{id}",
    tag = "calendar",
    params(("id" = Uuid, Path, description = "Template id"), shared::concurrency::IfMatch),
    security(("bearer" = [])),
    responses((status = 204, description = "Deleted"), Problems, WriteProblems)
)]
#[tracing::instrument(skip_all)]
pub async fn delete_event_template(
    State(state): State<AppState>,
    ctx: Ctx,
    if_match: IfMatch,
    PathId(id): PathId,
) -> Result<StatusCode> {
    let (current, org) = load(&state, &ctx.principal, id, true).await?;
    if_match.check(current.version)?;
    let ops = vec![
        templates::delete_op(&current),
        ctx.audit(org, "event_template.deleted", format!("event-template/{id}")).write(),
    ];
    state.table.transact_write(ops).await.map_err(|e| write_failed(e, &if_match, "template"))?;
    Ok(StatusCode::NO_CONTENT)
}

/// Copies templates of the user's organisations into the user's own.
#[utoipa::path(
    post,
    path = "/v1/users/{id}/event-templates/import",
    tag = "calendar",
    request_body = ImportRequest,
    params(("id" = Uuid, Path, description = "User id")),
    security(("bearer" = [])),
    responses(BodyProblems, (status = 201, body = ListResponse<Template>, description = "The user's new templates"), Problems)
)]
#[tracing::instrument(skip_all)]
pub async fn import_event_templates(
    State(state): State<AppState>,
    ctx: Ctx,
    PathId(user): PathId,
    Json(body): Json<ImportRequest>,
) -> Result<(StatusCode, Json<ListResponse<Template>>)> {
    let principal = &ctx.principal;
    principal.require("calendar", true)?;
    let access = user_access(state.table.as_ref(), principal, user).await?;
    access.require(Area::Calendar, true)?;
    personal(&access)?;
    if body.template_ids.is_empty() || body.template_ids.len() > 25 {
        return Err(ApiError::invalid("templateIds", "give 1–25 template ids"));
    }
    let mut v = Validator::new();
    let mut sources = Vec::new();
    for (i, id) in body.template_ids.iter().enumerate() {
        let found = templates::get(state.table.as_ref(), *id).await?;
        // Only templates of an organisation the user belongs to can be imported.
        match found.filter(|t| {
            t.organisation_id.is_some_and(|org| access.memberships.iter().any(|m| m.organisation_id == org))
        }) {
            Some(t) => sources.push(t),
            None => v.error(&format!("templateIds[{i}]"), "is not a template of the user's organisations"),
        }
    }
    v.finish()?;
    let now = ctx.now;
    let org = access.audit_organisation();
    let mut ops = Vec::new();
    let mut created = Vec::new();
    for source in sources {
        let copy = Template {
            id: shared::domain::new_id(),
            user_id: Some(user),
            organisation_id: None,
            imported_from: Some(source.id),
            created_at: now,
            updated_at: now,
            version: 1,
            ..source
        };
        ops.push(templates::put_op(&copy, None)?);
        ops.push(ctx.audit(org, "event_template.imported", format!("event-template/{}", copy.id)).write());
        created.push(copy);
    }
    state.table.transact_write(ops).await.map_err(|e| write_failed(e, &IfMatch::Absent, "template"))?;
    Ok((StatusCode::CREATED, Json(ListResponse { items: created, next_cursor: None })))
}
