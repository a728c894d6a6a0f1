//! Faults without loss: a full disk, a database that goes away, clients that hang, a stop.
//!
//! Each test puts a load of Open311 clients on the real server, each POST with its own
//! `Idempotency-Key`, brings a fault on, takes it away, retries what was not acknowledged with the
//! same keys, and then checks from a fresh connection that every acknowledged report is stored
//! exactly once under the id it was given, and nothing else. A change that lets the server say
//! 200 for a write it did not commit fails here. (`crash.rs` adds `kill -9` under load.)
//!
//! The full disk is a real one: a small tmpfs mounted for the test, which needs root (CI runs
//! the suite as root; so does `./scripts/test.sh` when it installs what the tests need).

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use khidmat::platform::db::{query, Db};
use serde_json::Value;

use crate::helpers::*;

/// One answer the load got.
#[derive(Debug, Clone)]
struct Outcome {
    key: String,
    status: u16,
    /// Sent with a photo (a file written before the database).
    photo: bool,
    retry_after: Option<String>,
    body: String,
    began: Instant,
    took: Duration,
}

/// What a load of clients was told: every key tried, every id acknowledged, every answer.
#[derive(Default)]
struct Record {
    tried: HashSet<String>,
    acked: HashMap<String, String>,
    outcomes: Vec<Outcome>,
}

struct Load {
    record: Arc<Mutex<Record>>,
    stop: Arc<AtomicBool>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(15))
        .build()
        .unwrap()
}

/// A photo no other post has (content-addressed files are not shared): noise, as a PNG.
fn noise_png(seed: u64) -> Vec<u8> {
    let mut x = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    let img = image::RgbImage::from_fn(160, 120, |_, _| {
        x = x.wrapping_mul(6364136223846793005).wrapping_add(1);
        let b = (x >> 33) as u32;
        image::Rgb([b as u8, (b >> 8) as u8, (b >> 16) as u8])
    });
    let mut out = Vec::new();
    image::DynamicImage::ImageRgb8(img)
        .write_to(&mut std::io::Cursor::new(&mut out), image::ImageFormat::Png)
        .unwrap();
    out
}

/// POST one report under `idem`; with a photo when the key ends in `-p` (the same photo for
/// the same key, so that a retry is the same request).
async fn post(client: &reqwest::Client, base: &str, api_key: &str, idem: &str) -> Outcome {
    let photo = idem.ends_with("-p").then(|| {
        noise_png(
            idem.bytes()
                .fold(7u64, |h, b| h.wrapping_mul(31).wrapping_add(b as u64)),
        )
    });
    // Long enough that a few thousand of them fill a small disk.
    let description = format!("{idem} {}", "blocked drain outside the school ".repeat(40));
    let req = client
        .post(format!("{base}/open311/v2/requests.json"))
        .header("Idempotency-Key", idem);
    let fields = [
        ("api_key", api_key.to_owned()),
        ("service_code", "blocked-drain".to_owned()),
        ("district", "kohat".to_owned()),
        ("description", description),
    ];
    let fields_had_photo = photo.is_some();
    let req = match photo {
        None => req.form(&fields),
        Some(bytes) => {
            let mut form = reqwest::multipart::Form::new();
            for (k, v) in fields {
                form = form.text(k, v);
            }
            let part = reqwest::multipart::Part::bytes(bytes).file_name("photo.png");
            req.multipart(form.part("media", part))
        }
    };
    let began = Instant::now();
    let photo = fields_had_photo;
    let (status, retry_after, body) = match req.send().await {
        Ok(r) => {
            let status = r.status().as_u16();
            let retry = r
                .headers()
                .get("retry-after")
                .map(|v| v.to_str().unwrap_or("?").to_owned());
            (status, retry, r.text().await.unwrap_or_default())
        }
        Err(e) => (0, None, e.to_string()),
    };
    Outcome {
        key: idem.to_owned(),
        status,
        photo,
        retry_after,
        body,
        began,
        took: began.elapsed(),
    }
}

