//! Two Khidmat nodes on one PostgreSQL, as behind a load balancer: a write on one is read on the
//! other, a rate limit is one limit across both, scheduled work is booked once, and every job
//! runs exactly once whichever node's worker takes it. (The directory's index following another
//! node's change is in `directory.rs`.)

use khidmat::platform::db::query;
use khidmat::platform::i18n::Lang;
use khidmat::platform::personal::Phone;
use serde_json::Value;

use crate::helpers::*;
use crate::on_both;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_nodes_share_one_postgres() {
    let a = spawn_with(Backend::Postgres, |c| c.rate_limit_per_minute = 3).await;
    let dir = tempfile::tempdir().unwrap();
    let mut config = test_config(dir.path(), a.database_url.clone());
    config.demo = false;
    config.rate_limit_per_minute = 3;
    let b = khidmat::Application::build(config.clone()).await.unwrap();
    let b_url = format!("http://{}", b.local_addr());
    let b_stop = b.shutdown_token();
    tokio::spawn(b.run_until_stopped(false));

    // A report filed on node A is read on node B.
    let id = a
        .report(&[("service_code", "blocked-drain"), ("district", "kohat")])
        .await;
    let got: Value = a
        .client
        .get(format!("{b_url}/open311/v2/requests/{id}.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(got[0]["service_request_id"], id.as_str());

    // Three writes a minute, whichever node takes them: one on A, two on B, the fourth refused.
    let post_b = || {
        a.client
            .post(format!("{b_url}/open311/v2/requests.json"))
            .form(&[
                ("api_key", a.client_key.as_str()),
                ("service_code", "blocked-drain"),
                ("district", "kohat"),
            ])
            .send()
    };
    assert_eq!(post_b().await.unwrap().status(), 200);
    assert_eq!(post_b().await.unwrap().status(), 200);
    let refused = a
        .post_report(&[("service_code", "blocked-drain"), ("district", "kohat")])
        .await;
    assert_eq!(refused.status(), 429, "the limit is one across the nodes");
    assert_eq!(a.count("reports").await, 3);

    // Both nodes started and booked their scheduled work: once each.
    for kind in ["opendata.publish", "cases.deadlines"] {
        assert_eq!(
            a.count(&format!("jobs WHERE kind = '{kind}' AND status = 'queued'"))
                .await,
            1,
            "{kind} booked once"
        );
    }

    // Forty messages, two nodes' workers: each job is run exactly once.
    // Forty numbers: one number gets only so many messages a minute.
    let mut tx = a.db.begin().await.unwrap();
    for n in 0..40 {
        let phone = Phone::parse(&format!("0300 76543{:02}", n)).unwrap();
        khidmat::platform::sms::queue(
            &mut tx,
            &config,
            &phone,
            &format!("message {n}"),
            Lang::En,
            None,
        )
        .await
        .unwrap();
    }
    tx.commit().await.unwrap();
    eventually(|| async {
        (a.count("jobs WHERE kind = 'sms.send' AND status = 'done'")
            .await
            >= 40)
            .then_some(())
    })
    .await;
    assert_eq!(
        a.count("jobs WHERE kind = 'sms.send' AND attempts <> 1")
            .await,
        0,
        "no job was taken twice"
    );
    let sent: i64 = a
        .db
        .scalar(query("SELECT COUNT(*) FROM sms_outbox WHERE body LIKE 'message %' AND status = 'sent' AND attempts = 1"))
        .await
        .unwrap();
    assert_eq!(sent, 40);
    b_stop.cancel();
}

/// An S3-compatible server for the test: moto's, from the tests' Python environment
/// (`scripts/test.sh` installs it), on a free port; stopped when dropped.
struct Bucket {
    endpoint: String,
    _server: tokio::process::Child,
}

/// The keys every test bucket is used with (moto takes any).
fn test_keys() -> khidmat::platform::s3::Credentials {
    khidmat::platform::s3::Credentials {
        access_key: "khidmat".into(),
        secret_key: "a test secret".into(),
        region: "us-east-1".into(),
    }
}

impl Bucket {
    /// The bucket `name` on this server, read with the test keys (moto, like S3, keeps an
    /// object private to its owner).
    fn reader(&self, name: &str) -> khidmat::platform::s3::Bucket {
        khidmat::platform::s3::Bucket::new(&self.endpoint, name, test_keys(), None).unwrap()
    }
}

async fn s3_bucket(name: &str) -> Bucket {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let exe = root.join("target/test-venv/bin/moto_server");
    assert!(
        exe.exists(),
        "run ./scripts/test.sh (it installs moto, the S3-compatible test server)"
    );
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let server = tokio::process::Command::new(exe)
        .args(["-H", "127.0.0.1", "-p", &port.to_string()])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let endpoint = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::new();
    eventually(|| {
        let client = client.clone();
        let url = format!("{endpoint}/{name}");
        async move {
            // moto takes unsigned requests: the bucket is made as an operator would.
            client
                .put(&url)
                .send()
                .await
                .ok()?
                .status()
                .is_success()
                .then_some(())
        }
    })
    .await;
    Bucket {
        endpoint,
        _server: server,
    }
}

/// A blocked drain reported in Kohat with a `w` × `h` photo.
async fn drain_with_photo(app: &TestApp, w: u32, h: u32) -> reqwest::Response {
    let mut jpeg = std::io::Cursor::new(Vec::new());
    image::RgbImage::from_fn(w, h, |x, y| {
        image::Rgb([(x % 256) as u8, (y % 256) as u8, 90])
    })
    .write_to(&mut jpeg, image::ImageFormat::Jpeg)
    .unwrap();
    app.post_report_with_photo(
        &[("service_code", "blocked-drain"), ("district", "kohat")],
        jpeg.into_inner(),
    )
    .await
}

on_both!(
    photos_in_an_s3_bucket_are_served_by_every_node,
    |backend| async move {
        let bucket = s3_bucket("khidmat-files").await;
        let endpoint = bucket.endpoint.clone();
        let s3 = move |c: &mut khidmat::platform::config::Config| {
            c.file_store = "s3".into();
            c.s3_endpoint = endpoint.clone();
            c.s3_bucket = "khidmat-files".into();
            c.s3_access_key = "khidmat".into();
            c.s3_secret_key = Some("a test secret".into());
        };
        let a = spawn_with(backend, s3.clone()).await;
        // The other node: on PostgreSQL a second process-like server on the same database, with
        // its own (empty) data directory; on SQLite the same server again.
        let other_dir = tempfile::tempdir().unwrap();
        let b_url = match backend {
            Backend::Sqlite => a.url.clone(),
            Backend::Postgres => {
                let mut config = test_config(other_dir.path(), a.database_url.clone());
                config.demo = false;
                s3(&mut config);
                let b = khidmat::Application::build(config).await.unwrap();
                let url = format!("http://{}", b.local_addr());
                tokio::spawn(b.run_until_stopped(false));
                url
            }
        };

        let resp = drain_with_photo(&a, 640, 480).await;
        assert_eq!(resp.status(), 200);
        let receipt: Value = resp.json().await.unwrap();
        let id = receipt[0]["service_request_id"]
            .as_str()
            .unwrap()
            .to_owned();
        let r = a.get_json(&format!("/open311/v2/requests/{id}.json")).await;
        let media = r[0]["media_url"].as_str().unwrap().to_owned();
        let file = media.rsplit('/').next().unwrap().to_owned();
        let sha = file.trim_end_matches(".jpg");

        // In the bucket, not on either node's disk; served by the other node.
        // (Read with the keys: moto, like S3, keeps an object private to its owner.)
        let reader = bucket.reader("khidmat-files");
        let stored = reader
            .get(&format!("photos/{}/{file}", &sha[..2]))
            .await
            .unwrap()
            .expect("the photo is in the bucket, under photos/");
        assert_eq!(
            reqwest::get(format!(
                "{}/khidmat-files/photos/{}/{file}",
                bucket.endpoint,
                &sha[..2]
            ))
            .await
            .unwrap()
            .status(),
            403,
            "not readable without the keys"
        );
        assert!(
            !a.data_dir.join("photos").exists(),
            "nothing on the node's disk"
        );
        let served = a
            .client
            .get(format!("{b_url}/photos/{file}"))
            .send()
            .await
            .unwrap();
        assert_eq!(served.status(), 200);
        assert_eq!(served.headers()["content-type"], "image/jpeg");
        assert_eq!(served.bytes().await.unwrap(), stored);
        let missing = a
            .client
            .get(format!("{b_url}/photos/{}.jpg", "0".repeat(64)))
            .send()
            .await
            .unwrap();
        assert_eq!(missing.status(), 404);

        // The bucket gone: a report with a photo is refused as a whole, nothing half-stored.
        let gone = bucket.endpoint.clone();
        drop(bucket);
        eventually(|| {
            let url = gone.clone();
            async move { reqwest::get(url).await.is_err().then_some(()) }
        })
        .await;
        let before = a.count("reports").await;
        let resp = drain_with_photo(&a, 64, 48).await;
        assert!(resp.status().is_server_error(), "{}", resp.status());
        assert_eq!(
            a.count("reports").await,
            before,
            "no report without its photo"
        );
    }
);

/// The bucket over https: the client checks the server's certificate against the machine's
/// authorities and `tls_ca_file`'s, and refuses one it cannot trust.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_bucket_over_https_trusts_the_configured_authority_and_no_other() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let exe = root.join("target/test-venv/bin/moto_server");
    assert!(exe.exists(), "run ./scripts/test.sh (it installs moto)");
    let dir = tempfile::tempdir().unwrap();
    let path = |n: &str| dir.path().join(n).display().to_string();
    // A department's own authority, and the server's certificate it signs.
    let openssl = |args: &[&str]| {
        let out = std::process::Command::new("openssl")
            .args(args)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    openssl(&[
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-days",
        "2",
        "-subj",
        "/CN=KP test authority",
        "-keyout",
        &path("ca.key"),
        "-out",
        &path("ca.pem"),
    ]);
    openssl(&[
        "req",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-subj",
        "/CN=127.0.0.1",
        "-keyout",
        &path("s3.key"),
        "-out",
        &path("s3.csr"),
    ]);
    std::fs::write(
        dir.path().join("san.ext"),
        "subjectAltName=IP:127.0.0.1,DNS:localhost\n",
    )
    .unwrap();
    openssl(&[
        "x509",
        "-req",
        "-in",
        &path("s3.csr"),
        "-CA",
        &path("ca.pem"),
        "-CAkey",
        &path("ca.key"),
        "-CAcreateserial",
        "-days",
        "2",
        "-extfile",
        &path("san.ext"),
        "-out",
        &path("s3.pem"),
    ]);
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let _server = tokio::process::Command::new(exe)
        .args([
            "-H",
            "127.0.0.1",
            "-p",
            &port.to_string(),
            "-c",
            &path("s3.pem"),
            "-k",
            &path("s3.key"),
        ])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let endpoint = format!("https://127.0.0.1:{port}");
    // The bucket is made as an operator would (moto takes unsigned requests).
    let ca = path("ca.pem");
    eventually(|| {
        let (url, ca) = (format!("{endpoint}/backups"), ca.clone());
        async move {
            let out = tokio::process::Command::new("curl")
                .args(["-sf", "--cacert", &ca, "-X", "PUT", &url])
                .output()
                .await
                .ok()?;
            out.status.success().then_some(())
        }
    })
    .await;
    let credentials = test_keys();
    let trusted = khidmat::platform::s3::Bucket::new(
        &endpoint,
        "backups",
        credentials.clone(),
        Some(dir.path().join("ca.pem").as_path()),
    )
    .unwrap();
    trusted
        .put("hello.txt", b"over https".to_vec(), "text/plain")
        .await
        .unwrap();
    assert_eq!(
        trusted.get("hello.txt").await.unwrap().as_deref(),
        Some(&b"over https"[..])
    );
    // Without the authority, the certificate is refused: nothing is sent in clear or to an
    // impostor.
    let untrusting =
        khidmat::platform::s3::Bucket::new(&endpoint, "backups", credentials, None).unwrap();
    let err = untrusting
        .put("hello.txt", b"x".to_vec(), "text/plain")
        .await
        .unwrap_err();
    assert!(
        format!("{err:#}").to_lowercase().contains("certificate"),
        "{err:#}"
    );
}

on_both!(
    scheduled_backups_are_copied_to_the_backup_bucket_with_the_same_retention,
    |backend| async move {
        let bucket = s3_bucket("khidmat-backups").await;
        let app = spawn(backend).await;
        let mut config = test_config(&app.data_dir, app.database_url.clone());
        config.backup_bucket = "khidmat-backups".into();
        config.s3_endpoint = bucket.endpoint.clone();
        config.s3_access_key = "khidmat".into();
        config.s3_secret_key = Some("a test secret".into());
        config.backup_keep = 2;
        let mut made = Vec::new();
        for _ in 0..3 {
            made.push(
                khidmat::platform::backup::scheduled(&app.db, &config)
                    .await
                    .unwrap(),
            );
        }
        let name = |p: &std::path::Path| p.file_name().unwrap().to_string_lossy().into_owned();
        let reader = bucket.reader("khidmat-backups");
        // The two kept here are in the bucket, byte for byte; the one pruned here is gone there.
        for kept in &made[1..] {
            let there = reader.get(&name(kept)).await.unwrap().expect("copied");
            assert_eq!(there, std::fs::read(kept).unwrap(), "{}", name(kept));
        }
        assert!(!made[0].exists());
        assert_eq!(reader.get(&name(&made[0])).await.unwrap(), None);

        // A bucket that cannot be reached fails the job, saying the local backup is kept.
        config.s3_endpoint = "http://127.0.0.1:9".into();
        let err = khidmat::platform::backup::scheduled(&app.db, &config)
            .await
            .unwrap_err();
        assert!(
            format!("{err:#}").contains("is kept here, but its copy to the bucket failed"),
            "{err:#}"
        );
    }
);
