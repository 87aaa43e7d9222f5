//! Open311 GeoReport v2 at `/open311/v2` (<http://wiki.open311.org/GeoReport_v2>): service
//! discovery, services (one per category), service definitions, GET and POST service requests,
//! a request by id, and tokens — in JSON and XML, with the specification's field names and
//! error format (an array of `{code, description}`).
//!
//! Mapping: our statuses become `open`/`closed` (closed and merged are `closed`), the detailed
//! stage goes into `status_notes`, the rectification deadline into `expected_datetime`. Service
//! requests are `realtime`: POST answers the `service_request_id` at once; a token is the id
//! itself, so `tokens/{token}` resolves any id the server gave out.

use axum::body::Bytes;
use axum::extract::{ConnectInfo, Path, RawQuery, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use chrono::{Duration, Utc};
use civmap_domain::{Category, NewProblem, ProblemId, Severity, Status};
use civmap_geodata::crs::Crs;
use civmap_index::{Filter, StatusSet};
use serde::Deserialize;
use serde_json::Value;
use std::fmt::Write as _;
use std::net::SocketAddr;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use civmap_app::App;
use civmap_app::actor::Actor;
use civmap_app::memory::record::Record;
use civmap_app::problems::ReportDetails;
use civmap_app::time::{rfc3339, to_ms};

use crate::api::common::base_url;
use crate::auth::Caller;
use crate::error::ApiError;
use crate::extract::parse_urlencoded;
use crate::params;
use crate::state::ServerState;

/// The specification URL used in discovery.
pub const SPEC_URL: &str = "http://wiki.open311.org/GeoReport_v2";
/// Most requests in one GET (the specification's default volume).
pub const MAX_REQUESTS: usize = 1000;
/// Longest `start_date`..`end_date` span, days (from the specification).
pub const MAX_SPAN_DAYS: i64 = 90;

/// Response formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Json,
    Xml,
}

impl Format {
    /// The format of a file name such as `services.xml`: the part before the extension.
    fn split(file: &str) -> Result<(&str, Format), ApiError> {
        if let Some(stem) = file.strip_suffix(".json") {
            Ok((stem, Format::Json))
        } else if let Some(stem) = file.strip_suffix(".xml") {
            Ok((stem, Format::Xml))
        } else {
            Err(ApiError::NotFound(format!(
                "{file:?}: add .json or .xml to choose the format"
            )))
        }
    }

    /// The format a request path asks for (errors use it too).
    #[must_use]
    pub fn of_path(path: &str) -> Format {
        if std::path::Path::new(path)
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("xml"))
        {
            Format::Xml
        } else {
            Format::Json
        }
    }
}

/// The `/open311/v2` routes.
pub fn router() -> OpenApiRouter<ServerState> {
    OpenApiRouter::new()
        .routes(routes!(discovery_json))
        .routes(routes!(discovery_xml))
        .routes(routes!(services_json))
        .routes(routes!(services_xml))
        .routes(routes!(service_definition))
        .routes(routes!(requests_get_json, requests_post_json))
        .routes(routes!(requests_get_xml, requests_post_xml))
        .routes(routes!(request_by_id))
        .routes(routes!(token))
}

