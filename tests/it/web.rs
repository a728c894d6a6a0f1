//! The web pages over HTTP, on both stores: forms with their CSRF tokens and idempotency keys,
//! staff scoping, the inbox's filters, duplicates, the dashboard and the CSV export. (The same
//! pages in a real browser: `browser.rs`.)

use khidmat::platform::identity::Role;

use crate::both;
use crate::helpers::{browser, hidden, login, page, TestApp};

fn location(resp: &reqwest::Response) -> String {
    resp.headers()[reqwest::header::LOCATION]
        .to_str()
        .unwrap()
        .to_string()
}

async fn post_form(
    b: &reqwest::Client,
    app: &TestApp,
    path: &str,
    form: &[(&str, &str)],
) -> reqwest::Response {
    b.post(app.at(path)).form(form).send().await.unwrap()
}

async fn rich_status(app: &TestApp, id: &str) -> String {
    khidmat::reports::store::get(&app.db, id.parse().unwrap())
        .await
        .unwrap()
        .unwrap()
        .rich_status
}

both!(
    the_report_form_files_once_per_key_and_keeps_what_was_typed,
    |app| async move {
        let b = browser();
        let (status, html) = page(&b, &app, "/report/kunda").await;
        assert_eq!(status, 200);
        let csrf = hidden(&html, "csrf");
        let key = hidden(&html, "idempotency_key");
        let mut form = vec![
            ("csrf", csrf.as_str()),
            ("idempotency_key", key.as_str()),
            ("attribute[premises]", "shop"),
            ("attribute[method]", "hook"),
            ("description", "کنڈا بازار کے پیچھے"),
            ("district", "peshawar"),
            ("address_string", "Qissa Khwani"),
            ("phone", "12"),
        ];
        // A bad phone number: the form comes back, filled in, with the problem named.
        let resp = post_form(&b, &app, "/report/kunda", &form).await;
        assert_eq!(resp.status(), 422);
        let html = resp.text().await.unwrap();
        assert!(html.contains("کنڈا بازار کے پیچھے") && html.contains("Qissa Khwani"));
        assert!(html.contains(r#"value="shop" checked"#), "answers kept");
        assert!(
            html.contains("0300 1234567"),
            "the error says what a number looks like"
        );
        assert_eq!(app.count("reports").await, 0);

        form.pop();
        form.push(("phone", "0300 1234567"));
        let first = post_form(&b, &app, "/report/kunda", &form).await;
        assert_eq!(first.status(), 303);
        let again = post_form(&b, &app, "/report/kunda", &form).await;
        assert_eq!(location(&first), location(&again), "the same receipt");
        assert_eq!(app.count("reports").await, 1, "filed once");
        let (status, track) = page(&b, &app, &location(&first)).await;
        assert_eq!(status, 200);
        assert!(track.contains("<svg class=\"qr\"") && track.contains("STATUS"));

        // Without the browser's token, nothing is filed.
        let stranger = browser();
        let resp = post_form(&stranger, &app, "/report/kunda", &form).await;
        assert_eq!(resp.status(), 403);
        assert_eq!(app.count("reports").await, 1);
    }
);

both!(
    staff_pages_need_a_login_a_token_and_the_right_department,
    |app| async move {
        app.add_user("pesco@test.pk", Role::Officer, Some("pesco"), None)
            .await;
        app.add_user("wssp@test.pk", Role::Officer, Some("wssp"), None)
            .await;
        let id = app.kunda_at("34.0151", "71.5249").await;

        let anon = browser();
        let resp = anon.get(app.at("/staff/dashboard")).send().await.unwrap();
        assert_eq!(resp.status(), 303);
        assert_eq!(location(&resp), "/staff/login?next=%2Fstaff%2Fdashboard");

        let (pesco, csrf) = login(&app, "pesco@test.pk").await;
        let (_, inbox) = page(&pesco, &app, "/staff").await;
        assert!(inbox.contains(&format!("/staff/reports/{id}")));
        let path = format!("/staff/reports/{id}/status");
        let no_token = post_form(
            &pesco,
            &app,
            &path,
            &[("status", "fixed"), ("note", "done")],
        )
        .await;
        assert_eq!(no_token.status(), 403);
        let no_note = post_form(
            &pesco,
            &app,
            &path,
            &[("csrf", &csrf), ("status", "fixed"), ("note", " ")],
        )
        .await;
        assert_eq!(no_note.status(), 422);
        assert_eq!(rich_status(&app, &id).await, "open");
        let ok = post_form(
            &pesco,
            &app,
            &path,
            &[
                ("csrf", &csrf),
                ("status", "fixed"),
                ("note", "Hooks removed"),
            ],
        )
        .await;
        assert_eq!(ok.status(), 303);
        assert_eq!(rich_status(&app, &id).await, "fixed");

        let (wssp, wcsrf) = login(&app, "wssp@test.pk").await;
        assert_eq!(
            page(&wssp, &app, &format!("/staff/reports/{id}")).await.0,
            404
        );
        let resp = post_form(
            &wssp,
            &app,
            &path,
            &[("csrf", &wcsrf), ("status", "open"), ("note", "x")],
        )
        .await;
        assert_eq!(resp.status(), 404);
        assert_eq!(rich_status(&app, &id).await, "fixed");
        let (_, their_inbox) = page(&wssp, &app, "/staff").await;
        assert!(!their_inbox.contains(&format!("/staff/reports/{id}")));

        // Logging out ends the session.
        let out = post_form(&pesco, &app, "/staff/logout", &[("csrf", &csrf)]).await;
        assert_eq!(out.status(), 303);
        assert_eq!(
            pesco.get(app.at("/staff")).send().await.unwrap().status(),
            303
        );
    }
);

both!(the_inbox_filters_sorts_and_counts, |app| async move {
    app.add_user("pesco@test.pk", Role::Manager, Some("pesco"), None)
        .await;
    let peshawar = app.kunda_at("34.0151", "71.5249").await;
    let swat = app.kunda_at("34.7717", "72.3602").await;
    let wires = app
        .report(&[
            ("service_code", "dangerous-wires"),
            ("district", "peshawar"),
            ("attribute[hazard]", "fallen"),
        ])
        .await;
    let (b, _) = login(&app, "pesco@test.pk").await;
    let (_, all) = page(&b, &app, "/staff").await;
    assert!(all.contains("1–3 of 3"), "three reports");
    let (_, swat_only) = page(&b, &app, "/staff?district=swat").await;
    assert!(
        swat_only.contains("1–1 of 1") && swat_only.contains(&format!("/staff/reports/{swat}\""))
    );
    let (_, kunda) = page(&b, &app, "/staff?service=kunda&sort=oldest").await;
    let first = kunda.find(&format!("/staff/reports/{peshawar}\"")).unwrap();
    let second = kunda.find(&format!("/staff/reports/{swat}\"")).unwrap();
    assert!(first < second, "oldest first");
    assert!(!kunda.contains(&format!("/staff/reports/{wires}\"")));
    let (_, closed) = page(&b, &app, "/staff?status=closed").await;
    assert!(closed.contains("0–0 of 0"));
    let (status, _) = page(&b, &app, "/staff?status=sideways").await;
    assert_eq!(
        status, 400,
        "a filter that means nothing is refused, not ignored"
    );
    let (status, _) = page(&b, &app, "/staff?from=yesterday").await;
    assert_eq!(status, 400);
    // Dates in the filter are days in Pakistan (UTC+5).
    let today = (chrono::Utc::now() + chrono::Duration::hours(5))
        .format("%Y-%m-%d")
        .to_string();
    let (_, dated) = page(&b, &app, &format!("/staff?to={today}&from=2020-01-01")).await;
    assert!(dated.contains("of 3"));
});

both!(
    possible_duplicates_are_confirmed_or_dismissed,
    |app| async move {
        app.add_user("pesco@test.pk", Role::Officer, Some("pesco"), None)
            .await;
        let original = app.kunda_at("34.0151", "71.5249").await;
        let second = app.kunda_at("34.0152", "71.5249").await;
        let third = app.kunda_at("34.0151", "71.5250").await;
        let (b, csrf) = login(&app, "pesco@test.pk").await;
        let (_, html) = page(&b, &app, &format!("/staff/reports/{second}")).await;
        assert!(
            html.contains(&format!("/staff/reports/{original}\"")),
            "the possible original is shown"
        );

        let resp = post_form(
            &b,
            &app,
            &format!("/staff/reports/{second}/duplicate"),
            &[("csrf", &csrf), ("action", "dismiss")],
        )
        .await;
        assert_eq!(resp.status(), 303);
        let row = khidmat::reports::store::get(&app.db, second.parse().unwrap())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(row.possible_duplicate_of, None);
        assert_eq!(rich_status(&app, &second).await, "open");

        let resp = post_form(
            &b,
            &app,
            &format!("/staff/reports/{third}/duplicate"),
            &[("csrf", &csrf), ("action", "confirm")],
        )
        .await;
        assert_eq!(resp.status(), 303);
        assert_eq!(rich_status(&app, &third).await, "duplicate");
        let updates = khidmat::reports::store::updates_of(&app.db, third.parse().unwrap(), true)
            .await
            .unwrap();
        assert!(
            updates[0].note.contains(&original),
            "the citizen is told which report to follow"
        );
        assert_eq!(
            app.count("audit_log WHERE action = 'report.duplicate_dismissed'")
                .await,
            1
        );
    }
);

both!(
    the_dashboard_and_the_export_count_the_departments_reports,
    |app| async move {
        app.add_user("pesco@test.pk", Role::Manager, Some("pesco"), None)
            .await;
        let a = app.kunda_at("34.0151", "71.5249").await;
        app.kunda_at("34.7717", "72.3602").await;
        app.report(&[
            ("service_code", "kunda"),
            ("district", "swat"),
            ("attribute[premises]", "house"),
            ("attribute[method]", "hook"),
            ("description", "=HYPERLINK(\"http://evil\")"),
        ])
        .await;
        app.report(&[
            ("service_code", "water-leak"),
            ("district", "peshawar"),
            ("attribute[size]", "drip"),
        ])
        .await;
        let (b, csrf) = login(&app, "pesco@test.pk").await;
        let (_, before) = page(&b, &app, "/staff/dashboard").await;
        assert!(before.contains("none resolved yet"));
        post_form(
            &b,
            &app,
            &format!("/staff/reports/{a}/status"),
            &[("csrf", &csrf), ("status", "fixed"), ("note", "Removed")],
        )
        .await;
        let (status, dash) = page(&b, &app, "/staff/dashboard?weeks=4").await;
        assert_eq!(status, 200);
        assert!(
            dash.contains("<bdi>3</bdi></strong> reports"),
            "PESCO's three, not WSSP's"
        );
        assert!(dash.contains("<bdi>2</bdi></strong> still open"));
        assert!(dash.contains("(<bdi>1</bdi> resolved)"));
        assert!(dash.contains("<svg class=\"chart\""));

        let resp = b
            .get(app.at("/staff/export.csv?district=swat"))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200);
        let bytes = resp.bytes().await.unwrap();
        assert_eq!(&bytes[..3], b"\xEF\xBB\xBF");
        let text = std::str::from_utf8(&bytes[3..]).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 3, "a header and Swat's two reports: {text}");
        assert!(lines[0].starts_with("id,submitted,service"));
        assert!(
            text.contains("\"'=HYPERLINK(\"\"http://evil\"\")\""),
            "no formula: {text}"
        );
    }
);

