//! Assembles a servable router from a group's routes: the common routes
//! (`/v1/health`, `/v1/openapi.json`), problem-document fallbacks, request
//! ids, body limits, idempotency and one log line per request. Lambdas, the
//! devserver and the tests all go through [`app`], so they serve the same
//! stack.

use std::time::Instant;

use axum::Router;
use axum::extract::{DefaultBodyLimit, MatchedPath, Request, State};
use axum::http::{HeaderName, HeaderValue, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::error::{ApiError, InternalCause};
use crate::extract::{Json, MAX_JSON_BODY};
use crate::state::AppState;

const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The whole API's OpenAPI document, generated from the code by the tests
/// (`tests/tests/openapi.rs`) and checked in, so that every function serves
/// the full document without linking every other group.
pub const OPENAPI_JSON: &str = include_str!("../openapi.json");

/// Health report.
#[derive(Debug, Serialize, ToSchema)]
pub struct Health {
    /// Always `ok` when the function answers.
    pub status: String,
    /// The deployed version.
    pub version: String,
}

/// Liveness of the API.
#[utoipa::path(get, path = "/v1/health", tag = "meta", responses((status = 200, body = Health)))]
pub async fn get_health() -> Json<Health> {
    Json(Health { status: "ok".into(), version: env!("CARGO_PKG_VERSION").into() })
}

/// The OpenAPI document of the whole API.
#[utoipa::path(get, path = "/v1/openapi.json", tag = "meta", responses((status = 200, description = "OpenAPI 3.1 document", content_type = "application/json")))]
pub async fn get_openapi() -> Response {
    ([(header::CONTENT_TYPE, HeaderValue::from_static("application/json"))], OPENAPI_JSON).into_response()
}

/// Routes every function serves.
pub fn common_api() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(get_health)).routes(routes!(get_openapi))
}

/// Copies the matched route template into the response, for the log line.
async fn remember_route(req: Request, next: Next) -> Response {
    let route = req.extensions().get::<MatchedPath>().map(|p| p.as_str().to_string());
    let mut response = next.run(req).await;
    if let Some(route) = route {
        response.extensions_mut().insert(RouteTemplate(route));
    }
    response
}

#[derive(Clone)]
struct RouteTemplate(String);

/// One line per request: method, route, status, latency, request id; and
/// the cause chain of an internal error, logged once, here.
async fn log_request(req: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = req.method().clone();
    let request_id = req.headers().get(&REQUEST_ID).and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
    let response = next.run(req).await;
    let route = response.extensions().get::<RouteTemplate>().map(|r| r.0.as_str()).unwrap_or("unmatched");
    let latency_ms = started.elapsed().as_secs_f64() * 1000.0;
    if let Some(cause) = response.extensions().get::<InternalCause>() {
        tracing::error!(%request_id, %method, route, cause = %cause.0, "internal error");
    }
    tracing::info!(%request_id, %method, route, status = response.status().as_u16(), latency_ms, "request");
    response
}

/// Lets a request on to a group route once the signing keys are known (a
/// Lambda reads them in the background at cold start, see
/// [`crate::state`]); 503 if reading them failed, and the next request
/// tries again.
async fn signing_keys_ready(State(state): State<AppState>, req: Request, next: Next) -> Response {
    match state.signing.wait().await {
        Ok(()) => next.run(req).await,
        Err(cause) => ApiError::Unavailable(cause).into_response(),
    }
}

/// `Cache-Control: no-store` on every response that does not say otherwise:
/// API responses carry personal data and credentials, which no browser or
/// proxy may keep. Responses that are meant to be cached (the API reference's
/// assets) set their own header, which stays.
async fn no_store_by_default(req: Request, next: Next) -> Response {
    let mut response = next.run(req).await;
    response.headers_mut().entry(header::CACHE_CONTROL).or_insert(HeaderValue::from_static("no-store"));
    response
}

/// A servable router: the group's routes plus everything every function does.
pub fn app(api: OpenApiRouter<AppState>, state: AppState) -> Router {
    let (group, doc) = api.split_for_parts();
    let protected = crate::idempotency::ProtectedPosts::from_doc(&doc);
    let (common, _) = common_api().split_for_parts();
    group
        // Inside the routing, so the idempotency layer knows the route and
        // can authenticate before it reads the key.
        .route_layer(middleware::from_fn_with_state((state.clone(), protected), crate::idempotency::layer))
        // Group routes need the signing keys (tokens, cursors); health and
        // the OpenAPI document answer without them.
        .route_layer(middleware::from_fn_with_state(state.clone(), signing_keys_ready))
        .merge(common)
        .route_layer(middleware::from_fn(remember_route))
        .fallback(|| async { ApiError::NotFound })
        .method_not_allowed_fallback(|| async { ApiError::MethodNotAllowed })
        .layer(DefaultBodyLimit::max(MAX_JSON_BODY))
        .layer(middleware::from_fn(no_store_by_default))
        .layer(middleware::from_fn(log_request))
        .layer(PropagateRequestIdLayer::new(REQUEST_ID))
        .layer(SetRequestIdLayer::new(REQUEST_ID, MakeRequestUuid))
        .with_state(state)
}
