//! A table-backed job queue. Jobs are enqueued inside the transaction that creates the work (so a
//! job exists exactly when its cause does), claimed by workers with a lease, retried with
//! back-off, and kept as `failed` with the last error once their attempts run out.
//!
//! Several nodes may run workers against one PostgreSQL: claims use `FOR UPDATE SKIP LOCKED`.
//! On SQLite the single writer connection serialises claims.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration as StdDuration;

use chrono::{DateTime, Duration, Utc};
use tokio::sync::Notify;

use super::db::{query, Backend, Db, Tx};

/// How long a claimed job may run before another worker may take it over.
const LEASE: i64 = 300;

pub type Handler = Arc<
    dyn Fn(Db, serde_json::Value) -> Pin<Box<dyn Future<Output = anyhow::Result<()>> + Send>>
        + Send
        + Sync,
>;

/// The job kinds this process knows how to run, a bell that rings when a job is enqueued, and
/// what its workers are doing.
#[derive(Clone, Default)]
pub struct Registry {
    handlers: HashMap<&'static str, Handler>,
    pub wake: Arc<Notify>,
    pub activity: Arc<Activity>,
}

/// One server's job workers: how many run, and the jobs they hold. A worker that panicked or
/// stopped is not counted; a long job is running, not stuck.
///
/// A held job is `false` while it waits or runs and `true` once it ran to success and waits
/// for its batch to mark it done. Whoever takes a job out of here (its worker, or [`release`]
/// when the server stops) writes what became of it, so no job is written twice.
///
/// [`release`]: Activity::release
#[derive(Debug, Default)]
pub struct Activity {
    live: std::sync::atomic::AtomicUsize,
    in_flight: std::sync::Mutex<std::collections::BTreeMap<i64, bool>>,
}

impl Activity {
    pub fn live_workers(&self) -> usize {
        self.live.load(std::sync::atomic::Ordering::SeqCst)
    }

    fn holding(&self) -> std::sync::MutexGuard<'_, std::collections::BTreeMap<i64, bool>> {
        self.in_flight.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Take these jobs out of the held ones; those that were still held, and whether each ran
    /// to success.
    fn take(&self, ids: impl Iterator<Item = i64>) -> Vec<(i64, bool)> {
        let mut holding = self.holding();
        ids.filter_map(|id| holding.remove(&id).map(|done| (id, done)))
            .collect()
    }

    /// Wait until no worker runs (they stop between jobs once the server is stopping), at
    /// most `max`. True when they all stopped.
    pub async fn wait_stopped(&self, max: StdDuration) -> bool {
        let deadline = std::time::Instant::now() + max;
        while self.live_workers() > 0 {
            if std::time::Instant::now() >= deadline {
                return false;
            }
            tokio::time::sleep(StdDuration::from_millis(50)).await;
        }
        true
    }

    /// Hand the jobs still held back to the queue at once (a stopping server's), rather than
    /// leave them until their lease runs out, and mark done those that already ran. Returns
    /// how many went back.
    pub async fn release(&self, db: &Db) -> Result<usize, sqlx::Error> {
        let held = std::mem::take(&mut *self.holding());
        let done: Vec<i64> = held.iter().filter(|h| *h.1).map(|h| *h.0).collect();
        finish_done(db, &done).await?;
        let back: Vec<i64> = held.into_iter().filter(|h| !h.1).map(|h| h.0).collect();
        update_each(
            db,
            "status = 'queued', locked_until = NULL, run_at = $1",
            "status = 'running' AND",
            &back,
        )
        .await?;
        Ok(back.len())
    }
}

impl Registry {
    pub fn new(wake: Arc<Notify>) -> Self {
        Registry {
            handlers: HashMap::new(),
            wake,
            activity: Arc::default(),
        }
    }

    pub fn register<F, Fut>(&mut self, kind: &'static str, f: F)
    where
        F: Fn(Db, serde_json::Value) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = anyhow::Result<()>> + Send + 'static,
    {
        self.handlers
            .insert(kind, Arc::new(move |db, v| Box::pin(f(db, v))));
    }
}

/// A kind of job and its payload, typed: the payload is (de)serialised here, once, so a
/// worker gets the struct the enqueuer wrote, or the job fails saying what was wrong.
pub trait Job: serde::Serialize + serde::de::DeserializeOwned + Send + 'static {
    /// The name stored in `jobs.kind`. Never rename one: queued jobs carry it.
    const KIND: &'static str;
}

