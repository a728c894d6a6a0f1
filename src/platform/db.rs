//! The one database mechanism: a [`Db`] over SQLite (embedded default, WAL) or PostgreSQL.
//!
//! SQL is written once, with `$1` placeholders that both backends accept. A [`Query`] carries the
//! SQL text and its typed arguments; [`Db`] and [`Tx`] run it on whichever backend is configured.
//! Row types derive `sqlx::FromRow` and `khidmat_derive::FromRaw`, which make them decodable
//! from both backends' rows and from the SQLite writer's.
//!
//! SQLite gets one writer connection and a pool of readers, so writers never fight over the lock
//! (`SQLITE_BUSY`) and readers never wait for the writer (WAL). Both are Khidmat's own
//! connections ([`super::sqlite`]): the writer runs inline on the task that holds it, a reader
//! on a blocking thread. sqlx's SQLite driver is left for the migrations and untrusted SQL.

use std::borrow::Cow;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions, PgRow};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{FromRow, PgPool, Postgres, SqlitePool};

use super::sqlite::{self, Column, FromRaw};

/// Which backend a [`Db`] talks to, for the few statements whose SQL differs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn name(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
    }
}

/// A typed query argument. Nulls carry their type, which PostgreSQL needs.
#[derive(Debug, Clone)]
pub enum Value {
    Bool(Option<bool>),
    Int(Option<i64>),
    Float(Option<f64>),
    Text(Option<String>),
    Time(Option<DateTime<Utc>>),
}

macro_rules! value_from {
    ($variant:ident, $t:ty) => {
        impl From<$t> for Value {
            fn from(v: $t) -> Self {
                Value::$variant(Some(v.into()))
            }
        }
        impl From<Option<$t>> for Value {
            fn from(v: Option<$t>) -> Self {
                Value::$variant(v.map(Into::into))
            }
        }
    };
}
value_from!(Bool, bool);
value_from!(Int, i64);
value_from!(Int, i32);
value_from!(Float, f64);
// Text never carries NUL characters: PostgreSQL cannot store them, and no civic text needs
// them. Both backends see U+FFFD instead, so they behave alike.
fn no_nul(s: String) -> String {
    if s.contains('\0') {
        s.replace('\0', "\u{FFFD}")
    } else {
        s
    }
}

impl From<String> for Value {
    fn from(v: String) -> Self {
        Value::Text(Some(no_nul(v)))
    }
}
impl From<Option<String>> for Value {
    fn from(v: Option<String>) -> Self {
        Value::Text(v.map(no_nul))
    }
}
impl From<&str> for Value {
    fn from(v: &str) -> Self {
        Value::Text(Some(no_nul(v.to_owned())))
    }
}
impl From<Option<&str>> for Value {
    fn from(v: Option<&str>) -> Self {
        Value::Text(v.map(|s| no_nul(s.to_owned())))
    }
}
value_from!(Time, DateTime<Utc>);

impl From<&String> for Value {
    fn from(v: &String) -> Self {
        Value::from(v.as_str())
    }
}
impl From<Option<&String>> for Value {
    fn from(v: Option<&String>) -> Self {
        Value::from(v.map(String::as_str))
    }
}

/// SQL text plus its arguments, runnable on either backend.
#[derive(Debug, Clone)]
pub struct Query {
    sql: Cow<'static, str>,
    args: Vec<Value>,
}

impl Query {
    /// Does this statement write? On SQLite it must then run on the one writing connection:
    /// a write from a reader's connection races the writer and fails as "database is locked".
    fn writes(&self) -> bool {
        let head = self.sql.trim_start();
        ["INSERT", "UPDATE", "DELETE", "REPLACE", "WITH"]
            .iter()
            .any(|w| head.len() >= w.len() && head[..w.len()].eq_ignore_ascii_case(w))
    }
}

/// Start a query. `sql` uses `$1`, `$2`, … placeholders.
pub fn query(sql: impl Into<Cow<'static, str>>) -> Query {
    Query {
        sql: sql.into(),
        args: Vec::new(),
    }
}

impl Query {
    pub fn bind(mut self, v: impl Into<Value>) -> Self {
        self.args.push(v.into());
        self
    }

    /// Append SQL text (for queries assembled from optional filters).
    pub fn push(mut self, sql: &str) -> Self {
        self.sql.to_mut().push_str(sql);
        self
    }

    /// Append the next placeholder (`$n`) and bind `v` to it.
    pub fn push_bind(mut self, v: impl Into<Value>) -> Self {
        self.args.push(v.into());
        let n = self.args.len();
        self.sql.to_mut().push_str(&format!("${n}"));
        self
    }

    /// Append a placeholder for each of `items`, comma-separated, binding each: the inside of
    /// an `IN (…)`.
    pub fn push_binds<T: Clone + Into<Value>>(mut self, items: &[T]) -> Self {
        for (i, item) in items.iter().enumerate() {
            if i > 0 {
                self = self.push(", ");
            }
            self = self.push_bind(item.clone());
        }
        self
    }

    pub fn sql(&self) -> &str {
        &self.sql
    }

    pub(crate) fn args(&self) -> &[Value] {
        &self.args
    }

    fn postgres(&self) -> sqlx::query::Query<'_, Postgres, sqlx::postgres::PgArguments> {
        let mut q = sqlx::query(&self.sql);
        for a in &self.args {
            q = match a.clone() {
                Value::Bool(v) => q.bind(v),
                Value::Int(v) => q.bind(v),
                Value::Float(v) => q.bind(v),
                Value::Text(v) => q.bind(v),
                Value::Time(v) => q.bind(v),
            };
        }
        q
    }
}

/// A row type readable from both backends: from sqlx's PostgreSQL rows, and from Khidmat's
/// own SQLite connections ([`FromRaw`]).
pub trait Row: for<'r> FromRow<'r, PgRow> + FromRaw + Send + Unpin + 'static {}
impl<T> Row for T where T: for<'r> FromRow<'r, PgRow> + FromRaw + Send + Unpin + 'static {}

/// A single-column value readable from both backends.
pub trait Scalar:
    for<'r> sqlx::Decode<'r, Postgres> + sqlx::Type<Postgres> + Column + Send + Unpin + 'static
{
}
impl<T> Scalar for T where
    T: for<'r> sqlx::Decode<'r, Postgres> + sqlx::Type<Postgres> + Column + Send + Unpin + 'static
{
}

/// The store: a connection pool on one of the two backends.
#[derive(Clone, Debug)]
pub enum Db {
    /// `untrusted`: read-only, `query_only` connections for SQL that strangers write, kept
    /// open so their page caches stay warm.
    Sqlite {
        write: Arc<Writer>,
        read: Arc<Readers>,
        untrusted: SqlitePool,
    },
    /// `untrusted`: connections as the DataStore reader role (see [`Db::open_untrusted`]),
    /// once set up at start.
    Postgres {
        pool: PgPool,
        untrusted: std::sync::Arc<std::sync::OnceLock<PgPool>>,
    },
}

impl Db {
    /// Each connection pool: `(name, connections in use, the most it opens)`, for `/metrics`.
    pub fn pool_usage(&self) -> Vec<(&'static str, u32, u32)> {
        fn use_of<D: sqlx::Database>(
            name: &'static str,
            p: &sqlx::Pool<D>,
        ) -> (&'static str, u32, u32) {
            let open = p.size();
            let idle = u32::try_from(p.num_idle()).unwrap_or(open);
            (
                name,
                open.saturating_sub(idle),
                p.options().get_max_connections(),
            )
        }
        match self {
            Db::Sqlite { write, read, .. } => vec![
                ("write", u32::from(write.lent.try_lock().is_err()), 1),
                (
                    "read",
                    (READERS - read.slots.available_permits()) as u32,
                    READERS as u32,
                ),
            ],
            Db::Postgres { pool, .. } => vec![use_of("main", pool)],
        }
    }
}

