//! The `Blobs` contract against `S3Blobs` on the AWS emulator
//! (`SUNDIAL_TEST_AWS_ENDPOINT`), each test in its own bucket.

use platform::blobs::{
    contract,
    s3::{S3Blobs, create_bucket},
};

/// An `S3Blobs` on a fresh bucket of the emulator.
async fn blobs() -> S3Blobs {
    let endpoint = platform::aws::test_endpoint();
    let config = platform::aws::emulator_config(&endpoint).await;
    let client = platform::aws::s3_client(&config);
    let bucket = format!("sundial-blobs-{}", uuid::Uuid::now_v7().simple());
    create_bucket(&client, &bucket).await.unwrap();
    S3Blobs::new(client, bucket)
}

#[tokio::test]
async fn upload_then_head_and_download() {
    contract::upload_then_head_and_download(&blobs().await, &reqwest::Client::new()).await.unwrap();
}

#[tokio::test]
async fn head_of_absent_blob_is_none() {
    contract::head_of_absent_blob_is_none(&blobs().await).await.unwrap();
}

#[tokio::test]
async fn upload_overwrites() {
    contract::upload_overwrites(&blobs().await, &reqwest::Client::new()).await.unwrap();
}

#[tokio::test]
async fn delete_removes_and_is_idempotent() {
    contract::delete_removes_and_is_idempotent(&blobs().await, &reqwest::Client::new()).await.unwrap();
}

#[tokio::test]
async fn upload_size_is_limited() {
    contract::upload_size_is_limited(&blobs().await).await.unwrap();
}

#[tokio::test]
async fn create_bucket_is_idempotent() {
    let blobs = blobs().await;
    let config = platform::aws::emulator_config(&platform::aws::test_endpoint()).await;
    let client = platform::aws::s3_client(&config);
    create_bucket(&client, blobs.bucket()).await.unwrap();
    client.head_bucket().bucket(blobs.bucket()).send().await.unwrap();
}
