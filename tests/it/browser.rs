//! The web pages in a real browser: starts the server (SQLite), two departments' officers and
//! a photo, then runs `tests/browser/flows.test.mjs` (node, playwright-core, Debian Chromium,
//! axe-core). Screenshots, the exported CSV and the page-budget figures land in
//! `target/browser/`. `scripts/test.sh` installs Chromium and the npm packages.

use std::process::Command;

use khidmat::platform::identity::Role;

use crate::helpers::{spawn_with, Backend};

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
eligibility = { religions = ["christian", "hindu", "sikh"], max_monthly_income = 5_000_000 }

[[benefits.fund.document]]
code = "enrolment"
name = { en = "Proof of enrolment", ur = "داخلے کا ثبوت", ps = "د شمولیت ثبوت" }
required = true

[[benefits.fund.question]]
code = "institution"
datatype = "string"
required = true
description = { en = "School or college", ur = "اسکول یا کالج", ps = "ښوونځی یا کالج" }
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_work_in_a_real_browser() {
    let root = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let tests = root.join("tests/browser");
    assert!(
        tests.join("node_modules/playwright-core").exists(),
        "run ./scripts/test.sh (it installs the browser tests' npm packages and Chromium)"
    );
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
    let key = app.department_key("pesco").await;
    // A grant whose window stays open whatever the day the suite runs.
    khidmat::packs::load(&app.db, GRANT_PACK, "test")
        .await
        .unwrap();
    // A fellowship call open whatever the day the suite runs.
    let today = khidmat::programme::today();
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
    // Open data to look at: the platform's own published figures.
    khidmat::opendata::publish::run(&app.db).await.unwrap();
    let out = root.join("target/browser");
    std::fs::create_dir_all(&out).unwrap();
    let jpeg = app.data_dir.join("camera.jpg");
    photo(&jpeg);

    let url = app.url.clone();
    let output = tokio::task::spawn_blocking(move || {
        Command::new("node")
            .args(["--test", "--test-concurrency=1", "flows.test.mjs"])
            .current_dir(&tests)
            .env("KHIDMAT_URL", url)
            .env("PESCO_EMAIL", "officer@pesco.test")
            .env("WSSP_EMAIL", "officer@wssp.test")
            .env("WSSP_MANAGER_EMAIL", "manager@wssp.test")
            .env("GATEWAY_SECRET", "browser-gateway-secret")
            .env("STAFF_PASSWORD", "a long enough password")
            .env("PESCO_KEY", key)
            .env("PHOTO", jpeg)
            .env("OUT", out)
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
