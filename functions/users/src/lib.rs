//! The `users` resource group: people and their profiles, preferences,
//! follows, planners, contacts and attachments. This library holds the
//! router so the Lambda, the devserver and the tests mount exactly the code
//! that ships. Who may touch which user is decided in one place,
//! `shared::access::authz::user_access`.

mod attachments;
mod bulk;
mod common;
mod contacts;
mod deletion;
mod follows;
mod lifecycle;
mod planners;
mod preferences;
mod users;

use shared::AppState;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// The group's routes, documented.
pub fn api() -> OpenApiRouter<AppState> {
    // Every route of the group, one line per path (grep a path to find its
    // handlers); the openapi test checks these comments against the document.
    OpenApiRouter::new()
        // GET /v1/follows
        .routes(routes!(follows::list_follows))
        // GET POST /v1/users
        .routes(routes!(users::list_users, users::create_user))
        // POST /v1/users/bulk
        .routes(routes!(bulk::bulk_create_users))
        // POST /v1/users/bulk-delete
        .routes(routes!(bulk::bulk_delete_users))
        // GET DELETE /v1/users/me
        .routes(routes!(users::get_me, users::delete_me))
        // GET PATCH DELETE /v1/users/{id}
        .routes(routes!(users::get_user, users::patch_user, users::delete_user))
        // POST /v1/users/{id}/activate
        .routes(routes!(lifecycle::activate_user))
        // GET POST /v1/users/{id}/attachments
        .routes(routes!(attachments::list_attachments, attachments::confirm_attachment))
        // POST /v1/users/{id}/attachments/upload-url
        .routes(routes!(attachments::create_upload_url))
        // GET DELETE /v1/users/{id}/attachments/{attachmentId}
        .routes(routes!(attachments::get_attachment, attachments::delete_attachment))
        // GET POST /v1/users/{id}/contacts
        .routes(routes!(contacts::list_contacts, contacts::create_contact))
        // PUT DELETE /v1/users/{id}/contacts/{contactId}
        .routes(routes!(contacts::put_contact, contacts::delete_contact))
        // POST /v1/users/{id}/deactivate
        .routes(routes!(lifecycle::deactivate_user))
        // GET POST DELETE /v1/users/{id}/followers
        .routes(routes!(follows::list_followers, follows::follow_user, follows::unfollow_user))
        // POST /v1/users/{id}/lock
        .routes(routes!(lifecycle::lock_user))
        // POST /v1/users/{id}/planner-invites
        .routes(routes!(planners::invite_planner))
        // GET /v1/users/{id}/planners
        .routes(routes!(planners::list_planners))
        // PUT DELETE /v1/users/{id}/planners/{plannerId}
        .routes(routes!(planners::put_planner, planners::delete_planner))
        // GET /v1/users/{id}/preferences
        .routes(routes!(preferences::list_preferences))
        // GET PUT DELETE /v1/users/{id}/preferences/{key}
        .routes(routes!(preferences::get_preference, preferences::put_preference, preferences::delete_preference))
        // POST /v1/users/{id}/unlock
        .routes(routes!(lifecycle::unlock_user))
}

/// The servable router of this group.
pub fn router(state: AppState) -> axum::Router {
    shared::http::app(api(), state)
}
