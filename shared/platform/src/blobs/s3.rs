//! The S3 `Blobs` adapter used in AWS: uploads and downloads go straight
//! between the client and S3 through SigV4-presigned URLs, so media bytes
//! never pass through a Lambda. An upload URL signs the content type and
//! length, so S3 refuses any other type or size.

use super::{BlobMeta, Blobs, MAX_UPLOAD_BYTES, PresignedRequest, UploadSpec};
use crate::aws::LazyClient;
use anyhow::Context as _;
use async_trait::async_trait;
use aws_config::SdkConfig;
use aws_sdk_s3::{Client, presigning::PresigningConfig};
use chrono::{DateTime, Utc};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Blobs in one S3 bucket.
#[derive(Debug, Clone)]
pub struct S3Blobs {
    client: LazyClient<Client>,
    bucket: String,
}

impl S3Blobs {
    /// Blobs stored in `bucket`, reached with `client` (whose credentials
    /// also sign the presigned URLs).
    pub fn new(client: Client, bucket: impl Into<String>) -> Self {
        Self { client: LazyClient::ready(client), bucket: bucket.into() }
    }

    /// Blobs stored in `bucket`, with a client built from `config`
    /// ([`crate::aws::s3_client`]) on first use, so a cold start does not
    /// build one.
    pub fn on_first_use(config: &SdkConfig, bucket: impl Into<String>) -> Self {
        Self { client: LazyClient::new(config, crate::aws::s3_client), bucket: bucket.into() }
    }

    /// The bucket the blobs are stored in.
    pub fn bucket(&self) -> &str {
        &self.bucket
    }

    /// Presigning settings for a URL issued now; returns them with the
    /// instant the URL expires.
    fn presigning(expires_in: Duration) -> anyhow::Result<(PresigningConfig, DateTime<Utc>)> {
        // Pin the start time so the reported expiry is exactly the signed
        // one; whole seconds, as X-Amz-Date carries no fractions.
        let since_epoch = SystemTime::now().duration_since(UNIX_EPOCH).context("system clock before 1970")?;
        let start = UNIX_EPOCH + Duration::from_secs(since_epoch.as_secs());
        let config = PresigningConfig::builder()
            .start_time(start)
            .expires_in(expires_in)
            .build()
            .with_context(|| format!("invalid presigned URL lifetime {expires_in:?}"))?;
        let expires_at = DateTime::<Utc>::from(start + expires_in);
        Ok((config, expires_at))
    }
}

#[async_trait]
impl Blobs for S3Blobs {
    async fn presign_upload(&self, spec: &UploadSpec) -> anyhow::Result<PresignedRequest> {
        // Checked before signing: S3 itself would accept up to 5 GB.
        anyhow::ensure!(
            (1..=MAX_UPLOAD_BYTES).contains(&spec.content_length),
            "upload size must be between 1 and {MAX_UPLOAD_BYTES} bytes, not {}",
            spec.content_length
        );
        let content_length = i64::try_from(spec.content_length).context("upload size out of range")?;
        let (config, expires_at) = Self::presigning(spec.expires_in)?;
        // Setting the type and length on the request makes them signed
        // headers (X-Amz-SignedHeaders), which S3 then enforces.
        let presigned = self
            .client
            .get()
            .put_object()
            .bucket(&self.bucket)
            .key(&spec.key)
            .content_type(&spec.content_type)
            .content_length(content_length)
            .presigned(config)
            .await
            .with_context(|| format!("presigning PutObject of s3://{}/{}", self.bucket, spec.key))?;
        Ok(PresignedRequest {
            method: presigned.method().to_owned(),
            url: presigned.uri().to_owned(),
            headers: presigned.headers().map(|(name, value)| (name.to_owned(), value.to_owned())).collect(),
            expires_at,
        })
    }

    async fn presign_download(&self, key: &str, expires_in: Duration) -> anyhow::Result<PresignedRequest> {
        let (config, expires_at) = Self::presigning(expires_in)?;
        let presigned = self
            .client
            .get()
            .get_object()
            .bucket(&self.bucket)
            .key(key)
            .presigned(config)
            .await
            .with_context(|| format!("presigning GetObject of s3://{}/{key}", self.bucket))?;
        Ok(PresignedRequest {
            method: presigned.method().to_owned(),
            url: presigned.uri().to_owned(),
            headers: presigned.headers().map(|(name, value)| (name.to_owned(), value.to_owned())).collect(),
            expires_at,
        })
    }