impl Registry {
    /// Run `f` for every job of kind `J::KIND`, given its payload as a `J`.
    pub fn register_job<J, F, Fut>(&mut self, f: F)
    where
        J: Job,
        F: Fn(Db, J) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = anyhow::Result<()>> + Send + 'static,
    {
        let f = Arc::new(f);
        self.register(J::KIND, move |db, payload| {
            let f = f.clone();
            async move {
                let job: J = serde_json::from_value(payload)
                    .map_err(|e| anyhow::anyhow!("a {} job with a bad payload: {e}", J::KIND))?;
                f(db, job).await
            }
        });
    }
}

/// Queue a typed job inside the caller's transaction.
pub async fn enqueue_job<J: Job>(tx: &mut Tx, job: &J) -> Result<i64, sqlx::Error> {
    let payload = serde_json::to_value(job).expect("a job's payload serialises");
    enqueue(tx, J::KIND, &payload).await
}

/// Add a job to the queue, inside the caller's transaction.
pub async fn enqueue(
    tx: &mut Tx,
    kind: &str,
    payload: &serde_json::Value,
) -> Result<i64, sqlx::Error> {
    enqueue_at(tx, kind, payload, Utc::now()).await
}

/// Add a job that runs no earlier than `at` (scheduled work).
pub async fn enqueue_at(
    tx: &mut Tx,
    kind: &str,
    payload: &serde_json::Value,
    at: DateTime<Utc>,
) -> Result<i64, sqlx::Error> {
    let now = Utc::now();
    tx.scalar(
        query(
            "INSERT INTO jobs (kind, payload, status, attempts, max_attempts, run_at, created_at, updated_at) \
             VALUES ($1, $2, 'queued', 0, 5, $3, $4, $4) RETURNING id",
        )
        .bind(kind)
        .bind(payload.to_string())
        .bind(at)
        .bind(now),
    )
    .await
}

/// Book scheduled work of `kind` at `at`, unless it is already booked: one waiting job per kind
/// however many nodes ask at once (a unique index on `once_key` decides, not a count).
pub async fn schedule_once(db: &Db, kind: &str, at: DateTime<Utc>) -> Result<(), sqlx::Error> {
    let now = Utc::now();
    db.execute(
        query(
            "INSERT INTO jobs (kind, payload, status, attempts, max_attempts, run_at, created_at, updated_at, once_key) \
             VALUES ($1, '{}', 'queued', 0, 5, $2, $3, $3, $1) ON CONFLICT DO NOTHING",
        )
        .bind(kind)
        .bind(at)
        .bind(now),
    )
    .await?;
    Ok(())
}

/// Is a job of this kind waiting (queued or running)?
pub async fn pending(db: &Db, kind: &str) -> Result<bool, sqlx::Error> {
    let n: i64 = db
        .scalar(
            query("SELECT COUNT(*) FROM jobs WHERE kind = $1 AND status IN ('queued', 'running')")
                .bind(kind),
        )
        .await?;
    Ok(n > 0)
}

#[derive(Debug, sqlx::FromRow, khidmat_derive::FromRaw)]
pub struct Claimed {
    pub id: i64,
    pub kind: String,
    pub payload: String,
    pub attempts: i64,
    pub max_attempts: i64,
}

/// How many jobs a worker takes at once. Claiming and marking done are a statement each per
/// batch, not per job: under a burst of reports (each books an alerts job) they were three of
/// the eleven statements a report cost on PostgreSQL, and on SQLite three turns of the one
/// writer per report (docs/PERFORMANCE.md). A batch is only as large as the backlog.
pub const BATCH: usize = 32;

