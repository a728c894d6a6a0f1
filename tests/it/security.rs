//! The attack suite (docs/SECURITY.md), on both stores: each wall is tried on its own, from
//! outside where a stranger would stand, so that a change cannot pass it by accident.

use std::time::Duration;

use khidmat::platform::db::{query, UntrustedError};
use khidmat::platform::identity::Role;
use serde_json::{json, Value};

use crate::helpers::*;
use crate::on_both;

const CSV: &str = "District,Reports,Note\npeshawar,120,call 0300-1234567\nswat,45,\n";

/// A DataStore resource (its id), and a staff user whose password hash is in the database:
/// what an escape would be after.
async fn target(app: &TestApp) -> String {
    app.add_user("victim@pesco.gov.pk", Role::Manager, Some("pesco"), None)
        .await;
    let file = app.data_dir.join("t.csv");
    std::fs::write(&file, CSV).unwrap();
    khidmat::opendata::import_csv(&app.db, &file, "target", None, Some("pesco"), |_, _| {})
        .await
        .unwrap()
        .resource_id
}

async fn sql(app: &TestApp, sql: &str) -> (u16, Value) {
    let r = app
        .client
        .post(app.at("/api/3/action/datastore_search_sql"))
        .json(&json!({ "sql": sql }))
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.json().await.unwrap())
}

/// Escapes tried over HTTP: each is refused, or reads DataStore rows only.
fn escapes(r: &str) -> Vec<String> {
    [
        "SELECT * FROM users",
        "SELECT * FROM (WITH users AS (SELECT 1) SELECT * FROM users) x, users, \"{R}\"",
        "SELECT * FROM \"{R}\" WHERE EXISTS (WITH users AS (SELECT 1) SELECT 1 FROM users) UNION ALL SELECT email, password_hash, 1 FROM users",
        "SELECT * FROM \"{R}\" WHERE 1 IN (WITH sqlite_master AS (SELECT 1) SELECT 1) UNION ALL SELECT name, sql, 1 FROM sqlite_master",
        "WITH users AS (SELECT * FROM users) SELECT * FROM users, \"{R}\"",
        "WITH \"USERS\" AS (SELECT * FROM \"{R}\") SELECT * FROM users",
        "SELECT * FROM \"{R}\", pragma_table_info('users')",
        "SELECT * FROM \"{R}\" WHERE 1 IN pragma_table_list",
        "SELECT * FROM \"{R}\", sqlite_schema",
        "SELECT * FROM \"{R}\", information_schema.tables",
        "SELECT * FROM \"{R}\", pg_catalog.pg_authid",
        "SELECT * FROM \"{R}\", public.users",
        "SELECT * FROM \"{R}\", main.users",
        "SELECT pg_read_file('/etc/passwd') FROM \"{R}\"",
        "SELECT (SELECT password_hash FROM users LIMIT 1) FROM \"{R}\"",
        "SELECT * FROM \"{R}\" ORDER BY (SELECT 1 FROM sessions LIMIT 1)",
        "SELECT * FROM \"{R}\" UNION SELECT * FROM otp_codes",
        "TABLE users",
    ]
    .iter()
    .map(|s| s.replace("{R}", r))
    .collect()
}

on_both!(sql_escapes_are_refused_over_http, |backend| async move {
    let app = spawn(backend).await;
    let r = target(&app).await;
    for q in escapes(&r) {
        let (status, body) = sql(&app, &q).await;
        assert!(!body.to_string().contains("argon2"), "{q}: {body}");
        if status == 200 {
            // SQLite reads `users` as the query's own `WITH "USERS"`: DataStore rows.
            for record in body["result"]["records"].as_array().unwrap() {
                for k in record.as_object().unwrap().keys() {
                    assert!(
                        ["_id", "District", "Reports", "Note"].contains(&k.as_str()),
                        "{q}: {body}"
                    );
                }
            }
        } else {
            assert!(status == 403 || status == 409, "{q}: {status} {body}");
            assert_eq!(body["success"], false, "{q}");
        }
    }
    // What is allowed still works.
    let (status, body) = sql(
        &app,
        &format!("SELECT \"District\" FROM \"{r}\" ORDER BY 1"),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["result"]["records"][0]["District"], "peshawar");
});

