//! The staff API: scoped to one's department (and district), updates that citizens see,
//! assignment, sessions.

use crate::both;
use crate::helpers::*;
use khidmat::platform::identity::Role;
use serde_json::{json, Value};

both!(
    department_keys_see_only_their_own_reports,
    |app| async move {
        let kunda = app.kunda_at("34.0151", "71.5249").await;
        let jam = app
            .report(&[
                ("service_code", "traffic-jam"),
                ("lat", "34.02"),
                ("long", "71.56"),
                ("attribute[severity]", "busy"),
            ])
            .await;
        let pesco = app.department_key("pesco").await;
        let traffic = app.department_key("kp-traffic-police").await;

        let list: Value = app.staff_json("/api/v1/reports", &pesco).await;
        let ids: Vec<&str> = list["reports"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["service_request_id"].as_str().unwrap())
            .collect();
        assert_eq!(ids, vec![kunda.as_str()]);
        // Staff see contact details that the public never does.
        let r = &list["reports"][0];
        assert_eq!(r["attributes"]["premises"], "shop");
        assert_eq!(r["district"], "peshawar");

        // Another department's report: 404, never its contents.
        let resp = app
            .staff_get(&format!("/api/v1/reports/{kunda}"), &traffic)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 404);
        let body = resp.text().await.unwrap();
        assert!(!body.contains("Hooks on the line"), "{body}");
        let resp = app
            .staff_post(
                &format!("/api/v1/reports/{kunda}/updates"),
                &traffic,
                &json!({"status": "fixed", "note": "done"}),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 404);
        let resp = app
            .staff_get(&format!("/api/v1/reports/{jam}"), &traffic)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200);

        // No credentials, a client key, a made-up key.
        assert_eq!(app.get("/api/v1/reports").await.status(), 401);
        assert_eq!(
            app.staff_status("/api/v1/reports", &app.client_key).await,
            403
        );
        assert_eq!(
            app.staff_status("/api/v1/reports", "kh_nonsense").await,
            401
        );
    }
);

