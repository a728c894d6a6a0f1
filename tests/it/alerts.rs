//! Alerts for an area, end to end on both stores: asked for on `/alerts` by e-mail (nothing sent
//! until the mailed link is confirmed) and on a phone by Web Push (a stand-in push service
//! receives it, and the test decrypts it as the browser); a new public report in the district,
//! or within the radius of the point, of the service asked for, is announced once; one
//! elsewhere, of another service, or private, is not; the one-click way out ends it.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use ring::{agreement, rand::SecureRandom, rand::SystemRandom};

use crate::helpers::*;
use crate::on_both;
use crate::push::{decrypt, push_service};
use khidmat::platform::db::query;
use khidmat::platform::jobs;
use khidmat::reports::alerts::{News, Place};

/// The reports a text links to (`/reports/{id}`), by id.
fn reports_in(text: &str) -> Vec<String> {
    text.split("/reports/")
        .skip(1)
        .map(|rest| rest.chars().take_while(char::is_ascii_digit).collect())
        .collect()
}

/// A link of this site's in a mail: its path.
fn path_in(mail: &str, prefix: &str) -> String {
    let at = mail
        .find(prefix)
        .unwrap_or_else(|| panic!("no {prefix} in {mail}"));
    mail[at..].split_whitespace().next().unwrap().to_owned()
}

/// Wait until every alert, and every mail and push they sent, has run.
async fn every_job_run(app: &TestApp) {
    eventually(|| async {
        (app.count("jobs WHERE kind IN ('reports.area-news', 'mail.send', 'push.send') AND status IN ('queued', 'running')")
            .await
            == 0)
            .then_some(())
    })
    .await;
}

