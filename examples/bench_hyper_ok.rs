//! The second floor for `scripts/bench.sh`: a minimal hyper 1 server on the same
//! runtime shape as the sidecar (tokio, two worker threads, HTTP/1.1 with keep-alive),
//! answering every request with `200 ok`. The gap between it and the bare TCP floor
//! is what tokio and hyper cost; the gap between it and the sidecar is the sidecar's
//! own routing, snapshot reading and metrics.
//!
//! With `current-thread`, the same on tokio's single-threaded runtime: what the
//! sidecar would cost per probe without worker threads waking one another.
//!
//! Not part of the sidecar: no limits, no timeouts, no shutdown; it stops when killed.
//!
//! Usage: `bench_hyper_ok 127.0.0.1:PORT [current-thread]`

use std::convert::Infallible;

use bytes::Bytes;
use http_body_util::Full;
use hyper::header::{HeaderValue, CONTENT_TYPE};
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

async fn ok(_request: Request<hyper::body::Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    let mut response = Response::new(Full::new(Bytes::from_static(b"ok\n")));
    response.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    Ok(response)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let usage = "usage: bench_hyper_ok 127.0.0.1:PORT [current-thread]";
    let mut args = std::env::args().skip(1);
    let address = args.next().ok_or(usage)?;
    let runtime = match args.next().as_deref() {
        None => tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()?,
        Some("current-thread") => tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?,
        Some(_) => return Err(usage.into()),
    };
    // The accept loop runs as a task on a worker, as the sidecar's does (spawned by
    // `run`), not on the thread that called `block_on`: each connection's task then
    // starts on the accepting worker instead of waking another thread.
    runtime.block_on(async move { tokio::spawn(serve(address)).await })??;
    Ok(())
}

async fn serve(address: String) -> std::io::Result<()> {
    let listener = TcpListener::bind(&address).await?;
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder.keep_alive(true);
    loop {
        let (stream, _) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(error) => {
                eprintln!("bench_hyper_ok: accept failed: {error}");
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let connection = builder.serve_connection(TokioIo::new(stream), service_fn(ok));
        tokio::spawn(async move {
            let _ = connection.await;
        });
    }
}
