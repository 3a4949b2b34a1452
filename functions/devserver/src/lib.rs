//! The local development server: every group's router on the embedded
//! adapters (table, blobs, outbox) under one data directory, plus the
//! `/_dev` routes and a reminder tick. Never deployed. The tests spawn it
//! exactly as `cargo run` does.

mod bootstrap;
mod dev_routes;

use std::path::Path;
use std::sync::Arc;

use anyhow::Context;
use platform::table::Table;
use shared::AppState;
use shared::clock::Clock;
use shared::config::DevConfig;
use shared::dev::LocalAdapters;
use shared::mail::outbox::Outbox;
use utoipa::openapi::OpenApi;
use utoipa_axum::router::OpenApiRouter;

pub use bootstrap::{Bootstrapped, ensure_superadmin};

/// Every group's routes, merged.
pub fn api() -> OpenApiRouter<AppState> {
    auth::api().merge(users::api()).merge(organisations::api()).merge(calendar::api())
}

/// The OpenAPI document of the whole API, generated from the code.
pub fn openapi() -> OpenApi {
    let (_, doc) = api().merge(shared::http::common_api()).split_for_parts();
    let mut base = shared::openapi::base();
    base.merge(doc);
    shared::openapi::describe_responses(&mut base);
    shared::openapi::add_links(&mut base, EXTRA_LINKS);
    base
}

/// Response links the path rule of [`shared::openapi::add_links`] does not
/// derive: creates whose new resource is not named by an `id`, or lives
/// elsewhere than under the create's path.
const EXTRA_LINKS: &[shared::openapi::ExtraLink] = &[
    shared::openapi::ExtraLink {
        from: "create_upload_url",
        status: "201",
        to: "get_attachment",
        parameters: &[("id", "$request.path.id"), ("attachmentId", "$response.body#/attachmentId")],
    },
    shared::openapi::ExtraLink {
        from: "create_upload_url",
        status: "201",
        to: "delete_attachment",
        parameters: &[("id", "$request.path.id"), ("attachmentId", "$response.body#/attachmentId")],
    },
    shared::openapi::ExtraLink {
        from: "create_user",
        status: "201",
        to: "put_member",
        parameters: &[("id", "$request.body#/organisationId"), ("userId", "$response.body#/id")],
    },
    shared::openapi::ExtraLink {
        from: "register_device",
        status: "201",
        to: "delete_device",
        parameters: &[("token", "$response.body#/token")],
    },
    shared::openapi::ExtraLink {
        from: "create_public_organisation",
        status: "201",
        to: "get_organisation",
        parameters: &[("id", "$response.body#/organisation/id")],
    },
    shared::openapi::ExtraLink {
        from: "create_public_organisation",
        status: "201",
        to: "get_user",
        parameters: &[("id", "$response.body#/user/id")],
    },
];

/// A built local application.
pub struct DevApp {
    /// The router to serve.
    pub router: axum::Router,
    /// Its state.
    pub state: AppState,
    /// The local outbox.
    pub outbox: Arc<Outbox>,
}

/// Builds the application over `data_dir`, serving blob URLs under `base_url`.
/// The table is opened shared, so functions run by `cargo lambda watch` (built
/// with their `dev` feature) can use the same data directory at the same time.
pub fn build(data_dir: &Path, base_url: &str, clock: Arc<dyn Clock>) -> anyhow::Result<DevApp> {
    let table = shared::dev::open_table(data_dir)?;
    build_with_table(data_dir, base_url, clock, Arc::new(table))
}

/// Like [`build`], over another table (the tests run the same app on DynamoDB).
pub fn build_with_table(
    data_dir: &Path,
    base_url: &str,
    clock: Arc<dyn Clock>,
    table: Arc<dyn Table>,
) -> anyhow::Result<DevApp> {
    let LocalAdapters { state, blobs, outbox } = shared::dev::adapters(data_dir, base_url, clock, table)?;
    let router = shared::http::app(api(), state.clone())
        .merge(dev_routes::router(state.clone(), outbox.clone()))
        .merge(organisations::docs::router())
        .merge(shared::blobs::local::routes(blobs));
    Ok(DevApp { router, state, outbox })
}

/// Runs the devserver until Ctrl-C: binds, bootstraps, ticks reminders.
pub async fn serve(config: DevConfig) -> anyhow::Result<()> {
    let listener =
        tokio::net::TcpListener::bind(&config.addr).await.with_context(|| format!("Failed to bind {}", config.addr))?;
    let addr = listener.local_addr()?;
    config.check_addr(addr).map_err(anyhow::Error::msg)?;
    let app = build(&config.data_dir, &format!("http://{addr}"), Arc::new(shared::clock::SystemClock))?;
    if let (Some(email), Some(password)) = (&config.bootstrap_email, &config.bootstrap_password) {
        ensure_superadmin(app.state.table.as_ref(), app.state.clock.as_ref(), email, password).await?;
    }
    tokio::spawn(dev_routes::reminder_tick(app.state.clone()));
    tracing::info!(%addr, data_dir = %config.data_dir.display(), "Sundial devserver listening");
    axum::serve(listener, app.router.into_make_service_with_connect_info::<std::net::SocketAddr>())
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await
        .context("The server failed")
}
