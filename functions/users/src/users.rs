//! Creating, listing, reading, changing and deleting users.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use shared::access::authz::Area;
use shared::access::authz::OrgAccess;
use shared::access::authz::UserAccess;
use shared::access::authz::org_access;
use shared::access::authz::user_access;
use shared::concurrency::{IfMatch, etag_headers};
use shared::context::Ctx;
use shared::domain::{BoundedText, Email, Password, Role, TimeZoneName};
use shared::extract::{Json, PathId, Query};
use shared::identity::auth::Principal;
use shared::identity::one_time;
use shared::identity::one_time::Purpose;
use shared::mail::templates::{self, Recipient};
use shared::odata::{Fields, ListQuery};
use shared::organisations;
use shared::organisations::Membership;
use shared::organisations::structure;
use shared::organisations::structure::Kind;
use shared::pagination::{MAX_LIMIT, PageRequest};
use shared::people::users;
use shared::people::users::Person;
use shared::people::users::Profile;
use shared::people::users::User;
use shared::people::users::UserChange;
use shared::people::users::UserRecord;
use shared::validation::Validator;
use shared::{ApiError, AppState, Result};

use crate::common::access;
use crate::deletion;
use shared::kit::{BodyProblems, ListResponse, Problems, WriteProblems, created_headers, write_failed};

type Name = BoundedText<100>;

/// How long a set-password link works.
pub const SET_PASSWORD_TTL: chrono::Duration = chrono::Duration::days(7);

/// A user to create.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct CreateUser {
    /// Email address (unique, case-insensitive).
    #[schema(schema_with = Email::schema)]
    pub email: String,
    /// Password (8–128 characters). Without it the user is mailed a link to set one.
    #[serde(default)]
    #[schema(schema_with = Password::nullable_schema)]
    pub password: Option<String>,
    /// First name (1–100 characters).
    #[schema(schema_with = Name::schema)]
    pub first_name: String,
    /// Last name (1–100 characters).
    #[schema(schema_with = Name::schema)]
    pub last_name: String,
    /// The organisation the user joins.
    pub organisation_id: Uuid,
    /// Their role there.
    pub role: Role,
}

impl std::fmt::Debug for CreateUser {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CreateUser").field("email", &self.email).finish_non_exhaustive()
    }
}

/// Creates one user (shared by `POST /v1/users` and the bulk route): the
/// user, the email guard, the membership, the audit entry and the
/// set-password token are one transaction.
pub async fn create_one(state: &AppState, ctx: &Ctx, body: CreateUser) -> Result<User> {
    let principal = &ctx.principal;
    principal.require("users", true)?;
    if principal.api_key_organisation().is_some() {
        return Err(ApiError::Forbidden("An organisation API key cannot add members; a person must.".into()));
    }
    let mut v = Validator::new();
    let email = v.field("email", Email::parse(&body.email));
    let password = v.optional("password", body.password.as_deref(), Password::parse);
    let first_name = v.field("firstName", Name::parse(&body.first_name));
    let last_name = v.field("lastName", Name::parse(&body.last_name));
    let (Some(email), Some(password), Some(first_name), Some(last_name)) = (email, password, first_name, last_name)
    else {
        return Err(v.into_error());
    };

    let org_id = body.organisation_id;
    let caller = org_access(state.table.as_ref(), principal, org_id).await?;
    if !caller.is_admin() {
        return Err(ApiError::Forbidden("Only owners and admins of the organisation may create users.".into()));
    }
    if body.role == Role::Owner && !matches!(caller, OrgAccess::Superadmin | OrgAccess::Member(Role::Owner)) {
        return Err(ApiError::Forbidden("Only an owner may create another owner.".into()));
    }
    let org = organisations::get(state.table.as_ref(), org_id).await?.ok_or(ApiError::NotFound)?;

    let hash = match password {
        Some(password) => Some(
            tokio::task::spawn_blocking(move || password.hash()).await.map_err(|e| ApiError::Internal(e.into()))??,
        ),
        None => None,
    };
    let now = ctx.now;
    let user = UserRecord::new(&email, first_name.as_str(), last_name.as_str(), hash.as_ref(), now);
    let membership = Membership::new(org_id, user.id, body.role, now);

    let mut ops = users::create_ops(&user)?;
    ops.push(organisations::add_member_op(&membership)?);
    ops.push(ctx.audit(Some(org_id), "user.created", format!("user/{}", user.id)).write());
    let token = if hash.is_none() {
        let issued = one_time::issue(Purpose::PasswordReset, user.id, serde_json::Value::Null, now, SET_PASSWORD_TTL)?;
        ops.push(issued.write);
        Some(issued.token)
    } else {
        None
    };
    match state.table.transact_write(ops).await {
        Ok(()) => {}
        // The email guard is the only new item that can already exist.
        Err(err) if err.is_condition_failed() => {
            return Err(ApiError::Conflict("An account with this email already exists.".into()));
        }
        Err(err) => return Err(err.into()),
    }

    let to = Recipient { email: &user.email, first_name: &user.first_name };
    let mail = match &token {
        Some(token) => templates::set_password(&state.app_url, to, Some(&org.name), token),
        None => templates::welcome(&state.app_url, to),
    };
    // The account exists either way; a lost mail is recovered with a password reset.
    if let Err(err) = state.mailer.send(&mail).await {
        tracing::error!(user_id = %user.id, error = %format!("{err:#}"), "the new user's mail was not sent");
    }
    tracing::info!(user_id = %user.id, organisation_id = %org_id, "user created");
    Ok(user.view())
}

