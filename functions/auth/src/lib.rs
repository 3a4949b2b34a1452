//! The `auth` resource group (sessions and credentials). Its routes arrive with their
//! issue; until then the function serves the common routes (`/v1/health`,
//! `/v1/openapi.json`) so the deployment path is proven end to end.

use shared::AppState;
use utoipa_axum::router::OpenApiRouter;

/// The group's routes, documented.
pub fn api() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
}

/// The servable router of this group.
pub fn router(state: AppState) -> axum::Router {
    shared::http::app(api(), state)
}