/// An ordered document: the Open311 responses are written from it as JSON (keys in order)
/// and as XML (elements in the specification's order).
#[derive(Debug, Clone, PartialEq)]
pub enum Doc {
    /// Fields in order.
    Obj(Vec<(&'static str, Doc)>),
    /// Items; in XML a wrapper element with one child per item (see [`to_xml`]).
    List(Vec<Doc>),
    /// A scalar (string, number, boolean or null).
    Val(Value),
}

/// A scalar field value.
pub fn val(v: impl Into<Value>) -> Doc {
    Doc::Val(v.into())
}

impl serde::Serialize for Doc {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::{SerializeMap, SerializeSeq};
        match self {
            Doc::Obj(fields) => {
                let mut m = s.serialize_map(Some(fields.len()))?;
                for (k, v) in fields {
                    m.serialize_entry(k, v)?;
                }
                m.end()
            }
            Doc::List(items) => {
                let mut q = s.serialize_seq(Some(items.len()))?;
                for i in items {
                    q.serialize_element(i)?;
                }
                q.end()
            }
            Doc::Val(v) => v.serialize(s),
        }
    }
}

/// Renders a document in the chosen format; for XML `root` names the document element.
fn render(status: StatusCode, format: Format, root: &str, v: &Doc) -> Response {
    let (ct, body) = match format {
        Format::Json => (
            "application/json; charset=utf-8",
            serde_json::to_vec(v).unwrap_or_default(),
        ),
        Format::Xml => ("text/xml; charset=utf-8", to_xml(root, v).into_bytes()),
    };
    (
        status,
        [(header::CONTENT_TYPE, HeaderValue::from_static(ct))],
        body,
    )
        .into_response()
}

/// The element name of one item of an array element named `plural`.
fn singular(plural: &str) -> &str {
    match plural {
        "services" => "service",
        "service_requests" => "request",
        "attributes" => "attribute",
        "values" => "value",
        "endpoints" => "endpoint",
        "formats" => "format",
        "errors" => "error",
        other => other.strip_suffix('s').unwrap_or(other),
    }
}

/// Writes GeoReport XML (the reverse of the Spark convention the specification's JSON follows):
/// objects become child elements in order, lists a wrapper with one child per item, `null` an
/// empty element. The document starts with the XML declaration (UTF-8).
#[must_use]
pub fn to_xml(root: &str, v: &Doc) -> String {
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n");
    write_xml(&mut out, root, v);
    out.push('\n');
    out
}

fn write_xml(out: &mut String, name: &str, v: &Doc) {
    match v {
        Doc::Val(Value::Null) => {
            out.push('<');
            out.push_str(name);
            out.push_str("/>");
        }
        Doc::List(items) => {
            open(out, name);
            let item = singular(name);
            for i in items {
                write_xml(out, item, i);
            }
            close(out, name);
        }
        Doc::Obj(fields) => {
            open(out, name);
            for (k, v) in fields {
                write_xml(out, k, v);
            }
            close(out, name);
        }
        Doc::Val(Value::String(s)) => text(out, name, s),
        Doc::Val(Value::Bool(b)) => text(out, name, if *b { "true" } else { "false" }),
        Doc::Val(Value::Number(n)) => text(out, name, &n.to_string()),
        Doc::Val(other) => text(out, name, &other.to_string()),
    }
}

fn open(out: &mut String, name: &str) {
    out.push('<');
    out.push_str(name);
    out.push('>');
}

fn close(out: &mut String, name: &str) {
    out.push_str("</");
    out.push_str(name);
    out.push('>');
}

fn text(out: &mut String, name: &str, s: &str) {
    open(out, name);
    out.push_str(&quick_xml::escape::escape(s));
    close(out, name);
}

/// The Open311 error format for an [`ApiError`]: `[{"code", "description"}]` /
/// `<errors><error>...`. HTTP statuses follow the specification (403 for a bad `api_key`, 404
/// for missing resources, 400 for other refusals), keeping 413, 415, 429, 500 and 503.
#[must_use]
pub fn error_response(e: &ApiError, format: Format) -> Response {
    let status = match e.status().as_u16() {
        401 | 403 => StatusCode::FORBIDDEN,
        404 => StatusCode::NOT_FOUND,
        405 | 409 | 422 => StatusCode::BAD_REQUEST,
        _ => e.status(),
    };
    let body = Doc::List(vec![Doc::Obj(vec![
        ("code", val(status.as_u16())),
        ("description", val(e.public_message())),
    ])]);
    let mut resp = render(status, format, "errors", &body);
    if let Some(s) = e.retry_after() {
        resp.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(s));
    }
    resp
}

/// Middleware for `/open311`: every error answered by a handler, an extractor or the router is
/// rewritten into the Open311 error format, in the format of the request path.
pub async fn open311_errors(req: Request, next: Next) -> Response {
    let format = Format::of_path(req.uri().path());
    let resp = next.run(req).await;
    match resp.extensions().get::<ApiError>() {
        Some(e) => error_response(e, format),
        None => resp,
    }
}

// ---- discovery -----------------------------------------------------------------------------

fn discovery_value(state: &App, headers: &HeaderMap) -> Doc {
    let base = base_url(state, headers);
    let changeset = rfc3339(civmap_app::time::from_ms(
        to_ms(Utc::now()) - (state.uptime_s() * 1000.0) as i64,
    ));
    Doc::Obj(vec![
        ("changeset", val(changeset.clone())),
        ("contact", val(format!("{base}/api/docs"))),
        (
            "key_service",
            val(
                "api_key: an account API token (POST /api/v1/tokens, `civmap user token`) or a configured token (optional; anonymous reports are rate limited)",
            ),
        ),
        (
            "endpoints",
            Doc::List(vec![Doc::Obj(vec![
                ("specification", val(SPEC_URL)),
                ("url", val(format!("{base}/open311/v2"))),
                ("changeset", val(changeset)),
                ("type", val("production")),
                (
                    "formats",
                    Doc::List(vec![val("text/xml"), val("application/json")]),
                ),
            ])]),
        ),
    ])
}

