//! Lambda entry point of the organisations group.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    shared::telemetry::init();
    let state = shared::AppState::from_lambda_env().await?;
    shared::lambda::run(organisations::router(state)).await
}
