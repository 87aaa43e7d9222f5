//! Operations: `/healthz`, `/readyz`, Prometheus `/metrics`, the OpenAPI document and the API
//! page.

use std::sync::Arc;

use axum::Extension;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use civmap_app::App;

use crate::error::{ApiError, ErrorBody};
use crate::metrics::Metrics;
use crate::state::ServerState;

/// The `/healthz`, `/readyz`, `/metrics` and documentation routes.
pub fn router() -> OpenApiRouter<ServerState> {
    OpenApiRouter::new()
        .routes(routes!(healthz))
        .routes(routes!(readyz))
        .routes(routes!(metrics))
        .routes(routes!(openapi_json))
        .routes(routes!(openapi_30_json))
        .routes(routes!(api_docs))
}

/// The rendered API description, built once from the routes.
#[derive(Debug, Clone)]
pub struct Docs {
    /// `openapi.json` (OpenAPI 3.1).
    pub json: Arc<[u8]>,
    /// `openapi-3.0.json`: the same document in OpenAPI 3.0 (see [`crate::oas30`]).
    pub json30: Arc<[u8]>,
    /// The API page.
    pub html: Arc<str>,
}

/// Liveness.
#[derive(Debug, Serialize, ToSchema)]
pub struct Health {
    /// `ok`.
    pub status: &'static str,
    /// Seconds since start.
    pub uptime_s: f64,
}

#[utoipa::path(get, path = "/healthz", tag = "operations", summary = "Liveness: the process is up",
    responses((status = 200, description = "Up", body = Health)))]
async fn healthz(State(state): State<App>) -> axum::Json<Health> {
    axum::Json(Health {
        status: "ok",
        uptime_s: state.uptime_s(),
    })
}

/// Readiness.
#[derive(Debug, Serialize, ToSchema)]
pub struct Ready {
    /// `ready`.
    pub status: &'static str,
    /// `sqlite` or `postgres`.
    pub backend: &'static str,
    /// Problems in the index.
    pub problems: usize,
    pub zones: usize,
    pub pois: usize,
}

#[utoipa::path(get, path = "/readyz", tag = "operations", summary = "Readiness: the store answers and the index is loaded",
    responses(
        (status = 200, description = "Ready", body = Ready),
        (status = 503, description = "Not ready: shutting down, loading, or the database is unavailable", body = ErrorBody),
    ))]
async fn readyz(State(state): State<App>) -> Result<axum::Json<Ready>, ApiError> {
    state.readiness().await?;
    let s = state.sizes();
    Ok(axum::Json(Ready {
        status: "ready",
        backend: state.store().backend().as_str(),
        problems: s.problems,
        zones: s.zones,
        pois: s.pois,
    }))
}

#[utoipa::path(get, path = "/metrics", tag = "operations", summary = "Prometheus metrics",
    description = "Request counts by route template, method and status; a latency histogram by route; index sizes; the store's write queue depth, committed batches and writes; histograms of the group-commit writer: queue wait and whole time per write, statements, COMMIT (fsync) and commit hook time per batch, writes per batch.",
    responses((status = 200, description = "Prometheus text format 0.0.4", content_type = "text/plain", body = String)))]
// One metric family after another, in the order scrapers list them.
#[allow(clippy::too_many_lines)]
async fn metrics(State(state): State<App>, State(registry): State<Arc<Metrics>>) -> Response {
    let sizes = state.sizes();
    let stats = state.store().stats().await;
    let gauges = [
        (
            "civmap_index_problems",
            "Problems held in the in-memory index.",
            sizes.problems as f64,
        ),
        (
            "civmap_index_zones",
            "Zones held in the zone index.",
            sizes.zones as f64,
        ),
        (
            "civmap_pois",
            "Points of interest held in memory.",
            sizes.pois as f64,
        ),
        (
            "civmap_store_write_queue_depth",
            "Writes waiting for the store's writer.",
            stats.queue_depth as f64,
        ),
        (
            "civmap_store_problems",
            "Problems stored.",
            stats.problems as f64,
        ),
        (
            "civmap_ready",
            "1 when ready to serve.",
            if state.is_ready() { 1.0 } else { 0.0 },
        ),
        (
            "civmap_uptime_seconds",
            "Seconds since start.",
            state.uptime_s(),
        ),
    ];
    let counters = [
        (
            "civmap_store_write_batches_total",
            "Transactions committed by the group-commit writer.",
            stats.batches as f64,
        ),
        (
            "civmap_store_writes_total",
            "Writes committed.",
            stats.writes as f64,
        ),
        (
            "civmap_store_write_errors_total",
            "Writes that failed, conflicts included.",
            stats.write_errors as f64,
        ),
        (
            "civmap_rate_limited_total",
            "Requests refused with 429 by a rate limit (anonymous writes, sign-in attempts).",
            state.rate_limited_total() as f64,
        ),
    ];
    let mut body = registry.render(&gauges, &counters);
    let t = state.store().write_timings();
    for (name, help, h) in [
        (
            "civmap_store_queue_wait_seconds",
            "Per write: time queued before the group-commit writer took it into a batch.",
            &t.queue_wait_s,
        ),
        (
            "civmap_store_batch_statements_seconds",
            "Per batch: the statements of the transaction, before COMMIT.",
            &t.statements_s,
        ),
        (
            "civmap_store_commit_seconds",
            "Per batch: COMMIT (with SQLite synchronous=FULL, the fsync of the write-ahead log).",
            &t.commit_s,
        ),
        (
            "civmap_store_commit_hook_seconds",
            "Per batch: putting the committed changes into memory before the writers are answered.",
            &t.hook_s,
        ),
        (
            "civmap_store_write_seconds",
            "Per write: from queued to answered by the writer.",
            &t.write_s,
        ),
        (
            "civmap_store_batch_writes",
            "Per batch: writes committed together in one transaction.",
            &t.batch_size,
        ),
    ] {
        crate::metrics::render_histogram(&mut body, name, help, h);
    }
    (
        StatusCode::OK,
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
        )],
        body,
    )
        .into_response()
}

#[utoipa::path(get, path = "/api/v1/openapi.json", tag = "operations", summary = "This OpenAPI 3 document",
    description = "Generated from the route declarations themselves (utoipa-axum), so it cannot drift from the routes.",
    responses((status = 200, description = "OpenAPI 3.1", body = Object)))]
async fn openapi_json(Extension(docs): Extension<Docs>) -> Response {
    (
        StatusCode::OK,
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        docs.json.to_vec(),
    )
        .into_response()
}

#[utoipa::path(get, path = "/api/v1/openapi-3.0.json", tag = "operations", summary = "This document in OpenAPI 3.0",
    description = "The same API rewritten to OpenAPI 3.0.3 (nullable instead of null types) for clients that read only 3.0, such as OGC API Features clients (the `oas30` conformance class).",
    responses((status = 200, description = "OpenAPI 3.0.3", body = Object)))]
async fn openapi_30_json(Extension(docs): Extension<Docs>) -> Response {
    (
        StatusCode::OK,
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        docs.json30.to_vec(),
    )
        .into_response()
}

#[utoipa::path(get, path = "/api/docs", tag = "operations", summary = "The API page",
    description = "A static HTML rendering of this document: every path, parameter, body and schema. Loads nothing from elsewhere.",
    responses((status = 200, description = "HTML", content_type = "text/html", body = String)))]
async fn api_docs(Extension(docs): Extension<Docs>) -> Response {
    (
        StatusCode::OK,
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/html; charset=utf-8"),
        )],
        docs.html.to_string(),
    )
        .into_response()
}