fn id_of(o: &Outcome) -> Option<String> {
    if o.status != 200 {
        return None;
    }
    let v: Value = serde_json::from_str(&o.body).ok()?;
    v[0]["service_request_id"].as_str().map(str::to_owned)
}

impl Record {
    fn note(&mut self, o: Outcome) {
        self.tried.insert(o.key.clone());
        if let Some(id) = id_of(&o) {
            if let Some(before) = self.acked.insert(o.key.clone(), id.clone()) {
                assert_eq!(before, id, "{} was given two ids", o.key);
            }
        }
        self.outcomes.push(o);
    }
}

impl Load {
    /// `clients` clients posting new reports (tagged `tag`) until stopped; every fourth with a
    /// photo when `photos`.
    fn start(base: &str, api_key: &str, tag: &str, clients: usize, photos: bool) -> Load {
        let record: Arc<Mutex<Record>> = Arc::default();
        let stop = Arc::new(AtomicBool::new(false));
        let mut tasks = Vec::new();
        for c in 0..clients {
            let (record, stop) = (record.clone(), stop.clone());
            let (base, api_key, tag) = (base.to_owned(), api_key.to_owned(), tag.to_owned());
            tasks.push(tokio::spawn(async move {
                let client = client();
                let mut n = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    n += 1;
                    let photo = if photos && n.is_multiple_of(4) {
                        "-p"
                    } else {
                        ""
                    };
                    let idem = format!("{tag}-{c}-{n}{photo}");
                    let o = post(&client, &base, &api_key, &idem).await;
                    let ok = o.status == 200;
                    record.lock().unwrap().note(o);
                    if !ok {
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    }
                }
            }));
        }
        Load {
            record,
            stop,
            tasks,
        }
    }

    /// Answers so far, from `since` on.
    fn outcomes_since(&self, since: Instant) -> Vec<Outcome> {
        let r = self.record.lock().unwrap();
        r.outcomes
            .iter()
            .filter(|o| o.began >= since)
            .cloned()
            .collect()
    }

    async fn finish(self) -> Record {
        self.stop.store(true, Ordering::Relaxed);
        for t in self.tasks {
            t.await.unwrap();
        }
        Arc::try_unwrap(self.record)
            .ok()
            .unwrap()
            .into_inner()
            .unwrap()
    }
}

