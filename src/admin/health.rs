//! The deployment's health, for platform administrators: what an operator checks first.

use chrono::{DateTime, Utc};

use crate::platform::db::query;
use crate::platform::error::Result;
use crate::platform::outbox::{self, Outbox};
use crate::platform::state::AppState;
use crate::platform::{backup, jobs};

pub struct Health {
    pub version: &'static str,
    pub database: &'static str,
    pub migrations: i64,
    pub last_migration: String,
    pub jobs_queued: i64,
    pub jobs_failed: i64,
    pub sms_queued: i64,
    pub sms_dead: i64,
    pub mail_queued: i64,
    pub mail_dead: i64,
    /// Free and total bytes where photos are kept.
    pub disk: Option<(u64, u64)>,
    pub last_backup: Option<DateTime<Utc>>,
}

pub use crate::platform::files::disk;

pub async fn health(state: &AppState) -> Result<Health> {
    let (migrations, last): (i64, Option<String>) = state
        .db
        .fetch_one(query(
            "SELECT COUNT(*), MAX(CAST(version AS TEXT) || ' ' || description) FROM _sqlx_migrations WHERE success = TRUE",
        ))
        .await?;
    // Free space where files are kept (the data directory when they are in a bucket: the
    // SQLite database and the backups are there).
    let dir = state
        .files
        .dir()
        .unwrap_or(&state.config.data_dir)
        .to_path_buf();
    let _ = std::fs::create_dir_all(&dir);
    let db = &state.db;
    Ok(Health {
        version: env!("CARGO_PKG_VERSION"),
        database: if state.config.database_url.is_some() {
            "PostgreSQL"
        } else {
            "SQLite"
        },
        migrations,
        last_migration: last.unwrap_or_default(),
        jobs_queued: jobs::count(db, "queued").await?,
        jobs_failed: jobs::count(db, "failed").await?,
        sms_queued: outbox::count(db, Outbox::Sms, "queued").await?,
        sms_dead: outbox::count(db, Outbox::Sms, "dead").await?,
        mail_queued: outbox::count(db, Outbox::Mail, "queued").await?,
        mail_dead: outbox::count(db, Outbox::Mail, "dead").await?,
        disk: disk(&dir),
        last_backup: backup::last_made(db).await?,
    })
}
