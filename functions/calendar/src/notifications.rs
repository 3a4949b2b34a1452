//! The caller's notification inbox (where `inapp` reminders land) and the
//! push devices reminders are sent to. Lives with the calendar because its
//! reminders are what fills it in wave 1; every route acts on the caller's
//! own inbox only, so nobody can read or mark anyone else's notifications.

use axum::extract::{FromRequestParts, State};
use axum::http::StatusCode;
use axum::http::request::Parts;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use shared::context::Ctx;
use shared::error::Problem;
use shared::extract::{Json, PathId, Query};
use shared::identity::auth::Principal;
use shared::kit::{BodyProblems, ListParams, commit_with};
use shared::pagination::{ListResponse, PageRequest, query_page};
use shared::people::devices;
pub use shared::people::devices::Device;
use shared::people::devices::Platform;
use shared::people::inbox;
use shared::scheduling::reminders::NotificationRecord;
use shared::validation::Validator;
use shared::{ApiError, AppState, Result};
use utoipa::ToSchema;
use uuid::Uuid;

/// A notification as the API shows it.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Notification {
    /// Id.
    pub id: Uuid,
    /// What kind: `reminder` (an event reminder) or `alarm` (an alarm firing).
    pub kind: String,
    /// Title (a reminder's names the event).
    pub title: String,
    /// Body.
    pub body: String,
    /// The event it is about.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub event_id: Option<Uuid>,
    /// The occurrence it is about.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub occurrence_start: Option<DateTime<Utc>>,
    /// Delivered after its time.
    pub late: bool,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// When the caller read it (`null`: unread).
    pub read_at: Option<DateTime<Utc>>,
}

impl From<NotificationRecord> for Notification {
    fn from(r: NotificationRecord) -> Self {
        Self {
            id: r.id,
            kind: r.kind,
            title: r.title,
            body: r.body,
            event_id: r.event_id,
            occurrence_start: r.occurrence_start,
            late: r.late,
            created_at: r.created_at,
            read_at: r.read_at,
        }
    }
}

/// Lists the caller's inbox, newest first.
#[utoipa::path(
    get,
    path = "/v1/notifications",
    tag = "notifications",
    params(ListParams),
    security(("bearer" = [])),
    responses(
        (status = 200, body = ListResponse<Notification>),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
    )
)]
#[tracing::instrument(skip_all)]
pub async fn list_notifications(
    State(state): State<AppState>,
    principal: Principal,
    Query(params): Query<ListParams>,
) -> Result<Json<ListResponse<Notification>>> {
    principal.require("notifications", false)?;
    principal.require_person()?;
    let page = PageRequest::new(params.limit, params.cursor)?;
    let list = format!("notifications:{}", principal.user_id);
    let query = inbox::list_query(principal.user_id);
    let (items, next_cursor) = query_page(state.table.as_ref(), &state.cursors, &list, query, &page).await?;
    let items = inbox::decode(items)?.into_iter().map(Notification::from).collect();
    Ok(Json(ListResponse { items, next_cursor }))
}

/// Marks one of the caller's notifications read (again: keeps the first time).
#[utoipa::path(
    post,
    path = "/v1/notifications/{id}/read",
    tag = "notifications",
    params(("id" = Uuid, Path, description = "Notification id")),
    security(("bearer" = [])),
    responses(
        (status = 200, body = Notification),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    )
)]
#[tracing::instrument(skip_all)]
pub async fn read_notification(
    State(state): State<AppState>,
    ctx: Ctx,
    PathId(id): PathId,
) -> Result<Json<Notification>> {
    let principal = &ctx.principal;
    principal.require("notifications", true)?;
    principal.require_person()?;
    // The caller's own inbox: another user's id is simply not there.
    let mut record = inbox::get(state.table.as_ref(), principal.user_id, id).await?.ok_or(ApiError::NotFound)?;
    if record.read_at.is_none() {
        let now = ctx.now;
        let audit = ctx.audit(None, "notification.read", format!("notification/{id}"));
        let ops = vec![inbox::mark_read_op(&record, now), audit.write()];
        commit_with(state.table.as_ref(), ops, |_| ApiError::NotFound).await?;
        record.read_at = Some(now);
    }
    Ok(Json(record.into()))
}

/// A device token as registered.
type DeviceToken = shared::domain::BoundedText<4096>;

/// A device to push to.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewDevice {
    /// The platform's device (or subscription) token, 1–4096 characters
    /// without control characters (white space around it is dropped).
    #[schema(schema_with = DeviceToken::schema)]
    pub token: String,
    /// Where it comes from.
    pub platform: Platform,
}

/// Registers a device of the caller for push reminders (again: refreshes it).
#[utoipa::path(
    post,
    path = "/v1/notifications/devices",
    tag = "notifications",
    request_body = NewDevice,
    security(("bearer" = [])),
    responses(
        BodyProblems,
        (status = 201, body = Device),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json", description = "Already 10 devices"),
    )
)]
#[tracing::instrument(skip_all)]
pub async fn register_device(
    State(state): State<AppState>,
    ctx: Ctx,
    Json(body): Json<NewDevice>,
) -> Result<(StatusCode, Json<Device>)> {
    let principal = &ctx.principal;
    principal.require("notifications", true)?;
    principal.require_person()?;
    let mut v = Validator::new();
    let token = v.field("token", DeviceToken::parse(&body.token));
    let Some(token) = token else { return Err(v.into_error()) };
    let token = token.as_str();
    // Bounded, so one user's devices can never grow a push past an item
    // size limit; registering a known device again only refreshes it.
    let known = devices::of_user(state.table.as_ref(), principal.user_id).await?;
    if known.len() >= devices::MAX_PER_USER && !known.iter().any(|d| d.token == token) {
        return Err(ApiError::Conflict(format!(
            "A user has at most {} devices; remove one (DELETE /v1/notifications/devices/{{token}}) first.",
            devices::MAX_PER_USER
        )));
    }
    let now = ctx.now;
    let device = Device { token: token.to_string(), platform: body.platform, registered_at: now };
    // The audit names only the token's hash.
    let target = format!("device/{}", devices::token_hash(token));
    let audit = ctx.audit(None, "device.registered", target);
    state.table.transact_write(vec![devices::put_op(principal.user_id, &device)?, audit.write()]).await?;
    Ok((StatusCode::CREATED, Json(device)))
}

/// A path parameter taken as it is (a device token).
pub struct PathToken(pub String);

impl<S: Send + Sync> FromRequestParts<S> for PathToken {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> std::result::Result<Self, Self::Rejection> {
        let axum::extract::Path(raw) =
            axum::extract::Path::<String>::from_request_parts(parts, state).await.map_err(|_| ApiError::NotFound)?;
        Ok(PathToken(raw))
    }
}

/// Removes one of the caller's devices; it gets no more pushes.
#[utoipa::path(
    delete,
    path = "/v1/notifications/devices/{token}",
    tag = "notifications",
    params(("token" = String, Path, description = "The device token")),
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Removed"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    )
)]
#[tracing::instrument(skip_all)]
pub async fn delete_device(State(state): State<AppState>, ctx: Ctx, PathToken(token): PathToken) -> Result<StatusCode> {
    let principal = &ctx.principal;
    principal.require("notifications", true)?;
    principal.require_person()?;
    let target = format!("device/{}", devices::token_hash(&token));
    let audit = ctx.audit(None, "device.removed", target);
    let ops = vec![devices::delete_op(principal.user_id, &token), audit.write()];
    commit_with(state.table.as_ref(), ops, |_| ApiError::NotFound).await?;
    Ok(StatusCode::NO_CONTENT)
}
