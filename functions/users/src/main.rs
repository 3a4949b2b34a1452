//! Lambda entry point of the users group.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    shared::telemetry::init();
    let state = shared::AppState::from_lambda_env().await?;
    shared::lambda::run(users::router(state)).await
}