#[utoipa::path(get, path = "/open311/v2/discovery.json", tag = "open311", summary = "Service discovery (JSON)",
    responses((status = 200, description = "Endpoints and formats", body = Object)))]
async fn discovery_json(headers: HeaderMap, State(state): State<App>) -> Response {
    render(
        StatusCode::OK,
        Format::Json,
        "discovery",
        &discovery_value(&state, &headers),
    )
}

#[utoipa::path(get, path = "/open311/v2/discovery.xml", tag = "open311", summary = "Service discovery (XML)",
    responses((status = 200, description = "Endpoints and formats", content_type = "text/xml", body = String)))]
async fn discovery_xml(headers: HeaderMap, State(state): State<App>) -> Response {
    render(
        StatusCode::OK,
        Format::Xml,
        "discovery",
        &discovery_value(&state, &headers),
    )
}

// ---- services ------------------------------------------------------------------------------

/// `locale=zh` (default) or `locale=en`: the language of `service_name` and `group`.
#[derive(Debug, Default, Deserialize)]
struct LocaleParams {
    locale: Option<String>,
}

fn english(raw: Option<&str>) -> Result<bool, ApiError> {
    let q: LocaleParams = parse_urlencoded(raw.unwrap_or_default().as_bytes()).unwrap_or_default();
    match q.locale.as_deref() {
        None | Some("" | "zh" | "zh-CN" | "zh_CN") => Ok(false),
        Some("en" | "en-US" | "en_US" | "en-GB") => Ok(true),
        Some(other) => Err(ApiError::bad_param(
            "locale",
            format!("{other:?}: use zh or en"),
        )),
    }
}

/// The group a category is shown under: (Chinese, English).
fn group(code: &str) -> (&'static str, &'static str) {
    match code {
        "stairwell_clutter" | "flying_wire_charging" | "blocked_fire_lane" => {
            ("安全隐患", "Safety hazards")
        }
        "illegal_parking" | "misparked_bikes" | "zombie_car" | "abandoned_bikes" => {
            ("交通秩序", "Parking and vehicles")
        }
        "clutter" | "ad_posters" | "garbage" | "greenbelt_litter" | "illegal_billboard" => {
            ("市容环境", "Cleanliness and appearance")
        }
        "illegal_construction" | "street_vending" | "dog_nuisance" => ("社会秩序", "Public order"),
        _ => ("其他", "Other"),
    }
}

fn service_value(c: &Category, en: bool) -> Doc {
    let (group_zh, group_en) = group(&c.code);
    Doc::Obj(vec![
        ("service_code", val(c.code.clone())),
        (
            "service_name",
            val(if en {
                c.name_en.clone()
            } else {
                c.name_zh.clone()
            }),
        ),
        ("description", val(format!("{} / {}", c.name_zh, c.name_en))),
        ("metadata", val(true)),
        ("type", val("realtime")),
        (
            "keywords",
            val(format!("{},{},{}", c.name_zh, c.name_en, c.code)),
        ),
        ("group", val(if en { group_en } else { group_zh })),
    ])
}

fn services_value(state: &App, raw: Option<&str>) -> Result<Doc, ApiError> {
    let en = english(raw)?;
    let table = state.categories();
    Ok(Doc::List(
        table.iter().map(|(_, c)| service_value(c, en)).collect(),
    ))
}

#[utoipa::path(get, path = "/open311/v2/services.json", tag = "open311", summary = "Service list (JSON): one service per category",
    params(("locale" = Option<String>, Query, description = "`zh` (default) or `en`")),
    responses((status = 200, description = "Services", body = Object)))]
async fn services_json(
    State(state): State<App>,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    Ok(render(
        StatusCode::OK,
        Format::Json,
        "services",
        &services_value(&state, raw.as_deref())?,
    ))
}

#[utoipa::path(get, path = "/open311/v2/services.xml", tag = "open311", summary = "Service list (XML): one service per category",
    params(("locale" = Option<String>, Query, description = "`zh` (default) or `en`")),
    responses((status = 200, description = "Services", content_type = "text/xml", body = String)))]
