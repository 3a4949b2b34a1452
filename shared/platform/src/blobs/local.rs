//! The local `Blobs` adapter: blobs live as files in a directory and the
//! devserver serves them under `/_dev/blobs/{key}`, so local development and
//! tests need no S3. It keeps the property that matters from S3 presigning:
//! a URL only works for the method, key, content type, size and lifetime it
//! was signed for (HMAC-SHA256 over all of them, checked in constant time).
//!
//! On-disk layout under `dir`:
//! - `objects/<key>`: the bytes;
//! - `types/<key>`: the sidecar holding the content type (kept in its own
//!   tree so no key can collide with another key's sidecar);
//! - `tmp/`: uploads in progress, renamed into place once complete and
//!   synced, so a blob is either absent or whole.
//!
//! Keys map to nested paths, so (unlike S3) a key cannot also be the prefix
//! of another key (`a` and `a/b`); Sundial's keys never are.

use super::{BlobMeta, Blobs, MAX_UPLOAD_BYTES, PresignedRequest, UploadSpec};
use crate::clock::Clock;
use anyhow::Context as _;
use async_trait::async_trait;
use axum::{
    Router,
    body::Body,
    extract::{Path as UrlPath, Query, State},
    http::{HeaderMap, Method, StatusCode, header},
    response::{IntoResponse, Response},
    routing::get,
};
use chrono::{DateTime, Utc};
use hmac::{Hmac, KeyInit, Mac};
use secrecy::{ExposeSecret as _, SecretSlice};
use serde::Deserialize;
use sha2::Sha256;
use std::{
    fmt,
    io::{self, Write as _},
    path::{Path, PathBuf},
    sync::{Arc, Mutex},
    time::Duration,
};

/// The route prefix blob URLs are served under.
const ROUTE_PREFIX: &str = "/_dev/blobs";

/// Longest lifetime a URL may have; the same limit S3 presigning enforces,
/// so code that works locally does not fail against S3.
const MAX_EXPIRES_IN: Duration = Duration::from_secs(7 * 24 * 60 * 60);

/// Longest key accepted (S3's limit).
const MAX_KEY_BYTES: usize = 1024;

/// Separates signatures of this scheme from any other use of the same key.
const SIGNING_DOMAIN: &[u8] = b"sundial-local-blobs-v1";

type HmacSha256 = Hmac<Sha256>;

/// Blobs in a local directory, handed out through HMAC-signed URLs that
/// [`routes`] serves.
pub struct LocalBlobs {
    dir: PathBuf,
    base_url: String,
    /// Wrapped so it is zeroed on drop and never printed.
    signing_key: SecretSlice<u8>,
    clock: Arc<dyn Clock>,
    /// Serialises the renames that publish (or the removals that delete) a
    /// blob and its sidecar, so readers never see one writer's bytes with
    /// another writer's content type.
    commit: Mutex<()>,
}

// Hand-written so the signing key can never end up in a log.
impl fmt::Debug for LocalBlobs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LocalBlobs").field("dir", &self.dir).field("base_url", &self.base_url).finish_non_exhaustive()
    }
}

impl LocalBlobs {
    /// Blobs stored under `dir`, with URLs rooted at `base_url` (the
    /// devserver's public address, e.g. `http://localhost:3000`), signed with
    /// `signing_key` and timed by `clock`.
    pub fn new(dir: PathBuf, base_url: String, signing_key: Vec<u8>, clock: Arc<dyn Clock>) -> Self {
        let base_url = base_url.trim_end_matches('/').to_owned();
        Self { dir, base_url, signing_key: signing_key.into(), clock, commit: Mutex::new(()) }
    }

