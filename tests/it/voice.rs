//! Voice calls, driven as the gateways drive them: Africa's Talking's form posts answered in its
//! voice XML, and Twilio's, signed, answered in TwiML. A caller walks the same menus as USSD by
//! pressing keys, describes the problem after the beep, and hears the reference. On both stores.

use std::sync::{Arc, Mutex};

use khidmat::platform::db::query;
use khidmat::platform::identity::Role;

use crate::helpers::{eventually, login, spawn_with, Backend, TestApp};
use crate::on_both;

const SECRET: &str = "gateway-secret-for-tests";
const TWILIO_TOKEN: &str = "twilio-auth-token-for-tests";
const CALLER: &str = "+923001234567";

/// An MP3 as a gateway records it (an ID3 header, then frames).
fn mp3() -> Vec<u8> {
    let mut v = b"ID3\x03\x00\x00\x00\x00\x00\x0a".to_vec();
    v.extend((0..600u32).map(|i| (i * 13 % 251) as u8));
    v
}

/// A WAV recording (RIFF, WAVE, then samples).
fn wav() -> Vec<u8> {
    let mut v = b"RIFF\x24\x08\x00\x00WAVEfmt ".to_vec();
    v.extend((0..600u32).map(|i| (i * 11 % 251) as u8));
    v
}

/// Where the gateway keeps its recordings: serves `/rec.mp3`, counting the fetches.
async fn recordings() -> (String, Arc<Mutex<usize>>) {
    let fetched: Arc<Mutex<usize>> = Arc::default();
    let count = fetched.clone();
    let app = axum::Router::new().route(
        "/rec.mp3",
        axum::routing::get(move || {
            let count = count.clone();
            async move {
                *count.lock().unwrap() += 1;
                ([("content-type", "audio/mpeg")], mp3())
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("http://127.0.0.1:{port}/rec.mp3"), fetched)
}

async fn app_with(backend: Backend) -> TestApp {
    spawn_with(backend, |c| {
        c.channel_secret = Some(SECRET.into());
        c.twilio_auth_token = Some(TWILIO_TOKEN.into());
    })
    .await
}

/// What the gateways' APIs for placing calls were asked: the path, the headers, the form.
type Placed = Arc<Mutex<Vec<(String, axum::http::HeaderMap, Vec<(String, String)>)>>>;

/// Twilio's and Africa's Talking's APIs for placing calls, on a free port.
async fn call_apis() -> (String, Placed) {
    let placed: Placed = Arc::default();
    let keep = placed.clone();
    let app = axum::Router::new().route(
        "/{*path}",
        axum::routing::post(
            move |uri: axum::http::Uri,
                  headers: axum::http::HeaderMap,
                  axum::Form(form): axum::Form<Vec<(String, String)>>| {
                let keep = keep.clone();
                async move {
                    let twilio = uri.path().ends_with("/Calls.json");
                    keep.lock()
                        .unwrap()
                        .push((uri.path().to_owned(), headers, form.clone()));
                    let to = form.iter().find(|(k, _)| k == "to" || k == "To").map(|(_, v)| v.clone());
                    let body = if twilio {
                        serde_json::json!({"sid": "CAplaced0001", "status": "queued"})
                    } else {
                        serde_json::json!({"entries": [{"phoneNumber": to, "sessionId": "ATVId_out1", "status": "Queued"}], "errorMessage": "None"})
                    };
                    (axum::http::StatusCode::CREATED, axum::Json(body))
                }
            },
        ),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("http://127.0.0.1:{port}"), placed)
}

/// An app that places calls through `dialect`'s API at `base`.
async fn app_calling(backend: Backend, dialect: &'static str, base: String) -> TestApp {
    spawn_with(backend, move |c| {
        c.channel_secret = Some(SECRET.into());
        c.twilio_auth_token = Some(TWILIO_TOKEN.into());
        c.voice_gateway = dialect.into();
        c.voice_call_from = Some("+923110000000".into());
        c.twilio_account_sid = Some("ACtest".into());
        c.twilio_api_base = base.clone();
        c.africastalking_username = Some("khidmat".into());
        c.africastalking_api_key = Some("at-api-key".into());
        c.africastalking_voice_base = base;
    })
    .await
}

/// The form field `name` of a placed call.
fn form_field<'a>(form: &'a [(String, String)], name: &str) -> &'a str {
    form.iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
        .unwrap_or("")
}

fn unescape(s: &str) -> String {
    s.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&apos;", "'")
        .replace("&amp;", "&")
}

/// The words a response says, in order.
fn says(xml: &str) -> Vec<String> {
    xml.split("<Say")
        .skip(1)
        .filter_map(|s| {
            let start = s.find('>')? + 1;
            let end = s.find("</Say>")?;
            Some(unescape(&s[start..end]))
        })
        .collect()
}

/// The key the response says to press for the choice whose words hold `needle`.
fn key_for(xml: &str, needle: &str) -> Option<String> {
    says(xml)
        .into_iter()
        .find(|s| s.contains(needle))
        .map(|s| s.chars().filter(|c| c.is_ascii_digit()).collect::<String>())
}

/// Upload `bytes` as the prompt `(lang, name)` in the admin pages: `(status, where to or page)`.
async fn upload(
    b: &reqwest::Client,
    app: &TestApp,
    csrf: &str,
    (lang, name): (&str, &str),
    bytes: Vec<u8>,
) -> (u16, String) {
    let form = reqwest::multipart::Form::new()
        .text("csrf", csrf.to_owned())
        .text("lang", lang.to_owned())
        .text("name", name.to_owned())
        .part(
            "recording",
            reqwest::multipart::Part::bytes(bytes).file_name("p.mp3"),
        );
    let r = b
        .post(app.at("/staff/admin/prompts"))
        .multipart(form)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    let to = r
        .headers()
        .get("location")
        .map(|l| l.to_str().unwrap().to_owned());
    (status, to.unwrap_or(r.text().await.unwrap()))
}

/// One call on one gateway: each request's form, in its dialect.
struct Call<'a> {
    app: &'a TestApp,
    twilio: bool,
    session: &'a str,
}

