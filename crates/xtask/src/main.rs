//! civmap's task runner, so the README needs only two commands on a fresh machine:
//!
//! * `cargo xtask demo [ARGS]` — installs the web front end's packages, builds it, builds civmap in
//!   release mode and runs `civmap serve --demo` on the embedded SQLite store (extra ARGS are passed
//!   to `serve`, e.g. `--addr 0.0.0.0:8080`).
//! * `cargo xtask test` — every check CI runs: formatting, import cycles between files, clippy,
//!   the web type-check and build, all Rust tests (unit, property, doc, integration, end-to-end)
//!   and the browser tests.
//! * `cargo xtask cycles [CRATE_DIR...]` — the import-cycle check alone (see [`cycles`]).
//!
//! Only the standard library is used so this builds in seconds.

use std::env;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};

mod cycles;
mod declared;

fn main() -> ExitCode {
    let args: Vec<String> = env::args().skip(1).collect();
    let root = workspace_root();
    let result = match args.first().map(String::as_str) {
        Some("demo") => demo(&root, &args[1..]),
        Some("test") => test(&root, &args[1..]),
        Some("web") => build_web(&root),
        Some("cycles") => cycles::run(&root, &args[1..]),
        _ => {
            eprintln!(
                "usage: cargo xtask demo [serve args]   build and run the demo on SQLite\n       \
                 cargo xtask test [--no-browser]  run every test\n       \
                 cargo xtask cycles [CRATE_DIR...] find import cycles between files\n       \
                 cargo xtask web                  install and build the web front end"
            );
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("xtask: {e}");
            ExitCode::FAILURE
        }
    }
}

fn workspace_root() -> PathBuf {
    let here = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    here.ancestors()
        .nth(2)
        .map_or_else(|| here.clone(), Path::to_path_buf)
}

fn run(cmd: &mut Command) -> Result<(), String> {
    eprintln!("xtask: running {}", describe(cmd));
    let status = cmd
        .status()
        .map_err(|e| format!("cannot start {}: {e}", describe(cmd)))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("{} failed ({status})", describe(cmd)))
    }
}

fn describe(cmd: &Command) -> String {
    let mut s = cmd.get_program().to_string_lossy().into_owned();
    for a in cmd.get_args() {
        s.push(' ');
        s.push_str(&a.to_string_lossy());
    }
    s
}

