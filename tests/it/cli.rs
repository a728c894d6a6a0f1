//! The operator's command, run as a real process against a real store.

use std::io::Write;
use std::process::{Command, Stdio};

use crate::helpers::*;
use crate::on_both;
use khidmat::platform::db::query;
use serde_json::Value;

pub(crate) fn khidmat(
    app_dir: &std::path::Path,
    database_url: Option<&str>,
    args: &[&str],
    stdin: Option<&str>,
) -> (bool, String, String) {
    let mut cmd = Command::new(khidmat_bin());
    cmd.arg("--data-dir").arg(app_dir);
    if let Some(u) = database_url {
        cmd.args(["--database-url", u]);
    }
    cmd.args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    if let Some(input) = stdin {
        child
            .stdin
            .take()
            .unwrap()
            .write_all(input.as_bytes())
            .unwrap();
    } else {
        drop(child.stdin.take());
    }
    let out = child.wait_with_output().unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into(),
        String::from_utf8_lossy(&out.stderr).into(),
    )
}

on_both!(
    operators_add_users_keys_and_packs_from_the_command_line,
    |backend| async move {
        // The server runs while the CLI works on the same store.
        let app = spawn(backend).await;
        let db_url = app.database_url.as_deref();
        let dir = app.data_dir.clone();
        let run = |args: &[&str], stdin: Option<&str>| khidmat(&dir, db_url, args, stdin);

        let pack = r#"
[pack]
name = "peshawar-municipal"
version = 1

[[department]]
slug = "wsup"
name = { en = "Water and Sanitation Unit", ur = "واٹر اینڈ سینی ٹیشن یونٹ", ps = "د اوبو او حفظ الصحې واحد" }

[[reports.service]]
code = "streetlight"
department = "wsup"
name = { en = "Street light out", ur = "اسٹریٹ لائٹ خراب", ps = "د سړک څراغ خراب" }
minutes_saved = 15
response_hours = 96
"#;
        let path = dir.join("pack.toml");
        std::fs::write(&path, pack).unwrap();
        let (ok, out, err) = run(&["pack", "load", path.to_str().unwrap()], None);
        assert!(ok, "{out}{err}");
        assert!(out.contains("1 report services"), "{out}");
        let services = app.get_json("/open311/v2/services.json").await;
        assert!(services
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s["service_code"] == "streetlight"));
        // Loading again updates; a broken pack is refused with the reason and changes nothing.
        std::fs::write(
            &path,
            pack.replace("Street light out", "Street light not working"),
        )
        .unwrap();
        assert!(run(&["pack", "load", path.to_str().unwrap()], None).0);
        // The running server keeps the list of services for up to 10 s: a change made by
        // another process (this CLI, another node) shows within that.
        let mut renamed = false;
        for _ in 0..60 {
            let services = app.get_json("/open311/v2/services.json").await;
            renamed = services
                .as_array()
                .unwrap()
                .iter()
                .any(|s| s["service_name"] == "Street light not working");
            if renamed {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(250)).await;
        }
        assert!(renamed, "the new name within 15 s");
        std::fs::write(
            &path,
            pack.replace(
                "department = \"wsup\"\nname",
                "department = \"nowhere\"\nname",
            ),
        )
        .unwrap();
        let (ok, _, err) = run(&["pack", "load", path.to_str().unwrap()], None);
        assert!(!ok && err.contains("nowhere"), "{err}");

        let add_sana = [
            "user",
            "add",
            "--email",
            "sana@wsup.example.pk",
            "--name",
            "Sana",
            "--role",
            "manager",
            "--department",
            "wsup",
            "--password-stdin",
        ];
        let (ok, out, err) = run(&add_sana, Some("correct horse battery staple\n"));
        assert!(ok, "{out}{err}");
        let (ok, _, err) = run(
            &[
                "user",
                "add",
                "--email",
                "x@y.pk",
                "--name",
                "X",
                "--role",
                "officer",
                "--password-stdin",
            ],
            Some("long enough password"),
        );
        assert!(!ok && err.contains("--department"), "{err}");
        let (ok, _, err) = run(&add_sana, Some("correct horse battery staple"));
        assert!(!ok && err.contains("already exists"), "{err}");

        let (ok, out, err) = run(
            &[
                "apikey",
                "create",
                "--name",
                "WSUP desk",
                "--department",
                "wsup",
            ],
            None,
        );
        assert!(ok, "{err}");
        let key = out.lines().last().unwrap().trim().to_string();
        assert!(key.starts_with("kh_"), "{out}");
        let (ok, out, _) = run(&["apikey", "create", "--name", "Citizen app"], None);
        assert!(ok);
        let client_key = out.lines().last().unwrap().trim().to_string();

        // The new key works against the running server.
        let resp = app
            .client
            .post(app.at("/open311/v2/requests.json"))
            .form(&[
                ("api_key", client_key.as_str()),
                ("service_code", "streetlight"),
                ("district", "peshawar"),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200);
        let list: Value = app.staff_json("/api/v1/reports", &key).await;
        assert_eq!(list["reports"].as_array().unwrap().len(), 1);

        // The manager logs in with the password given on stdin.
        let resp = app.client.post(app.at("/api/v1/login")).json(&serde_json::json!({"email": "sana@wsup.example.pk", "password": "correct horse battery staple"})).send().await.unwrap();
        assert_eq!(resp.status(), 200);

        // Backup: a consistent SQLite copy while the server runs; on PostgreSQL, a pg_dump.
        let backup = dir.join("backup.db");
        let (ok, out, err) = run(&["backup", backup.to_str().unwrap()], None);
        assert!(ok && out.contains("backup written"), "{out}{err}");
        match backend {
            Backend::Sqlite => {
                let copy = khidmat::platform::db::Db::connect(None, &backup)
                    .await
                    .unwrap();
                let n: i64 = copy
                    .scalar(khidmat::platform::db::query("SELECT COUNT(*) FROM reports"))
                    .await
                    .unwrap();
                assert_eq!(n, 1);
            }
            Backend::Postgres => assert!(
                std::fs::read(&backup).unwrap().starts_with(b"PGDMP"),
                "a pg_dump archive"
            ),
        }
        let (ok, _, err) = run(&["backup", backup.to_str().unwrap()], None);
        assert!(!ok && err.contains("already exists"), "{err}");
    }
);

