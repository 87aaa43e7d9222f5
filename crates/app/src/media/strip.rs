//! What a photo may carry: its type is taken from the content (JPEG, PNG or WebP), its size in
//! pixels is bounded, and its metadata is stripped before it is stored, so no EXIF (camera,
//! time, GPS position), XMP, IPTC, comment or text chunk ever reaches the store:
//!
//! - JPEG: every `APPn` segment but JFIF (`APP0`), ICC profiles (`APP2`) and Adobe (`APP14`,
//!   needed to decode CMYK), and every comment (`COM`) are dropped; the image data is copied
//!   unchanged (no re-encoding, no quality loss). The EXIF orientation goes with the EXIF:
//!   phones that rotate by tag show such photos on their side.
//! - PNG: only the chunks that draw the image are kept (`IHDR`, `PLTE`, `IDAT`, `IEND`,
//!   `tRNS`, `gAMA`, `cHRM`, `sRGB`, `iCCP`, `sBIT`, `bKGD`, `pHYs`); `tEXt`, `zTXt`, `iTXt`,
//!   `eXIf`, `tIME` and unknown chunks are dropped.
//! - WebP: `EXIF` and `XMP ` chunks are dropped and their flags cleared in `VP8X`.

/// Largest width or height accepted, pixels.
pub const MAX_SIDE: u32 = 20_000;

/// Image formats accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Jpeg,
    Png,
    Webp,
}

impl Format {
    /// The media type.
    #[must_use]
    pub fn mime(self) -> &'static str {
        match self {
            Format::Jpeg => "image/jpeg",
            Format::Png => "image/png",
            Format::Webp => "image/webp",
        }
    }

    /// The format of `bytes` by their first bytes (magic numbers), whatever the request said.
    #[must_use]
    pub fn sniff(bytes: &[u8]) -> Option<Format> {
        if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
            Some(Format::Jpeg)
        } else if bytes.starts_with(PNG_SIGNATURE) {
            Some(Format::Png)
        } else if bytes.len() >= 12 && &bytes[0..4] == b"RIFF" && &bytes[8..12] == b"WEBP" {
            Some(Format::Webp)
        } else {
            None
        }
    }
}

/// A photo without its metadata.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Clean {
    pub format: Format,
    pub bytes: Vec<u8>,
    pub width: u32,
    pub height: u32,
}

/// Why a photo was refused (becomes a 415 or 422 naming `photo`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PhotoError {
    #[error("not a JPEG, PNG or WebP image")]
    UnknownFormat,
    #[error("damaged {0} file: {1}")]
    Damaged(&'static str, &'static str),
    #[error("{width} × {height} pixels is outside 1..={MAX_SIDE} on a side")]
    Size { width: u32, height: u32 },
}

/// Detects the format of `bytes`, checks its structure and returns it without metadata.
pub fn strip(bytes: &[u8]) -> Result<Clean, PhotoError> {
    let format = Format::sniff(bytes).ok_or(PhotoError::UnknownFormat)?;
    let (out, width, height) = match format {
        Format::Jpeg => strip_jpeg(bytes)?,
        Format::Png => strip_png(bytes)?,
        Format::Webp => strip_webp(bytes)?,
    };
    if width == 0 || height == 0 || width > MAX_SIDE || height > MAX_SIDE {
        return Err(PhotoError::Size { width, height });
    }
    Ok(Clean {
        format,
        bytes: out,
        width,
        height,
    })
}

fn be16(b: &[u8], i: usize) -> Option<usize> {
    Some(usize::from(u16::from_be_bytes([
        *b.get(i)?,
        *b.get(i + 1)?,
    ])))
}

fn be32(b: &[u8], i: usize) -> Option<u32> {
    Some(u32::from_be_bytes(b.get(i..i + 4)?.try_into().ok()?))
}

