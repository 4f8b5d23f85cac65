//! The accept loop of the probe port: admission (see `admission.rs`), a small bound
//! on every request head, a deadline for it, and the drain at shutdown.
//!
//! Memory is bounded per connection by hyper's read buffer (`server.max_header_bytes`,
//! at least hyper's minimum of 8192 bytes: a larger head is answered 431 and the
//! connection closed), its write buffer (8 KiB, allocated per connection), and the
//! task and connection state (a few KiB); in total by `server.max_connections` times
//! that. It must not await anything but sockets and timers.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use hyper::body::{Body as HttpBody, Frame, SizeHint};
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;

use super::admission::{Admission, BusyGuard};
use super::AppState;
use crate::config::ServerConfig;

/// A response body that keeps its connection marked busy until hyper has written it
/// and dropped it, so a connection is never evicted halfway through an answer.
pub struct GuardedBody {
    inner: super::Body,
    _busy: BusyGuard,
}

impl HttpBody for GuardedBody {
    type Data = Bytes;
    type Error = std::convert::Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        Pin::new(&mut self.inner).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// Accepts connections until told to stop, then lets open ones finish under the
/// deadline. At `max_connections`, the connection waiting longest for a request head
/// is evicted to make room (see `admission.rs`).
pub async fn serve(
    listener: TcpListener,
    state: Arc<AppState>,
    settings: ServerConfig,
    admission: Arc<Admission>,
    deadline: Duration,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    let graceful = GracefulShutdown::new();
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(settings.header_read_timeout)
        .max_buf_size(settings.max_header_bytes)
        .keep_alive(true);
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            _ = stop.changed() => break,
        };
        let stream = match accepted {
            Ok((stream, _)) => stream,
            Err(error) => {
                // Out of file descriptors and the like: back off instead of spinning.
                tracing::warn!(%error, "accept failed");
                tokio::time::sleep(Duration::from_millis(20)).await;
                continue;
            }
        };
        let Some(ticket) = admission.admit() else {
            // Every slot is in the middle of an answer: a moment's congestion, not a
            // flood of idlers (those are evicted), so the newcomer goes.
            drop(stream);
            continue;
        };
        let _ = stream.set_nodelay(true);
        let state = state.clone();
        let marker = ticket.busy_marker();
        let service = service_fn(move |request| {
            let busy = marker.busy();
            let state = state.clone();
            async move {
                let response = super::handle(state, request).await?;
                Ok::<_, std::convert::Infallible>(
                    response.map(|inner| GuardedBody { inner, _busy: busy }),
                )
            }
        });
        let connection = graceful.watch(builder.serve_connection(TokioIo::new(stream), service));
        tokio::spawn(async move {
            tokio::select! {
                _ = connection => {}
                // Dropping the connection closes the socket.
                _ = ticket.evicted() => {}
            }
            drop(ticket);
        });
    }
    drop(listener);
    if tokio::time::timeout(deadline, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!(
            ?deadline,
            "some connections were still open at the shutdown deadline"
        );
    }
}