impl Call<'_> {
    fn path(&self) -> String {
        let gateway = if self.twilio {
            "twilio"
        } else {
            "africastalking"
        };
        format!("/channels/voice/{gateway}?key={SECRET}")
    }

    fn form(&self, digits: Option<&str>, recording: Option<&str>) -> Vec<(String, String)> {
        let mut f: Vec<(&str, &str)> = if self.twilio {
            vec![
                ("CallSid", self.session),
                ("AccountSid", "AC00000000000000000000000000000000"),
                ("From", CALLER),
                ("To", "+923110000000"),
                ("CallStatus", "in-progress"),
                ("Direction", "inbound"),
            ]
        } else {
            vec![
                ("isActive", "1"),
                ("sessionId", self.session),
                ("direction", "Inbound"),
                ("callerNumber", CALLER),
                ("destinationNumber", "+923110000000"),
            ]
        };
        let (d, r) = if self.twilio {
            ("Digits", "RecordingUrl")
        } else {
            ("dtmfDigits", "recordingUrl")
        };
        if let Some(x) = digits {
            f.push((d, x));
        }
        if let Some(x) = recording {
            f.push((r, x));
        }
        f.into_iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect()
    }

    async fn post(
        &self,
        form: &[(String, String)],
        signature: Option<String>,
    ) -> reqwest::Response {
        let url = self.app.at(&self.path());
        let mut req = self.app.client.post(&url).form(form);
        if self.twilio {
            let sig = signature.unwrap_or_else(|| {
                khidmat::channels::voice::twilio_signature(TWILIO_TOKEN, &url, form)
            });
            req = req.header("x-twilio-signature", sig);
        }
        req.send().await.unwrap()
    }

    /// Press `digits` (or record at `recording`); the XML the gateway is answered.
    async fn press(&self, digits: Option<&str>, recording: Option<&str>) -> String {
        let resp = self.post(&self.form(digits, recording), None).await;
        assert_eq!(resp.status(), 200);
        assert!(resp.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/xml"));
        let xml = resp.text().await.unwrap();
        assert!(
            xml.starts_with("<?xml") && xml.contains("<Response>"),
            "{xml}"
        );
        xml
    }
}

