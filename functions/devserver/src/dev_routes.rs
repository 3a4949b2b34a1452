//! Routes only the devserver has: the outbox and a manual reminder run.
//! They read every mail (reset links included) and move time for the
//! reminders, so they answer only a caller on this machine: a loopback peer
//! that also names this machine in `Host` (which keeps a web page in the
//! developer's browser from reaching them through DNS rebinding).

use std::sync::Arc;
use std::time::Duration;

use std::net::{IpAddr, SocketAddr};

use axum::Router;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::header::HOST;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
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

/// `/_dev/outbox` and `/_dev/reminders/run`, for local callers only.
pub fn router(app: AppState, outbox: Arc<Outbox>) -> Router {
    Router::new()
        .route("/_dev/outbox", get(get_outbox))
        .route("/_dev/reminders/run", post(run_reminders))
        .route_layer(axum::middleware::from_fn(local_only))
        .with_state(DevState { app, outbox })
}

/// Whether `host` (a `Host` header value) names this machine.
fn is_local_host(host: &str) -> bool {
    let name = match host.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or_default(),
        None => host.rsplit_once(':').map_or(host, |(name, _)| name),
    };
    name.eq_ignore_ascii_case("localhost") || name.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// Whether a request from `peer` naming `host` may use the dev routes.
fn is_local_caller(peer: Option<SocketAddr>, host: Option<&str>) -> bool {
    peer.is_some_and(|p| p.ip().is_loopback()) && host.is_some_and(is_local_host)
}

/// 404 (as if the routes did not exist) for anyone but a local caller.
async fn local_only(request: Request, next: Next) -> Response {
    let peer = request.extensions().get::<ConnectInfo<SocketAddr>>().map(|c| c.0);
    let host = request.headers().get(HOST).and_then(|h| h.to_str().ok());
    if is_local_caller(peer, host) { next.run(request).await } else { shared::ApiError::NotFound.into_response() }
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

#[cfg(test)]
mod tests {
    use super::*;

    fn peer(ip: &str) -> Option<SocketAddr> {
        Some(SocketAddr::new(ip.parse().unwrap(), 50_000))
    }

    #[test]
    fn only_a_loopback_peer_naming_this_machine_is_local() {
        for host in ["127.0.0.1:3000", "localhost:3000", "LOCALHOST", "[::1]:3000", "127.0.0.1"] {
            assert!(is_local_caller(peer("127.0.0.1"), Some(host)), "{host}");
            assert!(is_local_caller(peer("::1"), Some(host)), "{host}");
        }
        assert!(!is_local_caller(peer("192.168.1.20"), Some("127.0.0.1:3000")), "a remote peer");
        assert!(!is_local_caller(peer("127.0.0.1"), Some("evil.example:3000")), "DNS rebinding");
        assert!(!is_local_caller(peer("127.0.0.1"), Some("localhost.evil.example")));
        assert!(!is_local_caller(peer("127.0.0.1"), None), "no Host");
        assert!(!is_local_caller(None, Some("127.0.0.1:3000")), "no peer address");
    }
}
