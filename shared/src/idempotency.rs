//! `Idempotency-Key` for `POST` creates: a retry with the same key and the
//! same request within 24 h gets the first response again instead of
//! creating twice. Keys are scoped to the credential that sent them; the
//! record is claimed with a conditional put before the handler runs, so two
//! concurrent retries cannot both execute.
//!
//! Authentication comes first: on a route that needs a credential (every
//! operation whose OpenAPI security has no empty requirement) the caller is
//! authenticated before the key is even read, so a request without valid
//! credentials is a 401 whatever its key; the principal is handed on to the
//! handler in the request's extensions (no second lookup).

use axum::body::{Body, to_bytes};
use std::collections::HashSet;
use std::sync::Arc;

use axum::extract::{FromRequestParts, MatchedPath, Request, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use chrono::Duration;

use crate::crypto::sha256_hex;
use crate::error::ApiError;
use crate::extract::MAX_JSON_BODY;
use crate::identity::auth::{Credential, Principal};
use crate::keys;
use crate::state::AppState;
use crate::table::{Cmp, Condition, Item, Key, TableError, Update};

/// The request header.
pub const IDEMPOTENCY_KEY: &str = "idempotency-key";
/// Set on a replayed response.
pub const REPLAYED: &str = "idempotent-replayed";
/// How long a key is remembered.
pub const RETENTION: Duration = Duration::hours(24);
/// Responses larger than this are not stored (the key is released instead).
const MAX_STORED_BODY: usize = 256 * 1024;
/// Response headers worth replaying.
const REPLAYED_HEADERS: [HeaderName; 3] = [header::CONTENT_TYPE, header::ETAG, header::LOCATION];

/// Who a key belongs to: the authenticated principal — the user's login
/// session (which outlives each 15-minute access token, so a retry after a
/// refresh still replays), personal access token or API key — never the
/// presented token's bytes. Anonymous requests share one scope; their
/// replays need the identical body (the fingerprint), passwords included.
fn scope(principal: Option<&Principal>) -> String {
    let Some(principal) = principal else { return "anonymous".into() };
    let owner = match &principal.credential {
        Credential::ApiKey { key_id, .. } => format!("apikey:{key_id}"),
        Credential::PersonalAccessToken(id) => format!("user:{}/pat:{id}", principal.user_id),
        Credential::AccessToken | Credential::Cookie => {
            format!("user:{}/session:{}", principal.user_id, principal.session_id)
        }
    };
    sha256_hex(owner.as_bytes())[..32].to_string()
}

/// The longest key.
pub const MAX_KEY_LEN: usize = 255;

fn valid_key(key: &str) -> bool {
    (1..=MAX_KEY_LEN).contains(&key.len()) && key.bytes().all(|b| b.is_ascii_graphic())
}

/// `params(IdempotencyKey)` documents the optional header of a `POST`
/// create, with the syntax `valid_key` accepts (visible ASCII).
pub struct IdempotencyKey;

impl utoipa::IntoParams for IdempotencyKey {
    fn into_params(
        _: impl Fn() -> Option<utoipa::openapi::path::ParameterIn>,
    ) -> Vec<utoipa::openapi::path::Parameter> {
        let schema = utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::Type::String)
            .min_length(Some(1))
            .max_length(Some(MAX_KEY_LEN))
            .pattern(Some("^[!-~]+$"))
            .build();
        vec![
            utoipa::openapi::path::ParameterBuilder::new()
                .name("Idempotency-Key")
                .parameter_in(utoipa::openapi::path::ParameterIn::Header)
                .required(utoipa::openapi::Required::False)
                .description(Some(
                    "Makes a retry within 24 h return the first response (`Idempotent-Replayed: true`); \
                     the same key with another request is a 409",
                ))
                .schema(Some(schema))
                .build(),
        ]
    }
}

/// The `POST` routes (templates such as `/v1/users/{id}/contacts`) that need
/// a credential, read from the OpenAPI document the routes are built from.
#[derive(Debug, Clone, Default)]
pub struct ProtectedPosts(Arc<HashSet<String>>);