on_both!(serve_with_demo_loads_the_packs_once, |backend| async move {
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
    for round in 0..2 {
        let mut cmd = Command::new(khidmat_bin());
        cmd.arg("--data-dir").arg(dir.path());
        if let Some(u) = &url {
            cmd.args(["--database-url", u]);
        }
        let mut child = cmd
            .args(["serve", "--demo", "--listen", &listen])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let client = reqwest::Client::new();
        let services: Value = eventually(|| async {
            let r = client
                .get(format!("http://{listen}/open311/v2/services.json"))
                .send()
                .await
                .ok()?;
            r.json().await.ok()
        })
        .await;
        assert!(services.as_array().unwrap().len() >= 10, "round {round}");
        // The portal shows the platform's own datasets from the first start, described.
        let weekly = fetch_json(client.get(format!(
            "http://{listen}/api/3/action/package_show?id=directory-places"
        )))
        .await;
        assert_eq!(weekly["success"], true, "round {round}: {weekly}");
        assert!(
            weekly["result"]["notes"]
                .as_str()
                .unwrap()
                .contains("Monday"),
            "{weekly}"
        );
        assert_eq!(
            weekly["result"]["resources"][0]["name"],
            "Directory of public places (CSV)"
        );
        assert_eq!(weekly["result"]["organization"]["name"], "kp-itb");
        unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
        let status = child.wait().unwrap();
        assert!(status.success(), "round {round}: graceful stop");
    }
    let db = khidmat::platform::db::Db::connect(url.as_deref(), &dir.path().join("khidmat.db"))
        .await
        .unwrap();
    let audits: i64 = db
        .scalar(khidmat::platform::db::query(
            "SELECT COUNT(*) FROM audit_log WHERE action = 'pack.load'",
        ))
        .await
        .unwrap();
    assert_eq!(
        audits,
        khidmat::packs::DEMO_PACKS.len() as i64,
        "each demo pack loaded exactly once"
    );
});

