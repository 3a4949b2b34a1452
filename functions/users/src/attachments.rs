//! A user's attachments (seed 001): a presigned upload straight to the blob
//! store, confirmed against the store before it counts; reads hand out a
//! presigned download URL. Bytes never pass through the function.

use std::time::Duration;

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use shared::access::authz::Area;
use shared::blobs::{MAX_UPLOAD_BYTES, PresignedRequest, UploadSpec};
use shared::concurrency::{IfMatch, etag_headers};
use shared::context::Ctx;
use shared::domain::{BoundedText, new_id};
use shared::extract::{Json, PathId, Query};
use shared::identity::auth::Principal;
use shared::pagination::query_page;
use shared::people::attachments;
use shared::people::attachments::ALLOWED_CONTENT_TYPES;
use shared::people::attachments::Attachment;
use shared::people::attachments::AttachmentStatus;
use shared::validation::Validator;
use shared::{ApiError, AppState, Result};

use crate::common::access;
use shared::kit::{BodyProblems, ListParams, ListResponse, Problems, WriteProblems, commit_versioned, created_headers};

/// How long an upload URL works.
const UPLOAD_URL_TTL: Duration = Duration::from_secs(15 * 60);
/// How long a download URL works.
const DOWNLOAD_URL_TTL: Duration = Duration::from_secs(15 * 60);
/// How long an unconfirmed upload is remembered.
const PENDING_TTL: chrono::Duration = chrono::Duration::days(1);

/// The file to upload.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct UploadRequest {
    /// File name (1–200 characters).
    #[schema(schema_with = BoundedText::<200>::schema)]
    pub file_name: String,
    /// Content type (an allowed one: images, PDF, text, office documents, mp3, mp4).
    #[schema(schema_with = attachments::content_type_schema)]
    pub content_type: String,
    /// Exact size in bytes (1 to 50 MB; larger is a 413).
    #[schema(schema_with = size_schema)]
    pub size: u64,
}

/// The schema of an upload's size: 1 byte to [`MAX_UPLOAD_BYTES`].
fn size_schema() -> utoipa::openapi::Object {
    utoipa::openapi::ObjectBuilder::new()
        .schema_type(utoipa::openapi::Type::Integer)
        .format(Some(utoipa::openapi::SchemaFormat::KnownFormat(utoipa::openapi::KnownFormat::Int64)))
        .minimum(Some(1))
        .maximum(Some(MAX_UPLOAD_BYTES))
        .build()
}

/// Where to upload.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UploadTicket {
    /// The attachment's id (confirm it with `POST /v1/users/{id}/attachments`).
    pub attachment_id: Uuid,
    /// The request to make against the blob store.
    pub upload: PresignedRequest,
}

/// Confirms an upload.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ConfirmUpload {
    /// From the upload ticket.
    pub attachment_id: Uuid,
}

/// An attachment with a download URL.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AttachmentWithDownload {
    /// The attachment.
    #[serde(flatten)]
    pub attachment: Attachment,
    /// A presigned `GET` of the file.
    pub download: PresignedRequest,
}

fn parse_ids(id: &str, attachment: &str) -> Result<(Uuid, Uuid)> {
    match (Uuid::parse_str(id), Uuid::parse_str(attachment)) {
        (Ok(a), Ok(b)) => Ok((a, b)),
        _ => Err(ApiError::NotFound),
    }
}

