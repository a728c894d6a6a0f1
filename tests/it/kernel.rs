//! The kernel's mechanisms, on both stores: the audit log refuses rewriting, jobs retry and
//! then fail with their error kept, health and metrics answer, the OpenAPI document is there.

use crate::helpers::*;
use crate::{both, on_both};
use khidmat::platform::db::query;
use khidmat::platform::jobs;
use serde_json::Value;

both!(the_audit_log_is_append_only, |app| async move {
    let mut tx = app.db.begin().await.unwrap();
    khidmat::platform::audit::record(
        &mut tx,
        "test",
        "thing.do",
        "thing",
        "1",
        serde_json::json!({"a": 1}),
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    let n = app.count("audit_log").await;
    assert!(n >= 2, "api key creation and the record: {n}");
    assert!(app
        .db
        .execute(query("UPDATE audit_log SET actor = 'someone else'"))
        .await
        .is_err());
    assert!(app
        .db
        .execute(query("DELETE FROM audit_log"))
        .await
        .is_err());
    assert_eq!(app.count("audit_log").await, n);
});

both!(
    the_json_apis_answer_a_bad_path_or_query_in_json,
    |app| async move {
        // An id that is not a number, a query that does not read: the extractors' own refusals,
        // in the APIs' error shape (Open311's in its own).
        let key = app.department_key("pesco").await;
        for (path, open311) in [
            ("/api/v1/benefits/batches/not-a-number", false),
            ("/api/v1/benefits/status?reference=x", false),
            ("/hsds/organizations?per_page=abc", false),
            ("/open311/v2/requests.json?page=abc", true),
        ] {
            let r = app
                .client
                .get(app.at(path))
                .bearer_auth(&key)
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 400, "{path}");
            assert!(
                r.headers()["content-type"]
                    .to_str()
                    .unwrap()
                    .starts_with("application/json"),
                "{path}"
            );
            let body: serde_json::Value = r.json().await.unwrap();
            if open311 {
                assert_eq!(body[0]["code"], 400, "{path}: {body}");
            } else {
                assert_eq!(body["error"]["status"], 400, "{path}: {body}");
            }
        }
    }
);

on_both!(
    a_stopping_server_hands_its_running_jobs_back,
    |backend| async move {
        let app = spawn_with(backend, |c| c.job_workers = 0).await;
        let mut registry = jobs::Registry::new(Default::default());
        let started = std::sync::Arc::new(tokio::sync::Notify::new());
        let s = started.clone();
        registry.register("test.long", move |_db, _| {
            let s = s.clone();
            async move {
                s.notify_one();
                // Longer than any stop waits.
                tokio::time::sleep(std::time::Duration::from_secs(3600)).await;
                Ok(())
            }
        });
        let mut tx = app.db.begin().await.unwrap();
        let id = jobs::enqueue(&mut tx, "test.long", &serde_json::json!({}))
            .await
            .unwrap();
        tx.commit().await.unwrap();
        let (db, r) = (app.db.clone(), registry.clone());
        let worker = tokio::spawn(async move { jobs::run_one(&db, &r).await });
        started.notified().await;
        let status = |app: &crate::helpers::TestApp| {
            let db = app.db.clone();
            async move {
                db.fetch_one::<(String, Option<chrono::DateTime<chrono::Utc>>)>(
                    query("SELECT status, locked_until FROM jobs WHERE id = $1").bind(id),
                )
                .await
                .unwrap()
            }
        };
        let (running, lease) = status(&app).await;
        assert_eq!(running, "running");
        assert!(lease.is_some(), "held under a lease");
        // The stop: the job goes back to the queue now, not when its lease runs out.
        assert_eq!(registry.activity.release(&app.db).await.unwrap(), 1);
        worker.abort();
        let (queued, lease) = status(&app).await;
        assert_eq!((queued.as_str(), lease), ("queued", None));
        // And another worker takes it at once.
        let mut again = jobs::Registry::new(Default::default());
        again.register("test.long", |_db, _| async { Ok(()) });
        assert!(jobs::run_one(&app.db, &again).await.unwrap());
        assert_eq!(status(&app).await.0, "done");
    }
);