/// The menus to a report of kunda in Peshawar, described aloud; returns the last response.
async fn report_by_call(
    call: &Call<'_>,
    lang_key: &str,
    w: (&str, &str, &str, &str),
    recording: &str,
) -> String {
    let (pesco, kunda, which_district, peshawar) = w;
    let first = call.press(None, None).await;
    let menu_verb = if call.twilio { "<Gather" } else { "<GetDigits" };
    assert!(first.contains(menu_verb), "{first}");
    assert!(
        says(&first).iter().any(|s| s.contains("English")),
        "{first}"
    );
    let xml = call.press(Some(lang_key), None).await;
    let xml = call
        .press(Some(&key_for(&xml, pesco).expect("PESCO")), None)
        .await;
    let mut xml = call
        .press(Some(&key_for(&xml, kunda).expect("kunda")), None)
        .await;
    // The questions, answered with the first choice, until the districts (nine a page).
    let mut steps = 0;
    while key_for(&xml, peshawar).is_none() {
        let districts = says(&xml).iter().any(|s| s.contains(which_district));
        xml = call
            .press(Some(if districts { "0" } else { "1" }), None)
            .await;
        steps += 1;
        assert!(steps < 10, "{xml}");
    }
    let xml = call
        .press(Some(&key_for(&xml, peshawar).expect("Peshawar")), None)
        .await;
    assert!(
        xml.contains("<Record"),
        "the description is recorded: {xml}"
    );
    assert!(xml.contains("playBeep=\"true\""), "{xml}");
    let confirm = call.press(None, Some(recording)).await;
    assert!(confirm.contains(menu_verb), "{confirm}");
    call.press(Some("1"), None).await
}

