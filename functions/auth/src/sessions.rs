//! Routes for sign-in (token, cookie), refresh, logout and the session list.

use shared::AppState;
use utoipa_axum::router::OpenApiRouter;

/// This module's routes.
pub fn api() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
}