on_both!(
    jobs_retry_then_fail_keeping_the_error,
    |backend| async move {
        // No workers of the app's own: this test is the only one taking jobs.
        let app = spawn_with(backend, |c| c.job_workers = 0).await;
        let mut registry = jobs::Registry::new(Default::default());
        let calls = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let c = calls.clone();
        registry.register("test.flaky", move |_db, payload| {
            let c = c.clone();
            async move {
                c.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                anyhow::bail!("cannot reach {}", payload["host"].as_str().unwrap_or("?"))
            }
        });
        let mut tx = app.db.begin().await.unwrap();
        let id = jobs::enqueue(
            &mut tx,
            "test.flaky",
            &serde_json::json!({"host": "sms-gateway"}),
        )
        .await
        .unwrap();
        tx.commit().await.unwrap();
        // A job rolled back with its transaction never exists.
        let mut tx = app.db.begin().await.unwrap();
        jobs::enqueue(&mut tx, "test.flaky", &serde_json::json!({}))
            .await
            .unwrap();
        drop(tx);

        for attempt in 1..=5 {
            // Make the job due now (back-off would otherwise wait), then run it.
            app.db
                .execute(
                    query("UPDATE jobs SET run_at = $1 WHERE id = $2")
                        .bind(chrono::Utc::now() - chrono::Duration::seconds(1))
                        .bind(id),
                )
                .await
                .unwrap();
            assert!(
                jobs::run_one(&app.db, &registry).await.unwrap(),
                "attempt {attempt} ran"
            );
        }
        assert!(
            !jobs::run_one(&app.db, &registry).await.unwrap(),
            "nothing left"
        );
        let (status, attempts, error): (String, i64, Option<String>) = app
            .db
            .fetch_one(
                query("SELECT status, attempts, last_error FROM jobs WHERE id = $1").bind(id),
            )
            .await
            .unwrap();
        assert_eq!((status.as_str(), attempts), ("failed", 5));
        assert_eq!(error.as_deref(), Some("cannot reach sms-gateway"));
        assert_eq!(calls.load(std::sync::atomic::Ordering::SeqCst), 5);
        assert_eq!(app.count("jobs WHERE kind <> 'opendata.publish'").await, 1);
    }
);

on_both!(
    a_batch_of_jobs_runs_in_order_marks_each_outcome_and_gives_back_what_it_did_not_start,
    |backend| async move {
        let app = spawn_with(backend, |c| c.job_workers = 0).await;
        let mut registry = jobs::Registry::new(Default::default());
        let order = std::sync::Arc::new(std::sync::Mutex::new(Vec::<i64>::new()));
        let stop = khidmat::platform::shutdown::Token::new();
        let (o, halt) = (order.clone(), stop.clone());
        registry.register("test.batch", move |_db, payload| {
            let (o, halt) = (o.clone(), halt.clone());
            async move {
                let n = payload["n"].as_i64().unwrap();
                o.lock().unwrap().push(n);
                if n == 50 {
                    // The server begins to stop while this job runs.
                    halt.cancel();
                }
                anyhow::ensure!(n % 10 != 7, "job {n} fails");
                Ok(())
            }
        });
        let mut ids = Vec::new();
        for n in 0..60 {
            let mut tx = app.db.begin().await.unwrap();
            ids.push(
                jobs::enqueue(&mut tx, "test.batch", &serde_json::json!({ "n": n }))
                    .await
                    .unwrap(),
            );
            tx.commit().await.unwrap();
        }
        let status = |status: &'static str| {
            let db = app.db.clone();
            async move {
                db.fetch_all::<(i64, i64)>(
                    query("SELECT id, attempts FROM jobs WHERE kind = 'test.batch' AND status = $1 ORDER BY id")
                        .bind(status),
                )
                .await
                .unwrap()
            }
        };
        // The first batch: the oldest 32, one after another; the ones that failed wait for
        // their retry with their error, the rest are done.
        let ran = jobs::run_batch(&app.db, &registry, jobs::BATCH, &stop)
            .await
            .unwrap();
        assert_eq!(ran, 32);
        assert_eq!(*order.lock().unwrap(), (0..32).collect::<Vec<i64>>());
        let failed: Vec<i64> = status("queued").await.iter().map(|j| j.0).collect();
        assert_eq!(failed[..3], [ids[7], ids[17], ids[27]]);
        assert_eq!(status("done").await.len(), 29);
        let (error,): (Option<String>,) = app
            .db
            .fetch_one(query("SELECT last_error FROM jobs WHERE id = $1").bind(ids[17]))
            .await
            .unwrap();
        assert_eq!(error.as_deref(), Some("job 17 fails"));
        // The second batch is stopped during job 50: it finishes that one, starts no other, and
        // gives the rest back with their attempt unspent.
        order.lock().unwrap().clear();
        let ran = jobs::run_batch(&app.db, &registry, jobs::BATCH, &stop)
            .await
            .unwrap();
        assert_eq!(ran, 19);
        assert_eq!(*order.lock().unwrap(), (32..51).collect::<Vec<i64>>());
        assert_eq!(status("done").await.len(), 29 + 17);
        assert_eq!(status("running").await, vec![]);
        let queued = status("queued").await;
        let back: Vec<(i64, i64)> = ids[51..].iter().map(|id| (*id, 0)).collect();
        assert_eq!(queued[queued.len() - 9..], back[..]);
        assert_eq!(
            queued.len(),
            3 + 2 + 9,
            "7, 17, 27, 37, 47 wait for a retry"
        );
    }
);

