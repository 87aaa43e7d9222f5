//! Running outside clients written in Python (`OWSLib`, `openapi-spec-validator`) from tests.
//!
//! A test that needs one calls [`module`]: when `python3` is missing, or the package is neither
//! installed nor installable with `pip`, it prints why on stderr and returns `false`, and the
//! test returns early (skipped loudly, never silently passed on a machine that has Python).

use std::path::PathBuf;
use std::process::Command;

/// The directory of the Python scripts (`tests/clients`).
pub fn scripts() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/clients")
}

fn importable(module: &str) -> bool {
    Command::new("python3")
        .args(["-c", &format!("import {module}")])
        .output()
        .is_ok_and(|o| o.status.success())
}

/// Whether `python3` can import `module`, installing the pip package `package` when it cannot.
pub fn module(module: &str, package: &str) -> bool {
    if Command::new("python3").arg("--version").output().is_err() {
        eprintln!("SKIPPED: python3 is not available; this test needs {package}");
        return false;
    }
    if importable(module) {
        return true;
    }
    let pip = Command::new("python3")
        .args(["-m", "pip", "install", "--quiet", package])
        .output();
    match pip {
        Ok(o) if o.status.success() && importable(module) => true,
        Ok(o) => {
            eprintln!(
                "SKIPPED: `pip install {package}` failed: {}",
                String::from_utf8_lossy(&o.stderr)
            );
            false
        }
        Err(e) => {
            eprintln!("SKIPPED: cannot run pip to install {package}: {e}");
            false
        }
    }
}

/// Runs `tests/clients/<script>` with `args`; panics with its output when it fails. Returns
/// its standard output.
pub fn run(script: &str, args: &[&str]) -> String {
    let out = Command::new("python3")
        .arg(scripts().join(script))
        .args(args)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{script} failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

/// The errors of each of `instances` against the JSON Schema `schema` (python-jsonschema, formats
/// checked): an empty list for a valid one. `None` when python-jsonschema cannot be had — the
/// caller skips its check, loudly (this function says so on stderr).
pub fn schema_errors(
    schema: &serde_json::Value,
    instances: &[serde_json::Value],
) -> Option<Vec<Vec<String>>> {
    if !module("jsonschema", "jsonschema") {
        return None;
    }
    let dir = tempfile::tempdir().unwrap();
    let (s, i) = (
        dir.path().join("schema.json"),
        dir.path().join("instances.json"),
    );
    std::fs::write(&s, serde_json::to_vec(schema).unwrap()).unwrap();
    std::fs::write(&i, serde_json::to_vec(instances).unwrap()).unwrap();
    let out = run(
        "validate_json.py",
        &[s.to_str().unwrap(), i.to_str().unwrap()],
    );
    Some(serde_json::from_str(&out).unwrap())
}
