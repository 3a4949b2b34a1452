//! A user's contacts (seed 000 contact).

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use serde::Deserialize;
use utoipa::ToSchema;
use uuid::Uuid;

use shared::access::authz::Area;
use shared::concurrency::{IfMatch, etag_headers};
use shared::context::Ctx;
use shared::domain::{BoundedText, Email, new_id};
use shared::extract::{Json, PathId, Query};
use shared::identity::auth::Principal;
use shared::pagination::query_page;
use shared::people::contacts;
use shared::people::contacts::Contact;
use shared::people::users::Profile;
use shared::validation::Validator;
use shared::{ApiError, AppState, Result};

use crate::common::access;
use shared::kit::{
    BodyProblems, ListParams, ListResponse, Problems, WriteProblems, commit_versioned, created_headers, page_of,
};

/// A contact as written by clients (PUT replaces every field).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ContactBody {
    /// Name (1–100 characters).
    #[schema(schema_with = BoundedText::<100>::schema)]
    pub name: String,
    /// Phone number: digits, spaces and `+-().` (at least 3 digits, at most 32 characters).
    #[serde(default)]
    #[schema(schema_with = Profile::nullable_phone_schema)]
    pub phone: Option<String>,
    /// Email address.
    #[serde(default)]
    #[schema(schema_with = Email::nullable_schema)]
    pub email: Option<String>,
    /// Relation to the user (1–50 characters).
    #[serde(default)]
    #[schema(schema_with = BoundedText::<50>::nullable_schema)]
    pub relation: Option<String>,
    /// Note (1–1000 characters).
    #[serde(default)]
    #[schema(schema_with = BoundedText::<1000>::nullable_schema)]
    pub note: Option<String>,
    /// Media id of a picture.
    #[serde(default)]
    pub avatar_media_id: Option<Uuid>,
}

struct Checked {
    name: String,
    phone: Option<String>,
    email: Option<String>,
    relation: Option<String>,
    note: Option<String>,
}

fn check(body: &ContactBody) -> Result<Checked> {
    let mut v = Validator::new();
    let name = v.field("name", BoundedText::<100>::parse(&body.name));
    let phone = v.optional("phone", body.phone.as_deref(), Profile::parse_phone);
    let email = v.optional("email", body.email.as_deref(), |e| Email::parse(e).map(String::from));
    let relation = v.optional("relation", body.relation.as_deref(), |r| BoundedText::<50>::parse(r).map(String::from));
    let note = v.optional("note", body.note.as_deref(), |n| BoundedText::<1000>::parse(n).map(String::from));
    match (name, phone, email, relation, note) {
        (Some(name), Some(phone), Some(email), Some(relation), Some(note)) => {
            Ok(Checked { name: name.to_string(), phone, email, relation, note })
        }
        _ => Err(v.into_error()),
    }
}

fn parse_ids(id: &str, contact: &str) -> Result<(Uuid, Uuid)> {
    match (Uuid::parse_str(id), Uuid::parse_str(contact)) {
        (Ok(a), Ok(b)) => Ok((a, b)),
        _ => Err(ApiError::NotFound),
    }
}

/// Lists a user's contacts, oldest first.
#[utoipa::path(
    get,
    path = "/v1/users/{id}/contacts",
    tag = "users",
    params(("id" = Uuid, Path, description = "User id"), ListParams),
    security(("bearer" = [])),
    responses((status = 200, body = ListResponse<Contact>), Problems)
)]
#[tracing::instrument(skip_all)]
pub async fn list_contacts(
    State(state): State<AppState>,
    principal: Principal,
    PathId(id): PathId,
    Query(params): Query<ListParams>,
) -> Result<Json<ListResponse<Contact>>> {
    access(&state, &principal, id, Area::Profile, false).await?;
    let page = params.page()?;
    let (items, next) =
        query_page(state.table.as_ref(), &state.cursors, &format!("contacts:{id}"), contacts::list_query(id), &page)
            .await?;
    page_of(contacts::decode(items), next)
}