    /// The directory the blobs are stored in.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn object_path(&self, key: &str) -> PathBuf {
        self.dir.join("objects").join(key)
    }

    fn type_path(&self, key: &str) -> PathBuf {
        self.dir.join("types").join(key)
    }

    /// The MAC over everything a URL grants. Every field is encoded with a
    /// presence marker and a length, so no two different grants (not even
    /// an absent and an empty content type) produce the same message.
    fn mac(&self, grant: &Grant<'_>) -> HmacSha256 {
        let mut mac = <HmacSha256 as KeyInit>::new_from_slice(self.signing_key.expose_secret())
            .expect("HMAC accepts keys of any length");
        mac.update(SIGNING_DOMAIN);
        let exp = grant.expires.to_string();
        let len = grant.content_length.map(|l| l.to_string());
        for field in [Some(grant.method), Some(grant.key), grant.content_type, len.as_deref(), Some(&exp)] {
            match field {
                None => mac.update(&[0]),
                Some(value) => {
                    mac.update(&[1]);
                    mac.update(&(value.len() as u64).to_be_bytes());
                    mac.update(value.as_bytes());
                }
            }
        }
        mac
    }

    fn sign(&self, grant: &Grant<'_>) -> String {
        hex::encode(self.mac(grant).finalize().into_bytes())
    }

    /// Builds the signed URL for `grant`.
    fn url(&self, grant: &Grant<'_>) -> anyhow::Result<String> {
        let exp = grant.expires.to_string();
        let len = grant.content_length.map(|l| l.to_string());
        let sig = self.sign(grant);
        let mut query: Vec<(&str, &str)> = vec![("method", grant.method)];
        if let Some(ct) = grant.content_type {
            query.push(("ct", ct));
        }
        if let Some(len) = &len {
            query.push(("len", len));
        }
        query.push(("exp", &exp));
        query.push(("sig", &sig));
        let query = serde_urlencoded::to_string(&query).context("encoding the blob URL query")?;
        Ok(format!("{}{ROUTE_PREFIX}/{}?{query}", self.base_url, encode_key(grant.key)))
    }

    /// The expiry (whole Unix seconds, as carried in the URL) of a URL
    /// issued now and valid for `expires_in`.
    fn expiry(&self, expires_in: Duration) -> anyhow::Result<i64> {
        anyhow::ensure!(
            (Duration::from_secs(1)..=MAX_EXPIRES_IN).contains(&expires_in),
            "a presigned URL must live between 1 second and 7 days, not {expires_in:?}"
        );
        let secs = i64::try_from(expires_in.as_secs()).context("URL lifetime out of range")?;
        Ok(self.clock.now().timestamp() + secs)
    }

    /// Checks that a request presenting `query` may do `method` on `key`.
    /// On success returns the content type and length the URL was signed
    /// for (both `None` for downloads).
    fn authorize(&self, method: &Method, key: &str, query: &SignedQuery) -> Result<Authorized, Rejection> {
        let forbidden = |why: &'static str| Rejection(StatusCode::FORBIDDEN, why);
        let (Some(url_method), Some(exp), Some(sig)) = (&query.method, &query.exp, &query.sig) else {
            return Err(forbidden("missing signature"));
        };
        // The URL names its method and the signature covers it, so a
        // download URL can never be replayed as an upload.
        if url_method != method.as_str() {
            return Err(forbidden("URL not valid for this method"));
        }
        let expires: i64 = exp.parse().map_err(|_| forbidden("malformed expiry"))?;
        let content_length = match &query.len {
            Some(len) => Some(len.parse::<u64>().map_err(|_| forbidden("malformed length"))?),
            None => None,
        };
        let sig = hex::decode(sig).map_err(|_| forbidden("malformed signature"))?;
        let grant = Grant { method: url_method, key, content_type: query.ct.as_deref(), content_length, expires };
        // `verify_slice` compares in constant time.
        self.mac(&grant).verify_slice(&sig).map_err(|_| forbidden("bad signature"))?;
        // Checked only after the signature, so the expiry is known genuine.
        if self.clock.now().timestamp() > expires {
            return Err(forbidden("URL expired"));
        }
        Ok(Authorized { content_type: query.ct.clone(), content_length })
    }

    /// Writes `bytes` as blob `key` with `content_type`: both files go to
    /// temporaries, are synced, then renamed into place.
    fn store(&self, key: &str, content_type: &str, bytes: &[u8]) -> anyhow::Result<()> {
        let tmp_dir = self.dir.join("tmp");
        std::fs::create_dir_all(&tmp_dir).with_context(|| format!("creating {}", tmp_dir.display()))?;
        let object = self.object_path(key);
        let sidecar = self.type_path(key);
        for parent in [object.parent(), sidecar.parent()].into_iter().flatten() {
            std::fs::create_dir_all(parent).with_context(|| format!("creating {}", parent.display()))?;
        }
        let tmp_object = write_synced(&tmp_dir, bytes)?;
        let tmp_sidecar = match write_synced(&tmp_dir, content_type.as_bytes()) {
            Ok(path) => path,
            Err(err) => {
                remove_if_exists(&tmp_object).ok();
                return Err(err);
            }
        };
        let _guard = self.commit.lock().unwrap_or_else(|e| e.into_inner());
        // Sidecar first: a crash in between leaves the new type beside the
        // old bytes at worst, never bytes without a type.
        rename_synced(&tmp_sidecar, &sidecar)?;
        rename_synced(&tmp_object, &object)?;
        Ok(())
    }

    /// Reads blob `key`: its bytes and content type, `None` if absent.
    fn load(&self, key: &str) -> anyhow::Result<Option<(Vec<u8>, Option<String>)>> {
        let object = self.object_path(key);
        let bytes = match std::fs::read(&object) {
            Ok(bytes) => bytes,
            Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(err) => return Err(err).with_context(|| format!("reading {}", object.display())),
        };
        Ok(Some((bytes, self.content_type(key)?)))
    }

    fn content_type(&self, key: &str) -> anyhow::Result<Option<String>> {
        let sidecar = self.type_path(key);
        match std::fs::read_to_string(&sidecar) {
            Ok(ct) => Ok(Some(ct)),
            Err(err) if err.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(err) => Err(err).with_context(|| format!("reading {}", sidecar.display())),
        }
    }
}

