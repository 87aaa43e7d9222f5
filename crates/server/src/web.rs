//! The web front end at `/`: the files of `web/dist`, embedded in the binary when it is built
//! (`build.rs` makes sure they exist), so one file serves everything from any directory; or,
//! when `web_dir` is configured (`serve --web-dir DIR`, for front-end development), read from
//! that directory, whose files then win.
//!
//! `index.html` answers `/` and every path that is not a file (the app's own routes), with
//! `Cache-Control: no-cache`, so a new release is picked up at the next load; the files under
//! `assets/` carry a hash of their content in their names (Vite) and are cached for a year.

use std::fmt::Write as _;
use std::path::Path;

use axum::body::Body;
use axum::extract::Request;
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use tower::ServiceExt as _;

use crate::error::ApiError;

/// `web/dist`, compiled in. `debug-embed`: debug builds (the tests' binary) embed the files
/// just like release builds instead of reading them from the source tree at run time.
#[derive(rust_embed::RustEmbed)]
#[folder = "../../web/dist/"]
struct Dist;

/// The page every non-file path answers with.
const INDEX: &str = "index.html";

/// Where Vite writes the files whose names carry a hash of their content.
const HASHED_DIR: &str = "assets/";

/// Hashed files never change under their name: a year (the longest lifetime RFC 9111 caches
/// are asked to honour in practice), and `immutable` so browsers do not even revalidate.
const CACHE_HASHED: &str = "public, max-age=31536000, immutable";

/// Everything else (`index.html` above all) is revalidated on every load (cheap: `ETag`).
const CACHE_REVALIDATE: &str = "no-cache";

/// Answers `req` (a path outside the APIs) from `dir` when given, else from the embedded files.
pub async fn serve(dir: Option<&Path>, req: Request) -> Response {
    if !matches!(*req.method(), Method::GET | Method::HEAD) {
        return ApiError::MethodNotAllowed(format!(
            "{} is not allowed on {}",
            req.method(),
            req.uri().path()
        ))
        .into_response();
    }
    let rel = relative(req.uri().path());
    match dir {
        Some(dir) => from_disk(dir, &rel, req).await,
        None => embedded(&rel, &req),
    }
}

/// The suffix of the files the web build compresses at level 9 beside the originals.
const GZ_SUFFIX: &str = ".gz";

/// Whether the request accepts a gzip body.
fn accepts_gzip(req: &Request) -> bool {
    req.headers()
        .get(header::ACCEPT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.split(',').any(|e| {
                let mut parts = e.split(';');
                let name = parts.next().unwrap_or("").trim();
                let refused = parts.any(|q| q.trim().replace(' ', "") == "q=0");
                (name == "gzip" || name == "*") && !refused
            })
        })
}

/// The path below the front end's root, `index.html` for a directory.
fn relative(path: &str) -> String {
    let rel = path.trim_start_matches('/');
    if rel.is_empty() || rel.ends_with('/') {
        format!("{rel}{INDEX}")
    } else {
        rel.to_owned()
    }
}

fn cache_control(rel: &str) -> HeaderValue {
    HeaderValue::from_static(if rel.starts_with(HASHED_DIR) {
        CACHE_HASHED
    } else {
        CACHE_REVALIDATE
    })
}

/// A missing file under `assets/` is a 404: answering a script request with the page would
/// only trade a clear error for a syntax error in the browser.
fn missing(rel: &str) -> Response {
    ApiError::NotFound(format!("no file /{rel} in the web front end")).into_response()
}

fn embedded(rel: &str, req: &Request) -> Response {
    let (rel, file) = match Dist::get(rel) {
        Some(f) => (rel, f),
        None if rel.starts_with(HASHED_DIR) => return missing(rel),
        None => match Dist::get(INDEX) {
            Some(f) => (INDEX, f),
            None => return missing(INDEX),
        },
    };
    // The level-9 `.gz` beside the file when the browser takes gzip (the compression layer
    // leaves an encoded body alone); its own ETag, as another representation.
    let gz = accepts_gzip(req)
        .then(|| Dist::get(&format!("{rel}{GZ_SUFFIX}")))
        .flatten();
    let mut etag = String::from("\"");
    for b in &file.metadata.sha256_hash()[..16] {
        let _ = write!(etag, "{b:02x}");
    }
    if gz.is_some() {
        etag.push_str("-gz");
    }
    etag.push('"');
    let fresh = req
        .headers()
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag || t.trim() == "*"));
    let mut resp = if fresh {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        let encoded = gz.is_some();
        let data = gz.map_or(file.data, |g| g.data);
        let mut r = Response::new(Body::from(data.into_owned()));
        if let Ok(v) = HeaderValue::from_str(&content_type(file.metadata.mimetype())) {
            r.headers_mut().insert(header::CONTENT_TYPE, v);
        }
        if encoded {
            r.headers_mut()
                .insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
        }
        r
    };
    let h = resp.headers_mut();
    h.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
    h.insert(header::CACHE_CONTROL, cache_control(rel));
    if let Ok(v) = HeaderValue::from_str(&etag) {
        h.insert(header::ETAG, v);
    }
    resp
}

/// The media type of a file with its charset when it is text (all of `web/dist` is UTF-8).
fn content_type(mime: &str) -> String {
    let text = mime.starts_with("text/")
        || matches!(mime, "application/javascript" | "application/json")
        || mime.ends_with("+xml")
        || mime.ends_with("+json");
    if text && !mime.contains("charset") {
        format!("{mime}; charset=utf-8")
    } else {
        mime.to_owned()
    }
}

async fn from_disk(dir: &Path, rel: &str, req: Request) -> Response {
    // `NAME.gz` (written by the web build at level 9) for browsers that accept gzip.
    let serve = tower_http::services::ServeDir::new(dir)
        .precompressed_gzip()
        .fallback(tower_http::services::ServeFile::new(dir.join(INDEX)));
    let mut resp = match serve.oneshot(req).await {
        Ok(r) => r.into_response(),
        Err(e) => return ApiError::Internal(format!("static files: {e}")).into_response(),
    };
    if resp.status() == StatusCode::NOT_FOUND && rel.starts_with(HASHED_DIR) {
        return missing(rel);
    }
    // A path that is not a file was answered with the page: revalidate it like the page.
    let served_file = dir.join(rel).is_file();
    let rel = if served_file { rel } else { INDEX };
    resp.headers_mut()
        .insert(header::CACHE_CONTROL, cache_control(rel));
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_page_and_hashed_assets_are_embedded_and_cached_as_they_should() {
        let index = Dist::get(INDEX).expect("web/dist/index.html is embedded");
        let html = String::from_utf8_lossy(&index.data);
        assert!(
            html.contains("<div id=\"app\">") && html.contains("创文问题地图"),
            "{html}"
        );
        assert!(
            Dist::iter().any(|f| f.starts_with(HASHED_DIR) && f.ends_with(".js")),
            "no script under assets/"
        );
        assert_eq!(relative("/"), INDEX);
        assert_eq!(relative("/console"), "console");
        assert_eq!(cache_control(INDEX), CACHE_REVALIDATE);
        assert_eq!(cache_control("assets/index-abc.js"), CACHE_HASHED);
        assert_eq!(content_type("text/html"), "text/html; charset=utf-8");
        assert_eq!(content_type("image/png"), "image/png");
    }
}
