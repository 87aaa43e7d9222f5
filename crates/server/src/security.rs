//! Security headers on every answer: what the browser may load and run for the web app, and
//! where it may be framed. Set here once, at the edge, so the static app, the API, the printed
//! route sheet and the HTML reports all carry the same policy.

use axum::extract::Request;
use axum::http::{HeaderName, HeaderValue, header};
use axum::middleware::Next;
use axum::response::Response;

/// The Content-Security-Policy of the web app and every page civmap serves.
///
/// Why each source:
/// - scripts only from civmap itself: the front end is one built bundle, no inline scripts;
/// - `worker-src blob:`: MapLibre GL JS starts its tile workers from a blob URL;
/// - `img-src data: blob:`: the favicon is a data URL, photo previews before upload are object
///   URLs; MapLibre draws to a canvas and needs no image sources of its own;
/// - `style-src 'unsafe-inline'`: the printed route sheet and the HTML reports carry a `<style>`
///   block, and MapLibre sets inline styles on its controls;
/// - `connect-src 'self'`: tiles, the API and the live stream are all same-origin — nothing is
///   loaded from the internet;
/// - `frame-ancestors 'none'`: no site can frame the consoles (clickjacking a verify button).
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; \
     style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; font-src 'self' data:; \
     worker-src 'self' blob:; child-src 'self' blob:; connect-src 'self'; manifest-src 'self'; \
     object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'";

/// Geolocation and the camera are used by the report page on civmap's own origin; nothing else.
const PERMISSIONS_POLICY: &str = "geolocation=(self), camera=(self), microphone=(), payment=()";

/// Adds the security headers to an answer that does not set them itself.
pub async fn headers(req: Request, next: Next) -> Response {
    let mut res = next.run(req).await;
    let h = res.headers_mut();
    let set = [
        (
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(CONTENT_SECURITY_POLICY),
        ),
        (header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY")),
        (
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ),
        (
            header::REFERRER_POLICY,
            HeaderValue::from_static("strict-origin-when-cross-origin"),
        ),
        (
            HeaderName::from_static("permissions-policy"),
            HeaderValue::from_static(PERMISSIONS_POLICY),
        ),
    ];
    for (name, value) in set {
        h.entry(name).or_insert(value);
    }
    res
}
