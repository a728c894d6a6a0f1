//! Backups, made on demand (`khidmat backup FILE`, or "Back up now" on the health page) or on a
//! schedule (every `backup_every_hours`, keeping the newest `backup_keep` in `data_dir/backups`),
//! each recorded in `backups`; and restored (`khidmat restore FILE`) while the servers are
//! stopped.
//!
//! SQLite is copied with `VACUUM INTO` (a consistent copy while the server runs). PostgreSQL is
//! dumped with `pg_dump --format=custom` and put back with `pg_restore`: its own tools, which
//! know more about it than we would; Khidmat runs them, records the backup, and upgrades an older
//! dump after restoring it, as for SQLite.
//!
//! A running server holds a lock on its data directory (`khidmat.lock`); restore takes the same
//! lock, so it cannot pull an SQLite database from under a server. Nodes of a PostgreSQL
//! deployment each have their own directory: stop every node before a restore.

use std::fs::File;
use std::os::unix::io::AsRawFd;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use chrono::{Duration, Utc};
use sqlx::sqlite::SqliteConnectOptions;
use sqlx::ConnectOptions;

use super::config::Config;
use super::db::{query, Backend, Db};

pub const JOB_KIND: &str = "backup.scheduled";
const PREFIX: &str = "khidmat-";

/// The data directory's lock: shared by every server running on it (two nodes may share one
/// SQLite file), exclusive for a restore.
#[derive(Debug)]
pub struct Lock(#[allow(dead_code)] File);

/// A server's share of the data directory's lock (refused only while a restore runs).
pub fn server_lock(data_dir: &Path) -> anyhow::Result<Lock> {
    take(data_dir, libc::LOCK_SH, "a restore is running on")
}

/// The whole lock, for a restore: refused while any server runs on the directory.
pub fn lock(data_dir: &Path) -> anyhow::Result<Lock> {
    take(data_dir, libc::LOCK_EX, "a Khidmat server is running on")
}

fn take(data_dir: &Path, how: libc::c_int, held: &str) -> anyhow::Result<Lock> {
    std::fs::create_dir_all(data_dir)?;
    let file = File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(data_dir.join("khidmat.lock"))?;
    // SAFETY: flock on a file descriptor this process owns; released when the file closes.
    let r = unsafe { libc::flock(file.as_raw_fd(), how | libc::LOCK_NB) };
    if r != 0 {
        anyhow::bail!("{held} {}: stop it first", data_dir.display());
    }
    Ok(Lock(file))
}

/// Write a consistent copy to `file` (which must not exist) and record it. Returns its size.
pub async fn make(db: &Db, config: &Config, file: &Path) -> anyhow::Result<u64> {
    if file.exists() {
        anyhow::bail!("{} already exists: choose a new file name", file.display());
    }
    match db.backend() {
        Backend::Sqlite => db.backup(file).await?,
        Backend::Postgres => {
            let url = config
                .database_url
                .as_deref()
                .ok_or_else(|| anyhow::anyhow!("no database_url"))?;
            pg_tool(
                config,
                "pg_dump",
                &[
                    "--format=custom",
                    "--no-owner",
                    &format!("--file={}", file.display()),
                    &format!("--dbname={url}"),
                ],
            )
            .await?;
        }
    }
    let size = std::fs::metadata(file).map(|m| m.len()).unwrap_or(0);
    db.execute(
        query("INSERT INTO backups (file, bytes, made_at) VALUES ($1, $2, $3)")
            .bind(file.display().to_string())
            .bind(size as i64)
            .bind(Utc::now()),
    )
    .await?;
    Ok(size)
}

/// When the newest recorded backup was made (none: never).
pub async fn last_made(db: &Db) -> Result<Option<chrono::DateTime<Utc>>, sqlx::Error> {
    let last: Option<(chrono::DateTime<Utc>,)> = db
        .fetch_optional(query(
            "SELECT made_at FROM backups ORDER BY made_at DESC LIMIT 1",
        ))
        .await?;
    Ok(last.map(|(at,)| at))
}

/// Delete all but the newest `keep` scheduled backups in `dir`. Returns what was deleted.
pub fn prune(dir: &Path, keep: usize) -> anyhow::Result<Vec<PathBuf>> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.file_name().and_then(|n| n.to_str()).is_some_and(|n| {
                n.starts_with(PREFIX) && (n.ends_with(".db") || n.ends_with(".dump"))
            })
        })
        .collect();
    // The names hold the time, so by name is by age.
    files.sort();
    let gone = files.len().saturating_sub(keep);
    let old: Vec<PathBuf> = files.into_iter().take(gone).collect();
    for f in &old {
        std::fs::remove_file(f)?;
    }
    Ok(old)
}

