//! Photo bytes on disk, named by their sha256 (content-addressed): `<dir>/<first two hex
//! digits>/<64 hex digits>`. A file, once there, never changes, so the directory can be copied
//! with any tool at any time.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use sha2::{Digest as _, Sha256};

use crate::error::StoreError;
use crate::types::PhotoMeta;

/// Where the photo `id` lives under `dir`; refuses anything but 64 lower-case hex digits.
pub(crate) fn path(dir: &Path, id: &str) -> Result<PathBuf, StoreError> {
    if id.len() != 64
        || !id
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    {
        return Err(StoreError::Invalid(format!(
            "photo id {:?} is not 64 lower-case hex digits",
            id.chars().take(80).collect::<String>()
        )));
    }
    Ok(dir.join(&id[..2]).join(id))
}

/// Lower-case hex sha256 of `bytes`.
#[must_use]
pub(crate) fn sha256_hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    let digest = Sha256::digest(bytes);
    let mut s = String::with_capacity(64);
    for b in digest {
        // Writing to a String cannot fail.
        let _ = write!(s, "{b:02x}");
    }
    s
}

fn check_mime(mime: &str) -> Result<(), StoreError> {
    let ok = (3..=100).contains(&mime.len())
        && mime.contains('/')
        && mime.bytes().all(|b| b.is_ascii_graphic());
    if ok {
        Ok(())
    } else {
        Err(StoreError::Invalid(format!(
            "photo media type {:?} is not of the form type/subtype",
            mime.chars().take(100).collect::<String>()
        )))
    }
}

/// Writes the bytes (if not there already) and describes them.
pub(crate) async fn write(
    dir: &Path,
    bytes: &[u8],
    mime: &str,
    width: u32,
    height: u32,
) -> Result<PhotoMeta, StoreError> {
    check_mime(mime)?;
    if bytes.is_empty() {
        return Err(StoreError::Invalid("photo is empty".into()));
    }
    let id = sha256_hex(bytes);
    let target = path(dir, &id)?;
    let data = bytes.to_vec();
    let len = data.len() as u64;
    let shown = target.clone();
    tokio::task::spawn_blocking(move || write_atomic(&target, &data))
        .await
        .map_err(|e| StoreError::Internal(format!("photo writer task: {e}")))?
        .map_err(|e| StoreError::io(&shown, &e))?;
    Ok(PhotoMeta {
        id,
        mime: mime.to_owned(),
        width,
        height,
        bytes: len,
        created_at: crate::codec::ms_precision(chrono::Utc::now()),
    })
}

static TEMP_COUNTER: AtomicU64 = AtomicU64::new(0);

/// Temporary file, fsync, rename over the target, fsync of the directory: after a crash the
/// target is either absent or complete.
pub(crate) fn write_atomic(target: &Path, data: &[u8]) -> std::io::Result<()> {
    if std::fs::metadata(target).is_ok_and(|m| m.len() == data.len() as u64) {
        // Content-addressed: same name and size means the same bytes are there already.
        return Ok(());
    }
    let parent = target
        .parent()
        .ok_or_else(|| std::io::Error::other("photo path has no directory"))?;
    std::fs::create_dir_all(parent)?;
    let name = target
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("photo");
    let tmp = parent.join(format!(
        ".{name}.{}.{}.tmp",
        std::process::id(),
        TEMP_COUNTER.fetch_add(1, Ordering::Relaxed)
    ));
    let result = (|| {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(data)?;
        f.sync_all()?;
        drop(f);
        std::fs::rename(&tmp, target)?;
        sync_dir(parent)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// Makes a rename in `dir` durable.
pub(crate) fn sync_dir(dir: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        std::fs::File::open(dir)?.sync_all()
    }
    #[cfg(not(unix))]
    {
        let _ = dir;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sha256_of_known_input() {
        // FIPS 180-2 example "abc".
        assert_eq!(
            sha256_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn paths_cannot_escape() {
        let d = Path::new("/photos");
        let id = sha256_hex(b"x");
        assert_eq!(path(d, &id).unwrap(), d.join(&id[..2]).join(&id));
        for bad in [
            "../../etc/passwd",
            "",
            &id.to_uppercase(),
            &format!("{}/", &id[..63]),
        ] {
            assert!(path(d, bad).is_err(), "{bad}");
        }
        assert!(check_mime("image/jpeg").is_ok());
        assert!(check_mime("jpeg").is_err());
        assert!(check_mime("image/jpeg; x=\n").is_err());
    }
}