fn le32(b: &[u8], i: usize) -> Option<u32> {
    Some(u32::from_le_bytes(b.get(i..i + 4)?.try_into().ok()?))
}

fn le24(b: &[u8], i: usize) -> Option<u32> {
    Some(u32::from_le_bytes([
        *b.get(i)?,
        *b.get(i + 1)?,
        *b.get(i + 2)?,
        0,
    ]))
}

// ---- JPEG ----------------------------------------------------------------------------------

/// Keeps every segment but metadata; returns the bytes and the frame's width and height.
fn strip_jpeg(b: &[u8]) -> Result<(Vec<u8>, u32, u32), PhotoError> {
    let bad = |why| PhotoError::Damaged("JPEG", why);
    let mut out = Vec::with_capacity(b.len());
    out.extend_from_slice(&[0xFF, 0xD8]);
    let mut i = 2;
    let mut size = None;
    let mut scanned = false;
    loop {
        // A marker: 0xFF, optional fill bytes 0xFF, the code.
        if b.get(i) != Some(&0xFF) {
            return Err(bad("expected a marker"));
        }
        while b.get(i) == Some(&0xFF) {
            i += 1;
        }
        let m = *b.get(i).ok_or_else(|| bad("truncated"))?;
        i += 1;
        match m {
            0xD9 => {
                out.extend_from_slice(&[0xFF, 0xD9]);
                break;
            }
            0x01 | 0xD0..=0xD7 => {
                out.extend_from_slice(&[0xFF, m]);
                continue;
            }
            0x00 | 0xD8 => return Err(bad("unexpected marker")),
            _ => {}
        }
        let len = be16(b, i).ok_or_else(|| bad("truncated segment"))?;
        if len < 2 || i + len > b.len() {
            return Err(bad("segment length out of the file"));
        }
        let seg = &b[i..i + len];
        let data = &seg[2..];
        let keep = match m {
            0xE0 => data.starts_with(b"JFIF\0"),
            0xE2 => data.starts_with(b"ICC_PROFILE\0"),
            0xEE => data.starts_with(b"Adobe"),
            0xE1 | 0xE3..=0xED | 0xEF | 0xFE => false,
            _ => true,
        };
        if matches!(m, 0xC0..=0xCF) && !matches!(m, 0xC4 | 0xC8 | 0xCC) {
            let h = be16(data, 1).ok_or_else(|| bad("short frame header"))?;
            let w = be16(data, 3).ok_or_else(|| bad("short frame header"))?;
            size = Some((w as u32, h as u32));
        }
        if keep {
            out.extend_from_slice(&[0xFF, m]);
            out.extend_from_slice(seg);
        }
        i += len;
        if m == 0xDA {
            // Entropy-coded data up to the next marker (not a stuffed 0xFF00, not a restart).
            scanned = true;
            let start = i;
            loop {
                let Some(off) = b[i..].iter().position(|&x| x == 0xFF) else {
                    return Err(bad("no end of image"));
                };
                let j = i + off;
                match b.get(j + 1) {
                    Some(0x00 | 0xD0..=0xD7 | 0xFF) => i = j + 1,
                    Some(_) => {
                        i = j;
                        break;
                    }
                    None => return Err(bad("no end of image")),
                }
            }
            out.extend_from_slice(&b[start..i]);
        }
    }
    let (w, h) = size.ok_or_else(|| bad("no frame header"))?;
    if !scanned {
        return Err(bad("no image data"));
    }
    Ok((out, w, h))
}

// ---- PNG -----------------------------------------------------------------------------------

const PNG_SIGNATURE: &[u8] = b"\x89PNG\r\n\x1a\n";

/// Chunks that draw the image; everything else is dropped.
const PNG_KEEP: [&[u8; 4]; 12] = [
    b"IHDR", b"PLTE", b"IDAT", b"IEND", b"tRNS", b"gAMA", b"cHRM", b"sRGB", b"iCCP", b"sBIT",
    b"bKGD", b"pHYs",
];