both!(public_pages_show_public_services_only, |app| async move {
    let b = browser();
    let kunda = app.kunda_at("34.0151", "71.5249").await;
    let resp = app
        .post_report(&[
            ("service_code", "warden-complaint"),
            ("district", "peshawar"),
            ("attribute[road]", "city"),
            ("attribute[conduct]", "bribe"),
            ("description", "Warden asked for money"),
        ])
        .await;
    let body: serde_json::Value = resp.json().await.unwrap();
    let private = body[0]["service_request_id"].as_str().unwrap().to_string();
    let token = body[0]["token"].as_str().unwrap().to_string();

    let (_, list) = page(&b, &app, "/reports?status=all").await;
    assert!(list.contains(&format!("/reports/{kunda}\"")));
    assert!(!list.contains(&format!("/reports/{private}\"")));
    assert_eq!(page(&b, &app, &format!("/reports/{private}")).await.0, 404);
    assert_eq!(page(&b, &app, &format!("/reports/{kunda}")).await.0, 200);
    let (status, track) = page(&b, &app, &format!("/track/{token}")).await;
    assert_eq!(status, 200, "the reporter still tracks it");
    assert!(track.contains("Warden asked for money"));
    let (_, map) = page(&b, &app, "/reports/map?status=all").await;
    assert!(map.contains("1 reports with a location") && map.contains("<circle"));
    assert_eq!(page(&b, &app, "/track/nonsense").await.0, 404);
});