/// Take up to `max` of the oldest runnable jobs: first those whose worker's lease ran out (a
/// worker that stopped), then the oldest queued and due. Oldest first.
///
/// Each is its own statement, read in the order of the `jobs_ready` index (status, run_at):
/// one `OR` of the two made SQLite (and PostgreSQL) gather and sort every runnable job for each
/// claim, which under a backlog of 139k queued jobs cost the writer more than the reports it
/// was taking in.
pub async fn claim(db: &Db, max: usize) -> Result<Vec<Claimed>, sqlx::Error> {
    let now = Utc::now();
    let pick = match db.backend() {
        Backend::Postgres => "FOR UPDATE SKIP LOCKED",
        Backend::Sqlite => "",
    };
    let mut claimed = Vec::new();
    for runnable in [
        "status = 'running' AND locked_until < $2",
        "status = 'queued' AND run_at <= $2",
    ] {
        let left = max.saturating_sub(claimed.len());
        if left == 0 {
            break;
        }
        // The limit is written into the statement (it is ours, not a caller's): a plan kept
        // for any limit could not count on a small one and read the index in order.
        let sql = format!(
            "UPDATE jobs SET status = 'running', attempts = attempts + 1, locked_until = $1, updated_at = $2 \
             WHERE id IN (SELECT id FROM jobs WHERE {runnable} ORDER BY run_at, id LIMIT {left} {pick}) \
             RETURNING id, kind, payload, attempts, max_attempts"
        );
        let mut some: Vec<Claimed> = db
            .fetch_all(query(sql).bind(now + Duration::seconds(LEASE)).bind(now))
            .await?;
        some.sort_by_key(|j| j.id);
        claimed.append(&mut some);
    }
    Ok(claimed)
}

/// `UPDATE jobs SET {set}, updated_at = $1 WHERE {only} id IN (…)` for many jobs in one
/// statement; `set` and `only` may use `$1`, the time now.
async fn update_each(db: &Db, set: &str, only: &str, ids: &[i64]) -> Result<(), sqlx::Error> {
    if ids.is_empty() {
        return Ok(());
    }
    let q = query(format!(
        "UPDATE jobs SET {set}, updated_at = $1 WHERE {only} id IN ("
    ))
    .bind(Utc::now())
    .push_binds(ids)
    .push(")");
    db.execute(q).await?;
    Ok(())
}

/// Mark the jobs that ran to success done.
async fn finish_done(db: &Db, ids: &[i64]) -> Result<(), sqlx::Error> {
    update_each(db, "status = 'done', locked_until = NULL", "", ids).await
}

/// Give claimed jobs that were never started back to the queue, their attempt unspent.
async fn give_back(db: &Db, ids: &[i64]) -> Result<(), sqlx::Error> {
    update_each(
        db,
        "status = 'queued', attempts = attempts - 1, locked_until = NULL",
        "status = 'running' AND",
        ids,
    )
    .await
}

/// Keep a failed job's error, and queue it again after a back-off or, its attempts spent,
/// keep it as failed.
async fn finish_failed(db: &Db, job: &Claimed, e: String) -> Result<(), sqlx::Error> {
    let now = Utc::now();
    let q = if job.attempts >= job.max_attempts {
        query(
            "UPDATE jobs SET status = 'failed', locked_until = NULL, last_error = $1, updated_at = $2 WHERE id = $3",
        )
        .bind(e)
        .bind(now)
        .bind(job.id)
    } else {
        // Back off: 2, 4, 8, 16… seconds.
        let retry_at: DateTime<Utc> = now + Duration::seconds(1 << job.attempts.clamp(1, 12));
        query(
            "UPDATE jobs SET status = 'queued', locked_until = NULL, last_error = $1, run_at = $2, updated_at = $3 WHERE id = $4",
        )
        .bind(e)
        .bind(retry_at)
        .bind(now)
        .bind(job.id)
    };
    db.execute(q).await?;
    Ok(())
}

