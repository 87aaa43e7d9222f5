//! What civmap's tests share across crates (a dev-dependency only; nothing here ships).
//!
//! [`Relay`]: a TCP relay to a database server that a test cuts and restores, to play a lost
//! database — its host gone, a network partition — without stopping the real server that other
//! processes of the test still use.

use std::sync::{Arc, Mutex, PoisonError};

use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

/// A TCP relay from `127.0.0.1:port` to `target`, cut with [`Relay::cut`] and restored by
/// starting a new relay on the same port.
#[derive(Debug)]
pub struct Relay {
    /// The port clients connect to.
    pub port: u16,
    /// Where it relays to (`host:port`).
    pub target: String,
    tasks: Arc<Mutex<Vec<JoinHandle<()>>>>,
}

impl Relay {
    /// Listens on `127.0.0.1:port` (0: any free port) and relays every connection to `target`.
    /// Runs on the current tokio runtime.
    ///
    /// # Panics
    /// When the port cannot be bound: a test cannot go on without its relay.
    pub async fn start(target: String, port: u16) -> Relay {
        let listener = TcpListener::bind(("127.0.0.1", port))
            .await
            .expect("bind the relay's port");
        let port = listener.local_addr().expect("the relay's address").port();
        let tasks: Arc<Mutex<Vec<JoinHandle<()>>>> = Arc::default();
        let inner = tasks.clone();
        let to = target.clone();
        let accept = tokio::spawn(async move {
            while let Ok((mut client, _)) = listener.accept().await {
                let to = to.clone();
                let conn = tokio::spawn(async move {
                    if let Ok(mut server) = TcpStream::connect(&to).await {
                        let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                    }
                });
                inner
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .push(conn);
            }
        });
        tasks
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(accept);
        Relay {
            port,
            target,
            tasks,
        }
    }

    /// The host and port of a `postgres://user@host:port/db` URL.
    #[must_use]
    pub fn target_of(url: &str) -> Option<String> {
        let rest = url.split_once("://")?.1;
        let rest = rest.rsplit_once('@').map_or(rest, |(_, r)| r);
        Some(rest.split('/').next()?.to_owned())
    }

    /// `url` with its host and port replaced by this relay's.
    #[must_use]
    pub fn url_through(&self, url: &str) -> Option<String> {
        let target = Self::target_of(url)?;
        Some(url.replacen(&target, &format!("127.0.0.1:{}", self.port), 1))
    }

    /// Closes the listener and every relayed connection: the database is gone for whoever
    /// reached it through the relay.
    pub fn cut(&self) {
        for t in self
            .tasks
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .drain(..)
        {
            t.abort();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Relay;

    #[test]
    fn urls_go_through_the_relay() {
        let url = "postgres://postgres@127.0.0.1:5432/test";
        assert_eq!(Relay::target_of(url).as_deref(), Some("127.0.0.1:5432"));
        assert_eq!(
            Relay::target_of("postgres://u:p@db.example:6543/x").as_deref(),
            Some("db.example:6543")
        );
        let r = Relay {
            port: 40_001,
            target: "127.0.0.1:5432".into(),
            tasks: std::sync::Arc::default(),
        };
        assert_eq!(
            r.url_through(url).as_deref(),
            Some("postgres://postgres@127.0.0.1:40001/test")
        );
    }
}