/// An open transaction. Dropped without [`Tx::commit`], it rolls back: nothing half-written.
pub enum Tx {
    Sqlite(SqliteTx),
    Postgres(sqlx::Transaction<'static, Postgres>),
}

/// The SQLite writer: one connection, lent to one task at a time, run inline by that task.
///
/// **Group commit.** Every write is a member of a group: one SQLite transaction that members
/// join one after another, each inside a savepoint of its own. A member that finishes
/// releases its savepoint into the group; if no other task is waiting to write, it commits the
/// group at once (a lone writer waits for nothing). If some are, it leaves the group open for
/// them and queues for the lock again behind them: whoever comes back first commits for all
/// (`COMMIT` once: the pages every report touches, such as the newest leaf of each index, go
/// to the log once per group, not once per report). No member is told that its work is
/// stored before the commit that stores it; if that commit fails, every member of the group
/// gets the error. A member that fails, or is dropped, rolls back to its savepoint, so only its
/// own work is undone.
///
/// **Checkpoints off the writer's path.** SQLite checkpoints its write-ahead log on the
/// connection that commits, every 1,000 pages: copying them into the database file and two
/// `fsync`s, with every other write waiting. Here a [`Checkpointer`] does that on a thread and a
/// connection of its own while the writer goes on; the writer checkpoints itself only should
/// the log reach [`CHECKPOINT_BACKSTOP`] pages (the checkpointer behind, or writes so steady
/// that it never catches up to the end of the log, which the log needs to start again).
///
/// The connection is `None` after a `COMMIT` failed (a full disk): whatever state SQLite was
/// left in, that connection is closed (which rolls back what was not committed) and the next
/// user opens a new one. Beginning while another process holds the write lock (`SQLITE_BUSY`:
/// a CLI command writing) waits asynchronously and tries again, for up to [`BUSY_WAIT`],
/// rather than blocking the thread that runs it.
pub struct Writer {
    lent: Arc<tokio::sync::Mutex<Lent>>,
    /// Tasks waiting for the lock to begin a write: while there are some, a member leaves its
    /// group open for them.
    starting: Arc<std::sync::atomic::AtomicUsize>,
    path: PathBuf,
}

/// What the writer's lock guards.
struct Lent {
    conn: Option<sqlite::Conn>,
    /// Started with the first connection; stopped when the database closes.
    checkpointer: Option<Checkpointer>,
    /// The group transaction open on `conn`, and how many members it holds.
    group: Option<(Arc<Group>, usize)>,
}

/// Transactions that share one commit: their outcome, set once when the group ends.
#[derive(Default)]
struct Group {
    outcome: std::sync::OnceLock<Result<(), sqlite::SqliteError>>,
}

/// Pages in the write-ahead log at which the checkpointer is woken (SQLite's own checkpoint
/// comes at the same length).
pub const CHECKPOINT_PAGES: std::ffi::c_int = 1000;

/// Pages in the log at which the writer checkpoints it itself, as SQLite would: it is the only
/// writer, so its checkpoint reaches the end of the log, and the next write starts the log
/// again from its beginning. Most of the pages are in the database file already by then (the
/// checkpointer's work), so this one is short.
pub const CHECKPOINT_BACKSTOP: std::ffi::c_int = 10 * CHECKPOINT_PAGES;

/// Checkpoints of the write-ahead log on a thread and a connection of their own (passive: they
/// wait for no reader and no writer, and copy what no reader still needs from the log).
/// Dropped, it stops its thread after the checkpoint it may be running.
struct Checkpointer {
    /// The one strong handle: the writer connections' hooks hold weak ones, so the thread's
    /// channel closes when this goes.
    wake: Option<Arc<std::sync::mpsc::SyncSender<()>>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Checkpointer {
    fn start(path: &Path) -> Result<Checkpointer, sqlx::Error> {
        // One waiting wake is enough: a checkpoint copies whatever the log holds when it runs.
        let (wake, woken) = std::sync::mpsc::sync_channel(1);
        let path = path.to_owned();
        let thread = std::thread::Builder::new()
            .name("khidmat-checkpoint".into())
            .spawn(move || {
                let mut conn = None;
                while woken.recv().is_ok() {
                    if conn.is_none() {
                        match sqlite::Conn::open(&path, &checkpointer_setup()) {
                            Ok(c) => conn = Some(c),
                            Err(e) => {
                                tracing::warn!("the database's checkpointer could not connect (the writer checkpoints at {CHECKPOINT_BACKSTOP} pages): {e}");
                                continue;
                            }
                        }
                    }
                    let c = conn.as_mut().expect("connected above");
                    match c.batch("PRAGMA wal_checkpoint(PASSIVE)") {
                        Ok(()) => metrics::counter!("khidmat_sqlite_checkpoints_total").increment(1),
                        Err(e) => {
                            tracing::warn!("checkpointing the database's log failed (tried again at the next wake): {e}");
                            conn = None;
                        }
                    }
                }
            })
            .map_err(sqlx::Error::Io)?;
        Ok(Checkpointer {
            wake: Some(Arc::new(wake)),
            thread: Some(thread),
        })
    }

    /// A writer connection, its checkpoints left to this checkpointer.
    fn writer(&self, path: &Path) -> Result<sqlite::Conn, sqlx::Error> {
        let mut conn = sqlite::Conn::open(path, &writer_setup())?;
        let wake = Arc::downgrade(self.wake.as_ref().expect("running until dropped"));
        conn.after_commit(move |pages| {
            if pages >= CHECKPOINT_BACKSTOP {
                metrics::counter!("khidmat_sqlite_writer_checkpoints_total").increment(1);
                return true;
            }
            if pages >= CHECKPOINT_PAGES {
                // Full: a wake is waiting already. Gone: the database is closing.
                if let Some(wake) = wake.upgrade() {
                    let _ = wake.try_send(());
                }
            }
            false
        });
        Ok(conn)
    }
}

impl Drop for Checkpointer {
    fn drop(&mut self) {
        self.wake = None;
        if let Some(thread) = self.thread.take() {
            if thread.join().is_err() {
                tracing::error!("the database's checkpointer thread panicked");
            }
        }
    }
}

/// How long a write waits for another process to let go of the database's write lock.
const BUSY_WAIT: Duration = Duration::from_secs(10);

impl std::fmt::Debug for Writer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Writer").field("path", &self.path).finish()
    }
}

/// Every SQLite connection's settings. Memory stays flat whatever the database's size: the
/// file is read, not mapped into memory (mapped pages count as the server's resident memory,
/// one copy per connection: a 600 MB database showed as a gigabyte), and each connection
/// caches a few MB of pages; the operating system's page cache keeps the rest of a warm
/// database, shared and given back under pressure.
const SQLITE_SETUP: &str =
    "PRAGMA foreign_keys = ON; PRAGMA temp_store = memory; PRAGMA mmap_size = 0;";

/// The writer's settings: WAL; another process's lock is waited for by [`Busy`], not by
/// SQLite; a 16 MB cache; sorting for an index (an import's) on every core; SQLite's whole
/// heap, every connection's, kept near 100 MB by giving back cached pages first.
fn writer_setup() -> String {
    format!(
        "{SQLITE_SETUP} PRAGMA busy_timeout = 0; PRAGMA journal_mode = WAL; \
         PRAGMA synchronous = NORMAL; PRAGMA cache_size = -16000; PRAGMA threads = {}; \
         PRAGMA soft_heap_limit = 100000000;",
        untrusted_slots()
    )
}

/// The checkpointer's settings: it waits for no one (a passive checkpoint never does).
fn checkpointer_setup() -> String {
    format!("{SQLITE_SETUP} PRAGMA busy_timeout = 0;")
}

