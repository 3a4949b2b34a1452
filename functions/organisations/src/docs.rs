//! The interactive API reference at `GET /docs`: Redoc (its standalone
//! bundle ships in `assets/`, see `assets/README.md`) rendering
//! `/v1/openapi.json`, with nothing fetched from anywhere else. Only this
//! function (which serves the meta routes when deployed) and the devserver
//! mount it, so the other Lambdas do not carry the bundle. The routes are
//! not part of the OpenAPI document: they are a page for people, not API.

use axum::Router;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

/// The viewer's version (`assets/README.md` records where it comes from).
pub const VIEWER_VERSION: &str = "2.5.4";

/// Where the page is.
pub const DOCS_PATH: &str = "/docs";

/// Where the viewer's bundle is: versioned, so it can be cached for good.
pub const ASSET_PATH: &str = "/docs/redoc-2.5.4.standalone.js";

/// The licences of the bundle and of what it bundles, where its first line
/// says they are (`redoc.standalone.js.LICENSE.txt` beside the script).
pub const LICENSE_PATH: &str = "/docs/redoc.standalone.js.LICENSE.txt";

/// The bundle, gzip-compressed (326 KB instead of 1.1 MB in the binary).
const ASSET_GZ: &[u8] = include_bytes!("../assets/redoc.standalone.js.gz");

const LICENSE_TEXT: &str =
    concat!(include_str!("../assets/redoc.LICENSE"), "\n", include_str!("../assets/redoc.standalone.js.LICENSE.txt"));

/// Scripts, the document and everything else from this origin only. Two
/// exceptions the viewer needs, neither of which loads anything from
/// elsewhere: the two `<style>` elements its bundle inserts, allowed by
/// their hashes (the empty one styled-components fills through the CSSOM,
/// and perfect-scrollbar's CSS of this version), and the search index
/// worker it starts from a `blob:` URL its own script makes. Images may
/// be `data:` URLs (its icons). Its "powered by" logo, the one thing it
/// would fetch from a CDN, is blocked, and it hides the image then.
/// `scripts/docs_check.py` fails on any other violation.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; connect-src 'self'; \
     style-src 'self' 'sha256-47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=' \
     'sha256-QMIg+bpjm3JdElJ388KYke01izlUW0UoNOeKjpMxdgc='; img-src 'self' data:; font-src 'self' data:; \
     worker-src blob:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

const PAGE: &str = r#"<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Sundial API reference</title>
</head>
<body>
<redoc spec-url="/v1/openapi.json"></redoc>
<script src="/docs/redoc-2.5.4.standalone.js"></script>
</body>
</html>
"#;

/// `GET /docs`, its bundle and the bundle's licences.
pub fn router() -> Router {
    Router::new().route(DOCS_PATH, get(page)).route(ASSET_PATH, get(asset)).route(LICENSE_PATH, get(license))
}

async fn page() -> Response {
    (
        [
            (header::CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8")),
            (header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CONTENT_SECURITY_POLICY)),
            // The page names the bundle's version, so it must not outlive a deployment.
            (header::CACHE_CONTROL, HeaderValue::from_static("no-cache")),
            (header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff")),
            (header::REFERRER_POLICY, HeaderValue::from_static("no-referrer")),
        ],
        PAGE,
    )
        .into_response()
}

/// The bundle as stored, gzip-compressed: every browser accepts that; a
/// client that says it does not gets 406 rather than bytes it cannot read.
async fn asset(headers: HeaderMap) -> Response {
    if !accepts_gzip(headers.get(header::ACCEPT_ENCODING).and_then(|v| v.to_str().ok())) {
        return (StatusCode::NOT_ACCEPTABLE, "the viewer's bundle is served gzip-compressed only\n").into_response();
    }
    (
        [
            (header::CONTENT_TYPE, HeaderValue::from_static("text/javascript; charset=utf-8")),
            (header::CONTENT_ENCODING, HeaderValue::from_static("gzip")),
            // The path names the version: the content behind it never changes.
            (header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=31536000, immutable")),
            (header::VARY, HeaderValue::from_static("accept-encoding")),
            (header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff")),
        ],
        ASSET_GZ,
    )
        .into_response()
}

async fn license() -> Response {
    (
        [
            (header::CONTENT_TYPE, HeaderValue::from_static("text/plain; charset=utf-8")),
            (header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=86400")),
            (header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff")),
        ],
        LICENSE_TEXT,
    )
        .into_response()
}

/// Whether an `Accept-Encoding` value admits gzip (RFC 9110 §12.5.3: no
/// header admits any coding; `gzip`, `x-gzip` or `*` with a non-zero weight do).
fn accepts_gzip(accept_encoding: Option<&str>) -> bool {
    let Some(value) = accept_encoding else { return true };
    let mut star = false;
    for item in value.split(',') {
        let mut parts = item.split(';');
        let coding = parts.next().unwrap_or_default().trim().to_ascii_lowercase();
        let weight = parts
            .filter_map(|p| p.trim().strip_prefix("q=").or_else(|| p.trim().strip_prefix("Q=")))
            .find_map(|q| q.trim().parse::<f32>().ok())
            .unwrap_or(1.0);
        match coding.as_str() {
            "gzip" | "x-gzip" => return weight > 0.0,
            "*" => star = weight > 0.0,
            _ => {}
        }
    }
    star
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_page_names_the_versioned_asset() {
        assert!(PAGE.contains(&format!(r#"<script src="{ASSET_PATH}">"#)));
        assert!(ASSET_PATH.contains(VIEWER_VERSION));
        assert!(PAGE.contains(r#"spec-url="/v1/openapi.json""#));
    }

    #[test]
    fn the_stored_bundle_is_gzip() {
        assert_eq!(&ASSET_GZ[..2], &[0x1f, 0x8b]);
    }

    #[test]
    fn gzip_is_acceptable_unless_refused() {
        for yes in
            [None, Some("gzip"), Some("gzip, deflate, br"), Some("br;q=1.0, gzip;q=0.8"), Some("*"), Some("X-GZIP")]
        {
            assert!(accepts_gzip(yes), "{yes:?}");
        }
        for no in [Some(""), Some("identity"), Some("br"), Some("gzip;q=0"), Some("*;q=0"), Some("*, gzip;q=0")] {
            assert!(!accepts_gzip(no), "{no:?}");
        }
    }
}
