//! Lambda entry point of the users group.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    shared::telemetry::init();
    // Beyond its table and signing keys: S3 for attachments, SES for welcome and invite mails.
    let state = shared::lambda::state(|aws| aws.with_blobs().with_mail()).await?;
    shared::lambda::run(users::router(state)).await
}
