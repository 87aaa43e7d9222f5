//! The error of the OSM readers.

use std::path::PathBuf;

/// Errors of the OSM readers. Each names the file position or element that is wrong.
#[derive(Debug, thiserror::Error)]
pub enum OsmError {
    /// The file could not be opened or read.
    #[error("cannot read OSM file {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// An I/O error while reading a stream (no path known).
    #[error("cannot read OSM data: {0}")]
    Stream(#[from] std::io::Error),
    /// The content is neither PBF, XML nor gzipped XML.
    #[error(
        "{path}: not an OpenStreetMap file (expected PBF, XML or gzipped XML; first bytes {head})"
    )]
    UnknownFormat {
        /// The file.
        path: PathBuf,
        /// The first bytes, in hex.
        head: String,
    },
    /// Malformed XML, or XML that is not valid OSM (missing id, bad coordinate, ...).
    #[error("malformed OSM XML at byte {offset}{}{}: {message}", line.map(|l| format!(" (line {l})")).unwrap_or_default(), element.as_ref().map(|e| format!(" in {e}")).unwrap_or_default())]
    Xml {
        /// Byte offset in the (decompressed) XML where the problem was found.
        offset: u64,
        /// 1-based line of `offset`, when the reader could compute it (files read by [`read_path`]).
        line: Option<u64>,
        /// The element being read, e.g. `<way id="42">`.
        element: Option<String>,
        /// What is wrong.
        message: String,
    },
    /// Malformed PBF.
    #[error("malformed OSM PBF in blob #{blob}: {message}")]
    Pbf {
        /// 0-based index of the file block (blob) that failed.
        blob: usize,
        /// What is wrong.
        message: String,
    },
}