async fn services_xml(
    State(state): State<App>,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    Ok(render(
        StatusCode::OK,
        Format::Xml,
        "services",
        &services_value(&state, raw.as_deref())?,
    ))
}

#[utoipa::path(get, path = "/open311/v2/services/{file}", tag = "open311", summary = "Service definition",
    description = "`{service_code}.json` or `{service_code}.xml`. Every service has one attribute, `severity` (optional; `attribute[severity]=high` in a POST).",
    params(("file" = String, Path, description = "`{service_code}.json` or `.xml`")),
    responses((status = 200, description = "The definition", body = Object), (status = 404, description = "Unknown service_code", body = Object)))]
async fn service_definition(
    State(state): State<App>,
    Path(file): Path<String>,
) -> Result<Response, ApiError> {
    let (code, format) = Format::split(&file)?;
    let table = state.categories();
    let c = table
        .by_code(code)
        .ok_or_else(|| ApiError::NotFound(format!("service_code {code:?} not found")))?;
    let values: Vec<Doc> = Severity::ALL
        .iter()
        .map(|s| {
            Doc::Obj(vec![
                ("key", val(s.as_str())),
                ("name", val(severity_name(*s))),
            ])
        })
        .collect();
    let v = Doc::Obj(vec![
        ("service_code", val(c.code.clone())),
        (
            "attributes",
            Doc::List(vec![Doc::Obj(vec![
                ("variable", val(true)),
                ("code", val("severity")),
                ("datatype", val("singlevaluelist")),
                ("required", val(false)),
                (
                    "datatype_description",
                    val("How serious it is (default: medium)"),
                ),
                ("order", val(1)),
                ("description", val("严重程度 / Severity")),
                ("values", Doc::List(values)),
            ])]),
        ),
    ]);
    Ok(render(StatusCode::OK, format, "service_definition", &v))
}

fn severity_name(s: Severity) -> &'static str {
    match s {
        Severity::Low => "轻微 / Low",
        Severity::Medium => "一般 / Medium",
        Severity::High => "严重 / High",
        Severity::Critical => "安全隐患 / Critical",
    }
}

// ---- requests ------------------------------------------------------------------------------

/// The stage in words, for `status_notes`.
fn stage(status: Status) -> &'static str {
    match status {
        Status::Reported => "reported (已上报): waiting for dispatch",
        Status::Dispatched => "dispatched (已派单): a chief is responsible",
        Status::Escalated => "escalated (已上报块长): passed up for a solution",
        Status::Rectified => "rectified (已整改): waiting for verification",
        Status::Closed => "closed (已结案): verified on site",
        Status::Recurred => "recurred (回潮): came back after closing",
        Status::Merged => "merged (已合并): a duplicate",
    }
}

fn request_value(state: &App, id: ProblemId, r: &Record, public: bool, crs: Crs) -> Doc {
    let table = state.categories();
    let texts = state.public_texts();
    let cat = table.get(r.category);
    let names = crate::render::Names::default();
    let view = crate::render::View {
        table: &table,
        names: &names,
        crs,
        public,
        now_ms: 0,
        props: crate::render::PropertySet::ALL,
    };
    let ([lon, lat], _) = view.position(r);
    let mut notes = stage(r.status).to_owned();
    if let Some(m) = r.merged_into() {
        let _ = write!(notes, "; merged into {m}");
    }
    if r.rework_count > 0 {
        let _ = write!(notes, "; reworked {} time(s)", r.rework_count);
    }
    let zone_name = r.zone().and_then(|z| {
        state
            .zones()
            .map
            .get(&civmap_domain::ZoneId(z))
            .map(|z| z.name.clone())
    });
    Doc::Obj(vec![
        ("service_request_id", val(id.to_string())),
        (
            "status",
            val(if r.status.is_open() { "open" } else { "closed" }),
        ),
        ("status_notes", val(notes)),
        ("service_name", val(cat.map(|c| c.name_zh.clone()))),
        (
            "service_code",
            val(cat.map_or_else(|| "?".to_owned(), |c| c.code.clone())),
        ),
        (
            "description",
            val((!r.description.is_empty()).then(|| {
                if public {
                    texts.describe(id, &r.description).into_owned()
                } else {
                    r.description.to_string()
                }
            })),
        ),
        ("agency_responsible", val(zone_name)),
        ("service_notice", val(cat.map(notice))),
        (
            "requested_datetime",
            val(rfc3339(civmap_app::time::from_ms(r.reported_ms))),
        ),
        (
            "updated_datetime",
            val(rfc3339(civmap_app::time::from_ms(r.updated_ms))),
        ),
        ("expected_datetime", val(r.deadline().map(rfc3339))),
        (
            "address",
            val({
                let place = if public {
                    state.public_place(r)
                } else {
                    r.place.to_string()
                };
                (!place.is_empty()).then_some(place)
            }),
        ),
        ("address_id", val(Value::Null)),
        ("zipcode", val(Value::Null)),
        ("lat", val(lat)),
        ("long", val(lon)),
        ("media_url", val(Value::Null)),
    ])
}

