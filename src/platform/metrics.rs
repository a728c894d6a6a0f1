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

/// Gauges read when `/metrics` is scraped: the state an alert is about, not a count of events.
/// - `khidmat_ready` (1 or 0) and `khidmat_build_info{version}`;
/// - `khidmat_db_connections{pool}`, `khidmat_db_connections_max{pool}`;
/// - `khidmat_jobs{status}` (queued, running, failed), `khidmat_jobs_oldest_due_seconds`;
/// - `khidmat_outbox_messages{outbox, status}` (sms or mail; queued or dead);
/// - `khidmat_backup_last_timestamp_seconds` (0: never), `khidmat_backup_interval_seconds`;
/// - `khidmat_disk_free_bytes{path}`, `khidmat_disk_size_bytes{path}`.
pub async fn sample(state: &super::state::AppState) {
    use super::db::query;
    use chrono::{DateTime, Utc};
    let ready = super::ready::all_ready(&super::ready::readiness(&state.node()).await);
    metrics::gauge!("khidmat_ready").set(if ready { 1.0 } else { 0.0 });
    metrics::gauge!("khidmat_build_info", "version" => env!("CARGO_PKG_VERSION")).set(1.0);
    for (pool, used, max) in state.db.pool_usage() {
        metrics::gauge!("khidmat_db_connections", "pool" => pool).set(f64::from(used));
        metrics::gauge!("khidmat_db_connections_max", "pool" => pool).set(f64::from(max));
    }
    if !ready {
        // The database may not answer: the counts below would only time out.
        return;
    }
    let db = &state.db;
    for status in ["queued", "running", "failed"] {
        if let Ok(n) = super::jobs::count(db, status).await {
            metrics::gauge!("khidmat_jobs", "status" => status).set(n as f64);
        }
    }
    let now = Utc::now();
    if let Ok((oldest,)) = db
        .fetch_one::<(Option<DateTime<Utc>>,)>(
            query("SELECT MIN(run_at) FROM jobs WHERE status = 'queued' AND run_at <= $1")
                .bind(now),
        )
        .await
    {
        let late = oldest.map_or(0.0, |t| (now - t).num_milliseconds().max(0) as f64 / 1000.0);
        metrics::gauge!("khidmat_jobs_oldest_due_seconds").set(late);
    }
    use super::outbox::{self, Outbox};
    for (name, which) in [("sms", Outbox::Sms), ("mail", Outbox::Mail)] {
        for status in ["queued", "dead"] {
            if let Ok(n) = outbox::count(db, which, status).await {
                metrics::gauge!("khidmat_outbox_messages", "outbox" => name, "status" => status)
                    .set(n as f64);
            }
        }
    }
    if let Ok(last) = super::backup::last_made(db).await {
        metrics::gauge!("khidmat_backup_last_timestamp_seconds")
            .set(last.map_or(0.0, |t| t.timestamp() as f64));
    }
    metrics::gauge!("khidmat_backup_interval_seconds")
        .set((state.config.backup_every_hours.max(0) * 3600) as f64);
    for dir in super::ready::written_dirs(&state.db, &state.config, &state.files) {
        if let Some((free, total)) = super::files::disk(&dir) {
            let path = dir.display().to_string();
            metrics::gauge!("khidmat_disk_free_bytes", "path" => path.clone()).set(free as f64);
            metrics::gauge!("khidmat_disk_size_bytes", "path" => path).set(total as f64);
        }
    }
}
