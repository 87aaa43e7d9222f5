#![doc = include_str!("../README.md")]
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::float_cmp))]

pub mod api;
pub mod auth;
pub mod codes;
pub mod conn;
pub mod cursor;
pub mod docs;
pub mod error;
pub mod extract;
pub mod feed;
pub mod geojson;
pub mod heat;
pub mod idempotency;
pub mod metrics;
pub mod oas30;
pub mod ogc;
pub mod open311;
pub mod ops;
pub mod page;
pub mod params;
pub mod patrols;
pub mod photo;
pub mod qr;
pub mod render;
pub mod routing;
pub mod security;
pub mod state;
pub mod table;
pub mod tasks;
pub mod tiles;
pub mod web;

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{ConnectInfo, DefaultBodyLimit, MatchedPath, Request, State};
use axum::http::{Method, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use tower_http::compression::predicate::DefaultPredicate;
use tower_http::compression::{CompressionLayer, CompressionLevel};
use tower_http::cors::{Any, CorsLayer};
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::TraceLayer;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;

use civmap_app::App;

use crate::error::ApiError;
use crate::metrics::Metrics;
use crate::state::ServerState;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "civmap",
        description = "Problem points of the civilized-city campaign (创文) for street offices: report, dispatch, rectify, verify; zones and three-surroundings; GeoJSON (RFC 7946, lon/lat, WGS-84; `crs=gcj02|bd09` accepted on input and output). Errors share one shape: `{\"error\": {\"status\", \"code\", \"message\", \"field\"}}` (Open311 routes use the GeoReport v2 error format).",
        license(name = "MIT OR Apache-2.0"),
    ),
    tags(
        (name = "problems", description = "Problem points: report, read, edit, list with filters and cursor pagination, history."),
        (name = "lifecycle", description = "One endpoint per step: dispatch, escalate, rectify, reject, verify, recur, merge. Send the version you saw; 409 on a stale version or a step the status does not allow."),
        (name = "zones", description = "Zones (point, road, area, surroundings, grid cell) and the chiefs assigned to them."),
        (name = "pois", description = "Schools, parks and wet markets (三个周边)."),
        (name = "categories", description = "The category table."),
        (name = "heat", description = "Heat: per-zone scores, the three-surroundings rankings, the density surface (hexagon or square cells). Public: counts and scores only."),
        (name = "routes", description = "Rectification routes for street-office teams: JSON with GeoJSON lines, GPX, printable sheet."),
        (name = "ogc", description = "OGC API - Features - Part 1: Core (collections problems, zones, pois)."),
        (name = "open311", description = "Open311 GeoReport v2, JSON and XML."),
        (name = "feeds", description = "Atom feeds (RFC 4287) of the new and fixed problems of a zone or an area, public-safe, for feed readers."),
        (name = "operations", description = "Health, readiness, metrics, this document."),
        (name = "accounts", description = "Sign in and out, who am I, API tokens."),
        (name = "workflow", description = "The work around the lifecycle: my inbox and its live feed, look-back re-inspections (回头看), the assessment report (综合评价) and a zone's rectification ledger (整改台账). New reports are dispatched automatically to the chief of the zone containing them; overdue problems are escalated automatically."),
        (name = "patrols", description = "Patrols (巡查): a chief's phone records the walk's track and marks zones \"checked, clean\" (已检查，无问题); the street office reads, per zone and week, patrols made, metres walked against the zone's road length, checks and the last visit, and the zones nobody visited for `workflow.unvisited_days`. Staff only: tracks are never public."),
        (name = "inspections", description = "Mock inspections (模拟测评): test points (测评点位) and their checklists, drawing a sample (all points of kinds, or stratified with a reproducible seed) and assigning it to an inspector, the inspector's results (a fail becomes a problem, dispatched like any report), readiness (迎检准备度) and numbered rectification notices (整改通知单). Staff only; the public sees nothing of inspections."),
    ),
    components(schemas(error::ErrorBody, error::ErrorDetail))
)]
struct ApiDoc;

/// Every documented route with its OpenAPI declaration. The document and the router both come
/// from here, so they cannot disagree.
fn routes() -> OpenApiRouter<ServerState> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .merge(api::router())
        .merge(auth::router())
        .merge(photo::router())
        .merge(heat::router())
        .merge(ogc::router())
        .merge(open311::router().layer(middleware::from_fn(open311::open311_errors)))
        .merge(ops::router())
        .merge(tiles::router())
        .merge(tasks::router())
        .merge(table::router())
        .merge(feed::router())
        .merge(codes::router())
        .merge(patrols::router())
        .routes(utoipa_axum::routes!(routing::plan_routes))
}

/// The OpenAPI 3 document of every route (what `/api/v1/openapi.json` serves).
#[must_use]
pub fn openapi() -> utoipa::openapi::OpenApi {
    let mut doc = routes().split_for_parts().1;
    idempotency::document(&mut doc);
    doc
}