/// Creates a user in an organisation the caller administers.
#[utoipa::path(
    post,
    path = "/v1/users",
    tag = "users",
    request_body = CreateUser,
    params(shared::idempotency::IdempotencyKey),
    security(("bearer" = [])),
    responses(
        shared::kit::IdempotentProblems,
        BodyProblems,
        (status = 201, body = User, description = "Created; a welcome or set-password mail was sent"),
        Problems,
        (status = 409, body = Problem, content_type = "application/problem+json", description = "The email is already registered"),
    )
)]
#[tracing::instrument(skip_all)]
pub async fn create_user(
    State(state): State<AppState>,
    ctx: Ctx,
    Json(body): Json<CreateUser>,
) -> Result<(StatusCode, HeaderMap, Json<User>)> {
    let user = create_one(&state, &ctx, body).await?;
    Ok((StatusCode::CREATED, created_headers(user.version, &format!("/v1/users/{}", user.id)), Json(user)))
}

use shared::error::Problem;

/// A user in a list, with their role in the listed organisation.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UserListItem {
    /// The user.
    #[serde(flatten)]
    pub user: User,
    /// Their role in the organisation listed.
    pub role: Role,
}

/// Query parameters of `GET /v1/users`.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
pub struct ListUsersParams {
    /// OData filter, e.g. `role eq 'planner' and timeZone eq 'Europe/Stockholm'`
    /// (`eq ne gt ge lt le`, `and or not`, parentheses; the fields of a user
    /// and `role`, `customFields.<name>`).
    #[serde(rename = "$filter")]
    #[param(rename = "$filter", schema_with = user_filter_schema)]
    pub filter: Option<String>,
    /// OData order, e.g. `lastName asc, createdAt desc` (at most 5 terms).
    #[serde(rename = "$orderBy")]
    #[param(rename = "$orderBy", schema_with = user_order_by_schema)]
    pub order_by: Option<String>,
    /// Page size (same as `limit`; given both, they must be equal).
    #[serde(rename = "$top")]
    #[param(rename = "$top")]
    #[param(minimum = 1, maximum = 100)]
    pub top: Option<u32>,
    /// Items to skip (not together with `cursor`, which carries its own position).
    #[serde(rename = "$skip")]
    #[param(rename = "$skip")]
    #[param(minimum = 0, maximum = 10000)]
    pub skip: Option<u32>,
    /// Page size (1–100, default 25).
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<u32>,
    /// From `nextCursor` of the previous page (not together with `$skip`).
    pub cursor: Option<String>,
    /// Case-insensitive search in first, last and display name and email
    /// (at most 100 characters; blank: no search).
    #[param(max_length = 100)]
    pub q: Option<String>,
    /// The organisation (defaults to the only one the caller administers).
    pub organisation_id: Option<Uuid>,
    /// Only members with this role.
    pub role: Option<Role>,
    /// Only users of this department.
    pub department_id: Option<Uuid>,
    /// Only users at this location.
    pub location_id: Option<Uuid>,
}

