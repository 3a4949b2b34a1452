//! The local adapters over one data directory (feature `embedded`): the
//! embedded table, the blob directory, the mail outbox and the recording
//! push, with the keys derived from the directory's local master secret.
//! The devserver builds its state here, and so does every function built
//! with its `dev` feature (what `cargo lambda watch` runs, see
//! [`crate::lambda::state`]): each is its own process over the SAME
//! directory, so the table is opened shared
//! ([`EmbeddedTable::open_shared`]), the outbox is appended to by all of
//! them, and blob URLs signed by any of them are served by the devserver.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context;

use crate::blobs::local::LocalBlobs;
use crate::clock::Clock;
use crate::mail::outbox::Outbox;
use crate::push::RecordingPush;
use crate::state::{AppState, derive_key, local_master_key};
use crate::table::Table;
use crate::table::embedded::EmbeddedTable;

/// The adapters of a data directory and the state over them.
pub struct LocalAdapters {
    /// The state every router shares.
    pub state: AppState,
    /// The blob store (the devserver serves its signed URLs).
    pub blobs: Arc<LocalBlobs>,
    /// The mail outbox.
    pub outbox: Arc<Outbox>,
}

/// The table file of a data directory.
pub fn table_path(data_dir: &Path) -> PathBuf {
    data_dir.join("table.redb")
}

/// Opens the data directory's table, shared with the other processes that
/// open it this way (the devserver and the watched functions).
pub fn open_table(data_dir: &Path) -> anyhow::Result<EmbeddedTable> {
    EmbeddedTable::open_shared(&table_path(data_dir)).context("Failed to open the embedded table")
}

/// The local adapters over `data_dir` and `table`; blob URLs are signed
/// for `base_url`, where the devserver serves them.
pub fn adapters(
    data_dir: &Path,
    base_url: &str,
    clock: Arc<dyn Clock>,
    table: Arc<dyn Table>,
) -> anyhow::Result<LocalAdapters> {
    std::fs::create_dir_all(data_dir).with_context(|| format!("Failed to create {}", data_dir.display()))?;
    let master_key = local_master_key(data_dir)?;
    let blobs = Arc::new(LocalBlobs::new(
        data_dir.join("blobs"),
        base_url.to_string(),
        derive_key(&master_key, "local-blobs"),
        clock.clone(),
    ));
    let outbox =
        Arc::new(Outbox::open(&data_dir.join("outbox.jsonl"), clock.clone()).context("Failed to open the outbox")?);
    // Pushes are recorded locally: there is no push provider on a laptop.
    let state = AppState::new(table, blobs.clone(), outbox.clone(), clock, &master_key)
        .with_push(Arc::new(RecordingPush::default()))
        .with_session_idle_days(crate::config::session_idle_days()?);
    Ok(LocalAdapters { state, blobs, outbox })
}

/// The state of a function built with the `dev` feature: the devserver's
/// adapters over its data directory (`SUNDIAL_DATA_DIR`, default
/// `./.sundial`), blob URLs pointing at the devserver (`SUNDIAL_ADDR`).
#[cfg(feature = "dev")]
pub fn function_state(config: &crate::config::DevConfig) -> anyhow::Result<AppState> {
    let table = open_table(&config.data_dir)?;
    let base_url = format!("http://{}", config.addr);
    let local = adapters(&config.data_dir, &base_url, Arc::new(crate::clock::SystemClock), Arc::new(table))?;
    tracing::info!(data_dir = %config.data_dir.display(), "dev build: embedded adapters over the devserver's data directory");
    Ok(local.state)
}