/// A reader's settings: an 8 MB cache, and writes refused.
fn reader_setup() -> String {
    format!("{SQLITE_SETUP} PRAGMA busy_timeout = 10000; PRAGMA cache_size = -8000; PRAGMA query_only = ON;")
}

fn is_busy(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::Database(d) => d
            .try_downcast_ref::<sqlite::SqliteError>()
            .is_some_and(|s| s.code() & 0xff == libsqlite3_sys::SQLITE_BUSY),
        _ => false,
    }
}

type WriterGuard = tokio::sync::OwnedMutexGuard<Lent>;

/// Counts a task among those waiting to begin, for as long as it waits (cancelled or not).
struct Starting(Arc<std::sync::atomic::AtomicUsize>);

impl Starting {
    fn new(count: &Arc<std::sync::atomic::AtomicUsize>) -> Starting {
        count.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        Starting(count.clone())
    }
}

impl Drop for Starting {
    fn drop(&mut self) {
        self.0.fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
    }
}

/// Statements a member runs around its work. Kept (prepared once) like any other.
const SAVEPOINT: &str = "SAVEPOINT member";
const RELEASE: &str = "RELEASE member";
const UNDO: &str = "ROLLBACK TO member; RELEASE member";

impl Writer {
    fn open(path: &Path) -> Result<Writer, sqlx::Error> {
        let checkpointer = Checkpointer::start(path)?;
        let conn = checkpointer.writer(path)?;
        Ok(Writer {
            lent: Arc::new(tokio::sync::Mutex::new(Lent {
                conn: Some(conn),
                checkpointer: Some(checkpointer),
                group: None,
            })),
            starting: Arc::default(),
            path: path.to_owned(),
        })
    }

    /// The connection for this task alone, outside any transaction: an open group is
    /// committed first (its members are told), and a discarded connection opened again.
    async fn hold(&self) -> Result<WriterGuard, sqlx::Error> {
        let mut guard = self.lent.clone().lock_owned().await;
        if guard.group.is_some() {
            commit_group(&mut guard)?;
        }
        self.reopen(&mut guard)?;
        Ok(guard)
    }

    fn reopen(&self, guard: &mut Lent) -> Result<(), sqlx::Error> {
        if guard.conn.is_none() {
            if guard.checkpointer.is_none() {
                guard.checkpointer = Some(Checkpointer::start(&self.path)?);
            }
            let checkpointer = guard.checkpointer.as_ref().expect("started above");
            guard.conn = Some(checkpointer.writer(&self.path)?);
        }
        Ok(())
    }

    /// Begin a member of the open group, or a new group if none is open.
    async fn begin(&self) -> Result<SqliteTx, sqlx::Error> {
        let mut guard = {
            let _starting = Starting::new(&self.starting);
            self.lent.clone().lock_owned().await
        };
        self.reopen(&mut guard)?;
        if guard.group.is_none() {
            // IMMEDIATE: the write lock now, not at the first write (no busy upgrade). Run by
            // `batch`, not as a kept statement: a kept `BEGIN` that met another process's
            // lock did not come cleanly out of it, and the next try failed (the test of a
            // write waiting for that lock caught it).
            Busy::retry(|| conn(&mut guard).batch("BEGIN IMMEDIATE")).await?;
            guard.group = Some((Arc::default(), 0));
        }
        // The first member needs no savepoint: should it fail, the whole transaction, its own
        // alone, is rolled back. A savepoint copies the old content of every existing page the
        // member changes to a sub-journal kept in memory (`temp_store = memory`), so a bulk
        // write that begins a group (a CLI import, always) keeps no such copy.
        let savepoint = guard
            .group
            .as_ref()
            .is_some_and(|(_, members)| *members > 0);
        if savepoint {
            if let Err(e) = conn(&mut guard).run(&query(SAVEPOINT), |_| Ok(true)) {
                // Not a member: the group goes on without it, unless SQLite ended it.
                check_group(&mut guard, None);
                return Err(e);
            }
        }
        Ok(SqliteTx {
            guard: Some(guard),
            starting: self.starting.clone(),
            savepoint,
            failed: None,
        })
    }

    /// Run one statement as a member of its own (or alone, outside any transaction, if SQLite
    /// runs it only there): rows changed, and up to `max` rows read into `T`. Alone, it runs
    /// again after a pause while another process holds the write lock ([`Busy`]).
    async fn run<T: FromRaw>(&self, q: &Query, max: usize) -> Result<(u64, Vec<T>), sqlx::Error> {
        if outside_transaction(q.sql()) {
            let mut guard = self.hold().await?;
            let out = Busy::retry(|| run(conn(&mut guard), q, max)).await;
            check_group(&mut guard, None);
            return out;
        }
        let mut tx = self.begin().await?;
        let out = tx.run(q, max).await?;
        tx.commit().await?;
        Ok(out)
    }

    /// Run `f` on the connection on a thread of its own, outside any transaction, for work
    /// that takes long (a backup).
    async fn blocking<R: Send + 'static>(
        &self,
        f: impl FnOnce(&mut sqlite::Conn) -> R + Send + 'static,
    ) -> Result<R, sqlx::Error> {
        let mut guard = self.hold().await?;
        tokio::task::spawn_blocking(move || {
            let out = f(conn(&mut guard));
            check_group(&mut guard, None);
            out
        })
        .await
        .map_err(|e| sqlx::Error::Protocol(format!("the database writer's thread failed: {e}")))
    }
}

/// Statements SQLite runs only outside a transaction (`VACUUM INTO`, `ATTACH`, some
/// `PRAGMA`s), which therefore cannot join a group.
fn outside_transaction(sql: &str) -> bool {
    let word = sql
        .trim_start()
        .split(|c: char| !c.is_ascii_alphabetic())
        .next();
    word.is_some_and(|w| {
        ["VACUUM", "ATTACH", "DETACH", "PRAGMA"]
            .iter()
            .any(|k| w.eq_ignore_ascii_case(k))
    })
}

/// The lent connection (open: [`Writer::begin`] and [`Writer::hold`] open it).
fn conn(lent: &mut Lent) -> &mut sqlite::Conn {
    lent.conn.as_mut().expect("lent connections are open")
}

/// Commit the open group and tell its members. A `COMMIT` that fails discards the connection
/// (closing it rolls back what was not committed), so nothing is acknowledged inside a
/// transaction that never ended.
fn commit_group(lent: &mut Lent) -> Result<(), sqlx::Error> {
    let Some((group, members)) = lent.group.take() else {
        return Ok(());
    };
    let done = conn(lent).batch("COMMIT");
    if done.is_err() {
        lent.conn = None;
    } else {
        metrics::counter!("khidmat_sqlite_commits_total").increment(1);
        metrics::counter!("khidmat_sqlite_writes_committed_total").increment(members as u64);
    }
    let _ = group
        .outcome
        .set(done.as_ref().map(|_| ()).map_err(sqlite::SqliteError::of));
    done
}

/// End the open group if SQLite ended its transaction (a statement that failed with a full
/// disk rolls the whole transaction back): its members are told it failed, with `cause` when
/// known. A connection left inside a transaction with no group is rolled back, or discarded if
/// it does not come out.
fn check_group(lent: &mut Lent, cause: Option<sqlite::SqliteError>) {
    let ended = lent.conn.as_ref().is_none_or(|c| c.autocommit());
    if ended {
        if let Some((group, _)) = lent.group.take() {
            let _ = group.outcome.set(Err(lost(cause)));
        }
    } else if lent.group.is_none() {
        let c = conn(lent);
        let rolled_back = c.batch("ROLLBACK");
        if rolled_back.is_err() || !c.autocommit() {
            tracing::warn!(
                "the database writer connection was left inside a transaction: replaced"
            );
            lent.conn = None;
        }
    }
}

