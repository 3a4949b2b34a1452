//! The `organisations` resource group: tenants and their structure. This
//! library holds the router so the Lambda, the devserver and the tests
//! mount exactly the code that ships.

mod api_keys;
mod common;
mod deletion;
mod invitation_text;
mod invitations;
mod links;
mod members;
mod organisations;
mod statistics;
mod structure;

use shared::AppState;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// The group's routes, documented.
pub fn api() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(organisations::create_public_organisation))
        .routes(routes!(organisations::create_organisation, organisations::list_organisations))
        .routes(routes!(
            organisations::get_organisation,
            organisations::update_organisation,
            organisations::delete_organisation
        ))
        .routes(routes!(statistics::get_statistics))
        .routes(routes!(members::list_members))
        .routes(routes!(members::put_member, members::delete_member))
        .routes(routes!(links::list_links, links::create_link))
        .routes(routes!(links::update_link, links::delete_link))
        .routes(routes!(invitation_text::get_invitation_text, invitation_text::put_invitation_text))
        .merge(invitations::api())
        .merge(api_keys::api())
        .merge(structure::api())
}

/// The servable router of this group.
pub fn router(state: AppState) -> axum::Router {
    shared::http::app(api(), state)
}