#[async_trait]
impl Blobs for LocalBlobs {
    async fn presign_upload(&self, spec: &UploadSpec) -> anyhow::Result<PresignedRequest> {
        validate_key(&spec.key).map_err(|why| anyhow::anyhow!("invalid blob key {:?}: {why}", spec.key))?;
        anyhow::ensure!(
            (1..=MAX_UPLOAD_BYTES).contains(&spec.content_length),
            "upload size must be between 1 and {MAX_UPLOAD_BYTES} bytes, not {}",
            spec.content_length
        );
        anyhow::ensure!(
            !spec.content_type.is_empty() && header::HeaderValue::from_str(&spec.content_type).is_ok(),
            "invalid content type {:?}",
            spec.content_type
        );
        let expires = self.expiry(spec.expires_in)?;
        let grant = Grant {
            method: "PUT",
            key: &spec.key,
            content_type: Some(&spec.content_type),
            content_length: Some(spec.content_length),
            expires,
        };
        Ok(PresignedRequest {
            method: "PUT".to_owned(),
            url: self.url(&grant)?,
            headers: vec![
                ("content-type".to_owned(), spec.content_type.clone()),
                ("content-length".to_owned(), spec.content_length.to_string()),
            ],
            expires_at: unix_time(expires)?,
        })
    }

    async fn presign_download(&self, key: &str, expires_in: Duration) -> anyhow::Result<PresignedRequest> {
        validate_key(key).map_err(|why| anyhow::anyhow!("invalid blob key {key:?}: {why}"))?;
        let expires = self.expiry(expires_in)?;
        let grant = Grant { method: "GET", key, content_type: None, content_length: None, expires };
        Ok(PresignedRequest {
            method: "GET".to_owned(),
            url: self.url(&grant)?,
            headers: Vec::new(),
            expires_at: unix_time(expires)?,
        })
    }