/// Starts an upload: a presigned `PUT` for exactly this type and size.
#[utoipa::path(
    post,
    path = "/v1/users/{id}/attachments/upload-url",
    tag = "users",
    request_body = UploadRequest,
    params(("id" = Uuid, Path, description = "User id")),
    security(("bearer" = [])),
    responses(
        BodyProblems,
        (status = 201, body = UploadTicket, description = "Upload with the given request, then confirm"),
        Problems,
        (status = 413, body = shared::error::Problem, content_type = "application/problem+json", description = "Larger than 50 MB"),
        (status = 415, body = shared::error::Problem, content_type = "application/problem+json", description = "Content type not allowed"),
    )
)]
#[tracing::instrument(skip_all)]
pub async fn create_upload_url(
    State(state): State<AppState>,
    ctx: Ctx,
    PathId(id): PathId,
    Json(body): Json<UploadRequest>,
) -> Result<(StatusCode, Json<UploadTicket>)> {
    let mut v = Validator::new();
    let file_name = v.field("fileName", BoundedText::<200>::parse(&body.file_name));
    if body.size == 0 {
        v.error("size", "must be at least 1 byte");
    }
    let Some(file_name) = file_name else { return Err(v.into_error()) };
    v.finish()?;
    if body.size > MAX_UPLOAD_BYTES {
        return Err(ApiError::PayloadTooLarge);
    }
    let content_type = body.content_type.trim().to_ascii_lowercase();
    if !ALLOWED_CONTENT_TYPES.contains(&content_type.as_str()) {
        return Err(ApiError::UnsupportedMediaType);
    }
    let access = access(&state, &ctx.principal, id, Area::Profile, true).await?;
    let now = ctx.now;
    let attachment = Attachment {
        id: new_id(),
        user_id: id,
        file_name: file_name.to_string(),
        content_type: content_type.clone(),
        size: body.size,
        status: AttachmentStatus::Pending,
        created_at: now,
        updated_at: now,
        version: 1,
    };
    let spec = UploadSpec {
        key: attachments::blob_key(id, attachment.id),
        content_type,
        content_length: body.size,
        expires_in: UPLOAD_URL_TTL,
    };
    let upload = state.blobs.presign_upload(&spec).await?;
    let target = format!("user/{id}/attachments/{}", attachment.id);
    commit_versioned(
        state.table.as_ref(),
        vec![
            attachments::put_op(&attachment, None, Some(now + PENDING_TTL))?,
            ctx.audit(access.audit_organisation(), "attachment.upload_started", target).write(),
        ],
    )
    .await?;
    Ok((StatusCode::CREATED, Json(UploadTicket { attachment_id: attachment.id, upload })))
}

/// Confirms an upload: the blob must be in the store with the declared size.
#[utoipa::path(
    post,
    path = "/v1/users/{id}/attachments",
    tag = "users",
    request_body = ConfirmUpload,
    params(("id" = Uuid, Path, description = "User id")),
    security(("bearer" = [])),
    responses(
        BodyProblems,
        (status = 201, body = Attachment, description = "Confirmed"),
        Problems,
        (status = 409, body = shared::error::Problem, content_type = "application/problem+json", description = "Not uploaded (completely) yet"),
    )
)]
#[tracing::instrument(skip_all)]
pub async fn confirm_attachment(
    State(state): State<AppState>,
    ctx: Ctx,
    PathId(id): PathId,
    Json(body): Json<ConfirmUpload>,
) -> Result<(StatusCode, HeaderMap, Json<Attachment>)> {
    let access = access(&state, &ctx.principal, id, Area::Profile, true).await?;
    let current = attachments::get(state.table.as_ref(), id, body.attachment_id).await?.ok_or(ApiError::NotFound)?;
    let location = format!("/v1/users/{id}/attachments/{}", current.id);
    if current.status == AttachmentStatus::Ready {
        return Ok((StatusCode::CREATED, created_headers(current.version, &location), Json(current)));
    }
    let stored = state.blobs.head(&attachments::blob_key(id, current.id)).await?;
    match stored {
        Some(meta) if meta.size == current.size => {}
        Some(_) => return Err(ApiError::Conflict("The uploaded file does not have the declared size.".into())),
        None => return Err(ApiError::Conflict("The file has not been uploaded yet.".into())),
    }
    let attachment = Attachment {
        status: AttachmentStatus::Ready,
        updated_at: ctx.now,
        version: current.version + 1,
        ..current.clone()
    };
    let target = format!("user/{id}/attachments/{}", attachment.id);
    commit_versioned(
        state.table.as_ref(),
        vec![
            attachments::put_op(&attachment, Some(current.version), None)?,
            ctx.audit(access.audit_organisation(), "attachment.created", target).write(),
        ],
    )
    .await?;
    Ok((StatusCode::CREATED, created_headers(attachment.version, &location), Json(attachment)))
}