on_both!(
    a_caller_reports_by_voice_in_urdu_and_staff_hear_the_recording,
    |backend| async move {
        let (rec, fetched) = recordings().await;
        let (apis, placed) = call_apis().await;
        let app = app_calling(backend, "africastalking", apis).await;
        // An administrator records one Urdu prompt in the admin pages: it is played; the rest
        // is spoken.
        app.add_user("root@kp.gov.pk", Role::Admin, None, None)
            .await;
        let (admin, csrf) = login(&app, "root@kp.gov.pk").await;
        let (_, listing) = crate::helpers::page(&admin, &app, "/staff/admin/prompts?lang=ur").await;
        assert!(
            listing.contains("data-prompt=\"ussd-department\" data-recorded=\"false\""),
            "{listing}"
        );
        assert!(
            listing.contains("کون سا محکمہ"),
            "the words to record, in Urdu"
        );
        let (status, to) = upload(&admin, &app, &csrf, ("ur", "ussd-department"), mp3()).await;
        assert_eq!(status, 303, "{to}");
        // Not a recording, or not a prompt: refused, saying why.
        let (status, body) = upload(
            &admin,
            &app,
            &csrf,
            ("ur", "ussd-service"),
            b"<html>".to_vec(),
        )
        .await;
        assert_eq!(status, 422);
        assert!(body.contains("MP3"), "{body}");
        let (status, _) = upload(&admin, &app, &csrf, ("ur", "../../etc/passwd"), mp3()).await;
        assert_eq!(status, 422);
        // A department's manager records its own service's name, not the shared words.
        app.add_user("sp@pesco.gov.pk", Role::Manager, Some("pesco"), None)
            .await;
        let (manager, mcsrf) = login(&app, "sp@pesco.gov.pk").await;
        let (_, mine) = crate::helpers::page(&manager, &app, "/staff/admin/prompts?lang=ur").await;
        assert!(
            mine.contains("data-prompt=\"service-kunda\"")
                && !mine.contains("data-prompt=\"ussd-department\""),
            "{mine}"
        );
        assert!(
            !mine.contains("data-prompt=\"service-challan"),
            "another department's"
        );
        let (status, _) = upload(&manager, &app, &mcsrf, ("ur", "service-kunda"), mp3()).await;
        assert_eq!(status, 303);
        let (status, _) = upload(&manager, &app, &mcsrf, ("ur", "ussd-department"), mp3()).await;
        assert_eq!(status, 404, "the shared words are the administrators'");
        assert_eq!(app.count("voice_prompts").await, 2);
        assert_eq!(
            app.count("audit_log WHERE action = 'voice.prompt'").await,
            2
        );

        let call = Call {
            app: &app,
            twilio: false,
            session: "ATVId_1",
        };
        let first = call.press(None, None).await;
        assert!(
            first.contains("<GetDigits") && first.contains("finishOnKey=\"#\""),
            "{first}"
        );
        let departments = call.press(Some("2"), None).await;
        assert!(
            !departments.contains(['\u{2068}', '\u{2069}', '\u{200e}']),
            "no direction marks for the voice to stumble on: {departments}"
        );
        let play = format!(
            "<Play url=\"{}/channels/voice/prompts/ur/ussd-department.mp3\"/>",
            app.url
        );
        assert!(
            departments.contains(&play),
            "the recording, not speech: {departments}"
        );
        let served = app
            .get("/channels/voice/prompts/ur/ussd-department.mp3")
            .await;
        assert_eq!(served.status(), 200);
        assert_eq!(served.bytes().await.unwrap().to_vec(), mp3());
        assert_eq!(
            app.get("/channels/voice/prompts/ur/..%2Fsecret.mp3")
                .await
                .status(),
            404
        );

        let call = Call {
            app: &app,
            twilio: false,
            session: "ATVId_2",
        };
        let end = report_by_call(&call, "2", ("پیسکو", "کنڈا", "کون سا ضلع", "پشاور"), &rec).await;
        assert!(!end.contains("<GetDigits"), "the call ends: {end}");
        let said = says(&end).join(" ");
        assert!(said.contains("موصول"), "{said}");
        let (id, channel, lang): (i64, String, String) = app
            .db
            .fetch_one(query("SELECT id, channel, lang FROM reports"))
            .await
            .unwrap();
        assert_eq!((channel.as_str(), lang.as_str()), ("voice", "ur"));
        let spelled: String = id.to_string().chars().map(|c| format!("{c} ")).collect();
        assert!(
            said.contains(spelled.trim_end()),
            "the reference digit by digit: {said}"
        );
        // The reference comes by SMS too.
        let sms: (String,) = app
            .db
            .fetch_one(
                query("SELECT body FROM sms_outbox WHERE phone = $1 AND report_id = $2")
                    .bind(CALLER)
                    .bind(id),
            )
            .await
            .unwrap();
        assert!(sms.0.contains(&id.to_string()), "{sms:?}");
        // The recording is fetched after the call and played to the department.
        eventually(|| {
            let db = app.db.clone();
            async move { khidmat::reports::voice(&db, id).await.unwrap().map(|_| ()) }
        })
        .await;
        assert_eq!(*fetched.lock().unwrap(), 1);
        app.add_user(
            "officer@pesco.test",
            Role::Officer,
            Some("pesco"),
            Some("peshawar"),
        )
        .await;
        let (b, _) = login(&app, "officer@pesco.test").await;
        let audio = b
            .get(app.at(&format!("/staff/reports/{id}/voice")))
            .send()
            .await
            .unwrap();
        assert_eq!(audio.status(), 200);
        assert_eq!(audio.headers()["content-type"], "audio/mpeg");
        assert_eq!(audio.bytes().await.unwrap().to_vec(), mp3());
        // A status change reaches the caller by SMS, in Urdu.
        let key = app.department_key("pesco").await;
        let resp = app
            .staff_post(
                &format!("/api/v1/reports/{id}/updates"),
                &key,
                &serde_json::json!({"status": "in_progress", "note": "ٹیم روانہ ہو گئی"}),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 201);
        let texts: Vec<(String,)> = app
            .db
            .fetch_all(
                query(
                    "SELECT body FROM sms_outbox WHERE phone = $1 AND report_id = $2 AND gateway <> 'call' ORDER BY id",
                )
                .bind(CALLER)
                .bind(id),
            )
            .await
            .unwrap();
        assert_eq!(texts.len(), 2, "{texts:?}");
        assert!(texts[1].0.contains("ٹیم روانہ ہو گئی"), "{texts:?}");
        // …and by a call back, through Africa's Talking: placed with the API key, then, once
        // answered, the callback says the change, the number digit by digit, twice.
        let (path, headers, form) = eventually(|| {
            let placed = placed.clone();
            async move { placed.lock().unwrap().first().cloned() }
        })
        .await;
        assert_eq!(path, "/call");
        assert_eq!(headers["apikey"], "at-api-key");
        assert_eq!(
            (
                form_field(&form, "username"),
                form_field(&form, "to"),
                form_field(&form, "from")
            ),
            ("khidmat", CALLER, "+923110000000")
        );
        let request = form_field(&form, "clientRequestId").to_owned();
        assert!(request.starts_with("khidmat-"), "{form:?}");
        let answered = app
            .client
            .post(app.at(&format!("/channels/voice/africastalking?key={SECRET}")))
            .form(&[
                ("isActive", "1"),
                ("sessionId", "ATVId_out1"),
                ("direction", "Outbound"),
                ("callerNumber", "+923110000000"),
                ("destinationNumber", CALLER),
                ("clientRequestId", request.as_str()),
            ])
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let spoken = says(&answered);
        assert_eq!(spoken.len(), 2, "said twice: {answered}");
        assert!(
            spoken[0].contains("ٹیم روانہ ہو گئی") && spoken[0].contains(spelled.trim_end()),
            "{answered}"
        );
        assert!(!answered.contains("<GetDigits"), "{answered}");
        let (status, call_id): (String, Option<String>) = eventually(|| {
            let db = app.db.clone();
            async move {
                db.fetch_optional::<(String, Option<String>)>(
                    query("SELECT status, external_id FROM sms_outbox WHERE gateway = 'call' AND status <> 'queued'"),
                )
                .await
                .unwrap()
            }
        })
        .await;
        assert_eq!(
            (status.as_str(), call_id.as_deref()),
            ("sent", Some("ATVId_out1"))
        );
        // The gateway's last notice, once the call is over.
        let over = app
            .client
            .post(app.at(&call.path()))
            .form(&[
                ("isActive", "0"),
                ("sessionId", "ATVId_2"),
                ("callerNumber", CALLER),
                ("durationInSeconds", "95"),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(over.status(), 200);
        assert_eq!(app.count("reports").await, 1);
        assert_eq!(
            app.count("impact_events WHERE channel = 'voice' AND kind = 'report_submitted'")
                .await,
            1
        );
    }
);

on_both!(
    a_twilio_call_in_pashto_is_signed_reports_and_asks_after_its_report,
    |backend| async move {
        let (rec, _) = recordings().await;
        let (apis, placed) = call_apis().await;
        let app = app_calling(backend, "twilio", apis).await;
        // Forged or missing signatures, and a wrong key, are refused.
        let call = Call {
            app: &app,
            twilio: true,
            session: "CA1",
        };
        let form = call.form(None, None);
        assert_eq!(
            call.post(&form, Some("bm90IGl0".into())).await.status(),
            403
        );
        let unsigned = app
            .client
            .post(app.at(&call.path()))
            .form(&form)
            .send()
            .await
            .unwrap();
        assert_eq!(unsigned.status(), 403);
        let wrong_key = app
            .client
            .post(app.at("/channels/voice/twilio?key=guess"))
            .form(&form)
            .send()
            .await
            .unwrap();
        assert_eq!(wrong_key.status(), 403);
        assert_eq!(app.count("ussd_sessions").await, 0);
        // Africa's Talking with a request that names no caller, or a caller abroad: 400, said.
        for form in [
            vec![("isActive", "1"), ("sessionId", "x")],
            vec![
                ("isActive", "1"),
                ("sessionId", "x"),
                ("callerNumber", "+14155550100"),
            ],
            vec![("isActive", "1"), ("callerNumber", CALLER)],
        ] {
            let resp = app
                .client
                .post(app.at(&format!("/channels/voice/africastalking?key={SECRET}")))
                .form(&form)
                .send()
                .await
                .unwrap();
            assert_eq!(resp.status(), 400);
            assert!(!resp.text().await.unwrap().is_empty(), "it says why");
        }

        let end = report_by_call(
            &call,
            "3",
            ("پیسکو", "کونډه", "کومه ولسوالي", "پېښور"),
            &rec,
        )
        .await;
        assert!(end.ends_with("<Hangup/></Response>"), "{end}");
        assert!(says(&end).join(" ").contains("ترلاسه شو"), "{end}");
        let (id, lang): (i64, String) = app
            .db
            .fetch_one(query("SELECT id, lang FROM reports"))
            .await
            .unwrap();
        assert_eq!(lang, "ps");

        // Another call asks where it stands: the last choice of the first menu, then the number.
        let ask = Call {
            app: &app,
            twilio: true,
            session: "CA2",
        };
        ask.press(None, None).await;
        let menu = ask.press(Some("3"), None).await;
        let key = key_for(&menu, "زما شکایت چېرته دی").expect("the status choice");
        let prompt = ask.press(Some(&key), None).await;
        assert!(says(&prompt).join(" ").contains("شمېره"), "{prompt}");
        let answer = ask.press(Some(&format!("{id}#")), None).await;
        let said = says(&answer).join(" ");
        let spelled: String = id.to_string().chars().map(|c| format!("{c} ")).collect();
        assert!(said.contains(spelled.trim_end()), "{said}");
        assert!(said.contains("تر غور لاندې"), "open, in Pashto: {said}");

        // A change of the report calls the caller back through Twilio's API, in Pashto.
        let key = app.department_key("pesco").await;
        let resp = app
            .staff_post(
                &format!("/api/v1/reports/{id}/updates"),
                &key,
                &serde_json::json!({"status": "fixed", "note": "کونډه لرې شوه"}),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 201);
        let (path, headers, form) = eventually(|| {
            let placed = placed.clone();
            async move { placed.lock().unwrap().first().cloned() }
        })
        .await;
        assert_eq!(path, "/2010-04-01/Accounts/ACtest/Calls.json");
        use base64::Engine;
        let basic =
            base64::engine::general_purpose::STANDARD.encode(format!("ACtest:{TWILIO_TOKEN}"));
        assert_eq!(headers["authorization"], format!("Basic {basic}").as_str());
        assert_eq!(
            (form_field(&form, "To"), form_field(&form, "From")),
            (CALLER, "+923110000000")
        );
        let twiml = form_field(&form, "Twiml");
        assert_eq!(says(twiml).len(), 2, "said twice: {twiml}");
        assert!(
            says(twiml)[0].contains("کونډه لرې شوه") && says(twiml)[0].contains("حل شو"),
            "{twiml}"
        );

        // A silent caller is asked again twice, then told goodbye.
        let quiet = Call {
            app: &app,
            twilio: true,
            session: "CA3",
        };
        quiet.press(None, None).await;
        for _ in 0..2 {
            assert!(quiet.press(None, None).await.contains("<Gather"));
        }
        let bye = quiet.press(None, None).await;
        assert!(
            bye.contains("<Hangup/>") && !bye.contains("<Gather"),
            "{bye}"
        );
    }
);

on_both!(
    the_operator_loads_recorded_prompts_and_lists_what_each_language_lacks,
    |backend| async move {
        let app = app_with(backend).await;
        let dir = app.data_dir.join("recordings");
        std::fs::create_dir_all(dir.join("ps")).unwrap();
        std::fs::write(dir.join("ps/service-kunda.mp3"), mp3()).unwrap();
        std::fs::write(dir.join("ps/press-1.mp3"), mp3()).unwrap();
        std::fs::write(dir.join("ps/press-2.wav"), wav()).unwrap();
        let run = |args: &[&str]| {
            crate::cli::khidmat(&app.data_dir, app.database_url.as_deref(), args, None)
        };
        let (ok, out, err) = run(&["voice", "import", dir.to_str().unwrap()]);
        assert!(ok, "{out}{err}");
        assert!(out.contains("3 prompts kept, 0 refused"), "{out}");
        // A file that is no recording, or names no prompt: refused, named, and the rest kept.
        std::fs::write(dir.join("ps/ussd-service.mp3"), b"not sound").unwrap();
        std::fs::write(dir.join("ps/no-such-prompt.mp3"), mp3()).unwrap();
        let (ok, out, _) = run(&["voice", "import", dir.to_str().unwrap()]);
        assert!(!ok, "{out}");
        assert!(
            out.contains("ussd-service.mp3") && out.contains("no-such-prompt.mp3"),
            "{out}"
        );
        let (ok, out, err) = run(&["voice", "prompts"]);
        assert!(ok, "{out}{err}");
        // A language's part of the listing: its count, then its missing prompts.
        let section = |lang: &str| -> String {
            let mut lines = out
                .lines()
                .skip_while(|l| !l.starts_with(&format!("{lang}: ")));
            let head = lines.next().unwrap_or_else(|| panic!("{lang} in {out}"));
            std::iter::once(head)
                .chain(lines.take_while(|l| l.starts_with("  ")))
                .collect::<Vec<_>>()
                .join("\n")
        };
        let ps = section("ps");
        assert!(ps.starts_with("ps: 3 of "), "{ps}");
        assert!(
            !ps.contains("ps/service-kunda.mp3") && !ps.contains("ps/press-1.mp3"),
            "{ps}"
        );
        assert!(
            ps.contains("ps/district-peshawar.mp3  پېښور"),
            "with the words to say: {ps}"
        );
        let ur = section("ur");
        assert!(
            ur.starts_with("ur: 0 of ") && ur.contains("ur/service-kunda.mp3"),
            "{ur}"
        );
        // The call plays what was loaded.
        let call = Call {
            app: &app,
            twilio: false,
            session: "ATVId_cli",
        };
        call.press(None, None).await;
        let departments = call.press(Some("3"), None).await;
        let pesco = key_for(&departments, "پیسکو").unwrap();
        let services = call.press(Some(&pesco), None).await;
        // Kunda is the second choice: its name, then "press 2", both recorded.
        let base = format!("{}/channels/voice/prompts/ps", app.url);
        assert!(
            services.contains(&format!(
                "<Play url=\"{base}/service-kunda.mp3\"/><Play url=\"{base}/press-2.wav\"/>"
            )),
            "{services}"
        );
        let wav_served = app.get("/channels/voice/prompts/ps/press-2.wav").await;
        assert_eq!(wav_served.headers()["content-type"], "audio/wav");
        assert_eq!(
            app.get("/channels/voice/prompts/ps/press-2.mp3")
                .await
                .status(),
            404
        );
    }
);

on_both!(
    a_caller_hears_the_nearest_public_toilets_of_a_district_in_urdu,
    |backend| async move {
        let app = app_with(backend).await;
        let call = Call {
            app: &app,
            twilio: false,
            session: "ATVId_find",
        };
        call.press(None, None).await;
        let first = call.press(Some("2"), None).await;
        let find = key_for(&first, "قریب کوئی جگہ تلاش کریں").expect("find a place");
        let kinds = call.press(Some(&find), None).await;
        let toilets = key_for(&kinds, "عوامی بیت الخلا").expect("public toilets");
        let mut xml = call.press(Some(&toilets), None).await;
        let mut pages = 0;
        let peshawar = loop {
            if let Some(k) = key_for(&xml, "پشاور") {
                break k;
            }
            xml = call.press(Some("0"), None).await;
            pages += 1;
            assert!(pages < 6, "{xml}");
        };
        let answer = call.press(Some(&peshawar), None).await;
        assert!(!answer.contains("<GetDigits"), "the call ends: {answer}");
        let said = says(&answer).join(" ");
        assert!(said.contains("عوامی بیت الخلا،"), "{said}");
        assert_eq!(
            app.count("impact_events WHERE channel = 'voice' AND kind = 'directory_search'")
                .await,
            1
        );
    }
);
