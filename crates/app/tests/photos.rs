//! Photos in bounded memory: an image over the pixel limit is refused at upload, and many large
//! photos uploaded at once decode one budget's worth at a time. Measured with the process's
//! peak resident memory (`VmHWM`): nextest runs each test in its own process.
#![allow(clippy::unwrap_used, clippy::missing_panics_doc)]

use std::io::Write as _;

use civmap_app::config::Config;
use civmap_app::media::photos::UploadError;
use civmap_app::{Actor, App, ServiceError};
use civmap_domain::{CategoryTable, Role};
use civmap_store::{Store, StoreOptions};

/// A valid PNG of `w` × `h` pixels of one colour, `shade` its red, compressed while it is
/// written so that making it never holds the bitmap (a 7000 × 7000 one is about 140 KB).
fn flat_png(w: u32, h: u32, shade: u8) -> Vec<u8> {
    fn chunk(out: &mut Vec<u8>, kind: [u8; 4], data: &[u8]) {
        out.extend_from_slice(&u32::try_from(data.len()).unwrap().to_be_bytes());
        let mut crc = flate2::Crc::new();
        crc.update(&kind);
        crc.update(data);
        out.extend_from_slice(&kind);
        out.extend_from_slice(data);
        out.extend_from_slice(&crc.sum().to_be_bytes());
    }
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut ihdr = Vec::new();
    ihdr.extend_from_slice(&w.to_be_bytes());
    ihdr.extend_from_slice(&h.to_be_bytes());
    ihdr.extend_from_slice(&[8, 2, 0, 0, 0]); // 8-bit RGB
    chunk(&mut out, *b"IHDR", &ihdr);
    let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
    let mut row = vec![0u8; 1 + 3 * w as usize];
    for px in row[1..].chunks_mut(3) {
        px.copy_from_slice(&[shade, 120, 160]);
    }
    for _ in 0..h {
        z.write_all(&row).unwrap();
    }
    chunk(&mut out, *b"IDAT", &z.finish().unwrap());
    chunk(&mut out, *b"IEND", &[]);
    out
}

/// Peak resident memory of this process so far, MiB.
fn peak_mib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let kb: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap();
    kb / 1024
}

async fn app(dir: &tempfile::TempDir) -> App {
    let url = format!("sqlite://{}", dir.path().join("t.db").display());
    let store = Store::open(
        &url,
        StoreOptions {
            synchronous_full: false,
            ..StoreOptions::default()
        },
    )
    .await
    .unwrap();
    App::load(store, CategoryTable::builtin(), Config::default())
        .await
        .unwrap()
}

fn staff() -> Actor {
    Actor {
        user: None,
        role: Role::StreetOffice,
        authenticated: true,
        ip: None,
        token: None,
    }
}

#[tokio::test]
async fn a_photo_over_the_pixel_limit_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let app = app(&dir).await;
    // 60 megapixels: more than the 50 accepted by default, though the file is small.
    let png = flat_png(10_000, 6_000, 90);
    assert!(png.len() < 1 << 20, "{} bytes", png.len());
    let e = app.store_photo(&staff(), png).await.unwrap_err();
    let UploadError::Service(e @ ServiceError::Invalid { .. }) = e else {
        panic!("{e:?}");
    };
    assert_eq!(e.field(), Some("photo"));
    assert!(e.to_string().contains("10000 × 6000"), "{e}");
    // A photo within the limit is stored and gets a thumbnail.
    let meta = app
        .store_photo(&staff(), flat_png(1200, 800, 90))
        .await
        .unwrap();
    let thumb = app.photo(&meta.id, true).await.unwrap();
    assert_eq!(thumb.mime, "image/jpeg");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn many_large_photos_at_once_decode_within_the_budget() {
    let dir = tempfile::tempdir().unwrap();
    let app = app(&dir).await;
    // Sixteen different photos (content-addressed: equal ones would be stored once), stored
    // one by one; then their thumbnails are taken away, so that asking for all of them at once
    // makes sixteen decodes start together (thumbnails are made again when missing).
    let mut ids = Vec::new();
    for i in 0..16u8 {
        let meta = app
            .store_photo(&staff(), flat_png(7_000, 7_000, i * 8))
            .await
            .unwrap();
        let path = app.store().photo_path(&meta.id).unwrap();
        let thumb = civmap_app::media::thumbs::thumb_path(&path);
        std::fs::remove_file(&thumb).unwrap();
        ids.push(meta.id);
    }
    let before = peak_mib();
    // Spawned all before any is awaited.
    let asks: Vec<_> = ids
        .iter()
        .map(|id| {
            let (app, id) = (app.clone(), id.clone());
            tokio::spawn(async move { app.photo(&id, true).await })
        })
        .collect();
    for a in asks {
        let t = a.await.unwrap().unwrap();
        assert_eq!(t.mime, "image/jpeg", "every photo got its thumbnail");
    }
    let grew = peak_mib().saturating_sub(before);
    eprintln!("peak resident memory grew by {grew} MiB");
    // One decode of 7000 × 7000 holds about 150 MiB (RGB) plus its resampling; sixteen at once
    // hold over 2 GB. The default budget (256 MiB, charged 8 bytes a pixel) lets one run at a
    // time.
    assert!(grew < 700, "peak memory grew by {grew} MiB");
}
