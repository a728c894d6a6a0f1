//! The application: state shared by every handler, the router assembled from each service's
//! routes, and the server's life (`Application::build`, `run_until_stopped`).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use tokio::net::TcpListener;
use tower_http::trace::TraceLayer;
use utoipa::OpenApi;

use crate::platform::config::Config;
use crate::platform::db::Db;
use crate::platform::jobs;
use crate::platform::ratelimit::RateLimiter;
use crate::platform::shutdown;
pub use crate::platform::state::{AppState, Caches};
use crate::{packs, reports};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Khidmat",
        description = "Civic services for Khyber Pakhtunkhwa: Open311 GeoReport v2 reports and the staff API. \
            Every Open311 path also answers with `.xml` in place of `.json`.",
        license(name = "AGPL-3.0-or-later")
    ),
    paths(healthz, readyz),
    modifiers(&BearerAuth)
)]
pub struct ApiDoc;

/// Staff endpoints take a department API key as a bearer token (or the session cookie).
struct BearerAuth;

impl utoipa::Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some("a department API key"))
                    .build(),
            ),
        );
    }
}

/// `GET /healthz`: the process is up, its database answers and a write commits now. When not,
/// 503 with the problem by name: "disk full" or "database unreachable". The write is made at
/// most once a second however often this is asked (later askers share the last answer).
#[utoipa::path(get, path = "/healthz", responses((status = 200, description = "healthy"), (status = 503, description = "disk full, or database unreachable")))]
pub async fn healthz(State(state): State<AppState>) -> Response {
    use crate::platform::error::Fault;
    let problem = {
        let mut last = state.caches.health.lock().await;
        match *last {
            Some((at, problem)) if at.elapsed() < Duration::from_secs(1) => problem,
            _ => {
                let probe = async {
                    state
                        .db
                        .scalar::<i64>(crate::platform::db::query("SELECT CAST(1 AS BIGINT)"))
                        .await?;
                    state.db.probe_write().await
                };
                let problem = match tokio::time::timeout(Duration::from_secs(3), probe).await {
                    // A commit may still fit in the database's log on a disk that has no room
                    // for the next photo or the log's next page: under 1 MiB free is full.
                    Ok(Ok(())) if state.disk_nearly_full() => Some(Fault::DiskFull),
                    Ok(Ok(())) => None,
                    Ok(Err(e)) => {
                        let fault = Fault::of_sqlx(&e).unwrap_or(Fault::Unreachable);
                        tracing::warn!(problem = fault.name(), error = %e, "health check failed");
                        Some(fault)
                    }
                    Err(_) => Some(Fault::Unreachable),
                };
                *last = Some((std::time::Instant::now(), problem));
                problem
            }
        }
    };
    let mut body = serde_json::json!({
        "status": if problem.is_none() { "ok" } else { "unavailable" },
        "database": state.db.backend().name(),
        "version": env!("CARGO_PKG_VERSION"),
    });
    match problem {
        None => (StatusCode::OK, Json(body)).into_response(),
        Some(fault) => {
            body["problem"] = fault.name().into();
            // A full disk is this node's problem: the load balancer takes it out (503).
            (StatusCode::SERVICE_UNAVAILABLE, Json(body)).into_response()
        }
    }
}

/// `/readyz`: may a load balancer send traffic here? The database answers, its schema is this
/// release's, the disk has room, the job workers run. 503 with the checks (and what to do) when not.
#[utoipa::path(get, path = "/readyz", responses((status = 200, description = "ready: the checks"), (status = 503, description = "not ready: the checks say why")))]
pub async fn readyz(State(state): State<AppState>) -> Response {
    use crate::platform::ready::readiness;
    let checks = readiness(&state.node()).await;
    let ready = crate::platform::ready::all_ready(&checks);
    let body =
        serde_json::json!({"status": if ready { "ready" } else { "not ready" }, "checks": checks});
    let status = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, Json(body)).into_response()
}