/// One scheduled backup: a new file in `data_dir/backups`, then the old ones beyond `keep` go.
pub async fn scheduled(db: &Db, config: &Config) -> anyhow::Result<PathBuf> {
    let dir = config.data_dir.join("backups");
    std::fs::create_dir_all(&dir)?;
    let ext = match db.backend() {
        Backend::Sqlite => "db",
        Backend::Postgres => "dump",
    };
    let file = dir.join(format!(
        "{PREFIX}{}.{ext}",
        Utc::now().format("%Y%m%d-%H%M%S-%3f")
    ));
    let size = make(db, config, &file).await?;
    // A backup is only kept as one once it is known to restore; a bad one fails the job (and
    // the older backups stay).
    let checked = verify(config, &file)
        .await
        .map_err(|e| anyhow::anyhow!("the backup just written does not verify: {e}"))?;
    let rows: i64 = checked.tables.iter().filter_map(|t| t.1).sum();
    let gone = prune(&dir, config.backup_keep.max(1))?;
    if !config.backup_bucket.is_empty() {
        copy_off(config, &file, &gone).await.map_err(|e| {
            anyhow::anyhow!(
                "the backup {} is kept here, but its copy to the bucket failed: {e:#}",
                file.display()
            )
        })?;
    }
    tracing::info!(file = %file.display(), bytes = size, schema = checked.version, tables = checked.tables.len(), rows, deleted = gone.len(), "scheduled backup, verified");
    Ok(file)
}

/// Copy a verified backup to `backup_bucket` (streamed), and remove there the ones pruned here.
async fn copy_off(config: &Config, file: &Path, pruned: &[PathBuf]) -> anyhow::Result<()> {
    let bucket = super::s3::Bucket::new(
        &config.s3_endpoint,
        &config.backup_bucket,
        super::s3::Credentials {
            access_key: config.s3_access_key.clone(),
            secret_key: config.s3_secret_key.clone().unwrap_or_default(),
            region: config.s3_region.clone(),
        },
        config.tls_ca_file.as_deref(),
    )?;
    let name = |p: &Path| {
        p.file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default()
    };
    bucket
        .put_file(&name(file), file, "application/octet-stream")
        .await?;
    for old in pruned {
        bucket.delete(&name(old)).await?;
    }
    Ok(())
}

/// The job: back up, then book the next one.
pub async fn job(db: Db, config: std::sync::Arc<Config>) -> anyhow::Result<()> {
    scheduled(&db, &config).await?;
    schedule(&db, &config).await
}

/// "Back up now": a backup made by a worker at once, outside the schedule.
pub const NOW_JOB_KIND: &str = "backup.now";

pub async fn now_job(db: Db, config: std::sync::Arc<Config>) -> anyhow::Result<()> {
    scheduled(&db, &config).await.map(|_| ())
}

/// Ask for a backup now (a platform administrator's button); at most one waits at a time.
pub async fn request_now(db: &Db) -> anyhow::Result<()> {
    super::jobs::schedule_once(db, NOW_JOB_KIND, Utc::now()).await?;
    Ok(())
}

