//! The API reference at `GET /docs`: a page that loads the viewer shipped
//! with the project (no CDN) and points it at `/v1/openapi.json`, served by
//! the devserver and, deployed, by the organisations function only.
//! `scripts/docs_check.py` renders it in headless Chromium.

use std::sync::Arc;

use axum::body::Body;
use shared::clock::FixedClock;
use sundial_tests::spawn_app;
use tower::ServiceExt;

/// The `src` of the page's only script.
fn script_src(page: &str) -> &str {
    let start = page.find("<script src=\"").expect("a script element") + "<script src=\"".len();
    let end = start + page[start..].find('"').expect("closing quote");
    &page[start..end]
}

#[tokio::test]
async fn docs_is_a_page_that_loads_the_shipped_viewer_on_the_document() {
    let app = spawn_app().await;
    let response = app.get("/docs", None).await;
    assert_eq!(response.status(), 200);
    let headers = response.headers().clone();
    assert_eq!(headers["content-type"], "text/html; charset=utf-8");
    let csp = headers["content-security-policy"].to_str().unwrap();
    assert!(csp.starts_with("default-src 'none'; script-src 'self'; connect-src 'self';"), "{csp}");
    assert!(!csp.contains("http") && !csp.contains("unsafe"), "no other origin, nothing unsafe: {csp}");
    assert_eq!(headers["cache-control"], "no-cache");
    let page = response.text().await.unwrap();
    assert!(page.contains(r#"<redoc spec-url="/v1/openapi.json">"#), "{page}");
    assert!(!page.contains("//cdn") && !page.contains("https://"), "nothing from elsewhere: {page}");
    assert_eq!(script_src(&page), organisations::docs::ASSET_PATH);
    assert!(script_src(&page).starts_with("/docs/") && script_src(&page).ends_with(".js"));
}

#[tokio::test]
async fn the_viewer_is_javascript_cached_for_good_under_its_versioned_path() {
    let app = spawn_app().await;
    let page = app.get("/docs", None).await.text().await.unwrap();
    let url = format!("{}{}", app.base, script_src(&page));
    let response = app.client.get(&url).header("accept-encoding", "gzip, deflate, br").send().await.unwrap();
    assert_eq!(response.status(), 200);
    let headers = response.headers().clone();
    assert_eq!(headers["content-type"], "text/javascript; charset=utf-8");
    assert_eq!(headers["content-encoding"], "gzip");
    assert_eq!(headers["cache-control"], "public, max-age=31536000, immutable");
    assert_eq!(headers["vary"], "accept-encoding");
    let body = response.bytes().await.unwrap();
    assert_eq!(&body[..2], &[0x1f, 0x8b], "gzip");
    assert!(body.len() > 200_000, "the whole bundle: {} bytes", body.len());

    // A client that refuses gzip is told so, not sent bytes it cannot read.
    let identity = app.client.get(&url).header("accept-encoding", "identity").send().await.unwrap();
    assert_eq!(identity.status(), 406);

    // The bundle's first line points at its licences, beside it.
    let licences = app.get("/docs/redoc.standalone.js.LICENSE.txt", None).await;
    assert_eq!(licences.status(), 200);
    assert_eq!(licences.headers()["content-type"], "text/plain; charset=utf-8");
    let text = licences.text().await.unwrap();
    assert!(text.contains("The MIT License") && text.contains("ReDoc"), "{text}");

    assert_eq!(app.get("/docs/nothing.js", None).await.status(), 404);
}

#[test]
fn the_reference_is_not_an_operation_of_the_document() {
    let doc: serde_json::Value = serde_json::from_str(shared::http::OPENAPI_JSON).unwrap();
    let paths = doc["paths"].as_object().unwrap();
    assert!(paths.keys().all(|path| !path.starts_with("/docs")), "a page for people, not API");
}

async fn status_of(router: axum::Router, path: &str) -> u16 {
    let request = http::Request::get(path).body(Body::empty()).unwrap();
    router.oneshot(request).await.unwrap().status().as_u16()
}

#[tokio::test]
async fn only_the_organisations_function_serves_it() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(FixedClock::new(sundial_tests::start_time()));
    let state = devserver::build(dir.path(), "http://127.0.0.1:9", clock).unwrap().state;
    assert_eq!(status_of(organisations::router(state.clone()), "/docs").await, 200);
    assert_eq!(status_of(organisations::router(state.clone()), organisations::docs::ASSET_PATH).await, 200);
    for (name, router) in [
        ("auth", auth::router(state.clone())),
        ("users", users::router(state.clone())),
        ("calendar", calendar::router(state)),
    ] {
        assert_eq!(status_of(router, "/docs").await, 404, "{name} carries no viewer");
    }
}

#[test]
fn the_template_routes_docs_to_the_organisations_function() {
    let template = include_str!("../../template.yaml");
    // The lines of the resource, up to the next one (a two-space indented key).
    let function: String = template
        .lines()
        .skip_while(|line| *line != "  OrganisationsFunction:")
        .enumerate()
        .take_while(|(i, line)| *i == 0 || !(line.starts_with("  ") && !line.starts_with("   ") && line.ends_with(':')))
        .map(|(_, line)| format!("{line}\n"))
        .collect();
    assert!(function.contains("Type: AWS::Serverless::Function"), "{function}");
    for path in ["Path: /docs\n", "Path: /docs/{proxy+}\n", "Path: /v1/openapi.json\n"] {
        assert!(function.contains(path), "OrganisationsFunction routes {path}");
        assert_eq!(template.matches(path).count(), 1, "only one function routes {path}");
    }
}
