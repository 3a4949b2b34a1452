//! Lambda entry point of the organisations group.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    shared::telemetry::init();
    // Beyond its table and signing keys: SES, for sign-up and invitation mails.
    let state = shared::lambda::state(|aws| aws.with_mail()).await?;
    shared::lambda::run(organisations::router(state)).await
}