/// What members of a group that SQLite rolled back are told: the error that ended it, when
/// known.
fn lost(cause: Option<sqlite::SqliteError>) -> sqlite::SqliteError {
    cause.unwrap_or_else(|| {
        sqlite::SqliteError::new(
            libsqlite3_sys::SQLITE_ERROR,
            "the write was rolled back with the transaction it shared (see the log)",
        )
    })
}

/// Waiting for another process to let go of the write lock: a pause that grows to 50 ms, for
/// up to [`BUSY_WAIT`] in all. Only for a statement that did nothing when it met the lock (one
/// outside a transaction, or `BEGIN IMMEDIATE`), which may simply run again.
struct Busy {
    started: Instant,
    pause: Duration,
}

impl Busy {
    fn new() -> Busy {
        Busy {
            started: Instant::now(),
            pause: Duration::from_millis(1),
        }
    }

    /// Run `attempt` until it does not meet another process's write lock, or the time is up.
    async fn retry<T>(
        mut attempt: impl FnMut() -> Result<T, sqlx::Error>,
    ) -> Result<T, sqlx::Error> {
        let mut busy = Busy::new();
        loop {
            match attempt() {
                Err(e) if is_busy(&e) && busy.wait().await => continue,
                other => return other,
            }
        }
    }

    /// Pause before trying again; false when the time is up.
    async fn wait(&mut self) -> bool {
        if self.started.elapsed() >= BUSY_WAIT {
            return false;
        }
        tokio::time::sleep(self.pause).await;
        self.pause = (self.pause * 2).min(Duration::from_millis(50));
        true
    }
}

/// The first column of the first row.
fn first<T>(rows: Vec<(T,)>) -> Result<T, sqlx::Error> {
    rows.into_iter()
        .next()
        .map(|r| r.0)
        .ok_or(sqlx::Error::RowNotFound)
}

/// Every row a query returns (for [`run`]'s `max`).
const ALL: usize = usize::MAX;

/// Run `q` on `c`, reading up to `max` of its rows into `T`.
fn run<T: FromRaw>(
    c: &mut sqlite::Conn,
    q: &Query,
    max: usize,
) -> Result<(u64, Vec<T>), sqlx::Error> {
    let mut rows = Vec::new();
    let changed = c.run(q, |r| {
        if rows.len() < max {
            rows.push(T::from_raw(r)?);
        }
        Ok(rows.len() < max)
    })?;
    Ok((changed, rows))
}

/// The SQLite readers: connections of Khidmat's own, [`READERS`] at most, `query_only`. A
/// query runs on a blocking thread and its rows are read there: one hand-off per query (sqlx's
/// driver made one per row), and a long read never holds up the async workers.
pub struct Readers {
    idle: std::sync::Mutex<Vec<sqlite::Conn>>,
    slots: Arc<tokio::sync::Semaphore>,
    path: PathBuf,
}

/// Readers open at most: each read runs on a thread of its own.
const READERS: usize = 4;

impl std::fmt::Debug for Readers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Readers").field("path", &self.path).finish()
    }
}

impl Readers {
    fn new(path: &Path) -> Readers {
        Readers {
            idle: std::sync::Mutex::new(Vec::new()),
            slots: Arc::new(tokio::sync::Semaphore::new(READERS)),
            path: path.to_owned(),
        }
    }

    fn idle(&self) -> std::sync::MutexGuard<'_, Vec<sqlite::Conn>> {
        self.idle
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Run `q` on a reader, up to `max` of its rows read into `T`.
    async fn run<T: FromRaw + Send + 'static>(
        self: &Arc<Self>,
        q: Query,
        max: usize,
    ) -> Result<Vec<T>, sqlx::Error> {
        let slot = self
            .slots
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| sqlx::Error::PoolClosed)?;
        let this = Arc::clone(self);
        tokio::task::spawn_blocking(move || {
            let _slot = slot;
            let mut conn = match this.idle().pop() {
                Some(c) => c,
                None => sqlite::Conn::open(&this.path, &reader_setup())?,
            };
            let out = run::<T>(&mut conn, &q, max).map(|(_, rows)| rows);
            if conn.autocommit() {
                this.idle().push(conn);
            }
            out
        })
        .await
        .map_err(|e| sqlx::Error::Protocol(format!("a database reader's thread failed: {e}")))?
    }

    fn close(&self) {
        self.slots.close();
        self.idle().clear();
    }
}

/// A member of a group transaction on the SQLite writer ([`Writer`]), inside a savepoint of
/// its own. Dropped without [`Tx::commit`], its own work is rolled back, nothing else.
pub struct SqliteTx {
    /// `None` once committed.
    guard: Option<WriterGuard>,
    starting: Arc<std::sync::atomic::AtomicUsize>,
    /// Inside a savepoint of its own (false for a group's first member).
    savepoint: bool,
    /// The last error a statement of this member met, for the group's other members should it
    /// have ended their transaction too.
    failed: Option<sqlite::SqliteError>,
}

impl Drop for SqliteTx {
    fn drop(&mut self) {
        if let Some(mut guard) = self.guard.take() {
            undo(&mut guard, self.savepoint, self.failed.take());
        }
    }
}

impl SqliteTx {
    async fn run<T: FromRaw>(
        &mut self,
        q: &Query,
        max: usize,
    ) -> Result<(u64, Vec<T>), sqlx::Error> {
        // Long work (an import) gives other tasks their turn now and then.
        tokio::task::consume_budget().await;
        let guard = self.guard.as_mut().expect("a member runs until it commits");
        let out = run(conn(guard), q, max);
        if let Err(e) = &out {
            self.failed = Some(sqlite::SqliteError::of(e));
        }
        out
    }

    /// Release this member's work into its group and return once the group is committed.
    async fn commit(mut self) -> Result<(), sqlx::Error> {
        let mut guard = self.guard.take().expect("a member commits once");
        if self.savepoint {
            let released = conn(&mut guard).run(&query(RELEASE), |_| Ok(true));
            if let Err(e) = released {
                let cause = self
                    .failed
                    .take()
                    .unwrap_or_else(|| sqlite::SqliteError::of(&e));
                undo(&mut guard, true, Some(cause.clone()));
                return Err(cause.into());
            }
        }
        check_group(&mut guard, self.failed.take());
        let group = match guard.group.as_mut() {
            Some((group, members)) => {
                *members += 1;
                group.clone()
            }
            None => return Err(lost(None).into()),
        };
        if self.starting.load(std::sync::atomic::Ordering::SeqCst) == 0 {
            return commit_group(&mut guard);
        }
        // Others wait to write: leave the group open for them, and queue behind them. On a
        // task of its own, so that the group is committed even if this request is dropped.
        let lent = tokio::sync::OwnedMutexGuard::mutex(&guard).clone();
        drop(guard);
        tokio::spawn(async move {
            let mut guard = lent.lock_owned().await;
            if guard
                .group
                .as_ref()
                .is_some_and(|(open, _)| Arc::ptr_eq(open, &group))
            {
                commit_group(&mut guard)
            } else {
                let outcome = group.outcome.get().cloned();
                outcome
                    .unwrap_or_else(|| Err(lost(None)))
                    .map_err(Into::into)
            }
        })
        .await
        .map_err(|e| sqlx::Error::Protocol(format!("the group commit's task failed: {e}")))?
    }
}

/// Roll a member back to its savepoint (a first member, without one, is the group's only
/// work: the group ends below). If that fails, the whole group is rolled back and its members
/// told; a group left with no members is ended, so it does not hold the write lock.
fn undo(lent: &mut Lent, savepoint: bool, cause: Option<sqlite::SqliteError>) {
    if let (Some(c), Some(_)) = (lent.conn.as_mut(), lent.group.as_ref()) {
        if savepoint && !c.autocommit() && c.run(&query(UNDO), |_| Ok(true)).is_err() {
            let _ = c.batch("ROLLBACK");
            if let Some((group, _)) = lent.group.take() {
                let _ = group.outcome.set(Err(lost(cause.clone())));
            }
        }
    }
    check_group(lent, cause);
    end_if_empty(lent);
}

