//! Authentication: who is calling, decided in this one place for every
//! group. Credentials, in order of precedence:
//!
//! - `Authorization: Bearer <access token>`: a short-lived HS256 JWT
//!   (algorithm pinned, issuer and audience checked, expiry checked against
//!   the `Clock`) whose login session must still exist, so that logout and
//!   revocation take effect at once (one GetItem per request);
//! - `Authorization: Bearer sdl_pat_...`: a personal access token, looked up
//!   by its hash, with the scopes it was granted;
//! - the `__Host-sundial_session` cookie of a browser session; state-changing
//!   methods also need the session's `X-CSRF-Token`;
//! - `X-API-Key: sdl_key_...`: an organisation API key, looked up by its
//!   hash. It acts for its organisation, not for a person: its principal's
//!   `user_id` is the nil UUID, which no user has, `OrgAccess::ApiKey` gives
//!   it admin-like access to that one organisation only, `user_access`
//!   reaches only that organisation's members and refuses "self" (403), and
//!   its scopes never include `auth`, so every credential and session route
//!   answers 403.

use axum::extract::FromRequestParts;
use axum::http::header;
use axum::http::request::Parts;
use chrono::{DateTime, Duration, Utc};
use uuid::Uuid;

use crate::access::api_keys;
use crate::error::ApiError;
use crate::identity::personal_tokens;
use crate::identity::sessions;
use crate::identity::sessions::SessionKind;
use crate::identity::sessions::SessionRecord;
use crate::organisations;
use crate::people::users;
use crate::state::AppState;

pub use crate::identity::access_token::ACCESS_TOKEN_TTL;
pub use crate::identity::access_token::AUDIENCE;
pub use crate::identity::access_token::AccessClaims;
pub use crate::identity::access_token::ISSUER;
pub use crate::identity::access_token::TokenKeys;

/// What a credential may do: `<area>:read` / `<area>:write`, write implying read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scopes {
    /// A full login session.
    All,
    /// Only these scopes.
    Only(Vec<String>),
}

impl Scopes {
    /// Parses a space-separated scope string (`*` is everything).
    pub fn parse(raw: &str) -> Self {
        if raw.split_whitespace().any(|s| s == "*") {
            Scopes::All
        } else {
            Scopes::Only(raw.split_whitespace().map(str::to_string).collect())
        }
    }

    /// Whether `area` may be read (`write == false`) or written.
    pub fn allows(&self, area: &str, write: bool) -> bool {
        match self {
            Scopes::All => true,
            Scopes::Only(scopes) => {
                let w = format!("{area}:write");
                let r = format!("{area}:read");
                scopes.iter().any(|s| *s == w || (!write && *s == r))
            }
        }
    }
}

/// Which kind of credential authenticated a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Credential {
    /// A bearer access token of a login session.
    AccessToken,
    /// The web session cookie (state changes need the CSRF header).
    Cookie,
    /// A personal access token (`sdl_pat_...`) with this id.
    PersonalAccessToken(String),
    /// An organisation API key (`X-API-Key: sdl_key_...`).
    ApiKey {
        /// The organisation it acts for.
        organisation_id: Uuid,
        /// The key's id.
        key_id: Uuid,
    },
}

/// An authenticated caller.
#[derive(Debug, Clone)]
pub struct Principal {
    /// The user acting; the nil UUID (no user) for an organisation API key.
    pub user_id: Uuid,
    /// The login session the credential belongs to; empty for a personal
    /// access token.
    pub session_id: String,
    /// What the credential may do.
    pub scopes: Scopes,
    /// When the user last proved their password (the Unix epoch for a
    /// personal access token, which therefore never counts as a recent login).
    pub auth_time: DateTime<Utc>,
    /// How the request was authenticated.
    pub credential: Credential,
}

impl Principal {
    /// 403 unless the credential carries the scope.
    pub fn require(&self, area: &str, write: bool) -> Result<(), ApiError> {
        if self.scopes.allows(area, write) {
            Ok(())
        } else {
            let access = if write { "write" } else { "read" };
            Err(ApiError::Forbidden(format!("The credential lacks the {area}:{access} scope.")))
        }
    }

