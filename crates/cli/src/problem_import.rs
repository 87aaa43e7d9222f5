//! `civmap import problems` for files of any size, in bounded memory: rows are read one at a
//! time, validated, and written in batches as they are read, so the peak memory is a few
//! batches whatever the file holds.
//!
//! **All or nothing, in two passes.** A malformed row (or one the domain refuses) must stop the
//! import before anything is written. The first pass reads the whole file and validates every
//! row, keeping nothing but counters; the second reads it again and writes, one store
//! transaction per batch. The other way — one transaction for the whole file — would hold the
//! store's single writer (and every live report queued behind it) for the minutes a
//! ten-million-row import takes, and grow SQLite's WAL or PostgreSQL's transaction to the size
//! of the file; the extra pass costs one more parse of the file, a small share of the writes.
//!
//! **Idempotent** by the store's `(source, external_id)` unique key: each batch looks up only
//! its own ids, so re-importing a file — or a row repeated within it — stores nothing new, with
//! no set of every id in memory.
//!
//! **Both formats stream**: CSV row by row, GeoJSON feature by feature (the `features` array is
//! never built, see `civmap_geodata::geojson_stream`).

use std::io::Read;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow};
use chrono::Utc;
use civmap_domain::{CategoryTable, Problem};
use civmap_geodata::import::{self, CsvProblems, ImportReport, Mapping, ProblemRecord};
use civmap_store::Store;

/// Rows validated and written per store call, each call one transaction. Large enough that a
/// transaction's fixed costs (a commit's fsync, 1–3.5 ms on the development VM; the writer's
/// round trip; the batch's id lookup) are a small share of writing 10,000 rows (~50 ms); small
/// enough that a batch — its records, problems and SQL arguments, a few MB — keeps the import's
/// memory flat.
pub const BATCH_ROWS: usize = 10_000;

/// Batches waiting between the reading thread and the writer: with the one being filled and
/// the one being written, at most `BATCHES_QUEUED + 2` batches are in memory. One is enough to
/// keep the writer busy while the next is read.
const BATCHES_QUEUED: usize = 1;

/// Time between progress lines on standard error: an import shorter than this prints none.
const PROGRESS_EVERY: Duration = Duration::from_secs(5);

/// Which reader a file needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Csv,
    GeoJson,
}

/// What one import did.
#[derive(Debug)]
pub struct Summary {
    /// The reader's report (rows read, imported, skipped by reason).
    pub report: ImportReport,
    /// Problems stored by this import.
    pub inserted: usize,
    /// Records the store already had (an earlier import, or a repeat within this file).
    pub skipped: usize,
}

