//! Invitations (seeds 001 invitations, 003 InviteUser/InviteOwner/
//! ResendInvitation, 000 invite): owners and admins invite an address with a
//! role; the invitee gets a mail with the organisation's invitation text and
//! a single-use link (7 days) and accepts either with a new account or, when
//! signed in with that address, as the existing user.
//!
//! Every step is one transaction with its audit entry (see
//! `shared::organisations::invitations` for the items): accepting creates the
//! account (if new), the membership, marks the invitation accepted and
//! spends the token together, so a token works once and a half-accepted
//! invitation cannot exist.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use shared::access::authz_org::OrgContext;
use shared::access::authz_org::org_context;
use shared::concurrency::{IfMatch, etag_headers};
use shared::context::{Ctx, PublicCtx};
use shared::domain::{BoundedText, Email, Password, Role};
use shared::error::Problem;
use shared::extract::{Json, PathId, Query};
use shared::identity::auth::Principal;
use shared::mail::templates;
use shared::odata::{Fields, ListQuery};
use shared::organisations;
use shared::organisations::Membership;
use shared::organisations::Organisation;
use shared::organisations::invitations;
use shared::organisations::invitations::Invitation;
use shared::organisations::invitations::InvitationRecord;
use shared::organisations::invitations::InvitationStatus;
use shared::pagination::{ListResponse, PageRequest};
use shared::people::users;
use shared::people::users::User;
use shared::people::users::UserRecord;
use shared::validation::Validator;
use shared::{ApiError, AppState, Result};

use shared::kit::{BodyProblems, CHANGED_CONCURRENTLY, Failure, PathIds, Problems, Tx, WriteProblems, created_headers};

type Name = BoundedText<100>;

const ALREADY_MEMBER: &str = "This address already belongs to a member of the organisation.";
const ALREADY_PENDING: &str = "A pending invitation for this address exists; resend it instead.";

/// Fields `$filter` accepts on the invitation list.
const INVITATION_FIELDS: Fields = Fields::new(&["email", "role", "status", "createdAt", "expiresAt"]);
/// The schema of the invitation list's `$filter`.
fn invitation_filter_schema() -> utoipa::openapi::Object {
    INVITATION_FIELDS.filter_schema()
}

/// Most invitations one list request examines; a page may come back short
/// (with a `nextCursor`) when a selective filter skips more than this.
const MAX_EXAMINED: usize = 1000;

/// A new invitation.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct NewInvitation {
    /// The address to invite.
    #[schema(schema_with = Email::schema)]
    pub email: String,
    /// The role the invitee gets (only an owner may invite an owner).
    pub role: Role,
}

/// Which invitations to list.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct InvitationListParams {
    /// OData filter over `email, role, status, createdAt, expiresAt`, e.g. `status eq 'pending'`.
    #[serde(rename = "$filter")]
    #[param(rename = "$filter", schema_with = invitation_filter_schema)]
    pub filter: Option<String>,
    /// Items per page (1–100, default 25).
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<u32>,
    /// The `nextCursor` of the previous page.
    pub cursor: Option<String>,
}

/// Accepting an invitation: `token` alone when signed in as the invited
/// address, otherwise also the new account's names and password.
#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct AcceptInvitation {
    /// The token from the mailed link.
    pub token: String,
    /// First name of the new account (1–100 characters; not when signed in).
    pub first_name: Option<String>,
    /// Last name of the new account (1–100 characters; not when signed in).
    pub last_name: Option<String>,
    /// Password of the new account (8–128 characters; not when signed in).
    pub password: Option<String>,
}