    /// The actor name written to audit entries (`user:<id>` or `apikey:<id>`).
    pub fn actor(&self) -> String {
        match &self.credential {
            Credential::ApiKey { key_id, .. } => format!("apikey:{key_id}"),
            _ => format!("user:{}", self.user_id),
        }
    }

    /// The organisation an API key acts for; `None` for a person's credential.
    pub fn api_key_organisation(&self) -> Option<Uuid> {
        match self.credential {
            Credential::ApiKey { organisation_id, .. } => Some(organisation_id),
            _ => None,
        }
    }

    /// 403 for an organisation API key: routes about "the caller" as a
    /// person (their account, sessions, invitations to them) need one.
    pub fn require_person(&self) -> Result<(), ApiError> {
        match self.credential {
            Credential::ApiKey { .. } => {
                Err(ApiError::Forbidden("An organisation API key acts for no person; use a user's credential.".into()))
            }
            _ => Ok(()),
        }
    }
}

/// Name of the browser session cookie.
pub const SESSION_COOKIE: &str = platform::openapi::SESSION_COOKIE;
/// Header carrying the CSRF token of a cookie session.
pub const CSRF_HEADER: &str = "x-csrf-token";
/// Header carrying an organisation API key.
pub const API_KEY_HEADER: &str = "x-api-key";

/// The `Set-Cookie` value establishing a browser session: HttpOnly (no
/// script can read it), Secure, SameSite=Lax, for the whole API.
pub fn session_cookie(value: &str, max_age: Duration) -> String {
    cookie::Cookie::build((SESSION_COOKIE, value.to_string()))
        .http_only(true)
        .secure(true)
        .same_site(cookie::SameSite::Lax)
        .path("/")
        .max_age(cookie::time::Duration::seconds(max_age.num_seconds()))
        .build()
        .to_string()
}

/// The `Set-Cookie` value removing the browser session cookie.
pub fn clear_session_cookie() -> String {
    cookie::Cookie::build((SESSION_COOKIE, ""))
        .http_only(true)
        .secure(true)
        .same_site(cookie::SameSite::Lax)
        .path("/")
        .removal()
        .build()
        .to_string()
}