/// Imports the problems of the file `open` opens (called once per pass; it must give the same
/// bytes both times). `batch_rows` is [`BATCH_ROWS`] but for tests; `after_batch` is called
/// after each stored batch with the number of records handed to the store so far.
pub async fn import_problems<R>(
    open: impl Fn() -> Result<R> + Send + Sync + 'static,
    format: Format,
    mapping: Arc<Mapping>,
    categories: Arc<CategoryTable>,
    store: &Store,
    batch_rows: usize,
    mut after_batch: impl FnMut(usize),
) -> Result<Summary>
where
    R: Read + Send + 'static,
{
    let open = Arc::new(open);
    let batch_rows = batch_rows.max(1);

    // Pass 1: validate every row, keep nothing.
    let checked = {
        let (open, mapping, categories) = (open.clone(), mapping.clone(), categories.clone());
        tokio::task::spawn_blocking(move || {
            let mut progress = Progress::new("已校验", "checked");
            each_record(open()?, format, &mapping, &categories, |_, read| {
                progress.tick(read, None);
                Ok(())
            })
        })
        .await
        .context("the checking pass panicked")??
    };

    // Pass 2: read again and write batch by batch.
    let (tx, mut rx) = tokio::sync::mpsc::channel::<Vec<(Problem, String)>>(BATCHES_QUEUED);
    let read = Arc::new(AtomicUsize::new(0));
    let reader = {
        let (read, mapping, categories) = (read.clone(), mapping.clone(), categories.clone());
        tokio::task::spawn_blocking(move || {
            let mut batch = Vec::with_capacity(batch_rows);
            let report = each_record(open()?, format, &mapping, &categories, |item, n| {
                read.store(n, Ordering::Relaxed);
                batch.push(item);
                if batch.len() >= batch_rows {
                    let full = std::mem::replace(&mut batch, Vec::with_capacity(batch_rows));
                    // A closed channel means the writer failed: its error is the one to tell.
                    tx.blocking_send(full)
                        .map_err(|_| anyhow!("the writer stopped"))?;
                }
                Ok(())
            })?;
            if !batch.is_empty() {
                tx.blocking_send(batch)
                    .map_err(|_| anyhow!("the writer stopped"))?;
            }
            Ok::<_, anyhow::Error>(report)
        })
    };
    // Imported problems are worded like reported ones, from the street's stored basemap.
    let places = civmap_app::tiles::basemap::gazetteer(&store.load_basemap().await?);
    let mut progress = Progress::new("已读", "read");
    let (mut inserted, mut skipped) = (0, 0);
    let mut written = Ok(());
    while let Some(mut batch) = rx.recv().await {
        for (p, _) in &mut batch {
            p.place = places.describe(p.location.lon(), p.location.lat());
        }
        match store.import_problems(batch, &mapping.source).await {
            Ok(o) => {
                inserted += o.inserted;
                skipped += o.skipped;
                after_batch(inserted + skipped);
                progress.tick(read.load(Ordering::Relaxed), Some(inserted + skipped));
            }
            Err(e) => {
                written = Err(e);
                break;
            }
        }
    }
    drop(rx);
    let read_result = reader.await.context("the reading pass panicked")?;
    written.with_context(|| {
        format!("storing problems (the {inserted} stored before this error stay; importing the file again stores the rest)")
    })?;
    let report =
        read_result.context("the file changed between the checking and the writing pass")?;
    debug_assert_eq!(report.read, checked.read);
    Ok(Summary {
        report,
        inserted,
        skipped,
    })
}

/// Reads `input` and calls `f` with each usable record, validated, and the rows read so far.
fn each_record(
    input: impl Read,
    format: Format,
    mapping: &Mapping,
    categories: &CategoryTable,
    mut f: impl FnMut((Problem, String), usize) -> Result<()>,
) -> Result<ImportReport> {
    let now = Utc::now();
    let mut one = |r: ProblemRecord, read: usize| -> Result<()> {
        let p = r
            .to_new_problem()
            .validate(categories, None, r.reported_at.unwrap_or(now))
            .with_context(|| format!("record {} (line/feature {})", r.external_id, r.origin))?;
        f((p, r.external_id), read)
    };
    match format {
        Format::Csv => {
            let mut rows = CsvProblems::new(input, mapping, categories)?;
            while let Some(r) = rows.next() {
                one(r?, rows.rows_read())?;
            }
            Ok(rows.report())
        }
        Format::GeoJson => {
            import::each_geojson_problem(input, mapping, categories, one).map_err(|e| match e {
                import::Stop::File(e) => anyhow::Error::from(e),
                import::Stop::Caller(e) => e,
            })
        }
    }
}

/// Progress lines on standard error, at most one per [`PROGRESS_EVERY`].
struct Progress {
    zh: &'static str,
    en: &'static str,
    last: Instant,
}

impl Progress {
    fn new(zh: &'static str, en: &'static str) -> Self {
        Progress {
            zh,
            en,
            last: Instant::now(),
        }
    }

    fn tick(&mut self, read: usize, stored: Option<usize>) {
        if self.last.elapsed() < PROGRESS_EVERY {
            return;
        }
        self.last = Instant::now();
        let (zh, en) = (self.zh, self.en);
        let read = thousands(read);
        match stored {
            None => eprintln!("civmap: {zh} {read} 行 / {en} {read} rows"),
            Some(s) => {
                let s = thousands(s);
                eprintln!("civmap: {zh} {read} 行，已存 {s} 行 / {en} {read} rows, stored {s}");
            }
        }
    }
}

/// `1234567` as `1,234,567`.
fn thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::pedantic)]
mod tests {
    use std::sync::Mutex;
    use std::sync::atomic::AtomicU64;

    use civmap_store::StoreOptions;

    use super::*;

