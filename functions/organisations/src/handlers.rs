//! Handlers of the organisations group.

use axum::http::{HeaderMap, StatusCode, header};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use shared::audit::{AuditEntry, RequestMeta};
use shared::auth::Principal;
use shared::authz::org_access;
use shared::concurrency::etag_headers;
use shared::domain::{BoundedText, Email, Password, Role};
use shared::error::Problem;
use shared::extract::{Json, PathId};
use shared::repo::organisations::{self, Membership, Organisation};
use shared::repo::users::{self, User, UserRecord};
use shared::table::{TableError, WriteOp};
use shared::validation::Validator;
use shared::{ApiError, AppState, Result};

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
    pub name: String,
}

/// The owner part of a sign-up.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct NewOwner {
    /// Email address (unique, case-insensitive).
    pub email: String,
    /// Password (8–128 characters).
    pub password: String,
    /// First name (1–100 characters).
    pub first_name: String,
    /// Last name (1–100 characters).
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
    params(("Idempotency-Key" = Option<String>, Header, description = "Makes a retry return the first response")),
    responses(
        (status = 201, body = SignUpResponse, description = "Created"),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json", description = "The email is already registered"),
    )
)]
#[tracing::instrument(skip_all)]
pub async fn create_public_organisation(
    axum::extract::State(state): axum::extract::State<AppState>,
    meta: RequestMeta,
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

    let now = state.clock.now();
    let org = Organisation::new(org_name.as_str(), now);
    let user = UserRecord::new(&email, first_name.as_str(), last_name.as_str(), Some(&hash), now);
    let membership =
        Membership { organisation_id: org.id, user_id: user.id, role: Role::Owner, created_at: now, version: 1 };
    let actor = format!("user:{}", user.id);

    let mut ops: Vec<WriteOp> = vec![organisations::create_op(&org)?];
    ops.extend(users::create_ops(&user)?);
    ops.push(organisations::add_member_op(&membership)?);
    ops.push(
        AuditEntry::new(Some(org.id), &actor, "organisation.created", format!("organisation/{}", org.id), now, &meta)
            .write(),
    );
    ops.push(AuditEntry::new(Some(org.id), &actor, "user.created", format!("user/{}", user.id), now, &meta).write());

    match state.table.transact_write(ops).await {
        Ok(()) => {}
        // The email guard is the only item that can already exist.
        Err(TableError::ConditionFailed { .. }) => {
            return Err(ApiError::Conflict("An account with this email already exists.".into()));
        }
        Err(err) => return Err(err.into()),
    }
    tracing::info!(organisation_id = %org.id, user_id = %user.id, "organisation signed up");

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
    axum::extract::State(state): axum::extract::State<AppState>,
    principal: Principal,
    PathId(id): PathId,
) -> Result<(HeaderMap, Json<Organisation>)> {
    principal.require("organisations", false)?;
    org_access(&state, &principal, id).await?;
    let org = organisations::get(state.table.as_ref(), id).await?.ok_or(ApiError::NotFound)?;
    Ok((etag_headers(org.version), Json(org)))
}
