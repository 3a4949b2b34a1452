//! The contract every `Blobs` adapter must meet, as one suite run against
//! each of them (`shared/tests/blobs_*.rs`), so the local adapter cannot
//! drift from S3. The checks go over real HTTP: bytes are `PUT` to the
//! presigned URL and read back with `GET`, as a client would.
//!
//! Each function uses fresh, unique keys, so they can share a store and run
//! concurrently. They return an error describing the first broken promise.

use super::{BlobMeta, Blobs, MAX_UPLOAD_BYTES, PresignedRequest, UploadSpec};
use anyhow::{Context as _, ensure};
use std::time::Duration;

/// How long the URLs the suite asks for live.
const LIFETIME: Duration = Duration::from_secs(300);

/// Runs the whole suite.
pub async fn run_all(b: &dyn Blobs, http: &reqwest::Client) -> anyhow::Result<()> {
    upload_then_head_and_download(b, http).await.context("upload_then_head_and_download")?;
    head_of_absent_blob_is_none(b).await.context("head_of_absent_blob_is_none")?;
    upload_overwrites(b, http).await.context("upload_overwrites")?;
    delete_removes_and_is_idempotent(b, http).await.context("delete_removes_and_is_idempotent")?;
    upload_size_is_limited(b).await.context("upload_size_is_limited")?;
    Ok(())
}

/// Bytes `PUT` to a presigned upload URL are reported by `head` and served
/// unchanged from a presigned download URL.
pub async fn upload_then_head_and_download(b: &dyn Blobs, http: &reqwest::Client) -> anyhow::Result<()> {
    let key = unique_key("photo.png");
    // Every byte value, so no encoding step can go unnoticed.
    let bytes: Vec<u8> = (0..=255u8).cycle().take(3000).collect();
    let upload = upload(b, http, &key, "image/png", &bytes).await?;
    ensure!(upload.method == "PUT", "upload method is {:?}, not PUT", upload.method);
    ensure!(upload.expires_at > chrono::Utc::now(), "upload URL already expired at {}", upload.expires_at);

    let meta = b.head(&key).await.context("head after upload")?;
    let expected = BlobMeta { size: bytes.len() as u64, content_type: Some("image/png".to_owned()) };
    ensure!(meta.as_ref() == Some(&expected), "head after upload: {meta:?}, expected {expected:?}");

    let download = b.presign_download(&key, LIFETIME).await.context("presign_download")?;
    ensure!(download.method == "GET", "download method is {:?}, not GET", download.method);
    ensure!(download.expires_at > chrono::Utc::now(), "download URL already expired at {}", download.expires_at);
    let response = send(http, &download, Vec::new()).await?;
    ensure!(response.status().is_success(), "download answered {}", response.status());
    let content_type = response.headers().get(reqwest::header::CONTENT_TYPE).cloned();
    ensure!(
        content_type.as_ref().and_then(|v| v.to_str().ok()) == Some("image/png"),
        "download served content type {content_type:?}"
    );
    let served = response.bytes().await.context("reading the download")?;
    ensure!(served.as_ref() == bytes.as_slice(), "download served {} bytes that differ from the upload", served.len());
    Ok(())
}

/// `head` of a key never written is `None`, not an error.
pub async fn head_of_absent_blob_is_none(b: &dyn Blobs) -> anyhow::Result<()> {
    let meta = b.head(&unique_key("absent")).await.context("head of an absent key")?;
    ensure!(meta.is_none(), "head of an absent key returned {meta:?}");
    Ok(())
}

/// A second upload to the same key replaces bytes and content type.
pub async fn upload_overwrites(b: &dyn Blobs, http: &reqwest::Client) -> anyhow::Result<()> {
    let key = unique_key("doc");
    upload(b, http, &key, "text/plain", b"first version").await?;
    upload(b, http, &key, "application/json", b"{\"v\":2}").await?;
    let meta = b.head(&key).await.context("head after overwrite")?;
    let expected = BlobMeta { size: 7, content_type: Some("application/json".to_owned()) };
    ensure!(meta.as_ref() == Some(&expected), "head after overwrite: {meta:?}, expected {expected:?}");
    let served = download(b, http, &key).await?;
    ensure!(served == b"{\"v\":2}", "download after overwrite served {:?}", String::from_utf8_lossy(&served));
    Ok(())
}