/// The two shapes `accept_as_existing` and `accept_as_new` accept: the
/// token alone (signed in), or the token with all of the new account's
/// names and password (without credentials).
impl utoipa::PartialSchema for AcceptInvitation {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{AdditionalProperties, ObjectBuilder, OneOfBuilder};
        let token = || {
            let mut schema = shared::domain::non_empty_schema();
            schema.description = Some("The token from the mailed link.".into());
            schema
        };
        let signed_in = ObjectBuilder::new()
            .title(Some("Signed in"))
            .description(Some("Signed in as the invited address: the invitation joins that account."))
            .property("token", token())
            .required("token")
            .additional_properties(Some(AdditionalProperties::FreeForm(false)));
        let new_account = ObjectBuilder::new()
            .title(Some("New account"))
            .description(Some("Without credentials: creates the account of the invited address."))
            .property("token", token())
            .property("firstName", Name::schema())
            .property("lastName", Name::schema())
            .property("password", Password::schema())
            .required("token")
            .required("firstName")
            .required("lastName")
            .required("password")
            .additional_properties(Some(AdditionalProperties::FreeForm(false)));
        OneOfBuilder::new()
            .item(signed_in)
            .item(new_account)
            .description(Some(
                "Accepting an invitation: `token` alone when signed in as the invited address, \
                 otherwise also the new account's names and password.",
            ))
            .into()
    }
}

impl ToSchema for AcceptInvitation {}

impl std::fmt::Debug for AcceptInvitation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AcceptInvitation").finish_non_exhaustive()
    }
}

/// An accepted invitation: the organisation joined and the member's account.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AcceptedInvitation {
    /// The organisation joined.
    pub organisation: Organisation,
    /// The account (new or existing).
    pub user: User,
}

/// 403 unless an owner (or superadmin) invites an owner.
fn check_role(ctx: &OrgContext, role: Role) -> Result<()> {
    if role == Role::Owner && !ctx.is_owner() {
        return Err(ApiError::Forbidden("Only an owner may invite an owner.".into()));
    }
    Ok(())
}

/// 409 when `email` already belongs to a member of `org`.
async fn check_not_member(state: &AppState, org: Uuid, email: &Email) -> Result<()> {
    let table = state.table.as_ref();
    if let Some(user) = users::find_by_email(table, email).await?
        && organisations::membership(table, org, user.id).await?.is_some()
    {
        return Err(ApiError::Conflict(ALREADY_MEMBER.into()));
    }
    Ok(())
}

/// Mails the invitation link; the invitation exists either way (a lost mail
/// is recovered with `resend`), so a failure is logged, not answered.
async fn send_mail(state: &AppState, ctx: &OrgContext, record: &InvitationRecord, token: &str) {
    let org = &ctx.record.organisation;
    let text = match shared::organisations::invitation_text::get(state.table.as_ref(), org.id).await {
        Ok(text) => text.text,
        Err(err) => {
            tracing::error!(organisation_id = %org.id, error = %format!("{err:#}"), "reading the invitation text failed");
            None
        }
    };
    let mail =
        templates::invitation(&state.app_url, &record.email, &org.name, record.role.as_str(), text.as_deref(), token);
    if let Err(err) = state.mailer.send(&mail).await {
        tracing::error!(invitation_id = %record.id, error = %format!("{err:#}"), "sending the invitation mail failed");
    }
}

