//! Routes for personal access tokens.

use shared::AppState;
use utoipa_axum::router::OpenApiRouter;

/// This module's routes.
pub fn api() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
}