/// End a group no member has released work into, so it does not hold the write lock for
/// nobody (nobody waits for its commit).
fn end_if_empty(lent: &mut Lent) {
    if let Some((_, 0)) = lent.group {
        if let Some((group, _)) = lent.group.take() {
            let _ = group.outcome.set(Ok(()));
        }
        check_group(lent, None);
    }
}

/// Does this error come from a unique or primary-key constraint?
pub fn is_unique_violation(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::Database(d) => d.is_unique_violation(),
        _ => false,
    }
}

/// The SQLite walls around untrusted SQL, below the parser: an authorizer that allows reading
/// DataStore tables (`ds_…`) and calling the listed functions, and nothing else (no catalogue,
/// no pragma, no other table, not even through a view), and limits on what one value, one
/// statement and one expression may grow to.
mod untrusted {
    use std::ffi::{c_char, c_int, c_void, CStr};

    use libsqlite3_sys as ffi;

    /// The longest string or blob a query may make: a value that doubles stops here.
    pub const MAX_VALUE_BYTES: c_int = 1_000_000;

    fn text<'a>(p: *const c_char) -> Option<&'a str> {
        // SAFETY: SQLite passes NUL-terminated strings or NULL, alive during the callback.
        (!p.is_null())
            .then(|| unsafe { CStr::from_ptr(p) }.to_str().ok())
            .flatten()
    }

    /// Decide one action of a statement being prepared.
    fn allow(action: c_int, a: Option<&str>, b: Option<&str>, schema: Option<&str>) -> bool {
        match action {
            ffi::SQLITE_SELECT | ffi::SQLITE_RECURSIVE => true,
            // A DataStore table (`ds_…`), or a resource's view (named by its id, a UUID: no
            // other object has such a name, and this connection cannot create one), or a
            // `WITH` name (no schema: the query's own rows, not a stored table).
            ffi::SQLITE_READ if schema.is_none() => true,
            ffi::SQLITE_READ => {
                schema == Some("main")
                    && a.is_some_and(|t| {
                        let t = t.to_ascii_lowercase();
                        (t.starts_with("ds_") && !t.contains("_fts"))
                            || uuid::Uuid::try_parse(&t)
                                .is_ok_and(|u| u.hyphenated().to_string() == t)
                    })
            }
            ffi::SQLITE_FUNCTION => b.is_some_and(|f| {
                let f = f.to_ascii_lowercase();
                super::UNTRUSTED_FUNCTIONS.contains(&f.as_str()) || f == "like" || f == "glob"
            }),
            _ => false,
        }
    }

    unsafe extern "C" fn authorize(
        _: *mut c_void,
        action: c_int,
        a: *const c_char,
        b: *const c_char,
        schema: *const c_char,
        _inner: *const c_char,
    ) -> c_int {
        if allow(action, text(a), text(b), text(schema)) {
            ffi::SQLITE_OK
        } else {
            ffi::SQLITE_DENY
        }
    }

    /// Put the walls on an open connection.
    ///
    /// # Safety
    /// `db` is an open connection that nothing else uses meanwhile.
    pub unsafe fn wall(db: *mut ffi::sqlite3) -> Result<(), String> {
        for (limit, value) in [
            (ffi::SQLITE_LIMIT_LENGTH, MAX_VALUE_BYTES),
            (ffi::SQLITE_LIMIT_SQL_LENGTH, 100_000),
            (ffi::SQLITE_LIMIT_EXPR_DEPTH, 200),
            (ffi::SQLITE_LIMIT_COMPOUND_SELECT, 50),
            (ffi::SQLITE_LIMIT_ATTACHED, 0),
            (ffi::SQLITE_LIMIT_TRIGGER_DEPTH, 0),
        ] {
            ffi::sqlite3_limit(db, limit, value);
        }
        match ffi::sqlite3_set_authorizer(db, Some(authorize), std::ptr::null_mut()) {
            ffi::SQLITE_OK => Ok(()),
            rc => Err(format!("cannot set the SQL authorizer (SQLite error {rc})")),
        }
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn only_datastore_tables_and_listed_functions() {
            assert!(allow(
                ffi::SQLITE_READ,
                Some("ds_0a1b"),
                Some("c1"),
                Some("main")
            ));
            let view = "2f1c3d4e-0000-4000-8000-000000000001";
            assert!(allow(
                ffi::SQLITE_READ,
                Some(view),
                Some("District"),
                Some("main")
            ));
            assert!(!allow(
                ffi::SQLITE_READ,
                Some("2f1c3d4e00004000800000000000001"),
                Some("x"),
                Some("main")
            ));
            for (t, schema) in [
                ("users", "main"),
                ("sqlite_master", "main"),
                ("sqlite_schema", "main"),
                ("ds_0a1b", "temp"),
                ("ds_0a1b_fts_data", "main"),
                ("sessions", "main"),
            ] {
                assert!(
                    !allow(ffi::SQLITE_READ, Some(t), Some("x"), Some(schema)),
                    "{t}"
                );
            }
            assert!(allow(ffi::SQLITE_FUNCTION, None, Some("count"), None));
            assert!(allow(ffi::SQLITE_FUNCTION, None, Some("LIKE"), None));
            for f in [
                "load_extension",
                "randomblob",
                "zeroblob",
                "printf",
                "readfile",
                "sqlite_version",
            ] {
                assert!(!allow(ffi::SQLITE_FUNCTION, None, Some(f), None), "{f}");
            }
            for action in [
                ffi::SQLITE_PRAGMA,
                ffi::SQLITE_ATTACH,
                ffi::SQLITE_INSERT,
                ffi::SQLITE_UPDATE,
                ffi::SQLITE_DELETE,
                ffi::SQLITE_CREATE_TABLE,
                ffi::SQLITE_TRANSACTION,
            ] {
                assert!(
                    !allow(action, Some("x"), Some("y"), Some("main")),
                    "{action}"
                );
            }
        }
    }
}

/// The most bytes of rows one untrusted query answers with; past this the answer is cut (and
/// says so), as it is past the row cap.
pub const UNTRUSTED_MAX_BYTES: usize = 16 * 1024 * 1024;

/// The PostgreSQL role that `datastore_search_sql` runs under (see [`Db::migrate`]).
pub const DATASTORE_READER: &str = "khidmat_datastore_reader";

/// Functions untrusted SQL (`datastore_search_sql`) may call: reading and computing, nothing that sleeps, reads files or
/// changes settings. The SQLite authorizer allows the same list (and `like`/`glob`, which the
/// `LIKE` and `GLOB` operators call).
pub const UNTRUSTED_FUNCTIONS: &[&str] = &[
    "count",
    "sum",
    "avg",
    "min",
    "max",
    "total",
    "group_concat",
    "string_agg",
    "lower",
    "upper",
    "length",
    "char_length",
    "round",
    "abs",
    "coalesce",
    "nullif",
    "ifnull",
    "substr",
    "substring",
    "trim",
    "ltrim",
    "rtrim",
    "replace",
    "instr",
    "position",
    "concat",
    "date",
    "datetime",
    "strftime",
    "date_trunc",
    "date_part",
    "extract",
    "to_char",
    "cast",
    "percentile_cont",
    "floor",
    "ceil",
    "ceiling",
    "sqrt",
    "stddev",
    "variance",
    "median",
];

/// The longest a request waits for a PostgreSQL connection before it answers 503.
pub const ACQUIRE_TIMEOUT: Duration = Duration::from_millis(1500);

/// What our PostgreSQL connections tell the planner a random page read costs (a sequential one
/// costs 1); see [`Db::open`].
pub const RANDOM_PAGE_COST: &str = "1.1";

/// A PostgreSQL connection idle this long is pinged before it is used again.
const PING_WHEN_IDLE: Duration = Duration::from_secs(1);

