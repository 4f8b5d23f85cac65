//! The one HTTP GET client of the tests and the demos: a new connection per request
//! with `Connection: close`, as the kubelet sends probes, but as a person's client
//! (`User-Agent:` [`USER_AGENT`] unless the caller's headers name another: the
//! sidecar's healer counts the kubelet's own failed liveness probes as restart
//! orders, so only [`KUBE_PROBE`] makes a request look like the kubelet's).
//!
//! The answer is read whole, as bytes, with its head kept as text, so tests can
//! assert on headers too. The emulator's prober (`kubelet::http`) stays apart on
//! purpose: it must judge answers as the kubelet's Go prober does (10 KiB body
//! limit, same-host redirects, body-read errors retried and discarded), which a
//! test's plain GET must not do.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// The kubelet's `User-Agent`.
pub const KUBE_PROBE: &str = "kube-probe/1.33";
/// The tests' own `User-Agent` (the demos tell it apart in Apache's log).
pub const USER_AGENT: &str = "wp-sentinel-test";
/// No answer in this long is an error, not a hang of the whole suite.
pub const TIMEOUT: Duration = Duration::from_secs(10);

/// An answer.
#[derive(Debug)]
pub struct Response {
    pub status: u16,
    /// The status line and headers, as sent.
    pub headers: String,
    pub body: String,
    pub elapsed: Duration,
}

/// GET `path` on `addr` with `headers` added; an error names what failed (connect,
/// send, read, no status line, no answer in [`TIMEOUT`]).
pub async fn get(
    addr: SocketAddr,
    path: &str,
    headers: &[(&str, &str)],
) -> Result<Response, String> {
    get_within(addr, path, headers, TIMEOUT).await
}

/// [`get`] with a limit of the caller's (a request meant to hold a server's worker
/// for a while).
pub async fn get_within(
    addr: SocketAddr,
    path: &str,
    headers: &[(&str, &str)],
    limit: Duration,
) -> Result<Response, String> {
    let started = Instant::now();
    let exchange = async {
        let mut stream = TcpStream::connect(addr)
            .await
            .map_err(|e| format!("connect {addr}: {e}"))?;
        stream
            .write_all(request(addr, path, headers).as_bytes())
            .await
            .map_err(|e| format!("send: {e}"))?;
        let mut raw = Vec::new();
        stream
            .read_to_end(&mut raw)
            .await
            .map_err(|e| format!("read: {e}"))?;
        let text = String::from_utf8_lossy(&raw).into_owned();
        let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
        let status = head
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| format!("no HTTP status in {head:?}"))?;
        Ok(Response {
            status,
            headers: head.to_string(),
            body: body.to_string(),
            elapsed: started.elapsed(),
        })
    };
    tokio::time::timeout(limit, exchange)
        .await
        .unwrap_or_else(|_| Err(format!("GET {path} on {addr}: no answer in {limit:?}")))
}

/// Status and body, for the scenarios' checks.
pub async fn http_get(addr: SocketAddr, path: &str) -> Result<(u16, String), String> {
    get(addr, path, &[]).await.map(|r| (r.status, r.body))
}

fn request(addr: SocketAddr, path: &str, headers: &[(&str, &str)]) -> String {
    let mut request =
        format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nAccept: */*\r\nConnection: close\r\n");
    if !headers
        .iter()
        .any(|(name, _)| name.eq_ignore_ascii_case("user-agent"))
    {
        request.push_str(&format!("User-Agent: {USER_AGENT}\r\n"));
    }
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str("\r\n");
    request
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_request_is_the_tests_own_unless_it_names_the_kubelet() {
        let addr = SocketAddr::from(([127, 0, 0, 1], 9090));
        let plain = request(addr, "/livez", &[]);
        assert!(plain.starts_with("GET /livez HTTP/1.1\r\nHost: 127.0.0.1:9090\r\n"));
        assert!(plain.contains("User-Agent: wp-sentinel-test\r\n"));
        assert!(plain.ends_with("Connection: close\r\nUser-Agent: wp-sentinel-test\r\n\r\n"));
        let kubelet = request(addr, "/livez", &[("User-Agent", KUBE_PROBE)]);
        assert!(kubelet.contains("User-Agent: kube-probe/1.33\r\n"));
        assert!(!kubelet.contains(USER_AGENT));
    }

    #[tokio::test]
    async fn a_refused_connection_is_an_error_naming_the_address() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = listener.local_addr().expect("address");
        drop(listener);
        let error = get(addr, "/", &[]).await.expect_err("nothing listens");
        assert!(error.contains(&addr.to_string()), "{error}");
    }
}