/// Fields `$filter` and `$orderBy` accept on the user list.
pub const USER_FIELDS: Fields = Fields::new(&[
    "id",
    "email",
    "emailVerified",
    "firstName",
    "lastName",
    "displayName",
    "phone",
    "avatarMediaId",
    "locale",
    "timeZone",
    "bio",
    "designation",
    "departmentId",
    "locationId",
    "reportsTo",
    "locked",
    "deactivated",
    "role",
    "createdAt",
    "updatedAt",
    "customFields.*",
]);

/// The schema of the user list's `$filter`.
fn user_filter_schema() -> utoipa::openapi::Object {
    USER_FIELDS.filter_schema()
}

/// The schema of the user list's `$orderBy`.
fn user_order_by_schema() -> utoipa::openapi::Object {
    USER_FIELDS.order_by_schema()
}

/// Largest `$skip`.
const MAX_SKIP: u32 = 10_000;

/// The organisation a list is about: the one given (which the caller must
/// administer), else the only one the caller administers.
async fn listed_organisation(state: &AppState, principal: &Principal, given: Option<Uuid>) -> Result<Uuid> {
    if let Some(org) = given {
        if org_access(state.table.as_ref(), principal, org).await?.is_admin() {
            return Ok(org);
        }
        return Err(ApiError::Forbidden("Only owners and admins may list the organisation's users.".into()));
    }
    let admin_of: Vec<Uuid> = users::memberships(state.table.as_ref(), principal.user_id)
        .await?
        .into_iter()
        .filter(|m| m.role.is_admin() && !m.suspended)
        .map(|m| m.organisation_id)
        .collect();
    match admin_of.as_slice() {
        [only] => Ok(*only),
        [] => {
            let superadmin =
                users::get(state.table.as_ref(), principal.user_id).await?.is_some_and(|u| u.is_superadmin());
            if superadmin {
                Err(ApiError::invalid("organisationId", "is required"))
            } else {
                Err(ApiError::Forbidden("Only owners and admins may list users.".into()))
            }
        }
        _ => Err(ApiError::invalid("organisationId", "is required: you administer several organisations")),
    }
}

