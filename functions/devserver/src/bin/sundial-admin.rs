//! `sundial-admin`: operator commands against a deployed stack, run from a
//! machine with AWS credentials. Today: create the first superadmin.
//!
//! ```sh
//! SUNDIAL_TABLE=<table> SUNDIAL_BOOTSTRAP_EMAIL=root@example.com \
//!   cargo run -p devserver --bin sundial-admin -- create-superadmin   # password read from stdin
//! ```

use std::io::BufRead;

use anyhow::Context;
use platform::table::dynamo::DynamoTable;
use secrecy::SecretString;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    shared::telemetry::init();
    let command = std::env::args().nth(1).unwrap_or_default();
    anyhow::ensure!(command == "create-superadmin", "usage: sundial-admin create-superadmin");
    let table_name = std::env::var("SUNDIAL_TABLE").context("SUNDIAL_TABLE is not set")?;
    let email = std::env::var("SUNDIAL_BOOTSTRAP_EMAIL").context("SUNDIAL_BOOTSTRAP_EMAIL is not set")?;
    // The password comes from stdin so it never lands in shell history or the process list.
    eprintln!("Password for {email} (one line on stdin):");
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line).context("Failed to read the password")?;
    let password = SecretString::from(line.trim_end_matches(['\r', '\n']).to_string());

    let sdk = shared::aws::load_config().await;
    let table = DynamoTable::new(aws_sdk_dynamodb::Client::new(&sdk), table_name);
    let outcome = devserver::ensure_superadmin(&table, &shared::clock::SystemClock, &email, &password).await?;
    println!("{outcome:?}");
    Ok(())
}