/// How many untrusted queries run at once: one per core (they are CPU-bound scans).
pub fn untrusted_slots() -> usize {
    std::thread::available_parallelism().map_or(2, |n| n.get())
}

impl Db {
    /// Connect to `database_url` if it is a PostgreSQL URL, else open (creating) the SQLite file
    /// `sqlite_path`; then run the embedded migrations of that backend.
    pub async fn connect(database_url: Option<&str>, sqlite_path: &Path) -> anyhow::Result<Db> {
        let db = Self::open(database_url, sqlite_path).await?;
        db.migrate().await?;
        Ok(db)
    }

    /// Connect as [`Db::connect`] does, without migrating (`khidmat migrate` reports first).
    pub async fn open(database_url: Option<&str>, sqlite_path: &Path) -> anyhow::Result<Db> {
        let db = match database_url {
            Some(url) if url.starts_with("postgres://") || url.starts_with("postgresql://") => {
                // Random reads priced as what they are on an SSD or from memory, not as a
                // spinning disk's (PostgreSQL's default 4): otherwise, when the newest reports
                // are mostly of one service (a flood of one kind), the planner walks the date
                // index through all of them to find a page of another service's (150 ms
                // against 3 at 240k reports) instead of taking that service's own index.
                let opts = PgConnectOptions::from_str(url)?
                    .options([("random_page_cost", RANDOM_PAGE_COST)]);
                let pool = PgPoolOptions::new()
                    .max_connections(32)
                    // Fail fast: while the database is down (or every connection is busy for
                    // this long) a request answers 503 with Retry-After instead of hanging;
                    // the pool reconnects by itself when the database is back.
                    .acquire_timeout(ACQUIRE_TIMEOUT)
                    // sqlx pings every connection as it is returned to the pool, and by
                    // default again as it is taken: a round trip more for every statement
                    // outside a transaction, and for every transaction. One that was alive a
                    // moment ago is taken as it is; one idle long enough for the database to
                    // have gone away is pinged first (a dead one is dropped, another taken).
                    .test_before_acquire(false)
                    .before_acquire(|conn, meta| {
                        Box::pin(async move {
                            if meta.idle_for >= PING_WHEN_IDLE {
                                sqlx::Connection::ping(conn).await?;
                            }
                            Ok(true)
                        })
                    })
                    .connect_with(opts)
                    .await?;
                Db::Postgres {
                    pool,
                    untrusted: Default::default(),
                }
            }
            Some(url) if url.starts_with("sqlite:") => {
                let opts = SqliteConnectOptions::from_str(url)?;
                Self::open_sqlite(opts).await?
            }
            Some(other) => anyhow::bail!(
                "unsupported database URL {other:?}: use postgres://… or sqlite:PATH (or leave it out for the embedded SQLite file)"
            ),
            None => {
                if let Some(dir) = sqlite_path.parent() {
                    std::fs::create_dir_all(dir)?;
                }
                Self::open_sqlite(SqliteConnectOptions::new().filename(sqlite_path)).await?
            }
        };
        Ok(db)
    }

    async fn open_sqlite(opts: SqliteConnectOptions) -> anyhow::Result<Db> {
        let opts = opts
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(Duration::from_secs(10))
            .foreign_keys(true)
            .pragma("temp_store", "memory")
            // As every connection (`SQLITE_SETUP`): the file read, not mapped into memory.
            .pragma("mmap_size", "0")
            .pragma("cache_size", "-8000");
        // The writer opens first: it creates the file, in WAL mode.
        let path = opts.get_filename().to_owned();
        if path.as_os_str().is_empty() || path.as_os_str() == ":memory:" {
            anyhow::bail!("an in-memory SQLite database cannot be shared by the writer and its readers: give a file");
        }
        let write = Arc::new(Writer::open(&path)?);
        let read = Arc::new(Readers::new(&path));
        // Untrusted connections: read-only, sorting and temporary results on disk rather than
        // in memory, a small cache; the authorizer and limits go on as each one opens.
        let untrusted = SqlitePoolOptions::new()
            .max_connections(untrusted_slots() as u32)
            .test_before_acquire(false)
            .acquire_timeout(Duration::from_secs(30))
            .after_connect(|conn, _| {
                Box::pin(async move {
                    let handle = conn.lock_handle().await?.as_raw_handle().as_ptr();
                    // SAFETY: the handle is this open connection's, used on this thread while
                    // the connection is locked.
                    unsafe { untrusted::wall(handle) }.map_err(sqlx::Error::Protocol)
                })
            })
            .connect_lazy_with(
                opts.read_only(true)
                    .pragma("query_only", "ON")
                    .pragma("temp_store", "file")
                    .pragma("cache_size", "-8000"),
            );
        Ok(Db::Sqlite {
            write,
            read,
            untrusted,
        })
    }

    /// The migrations this release knows, for this backend: `(version, description)`.
    pub fn known_migrations(&self) -> Vec<(i64, String)> {
        Db::migrations_of(self.backend())
    }

    /// The migrations this release brings for a backend: `(version, description)`, oldest first.
    pub fn migrations_of(backend: Backend) -> Vec<(i64, String)> {
        let m = match backend {
            Backend::Sqlite => sqlx::migrate!("./migrations/sqlite"),
            Backend::Postgres => sqlx::migrate!("./migrations/postgres"),
        };
        m.iter()
            .map(|x| (x.version, x.description.to_string()))
            .collect()
    }

    /// The migrations applied to this database (none for a new one).
    pub async fn applied_migrations(&self) -> anyhow::Result<Vec<i64>> {
        let exists: bool = match self.backend() {
            Backend::Sqlite => {
                self.scalar::<i64>(query(
                    "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = '_sqlx_migrations'",
                ))
                .await?
                    > 0
            }
            Backend::Postgres => {
                self.scalar::<i64>(query(
                    "SELECT COUNT(*) FROM information_schema.tables WHERE table_name = '_sqlx_migrations' AND table_schema = current_schema()",
                ))
                .await?
                    > 0
            }
        };
        if !exists {
            return Ok(vec![]);
        }
        let rows: Vec<(i64,)> = self
            .fetch_all(query(
                "SELECT version FROM _sqlx_migrations WHERE success = TRUE ORDER BY version",
            ))
            .await?;
        Ok(rows.into_iter().map(|r| r.0).collect())
    }

    /// Bring the schema up to this release. A database that a newer release has upgraded is
    /// refused with what to do, rather than half understood.
    pub async fn migrate(&self) -> anyhow::Result<()> {
        let known = self.known_migrations();
        let newest = known.last().map(|k| k.0).unwrap_or(0);
        if let Some(v) = self
            .applied_migrations()
            .await?
            .into_iter()
            .find(|v| !known.iter().any(|k| k.0 == *v))
        {
            anyhow::bail!(
                "this database was upgraded by a newer Khidmat (its migration {v} is unknown here; this release knows up to {newest}): run that release or a newer one"
            );
        }
        match self {
            Db::Sqlite { write, .. } => {
                // sqlx's migrator, on a connection of its own, while the writer is held.
                let _held = write.hold().await?;
                let pool = SqlitePoolOptions::new()
                    .max_connections(1)
                    .connect_with(
                        SqliteConnectOptions::new()
                            .filename(&write.path)
                            .busy_timeout(BUSY_WAIT)
                            .foreign_keys(true),
                    )
                    .await?;
                let done = sqlx::migrate!("./migrations/sqlite").run(&pool).await;
                pool.close().await;
                done?
            }
            Db::Postgres { pool: p, .. } => sqlx::migrate!("./migrations/postgres").run(p).await?,
        }
        Ok(())
    }