    /// A CSV file (or a GeoJSON FeatureCollection) of `rows` data rows (features) made on the
    /// fly, one per `read` call, never held whole; counts the rows it has handed out. `bad_at`
    /// replaces that row with an unterminated quote (a feature that is not a Feature).
    struct Generated {
        next: usize,
        rows: usize,
        bad_at: Option<usize>,
        pending: Vec<u8>,
        produced: Arc<AtomicU64>,
        format: Format,
    }

    impl Generated {
        fn row(&self, i: usize) -> Vec<u8> {
            let lon = 121.30 + (i % 1000) as f64 * 1e-4;
            let lat = 31.10 + (i / 1000) as f64 * 1e-4;
            let sep = if i > 1 { "," } else { "" };
            match (self.format, self.bad_at == Some(i)) {
                (Format::Csv, true) => b"\"broken,row\n".to_vec(),
                (Format::Csv, false) => {
                    format!("gen-{i},{lon:.7},{lat:.7},garbage,generated row {i}\n").into_bytes()
                }
                (Format::GeoJson, true) => format!("{sep}{{\"type\":\"Nope\"}}\n").into_bytes(),
                (Format::GeoJson, false) => format!(
                    "{sep}{{\"type\":\"Feature\",\"geometry\":{{\"type\":\"Point\",\"coordinates\":[{lon:.7},{lat:.7}]}},\"properties\":{{\"key\":\"gen-{i}\",\"category\":\"garbage\",\"text\":\"generated row {i}\"}}}}\n"
                )
                .into_bytes(),
            }
        }
    }

