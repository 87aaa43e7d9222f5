//! Encoded tiles by (layer, tile) with the data version they were made from, first in first
//! out within a byte budget (`limits.tile_cache_bytes`). A new version makes an old entry a
//! miss. An entry keeps the form its first client took — gzipped for browsers, which is a
//! third to a half of the tile's bytes, so the budget holds two to three times as many tiles —
//! and makes the other form once, when a client first asks for it. A hit in a form the entry
//! has is a reference count: no encoding, no compression, no copy.

use std::collections::{HashMap, VecDeque};
use std::hash::{BuildHasher, Hasher};
use std::io::{Read as _, Write as _};
use std::sync::{Arc, OnceLock};

use bytes::Bytes;
use civmap_tiles::TileId;
use parking_lot::Mutex;

use super::layer::TileLayer;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct CacheKey {
    pub layer: TileLayer,
    pub tile: TileId,
}

/// An encoded tile, in one or both of its forms.
#[derive(Debug)]
pub struct Encoded {
    /// The data version it was made from.
    pub version: u64,
    /// A hash of the uncompressed bytes: the same tile has the same hash across restarts and
    /// replicas (and the same `ETag`, whichever form an entry kept).
    pub hash: u64,
    /// Bytes of the uncompressed tile (0 for an empty tile).
    len: usize,
    raw: OnceLock<Bytes>,
    gz: OnceLock<Bytes>,
}

impl Encoded {
    /// A tile made from data version `version`, kept gzipped when `gzip` (the client that
    /// asked takes gzip), else uncompressed. An empty tile is kept as it is.
    #[must_use]
    pub fn new(version: u64, raw: Vec<u8>, gzip: bool) -> Self {
        let mut h = foldhash::fast::FixedState::with_seed(0x6369_766d_6170).build_hasher();
        h.write(&raw);
        h.write_usize(raw.len());
        let e = Self {
            version,
            hash: h.finish(),
            len: raw.len(),
            raw: OnceLock::new(),
            gz: OnceLock::new(),
        };
        if gzip && !raw.is_empty() {
            let _ = e.gz.set(gzip_bytes(&raw).into());
        } else {
            let _ = e.raw.set(raw.into());
        }
        e
    }

    /// Whether the tile has no features (answered `204 No Content`).
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The uncompressed tile, unzipped once when the entry kept only the gzipped form.
    pub fn raw(&self) -> &Bytes {
        self.form(false).0
    }

    /// The gzipped tile, made once when the entry kept only the uncompressed form.
    pub fn gz(&self) -> &Bytes {
        self.form(true).0
    }

    /// The tile gzipped or not, and whether this call made that form (the cache then counts
    /// its bytes). Made at most once per entry, however many requests ask at the same time.
    pub fn form(&self, gzip: bool) -> (&Bytes, bool) {
        let mut made = false;
        let b = if gzip {
            self.gz.get_or_init(|| {
                made = true;
                self.raw
                    .get()
                    .map_or_else(Bytes::new, |raw| gzip_bytes(raw).into())
            })
        } else {
            self.raw.get_or_init(|| {
                made = true;
                self.gz
                    .get()
                    .map_or_else(Bytes::new, |gz| gunzip(gz, self.len).into())
            })
        };
        (b, made)
    }

    /// Whether the form (`gzip` or not) is there already: serving it costs nothing.
    #[must_use]
    pub fn has(&self, gzip: bool) -> bool {
        if gzip {
            self.gz.get().is_some()
        } else {
            self.raw.get().is_some()
        }
    }

    /// Bytes held, both forms and a fixed overhead.
    #[must_use]
    pub fn size(&self) -> usize {
        self.raw.get().map_or(0, Bytes::len) + self.gz.get().map_or(0, Bytes::len) + 64
    }
}