both!(health_metrics_and_the_openapi_document, |app| async move {
    let h = app.get_json("/healthz").await;
    assert_eq!(h["status"], "ok");
    assert_eq!(
        h["database"],
        if app.backend == Backend::Sqlite {
            "sqlite"
        } else {
            "postgres"
        }
    );

    app.get("/open311/v2/services.json").await;
    let m = app.get("/metrics").await.text().await.unwrap();
    assert!(m.contains("khidmat_http_requests_total"), "{m}");
    assert!(m.contains("route=\"/open311/v2/services.json\""));

    let doc: Value = app.get_json("/api/openapi.json").await;
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    let paths = doc["paths"].as_object().unwrap();
    for p in [
        "/open311/v2/services.json",
        "/open311/v2/requests.json",
        "/open311/v2/requests/{service_request_id}.json",
        "/open311/v2/servicerequestupdates.json",
        "/api/v1/reports/{id}/updates",
        "/healthz",
    ] {
        assert!(
            paths.contains_key(p),
            "{p} missing from the OpenAPI document"
        );
    }

    let resp = app.get("/no/such/page").await;
    assert_eq!(resp.status(), 404);
    let body: Value = resp.json().await.unwrap();
    assert!(body["error"]["message"]
        .as_str()
        .unwrap()
        .contains("openapi"));
});

// Each service declares its OpenAPI paths beside its handlers and its routes in its router; this
// holds the two together: every operation the document promises reaches a handler (not the
// fallback's "no such page", not 405), whatever the handler then says about the dummy values.
both!(
    every_operation_in_the_openapi_document_is_served,
    |app| async move {
        let doc: Value = app.get_json("/api/openapi.json").await;
        let paths = doc["paths"].as_object().unwrap();
        assert!(paths.len() > 40, "{} paths", paths.len());
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        let mut checked = 0;
        for (path, item) in paths {
            let concrete: String = {
                let mut out = String::new();
                let mut rest = path.as_str();
                while let Some(i) = rest.find('{') {
                    out.push_str(&rest[..i]);
                    let j = rest[i..].find('}').unwrap() + i;
                    out.push('1');
                    rest = &rest[j + 1..];
                }
                out.push_str(rest);
                out
            };
            for method in ["get", "post", "put", "patch", "delete"] {
                if item.get(method).is_none() {
                    continue;
                }
                let r = client
                    .request(method.to_uppercase().parse().unwrap(), app.at(&concrete))
                    .header("content-type", "application/json")
                    .body("{}")
                    .send()
                    .await
                    .unwrap();
                let status = r.status().as_u16();
                let body = r.text().await.unwrap_or_default();
                assert_ne!(
                    status, 405,
                    "{method} {path}: the router has no such method"
                );
                assert!(
                    !(status == 404 && body.contains("no such page")),
                    "{method} {path} ({concrete}) is in the document but not routed"
                );
                checked += 1;
            }
        }
        assert!(checked >= paths.len());
    }
);

