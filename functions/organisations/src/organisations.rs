//! Organisations themselves: public sign-up, creation by a superadmin, the
//! superadmin's list, reading, renaming and deleting (the deletion itself is
//! in `deletion`).

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use shared::access::authz_org::org_context;
use shared::access::authz_org::require_superadmin;
use shared::concurrency::{IfMatch, etag_headers};
use shared::context::{AnonymousCtx, Ctx};
use shared::domain::{BoundedText, Email, Password, Role};
use shared::error::Problem;
use shared::extract::{Json, PathId, Query};
use shared::identity::auth::Principal;
use shared::mail::templates::{self, Recipient};
use shared::organisations;
use shared::organisations::Membership;
use shared::organisations::Organisation;
use shared::organisations::organisation_deletion;
use shared::pagination::ListResponse;
use shared::people::users;
use shared::people::users::User;
use shared::people::users::UserRecord;
use shared::validation::Validator;
use shared::{ApiError, AppState, Result};

use crate::common::commit;
use shared::kit::{BodyProblems, ListParams, Problems, WriteProblems, commit_versioned, commit_with, created_headers};

type Name = BoundedText<100>;
type OrgName = BoundedText<200>;

/// Public sign-up request.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct SignUpRequest {
    /// The organisation to create.
    pub organisation: NewOrganisation,
    /// Its first owner.
    pub owner: NewOwner,
}

/// The organisation part of a sign-up.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct NewOrganisation {
    /// Display name (1–200 characters).
    #[schema(schema_with = OrgName::schema)]
    pub name: String,
}

/// The owner part of a sign-up.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct NewOwner {
    /// Email address (unique, case-insensitive).
    #[schema(schema_with = Email::schema)]
    pub email: String,
    /// Password (8–128 characters).
    #[schema(schema_with = Password::schema)]
    pub password: String,
    /// First name (1–100 characters).
    #[schema(schema_with = Name::schema)]
    pub first_name: String,
    /// Last name (1–100 characters).
    #[schema(schema_with = Name::schema)]
    pub last_name: String,
}

impl std::fmt::Debug for NewOwner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewOwner").field("email", &self.email).finish_non_exhaustive()
    }
}

/// Public sign-up response.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SignUpResponse {
    /// The new organisation.
    pub organisation: Organisation,
    /// Its owner.
    pub user: User,
}

/// Creates an organisation and its owner account, atomically.
#[utoipa::path(
    post,
    path = "/v1/public/organisations",
    tag = "organisations",
    request_body = SignUpRequest,
    params(shared::idempotency::IdempotencyKey),
    responses(
        shared::kit::IdempotentProblems,
        BodyProblems,
        (status = 201, body = SignUpResponse, description = "Created"),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json", description = "The email is already registered"),
    )
)]
#[tracing::instrument(skip_all)]
pub async fn create_public_organisation(
    State(state): State<AppState>,
    AnonymousCtx(ctx): AnonymousCtx,
    Json(body): Json<SignUpRequest>,
) -> Result<(StatusCode, HeaderMap, Json<SignUpResponse>)> {
    let mut v = Validator::new();
    let org_name = v.field("organisation.name", OrgName::parse(&body.organisation.name));
    let email = v.field("owner.email", Email::parse(&body.owner.email));
    let password = v.field("owner.password", Password::parse(&body.owner.password));
    let first_name = v.field("owner.firstName", Name::parse(&body.owner.first_name));
    let last_name = v.field("owner.lastName", Name::parse(&body.owner.last_name));
    let (Some(org_name), Some(email), Some(password), Some(first_name), Some(last_name)) =
        (org_name, email, password, first_name, last_name)
    else {
        return Err(v.into_error());
    };

    // Argon2 is CPU-heavy: keep it off the async workers.
    let hash =
        tokio::task::spawn_blocking(move || password.hash()).await.map_err(|e| ApiError::Internal(e.into()))??;

    let now = ctx.now;
    let org = Organisation::new(org_name.as_str(), now);
    let user = UserRecord::new(&email, first_name.as_str(), last_name.as_str(), Some(&hash), now);
    let membership = Membership::new(org.id, user.id, Role::Owner, now);
    let actor = format!("user:{}", user.id);

    let mut ops = vec![organisations::create_op(&org)?];
    ops.extend(users::create_ops(&user)?);
    ops.push(organisations::add_member_op(&membership)?);
    ops.push(ctx.audit(Some(org.id), &actor, "organisation.created", format!("organisation/{}", org.id)).write());
    ops.push(ctx.audit(Some(org.id), &actor, "user.created", format!("user/{}", user.id)).write());
    // The owner proves their address with the mailed link; the token is stored with the account.
    let verification = shared::identity::one_time::issue_verify_email(user.id, &user.email, now)?;
    ops.push(verification.write.clone());

    // The email guard is the only item that can already exist.
    commit_with(state.table.as_ref(), ops, |_| ApiError::Conflict("An account with this email already exists.".into()))
        .await?;
    tracing::info!(organisation_id = %org.id, user_id = %user.id, "organisation signed up");
    let recipient = Recipient { email: &user.email, first_name: &user.first_name };
    let mail = templates::verify_email(&state.app_url, recipient, &verification.token);
    // The account exists either way; a lost mail is recovered with /v1/auth/verify-email/resend.
    if let Err(err) = state.mailer.send(&mail).await {
        tracing::error!(user_id = %user.id, error = %format!("{err:#}"), "sending the verification mail failed");
    }

    let mut headers = etag_headers(org.version);
    if let Ok(location) = format!("/v1/organisations/{}", org.id).parse() {
        headers.insert(header::LOCATION, location);
    }
    Ok((StatusCode::CREATED, headers, Json(SignUpResponse { organisation: org, user: user.view() })))
}