both!(
    status_updates_reach_the_public_record_and_the_updates_feed,
    |app| async move {
        let id = app.kunda_at("34.0151", "71.5249").await;
        let key = app.department_key("pesco").await;
        let post = |status: &str, note: &str| {
            app.staff_post(
                &format!("/api/v1/reports/{id}/updates"),
                &key,
                &json!({"status": status, "note": note}),
            )
            .send()
        };

        let resp = post("investigating", "Line team visiting on Tuesday")
            .await
            .unwrap();
        assert_eq!(resp.status(), 201);
        let public = app
            .get_json(&format!("/open311/v2/requests/{id}.json"))
            .await;
        assert_eq!(public[0]["status"], "open");
        assert_eq!(public[0]["status_notes"], "Line team visiting on Tuesday");

        assert_eq!(
            post("fixed", "Hook removed and FIR lodged")
                .await
                .unwrap()
                .status(),
            201
        );
        let public = app
            .get_json(&format!("/open311/v2/requests/{id}.json"))
            .await;
        assert_valid("requests.json", &public);
        assert_eq!(public[0]["status"], "closed");
        assert_eq!(
            app.get_json("/open311/v2/requests.json?status=closed")
                .await
                .as_array()
                .unwrap()
                .len(),
            1
        );

        let updates = app.get_json("/open311/v2/servicerequestupdates.json").await;
        let list = updates.as_array().unwrap();
        assert_eq!(list.len(), 2);
        assert_eq!(list[0]["status"], "investigating");
        assert_eq!(list[1]["status"], "fixed");
        assert_eq!(list[1]["description"], "Hook removed and FIR lodged");
        assert_eq!(list[1]["service_request_id"], id.as_str());
        assert!(list[1]["updated_datetime"].as_str().unwrap().ends_with('Z'));
        let xml = app
            .get("/open311/v2/servicerequestupdates.xml")
            .await
            .text()
            .await
            .unwrap();
        assert!(
            xml.contains("<service_request_updates><request_update>"),
            "{xml}"
        );
        let none = app
            .get_json(
                "/open311/v2/servicerequestupdates.json?start_date=2020-01-01&end_date=2020-01-02",
            )
            .await;
        assert_eq!(none, json!([]));

        let detail: Value = app.staff_json(&format!("/api/v1/reports/{id}"), &key).await;
        assert_eq!(detail["rich_status"], "fixed");
        assert_eq!(detail["updates"].as_array().unwrap().len(), 2);
        assert!(detail["updates"][0]["author"]
            .as_str()
            .unwrap()
            .starts_with("key:"));

        // Every update is in the audit log.
        let history = khidmat::platform::audit::history(&app.db, "report", &id)
            .await
            .unwrap();
        assert_eq!(
            history
                .iter()
                .filter(|e| e.action == "report.update")
                .count(),
            2
        );

        // Bad updates: a reason, and nothing changes.
        for (body, mentions) in [
            (json!({"status": "sorted", "note": "x"}), "not one of"),
            (json!({"status": "fixed", "note": "   "}), "note"),
            (json!({"status": "fixed"}), "note"),
            (
                json!({"status": "fixed", "note": "x", "duplicate_of": "1"}),
                "duplicate",
            ),
            (
                json!({"status": "duplicate", "note": "x", "duplicate_of": id}),
                "itself",
            ),
        ] {
            let resp = app
                .staff_post(&format!("/api/v1/reports/{id}/updates"), &key, &body)
                .send()
                .await
                .unwrap();
            assert!(
                resp.status() == 400 || resp.status() == 422,
                "{body}: {}",
                resp.status()
            );
            let text = resp.text().await.unwrap();
            assert!(text.contains(mentions), "{body}: {text}");
        }
        let resp = app
            .client
            .post(app.at(&format!("/api/v1/reports/{id}/updates")))
            .bearer_auth(&key)
            .body("status=fixed")
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 415);
        assert_eq!(
            app.get_json("/open311/v2/servicerequestupdates.json")
                .await
                .as_array()
                .unwrap()
                .len(),
            2
        );
    }
);