/// Lists the users of an organisation the caller administers, with OData
/// `$filter`/`$orderBy`, search and paging. One Query of the organisation's
/// member partition plus batched reads of the users; never a scan.
#[utoipa::path(
    get,
    path = "/v1/users",
    tag = "users",
    params(ListUsersParams),
    security(("bearer" = [])),
    responses((status = 200, body = ListResponse<UserListItem>), Problems)
)]
#[tracing::instrument(skip_all)]
pub async fn list_users(
    State(state): State<AppState>,
    principal: Principal,
    Query(params): Query<ListUsersParams>,
) -> Result<Json<ListResponse<serde_json::Value>>> {
    principal.require("users", false)?;
    let mut v = Validator::new();
    if let (Some(top), Some(limit)) = (params.top, params.limit)
        && top != limit
    {
        v.error("$top", "contradicts limit; give one of them");
    }
    let page = v.field(
        "limit",
        PageRequest::new(params.top.or(params.limit), params.cursor.clone())
            .map_err(|_| format!("must be between 1 and {MAX_LIMIT}")),
    );
    if params.skip.is_some_and(|s| s > MAX_SKIP) {
        v.error("$skip", format!("must be at most {MAX_SKIP}"));
    }
    if params.skip.is_some() && params.cursor.is_some() {
        v.error("$skip", "cannot be combined with cursor");
    }
    if params.q.as_ref().is_some_and(|q| q.chars().count() > 100) {
        v.error("q", "must be at most 100 characters");
    }
    let odata = match ListQuery::parse(params.filter.as_deref(), params.order_by.as_deref(), &USER_FIELDS) {
        Ok(q) => Some(q),
        Err(ApiError::Validation(errors)) => {
            for e in errors {
                v.error(&e.field, e.message);
            }
            None
        }
        Err(other) => return Err(other),
    };
    let (Some(page), Some(odata)) = (page, odata) else { return Err(v.into_error()) };
    v.finish()?;

    let org = listed_organisation(&state, &principal, params.organisation_id).await?;
    let list_name = format!("users:{org}");
    let offset = match &page.cursor {
        Some(cursor) => state.cursors.decode(&list_name, cursor)?.get("offset").and_then(|o| o.as_u64()).unwrap_or(0),
        None => u64::from(params.skip.unwrap_or(0)),
    } as usize;

    // Every membership of the organisation (one partition, paged through).
    let table = state.table.as_ref();
    let mut members = organisations::members(table, org).await?;
    if let Some(role) = params.role {
        members.retain(|m| m.role == role);
    }
    let roles: std::collections::HashMap<Uuid, Role> = members.iter().map(|m| (m.user_id, m.role)).collect();
    let ids: Vec<Uuid> = members.iter().map(|m| m.user_id).collect();
    let records = users::get_many(table, &ids).await?;

    let needle = params.q.as_deref().map(|q| q.trim().to_lowercase()).filter(|q| !q.is_empty());
    let mut items: Vec<serde_json::Value> = Vec::with_capacity(records.len());
    for record in records.into_iter().filter(|r| !r.deleting) {
        if params.department_id.is_some() && record.profile.department_id != params.department_id {
            continue;
        }
        if params.location_id.is_some() && record.profile.location_id != params.location_id {
            continue;
        }
        if let Some(needle) = &needle {
            let haystack = [
                Some(record.first_name.as_str()),
                Some(record.last_name.as_str()),
                record.profile.display_name.as_deref(),
                Some(record.email.as_str()),
            ];
            let full_name = format!("{} {}", record.first_name, record.last_name).to_lowercase();
            if !full_name.contains(needle.as_str())
                && !haystack.iter().flatten().any(|h| h.to_lowercase().contains(needle.as_str()))
            {
                continue;
            }
        }
        let role = roles.get(&record.id).copied().unwrap_or(Role::Member);
        items.push(serde_json::to_value(UserListItem { user: record.view(), role }).map_err(anyhow::Error::from)?);
    }
    let items = odata.apply(items);
    let limit = page.limit as usize;
    let total = items.len();
    let page_items: Vec<serde_json::Value> = items.into_iter().skip(offset).take(limit).collect();
    // The items were filtered as JSON and are served as such (each is a `UserListItem`).
    let next_cursor = (offset + limit < total).then(|| {
        let position = serde_json::Map::from_iter([("offset".to_string(), ((offset + limit) as u64).into())]);
        state.cursors.encode(&list_name, &position)
    });
    Ok(Json(ListResponse { items: page_items, next_cursor }))
}

/// Reads the caller's own user.
#[utoipa::path(
    get,
    path = "/v1/users/me",
    tag = "users",
    security(("bearer" = [])),
    responses((status = 200, body = User, headers(("ETag" = String, description = "The version"))), Problems)
)]
#[tracing::instrument(skip_all)]
pub async fn get_me(State(state): State<AppState>, principal: Principal) -> Result<(HeaderMap, Json<User>)> {
    let access = access(&state, &principal, principal.user_id, Area::Profile, false).await?;
    Ok((etag_headers(access.target.version), Json(access.target.view())))
}

/// Reads a user. Themself, owners/admins of one of their organisations,
/// superadmins and planners with profile access see the whole profile;
/// colleagues (members, guests, planners without profile access) the
/// directory entry (with email and phone where the organisation keeps a
/// contact directory); anyone else gets 404.
#[utoipa::path(
    get,
    path = "/v1/users/{id}",
    tag = "users",
    params(("id" = Uuid, Path, description = "User id")),
    security(("bearer" = [])),
    responses((status = 200, body = Person, headers(("ETag" = String, description = "The version"))), Problems)
)]
#[tracing::instrument(skip_all)]
pub async fn get_user(
    State(state): State<AppState>,
    principal: Principal,
    PathId(id): PathId,
) -> Result<(HeaderMap, Json<Person>)> {
    principal.require("users", false)?;
    let access = user_access(state.table.as_ref(), &principal, id).await?;
    Ok((etag_headers(access.target.version), Json(access.person())))
}

