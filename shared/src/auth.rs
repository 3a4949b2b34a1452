//! Authentication: who is calling. Access tokens are short-lived HS256 JWTs
//! (algorithm pinned, issuer and audience checked, expiry checked against
//! the `Clock`). The identity issue adds personal access tokens, cookies and
//! API keys here, so every group authenticates in this one place.

use axum::extract::FromRequestParts;
use axum::http::header;
use axum::http::request::Parts;
use chrono::{DateTime, Duration, Utc};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::ApiError;
use crate::state::AppState;

/// Issuer of every access token.
pub const ISSUER: &str = "sundial";
/// Audience of every access token.
pub const AUDIENCE: &str = "sundial-api";
/// How long an access token lives.
pub const ACCESS_TOKEN_TTL: Duration = Duration::minutes(15);

/// The claims of an access token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessClaims {
    /// The user id.
    pub sub: String,
    /// The session id.
    pub sid: String,
    /// Issued at (Unix seconds).
    pub iat: i64,
    /// Expires at (Unix seconds).
    pub exp: i64,
    /// Issuer.
    pub iss: String,
    /// Audience.
    pub aud: String,
    /// Space-separated scopes; `*` for a full login session.
    pub scope: String,
    /// When the user last proved their password (Unix seconds).
    pub auth_time: i64,
}

/// Signs and verifies access tokens.
pub struct TokenKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
}

impl std::fmt::Debug for TokenKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TokenKeys(***)")
    }
}

impl TokenKeys {
    /// Keys from a secret of at least 32 bytes.
    pub fn new(secret: &[u8]) -> Self {
        Self { encoding: EncodingKey::from_secret(secret), decoding: DecodingKey::from_secret(secret) }
    }

    /// Issues an access token for `user` in `session`, valid from `now`,
    /// for a login made at `auth_time`.
    pub fn issue(
        &self,
        user: Uuid,
        session: &str,
        scope: &str,
        now: DateTime<Utc>,
        auth_time: DateTime<Utc>,
    ) -> anyhow::Result<String> {
        let claims = AccessClaims {
            auth_time: auth_time.timestamp(),
            sub: user.to_string(),
            sid: session.to_string(),
            iat: now.timestamp(),
            exp: (now + ACCESS_TOKEN_TTL).timestamp(),
            iss: ISSUER.into(),
            aud: AUDIENCE.into(),
            scope: scope.into(),
        };
        Ok(jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)?)
    }

    /// Verifies signature, algorithm, issuer, audience and expiry at `now`.
    pub fn verify(&self, token: &str, now: DateTime<Utc>) -> Result<AccessClaims, ApiError> {
        // Only HS256 is accepted: `none` and every other algorithm fail here.
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_issuer(&[ISSUER]);
        validation.set_audience(&[AUDIENCE]);
        // Expiry is checked below against the injected clock, not the system time.
        validation.validate_exp = false;
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        let data = jsonwebtoken::decode::<AccessClaims>(token, &self.decoding, &validation)
            .map_err(|_| ApiError::Unauthenticated)?;
        if data.claims.exp <= now.timestamp() {
            return Err(ApiError::Unauthenticated);
        }
        Ok(data.claims)
    }
}

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
}

/// An authenticated caller.
#[derive(Debug, Clone)]
pub struct Principal {
    /// The user acting.
    pub user_id: Uuid,
    /// The session the credential belongs to (login sessions only).
    pub session_id: String,
    /// What the credential may do.
    pub scopes: Scopes,
    /// When the user last proved their password.
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

    /// The actor name written to audit entries.
    pub fn actor(&self) -> String {
        format!("user:{}", self.user_id)
    }
}

fn bearer(parts: &Parts) -> Option<&str> {
    let value = parts.headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

impl FromRequestParts<AppState> for Principal {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let token = bearer(parts).ok_or(ApiError::Unauthenticated)?;
        let claims = state.tokens.verify(token, state.clock.now())?;
        let user_id = Uuid::parse_str(&claims.sub).map_err(|_| ApiError::Unauthenticated)?;
        let auth_time = DateTime::from_timestamp(claims.auth_time, 0).ok_or(ApiError::Unauthenticated)?;
        Ok(Principal {
            user_id,
            session_id: claims.sid,
            scopes: Scopes::parse(&claims.scope),
            auth_time,
            credential: Credential::AccessToken,
        })
    }
}

/// The caller, if any credential was presented (public routes that behave
/// differently for signed-in users).
#[derive(Debug, Clone)]
pub struct MaybePrincipal(pub Option<Principal>);

impl FromRequestParts<AppState> for MaybePrincipal {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        if parts.headers.contains_key(header::AUTHORIZATION) {
            Principal::from_request_parts(parts, state).await.map(|p| MaybePrincipal(Some(p)))
        } else {
            Ok(MaybePrincipal(None))
        }
    }
}

/// How recent a login must be for a sensitive change without the password.
pub const RECENT_LOGIN: Duration = Duration::hours(1);

/// Sensitive changes (email, password, MFA off, tokens) need the current
/// password, or a login within the last hour. A wrong password is a 403.
pub async fn require_recent_login(
    principal: &Principal,
    user: &crate::repo::users::UserRecord,
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