async fn run(db: &Db, registry: &Registry, job: &Claimed) -> Result<(), String> {
    let outcome = match registry.handlers.get(job.kind.as_str()) {
        None => Err(format!("no handler for job kind {:?}", job.kind)),
        Some(handler) => match serde_json::from_str(&job.payload) {
            Err(e) => Err(format!("bad payload: {e}")),
            Ok(payload) => handler(db.clone(), payload)
                .await
                .map_err(|e| format!("{e:#}")),
        },
    };
    match &outcome {
        Ok(()) => {
            metrics::counter!("khidmat_jobs_total", "kind" => job.kind.clone(), "outcome" => "done")
                .increment(1)
        }
        Err(e) => {
            tracing::warn!(job = job.id, kind = %job.kind, attempt = job.attempts, error = %e, "job failed");
            metrics::counter!("khidmat_jobs_total", "kind" => job.kind.clone(), "outcome" => "error").increment(1);
        }
    }
    outcome
}

/// Claim up to `max` jobs and run them one after another. Returns how many ran (0: the queue
/// had nothing due).
///
/// Those that succeed are marked done together at the end. The batch stops early, giving the
/// jobs it has not started back to the queue, when `stop` is cancelled (the server is
/// stopping: workers stop between jobs) or when half the lease has gone, so that no job is
/// started under a lease about to run out (another worker would take it over and run it too).
pub async fn run_batch(
    db: &Db,
    registry: &Registry,
    max: usize,
    stop: &super::shutdown::Token,
) -> Result<usize, sqlx::Error> {
    let claimed = claim(db, max).await?;
    registry
        .activity
        .holding()
        .extend(claimed.iter().map(|j| (j.id, false)));
    let started = std::time::Instant::now();
    let mut ran = 0;
    let mut failed = Ok(());
    for (n, job) in claimed.iter().enumerate() {
        if n > 0 && (stop.is_cancelled() || started.elapsed().as_secs() as i64 > LEASE / 2) {
            let rest = registry.activity.take(claimed[n..].iter().map(|j| j.id));
            let rest: Vec<i64> = rest.into_iter().map(|r| r.0).collect();
            failed = give_back(db, &rest).await;
            break;
        }
        ran += 1;
        match run(db, registry, job).await {
            Ok(()) => {
                if let Some(done) = registry.activity.holding().get_mut(&job.id) {
                    *done = true;
                }
            }
            Err(e) => {
                if !registry.activity.take([job.id].into_iter()).is_empty() {
                    if let Err(e) = finish_failed(db, job, e).await {
                        failed = Err(e);
                    }
                }
            }
        }
    }
    let done = registry.activity.take(claimed.iter().map(|j| j.id));
    let done: Vec<i64> = done.into_iter().filter(|d| d.1).map(|d| d.0).collect();
    finish_done(db, &done).await?;
    failed?;
    Ok(ran)
}

/// Run one claimed job to completion. Returns false when the queue had nothing due.
pub async fn run_one(db: &Db, registry: &Registry) -> Result<bool, sqlx::Error> {
    Ok(run_batch(db, registry, 1, &super::shutdown::Token::new()).await? > 0)
}

/// How many jobs have this status (`queued`, `running`, `done`, `failed`).
pub async fn count(db: &Db, status: &str) -> Result<i64, sqlx::Error> {
    db.scalar(query("SELECT COUNT(*) FROM jobs WHERE status = $1").bind(status.to_owned()))
        .await
}

/// Counts a worker while it lives, however it ends (a return or a panic's unwinding).
struct Alive(Arc<Activity>);

impl Alive {
    fn new(activity: Arc<Activity>) -> Alive {
        activity
            .live
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        Alive(activity)
    }
}

impl Drop for Alive {
    fn drop(&mut self) {
        self.0
            .live
            .fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
    }
}

/// A worker: runs jobs while there are any, then sleeps until woken or a second has passed.
pub fn spawn_worker(db: Db, registry: Registry, shutdown: super::shutdown::Token) {
    tokio::spawn(async move {
        let _alive = Alive::new(registry.activity.clone());
        loop {
            if shutdown.is_cancelled() {
                break;
            }
            match run_batch(&db, &registry, BATCH, &shutdown).await {
                Ok(0) => {}
                Ok(_) => continue,
                Err(e) => tracing::error!(error = %e, "job queue unavailable"),
            }
            tokio::select! {
                _ = registry.wake.notified() => {}
                _ = tokio::time::sleep(StdDuration::from_secs(1)) => {}
                _ = shutdown.cancelled() => break,
            }
        }
    });
}
