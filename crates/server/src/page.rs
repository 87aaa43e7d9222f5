//! `/p/{case_no}`: the page of one problem, server-rendered HTML for a phone (and for the 微信
//! link preview, through Open Graph). What each viewer reads is decided by
//! [`civmap_app::page`]; this module only renders it. `/p/{uuid}` answers 308 to the case
//! number's page; an unknown case is a 404 page in Chinese.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Redirect, Response};
use civmap_app::App;
use civmap_app::page::{PageEvent, ProblemPage, half_span_deg, status_zh};
use civmap_app::time::cst;
use civmap_tiles::svg::{Colour, LineStyle, StaticMap};
use maud::{DOCTYPE, Markup, PreEscaped, html};

use crate::auth::Caller;
use crate::error::ApiError;
use crate::state::ServerState;

/// Width of the small map, px (it scales down to the screen).
const MAP_WIDTH_PX: u32 = 640;
/// Its height, px.
const MAP_HEIGHT_PX: u32 = 360;
/// The marker's colour: the public map's red for a problem.
const MARKER: Colour = Colour::rgb(0xd6, 0x27, 0x28);
/// The zoom the public map opens at when a page links back to it.
const MAP_LINK_ZOOM: u8 = 18;

/// Mobile first: one column, readable type, the map and photos at full width.
const STYLE: &str = "\
*{box-sizing:border-box}\
body{margin:0;font:16px/1.6 -apple-system,'PingFang SC','Noto Sans CJK SC','Microsoft YaHei',sans-serif;color:#222;background:#f5f5f5}\
main{max-width:720px;margin:0 auto;padding:12px 16px 32px;background:#fff;min-height:100vh}\
header.top{display:flex;justify-content:space-between;align-items:center;font-size:14px;color:#666}\
header.top a{color:#1565c0;text-decoration:none;white-space:nowrap;margin-right:8px}\
h1{font-size:22px;margin:8px 0 4px}\
.case{font-family:ui-monospace,Menlo,monospace;color:#555;font-size:14px}\
.status{display:inline-block;padding:1px 10px;border-radius:12px;background:#e3f2fd;color:#0d47a1;font-size:14px}\
.status.closed{background:#e8f5e9;color:#1b5e20}\
dl{display:grid;grid-template-columns:5.5em 1fr;gap:4px 8px;margin:12px 0}\
dt{color:#666}dd{margin:0}\
.map svg{width:100%;height:auto;border:1px solid #ddd;border-radius:6px;display:block}\
.photo img{width:100%;border-radius:6px}\
.photos{display:flex;flex-wrap:wrap;gap:6px}.photos img{width:96px;height:96px;object-fit:cover;border-radius:4px}\
ol.history{list-style:none;padding:0;margin:0;border-left:2px solid #ddd}\
ol.history li{padding:2px 0 10px 12px;position:relative}\
ol.history li::before{content:'';position:absolute;left:-6px;top:9px;width:10px;height:10px;border-radius:5px;background:#90a4ae}\
ol.history time{display:block;color:#777;font-size:13px}\
.note{color:#444;background:#fafafa;border-left:3px solid #ccc;padding:2px 8px;margin-top:2px}\
.links{display:flex;flex-wrap:wrap;gap:8px;margin:16px 0}\
.links a{padding:8px 14px;border:1px solid #1565c0;border-radius:6px;color:#1565c0;text-decoration:none}\
.staff{border-top:1px dashed #bbb;margin-top:16px;padding-top:4px}\
footer{color:#888;font-size:12px;margin-top:24px}";

/// `YYYY-MM-DD HH:mm` in China Standard Time.
fn cst_time(t: chrono::DateTime<chrono::Utc>) -> String {
    t.with_timezone(&cst()).format("%Y-%m-%d %H:%M").to_string()
}

/// The place in words, or the position when nothing named is near.
fn place_text(page: &ProblemPage) -> String {
    if page.place.is_empty() {
        format!("{:.5}, {:.5}", page.position[1], page.position[0])
    } else {
        page.place.clone()
    }
}