/// Invites an address to the organisation (owners and admins) and mails it
/// a single-use link valid for 7 days.
#[utoipa::path(
    post,
    path = "/v1/organisations/{id}/invitations",
    tag = "organisations",
    request_body = NewInvitation,
    params(
        ("id" = Uuid, Path, description = "Organisation id"),
        shared::idempotency::IdempotencyKey,
    ),
    security(("bearer" = []), ("apiKey" = [])),
    responses(
        shared::kit::IdempotentProblems,
        BodyProblems,
        (status = 201, body = Invitation, headers(("ETag" = String, description = "The version"))),
        Problems,
        WriteProblems
    )
)]
#[tracing::instrument(skip_all)]
pub async fn create_invitation(
    State(state): State<AppState>,
    ctx: Ctx,
    PathId(org): PathId,
    Json(body): Json<NewInvitation>,
) -> Result<(StatusCode, HeaderMap, Json<Invitation>)> {
    let principal = &ctx.principal;
    principal.require("organisations", true)?;
    let context = org_context(state.table.as_ref(), principal, org).await?;
    context.require_admin()?;
    let mut v = Validator::new();
    let Some(email) = v.field("email", Email::parse(&body.email)) else { return Err(v.into_error()) };
    check_role(&context, body.role)?;
    check_not_member(&state, org, &email).await?;

    let table = state.table.as_ref();
    let now = ctx.now;
    // An expired invitation no longer holds its address: a new one replaces it.
    let replacing = match invitations::pending_holder(table, org, email.as_str()).await? {
        None => None,
        Some(holder) => match invitations::get(table, org, holder).await? {
            Some(old) if old.status_at(now) == InvitationStatus::Pending => {
                return Err(ApiError::Conflict(ALREADY_PENDING.into()));
            }
            _ => Some(holder),
        },
    };

    let token = invitations::new_token();
    let record = InvitationRecord::new(org, email.as_str(), body.role, principal.actor(), token.hash.clone(), now);
    let mut tx = Tx::new();
    tx.push(invitations::create_op(&record)?, Failure::Conflict(CHANGED_CONCURRENTLY));
    tx.push(invitations::put_token_op(&record)?, Failure::Conflict(CHANGED_CONCURRENTLY));
    tx.push(invitations::claim_guard_op(&record, replacing), Failure::Conflict(ALREADY_PENDING));
    tx.push(
        ctx.audit(Some(org), "invitation.created", format!("invitation/{}", record.id)).write(),
        Failure::Conflict(CHANGED_CONCURRENTLY),
    );
    tx.commit(table).await?;
    tracing::info!(organisation_id = %org, invitation_id = %record.id, "invitation created");
    send_mail(&state, &context, &record, &token.token).await;

    let headers = created_headers(record.version, &format!("/v1/organisations/{org}/invitations/{}", record.id));
    Ok((StatusCode::CREATED, headers, Json(record.view(now))))
}

/// Lists the organisation's invitations, oldest first (owners and admins);
/// `status` is computed, so `status eq 'expired'` finds lapsed ones.
#[utoipa::path(
    get,
    path = "/v1/organisations/{id}/invitations",
    tag = "organisations",
    params(("id" = Uuid, Path, description = "Organisation id"), InvitationListParams),
    security(("bearer" = []), ("apiKey" = [])),
    responses((status = 200, body = ListResponse<Invitation>), Problems)
)]
#[tracing::instrument(skip_all)]
pub async fn list_invitations(
    State(state): State<AppState>,
    principal: Principal,
    PathId(org): PathId,
    Query(params): Query<InvitationListParams>,
) -> Result<Json<ListResponse<Invitation>>> {
    principal.require("organisations", false)?;
    org_context(state.table.as_ref(), &principal, org).await?.require_admin()?;
    let page = PageRequest::new(params.limit, params.cursor)?;
    let odata = ListQuery::parse(params.filter.as_deref(), None, &INVITATION_FIELDS)?;
    let now = state.clock.now();
    let keep = |record: &InvitationRecord| -> anyhow::Result<bool> {
        Ok(match &odata.filter {
            Some(filter) => filter.matches(&serde_json::to_value(record.view(now))?),
            None => true,
        })
    };
    // The cursor is bound to the filter, so it cannot be replayed under another.
    let filter = params.filter.as_deref().unwrap_or("");
    let found =
        invitations::list_filtered(state.table.as_ref(), &state.cursors, org, filter, &page, MAX_EXAMINED, keep)
            .await?;
    let items = found.items.iter().map(|record| record.view(now)).collect();
    Ok(Json(ListResponse { items, next_cursor: found.next_cursor }))
}