// A pack section kept whole: written and read one way on both stores; a row that no longer
// reads is left out (and logged), not an error that would take every page of the kind down.
both!(
    definitions_round_trip_and_an_unreadable_one_is_left_out,
    |app| async move {
        use khidmat::platform::definitions::Definitions;
        const TABLE: Definitions = Definitions::shared("case_workflows");
        #[derive(serde::Serialize, serde::Deserialize, PartialEq, Debug)]
        struct Item {
            code: String,
            steps: Vec<String>,
        }
        let item = |code: &str| Item {
            code: code.into(),
            steps: vec!["نیا".into(), "closed".into()],
        };
        let mut tx = app.db.begin().await.unwrap();
        TABLE
            .upsert(&mut tx, "aa-test", None, &item("aa-test"))
            .await
            .unwrap();
        TABLE
            .upsert(&mut tx, "ab-test", None, &item("ab-test"))
            .await
            .unwrap();
        // Replaced, not doubled.
        TABLE
            .upsert(&mut tx, "ab-test", None, &item("ab-test"))
            .await
            .unwrap();
        tx.execute(
        query("INSERT INTO case_workflows (code, definition, updated_at) VALUES ('ac-test', '{broken', $1)")
            .bind(chrono::Utc::now()),
    )
    .await
    .unwrap();
        let inside: Vec<(Item, Option<i64>)> = TABLE.all_in(&mut tx).await.unwrap();
        tx.commit().await.unwrap();
        let all: Vec<(Item, Option<i64>)> = TABLE.all(&app.db).await.unwrap();
        for list in [&inside, &all] {
            let codes: Vec<&str> = list
                .iter()
                .map(|(i, _)| i.code.as_str())
                .filter(|c| c.ends_with("-test"))
                .collect();
            assert_eq!(codes, ["aa-test", "ab-test"]);
            assert!(list.iter().all(|(_, d)| d.is_none()));
        }
        assert_eq!(
            TABLE.one::<Item>(&app.db, "aa-test").await.unwrap(),
            Some(item("aa-test"))
        );
        assert_eq!(TABLE.one::<Item>(&app.db, "ac-test").await.unwrap(), None);
        assert_eq!(TABLE.one::<Item>(&app.db, "zz").await.unwrap(), None);
    }
);

/// One row of every kind of value the store keeps.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow, khidmat_derive::FromRaw)]
struct Kinds {
    id: i64,
    b: Option<bool>,
    n: Option<i64>,
    x: Option<f64>,
    s: Option<String>,
    t: Option<chrono::DateTime<chrono::Utc>>,
}

