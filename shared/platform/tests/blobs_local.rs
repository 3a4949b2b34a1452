//! The `Blobs` contract against `LocalBlobs`, served over real HTTP by its
//! own routes, plus the checks only the local adapter can make (moto does
//! not verify signatures, so refusals are tested here and in unit tests).

use platform::{
    blobs::{Blobs, UploadSpec, contract, local::LocalBlobs},
    clock::{Clock, FixedClock, SystemClock},
};
use std::{sync::Arc, time::Duration};

/// A `LocalBlobs` in a fresh directory, its routes served on a free port.
struct Server {
    blobs: Arc<LocalBlobs>,
    http: reqwest::Client,
    base_url: String,
    dir: tempfile::TempDir,
}

async fn serve_with(clock: Arc<dyn Clock>) -> Server {
    let dir = tempfile::tempdir().unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base_url = format!("http://{}", listener.local_addr().unwrap());
    let blobs = Arc::new(LocalBlobs::new(dir.path().to_path_buf(), base_url.clone(), b"test key".to_vec(), clock));
    let app = platform::blobs::local::routes(blobs.clone());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    Server { blobs, http: reqwest::Client::new(), base_url, dir }
}

async fn serve() -> Server {
    serve_with(Arc::new(SystemClock)).await
}

#[tokio::test]
async fn upload_then_head_and_download() {
    let s = serve().await;
    contract::upload_then_head_and_download(s.blobs.as_ref(), &s.http).await.unwrap();
}

#[tokio::test]
async fn head_of_absent_blob_is_none() {
    let s = serve().await;
    contract::head_of_absent_blob_is_none(s.blobs.as_ref()).await.unwrap();
}

#[tokio::test]
async fn upload_overwrites() {
    let s = serve().await;
    contract::upload_overwrites(s.blobs.as_ref(), &s.http).await.unwrap();
}

#[tokio::test]
async fn delete_removes_and_is_idempotent() {
    let s = serve().await;
    contract::delete_removes_and_is_idempotent(s.blobs.as_ref(), &s.http).await.unwrap();
}

#[tokio::test]
async fn upload_size_is_limited() {
    let s = serve().await;
    contract::upload_size_is_limited(s.blobs.as_ref()).await.unwrap();
}

fn spec(key: &str, len: u64) -> UploadSpec {
    UploadSpec {
        key: key.to_owned(),
        content_type: "image/png".to_owned(),
        content_length: len,
        expires_in: Duration::from_secs(60),
    }
}

#[tokio::test]
async fn upload_with_other_type_or_size_is_refused() {
    let s = serve().await;
    let url = s.blobs.presign_upload(&spec("org/1/media/1", 4)).await.unwrap().url;
    let put = |content_type: &'static str, body: &'static [u8]| {
        s.http.put(&url).header("content-type", content_type).body(body).send()
    };
    assert_eq!(put("image/jpeg", b"1234").await.unwrap().status(), 400);
    assert_eq!(put("image/png", b"12345").await.unwrap().status(), 413);
    assert_eq!(put("image/png", b"123").await.unwrap().status(), 400);
    assert!(s.blobs.head("org/1/media/1").await.unwrap().is_none());
    assert_eq!(put("image/png", b"1234").await.unwrap().status(), 200);
}

#[tokio::test]
async fn tampered_or_missing_signature_is_forbidden() {
    let s = serve().await;
    let url = s.blobs.presign_upload(&spec("org/1/media/1", 4)).await.unwrap().url;
    let (path, query) = url.split_once('?').unwrap();
    let tampered = [
        url.replace("org/1/media/1", "org/2/media/1"),
        url.replace("len=4", "len=5"),
        path.to_owned(),
        format!("{path}?{}", query.replace("method=PUT", "method=GET")),
    ];
    for url in tampered {
        let response = s.http.put(&url).header("content-type", "image/png").body(&b"1234"[..]).send().await.unwrap();
        assert_eq!(response.status(), 403, "{url}");
    }
    // An upload URL does not serve downloads.
    assert_eq!(s.http.get(&url).send().await.unwrap().status(), 403);
}

#[tokio::test]
async fn expired_url_is_forbidden() {
    let clock = Arc::new(FixedClock::new(chrono::Utc::now()));
    let s = serve_with(clock.clone()).await;
    let upload = s.blobs.presign_upload(&spec("org/1/media/1", 4)).await.unwrap();
    clock.advance(chrono::Duration::seconds(61));
    let response = s.http.put(&upload.url).header("content-type", "image/png").body(&b"1234"[..]).send().await.unwrap();
    assert_eq!(response.status(), 403);
}

#[tokio::test]
async fn keys_needing_escapes_round_trip_over_http() {
    let s = serve().await;
    let key = "org/1/media/Zoë's photo #1 (100%).png";
    let upload = s.blobs.presign_upload(&spec(key, 4)).await.unwrap();
    let response =
        s.http.put(&upload.url).header("content-type", "image/png").body(&b"\x89PNG"[..]).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(s.blobs.head(key).await.unwrap().map(|m| m.size), Some(4));
    let download = s.blobs.presign_download(key, Duration::from_secs(60)).await.unwrap();
    let served = s.http.get(&download.url).send().await.unwrap().bytes().await.unwrap();
    assert_eq!(served.as_ref(), b"\x89PNG");
}

#[tokio::test]
async fn blobs_survive_a_restart() {
    let s = serve().await;
    let key = "org/1/media/kept";
    let upload = s.blobs.presign_upload(&spec(key, 4)).await.unwrap();
    let response = s.http.put(&upload.url).header("content-type", "image/png").body(&b"kept"[..]).send().await.unwrap();
    assert_eq!(response.status(), 200);
    let reopened =
        LocalBlobs::new(s.dir.path().to_path_buf(), s.base_url.clone(), b"test key".to_vec(), Arc::new(SystemClock));
    let meta = reopened.head(key).await.unwrap().unwrap();
    assert_eq!((meta.size, meta.content_type.as_deref()), (4, Some("image/png")));
}
