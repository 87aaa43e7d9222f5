//! Every integration-test file is compiled: each crate builds its `tests/*.rs` as modules of one
//! binary (`tests/main.rs`, `autotests = false` in its Cargo.toml; the e2e tests likewise in
//! `tests/e2e/main.rs`), so a file that `main.rs` does not declare with `mod name;` would never
//! be compiled or run. `cargo xtask test` checks it before the long steps.

use std::path::Path;

/// The test folders built as one binary each, from the workspace root.
fn test_dirs(root: &Path) -> Vec<std::path::PathBuf> {
    let mut dirs: Vec<_> = std::fs::read_dir(root.join("crates"))
        .into_iter()
        .flatten()
        .filter_map(Result::ok)
        .map(|e| e.path().join("tests"))
        .filter(|d| d.join("main.rs").is_file())
        .collect();
    dirs.push(root.join("tests/e2e"));
    dirs.sort();
    dirs
}

/// The `tests/*.rs` files of `dir` that its `main.rs` does not declare.
fn undeclared(dir: &Path) -> Result<Vec<String>, String> {
    let main = std::fs::read_to_string(dir.join("main.rs"))
        .map_err(|e| format!("{}: {e}", dir.join("main.rs").display()))?;
    let declared: Vec<&str> = main
        .lines()
        .filter_map(|l| l.trim().strip_prefix("mod ")?.strip_suffix(';'))
        .collect();
    let mut missing = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(|e| format!("{}: {e}", dir.display()))? {
        let path = entry.map_err(|e| e.to_string())?.path();
        let (Some(stem), Some("rs")) = (
            path.file_stem().and_then(|s| s.to_str()),
            path.extension().and_then(|s| s.to_str()),
        ) else {
            continue;
        };
        if stem != "main" && !declared.contains(&stem) {
            missing.push(path.display().to_string());
        }
    }
    missing.sort();
    Ok(missing)
}

/// Fails naming every test file no `main.rs` declares.
pub fn run(root: &Path) -> Result<(), String> {
    let mut missing = Vec::new();
    for dir in test_dirs(root) {
        if dir.join("main.rs").is_file() {
            missing.extend(undeclared(&dir)?);
        }
    }
    if missing.is_empty() {
        eprintln!("xtask: every integration-test file is declared in its main.rs");
        Ok(())
    } else {
        Err(format!(
            "these test files are not declared in their tests/main.rs (add `mod NAME;`), so they would never run:\n  {}",
            missing.join("\n  ")
        ))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn a_file_left_out_of_main_is_named() {
        let dir = std::env::temp_dir().join(format!("xtask-declared-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("main.rs"), "mod common;\nmod alpha;\n").unwrap();
        for f in ["alpha.rs", "beta.rs", "notes.txt"] {
            std::fs::write(dir.join(f), "").unwrap();
        }
        let missing = undeclared(&dir).unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
        assert_eq!(missing.len(), 1, "{missing:?}");
        assert!(missing[0].ends_with("beta.rs"));
    }

    #[test]
    fn this_workspace_declares_every_test_file() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        run(&root).unwrap();
    }
}