    async fn head(&self, key: &str) -> anyhow::Result<Option<BlobMeta>> {
        let result = self.client.get().head_object().bucket(&self.bucket).key(key).send().await;
        let output = match result {
            Ok(output) => output,
            Err(err) if err.as_service_error().is_some_and(|e| e.is_not_found()) => return Ok(None),
            Err(err) => {
                return Err(err).with_context(|| format!("HeadObject of s3://{}/{key}", self.bucket));
            }
        };
        let size = output.content_length().unwrap_or_default();
        let size = u64::try_from(size).with_context(|| format!("S3 reported a negative size {size} for {key}"))?;
        Ok(Some(BlobMeta { size, content_type: output.content_type().map(str::to_owned) }))
    }

    async fn delete(&self, key: &str) -> anyhow::Result<()> {
        // S3 answers 204 for absent keys too, so deleting is idempotent.
        self.client
            .get()
            .delete_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
            .with_context(|| format!("DeleteObject of s3://{}/{key}", self.bucket))?;
        Ok(())
    }
}

/// Creates bucket `name` unless it already exists (tests and local setup;
/// in AWS the bucket is provisioned with the stack).
pub async fn create_bucket(client: &Client, name: &str) -> anyhow::Result<()> {
    let err = match client.create_bucket().bucket(name).send().await {
        Ok(_) => return Ok(()),
        Err(err) => err,
    };
    if let Some(service_err) = err.as_service_error() {
        if service_err.is_bucket_already_owned_by_you() {
            return Ok(());
        }
        // Emulators (and us-east-1 in some cases) say "already exists" for
        // our own bucket too; it is ours if we can reach it.
        if service_err.is_bucket_already_exists() && client.head_bucket().bucket(name).send().await.is_ok() {
            return Ok(());
        }
    }
    Err(err).with_context(|| format!("creating S3 bucket {name}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_s3::config::{BehaviorVersion, Credentials, Region};

    /// A client that only ever signs (presigning needs no network).
    fn offline_blobs() -> S3Blobs {
        let config = aws_sdk_s3::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new("eu-west-1"))
            .credentials_provider(Credentials::new("AKIDEXAMPLE", "secret", None, None, "test"))
            .build();
        S3Blobs::new(Client::from_conf(config), "media-bucket")
    }

    fn query_of(url: &str) -> Vec<(String, String)> {
        let query = url.split_once('?').expect("presigned URL has a query").1;
        serde_urlencoded::from_str(query).unwrap()
    }

    fn param<'a>(query: &'a [(String, String)], name: &str) -> Option<&'a str> {
        query.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }

    #[tokio::test]
    async fn upload_url_expires_and_signs_type_and_length() {
        let blobs = offline_blobs();
        let spec = UploadSpec {
            key: "org/1/media/2".to_owned(),
            content_type: "image/jpeg".to_owned(),
            content_length: 1234,
            expires_in: Duration::from_secs(900),
        };
        let before = Utc::now();
        let req = blobs.presign_upload(&spec).await.unwrap();
        assert_eq!(req.method, "PUT");
        assert!(req.url.contains("/org/1/media/2?"), "{}", req.url);
        let query = query_of(&req.url);
        assert_eq!(param(&query, "X-Amz-Expires"), Some("900"));
        let signed: Vec<&str> = param(&query, "X-Amz-SignedHeaders").unwrap().split(';').collect();
        assert!(signed.contains(&"content-length") && signed.contains(&"content-type"), "{signed:?}");
        assert!(param(&query, "X-Amz-Signature").is_some_and(|s| s.len() == 64));
        // The headers returned are exactly the ones the client must send.
        let header =
            |name: &str| req.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str());
        assert_eq!(header("content-type"), Some("image/jpeg"));
        assert_eq!(header("content-length"), Some("1234"));
        let lifetime = req.expires_at - before;
        assert!((899..=900).contains(&lifetime.num_seconds()), "{lifetime}");
    }

    #[tokio::test]
    async fn download_url_expires() {
        let req = offline_blobs().presign_download("org/1/media/2", Duration::from_secs(60)).await.unwrap();
        assert_eq!(req.method, "GET");
        assert_eq!(param(&query_of(&req.url), "X-Amz-Expires"), Some("60"));
    }

    #[tokio::test]
    async fn upload_sizes_outside_the_limit_are_refused_before_signing() {
        let blobs = offline_blobs();
        for content_length in [0, MAX_UPLOAD_BYTES + 1] {
            let spec = UploadSpec {
                key: "k".to_owned(),
                content_type: "image/png".to_owned(),
                content_length,
                expires_in: Duration::from_secs(60),
            };
            let err = blobs.presign_upload(&spec).await.unwrap_err();
            assert!(err.to_string().contains("upload size"), "{err:#}");
        }
    }
}