/// What to expect, for `service_notice`.
fn notice(c: &Category) -> String {
    format!(
        "整改时限 {h} 工作小时 / to be rectified within {h} working hours",
        h = c.deadline_hours
    )
}

/// GET requests parameters (unknown ones, such as `jurisdiction_id`, are ignored as the
/// specification's optional arguments).
#[derive(Debug, Default, Deserialize)]
struct RequestsQuery {
    service_request_id: Option<String>,
    service_code: Option<String>,
    start_date: Option<String>,
    end_date: Option<String>,
    status: Option<String>,
    crs: Option<String>,
}

// One pass over the specification's filters in its order; splitting it would scatter them.
#[allow(clippy::too_many_lines)]
fn requests_get(
    state: &App,
    actor: &Actor,
    raw: Option<&str>,
    format: Format,
) -> Result<Response, ApiError> {
    let q: RequestsQuery = parse_urlencoded(raw.unwrap_or_default().as_bytes())?;
    let crs = params::parse_crs(q.crs.as_deref())?;
    let max = state.config().limits.filter_values;
    // Requests outside the caller's scope are left out, as if they did not exist.
    let allowed = state.scoped_ids(&state.scope(actor), &Filter::default());
    let in_scope = |id: &ProblemId| {
        allowed
            .as_ref()
            .is_none_or(|ids| ids.binary_search(id).is_ok())
    };
    let g = state.problems();
    let mut items = Vec::new();
    if let Some(ids) = q.service_request_id.as_deref().filter(|s| !s.is_empty()) {
        // "This overrides all other arguments."
        for s in params::parse_list("service_request_id", ids, max)? {
            let id = match state.problem_ref(s) {
                Ok(id) => id,
                Err(civmap_app::ServiceError::NotFound(_)) => continue,
                Err(_) => {
                    return Err(ApiError::bad_param(
                        "service_request_id",
                        format!("{s:?} is not a request id or case number"),
                    ));
                }
            };
            if let Some(r) = g.map.get(&id).filter(|_| in_scope(&id)) {
                items.push(request_value(state, id, r, actor.is_public(), crs));
            }
        }
    } else {
        let now = Utc::now();
        let start = q
            .start_date
            .as_deref()
            .filter(|s| !s.is_empty())
            .map(|s| params::parse_instant("start_date", s))
            .transpose()?;
        let end = q
            .end_date
            .as_deref()
            .filter(|s| !s.is_empty())
            .map(|s| params::parse_instant_end("end_date", s))
            .transpose()?;
        let span = Duration::days(MAX_SPAN_DAYS);
        let (start, end) = match (start, end) {
            (None, None) => (now - span, now),
            (Some(s), None) => (s, s + span),
            (None, Some(e)) => (e - span, e),
            (Some(s), Some(e)) => (s, e),
        };
        if end < start {
            return Err(ApiError::bad_param(
                "end_date",
                "end_date is before start_date",
            ));
        }
        if end - start > span {
            return Err(ApiError::bad_param(
                "end_date",
                format!("the range may not span more than {MAX_SPAN_DAYS} days"),
            ));
        }
        let mut filter = Filter::default()
            .with_reported_between(Some(to_ms(start)), Some(to_ms(end).saturating_add(1)));
        if let Some(codes) = q.service_code.as_deref().filter(|s| !s.is_empty()) {
            let table = state.categories();
            let ids = params::parse_list("service_code", codes, max)?
                .into_iter()
                .map(|c| {
                    table.id(c).map_err(|_| {
                        ApiError::bad_param("service_code", format!("service_code {c:?} not found"))
                    })
                })
                .collect::<Result<Vec<_>, _>>()?;
            filter = filter.with_categories(ids);
        }
        if let Some(st) = q.status.as_deref().filter(|s| !s.is_empty()) {
            let mut set = StatusSet::none();
            for s in params::parse_list("status", st, 4)? {
                let add = match s {
                    "open" => StatusSet::open(),
                    "closed" => StatusSet::of([Status::Closed, Status::Merged]),
                    other => {
                        return Err(ApiError::bad_param(
                            "status",
                            format!("{other:?}: use open or closed"),
                        ));
                    }
                };
                set = StatusSet::of(set.iter().chain(add.iter()));
            }
            filter = filter.with_statuses(set);
        }
        // Newest first, the first 1000 (the specification's response volume).
        for (id, r) in g.map.iter().rev() {
            if civmap_app::spatial::record_matches(&filter, *id, r) && in_scope(id) {
                items.push(request_value(state, *id, r, actor.is_public(), crs));
                if items.len() == MAX_REQUESTS {
                    break;
                }
            }
        }
    }
    drop(g);
    Ok(render(
        StatusCode::OK,
        format,
        "service_requests",
        &Doc::List(items),
    ))
}