/// Revokes an invitation (owners and admins): its link stops working.
#[utoipa::path(
    delete,
    path = "/v1/organisations/{id}/invitations/{invId}",
    tag = "organisations",
    params(
        ("id" = Uuid, Path, description = "Organisation id"),
        ("invId" = Uuid, Path, description = "Invitation id"),
        shared::concurrency::IfMatch,
    ),
    security(("bearer" = []), ("apiKey" = [])),
    responses((status = 204, description = "Revoked (or already revoked)"), Problems, WriteProblems)
)]
#[tracing::instrument(skip_all)]
pub async fn revoke_invitation(
    State(state): State<AppState>,
    ctx: Ctx,
    if_match: IfMatch,
    PathIds(org, id): PathIds,
) -> Result<StatusCode> {
    let principal = &ctx.principal;
    principal.require("organisations", true)?;
    let context = org_context(state.table.as_ref(), principal, org).await?;
    context.require_admin()?;
    let table = state.table.as_ref();
    let record = invitations::get(table, org, id).await?.ok_or(ApiError::NotFound)?;
    if_match.check(record.version)?;
    match record.status {
        InvitationStatus::Revoked => return Ok(StatusCode::NO_CONTENT),
        InvitationStatus::Accepted => {
            return Err(ApiError::Conflict("The invitation was accepted; remove the member instead.".into()));
        }
        InvitationStatus::Pending | InvitationStatus::Expired => {}
    }
    check_role(&context, record.role)?;
    let now = ctx.now;
    let mut tx = Tx::new();
    tx.push(invitations::close_op(&record, InvitationStatus::Revoked, None, now), Failure::Precondition);
    if let Some(hash) = &record.token_hash {
        tx.push(invitations::drop_token_op(hash), Failure::Conflict(CHANGED_CONCURRENTLY));
    }
    // An expired invitation may have been superseded; release only what it holds.
    if invitations::pending_holder(table, org, &record.email).await? == Some(record.id) {
        tx.push(invitations::release_guard_op(&record), Failure::Conflict(CHANGED_CONCURRENTLY));
    }
    tx.push(
        ctx.audit(Some(org), "invitation.revoked", format!("invitation/{id}")).write(),
        Failure::Conflict(CHANGED_CONCURRENTLY),
    );
    tx.commit(table).await?;
    tracing::info!(organisation_id = %org, invitation_id = %id, "invitation revoked");
    Ok(StatusCode::NO_CONTENT)
}

/// Mails a pending or expired invitation again with a new link and a new
/// 7-day expiry; the previous link stops working.
#[utoipa::path(
    post,
    path = "/v1/organisations/{id}/invitations/{invId}/resend",
    tag = "organisations",
    params(
        ("id" = Uuid, Path, description = "Organisation id"),
        ("invId" = Uuid, Path, description = "Invitation id"),
    ),
    security(("bearer" = []), ("apiKey" = [])),
    responses(
        (status = 200, body = Invitation, headers(("ETag" = String, description = "The new version"))),
        Problems,
        WriteProblems
    )
)]
#[tracing::instrument(skip_all)]
pub async fn resend_invitation(
    State(state): State<AppState>,
    ctx: Ctx,
    PathIds(org, id): PathIds,
) -> Result<(HeaderMap, Json<Invitation>)> {
    let principal = &ctx.principal;
    principal.require("organisations", true)?;
    let context = org_context(state.table.as_ref(), principal, org).await?;
    context.require_admin()?;
    let table = state.table.as_ref();
    let record = invitations::get(table, org, id).await?.ok_or(ApiError::NotFound)?;
    if !matches!(record.status, InvitationStatus::Pending) {
        return Err(ApiError::Conflict("Only a pending or expired invitation can be resent.".into()));
    }
    check_role(&context, record.role)?;
    let email = Email::parse(&record.email).map_err(|e| anyhow::anyhow!("stored invitation address: {e}"))?;
    check_not_member(&state, org, &email).await?;

    let now = ctx.now;
    let token = invitations::new_token();
    let mut tx = Tx::new();
    tx.push(invitations::renew_op(&record, &token.hash, now), Failure::Conflict(CHANGED_CONCURRENTLY));
    if let Some(old) = &record.token_hash {
        tx.push(invitations::drop_token_op(old), Failure::Conflict(CHANGED_CONCURRENTLY));
    }
    let renewed = InvitationRecord {
        token_hash: Some(token.hash.clone()),
        expires_at: now + invitations::TTL,
        updated_at: now,
        version: record.version + 1,
        ..record
    };
    tx.push(invitations::put_token_op(&renewed)?, Failure::Conflict(CHANGED_CONCURRENTLY));
    tx.push(
        invitations::holds_guard_op(&renewed),
        Failure::Conflict("A newer invitation for this address is pending; resend that one."),
    );
    tx.push(
        ctx.audit(Some(org), "invitation.resent", format!("invitation/{id}")).write(),
        Failure::Conflict(CHANGED_CONCURRENTLY),
    );
    tx.commit(table).await?;
    tracing::info!(organisation_id = %org, invitation_id = %id, "invitation resent");
    send_mail(&state, &context, &renewed, &token.token).await;
    Ok((etag_headers(renewed.version), Json(renewed.view(now))))
}