impl ProtectedPosts {
    /// Every `POST` operation of `doc` whose security has no empty (optional)
    /// requirement.
    pub fn from_doc(doc: &utoipa::openapi::OpenApi) -> Self {
        let protected = doc
            .paths
            .paths
            .iter()
            .filter(|(_, item)| {
                item.post.as_ref().and_then(|op| op.security.as_ref()).is_some_and(|requirements| {
                    !requirements.is_empty()
                        && requirements
                            .iter()
                            .all(|r| serde_json::to_value(r).is_ok_and(|v| v != serde_json::json!({})))
                })
            })
            .map(|(path, _)| path.clone())
            .collect();
        Self(Arc::new(protected))
    }

    fn contains(&self, route: &str) -> bool {
        self.0.contains(route)
    }
}

/// The middleware (a route layer); a no-op for anything but a `POST` with
/// the header.
pub async fn layer(State((state, protected)): State<(AppState, ProtectedPosts)>, req: Request, next: Next) -> Response {
    if req.method() != Method::POST || !req.headers().contains_key(IDEMPOTENCY_KEY) {
        return next.run(req).await;
    }
    let route = req.extensions().get::<MatchedPath>().map(|p| p.as_str().to_string()).unwrap_or_default();
    let (mut parts, body) = req.into_parts();
    if protected.contains(&route) {
        match Principal::from_request_parts(&mut parts, &state).await {
            Ok(principal) => {
                parts.extensions.insert(principal);
            }
            Err(err) => return err.into_response(),
        }
    }
    let req = Request::from_parts(parts, body);
    let Some(raw_key) = req.headers().get(IDEMPOTENCY_KEY).cloned() else { return next.run(req).await };
    match handle(state, raw_key, req, next).await {
        Ok(response) => response,
        Err(err) => err.into_response(),
    }
}

async fn handle(state: AppState, raw_key: HeaderValue, req: Request, next: Next) -> Result<Response, ApiError> {
    let key = raw_key
        .to_str()
        .ok()
        .filter(|k| valid_key(k))
        .ok_or_else(|| ApiError::invalid("Idempotency-Key", "must be 1 to 255 visible ASCII characters"))?;
    let (parts, body) = req.into_parts();
    let bytes = to_bytes(body, MAX_JSON_BODY).await.map_err(|_| ApiError::PayloadTooLarge)?;
    let fingerprint = {
        let mut data = format!("{} {}\n", parts.method, parts.uri).into_bytes();
        data.extend_from_slice(&bytes);
        sha256_hex(&data)
    };
    let now = state.clock.now();
    let record_key = Key::new(
        keys::idempotency_pk(&scope(parts.extensions.get::<Principal>()), &sha256_hex(key.as_bytes())),
        keys::IDEMPOTENCY_SK,
    );

    let mut claim = Item::new();
    claim.insert("PK".into(), record_key.pk.clone().into());
    claim.insert("SK".into(), record_key.sk.clone().into());
    claim.insert(keys::ENTITY_TYPE.into(), "IdempotencyRecord".into());
    claim.insert("state".into(), "pending".into());
    claim.insert("fingerprint".into(), fingerprint.clone().into());
    claim.insert("ttl".into(), (now + RETENTION).timestamp().into());
    // Absent, or present but past its TTL (DynamoDB deletes expired items lazily).
    let claimable =
        Condition::Any(vec![Condition::NotExists, Condition::Compare("ttl".into(), Cmp::Lt, now.timestamp().into())]);
    match state.table.put(claim, claimable).await {
        Ok(()) => {}
        Err(TableError::ConditionFailed { .. }) => return replay(&state, &record_key, &fingerprint).await,
        Err(err) => return Err(err.into()),
    }

    let response = next.run(Request::from_parts(parts, Body::from(bytes))).await;
    let (parts, body) = response.into_parts();
    let body = to_bytes(body, usize::MAX)
        .await
        .map_err(|e| ApiError::Internal(anyhow::anyhow!("reading a response body: {e}")))?;
    // Only a request that did what it asked is remembered: a refused or failed
    // one (4xx, 5xx) releases its key, so the client may fix it and retry with
    // the same key. A response carrying a secret (see `mark_no_store`) is
    // never written to the table either.
    let storable = parts.status.is_success() && body.len() <= MAX_STORED_BODY && !is_no_store(&parts.headers);
    if storable {
        let mut headers = serde_json::Map::new();
        for name in REPLAYED_HEADERS {
            if let Some(v) = parts.headers.get(&name).and_then(|v| v.to_str().ok()) {
                headers.insert(name.as_str().into(), v.into());
            }
        }
        let update = Update::new(record_key.clone())
            .set("state", "done")
            .set("status", parts.status.as_u16())
            .set("headers", serde_json::Value::Object(headers))
            .set("body", String::from_utf8_lossy(&body).into_owned())
            .when(Condition::eq("fingerprint", fingerprint));
        state.table.update(update).await?;
    } else {
        // A failure is not remembered: the client may retry with the same key.
        state.table.delete(&record_key, Condition::Always).await?;
    }
    Ok(Response::from_parts(parts, Body::from(body)))
}