/// Reads an organisation the caller belongs to (or any, for a superadmin).
#[utoipa::path(
    get,
    path = "/v1/organisations/{id}",
    tag = "organisations",
    params(("id" = uuid::Uuid, Path, description = "Organisation id")),
    security(("bearer" = [])),
    responses(
        (status = 200, body = Organisation, headers(("ETag" = String, description = "The version"))),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    )
)]
#[tracing::instrument(skip_all, fields(organisation_id))]
pub async fn get_organisation(
    State(state): State<AppState>,
    principal: Principal,
    PathId(id): PathId,
) -> Result<(HeaderMap, Json<Organisation>)> {
    principal.require("organisations", false)?;
    let org = org_context(state.table.as_ref(), &principal, id).await?.record.organisation;
    Ok((etag_headers(org.version), Json(org)))
}

/// A superadmin's new organisation.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct CreateOrganisationRequest {
    /// Display name (1–200 characters).
    #[schema(schema_with = OrgName::schema)]
    pub name: String,
    /// An existing user to make its first owner; without one the
    /// organisation has no owner until one is added or invited.
    pub owner: Option<Uuid>,
}

/// Creates an organisation (superadmins only), optionally with an owner.
#[utoipa::path(
    post,
    path = "/v1/organisations",
    tag = "organisations",
    request_body = CreateOrganisationRequest,
    params(shared::idempotency::IdempotencyKey),
    security(("bearer" = [])),
    responses(
        shared::kit::IdempotentProblems,BodyProblems, (status = 201, body = Organisation, description = "Created", headers(("ETag" = String, description = "The version"))), Problems)
)]
#[tracing::instrument(skip_all)]
pub async fn create_organisation(
    State(state): State<AppState>,
    ctx: Ctx,
    Json(body): Json<CreateOrganisationRequest>,
) -> Result<(StatusCode, HeaderMap, Json<Organisation>)> {
    let principal = &ctx.principal;
    principal.require("organisations", true)?;
    require_superadmin(state.table.as_ref(), principal).await?;
    let mut v = Validator::new();
    let name = v.field("name", OrgName::parse(&body.name));
    let owner = match body.owner {
        Some(id) => match users::get(state.table.as_ref(), id).await? {
            Some(user) => Some(user),
            None => {
                v.error("owner", "no such user");
                None
            }
        },
        None => None,
    };
    let Some(name) = name else { return Err(v.into_error()) };
    v.finish()?;

    let now = ctx.now;
    let org = Organisation::new(name.as_str(), now);
    let mut ops = vec![organisations::create_op(&org)?];
    ops.push(ctx.audit(Some(org.id), "organisation.created", format!("organisation/{}", org.id)).write());
    if let Some(owner) = &owner {
        let membership = Membership::new(org.id, owner.id, Role::Owner, now);
        ops.push(organisations::add_member_op(&membership)?);
        ops.push(ctx.audit(Some(org.id), "member.added", format!("user/{}", owner.id)).write());
    }
    commit(&state, ops).await?;
    tracing::info!(organisation_id = %org.id, "organisation created");
    let headers = created_headers(org.version, &format!("/v1/organisations/{}", org.id));
    Ok((StatusCode::CREATED, headers, Json(org)))
}

/// Lists every organisation (superadmins only), oldest first.
#[utoipa::path(
    get,
    path = "/v1/organisations",
    tag = "organisations",
    params(ListParams),
    security(("bearer" = [])),
    responses((status = 200, body = ListResponse<Organisation>), Problems)
)]
#[tracing::instrument(skip_all)]
pub async fn list_organisations(
    State(state): State<AppState>,
    principal: Principal,
    Query(params): Query<ListParams>,
) -> Result<Json<ListResponse<Organisation>>> {
    principal.require("organisations", false)?;
    require_superadmin(state.table.as_ref(), &principal).await?;
    let page = params.page()?;
    Ok(Json(organisations::list(state.table.as_ref(), &state.cursors, &page).await?))
}

