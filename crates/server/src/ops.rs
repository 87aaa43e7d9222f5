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
    /// Whether this replica runs the background jobs (escalation); always on SQLite.
    pub leader: bool,
    /// How far this replica is behind the database's logs.
    pub follow: Follow,
}

/// How far a replica is behind the database (what other replicas wrote, not yet in memory).
#[derive(Debug, Serialize, ToSchema)]
pub struct Follow {
    /// `true` when nothing is left to apply, or the lag is within 10 s.
    pub caught_up: bool,
    /// Events and change-log entries committed and not yet applied here.
    pub lag_events: i64,
    /// How long this replica has not been caught up, seconds (0 when it is).
    pub lag_seconds: f64,
    /// The last event number applied.
    pub applied_event: i64,
}

#[utoipa::path(get, path = "/readyz", tag = "operations", summary = "Readiness: the store answers, the index is loaded and caught up with the database",
    responses(
        (status = 200, description = "Ready", body = Ready),
        (status = 503, description = "Not ready: shutting down, loading, the database is unavailable, or this replica is more than 10 s behind it", body = ErrorBody),
    ))]
async fn readyz(State(state): State<App>) -> Result<axum::Json<Ready>, ApiError> {
    state.readiness().await?;
    let f = state.follow_status().await;
    if !f.caught_up() {
        return Err(civmap_app::ServiceError::unavailable(
            format!(
                "this replica is {} entries and {:.1} s behind the database (catching up)",
                f.lag_events, f.lag_seconds
            ),
            None,
        )
        .into());
    }
    let s = state.sizes();
    Ok(axum::Json(Ready {
        status: "ready",
        backend: state.store().backend().as_str(),
        problems: s.problems,
        zones: s.zones,
        pois: s.pois,
        leader: state.is_leader(),
        follow: Follow {
            caught_up: f.caught_up(),
            lag_events: f.lag_events,
            lag_seconds: f.lag_seconds,
            applied_event: f.applied_event,
        },
    }))
}

#[utoipa::path(get, path = "/metrics", tag = "operations", summary = "Prometheus metrics",
    description = "Request counts by route template, method and status; a latency histogram by route; index sizes; follow lag behind the database (entries, seconds) and leader status; the store's write queue depth, committed batches and writes; histograms of the group-commit writer: queue wait and whole time per write, statements, COMMIT (fsync) and commit hook time per batch, writes per batch.",
    responses((status = 200, description = "Prometheus text format 0.0.4", content_type = "text/plain", body = String)))]
// One metric family after another, in the order scrapers list them.
#[allow(clippy::too_many_lines)]
async fn metrics(State(state): State<App>, State(registry): State<Arc<Metrics>>) -> Response {
    let sizes = state.sizes();
    let stats = state.store().stats().await;
    let follow = state.follow_status().await;
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
            "civmap_follow_lag_events",
            "Events and change-log entries committed to the database and not yet applied by this replica.",
            follow.lag_events as f64,
        ),
        (
            "civmap_follow_lag_seconds",
            "How long this replica has not been caught up with the database (0 when it is).",
            follow.lag_seconds,
        ),
        (
            "civmap_leader",
            "1 when this replica holds the lead and runs the background jobs (escalation).",
            if state.is_leader() { 1.0 } else { 0.0 },
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