    async fn head(&self, key: &str) -> anyhow::Result<Option<BlobMeta>> {
        validate_key(key).map_err(|why| anyhow::anyhow!("invalid blob key {key:?}: {why}"))?;
        let object = self.object_path(key);
        let size = match tokio::fs::metadata(&object).await {
            Ok(meta) => meta.len(),
            Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(err) => return Err(err).with_context(|| format!("reading metadata of {}", object.display())),
        };
        let content_type = match tokio::fs::read_to_string(self.type_path(key)).await {
            Ok(ct) => Some(ct),
            Err(err) if err.kind() == io::ErrorKind::NotFound => None,
            Err(err) => return Err(err).with_context(|| format!("reading the content type of blob {key:?}")),
        };
        Ok(Some(BlobMeta { size, content_type }))
    }

    async fn delete(&self, key: &str) -> anyhow::Result<()> {
        validate_key(key).map_err(|why| anyhow::anyhow!("invalid blob key {key:?}: {why}"))?;
        let _guard = self.commit.lock().unwrap_or_else(|e| e.into_inner());
        // Bytes first: once they are gone the blob is absent, whatever
        // happens to the sidecar.
        remove_if_exists(&self.object_path(key))?;
        remove_if_exists(&self.type_path(key))?;
        Ok(())
    }
}

/// The routes serving [`LocalBlobs`] URLs: `PUT` and `GET
/// /_dev/blobs/{*key}`. Responses: 403 for a missing, bad or expired
/// signature; 400 for an invalid key, a wrong content type or a body
/// shorter than signed; 413 for a body longer than signed; 404 for a
/// download of an absent blob.
pub fn routes(blobs: Arc<LocalBlobs>) -> Router {
    Router::new().route(&format!("{ROUTE_PREFIX}/{{*key}}"), get(download).put(upload)).with_state(blobs)
}

/// The signature-related query parameters of a blob URL. All optional so
/// that a missing one is a 403 from [`LocalBlobs::authorize`] rather than
/// a generic extractor error.
#[derive(Debug, Default, Deserialize)]
struct SignedQuery {
    method: Option<String>,
    ct: Option<String>,
    len: Option<String>,
    exp: Option<String>,
    sig: Option<String>,
}

/// What a signed URL grants.
struct Grant<'a> {
    method: &'a str,
    key: &'a str,
    content_type: Option<&'a str>,
    content_length: Option<u64>,
    /// Unix seconds after which the URL is refused.
    expires: i64,
}

/// The signed terms of an authorised request.
#[derive(Debug)]
struct Authorized {
    content_type: Option<String>,
    content_length: Option<u64>,
}

