//! AWS SDK configuration shared by every AWS adapter, so the Lambdas and the
//! emulator tests build clients the same way.

use std::sync::{Arc, OnceLock};

use aws_config::{BehaviorVersion, SdkConfig};

/// Environment variable the test command sets to the local AWS emulator's URL.
pub const TEST_ENDPOINT_VAR: &str = "SUNDIAL_TEST_AWS_ENDPOINT";

/// SDK configuration from the standard AWS environment (region,
/// credentials, `AWS_ENDPOINT_URL*` overrides).
pub async fn load_config() -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest()).load().await
}

/// SDK configuration pointing at a local emulator with dummy credentials.
pub async fn emulator_config(endpoint: &str) -> SdkConfig {
    let credentials = aws_sdk_dynamodb::config::Credentials::new("test", "test", None, None, "sundial-emulator");
    aws_config::defaults(BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .region(aws_config::Region::new("us-east-1"))
        .credentials_provider(credentials)
        .load()
        .await
}

/// An S3 client; path-style addressing when an endpoint override is in use
/// (emulators do not resolve bucket subdomains).
pub fn s3_client(config: &SdkConfig) -> aws_sdk_s3::Client {
    let path_style = config.endpoint_url().is_some();
    let conf = aws_sdk_s3::config::Builder::from(config).force_path_style(path_style).build();
    aws_sdk_s3::Client::from_conf(conf)
}

/// An AWS client built on its first use rather than at cold start. Building
/// a client resolves its endpoint rules and HTTP connector (measured in
/// docs/benchmarks.md, "Lean Lambdas"); a function should pay at start-up
/// only for the clients its requests always need (the table), not for the
/// mailer or the blob store a few routes use.
#[derive(Clone)]
pub struct LazyClient<C> {
    config: SdkConfig,
    make: fn(&SdkConfig) -> C,
    client: Arc<OnceLock<C>>,
}

impl<C> LazyClient<C> {
    /// A client `make` builds from `config` when first asked for.
    pub fn new(config: &SdkConfig, make: fn(&SdkConfig) -> C) -> Self {
        Self { config: config.clone(), make, client: Arc::new(OnceLock::new()) }
    }

    /// A client that is already built (tests, emulators).
    pub fn ready(client: C) -> Self {
        let cell = OnceLock::new();
        let _ = cell.set(client);
        Self {
            config: SdkConfig::builder().build(),
            make: |_| unreachable!("a ready client is never rebuilt"),
            client: Arc::new(cell),
        }
    }

    /// The client, built now if this is the first use.
    pub fn get(&self) -> &C {
        self.client.get_or_init(|| (self.make)(&self.config))
    }
}

impl<C> std::fmt::Debug for LazyClient<C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LazyClient").field("built", &self.client.get().is_some()).finish()
    }
}

/// The emulator URL for tests of the AWS adapters. Panics with instructions
/// when unset: those tests must run, never pass silently.
pub fn test_endpoint() -> String {
    std::env::var(TEST_ENDPOINT_VAR).unwrap_or_else(|_| {
        panic!("{TEST_ENDPOINT_VAR} is not set: run the test command from the README (scripts/test), which starts the AWS emulator")
    })
}