/// Retry every key that was not acknowledged until it is, and a sample of those that were:
/// the same key must give the same id, never a second report.
async fn settle(base: &str, api_key: &str, record: &mut Record) {
    let client = client();
    let mut pending: Vec<String> = record
        .tried
        .iter()
        .filter(|k| !record.acked.contains_key(*k))
        .cloned()
        .collect();
    pending.sort();
    let deadline = Instant::now() + Duration::from_secs(120);
    for key in pending {
        loop {
            let o = post(&client, base, api_key, &key).await;
            let ok = o.status == 200;
            let status = o.status;
            record.note(o);
            if ok {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "{key} still not accepted after the fault ended: {status}"
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
    let sample: Vec<(String, String)> = record
        .acked
        .iter()
        .take(25)
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    for (key, id) in sample {
        let o = post(&client, base, api_key, &key).await;
        assert_eq!(
            id_of(&o).as_deref(),
            Some(id.as_str()),
            "{key} retried: {o:?}"
        );
    }
}

/// From a connection of its own: every acknowledged report stored once under its id, and no
/// report stored that was never acknowledged.
async fn verify(db: &Db, tag: &str, record: &Record) {
    let rows: Vec<(i64, String)> = db
        .fetch_all(
            query("SELECT id, description FROM reports WHERE description LIKE $1")
                .bind(format!("{tag}-%")),
        )
        .await
        .unwrap();
    let mut stored: HashMap<String, Vec<i64>> = HashMap::new();
    for (id, d) in rows {
        let key = d.split(' ').next().unwrap().to_owned();
        stored.entry(key).or_default().push(id);
    }
    let duplicated: Vec<_> = stored.iter().filter(|(_, ids)| ids.len() > 1).collect();
    assert!(duplicated.is_empty(), "stored twice: {duplicated:?}");
    let lost: Vec<_> = record
        .acked
        .iter()
        .filter(|(k, id)| stored.get(*k).map(|s| s[0].to_string()).as_ref() != Some(*id))
        .collect();
    assert!(
        lost.is_empty(),
        "{} of {} acknowledged reports are not stored as acknowledged: {:?}",
        lost.len(),
        record.acked.len(),
        &lost[..lost.len().min(5)]
    );
    let unasked: Vec<_> = stored
        .keys()
        .filter(|k| !record.acked.contains_key(*k))
        .collect();
    assert!(
        unasked.is_empty(),
        "stored but never acknowledged: {unasked:?}"
    );
}

/// Every answer that is not a success is a fault's (507 or 503) and says when to come back;
/// none is a 500 or a dropped connection.
fn assert_faults_answered(outcomes: &[Outcome]) {
    for o in outcomes {
        if o.status == 200 {
            continue;
        }
        assert!(
            matches!(o.status, 503 | 507),
            "a fault answered {} (not 503/507): {}",
            o.status,
            o.body
        );
        assert!(o.retry_after.is_some(), "{} without Retry-After", o.status);
    }
}

/// A small tmpfs of our own, unmounted when dropped.
struct SmallDisk {
    at: PathBuf,
}

impl SmallDisk {
    fn mount(at: &Path, megabytes: u32) -> SmallDisk {
        std::fs::create_dir_all(at).unwrap();
        let out = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={megabytes}m"), "tmpfs"])
            .arg(at)
            .output()
            .expect("run mount");
        assert!(
            out.status.success(),
            "the full-disk test mounts a small tmpfs, which needs root (run the suite as \
             ./scripts/test.sh does in CI): {}",
            String::from_utf8_lossy(&out.stderr)
        );
        SmallDisk { at: at.to_owned() }
    }

    /// Fill it: a file grows until the disk refuses. Returns the file.
    fn fill(&self) -> PathBuf {
        use std::io::Write;
        let file = self.at.join("filler");
        let mut f = std::fs::File::create(&file).unwrap();
        let chunk = vec![0u8; 64 * 1024];
        while f.write_all(&chunk).is_ok() {}
        let _ = f.flush();
        file
    }

    /// Partial files left behind anywhere on it.
    fn temporary_files(&self) -> Vec<PathBuf> {
        fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
            for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
                let p = e.path();
                if p.is_dir() {
                    walk(&p, out);
                } else if p.to_string_lossy().ends_with(".tmp") {
                    out.push(p);
                }
            }
        }
        let mut out = Vec::new();
        walk(&self.at, &mut out);
        out
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.at).output();
    }
}

/// A server in this process on `config`, and a client key for it.
async fn serve(
    config: khidmat::Config,
) -> (String, Db, khidmat::platform::shutdown::Token, String) {
    let app = khidmat::Application::build(config).await.expect("builds");
    let base = format!("http://{}", app.local_addr());
    let db = app.state().db.clone();
    let stop = app.shutdown_token();
    tokio::spawn(app.run_until_stopped(false));
    let key = khidmat::platform::identity::create_api_key(&db, "test", "fault test", None)
        .await
        .unwrap()
        .key;
    (base, db, stop, key)
}

