//! The `Blobs` port: media bytes never pass through a Lambda; clients upload
//! and download directly with presigned, expiring URLs. Adapters: S3 (`s3`)
//! and a local directory served by the devserver under HMAC-signed URLs
//! (`local`). Both are held to one contract suite (`contract`).

#[cfg(feature = "testkit")]
pub mod contract;
#[cfg(feature = "embedded")]
pub mod local;
pub mod s3;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::Serialize;
use std::time::Duration;

/// Largest upload any presigned URL allows (50 MB).
pub const MAX_UPLOAD_BYTES: u64 = 50 * 1024 * 1024;

/// A request the client makes directly against the blob store.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PresignedRequest {
    /// HTTP method to use (`PUT` for uploads, `GET` for downloads).
    pub method: String,
    /// The full URL, signature included.
    pub url: String,
    /// Headers the client must send exactly as given (they are signed).
    #[schema(schema_with = header_pairs)]
    pub headers: Vec<(String, String)>,
    /// When the URL stops working.
    pub expires_at: DateTime<Utc>,
}

/// The schema of [`PresignedRequest::headers`]: `[[name, value], ...]`, as
/// arrays of exactly two strings (what a tuple becomes in JSON), which
/// client generators read more readily than a tuple schema.
fn header_pairs() -> utoipa::openapi::Array {
    use utoipa::openapi::schema::{ArrayBuilder, ObjectBuilder, Type};
    let pair = ArrayBuilder::new()
        .items(ObjectBuilder::new().schema_type(Type::String))
        .min_items(Some(2))
        .max_items(Some(2))
        .description(Some("`[name, value]`"));
    ArrayBuilder::new()
        .items(pair)
        .description(Some("Headers the client must send exactly as given (they are signed)."))
        .build()
}

/// What the store knows of a stored blob.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlobMeta {
    /// Size in bytes.
    pub size: u64,
    /// The content type it was uploaded with.
    pub content_type: Option<String>,
}

/// What an upload URL permits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UploadSpec {
    /// The object key (e.g. `org/<id>/media/<id>`).
    pub key: String,
    /// The content type the client must send.
    pub content_type: String,
    /// The exact size in bytes the client must send (at most [`MAX_UPLOAD_BYTES`]).
    pub content_length: u64,
    /// How long the URL stays valid.
    pub expires_in: Duration,
}

/// The blob storage port.
#[async_trait]
pub trait Blobs: Send + Sync + 'static {
    /// A URL that accepts exactly one `PUT` of the given type and size.
    async fn presign_upload(&self, spec: &UploadSpec) -> anyhow::Result<PresignedRequest>;
    /// A URL that serves the blob with `GET` until it expires.
    async fn presign_download(&self, key: &str, expires_in: Duration) -> anyhow::Result<PresignedRequest>;
    /// Size and type of a stored blob, or `None` if absent.
    async fn head(&self, key: &str) -> anyhow::Result<Option<BlobMeta>>;
    /// Deletes a blob; deleting an absent blob is not an error.
    async fn delete(&self, key: &str) -> anyhow::Result<()>;
}

/// The blob store of a function that stores no blobs (a deployed function
/// links only the AWS clients it uses): every call fails, loudly.
#[derive(Debug, Default)]
pub struct UnconfiguredBlobs;

#[async_trait]
impl Blobs for UnconfiguredBlobs {
    async fn presign_upload(&self, _spec: &UploadSpec) -> anyhow::Result<PresignedRequest> {
        anyhow::bail!("this function has no blob store configured")
    }
    async fn presign_download(&self, _key: &str, _expires_in: Duration) -> anyhow::Result<PresignedRequest> {
        anyhow::bail!("this function has no blob store configured")
    }
    async fn head(&self, _key: &str) -> anyhow::Result<Option<BlobMeta>> {
        anyhow::bail!("this function has no blob store configured")
    }
    async fn delete(&self, _key: &str) -> anyhow::Result<()> {
        anyhow::bail!("this function has no blob store configured")
    }
}
