//! Routes for password change and reset.

use shared::AppState;
use utoipa_axum::router::OpenApiRouter;

/// This module's routes.
pub fn api() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
}
