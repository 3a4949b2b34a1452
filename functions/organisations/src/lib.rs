//! The `organisations` resource group: tenants and their structure. This
//! library holds the router so the Lambda, the devserver and the tests
//! mount exactly the code that ships.

mod api_keys;
mod common;
mod deletion;
pub mod docs;
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
    // Every route of the group, one line per path (grep a path to find its
    // handlers); the openapi test checks these comments against the document.
    OpenApiRouter::new()
        // POST /v1/invitations/accept
        .routes(routes!(invitations::accept_invitation))
        // GET POST /v1/organisations
        .routes(routes!(organisations::list_organisations, organisations::create_organisation))
        // GET PATCH DELETE /v1/organisations/{id}
        .routes(routes!(
            organisations::get_organisation,
            organisations::update_organisation,
            organisations::delete_organisation
        ))
        // GET POST /v1/organisations/{id}/api-keys
        .routes(routes!(api_keys::list_api_keys, api_keys::create_api_key))
        // DELETE /v1/organisations/{id}/api-keys/{keyId}
        .routes(routes!(api_keys::delete_api_key))
        // GET POST /v1/organisations/{id}/departments
        .routes(routes!(structure::departments::list, structure::departments::create))
        // GET PATCH DELETE /v1/organisations/{id}/departments/{unitId}
        .routes(routes!(structure::departments::get, structure::departments::update, structure::departments::delete))
        // GET POST /v1/organisations/{id}/departments/{unitId}/heads
        .routes(routes!(structure::department_heads::list, structure::department_heads::change))
        // GET POST /v1/organisations/{id}/departments/{unitId}/members
        .routes(routes!(structure::department_members::list, structure::department_members::change))
        // GET POST /v1/organisations/{id}/groups
        .routes(routes!(structure::groups::list, structure::groups::create))
        // GET PATCH DELETE /v1/organisations/{id}/groups/{unitId}
        .routes(routes!(structure::groups::get, structure::groups::update, structure::groups::delete))
        // GET POST /v1/organisations/{id}/groups/{unitId}/members
        .routes(routes!(structure::group_members::list, structure::group_members::change))
        // GET POST /v1/organisations/{id}/groups/{unitId}/staff
        .routes(routes!(structure::group_staff::list, structure::group_staff::change))
        // GET PUT /v1/organisations/{id}/invitation-text
        .routes(routes!(invitation_text::get_invitation_text, invitation_text::put_invitation_text))
        // GET POST /v1/organisations/{id}/invitations
        .routes(routes!(invitations::list_invitations, invitations::create_invitation))
        // DELETE /v1/organisations/{id}/invitations/{invId}
        .routes(routes!(invitations::revoke_invitation))
        // POST /v1/organisations/{id}/invitations/{invId}/resend
        .routes(routes!(invitations::resend_invitation))
        // GET POST /v1/organisations/{id}/links
        .routes(routes!(links::list_links, links::create_link))
        // PATCH DELETE /v1/organisations/{id}/links/{linkId}
        .routes(routes!(links::update_link, links::delete_link))
        // GET POST /v1/organisations/{id}/locations
        .routes(routes!(structure::locations::list, structure::locations::create))
        // GET PATCH DELETE /v1/organisations/{id}/locations/{unitId}
        .routes(routes!(structure::locations::get, structure::locations::update, structure::locations::delete))
        // GET POST /v1/organisations/{id}/locations/{unitId}/members
        .routes(routes!(structure::location_members::list, structure::location_members::change))
        // GET /v1/organisations/{id}/members
        .routes(routes!(members::list_members))
        // PUT DELETE /v1/organisations/{id}/members/{userId}
        .routes(routes!(members::put_member, members::delete_member))
        // GET POST /v1/organisations/{id}/security-groups
        .routes(routes!(structure::security_groups::list, structure::security_groups::create))
        // GET PATCH DELETE /v1/organisations/{id}/security-groups/{unitId}
        .routes(routes!(
            structure::security_groups::get,
            structure::security_groups::update,
            structure::security_groups::delete
        ))
        // GET POST /v1/organisations/{id}/security-groups/{unitId}/members
        .routes(routes!(structure::security_group_members::list, structure::security_group_members::change))
        // GET /v1/organisations/{id}/statistics
        .routes(routes!(statistics::get_statistics))
        // POST /v1/public/organisations
        .routes(routes!(organisations::create_public_organisation))
}

/// The servable router of this group, with the API reference at `/docs`
/// (this function serves the meta routes when deployed).
pub fn router(state: AppState) -> axum::Router {
    shared::http::app(api(), state).merge(docs::router())
}