// The database's own walls, with the parser out of the way: SQL handed straight to the
// untrusted connection. None may read a row of anything but the DataStore.
on_both!(
    sql_database_walls_hold_without_the_parser,
    |backend| async move {
        let app = spawn(backend).await;
        let r = target(&app).await;
        let ds = khidmat::opendata::datastore::schema(app.db.backend());
        let run = |q: String| {
            let db = app.db.clone();
            async move { db.untrusted_select(&q, 100, Duration::from_secs(3)).await }
        };
        // The DataStore itself is readable by its resource id.
        let ok = run(format!("SELECT \"District\" FROM \"{r}\""))
            .await
            .unwrap();
        assert_eq!(ok.rows.len(), 2);
        let mut attempts = vec![
            "SELECT * FROM users".to_string(),
            "SELECT email, password_hash FROM users".to_string(),
            "WITH users AS (SELECT * FROM users) SELECT * FROM users".to_string(),
            format!("SELECT * FROM \"{r}\" UNION ALL SELECT id, email, password_hash FROM users"),
            "SELECT * FROM sessions".to_string(),
            "SELECT * FROM api_keys".to_string(),
            "SELECT * FROM otp_codes".to_string(),
            "SELECT * FROM sms_outbox".to_string(),
            "SELECT * FROM mail_outbox".to_string(),
            "SELECT * FROM platform_secrets".to_string(),
            "SELECT * FROM od_resources".to_string(),
            "DELETE FROM sessions".to_string(),
            format!("UPDATE {ds}.\"{r}\" SET \"District\" = 'x'"),
        ];
        match backend {
            Backend::Sqlite => attempts.extend(
                [
                    "SELECT name, sql FROM sqlite_master",
                    "SELECT * FROM sqlite_schema",
                    "SELECT * FROM pragma_table_list",
                    "SELECT * FROM pragma_table_info('users')",
                    "PRAGMA table_info(users)",
                    "SELECT randomblob(10)",
                    "SELECT load_extension('x')",
                    "ATTACH DATABASE '/tmp/x.db' AS x",
                    "SELECT * FROM temp.sqlite_master",
                ]
                .map(String::from),
            ),
            Backend::Postgres => attempts.extend(
                [
                    "SELECT * FROM public.users",
                    "SELECT * FROM pg_catalog.pg_authid",
                    "SELECT usename, passwd FROM pg_shadow",
                    "SELECT pg_read_file('/etc/passwd')",
                    "SELECT * FROM pg_ls_dir('.')",
                    "SET ROLE khidmat_app",
                    "SELECT set_config('role', 'khidmat_app', false)",
                    "SELECT * FROM public.od_resources",
                    "SELECT lo_import('/etc/passwd')",
                ]
                .map(String::from),
            ),
        }
        for q in attempts {
            match run(q.clone()).await {
                Err(UntrustedError::Refused(_)) | Err(UntrustedError::Db(_)) => {}
                other => panic!("{q}: {other:?}"),
            }
        }
        assert!(app.count("users").await > 0, "untouched");
    }
);

on_both!(
    sql_memory_bombs_stop_at_the_value_limit,
    |backend| async move {
        let app = spawn(backend).await;
        let r = target(&app).await;
        // A string that doubles at every level: 2^24 times a short note.
        let mut inner = format!("SELECT \"District\" || 'xxxxxxxxxx' AS x FROM \"{r}\"");
        for _ in 0..24 {
            inner = format!("SELECT x || x AS x FROM ({inner}) t");
        }
        let (status, body) = sql(&app, &inner).await;
        assert_eq!(status, 409, "{body}");
        if backend == Backend::Sqlite {
            // The recursive form the report used: refused at 1 MB, quickly.
            let started = std::time::Instant::now();
            let (status, body) = sql(
            &app,
            &format!("WITH RECURSIVE b(s) AS (SELECT \"District\" FROM \"{r}\" UNION ALL SELECT s || s FROM b) SELECT length(s) FROM b"),
        )
        .await;
            assert_eq!(status, 409, "{body}");
            assert!(
                started.elapsed() < Duration::from_secs(3),
                "{:?}",
                started.elapsed()
            );
        }
    }
);

on_both!(
    a_deleted_dataset_is_gone_from_every_read,
    |backend| async move {
        let app = spawn(backend).await;
        let r = target(&app).await;
        let key = app.department_key("pesco").await;
        let (s, body) = sql(&app, &format!("SELECT * FROM \"{r}\"")).await;
        assert_eq!(s, 200, "{body}");
        let del = app
            .client
            .post(app.at("/api/3/action/package_delete"))
            .header("Authorization", &key)
            .json(&json!({"id": "target"}))
            .send()
            .await
            .unwrap();
        assert_eq!(del.status(), 200);
        let (s, body) = sql(&app, &format!("SELECT * FROM \"{r}\"")).await;
        assert_eq!(s, 403, "{body}");
        for action in ["datastore_search", "resource_show"] {
            let resp = app
                .client
                .get(app.at(&format!("/api/3/action/{action}?resource_id={r}&id={r}")))
                .send()
                .await
                .unwrap();
            assert_eq!(resp.status(), 404, "{action}");
        }
        let page = app.get(&format!("/dataset/target/resource/{r}.csv")).await;
        assert_eq!(page.status(), 404);
        // The rows themselves are gone, not just hidden.
        let ds = khidmat::opendata::datastore::schema(app.db.backend());
        assert!(app
            .db
            .scalar::<i64>(query(format!("SELECT COUNT(*) FROM {ds}.\"{r}\"")))
            .await
            .is_err());
    }
);

