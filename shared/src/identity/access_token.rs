//! Access tokens: short-lived HS256 JWTs bound to a login session, and the
//! derivation of refresh-token successors. The keys live in the app state;
//! checking a presented token is `crate::identity::auth`'s job.

use chrono::{DateTime, Duration, Utc};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::crypto::{b64url, hmac_sha256};
use crate::error::ApiError;
use crate::identity::sessions;

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

/// Signs and verifies access tokens, and derives refresh-token successors.
pub struct TokenKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    successor: Vec<u8>,
}

impl std::fmt::Debug for TokenKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TokenKeys(***)")
    }
}

impl TokenKeys {
    /// Keys from a secret of at least 32 bytes.
    pub fn new(secret: &[u8]) -> Self {
        Self {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            // A key of its own, so a successor can never pass as a signature.
            successor: hmac_sha256(secret, b"sundial/refresh-successor"),
        }
    }

    /// The refresh token that replaces `token` when it is used: derived, not
    /// random, so that a retry within the grace period gets the same one
    /// without it ever being stored. `None` when `token` is not shaped like
    /// a session secret.
    pub fn refresh_successor(&self, token: &str) -> Option<String> {
        let (user, session) = sessions::parse_secret(token)?;
        let secret = b64url(&hmac_sha256(&self.successor, token.as_bytes()));
        Some(sessions::compose_secret(user, session, &secret))
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
