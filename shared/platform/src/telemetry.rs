//! Tracing set up once per process: JSON lines in Lambda (CloudWatch
//! parses them), human-readable locally. `RUST_LOG` filters.

use tracing_subscriber::EnvFilter;

/// Installs the global subscriber; safe to call more than once.
pub fn init() {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let in_lambda = std::env::var_os("AWS_LAMBDA_FUNCTION_NAME").is_some();
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_target(false);
    let result = if in_lambda {
        // Lambda adds its own timestamps; ANSI colours would garble CloudWatch.
        builder.json().with_current_span(false).without_time().with_ansi(false).try_init()
    } else {
        builder.compact().try_init()
    };
    // Already installed (tests, repeated init): keep the first.
    let _ = result;
}