/// A refused request: status and a short reason for the client (never the
/// signature or the key material).
#[derive(Debug, PartialEq, Eq)]
struct Rejection(StatusCode, &'static str);

impl IntoResponse for Rejection {
    fn into_response(self) -> Response {
        (self.0, self.1).into_response()
    }
}

async fn upload(
    State(blobs): State<Arc<LocalBlobs>>,
    UrlPath(key): UrlPath<String>,
    Query(query): Query<SignedQuery>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    match upload_inner(&blobs, &key, &query, &headers, body).await {
        Ok(()) => StatusCode::OK.into_response(),
        Err(rejection) => {
            tracing::info!(key, status = rejection.0.as_u16(), reason = rejection.1, "blob upload refused");
            rejection.into_response()
        }
    }
}

async fn upload_inner(
    blobs: &Arc<LocalBlobs>,
    key: &str,
    query: &SignedQuery,
    headers: &HeaderMap,
    body: Body,
) -> Result<(), Rejection> {
    validate_key(key).map_err(|why| Rejection(StatusCode::BAD_REQUEST, why))?;
    let granted = blobs.authorize(&Method::PUT, key, query)?;
    let (Some(content_type), Some(length)) = (granted.content_type, granted.content_length) else {
        // Only a signature by this server could get here, and it never
        // signs an upload without type and size.
        return Err(Rejection(StatusCode::FORBIDDEN, "URL does not permit uploads"));
    };
    let sent_type = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok());
    if sent_type != Some(content_type.as_str()) {
        return Err(Rejection(StatusCode::BAD_REQUEST, "content-type differs from the signed one"));
    }
    // Like S3, a declared length is required; the HTTP layer then
    // guarantees the body is exactly that long or the read fails.
    let sent_length = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok())
        .ok_or(Rejection(StatusCode::BAD_REQUEST, "content-length required"))?;
    if sent_length > length || sent_length > MAX_UPLOAD_BYTES {
        return Err(Rejection(StatusCode::PAYLOAD_TOO_LARGE, "body longer than signed"));
    }
    if sent_length < length {
        return Err(Rejection(StatusCode::BAD_REQUEST, "body shorter than signed"));
    }
    let limit = usize::try_from(length).map_err(|_| Rejection(StatusCode::PAYLOAD_TOO_LARGE, "body too large"))?;
    // Buffering is fine for a development server: the size is at most
    // MAX_UPLOAD_BYTES and was checked above.
    let bytes =
        axum::body::to_bytes(body, limit).await.map_err(|_| Rejection(StatusCode::BAD_REQUEST, "incomplete body"))?;
    if bytes.len() as u64 != length {
        return Err(Rejection(StatusCode::BAD_REQUEST, "body length differs from the signed one"));
    }
    let (blobs, key) = (Arc::clone(blobs), key.to_owned());
    let stored = tokio::task::spawn_blocking(move || blobs.store(&key, &content_type, &bytes)).await;
    match stored {
        Ok(Ok(())) => Ok(()),
        Ok(Err(err)) => {
            tracing::error!(error = format!("{err:#}"), "storing a blob failed");
            Err(Rejection(StatusCode::INTERNAL_SERVER_ERROR, "could not store the blob"))
        }
        Err(err) => {
            tracing::error!(error = %err, "the blob store task failed");
            Err(Rejection(StatusCode::INTERNAL_SERVER_ERROR, "could not store the blob"))
        }
    }
}

async fn download(
    State(blobs): State<Arc<LocalBlobs>>,
    UrlPath(key): UrlPath<String>,
    Query(query): Query<SignedQuery>,
) -> Response {
    if let Err(why) = validate_key(&key) {
        return Rejection(StatusCode::BAD_REQUEST, why).into_response();
    }
    if let Err(rejection) = blobs.authorize(&Method::GET, &key, &query) {
        tracing::info!(key, status = rejection.0.as_u16(), reason = rejection.1, "blob download refused");
        return rejection.into_response();
    }
    let loaded = {
        let (blobs, key) = (Arc::clone(&blobs), key.clone());
        tokio::task::spawn_blocking(move || blobs.load(&key)).await
    };
    match loaded {
        Ok(Ok(Some((bytes, content_type)))) => {
            let content_type = content_type.unwrap_or_else(|| "application/octet-stream".to_owned());
            ([(header::CONTENT_TYPE, content_type)], bytes).into_response()
        }
        Ok(Ok(None)) => (StatusCode::NOT_FOUND, "no such blob").into_response(),
        Ok(Err(err)) => {
            tracing::error!(key, error = format!("{err:#}"), "reading a blob failed");
            (StatusCode::INTERNAL_SERVER_ERROR, "could not read the blob").into_response()
        }
        Err(err) => {
            tracing::error!(key, error = %err, "the blob read task failed");
            (StatusCode::INTERNAL_SERVER_ERROR, "could not read the blob").into_response()
        }
    }
}