fn bearer(parts: &Parts) -> Option<&str> {
    let value = parts.headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

fn api_key(parts: &Parts) -> Option<&str> {
    parts.headers.get(API_KEY_HEADER).map(|v| v.to_str().unwrap_or("").trim())
}

fn session_cookie_value(parts: &Parts) -> Option<String> {
    parts
        .headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(cookie::Cookie::split_parse)
        .filter_map(Result::ok)
        .find(|c| c.name() == SESSION_COOKIE)
        .map(|c| c.value().to_string())
}

/// Whether the request changes state (and so needs CSRF proof with a cookie).
fn is_state_changing(method: &axum::http::Method) -> bool {
    !matches!(*method, axum::http::Method::GET | axum::http::Method::HEAD | axum::http::Method::OPTIONS)
}

/// Compares two hashes of secrets in constant time. The inputs are hashes,
/// so timing could at most reveal a prefix of a hash, never of the secret;
/// the constant-time loop just removes the question.
pub fn hashes_match(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.bytes().zip(b.bytes()).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// A live session (not ended, not expired) of `user`, recording activity.
async fn live_session(
    state: &AppState,
    user: Uuid,
    session: Uuid,
    now: DateTime<Utc>,
) -> Result<SessionRecord, ApiError> {
    let record = sessions::get(state.table.as_ref(), user, session).await?.ok_or(ApiError::Unauthenticated)?;
    if record.has_ended(now, state.session_idle) {
        return Err(ApiError::Unauthenticated);
    }
    sessions::touch(state.table.as_ref(), &record, now).await?;
    Ok(record)
}

async fn from_access_token(state: &AppState, token: &str) -> Result<Principal, ApiError> {
    let now = state.clock.now();
    let claims = state.tokens.verify(token, now)?;
    let user_id = Uuid::parse_str(&claims.sub).map_err(|_| ApiError::Unauthenticated)?;
    let session_id = Uuid::parse_str(&claims.sid).map_err(|_| ApiError::Unauthenticated)?;
    let auth_time = DateTime::from_timestamp(claims.auth_time, 0).ok_or(ApiError::Unauthenticated)?;
    let session = live_session(state, user_id, session_id, now).await?;
    if session.kind != SessionKind::Bearer {
        return Err(ApiError::Unauthenticated);
    }
    Ok(Principal {
        user_id,
        session_id: claims.sid,
        scopes: Scopes::parse(&claims.scope),
        auth_time,
        credential: Credential::AccessToken,
    })
}

async fn from_personal_token(state: &AppState, token: &str) -> Result<Principal, ApiError> {
    let record = personal_tokens::find_by_token(state.table.as_ref(), token).await?.ok_or(ApiError::Unauthenticated)?;
    if record.is_expired(state.clock.now()) {
        return Err(ApiError::Unauthenticated);
    }
    // Locking or deactivating ends the user's sessions; tokens are not
    // sessions (a password change keeps them), so they check the user.
    let user = crate::people::users::get(state.table.as_ref(), record.user_id).await?;
    if !user.is_some_and(|u| !u.locked && !u.deactivated && !u.deleting) {
        return Err(ApiError::Unauthenticated);
    }
    Ok(Principal {
        user_id: record.user_id,
        session_id: String::new(),
        scopes: Scopes::Only(record.scopes),
        auth_time: DateTime::<Utc>::UNIX_EPOCH,
        credential: Credential::PersonalAccessToken(record.id.to_string()),
    })
}

async fn from_api_key(state: &AppState, key: &str) -> Result<Principal, ApiError> {
    if !key.starts_with(api_keys::PREFIX) {
        return Err(ApiError::Unauthenticated);
    }
    // Revoking deletes the lookup item, so an unknown key is also a revoked one.
    let table = state.table.as_ref();
    let record = api_keys::find_by_key(table, key).await?.ok_or(ApiError::Unauthenticated)?;
    if record.is_expired(state.clock.now()) {
        return Err(ApiError::Unauthenticated);
    }
    // A key holds only while its creator still administers the organisation
    // (or is a superadmin): demoting or removing them retires their keys.
    let creator = record.creator().ok_or(ApiError::Unauthenticated)?;
    let creator_admin = organisations::membership(table, record.organisation_id, creator)
        .await?
        .is_some_and(|m| m.role.is_admin() && !m.suspended);
    if !creator_admin && !users::get(table, creator).await?.is_some_and(|u| u.is_superadmin()) {
        return Err(ApiError::Unauthenticated);
    }
    Ok(Principal {
        user_id: Uuid::nil(),
        session_id: String::new(),
        scopes: Scopes::Only(record.scopes),
        auth_time: DateTime::<Utc>::UNIX_EPOCH,
        credential: Credential::ApiKey { organisation_id: record.organisation_id, key_id: record.id },
    })
}

async fn from_cookie(state: &AppState, parts: &Parts, value: &str) -> Result<Principal, ApiError> {
    let now = state.clock.now();
    let (user_id, session_id) = sessions::parse_secret(value).ok_or(ApiError::Unauthenticated)?;
    let session = sessions::get(state.table.as_ref(), user_id, session_id).await?.ok_or(ApiError::Unauthenticated)?;
    if session.kind != SessionKind::Cookie
        || session.has_ended(now, state.session_idle)
        || !hashes_match(&session.secret_hash, &sessions::hash_secret(value))
    {
        return Err(ApiError::Unauthenticated);
    }
    if is_state_changing(&parts.method) {
        let presented = parts.headers.get(CSRF_HEADER).and_then(|v| v.to_str().ok()).unwrap_or("");
        let expected = session.csrf_hash.as_deref().unwrap_or("");
        if presented.is_empty() || !hashes_match(expected, &sessions::hash_secret(presented)) {
            return Err(ApiError::Forbidden("This request needs the session's X-CSRF-Token header.".into()));
        }
    }
    sessions::touch(state.table.as_ref(), &session, now).await?;
    Ok(Principal {
        user_id,
        session_id: session_id.to_string(),
        scopes: Scopes::All,
        auth_time: session.auth_time,
        credential: Credential::Cookie,
    })
}

impl FromRequestParts<AppState> for Principal {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        // Already authenticated by a layer that had to know first (idempotency).
        if let Some(principal) = parts.extensions.get::<Principal>() {
            return Ok(principal.clone());
        }
        if let Some(token) = bearer(parts) {
            return if token.starts_with(personal_tokens::PREFIX) {
                from_personal_token(state, token).await
            } else {
                from_access_token(state, token).await
            };
        }
        if let Some(key) = api_key(parts) {
            return from_api_key(state, key).await;
        }
        if let Some(value) = session_cookie_value(parts) {
            return from_cookie(state, parts, &value).await;
        }
        Err(ApiError::Unauthenticated)
    }
}

/// The caller, if any credential was presented (public routes that behave
/// differently for signed-in users).
#[derive(Debug, Clone)]
pub struct MaybePrincipal(pub Option<Principal>);

impl FromRequestParts<AppState> for MaybePrincipal {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        if parts.headers.contains_key(header::AUTHORIZATION)
            || parts.headers.contains_key(API_KEY_HEADER)
            || session_cookie_value(parts).is_some()
        {
            Principal::from_request_parts(parts, state).await.map(|p| MaybePrincipal(Some(p)))
        } else {
            Ok(MaybePrincipal(None))
        }
    }
}

