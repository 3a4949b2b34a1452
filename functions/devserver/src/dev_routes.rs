//! Routes only the devserver has: the outbox and a manual reminder run.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::routing::{get, post};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use shared::AppState;
use shared::extract::{Json, Query};
use shared::mail::outbox::Outbox;

#[derive(Clone)]
struct DevState {
    app: AppState,
    outbox: Arc<Outbox>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct OutboxQuery {
    to: Option<String>,
}

async fn get_outbox(
    State(dev): State<DevState>,
    Query(q): Query<OutboxQuery>,
) -> shared::Result<Json<serde_json::Value>> {
    let mails = dev.outbox.list(q.to.as_deref())?;
    Ok(Json(serde_json::json!({ "items": mails })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RunRequest {
    time: DateTime<Utc>,
}

async fn run_reminders(
    State(dev): State<DevState>,
    Json(body): Json<RunRequest>,
) -> shared::Result<Json<reminders::Summary>> {
    Ok(Json(reminders::run(&dev.app, body.time).await?))
}

/// `/_dev/outbox` and `/_dev/reminders/run`.
pub fn router(app: AppState, outbox: Arc<Outbox>) -> Router {
    Router::new()
        .route("/_dev/outbox", get(get_outbox))
        .route("/_dev/reminders/run", post(run_reminders))
        .with_state(DevState { app, outbox })
}

/// Runs the reminders function once a minute, as EventBridge would.
pub async fn reminder_tick(state: AppState) {
    let mut interval = tokio::time::interval(Duration::from_secs(60));
    loop {
        interval.tick().await;
        if let Err(err) = reminders::run(&state, state.clock.now()).await {
            tracing::error!(error = %format!("{err:#}"), "reminder tick failed");
        }
    }
}
