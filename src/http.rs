//! The one HTTP client in `src`: a GET over a fresh connection (`Connection: close`;
//! a restarted web server must look restarted, so nothing is kept between requests),
//! reading at most `body_limit` bytes of the body (a longer body is cut, not an
//! error). The WordPress checks use [`fetch`], under the engine's timeout; the `probe`
//! command uses [`get`], under its own.
//!
//! It classifies nothing: what an answer or a failure means is the caller's business.

use std::fmt;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use hyper::header::{HeaderName, HeaderValue, CONNECTION};
use hyper::{HeaderMap, Request, Uri};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

/// What came back: the status, the headers and the head of the body (lossy UTF-8).
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: String,
}

/// Where a GET failed. `Display` is the underlying error's own text.
#[derive(Debug)]
pub enum Failure {
    /// No TCP connection to the URL's host and port.
    Connect(std::io::Error),
    /// Connected, but the HTTP/1 handshake failed.
    Handshake(hyper::Error),
    /// The request could not be built (a header value, the path).
    Request(hyper::http::Error),
    /// The connection closed before an HTTP answer came.
    NoAnswer(hyper::Error),
    /// No answer within the timeout ([`get`] only).
    TimedOut(Duration),
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Failure::Connect(error) => error.fmt(f),
            Failure::Handshake(error) | Failure::NoAnswer(error) => error.fmt(f),
            Failure::Request(error) => error.fmt(f),
            Failure::TimedOut(timeout) => write!(f, "no answer within {timeout:?}"),
        }
    }
}

/// `host:port` of `uri` (port 80 when none is given): where [`fetch`] connects.
pub fn connect_address(uri: &Uri) -> String {
    let host = uri.host().unwrap_or_default();
    format!("{host}:{}", uri.port_u16().unwrap_or(80))
}

/// [`fetch`] under `timeout`.
pub async fn get(
    uri: &Uri,
    headers: &[(HeaderName, HeaderValue)],
    body_limit: usize,
    timeout: Duration,
) -> Result<Answer, Failure> {
    tokio::time::timeout(timeout, fetch(uri, headers, body_limit))
        .await
        .unwrap_or(Err(Failure::TimedOut(timeout)))
}

/// One GET of `uri`'s path with `headers` (and `Connection: close`), with no timeout
/// of its own: the caller bounds it.
pub async fn fetch(
    uri: &Uri,
    headers: &[(HeaderName, HeaderValue)],
    body_limit: usize,
) -> Result<Answer, Failure> {
    let stream = TcpStream::connect(connect_address(uri))
        .await
        .map_err(Failure::Connect)?;
    let _ = stream.set_nodelay(true);
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(Failure::Handshake)?;
    let driver = tokio::spawn(async move {
        let _ = connection.await;
    });
    let path = uri.path_and_query().map(|p| p.as_str()).unwrap_or("/");
    let mut builder = Request::get(path);
    for (name, value) in headers {
        builder = builder.header(name, value);
    }
    let request = builder
        .header(CONNECTION, "close")
        .body(Empty::<Bytes>::new())
        .map_err(Failure::Request)?;
    let response = sender
        .send_request(request)
        .await
        .map_err(Failure::NoAnswer)?;
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let body = read_prefix(response.into_body(), body_limit).await;
    driver.abort();
    Ok(Answer {
        status,
        headers,
        body,
    })
}

/// Reads up to `limit` bytes of the body; a longer body is truncated, not an error.
async fn read_prefix(mut body: hyper::body::Incoming, limit: usize) -> String {
    let mut collected = Vec::new();
    while collected.len() < limit {
        match body.frame().await {
            Some(Ok(frame)) => {
                if let Ok(data) = frame.into_data() {
                    let room = limit - collected.len();
                    collected.extend_from_slice(&data[..data.len().min(room)]);
                }
            }
            _ => break,
        }
    }
    String::from_utf8_lossy(&collected).into_owned()
}