on_both!(
    data_import_makes_an_indexed_table_and_lists_bad_rows,
    |backend| async move {
        let app = crate::helpers::spawn(backend).await;
        let url = app.database_url.clone();
        let good = app.data_dir.join("weekly.csv");
        std::fs::write(&good, "District,Reports\npeshawar,120\nswat,45\n").unwrap();
        let (ok, out, err) = khidmat(
            &app.data_dir,
            url.as_deref(),
            &[
                "data",
                "import",
                good.to_str().unwrap(),
                "--dataset",
                "weekly",
                "--department",
                "pesco",
                "--index",
                "District",
            ],
            None,
        );
        assert!(ok, "{err}");
        assert!(out.contains("imported 2 rows into dataset weekly"), "{out}");
        assert!(
            out.contains("District (Text)") && out.contains("Reports (Integer)"),
            "{out}"
        );
        let table: String = app
            .db
            .scalar(query("SELECT datastore_table FROM od_resources"))
            .await
            .unwrap();
        let indexes: i64 = match backend {
            Backend::Sqlite => app
                .db
                .scalar(
                    query(
                        "SELECT COUNT(*) FROM sqlite_master WHERE type = 'index' AND tbl_name = $1",
                    )
                    .bind(table.as_str()),
                )
                .await
                .unwrap(),
            Backend::Postgres => app
                .db
                .scalar(
                    query(
                        "SELECT COUNT(*) FROM pg_indexes WHERE tablename = $1 AND indexname NOT IN ($2, $3)",
                    )
                    .bind(table.as_str())
                    .bind(format!("{table}_pkey"))
                    // the full-text index every table with text has
                    .bind(format!("{table}_fts")),
                )
                .await
                .unwrap(),
        };
        assert_eq!(indexes, 1, "the District index");

        let bad = app.data_dir.join("bad.csv");
        std::fs::write(&bad, "a,b\n1,2\n3\n").unwrap();
        let (ok, _, err) = khidmat(
            &app.data_dir,
            url.as_deref(),
            &["data", "import", bad.to_str().unwrap(), "--dataset", "bad"],
            None,
        );
        assert!(!ok);
        assert!(
            err.contains("line 3") && err.contains("nothing imported"),
            "{err}"
        );
        let (ok, _, err) = khidmat(
            &app.data_dir,
            url.as_deref(),
            &[
                "data",
                "import",
                good.to_str().unwrap(),
                "--dataset",
                "again",
                "--index",
                "Nope",
            ],
            None,
        );
        assert!(!ok && err.contains("no field \"Nope\""), "{err}");
    }
);

on_both!(
    readyz_and_doctor_say_what_is_wrong_and_what_to_do,
    |backend| async move {
        let app = spawn(backend).await;
        // The load balancer's question: ready, and why.
        let r = app.get("/readyz").await;
        assert_eq!(r.status(), 200);
        let ready: Value = r.json().await.unwrap();
        assert_eq!(ready["status"], "ready", "{ready}");
        let names: Vec<&str> = ready["checks"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["name"].as_str().unwrap())
            .collect();
        assert_eq!(names, ["database", "migrations", "disk", "jobs"]);
        assert!(ready["checks"]
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c["status"] == "ok"));

        // The operator's: `khidmat doctor` beside the running server finds no problem...
        let listen = app.url.trim_start_matches("http://").to_owned();
        let (data_dir, database_url) = (app.data_dir.clone(), app.database_url.clone());
        let doctor = move |listen: &str| {
            let mut cmd = Command::new(khidmat_bin());
            cmd.arg("--data-dir").arg(&data_dir);
            if let Some(u) = &database_url {
                cmd.args(["--database-url", u]);
            }
            cmd.env("KHIDMAT_LISTEN", listen)
                .env("KHIDMAT_PUBLIC_URL", "http://khidmat.example.gov.pk")
                .arg("doctor")
                .output()
                .unwrap()
        };
        let out = tokio::task::spawn_blocking({
            let (listen, doctor) = (listen.clone(), doctor.clone());
            move || doctor(&listen)
        });
        let out = out.await.unwrap();
        let text = String::from_utf8_lossy(&out.stdout).to_string();
        // ...but one: the public address is not https, and it says what to do.
        assert!(!out.status.success(), "{text}");
        assert!(text.contains("ok       server"), "{text}");
        assert!(
            text.contains("PROBLEM  public_url")
                && text.contains("put TLS in front and set an https address"),
            "{text}"
        );
        // With nothing listening, the doctor says the service is not running.
        let nobody = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .to_string();
        let out = tokio::task::spawn_blocking(move || doctor(&nobody))
            .await
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout).to_string();
        assert!(!out.status.success());
        assert!(
            text.contains("PROBLEM  server") && text.contains("is the service running"),
            "{text}"
        );
    }
);