    impl Read for Generated {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            if self.pending.is_empty() {
                if self.next == 0 {
                    self.pending = match self.format {
                        Format::Csv => b"key,lon,lat,category,text\n".to_vec(),
                        Format::GeoJson => {
                            b"{\"type\":\"FeatureCollection\",\"features\":[\n".to_vec()
                        }
                    };
                } else if self.next <= self.rows {
                    self.pending = self.row(self.next);
                    self.produced.fetch_add(1, Ordering::SeqCst);
                } else if self.next == self.rows + 1 && self.format == Format::GeoJson {
                    self.pending = b"]}\n".to_vec();
                } else {
                    return Ok(0);
                }
                self.next += 1;
            }
            let n = buf.len().min(self.pending.len());
            buf[..n].copy_from_slice(&self.pending[..n]);
            self.pending.drain(..n);
            Ok(n)
        }
    }

    fn mapping() -> Arc<Mapping> {
        Arc::new(
            Mapping::from_toml(
                r#"
                source = "gen"
                id = "key"
                lon = "lon"
                lat = "lat"
                category = "category"
                description = ["text"]
                [categories]
                garbage = "garbage"
                "#,
            )
            .unwrap(),
        )
    }

    async fn store(name: &str) -> (Store, std::path::PathBuf) {
        let dir = std::env::temp_dir().join(format!(
            "civmap-problem-import-{name}-{}",
            std::process::id()
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let url = format!("sqlite://{}", dir.join("t.db").display());
        (
            Store::open(&url, StoreOptions::default()).await.unwrap(),
            dir,
        )
    }

    /// Imports `rows` generated rows in batches of `batch`; answers the summary and the most
    /// rows the writing pass had read but not yet handed to the store, seen after each batch.
    async fn run(
        store: &Store,
        rows: usize,
        bad_at: Option<usize>,
        batch: usize,
    ) -> (Result<Summary>, u64) {
        run_as(Format::Csv, store, rows, bad_at, batch).await
    }

    async fn run_as(
        format: Format,
        store: &Store,
        rows: usize,
        bad_at: Option<usize>,
        batch: usize,
    ) -> (Result<Summary>, u64) {
        let produced = Arc::new(AtomicU64::new(0));
        let opened = {
            let produced = produced.clone();
            move || {
                // Each pass reads a fresh copy of the file: count this one's rows only.
                produced.store(0, Ordering::SeqCst);
                Ok(Generated {
                    next: 0,
                    rows,
                    bad_at,
                    pending: Vec::new(),
                    produced: produced.clone(),
                    format,
                })
            }
        };
        let peak = Mutex::new(0u64);
        let summary = import_problems(
            opened,
            format,
            mapping(),
            Arc::new(CategoryTable::builtin()),
            store,
            batch,
            |stored| {
                let held = produced.load(Ordering::SeqCst) - stored as u64;
                let mut p = peak.lock().unwrap();
                *p = (*p).max(held);
            },
        )
        .await;
        let peak = *peak.lock().unwrap();
        (summary, peak)
    }

    /// The old import read the whole file before storing anything: with 20,000 rows its
    /// first write came after all 20,000 were read. Streaming, the rows read but not yet
    /// stored stay within the batches in flight, whatever the file's length.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_long_file_is_held_a_few_batches_at_a_time() {
        const ROWS: usize = 20_000;
        const BATCH: usize = 100;
        let (store, dir) = store("bounded").await;
        let (summary, peak) = run(&store, ROWS, None, BATCH).await;
        let summary = summary.unwrap();
        assert_eq!(summary.report.read, ROWS);
        assert_eq!(summary.inserted, ROWS);
        // One batch being filled, BATCHES_QUEUED waiting, one being written, and the row
        // the reader's buffer holds ahead.
        let bound = ((BATCHES_QUEUED + 2) * BATCH + 1) as u64;
        assert!(peak > 0, "no batch was observed");
        assert!(
            peak <= bound,
            "{peak} rows read but not yet stored at once; at most {bound} may be"
        );
        assert_eq!(store.load_problems().await.unwrap().len(), ROWS);

        // Again: the store's key skips every row, nothing new.
        let (again, _) = run(&store, ROWS, None, BATCH).await;
        let again = again.unwrap();
        assert_eq!((again.inserted, again.skipped), (0, ROWS));
        assert_eq!(store.load_problems().await.unwrap().len(), ROWS);
        store.close().await;
        let _ = std::fs::remove_dir_all(dir);
    }

    /// A malformed row near the end stops the import at its row number before any batch is
    /// written, though many batches' worth of good rows come before it.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_malformed_row_late_in_a_long_file_writes_nothing() {
        let (store, dir) = store("malformed").await;
        let (summary, _) = run(&store, 5_000, Some(4_900), 100).await;
        let err = format!("{:#}", summary.unwrap_err());
        // Data row 4,900 is the file's row 4,901 (the header is row 1).
        assert!(err.contains("4901"), "{err}");
        assert_eq!(store.load_problems().await.unwrap().len(), 0);
        store.close().await;
        let _ = std::fs::remove_dir_all(dir);
    }

    /// A GeoJSON FeatureCollection streams like a CSV file: the old import parsed the whole
    /// `features` array before storing anything (20,000 features read before the first write);
    /// now the features read but not yet stored stay within the batches in flight.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_long_geojson_file_is_held_a_few_batches_at_a_time() {
        const ROWS: usize = 20_000;
        const BATCH: usize = 100;
        let (other, dir2) = store("geojson-bad").await;
        let (store, dir) = store("geojson").await;
        let (summary, peak) = run_as(Format::GeoJson, &store, ROWS, None, BATCH).await;
        let summary = summary.unwrap();
        assert_eq!(summary.report.read, ROWS);
        assert_eq!(summary.inserted, ROWS);
        // As for CSV, plus the feature serde_json's buffered reader has read ahead.
        let bound = ((BATCHES_QUEUED + 2) * BATCH + 2) as u64;
        assert!(peak > 0, "no batch was observed");
        assert!(
            peak <= bound,
            "{peak} features read but not yet stored at once; at most {bound} may be"
        );
        let stored = store.load_problems().await.unwrap();
        assert_eq!(stored.len(), ROWS);
        assert!(stored.iter().any(|p| p.description == "generated row 777"));
        // A malformed feature late in the file stops it before anything is written.
        let (summary, _) = run_as(Format::GeoJson, &other, 5_000, Some(4_900), BATCH).await;
        let err = format!("{:#}", summary.unwrap_err());
        // Feature 4,900 of the file is feature #4899 counted from 0.
        assert!(err.contains("feature #4899"), "{err}");
        assert_eq!(other.load_problems().await.unwrap().len(), 0);
        for (s, d) in [(store, dir), (other, dir2)] {
            s.close().await;
            let _ = std::fs::remove_dir_all(d);
        }
    }

    #[test]
    fn thousands_are_grouped() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1_200_000), "1,200,000");
    }
}