#[tokio::test]
async fn the_language_switch_remembers_and_only_goes_home() {
    let app = crate::helpers::spawn(crate::helpers::Backend::Sqlite).await;
    let b = browser();
    let resp = b
        .get(app.at("/lang/ur?next=//evil.example"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 303);
    assert_eq!(location(&resp), "/");
    assert!(resp.headers()[reqwest::header::SET_COOKIE]
        .to_str()
        .unwrap()
        .starts_with("lang=ur;"));
    let (_, home) = page(&b, &app, "/").await;
    assert!(home.contains(r#"<html lang="ur" dir="rtl">"#));
    let (_, en) = page(&b, &app, "/?locale=en").await;
    assert!(en.contains(r#"<html lang="en" dir="ltr">"#));
}

both!(
    phone_numbers_are_masked_until_a_staff_member_asks_and_the_asking_is_recorded,
    |app| async move {
        app.add_user("pesco@test.pk", Role::Officer, Some("pesco"), None)
            .await;
        let key = app.department_key("pesco").await;
        let id = app
            .report(&[
                ("service_code", "kunda"),
                ("district", "peshawar"),
                ("attribute[premises]", "shop"),
                ("attribute[method]", "hook"),
                ("phone", "0300 1234567"),
            ])
            .await;
        let (b, csrf) = login(&app, "pesco@test.pk").await;
        let (_, html) = page(&b, &app, &format!("/staff/reports/{id}")).await;
        assert!(html.contains("+92 3** *** **67") && !html.contains("+923001234567"));
        let csv = b
            .get(app.at("/staff/export.csv"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(
            csv.contains("+92 3** *** **67") && !csv.contains("1234567"),
            "{csv}"
        );
        let api = app.staff_json(&format!("/api/v1/reports/{id}"), &key).await;
        assert_eq!(api["contact"]["phone"], "+92 3** *** **67");

        let shown = post_form(
            &b,
            &app,
            &format!("/staff/reports/{id}/contact"),
            &[("csrf", &csrf)],
        )
        .await;
        assert_eq!(shown.status(), 200);
        assert!(shown.text().await.unwrap().contains("tel:+923001234567"));
        let revealed: serde_json::Value = app
            .staff_post(
                &format!("/api/v1/reports/{id}/contact"),
                &key,
                &serde_json::json!({}),
            )
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(revealed["phone"], "+923001234567");
        assert_eq!(
            app.count("audit_log WHERE action = 'report.contact_revealed'")
                .await,
            2
        );
        let no_token = post_form(&b, &app, &format!("/staff/reports/{id}/contact"), &[]).await;
        assert_eq!(no_token.status(), 403);
    }
);

both!(
    managers_publish_a_csv_from_the_staff_pages,
    |app| async move {
        app.add_user("pesco@test.pk", Role::Manager, Some("pesco"), None)
            .await;
        app.add_user("wssp@test.pk", Role::Manager, Some("wssp"), None)
            .await;
        app.add_user("officer@test.pk", Role::Officer, Some("pesco"), None)
            .await;
        let (officer, _) = login(&app, "officer@test.pk").await;
        assert_eq!(page(&officer, &app, "/staff/data").await.0, 403);

        let (b, _) = login(&app, "pesco@test.pk").await;
        let (s, html) = page(&b, &app, "/staff/data").await;
        assert_eq!(s, 200);
        assert!(html.contains(r#"enctype="multipart/form-data""#));
        let csrf = hidden(&html, "csrf");
        let send = |b: &reqwest::Client, csrf: &str, name: &str, csv: &'static str| {
            let form = reqwest::multipart::Form::new()
                .text("csrf", csrf.to_owned())
                .text("name", name.to_owned())
                .text("title", "Meters checked")
                .text("department", "pesco")
                .text("index", "district")
                .part(
                    "file",
                    reqwest::multipart::Part::bytes(csv.as_bytes())
                        .file_name("checks.csv")
                        .mime_str("text/csv")
                        .unwrap(),
                );
            b.post(app.at("/staff/data")).multipart(form).send()
        };

        // A ragged row: nothing published, the page says which line.
        let r = send(
            &b,
            &csrf,
            "meter-checks",
            "district,checked\npeshawar,12\nswat\n",
        )
        .await
        .unwrap();
        assert_eq!(r.status(), 422);
        let body = r.text().await.unwrap();
        assert!(body.contains("line 3"), "{body}");
        assert!(
            body.contains(r#"value="meter-checks""#),
            "the form keeps what was typed"
        );
        assert_eq!(app.count("od_datasets").await, 0);
        // No token: refused.
        let r = send(
            &b,
            "forged",
            "meter-checks",
            "district,checked\npeshawar,12\n",
        )
        .await
        .unwrap();
        assert_eq!(r.status(), 403);

        let r = send(
            &b,
            &csrf,
            "meter-checks",
            "district,checked\npeshawar,12\nswat,3\n",
        )
        .await
        .unwrap();
        assert_eq!(r.status(), 303);
        assert_eq!(location(&r), "/data/meter-checks");
        let (_, shown) = page(&b, &app, "/data/meter-checks").await;
        assert!(shown.contains("Meters checked"));
        let audited: i64 = app
        .db
        .scalar(khidmat::platform::db::query(
            "SELECT COUNT(*) FROM audit_log WHERE action = 'resource.create' AND actor LIKE 'user:%'",
        ))
        .await
        .unwrap();
        assert_eq!(audited, 1);

        // Another department cannot add to it.
        let (w, _) = login(&app, "wssp@test.pk").await;
        let (_, html) = page(&w, &app, "/staff/data").await;
        let r = send(
            &w,
            &hidden(&html, "csrf"),
            "meter-checks",
            "district,checked\nswat,1\n",
        )
        .await
        .unwrap();
        assert_eq!(r.status(), 422);
        assert_eq!(app.count("od_resources").await, 1);
    }
);

both!(
    every_citizen_service_is_reachable_from_the_home_page,
    |app| async move {
        let b = browser();
        for lang in ["en", "ur", "ps"] {
            let (status, home) = page(&b, &app, &format!("/?locale={lang}")).await;
            assert_eq!(status, 200);
            for path in [
                "/report/kunda",
                "/places",
                "/benefits",
                "/registers",
                "/theory",
                "/campaigns",
                "/reports",
                "/reports/map",
                "/alerts",
                "/impact",
                "/data",
            ] {
                assert!(
                    home.contains(&format!("href=\"{path}\"")),
                    "{lang}: no link to {path}"
                );
                let (status, _) = page(&b, &app, path).await;
                assert_eq!(status, 200, "{path}");
            }
        }
        // The app's files: the manifest in each language, the icons, the favicon, the worker and
        // the offline page.
        for lang in ["en", "ur", "ps"] {
            let m = app.get_json(&format!("/manifest/{lang}.webmanifest")).await;
            assert_eq!(m["lang"], lang);
            assert_eq!(m["start_url"], format!("/?locale={lang}"));
            for icon in m["icons"].as_array().unwrap() {
                let r = app.get(icon["src"].as_str().unwrap()).await;
                assert_eq!(r.status(), 200);
                assert_eq!(r.headers()["content-type"], "image/png");
            }
            let (status, offline) = page(&b, &app, &format!("/offline?locale={lang}")).await;
            assert_eq!(status, 200);
            assert!(offline.contains(&format!("lang=\"{lang}\"")));
        }
        assert_eq!(app.get("/manifest/fr.webmanifest").await.status(), 404);
        assert_eq!(app.get("/favicon.ico").await.status(), 200);
        let sw = app.get("/sw.js").await;
        assert_eq!(sw.headers()["cache-control"], "no-cache");
        assert!(sw.text().await.unwrap().contains("/offline?locale=ur"));
    }
);