    /// Set up the connections that run `datastore_search_sql`. PostgreSQL: they log in as the
    /// DataStore reader role, which may read the `datastore` schema and nothing else (and, being
    /// the session's own user, cannot `SET ROLE` back to the application's). The role is made
    /// when missing (which needs `CREATEROLE`) and its password is `password` (derived from the
    /// deployment's key, so every node agrees). Until this has run, untrusted SQL is refused.
    /// SQLite: nothing to do (its walls go on each connection as it opens).
    pub async fn open_untrusted(&self, password: &str) -> Result<(), sqlx::Error> {
        let Db::Postgres { pool, untrusted } = self else {
            return Ok(());
        };
        let mut c = pool.acquire().await?;
        let quoted = password.replace('\'', "''");
        for sql in [
            format!(
                "DO $$ BEGIN \
                   IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{DATASTORE_READER}') THEN \
                     CREATE ROLE {DATASTORE_READER} LOGIN NOINHERIT CONNECTION LIMIT 16; \
                   END IF; \
                 EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; \
                 END $$"
            ),
            format!("ALTER ROLE {DATASTORE_READER} LOGIN NOINHERIT NOCREATEDB NOCREATEROLE PASSWORD '{quoted}'"),
            format!("GRANT USAGE ON SCHEMA datastore TO {DATASTORE_READER}"),
            format!("GRANT SELECT ON ALL TABLES IN SCHEMA datastore TO {DATASTORE_READER}"),
            format!("ALTER DEFAULT PRIVILEGES IN SCHEMA datastore GRANT SELECT ON TABLES TO {DATASTORE_READER}"),
        ] {
            sqlx::query(&sql).execute(&mut *c).await?;
        }
        let opts = (*pool.connect_options())
            .clone()
            .username(DATASTORE_READER)
            .password(password)
            .options([
                ("default_transaction_read_only", "on"),
                ("search_path", "datastore"),
            ]);
        let _ = untrusted.set(
            PgPoolOptions::new()
                .max_connections(untrusted_slots() as u32)
                .acquire_timeout(Duration::from_secs(30))
                .connect_lazy_with(opts),
        );
        Ok(())
    }

    pub fn backend(&self) -> Backend {
        match self {
            Db::Sqlite { .. } => Backend::Sqlite,
            Db::Postgres { .. } => Backend::Postgres,
        }
    }

    pub async fn begin(&self) -> Result<Tx, sqlx::Error> {
        Ok(match self {
            Db::Sqlite { write, .. } => Tx::Sqlite(write.begin().await?),
            Db::Postgres { pool: p, .. } => Tx::Postgres(p.begin().await?),
        })
    }

    /// Prove that a write commits now: one row rewritten in its own transaction (`/healthz`).
    pub async fn probe_write(&self) -> Result<(), sqlx::Error> {
        let mut tx = self.begin().await?;
        tx.execute(
            query("INSERT INTO health_probe (id, at) VALUES (1, $1) ON CONFLICT (id) DO UPDATE SET at = excluded.at")
                .bind(Utc::now()),
        )
        .await?;
        tx.commit().await
    }

    /// Run a statement that writes, outside any transaction. Returns rows affected.
    pub async fn execute(&self, q: Query) -> Result<u64, sqlx::Error> {
        Ok(match self {
            Db::Sqlite { write, .. } => write.run::<()>(&q, ALL).await?.0,
            Db::Postgres { pool: p, .. } => q.postgres().execute(p).await?.rows_affected(),
        })
    }

    pub async fn fetch_all<T: Row>(&self, q: Query) -> Result<Vec<T>, sqlx::Error> {
        match self {
            Db::Sqlite { write, read, .. } => {
                if q.writes() {
                    return Ok(write.run(&q, ALL).await?.1);
                }
                read.run(q, ALL).await
            }
            Db::Postgres { pool: p, .. } => {
                let rows = q.postgres().fetch_all(p).await?;
                rows.iter().map(T::from_row).collect()
            }
        }
    }

    pub async fn fetch_optional<T: Row>(&self, q: Query) -> Result<Option<T>, sqlx::Error> {
        match self {
            Db::Sqlite { write, read, .. } => {
                if q.writes() {
                    return Ok(write.run(&q, 1).await?.1.into_iter().next());
                }
                Ok(read.run(q, 1).await?.into_iter().next())
            }
            Db::Postgres { pool: p, .. } => q
                .postgres()
                .fetch_optional(p)
                .await?
                .map(|r| T::from_row(&r))
                .transpose(),
        }
    }

    pub async fn fetch_one<T: Row>(&self, q: Query) -> Result<T, sqlx::Error> {
        self.fetch_optional(q)
            .await?
            .ok_or(sqlx::Error::RowNotFound)
    }

    /// The first column of the first row.
    pub async fn scalar<T: Scalar>(&self, q: Query) -> Result<T, sqlx::Error> {
        use sqlx::Row as _;
        match self {
            Db::Sqlite { write, read, .. } => {
                if q.writes() {
                    return first(write.run::<(T,)>(&q, 1).await?.1);
                }
                first(read.run::<(T,)>(q, 1).await?)
            }
            Db::Postgres { pool: p, .. } => q.postgres().fetch_one(p).await?.try_get(0),
        }
    }

