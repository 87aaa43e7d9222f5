//! `/feeds`: Atom feeds (RFC 4287) of the new and fixed problems of a zone or a drawn area, for
//! residents, the press and neighbourhood committees in any feed reader. Which entries and
//! what they say is decided by [`civmap_app::reports::feed`] (public-safe whoever asks); this
//! module writes them as XML with `quick-xml`.

use std::io;

use axum::extract::{Path, State};
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use civmap_app::App;
use civmap_app::reports::feed::{Feed, FeedEntryKind};
use civmap_app::spatial::Spatial;
use civmap_domain::ZoneId;
use quick_xml::Writer;
use quick_xml::events::{BytesDecl, BytesText, Event};
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::api::common::parse_uuid;
use crate::auth::Caller;
use crate::error::{ApiError, ErrorBody};
use crate::extract::AppQuery;
use crate::params;
use crate::state::ServerState;
use civmap_geodata::crs::Crs;

/// The Atom namespace.
const ATOM_NS: &str = "http://www.w3.org/2005/Atom";
/// The media type of an Atom feed.
const ATOM_TYPE: &str = "application/atom+xml; charset=utf-8";
/// The file extension of the zone feed's path.
const ATOM_EXT: &str = ".atom";
/// The tagging authority of entry ids (RFC 4151 `tag:` URIs) when no `public_url` is set.
const TAG_AUTHORITY: &str = "civmap";
/// The date of the tag URIs: the feeds' minting date, fixed so ids never change.
const TAG_DATE: &str = "2026";

pub fn router() -> OpenApiRouter<ServerState> {
    OpenApiRouter::new()
        .routes(routes!(zone_feed))
        .routes(routes!(area_feed))
}

/// The URL of this server as its readers reach it (`public_url` when configured).
fn origin(app: &App, headers: &HeaderMap) -> String {
    if let Some(u) = &app.config().public_url {
        return u.trim_end_matches('/').to_owned();
    }
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("localhost");
    format!("http://{host}")
}

/// The host part of `origin`, for `tag:` ids.
fn authority(origin: &str) -> &str {
    origin
        .split("://")
        .nth(1)
        .map(|h| h.split([':', '/']).next().unwrap_or(h))
        .filter(|h| !h.is_empty() && *h != "localhost" && h.parse::<std::net::IpAddr>().is_err())
        .unwrap_or(TAG_AUTHORITY)
}

/// `feed` as an Atom document; `self_url` is where it was fetched, `alternate` the public map
/// of the same area.
fn atom(feed: &Feed, origin: &str, self_url: &str, alternate: &str) -> io::Result<Vec<u8>> {
    let tag = authority(origin);
    let mut w = Writer::new_with_indent(Vec::new(), b' ', 1);
    w.write_event(Event::Decl(BytesDecl::new("1.0", Some("utf-8"), None)))?;
    w.create_element("feed")
        .with_attribute(("xmlns", ATOM_NS))
        .with_attribute(("xml:lang", "zh-CN"))
        .write_inner_content(|w| {
            w.create_element("id")
                .write_text_content(BytesText::new(self_url))?;
            w.create_element("title")
                .write_text_content(BytesText::new(&feed.title))?;
            w.create_element("updated")
                .write_text_content(BytesText::new(&civmap_app::time::rfc3339(feed.updated)))?;
            w.create_element("link")
                .with_attribute(("rel", "self"))
                .with_attribute(("type", "application/atom+xml"))
                .with_attribute(("href", self_url))
                .write_empty()?;
            w.create_element("link")
                .with_attribute(("rel", "alternate"))
                .with_attribute(("type", "text/html"))
                .with_attribute(("href", alternate))
                .write_empty()?;
            w.create_element("author").write_inner_content(|w| {
                w.create_element("name")
                    .write_text_content(BytesText::new("civmap 街面问题地图"))?;
                Ok(())
            })?;
            w.create_element("generator")
                .write_text_content(BytesText::new("civmap"))?;
            for e in &feed.entries {
                let what = match e.kind {
                    FeedEntryKind::New => "new",
                    FeedEntryKind::Fixed => "fixed",
                };
                let at = civmap_app::time::rfc3339(e.at);
                w.create_element("entry").write_inner_content(|w| {
                    // One id per problem and kind; a problem fixed twice keeps the fixed id, its
                    // `updated` says when.
                    w.create_element("id")
                        .write_text_content(BytesText::new(&format!(
                            "tag:{tag},{TAG_DATE}:problem/{}/{what}",
                            e.problem
                        )))?;
                    w.create_element("title")
                        .write_text_content(BytesText::new(&e.title))?;
                    w.create_element("updated")
                        .write_text_content(BytesText::new(&at))?;
                    w.create_element("link")
                        .with_attribute(("rel", "alternate"))
                        .with_attribute(("type", "text/html"))
                        .with_attribute(("href", format!("{origin}/p/{}", e.case_no).as_str()))
                        .write_empty()?;
                    w.create_element("category")
                        .with_attribute(("term", what))
                        .write_empty()?;
                    w.create_element("summary")
                        .write_text_content(BytesText::new(&e.summary))?;
                    Ok(())
                })?;
            }
            Ok(())
        })?;
    Ok(w.into_inner())
}