/// Gzip level of tile bodies. Measured on a dense z14 problems tile (170 KB, zlib-rs): level 1
/// gives 82 KB in 0.5 ms, level 2 63 KB in 1.0 ms, level 6 57 KB in 3.4 ms. Tiles are made per
/// request when not cached, so speed wins.
const GZIP_LEVEL: u32 = 1;

fn gzip_bytes(raw: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(
        Vec::with_capacity(raw.len() / 2 + 64),
        flate2::Compression::new(GZIP_LEVEL),
    );
    // Writing into a Vec cannot fail.
    let _ = e.write_all(raw);
    e.finish().unwrap_or_default()
}

/// Our own gzip of `len` bytes, back. It cannot fail on bytes this module compressed; if it
/// did, an empty body would be served and the failure logged.
fn gunzip(gz: &[u8], len: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(len);
    if let Err(e) = flate2::read::GzDecoder::new(gz).read_to_end(&mut out) {
        tracing::error!(error = %e, "a cached gzipped tile does not unzip");
        out.clear();
    }
    out
}

#[derive(Debug, Default)]
struct CacheInner {
    map: HashMap<CacheKey, Arc<Encoded>>,
    order: VecDeque<CacheKey>,
    bytes: usize,
}

/// Encoded tiles by (layer, tile), first in first out within a byte budget.
#[derive(Debug)]
pub struct TileCache {
    inner: Mutex<CacheInner>,
    budget: usize,
}

impl TileCache {
    /// An empty cache keeping at most `budget` bytes (both forms of every entry together).
    #[must_use]
    pub fn new(budget: usize) -> Self {
        Self {
            inner: Mutex::default(),
            budget,
        }
    }

    /// The tile of `key` made from `version`, if cached.
    #[must_use]
    pub fn get(&self, key: CacheKey, version: u64) -> Option<Arc<Encoded>> {
        let g = self.inner.lock();
        g.map.get(&key).filter(|e| e.version == version).cloned()
    }

    /// Keeps a tile, dropping the oldest ones beyond the budget.
    pub fn put(&self, key: CacheKey, e: Arc<Encoded>) {
        let mut guard = self.inner.lock();
        let g = &mut *guard;
        let size = e.size();
        if let Some(old) = g.map.insert(key, e) {
            g.bytes = g.bytes.saturating_sub(old.size());
        } else {
            g.order.push_back(key);
        }
        g.bytes += size;
        while g.bytes > self.budget {
            let Some(k) = g.order.pop_front() else { break };
            if let Some(old) = g.map.remove(&k) {
                g.bytes = g.bytes.saturating_sub(old.size());
            }
        }
    }

    /// Accounts for a second form added to a cached entry.
    pub fn grew(&self, by: usize) {
        self.inner.lock().bytes += by;
    }

    /// Empties the cache.
    pub fn clear(&self) {
        *self.inner.lock() = CacheInner::default();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_entry_keeps_the_form_asked_for_and_makes_the_other_once() {
        let raw: Vec<u8> = (0..20_000u32).map(|i| (i % 7) as u8).collect();
        let zipped = Encoded::new(1, raw.clone(), true);
        assert!(zipped.has(true) && !zipped.has(false));
        let kept = zipped.size();
        assert!(kept < raw.len() / 4, "gzipped only: {kept} bytes");
        assert_eq!(zipped.raw().as_ref(), raw.as_slice());
        assert!(zipped.has(false) && zipped.size() > raw.len());
        let plain = Encoded::new(1, raw.clone(), false);
        assert!(plain.has(false) && !plain.has(true));
        assert_eq!(plain.hash, zipped.hash, "one ETag whatever form was kept");
        assert_eq!(plain.gz().as_ref(), zipped.gz().as_ref());
        // The same bytes on every hit: the kept form is handed out, not made again.
        assert_eq!(zipped.gz().as_ptr(), zipped.gz().as_ptr());
        let empty = Encoded::new(1, Vec::new(), true);
        assert!(empty.is_empty() && empty.raw().is_empty());
    }
}
