//! The `calendar` resource group: events with recurring series (RFC 5545,
//! expanded in each event's own time zone) and event templates. This
//! library holds the router so the Lambda, the devserver and the tests
//! mount exactly the code that ships; `series` is the pure recurrence
//! logic the handlers (and the reminders) build on.

mod almanac;
mod common;
pub mod events;
mod notifications;
pub mod series;
mod templates;

use shared::AppState;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// The group's routes, documented.
pub fn api() -> OpenApiRouter<AppState> {
    // Every route of the group, one line per path (grep a path to find its
    // handlers); the openapi test checks these comments against the document.
    OpenApiRouter::new()
        // GET POST /v1/almanac/events
        .routes(routes!(almanac::list_almanac_events, almanac::create_almanac_event))
        // GET PUT DELETE /v1/almanac/events/{id}
        .routes(routes!(almanac::get_almanac_event, almanac::put_almanac_event, almanac::delete_almanac_event))
        // GET POST /v1/almanac/locations
        .routes(routes!(almanac::list_almanac_locations, almanac::create_almanac_location))
        // GET PUT DELETE /v1/almanac/locations/{id}
        .routes(routes!(almanac::get_almanac_location, almanac::put_almanac_location, almanac::delete_almanac_location))
        // GET POST /v1/almanac/subjects
        .routes(routes!(almanac::list_almanac_subjects, almanac::create_almanac_subject))
        // GET PUT DELETE /v1/almanac/subjects/{id}
        .routes(routes!(almanac::get_almanac_subject, almanac::put_almanac_subject, almanac::delete_almanac_subject))
        // GET POST /v1/event-templates
        .routes(routes!(templates::list_event_templates, templates::create_event_template))
        // GET PUT DELETE /v1/event-templates/{id}
        .routes(routes!(templates::get_event_template, templates::put_event_template, templates::delete_event_template))
        // GET POST /v1/events
        .routes(routes!(events::list_events, events::create_event))
        // GET PATCH DELETE /v1/events/{id}
        .routes(routes!(events::get_event, events::patch_event, events::delete_event))
        // POST /v1/events/{id}/cancel
        .routes(routes!(events::cancel_event))
        // POST /v1/events/{id}/done
        .routes(routes!(events::mark_event_done))
        // POST /v1/events/{id}/progress
        .routes(routes!(events::save_event_progress))
        // POST /v1/events/{id}/stop-alarm
        .routes(routes!(events::stop_event_alarm))
        // GET /v1/notifications
        .routes(routes!(notifications::list_notifications))
        // POST /v1/notifications/devices
        .routes(routes!(notifications::register_device))
        // DELETE /v1/notifications/devices/{token}
        .routes(routes!(notifications::delete_device))
        // POST /v1/notifications/{id}/read
        .routes(routes!(notifications::read_notification))
        // POST /v1/users/{id}/event-templates/import
        .routes(routes!(templates::import_event_templates))
}

/// The servable router of this group.
pub fn router(state: AppState) -> axum::Router {
    shared::http::app(api(), state)
}