    /// Run SQL that a stranger wrote (already checked by a parser) on a read-only connection,
    /// stopped after `limit`, with at most `max_rows` rows. Returns the column names, the rows,
    /// and whether rows were left out.
    pub async fn untrusted_select(
        &self,
        sql: &str,
        max_rows: usize,
        limit: Duration,
    ) -> Result<Untrusted, UntrustedError> {
        use futures_util::TryStreamExt;
        use sqlx::{Column, Row as _, TypeInfo, ValueRef};
        let sql = sql.trim().trim_end_matches(';');
        match self {
            Db::Sqlite { untrusted, .. } => {
                let mut conn = untrusted.acquire().await.map_err(UntrustedError::Db)?;
                let handle = conn
                    .lock_handle()
                    .await
                    .map_err(UntrustedError::Db)?
                    .as_raw_handle()
                    .as_ptr() as usize;
                let mut columns: Vec<String> = Vec::new();
                let mut rows: Vec<Vec<serde_json::Value>> = Vec::new();
                let mut truncated = false;
                let mut bytes = 0usize;
                let mut timed_out = false;
                {
                    let work = async {
                        let mut stream = sqlx::query(sql).fetch(&mut *conn);
                        while let Some(row) = stream.try_next().await? {
                            if columns.is_empty() {
                                columns =
                                    row.columns().iter().map(|c| c.name().to_owned()).collect();
                            }
                            if rows.len() == max_rows || bytes > UNTRUSTED_MAX_BYTES {
                                truncated = true;
                                break;
                            }
                            let mut out = Vec::with_capacity(row.len());
                            for i in 0..row.len() {
                                let raw = row.try_get_raw(i)?;
                                let v = if raw.is_null() {
                                    serde_json::Value::Null
                                } else {
                                    match raw.type_info().name() {
                                        "INTEGER" => serde_json::json!(row.try_get::<i64, _>(i)?),
                                        "REAL" => serde_json::json!(row.try_get::<f64, _>(i)?),
                                        "BLOB" => serde_json::Value::String("(binary)".into()),
                                        _ => serde_json::json!(row.try_get::<String, _>(i)?),
                                    }
                                };
                                bytes += match &v {
                                    serde_json::Value::String(t) => t.len() + 2,
                                    _ => 8,
                                };
                                out.push(v);
                            }
                            rows.push(out);
                        }
                        Ok::<_, sqlx::Error>(())
                    };
                    tokio::pin!(work);
                    let result = tokio::select! {
                        r = &mut work => r,
                        _ = tokio::time::sleep(limit) => {
                            timed_out = true;
                            // SAFETY: the connection is alive (owned here, borrowed by `work`);
                            // sqlite3_interrupt may be called from any thread.
                            unsafe { libsqlite3_sys::sqlite3_interrupt(handle as *mut libsqlite3_sys::sqlite3) };
                            work.await
                        }
                    };
                    if timed_out {
                        return Err(UntrustedError::Timeout);
                    }
                    result.map_err(UntrustedError::from_sqlx)?;
                }
                Ok(Untrusted {
                    columns,
                    rows,
                    truncated,
                })
            }
            Db::Postgres { untrusted, .. } => {
                let p = untrusted.get().ok_or_else(|| {
                    UntrustedError::Refused(
                        "SQL queries are not set up on this server (see docs/SECURITY.md)".into(),
                    )
                })?;
                let mut tx = p.begin().await.map_err(UntrustedError::Db)?;
                sqlx::query("SET TRANSACTION READ ONLY")
                    .execute(&mut *tx)
                    .await
                    .map_err(UntrustedError::Db)?;
                // The walls of the database: logged in as a role that may read the DataStore
                // schema only, that schema alone on the search path, limits on time and memory.
                for set in [
                    "SET LOCAL search_path = datastore".to_string(),
                    format!("SET LOCAL statement_timeout = {}", limit.as_millis()),
                    "SET LOCAL work_mem = '16MB'".to_string(),
                ] {
                    sqlx::query(&set)
                        .execute(&mut *tx)
                        .await
                        .map_err(UntrustedError::Db)?;
                }
                // A row larger than a value may be on SQLite comes back as NULL (and refuses
                // the query) rather than whole into this process.
                let wrapped = format!(
                    "SELECT CASE WHEN octet_length(j) <= {} THEN j END FROM \
                     (SELECT row_to_json(t)::text AS j FROM ({sql}) t LIMIT {}) w",
                    untrusted::MAX_VALUE_BYTES,
                    max_rows + 1
                );
                let mut got: Vec<(String,)> = Vec::new();
                let mut bytes = 0usize;
                let mut cut = false;
                {
                    let mut stream =
                        sqlx::query_as::<_, (Option<String>,)>(&wrapped).fetch(&mut *tx);
                    while let Some((row,)) =
                        stream.try_next().await.map_err(UntrustedError::from_sqlx)?
                    {
                        let row = row.ok_or_else(|| {
                            UntrustedError::Refused(format!(
                                "a row of the answer is larger than {} bytes",
                                untrusted::MAX_VALUE_BYTES
                            ))
                        })?;
                        bytes += row.len();
                        got.push((row,));
                        if bytes > UNTRUSTED_MAX_BYTES {
                            cut = true;
                            break;
                        }
                    }
                }
                let _ = tx.rollback().await;
                let mut columns = Vec::new();
                let mut rows = Vec::new();
                let truncated = cut || got.len() > max_rows;
                for (text,) in got.into_iter().take(max_rows) {
                    let obj: serde_json::Map<String, serde_json::Value> =
                        serde_json::from_str(&text)
                            .map_err(|e| UntrustedError::Db(sqlx::Error::Decode(Box::new(e))))?;
                    if columns.is_empty() {
                        columns = obj.keys().cloned().collect();
                    }
                    rows.push(obj.into_iter().map(|(_, v)| v).collect());
                }
                Ok(Untrusted {
                    columns,
                    rows,
                    truncated,
                })
            }
        }
    }

    /// A consistent copy of the whole database into `dest` (SQLite only: `VACUUM INTO`).
    pub async fn backup(&self, dest: &Path) -> anyhow::Result<()> {
        match self {
            Db::Sqlite { write, .. } => {
                let dest = dest
                    .to_str()
                    .ok_or_else(|| anyhow::anyhow!("backup path must be valid UTF-8"))?;
                let q = query("VACUUM INTO $1").bind(dest);
                write.blocking(move |c| c.run(&q, |_| Ok(true))).await??;
                Ok(())
            }
            Db::Postgres { .. } => {
                anyhow::bail!("PostgreSQL is backed up with pg_dump: see backup::make")
            }
        }
    }

    pub async fn close(&self) {
        match self {
            Db::Sqlite {
                write,
                read,
                untrusted,
            } => {
                untrusted.close().await;
                read.close();
                let mut lent = write.lent.lock().await;
                if let Err(e) = commit_group(&mut lent) {
                    tracing::error!("the last writes did not commit as the database closed: {e}");
                }
                // The writer closes last: closing, SQLite checkpoints the whole log and
                // removes it.
                lent.checkpointer = None;
                lent.conn = None;
            }
            Db::Postgres { pool: p, untrusted } => {
                if let Some(u) = untrusted.get() {
                    u.close().await;
                }
                p.close().await
            }
        }
    }
}

/// What an untrusted query returned.
#[derive(Debug)]
pub struct Untrusted {
    pub columns: Vec<String>,
    pub rows: Vec<Vec<serde_json::Value>>,
    pub truncated: bool,
}

#[derive(Debug)]
pub enum UntrustedError {
    /// Over the time limit: stopped.
    Timeout,
    /// The database refused it (bad SQL, a write on a read-only connection, …).
    Refused(String),
    Db(sqlx::Error),
}

impl UntrustedError {
    fn from_sqlx(e: sqlx::Error) -> UntrustedError {
        match &e {
            sqlx::Error::Database(d) => {
                // PostgreSQL: 57014 query_canceled (the time limit); SQLite: "interrupted".
                if d.code().as_deref() == Some("57014") || d.message().contains("interrupted") {
                    UntrustedError::Timeout
                } else {
                    UntrustedError::Refused(d.message().to_owned())
                }
            }
            _ => UntrustedError::Db(e),
        }
    }
}

impl Tx {
    pub fn backend(&self) -> Backend {
        match self {
            Tx::Sqlite(_) => Backend::Sqlite,
            Tx::Postgres(_) => Backend::Postgres,
        }
    }

    pub async fn commit(self) -> Result<(), sqlx::Error> {
        match self {
            Tx::Sqlite(t) => t.commit().await,
            Tx::Postgres(t) => t.commit().await,
        }
    }

    pub async fn execute(&mut self, q: Query) -> Result<u64, sqlx::Error> {
        Ok(match self {
            Tx::Sqlite(t) => t.run::<()>(&q, ALL).await?.0,
            Tx::Postgres(t) => q.postgres().execute(&mut **t).await?.rows_affected(),
        })
    }

    pub async fn fetch_all<T: Row>(&mut self, q: Query) -> Result<Vec<T>, sqlx::Error> {
        match self {
            Tx::Sqlite(t) => Ok(t.run(&q, ALL).await?.1),
            Tx::Postgres(t) => {
                let rows = q.postgres().fetch_all(&mut **t).await?;
                rows.iter().map(T::from_row).collect()
            }
        }
    }

    pub async fn fetch_optional<T: Row>(&mut self, q: Query) -> Result<Option<T>, sqlx::Error> {
        match self {
            Tx::Sqlite(t) => Ok(t.run(&q, 1).await?.1.into_iter().next()),
            Tx::Postgres(t) => q
                .postgres()
                .fetch_optional(&mut **t)
                .await?
                .map(|r| T::from_row(&r))
                .transpose(),
        }
    }

    pub async fn fetch_one<T: Row>(&mut self, q: Query) -> Result<T, sqlx::Error> {
        self.fetch_optional(q)
            .await?
            .ok_or(sqlx::Error::RowNotFound)
    }

    pub async fn scalar<T: Scalar>(&mut self, q: Query) -> Result<T, sqlx::Error> {
        use sqlx::Row as _;
        match self {
            Tx::Sqlite(t) => first(t.run::<(T,)>(&q, 1).await?.1),
            Tx::Postgres(t) => q.postgres().fetch_one(&mut **t).await?.try_get(0),
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn writes_are_told_from_reads() {
        assert!(super::query(" update jobs SET x = 1").writes());
        assert!(super::query("INSERT INTO t VALUES (1) RETURNING id").writes());
        assert!(!super::query("SELECT 1").writes());
        assert!(!super::query("UP").writes());
    }
}