/// After `delete` the blob is gone for `head` and for downloads; deleting
/// it again (or a key never written) succeeds.
pub async fn delete_removes_and_is_idempotent(b: &dyn Blobs, http: &reqwest::Client) -> anyhow::Result<()> {
    let key = unique_key("to-delete");
    upload(b, http, &key, "image/gif", b"GIF89a").await?;
    b.delete(&key).await.context("delete")?;
    let meta = b.head(&key).await.context("head after delete")?;
    ensure!(meta.is_none(), "head after delete returned {meta:?}");
    let request = b.presign_download(&key, LIFETIME).await.context("presign_download after delete")?;
    let status = send(http, &request, Vec::new()).await?.status();
    ensure!(status == reqwest::StatusCode::NOT_FOUND, "download after delete answered {status}, not 404");
    b.delete(&key).await.context("second delete")?;
    b.delete(&unique_key("never-written")).await.context("delete of a key never written")?;
    Ok(())
}

/// No upload URL is issued for more than [`MAX_UPLOAD_BYTES`] or for an
/// empty body; exactly the maximum is allowed.
pub async fn upload_size_is_limited(b: &dyn Blobs) -> anyhow::Result<()> {
    let spec = |content_length| UploadSpec {
        key: unique_key("big.mp4"),
        content_type: "video/mp4".to_owned(),
        content_length,
        expires_in: LIFETIME,
    };
    let over = b.presign_upload(&spec(MAX_UPLOAD_BYTES + 1)).await;
    ensure!(over.is_err(), "an upload URL was issued for MAX_UPLOAD_BYTES + 1 bytes");
    let empty = b.presign_upload(&spec(0)).await;
    ensure!(empty.is_err(), "an upload URL was issued for 0 bytes");
    b.presign_upload(&spec(MAX_UPLOAD_BYTES)).await.context("presigning exactly MAX_UPLOAD_BYTES")?;
    Ok(())
}

/// A key no other run uses, shaped like Sundial's media keys.
fn unique_key(name: &str) -> String {
    format!("contract/{}/media/{name}", uuid::Uuid::now_v7())
}

/// Presigns an upload of `bytes` as `content_type` to `key` and performs it,
/// sending exactly the headers the presigned request lists.
async fn upload(
    b: &dyn Blobs,
    http: &reqwest::Client,
    key: &str,
    content_type: &str,
    bytes: &[u8],
) -> anyhow::Result<PresignedRequest> {
    let spec = UploadSpec {
        key: key.to_owned(),
        content_type: content_type.to_owned(),
        content_length: bytes.len() as u64,
        expires_in: LIFETIME,
    };
    let request = b.presign_upload(&spec).await.with_context(|| format!("presign_upload of {key}"))?;
    let response = send(http, &request, bytes.to_vec()).await?;
    let status = response.status();
    if !status.is_success() {
        let body = response.text().await.unwrap_or_default();
        anyhow::bail!("upload of {key} answered {status}: {body}");
    }
    Ok(request)
}

/// Presigns a download of `key`, performs it and returns the bytes.
async fn download(b: &dyn Blobs, http: &reqwest::Client, key: &str) -> anyhow::Result<Vec<u8>> {
    let request = b.presign_download(key, LIFETIME).await.with_context(|| format!("presign_download of {key}"))?;
    let response = send(http, &request, Vec::new()).await?;
    ensure!(response.status().is_success(), "download of {key} answered {}", response.status());
    Ok(response.bytes().await.with_context(|| format!("reading the download of {key}"))?.to_vec())
}

/// Performs a presigned request with its headers and `body`.
async fn send(http: &reqwest::Client, request: &PresignedRequest, body: Vec<u8>) -> anyhow::Result<reqwest::Response> {
    let method = reqwest::Method::from_bytes(request.method.as_bytes())
        .with_context(|| format!("presigned method {:?}", request.method))?;
    let mut builder = http.request(method, &request.url);
    for (name, value) in &request.headers {
        builder = builder.header(name, value);
    }
    if !body.is_empty() {
        builder = builder.body(body);
    }
    // The URL carries a signature: keep it out of the error.
    builder.send().await.map_err(reqwest::Error::without_url).with_context(|| format!("{} request", request.method))
}