both!(duplicates_can_be_confirmed_by_staff, |app| async move {
    let first = app.kunda_at("34.0", "71.5").await;
    let second = app.kunda_at("34.0001", "71.5").await;
    let key = app.department_key("pesco").await;
    let resp = app
        .staff_post(&format!("/api/v1/reports/{second}/updates"), &key, &json!({"status": "duplicate", "note": "Same hook as the earlier report", "duplicate_of": first}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 201);
    let r: Value = app
        .staff_json(&format!("/api/v1/reports/{second}"), &key)
        .await;
    assert_eq!(r["possible_duplicate_of"], first.as_str());
    assert_eq!(r["status"], "closed");
});

both!(
    officers_are_scoped_to_their_district_and_log_in_with_a_password,
    |app| async move {
        let peshawar = app.kunda_at("34.0151", "71.5249").await;
        let swat = app.kunda_at("34.7467", "72.3566").await;
        let officer = app
            .add_user(
                "officer@pesco.example.pk",
                Role::Officer,
                Some("pesco"),
                Some("swat"),
            )
            .await;
        app.add_user(
            "manager@pesco.example.pk",
            Role::Manager,
            Some("pesco"),
            None,
        )
        .await;

        let client = reqwest::Client::builder()
            .cookie_store(true)
            .build()
            .unwrap();
        let bad = client
            .post(app.at("/api/v1/login"))
            .json(&json!({"email": "officer@pesco.example.pk", "password": "wrong"}))
            .send()
            .await
            .unwrap();
        assert_eq!(bad.status(), 401);
        let unknown = client
            .post(app.at("/api/v1/login"))
            .json(&json!({"email": "nobody@x.pk", "password": "a long enough password"}))
            .send()
            .await
            .unwrap();
        assert_eq!(unknown.status(), 401);
        let ok = client
            .post(app.at("/api/v1/login"))
            .json(
                &json!({"email": "Officer@pesco.example.pk", "password": "a long enough password"}),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(ok.status(), 200);
        let cookie = ok.headers()["set-cookie"].to_str().unwrap().to_string();
        assert!(
            cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"),
            "{cookie}"
        );

        let list: Value = client
            .get(app.at("/api/v1/reports"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let ids: Vec<&str> = list["reports"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["service_request_id"].as_str().unwrap())
            .collect();
        assert_eq!(ids, vec![swat.as_str()]);
        assert_eq!(
            client
                .get(app.at(&format!("/api/v1/reports/{peshawar}")))
                .send()
                .await
                .unwrap()
                .status(),
            404
        );
        let resp = client
            .post(app.at(&format!("/api/v1/reports/{swat}/updates")))
            .json(&json!({"status": "in_progress", "note": "On site"}))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 201);
        let detail: Value = client
            .get(app.at(&format!("/api/v1/reports/{swat}")))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(detail["updates"][0]["author"], format!("user:{officer}"));

        // Assignment: to the Swat officer yes; the Peshawar report cannot go to a Swat officer.
        let key = app.department_key("pesco").await;
        let resp = app
            .staff_post(
                &format!("/api/v1/reports/{swat}/assignment"),
                &key,
                &json!({"user_id": officer}),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200);
        let mine: Value = client
            .get(app.at(&format!("/api/v1/reports?assigned_to={officer}")))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(mine["reports"].as_array().unwrap().len(), 1);
        let resp = app
            .staff_post(
                &format!("/api/v1/reports/{peshawar}/assignment"),
                &key,
                &json!({"user_id": officer}),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 400);
        let resp = app
            .staff_post(
                &format!("/api/v1/reports/{swat}/assignment"),
                &key,
                &json!({"user_id": null}),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200);

        // An expired session is refused, and swept away at the next login.
        app.db
            .execute(
                khidmat::platform::db::query("UPDATE sessions SET expires_at = $1")
                    .bind(chrono::Utc::now() - chrono::Duration::minutes(1)),
            )
            .await
            .unwrap();
        assert_eq!(
            client
                .get(app.at("/api/v1/reports"))
                .send()
                .await
                .unwrap()
                .status(),
            401
        );
        let again = client
            .post(app.at("/api/v1/login"))
            .json(
                &json!({"email": "officer@pesco.example.pk", "password": "a long enough password"}),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(again.status(), 200);
        assert_eq!(app.count("sessions").await, 1);
        assert_eq!(
            client
                .get(app.at("/api/v1/reports"))
                .send()
                .await
                .unwrap()
                .status(),
            200
        );

        let out = client.post(app.at("/api/v1/logout")).send().await.unwrap();
        assert_eq!(out.status(), 204);
        assert_eq!(
            client
                .get(app.at("/api/v1/reports"))
                .send()
                .await
                .unwrap()
                .status(),
            401
        );

        // Filters.
        let all: Value = app
            .staff_json("/api/v1/reports?district=peshawar&status=open", &key)
            .await;
        assert_eq!(all["reports"].as_array().unwrap().len(), 1);
        assert_eq!(
            app.staff_status("/api/v1/reports?status=pending", &key)
                .await,
            400
        );
        assert_eq!(
            app.staff_status("/api/v1/reports?page_size=0", &key).await,
            400
        );
        assert_eq!(
            app.staff_status("/api/v1/reports?assigned_to=x", &key)
                .await,
            400
        );
    }
);

both!(
    the_staff_navigation_offers_only_what_the_member_may_open,
    |app| async move {
        app.add_user("admin@kp.gov.pk", Role::Admin, None, None)
            .await;
        app.add_user("manager@pesco.gov.pk", Role::Manager, Some("pesco"), None)
            .await;
        app.add_user(
            "officer@pesco.gov.pk",
            Role::Officer,
            Some("pesco"),
            Some("peshawar"),
        )
        .await;
        // The programme and campaigns are run by kp-itb (the configuration's default).
        app.add_user("officer@kpitb.gov.pk", Role::Officer, Some("kp-itb"), None)
            .await;
        let nav_links = |html: &str| -> Vec<String> {
            let start = html
                .find("<nav class=\"staffnav\"")
                .expect("a staff navigation");
            let nav = &html[start..start + html[start..].find("</nav>").unwrap()];
            nav.split("href=\"")
                .skip(1)
                .map(|s| s[..s.find('"').unwrap()].to_owned())
                .collect()
        };
        let every = [
            "/staff",
            "/staff/dashboard",
            "/staff/directory",
            "/staff/benefits",
            "/staff/cases",
        ];
        for (email, more) in [
            (
                "admin@kp.gov.pk",
                &[
                    "/staff/programme",
                    "/staff/campaigns",
                    "/staff/admin",
                    "/staff/data",
                    "/staff/messages",
                ][..],
            ),
            ("manager@pesco.gov.pk", &["/staff/admin", "/staff/data"][..]),
            ("officer@pesco.gov.pk", &[][..]),
            (
                "officer@kpitb.gov.pk",
                &["/staff/programme", "/staff/campaigns"][..],
            ),
        ] {
            let (b, _) = login(&app, email).await;
            let (_, html) = page(&b, &app, "/staff").await;
            let links = nav_links(&html);
            let want: Vec<String> = every.iter().chain(more).map(|s| s.to_string()).collect();
            assert_eq!(links, want, "{email}");
            // Every link the member is offered opens.
            for link in &links {
                let (status, body) = page(&b, &app, link).await;
                assert_eq!(status, 200, "{email} {link}: {body}");
            }
            // And a section not offered is indeed closed to them: the link was not hiding a page.
            for closed in [
                "/staff/programme",
                "/staff/admin",
                "/staff/data",
                "/staff/messages",
            ] {
                if !links.iter().any(|l| l == closed) {
                    let (status, _) = page(&b, &app, closed).await;
                    assert!(
                        matches!(status, 403 | 404),
                        "{email} {closed} answers {status}"
                    );
                }
            }
            // An officer is not told to run a server command.
            if email.starts_with("officer@pesco") {
                let (_, cases) = page(&b, &app, "/staff/cases").await;
                assert!(!cases.contains("khidmat user grant"), "{cases}");
            }
        }
    }
);

both!(
    an_officer_finds_a_report_by_reference_phone_or_words_and_sees_what_is_overdue,
    |app| async move {
        use khidmat::platform::db::query;
        app.add_user("officer@pesco.gov.pk", Role::Officer, Some("pesco"), None)
            .await;
        let mut ids = Vec::new();
        for (description, phone) in [
            ("Hooks on the line behind the market", "0300 1234567"),
            ("Meter bypassed at the 100% cotton mill", "0311 7654321"),
            ("Wires touching the roof of the school", "0345 1112223"),
        ] {
            ids.push(
                app.report(&[
                    ("service_code", "kunda"),
                    ("lat", "34.0151"),
                    ("long", "71.5249"),
                    ("attribute[premises]", "shop"),
                    ("attribute[method]", "hook"),
                    ("description", description),
                    ("phone", phone),
                ])
                .await,
            );
        }
        // Another department's report, with the same words and number: never found.
        let traffic = app
            .report(&[
                ("service_code", "traffic-jam"),
                ("lat", "34.02"),
                ("long", "71.56"),
                ("attribute[severity]", "busy"),
                ("description", "Jam behind the market"),
                ("phone", "0300 1234567"),
            ])
            .await;
        let (b, _) = login(&app, "officer@pesco.gov.pk").await;
        let found = |html: &str| -> Vec<String> {
            html.split("<a href=\"/staff/reports/")
                .skip(1)
                .map(|s| s[..s.find('"').unwrap()].to_owned())
                .collect()
        };
        let search = |q: &str| {
            format!(
                "/staff?{}",
                serde_urlencoded::to_string([("q", q)]).unwrap()
            )
        };
        for (q, want) in [
            (ids[1].clone(), vec![ids[1].clone()]),
            (format!("#{}", ids[2]), vec![ids[2].clone()]),
            // The phone number as people write it, and on an Urdu keyboard.
            ("+92 300 1234567".into(), vec![ids[0].clone()]),
            ("۰۳۰۰۱۲۳۴۵۶۷".into(), vec![ids[0].clone()]),
            // Words, in any case and order, within the department.
            ("MARKET hooks".into(), vec![ids[0].clone()]),
            // A wildcard typed is a character, not "anything".
            ("100%".into(), vec![ids[1].clone()]),
            ("%".into(), vec![ids[1].clone()]),
            ("_".into(), vec![]),
            (traffic.clone(), vec![]),
        ] {
            let (status, html) = page(&b, &app, &search(&q)).await;
            assert_eq!(status, 200, "{q}: {html}");
            assert_eq!(found(&html), want, "{q}");
            assert!(html.contains("role=\"search\""));
        }
        // A search by phone number is recorded, like a reveal.
        assert_eq!(
            app.count("audit_log WHERE action = 'reports.searched_by_phone'")
                .await,
            2
        );

        // Two reports are past their expected response date; one of them is closed.
        for id in [&ids[0], &ids[2]] {
            app.db
                .execute(
                    query("UPDATE reports SET expected_at = $1 WHERE id = $2")
                        .bind(
                            chrono::Utc::now()
                                - chrono::Duration::hours(if *id == ids[0] { 5 } else { 50 }),
                        )
                        .bind(id.parse::<i64>().unwrap()),
                )
                .await
                .unwrap();
        }
        let key = app.department_key("pesco").await;
        let officer_id: i64 = app
            .db
            .scalar(query(
                "SELECT id FROM users WHERE email = 'officer@pesco.gov.pk'",
            ))
            .await
            .unwrap();
        let resp = app
            .staff_post(
                &format!("/api/v1/reports/{}/assignment", ids[2]),
                &key,
                &json!({"user_id": officer_id}),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200, "{}", resp.text().await.unwrap());
        let (_, inbox) = page(&b, &app, "/staff").await;
        assert!(inbox.contains("2 overdue"), "{inbox}");
        assert_eq!(
            inbox.matches("class=\"badge overdue\"").count(),
            2,
            "each overdue row is marked"
        );
        // Only the overdue ones, most overdue first.
        let (_, late) = page(&b, &app, "/staff?overdue=1&sort=due").await;
        assert_eq!(found(&late), vec![ids[2].clone(), ids[0].clone()]);
        let (status, _) = page(&b, &app, "/staff?overdue=yes").await;
        assert_eq!(status, 400);
        // Closed: no longer overdue.
        let resp = app
            .staff_post(
                &format!("/api/v1/reports/{}/updates", ids[0]),
                &key,
                &json!({"status": "fixed", "note": "removed"}),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 201);
        let (_, late) = page(&b, &app, "/staff?overdue=1").await;
        assert_eq!(found(&late), vec![ids[2].clone()]);
        // A long note reaches the reporter's phone in two segments, cut after a word, with
        // the reference at the head.
        let long = "The line team will visit the market on Monday morning. ".repeat(8);
        let resp = app
            .staff_post(
                &format!("/api/v1/reports/{}/updates", ids[1]),
                &key,
                &json!({"status": "investigating", "note": long}),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 201);
        let (body, segments): (String, i64) = app
            .db
            .fetch_one(query(
                "SELECT body, segments FROM sms_outbox WHERE phone = '+923117654321' ORDER BY id DESC LIMIT 1",
            ))
            .await
            .unwrap();
        assert_eq!(segments, 2, "{body}");
        assert!(body.contains(&ids[1]) && body.ends_with('…'), "{body}");
        let kept = body.trim_end_matches('…');
        assert!(
            long.contains(&format!("{} ", kept.rsplit(' ').next().unwrap())),
            "{body}"
        );

        // The dashboard counts them per service and per officer.
        let (_, dash) = page(&b, &app, "/staff/dashboard").await;
        let section = &dash[dash.find("Overdue now</h2>").expect("an overdue section")..];
        assert!(
            section.contains("Electricity theft (kunda)</a></th><td><bdi>1</bdi>"),
            "{section}"
        );
        assert!(
            section.contains("Test Officer</th><td><bdi>1</bdi>"),
            "{section}"
        );

        // Where the note is written, the officer sees which language the citizen reads.
        app.db
            .execute(
                query("UPDATE reports SET lang = 'ur' WHERE id = $1")
                    .bind(ids[2].parse::<i64>().unwrap()),
            )
            .await
            .unwrap();
        let (_, report) = page(&b, &app, &format!("/staff/reports/{}", ids[2])).await;
        assert!(report.contains("The citizen reported in Urdu"), "{report}");

        // The export writes Pakistan time to the second.
        let csv = b
            .get(app.at("/staff/export.csv"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let second_line = csv.lines().nth(1).unwrap();
        let submitted = second_line.split(',').nth(1).unwrap();
        assert!(
            submitted.len() == 25 && submitted.ends_with("+05:00"),
            "{submitted}"
        );
    }
);

both!(
    internal_notes_stay_with_staff_and_ready_replies_speak_the_citizens_language,
    |app| async move {
        use khidmat::platform::db::query;
        app.add_user("officer@pesco.gov.pk", Role::Officer, Some("pesco"), None)
            .await;
        app.add_user(
            "officer@traffic.gov.pk",
            Role::Officer,
            Some("kp-traffic-police"),
            None,
        )
        .await;
        let id = app.kunda_at("34.0151", "71.5249").await;
        app.db
            .execute(
                query("UPDATE reports SET lang = 'ur' WHERE id = $1")
                    .bind(id.parse::<i64>().unwrap()),
            )
            .await
            .unwrap();
        let (b, csrf) = login(&app, "officer@pesco.gov.pk").await;
        let secret = "Line team says the shop owner is the councillor brother";
        let note = |b: reqwest::Client, csrf: String, text: &'static str| {
            let url = app.at(&format!("/staff/reports/{id}/notes"));
            async move {
                b.post(url)
                    .form(&[("csrf", csrf.as_str()), ("note", text)])
                    .send()
                    .await
                    .unwrap()
            }
        };
        let r = note(b.clone(), csrf.clone(), secret).await;
        assert_eq!(r.status(), 303);
        assert_eq!(note(b.clone(), csrf.clone(), "   ").await.status(), 400);
        let (_, staff_page) = page(&b, &app, &format!("/staff/reports/{id}")).await;
        assert!(staff_page.contains(secret), "{staff_page}");
        assert!(staff_page.contains("Test Officer"), "the author by name");
        assert_eq!(
            app.count("audit_log WHERE action = 'report.note_added'")
                .await,
            1
        );
        // Ready replies: the pack's notes for each status, in Urdu for this citizen.
        assert!(
            staff_page.contains("غیر قانونی کنکشن ہٹا دیا گیا۔"),
            "{staff_page}"
        );
        assert!(staff_page.contains("data-reply="));

        // Nowhere public: the report's page, the tracking page, Open311, the staff API's
        // updates, the export.
        let token: String = app
            .db
            .scalar(
                query("SELECT token FROM reports WHERE id = $1").bind(id.parse::<i64>().unwrap()),
            )
            .await
            .unwrap();
        for path in [
            format!("/reports/{id}"),
            format!("/track/{token}"),
            format!("/open311/v2/requests/{id}.json"),
            "/open311/v2/requests.json".to_string(),
        ] {
            let body = app.get(&path).await.text().await.unwrap();
            assert!(!body.contains("councillor"), "{path}");
        }
        let csv = b
            .get(app.at("/staff/export.csv"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(!csv.contains("councillor"));

        // Another department's officer: "not found", and nothing added.
        let (t, t_csrf) = login(&app, "officer@traffic.gov.pk").await;
        assert_eq!(note(t, t_csrf, "planted").await.status(), 404);
        assert_eq!(app.count("report_notes").await, 1);
    }
);