/// POST requests fields (the specification's names). `attribute[severity]` is the one
/// attribute; personal fields (names, e-mail, phone) are accepted and not stored.
#[derive(Debug, Default, Deserialize)]
struct PostRequest {
    api_key: Option<String>,
    #[allow(dead_code)]
    jurisdiction_id: Option<String>,
    service_code: Option<String>,
    lat: Option<String>,
    long: Option<String>,
    address_string: Option<String>,
    address_id: Option<String>,
    #[allow(dead_code)]
    email: Option<String>,
    #[allow(dead_code)]
    device_id: Option<String>,
    #[allow(dead_code)]
    account_id: Option<String>,
    #[allow(dead_code)]
    first_name: Option<String>,
    #[allow(dead_code)]
    last_name: Option<String>,
    #[allow(dead_code)]
    phone: Option<String>,
    description: Option<String>,
    media_url: Option<String>,
    #[serde(rename = "attribute[severity]")]
    severity: Option<String>,
    crs: Option<String>,
}

async fn requests_post(
    state: App,
    headers: &HeaderMap,
    peer: Option<SocketAddr>,
    raw_query: Option<&str>,
    body: &[u8],
    format: Format,
) -> Result<Response, ApiError> {
    let form = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|m| {
            m.trim()
                .eq_ignore_ascii_case("application/x-www-form-urlencoded")
        });
    if !form {
        return Err(ApiError::UnsupportedMediaType(
            "POST requests with Content-Type: application/x-www-form-urlencoded".into(),
        ));
    }
    let p: PostRequest = parse_urlencoded(body)?;
    let ip = peer.map(|a| a.ip());
    // A static token of the configuration or an account's API token (`POST /api/v1/tokens`).
    let actor = match p.api_key.as_deref().filter(|k| !k.is_empty()) {
        Some(key) => state
            .bearer(key, ip)
            .await?
            .map(|c| c.actor)
            .ok_or_else(|| {
                ApiError::Forbidden(
                    "Invalid api_key received -- can't proceed with create_request.".into(),
                )
            })?,
        None => state.anonymous(ip),
    };
    // `crs` may come in the form or the query string.
    let crs_q: Option<String> = raw_query
        .and_then(|q| parse_urlencoded::<CrsOnly>(q.as_bytes()).ok())
        .and_then(|c| c.crs);
    let crs = params::parse_crs(p.crs.as_deref().or(crs_q.as_deref()))?;
    let code = p
        .service_code
        .filter(|s| !s.is_empty())
        .ok_or_else(|| ApiError::bad_param("service_code", "service_code was not provided"))?;
    if state.categories().by_code(&code).is_none() {
        return Err(ApiError::NotFound(format!(
            "service_code {code:?} not found"
        )));
    }
    let (lat, lon) = match (p.lat.as_deref(), p.long.as_deref()) {
        (Some(a), Some(b)) if !a.is_empty() && !b.is_empty() => (
            a.trim()
                .parse::<f64>()
                .map_err(|_| ApiError::bad_param("lat", format!("{a:?} is not a number")))?,
            b.trim()
                .parse::<f64>()
                .map_err(|_| ApiError::bad_param("long", format!("{b:?} is not a number")))?,
        ),
        _ if p.address_string.is_some() || p.address_id.is_some() => {
            return Err(ApiError::bad_param(
                "lat",
                "this server locates requests by lat and long only; address_string and address_id are not geocoded",
            ));
        }
        _ => return Err(ApiError::bad_param("lat", "lat and long are required")),
    };
    let (lon, lat) = crate::params::input_position(crs, lon, lat)?;
    let severity = match p.severity.as_deref().filter(|s| !s.is_empty()) {
        None => Severity::Medium,
        Some(s) => s.parse::<Severity>()?,
    };
    let description = p.description.unwrap_or_default();
    // The specification allows 4,000 characters; the domain keeps 2,000.
    let report = NewProblem {
        lon,
        lat,
        category: code,
        severity,
        description,
    };
    let mut details = ReportDetails::via("open311");
    if let Some(m) = p.media_url.filter(|m| !m.is_empty()) {
        details.data.insert(
            "media_url".into(),
            m.chars().take(2000).collect::<String>().into(),
        );
    }
    let problem = state.create(report, &actor, details).await?;
    let table = state.categories();
    let v = Doc::List(vec![Doc::Obj(vec![
        ("service_request_id", val(problem.id.to_string())),
        (
            "service_notice",
            val(table.by_code(&problem.category).map(notice)),
        ),
        ("account_id", val(Value::Null)),
    ])]);
    Ok(render(StatusCode::CREATED, format, "service_requests", &v))
}