/// Run one of PostgreSQL's programs (from `pg_bin_dir`, else the `PATH`); its output, or its
/// message as the error.
async fn pg_tool(config: &Config, program: &str, args: &[&str]) -> anyhow::Result<String> {
    let path = match &config.pg_bin_dir {
        Some(dir) => dir.join(program),
        None => PathBuf::from(program),
    };
    let out = tokio::process::Command::new(&path)
        .args(args)
        .output()
        .await
        .map_err(|e| anyhow::anyhow!("{program} could not run ({e}): install the PostgreSQL client tools, or set pg_bin_dir"))?;
    if !out.status.success() {
        anyhow::bail!(
            "{program} failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Book the next scheduled backup (when `backup_every_hours` is set), unless one is.
pub async fn schedule(db: &Db, config: &Config) -> anyhow::Result<()> {
    if config.backup_every_hours <= 0 {
        return Ok(());
    }
    super::jobs::schedule_once(
        db,
        JOB_KIND,
        Utc::now() + Duration::hours(config.backup_every_hours),
    )
    .await?;
    Ok(())
}

pub struct Restored {
    /// The schema version of the backup, and of the database now.
    pub from: i64,
    pub to: i64,
}

/// Put a backup back as the database of `config`, with the server stopped; an older backup is
/// then upgraded to this release's schema. Refused: a running server, a file that is not a
/// Khidmat database, one made by a newer release.
pub async fn restore(config: &Config, file: &Path) -> anyhow::Result<Restored> {
    if let Some(url) = config
        .database_url
        .as_deref()
        .filter(|u| !u.starts_with("sqlite:"))
    {
        return restore_postgres(config, url, file).await;
    }
    let _lock = lock(&config.data_dir)?;
    anyhow::ensure!(file.is_file(), "{} is not a file", file.display());
    // Read the backup before touching anything.
    let from = {
        let mut conn = SqliteConnectOptions::from_str("sqlite:")?
            .filename(file)
            .read_only(true)
            .connect()
            .await
            .map_err(|e| anyhow::anyhow!("{} is not an SQLite database: {e}", file.display()))?;
        let v: Result<(Option<i64>,), _> =
            sqlx::query_as("SELECT MAX(version) FROM _sqlx_migrations WHERE success = TRUE")
                .fetch_one(&mut conn)
                .await;
        match v {
            Ok((Some(v),)) => v,
            _ => anyhow::bail!("{} is not a Khidmat database", file.display()),
        }
    };
    let target = config.sqlite_path();
    let dir = target.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    let tmp = dir.join(".khidmat.db.restoring");
    std::fs::copy(file, &tmp)?;
    File::open(&tmp)?.sync_all()?;
    // The old database's write-ahead log belongs to the old file: it must not replay onto this one.
    for ext in ["-wal", "-shm"] {
        let side = PathBuf::from(format!("{}{ext}", target.display()));
        if side.exists() {
            std::fs::remove_file(side)?;
        }
    }
    std::fs::rename(&tmp, &target)?;
    let db = Db::connect(None, &target).await?;
    let to = db.applied_migrations().await?.last().copied().unwrap_or(0);
    db.close().await;
    Ok(Restored { from, to })
}

/// PostgreSQL: check the file is a Khidmat dump that this release can read, put it back in one
/// transaction (replacing what is there), then upgrade it.
async fn restore_postgres(config: &Config, url: &str, file: &Path) -> anyhow::Result<Restored> {
    let _lock = lock(&config.data_dir)?;
    anyhow::ensure!(file.is_file(), "{} is not a file", file.display());
    let path = file.display().to_string();
    // The dump's schema version, from its copy of the migrations table.
    let migrations = pg_tool(
        config,
        "pg_restore",
        &["--data-only", "--table=_sqlx_migrations", "--file=-", &path],
    )
    .await
    .map_err(|_| anyhow::anyhow!("{} is not a PostgreSQL dump", file.display()))?;
    let from = dump_version(&migrations)
        .ok_or_else(|| anyhow::anyhow!("{} is not a Khidmat database dump", file.display()))?;
    let newest = Db::migrations_of(Backend::Postgres)
        .last()
        .map_or(0, |m| m.0);
    anyhow::ensure!(
        from <= newest,
        "{} was made by a newer Khidmat (schema {from}; this release knows up to {newest}): restore it with that release",
        file.display()
    );
    pg_tool(
        config,
        "pg_restore",
        &[
            "--clean",
            "--if-exists",
            "--no-owner",
            "--single-transaction",
            &format!("--dbname={url}"),
            &path,
        ],
    )
    .await?;
    let db = Db::connect(Some(url), &config.sqlite_path()).await?;
    let to = db.applied_migrations().await?.last().copied().unwrap_or(0);
    db.close().await;
    Ok(Restored { from, to })
}

/// What a backup holds, once checked.
#[derive(Debug)]
pub struct Verified {
    /// The schema version it was made at.
    pub version: i64,
    /// Its tables and their rows (an SQLite backup), or its tables with no count (a PostgreSQL
    /// dump: counting would mean restoring it).
    pub tables: Vec<(String, Option<i64>)>,
}

/// Check that `file` is a backup this release can restore: it opens, it is whole (SQLite's
/// integrity check; `pg_restore` reads a dump's table of contents), it is a Khidmat database at
/// a schema this release knows; its tables and rows are counted.
pub async fn verify(config: &Config, file: &Path) -> anyhow::Result<Verified> {
    anyhow::ensure!(file.is_file(), "{} is not a file", file.display());
    let newest = |backend: Backend| Db::migrations_of(backend).last().map_or(0, |m| m.0);
    let mut head = [0u8; 16];
    {
        use std::io::Read;
        let _ = File::open(file)?.read(&mut head)?;
    }
    let (backend, version, tables) = if head.starts_with(b"SQLite format 3\0") {
        let mut conn = SqliteConnectOptions::from_str("sqlite:")?
            .filename(file)
            .read_only(true)
            .connect()
            .await
            .map_err(|e| anyhow::anyhow!("{} does not open: {e}", file.display()))?;
        let (check,): (String,) = sqlx::query_as("PRAGMA integrity_check")
            .fetch_one(&mut conn)
            .await
            .map_err(|e| anyhow::anyhow!("{} cannot be checked: {e}", file.display()))?;
        anyhow::ensure!(check == "ok", "{} is damaged: {check}", file.display());
        let v: Result<(Option<i64>,), _> =
            sqlx::query_as("SELECT MAX(version) FROM _sqlx_migrations WHERE success = TRUE")
                .fetch_one(&mut conn)
                .await;
        let Ok((Some(version),)) = v else {
            anyhow::bail!("{} is not a Khidmat database", file.display());
        };
        let names: Vec<(String,)> = sqlx::query_as(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name",
        )
        .fetch_all(&mut conn)
        .await?;
        let mut tables = Vec::new();
        for (name,) in names {
            let (n,): (i64,) = sqlx::query_as(&format!(
                "SELECT COUNT(*) FROM \"{}\"",
                name.replace('"', "\"\"")
            ))
            .fetch_one(&mut conn)
            .await?;
            tables.push((name, Some(n)));
        }
        (Backend::Sqlite, version, tables)
    } else if head.starts_with(b"PGDMP") {
        let path = file.display().to_string();
        let list = pg_tool(config, "pg_restore", &["--list", &path])
            .await
            .map_err(|e| {
                anyhow::anyhow!("{} is not a readable PostgreSQL dump: {e}", file.display())
            })?;
        let migrations = pg_tool(
            config,
            "pg_restore",
            &["--data-only", "--table=_sqlx_migrations", "--file=-", &path],
        )
        .await?;
        let version = dump_version(&migrations)
            .ok_or_else(|| anyhow::anyhow!("{} is not a Khidmat database dump", file.display()))?;
        let tables = list
            .lines()
            .filter(|l| l.contains(" TABLE DATA "))
            .filter_map(|l| {
                l.split_whitespace()
                    .rev()
                    .nth(1)
                    .map(|t| (t.to_owned(), None))
            })
            .collect();
        (Backend::Postgres, version, tables)
    } else {
        anyhow::bail!(
            "{} is neither an SQLite database nor a PostgreSQL dump",
            file.display()
        );
    };
    let known = newest(backend);
    anyhow::ensure!(
        version <= known,
        "{} was made by a newer Khidmat (schema {version}; this release knows up to {known}): verify and restore it with that release",
        file.display()
    );
    Ok(Verified { version, tables })
}

/// The newest migration in `pg_restore`'s SQL for the `_sqlx_migrations` table's rows.
fn dump_version(sql: &str) -> Option<i64> {
    let mut lines = sql
        .lines()
        .skip_while(|l| !l.starts_with("COPY public._sqlx_migrations"));
    lines.next()?;
    lines
        .take_while(|l| *l != "\\.")
        .filter_map(|l| l.split('\t').next()?.parse::<i64>().ok())
        .max()
}

/// Register the scheduled backup and "back up now".
pub fn register_jobs(registry: &mut super::jobs::Registry, config: &std::sync::Arc<Config>) {
    let (scheduled, now) = (config.clone(), config.clone());
    registry.register(JOB_KIND, move |db, _| job(db, scheduled.clone()));
    registry.register(NOW_JOB_KIND, move |db, _| now_job(db, now.clone()));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pruning_keeps_the_newest() {
        let dir = tempfile::tempdir().unwrap();
        for n in [
            "khidmat-20261101-020000-000.db",
            "khidmat-20261102-020000-000.db",
            "khidmat-20261103-020000-000.db",
            "notes.txt",
        ] {
            std::fs::write(dir.path().join(n), "x").unwrap();
        }
        let gone = prune(dir.path(), 2).unwrap();
        assert_eq!(gone.len(), 1);
        assert!(gone[0].ends_with("khidmat-20261101-020000-000.db"));
        assert!(dir.path().join("notes.txt").exists());
    }

    #[test]
    fn servers_share_the_directory_and_a_restore_waits_for_none() {
        let dir = tempfile::tempdir().unwrap();
        let one = server_lock(dir.path()).unwrap();
        let two = server_lock(dir.path()).unwrap();
        assert!(lock(dir.path())
            .unwrap_err()
            .to_string()
            .contains("server is running"));
        drop((one, two));
        let restoring = lock(dir.path()).unwrap();
        assert!(
            server_lock(dir.path()).is_err(),
            "no server starts mid-restore"
        );
        drop(restoring);
    }
}
