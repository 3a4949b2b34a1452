//! The `organisations` resource group: tenants and their structure. This
//! library holds the router so the Lambda, the devserver and the tests
//! mount exactly the code that ships.

mod handlers;

use shared::AppState;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// The group's routes, documented.
pub fn api() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(handlers::create_public_organisation))
        .routes(routes!(handlers::get_organisation))
}

/// The servable router of this group.
pub fn router(state: AppState) -> axum::Router {
    shared::http::app(api(), state)
}
