//! QR codes as inline SVG for the printed pages (the route sheet's stops, the point codes), made
//! by the `qrcode` crate.

use qrcode::{EcLevel, QrCode};

use crate::error::ApiError;

/// The QR code of `url` as an SVG element (one unit per module, scaled by the page's CSS).
/// Error correction M: a card taped to a lamp post survives some dirt and a crease.
pub fn qr_svg(url: &str) -> Result<String, ApiError> {
    let code = QrCode::with_error_correction_level(url.as_bytes(), EcLevel::M)
        .map_err(|e| ApiError::Internal(format!("QR code of {url}: {e}")))?;
    let svg = code
        .render::<qrcode::render::svg::Color<'_>>()
        .module_dimensions(1, 1)
        .quiet_zone(true)
        .build();
    // Inline in HTML: no XML declaration.
    Ok(match svg.find("<svg") {
        Some(i) => svg[i..].to_owned(),
        None => svg,
    })
}