fn atom_response(
    app: &App,
    headers: &HeaderMap,
    feed: &Feed,
    path_and_query: &str,
    alternate: &str,
) -> Result<Response, ApiError> {
    let origin = origin(app, headers);
    let self_url = format!("{origin}{path_and_query}");
    let body = atom(feed, &origin, &self_url, &format!("{origin}{alternate}"))
        .map_err(|e| ApiError::Internal(format!("atom feed: {e}")))?;
    Ok(([(header::CONTENT_TYPE, ATOM_TYPE)], body).into_response())
}

#[utoipa::path(
    get,
    path = "/feeds/zones/{file}",
    tag = "feeds",
    summary = "Atom feed of a zone",
    description = "An Atom (RFC 4287) feed of the new and the fixed (verified) problems inside the zone, newest first, at most 100 entries; each links to the problem's page `/p/{case_no}`. Public-safe whoever asks: category, place (generalised for indoor categories), status and the description with personal data masked.",
    params(("file" = String, Path, description = "The zone id followed by `.atom`")),
    responses(
        (status = 200, description = "The feed", content_type = "application/atom+xml", body = String),
        (status = 400, description = "Not a zone id", body = ErrorBody),
        (status = 404, description = "No such zone", body = ErrorBody),
    )
)]
pub async fn zone_feed(
    State(app): State<App>,
    Path(file): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let Some(id) = file.strip_suffix(ATOM_EXT) else {
        return Err(ApiError::NotFound(format!(
            "no feed {file}: zone feeds end in {ATOM_EXT}"
        )));
    };
    let zone = ZoneId(parse_uuid("zone", id)?);
    let feed = app.zone_feed(zone).await?;
    atom_response(&app, &headers, &feed, &format!("/feeds/zones/{file}"), "/")
}

/// The area of an area feed: a box or a polygon, as for the problems list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct AreaQuery {
    /// `minLon,minLat,maxLon,maxLat`; at most `limits.anonymous_bbox_deg2` square degrees.
    pub bbox: Option<String>,
    /// A polygon as WKT or GeoJSON geometry, as for `GET /api/v1/problems`.
    pub polygon: Option<String>,
}

#[utoipa::path(
    get,
    path = "/feeds/area.atom",
    tag = "feeds",
    summary = "Atom feed of an area",
    description = "The feed of `GET /feeds/zones/{file}` for a box or a drawn polygon (both: their intersection). One of them is required. The area is limited as for anonymous problem lists.",
    params(AreaQuery),
    responses(
        (status = 200, description = "The feed", content_type = "application/atom+xml", body = String),
        (status = 400, description = "A malformed box or polygon", body = ErrorBody),
        (status = 422, description = "No area, or one over the limit", body = ErrorBody),
    )
)]
pub async fn area_feed(
    Caller { actor, .. }: Caller,
    State(app): State<App>,
    AppQuery(q): AppQuery<AreaQuery>,
    uri: axum::http::Uri,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let mut spatial = Vec::new();
    let mut centre = None;
    if let Some(b) = q.bbox.as_deref() {
        let bbox = params::parse_bbox("bbox", b, Crs::Wgs84)?;
        crate::api::problems::check_anonymous_area(&app, &actor, "bbox", &bbox)?;
        centre = Some([
            f64::midpoint(bbox.min_lon, bbox.max_lon),
            f64::midpoint(bbox.min_lat, bbox.max_lat),
        ]);
        spatial.push(Spatial::BBox(bbox));
    }
    if let Some(p) = q.polygon.as_deref() {
        let limits = &app.config().limits;
        let mp = params::parse_polygon("polygon", p, Crs::Wgs84, limits.polygon_vertices)?;
        if let Some(b) = civmap_app::spatial::bounds(&mp) {
            crate::api::problems::check_anonymous_area(&app, &actor, "polygon", &b)?;
            centre = centre.or(Some([
                f64::midpoint(b.min_lon, b.max_lon),
                f64::midpoint(b.min_lat, b.max_lat),
            ]));
        }
        spatial.push(Spatial::Polygon(mp));
    }
    let Some([lon, lat]) = centre else {
        return Err(ApiError::invalid(
            "bbox",
            "an area feed needs bbox or polygon",
        ));
    };
    let feed = app.area_feed(&spatial).await?;
    let path = uri
        .path_and_query()
        .map_or("/feeds/area.atom", |p| p.as_str());
    atom_response(
        &app,
        &headers,
        &feed,
        path,
        &format!("/#map=16/{lat:.5}/{lon:.5}"),
    )
}