/// `/metrics`: for the monitoring system only (`metrics_addresses`, `metrics_token`); to anyone
/// else it does not exist.
async fn metrics(
    State(state): State<AppState>,
    crate::platform::ratelimit::PeerAddr(peer): crate::platform::ratelimit::PeerAddr,
    headers: axum::http::HeaderMap,
) -> Response {
    let from = crate::platform::ratelimit::client_addr(&headers, peer, state.config.proxies());
    let by_address = state
        .config
        .metrics_addresses
        .iter()
        .any(|a| a.parse::<std::net::IpAddr>().is_ok_and(|a| a == from));
    let by_token = state.config.metrics_token.as_deref().is_some_and(|t| {
        !t.is_empty()
            && crate::platform::identity::bearer(&headers)
                .is_some_and(|b| crate::platform::identity::same_secret(b, t))
    });
    if !(by_address || by_token) {
        return not_found().await.into_response();
    }
    crate::platform::metrics::sample(&state).await;
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; version=0.0.4"),
        )],
        state.metrics.render(),
    )
        .into_response()
}

/// `GET /photos/{sha256}.jpg`: a stored photo (already re-encoded, so safe to serve as is).
async fn photo(
    State(state): State<AppState>,
    axum::extract::Path(file): axum::extract::Path<String>,
) -> Response {
    let Some(sha) = file.strip_suffix(".jpg") else {
        return not_found().await.into_response();
    };
    match state
        .files
        .get(crate::platform::files::Area::Photos, sha, "image/jpeg")
        .await
    {
        Ok(Some(bytes)) => (
            [
                (header::CONTENT_TYPE, HeaderValue::from_static("image/jpeg")),
                // Named by content: it never changes.
                (
                    header::CACHE_CONTROL,
                    HeaderValue::from_static("public, max-age=31536000, immutable"),
                ),
            ],
            bytes,
        )
            .into_response(),
        Ok(None) => not_found().await.into_response(),
        Err(e) => {
            tracing::error!(error = ?e, "a photo could not be read from the file store");
            StatusCode::SERVICE_UNAVAILABLE.into_response()
        }
    }
}

/// The whole OpenAPI document: the platform's part, and each service's own (declared beside
/// its handlers).
pub fn api_doc() -> utoipa::openapi::OpenApi {
    let whole = api_parts()
        .into_iter()
        .fold(ApiDoc::openapi(), |whole, part| whole.merge_from(part));
    with_error_answers(whole)
}