/// Accepts an invitation with the mailed token. Without credentials it
/// creates the account (the invited address, verified: the invitee proved
/// the mailbox) and answers 201; signed in as the invited address it adds
/// the membership and answers 200. An unknown, used, revoked or expired
/// token is a 404; an address registered meanwhile is a 409 (sign in, then
/// accept as that user).
#[utoipa::path(
    post,
    path = "/v1/invitations/accept",
    tag = "organisations",
    request_body = AcceptInvitation,
    security((), ("bearer" = [])),
    responses(
        BodyProblems,
        (status = 200, body = AcceptedInvitation, description = "Joined as the signed-in user"),
        (status = 201, body = AcceptedInvitation, description = "Account created and joined"),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json", description = "Signed in as another address, or with an API key"),
        (status = 404, body = Problem, content_type = "application/problem+json", description = "Unknown, used, revoked or expired token"),
        (status = 409, body = Problem, content_type = "application/problem+json", description = "Already a member, or the address was registered meanwhile"),
    )
)]
#[tracing::instrument(skip_all)]
pub async fn accept_invitation(
    State(state): State<AppState>,
    ctx: PublicCtx,
    Json(body): Json<AcceptInvitation>,
) -> Result<(StatusCode, Json<AcceptedInvitation>)> {
    match &ctx.principal {
        Some(principal) => accept_as_existing(&state, &ctx, principal, body).await,
        None => accept_as_new(&state, &ctx, body).await,
    }
}

/// The invitation and organisation of a live token (404 otherwise).
async fn live_invitation(
    state: &AppState,
    token: &str,
    now: DateTime<Utc>,
) -> Result<(InvitationRecord, Organisation, String)> {
    let table = state.table.as_ref();
    let record = invitations::find_by_token(table, token).await?.ok_or(ApiError::NotFound)?;
    if record.status_at(now) != InvitationStatus::Pending {
        return Err(ApiError::NotFound);
    }
    let org = organisations::get(table, record.organisation_id).await?.ok_or(ApiError::NotFound)?;
    let hash = record.token_hash.clone().ok_or(ApiError::NotFound)?;
    Ok((record, org, hash))
}

/// The writes every acceptance shares: the membership, the invitation
/// closed, the token spent, the address released, the audit entries.
fn acceptance(
    tx: &mut Tx,
    record: &InvitationRecord,
    hash: &str,
    user: Uuid,
    actor: &str,
    ctx: &PublicCtx,
) -> Result<()> {
    let (org, now) = (record.organisation_id, ctx.now);
    let membership = Membership::new(org, user, record.role, now);
    tx.push(organisations::add_member_op(&membership)?, Failure::Conflict(ALREADY_MEMBER));
    tx.push(invitations::close_op(record, InvitationStatus::Accepted, Some(user), now), Failure::NotFound);
    tx.push(invitations::spend_token_op(hash), Failure::NotFound);
    tx.push(invitations::release_guard_op(record), Failure::Conflict(CHANGED_CONCURRENTLY));
    let target = format!("invitation/{}", record.id);
    tx.push(
        ctx.audit(Some(org), actor, "invitation.accepted", target).write(),
        Failure::Conflict(CHANGED_CONCURRENTLY),
    );
    tx.push(
        ctx.audit(Some(org), actor, "member.added", format!("user/{user}")).write(),
        Failure::Conflict(CHANGED_CONCURRENTLY),
    );
    Ok(())
}

