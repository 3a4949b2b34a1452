//! `cargo run`: the whole API locally on embedded storage, outbox and blobs.

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    shared::telemetry::init();
    devserver::serve(shared::config::DevConfig::from_env()).await
}
