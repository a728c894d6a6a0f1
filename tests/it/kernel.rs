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
