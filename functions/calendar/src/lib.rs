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
    OpenApiRouter::new()
        .routes(routes!(events::create_event, events::list_events))
        .routes(routes!(events::get_event, events::patch_event, events::delete_event))
        .routes(routes!(events::cancel_event))
        .routes(routes!(events::mark_event_done))
        .routes(routes!(events::save_event_progress))
        .routes(routes!(events::stop_event_alarm))
        .routes(routes!(templates::list_event_templates, templates::create_event_template))
        .routes(routes!(templates::get_event_template, templates::put_event_template, templates::delete_event_template))
        .routes(routes!(templates::import_event_templates))
        .merge(notifications::routes())
        .merge(almanac::routes())
}

/// The servable router of this group.
pub fn router(state: AppState) -> axum::Router {
    shared::http::app(api(), state)
}