async fn accept_as_existing(
    state: &AppState,
    ctx: &PublicCtx,
    principal: &Principal,
    body: AcceptInvitation,
) -> Result<(StatusCode, Json<AcceptedInvitation>)> {
    principal.require_person()?;
    principal.require("organisations", true)?;
    let mut v = Validator::new();
    if body.token.is_empty() {
        v.error("token", "is required");
    }
    for (field, given) in [("firstName", &body.first_name), ("lastName", &body.last_name), ("password", &body.password)]
    {
        if given.is_some() {
            v.error(field, "must not be given when signed in: the invitation joins the signed-in account");
        }
    }
    v.finish()?;

    let table = state.table.as_ref();
    let now = ctx.now;
    let (record, org, hash) = live_invitation(state, &body.token, now).await?;
    let user = users::get(table, principal.user_id).await?.filter(|u| !u.deleting).ok_or(ApiError::Unauthenticated)?;
    if user.email != record.email {
        return Err(ApiError::Forbidden(
            "The invitation was sent to another address than the signed-in account's.".into(),
        ));
    }
    if organisations::membership(table, org.id, user.id).await?.is_some() {
        return Err(ApiError::Conflict("You are already a member of this organisation.".into()));
    }
    let mut tx = Tx::new();
    acceptance(&mut tx, &record, &hash, user.id, &principal.actor(), ctx)?;
    tx.commit(table).await?;
    tracing::info!(organisation_id = %org.id, invitation_id = %record.id, user_id = %user.id, "invitation accepted");
    Ok((StatusCode::OK, Json(AcceptedInvitation { organisation: org, user: user.view() })))
}

async fn accept_as_new(
    state: &AppState,
    ctx: &PublicCtx,
    body: AcceptInvitation,
) -> Result<(StatusCode, Json<AcceptedInvitation>)> {
    let mut v = Validator::new();
    if body.token.is_empty() {
        v.error("token", "is required");
    }
    let required = |v: &mut Validator, field: &str, value: &Option<String>| {
        if value.is_none() {
            v.error(field, "is required to create the account (or sign in to accept as an existing user)");
        }
    };
    required(&mut v, "firstName", &body.first_name);
    required(&mut v, "lastName", &body.last_name);
    required(&mut v, "password", &body.password);
    let first_name = body.first_name.as_deref().and_then(|raw| v.field("firstName", Name::parse(raw)));
    let last_name = body.last_name.as_deref().and_then(|raw| v.field("lastName", Name::parse(raw)));
    let password = body.password.as_deref().and_then(|raw| v.field("password", Password::parse(raw)));
    let (Some(first_name), Some(last_name), Some(password)) = (first_name, last_name, password) else {
        return Err(v.into_error());
    };
    v.finish()?;

    let table = state.table.as_ref();
    let now = ctx.now;
    let (record, org, hash) = live_invitation(state, &body.token, now).await?;
    let email = Email::parse(&record.email).map_err(|e| anyhow::anyhow!("stored invitation address: {e}"))?;
    const REGISTERED: &str = "An account with this address exists; sign in and accept the invitation as that user.";
    if users::find_by_email(table, &email).await?.is_some() {
        return Err(ApiError::Conflict(REGISTERED.into()));
    }
    // Argon2 is CPU-heavy: keep it off the async workers.
    let hash_pw =
        tokio::task::spawn_blocking(move || password.hash()).await.map_err(|e| ApiError::Internal(e.into()))??;
    let mut user = UserRecord::new(&email, first_name.as_str(), last_name.as_str(), Some(&hash_pw), now);
    // The invitee proved the mailbox by following the mailed link.
    user.email_verified = true;
    let actor = format!("user:{}", user.id);

    let mut tx = Tx::new();
    let [user_put, guard_put]: [_; 2] =
        users::create_ops(&user)?.try_into().map_err(|_| anyhow::anyhow!("a user is two writes"))?;
    tx.push(user_put, Failure::Conflict(CHANGED_CONCURRENTLY));
    // The email guard exists if the address was registered meanwhile.
    tx.push(guard_put, Failure::Conflict(REGISTERED));
    tx.push(
        ctx.audit(Some(org.id), &actor, "user.created", format!("user/{}", user.id)).write(),
        Failure::Conflict(CHANGED_CONCURRENTLY),
    );
    acceptance(&mut tx, &record, &hash, user.id, &actor, ctx)?;
    tx.commit(table).await?;
    tracing::info!(organisation_id = %org.id, invitation_id = %record.id, user_id = %user.id, "invitation accepted by a new user");
    Ok((StatusCode::CREATED, Json(AcceptedInvitation { organisation: org, user: user.view() })))
}
