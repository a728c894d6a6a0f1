//! After sending, on both stores: several photos on a report, the reporter's own update (public,
//! redacted, hidden by staff), followers by SMS and e-mail told of a status change, and "is it
//! fixed?" asked after a fix and answered by SMS (reopening the report) and on the web (closing
//! it), with the answers and ratings in the impact figures and the CSV.

use khidmat::platform::db::query;
use khidmat::platform::identity::Role;
use serde_json::json;

use crate::helpers::{browser, hidden, login, page, png, spawn_with, submit, Backend, TestApp};
use crate::on_both;

const SECRET: &str = "gateway-secret-for-tests";

async fn app(backend: Backend) -> TestApp {
    let app = spawn_with(backend, |c| c.channel_secret = Some(SECRET.into())).await;
    // Asked at once rather than after four weeks (before the service is first read and cached).
    app.db
        .execute(query(
            "UPDATE report_services SET ask_fixed_after_hours = 0 WHERE code = 'kunda'",
        ))
        .await
        .unwrap();
    app
}

fn location(resp: &reqwest::Response) -> String {
    resp.headers()[reqwest::header::LOCATION]
        .to_str()
        .unwrap()
        .to_string()
}

/// The report form sent as the page sends it, with `photos` as its `media` parts.
async fn report_with_photos(
    b: &reqwest::Client,
    app: &TestApp,
    photos: &[Vec<u8>],
    phone: &str,
) -> reqwest::Response {
    let (_, html) = page(b, app, "/report/kunda").await;
    let mut form = reqwest::multipart::Form::new()
        .text("csrf", hidden(&html, "csrf"))
        .text("idempotency_key", hidden(&html, "idempotency_key"))
        .text("attribute[premises]", "shop")
        .text("attribute[method]", "hook")
        .text("description", "Hooks on the line behind the market")
        .text("district", "peshawar")
        .text("phone", phone.to_owned());
    for (i, p) in photos.iter().enumerate() {
        form = form.part(
            "media",
            reqwest::multipart::Part::bytes(p.clone()).file_name(format!("p{i}.png")),
        );
    }
    b.post(app.at("/report/kunda"))
        .multipart(form)
        .send()
        .await
        .unwrap()
}

/// The reporter's update from the tracking page, with an optional photo.
async fn update(
    b: &reqwest::Client,
    app: &TestApp,
    track: &str,
    note: &str,
    photo: Option<Vec<u8>>,
) -> reqwest::Response {
    let (_, html) = page(b, app, track).await;
    let mut form = reqwest::multipart::Form::new()
        .text("csrf", hidden(&html, "csrf"))
        .text("note", note.to_owned());
    if let Some(p) = photo {
        form = form.part(
            "media",
            reqwest::multipart::Part::bytes(p).file_name("u.png"),
        );
    }
    b.post(app.at(&format!("{track}/update")))
        .multipart(form)
        .send()
        .await
        .unwrap()
}