/// Deserialises a field that may be absent (unchanged), `null` (cleared) or a value.
fn nullable<'de, D, T>(de: D) -> std::result::Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(de).map(Some)
}

/// Profile changes: absent fields stay, `null` clears an optional field,
/// `customFields` is merged (a `null` member removes that field). Email,
/// password, roles and lock state have their own routes.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct UserPatch {
    /// First name (1–100 characters).
    #[serde(default)]
    #[schema(schema_with = Name::nullable_schema)]
    pub first_name: Option<String>,
    /// Last name (1–100 characters).
    #[serde(default)]
    #[schema(schema_with = Name::nullable_schema)]
    pub last_name: Option<String>,
    /// Display name (1–100 characters).
    #[serde(default, deserialize_with = "nullable")]
    #[schema(schema_with = Name::nullable_schema)]
    pub display_name: Option<Option<String>>,
    /// Phone number: digits, spaces and `+-().` (at least 3 digits, at most 32 characters).
    #[serde(default, deserialize_with = "nullable")]
    #[schema(schema_with = Profile::nullable_phone_schema)]
    pub phone: Option<Option<String>>,
    /// Media id of the profile picture.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<Uuid>)]
    pub avatar_media_id: Option<Option<Uuid>>,
    /// BCP 47 language tag.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(schema_with = Profile::nullable_locale_schema)]
    pub locale: Option<Option<String>>,
    /// IANA time zone.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<TimeZoneName>)]
    pub time_zone: Option<Option<String>>,
    /// Free text (at most 2000 characters).
    #[serde(default, deserialize_with = "nullable")]
    #[schema(schema_with = Profile::nullable_bio_schema)]
    pub bio: Option<Option<String>>,
    /// Job title (1–100 characters).
    #[serde(default, deserialize_with = "nullable")]
    #[schema(schema_with = Name::nullable_schema)]
    pub designation: Option<Option<String>>,
    /// Department id.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<Uuid>)]
    pub department_id: Option<Option<Uuid>>,
    /// Location id.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<Uuid>)]
    pub location_id: Option<Option<Uuid>>,
    /// Supervisor: a user of one of the user's organisations.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<Uuid>)]
    pub reports_to: Option<Option<Uuid>>,
    /// Custom fields to merge (`null` removes one); the merged fields stay
    /// within 50 fields and 8 KiB as JSON.
    #[serde(default)]
    #[schema(schema_with = Profile::custom_fields_schema)]
    pub custom_fields: Option<serde_json::Map<String, serde_json::Value>>,
}

/// Fields PATCH refuses, with where they are changed instead.
const NOT_PATCHABLE: &[(&str, &str)] = &[
    ("email", "is changed with POST /v1/auth/email-change"),
    ("password", "is changed with PUT /v1/auth/password"),
    ("passwordHash", "cannot be changed"),
    ("role", "is changed through the organisation's members"),
    ("roles", "is changed through the organisation's members"),
    ("platformRole", "cannot be changed"),
    ("locked", "is changed with POST /v1/users/{id}/lock or /unlock"),
    ("deactivated", "is changed with POST /v1/users/{id}/deactivate or /activate"),
    ("emailVerified", "is changed by verifying the address"),
    ("mfaEnabled", "is changed under /v1/auth/mfa"),
    ("id", "cannot be changed"),
    ("version", "is given in If-Match"),
];