/// The OpenAPI schema of the scopes `parse_scopes` accepts for `areas`:
/// 1 to two per area, each `<area>:read` or `<area>:write`.
pub fn scopes_schema(areas: &[&str]) -> utoipa::openapi::Array {
    let scopes: Vec<String> = areas.iter().flat_map(|area| [format!("{area}:read"), format!("{area}:write")]).collect();
    let item =
        utoipa::openapi::ObjectBuilder::new().schema_type(utoipa::openapi::Type::String).enum_values(Some(scopes));
    utoipa::openapi::ArrayBuilder::new().items(item).min_items(Some(1)).max_items(Some(areas.len() * 2)).build()
}

/// Checks requested scopes (`<area>:read|write`) against the `areas` a
/// credential may name, recording every bad one in `v`; returns them
/// de-duplicated, in order. Shared by personal access tokens and API keys.
pub fn parse_scopes(v: &mut crate::validation::Validator, raw: &[String], areas: &[&str]) -> Vec<String> {
    let max = areas.len() * 2;
    if raw.is_empty() {
        v.error("scopes", "must name at least one scope");
    }
    if raw.len() > max {
        v.error("scopes", format!("must have at most {max} entries"));
    }
    let mut scopes: Vec<String> = Vec::new();
    for (i, scope) in raw.iter().enumerate() {
        let valid = scope
            .split_once(':')
            .is_some_and(|(area, access)| areas.contains(&area) && matches!(access, "read" | "write"));
        if !valid {
            v.error(
                &format!("scopes[{i}]"),
                format!("must be <area>:read or <area>:write with area one of {}", areas.join(", ")),
            );
        } else if !scopes.contains(scope) {
            scopes.push(scope.clone());
        }
    }
    scopes
}

/// How recent a login must be for a sensitive change without the password.
pub const RECENT_LOGIN: Duration = Duration::hours(1);