both!(
    every_value_reads_back_alike_from_the_writer_and_the_readers,
    |app| async move {
        use chrono::TimeZone;
        let db = &app.db;
        db.execute(query(
        "CREATE TABLE kinds (id BIGINT PRIMARY KEY, b BOOLEAN, n BIGINT, x DOUBLE PRECISION, s TEXT, t TIMESTAMPTZ)",
    ))
    .await
    .unwrap();
        let full = Kinds {
            id: 1,
            b: Some(true),
            n: Some(-9_007_199_254_740_993),
            x: Some(0.1 + 0.2),
            // Urdu with a CNIC isolated for direction, an emoji and a quote: bytes kept as given.
            s: Some("شکایت \u{2066}17301-1234567-1\u{2069} 🚰 'done'".into()),
            // Microseconds: what PostgreSQL keeps.
            t: Some(
                chrono::Utc.with_ymd_and_hms(2026, 12, 7, 4, 19, 5).unwrap()
                    + chrono::Duration::microseconds(123_456),
            ),
        };
        let empty = Kinds {
            id: 2,
            b: Some(false),
            n: None,
            x: None,
            s: None,
            t: None,
        };
        for k in [&full, &empty] {
            // Arguments out of order and one used twice: placeholders are matched by number.
            let n = db
                .execute(
                    query("INSERT INTO kinds (t, s, x, n, b, id) VALUES ($6, $5, $4, $3, $2, $1)")
                        .bind(k.id)
                        .bind(k.b)
                        .bind(k.n)
                        .bind(k.x)
                        .bind(k.s.clone())
                        .bind(k.t),
                )
                .await
                .unwrap();
            assert_eq!(n, 1);
        }
        let want = vec![full.clone(), empty.clone()];
        // A reader, the writer (a statement that writes and returns), and a transaction.
        let read: Vec<Kinds> = db
            .fetch_all(query("SELECT * FROM kinds ORDER BY id"))
            .await
            .unwrap();
        assert_eq!(read, want);
        let written: Vec<Kinds> = db
            .fetch_all(query("UPDATE kinds SET n = n RETURNING id, b, n, x, s, t"))
            .await
            .unwrap();
        let mut written = written;
        written.sort_by_key(|k| k.id);
        assert_eq!(written, want);
        let mut tx = db.begin().await.unwrap();
        let inside: Vec<Kinds> = tx
            .fetch_all(query("SELECT * FROM kinds ORDER BY id"))
            .await
            .unwrap();
        assert_eq!(inside, want);
        let pair: (i64, Option<String>) = tx
            .fetch_one(query("SELECT id, s FROM kinds WHERE id = $1").bind(1))
            .await
            .unwrap();
        assert_eq!(pair, (1, full.s.clone()));
        let twice: String = tx
            .scalar(
                query("SELECT CAST($2 AS TEXT) || CAST($1 AS TEXT) || CAST($2 AS TEXT)")
                    .bind("a")
                    .bind("b"),
            )
            .await
            .unwrap();
        assert_eq!(twice, "bab");
        let none: Option<Kinds> = tx
            .fetch_optional(query("SELECT * FROM kinds WHERE id = $1").bind(99))
            .await
            .unwrap();
        assert_eq!(none, None);
        // A duplicate key is told apart from other errors, inside a transaction as outside.
        let dup = tx
            .execute(query("INSERT INTO kinds (id) VALUES ($1)").bind(1))
            .await
            .unwrap_err();
        assert!(khidmat::platform::db::is_unique_violation(&dup), "{dup}");
        drop(tx);
        let dup = db
            .execute(query("INSERT INTO kinds (id) VALUES ($1)").bind(2))
            .await
            .unwrap_err();
        assert!(khidmat::platform::db::is_unique_violation(&dup), "{dup}");

        // Dropped without a commit: nothing of it stays, and the writer serves the next one.
        let mut tx = db.begin().await.unwrap();
        tx.execute(query("INSERT INTO kinds (id) VALUES ($1)").bind(3))
            .await
            .unwrap();
        drop(tx);
        let mut tx = db.begin().await.unwrap();
        tx.execute(query("INSERT INTO kinds (id) VALUES ($1)").bind(4))
            .await
            .unwrap();
        tx.commit().await.unwrap();
        let ids: Vec<(i64,)> = db
            .fetch_all(query("SELECT id FROM kinds ORDER BY id"))
            .await
            .unwrap();
        assert_eq!(ids, vec![(1,), (2,), (4,)]);
    }
);

/// Another process holding SQLite's write lock (a CLI command writing) makes a write wait,
/// without holding up the server: it answers other requests meanwhile, and the write is done
/// once the lock is let go. (One worker thread: a write that blocked its thread while it
/// waited would stop the whole server.)
#[tokio::test(flavor = "multi_thread", worker_threads = 1)]
async fn a_write_waits_for_another_process_lock_without_holding_up_the_server() {
    use sqlx::{ConnectOptions, Connection};
    let app = spawn(Backend::Sqlite).await;
    let mut other = sqlx::sqlite::SqliteConnectOptions::new()
        .filename(app.data_dir.join("khidmat.db"))
        .connect()
        .await
        .unwrap();
    sqlx::query("BEGIN IMMEDIATE")
        .execute(&mut other)
        .await
        .unwrap();
    let db = app.db.clone();
    let started = std::time::Instant::now();
    let write = tokio::spawn(async move { db.probe_write().await });
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert!(!write.is_finished(), "the write waits for the lock");
    let served = tokio::time::timeout(std::time::Duration::from_secs(5), async {
        for _ in 0..20 {
            let r = app.get("/open311/v2/requests.json").await;
            assert_eq!(r.status(), 200);
        }
    });
    served
        .await
        .expect("the server answers while a write waits");
    assert!(!write.is_finished(), "the write still waits for the lock");
    sqlx::query("COMMIT").execute(&mut other).await.unwrap();
    other.close().await.unwrap();
    write.await.unwrap().unwrap();
    assert!(started.elapsed() >= std::time::Duration::from_millis(300));
}

