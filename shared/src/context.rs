//! The request context every handler starts from: who is calling, where the
//! request came from, and the one instant the request acts at. One extractor
//! instead of `Principal` + `RequestMeta` + `state.clock.now()` in each
//! handler, so every audit entry of a group is made the same way.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::audit::{AuditEntry, RequestMeta};
use crate::error::ApiError;
use crate::identity::auth::{MaybePrincipal, Principal};
use crate::state::AppState;

/// An authenticated request: the caller, the request's origin and its
/// instant (read once from the clock port, so a handler's writes and its
/// audit entry agree on the time).
#[derive(Debug, Clone)]
pub struct Ctx {
    /// The authenticated caller.
    pub principal: Principal,
    /// Request id, client IP and user agent.
    pub meta: RequestMeta,
    /// The instant this request acts at.
    pub now: DateTime<Utc>,
}

impl Ctx {
    /// The audit entry of a change the caller makes, at the request's
    /// instant, to add to the change's transaction.
    pub fn audit(&self, organisation: Option<Uuid>, action: &str, target: impl Into<String>) -> AuditEntry {
        AuditEntry::new(organisation, self.principal.actor(), action, target, self.now, &self.meta)
    }
}

impl FromRequestParts<AppState> for Ctx {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        // Authentication first: a request without credentials is a 401
        // whatever else is wrong with it.
        let principal = Principal::from_request_parts(parts, state).await?;
        let Ok(meta) = RequestMeta::from_request_parts(parts, state).await;
        Ok(Self { principal, meta, now: state.clock.now() })
    }
}

/// A request that may be anonymous (sign-in, sign-up, password reset,
/// invitation acceptance): the caller if a credential was presented, the
/// request's origin and its instant.
#[derive(Debug, Clone)]
pub struct PublicCtx {
    /// The caller, if the request carried a credential.
    pub principal: Option<Principal>,
    /// Request id, client IP and user agent.
    pub meta: RequestMeta,
    /// The instant this request acts at.
    pub now: DateTime<Utc>,
}

impl PublicCtx {
    /// The audit entry of a change made for `actor` (`user:<id>`,
    /// `anonymous`, ...), at the request's instant.
    pub fn audit(
        &self,
        organisation: Option<Uuid>,
        actor: impl Into<String>,
        action: &str,
        target: impl Into<String>,
    ) -> AuditEntry {
        AuditEntry::new(organisation, actor, action, target, self.now, &self.meta)
    }
}

impl FromRequestParts<AppState> for PublicCtx {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let MaybePrincipal(principal) = MaybePrincipal::from_request_parts(parts, state).await?;
        let Ok(meta) = RequestMeta::from_request_parts(parts, state).await;
        Ok(Self { principal, meta, now: state.clock.now() })
    }
}

/// The context of a route that never looks at credentials (sign-in,
/// sign-up, password reset, token redemption): always anonymous, so a stale
/// cookie or token a client still sends cannot stop it signing in.
#[derive(Debug, Clone)]
pub struct AnonymousCtx(pub PublicCtx);

impl FromRequestParts<AppState> for AnonymousCtx {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let Ok(meta) = RequestMeta::from_request_parts(parts, state).await;
        Ok(Self(PublicCtx { principal: None, meta, now: state.clock.now() }))
    }
}