/// Accepts only keys that stay inside the blob directory and map to a
/// plain relative path: no absolute paths, no `.`/`..` or empty segments,
/// no backslashes or control characters.
fn validate_key(key: &str) -> Result<(), &'static str> {
    if key.is_empty() || key.len() > MAX_KEY_BYTES {
        return Err("key must be 1 to 1024 bytes");
    }
    if key.starts_with('/') {
        return Err("key must be relative");
    }
    if key.chars().any(|c| c == '\\' || c.is_control()) {
        return Err("key contains a backslash or control character");
    }
    if key.split('/').any(|segment| segment.is_empty() || segment == "." || segment == "..") {
        return Err("key contains an empty, '.' or '..' segment");
    }
    Ok(())
}

/// Percent-encodes a key for a URL path, keeping `/` as the separator.
fn encode_key(key: &str) -> String {
    let mut out = String::with_capacity(key.len());
    for byte in key.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => out.push(char::from(byte)),
            _ => out.push_str(&format!("%{byte:02X}")),
        }
    }
    out
}

fn unix_time(secs: i64) -> anyhow::Result<DateTime<Utc>> {
    DateTime::from_timestamp(secs, 0).with_context(|| format!("expiry {secs} out of range"))
}

/// Writes `bytes` to a new file in `dir`, synced to disk; returns its path.
fn write_synced(dir: &Path, bytes: &[u8]) -> anyhow::Result<PathBuf> {
    let path = dir.join(uuid::Uuid::now_v7().to_string());
    let result = (|| {
        let mut file = std::fs::File::create_new(&path)?;
        file.write_all(bytes)?;
        file.sync_all()
    })();
    if let Err(err) = result {
        remove_if_exists(&path).ok();
        return Err(err).with_context(|| format!("writing {}", path.display()));
    }
    Ok(path)
}

/// Renames `from` onto `to` and syncs `to`'s directory so the rename itself
/// survives a crash.
fn rename_synced(from: &Path, to: &Path) -> anyhow::Result<()> {
    std::fs::rename(from, to).with_context(|| format!("renaming {} to {}", from.display(), to.display()))?;
    // Directories cannot be opened for syncing on every platform; where
    // they can (Unix), this makes the new directory entry durable.
    #[cfg(unix)]
    if let Some(parent) = to.parent() {
        std::fs::File::open(parent)
            .and_then(|dir| dir.sync_all())
            .with_context(|| format!("syncing {}", parent.display()))?;
    }
    Ok(())
}

