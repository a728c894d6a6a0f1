//! The state every handler is given: the kernel's parts (the store, the configuration, files,
//! limits, caches, the job signal) and each service's own state, registered by type when the
//! application is built (`app.rs`), so that this floor names no service.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::FromRef;
use metrics_exporter_prometheus::PrometheusHandle;

use super::cache::TtlCache;
use super::config::Config;
use super::db::Db;
use super::identity::ApiKey;
use super::org::District;
use super::ratelimit::RateLimiter;

/// Everything a handler may need. Cheap to clone.
#[derive(Clone)]
pub struct AppState {
    pub db: Db,
    pub config: Arc<Config>,
    pub limiter: Arc<RateLimiter>,
    /// Where photos and documents are kept (a directory or an S3-compatible bucket).
    pub files: Arc<super::files::Store>,
    /// Configuration read on every submission, cached for a few seconds (see `platform::cache`).
    pub caches: Arc<Caches>,
    /// Rung after a job is enqueued, so a worker picks it up at once.
    pub job_wake: Arc<tokio::sync::Notify>,
    /// This server's job workers: how many run, the jobs they hold.
    pub jobs: Arc<super::jobs::Activity>,
    pub metrics: PrometheusHandle,
    /// SQL that strangers write (`datastore_search_sql`) runs at most one query per core at a
    /// time: a burst waits its turn instead of every query sharing the cores, running past
    /// the time limit and failing together.
    pub sql_slots: Arc<tokio::sync::Semaphore>,
    /// Each service's own state (a cache, an index), put here when the application is built
    /// and found by its type ([`AppState::service_state`]): the kernel names no service.
    pub services: Arc<axum::http::Extensions>,
}

pub struct Caches {
    pub districts: TtlCache<(), Arc<Vec<District>>>,
    pub api_keys: TtlCache<String, ApiKey>,
    pub settings: super::settings::Cache,
    /// `/healthz`'s last probe: when, and the problem found (none: healthy).
    pub health: tokio::sync::Mutex<Option<(std::time::Instant, Option<super::error::Fault>)>>,
}

impl Default for Caches {
    fn default() -> Self {
        Caches {
            districts: TtlCache::new(Duration::from_secs(60)),
            api_keys: TtlCache::new(Duration::from_secs(10)),
            settings: TtlCache::new(Duration::from_secs(super::settings::CACHE_SECONDS)),
            health: Default::default(),
        }
    }
}

impl AppState {
    /// A service's own state, registered when the application was built. Missing is a wiring
    /// error of the build, not something a request can cause.
    pub fn service_state<T: Send + Sync + 'static>(&self) -> &T {
        self.services
            .get::<Arc<T>>()
            .map(|a| a.as_ref())
            .unwrap_or_else(|| panic!("{} is not registered", std::any::type_name::<T>()))
    }

    /// The settings in force on this node (at most a few seconds old).
    pub async fn settings(&self) -> Arc<super::settings::Settings> {
        super::settings::current(&self.db, &self.caches.settings).await
    }

    /// Is there under 1 MiB free where the database (embedded SQLite) or the files are kept?
    pub fn disk_nearly_full(&self) -> bool {
        super::ready::nearly_full(&super::ready::written_dirs(
            &self.db,
            &self.config,
            &self.files,
        ))
    }

    /// What the readiness checks look at.
    pub fn node(&self) -> super::ready::Node<'_> {
        super::ready::Node {
            db: &self.db,
            config: &self.config,
            files: &self.files,
            workers: Some(&self.jobs),
        }
    }

    /// Count a public write (a report, a login, a review code, a suggestion) against the
    /// client's per-minute limit; past it, a 429 saying when to try again.
    ///
    /// On PostgreSQL, where several nodes may serve behind one address, the bucket is in the
    /// database, so a client gets the same limit whichever node answers; the embedded SQLite
    /// store has one node, and keeps its buckets in memory.
    pub async fn limit_public_write(
        &self,
        headers: &axum::http::HeaderMap,
        peer: Option<std::net::IpAddr>,
        lang: super::i18n::Lang,
    ) -> Result<(), super::error::Error> {
        match self.write_token(headers, peer).await? {
            Ok(()) => Ok(()),
            Err(wait) => Err(super::error::Error::TooManyRequests(crate::t!(
                lang,
                "err-rate-limited",
                seconds = wait as i64
            ))),
        }
    }

    /// Take one of the client's public-write tokens: `Ok(Err(seconds))` when there is none,
    /// with how long until the next (for a `Retry-After`).
    pub async fn write_token(
        &self,
        headers: &axum::http::HeaderMap,
        peer: Option<std::net::IpAddr>,
    ) -> Result<Result<(), u64>, sqlx::Error> {
        let ip = super::ratelimit::client_ip(headers, peer, self.config.proxies());
        let per_minute = self.config.rate_limit_per_minute;
        Ok(match self.db.backend() {
            super::db::Backend::Sqlite => self.limiter.check(ip),
            super::db::Backend::Postgres => {
                let key = format!("write:{ip}");
                if super::ratelimit::take_db_token(&self.db, &key, per_minute).await? {
                    Ok(())
                } else {
                    Err(60u64.div_ceil(u64::from(per_minute.max(1))))
                }
            }
        })
    }

    /// The districts (cached for a minute).
    pub async fn districts(&self) -> Result<Arc<Vec<District>>, sqlx::Error> {
        Ok(self
            .caches
            .districts
            .get_or_load(&(), || async {
                Ok::<_, sqlx::Error>(Some(Arc::new(super::org::districts(&self.db).await?)))
            })
            .await?
            .unwrap_or_default())
    }
}

impl FromRef<AppState> for Db {
    fn from_ref(s: &AppState) -> Db {
        s.db.clone()
    }
}
