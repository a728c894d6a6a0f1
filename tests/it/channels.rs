//! SMS and USSD, driven over HTTP exactly as the gateways send them, on both stores.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use khidmat::platform::db::query;
use khidmat::platform::identity::Role;
use serde_json::Value;

use crate::helpers::{eventually, hidden, page, spawn_with, submit, Backend, TestApp};
use crate::on_both;

const SECRET: &str = "gateway-secret-for-tests";
const PHONE: &str = "+923001234567";

async fn app_with(backend: Backend, adjust: impl FnOnce(&mut khidmat::Config)) -> TestApp {
    spawn_with(backend, |c| {
        c.channel_secret = Some(SECRET.into());
        adjust(c)
    })
    .await
}

/// One USSD request; returns the answer ("CON …" or "END …").
async fn ussd(app: &TestApp, session: &str, inputs: &[&str]) -> String {
    let resp = app
        .client
        .post(app.at(&format!("/channels/africastalking/ussd?key={SECRET}")))
        .form(&[
            ("sessionId", session),
            ("serviceCode", "*384*311#"),
            ("phoneNumber", PHONE),
            ("text", &inputs.join("*")),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    resp.text().await.unwrap()
}

fn refs(v: &[String]) -> Vec<&str> {
    v.iter().map(String::as_str).collect()
}

/// The number in front of the menu line that contains `needle`.
fn number_of(screen: &str, needle: &str) -> Option<String> {
    screen
        .lines()
        .find(|l| l.contains(needle))
        .and_then(|l| l.split(' ').next())
        .map(str::to_owned)
}

async fn sms(app: &TestApp, id: &str, from: &str, text: &str) -> reqwest::Response {
    app.client
        .post(app.at(&format!("/channels/africastalking/sms?key={SECRET}")))
        .form(&[
            ("from", from),
            ("to", "8311"),
            ("text", text),
            ("date", "2026-11-26 10:00:00"),
            ("id", id),
        ])
        .send()
        .await
        .unwrap()
}

/// The SMS queued for a number, oldest first.
async fn outbox(app: &TestApp, phone: &str) -> Vec<(String, String)> {
    app.db
        .fetch_all::<(String, String)>(
            query("SELECT body, status FROM sms_outbox WHERE phone = $1 ORDER BY id").bind(phone),
        )
        .await
        .unwrap()
}

on_both!(
    a_ussd_session_in_urdu_files_a_report_open311_lists,
    |backend| async move {
        let app = app_with(backend, |_| {}).await;
        let mut inputs: Vec<String> = vec![];
        let screen = ussd(&app, "s1", &[]).await;
        assert!(
            screen.starts_with("CON ") && screen.contains("اردو"),
            "{screen}"
        );
        inputs.push("2".into());
        let screen = ussd(&app, "s1", &refs(&inputs)).await;
        assert!(screen.contains("کون سا محکمہ"), "{screen}");
        assert!(screen.chars().count() <= 182 + 4);
        inputs.push(number_of(&screen, "پیسکو").expect("PESCO is on the menu"));
        let screen = ussd(&app, "s1", &refs(&inputs)).await;
        inputs.push(number_of(&screen, "کنڈا").expect("kunda is on the menu"));
        // The service's list questions, each a numbered menu; a wrong number is asked again.
        let screen = ussd(&app, "s1", &refs(&inputs)).await;
        assert!(screen.starts_with("CON "), "{screen}");
        let mut wrong = refs(&inputs);
        wrong.push("99");
        let again = ussd(&app, "s1", &wrong).await;
        assert!(again.contains("یہ انتخاب موجود نہیں"), "{again}");
        inputs.push("99".into()); // consumed: the engine saw it
        let mut screen = again;
        // Answer questions (first choice) until the district menu comes.
        while !screen.contains("کون سا ضلع") {
            inputs.push("1".into());
            screen = ussd(&app, "s1", &refs(&inputs)).await;
            assert!(screen.starts_with("CON "), "{screen}");
            assert!(inputs.len() < 12, "too many questions: {screen}");
        }
        // Page through the districts to Peshawar.
        let mut pages = 0;
        let choice = loop {
            if let Some(n) = number_of(&screen, "پشاور") {
                break n;
            }
            assert!(screen.contains("0 مزید"), "{screen}");
            assert!(screen.chars().count() <= 186, "{}", screen.chars().count());
            inputs.push("0".into());
            screen = ussd(&app, "s1", &refs(&inputs)).await;
            pages += 1;
            assert!(pages < 10);
        };
        inputs.push(choice);
        let screen = ussd(&app, "s1", &refs(&inputs)).await;
        assert!(screen.contains("نشانی"), "{screen}");
        inputs.push("گھنٹہ گھر کے پاس".into());
        let screen = ussd(&app, "s1", &refs(&inputs)).await;
        assert!(
            screen.contains("گھنٹہ گھر کے پاس") && screen.contains("پشاور"),
            "{screen}"
        );
        inputs.push("1".into());
        let end = ussd(&app, "s1", &refs(&inputs)).await;
        assert!(end.starts_with("END ") && end.contains("موصول"), "{end}");
        let id: String = end
            .split_whitespace()
            .find(|w| {
                w.trim_matches(|c: char| !c.is_ascii_digit()).len() == w.len() && !w.is_empty()
            })
            .map(|w| w.to_string())
            .or_else(|| {
                end.split(|c: char| !c.is_ascii_digit())
                    .find(|s| !s.is_empty())
                    .map(str::to_owned)
            })
            .unwrap();
        // The gateway repeats the last request: the same answer, no second report.
        assert_eq!(ussd(&app, "s1", &refs(&inputs)).await, end);
        assert_eq!(app.count("reports").await, 1);

        let listed = app
            .get_json(&format!(
                "/open311/v2/requests.json?service_request_id={id}"
            ))
            .await;
        assert_eq!(listed[0]["service_code"], "kunda");
        assert_eq!(listed[0]["address"], "گھنٹہ گھر کے پاس");
        let row = khidmat::reports::store::get(&app.db, id.parse().unwrap())
            .await
            .unwrap()
            .unwrap();
        assert_eq!((row.channel.as_str(), row.lang.as_str()), ("ussd", "ur"));
        assert_eq!(row.district.as_deref(), Some("peshawar"));
        assert_eq!(row.contact_phone.as_deref(), Some(PHONE));
        assert_eq!(
            app.count("impact_events WHERE channel = 'ussd'").await,
            2,
            "the session and the report"
        );

        // A session the server no longer knows ends politely.
        let stale = ussd(&app, "never-started", &["2", "1"]).await;
        assert!(
            stale.starts_with("END ") && stale.contains("ڈائل"),
            "{stale}"
        );
    }
);

on_both!(
    an_sms_keyword_report_in_pashto_is_filed_once,
    |backend| async move {
        let app = app_with(backend, |_| {}).await;
        let text = "کونډه د پېښور صدر بازار سره";
        assert_eq!(sms(&app, "at-1", "03001234567", text).await.status(), 200);
        assert_eq!(
            sms(&app, "at-1", "03001234567", text).await.status(),
            200,
            "the gateway retries"
        );
        assert_eq!(app.count("reports").await, 1, "one report");
        let row = khidmat::reports::store::get(&app.db, 1)
            .await
            .unwrap()
            .unwrap();
        assert_eq!((row.channel.as_str(), row.lang.as_str()), ("sms", "ps"));
        assert_eq!(
            row.district.as_deref(),
            Some("peshawar"),
            "the district is read from the text"
        );
        assert_eq!(row.address.as_deref(), Some("د پېښور صدر بازار سره"));
        let sent = outbox(&app, PHONE).await;
        assert_eq!(sent.len(), 1, "one reply: {sent:?}");
        assert!(
            sent[0].0.contains("ترلاسه") && sent[0].0.contains('1'),
            "{sent:?}"
        );

        // A keyword without a place asks for the place; nonsense gets help; both in the sender's script.
        sms(&app, "at-2", PHONE, "KUNDA").await;
        sms(&app, "at-3", PHONE, "🙂🙂 hello?").await;
        sms(&app, "at-4", PHONE, "").await;
        let sent = outbox(&app, PHONE).await;
        assert!(
            sent[1].0.contains("KUNDA followed by the place"),
            "{sent:?}"
        );
        assert!(sent[2].0.starts_with("Khidmat: to report"), "{sent:?}");
        assert!(
            sent[3].0.contains("خدمت"),
            "an empty message: help in Urdu: {sent:?}"
        );
        assert_eq!(app.count("reports").await, 1);
        assert!(app.count("impact_events WHERE channel = 'sms'").await >= 3);
    }
);

on_both!(
    sms_status_answers_in_the_askers_language_and_guards_private_reports,
    |backend| async move {
        let app = app_with(backend, |_| {}).await;
        let key = app.department_key("pesco").await;
        let public = app
            .report(&[
                ("service_code", "kunda"),
                ("district", "peshawar"),
                ("attribute[premises]", "shop"),
                ("attribute[method]", "hook"),
                ("phone", "03001234567"),
            ])
            .await;
        app.staff_post(
            &format!("/api/v1/reports/{public}/updates"),
            &key,
            &serde_json::json!({"status": "in_progress", "note": "Team on the way"}),
        )
        .send()
        .await
        .unwrap();
        sms(&app, "q1", "03111111111", &format!("STATUS {public}")).await;
        sms(&app, "q2", "03111111111", &format!("حالت ۰{public}")).await;
        sms(&app, "q3", "03111111111", "STATUS 99999").await;
        let private = app
            .report(&[
                ("service_code", "rights-violation"),
                ("district", "swat"),
                ("attribute[category]", "child-labour"),
                ("attribute[ongoing]", "yes"),
                ("description", "x"),
                ("phone", "03001234567"),
            ])
            .await;
        sms(&app, "q4", "03111111111", &format!("STATUS {private}")).await;
        sms(&app, "q5", "03001234567", &format!("STATUS {private}")).await;
        let other = outbox(&app, "+923111111111").await;
        assert!(
            other[0].0.contains("In progress") && other[0].0.contains("Team on the way"),
            "{other:?}"
        );
        assert!(other[1].0.contains("کام جاری"), "{other:?}");
        assert!(other[2].0.contains("no report 99999"), "{other:?}");
        assert!(
            other[3].0.contains(&format!("no report {private}")),
            "a private report is not told to strangers: {other:?}"
        );
        let own = outbox(&app, PHONE).await;
        assert!(
            own.last()
                .unwrap()
                .0
                .starts_with(&format!("Report {private}: Open")),
            "{own:?}"
        );
    }
);

/// A gateway that fails its first `fail` requests, then takes messages.
pub async fn fake_gateway(fail: usize) -> (String, Arc<Mutex<Vec<String>>>) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let calls = Arc::new(AtomicUsize::new(0));
    let s = seen.clone();
    let app = axum::Router::new().route(
        "/send",
        axum::routing::get(move |uri: axum::http::Uri| {
            let s = s.clone();
            let calls = calls.clone();
            async move {
                if calls.fetch_add(1, Ordering::SeqCst) < fail {
                    return (axum::http::StatusCode::SERVICE_UNAVAILABLE, "modem busy");
                }
                s.lock().unwrap().push(uri.query().unwrap_or("").to_owned());
                (axum::http::StatusCode::OK, "0: Accepted for delivery")
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!(
        "http://{}/send?to={{to}}&text={{text}}",
        listener.local_addr().unwrap()
    );
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, seen)
}

/// A gateway that answers 503 while `failing` is set, and accepts after.
async fn switchable_gateway() -> (String, Arc<std::sync::atomic::AtomicBool>) {
    let failing = Arc::new(std::sync::atomic::AtomicBool::new(true));
    let f = failing.clone();
    let app = axum::Router::new().route(
        "/send",
        axum::routing::get(move || {
            let f = f.clone();
            async move {
                if f.load(Ordering::SeqCst) {
                    (axum::http::StatusCode::SERVICE_UNAVAILABLE, "modem busy")
                } else {
                    (axum::http::StatusCode::OK, "0: Accepted for delivery")
                }
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!(
        "http://{}/send?to={{to}}&text={{text}}",
        listener.local_addr().unwrap()
    );
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, failing)
}

on_both!(
    a_status_change_texts_the_reporter_retrying_a_failing_gateway,
    |backend| async move {
        let (url, seen) = fake_gateway(1).await;
        let app = app_with(backend, |c| {
            c.sms_gateway = "http".into();
            c.sms_http_url = url;
        })
        .await;
        let key = app.department_key("pesco").await;
        let resp = app
            .client
            .post(app.at("/open311/v2/requests.json?locale=ur"))
            .form(&[
                ("api_key", app.client_key.as_str()),
                ("service_code", "kunda"),
                ("district", "peshawar"),
                ("attribute[premises]", "shop"),
                ("attribute[method]", "hook"),
                ("phone", "0300-1234567"),
            ])
            .send()
            .await
            .unwrap();
        let body: Value = resp.json().await.unwrap();
        let id = body[0]["service_request_id"].as_str().unwrap().to_string();
        let resp = app
            .staff_post(
                &format!("/api/v1/reports/{id}/updates"),
                &key,
                &serde_json::json!({"status": "fixed", "note": "کنڈا ہٹا دیا گیا"}),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 201);
        let queries = eventually(|| {
            let seen = seen.clone();
            async move {
                let v = seen.lock().unwrap().clone();
                (!v.is_empty()).then_some(v)
            }
        })
        .await;
        let q: Vec<(String, String)> = serde_urlencoded::from_str(&queries[0]).unwrap();
        assert_eq!(q[0], ("to".into(), PHONE.into()));
        assert!(
            q[1].1.contains("حل ہو گیا") && q[1].1.contains("کنڈا ہٹا دیا گیا"),
            "in Urdu: {q:?}"
        );
        // The gateway has the message; the worker records it as sent just after.
        let report_id = id.parse::<i64>().unwrap();
        let (status, attempts, segments): (String, i64, i64) = eventually(|| {
            let db = app.db.clone();
            async move {
                let row: (String, i64, i64) = db
                    .fetch_one(
                        query("SELECT status, attempts, segments FROM sms_outbox WHERE report_id = $1")
                            .bind(report_id),
                    )
                    .await
                    .unwrap();
                (row.0 != "queued").then_some(row)
            }
        })
        .await;
        assert_eq!(
            (status.as_str(), attempts, segments),
            ("sent", 2, 1),
            "sent on the second try, in one segment"
        );
    }
);

on_both!(
    a_message_that_fails_every_attempt_is_a_dead_letter_admins_see,
    |backend| async move {
        let (url, failing) = switchable_gateway().await;
        let app = app_with(backend, |c| {
            c.sms_gateway = "http".into();
            c.sms_http_url = url;
        })
        .await;
        sms(&app, "d1", PHONE, "hello").await;
        // Four attempts already spent: the next failure is the last.
        app.db
            .execute(query("UPDATE sms_outbox SET attempts = 4"))
            .await
            .unwrap();
        eventually(|| async {
            let s: String = app
                .db
                .scalar(query("SELECT status FROM sms_outbox"))
                .await
                .unwrap();
            (s == "dead").then_some(())
        })
        .await;
        app.add_user("admin@kp.test", Role::Admin, None, None).await;
        let b = reqwest::Client::builder()
            .cookie_store(true)
            .build()
            .unwrap();
        b.post(app.at("/api/v1/login"))
        .json(&serde_json::json!({"email": "admin@kp.test", "password": "a long enough password"}))
        .send()
        .await
        .unwrap();
        let page = page(&b, &app, "/staff/messages?status=dead").await.1;
        assert!(
            page.contains("503") && page.contains("+92 3** *** **67"),
            "the error and a masked number"
        );
        assert!(!page.contains(PHONE), "never the whole number");

        // The gateway is mended: the administrator sends it again, and sends a test message.
        failing.store(false, Ordering::SeqCst);
        let csrf = hidden(&page, "csrf");
        let id: i64 = app
            .db
            .scalar(query("SELECT id FROM sms_outbox"))
            .await
            .unwrap();
        let (status, _) = submit(
            &b,
            &app,
            &format!("/staff/messages/{id}/retry"),
            &[("csrf", csrf.as_str())],
        )
        .await;
        assert!(status == 303 || status == 200, "{status}");
        let (status, _) = submit(
            &b,
            &app,
            "/staff/messages/test",
            &[("csrf", csrf.as_str()), ("phone", "0300 1112222")],
        )
        .await;
        assert!(status == 303 || status == 200, "{status}");
        eventually(|| async {
            (app.count("sms_outbox WHERE status = 'sent'").await == 2).then_some(())
        })
        .await;
        assert_eq!(
            app.count("audit_log WHERE action IN ('sms.retry', 'sms.test')")
                .await,
            2
        );
    }
);

on_both!(
    gateways_refuse_bad_secrets_and_bad_input_clearly,
    |backend| async move {
        let app = app_with(backend, |c| {
            c.sms_gateway = "smssync".into();
            c.sms_per_number_per_minute = 3;
        })
        .await;
        let post = |path: String, form: Vec<(&'static str, String)>| {
            let c = app.client.clone();
            let url = app.at(&path);
            async move { c.post(url).form(&form).send().await.unwrap() }
        };
        let wrong = post(
            "/channels/africastalking/sms?key=nope".into(),
            vec![
                ("from", PHONE.into()),
                ("text", "x".into()),
                ("id", "1".into()),
            ],
        )
        .await;
        assert_eq!(wrong.status(), 403);
        let missing = post(
            format!("/channels/africastalking/sms?key={SECRET}"),
            vec![("text", "x".into())],
        )
        .await;
        assert_eq!(missing.status(), 400);
        let bad_phone = post(
            format!("/channels/africastalking/ussd?key={SECRET}"),
            vec![
                ("sessionId", "z".into()),
                ("phoneNumber", "12".into()),
                ("text", "".into()),
            ],
        )
        .await;
        assert_eq!(bad_phone.status(), 400);
        assert!(
            bad_phone.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with("text/plain"),
            "a gateway's answer stays plain text (only the JSON APIs answer in JSON)"
        );
        assert!(bad_phone.text().await.unwrap().contains("phoneNumber"));

        // SMSSync: the reply comes back in the answer, for the phone to send.
        let wrong = post(
            "/channels/smssync".into(),
            vec![
                ("secret", "nope".into()),
                ("from", PHONE.into()),
                ("message", "x".into()),
            ],
        )
        .await;
        assert_eq!(wrong.status(), 403);
        let ok = post(
            "/channels/smssync".into(),
            vec![
                ("secret", SECRET.into()),
                ("from", PHONE.into()),
                ("message", "STATUS 5".into()),
                ("message_id", "m-1".into()),
                ("sent_timestamp", "1".into()),
            ],
        )
        .await;
        assert_eq!(ok.status(), 200);
        let body: Value = ok.json().await.unwrap();
        assert_eq!(body["payload"]["success"], true);
        assert_eq!(body["payload"]["task"], "send");
        assert_eq!(body["payload"]["messages"][0]["to"], PHONE);
        // Nothing left to collect.
        let pull: Value = app
            .client
            .get(app.at(&format!("/channels/smssync?task=send&secret={SECRET}")))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(pull["payload"]["messages"].as_array().unwrap().len(), 0);

        // Per-number limit: three a minute, then silence (no reply loops with other robots).
        for i in 2..=6 {
            post(
                "/channels/smssync".into(),
                vec![
                    ("secret", SECRET.into()),
                    ("from", PHONE.into()),
                    ("message", "hello".into()),
                    ("message_id", format!("m-{i}")),
                ],
            )
            .await;
        }
        assert_eq!(
            app.count("sms_outbox").await,
            3,
            "the limit holds (it is kept in the database)"
        );
    }
);

on_both!(
    arbitrary_messages_and_menu_inputs_never_break_the_gateways,
    |backend| async move {
        use proptest::strategy::{Strategy, ValueTree};
        let app = app_with(backend, |c| c.sms_per_number_per_minute = 0).await;
        let mut runner = proptest::test_runner::TestRunner::deterministic();
        let texts = "\\PC{0,200}|(STATUS|حالت|KUNDA|کونډه) \\PC{0,40}|[0-9*]{0,20}";
        for i in 0..60 {
            let text = texts.new_tree(&mut runner).unwrap().current();
            let resp = sms(&app, &format!("fz-{i}"), PHONE, &text).await;
            assert!(
                resp.status().as_u16() < 500,
                "SMS {text:?}: {}",
                resp.status()
            );
            let resp = app
                .client
                .post(app.at(&format!("/channels/africastalking/ussd?key={SECRET}")))
                .form(&[
                    ("sessionId", format!("fz-{}", i % 7)),
                    ("phoneNumber", PHONE.into()),
                    ("text", text.clone()),
                ])
                .send()
                .await
                .unwrap();
            let status = resp.status();
            let body = resp.text().await.unwrap();
            assert_eq!(status, 200, "USSD {text:?}: {body}");
            assert!(
                body.starts_with("CON ") || body.starts_with("END "),
                "{body}"
            );
            assert!(body.chars().count() <= 186, "{body}");
        }
    }
);

on_both!(
    help_names_no_keyword_a_deployment_does_not_have,
    |backend| async move {
        // No packs: no service reports by SMS.
        let app = app_with(backend, |c| c.demo = false).await;
        sms(&app, "help-1", PHONE, "hello?").await;
        let sent = outbox(&app, PHONE).await;
        assert_eq!(sent.len(), 1, "{sent:?}");
        assert!(
            sent[0]
                .0
                .starts_with("Khidmat: to follow a report, send STATUS"),
            "{sent:?}"
        );
        assert!(!sent[0].0.contains("KUNDA"), "{sent:?}");
    }
);
