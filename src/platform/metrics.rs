//! Prometheus metrics at `/metrics`: request counts and latencies by route, plus whatever the
//! services count (reports submitted, jobs run, impact events).

use std::sync::OnceLock;
use std::time::Instant;

use axum::extract::{MatchedPath, Request};
use axum::middleware::Next;
use axum::response::Response;
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};

static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();

/// The process-wide recorder (installed once; several apps in one test process share it).
pub fn handle() -> PrometheusHandle {
    HANDLE
        .get_or_init(|| {
            PrometheusBuilder::new()
                .set_buckets(&[
                    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
                ])
                .expect("static buckets")
                .install_recorder()
                .expect("the only metrics recorder of this process")
        })
        .clone()
}

/// Middleware: count every request by method, route template (never the raw path, which may
/// hold identifiers) and status, and time it.
pub async fn track(req: Request, next: Next) -> Response {
    let start = Instant::now();
    let method = req.method().as_str().to_owned();
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| "unmatched".into());
    let response = next.run(req).await;
    let status = response.status().as_u16().to_string();
    let labels = [("method", method), ("route", route), ("status", status)];
    metrics::counter!("khidmat_http_requests_total", &labels).increment(1);
    metrics::histogram!("khidmat_http_request_duration_seconds", &labels)
        .record(start.elapsed().as_secs_f64());
    response
}