/// Every operation lists the errors the platform answers for it by construction, each with the
/// one error body (`{"error": {"status", "message"}}`), beside those its handler declares:
/// 400 for a bad parameter or body, 413 and 415 for a body too large or not JSON, 404 for a
/// path naming nothing, 401 and 403 where a key or a login is needed, 429 for a write over the
/// rate limit, 503 when the database cannot be reached and 507 for a write on a full disk.
fn with_error_answers(doc: utoipa::openapi::OpenApi) -> utoipa::openapi::OpenApi {
    use serde_json::{json, Value};
    let mut v = serde_json::to_value(&doc).expect("the OpenAPI document is JSON");
    // Open311's own error document: a list of {code, description}.
    v["components"]["schemas"]["Open311Errors"] = json!({
        "type": "array", "items": {"type": "object", "required": ["code", "description"],
            "properties": {"code": {"type": "integer"}, "description": {"type": "string"}}},
    });
    v["components"]["schemas"]["Error"] = json!({
        "type": "object", "required": ["error"],
        "properties": {"error": {"type": "object", "required": ["status", "message"],
            "properties": {"status": {"type": "integer"}, "message": {"type": "string"}}}},
    });
    let answers = [
        (
            "400",
            "a parameter or the body is not what this operation takes",
        ),
        ("401", "no valid API key or login"),
        ("403", "the key or login may not do this"),
        ("404", "nothing has this address"),
        ("413", "the body is too large"),
        ("415", "the body is not JSON"),
        ("429", "too many requests: wait and try again"),
        (
            "503",
            "the database cannot be reached: try again later (Retry-After)",
        ),
        ("507", "the disk is full: nothing was written (Retry-After)"),
    ];
    if let Some(paths) = v["paths"].as_object_mut() {
        for (path, item) in paths.iter_mut() {
            let Some(item) = item.as_object_mut() else {
                continue;
            };
            for (method, op) in item.iter_mut() {
                let Some(op) = op.as_object_mut() else {
                    continue;
                };
                let writes = matches!(method.as_str(), "post" | "put" | "patch" | "delete");
                let has_body = op.contains_key("requestBody");
                let has_params = op
                    .get("parameters")
                    .and_then(Value::as_array)
                    .is_some_and(|p| !p.is_empty());
                let secured = op
                    .get("security")
                    .and_then(Value::as_array)
                    .is_some_and(|s| !s.is_empty());
                let applies = |code: &str| match code {
                    "400" => has_params || has_body,
                    "401" | "403" => secured,
                    "404" => path.contains('{'),
                    "413" | "415" => has_body,
                    "429" | "507" => writes,
                    _ => true,
                };
                let responses = op
                    .entry("responses")
                    .or_insert_with(|| json!({}))
                    .as_object_mut()
                    .expect("responses is an object");
                let schema = if path.starts_with("/open311/") {
                    "#/components/schemas/Open311Errors"
                } else {
                    "#/components/schemas/Error"
                };
                for (code, why) in answers {
                    if applies(code) && !responses.contains_key(code) {
                        responses.insert(
                            code.into(),
                            json!({"description": why, "content": {"application/json":
                                {"schema": {"$ref": schema}}}}),
                        );
                    }
                }
            }
        }
    }
    serde_json::from_value(v).expect("the completed document reads back")
}

/// Each service's part of the OpenAPI document.
fn api_parts() -> Vec<utoipa::openapi::OpenApi> {
    vec![
        reports::openapi(),
        crate::directory::openapi(),
        crate::benefits::openapi(),
        crate::cases::openapi(),
        crate::programme::openapi(),
        crate::registers::openapi(),
        crate::campaigns::openapi(),
    ]
}

/// The document is the same for the life of the process: made once, on first asking.
async fn openapi() -> Response {
    static DOC: std::sync::OnceLock<axum::body::Bytes> = std::sync::OnceLock::new();
    let doc = DOC.get_or_init(|| {
        serde_json::to_vec(&api_doc())
            .expect("the OpenAPI document is JSON")
            .into()
    });
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        doc.clone(),
    )
        .into_response()
}

async fn not_found() -> crate::platform::error::Error {
    crate::platform::error::Error::NotFound(
        "no such page: see /api/openapi.json for what this server offers".into(),
    )
}

pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .route("/api/openapi.json", get(openapi))
        .route("/photos/{file}", get(photo))
        .merge(reports::router(&state.config))
        .merge(crate::web::router())
        .merge(crate::channels::router())
        .merge(crate::directory::router())
        .merge(crate::benefits::router())
        .merge(crate::cases::router())
        .merge(crate::opendata::router())
        .merge(crate::programme::router())
        .merge(crate::registers::router())
        .merge(crate::campaigns::router())
        .fallback(not_found)
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            crate::web::with_settings,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            crate::web::security_headers,
        ))
        .layer(axum::middleware::from_fn(crate::platform::error::retry_after))
        .layer(axum::middleware::from_fn(
            crate::platform::error::json_rejections,
        ))
        .layer(axum::middleware::from_fn(crate::platform::metrics::track))
        // Pages, scripts and JSON shrink to a quarter over slow mobile links. Photos are JPEG
        // already; the default predicate leaves images alone.
        .layer(tower_http::compression::CompressionLayer::new().gzip(true))
        .layer(
            // Log the path only: query strings may carry keys and personal data.
            TraceLayer::new_for_http().make_span_with(|req: &axum::http::Request<_>| {
                tracing::info_span!("http", method = %req.method(), path = %req.uri().path())
            }),
        )
        .with_state(state)
}