fn remove_if_exists(path: &Path) -> anyhow::Result<()> {
    match std::fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(err) if err.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(err) => Err(err).with_context(|| format!("removing {}", path.display())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::FixedClock;
    use axum::http::Request;
    use tower::ServiceExt as _;

    const BASE: &str = "http://blobs.test";

    fn start() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-03-29T06:30:00Z").unwrap().with_timezone(&Utc)
    }

    fn fixture() -> (tempfile::TempDir, Arc<FixedClock>, Arc<LocalBlobs>) {
        let dir = tempfile::tempdir().unwrap();
        let clock = Arc::new(FixedClock::new(start()));
        let blobs =
            LocalBlobs::new(dir.path().to_path_buf(), format!("{BASE}/"), b"test signing key".to_vec(), clock.clone());
        (dir, clock, Arc::new(blobs))
    }

    fn spec(key: &str) -> UploadSpec {
        UploadSpec {
            key: key.to_owned(),
            content_type: "image/png".to_owned(),
            content_length: 5,
            expires_in: Duration::from_secs(600),
        }
    }

    /// Splits a presigned URL into the key (decoded) and its query.
    fn parse(url: &str) -> (String, SignedQuery) {
        let rest = url.strip_prefix(&format!("{BASE}{ROUTE_PREFIX}/")).expect("URL under the blob route");
        let (path, query) = rest.split_once('?').expect("URL has a query");
        assert!(!path.contains('%'), "test keys need no escaping: {path}");
        (path.to_owned(), serde_urlencoded::from_str(query).unwrap())
    }

    /// Replaces one query parameter of a URL's query.
    fn with_param(url: &str, name: &str, value: &str) -> String {
        let (path, query) = url.split_once('?').unwrap();
        let mut pairs: Vec<(String, String)> = serde_urlencoded::from_str(query).unwrap();
        for pair in &mut pairs {
            if pair.0 == name {
                pair.1 = value.to_owned();
            }
        }
        format!("{path}?{}", serde_urlencoded::to_string(&pairs).unwrap())
    }

    async fn upload_url(blobs: &LocalBlobs, key: &str) -> String {
        blobs.presign_upload(&spec(key)).await.unwrap().url
    }

    #[tokio::test]
    async fn valid_upload_url_is_accepted_and_grants_the_signed_terms() {
        let (_dir, _clock, blobs) = fixture();
        let req = blobs.presign_upload(&spec("org/1/media/a")).await.unwrap();
        assert_eq!(req.method, "PUT");
        assert_eq!(req.expires_at, start() + chrono::Duration::seconds(600));
        assert!(req.url.starts_with("http://blobs.test/_dev/blobs/org/1/media/a?"), "{}", req.url);
        let (key, query) = parse(&req.url);
        let granted = blobs.authorize(&Method::PUT, &key, &query).unwrap();
        assert_eq!(granted.content_type.as_deref(), Some("image/png"));
        assert_eq!(granted.content_length, Some(5));
    }

    #[test]
    fn keys_are_percent_encoded_in_urls_except_for_separators() {
        assert_eq!(encode_key("org/1/media/a b+ü.png"), "org/1/media/a%20b%2B%C3%BC.png");
    }

    #[tokio::test]
    async fn empty_content_type_on_a_download_url_breaks_the_signature() {
        let (_dir, _clock, blobs) = fixture();
        let (key, query) = parse(&blobs.presign_download("k", Duration::from_secs(60)).await.unwrap().url);
        assert!(blobs.authorize(&Method::GET, &key, &query).is_ok());
        let with_type = SignedQuery { ct: Some(String::new()), ..query };
        assert_eq!(blobs.authorize(&Method::GET, &key, &with_type).unwrap_err().0, StatusCode::FORBIDDEN);
    }

    #[tokio::test]
    async fn tampered_key_is_rejected() {
        let (_dir, _clock, blobs) = fixture();
        let (_, query) = parse(&upload_url(&blobs, "org/1/media/a").await);
        assert_eq!(
            blobs.authorize(&Method::PUT, "org/2/media/a", &query).unwrap_err(),
            Rejection(StatusCode::FORBIDDEN, "bad signature")
        );
    }

    #[tokio::test]
    async fn tampered_expiry_length_type_or_method_is_rejected() {
        let (_dir, _clock, blobs) = fixture();
        let url = upload_url(&blobs, "k").await;
        let later = (start().timestamp() + 3600).to_string();
        for (name, value) in [("exp", later.as_str()), ("len", "6"), ("ct", "text/html"), ("method", "GET")] {
            let (key, query) = parse(&with_param(&url, name, value));
            let method = Method::from_bytes(query.method.as_deref().unwrap().as_bytes()).unwrap();
            let rejection = blobs.authorize(&method, &key, &query).unwrap_err();
            assert_eq!(rejection, Rejection(StatusCode::FORBIDDEN, "bad signature"), "tampered {name}");
        }
    }

    #[tokio::test]
    async fn url_for_another_method_or_without_signature_is_rejected() {
        let (_dir, _clock, blobs) = fixture();
        let (key, query) = parse(&upload_url(&blobs, "k").await);
        assert_eq!(blobs.authorize(&Method::GET, &key, &query).unwrap_err().0, StatusCode::FORBIDDEN);
        let unsigned = SignedQuery { sig: None, ..query };
        assert_eq!(blobs.authorize(&Method::PUT, &key, &unsigned).unwrap_err().0, StatusCode::FORBIDDEN);
    }

    #[tokio::test]
    async fn signature_from_another_key_is_rejected() {
        let (dir, clock, blobs) = fixture();
        let (key, query) = parse(&upload_url(&blobs, "k").await);
        let other = LocalBlobs::new(dir.path().to_path_buf(), BASE.to_owned(), b"another key".to_vec(), clock);
        assert_eq!(other.authorize(&Method::PUT, &key, &query).unwrap_err().0, StatusCode::FORBIDDEN);
    }

    #[tokio::test]
    async fn url_is_valid_until_its_expiry_and_rejected_after() {
        let (_dir, clock, blobs) = fixture();
        let (key, query) = parse(&blobs.presign_download("k", Duration::from_secs(60)).await.unwrap().url);
        clock.advance(chrono::Duration::seconds(60));
        assert!(blobs.authorize(&Method::GET, &key, &query).is_ok());
        clock.advance(chrono::Duration::seconds(1));
        assert_eq!(
            blobs.authorize(&Method::GET, &key, &query).unwrap_err(),
            Rejection(StatusCode::FORBIDDEN, "URL expired")
        );
    }

    #[tokio::test]
    async fn presigning_refuses_bad_sizes_keys_and_lifetimes() {
        let (_dir, _clock, blobs) = fixture();
        for len in [0, MAX_UPLOAD_BYTES + 1] {
            let spec = UploadSpec { content_length: len, ..spec("k") };
            assert!(blobs.presign_upload(&spec).await.is_err(), "length {len}");
        }
        for key in ["", "/etc/passwd", "a/../b", "..", "a//b", "a\\b", "./a"] {
            assert!(blobs.presign_upload(&spec(key)).await.is_err(), "key {key:?}");
            assert!(blobs.presign_download(key, Duration::from_secs(60)).await.is_err(), "key {key:?}");
        }
        let spec = UploadSpec { expires_in: MAX_EXPIRES_IN + Duration::from_secs(1), ..spec("k") };
        assert!(blobs.presign_upload(&spec).await.is_err());
    }

    async fn put(blobs: &Arc<LocalBlobs>, uri: &str, content_type: &str, body: &'static [u8]) -> StatusCode {
        let request = Request::put(uri)
            .header(header::CONTENT_TYPE, content_type)
            .header(header::CONTENT_LENGTH, body.len())
            .body(Body::from(body))
            .unwrap();
        routes(blobs.clone()).oneshot(request).await.unwrap().status()
    }

    #[tokio::test]
    async fn routes_refuse_traversal_wrong_type_and_wrong_length() {
        let (dir, _clock, blobs) = fixture();
        let url = upload_url(&blobs, "k").await;
        let uri = url.strip_prefix(BASE).unwrap();
        let query = uri.split_once('?').unwrap().1;
        for path in ["a/%2E%2E/b", "..", "%2Fetc%2Fpasswd", "a/./b"] {
            let status = put(&blobs, &format!("{ROUTE_PREFIX}/{path}?{query}"), "image/png", b"12345").await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "path {path}");
        }
        assert_eq!(put(&blobs, uri, "text/html", b"12345").await, StatusCode::BAD_REQUEST);
        assert_eq!(put(&blobs, uri, "image/png", b"1234").await, StatusCode::BAD_REQUEST);
        assert_eq!(put(&blobs, uri, "image/png", b"123456").await, StatusCode::PAYLOAD_TOO_LARGE);
        assert!(blobs.head("k").await.unwrap().is_none());
        assert_eq!(put(&blobs, uri, "image/png", b"12345").await, StatusCode::OK);
        assert_eq!(
            blobs.head("k").await.unwrap(),
            Some(BlobMeta { size: 5, content_type: Some("image/png".to_owned()) })
        );
        // Nothing is left behind in the staging directory.
        assert_eq!(std::fs::read_dir(dir.path().join("tmp")).unwrap().count(), 0);
    }
}