async fn health(base: &str) -> (u16, Value, Duration) {
    let began = Instant::now();
    let r = client()
        .get(format!("{base}/healthz"))
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    (
        status,
        r.json().await.unwrap_or(Value::Null),
        began.elapsed(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_full_disk_answers_507_never_200_and_writes_resume_when_space_returns() {
    let dir = tempfile::tempdir().unwrap();
    let disk = SmallDisk::mount(&dir.path().join("small"), 48);
    let config = test_config(&disk.at.join("data"), None);
    let (base, db, stop, key) = serve(config).await;

    // A moment of normal work, then the disk fills under the load.
    let load = Load::start(&base, &key, "full", 24, true);
    tokio::time::sleep(Duration::from_secs(2)).await;
    let filler = disk.fill();
    let full_at = Instant::now();
    let refused = async {
        loop {
            // Refused by the database itself, not only for want of room for a photo.
            let seen = load.outcomes_since(full_at);
            if seen.iter().filter(|o| o.status == 507 && !o.photo).count() >= 50 {
                return seen;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    };
    let seen = tokio::time::timeout(Duration::from_secs(60), refused)
        .await
        .expect("a full disk is refused with 507 within a minute");

    // While it is full: health names the problem, reads go on.
    let (status, body, _) = health(&base).await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["problem"], "disk full", "{body}");
    let list = client()
        .get(format!("{base}/open311/v2/requests.json"))
        .send()
        .await
        .unwrap();
    assert_eq!(list.status(), 200, "reads keep working on a full disk");
    let refused_while_full = load.outcomes_since(full_at).len();

    // Space returns: writes resume without a restart.
    std::fs::remove_file(filler).unwrap();
    let freed_at = Instant::now();
    eventually_within(Duration::from_secs(10), || async {
        (health(&base).await.0 == 200).then_some(())
    })
    .await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let mut record = load.finish().await;
    let after: Vec<_> = record
        .outcomes
        .iter()
        .filter(|o| o.began >= freed_at + Duration::from_secs(1))
        .collect();
    assert!(
        !after.is_empty() && after.iter().all(|o| o.status == 200),
        "writes resume once space returns: {:?}",
        after.iter().find(|o| o.status != 200)
    );
    assert_faults_answered(&record.outcomes);
    assert!(
        disk.temporary_files().is_empty(),
        "partial uploads left behind: {:?}",
        disk.temporary_files()
    );

    settle(&base, &key, &mut record).await;
    // A fresh connection of its own sees only what was committed.
    let fresh = Db::open(None, &disk.at.join("data").join("khidmat.db"))
        .await
        .unwrap();
    verify(&fresh, "full", &record).await;
    let integrity: String = fresh.scalar(query("PRAGMA integrity_check")).await.unwrap();
    assert_eq!(integrity, "ok");
    println!(
        "full disk: {} tried, {} acknowledged, {} answers while full ({} of them 507)",
        record.tried.len(),
        record.acked.len(),
        refused_while_full,
        seen.iter().filter(|o| o.status == 507).count()
    );
    fresh.close().await;
    stop.cancel();
    db.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_going_away_answers_503_within_two_seconds_and_recovers_without_a_restart() {
    let cluster = crate::pg::Private::create();
    let url = cluster.0.fresh_database().await;
    let dir = tempfile::tempdir().unwrap();
    let config = test_config(dir.path(), Some(url.clone()));
    let (base, db, stop, key) = serve(config).await;

    let load = Load::start(&base, &key, "outage", 32, false);
    tokio::time::sleep(Duration::from_secs(3)).await;
    cluster.0.crash();
    let down_at = Instant::now();
    tokio::time::sleep(Duration::from_secs(1)).await;
    let (status, body, took) = health(&base).await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["problem"], "database unreachable", "{body}");
    assert!(
        took < Duration::from_secs(2),
        "/healthz took {took:?} while the database was down"
    );
    tokio::time::sleep(Duration::from_secs(4)).await;
    // From here PostgreSQL may answer before `pg_ctl start` returns.
    let restarting_at = Instant::now();
    cluster.0.start_or_panic();
    let up_at = Instant::now();
    eventually_within(Duration::from_secs(15), || async {
        (health(&base).await.0 == 200).then_some(())
    })
    .await;
    let recovered = up_at.elapsed();
    tokio::time::sleep(Duration::from_secs(3)).await;
    let mut record = load.finish().await;

    // Asked and answered while it was down (from a moment after the crash until it was being
    // started again): 503 with Retry-After, each within two seconds.
    let during: Vec<&Outcome> = record
        .outcomes
        .iter()
        .filter(|o| {
            o.began >= down_at + Duration::from_millis(200) && o.began + o.took <= restarting_at
        })
        .collect();
    assert!(
        during.len() > 50,
        "the load went on during the outage: {}",
        during.len()
    );
    for o in &during {
        assert_eq!(o.status, 503, "while the database was down: {o:?}");
        assert!(
            o.took <= Duration::from_secs(2),
            "answered after {:?}",
            o.took
        );
    }
    assert_faults_answered(&record.outcomes);
    let slowest = during.iter().map(|o| o.took).max().unwrap();
    let answered_down = during.len();

    settle(&base, &key, &mut record).await;
    let fresh = Db::open(Some(&url), Path::new("/nonexistent"))
        .await
        .unwrap();
    verify(&fresh, "outage", &record).await;
    println!(
        "PostgreSQL outage: {} tried, {} acknowledged, {} answers while down (slowest {slowest:?}), healthy again {recovered:?} after it came back",
        record.tried.len(),
        record.acked.len(),
        answered_down
    );
    fresh.close().await;
    stop.cancel();
    db.close().await;
}

/// `eventually`, with a longer limit.
async fn eventually_within<F, Fut>(limit: Duration, mut f: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<()>>,
{
    let began = Instant::now();
    while began.elapsed() < limit {
        if f().await.is_some() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("condition not met within {limit:?}");
}

/// A connection that sends `bytes` and then nothing.
async fn half_sent(listen: &str, bytes: &[u8]) -> tokio::net::TcpStream {
    use tokio::io::AsyncWriteExt;
    let mut s = tokio::net::TcpStream::connect(listen).await.unwrap();
    s.write_all(bytes).await.unwrap();
    s
}

/// Read until the server closes the connection (or `limit` passes); how long that took and
/// what it said.
async fn until_closed(mut s: tokio::net::TcpStream, limit: Duration) -> (Duration, String) {
    use tokio::io::AsyncReadExt;
    let began = Instant::now();
    let mut got = Vec::new();
    let _ = tokio::time::timeout(limit, s.read_to_end(&mut got)).await;
    (began.elapsed(), String::from_utf8_lossy(&got).into_owned())
}

const HALF_HEADERS: &[u8] = b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Half: ";
const HALF_BODY: &[u8] = b"POST /open311/v2/requests.json HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 4000\r\n\r\nservice_code=blo";

crate::on_both!(
    slow_clients_are_cut_off_and_a_stop_under_load_loses_nothing,
    |backend| async move {
        let dir = tempfile::tempdir().unwrap();
        let url = match backend {
            Backend::Sqlite => None,
            Backend::Postgres => Some(crate::pg::fresh_database().await),
        };
        let listen = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap().to_string()
        };
        let c = client();
        let mut child = crate::crash::start(dir.path(), url.as_deref(), &listen);
        crate::crash::up(&c, &listen).await;
        let key = {
            let db = Db::connect(url.as_deref(), &dir.path().join("khidmat.db"))
                .await
                .unwrap();
            let config = test_config(dir.path(), url.clone());
            khidmat::platform::secrets::open(&config, &db)
                .await
                .unwrap();
            let k = khidmat::platform::identity::create_api_key(&db, "test", "fault test", None)
                .await
                .unwrap()
                .key;
            db.close().await;
            k
        };
        let base = format!("http://{listen}");

        // Clients that send nothing, half their headers, half their body: each is let go.
        let silent = half_sent(&listen, b"").await;
        let headers = half_sent(&listen, HALF_HEADERS).await;
        let body = half_sent(&listen, HALF_BODY).await;
        let (silent, headers, body) = tokio::join!(
            until_closed(silent, Duration::from_secs(90)),
            until_closed(headers, Duration::from_secs(90)),
            until_closed(body, Duration::from_secs(90)),
        );
        assert!(
            silent.0 < Duration::from_secs(60),
            "a silent connection was kept {:?}",
            silent.0
        );
        assert!(
            headers.0 < Duration::from_secs(60),
            "half-sent headers were waited for {:?}",
            headers.0
        );
        assert!(
            body.0 < Duration::from_secs(60),
            "a half-sent body was waited for {:?}",
            body.0
        );
        assert!(
            !body.1.starts_with("HTTP/1.1 200"),
            "a half-sent body was accepted: {}",
            body.1
        );

        // A stop under load, with half-sent requests open: it finishes in time, and what it
        // acknowledged is stored.
        let load = Load::start(&base, &key, "stop", 24, true);
        tokio::time::sleep(Duration::from_secs(3)).await;
        let _held = (
            half_sent(&listen, HALF_HEADERS).await,
            half_sent(&listen, HALF_BODY).await,
            half_sent(&listen, b"").await,
        );
        let stopping = Instant::now();
        unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
        let pid = child.id();
        let waited = tokio::task::spawn_blocking(move || {
            child.wait().unwrap();
            child
        });
        let child_back = tokio::time::timeout(Duration::from_secs(20), waited)
            .await
            .unwrap_or_else(|_| panic!("pid {pid} still running 20 s after SIGTERM"))
            .unwrap();
        let stopped = stopping.elapsed();
        drop(child_back);
        assert!(
            stopped < Duration::from_secs(10),
            "SIGTERM took {stopped:?}"
        );
        let mut child = crate::crash::start(dir.path(), url.as_deref(), &listen);
        crate::crash::up(&c, &listen).await;
        tokio::time::sleep(Duration::from_secs(1)).await;
        let mut record = load.finish().await;
        settle(&base, &key, &mut record).await;
        unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
        child.wait().unwrap();
        let db = Db::open(url.as_deref(), &dir.path().join("khidmat.db"))
            .await
            .unwrap();
        verify(&db, "stop", &record).await;
        println!(
            "{backend:?}: silent connection closed after {:?}, half headers {:?}, half body {:?}; SIGTERM under load with 3 half-sent requests: stopped in {stopped:?}; {} acknowledged, all stored",
            silent.0, headers.0, body.0, record.acked.len()
        );
        db.close().await;
    }
);

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_on_a_full_disk_acknowledges_only_what_it_stored() {
    // Under the system's temporary directory: the `postgres` user must reach it.
    let at = std::env::temp_dir().join(format!(
        "khidmat-pgfull-{}-{}",
        std::process::id(),
        uuid::Uuid::new_v4().simple()
    ));
    let disk = SmallDisk::mount(&at, 160);
    let cluster = crate::pg::Private::create_in(&at.join("pg"));
    let url = cluster.0.fresh_database().await;
    let dir = tempfile::tempdir().unwrap();
    let (base, db, stop, key) = serve(test_config(dir.path(), Some(url.clone()))).await;

    let load = Load::start(&base, &key, "pgfull", 24, false);
    tokio::time::sleep(Duration::from_secs(2)).await;
    let filler = disk.fill();
    let full_at = Instant::now();
    let refused = async {
        loop {
            let seen = load.outcomes_since(full_at);
            if seen.iter().filter(|o| o.status != 200).count() >= 50 {
                return seen;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    };
    let seen = tokio::time::timeout(Duration::from_secs(90), refused)
        .await
        .expect("PostgreSQL on a full disk is refused within 90 s");
    let (status, body, _) = health(&base).await;
    assert_eq!(status, 503, "{body}");

    // Space returns. PostgreSQL may have stopped itself (it cannot write its log): an operator
    // starts it again; Khidmat itself is not restarted.
    std::fs::remove_file(filler).unwrap();
    if !cluster.0.running() {
        cluster.0.start_or_panic();
    }
    eventually_within(Duration::from_secs(30), || async {
        (health(&base).await.0 == 200).then_some(())
    })
    .await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let mut record = load.finish().await;
    assert_faults_answered(&record.outcomes);
    settle(&base, &key, &mut record).await;
    let fresh = Db::open(Some(&url), Path::new("/nonexistent"))
        .await
        .unwrap();
    verify(&fresh, "pgfull", &record).await;
    let by_status = seen.iter().fold(HashMap::<u16, usize>::new(), |mut m, o| {
        *m.entry(o.status).or_default() += 1;
        m
    });
    println!(
        "PostgreSQL full disk: {} tried, {} acknowledged, all stored; answers once full: {by_status:?}; health said {}",
        record.tried.len(),
        record.acked.len(),
        body["problem"]
    );
    fresh.close().await;
    stop.cancel();
    db.close().await;
    drop(cluster);
    drop(disk);
    let _ = std::fs::remove_dir_all(&at);
}
