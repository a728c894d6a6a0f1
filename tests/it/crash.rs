//! A report a citizen was told is received is never lost: 200 clients post reports for 60 seconds
//! while the server is killed (SIGKILL, no warning) and restarted twice. Afterwards every
//! acknowledged report is there, and POSTs retried with their Idempotency-Key made no duplicates.
//! The real binary, on SQLite and on PostgreSQL.

use std::collections::HashMap;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::helpers::*;
use crate::on_both;

const CLIENTS: usize = 200;
const RUN: Duration = Duration::from_secs(60);
/// When the server is killed, from the start.
const KILLS: [Duration; 2] = [Duration::from_secs(15), Duration::from_secs(35)];

pub(crate) fn start(dir: &std::path::Path, url: Option<&str>, listen: &str) -> Child {
    let mut cmd = Command::new(khidmat_bin());
    cmd.arg("--data-dir").arg(dir);
    if let Some(u) = url {
        cmd.args(["--database-url", u]);
    }
    cmd.args(["serve", "--demo", "--listen", listen])
        .env("KHIDMAT_RATE_LIMIT_PER_MINUTE", "0")
        .env("KHIDMAT_LOG_FORMAT", "json")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

pub(crate) async fn up(client: &reqwest::Client, listen: &str) {
    eventually(|| async {
        let r = client
            .get(format!("http://{listen}/healthz"))
            .send()
            .await
            .ok()?;
        r.status().is_success().then_some(())
    })
    .await;
}

on_both!(
    reports_survive_the_server_being_killed_twice,
    |backend| async move {
        let dir = tempfile::tempdir().unwrap();
        let url = match backend {
            Backend::Sqlite => None,
            Backend::Postgres => Some(crate::pg::fresh_database().await),
        };
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let listen = format!("127.0.0.1:{port}");
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .pool_max_idle_per_host(0)
            .build()
            .unwrap();
        let mut child = start(dir.path(), url.as_deref(), &listen);
        up(&client, &listen).await;
        let key = {
            let db =
                khidmat::platform::db::Db::connect(url.as_deref(), &dir.path().join("khidmat.db"))
                    .await
                    .unwrap();
            let config = crate::helpers::test_config(dir.path(), url.clone());
            khidmat::platform::secrets::open(&config, &db)
                .await
                .unwrap();
            let k = khidmat::platform::identity::create_api_key(&db, "test", "crash test", None)
                .await
                .unwrap()
                .key;
            db.close().await;
            k
        };

        // key -> every id acknowledged for it (all must be the same one).
        let acked: Arc<Mutex<HashMap<String, Vec<String>>>> = Arc::default();
        let attempted = Arc::new(Mutex::new(0usize));
        let began = Instant::now();
        let mut tasks = Vec::new();
        for c in 0..CLIENTS {
            let (client, listen, key, acked, attempted) = (
                client.clone(),
                listen.clone(),
                key.clone(),
                acked.clone(),
                attempted.clone(),
            );
            tasks.push(tokio::spawn(async move {
                let mut n = 0;
                while began.elapsed() < RUN {
                    n += 1;
                    let idem = format!("crash-{c}-{n}");
                    *attempted.lock().unwrap() += 1;
                    // Retry the same report (same key) until it is acknowledged or time is up.
                    while began.elapsed() < RUN + Duration::from_secs(20) {
                        let r = client
                            .post(format!("http://{listen}/open311/v2/requests.json"))
                            .header("Idempotency-Key", &idem)
                            .form(&[
                                ("api_key", key.as_str()),
                                ("service_code", "blocked-drain"),
                                ("district", "kohat"),
                                ("description", idem.as_str()),
                            ])
                            .send()
                            .await;
                        if let Ok(r) = r {
                            if r.status().is_success() {
                                let v: Value = match r.json().await {
                                    Ok(v) => v,
                                    Err(_) => continue,
                                };
                                let id = v[0]["service_request_id"].as_str().unwrap().to_owned();
                                acked
                                    .lock()
                                    .unwrap()
                                    .entry(idem.clone())
                                    .or_default()
                                    .push(id);
                                break;
                            }
                        }
                        tokio::time::sleep(Duration::from_millis(200)).await;
                    }
                }
            }));
        }
        for at in KILLS {
            tokio::time::sleep(at.saturating_sub(began.elapsed())).await;
            unsafe { libc::kill(child.id() as i32, libc::SIGKILL) };
            child.wait().unwrap();
            child = start(dir.path(), url.as_deref(), &listen);
            up(&client, &listen).await;
        }
        for t in tasks {
            t.await.unwrap();
        }
        up(&client, &listen).await;
        unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
        child.wait().unwrap();

        let acked = acked.lock().unwrap().clone();
        let attempted = *attempted.lock().unwrap();
        for (k, ids) in &acked {
            assert!(
                ids.windows(2).all(|w| w[0] == w[1]),
                "{k} was given two ids: {ids:?}"
            );
        }
        let db = khidmat::platform::db::Db::connect(url.as_deref(), &dir.path().join("khidmat.db"))
            .await
            .unwrap();
        let rows: Vec<(i64, String)> = db
            .fetch_all(khidmat::platform::db::query(
                "SELECT id, description FROM reports WHERE description LIKE 'crash-%'",
            ))
            .await
            .unwrap();
        let mut stored: HashMap<String, Vec<i64>> = HashMap::new();
        for (id, d) in &rows {
            stored.entry(d.clone()).or_default().push(*id);
        }
        let duplicated: Vec<_> = stored.iter().filter(|(_, ids)| ids.len() > 1).collect();
        assert!(duplicated.is_empty(), "duplicates: {duplicated:?}");
        let lost: Vec<_> = acked
            .iter()
            .filter(|(k, ids)| stored.get(*k).map(|s| s[0].to_string()) != Some(ids[0].clone()))
            .collect();
        assert!(lost.is_empty(), "acknowledged but not stored: {lost:?}");
        println!(
        "{backend:?}: {attempted} reports attempted by {CLIENTS} clients, {} acknowledged, {} stored, 2 kills",
        acked.len(),
        rows.len()
    );
        assert!(
            acked.len() > 500,
            "the server did work between kills: {}",
            acked.len()
        );
    }
);