/// Marks a response that shows a secret once (tokens, keys, TOTP secrets):
/// `Cache-Control: no-store`, so neither caches nor this layer keep it.
pub fn mark_no_store(headers: &mut HeaderMap) {
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
}

/// Headers with only the [`mark_no_store`] mark.
pub fn no_store() -> HeaderMap {
    let mut headers = HeaderMap::new();
    mark_no_store(&mut headers);
    headers
}

fn is_no_store(headers: &HeaderMap) -> bool {
    headers
        .get(header::CACHE_CONTROL)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|d| d.trim().eq_ignore_ascii_case("no-store")))
}

async fn replay(state: &AppState, key: &Key, fingerprint: &str) -> Result<Response, ApiError> {
    let record = state.table.get(key).await?.ok_or_else(|| {
        ApiError::Conflict("A request with this Idempotency-Key is being processed; retry shortly.".into())
    })?;
    if record.get("fingerprint").and_then(|v| v.as_str()) != Some(fingerprint) {
        return Err(ApiError::Conflict("This Idempotency-Key was already used with a different request.".into()));
    }
    if record.get("state").and_then(|v| v.as_str()) != Some("done") {
        return Err(ApiError::Conflict(
            "A request with this Idempotency-Key is being processed; retry shortly.".into(),
        ));
    }
    let status = record
        .get("status")
        .and_then(|v| v.as_u64())
        .and_then(|s| StatusCode::from_u16(s as u16).ok())
        .unwrap_or(StatusCode::OK);
    let body = record.get("body").and_then(|v| v.as_str()).unwrap_or("").to_string();
    let mut response = (status, body).into_response();
    if let Some(serde_json::Value::Object(headers)) = record.get("headers") {
        for (name, value) in headers {
            if let (Ok(name), Some(Ok(value))) =
                (HeaderName::try_from(name.as_str()), value.as_str().map(HeaderValue::from_str))
            {
                response.headers_mut().insert(name, value);
            }
        }
    }
    response.headers_mut().insert(REPLAYED, HeaderValue::from_static("true"));
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn principal(user: uuid::Uuid, session: &str, credential: Credential) -> Principal {
        Principal {
            user_id: user,
            session_id: session.into(),
            scopes: crate::identity::auth::Scopes::All,
            auth_time: chrono::DateTime::<chrono::Utc>::UNIX_EPOCH,
            credential,
        }
    }

    #[test]
    fn scopes_are_the_principal_not_the_presented_token() {
        let user = uuid::Uuid::now_v7();
        let session = principal(user, "s1", Credential::AccessToken);
        // The same session through a cookie or a later access token is one scope...
        assert_eq!(scope(Some(&session)), scope(Some(&principal(user, "s1", Credential::Cookie))));
        // ...another session, a personal access token or another user is not.
        assert_ne!(scope(Some(&session)), scope(Some(&principal(user, "s2", Credential::AccessToken))));
        let pat = principal(user, "", Credential::PersonalAccessToken("t1".into()));
        assert_ne!(scope(Some(&session)), scope(Some(&pat)));
        assert_ne!(scope(Some(&session)), scope(Some(&principal(uuid::Uuid::now_v7(), "s1", Credential::AccessToken))));
        assert_eq!(scope(None), "anonymous");
    }

    #[test]
    fn keys_must_be_visible_ascii() {
        assert!(valid_key("order-123"));
        assert!(!valid_key(""));
        assert!(!valid_key("with space"));
        assert!(!valid_key(&"k".repeat(256)));
    }
}
