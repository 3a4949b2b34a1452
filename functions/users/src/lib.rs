//! The `users` resource group: people and their profiles, preferences,
//! follows, planners, contacts and attachments. This library holds the
//! router so the Lambda, the devserver and the tests mount exactly the code
//! that ships. Who may touch which user is decided in one place,
//! `shared::authz::user_access`.

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
    OpenApiRouter::new()
        .routes(routes!(users::create_user, users::list_users))
        .routes(routes!(bulk::bulk_create_users))
        .routes(routes!(bulk::bulk_delete_users))
        .routes(routes!(users::get_me, users::delete_me))
        .routes(routes!(users::get_user, users::patch_user, users::delete_user))
        .routes(routes!(lifecycle::lock_user))
        .routes(routes!(lifecycle::unlock_user))
        .routes(routes!(lifecycle::deactivate_user))
        .routes(routes!(lifecycle::activate_user))
        .routes(routes!(preferences::list_preferences))
        .routes(routes!(preferences::get_preference, preferences::put_preference, preferences::delete_preference))
        .routes(routes!(follows::follow_user, follows::unfollow_user, follows::list_followers))
        .routes(routes!(follows::list_follows))
        .routes(routes!(planners::list_planners))
        .routes(routes!(planners::put_planner, planners::delete_planner))
        .routes(routes!(planners::invite_planner))
        .routes(routes!(contacts::list_contacts, contacts::create_contact))
        .routes(routes!(contacts::put_contact, contacts::delete_contact))
        .routes(routes!(attachments::create_upload_url))
        .routes(routes!(attachments::confirm_attachment, attachments::list_attachments))
        .routes(routes!(attachments::get_attachment, attachments::delete_attachment))
}

/// The servable router of this group.
pub fn router(state: AppState) -> axum::Router {
    shared::http::app(api(), state)
}