/// A number on `/metrics` (0 before anything counted it).
async fn metric(app: &TestApp, name: &str) -> f64 {
    let text = app.get("/metrics").await.text().await.unwrap();
    text.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.trim().parse().ok())
        .unwrap_or(0.0)
}

// Many writes at once, as a burst of reports makes them: on SQLite they share commits (group
// commit), and still each one keeps its own outcome. What committed is stored; a transaction
// dropped, or ended by a failed statement, leaves nothing, and takes nothing of the others
// with it.
both!(
    concurrent_writes_share_commits_and_each_keeps_its_own_outcome,
    |app| async move {
        let db = app.db.clone();
        db.execute(query(
            "CREATE TABLE grouped (k BIGINT PRIMARY KEY, note TEXT NOT NULL)",
        ))
        .await
        .unwrap();
        let (commits, writes) = (
            metric(&app, "khidmat_sqlite_commits_total").await,
            metric(&app, "khidmat_sqlite_writes_committed_total").await,
        );
        let insert = |k: i64, note: &'static str| {
            query("INSERT INTO grouped (k, note) VALUES ($1, $2)")
                .bind(k)
                .bind(note)
        };
        let tasks: Vec<_> = (0..96i64)
            .map(|k| {
                let db = db.clone();
                tokio::spawn(async move {
                    match k % 4 {
                        // A statement of its own, outside any transaction.
                        0 => {
                            db.execute(insert(k, "alone")).await.unwrap();
                            Some("alone")
                        }
                        // A transaction whose second statement fails: it is rolled back whole.
                        1 => {
                            let mut tx = db.begin().await.unwrap();
                            tx.execute(insert(k, "first")).await.unwrap();
                            tokio::task::yield_now().await;
                            let again = tx.execute(insert(k, "twice")).await.unwrap_err();
                            assert!(khidmat::platform::db::is_unique_violation(&again));
                            None
                        }
                        // Dropped without a commit.
                        2 => {
                            let mut tx = db.begin().await.unwrap();
                            tx.execute(insert(k, "dropped")).await.unwrap();
                            tokio::task::yield_now().await;
                            drop(tx);
                            None
                        }
                        // Two statements, committed.
                        _ => {
                            let mut tx = db.begin().await.unwrap();
                            tx.execute(insert(k, "first")).await.unwrap();
                            tokio::task::yield_now().await;
                            tx.execute(
                                query("UPDATE grouped SET note = 'updated' WHERE k = $1").bind(k),
                            )
                            .await
                            .unwrap();
                            tx.commit().await.unwrap();
                            Some("updated")
                        }
                    }
                })
            })
            .collect();
        let mut want = Vec::new();
        for (k, t) in tasks.into_iter().enumerate() {
            if let Some(note) = t.await.unwrap() {
                want.push((k as i64, note.to_owned()));
            }
        }
        let stored: Vec<(i64, String)> = db
            .fetch_all(query("SELECT k, note FROM grouped ORDER BY k"))
            .await
            .unwrap();
        assert_eq!(stored, want);
        if app.backend == Backend::Sqlite {
            let commits = metric(&app, "khidmat_sqlite_commits_total").await - commits;
            let writes = metric(&app, "khidmat_sqlite_writes_committed_total").await - writes;
            assert!(writes >= 48.0, "{writes} writes counted");
            assert!(
                commits < writes,
                "concurrent writes share commits: {commits} commits for {writes} writes"
            );
        }
    }
);

/// A statement that writes `rows` rows of 3,000 random bytes into `table`: a page of log each.
fn pages_into(table: &str, rows: i64) -> khidmat::platform::db::Query {
    query(format!(
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {rows}) \
         INSERT INTO {table} (body) SELECT randomblob(3000) FROM n"
    ))
}