/// The URL of this server as the browser reached it (`public_url` when configured), for
/// Open Graph's absolute URLs.
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

/// The small map: the roads around the problem and its marker, as inline SVG.
fn small_map(app: &App, page: &ProblemPage) -> Result<String, ApiError> {
    let [lon, lat] = page.position;
    let [dlon, dlat] = half_span_deg(lat);
    let mut map = StaticMap::new(MAP_WIDTH_PX);
    map.height(MAP_HEIGHT_PX)
        .padding(0)
        .scale_bar(true)
        .bbox(geo::Rect::new(
            geo::coord! { x: lon - dlon, y: lat - dlat },
            geo::coord! { x: lon + dlon, y: lat + dlat },
        ));
    for road in app.roads_near(page.position) {
        map.line(&road, LineStyle::road());
    }
    map.marker(lon, lat, "", MARKER);
    map.render()
        .map_err(|e| ApiError::Internal(format!("page map: {e}")))
}

fn history_item(e: &PageEvent) -> Markup {
    html! {
        li data-kind=(e.kind.as_str()) {
            time datetime=(civmap_app::time::rfc3339(e.at)) { (cst_time(e.at)) }
            @if let Some(who) = &e.actor { span.actor { (who) "：" } }
            (e.text)
            @if let Some(to) = &e.assignee { "（责任人 " (to) "）" }
            @if !e.note.is_empty() { div.note { (e.note) } }
            @if !e.photos.is_empty() {
                div.photos {
                    @for ph in &e.photos {
                        a href={ "/api/v1/photos/" (ph) } {
                            img src={ "/api/v1/photos/" (ph) "?size=thumb" } alt="现场照片" loading="lazy";
                        }
                    }
                }
            }
        }
    }
}

/// The whole page.
fn render(app: &App, page: &ProblemPage, origin: &str) -> Result<String, ApiError> {
    let place = place_text(page);
    let title = format!("{} · {} · {}", page.category, place, status_zh(page.status));
    let description = if page.description.is_empty() {
        format!(
            "{}，上报于 {}",
            status_zh(page.status),
            cst_time(page.reported_at)
        )
    } else {
        page.description.clone()
    };
    let url = format!("{origin}/p/{}", page.case_no);
    let [lon, lat] = page.position;
    let map_link = format!("/#map={MAP_LINK_ZOOM}/{lat:.5}/{lon:.5}");
    let [dlon, dlat] = half_span_deg(lat);
    let feed = format!(
        "/feeds/area.atom?bbox={:.5},{:.5},{:.5},{:.5}",
        lon - dlon,
        lat - dlat,
        lon + dlon,
        lat + dlat
    );
    let photo = page
        .public_photo
        .as_ref()
        .map(|_| format!("/api/v1/problems/{}/photo", page.id));
    let map = small_map(app, page)?;
    let closed = page.fixed_at.is_some();
    let markup = html! {
        (DOCTYPE)
        html lang="zh-CN" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · civmap" }
                meta name="description" content=(description);
                meta property="og:type" content="article";
                meta property="og:site_name" content="civmap 街面问题地图";
                meta property="og:title" content=(title);
                meta property="og:description" content=(description);
                meta property="og:url" content=(url);
                @if let Some(p) = &photo { meta property="og:image" content={ (origin) (p) }; }
                link rel="canonical" href=(url);
                link rel="alternate" type="application/atom+xml" title="附近的问题动态" href=(feed);
                style { (PreEscaped(STYLE)) }
            }
            body {
                main {
                    header.top {
                        a href=(map_link) { "‹ 问题地图" }
                        span.case { "编号 " (page.case_no) }
                    }
                    h1 { (page.category) }
                    p {
                        span class=(if closed { "status closed" } else { "status" }) { (status_zh(page.status)) }
                    }
                    dl {
                        dt { "位置" } dd.place { (place) @if page.generalised { "（位置已模糊处理）" } }
                        dt { "严重程度" } dd { (page.severity) }
                        dt { "上报时间" } dd.reported { (cst_time(page.reported_at)) }
                        @if let Some(t) = page.fixed_at { dt { "结案时间" } dd.fixed { (cst_time(t)) } }
                        @if !page.description.is_empty() { dt { "描述" } dd.description { (page.description) } }
                    }
                    @if let Some(s) = &page.staff {
                        section.staff {
                            h2 { "工作信息" }
                            dl {
                                dt { "责任区" } dd.zone { (s.zone.as_deref().unwrap_or("—")) }
                                dt { "责任人" } dd.assignee { (s.assignee.as_deref().unwrap_or("未派单")) }
                                dt { "整改期限" } dd.deadline { (s.deadline.map_or_else(|| "—".to_owned(), cst_time)) }
                                dt { "上报人" } dd.reporter { (s.reporter.as_deref().unwrap_or("群众（匿名）")) }
                            }
                        }
                    }
                    div.map { (PreEscaped(map)) }
                    @if let Some(p) = &photo {
                        section.photo {
                            h2 { "整改后照片" }
                            img src=(p) alt="整改后的现场照片";
                        }
                    }
                    section {
                        h2 { "处理经过" }
                        ol.history { @for e in &page.history { (history_item(e)) } }
                    }
                    div.links {
                        a.back href=(map_link) { "在问题地图上查看" }
                        a.feed href=(feed) { "订阅附近的问题动态" }
                        @if let Some(s) = &page.staff { a.console href=(s.console) { "在工作台中打开" } }
                    }
                    footer { "地图数据 © OpenStreetMap contributors" }
                }
            }
        }
    };
    Ok(markup.into_string())
}