/// Each service's own state, found by its type (`AppState::service_state`).
fn service_states() -> axum::http::Extensions {
    let mut states = axum::http::Extensions::new();
    states.insert(Arc::new(crate::directory::index::Shared::default()));
    states.insert(Arc::new(reports::ServiceCache::default()));
    states.insert(Arc::new(crate::opendata::Answers::default()));
    states
}

/// The job kinds this build runs: each module registers its own; the workers run whatever is
/// registered.
pub fn job_registry(wake: Arc<tokio::sync::Notify>, config: Arc<Config>) -> jobs::Registry {
    let mut registry = jobs::Registry::new(wake);
    crate::platform::sms::register_jobs(&mut registry, &config);
    crate::platform::mail::register_jobs(&mut registry, &config);
    crate::platform::push::register_jobs(&mut registry, &config);
    crate::platform::backup::register_jobs(&mut registry, &config);
    crate::opendata::publish::register_jobs(&mut registry, &config);
    crate::cases::pendency::register_jobs(&mut registry);
    crate::reports::followup::register_jobs(&mut registry, &config);
    crate::reports::alerts::register_jobs(&mut registry, &config);
    crate::channels::voice::register_jobs(&mut registry, &config);
    registry
}

pub struct Application {
    listener: TcpListener,
    state: AppState,
    shutdown: shutdown::Token,
    /// A share of the data directory's lock (embedded SQLite): no restore under a running server.
    _lock: Option<crate::platform::backup::Lock>,
}

impl Application {
    /// Connect the store (running migrations), load demo packs if asked, bind the port.
    pub async fn build(config: Config) -> anyhow::Result<Application> {
        let db = Db::connect(config.database_url.as_deref(), &config.sqlite_path()).await?;
        Self::build_with_db(config, db).await
    }

