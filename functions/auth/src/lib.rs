//! The `auth` resource group: sessions and credentials. This library holds
//! the router so the Lambda, the devserver and the tests mount exactly the
//! code that ships.

mod email;
mod mfa;
mod password;
mod sessions;
mod tokens;

use shared::AppState;
use utoipa_axum::router::OpenApiRouter;

/// The group's routes, documented.
pub fn api() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .merge(sessions::api())
        .merge(tokens::api())
        .merge(mfa::api())
        .merge(password::api())
        .merge(email::api())
}

/// The servable router of this group.
pub fn router(state: AppState) -> axum::Router {
    shared::http::app(api(), state)
}