/// Changes to an organisation.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct UpdateOrganisationRequest {
    /// New display name (1–200 characters).
    #[schema(schema_with = OrgName::nullable_schema)]
    pub name: Option<String>,
    /// Keep a contact directory: members (not guests) also see colleagues'
    /// email and phone.
    pub contact_directory: Option<bool>,
}

/// Renames an organisation or changes its settings (owners and admins).
#[utoipa::path(
    patch,
    path = "/v1/organisations/{id}",
    tag = "organisations",
    request_body = UpdateOrganisationRequest,
    params(
        ("id" = Uuid, Path, description = "Organisation id"),
        shared::concurrency::IfMatch,
    ),
    security(("bearer" = [])),
    responses(BodyProblems, (status = 200, body = Organisation, headers(("ETag" = String, description = "The new version"))), Problems, WriteProblems)
)]
#[tracing::instrument(skip_all)]
pub async fn update_organisation(
    State(state): State<AppState>,
    ctx: Ctx,
    if_match: IfMatch,
    PathId(id): PathId,
    Json(body): Json<UpdateOrganisationRequest>,
) -> Result<(HeaderMap, Json<Organisation>)> {
    let principal = &ctx.principal;
    principal.require("organisations", true)?;
    let context = org_context(state.table.as_ref(), principal, id).await?;
    context.require_admin()?;
    let mut v = Validator::new();
    let name = v.optional("name", body.name.as_deref(), OrgName::parse);
    let Some(name) = name else { return Err(v.into_error()) };
    let current = context.record.organisation;
    if_match.check(current.version)?;

    let now = ctx.now;
    let mut org = current.clone();
    if let Some(name) = &name {
        org.name = name.as_str().to_string();
    }
    if let Some(directory) = body.contact_directory {
        org.contact_directory = directory;
    }
    org.updated_at = now;
    let audit = ctx.audit(Some(id), "organisation.updated", format!("organisation/{id}"));
    commit_versioned(state.table.as_ref(), vec![organisations::update_op(&current, &org)?, audit.write()]).await?;
    org.version += 1;
    Ok((etag_headers(org.version), Json(org)))
}

/// How far a deletion got.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DeletionProgress {
    /// The organisation.
    pub id: Uuid,
    /// `deleting` while items remain: send `DELETE` again to continue.
    pub status: String,
}

/// Deletes an organisation with everything it owns (owners and superadmins).
/// Large organisations are deleted over several requests: 202 means "send
/// `DELETE` again to continue", 204 that it is gone.
#[utoipa::path(
    delete,
    path = "/v1/organisations/{id}",
    tag = "organisations",
    params(
        ("id" = Uuid, Path, description = "Organisation id"),
        shared::concurrency::IfMatch,
    ),
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Deleted"),
        (status = 202, body = DeletionProgress, description = "Deletion in progress; repeat the request"),
        Problems, WriteProblems
    )
)]
#[tracing::instrument(skip_all)]
pub async fn delete_organisation(
    State(state): State<AppState>,
    ctx: Ctx,
    if_match: IfMatch,
    PathId(id): PathId,
) -> Result<axum::response::Response> {
    let principal = &ctx.principal;
    use axum::response::IntoResponse;
    principal.require("organisations", true)?;
    let table = state.table.as_ref();
    let record = organisations::get_record(table, id).await?.ok_or(ApiError::NotFound)?;
    let membership = organisations::membership(table, id, principal.user_id).await?;
    let superadmin = users::get(table, principal.user_id).await?.is_some_and(|u| u.is_superadmin());
    let is_owner = membership.as_ref().is_some_and(|m| m.role == Role::Owner);
    if record.deleting {
        // Only a deletion's requester, an owner or a superadmin resumes it;
        // to everyone else the organisation is already gone.
        if !(superadmin || is_owner || record.deletion_requested_by == Some(principal.user_id)) {
            return Err(ApiError::NotFound);
        }
    } else {
        if membership.is_none() && !superadmin {
            return Err(ApiError::NotFound);
        }
        if !(superadmin || is_owner) {
            return Err(ApiError::Forbidden("Only owners may delete the organisation.".into()));
        }
        if_match.check(record.organisation.version)?;
        let now = ctx.now;
        let mark = organisation_deletion::mark_op(id, record.organisation.version, principal.user_id, now)?;
        let audit = ctx.audit(Some(id), "organisation.deletion_started", format!("organisation/{id}"));
        commit_versioned(table, vec![mark, audit.write()]).await?;
        tracing::info!(organisation_id = %id, "organisation deletion started");
    }
    match crate::deletion::purge(&state, &ctx, id).await? {
        crate::deletion::Progress::Done => {
            tracing::info!(organisation_id = %id, "organisation deleted");
            Ok(StatusCode::NO_CONTENT.into_response())
        }
        crate::deletion::Progress::More => {
            Ok((StatusCode::ACCEPTED, Json(DeletionProgress { id, status: "deleting".into() })).into_response())
        }
    }
}
