//! Makes sure the web front end is built before `src/web.rs` embeds it: when
//! `web/dist/index.html` is missing, runs the web build (`npm ci`, or `npm install` without a
//! lock file, then `npm run build` in `web/`) if npm is installed, and otherwise stops with one
//! message saying what to run. Cargo runs this again only when something under `web/dist`
//! changes (or is removed), so an unchanged front end costs nothing.

use std::path::{Path, PathBuf};
use std::process::Command;

fn main() {
    let manifest = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").unwrap_or_default());
    let web = manifest.join("../../web");
    let dist = web.join("dist");
    println!("cargo:rerun-if-changed={}", dist.display());
    if dist.join("index.html").is_file() {
        return;
    }
    if let Err(message) = build_web(&web) {
        // Shown by cargo as the build script's error; one clear line of what to do.
        eprintln!(
            "error: the web front end is not built ({} is missing) and cannot be built here: {message}. \
             Install Node.js 20.19+ with npm, then run `npm ci && npm run build` in web/ \
             (or `cargo xtask web`), and build again.",
            dist.join("index.html").display()
        );
        std::process::exit(1);
    }
}

/// `npm ci` (or `npm install`) and `npm run build` in `web`.
fn build_web(web: &Path) -> Result<(), String> {
    if !web.join("package.json").is_file() {
        return Err(format!(
            "there is no {}",
            web.join("package.json").display()
        ));
    }
    let npm = if cfg!(windows) { "npm.cmd" } else { "npm" };
    let found = Command::new(npm)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !found {
        return Err("npm was not found on PATH".into());
    }
    let install: &[&str] = if web.join("package-lock.json").is_file() {
        &["ci", "--no-audit", "--no-fund"]
    } else {
        &["install", "--no-audit", "--no-fund"]
    };
    println!(
        "cargo:warning=web/dist is missing: running `npm {}` and `npm run build` in web/",
        install[0]
    );
    for args in [install, &["run", "build"][..]] {
        let status = Command::new(npm)
            .args(args)
            .current_dir(web)
            // Cargo reads this script's standard output for its directives: npm talks on stderr.
            .stdout(std::io::stderr())
            .status()
            .map_err(|e| format!("cannot run npm {}: {e}", args.join(" ")))?;
        if !status.success() {
            return Err(format!(
                "`npm {}` in web/ failed ({status})",
                args.join(" ")
            ));
        }
    }
    if web.join("dist/index.html").is_file() {
        Ok(())
    } else {
        Err("`npm run build` wrote no dist/index.html".into())
    }
}