fn have(program: &str) -> bool {
    Command::new(program)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Installs the web front end's npm packages (as locked) and builds it into `web/dist`.
fn build_web(root: &Path) -> Result<(), String> {
    let web = root.join("web");
    if !web.join("package.json").exists() {
        eprintln!("xtask: no web/package.json yet; skipping the web build");
        return Ok(());
    }
    if !have("npm") {
        return Err("npm is needed to build the web front end (Node 20+): install Node.js".into());
    }
    npm_install(&web)?;
    run(Command::new("npm").args(["run", "build"]).current_dir(&web))
}

/// Installs the npm packages of `dir` at the versions its `package-lock.json` pins.
///
/// `npm install` rather than `npm ci`: npm 11 writes lock files that leave out the optional
/// per-platform packages of other machines (rollup's native binaries), and `npm ci` then refuses
/// the lock file as out of sync on a clean clone. `npm install` honours the pinned versions.
fn npm_install(dir: &Path) -> Result<(), String> {
    run(Command::new("npm")
        .args(["install", "--no-audit", "--no-fund"])
        .current_dir(dir))
}

fn demo(root: &Path, extra: &[String]) -> Result<(), String> {
    build_web(root)?;
    let mut cmd = Command::new(env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    cmd.current_dir(root)
        .args([
            "run",
            "--release",
            "--package",
            "civmap",
            "--",
            "serve",
            "--demo",
        ])
        .args(extra);
    run(&mut cmd)
}

/// Totals of the test runners, for the closing line CI reads.
#[derive(Default)]
struct Tally {
    passed: u64,
    failed: u64,
    skipped: u64,
}

fn test(root: &Path, args: &[String]) -> Result<(), String> {
    let cargo = env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let no_browser = args.iter().any(|a| a == "--no-browser");
    let mut tally = Tally::default();

    run(Command::new(&cargo)
        .current_dir(root)
        .args(["fmt", "--all", "--check"]))?;
    // Seconds, and it fails on what review would reject anyway: before the long steps.
    eprintln!("xtask: checking import cycles between files");
    cycles::run(root, &[])?;
    declared::run(root)?;
    run(Command::new(&cargo).current_dir(root).args([
        "clippy",
        "--workspace",
        "--all-targets",
        "--",
        "-D",
        "warnings",
    ]))?;
    if root.join("web/package.json").exists() {
        build_web(root)?;
        run(Command::new("npm")
            .args(["run", "check"])
            .current_dir(root.join("web")))?;
    }

    if env::var_os("CIVMAP_TEST_POSTGRES").is_none() {
        eprintln!(
            "\nxtask: ************************************************************************\n\
             xtask: SKIPPING the PostgreSQL tests: CIVMAP_TEST_POSTGRES is not set.\n\
             xtask: Set it to run them, e.g.\n\
             xtask:   CIVMAP_TEST_POSTGRES=postgres://postgres@127.0.0.1:5432/test cargo xtask test\n\
             xtask: ************************************************************************\n"
        );
    }

    let result = if have_nextest(&cargo) {
        run_counted(
            Command::new(&cargo).current_dir(root).args([
                "nextest",
                "run",
                "--workspace",
                "--no-fail-fast",
            ]),
            &mut tally,
        )
    } else {
        run_counted(
            Command::new(&cargo).current_dir(root).args([
                "test",
                "--workspace",
                "--lib",
                "--bins",
                "--tests",
            ]),
            &mut tally,
        )
    };
    // Doc tests: nextest does not run them.
    let doc = run_counted(
        Command::new(&cargo)
            .current_dir(root)
            .args(["test", "--workspace", "--doc"]),
        &mut tally,
    );

    let browser = if no_browser || !root.join("tests/browser/package.json").exists() {
        Ok(())
    } else {
        browser_tests(root, &mut tally)
    };

    println!(
        "xtask: {} passed, {} failed, {} skipped",
        tally.passed, tally.failed, tally.skipped
    );
    result.and(doc).and(browser)
}

fn have_nextest(cargo: &str) -> bool {
    Command::new(cargo)
        .args(["nextest", "--version"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Runs a test runner, echoing its output and adding up the counts in its summary lines
/// (`test result: ok. N passed; M failed; K ignored` from libtest and `N tests run: N passed,
/// M failed, K skipped` from nextest; node's runner prints `# pass N` / `# fail N`).
fn run_counted(cmd: &mut Command, tally: &mut Tally) -> Result<(), String> {
    eprintln!("xtask: running {}", describe(cmd));
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot start {}: {e}", describe(cmd)))?;
    let stdout = child.stdout.take().ok_or("no stdout")?;
    let stderr = child.stderr.take().ok_or("no stderr")?;
    let err_thread = std::thread::spawn(move || {
        let mut lines = Vec::new();
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            eprintln!("{line}");
            lines.push(line);
        }
        lines
    });
    let mut lines = Vec::new();
    for line in BufReader::new(stdout).lines().map_while(Result::ok) {
        println!("{line}");
        let _ = std::io::stdout().flush();
        lines.push(line);
    }
    lines.extend(err_thread.join().unwrap_or_default());
    for line in &lines {
        count_line(line, tally);
    }
    let status = child
        .wait()
        .map_err(|e| format!("waiting for {}: {e}", describe(cmd)))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("{} failed ({status})", describe(cmd)))
    }
}

fn number_before(text: &str, word: &str) -> Option<u64> {
    let idx = text.find(word)?;
    text[..idx].split_whitespace().last()?.parse().ok()
}

fn count_line(line: &str, tally: &mut Tally) {
    let line = line.trim();
    if let Some(rest) = line.strip_prefix("test result:") {
        tally.passed += number_before(rest, " passed").unwrap_or(0);
        tally.failed += number_before(rest, " failed").unwrap_or(0);
        tally.skipped += number_before(rest, " ignored").unwrap_or(0);
    } else if line.starts_with("Summary [") && line.contains("tests run:") {
        let rest = &line[line.find("tests run:").unwrap_or(0)..];
        tally.passed += number_before(rest, " passed").unwrap_or(0);
        tally.failed += number_before(rest, " failed").unwrap_or(0);
        tally.skipped += number_before(rest, " skipped").unwrap_or(0);
    } else if let Some(n) = line.strip_prefix("# pass ") {
        tally.passed += n.trim().parse::<u64>().unwrap_or(0);
    } else if let Some(n) = line.strip_prefix("# fail ") {
        tally.failed += n.trim().parse::<u64>().unwrap_or(0);
    }
}

/// Runs apt-get, waiting for another apt or dpkg process (an unattended upgrade, a second
/// installer) to let go of its locks instead of failing at once: up to 30 tries, 10 s apart.
fn apt_get(args: &[&str]) -> Result<(), String> {
    let mut tries = 0;
    loop {
        tries += 1;
        match run(Command::new("apt-get")
            .args(["-o", "DPkg::Lock::Timeout=300"])
            .args(args))
        {
            Ok(()) => return Ok(()),
            Err(e) if tries >= 30 => return Err(e),
            Err(e) => {
                eprintln!("xtask: {e}; trying again in 10 s (try {tries} of 30)");
                std::thread::sleep(std::time::Duration::from_secs(10));
            }
        }
    }
}

/// The browser tests: Playwright (`playwright-core`, no browser download) driving Debian's
/// Chromium against the real server on demo data. Installs Chromium with apt-get when missing.
fn browser_tests(root: &Path, tally: &mut Tally) -> Result<(), String> {
    // Chromium, and a CJK font so the Chinese interface renders as text, not empty boxes.
    if !Path::new("/usr/bin/chromium").exists()
        || !Path::new("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc").exists()
    {
        eprintln!("xtask: installing Debian's chromium and fonts-wqy-microhei packages");
        apt_get(&["update"])?;
        apt_get(&[
            "install",
            "-y",
            "--no-install-recommends",
            "chromium",
            "fonts-wqy-microhei",
        ])?;
    }
    let dir = root.join("tests/browser");
    npm_install(&dir)?;
    let cargo = env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    // With the workspace's feature set, as the test build before made it: `--package civmap`
    // alone resolves features differently and compiles dozens of crates a second time.
    run(Command::new(&cargo)
        .current_dir(root)
        .args(["build", "--workspace", "--bins"]))?;
    // Every `*.test.mjs`, so each capability keeps its browser walk in its own file.
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .map_err(|e| format!("{}: {e}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.to_string_lossy().ends_with(".test.mjs"))
        .collect();
    files.sort();
    run_counted(
        Command::new("node")
            .args(["--test", "--test-reporter=tap"])
            .args(&files)
            .current_dir(&dir),
        tally,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_runner_summaries() {
        let mut t = Tally::default();
        count_line(
            "test result: ok. 15 passed; 2 failed; 1 ignored; 0 measured; 0 filtered out",
            &mut t,
        );
        count_line(
            "     Summary [  12.003s] 120 tests run: 118 passed, 2 failed, 3 skipped",
            &mut t,
        );
        count_line("# pass 4", &mut t);
        count_line("# fail 1", &mut t);
        assert_eq!((t.passed, t.failed, t.skipped), (137, 5, 4));
    }
}