on_both!(
    alerts_for_an_area_tell_of_new_public_reports_there_by_email_and_push,
    |backend| async move {
        let (port, got) = push_service().await;
        let app = spawn_with(backend, |c| {
            c.push_hosts = vec![format!("127.0.0.1:{port}")];
        })
        .await;
        let b = browser();
        let (status, html) = page(&b, &app, "/alerts").await;
        assert_eq!(status, 200);
        let csrf = hidden(&html, "csrf");
        let post = |fields: Vec<(&'static str, String)>| {
            let b = b.clone();
            let url = app.at("/alerts");
            let csrf = csrf.clone();
            async move {
                let mut form = vec![("csrf", csrf)];
                form.extend(fields);
                let r = b.post(url).form(&form).send().await.unwrap();
                (r.status().as_u16(), r.text().await.unwrap())
            }
        };
        let mail = |s: &str| ("email", s.to_owned());

        // What cannot be an alert is refused with the reason, and nothing is mailed.
        let (status, body) = post(vec![mail("someone@example.org")]).await;
        assert_eq!(status, 400);
        assert!(body.contains("Choose a district, or use where you are"));
        let (status, _) = post(vec![
            ("district", "atlantis".into()),
            mail("someone@example.org"),
        ])
        .await;
        assert_eq!(status, 400);
        let (status, _) = post(vec![
            ("lat", "34.0046".into()),
            ("long", "71.5589".into()),
            ("radius", "100000".into()),
            mail("someone@example.org"),
        ])
        .await;
        assert_eq!(status, 400, "a radius the page does not offer");
        let (status, _) = post(vec![
            ("district", "peshawar".into()),
            mail("not an address"),
        ])
        .await;
        assert_eq!(status, 400);
        let no_token = b
            .post(app.at("/alerts"))
            .form(&[("district", "peshawar"), ("email", "someone@example.org")])
            .send()
            .await
            .unwrap();
        assert_eq!(no_token.status(), 403);
        assert_eq!(app.count("area_alerts").await, 0);
        assert_eq!(app.count("mail_outbox").await, 0);

        // Kunda reports in Peshawar, by e-mail; and anything within 500 m of Firdous Chowk.
        let (status, body) = post(vec![
            ("district", "peshawar".into()),
            ("service", "kunda".into()),
            mail("neighbour@example.org"),
        ])
        .await;
        assert_eq!(status, 200, "{body}");
        assert!(body.contains("e-mailed you a link"));
        let (status, _) = post(vec![
            ("lat", "۳۴.۰۰۴۶".into()),
            ("long", "71.5589".into()),
            ("radius", "500".into()),
            mail("chowk@example.org"),
        ])
        .await;
        assert_eq!(status, 200);
        // Not confirmed yet: a report now is not announced to them.
        let early = app.kunda_at("34.0151", "71.5249").await;
        for (who, n) in [("neighbour@example.org", 1), ("chowk@example.org", 1)] {
            let confirm = app.mail_to(who).await;
            let link = path_in(&confirm, "/alerts/");
            let (status, html) = page(&b, &app, &link).await;
            assert_eq!(
                status, 200,
                "a page with a button (a mail scanner signs nobody up)"
            );
            let r = b
                .post(app.at(&link))
                .form(&[("csrf", hidden(&html, "csrf"))])
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 200);
            assert!(r.text().await.unwrap().contains("Confirmed"));
            assert_eq!(
                app.mails_to(who).await.len(),
                n,
                "only the confirmation so far"
            );
        }

        // On a phone, by Web Push: any report in Peshawar, told in Urdu.
        let rng = SystemRandom::new();
        let ours = agreement::EphemeralPrivateKey::generate(&agreement::ECDH_P256, &rng).unwrap();
        let ua_public = ours.compute_public_key().unwrap().as_ref().to_vec();
        let mut auth = [0u8; 16];
        rng.fill(&mut auth).unwrap();
        let r = b
            .post(app.at("/alerts/push"))
            .header("Accept-Language", "ur")
            .form(&[
                ("csrf", csrf.as_str()),
                ("district", "peshawar"),
                ("endpoint", &format!("http://127.0.0.1:{port}/push/phone")),
                ("p256dh", &URL_SAFE_NO_PAD.encode(&ua_public)),
                ("auth", &URL_SAFE_NO_PAD.encode(auth)),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 201);
        let push_stop = r.json::<serde_json::Value>().await.unwrap()["stop"]
            .as_str()
            .unwrap()
            .to_owned();
        assert!(push_stop.starts_with("/alerts/") && push_stop.ends_with("/stop"));
        let r = b
            .post(app.at("/alerts/push"))
            .form(&[
                ("csrf", csrf.as_str()),
                ("district", "peshawar"),
                ("endpoint", "http://169.254.169.254/latest/meta-data"),
                ("p256dh", &URL_SAFE_NO_PAD.encode(&ua_public)),
                ("auth", &URL_SAFE_NO_PAD.encode(auth)),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 400, "an endpoint outside push_hosts");

        // Reports now: one elsewhere (Mardan), one private in Peshawar, one in Peshawar by the
        // chowk — only the last is announced, once to each alert it falls in.
        let mardan = app.kunda_at("34.1986", "72.0404").await;
        let private = app
            .report(&[
                ("service_code", "kunda"),
                ("lat", "34.0150"),
                ("long", "71.5250"),
                ("attribute[premises]", "house"),
                ("attribute[method]", "hook"),
                ("description", "My neighbour's roof"),
                ("private", "1"),
            ])
            .await;
        let near = app.kunda_at("34.0050", "71.5590").await;
        let news = eventually(|| async {
            let mails = app.mails_to("neighbour@example.org").await;
            (mails.len() >= 2).then_some(mails)
        })
        .await;
        let chowk = eventually(|| async {
            let mails = app.mails_to("chowk@example.org").await;
            (mails.len() >= 2).then_some(mails)
        })
        .await;
        let (_, headers, body) = eventually(|| {
            let got = got.clone();
            async move {
                got.lock()
                    .unwrap()
                    .iter()
                    .find(|(p, _, _)| p == "/push/phone")
                    .cloned()
            }
        })
        .await;
        assert_eq!(headers["content-encoding"], "aes128gcm");
        let message = decrypt(ours, &ua_public, &auth, &body);
        assert!(
            message["title"].as_str().unwrap().contains("نئی شکایت")
                && message["title"].as_str().unwrap().contains(&near),
            "in Urdu, of the report near the chowk: {message}"
        );
        assert_eq!(message["url"], format!("/reports/{near}"));
        // Every job has run: what went out, and what did not.
        every_job_run(&app).await;
        let news = [news, app.mails_to("neighbour@example.org").await].concat();
        let all = news.join("\n");
        let told = reports_in(&all);
        assert!(told.contains(&near), "{all}");
        for other in [&early, &mardan, &private] {
            assert!(
                !told.contains(other),
                "report {other} was not to be announced: {all}"
            );
        }
        assert!(!all.contains("My neighbour's roof"));
        assert_eq!(
            app.mails_to("neighbour@example.org").await.len(),
            2,
            "the confirmation and one alert"
        );
        let chowk_told = reports_in(&chowk.join("\n"));
        assert!(chowk_told.contains(&near) && !chowk_told.contains(&early));
        assert_eq!(
            got.lock()
                .unwrap()
                .iter()
                .filter(|(p, _, _)| p == "/push/phone")
                .count(),
            1,
            "one push, for the one public report in Peshawar"
        );

        // The way out, from the alert's own mail and from the phone's kept link.
        let alert_mail = app.mails_to("neighbour@example.org").await.pop().unwrap();
        let stop = path_in(&alert_mail, "/alerts/");
        assert!(stop.ends_with("/stop"), "{stop}");
        let (status, html) = page(&b, &app, &stop).await;
        assert_eq!(status, 200);
        assert!(html.contains("will not hear"));
        let (_, html) = page(&b, &app, &push_stop).await;
        assert!(html.contains("will not hear"));
        assert_eq!(
            app.count("push_subscriptions WHERE subject_type = 'area'")
                .await,
            0
        );
        let (_, html) = page(&b, &app, &stop).await;
        assert!(html.contains("already stopped"));
        let later = app.kunda_at("34.0151", "71.5249").await;
        every_job_run(&app).await;
        let all = app.mails_to("neighbour@example.org").await.join("\n");
        assert!(
            !all.contains(&format!("/reports/{later}")),
            "stopped: {all}"
        );

        // The job carries where the report is, so a report no alert covers costs no read of it;
        // but the report is read before anyone is told. Two reports by the chowk, filed private
        // (so no job was booked for either): one made public since and booked as an older
        // server booked it (the report alone), one still private and booked as this server
        // books it (with its place). Only the first is announced.
        let private_at_chowk = || {
            app.report(&[
                ("service_code", "kunda"),
                ("lat", "34.0050"),
                ("long", "71.5590"),
                ("attribute[premises]", "house"),
                ("attribute[method]", "hook"),
                ("private", "1"),
            ])
        };
        let legacy: i64 = private_at_chowk().await.parse().unwrap();
        let kept: i64 = private_at_chowk().await.parse().unwrap();
        app.db
            .execute(query("UPDATE reports SET private = FALSE WHERE id = $1").bind(legacy))
            .await
            .unwrap();
        let mut tx = app.db.begin().await.unwrap();
        jobs::enqueue_job(
            &mut tx,
            &News {
                report: legacy,
                place: None,
            },
        )
        .await
        .unwrap();
        let place = Place {
            service: "kunda".into(),
            district: Some("peshawar".into()),
            point: Some((34.0050, 71.5590)),
            at: chrono::Utc::now(),
        };
        jobs::enqueue_job(
            &mut tx,
            &News {
                report: kept,
                place: Some(place),
            },
        )
        .await
        .unwrap();
        tx.commit().await.unwrap();
        let told = eventually(|| async {
            let told = reports_in(&app.mails_to("chowk@example.org").await.join("\n"));
            told.contains(&legacy.to_string()).then_some(told)
        })
        .await;
        every_job_run(&app).await;
        let told = [
            told,
            reports_in(&app.mails_to("chowk@example.org").await.join("\n")),
        ]
        .concat();
        assert!(
            !told.contains(&kept.to_string()),
            "a private report was announced: {told:?}"
        );
    }
);