#[derive(Debug, Default, Deserialize)]
struct CrsOnly {
    crs: Option<String>,
}

async fn read_limited(
    req: Request,
) -> Result<(HeaderMap, Option<SocketAddr>, Option<String>, Bytes), ApiError> {
    let peer = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0);
    let headers = req.headers().clone();
    let query = req.uri().query().map(str::to_owned);
    // Honours the body limit (`DefaultBodyLimit`) like every other extractor.
    let body = crate::extract::read_body(req, &()).await?;
    Ok((headers, peer, query, body))
}

macro_rules! requests_endpoints {
    ($get:ident, $post:ident, $path:literal, $format:expr, $ct:literal) => {
        #[utoipa::path(get, path = $path, tag = "open311", summary = "Service requests",
            description = "Newest first, at most 1000, within 90 days (default: the last 90 days). `service_request_id` (comma-separated) overrides the other arguments. Open311 statuses: `open`, `closed`.",
            params(
                ("service_request_id" = Option<String>, Query, description = "Ids, comma-separated"),
                ("service_code" = Option<String>, Query, description = "Category codes, comma-separated"),
                ("start_date" = Option<String>, Query, description = "W3C date-time"),
                ("end_date" = Option<String>, Query, description = "W3C date-time"),
                ("status" = Option<String>, Query, description = "`open`, `closed` or both"),
                ("crs" = Option<String>, Query, description = "Output CRS of lat/long: `wgs84` (default, as the specification says), `gcj02`, `bd09`"),
            ),
            responses((status = 200, description = "Requests", content_type = $ct, body = Object), (status = 400, description = "Bad argument", body = Object)))]
        async fn $get(
            Caller { actor, .. }: Caller,
            State(state): State<App>,
            RawQuery(raw): RawQuery,
        ) -> Result<Response, ApiError> {
            requests_get(&state, &actor, raw.as_deref(), $format)
        }

        #[utoipa::path(post, path = $path, tag = "open311", summary = "Create a service request",
            description = "Form fields as in GeoReport v2: `service_code`, `lat`, `long` (required here: addresses are not geocoded), `description`, `media_url`, `attribute[severity]`, `api_key` (optional; without it the report is anonymous and rate limited; an unknown key is a 403), `crs` (`wgs84` default, `gcj02`, `bd09`). Names, e-mail and phone are accepted and not stored.",
            request_body(content = String, content_type = "application/x-www-form-urlencoded"),
            responses(
                (status = 201, description = "Created; the service_request_id", content_type = $ct, body = Object),
                (status = 400, description = "Missing or bad field", body = Object),
                (status = 403, description = "Invalid api_key", body = Object),
                (status = 404, description = "Unknown service_code", body = Object),
                (status = 429, description = "Too many anonymous requests", body = Object),
            ))]
        async fn $post(State(state): State<App>, req: Request) -> Result<Response, ApiError> {
            let (headers, peer, query, body) = read_limited(req).await?;
            requests_post(state, &headers, peer, query.as_deref(), &body, $format).await
        }
    };
}

