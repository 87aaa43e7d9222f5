//! `/api/v1/point-codes`: the printable sheet of point codes (点位码) — A4 pages of cards, each
//! with a zone's name, kind, code and chiefs and a QR code that opens the report page at that
//! zone (`/#/report?zone={id}&at={lon},{lat}`). The cards come from `civmap-app::codes`.

use axum::extract::{Request, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use civmap_app::App;
use civmap_app::codes::CodeCard;
use civmap_domain::ZoneKind;
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::api::common::base_url;
use crate::auth::Caller;
use crate::error::{ApiError, ErrorBody};
use crate::extract::parse_urlencoded;
use crate::qr::qr_svg;
use crate::state::ServerState;

/// Cards per A4 page: two columns of four, each big enough to scan from a metre away.
const CARDS_PER_PAGE: usize = 8;

pub fn router() -> OpenApiRouter<ServerState> {
    OpenApiRouter::new().routes(routes!(point_codes))
}

/// Which zones get cards.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct CodeParams {
    /// Zone kinds, comma-separated (`point`, `road`, `area`, `surroundings`, `grid_cell`);
    /// default `point,road`, the zones a chief stands in.
    pub kind: Option<String>,
}

fn parse_kinds(s: Option<&str>) -> Result<Vec<ZoneKind>, ApiError> {
    let Some(s) = s.filter(|s| !s.trim().is_empty()) else {
        return Ok(Vec::new());
    };
    s.split(',')
        .map(|k| {
            let k = k.trim();
            ZoneKind::ALL
                .into_iter()
                .find(|z| z.as_str() == k)
                .ok_or_else(|| {
                    ApiError::bad_param(
                        "kind",
                        format!("unknown zone kind {k:?}; use point, road, area, surroundings or grid_cell"),
                    )
                })
        })
        .collect()
}

/// The kind as the card prints it.
fn kind_zh(kind: ZoneKind) -> &'static str {
    match kind {
        ZoneKind::Point => "点位",
        ZoneKind::Road => "路段",
        ZoneKind::Area => "片区",
        ZoneKind::Surroundings => "三个周边",
        ZoneKind::GridCell => "网格",
    }
}

/// Where a card's QR code leads: the report page placed at the zone.
#[must_use]
pub fn card_url(base: &str, card: &CodeCard) -> String {
    format!(
        "{base}/#/report?zone={}&at={:.6},{:.6}",
        card.zone.0, card.at.0, card.at.1
    )
}

#[utoipa::path(
    get,
    path = "/api/v1/point-codes",
    tag = "zones",
    summary = "Point codes (点位码): a printable sheet of QR codes, one card per zone",
    description = "A4 pages (HTML to print, 8 cards a page) with a card per point and road zone (or the zones of `kind`) the caller manages: the zone's name, kind, code and chiefs, and a QR code that opens the report page at the zone (`/#/report?zone={id}&at={lon},{lat}`, a position inside the zone). A card carries no secret. Roles: admin, street_office (its street).",
    params(CodeParams),
    responses(
        (status = 200, description = "The printable sheet", content_type = "text/html"),
        (status = 400, description = "Unknown zone kind", body = ErrorBody),
        (status = 401, description = "Sign in first", body = ErrorBody),
        (status = 403, description = "Not a manager", body = ErrorBody),
    )
)]
pub async fn point_codes(
    Caller { actor, .. }: Caller,
    State(state): State<App>,
    request: Request,
) -> Result<Response, ApiError> {
    let q: CodeParams = parse_urlencoded(request.uri().query().unwrap_or_default().as_bytes())?;
    let kinds = parse_kinds(q.kind.as_deref())?;
    let cards = state.point_codes(&actor, &kinds)?;
    let base = base_url(&state, request.headers());
    Ok((
        StatusCode::OK,
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        sheet(&cards, &base)?,
    )
        .into_response())
}

/// The sheet: pages of cards, or a sentence when no zone has one.
fn sheet(cards: &[CodeCard], base: &str) -> Result<String, ApiError> {
    const STYLE: &str = "@page{size:A4 portrait;margin:10mm}\
        *{box-sizing:border-box}\
        body{font-family:'Noto Sans CJK SC','Source Han Sans SC','PingFang SC','Microsoft YaHei',sans-serif;margin:0;color:#111}\
        h1{font-size:14pt;margin:0 0 3mm}\
        .page{display:grid;grid-template-columns:1fr 1fr;grid-auto-rows:66mm;gap:4mm;break-after:page;page-break-after:always}\
        .page:last-of-type{break-after:auto;page-break-after:auto}\
        .card{border:0.4mm dashed #888;padding:3mm;display:flex;gap:3mm;align-items:center;break-inside:avoid}\
        .card svg{width:40mm;height:40mm;flex:none}\
        .who{display:flex;flex-direction:column;gap:1.5mm;min-width:0}\
        .title{font-size:9pt;color:#b91c1c;font-weight:bold;letter-spacing:0.5mm}\
        .name{font-size:12pt;font-weight:bold;overflow-wrap:anywhere}\
        .meta{font-size:9pt;color:#333}\
        .hint{font-size:8.5pt;color:#555}\
        @media screen{body{padding:8mm;background:#eee}.page{background:#fff;padding:8mm;margin-bottom:8mm;width:210mm}}";
    let mut pages = Vec::new();
    for chunk in cards.chunks(CARDS_PER_PAGE) {
        let mut shown = Vec::with_capacity(chunk.len());
        for c in chunk {
            let url = card_url(base, c);
            shown.push((c, qr_svg(&url)?, url));
        }
        pages.push(shown);
    }
    let page = maud::html! {
        (maud::DOCTYPE)
        html lang="zh-CN" {
            head {
                meta charset="utf-8";
                title { "点位码" }
                style { (maud::PreEscaped(STYLE)) }
            }
            body {
                h1 { "点位码 · 共 " (cards.len()) " 个" }
                @if cards.is_empty() {
                    p.empty { "没有点位或路段责任区：请先在“街道设置”中划定点位和路段。" }
                }
                @for cards in &pages {
                    section.page {
                        @for (c, qr, url) in cards {
                            div.card data-zone=(c.zone.0) data-url=(url) {
                                (maud::PreEscaped(qr))
                                div.who {
                                    span.title { "创文 · 扫码上报问题" }
                                    span.name { (c.name) }
                                    span.meta {
                                        (kind_zh(c.kind))
                                        @if let Some(code) = &c.code { " · 编码 " (code) }
                                    }
                                    @if !c.chiefs.is_empty() {
                                        span.meta { "责任人：" (c.chiefs.join("、")) }
                                    }
                                    span.hint { "扫码后自动定位到本点位，拍照即可上报。" }
                                }
                            }
                        }
                    }
                }
            }
        }
    };
    Ok(page.into_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_are_parsed_or_named_when_unknown() {
        assert_eq!(
            parse_kinds(Some("point, road")).unwrap(),
            vec![ZoneKind::Point, ZoneKind::Road]
        );
        assert!(parse_kinds(None).unwrap().is_empty());
        assert!(parse_kinds(Some("plaza")).is_err());
    }
}
