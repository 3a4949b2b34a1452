//! Lambda entry point of the auth group.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    shared::telemetry::init();
    // Beyond its table and signing keys: SES, for verification and reset mails.
    let state = shared::lambda::state(|aws| aws.with_mail()).await?;
    shared::lambda::run(auth::router(state)).await
}