requests_endpoints!(
    requests_get_json,
    requests_post_json,
    "/open311/v2/requests.json",
    Format::Json,
    "application/json"
);
requests_endpoints!(
    requests_get_xml,
    requests_post_xml,
    "/open311/v2/requests.xml",
    Format::Xml,
    "text/xml"
);

#[utoipa::path(get, path = "/open311/v2/requests/{file}", tag = "open311", summary = "One service request",
    params(("file" = String, Path, description = "`{service_request_id}.json` or `.xml`")),
    responses((status = 200, description = "The request (an array of one)", body = Object), (status = 404, description = "Not found", body = Object)))]
async fn request_by_id(
    Caller { actor, .. }: Caller,
    State(state): State<App>,
    Path(file): Path<String>,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let (id, format) = Format::split(&file)?;
    let q: CrsOnly = parse_urlencoded(raw.unwrap_or_default().as_bytes()).unwrap_or_default();
    let crs = params::parse_crs(q.crs.as_deref())?;
    let not_found =
        || ApiError::NotFound(format!("Service request not found with id or token {id}"));
    // The case number people read (`CM261207-0003`) is an alias of the id.
    // Hot or cold (a request closed before the hot window is read from the database).
    let pid = state.resolve_ref(id).await.map_err(|_| not_found())?;
    // Outside the caller's scope is the same 404 as an id that does not exist.
    state
        .check_visible_any(&state.scope(&actor), pid)
        .await
        .map_err(|_| not_found())?;
    let r = state.fetch_record(pid).await?.ok_or_else(not_found)?;
    let v = Doc::List(vec![request_value(&state, pid, &r, actor.is_public(), crs)]);
    Ok(render(StatusCode::OK, format, "service_requests", &v))
}

#[utoipa::path(get, path = "/open311/v2/tokens/{file}", tag = "open311", summary = "service_request_id from a token",
    description = "Requests are realtime: the token of a request is its id.",
    params(("file" = String, Path, description = "`{token}.json` or `.xml`")),
    responses((status = 200, description = "The id", body = Object), (status = 404, description = "Unknown token", body = Object)))]
async fn token(
    Caller { actor, .. }: Caller,
    State(state): State<App>,
    Path(file): Path<String>,
) -> Result<Response, ApiError> {
    let (tok, format) = Format::split(&file)?;
    let not_found =
        || ApiError::NotFound(format!("Service request not found with id or token {tok}"));
    let pid = Uuid::parse_str(tok)
        .map(ProblemId)
        .map_err(|_| not_found())?;
    if !state.visible(&state.scope(&actor), pid) {
        return Err(not_found());
    }
    let v = Doc::List(vec![Doc::Obj(vec![
        ("service_request_id", val(pid.to_string())),
        ("token", val(tok)),
    ])]);
    Ok(render(StatusCode::OK, format, "service_requests", &v))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xml_mirrors_json() {
        let v = Doc::List(vec![Doc::Obj(vec![
            ("code", val(404)),
            ("description", val("a < b & c")),
            ("x", val(Value::Null)),
        ])]);
        assert_eq!(
            to_xml("errors", &v),
            "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<errors><error><code>404</code><description>a &lt; b &amp; c</description><x/></error></errors>\n"
        );
        let d = Doc::Obj(vec![
            ("service_code", val("a")),
            (
                "attributes",
                Doc::List(vec![Doc::Obj(vec![(
                    "values",
                    Doc::List(vec![Doc::Obj(vec![("key", val("k")), ("name", val("n"))])]),
                )])]),
            ),
        ]);
        assert_eq!(
            serde_json::to_string(&d).unwrap(),
            r#"{"service_code":"a","attributes":[{"values":[{"key":"k","name":"n"}]}]}"#,
            "JSON keeps the order"
        );
        assert_eq!(
            to_xml("service_definition", &d),
            "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<service_definition><service_code>a</service_code><attributes><attribute><values><value><key>k</key><name>n</name></value></values></attribute></attributes></service_definition>\n"
        );
    }

    #[test]
    fn formats_from_file_names() {
        assert_eq!(
            Format::split("services.xml").unwrap(),
            ("services", Format::Xml)
        );
        assert_eq!(Format::split("abc.json").unwrap(), ("abc", Format::Json));
        assert!(Format::split("abc").is_err());
        assert_eq!(Format::of_path("/open311/v2/requests.xml"), Format::Xml);
    }
}