/// A province outgrows one machine: its SQLite deployment moves to PostgreSQL with every row,
/// its ids continue, its open data is searchable there, and a server started on it serves it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sqlite_deployment_moves_to_postgres_with_its_data() {
    let app = spawn(Backend::Sqlite).await;
    let id = app
        .report(&[
            ("service_code", "kunda"),
            ("district", "swat"),
            ("attribute[premises]", "shop"),
            ("attribute[method]", "hook"),
            ("description", "Hook on the line, تار پر کنڈا"),
        ])
        .await;
    let csv = app.data_dir.join("moved.csv");
    std::fs::write(
        &csv,
        "district,phone,reports\npeshawar,03001234567,12\nswat,+92919211430,4\n",
    )
    .unwrap();
    let imported =
        khidmat::opendata::import_csv(&app.db, &csv, "moved", None, Some("pesco"), |_, _| {})
            .await
            .unwrap();
    // The stopped deployment: a copy of its database and key in a directory of its own.
    let work = tempfile::tempdir().unwrap();
    let backup = work.path().join("b.db");
    let (ok, _, err) = khidmat(
        &app.data_dir,
        None,
        &["backup", backup.to_str().unwrap()],
        None,
    );
    assert!(ok, "{err}");
    let dir = work.path().join("deployment");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::copy(app.data_dir.join("secret.key"), dir.join("secret.key")).unwrap();
    let (ok, _, err) = khidmat(&dir, None, &["restore", backup.to_str().unwrap()], None);
    assert!(ok, "{err}");

    let url = crate::pg::fresh_database().await;
    let (ok, out, err) = khidmat(&dir, None, &["move-to-postgres", "--to", &url], None);
    assert!(ok, "{out}{err}");
    assert!(out.contains("1 open-data tables"), "{out}");

    // Every table has the same rows on both.
    let sqlite = khidmat::platform::db::Db::open(None, &dir.join("khidmat.db"))
        .await
        .unwrap();
    let pg = khidmat::platform::db::Db::open(Some(&url), &dir.join("khidmat.db"))
        .await
        .unwrap();
    let tables: Vec<(String,)> = pg
        .fetch_all(query(
            "SELECT table_name::text FROM information_schema.tables WHERE table_schema = current_schema() \
             AND table_type = 'BASE TABLE' ORDER BY table_name",
        ))
        .await
        .unwrap();
    assert!(tables.len() > 50);
    for (t,) in &tables {
        let q = format!("SELECT COUNT(*) FROM \"{t}\"");
        let (a, b): (i64, i64) = (
            sqlite.scalar(query(q.clone())).await.unwrap(),
            pg.scalar(query(q)).await.unwrap(),
        );
        assert_eq!(a, b, "{t}");
    }
    sqlite.close().await;
    pg.close().await;

    // Moving into a database that has data is refused.
    let (ok, _, err) = khidmat(&dir, None, &["move-to-postgres", "--to", &url], None);
    assert!(!ok && err.contains("not empty"), "{err}");

    // A server on PostgreSQL serves the moved deployment.
    let pg_url = url.clone();
    let mut config = test_config(&dir, Some(url));
    config.demo = false;
    let server = khidmat::Application::build(config).await.unwrap();
    let base = format!("http://{}", server.local_addr());
    let stop = server.shutdown_token();
    tokio::spawn(server.run_until_stopped(false));
    let client = reqwest::Client::new();
    let r = fetch_json(client.get(format!("{base}/open311/v2/requests/{id}.json"))).await;
    assert_eq!(r[0]["service_request_id"], id.as_str());
    assert!(r[0]["description"]
        .as_str()
        .unwrap()
        .contains("تار پر کنڈا"));
    let d = fetch_json(
        client
            .post(format!("{base}/api/3/action/datastore_search"))
            .json(&serde_json::json!({"resource_id": imported.resource_id, "q": "swat"})),
    )
    .await;
    assert_eq!(d["result"]["total"], 1, "{d}");
    assert_eq!(d["result"]["records"][0]["phone"], "+92919211430");
    // New rows take the next ids: the sequences continue after the copied ones.
    let (ok, out, err) = khidmat(
        &dir,
        Some(&pg_url),
        &["apikey", "create", "--name", "after the move"],
        None,
    );
    assert!(ok, "{err}");
    let key = out.lines().last().unwrap().trim().to_owned();
    let answer = fetch_json(
        client
            .post(format!("{base}/open311/v2/requests.json"))
            .form(&[
                ("api_key", key.as_str()),
                ("service_code", "kunda"),
                ("district", "peshawar"),
                ("attribute[premises]", "house"),
                ("attribute[method]", "hook"),
            ]),
    )
    .await;
    let next: i64 = answer[0]["service_request_id"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(next > id.parse::<i64>().unwrap(), "{answer}");
    stop.cancel();
}
