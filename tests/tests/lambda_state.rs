//! A deployed function builds its state from its configuration: the master
//! key from Secrets Manager, DynamoDB, S3 and SES clients, the app URL for
//! mailed links. Driven here against the AWS emulator, through the real
//! routers, so the Lambda path is covered end to end (bar API Gateway).

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use axum::body::Body;
use serde_json::{Value, json};
use shared::AppState;
use shared::config::LambdaConfig;
use tower::ServiceExt;

async fn call(router: &axum::Router, request: http::Request<Body>) -> (u16, Value) {
    let response = router.clone().oneshot(request).await.expect("infallible");
    let status = response.status().as_u16();
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX).await.unwrap();
    (status, serde_json::from_slice(&bytes).unwrap_or(Value::Null))
}

fn post(path: &str, body: &Value) -> http::Request<Body> {
    http::Request::post(path).header("content-type", "application/json").body(Body::from(body.to_string())).unwrap()
}

#[tokio::test]
async fn a_function_built_from_its_configuration_signs_up_signs_in_and_mails_through_ses() {
    let endpoint = shared::aws::test_endpoint();
    let sdk = shared::aws::emulator_config(&endpoint).await;
    let suffix = uuid::Uuid::now_v7().simple().to_string();
    let table = format!("sundial-lambda-{suffix}");
    shared::table::dynamo::create_table(&aws_sdk_dynamodb::Client::new(&sdk), &table).await.unwrap();
    let bucket = format!("sundial-lambda-{suffix}");
    shared::blobs::s3::create_bucket(&shared::aws::s3_client(&sdk), &bucket).await.unwrap();
    let sender = format!("noreply-{suffix}@sundial.test");
    aws_sdk_sesv2::Client::new(&sdk).create_email_identity().email_identity(&sender).send().await.unwrap();
    let secret = aws_sdk_secretsmanager::Client::new(&sdk)
        .create_secret()
        .name(format!("sundial-signing-{suffix}"))
        .secret_string("x".repeat(64))
        .send()
        .await
        .unwrap();
    let config = LambdaConfig {
        table,
        bucket,
        mail_from: sender,
        signing_key_secret_arn: secret.arn().unwrap().to_string(),
        app_url: "https://app.sundial.test".into(),
        session_idle_days: shared::config::DEFAULT_SESSION_IDLE_DAYS,
    };

    let state = AppState::from_lambda_config(&config, &sdk).await.expect("cold start");
    state.signing.wait().await.expect("the signing key is read from Secrets Manager");
    let organisations = organisations::router(state.clone());
    let auth = auth::router(state.clone());

    let owner_email = format!("owner-{suffix}@example.com");
    let signup = json!({
        "organisation": {"name": "Sunrise Care"},
        "owner": {"email": owner_email, "password": "correct horse battery", "firstName": "Ada", "lastName": "Lovelace"}
    });
    let (status, body) = call(&organisations, post("/v1/public/organisations", &signup)).await;
    assert_eq!(status, 201, "{body}");
    let org_id = body["organisation"]["id"].as_str().unwrap().to_string();

    let (status, tokens) =
        call(&auth, post("/v1/auth/token", &json!({"email": owner_email, "password": "correct horse battery"}))).await;
    assert_eq!(status, 200, "{tokens}");
    let access = tokens["accessToken"].as_str().unwrap();
    let read = http::Request::get(format!("/v1/organisations/{org_id}"))
        .header("authorization", format!("Bearer {access}"))
        .body(Body::empty())
        .unwrap();
    let (status, org) = call(&organisations, read).await;
    assert_eq!(status, 200, "a token issued by one function verifies in another");
    assert_eq!(org["name"], "Sunrise Care");

    // The verification mail went out through SES with a link to the configured app.
    let sent: Value = reqwest::get(format!("{endpoint}/moto-api/data.json")).await.unwrap().json().await.unwrap();
    let ses = sent["ses"].to_string();
    assert!(ses.contains(&owner_email), "the mail was sent to the owner");
    assert!(ses.contains("https://app.sundial.test/"), "links point at SUNDIAL_APP_URL");
}

/// The secret is read after the cold start (see `lambda_cold_start.rs`): a
/// short or missing one is refused then, and requests get a 503.
#[tokio::test]
async fn a_missing_or_short_signing_secret_is_refused() {
    let endpoint = shared::aws::test_endpoint();
    let sdk = shared::aws::emulator_config(&endpoint).await;
    let suffix = uuid::Uuid::now_v7().simple().to_string();
    let short = aws_sdk_secretsmanager::Client::new(&sdk)
        .create_secret()
        .name(format!("sundial-short-{suffix}"))
        .secret_string("too-short")
        .send()
        .await
        .unwrap();
    let mut config = LambdaConfig {
        table: "unused".into(),
        bucket: "unused".into(),
        mail_from: "noreply@sundial.test".into(),
        signing_key_secret_arn: short.arn().unwrap().to_string(),
        app_url: "https://app.sundial.test".into(),
        session_idle_days: shared::config::DEFAULT_SESSION_IDLE_DAYS,
    };
    let refused = |state: AppState| async move {
        let err = state.signing.wait().await.expect_err("refused");
        let list = http::Request::get("/v1/organisations").body(Body::empty()).unwrap();
        let (status, problem) = call(&organisations::router(state), list).await;
        assert_eq!((status, problem["code"].as_str()), (503, Some("service_unavailable")), "{problem}");
        format!("{err:#}")
    };
    let err = refused(AppState::from_lambda_config(&config, &sdk).await.expect("cold start")).await;
    assert!(err.contains("shorter than 32 bytes"), "a short key is refused: {err}");
    config.signing_key_secret_arn = format!("arn:aws:secretsmanager:us-east-1:123456789012:secret:absent-{suffix}");
    let err = refused(AppState::from_lambda_config(&config, &sdk).await.expect("cold start")).await;
    assert!(err.contains("Failed to read the signing key secret"), "a missing secret is refused: {err}");
}

/// A failed read answers 503 (a problem document, `Retry-After`), and the
/// next request reads again and succeeds.
#[tokio::test]
async fn a_failed_secret_read_answers_503_and_the_next_request_recovers() {
    let calls = Arc::new(AtomicUsize::new(0));
    let read: Arc<shared::state::ReadSecret> = Arc::new({
        let calls = calls.clone();
        move || {
            let first = calls.fetch_add(1, Ordering::SeqCst) == 0;
            Box::pin(async move {
                if first {
                    anyhow::bail!("AccessDeniedException: not allowed to read the secret")
                }
                Ok(vec![b'k'; 64])
            })
        }
    });
    let dir = tempfile::tempdir().unwrap();
    let router = organisations::router(sundial_tests::secrets::state_reading(dir.path(), read));
    let list = || http::Request::get("/v1/organisations").body(Body::empty()).unwrap();

    let response = router.clone().oneshot(list()).await.unwrap();
    assert_eq!(response.status(), 503);
    assert_eq!(response.headers()["retry-after"], "1");
    assert_eq!(response.headers()["content-type"], "application/problem+json");
    let body = axum::body::to_bytes(response.into_body(), usize::MAX).await.unwrap();
    let problem: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(problem["code"], "service_unavailable");
    assert!(!problem.to_string().contains("AccessDenied"), "the cause is logged, not sent: {problem}");

    let response = router.oneshot(list()).await.unwrap();
    assert_eq!(response.status(), 401, "the next request read the secret again");
    assert_eq!(calls.load(Ordering::SeqCst), 2);
}