/// A server on SQLite with an empty table `table` for [`pages_into`] to fill.
async fn sqlite_with_blob_table(table: &str) -> (TestApp, khidmat::platform::db::Db) {
    let app = spawn(Backend::Sqlite).await;
    let db = app.db.clone();
    db.execute(query(format!(
        "CREATE TABLE {table} (k INTEGER PRIMARY KEY, body BLOB NOT NULL)"
    )))
    .await
    .unwrap();
    (app, db)
}

/// SQLite's write-ahead log is checkpointed beside the writer, not by it: after a burst of
/// writes the checkpointer has copied the log into the database file (the writer never
/// checkpointed itself), and the next write starts the log again from its beginning.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_log_is_checkpointed_beside_the_writer_and_starts_again() {
    use khidmat::platform::db::{CHECKPOINT_BACKSTOP, CHECKPOINT_PAGES};
    let (app, db) = sqlite_with_blob_table("burst").await;
    let (ours, writers) = (
        metric(&app, "khidmat_sqlite_checkpoints_total").await,
        metric(&app, "khidmat_sqlite_writer_checkpoints_total").await,
    );
    // About four pages of log for each of the checkpoint's thousand: more than one wake, well
    // short of the writer's own checkpoint.
    let pages = 4 * CHECKPOINT_PAGES as i64;
    assert!(pages < CHECKPOINT_BACKSTOP as i64);
    for _ in 0..pages / 100 {
        db.execute(pages_into("burst", 100)).await.unwrap();
    }
    eventually(|| async {
        (metric(&app, "khidmat_sqlite_checkpoints_total").await > ours).then_some(())
    })
    .await;
    assert_eq!(
        metric(&app, "khidmat_sqlite_writer_checkpoints_total").await,
        writers,
        "the writer left its checkpoints to the checkpointer"
    );
    // Once the checkpointer has reached the end of the log, a write starts it again: the log
    // then holds that write alone. The log's length is read from SQLite's shared index (its
    // header's `mxFrame`, in the machine's byte order), not by checkpointing here, which would
    // do the checkpointer's work for it.
    let shm = app.data_dir.join("khidmat.db-shm");
    eventually(|| async {
        db.execute(query("INSERT INTO burst (body) VALUES (x'00')"))
            .await
            .unwrap();
        let index = std::fs::read(&shm).unwrap();
        let frames = u32::from_ne_bytes(index[16..20].try_into().unwrap());
        (frames < 10).then_some(())
    })
    .await;
}

/// Writes so steady that the checkpointer never reaches the end of the log (several tasks
/// writing without a pause) still leave the log bounded: the writer checkpoints it itself at
/// [`CHECKPOINT_BACKSTOP`] pages, as SQLite would have at a thousand. Nothing written is lost.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn steady_writes_keep_the_log_bounded() {
    use khidmat::platform::db::CHECKPOINT_BACKSTOP;
    let (app, db) = sqlite_with_blob_table("steady").await;
    // Two and a half times the backstop's pages, from four writers at once.
    let rounds = (5 * CHECKPOINT_BACKSTOP as i64 / 2) / 4 / 50;
    let writers: Vec<_> = (0..4)
        .map(|_| {
            let db = db.clone();
            tokio::spawn(async move {
                for _ in 0..rounds {
                    db.execute(pages_into("steady", 50)).await.unwrap();
                }
            })
        })
        .collect();
    for w in writers {
        w.await.unwrap();
    }
    let rows: i64 = db
        .scalar(query("SELECT count(*) FROM steady"))
        .await
        .unwrap();
    assert_eq!(rows, 4 * rounds * 50);
    // The log file keeps the length it once reached (SQLite reuses it from the beginning).
    let page: i64 = db.scalar(query("PRAGMA page_size")).await.unwrap();
    let log = std::fs::metadata(app.data_dir.join("khidmat.db-wal"))
        .unwrap()
        .len() as i64;
    // The backstop, and what the writers committed while a checkpoint of the checkpointer's ran
    // (the writer's own, meeting it, waits for the next commit): under twice the backstop, of
    // two and a half times its pages written.
    let bound = 2 * CHECKPOINT_BACKSTOP as i64 * (page + 24) + 32;
    assert!(
        log <= bound,
        "the log reached {log} bytes ({} pages), more than {bound}",
        log / (page + 24)
    );
}
