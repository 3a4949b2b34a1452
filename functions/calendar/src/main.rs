//! Lambda entry point of the calendar group.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    shared::telemetry::init();
    // Its table and signing keys only: no blobs, no mail.
    let state = shared::lambda::state(|aws| aws).await?;
    shared::lambda::run(calendar::router(state)).await
}