/// The whole HTTP application over the service `app`: `/api/v1`, `/ogc`, `/open311/v2`,
/// operations and (when configured) the web front end, with request ids, tracing, metrics, the
/// body limit and the request timeout.
pub fn app(app: App) -> Router {
    let state = ServerState {
        app,
        metrics: Arc::new(Metrics::default()),
    };
    let (router, mut doc) = routes().split_for_parts();
    idempotency::document(&mut doc);
    let json = doc.to_json().unwrap_or_else(|_| "{}".to_owned());
    let mut value: serde_json::Value = serde_json::from_str(&json).unwrap_or_default();
    ogc::document_limits(&mut value, &state.app.config().limits);
    let json = serde_json::to_vec(&value).unwrap_or_default();
    let json30 = serde_json::to_vec(&oas30::downgrade(&value)).unwrap_or_default();
    let docs = ops::Docs {
        json: Arc::from(json),
        json30: Arc::from(json30),
        html: Arc::from(docs::render(&value)),
    };
    let limit = state.app.config().limits.body_bytes;
    router
        .merge(page::router())
        .fallback(fallback)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(axum::Extension(docs))
        // Inside the timeout of `track`: a write whose answer comes late still keeps it for its
        // key (the write runs on a task of its own there).
        .layer(middleware::from_fn_with_state(
            state.clone(),
            idempotency::once,
        ))
        .layer(DefaultBodyLimit::max(limit))
        .layer(middleware::from_fn_with_state(state.clone(), track))
        // Gzip for clients that ask (a page of 500 features is ~290 KB of JSON, ~45 KB gzipped:
        // it matters to a road-chief's phone). The fastest level: on loopback the CPU is what
        // counts. Tiles already gzipped, images and event streams are left alone.
        .layer(
            CompressionLayer::new()
                .gzip(true)
                .quality(CompressionLevel::Fastest)
                .compress_when(DefaultPredicate::new()),
        )
        .layer(
            CorsLayer::new()
                .allow_origin(Any)
                .allow_methods([Method::GET, Method::HEAD, Method::OPTIONS])
                .allow_headers([header::ACCEPT, header::CONTENT_TYPE]),
        )
        .layer(middleware::from_fn(security::headers))
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(
            TraceLayer::new_for_http().make_span_with(|req: &Request| {
                let id = req
                    .headers()
                    .get("x-request-id")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("-");
                tracing::info_span!("request", method = %req.method(), path = %req.uri().path(), request_id = %id)
            }),
        )
        .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
        .with_state(state)
}

/// Counts and times every request by route template and applies the request timeout.
async fn track(State(state): State<ServerState>, req: Request, next: Next) -> Response {
    let start = Instant::now();
    let route = req.extensions().get::<MatchedPath>().cloned();
    let method = req.method().clone();
    let timeout = Duration::from_secs(state.app.config().limits.request_timeout_s);
    let resp = match tokio::time::timeout(timeout, next.run(req)).await {
        Ok(r) => r,
        Err(_) => ApiError::Unavailable(format!(
            "the request took longer than {} s",
            timeout.as_secs()
        ))
        .into_response(),
    };
    let route = route.as_ref().map_or("unmatched", MatchedPath::as_str);
    state.metrics.observe(
        route,
        method.as_str(),
        resp.status().as_u16(),
        start.elapsed(),
    );
    resp
}

/// Unknown paths: the web front end (embedded, or from `web_dir` when configured) outside the
/// APIs, else a 404 in the shape of the API the path belongs to.
async fn fallback(State(state): State<App>, req: Request) -> Response {
    let path = req.uri().path().to_owned();
    if let Some(to) = ogc::without_trailing_slash(req.uri()) {
        return axum::response::Redirect::permanent(&to).into_response();
    }
    let api = ["/api/", "/ogc", "/open311/", "/tiles/", "/feeds/"]
        .iter()
        .any(|p| path.starts_with(p));
    if !api {
        return web::serve(state.config().web_dir.as_deref(), req).await;
    }
    let e = ApiError::NotFound(format!("no route {path}"));
    if path.starts_with("/open311/") {
        return open311::error_response(&e, open311::Format::of_path(&path));
    }
    e.into_response()
}

async fn method_not_allowed(req: Request) -> Response {
    let path = req.uri().path().to_owned();
    let e = ApiError::MethodNotAllowed(format!("{} is not allowed on {path}", req.method()));
    if path.starts_with("/open311/") {
        return open311::error_response(&e, open311::Format::of_path(&path));
    }
    e.into_response()
}

/// Serves the service `state` on `listener` until `shutdown` completes, then stops accepting,
/// lets in-flight requests finish (every acknowledged write is committed by then) and closes
/// the store, which finishes its queued writes. Logs `listening on http://ADDR` once bound.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: App,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let addr = listener.local_addr()?;
    let app = app(state.clone()).layer(middleware::map_request(remote_addr));
    tracing::info!("listening on http://{addr}");
    let st = state.clone();
    axum::serve(
        conn::JsonErrorListener(listener),
        app.into_make_service_with_connect_info::<conn::Remote>(),
    )
    .with_graceful_shutdown(async move {
        shutdown.await;
        st.set_ready(false);
        tracing::info!("shutting down: no new connections; finishing in-flight requests");
    })
    .await?;
    state.store().close().await;
    tracing::info!("stopped; the store's write queue is flushed");
    Ok(())
}

/// Hands the connection's remote address to the handlers as `ConnectInfo<SocketAddr>`.
async fn remote_addr(mut req: Request) -> Request {
    if let Some(ConnectInfo(conn::Remote(a))) =
        req.extensions().get::<ConnectInfo<conn::Remote>>().copied()
    {
        req.extensions_mut().insert(ConnectInfo(a));
    }
    req
}

/// Completes on SIGTERM or Ctrl-C (SIGINT).
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(e) => {
                tracing::error!(error = %e, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
}