/// Adds a contact.
#[utoipa::path(
    post,
    path = "/v1/users/{id}/contacts",
    tag = "users",
    request_body = ContactBody,
    params(("id" = Uuid, Path, description = "User id"), shared::idempotency::IdempotencyKey),
    security(("bearer" = [])),
    responses(
        shared::kit::IdempotentProblems,BodyProblems, (status = 201, body = Contact, description = "Created"), Problems)
)]
#[tracing::instrument(skip_all)]
pub async fn create_contact(
    State(state): State<AppState>,
    ctx: Ctx,
    PathId(id): PathId,
    Json(body): Json<ContactBody>,
) -> Result<(StatusCode, HeaderMap, Json<Contact>)> {
    let checked = check(&body)?;
    let access = access(&state, &ctx.principal, id, Area::Profile, true).await?;
    let now = ctx.now;
    let contact = Contact {
        id: new_id(),
        user_id: id,
        name: checked.name,
        phone: checked.phone,
        email: checked.email,
        relation: checked.relation,
        note: checked.note,
        avatar_media_id: body.avatar_media_id,
        created_at: now,
        updated_at: now,
        version: 1,
    };
    commit_versioned(
        state.table.as_ref(),
        vec![
            contacts::put_op(&contact, None)?,
            ctx.audit(access.audit_organisation(), "contact.created", format!("user/{id}/contacts/{}", contact.id))
                .write(),
        ],
    )
    .await?;
    let location = format!("/v1/users/{id}/contacts/{}", contact.id);
    Ok((StatusCode::CREATED, created_headers(contact.version, &location), Json(contact)))
}

/// Replaces a contact.
#[utoipa::path(
    put,
    path = "/v1/users/{id}/contacts/{contactId}",
    tag = "users",
    request_body = ContactBody,
    params(
        ("id" = Uuid, Path, description = "User id"),
        ("contactId" = Uuid, Path, description = "Contact id"),
        shared::concurrency::IfMatch,
    ),
    security(("bearer" = [])),
    responses(BodyProblems, (status = 200, body = Contact), Problems, WriteProblems)
)]
#[tracing::instrument(skip_all)]
pub async fn put_contact(
    State(state): State<AppState>,
    ctx: Ctx,
    if_match: IfMatch,
    Path((id, contact_id)): Path<(String, String)>,
    Json(body): Json<ContactBody>,
) -> Result<(HeaderMap, Json<Contact>)> {
    let (id, contact_id) = parse_ids(&id, &contact_id)?;
    let checked = check(&body)?;
    let access = access(&state, &ctx.principal, id, Area::Profile, true).await?;
    let current = contacts::get(state.table.as_ref(), id, contact_id).await?.ok_or(ApiError::NotFound)?;
    if_match.check(current.version)?;
    let contact = Contact {
        name: checked.name,
        phone: checked.phone,
        email: checked.email,
        relation: checked.relation,
        note: checked.note,
        avatar_media_id: body.avatar_media_id,
        updated_at: ctx.now,
        version: current.version + 1,
        ..current.clone()
    };
    commit_versioned(
        state.table.as_ref(),
        vec![
            contacts::put_op(&contact, Some(current.version))?,
            ctx.audit(access.audit_organisation(), "contact.updated", format!("user/{id}/contacts/{contact_id}"))
                .write(),
        ],
    )
    .await?;
    Ok((etag_headers(contact.version), Json(contact)))
}

/// Deletes a contact.
#[utoipa::path(
    delete,
    path = "/v1/users/{id}/contacts/{contactId}",
    tag = "users",
    params(
        ("id" = Uuid, Path, description = "User id"),
        ("contactId" = Uuid, Path, description = "Contact id"),
        shared::concurrency::IfMatch,
    ),
    security(("bearer" = [])),
    responses((status = 204, description = "Deleted"), Problems, WriteProblems)
)]
#[tracing::instrument(skip_all)]
pub async fn delete_contact(
    State(state): State<AppState>,
    ctx: Ctx,
    if_match: IfMatch,
    Path((id, contact_id)): Path<(String, String)>,
) -> Result<StatusCode> {
    let (id, contact_id) = parse_ids(&id, &contact_id)?;
    let access = access(&state, &ctx.principal, id, Area::Profile, true).await?;
    let current = contacts::get(state.table.as_ref(), id, contact_id).await?.ok_or(ApiError::NotFound)?;
    if_match.check(current.version)?;
    let delete = contacts::delete_op(id, contact_id, current.version);
    let audit = ctx.audit(access.audit_organisation(), "contact.deleted", format!("user/{id}/contacts/{contact_id}"));
    commit_versioned(state.table.as_ref(), vec![delete, audit.write()]).await?;
    Ok(StatusCode::NO_CONTENT)
}
