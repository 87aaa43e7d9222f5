//! Thumbnails: a JPEG at most [`THUMB_SIDE`] pixels a side, made at upload and kept beside the
//! photo (`<id>.thumb.jpg`). A photo that cannot be decoded (or is larger than
//! [`THUMB_MAX_PIXELS`]) gets no thumbnail: the original is served instead.

use std::path::{Path, PathBuf};

/// Longest side of a thumbnail, pixels.
pub const THUMB_SIDE: u32 = 320;

/// Largest image decoded for a thumbnail, pixels (a 50 MP phone photo decodes to 150 MB).
pub const THUMB_MAX_PIXELS: u64 = 50_000_000;

/// JPEG quality of thumbnails.
const THUMB_QUALITY: u8 = 80;

/// A JPEG thumbnail of an image, at most [`THUMB_SIDE`] pixels a side; `None` when the image
/// does not decode or is too large.
#[must_use]
pub fn thumbnail(bytes: &[u8]) -> Option<Vec<u8>> {
    // The size first (headers only), so a huge image is refused before it is decoded.
    let reader = || {
        let mut r = image::ImageReader::new(std::io::Cursor::new(bytes))
            .with_guessed_format()
            .ok()?;
        let mut limits = image::Limits::default();
        limits.max_alloc = Some(THUMB_MAX_PIXELS * 4);
        r.limits(limits);
        Some(r)
    };
    let (w, h) = reader()?.into_dimensions().ok()?;
    if u64::from(w) * u64::from(h) > THUMB_MAX_PIXELS {
        return None;
    }
    let img = reader()?.decode().ok()?;
    let small = img.thumbnail(THUMB_SIDE, THUMB_SIDE).into_rgb8();
    let mut out = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, THUMB_QUALITY)
        .encode_image(&small)
        .ok()?;
    Some(out)
}

/// Where the thumbnail of the photo stored at `original` is kept.
#[must_use]
pub fn thumb_path(original: &Path) -> PathBuf {
    let mut name = original.as_os_str().to_owned();
    name.push(".thumb.jpg");
    PathBuf::from(name)
}

/// Makes and writes the thumbnail of a stored photo (atomically: a temporary file renamed);
/// returns its bytes. Best effort: `None` when the photo does not decode.
pub fn write_thumbnail(original: &Path, bytes: &[u8]) -> Option<Vec<u8>> {
    let thumb = thumbnail(bytes)?;
    let path = thumb_path(original);
    let tmp = path.with_extension(format!("tmp{}", std::process::id()));
    if std::fs::write(&tmp, &thumb)
        .and_then(|()| std::fs::rename(&tmp, &path))
        .is_err()
    {
        let _ = std::fs::remove_file(&tmp);
        tracing::warn!(path = %path.display(), "cannot write a thumbnail");
    }
    Some(thumb)
}
