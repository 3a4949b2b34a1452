//! Lambda entry point of the scheduled reminders function.

use aws_lambda_events::eventbridge::EventBridgeEvent;
use lambda_runtime::{LambdaEvent, service_fn};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    shared::telemetry::init();
    // Beyond its table: SES, for mailed reminders and digests.
    let state = shared::lambda::state(|aws| aws.with_mail()).await?;
    lambda_runtime::run(service_fn(|event: LambdaEvent<EventBridgeEvent<serde_json::Value>>| {
        let state = state.clone();
        async move {
            let now = reminders::event_time(&event.payload)?;
            let summary = reminders::run(&state, now).await?;
            Ok::<_, lambda_runtime::Error>(summary)
        }
    }))
    .await
}
