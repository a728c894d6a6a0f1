//! The HTTP server loop: the router on hyper, with the timeouts `axum::serve` does not set.
//!
//! A client that opens a connection and sends nothing, sends half its headers, or trickles a
//! body a byte at a time holds a file descriptor and a task; enough of them and nobody else
//! gets in. So every connection has limits ([`HEADER_READ`], [`BODY_IDLE`], [`BODY_MIN_RATE`])
//! and shutdown is bounded ([`SHUTDOWN_GRACE`]): requests in flight finish, a client that sends
//! nothing is not waited for.

use std::future::Future;
use std::pin::{pin, Pin};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::Router;
use hyper::body::{Body as HttpBody, Bytes, Frame, Incoming, SizeHint};
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::time::{Instant, Sleep};
use tower::ServiceExt;

use super::shutdown;

/// The longest a client may take to send a request's headers, and the longest a kept-alive
/// connection may sit idle before its next request (hyper's header timer runs from the moment
/// it waits for a request line). A silent connection is closed after this.
pub const HEADER_READ: Duration = Duration::from_secs(20);

/// The longest a request body may go without a byte arriving.
pub const BODY_IDLE: Duration = Duration::from_secs(20);

/// After [`BODY_GRACE`], a body must have arrived at this average rate at least (bytes per
/// second): an upload over a poor 2G link (2–5 KB/s) passes; a byte every few seconds does not.
pub const BODY_MIN_RATE: u64 = 512;
pub const BODY_GRACE: Duration = Duration::from_secs(30);

/// On shutdown, how long requests in flight are given to finish before their connections are
/// dropped.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// Serve `app` on `listener` until `stop` is cancelled; then stop accepting, let requests in
/// flight finish for up to [`SHUTDOWN_GRACE`], and return.
pub async fn serve(listener: TcpListener, app: Router, stop: shutdown::Token) {
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(HEADER_READ)
        .keep_alive(true);
    let mut connections = tokio::task::JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let (stream, peer) = match accepted {
                    Ok(a) => a,
                    Err(e) => {
                        // Out of file descriptors, or a connection reset before it was taken:
                        // wait a moment rather than spin, and go on.
                        tracing::warn!(error = %e, "accept failed");
                        tokio::time::sleep(Duration::from_millis(100)).await;
                        continue;
                    }
                };
                let _ = stream.set_nodelay(true);
                let service = app.clone().map_request(move |req: axum::http::Request<Incoming>| {
                    let mut req = req.map(|b| Body::new(Paced::new(b)));
                    req.extensions_mut().insert(ConnectInfo(peer));
                    req
                });
                let conn = builder.serve_connection(TokioIo::new(stream), TowerToHyperService::new(service));
                let stop = stop.clone();
                connections.spawn(async move {
                    let mut conn = pin!(conn);
                    tokio::select! {
                        _ = conn.as_mut() => {}
                        _ = stop.cancelled() => {
                            // Finish the request in flight (none: close now); then no more.
                            conn.as_mut().graceful_shutdown();
                            if tokio::time::timeout(SHUTDOWN_GRACE, conn).await.is_err() {
                                tracing::info!(%peer, "connection dropped at shutdown: its request did not finish in time");
                            }
                        }
                    }
                });
            }
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
            _ = stop.cancelled() => break,
        }
    }
    drop(listener);
    // Each connection bounds itself; this bound is for one that a bug keeps from doing so.
    let drained = tokio::time::timeout(SHUTDOWN_GRACE + Duration::from_secs(1), async {
        while connections.join_next().await.is_some() {}
    })
    .await;
    if drained.is_err() {
        connections.shutdown().await;
    }
}

/// A request body that must keep coming: no gap longer than [`BODY_IDLE`], and after
/// [`BODY_GRACE`] at least [`BODY_MIN_RATE`] on average. Otherwise the read fails, the handler
/// answers (or the connection closes) and nothing half-read is kept.
struct Paced {
    inner: Incoming,
    started: Instant,
    received: u64,
    timer: Pin<Box<Sleep>>,
}

#[derive(Debug, thiserror::Error)]
#[error("the request body came too slowly")]
struct TooSlow;

impl Paced {
    fn new(inner: Incoming) -> Paced {
        let now = Instant::now();
        Paced {
            inner,
            started: now,
            received: 0,
            timer: Box::pin(tokio::time::sleep_until(now + BODY_IDLE)),
        }
    }
}

/// When a body that began at `started` and has brought `received` bytes by `now` is late: the
/// earlier of the idle limit and the moment its average rate would fall below the floor.
fn deadline(started: Instant, received: u64, now: Instant) -> Instant {
    let by_rate =
        started + BODY_GRACE + Duration::from_millis(received.saturating_mul(1000) / BODY_MIN_RATE);
    (now + BODY_IDLE).min(by_rate.max(now))
}

impl HttpBody for Paced {
    type Data = Bytes;
    type Error = axum::BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        match Pin::new(&mut self.inner).poll_frame(cx) {
            Poll::Ready(Some(Ok(frame))) => {
                if let Some(data) = frame.data_ref() {
                    self.received += data.len() as u64;
                }
                let deadline = deadline(self.started, self.received, Instant::now());
                self.timer.as_mut().reset(deadline);
                Poll::Ready(Some(Ok(frame)))
            }
            Poll::Ready(other) => Poll::Ready(other.map(|r| r.map_err(Into::into))),
            Poll::Pending => match self.timer.as_mut().poll(cx) {
                Poll::Ready(()) => Poll::Ready(Some(Err(TooSlow.into()))),
                Poll::Pending => Poll::Pending,
            },
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// Cap glibc's malloc arenas at one per core, before the runtime starts its threads.
///
/// glibc gives each thread that meets a busy arena a new one, up to eight per core, and an
/// arena keeps the memory freed into it. Under load the server's worker and blocking threads
/// (SQLite readers) each came to hold one: on 2 cores the Open311 benchmark's process grew to
/// 120-155 MB by the end of its phases; with one arena per core, 85-112 MB, throughput within
/// the noise (docs/PERFORMANCE.md, DECISIONS.md). An operator's own `MALLOC_ARENA_MAX` is kept.
pub fn cap_malloc_arenas() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    if std::env::var_os("MALLOC_ARENA_MAX").is_none() {
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        // SAFETY: mallopt only sets a tunable of the allocator; called before other threads
        // exist (a later call is also safe: it applies to arenas made after it).
        unsafe {
            libc::mallopt(libc::M_ARENA_MAX, cores.max(2) as libc::c_int);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rate_floor_moves_with_what_arrived() {
        // Nothing yet: the idle limit (sooner than the grace) decides.
        let now = Instant::now();
        assert_eq!(deadline(now, 0, now), now + BODY_IDLE);
        // 25 s in with 1 KB: the rate floor (30 s + 2 s) comes before 25 s + 20 s.
        let later = now + Duration::from_secs(25);
        assert_eq!(deadline(now, 1024, later), now + Duration::from_secs(32));
        // Far behind the floor: due at once.
        let late = now + Duration::from_secs(100);
        assert_eq!(deadline(now, 10, late), late);
        // Steady at 2 KB/s, a minute in: the idle limit decides again.
        let minute = now + Duration::from_secs(60);
        assert_eq!(deadline(now, 120 * 1024, minute), minute + BODY_IDLE);
    }
}