fn strip_png(b: &[u8]) -> Result<(Vec<u8>, u32, u32), PhotoError> {
    let bad = |why| PhotoError::Damaged("PNG", why);
    let mut out = Vec::with_capacity(b.len());
    out.extend_from_slice(PNG_SIGNATURE);
    let mut i = PNG_SIGNATURE.len();
    let mut size = None;
    let mut ended = false;
    let mut data = false;
    while i < b.len() {
        let len = be32(b, i).ok_or_else(|| bad("truncated chunk"))? as usize;
        let kind = b.get(i + 4..i + 8).ok_or_else(|| bad("truncated chunk"))?;
        let end = i
            .checked_add(12)
            .and_then(|x| x.checked_add(len))
            .filter(|&e| e <= b.len())
            .ok_or_else(|| bad("chunk length out of the file"))?;
        if size.is_none() && kind != b"IHDR" {
            return Err(bad("IHDR is not first"));
        }
        if kind == b"IHDR" {
            if len != 13 {
                return Err(bad("IHDR of the wrong length"));
            }
            let w = be32(b, i + 8).ok_or_else(|| bad("short IHDR"))?;
            let h = be32(b, i + 12).ok_or_else(|| bad("short IHDR"))?;
            size = Some((w, h));
        }
        data |= kind == b"IDAT";
        if PNG_KEEP.iter().any(|k| k.as_slice() == kind) {
            out.extend_from_slice(&b[i..end]);
        }
        i = end;
        if kind == b"IEND" {
            ended = true;
            break;
        }
    }
    let (w, h) = size.ok_or_else(|| bad("no IHDR"))?;
    if !ended || !data {
        return Err(bad("no image data or no IEND"));
    }
    Ok((out, w, h))
}

// ---- WebP ----------------------------------------------------------------------------------