    pub async fn build_with_db(config: Config, db: Db) -> anyhow::Result<Application> {
        crate::platform::secrets::open(&config, &db).await?;
        if config.demo {
            packs::load_demo(&db).await?;
        }
        let files = crate::platform::files::Store::from_config(&config)?;
        let lock = match db.backend() {
            crate::platform::db::Backend::Sqlite => {
                Some(crate::platform::backup::server_lock(&config.data_dir)?)
            }
            crate::platform::db::Backend::Postgres => None,
        };
        let listener = TcpListener::bind(&config.listen)
            .await
            .map_err(|e| anyhow::anyhow!("cannot listen on {}: {e}", config.listen))?;
        let state = AppState {
            db,
            files: Arc::new(files),
            limiter: Arc::new(RateLimiter::new(config.rate_limit_per_minute)),
            config: Arc::new(config),
            caches: Arc::new(Caches::default()),
            job_wake: Arc::new(tokio::sync::Notify::new()),
            jobs: Arc::default(),
            metrics: crate::platform::metrics::handle(),
            sql_slots: Arc::new(tokio::sync::Semaphore::new(
                crate::platform::db::untrusted_slots(),
            )),
            services: Arc::new(service_states()),
        };
        Ok(Application {
            listener,
            state,
            shutdown: shutdown::Token::default(),
            _lock: lock,
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.listener.local_addr().expect("bound listener")
    }

    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// A handle that stops the server (and its workers) when cancelled.
    pub fn shutdown_token(&self) -> shutdown::Token {
        self.shutdown.clone()
    }

    /// Serve until the shutdown token is cancelled (or Ctrl-C / SIGTERM when `signals`).
    pub async fn run_until_stopped(self, signals: bool) -> anyhow::Result<()> {
        let mut registry = job_registry(self.state.job_wake.clone(), self.state.config.clone());
        registry.activity = self.state.jobs.clone();
        let activity = self.state.jobs.clone();
        if self.state.config.job_workers > 0 {
            // The weekly open-data publication books itself; the first start books it.
            if let Err(e) = crate::opendata::publish::schedule(&self.state.db).await {
                tracing::warn!(error = %e, "could not schedule the open-data publication");
            }
            if let Err(e) = crate::cases::pendency::schedule(&self.state.db).await {
                tracing::warn!(error = %e, "could not schedule the cases' deadline check");
            }
            if let Err(e) =
                crate::platform::backup::schedule(&self.state.db, &self.state.config).await
            {
                tracing::warn!(error = %e, "could not schedule the backups");
            }
        }
        for _ in 0..self.state.config.job_workers {
            jobs::spawn_worker(
                self.state.db.clone(),
                registry.clone(),
                self.shutdown.clone(),
            );
        }
        let token = self.shutdown.clone();
        if signals {
            let t = token.clone();
            tokio::spawn(async move {
                wait_for_signal().await;
                tracing::info!("shutting down");
                t.cancel();
            });
        }
        let db = self.state.db.clone();
        crate::platform::serve::serve(self.listener, router(self.state), token).await;
        // Workers stop between jobs: give a running job time to finish (within systemd's 30 s
        // to stop), then hand any still held back to the queue for another node or the next
        // start, rather than leave it until its lease runs out.
        if !activity.wait_stopped(Duration::from_secs(20)).await {
            match activity.release(&db).await {
                Ok(n) => {
                    tracing::info!(jobs = n, "stopping: running jobs handed back to the queue")
                }
                Err(e) => {
                    tracing::warn!(error = %e, "stopping: could not hand the running jobs back")
                }
            }
        }
        db.close().await;
        Ok(())
    }
}

async fn wait_for_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .expect("signal handler");
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    ctrl_c.await.ok();
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Schema names are one namespace in the merged document: two services' `Receipt`s would
    /// leave one of them documented with the other's fields.
    #[test]
    fn no_two_parts_of_the_api_document_define_one_schema_name_differently() {
        let mut seen: std::collections::BTreeMap<String, serde_json::Value> = Default::default();
        let mut clashes = Vec::new();
        for part in std::iter::once(ApiDoc::openapi()).chain(api_parts()) {
            for (name, schema) in part.components.map(|c| c.schemas).unwrap_or_default() {
                let schema = serde_json::to_value(schema).unwrap();
                match seen.get(&name) {
                    Some(other) if *other != schema => clashes.push(name),
                    _ => {
                        seen.insert(name, schema);
                    }
                }
            }
        }
        assert!(
            clashes.is_empty(),
            "defined twice, differently: {clashes:?}"
        );
        assert!(
            seen.len() > 40,
            "the parts carry their schemas: {}",
            seen.len()
        );
        // Every path of every part is in the whole.
        let whole = api_doc();
        for part in api_parts() {
            for path in part.paths.paths.keys() {
                assert!(whole.paths.paths.contains_key(path), "{path}");
            }
        }
    }

    /// OpenAPI requires each operation id once in the document; utoipa takes the function's
    /// name, and several services name a handler `list`. (openapi-spec-validator, run by
    /// scripts/test.sh, checks the whole document; this says which part clashed.)
    #[test]
    fn operation_ids_are_unique() {
        let doc = serde_json::to_value(api_doc()).unwrap();
        let mut seen: std::collections::HashMap<String, String> = Default::default();
        for (path, item) in doc["paths"].as_object().unwrap() {
            for (method, op) in item.as_object().unwrap() {
                if let Some(id) = op.get("operationId").and_then(|v| v.as_str()) {
                    if let Some(before) = seen.insert(id.to_owned(), format!("{method} {path}")) {
                        panic!("operationId {id:?} twice: {before} and {method} {path}");
                    }
                }
            }
        }
        assert!(seen.len() > 50, "{}", seen.len());
    }
}
