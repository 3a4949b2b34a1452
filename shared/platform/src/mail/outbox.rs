//! The local `Mailer` adapter: instead of delivering, it appends each mail
//! to a JSON-lines file that the devserver shows at `GET /_dev/outbox`, so
//! sign-up links and reminders can be followed locally and in end-to-end
//! tests. Every append is synced before `send` returns, so the outbox
//! survives restarts.

use super::{Mail, Mailer, SentMail};
use crate::clock::Clock;
use anyhow::Context as _;
use async_trait::async_trait;
use std::{
    fs::{File, OpenOptions},
    io::{Read as _, Seek as _, SeekFrom, Write as _},
    path::{Path, PathBuf},
    sync::{Arc, Mutex},
};

/// Mail recorded in a JSON-lines file, one [`SentMail`] per line, oldest
/// first.
#[derive(Clone)]
pub struct Outbox {
    path: PathBuf,
    /// The file, opened for appending. The mutex makes each line one
    /// uninterrupted write and keeps `list` from reading half a line.
    file: Arc<Mutex<File>>,
    clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for Outbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Outbox").field("path", &self.path).finish_non_exhaustive()
    }
}

impl Outbox {
    /// Opens (or creates, with its parent directories) the outbox file at
    /// `path`; `clock` stamps each mail's `sent_at`.
    pub fn open(path: &Path, clock: Arc<dyn Clock>) -> anyhow::Result<Self> {
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).with_context(|| format!("creating {}", parent.display()))?;
        }
        let mut file = OpenOptions::new()
            .read(true)
            .append(true)
            .create(true)
            .open(path)
            .with_context(|| format!("opening the outbox {}", path.display()))?;
        drop_torn_tail(&mut file).with_context(|| format!("repairing the outbox {}", path.display()))?;
        Ok(Self { path: path.to_owned(), file: Arc::new(Mutex::new(file)), clock })
    }

    /// The file the outbox is kept in.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The mails recorded, newest first; only those to `to` (compared
    /// case-insensitively, as mail providers do) when given.
    pub fn list(&self, to: Option<&str>) -> anyhow::Result<Vec<SentMail>> {
        let content = {
            let _guard = self.file.lock().unwrap_or_else(|e| e.into_inner());
            std::fs::read_to_string(&self.path)
                .with_context(|| format!("reading the outbox {}", self.path.display()))?
        };
        // Another `Outbox` on the same file (a second process) may be
        // mid-append: a last line without its newline is not written yet.
        let complete = content.rfind('\n').map_or("", |end| &content[..=end]);
        let wanted = to.map(str::to_lowercase);
        let mut mails = Vec::new();
        for (index, line) in complete.lines().enumerate().filter(|(_, line)| !line.trim().is_empty()) {
            let mail: SentMail = serde_json::from_str(line)
                .with_context(|| format!("line {} of the outbox {}", index + 1, self.path.display()))?;
            if wanted.as_ref().is_none_or(|wanted| mail.to.to_lowercase() == *wanted) {
                mails.push(mail);
            }
        }
        // Lines are appended in sending order; the file order is the truth
        // even when the clock stands still.
        mails.reverse();
        Ok(mails)
    }
}

#[async_trait]
impl Mailer for Outbox {
    async fn send(&self, mail: &Mail) -> anyhow::Result<()> {
        let sent = SentMail {
            to: mail.to.clone(),
            subject: mail.subject.clone(),
            text: mail.text.clone(),
            html: mail.html.clone(),
            sent_at: self.clock.now(),
        };
        let mut line = serde_json::to_vec(&sent).context("serialising a mail for the outbox")?;
        line.push(b'\n');
        let file = Arc::clone(&self.file);
        // Writing and syncing block, so keep them off the async workers.
        tokio::task::spawn_blocking(move || -> std::io::Result<()> {
            let mut file = file.lock().unwrap_or_else(|e| e.into_inner());
            file.write_all(&line)?;
            file.sync_data()
        })
        .await
        .context("the outbox write task failed")?
        .with_context(|| format!("appending to the outbox {}", self.path.display()))?;
        Ok(())
    }
}

/// Cuts off a last line left incomplete by a crash mid-write, so the next
/// append starts on a line of its own instead of corrupting two records.
fn drop_torn_tail(file: &mut File) -> std::io::Result<()> {
    let len = file.metadata()?.len();
    if len == 0 {
        return Ok(());
    }
    let mut last = [0u8; 1];
    file.seek(SeekFrom::Start(len - 1))?;
    file.read_exact(&mut last)?;
    if last[0] == b'\n' {
        return Ok(());
    }
    let mut content = Vec::new();
    file.seek(SeekFrom::Start(0))?;
    file.read_to_end(&mut content)?;
    let keep = content.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
    tracing::warn!(dropped_bytes = content.len() - keep, "dropping an incomplete last line from the outbox");
    file.set_len(keep as u64)?;
    file.sync_data()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::FixedClock;
    use chrono::{DateTime, Utc};

    fn clock() -> Arc<FixedClock> {
        let at = DateTime::parse_from_rfc3339("2026-03-29T06:30:00Z").unwrap().with_timezone(&Utc);
        Arc::new(FixedClock::new(at))
    }

    fn mail(to: &str, subject: &str) -> Mail {
        Mail { to: to.to_owned(), subject: subject.to_owned(), text: "text".to_owned(), html: "<p>html</p>".to_owned() }
    }

    #[tokio::test]
    async fn a_line_torn_by_a_crash_is_dropped_on_open() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("outbox.jsonl");
        let clock = clock();
        Outbox::open(&path, clock.clone()).unwrap().send(&mail("a@x.test", "kept")).await.unwrap();
        // Simulate a crash halfway through the next append.
        let mut file = OpenOptions::new().append(true).open(&path).unwrap();
        file.write_all(br#"{"to":"b@x.test","subj"#).unwrap();
        drop(file);

        let outbox = Outbox::open(&path, clock).unwrap();
        outbox.send(&mail("c@x.test", "after restart")).await.unwrap();
        let subjects: Vec<String> = outbox.list(None).unwrap().into_iter().map(|m| m.subject).collect();
        assert_eq!(subjects, ["after restart", "kept"]);
    }
}
