//! Connections: hyper answers a request whose URI it will not read (over 64 KiB, e.g. a
//! `?polygon=` of thousands of vertices) with `414` and an empty body, before any handler runs.
//! The listener here wraps each connection so that answer leaves in the API's JSON error shape
//! like every other error. Long polygons go in a body instead (`POST /api/v1/problems/search`),
//! which the message says.

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};

use crate::error::ApiError;

/// What hyper writes for a URI over its limit (its automatic answer to a parse error).
const BARE_414: &[u8] = b"HTTP/1.1 414 URI Too Long\r\n";

/// A TCP listener whose connections carry hyper's bare 414 as a JSON error.
#[derive(Debug)]
pub struct JsonErrorListener(pub TcpListener);

impl axum::serve::Listener for JsonErrorListener {
    type Io = Conn;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Conn, SocketAddr) {
        let (io, addr) = axum::serve::Listener::accept(&mut self.0).await;
        (
            Conn {
                io,
                pending: Vec::new(),
            },
            addr,
        )
    }

    fn local_addr(&self) -> io::Result<SocketAddr> {
        self.0.local_addr()
    }
}

/// The remote address of a connection accepted by [`JsonErrorListener`] (see
/// [`crate::serve`], which hands it on as `ConnectInfo<SocketAddr>`).
#[derive(Debug, Clone, Copy)]
pub struct Remote(pub SocketAddr);

impl axum::extract::connect_info::Connected<axum::serve::IncomingStream<'_, JsonErrorListener>>
    for Remote
{
    fn connect_info(s: axum::serve::IncomingStream<'_, JsonErrorListener>) -> Self {
        Remote(*s.remote_addr())
    }
}

/// One connection: reads pass through; a bare 414 written by hyper is replaced.
#[derive(Debug)]
pub struct Conn {
    io: TcpStream,
    /// Replacement bytes still to write.
    pending: Vec<u8>,
}

/// Whether `buf` is exactly hyper's automatic 414 head (no body).
fn is_bare_414(buf: &[u8]) -> bool {
    if !buf.starts_with(BARE_414) || !buf.ends_with(b"\r\n\r\n") {
        return false;
    }
    let head = String::from_utf8_lossy(buf).to_ascii_lowercase();
    head.contains("\r\ncontent-length: 0\r\n")
}

/// The 414 in the JSON error shape, as a whole HTTP/1.1 response that closes the connection.
fn json_414() -> Vec<u8> {
    let e = ApiError::UriTooLong(
        "the request URI is longer than 64 KiB; send long filters (a polygon) in a body: POST /api/v1/problems/search".into(),
    );
    let body = serde_json::to_vec(&e.body()).unwrap_or_default();
    let mut out = format!(
        "HTTP/1.1 414 URI Too Long\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
        body.len()
    )
    .into_bytes();
    out.extend_from_slice(&body);
    out
}

impl Conn {
    /// Writes what is pending; `Ready(Ok)` once nothing is.
    fn drain(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while !self.pending.is_empty() {
            let n = ready!(Pin::new(&mut self.io).poll_write(cx, &self.pending))?;
            if n == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            self.pending.drain(..n);
        }
        Poll::Ready(Ok(()))
    }
}

impl AsyncRead for Conn {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_read(cx, buf)
    }
}

impl AsyncWrite for Conn {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        ready!(self.drain(cx))?;
        if is_bare_414(buf) {
            self.pending = json_414();
            // The replacement is written by this and later calls; hyper's bytes count as sent.
            let _ = self.drain(cx)?;
            return Poll::Ready(Ok(buf.len()));
        }
        Pin::new(&mut self.io).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        ready!(self.drain(cx))?;
        Pin::new(&mut self.io).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        ready!(self.drain(cx))?;
        Pin::new(&mut self.io).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_hypers_bare_414_is_replaced() {
        assert!(is_bare_414(
            b"HTTP/1.1 414 URI Too Long\r\ncontent-length: 0\r\ndate: Mon, 07 Dec 2026 12:00:00 GMT\r\n\r\n"
        ));
        assert!(!is_bare_414(
            b"HTTP/1.1 414 URI Too Long\r\ncontent-length: 90\r\n\r\n"
        ));
        assert!(!is_bare_414(
            b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n"
        ));
        let r = String::from_utf8(json_414()).unwrap();
        let body: serde_json::Value =
            serde_json::from_str(r.split("\r\n\r\n").nth(1).unwrap()).unwrap();
        assert_eq!(body["error"]["status"], 414);
        assert_eq!(body["error"]["code"], "uri_too_long");
    }
}