/// Parses a patch body, naming every refused or invalid field.
fn parse_patch(raw: &serde_json::Value) -> Result<UserPatch> {
    let Some(map) = raw.as_object() else { return Err(ApiError::invalid("body", "must be a JSON object")) };
    let refused: Vec<_> = NOT_PATCHABLE
        .iter()
        .filter(|(name, _)| map.contains_key(*name))
        .map(|(name, why)| shared::error::FieldError::new(*name, *why))
        .collect();
    if !refused.is_empty() {
        return Err(ApiError::Validation(refused));
    }
    shared::extract::parse_json(&serde_json::to_vec(raw).map_err(anyhow::Error::from)?)
}

/// The checked change to apply.
struct ProfileChange {
    first_name: Option<String>,
    last_name: Option<String>,
    profile: Profile,
}

/// Checks that `id` names a unit of `kind` in one of `orgs`.
async fn unit_in(state: &AppState, orgs: &[Uuid], kind: Kind, id: Uuid) -> Result<bool> {
    for org in orgs {
        if structure::get(state.table.as_ref(), *org, kind, id, false).await?.is_some() {
            return Ok(true);
        }
    }
    Ok(false)
}

async fn check_patch(state: &AppState, access: &UserAccess, patch: UserPatch) -> Result<ProfileChange> {
    let target = &access.target;
    // Referenced ids must belong to an organisation the caller administers
    // for this user.
    let orgs = access.admin_organisations();
    let mut v = Validator::new();
    let first_name = v.optional("firstName", patch.first_name.as_deref(), Name::parse).flatten();
    let last_name = v.optional("lastName", patch.last_name.as_deref(), Name::parse).flatten();
    let mut profile = target.profile.clone();

    fn text(
        v: &mut Validator,
        field: &str,
        change: Option<Option<String>>,
        slot: &mut Option<String>,
        parse: impl FnOnce(&str) -> std::result::Result<String, String>,
    ) {
        match change {
            None => {}
            Some(None) => *slot = None,
            Some(Some(raw)) => {
                if let Some(value) = v.field(field, parse(&raw)) {
                    *slot = Some(value);
                }
            }
        }
    }
    text(&mut v, "displayName", patch.display_name, &mut profile.display_name, |s| Name::parse(s).map(String::from));
    text(&mut v, "phone", patch.phone, &mut profile.phone, Profile::parse_phone);
    text(&mut v, "locale", patch.locale, &mut profile.locale, Profile::parse_locale);
    text(&mut v, "timeZone", patch.time_zone, &mut profile.time_zone, Profile::parse_time_zone);
    text(&mut v, "bio", patch.bio, &mut profile.bio, Profile::parse_bio);
    text(&mut v, "designation", patch.designation, &mut profile.designation, |s| Name::parse(s).map(String::from));
    if let Some(change) = patch.avatar_media_id {
        profile.avatar_media_id = change;
    }
    if let Some(change) = patch.department_id {
        if let Some(id) = change
            && !unit_in(state, &orgs, Kind::Department, id).await?
        {
            v.error("departmentId", "is not a department of the user's organisation");
        }
        profile.department_id = change;
    }
    if let Some(change) = patch.location_id {
        if let Some(id) = change
            && !unit_in(state, &orgs, Kind::Location, id).await?
        {
            v.error("locationId", "is not a location of the user's organisation");
        }
        profile.location_id = change;
    }
    if let Some(change) = patch.reports_to {
        if let Some(boss) = change {
            if boss == target.id {
                v.error("reportsTo", "cannot be the user themself");
            } else {
                let mut shares = false;
                for org in &orgs {
                    if organisations::membership(state.table.as_ref(), *org, boss).await?.is_some() {
                        shares = true;
                        break;
                    }
                }
                if !shares {
                    v.error("reportsTo", "must be a member of the user's organisation");
                }
            }
        }
        profile.reports_to = change;
    }
    if let Some(changes) = patch.custom_fields {
        for (name, value) in changes {
            if value.is_null() {
                profile.custom_fields.remove(&name);
            } else {
                profile.custom_fields.insert(name, value);
            }
        }
        if let Err(message) = Profile::check_custom_fields(&profile.custom_fields) {
            v.error("customFields", message);
        }
    }
    v.finish()?;
    Ok(ProfileChange { first_name: first_name.map(String::from), last_name: last_name.map(String::from), profile })
}

