//! Routes for TOTP and backup codes.

use shared::AppState;
use utoipa_axum::router::OpenApiRouter;

/// This module's routes.
pub fn api() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
}
