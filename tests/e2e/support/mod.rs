//! Helpers for the end-to-end tests: start the real `civmap` binary on `127.0.0.1:0`, read the
//! bound address from its log, talk HTTP to it, and stop or kill it.

#![allow(dead_code, clippy::unwrap_used, clippy::missing_panics_doc)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// A running `civmap serve`.
pub struct Server {
    child: Child,
    /// `http://127.0.0.1:PORT`
    pub base: String,
    log: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
}

/// The `civmap` binary cargo built for this test.
#[must_use]
pub fn binary() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_civmap"))
}

/// A `civmap` command with a quiet, machine-readable environment.
#[must_use]
pub fn civmap() -> Command {
    let mut cmd = Command::new(binary());
    cmd.env("RUST_LOG", "info").env_remove("CIVMAP_CONFIG");
    cmd
}

impl Server {
    /// Starts `civmap serve --addr 127.0.0.1:0 ARGS` and waits until it logs
    /// `listening on http://...` (at most 120 s; a start-up error fails the test with the log).
    pub fn start(args: &[&str]) -> Server {
        Self::start_in(args, None)
    }

    /// Like [`Server::start`], with a working directory.
    pub fn start_in(args: &[&str], cwd: Option<&Path>) -> Server {
        let mut cmd = civmap();
        cmd.arg("serve").args(["--addr", "127.0.0.1:0"]).args(args);
        if let Some(dir) = cwd {
            cmd.current_dir(dir);
        }
        let mut child = cmd
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start civmap");
        let log = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let (tx, rx) = mpsc::channel::<String>();
        for stream in [
            Box::new(child.stdout.take().unwrap()) as Box<dyn std::io::Read + Send>,
            Box::new(child.stderr.take().unwrap()),
        ] {
            let tx = tx.clone();
            let log = log.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(stream).lines().map_while(Result::ok) {
                    log.lock().unwrap().push(line.clone());
                    if let Some(i) = line.find("listening on http://") {
                        let url = line[i + "listening on ".len()..]
                            .split(|c: char| c.is_whitespace() || c == '"')
                            .next()
                            .unwrap()
                            .to_owned();
                        let _ = tx.send(url);
                    }
                }
            });
        }
        drop(tx);
        match rx.recv_timeout(Duration::from_secs(120)) {
            Ok(base) => Server { child, base, log },
            Err(_) => {
                let _ = child.kill();
                let _ = child.wait();
                panic!(
                    "civmap serve did not report its address; log:\n{}",
                    log.lock().unwrap().join("\n")
                );
            }
        }
    }

    #[must_use]
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Everything the server logged so far.
    #[must_use]
    pub fn log(&self) -> String {
        self.log.lock().unwrap().join("\n")
    }

    #[must_use]
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// SIGKILL: no chance to flush anything.
    pub fn kill9(mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }

    /// SIGTERM, then waits for the exit status.
    pub fn terminate(mut self) -> std::process::ExitStatus {
        let ok = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap()
            .success();
        assert!(ok, "kill -TERM failed");
        self.child.wait().unwrap()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A fresh temporary directory, removed when dropped.
pub struct TempDir(pub PathBuf);

impl TempDir {
    #[must_use]
    pub fn new(tag: &str) -> TempDir {
        let dir = std::env::temp_dir().join(format!(
            "civmap-e2e-{tag}-{}-{}",
            std::process::id(),
            uuid_like()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }

    #[must_use]
    pub fn path(&self) -> &Path {
        &self.0
    }

    #[must_use]
    pub fn db_url(&self, name: &str) -> String {
        format!("sqlite://{}", self.0.join(name).display())
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn uuid_like() -> String {
    use std::time::{SystemTime, UNIX_EPOCH};
    let n = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("{n:x}")
}