/// The 404 page: the case number is unknown (or mistyped).
fn not_found_page(case: &str) -> String {
    html! {
        (DOCTYPE)
        html lang="zh-CN" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { "找不到这个问题 · civmap" }
                style { (PreEscaped(STYLE)) }
            }
            body {
                main {
                    h1 { "找不到这个问题" }
                    p { "编号 " span.case { (case) } " 不存在，请检查链接是否完整。" }
                    div.links { a href="/" { "打开问题地图" } }
                }
            }
        }
    }
    .into_string()
}

/// Any other failure, for a person.
fn error_page() -> String {
    html! {
        (DOCTYPE)
        html lang="zh-CN" {
            head { meta charset="utf-8"; title { "出错了 · civmap" } style { (PreEscaped(STYLE)) } }
            body { main { h1 { "出错了" } p { "页面暂时无法显示，请稍后再试。" } div.links { a href="/" { "打开问题地图" } } } }
        }
    }
    .into_string()
}

/// `GET /p/{case}`: the page; a UUID answers 308 to its case number's page.
pub async fn problem_page(
    Caller { actor, .. }: Caller,
    State(app): State<App>,
    Path(case): Path<String>,
    headers: HeaderMap,
) -> Response {
    let id = match app.problem_by_case(&case).await {
        Ok(Some(id)) => id,
        Ok(None) => {
            return ApiError::NotFound(format!("no problem with case number {case}"))
                .html_page(not_found_page(&case));
        }
        Err(e) => return ApiError::from(e).html_page(error_page()),
    };
    let result = async {
        let page = app.problem_page(&actor, id).await?;
        if page.case_no != case {
            return Ok(Redirect::permanent(&format!("/p/{}", page.case_no)).into_response());
        }
        let body = render(&app, &page, &origin(&app, &headers))?;
        Ok::<_, ApiError>(
            (
                [
                    (header::CONTENT_TYPE, "text/html; charset=utf-8"),
                    // Staff and the public read different pages at one URL.
                    (header::VARY, "Cookie, Authorization"),
                    (header::CACHE_CONTROL, "private, no-cache"),
                ],
                body,
            )
                .into_response(),
        )
    }
    .await;
    result.unwrap_or_else(|e| match e {
        ApiError::NotFound(_) => e.html_page(not_found_page(&case)),
        e => e.html_page(error_page()),
    })
}

/// The `/p` routes (HTML for people; not part of the OpenAPI document).
pub fn router() -> axum::Router<ServerState> {
    axum::Router::new().route("/p/{case}", axum::routing::get(problem_page))
}