/// Lists a user's attachments (confirmed ones), oldest first.
#[utoipa::path(
    get,
    path = "/v1/users/{id}/attachments",
    tag = "users",
    params(("id" = Uuid, Path, description = "User id"), ListParams),
    security(("bearer" = [])),
    responses((status = 200, body = ListResponse<Attachment>), Problems)
)]
#[tracing::instrument(skip_all)]
pub async fn list_attachments(
    State(state): State<AppState>,
    principal: Principal,
    PathId(id): PathId,
    Query(params): Query<ListParams>,
) -> Result<Json<ListResponse<Attachment>>> {
    access(&state, &principal, id, Area::Profile, false).await?;
    let page = params.page()?;
    let (items, next_cursor) = query_page(
        state.table.as_ref(),
        &state.cursors,
        &format!("attachments:{id}"),
        attachments::list_query(id),
        &page,
    )
    .await?;
    // A page may come out short by its pending uploads; the cursor still moves on.
    let items = attachments::decode(items)?.into_iter().filter(|a| a.status == AttachmentStatus::Ready).collect();
    Ok(Json(ListResponse { items, next_cursor }))
}

/// Reads an attachment with a download URL.
#[utoipa::path(
    get,
    path = "/v1/users/{id}/attachments/{attachmentId}",
    tag = "users",
    params(("id" = Uuid, Path, description = "User id"), ("attachmentId" = Uuid, Path, description = "Attachment id")),
    security(("bearer" = [])),
    responses((status = 200, body = AttachmentWithDownload, headers(("ETag" = String, description = "The version"))), Problems)
)]
#[tracing::instrument(skip_all)]
pub async fn get_attachment(
    State(state): State<AppState>,
    principal: Principal,
    Path((id, attachment)): Path<(String, String)>,
) -> Result<(HeaderMap, Json<AttachmentWithDownload>)> {
    let (id, attachment) = parse_ids(&id, &attachment)?;
    access(&state, &principal, id, Area::Profile, false).await?;
    let attachment = attachments::get(state.table.as_ref(), id, attachment)
        .await?
        .filter(|a| a.status == AttachmentStatus::Ready)
        .ok_or(ApiError::NotFound)?;
    let download = state.blobs.presign_download(&attachments::blob_key(id, attachment.id), DOWNLOAD_URL_TTL).await?;
    Ok((etag_headers(attachment.version), Json(AttachmentWithDownload { attachment, download })))
}

/// Deletes an attachment and its file.
#[utoipa::path(
    delete,
    path = "/v1/users/{id}/attachments/{attachmentId}",
    tag = "users",
    params(
        ("id" = Uuid, Path, description = "User id"),
        ("attachmentId" = Uuid, Path, description = "Attachment id"),
        shared::concurrency::IfMatch,
    ),
    security(("bearer" = [])),
    responses((status = 204, description = "Deleted"), Problems, WriteProblems)
)]
#[tracing::instrument(skip_all)]
pub async fn delete_attachment(
    State(state): State<AppState>,
    ctx: Ctx,
    if_match: IfMatch,
    Path((id, attachment)): Path<(String, String)>,
) -> Result<StatusCode> {
    let (id, attachment_id) = parse_ids(&id, &attachment)?;
    let access = access(&state, &ctx.principal, id, Area::Profile, true).await?;
    let current = attachments::get(state.table.as_ref(), id, attachment_id).await?.ok_or(ApiError::NotFound)?;
    if_match.check(current.version)?;
    let delete = attachments::delete_op(id, attachment_id, current.version);
    let target = format!("user/{id}/attachments/{attachment_id}");
    commit_versioned(
        state.table.as_ref(),
        vec![delete, ctx.audit(access.audit_organisation(), "attachment.deleted", target).write()],
    )
    .await?;
    // The item goes first: a failure here leaves only an orphaned blob, never
    // an attachment whose file is gone.
    state.blobs.delete(&attachments::blob_key(id, attachment_id)).await?;
    Ok(StatusCode::NO_CONTENT)
}