fn strip_webp(b: &[u8]) -> Result<(Vec<u8>, u32, u32), PhotoError> {
    let bad = |why| PhotoError::Damaged("WebP", why);
    let riff = le32(b, 4).ok_or_else(|| bad("truncated header"))? as usize;
    let total = riff
        .checked_add(8)
        .filter(|&t| t <= b.len() && t >= 12)
        .ok_or_else(|| bad("RIFF size out of the file"))?;
    let mut out = Vec::with_capacity(total);
    out.extend_from_slice(b"RIFF\0\0\0\0WEBP");
    let mut i = 12;
    let mut size = None;
    let mut first = true;
    while i < total {
        let kind: [u8; 4] = b
            .get(i..i + 4)
            .and_then(|k| k.try_into().ok())
            .ok_or_else(|| bad("truncated chunk"))?;
        let len = le32(b, i + 4).ok_or_else(|| bad("truncated chunk"))? as usize;
        let padded = len + (len & 1);
        let end = (i + 8)
            .checked_add(padded)
            .filter(|&e| e <= total)
            .ok_or_else(|| bad("chunk length out of the file"))?;
        let data = &b[i + 8..i + 8 + len];
        match &kind {
            b"VP8X" if first => {
                if len < 10 {
                    return Err(bad("short VP8X"));
                }
                let w = le24(data, 4).ok_or_else(|| bad("short VP8X"))? + 1;
                let h = le24(data, 7).ok_or_else(|| bad("short VP8X"))? + 1;
                size = Some((w, h));
                let start = out.len();
                out.extend_from_slice(&b[i..end]);
                // Clear the EXIF (0x08) and XMP (0x04) flags: those chunks are gone.
                out[start + 8] &= !0x0C;
            }
            b"VP8 " => {
                // Frame tag (3 bytes), start code 9d 01 2a, 14-bit width and height.
                if data.len() < 10 || data[3..6] != [0x9D, 0x01, 0x2A] {
                    return Err(bad("VP8 start code missing"));
                }
                let w = u16::from_le_bytes([data[6], data[7]]) & 0x3FFF;
                let h = u16::from_le_bytes([data[8], data[9]]) & 0x3FFF;
                size.get_or_insert((u32::from(w), u32::from(h)));
                out.extend_from_slice(&b[i..end]);
            }
            b"VP8L" => {
                if data.first() != Some(&0x2F) {
                    return Err(bad("VP8L signature missing"));
                }
                let bits = le32(data, 1).ok_or_else(|| bad("short VP8L"))?;
                let w = (bits & 0x3FFF) + 1;
                let h = ((bits >> 14) & 0x3FFF) + 1;
                size.get_or_insert((w, h));
                out.extend_from_slice(&b[i..end]);
            }
            b"EXIF" | b"XMP " => {}
            _ => out.extend_from_slice(&b[i..end]),
        }
        first = false;
        i = end;
    }
    let (w, h) = size.ok_or_else(|| bad("no image chunk"))?;
    let riff = u32::try_from(out.len() - 8).map_err(|_| bad("too large"))?;
    out[4..8].copy_from_slice(&riff.to_le_bytes());
    Ok((out, w, h))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng as _, SeedableRng as _};

    /// A minimal JPEG structure: JFIF, an EXIF segment with a GPS marker, a comment, a frame
    /// of 640 × 480, a scan with a stuffed 0xFF00 and a restart marker.
    pub fn jpeg_with_exif() -> Vec<u8> {
        let mut b = vec![0xFF, 0xD8];
        let seg = |b: &mut Vec<u8>, m: u8, data: &[u8]| {
            b.extend_from_slice(&[0xFF, m]);
            b.extend_from_slice(&((data.len() + 2) as u16).to_be_bytes());
            b.extend_from_slice(data);
        };
        seg(&mut b, 0xE0, b"JFIF\0\x01\x01\0\0\x01\0\x01\0\0");
        seg(&mut b, 0xE1, b"Exif\0\0MM\0*GPSLatitude 31.2854 secret");
        seg(&mut b, 0xFE, b"shot by Wang at home");
        seg(&mut b, 0xDB, &[0u8; 65]);
        seg(&mut b, 0xC0, &[8, 0x01, 0xE0, 0x02, 0x80, 1, 1, 0x11, 0]);
        seg(&mut b, 0xC4, &[0u8; 20]);
        seg(&mut b, 0xDA, &[1, 1, 0, 0, 63, 0]);
        b.extend_from_slice(&[0x12, 0xFF, 0x00, 0x34, 0xFF, 0xD0, 0x56]);
        b.extend_from_slice(&[0xFF, 0xD9]);
        b
    }

    fn png_chunk(b: &mut Vec<u8>, kind: [u8; 4], data: &[u8]) {
        b.extend_from_slice(&(data.len() as u32).to_be_bytes());
        b.extend_from_slice(&kind);
        b.extend_from_slice(data);
        b.extend_from_slice(&[0, 0, 0, 0]);
    }

    #[test]
    fn jpeg_loses_exif_and_comments_and_keeps_the_image() {
        let src = jpeg_with_exif();
        let c = strip(&src).unwrap();
        assert_eq!((c.format, c.width, c.height), (Format::Jpeg, 640, 480));
        let find = |hay: &[u8], needle: &[u8]| hay.windows(needle.len()).any(|w| w == needle);
        assert!(find(&src, b"GPSLatitude") && !find(&c.bytes, b"GPSLatitude"));
        assert!(!find(&c.bytes, b"Exif") && !find(&c.bytes, b"shot by"));
        assert!(find(&c.bytes, b"JFIF"));
        assert!(
            find(&c.bytes, &[0x12, 0xFF, 0x00, 0x34, 0xFF, 0xD0, 0x56]),
            "scan data intact"
        );
        assert!(c.bytes.ends_with(&[0xFF, 0xD9]));
        assert_eq!(
            strip(&c.bytes).unwrap(),
            c,
            "stripping twice changes nothing"
        );
    }

    #[test]
    fn png_keeps_only_drawing_chunks() {
        let mut b = PNG_SIGNATURE.to_vec();
        let mut ihdr = Vec::new();
        ihdr.extend_from_slice(&3u32.to_be_bytes());
        ihdr.extend_from_slice(&2u32.to_be_bytes());
        ihdr.extend_from_slice(&[8, 2, 0, 0, 0]);
        png_chunk(&mut b, *b"IHDR", &ihdr);
        png_chunk(&mut b, *b"tEXt", b"Author\0Wang, room 302");
        png_chunk(&mut b, *b"eXIf", b"MM\0*GPS");
        png_chunk(&mut b, *b"IDAT", b"xyz");
        png_chunk(&mut b, *b"IEND", b"");
        let c = strip(&b).unwrap();
        assert_eq!((c.format, c.width, c.height), (Format::Png, 3, 2));
        let s = String::from_utf8_lossy(&c.bytes);
        assert!(!s.contains("room 302") && !s.contains("eXIf") && s.contains("IDAT"));
        // Truncated or misordered files are refused.
        assert!(strip(&b[..b.len() - 6]).is_err());
        let mut no_ihdr = PNG_SIGNATURE.to_vec();
        png_chunk(&mut no_ihdr, *b"IDAT", b"x");
        assert!(strip(&no_ihdr).is_err());
    }

    #[test]
    fn webp_loses_exif_and_xmp_chunks_and_flags() {
        let mut body = Vec::new();
        let chunk = |b: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]| {
            b.extend_from_slice(kind);
            b.extend_from_slice(&(data.len() as u32).to_le_bytes());
            b.extend_from_slice(data);
            if data.len() % 2 == 1 {
                b.push(0);
            }
        };
        // VP8X with EXIF and XMP flags, canvas 100 × 50.
        chunk(&mut body, b"VP8X", &[0x0C, 0, 0, 0, 99, 0, 0, 49, 0, 0]);
        chunk(&mut body, b"VP8L", &[0x2F, 99, 0xC0, 0x0C, 0, 1, 2, 3]);
        chunk(&mut body, b"EXIF", b"MM\0*GPS position");
        chunk(&mut body, b"XMP ", b"<x:xmpmeta>creator</x:xmpmeta>");
        let mut b = b"RIFF".to_vec();
        b.extend_from_slice(&((body.len() + 4) as u32).to_le_bytes());
        b.extend_from_slice(b"WEBP");
        b.extend_from_slice(&body);
        let c = strip(&b).unwrap();
        assert_eq!((c.format, c.width, c.height), (Format::Webp, 100, 50));
        let s = String::from_utf8_lossy(&c.bytes);
        assert!(!s.contains("GPS") && !s.contains("xmpmeta"));
        assert_eq!(c.bytes[20] & 0x0C, 0, "flags cleared");
        assert_eq!(
            le32(&c.bytes, 4).unwrap() as usize,
            c.bytes.len() - 8,
            "RIFF size rewritten"
        );
    }

    #[test]
    fn other_things_are_refused_without_panicking() {
        assert_eq!(strip(b"GIF89a...."), Err(PhotoError::UnknownFormat));
        assert_eq!(strip(b""), Err(PhotoError::UnknownFormat));
        let j = jpeg_with_exif();
        for cut in 0..j.len() {
            let _ = strip(&j[..cut]);
        }
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(5);
        for _ in 0..2000 {
            let mut b = j.clone();
            for _ in 0..4 {
                let i = rng.random_range(0..b.len());
                b[i] = rng.random();
            }
            let _ = strip(&b);
            let mut w = b"RIFF\x10\0\0\0WEBPVP8 ".to_vec();
            w.extend((0..rng.random_range(0..40)).map(|_| rng.random::<u8>()));
            let _ = strip(&w);
        }
    }
}
