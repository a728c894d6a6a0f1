//! The web pages in a real browser: starts the server (SQLite), two departments' officers and
//! a photo, then runs `tests/browser/flows.test.mjs` (node, playwright-core, Debian Chromium,
//! axe-core); and department administration (`tests/browser/admin.test.mjs`) on SQLite and on
//! PostgreSQL. Screenshots, the exported CSV and the page-budget figures land in
//! `target/browser/`. `scripts/test.sh` installs Chromium and the npm packages.

use std::process::Command;

use khidmat::platform::identity::Role;

use crate::helpers::{spawn_with, Backend};
use crate::on_both;

/// Run one of `tests/browser`'s files with node, with `env`; its output is the test's.
async fn node(file: &'static str, env: Vec<(&'static str, String)>) {
    let root = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let tests = root.join("tests/browser");
    assert!(
        tests.join("node_modules/playwright-core").exists(),
        "run ./scripts/test.sh (it installs the browser tests' npm packages and Chromium)"
    );
    let out = root.join("target/browser");
    std::fs::create_dir_all(&out).unwrap();
    let output = tokio::task::spawn_blocking(move || {
        Command::new("node")
            .args(["--test", "--test-concurrency=1", file])
            .current_dir(&tests)
            .env("OUT", out)
            .envs(env)
            .output()
            .expect("node runs (see scripts/test.sh)")
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    println!("{stdout}");
    eprintln!("{}", String::from_utf8_lossy(&output.stderr));
    assert!(output.status.success(), "browser tests failed:\n{stdout}");
}

on_both!(administration_in_a_real_browser, |backend| async move {
    let mail = tempfile::tempdir().unwrap();
    let mailbox = mail.path().join("mailbox");
    // The machine's mail transfer agent, as far as the server knows: each message appended to
    // a file the browser test reads, as a mail reader would.
    let sendmail = mail.path().join("sendmail");
    std::fs::write(
        &sendmail,
        format!(
            "#!/bin/sh\ncat >> {0}\nprintf '\\n--- end of message ---\\n' >> {0}\n",
            mailbox.display()
        ),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&sendmail, std::fs::Permissions::from_mode(0o755)).unwrap();
    let command = sendmail.display().to_string();
    let app = spawn_with(backend, move |c| {
        c.mail_gateway = "sendmail".into();
        c.mail_sendmail_command = command;
    })
    .await;
    app.add_user("root@khidmat.test", Role::Admin, None, None)
        .await;
    app.add_user("manager@wssp.test", Role::Manager, Some("wssp"), None)
        .await;
    app.add_user("officer@wssp.test", Role::Officer, Some("wssp"), None)
        .await;
    node(
        "admin.test.mjs",
        vec![
            ("KHIDMAT_URL", app.url.clone()),
            ("ROOT_EMAIL", "root@khidmat.test".into()),
            ("WSSP_MANAGER_EMAIL", "manager@wssp.test".into()),
            ("STAFF_PASSWORD", "a long enough password".into()),
            ("MAILBOX", mailbox.display().to_string()),
            ("BACKEND", format!("{backend:?}").to_lowercase()),
        ],
    )
    .await;
});

fn photo(path: &std::path::Path) {
    // A camera-sized picture, so the browser has something to scale down.
    let img = image::RgbImage::from_fn(2400, 1800, |x, y| {
        image::Rgb([(x % 256) as u8, (y % 256) as u8, ((x + y) % 256) as u8])
    });
    img.save(path).unwrap();
}

const GRANT_PACK: &str = r#"
[pack]
name = "browser-grant"
version = 1

[[benefits.fund]]
code = "browser-grant"
department = "minority-affairs"
name = { en = "Educational grant", ur = "تعلیمی گرانٹ", ps = "تعلیمي مرسته" }
category = "educational"
financial_year = "2026-27"
budget = 10_000_000
opens_on = "2020-01-01"
closes_on = "2099-12-31"
entitlement = { rule = "fixed", amount = 2_500_000 }
selection = { method = "ballot" }
eligibility = { answers = { religion = ["christian", "hindu", "sikh"] }, max_monthly_income = 5_000_000 }

[[benefits.fund.document]]
code = "enrolment"
name = { en = "Proof of enrolment", ur = "داخلے کا ثبوت", ps = "د شمولیت ثبوت" }
required = true

[[benefits.fund.document]]
code = "fee"
name = { en = "Fee receipt", ur = "فیس کی رسید", ps = "د فیس رسید" }
required = false

[[benefits.fund.question]]
code = "institution"
datatype = "string"
required = true
description = { en = "School or college", ur = "اسکول یا کالج", ps = "ښوونځی یا کالج" }

[[benefits.fund.question]]
code = "religion"
datatype = "singlevaluelist"
description = { en = "Religion", ur = "مذہب", ps = "مذهب" }
values = [
  { key = "muslim", name = { en = "Muslim", ur = "مسلمان", ps = "مسلمان" } },
  { key = "christian", name = { en = "Christian", ur = "مسیحی", ps = "مسیحي" } },
  { key = "hindu", name = { en = "Hindu", ur = "ہندو", ps = "هندو" } },
  { key = "sikh", name = { en = "Sikh", ur = "سکھ", ps = "سک" } },
]
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_work_in_a_real_browser() {
    let app = spawn_with(Backend::Sqlite, |c| {
        // Nothing listens on port 9: the maps must show their points without tiles.
        c.map_tile_url = "http://127.0.0.1:9/{z}/{x}/{y}.png".into();
        c.channel_secret = Some("browser-gateway-secret".into());
    })
    .await;
    app.add_user("officer@pesco.test", Role::Officer, Some("pesco"), None)
        .await;
    app.add_user("officer@wssp.test", Role::Officer, Some("wssp"), None)
        .await;
    app.add_user("manager@wssp.test", Role::Manager, Some("wssp"), None)
        .await;
    app.add_user("root@khidmat.test", Role::Admin, None, None)
        .await;
    let key = app.department_key("pesco").await;
    // A grant whose window stays open whatever the day the suite runs.
    khidmat::packs::load(&app.db, GRANT_PACK, "test")
        .await
        .unwrap();
    // A fellowship call open whatever the day the suite runs.
    let today = khidmat::platform::clock::today();
    app.db
        .execute(
            khidmat::platform::db::query(
                "INSERT INTO prog_cycles (code, title, opens_on, closes_on, starts_on, ends_on, rubric, created_at) \
                 VALUES ('browser-cycle', 'Fellowship 2027', $1, $2, $2, $3, '[]', $4)",
            )
            .bind((today - chrono::Duration::days(1)).to_string())
            .bind((today + chrono::Duration::days(30)).to_string())
            .bind((today + chrono::Duration::days(300)).to_string())
            .bind(chrono::Utc::now()),
        )
        .await
        .unwrap();
    // "Is it fixed?" asked as soon as a report is marked fixed, not four weeks later.
    app.db
        .execute(khidmat::platform::db::query(
            "UPDATE report_services SET ask_fixed_after_hours = 0 WHERE code = 'kunda'",
        ))
        .await
        .unwrap();
    // Open data to look at: the platform's own published figures.
    khidmat::opendata::publish::run(&app.db, "kp-itb")
        .await
        .unwrap();
    let jpeg = app.data_dir.join("camera.jpg");
    photo(&jpeg);
    node(
        "flows.test.mjs",
        vec![
            ("KHIDMAT_URL", app.url.clone()),
            ("PESCO_EMAIL", "officer@pesco.test".into()),
            ("WSSP_EMAIL", "officer@wssp.test".into()),
            ("WSSP_MANAGER_EMAIL", "manager@wssp.test".into()),
            ("ROOT_EMAIL", "root@khidmat.test".into()),
            ("GATEWAY_SECRET", "browser-gateway-secret".into()),
            ("STAFF_PASSWORD", "a long enough password".into()),
            ("PESCO_KEY", key),
            ("PHOTO", jpeg.display().to_string()),
        ],
    )
    .await;
}