/// The write of `change` over `record` (as read).
fn profile_update(
    record: &UserRecord,
    change: &ProfileChange,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<UserChange> {
    Ok(UserChange::of(record, now).profile(
        change.first_name.as_deref(),
        change.last_name.as_deref(),
        &change.profile,
    )?)
}

/// Changes a user's profile. `If-Match` makes it conditional (412).
#[utoipa::path(
    patch,
    path = "/v1/users/{id}",
    tag = "users",
    request_body = UserPatch,
    params(
        ("id" = Uuid, Path, description = "User id"),
        shared::concurrency::IfMatch,
    ),
    security(("bearer" = [])),
    responses(BodyProblems, (status = 200, body = User, headers(("ETag" = String, description = "The new version"))), Problems, WriteProblems)
)]
#[tracing::instrument(skip_all)]
pub async fn patch_user(
    State(state): State<AppState>,
    ctx: Ctx,
    if_match: IfMatch,
    PathId(id): PathId,
    Json(raw): Json<serde_json::Value>,
) -> Result<(HeaderMap, Json<User>)> {
    let principal = &ctx.principal;
    // A concurrent change without If-Match is retried on the fresh version;
    // with If-Match it is the client's 412.
    for _ in 0..3 {
        principal.require("users", true)?;
        let access = user_access(state.table.as_ref(), principal, id).await?;
        if !access.is_admin() {
            access.require(Area::Profile, true)?;
        }
        let patch = parse_patch(&raw)?;
        let given: Vec<&str> = raw.as_object().map(|m| m.keys().map(String::as_str).collect()).unwrap_or_default();
        access.require_profile_change(&given)?;
        if_match.check(access.target.version)?;
        let change = check_patch(&state, &access, patch).await?;
        let now = ctx.now;
        let update = profile_update(&access.target, &change, now)?;
        let audit = ctx.audit(access.audit_organisation(), "user.updated", format!("user/{id}"));
        match state.table.transact_write(vec![update.op(), audit.write()]).await {
            Ok(()) => {
                let mut user = access.target.clone();
                if let Some(name) = change.first_name {
                    user.first_name = name;
                }
                if let Some(name) = change.last_name {
                    user.last_name = name;
                }
                user.profile = change.profile;
                user.updated_at = now;
                user.version += 1;
                return Ok((etag_headers(user.version), Json(user.view())));
            }
            Err(err) if err.is_condition_failed() && if_match == IfMatch::Absent => continue,
            Err(err) => return Err(write_failed(err, &if_match, "user")),
        }
    }
    Err(ApiError::Conflict("The user kept changing; try again.".into()))
}

/// Deletes a user and everything they own (memberships, preferences,
/// follows, planner links, contacts, attachments and their files). A
/// deletion interrupted part-way is resumed by repeating the request.
#[utoipa::path(
    delete,
    path = "/v1/users/{id}",
    tag = "users",
    params(
        ("id" = Uuid, Path, description = "User id"),
        shared::concurrency::IfMatch,
    ),
    security(("bearer" = [])),
    responses((status = 204, description = "Deleted"), Problems, WriteProblems)
)]
#[tracing::instrument(skip_all)]
pub async fn delete_user(
    State(state): State<AppState>,
    ctx: Ctx,
    if_match: IfMatch,
    PathId(id): PathId,
) -> Result<StatusCode> {
    deletion::delete(&state, &ctx, &if_match, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Deletes the caller's own account and everything it owns.
#[utoipa::path(
    delete,
    path = "/v1/users/me",
    tag = "users",
    params(shared::concurrency::IfMatch),
    security(("bearer" = [])),
    responses((status = 204, description = "Deleted"), Problems, WriteProblems)
)]
#[tracing::instrument(skip_all)]
pub async fn delete_me(State(state): State<AppState>, ctx: Ctx, if_match: IfMatch) -> Result<StatusCode> {
    let principal = &ctx.principal;
    principal.require_person()?;
    deletion::delete(&state, &ctx, &if_match, principal.user_id).await?;
    Ok(StatusCode::NO_CONTENT)
}
