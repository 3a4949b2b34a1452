//! Configuration, read only from the environment that `template.yaml`
//! declares. Secrets are never in the environment: only the ARN of the
//! secret, read once per cold start (in the background: see `shared::state`).

use anyhow::Context;
use secrecy::{ExposeSecret, SecretString};

/// Settings of a deployed function.
#[derive(Debug, Clone)]
pub struct LambdaConfig {
    /// `SUNDIAL_TABLE`: the DynamoDB table.
    pub table: String,
    /// `SUNDIAL_BUCKET`: the S3 bucket for media.
    pub bucket: String,
    /// `SUNDIAL_MAIL_FROM`: the verified SES sender.
    pub mail_from: String,
    /// `SUNDIAL_SIGNING_KEY_SECRET_ARN`: the Secrets Manager secret holding the master signing key.
    pub signing_key_secret_arn: String,
    /// `SUNDIAL_APP_URL`: the web app's base URL, for links in mails.
    pub app_url: String,
    /// `SUNDIAL_SESSION_IDLE_DAYS`: see [`session_idle_days`].
    pub session_idle_days: u32,
}

/// The idle timeout of login sessions when `SUNDIAL_SESSION_IDLE_DAYS` is unset.
pub const DEFAULT_SESSION_IDLE_DAYS: u32 = 7;

/// `SUNDIAL_SESSION_IDLE_DAYS`: days without a request after which a login
/// session ends, besides its 30-day absolute limit; 1 to 30, default
/// [`DEFAULT_SESSION_IDLE_DAYS`]. Anything else is an error, not a default.
pub fn session_idle_days() -> anyhow::Result<u32> {
    match std::env::var("SUNDIAL_SESSION_IDLE_DAYS") {
        Err(_) => Ok(DEFAULT_SESSION_IDLE_DAYS),
        Ok(raw) => raw.trim().parse::<u32>().ok().filter(|days| (1..=30).contains(days)).with_context(|| {
            format!("SUNDIAL_SESSION_IDLE_DAYS must be a whole number of days from 1 to 30, not {raw:?}")
        }),
    }
}

fn var(name: &str) -> anyhow::Result<String> {
    std::env::var(name).with_context(|| format!("{name} is not set"))
}

impl LambdaConfig {
    /// Reads every setting; a missing one fails the cold start loudly.
    pub fn from_env() -> anyhow::Result<Self> {
        Ok(Self {
            table: var("SUNDIAL_TABLE")?,
            bucket: var("SUNDIAL_BUCKET")?,
            mail_from: var("SUNDIAL_MAIL_FROM")?,
            signing_key_secret_arn: var("SUNDIAL_SIGNING_KEY_SECRET_ARN")?,
            app_url: var("SUNDIAL_APP_URL")?,
            session_idle_days: session_idle_days()?,
        })
    }
}

/// Reads the master signing key from Secrets Manager.
pub async fn read_signing_secret(client: &aws_sdk_secretsmanager::Client, arn: &str) -> anyhow::Result<SecretString> {
    let out = client.get_secret_value().secret_id(arn).send().await.context("Failed to read the signing key secret")?;
    let secret = out.secret_string().context("The signing key secret has no string value")?;
    let secret = SecretString::from(secret.to_string());
    anyhow::ensure!(secret.expose_secret().len() >= 32, "The signing key secret is shorter than 32 bytes");
    Ok(secret)
}

/// Settings of the local development server.
#[derive(Debug, Clone)]
pub struct DevConfig {
    /// `SUNDIAL_ADDR` (default `127.0.0.1:3000`).
    pub addr: String,
    /// `SUNDIAL_DATA_DIR` (default `./.sundial`).
    pub data_dir: std::path::PathBuf,
    /// `SUNDIAL_BOOTSTRAP_EMAIL`: a superadmin to create at start if absent.
    pub bootstrap_email: Option<String>,
    /// `SUNDIAL_BOOTSTRAP_PASSWORD`: that superadmin's password.
    pub bootstrap_password: Option<SecretString>,
    /// `SUNDIAL_DEV_ALLOW_REMOTE=1`: allows an `addr` other machines can
    /// reach (the devserver has no TLS and a development signing key).
    pub allow_remote: bool,
}

impl DevConfig {
    /// Reads the settings with their defaults.
    pub fn from_env() -> Self {
        Self {
            addr: std::env::var("SUNDIAL_ADDR").unwrap_or_else(|_| "127.0.0.1:3000".into()),
            data_dir: std::env::var("SUNDIAL_DATA_DIR").unwrap_or_else(|_| "./.sundial".into()).into(),
            bootstrap_email: std::env::var("SUNDIAL_BOOTSTRAP_EMAIL").ok().filter(|v| !v.is_empty()),
            bootstrap_password: std::env::var("SUNDIAL_BOOTSTRAP_PASSWORD")
                .ok()
                .filter(|v| !v.is_empty())
                .map(SecretString::from),
            allow_remote: std::env::var("SUNDIAL_DEV_ALLOW_REMOTE").is_ok_and(|v| v == "1"),
        }
    }

    /// Refuses an address other machines can reach unless `allow_remote`.
    pub fn check_addr(&self, addr: std::net::SocketAddr) -> Result<(), String> {
        if addr.ip().is_loopback() || self.allow_remote {
            Ok(())
        } else {
            Err(format!(
                "SUNDIAL_ADDR {addr} is reachable from other machines; the devserver is for local development \
                 (set SUNDIAL_DEV_ALLOW_REMOTE=1 to allow it anyway)"
            ))
        }
    }
}

#[cfg(test)]
mod dev_config_tests {
    use super::*;

    fn config(allow_remote: bool) -> DevConfig {
        DevConfig {
            addr: String::new(),
            data_dir: ".".into(),
            bootstrap_email: None,
            bootstrap_password: None,
            allow_remote,
        }
    }

    #[test]
    fn a_reachable_address_needs_the_explicit_setting() {
        assert!(config(false).check_addr("127.0.0.1:3000".parse().unwrap()).is_ok());
        assert!(config(false).check_addr("[::1]:3000".parse().unwrap()).is_ok());
        let refused = config(false).check_addr("0.0.0.0:3000".parse().unwrap()).unwrap_err();
        assert!(refused.contains("SUNDIAL_DEV_ALLOW_REMOTE=1"), "{refused}");
        assert!(config(false).check_addr("192.168.1.5:3000".parse().unwrap()).is_err());
        assert!(config(true).check_addr("0.0.0.0:3000".parse().unwrap()).is_ok());
    }
}