fn photos_in(html: &str) -> usize {
    html.matches(r#"<img class="photo""#).count()
}

async fn sms_in(app: &TestApp, id: &str, from: &str, text: &str) {
    let r = app
        .client
        .post(app.at(&format!("/channels/africastalking/sms?key={SECRET}")))
        .form(&[
            ("from", from),
            ("to", "8311"),
            ("text", text),
            ("date", "2026-12-06 10:00:00"),
            ("id", id),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "{text}");
}

async fn set_status(app: &TestApp, key: &str, id: &str, status: &str, note: &str) {
    let r = app
        .staff_post(
            &format!("/api/v1/reports/{id}/updates"),
            key,
            &json!({"status": status, "note": note}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201, "{status}");
}

async fn rich_status(app: &TestApp, id: &str) -> String {
    khidmat::reports::store::get(&app.db, id.parse().unwrap())
        .await
        .unwrap()
        .unwrap()
        .rich_status
}

on_both!(
    a_report_carries_several_photos_and_the_reporters_update,
    |backend| async move {
        let app = app(backend).await;
        let b = browser();
        // Four photos where the service takes three: refused, nothing filed.
        let photos: Vec<Vec<u8>> = (0..4).map(|i| png(40 + i, 30)).collect();
        let refused = report_with_photos(&b, &app, &photos, "0300 1234567").await;
        assert_eq!(refused.status(), 422);
        assert!(refused.text().await.unwrap().contains("at most 3 photos"));
        assert_eq!(app.count("reports").await, 0);

        let sent = report_with_photos(&b, &app, &photos[..2], "0300 1234567").await;
        assert_eq!(sent.status(), 303);
        let track = location(&sent).split('?').next().unwrap().to_owned();
        let (_, html) = page(&b, &app, &track).await;
        assert_eq!(photos_in(&html), 2, "both photos on the report");
        let id: i64 = app
            .db
            .scalar(query("SELECT id FROM reports"))
            .await
            .unwrap();
        // Open311 still names one picture: the first.
        let r = app
            .get_json(&format!("/open311/v2/requests/{id}.json"))
            .await;
        assert!(
            r[0]["media_url"].as_str().unwrap().contains("/photos/"),
            "{r}"
        );

        // The reporter adds what they saw since, with a third photo; numbers are redacted.
        let added = update(
            &b,
            &app,
            &track,
            "Still hooked tonight. Call me on 0300 7654321",
            Some(png(70, 50)),
        )
        .await;
        assert_eq!(added.status(), 303);
        assert!(location(&added).contains("done=update"));
        let (_, public) = page(&b, &app, &format!("/reports/{id}")).await;
        assert!(
            public.contains("Still hooked tonight"),
            "the update is public"
        );
        assert!(!public.contains("7654321"), "the number is redacted");
        assert!(public.contains("Update from the reporter"));
        assert_eq!(photos_in(&public), 3);
        // A fourth photo is one too many; words alone are still taken; nothing at all is not.
        let full = update(&b, &app, &track, "and another", Some(png(90, 60))).await;
        assert_eq!(full.status(), 422);
        assert!(full.text().await.unwrap().contains("3 photos"));
        assert_eq!(
            update(&b, &app, &track, "words only", None).await.status(),
            303
        );
        assert_eq!(update(&b, &app, &track, "  ", None).await.status(), 422);
        // A stranger's browser has no form token for the page: refused.
        let stranger = reqwest::Client::new();
        let r = stranger
            .post(app.at(&format!("{track}/update")))
            .multipart(reqwest::multipart::Form::new().text("note", "spam"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 403);

        // Staff of the department hide it, with a reason: gone from the public page and feed,
        // still on theirs; audited.
        app.add_user("pesco@test.pk", Role::Officer, Some("pesco"), None)
            .await;
        let (staff, csrf) = login(&app, "pesco@test.pk").await;
        let (_, html) = page(&staff, &app, &format!("/staff/reports/{id}")).await;
        assert!(html.contains("Still hooked tonight") && html.contains("Hide from the public"));
        let update_id: i64 = app
            .db
            .scalar(
                query("SELECT id FROM report_updates WHERE report_id = $1 AND note LIKE 'Still%'")
                    .bind(id),
            )
            .await
            .unwrap();
        let (status, _) = submit(
            &staff,
            &app,
            &format!("/staff/reports/{id}/updates/{update_id}"),
            &[("csrf", csrf.as_str()), ("reason", "a private quarrel")],
        )
        .await;
        assert_eq!(status, 303);
        let (_, public) = page(&b, &app, &format!("/reports/{id}")).await;
        assert!(!public.contains("Still hooked tonight"));
        assert_eq!(photos_in(&public), 2, "its photo is hidden with it");
        let feed = app
            .get_json(&format!(
                "/open311/v2/servicerequestupdates.json?service_request_id={id}"
            ))
            .await;
        assert!(!feed.to_string().contains("Still hooked"), "{feed}");
        let (_, html) = page(&staff, &app, &format!("/staff/reports/{id}")).await;
        assert!(html.contains("a private quarrel") && html.contains("Show it again"));
        let audited: i64 = app
            .db
            .scalar(query(
                "SELECT COUNT(*) FROM audit_log WHERE action = 'report.update_hidden'",
            ))
            .await
            .unwrap();
        assert_eq!(audited, 1);
        // Another department's officer cannot.
        app.add_user("wssp@test.pk", Role::Officer, Some("wssp"), None)
            .await;
        let (other, ocsrf) = login(&app, "wssp@test.pk").await;
        let (status, _) = submit(
            &other,
            &app,
            &format!("/staff/reports/{id}/updates/{update_id}"),
            &[("csrf", ocsrf.as_str()), ("reason", "")],
        )
        .await;
        assert_eq!(status, 404);
    }
);

on_both!(
    followers_by_sms_and_email_get_the_status_change,
    |backend| async move {
        let app = app(backend).await;
        let id = app.kunda_at("34.0151", "71.5249").await;
        let key = app.department_key("pesco").await;
        let follower = "+923339876543";
        sms_in(&app, "f1", follower, &format!("FOLLOW {id}")).await;
        assert!(app.sms_to(follower).await.contains(&format!("STOP {id}")));
        // … and another by e-mail, confirmed from the link mailed to them.
        let b = browser();
        let (_, html) = page(&b, &app, &format!("/reports/{id}")).await;
        assert!(
            html.contains(&format!("FOLLOW {id}")),
            "the SMS way is on the page"
        );
        let (status, to) = submit(
            &b,
            &app,
            &format!("/reports/{id}/follow"),
            &[
                ("csrf", hidden(&html, "csrf").as_str()),
                ("email", "Neighbour@Example.org"),
            ],
        )
        .await;
        assert_eq!(status, 303);
        assert!(to.contains("done=mailed"));
        let mail = app.mail_to("neighbour@example.org").await;
        // Asking again does not mail again (the form cannot fill a stranger's mailbox).
        let (_, html) = page(&b, &app, &format!("/reports/{id}")).await;
        let (status, _) = submit(
            &b,
            &app,
            &format!("/reports/{id}/follow"),
            &[
                ("csrf", hidden(&html, "csrf").as_str()),
                ("email", "neighbour@example.org"),
            ],
        )
        .await;
        assert_eq!(status, 303);
        let link = mail
            .split_whitespace()
            .find(|w| w.contains("/follow/"))
            .expect("a confirmation link")
            .to_owned();
        let path = &link[link.find("/follow/").unwrap()..];
        // Unconfirmed: a change now is not mailed.
        set_status(&app, &key, &id, "investigating", "A lineman is on the way").await;
        let mails: i64 = app
            .db
            .scalar(query(
                "SELECT COUNT(*) FROM mail_outbox WHERE to_addr = 'neighbour@example.org'",
            ))
            .await
            .unwrap();
        assert_eq!(mails, 1, "only the confirmation");
        assert!(app
            .sms_to(follower)
            .await
            .contains("A lineman is on the way"));
        // Opening the link shows a button; only the button confirms.
        let (status, html) = page(&b, &app, path).await;
        assert_eq!(status, 200);
        let (status, to) =
            submit(&b, &app, path, &[("csrf", hidden(&html, "csrf").as_str())]).await;
        assert_eq!(status, 303);
        assert!(to.contains("done=following"));

        set_status(
            &app,
            &key,
            &id,
            "fixed",
            "The hooks were removed and the meter sealed",
        )
        .await;
        let text = app.sms_to(follower).await;
        assert!(
            text.contains(&format!("Report {id}")) && text.contains("meter sealed"),
            "{text}"
        );
        let mail = app.mail_to("neighbour@example.org").await;
        assert!(mail.contains("meter sealed"), "{mail}");
        let stop = mail
            .split_whitespace()
            .find(|w| w.contains("/unfollow/"))
            .expect("a way out in every e-mail")
            .to_owned();
        let (status, html) = page(&b, &app, &stop[stop.find("/unfollow/").unwrap()..]).await;
        assert_eq!(status, 200);
        assert!(html.contains(&format!("report {id}")));
        // STOP by SMS.
        sms_in(&app, "f2", follower, &format!("STOP {id}")).await;
        assert_eq!(app.count("report_followers").await, 0);
        set_status(&app, &key, &id, "in_progress", "Checking again").await;
        let to_follower: i64 = app
            .db
            .scalar(query("SELECT COUNT(*) FROM sms_outbox WHERE phone = $1").bind(follower))
            .await
            .unwrap();
        assert_eq!(
            to_follower, 4,
            "FOLLOW's and STOP's replies and two changes, none after STOP"
        );
    }
);

on_both!(
    is_it_fixed_by_sms_reopens_and_the_web_answer_closes,
    |backend| async move {
        let app = app(backend).await;
        let key = app.department_key("pesco").await;
        let reporter = "+923001234567";
        let id = app
            .report(&[
                ("service_code", "kunda"),
                ("district", "peshawar"),
                ("attribute[premises]", "shop"),
                ("attribute[method]", "hook"),
                ("phone", "0300 1234567"),
            ])
            .await;
        // A "1" from a number that was asked nothing is read as anything else (help).
        sms_in(&app, "r0", reporter, "1").await;
        assert_eq!(app.count("report_outcomes").await, 0);

        set_status(&app, &key, &id, "fixed", "Hooks removed").await;
        // Asked on the channel the reporter gave: SMS, after the service's time (here at once).
        let asked = crate::helpers::eventually(|| async {
            let t = app.sms_to(reporter).await;
            t.contains("Reply 1").then_some(t)
        })
        .await;
        assert!(asked.contains(&format!("Report {id}")), "{asked}");
        // "Not fixed", with words, in Urdu digits: the report reopens with the citizen's words.
        sms_in(&app, "r1", reporter, "۲ abhi bhi kunda laga hai").await;
        assert_eq!(rich_status(&app, &id).await, "open");
        let reply = app.sms_to(reporter).await;
        assert!(
            reply.contains("open again") && reply.contains("1 (badly) to 5"),
            "{reply}"
        );
        let feed = app
            .get_json(&format!("/open311/v2/requests/{id}.json"))
            .await;
        assert_eq!(feed[0]["status"], "open");
        let (_, html) = page(&browser(), &app, &format!("/reports/{id}")).await;
        assert!(
            html.contains("abhi bhi kunda laga hai"),
            "the citizen's words are on the report"
        );
        // The rating that follows.
        sms_in(&app, "r2", reporter, "2").await;
        assert!(app
            .sms_to(reporter)
            .await
            .contains("Thank you for your rating"));
        let (fixed, rating): (bool, i64) = app
            .db
            .fetch_one(query("SELECT fixed, rating FROM report_outcomes"))
            .await
            .unwrap();
        assert!(!fixed);
        assert_eq!(rating, 2);

        // Fixed again: asked again, about this fix; answered on the tracking page this time.
        set_status(&app, &key, &id, "fixed", "Meter sealed").await;
        crate::helpers::eventually(|| async {
            (app.count("report_outcomes").await == 2).then_some(())
        })
        .await;
        let token: String = app
            .db
            .scalar(
                query("SELECT token FROM reports WHERE id = $1").bind(id.parse::<i64>().unwrap()),
            )
            .await
            .unwrap();
        let b = browser();
        let (_, html) = page(&b, &app, &format!("/track/{token}")).await;
        assert!(html.contains("Is it fixed?"));
        let csrf = hidden(&html, "csrf");
        let path = format!("/track/{token}/fixed");
        let (status, _) =
            submit(&b, &app, &path, &[("csrf", csrf.as_str()), ("rating", "4")]).await;
        assert_eq!(status, 422, "yes or no is required");
        let (status, _) = submit(
            &b,
            &app,
            &path,
            &[("csrf", csrf.as_str()), ("fixed", "yes"), ("rating", "9")],
        )
        .await;
        assert_eq!(status, 422, "a rating is 1 to 5");
        let (status, to) = submit(
            &b,
            &app,
            &path,
            &[
                ("csrf", csrf.as_str()),
                ("fixed", "yes"),
                ("rating", "۵"),
                ("words", "Thank you"),
            ],
        )
        .await;
        assert_eq!(status, 303);
        assert!(to.contains("done=fixed"));
        assert_eq!(rich_status(&app, &id).await, "closed");
        // Answered once only.
        let (status, _) =
            submit(&b, &app, &path, &[("csrf", csrf.as_str()), ("fixed", "no")]).await;
        assert_eq!(status, 422);

        // The staff API has them exactly; the public rounds (two answers read as none) and
        // leaves the groups of fewer than five out.
        let mut more = Vec::new();
        for i in 0..4 {
            let n = format!("+9230012345{i:02}");
            let rid = app
                .report(&[
                    ("service_code", "kunda"),
                    ("district", "peshawar"),
                    ("attribute[premises]", "shop"),
                    ("attribute[method]", "hook"),
                    ("phone", &n),
                ])
                .await;
            set_status(&app, &key, &rid, "fixed", "Done").await;
            more.push((n, rid));
        }
        for (i, (n, _)) in more.iter().enumerate() {
            crate::helpers::eventually(|| async {
                app.sms_to(n).await.contains("Reply 1").then_some(())
            })
            .await;
            sms_in(&app, &format!("m{i}"), n, if i == 0 { "2" } else { "1" }).await;
            sms_in(&app, &format!("n{i}"), n, "4").await;
        }
        let f = app.get_json("/api/v1/impact").await;
        let o = &f["outcomes"];
        // Six answers (two "not fixed"), six ratings: 2, 5, 4, 4, 4, 4 → mean 3.8.
        assert_eq!(o["answered"], 5, "{o}");
        assert_eq!(o["reopened"], 0, "{o}");
        assert_eq!(o["mean_rating"], 3.8, "{o}");
        let kunda = o["by_service"]
            .as_array()
            .unwrap()
            .iter()
            .find(|g| g["key"] == "kunda")
            .expect("kunda has five answers or more");
        assert_eq!(kunda["mean_rating"], 3.8);
        let (_, html) = page(&b, &app, "/impact").await;
        assert!(
            html.contains(r#"data-figure="mean_rating"><bdi>3.8"#),
            "the rating on /impact"
        );
        let csv = app.get("/impact.csv").await.text().await.unwrap();
        let head = csv.lines().next().unwrap();
        assert!(
            head.ends_with("outcomes_answered,outcomes_reopened,mean_rating"),
            "{head}"
        );
        // By SMS: five answers (two "not fixed"), ratings 2, 4, 4, 4, 4. The one web answer is a
        // cell of one: not listed.
        assert!(
            csv.lines()
                .any(|l| l.contains(",reports,sms,pesco,peshawar,") && l.ends_with(",5,0,3.6")),
            "{csv}"
        );
        assert!(
            !csv.lines()
                .any(|l| l.contains(",reports,web,pesco,peshawar,0,0,0,")),
            "{csv}"
        );
    }
);

on_both!(
    the_form_shows_open_reports_already_made_near_the_place,
    |backend| async move {
        let app = app(backend).await;
        let key = app.department_key("pesco").await;
        let here = app.kunda_at("34.0151", "71.5249").await;
        let also = app.kunda_at("34.0152", "71.5250").await;
        let closed = app.kunda_at("34.0151", "71.5250").await;
        set_status(&app, &key, &closed, "closed", "Done").await;
        // About 300 m north: outside the 200 m looked at.
        let far = app.kunda_at("34.0178", "71.5249").await;
        let nearby = |q: &'static str| {
            let app = &app;
            async move { app.get_json(&format!("/report/kunda/nearby?{q}")).await }
        };
        let v = nearby("lat=34.0151&long=71.5249").await;
        let ids: Vec<String> = v["reports"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["id"].to_string())
            .collect();
        assert_eq!(ids, vec![here.clone(), also.clone()], "nearest first: {v}");
        assert!(!ids.contains(&closed) && !ids.contains(&far));
        let first = &v["reports"][0];
        assert_eq!(first["url"], format!("/reports/{here}"));
        assert!(first["metres"].as_i64().unwrap() < 5);
        assert!(first["description"].as_str().unwrap().contains("Hooks"));
        // Nonsense is no error, just nothing.
        for q in ["lat=abc&long=71.5", "lat=91&long=71.5", "long=71.5", ""] {
            let v = app.get_json(&format!("/report/kunda/nearby?{q}")).await;
            assert_eq!(v["reports"], json!([]), "{q}");
        }
        // A confidential service's reports are never listed.
        app.report(&[
            ("service_code", "rights-violation"),
            ("lat", "34.0151"),
            ("long", "71.5249"),
            ("attribute[category]", "custody"),
            ("attribute[ongoing]", "no"),
            ("description", "Detained without charge"),
        ])
        .await;
        let v = app
            .get_json("/report/rights-violation/nearby?lat=34.0151&long=71.5249")
            .await;
        assert_eq!(v["reports"], json!([]));
        assert_eq!(
            app.get("/report/no-such/nearby?lat=1&long=1")
                .await
                .status(),
            404
        );
    }
);