/// Sensitive changes (email, password, MFA off, tokens) need the current
/// password, or a login within the last hour. A wrong password is a 403.
pub async fn require_recent_login(
    principal: &Principal,
    user: &crate::people::users::UserRecord,
    current_password: Option<&str>,
    now: DateTime<Utc>,
) -> Result<(), ApiError> {
    match (current_password, &user.password_hash) {
        (Some(candidate), Some(hash)) => {
            let (hash, candidate) = (crate::domain::PasswordHash::from_stored(hash.clone()), candidate.to_string());
            let ok = tokio::task::spawn_blocking(move || hash.verify(&candidate))
                .await
                .map_err(|e| ApiError::Internal(e.into()))?;
            if ok { Ok(()) } else { Err(ApiError::Forbidden("The current password is wrong.".into())) }
        }
        _ if now - principal.auth_time <= RECENT_LOGIN => Ok(()),
        _ => {
            Err(ApiError::Forbidden("This change needs the current password or a sign-in within the last hour.".into()))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine;
    use jsonwebtoken::{Algorithm, EncodingKey, Header};

    fn now() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-03-29T06:30:00Z").unwrap().with_timezone(&Utc)
    }

    #[test]
    fn issued_tokens_verify_until_they_expire() {
        let keys = TokenKeys::new(&[7; 32]);
        let user = Uuid::now_v7();
        let token = keys.issue(user, "s1", "*", now(), now()).unwrap();
        assert_eq!(keys.verify(&token, now()).unwrap().sub, user.to_string());
        assert!(keys.verify(&token, now() + ACCESS_TOKEN_TTL).is_err());
    }

    #[test]
    fn wrong_key_and_alg_none_are_rejected() {
        let keys = TokenKeys::new(&[7; 32]);
        let token = keys.issue(Uuid::now_v7(), "s1", "*", now(), now()).unwrap();
        assert!(TokenKeys::new(&[8; 32]).verify(&token, now()).is_err());
        // Same claims, `alg: none`, no signature.
        let claims = token.split('.').nth(1).unwrap();
        let header = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#);
        assert!(keys.verify(&format!("{header}.{claims}."), now()).is_err());
    }

    #[test]
    fn wrong_audience_is_rejected() {
        let keys = TokenKeys::new(&[7; 32]);
        let claims = AccessClaims {
            sub: Uuid::now_v7().to_string(),
            sid: "s".into(),
            iat: now().timestamp(),
            exp: now().timestamp() + 60,
            iss: ISSUER.into(),
            aud: "someone-else".into(),
            scope: "*".into(),
            auth_time: now().timestamp(),
        };
        let token =
            jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &EncodingKey::from_secret(&[7; 32])).unwrap();
        assert!(keys.verify(&token, now()).is_err());
    }

    #[test]
    fn refresh_successors_are_deterministic_and_keyed() {
        let keys = TokenKeys::new(&[7; 32]);
        let token = sessions::new_secret(Uuid::now_v7(), Uuid::now_v7());
        let next = keys.refresh_successor(&token).unwrap();
        assert_eq!(keys.refresh_successor(&token).unwrap(), next, "same input, same successor");
        assert_ne!(next, token);
        assert_eq!(sessions::parse_secret(&next), sessions::parse_secret(&token), "same session");
        assert_ne!(TokenKeys::new(&[8; 32]).refresh_successor(&token).unwrap(), next, "bound to the key");
        assert!(keys.refresh_successor("garbage").is_none());
    }

    #[test]
    fn the_session_cookie_is_http_only_secure_and_lax() {
        let cookie = session_cookie("abc", Duration::days(30));
        for part in ["__Host-sundial_session=abc", "HttpOnly", "Secure", "SameSite=Lax", "Path=/", "Max-Age=2592000"] {
            assert!(cookie.contains(part), "{cookie} lacks {part}");
        }
        assert!(clear_session_cookie().contains("Max-Age=0"));
    }

    #[test]
    fn hashes_match_only_when_equal() {
        assert!(hashes_match("abcd", "abcd"));
        assert!(!hashes_match("abcd", "abce"));
        assert!(!hashes_match("abcd", "abc"));
    }

    #[test]
    fn an_api_key_is_audited_as_the_key_and_is_no_person() {
        let (org, key) = (Uuid::now_v7(), Uuid::now_v7());
        let principal = Principal {
            user_id: Uuid::nil(),
            session_id: String::new(),
            scopes: Scopes::Only(vec!["users:read".into()]),
            auth_time: DateTime::<Utc>::UNIX_EPOCH,
            credential: Credential::ApiKey { organisation_id: org, key_id: key },
        };
        assert_eq!(principal.actor(), format!("apikey:{key}"));
        assert_eq!(principal.api_key_organisation(), Some(org));
        assert_eq!(principal.require_person().unwrap_err().code(), "forbidden");
        let person = Principal { credential: Credential::AccessToken, ..principal };
        assert_eq!(person.actor(), format!("user:{}", Uuid::nil()));
        assert!(person.require_person().is_ok() && person.api_key_organisation().is_none());
    }

    #[test]
    fn write_scopes_imply_read() {
        let scopes = Scopes::parse("organisations:write calendar:read");
        assert!(scopes.allows("organisations", false));
        assert!(scopes.allows("organisations", true));
        assert!(scopes.allows("calendar", false));
        assert!(!scopes.allows("calendar", true));
        assert!(!scopes.allows("users", false));
        assert!(Scopes::parse("*").allows("anything", true));
    }
}