/// The body an outbox keeps of the newest message to `to`, once it has been sent.
async fn sent_body(app: &TestApp, outbox: &str, column: &str, to: &str) -> String {
    for _ in 0..100 {
        let (body, status): (String, String) = app
            .db
            .fetch_one(
                query(format!(
                    "SELECT body, status FROM {outbox} WHERE {column} = $1 ORDER BY id DESC LIMIT 1"
                ))
                .bind(to),
            )
            .await
            .unwrap();
        if status == "sent" {
            return body;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the message to {to} was not sent")
}

on_both!(secrets_are_never_kept_readable, |backend| async move {
    let app = spawn(backend).await;
    // A sign-in code: delivered to the phone, then gone from the outbox; stored keyed.
    let (_b, _) = citizen(&app, "0300 7654321").await;
    let phone = "+923007654321";
    let delivered = app.sms_to(phone).await;
    let code: String = delivered
        .split(|c: char| !c.is_ascii_digit())
        .find(|s| s.len() == 6)
        .unwrap()
        .into();
    let kept = sent_body(&app, "sms_outbox", "phone", phone).await;
    assert!(!kept.contains(&code), "{kept}");
    let stored: String = app
        .db
        .scalar(query("SELECT code_hash FROM otp_codes WHERE phone = $1").bind(phone))
        .await
        .unwrap();
    use sha2::Digest;
    for guess in [
        format!("{phone}:me:{code}"),
        format!("{phone}:citizen:{code}"),
        code.clone(),
    ] {
        assert_ne!(stored, hex::encode(sha2::Sha256::digest(guess.as_bytes())));
    }
    // An invitation link: delivered, then gone from the outbox.
    app.add_user("boss@pesco.gov.pk", Role::Manager, Some("pesco"), None)
        .await;
    let (b, csrf) = login(&app, "boss@pesco.gov.pk").await;
    let r = b
        .post(app.at("/staff/admin/users"))
        .form(&[
            ("csrf", csrf.as_str()),
            ("email", "new@pesco.gov.pk"),
            ("name", "New Officer"),
            ("role", "officer"),
            ("department", "pesco"),
            ("district", ""),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let mail = app.mail_to("new@pesco.gov.pk").await;
    assert!(mail.contains("/staff/password/"), "{mail}");
    let kept = sent_body(&app, "mail_outbox", "to_addr", "new@pesco.gov.pk").await;
    assert!(!kept.contains("/staff/password/"), "{kept}");
    // The pseudonym key is not in the database; the key file is the owner's alone.
    let legacy: i64 = app
        .db
        .scalar(query(
            "SELECT COUNT(*) FROM platform_secrets WHERE name = 'impact-citizen'",
        ))
        .await
        .unwrap();
    assert_eq!(legacy, 0);
});

/// A report from a client whose `X-Forwarded-For` says `chain`.
async fn report_via(app: &TestApp, chain: &str) -> u16 {
    app.client
        .post(app.at("/open311/v2/requests.json"))
        .header("X-Forwarded-For", chain)
        .form(&[
            ("api_key", app.client_key.as_str()),
            ("service_code", "blocked-drain"),
            ("district", "kohat"),
        ])
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

on_both!(
    forwarded_for_cannot_reset_the_limits,
    |backend| async move {
        let app = spawn_with(backend, |c| {
            c.rate_limit_per_minute = 3;
            c.trusted_proxies = 1;
        })
        .await;
        // The client writes what it likes on the left; the proxy appends what it saw.
        for i in 0..3 {
            assert_eq!(
                report_via(&app, &format!("10.9.9.{i}, 198.51.100.7")).await,
                200
            );
        }
        assert_eq!(report_via(&app, "10.9.9.99, 198.51.100.7").await, 429);
        assert_eq!(report_via(&app, "198.51.100.7").await, 429);
        // Another subscriber is another client; the same IPv6 /64 is one.
        assert_eq!(report_via(&app, "198.51.100.8").await, 200);
        for i in 0..3 {
            assert_eq!(report_via(&app, &format!("2001:db8:5:6::{i}")).await, 200);
        }
        assert_eq!(report_via(&app, "2001:db8:5:6:ffff::1").await, 429);
    }
);

on_both!(wrong_passwords_back_off_per_account, |backend| async move {
    let app = spawn(backend).await;
    app.add_user("target@pesco.gov.pk", Role::Officer, Some("pesco"), None)
        .await;
    let try_login = |password: &'static str, from: String| {
        let c = app.client.clone();
        let url = app.at("/api/v1/login");
        async move {
            c.post(url)
                .header("X-Forwarded-For", from)
                .json(&json!({"email": "target@pesco.gov.pk", "password": password}))
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    };
    let mut refused = 0;
    for i in 0..12 {
        match try_login("wrong guess", format!("10.0.{i}.1")).await {
            401 => {}
            429 => refused += 1,
            other => panic!("{other}"),
        }
    }
    assert_eq!(refused, 2, "ten wrong tries, then refusals");
    assert_eq!(
        try_login("a long enough password", "10.1.1.1".into()).await,
        429,
        "not even the right password while the account backs off"
    );
    // Another account is not affected.
    app.add_user("other@pesco.gov.pk", Role::Officer, Some("pesco"), None)
        .await;
    api_session(&app, "other@pesco.gov.pk").await;
});

on_both!(sign_in_codes_are_limited_per_number, |backend| async move {
    let app = spawn(backend).await;
    let b = browser();
    let (_, html) = page(&b, &app, "/me").await;
    let csrf = hidden(&html, "csrf");
    let ask = || {
        b.post(app.at("/me/code"))
            .form(&[
                ("csrf", csrf.as_str()),
                ("phone", "0300 1112223"),
                ("next", "/me"),
            ])
            .send()
    };
    for _ in 0..5 {
        assert_eq!(ask().await.unwrap().status(), 200);
    }
    assert_eq!(
        ask().await.unwrap().status(),
        429,
        "the sixth code in an hour"
    );
    let sent: i64 = app
        .db
        .scalar(query(
            "SELECT COUNT(*) FROM sms_outbox WHERE phone = '+923001112223'",
        ))
        .await
        .unwrap();
    assert_eq!(sent, 5);
    // Wrong guesses count across codes: ten wrong, then even the right code is refused.
    let code: String = app
        .sms_to("+923001112223")
        .await
        .split(|c: char| !c.is_ascii_digit())
        .find(|s| s.len() == 6)
        .unwrap()
        .into();
    let wrong = if code == "000000" { "111111" } else { "000000" };
    let sign_in = |code: String| {
        b.post(app.at("/me/sign-in"))
            .form(&[
                ("csrf", csrf.as_str()),
                ("phone", "0300 1112223"),
                ("code", code.as_str()),
                ("next", "/me"),
            ])
            .send()
    };
    for _ in 0..10 {
        let r = sign_in(wrong.to_string()).await.unwrap();
        assert_ne!(r.status(), 303);
    }
    let r = sign_in(code).await.unwrap();
    assert_ne!(
        r.status(),
        303,
        "the right code after ten wrong ones across codes"
    );
});

on_both!(redirects_stay_on_the_site, |backend| async move {
    let app = spawn(backend).await;
    let b = browser();
    for next in [
        "/%09/evil.example",
        "/%0a/evil.example",
        "/%0d%0a/evil.example",
        "%2F%2Fevil.example",
        "/%5Cevil.example",
        "https://evil.example",
        "//evil.example",
        "/%E2%80%A8/evil.example",
    ] {
        let r = b
            .get(app.at(&format!("/lang/ur?next={next}")))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 303, "{next}");
        assert_eq!(r.headers()["location"], "/", "{next}");
    }
    let r = b
        .get(app.at("/lang/ur?next=/reports%3Fx%3D1"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["location"], "/reports?x=1");
    // Right after a real staff login.
    app.add_user("o@pesco.gov.pk", Role::Officer, Some("pesco"), None)
        .await;
    let s = browser();
    let (_, html) = page(&s, &app, "/staff/login").await;
    let csrf = hidden(&html, "csrf");
    let r = s
        .post(app.at("/staff/login"))
        .form(&[
            ("csrf", csrf.as_str()),
            ("email", "o@pesco.gov.pk"),
            ("password", "a long enough password"),
            ("next", "/\t/evil.example"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    assert!(!r.headers()["location"].to_str().unwrap().contains("evil"));
});

on_both!(
    every_answer_carries_the_security_headers,
    |backend| async move {
        let app = spawn_with(backend, |c| {
            c.trusted_proxies = 1;
            c.metrics_token = Some("scrape-token-for-tests".into());
        })
        .await;
        for path in [
            "/",
            "/reports",
            "/api/3/action/package_list",
            "/no/such/page",
        ] {
            let r = app.get(path).await;
            let h = r.headers();
            let csp = h["content-security-policy"].to_str().unwrap();
            assert!(
                csp.contains("script-src 'self';") && csp.contains("frame-ancestors 'none'"),
                "{path}: {csp}"
            );
            assert_eq!(h["x-frame-options"], "DENY", "{path}");
            assert_eq!(h["x-content-type-options"], "nosniff", "{path}");
            assert_eq!(h["referrer-policy"], "same-origin", "{path}");
        }
        // /metrics: the monitoring host (no proxy hop) and the token, nobody else.
        assert_eq!(app.get("/metrics").await.status(), 200);
        let through_proxy = |token: Option<&str>| {
            let mut r = app
                .client
                .get(app.at("/metrics"))
                .header("X-Forwarded-For", "203.0.113.50");
            if let Some(t) = token {
                r = r.bearer_auth(t);
            }
            r.send()
        };
        assert_eq!(through_proxy(None).await.unwrap().status(), 404);
        assert_eq!(through_proxy(Some("wrong")).await.unwrap().status(), 404);
        assert_eq!(
            through_proxy(Some("scrape-token-for-tests"))
                .await
                .unwrap()
                .status(),
            200
        );
    }
);

on_both!(
    downloaded_csv_cells_are_not_formulas,
    |backend| async move {
        let app = spawn(backend).await;
        let file = app.data_dir.join("f.csv");
        std::fs::write(
            &file,
            "Name,Phone,Count\n=HYPERLINK(\"http://x\"),+923001234567,-5\n",
        )
        .unwrap();
        let made = khidmat::opendata::import_csv(
            &app.db,
            &file,
            "formulas",
            None,
            Some("pesco"),
            |_, _| {},
        )
        .await
        .unwrap();
        let text = app
            .get(&format!(
                "/dataset/formulas/resource/{}.csv",
                made.resource_id
            ))
            .await
            .text()
            .await
            .unwrap();
        assert!(text.contains("'=HYPERLINK"), "{text}");
        assert!(
            !text.contains(",=HYPERLINK") && !text.contains("\n=HYPERLINK"),
            "{text}"
        );
        assert!(text.contains("-5"), "{text}");
    }
);

on_both!(strangers_bodies_are_refused_unread, |backend| async move {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let app = spawn(backend).await;
    let addr = app.url.trim_start_matches("http://").to_owned();
    // An anonymous 300 MB upload: the refusal comes after the headers, not after the body.
    let mut s = tokio::net::TcpStream::connect(&addr).await.unwrap();
    let head = "POST /api/3/action/resource_create HTTP/1.1\r\nHost: x\r\n\
                Content-Type: multipart/form-data; boundary=b\r\nContent-Length: 314572800\r\n\r\n";
    s.write_all(head.as_bytes()).await.unwrap();
    s.write_all(&[b'a'; 4096]).await.unwrap();
    let mut answer = vec![0u8; 512];
    let n = tokio::time::timeout(Duration::from_secs(5), s.read(&mut answer))
        .await
        .expect("answered without the body")
        .unwrap();
    let answer = String::from_utf8_lossy(&answer[..n]);
    assert!(answer.starts_with("HTTP/1.1 403"), "{answer}");
    // A query is small; a form field too. The server answers and may close before the client
    // has written all of an oversized body, so these go over a raw connection whose writes may
    // fail while its answer is read.
    let sql_body = json!({"sql": "x".repeat(2 * 1024 * 1024)}).to_string();
    let answer = raw_post(
        &addr,
        "/api/3/action/datastore_search_sql",
        "Content-Type: application/json\r\n",
        sql_body.into_bytes(),
    )
    .await;
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    let key = app.department_key("pesco").await;
    let mut form = Vec::new();
    form.extend_from_slice(
        b"--b\r\nContent-Disposition: form-data; name=\"package_id\"\r\n\r\nx\r\n",
    );
    form.extend_from_slice(b"--b\r\nContent-Disposition: form-data; name=\"name\"\r\n\r\n");
    form.extend(std::iter::repeat_n(b'y', 2 * 1024 * 1024));
    form.extend_from_slice(b"\r\n--b--\r\n");
    let answer = raw_post(
        &addr,
        "/api/3/action/resource_create",
        &format!("Content-Type: multipart/form-data; boundary=b\r\nAuthorization: {key}\r\n"),
        form,
    )
    .await;
    assert!(answer.starts_with("HTTP/1.1 4"), "{answer}");
    assert!(answer.contains("longer than"), "{answer}");
});

/// POST `body` over a raw connection, writing it while the answer is read; the answer's text.
async fn raw_post(addr: &str, path: &str, headers: &str, body: Vec<u8>) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let s = tokio::net::TcpStream::connect(addr).await.unwrap();
    let (mut read, mut write) = s.into_split();
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: x\r\n{headers}Content-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    let writer = tokio::spawn(async move {
        let _ = write.write_all(head.as_bytes()).await;
        let _ = write.write_all(&body).await;
        write
    });
    let mut answer = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(10), read.read_to_end(&mut answer)).await;
    writer.abort();
    String::from_utf8_lossy(&answer).into_owned()
}

on_both!(
    contacts_typed_into_public_text_are_masked,
    |backend| async move {
        let app = spawn(backend).await;
        let id = app
            .report(&[
                ("service_code", "blocked-drain"),
                ("district", "kohat"),
                (
                    "description",
                    "Drain blocked; the contractor is 0300-1234567, khan@example.pk",
                ),
            ])
            .await;
        let public = app
            .get_json(&format!("/open311/v2/requests/{id}.json"))
            .await;
        let d = public[0]["description"].as_str().unwrap();
        assert!(!d.contains("1234567") && !d.contains("khan@"), "{d}");
        assert!(
            d.contains("****-*****67") && d.contains("k***@example.pk"),
            "{d}"
        );
        let list = app.get("/reports").await.text().await.unwrap();
        assert!(!list.contains("0300-1234567"));
        // Staff still see what was written.
        let key = app.department_key("wssp").await;
        let staff = app.staff_json(&format!("/api/v1/reports/{id}"), &key).await;
        assert!(staff.to_string().contains("0300-1234567"), "{staff}");
    }
);

/// The value of cookie `name` that a response sets.
fn set_cookie(r: &reqwest::Response, name: &str) -> String {
    r.headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|v| v.strip_prefix(&format!("{name}="))?.split(';').next())
        .unwrap_or_else(|| panic!("{name} is set"))
        .to_owned()
}

on_both!(
    a_form_token_is_bound_to_its_cookie_and_session,
    |backend| async move {
        let app = spawn_with(backend, |_| {}).await;
        app.add_user("victim@pesco.gov.pk", Role::Manager, Some("pesco"), None)
            .await;
        // A client that sends only the cookies it is told to.
        let plain = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        let get =
            |path: &str, cookies: String| plain.get(app.at(path)).header("cookie", cookies).send();
        let post = |path: &str, cookies: String, form: Vec<(&'static str, String)>| {
            plain
                .post(app.at(path))
                .header("cookie", cookies)
                .form(&form)
                .send()
        };

        // The victim signs in.
        let r = get("/staff/login", String::new()).await.unwrap();
        let c1 = set_cookie(&r, "khidmat_csrf");
        let t1 = hidden(&r.text().await.unwrap(), "csrf");
        assert_ne!(t1, c1, "the cookie is not the token");
        let r = post(
            "/staff/login",
            format!("khidmat_csrf={c1}"),
            vec![
                ("csrf", t1.clone()),
                ("email", "victim@pesco.gov.pk".into()),
                ("password", "a long enough password".into()),
            ],
        )
        .await
        .unwrap();
        assert_eq!(r.status(), 303);
        let session = set_cookie(&r, "khidmat_session");
        let victim = format!("khidmat_csrf={c1}; khidmat_session={session}");
        let r = get("/staff", victim.clone()).await.unwrap();
        let tv = hidden(&r.text().await.unwrap(), "csrf");
        assert_ne!(tv, t1, "signing in changes the token");

        // An attacker's own cookie and token, planted in the victim's browser (a sibling site,
        // plain HTTP): worthless with the victim's session.
        let r = get("/staff/login", String::new()).await.unwrap();
        let c2 = set_cookie(&r, "khidmat_csrf");
        let t2 = hidden(&r.text().await.unwrap(), "csrf");
        let planted = format!("khidmat_csrf={c2}; khidmat_session={session}");
        for (cookies, token) in [
            (planted.clone(), t2.clone()),
            (planted.clone(), tv.clone()),
            (victim.clone(), t1.clone()),
            (victim.clone(), c1.clone()),
            (victim.clone(), String::new()),
        ] {
            let r = post("/staff/logout", cookies, vec![("csrf", token.clone())])
                .await
                .unwrap();
            assert_eq!(r.status(), 403, "token {token:?}");
        }
        assert_eq!(get("/staff", victim.clone()).await.unwrap().status(), 200);
        // The victim's own page's token works.
        let r = post("/staff/logout", victim.clone(), vec![("csrf", tv)])
            .await
            .unwrap();
        assert_eq!(r.status(), 303);
        assert_ne!(get("/staff", victim).await.unwrap().status(), 200);
    }
);

/// The personal data one citizen gave, in every form a page might print it.
const PLANTED_PHONE: &str = "3331234987"; // 0333-1234987, +92 333 1234987
const PLANTED_CNIC: &str = "1730176543213"; // 17301-7654321-3
const PLANTED_EMAIL: &str = "gulbano.k@example.pk";

/// Which planted value `body` carries, if any (separators ignored; Urdu digits read as digits).
fn carries_planted(body: &str) -> Option<&'static str> {
    let digits: String = body
        .chars()
        .filter_map(|c| match c {
            '0'..='9' => Some(c),
            '\u{06F0}'..='\u{06F9}' => char::from_digit(c as u32 - 0x06F0, 10),
            '\u{0660}'..='\u{0669}' => char::from_digit(c as u32 - 0x0660, 10),
            '-' | ' ' | '\u{00A0}' | '.' | '\u{2066}' | '\u{2069}' | '\u{2068}' => None,
            _ => Some('|'),
        })
        .collect();
    if digits.contains(PLANTED_PHONE) {
        return Some("phone");
    }
    if digits.contains(PLANTED_CNIC) {
        return Some("CNIC");
    }
    body.to_lowercase()
        .contains(PLANTED_EMAIL)
        .then_some("e-mail")
}

on_both!(
    no_public_output_carries_the_personal_data_a_citizen_gave,
    |backend| async move {
        let app = spawn(backend).await;
        // A report with its contact fields filled and the same data typed into the text.
        let typed = format!(
            "Drain overflowing. Call me on 0333-1234987 or +92 333 1234987, CNIC 17301-7654321-3, {PLANTED_EMAIL}"
        );
        let report = app
            .report(&[
                ("service_code", "blocked-drain"),
                ("district", "kohat"),
                ("description", typed.as_str()),
                ("first_name", "Gul"),
                ("last_name", "Bano"),
                ("email", PLANTED_EMAIL),
                ("phone", "03331234987"),
            ])
            .await;
        // An NGO registered by its chair, whose CNIC and phone the case holds.
        let citizen = browser();
        let (_, html) = page(&citizen, &app, "/cases/ngo-registration/apply").await;
        let (st, _) = submit(
            &citizen,
            &app,
            "/cases/ngo-registration/apply",
            &[
                ("csrf", hidden(&html, "csrf").as_str()),
                ("district", "swat"),
                ("field[organisation_name]", "Swat Women Weavers"),
                ("field[office_address]", "Mingora"),
                ("field[chair_name]", "Gul Bano"),
                ("field[chair_cnic]", "17301-7654321-3"),
                ("field[contact_phone]", "03331234987"),
                ("field[sector]", "education"),
            ],
        )
        .await;
        assert_eq!(st, 303);
        khidmat::opendata::publish::run(&app.db, "kp-itb")
            .await
            .unwrap();

        // Everything a stranger can fetch: every page linked from the home page (and from
        // those), every API answer the OpenAPI document lists without parameters or a key,
        // the planted report in Open311, and every open dataset's files and DataStore rows.
        let anonymous = reqwest::Client::new();
        let mut queue: std::collections::VecDeque<String> = [
            "/".to_owned(),
            format!("/open311/v2/requests/{report}.json"),
            format!("/open311/v2/requests/{report}.xml"),
            "/open311/v2/requests.json".into(),
            "/open311/v2/requests.xml".into(),
            "/impact.csv".into(),
        ]
        .into();
        let spec: Value = anonymous
            .get(app.at("/api/openapi.json"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        for (path, ops) in spec["paths"].as_object().unwrap() {
            let open = ops["get"].is_object()
                && !path.contains('{')
                && ops["get"]["security"]
                    .as_array()
                    .is_none_or(|s| s.is_empty());
            if open {
                queue.push_back(path.clone());
            }
        }
        let packages: Value = anonymous
            .get(app.at("/api/3/action/package_list"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        for name in packages["result"].as_array().unwrap() {
            let p: Value = anonymous
                .get(app.at("/api/3/action/package_show"))
                .query(&[("id", name.as_str().unwrap())])
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            for r in p["result"]["resources"].as_array().unwrap() {
                let url = r["url"].as_str().unwrap_or_default();
                if let Some(path) = url.strip_prefix(&app.url) {
                    queue.push_back(path.to_owned());
                }
                let id = r["id"].as_str().unwrap();
                queue.push_back(format!(
                    "/api/3/action/datastore_search?resource_id={id}&limit=32000"
                ));
            }
        }
        let mut seen = std::collections::HashSet::new();
        let mut leaks = Vec::new();
        let mut showed_the_report = Vec::new();
        while let Some(path) = queue.pop_front() {
            if seen.len() >= 600 || !seen.insert(path.clone()) {
                continue;
            }
            let r = anonymous.get(app.at(&path)).send().await.unwrap();
            let ctype = r
                .headers()
                .get("content-type")
                .map(|v| v.to_str().unwrap_or("").to_owned())
                .unwrap_or_default();
            if ctype.starts_with("image/") || ctype.contains("font") {
                continue;
            }
            let body = r.text().await.unwrap_or_default();
            if let Some(what) = carries_planted(&body) {
                leaks.push(format!("{path}: {what}"));
            }
            if body.contains("Drain overflowing") {
                showed_the_report.push(path.clone());
            }
            if ctype.starts_with("text/html") {
                for href in body.split("href=\"").skip(1) {
                    let link = href.split('"').next().unwrap().replace("&amp;", "&");
                    let public = link.starts_with('/')
                        && !link.starts_with("//")
                        && !["/staff", "/static/", "/lang/", "/me/sign-out", "/photos/"]
                            .iter()
                            .any(|p| link.starts_with(p));
                    if public {
                        queue.push_back(link.split('#').next().unwrap().to_owned());
                    }
                }
            }
        }
        assert!(
            seen.len() > 40,
            "the crawl reached the site: {} answers",
            seen.len()
        );
        assert!(
            leaks.is_empty(),
            "personal data in public output: {leaks:?}"
        );
        // The report itself was among what was read: in Open311 and on a web page.
        assert!(
            showed_the_report.iter().any(|p| p.starts_with("/open311"))
                && showed_the_report.iter().any(|p| !p.starts_with("/open311")),
            "{showed_the_report:?}"
        );
        // The scan finds what it looks for: the staff API shows the report's contact.
        let key = app.department_key("wssp").await;
        let staff_view = app
            .staff_get(&format!("/api/v1/reports/{report}"), &key)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(carries_planted(&staff_view).is_some(), "{staff_view}");
        println!(
            "{backend:?}: {} public answers scanned (the report in {}), none carries the planted phone, CNIC or e-mail",
            seen.len(),
            showed_the_report.len()
        );
    }
);

on_both!(
    a_staff_session_writes_only_from_the_sites_own_pages,
    |backend| async move {
        let app = spawn(backend).await;
        app.add_user("desk@pesco.gov.pk", Role::Officer, Some("pesco"), None)
            .await;
        let officer = api_session(&app, "desk@pesco.gov.pk").await;
        let report = app.kunda_at("34.0151", "71.5249").await;
        let path = format!("/api/v1/reports/{report}/updates");
        let body = json!({"status": "in_progress", "note": "inspection booked"});
        // A sibling subdomain's page (same site, so the cookie goes along) or another site.
        for (header, value) in [
            ("sec-fetch-site", "same-site"),
            ("sec-fetch-site", "cross-site"),
            ("origin", "https://evil.example"),
            ("origin", "https://forms.kp.gov.pk"),
        ] {
            let r = officer
                .post(app.at(&path))
                .header(header, value)
                .json(&body)
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 403, "{header}: {value}");
        }
        let updates: i64 = app
            .db
            .scalar(query("SELECT COUNT(*) FROM report_updates"))
            .await
            .unwrap();
        // From its own pages (the browser says same-origin), or a client that is no browser.
        let own = app.url.trim_start_matches("http://").to_owned();
        let r = officer
            .post(app.at(&path))
            .header("sec-fetch-site", "same-origin")
            .header("origin", format!("http://{own}"))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 201);
        let r = officer
            .post(app.at(&path))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 201);
        let after: i64 = app
            .db
            .scalar(query("SELECT COUNT(*) FROM report_updates"))
            .await
            .unwrap();
        assert_eq!(after, updates + 2, "only the two allowed writes were made");
    }
);

/// A declared path with its parameters filled (real demo values where they matter).
fn filled(path: &str) -> String {
    let mut out = String::new();
    let mut rest = path;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let close = rest[open..].find('}').unwrap() + open;
        let name = &rest[open + 1..close];
        out.push_str(match name {
            "workflow" => "vehicle-seizure",
            "fund" => "minorities-grant",
            "department" | "slug" => "pesco",
            "district" => "peshawar",
            "service" | "service_code" => "kunda",
            _ => "1",
        });
        rest = &rest[close + 1..];
    }
    out.push_str(rest);
    out
}

/// How many rows every table holds (what a write would change), but for the tables that
/// count requests themselves (rate limits, failed attempts, the health probe).
async fn rows_everywhere(app: &TestApp) -> std::collections::BTreeMap<String, i64> {
    let mut out = std::collections::BTreeMap::new();
    for t in table_names(app).await {
        if ["rate_buckets", "health_probe"].contains(&t.as_str()) {
            continue;
        }
        out.insert(t.clone(), app.count(&format!("\"{t}\"")).await);
    }
    out
}

on_both!(
    every_declared_write_refuses_a_form_without_its_token_and_every_staff_route_a_stranger,
    |backend| async move {
        let app = spawn(backend).await;
        let routes = declared_routes();
        assert!(
            routes.len() > 150,
            "the scan found the routes: {}",
            routes.len()
        );
        let writes: Vec<&(String, String)> = routes.iter().filter(|(m, _)| m != "GET").collect();

        // A platform administrator is signed in; a page on a sibling subdomain (same site, so
        // the session cookie goes along) posts to every write route without the form token.
        // So does a citizen's (the campaign and `/me` pages).
        app.add_user("root@kp.gov.pk", Role::Admin, None, None)
            .await;
        let (admin, _) = login(&app, "root@kp.gov.pk").await;
        let (citizen, _) = citizen(&app, "03001112223").await;
        let before = rows_everywhere(&app).await;
        let mut accepted = Vec::new();
        for who in [&admin, &citizen] {
            for (method, path) in &writes {
                let url = app.at(&filled(path));
                let r = who
                    .request(method.parse().unwrap(), &url)
                    .header("sec-fetch-site", "same-site")
                    .header("origin", "https://forms.kp.gov.pk")
                    .form(&[("name", "x"), ("status", "closed"), ("note", "x")])
                    .send()
                    .await
                    .unwrap();
                let status = r.status().as_u16();
                let location = r
                    .headers()
                    .get("location")
                    .map(|l| l.to_str().unwrap_or("").to_owned())
                    .unwrap_or_default();
                // Refused, or sent to sign in (the other kind of session).
                let to_sign_in = status == 303
                    && (location.starts_with("/staff/login") || location.starts_with("/me"));
                if !(400..500).contains(&status) && !to_sign_in {
                    accepted.push(format!("{method} {path}: {status} {location}"));
                }
            }
        }
        assert!(
            accepted.is_empty(),
            "answered without a form token: {accepted:?}"
        );
        // Both are still signed in: nothing above signed them out.
        assert_eq!(page(&admin, &app, "/staff").await.0, 200);
        assert_eq!(page(&citizen, &app, "/me").await.0, 200);
        let after = rows_everywhere(&app).await;
        let changed: Vec<_> = after
            .iter()
            .filter(|(t, n)| before.get(*t) != Some(n))
            .collect();
        assert!(changed.is_empty(), "tables changed: {changed:?}");

        // A stranger, with no session and no key: every staff page and every staff API route
        // (those the OpenAPI document marks as needing a key) is refused, and shows nothing.
        let spec: Value = app.get_json("/api/openapi.json").await;
        let secured = |method: &str, path: &str| {
            spec["paths"][path][method.to_lowercase()]["security"]
                .as_array()
                .is_some_and(|s| !s.is_empty())
        };
        let stranger = browser();
        let mut shown = Vec::new();
        let mut checked = 0;
        for (method, path) in &routes {
            let staff_page = path.starts_with("/staff")
                && ![
                    "/staff/login",
                    "/staff/invite",
                    "/staff/reset",
                    "/staff/password",
                ]
                .iter()
                .any(|p| path.starts_with(p));
            if !staff_page && !secured(method, path) {
                continue;
            }
            checked += 1;
            let r = stranger
                .request(method.parse().unwrap(), app.at(&filled(path)))
                .send()
                .await
                .unwrap();
            let status = r.status().as_u16();
            let location = r
                .headers()
                .get("location")
                .map(|l| l.to_str().unwrap_or("").to_owned())
                .unwrap_or_default();
            let refused = (400..500).contains(&status)
                || (status == 303 && location.starts_with("/staff/login"));
            if !refused {
                shown.push(format!("{method} {path}: {status} {location}"));
            }
        }
        assert!(checked > 80, "staff routes checked: {checked}");
        assert!(shown.is_empty(), "a stranger was answered: {shown:?}");
        println!(
            "{backend:?}: {} declared routes; {} writes refused without a form token, no table changed; {checked} staff routes refused to a stranger",
            routes.len(),
            writes.len()
        );
    }
);
