//! WhatsApp, driven as Meta drives it: signed webhook notifications in the Cloud API's shape,
//! and a local Graph API that takes the messages Khidmat sends (with its bearer token) and
//! serves media by id. On both stores.

use std::sync::{Arc, Mutex};

use khidmat::platform::db::query;
use khidmat::platform::identity::Role;
use serde_json::{json, Value};

use crate::helpers::{eventually, login, png, spawn_with, Backend, TestApp};
use crate::on_both;

const APP_SECRET: &str = "app-secret-for-tests";
const VERIFY: &str = "verify-token-for-tests";
const TOKEN: &str = "access-token-for-tests";
const NUMBER_ID: &str = "106540352242922";
const PHONE: &str = "923001234567";

/// A voice note as WhatsApp sends them: Ogg (Opus).
fn ogg() -> Vec<u8> {
    let mut v = b"OggS\x00\x02".to_vec();
    v.extend((0..400u32).map(|i| (i * 7 % 251) as u8));
    v
}

/// The local Graph API: what it was sent, in order.
struct Graph {
    base: String,
    sent: Arc<Mutex<Vec<Value>>>,
}

async fn graph() -> Graph {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let sent: Arc<Mutex<Vec<Value>>> = Arc::default();
    let keep = sent.clone();
    let authorised = |h: &axum::http::HeaderMap| {
        h.get("authorization").and_then(|v| v.to_str().ok()) == Some(&format!("Bearer {TOKEN}"))
    };
    let unauthorised = || {
        (
            axum::http::StatusCode::UNAUTHORIZED,
            axum::Json(json!({"error": {"message": "Invalid OAuth access token", "code": 190}})),
        )
    };
    use axum::response::IntoResponse;
    let app = axum::Router::new()
        .route(
            "/v21.0/{id}/messages",
            axum::routing::post(
                move |axum::extract::Path(id): axum::extract::Path<String>,
                      headers: axum::http::HeaderMap,
                      axum::Json(body): axum::Json<Value>| {
                    let keep = keep.clone();
                    async move {
                        if !authorised(&headers) || id != NUMBER_ID {
                            return unauthorised().into_response();
                        }
                        let mut v = keep.lock().unwrap();
                        v.push(body.clone());
                        axum::Json(json!({
                            "messaging_product": "whatsapp",
                            "contacts": [{"input": body["to"], "wa_id": body["to"]}],
                            "messages": [{"id": format!("wamid.test{}", v.len())}],
                        }))
                        .into_response()
                    }
                },
            ),
        )
        .route(
            "/v21.0/{id}",
            axum::routing::get(
                move |axum::extract::Path(id): axum::extract::Path<String>,
                      headers: axum::http::HeaderMap| async move {
                    if !authorised(&headers) {
                        return unauthorised().into_response();
                    }
                    let (mime, size) = match id.as_str() {
                        "1001" => ("image/png", png(40, 30).len()),
                        "2002" => ("audio/ogg; codecs=opus", ogg().len()),
                        _ => return axum::http::StatusCode::NOT_FOUND.into_response(),
                    };
                    axum::Json(json!({
                        "messaging_product": "whatsapp",
                        "url": format!("http://127.0.0.1:{port}/media/{id}"),
                        "mime_type": mime,
                        "file_size": size,
                        "id": id,
                    }))
                    .into_response()
                },
            ),
        )
        .route(
            "/media/{id}",
            axum::routing::get(
                move |axum::extract::Path(id): axum::extract::Path<String>,
                      headers: axum::http::HeaderMap| async move {
                    if !authorised(&headers) {
                        return unauthorised().into_response();
                    }
                    match id.as_str() {
                        "1001" => png(40, 30).into_response(),
                        "2002" => ogg().into_response(),
                        _ => axum::http::StatusCode::NOT_FOUND.into_response(),
                    }
                },
            ),
        );
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    Graph {
        base: format!("http://127.0.0.1:{port}/v21.0"),
        sent,
    }
}

async fn app_with(backend: Backend, graph: &Graph, template: bool) -> TestApp {
    let base = graph.base.clone();
    spawn_with(backend, move |c| {
        c.whatsapp_phone_number_id = Some(NUMBER_ID.into());
        c.whatsapp_access_token = Some(TOKEN.into());
        c.whatsapp_app_secret = Some(APP_SECRET.into());
        c.whatsapp_verify_token = Some(VERIFY.into());
        c.whatsapp_api_base = base;
        if template {
            c.whatsapp_status_template = Some("report_status".into());
        }
    })
    .await
}

/// A notification carrying one message from `from`, in the Cloud API's shape.
fn notification(from: &str, id: &str, content: Value) -> Value {
    let mut message = json!({"from": from, "id": id, "timestamp": "1765000000"});
    for (k, v) in content.as_object().unwrap() {
        message[k] = v.clone();
    }
    json!({
        "object": "whatsapp_business_account",
        "entry": [{"id": "102290129340398", "changes": [{"field": "messages", "value": {
            "messaging_product": "whatsapp",
            "metadata": {"display_phone_number": "923110000000", "phone_number_id": NUMBER_ID},
            "contacts": [{"profile": {"name": "A citizen"}, "wa_id": from}],
            "messages": [message],
        }}]}],
    })
}

fn words(text: &str) -> Value {
    json!({"type": "text", "text": {"body": text}})
}

fn chose(id: &str) -> Value {
    json!({"type": "interactive", "interactive": {"type": "list_reply", "list_reply": {"id": id, "title": "…"}}})
}

fn pressed(id: &str) -> Value {
    json!({"type": "interactive", "interactive": {"type": "button_reply", "button_reply": {"id": id, "title": "…"}}})
}

/// Post a notification signed with `secret`.
async fn post(app: &TestApp, body: &Value, secret: &str) -> reqwest::Response {
    let raw = serde_json::to_vec(body).unwrap();
    app.client
        .post(app.at("/channels/whatsapp"))
        .header("content-type", "application/json")
        .header(
            "x-hub-signature-256",
            khidmat::platform::whatsapp::sign(secret, &raw),
        )
        .body(raw)
        .send()
        .await
        .unwrap()
}

/// A conversation on one phone: each message gets a fresh id; the replies it caused are read
/// from the outbox as they were queued.
struct Chat<'a> {
    app: &'a TestApp,
    phone: &'a str,
    n: usize,
    seen: i64,
}

impl<'a> Chat<'a> {
    fn new(app: &'a TestApp, phone: &'a str) -> Self {
        Chat {
            app,
            phone,
            n: 0,
            seen: 0,
        }
    }

    /// Send `content`; the messages queued in answer.
    async fn send(&mut self, content: Value) -> Vec<Value> {
        self.n += 1;
        let id = format!("wamid.in.{}.{}", self.phone, self.n);
        let resp = post(
            self.app,
            &notification(self.phone, &id, content),
            APP_SECRET,
        )
        .await;
        assert_eq!(resp.status(), 200, "{}", resp.text().await.unwrap());
        self.replies().await
    }

    async fn replies(&mut self) -> Vec<Value> {
        let rows: Vec<(i64, String)> = self
            .app
            .db
            .fetch_all(
                query(
                    "SELECT id, payload FROM sms_outbox WHERE gateway = 'whatsapp' AND phone = $1 AND id > $2 ORDER BY id",
                )
                .bind(format!("+{}", self.phone))
                .bind(self.seen),
            )
            .await
            .unwrap();
        if let Some((id, _)) = rows.last() {
            self.seen = *id;
        }
        rows.into_iter()
            .map(|(_, p)| serde_json::from_str(&p).unwrap())
            .collect()
    }
}

/// The body text of a message (text or interactive).
fn body(m: &Value) -> String {
    m["text"]["body"]
        .as_str()
        .or(m["interactive"]["body"]["text"].as_str())
        .unwrap_or("")
        .to_owned()
}

/// The id of the list row or button whose title or description holds `needle`.
fn option(m: &Value, needle: &str) -> Option<String> {
    let i = &m["interactive"];
    let rows = i["action"]["sections"][0]["rows"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let buttons: Vec<Value> = i["action"]["buttons"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|b| b["reply"].clone())
        .collect();
    rows.iter().chain(buttons.iter()).find_map(|r| {
        let text = format!(
            "{} {}",
            r["title"].as_str().unwrap_or(""),
            r["description"].as_str().unwrap_or("")
        );
        text.contains(needle)
            .then(|| r["id"].as_str().unwrap().to_owned())
    })
}

/// What a language's menus say at each step, to find the way through them.
struct Words {
    greeting: &'static str,
    department: &'static str,
    pesco: &'static str,
    kunda: &'static str,
    describe: &'static str,
    photo_count: &'static str,
    confirm_place: &'static str,
    received: &'static str,
    fixed: &'static str,
    note: &'static str,
}

const URDU: Words = Words {
    greeting: "السلام علیکم",
    department: "کون سا محکمہ",
    pesco: "پیسکو",
    kunda: "کنڈا",
    describe: "مسئلہ بیان کریں",
    photo_count: "تصویر موصول",
    confirm_place: "آپ کا بھیجا ہوا مقام",
    received: "موصول",
    fixed: "حل ہو گیا",
    note: "کنڈا ہٹا دیا گیا",
};

const PASHTO: Words = Words {
    greeting: "ښه ورځ مو پخیر",
    department: "کومه اداره",
    pesco: "پیسکو",
    kunda: "کونډه",
    describe: "ستونزه بیان کړئ",
    photo_count: "انځور ترلاسه شو",
    confirm_place: "هغه ځای چې تاسو ولېږه",
    received: "ترلاسه شو",
    fixed: "حل شو",
    note: "کونډه لرې شوه",
};

/// A whole report through the menus: greeting, department, service, its questions, a shared
/// location, a voice note, a photo, confirm. Returns the report's id.
async fn report_by_menus(chat: &mut Chat<'_>, w: &Words) -> i64 {
    let out = chat.send(words(w.greeting)).await;
    let menu = out.last().unwrap();
    assert!(body(menu).contains(w.department), "{menu}");
    assert_eq!(menu["interactive"]["type"], "list", "{menu}");
    let rows = menu["interactive"]["action"]["sections"][0]["rows"]
        .as_array()
        .unwrap();
    assert!(rows.len() <= 10, "a list has at most ten rows");
    let pesco = option(menu, w.pesco).expect("PESCO is listed");
    let out = chat.send(chose(&pesco)).await;
    let kunda = option(out.last().unwrap(), w.kunda).expect("kunda is listed");
    let mut out = chat.send(chose(&kunda)).await;
    // The service's list questions, answered with their first choice, until the place is asked.
    let mut asked = 0;
    while !out
        .iter()
        .any(|m| m["interactive"]["type"] == "location_request_message")
    {
        out = chat.send(pressed("1")).await;
        asked += 1;
        assert!(asked < 10, "{out:?}");
    }
    assert!(asked >= 1, "kunda asks its questions");
    // The districts follow the location request, as a list with "more".
    let districts = out.last().unwrap();
    assert_eq!(districts["interactive"]["type"], "list", "{districts}");
    assert_eq!(option(districts, "…"), None);
    // Peshawar, shared as a location.
    let out = chat
        .send(json!({"type": "location", "location": {"latitude": 34.0151, "longitude": 71.5249, "name": "Qissa Khwani"}}))
        .await;
    let ask = out.last().unwrap();
    assert!(body(ask).contains(w.describe), "{ask}");
    assert!(option(ask, "").is_some(), "a skip button: {ask}");
    let out = chat
        .send(json!({"type": "audio", "audio": {"id": "2002", "mime_type": "audio/ogg; codecs=opus", "voice": true}}))
        .await;
    assert_eq!(out.last().unwrap()["interactive"]["type"], "button");
    let out = chat
        .send(json!({"type": "image", "image": {"id": "1001", "mime_type": "image/png", "caption": ""}}))
        .await;
    let more = out.last().unwrap();
    assert!(body(more).contains(w.photo_count), "{more}");
    let out = chat.send(pressed("1")).await;
    let confirm = out.last().unwrap();
    assert!(body(confirm).contains(w.confirm_place), "{confirm}");
    let out = chat.send(pressed("1")).await;
    let done = body(&out[0]);
    assert!(done.contains(w.received), "{done}");
    done.split(|c: char| !c.is_ascii_digit())
        .find(|s| !s.is_empty())
        .unwrap()
        .parse()
        .unwrap()
}

on_both!(
    a_citizen_reports_on_whatsapp_with_a_place_a_voice_note_and_a_photo_and_hears_back_there,
    |backend| async move {
        let g = graph().await;
        let app = app_with(backend, &g, false).await;
        for (phone, w, lang) in [(PHONE, &URDU, "ur"), ("923451112233", &PASHTO, "ps")] {
            let mut chat = Chat::new(&app, phone);
            let id = report_by_menus(&mut chat, w).await;
            let row = khidmat::reports::store::get(&app.db, id)
                .await
                .unwrap()
                .unwrap();
            assert_eq!(
                (
                    row.channel.as_str(),
                    row.lang.as_str(),
                    row.service_code.as_str()
                ),
                ("whatsapp", lang, "kunda")
            );
            assert_eq!(
                row.district.as_deref(),
                Some("peshawar"),
                "from the location"
            );
            assert!((row.lat.unwrap() - 34.0151).abs() < 1e-6);
            assert_eq!(
                row.contact_phone.as_deref(),
                Some(format!("+{phone}").as_str())
            );
            let photos: i64 = app
                .db
                .scalar(query("SELECT COUNT(*) FROM report_photos WHERE report_id = $1").bind(id))
                .await
                .unwrap();
            assert_eq!(photos, 1, "the photo came through the media endpoint");
            let voice = khidmat::reports::voice(&app.db, id).await.unwrap();
            assert_eq!(voice.map(|v| v.1).as_deref(), Some("audio/ogg"));

            // The department listens to it; another department cannot.
            let department = app.department_key("pesco").await;
            let _ = department;
            let officer = format!("officer.{lang}@pesco.test");
            app.add_user(&officer, Role::Officer, Some("pesco"), Some("peshawar"))
                .await;
            let (b, _) = login(&app, &officer).await;
            let page = b
                .get(app.at(&format!("/staff/reports/{id}")))
                .send()
                .await
                .unwrap()
                .text()
                .await
                .unwrap();
            assert!(
                page.contains(&format!(
                    "<audio controls preload=\"none\" src=\"/staff/reports/{id}/voice\""
                )),
                "{page}"
            );
            let audio = b
                .get(app.at(&format!("/staff/reports/{id}/voice")))
                .send()
                .await
                .unwrap();
            assert_eq!(audio.status(), 200);
            assert_eq!(audio.headers()["content-type"], "audio/ogg");
            assert_eq!(audio.bytes().await.unwrap().to_vec(), ogg());
            let stranger = format!("stranger.{lang}@excise.test");
            app.add_user(&stranger, Role::Officer, Some("excise"), Some("peshawar"))
                .await;
            let (b, _) = login(&app, &stranger).await;
            let refused = b
                .get(app.at(&format!("/staff/reports/{id}/voice")))
                .send()
                .await
                .unwrap();
            assert_eq!(refused.status(), 404);

            // A status change reaches the citizen on WhatsApp, in their language (they wrote
            // within the day, so a free message).
            let key = app.department_key("pesco").await;
            let resp = app
                .staff_post(
                    &format!("/api/v1/reports/{id}/updates"),
                    &key,
                    &json!({"status": "fixed", "note": w.note}),
                )
                .send()
                .await
                .unwrap();
            assert_eq!(resp.status(), 201);
            let told = chat.replies().await;
            assert_eq!(told.len(), 1, "{told:?}");
            assert_eq!(told[0]["type"], "text");
            let said = body(&told[0]);
            assert!(said.contains(w.fixed) && said.contains(w.note), "{said}");
            let sms: i64 = app
                .db
                .scalar(
                    query("SELECT COUNT(*) FROM sms_outbox WHERE gateway <> 'whatsapp' AND report_id = $1")
                        .bind(id),
                )
                .await
                .unwrap();
            assert_eq!(sms, 0, "not by SMS as well");
            // Had WhatsApp failed to deliver it, the change would have gone by SMS.
            let wamid: String = eventually(|| {
                let db = app.db.clone();
                async move {
                    db.fetch_optional::<(Option<String>,)>(
                        query("SELECT external_id FROM sms_outbox WHERE gateway = 'whatsapp' AND report_id = $1")
                            .bind(id),
                    )
                    .await
                    .unwrap()
                    .and_then(|r| r.0)
                }
            })
            .await;
            let failed = json!({"object": "whatsapp_business_account", "entry": [{"id": "1", "changes": [{"field": "messages", "value": {
                "messaging_product": "whatsapp",
                "metadata": {"display_phone_number": "923110000000", "phone_number_id": NUMBER_ID},
                "statuses": [{"id": wamid, "status": "failed", "timestamp": "1765000100", "recipient_id": phone,
                              "errors": [{"code": 131047, "title": "Re-engagement message"}]}],
            }}]}]});
            for _ in 0..2 {
                assert_eq!(post(&app, &failed, APP_SECRET).await.status(), 200);
            }
            let by_sms: Vec<(String,)> = app
                .db
                .fetch_all(
                    query("SELECT body FROM sms_outbox WHERE gateway <> 'whatsapp' AND report_id = $1")
                        .bind(id),
                )
                .await
                .unwrap();
            assert_eq!(
                by_sms.len(),
                1,
                "once, however often the failure is reported"
            );
            assert!(by_sms[0].0.contains(w.note), "{by_sms:?}");
        }
        // Everything queued reached the Graph API, with the token, and was marked sent.
        let queued = app.count("sms_outbox WHERE gateway = 'whatsapp'").await;
        eventually(|| {
            let app = &app;
            async move {
                (app.count("sms_outbox WHERE gateway = 'whatsapp' AND status = 'sent' AND external_id IS NOT NULL").await
                    == queued)
                    .then_some(())
            }
        })
        .await;
        assert_eq!(g.sent.lock().unwrap().len() as i64, queued);
        assert_eq!(
            app.count("impact_events WHERE channel = 'whatsapp' AND kind = 'report_submitted'")
                .await,
            2
        );
        assert_eq!(
            app.count("impact_events WHERE channel = 'whatsapp' AND kind = 'menu_session'")
                .await,
            2,
            "each conversation counts once"
        );
        // The impact page names the channel in each language (its rows of fewer than five are
        // left out of the public figures, so it is read through the page's own label).
        for (lang, name) in [
            (khidmat::platform::i18n::Lang::En, "WhatsApp"),
            (khidmat::platform::i18n::Lang::Ur, "واٹس ایپ"),
            (khidmat::platform::i18n::Lang::Ps, "واټس اپ"),
        ] {
            assert_eq!(
                khidmat::web::impact::label(lang, "channel", "whatsapp"),
                name
            );
        }
    }
);

on_both!(
    whatsapp_refuses_forged_signatures_and_handles_a_replayed_message_once,
    |backend| async move {
        let g = graph().await;
        let app = app_with(backend, &g, false).await;
        // The set-up handshake: the challenge back with the verify token, 403 without it.
        let ok = app
            .client
            .get(app.at(&format!(
                "/channels/whatsapp?hub.mode=subscribe&hub.verify_token={VERIFY}&hub.challenge=1158201444"
            )))
            .send()
            .await
            .unwrap();
        assert_eq!(ok.status(), 200);
        assert_eq!(ok.text().await.unwrap(), "1158201444");
        let wrong =
            app.client
                .get(app.at(
                    "/channels/whatsapp?hub.mode=subscribe&hub.verify_token=guess&hub.challenge=1",
                ))
                .send()
                .await
                .unwrap();
        assert_eq!(wrong.status(), 403);
        let echo = app
            .client
            .get(app.at(&format!(
                "/channels/whatsapp?hub.mode=subscribe&hub.verify_token={VERIFY}&hub.challenge=%3Cscript%3E"
            )))
            .send()
            .await
            .unwrap();
        assert_eq!(echo.status(), 400, "only a challenge is echoed");

        // A keyword report, as SMS would send it.
        let report = notification(
            PHONE,
            "wamid.kunda.1",
            words("KUNDA near Chowk Yadgar, Peshawar"),
        );
        // Forged: another secret, no signature, a signature of another body.
        assert_eq!(post(&app, &report, "not-the-secret").await.status(), 401);
        let unsigned = app
            .client
            .post(app.at("/channels/whatsapp"))
            .json(&report)
            .send()
            .await
            .unwrap();
        assert_eq!(unsigned.status(), 401);
        let raw = serde_json::to_vec(&report).unwrap();
        let other = khidmat::platform::whatsapp::sign(APP_SECRET, b"{}");
        let swapped = app
            .client
            .post(app.at("/channels/whatsapp"))
            .header("x-hub-signature-256", other)
            .body(raw)
            .send()
            .await
            .unwrap();
        assert_eq!(swapped.status(), 401);
        assert_eq!(app.count("reports").await, 0);
        assert_eq!(app.count("sms_outbox").await, 0, "nothing answered");

        // The real one, delivered twice: one report, one reply.
        for _ in 0..2 {
            assert_eq!(post(&app, &report, APP_SECRET).await.status(), 200);
        }
        assert_eq!(app.count("reports").await, 1);
        let replies: Vec<(String,)> = app
            .db
            .fetch_all(query(
                "SELECT body FROM sms_outbox WHERE gateway = 'whatsapp'",
            ))
            .await
            .unwrap();
        assert_eq!(replies.len(), 1, "{replies:?}");
        assert!(replies[0].0.contains("received"), "{replies:?}");
        let (id, channel): (i64, String) = app
            .db
            .fetch_one(query("SELECT id, channel FROM reports"))
            .await
            .unwrap();
        assert_eq!(channel, "whatsapp");

        // STATUS over WhatsApp answers as SMS would.
        let status = notification(PHONE, "wamid.status.1", words(&format!("STATUS {id}")));
        assert_eq!(post(&app, &status, APP_SECRET).await.status(), 200);
        let last: (String,) = app
            .db
            .fetch_one(query(
                "SELECT body FROM sms_outbox WHERE gateway = 'whatsapp' ORDER BY id DESC LIMIT 1",
            ))
            .await
            .unwrap();
        assert!(last.0.contains(&id.to_string()), "{last:?}");

        // Delivery statuses are kept on the message; a failed status change goes by SMS.
        let wamid = eventually(|| {
            let db = app.db.clone();
            async move {
                db.fetch_optional::<(String,)>(query(
                    "SELECT external_id FROM sms_outbox WHERE gateway = 'whatsapp' AND external_id IS NOT NULL ORDER BY id LIMIT 1",
                ))
                .await
                .unwrap()
                .map(|r| r.0)
            }
        })
        .await;
        let status_note = |status: &str| {
            json!({"object": "whatsapp_business_account", "entry": [{"id": "1", "changes": [{"field": "messages", "value": {
                "messaging_product": "whatsapp",
                "metadata": {"display_phone_number": "923110000000", "phone_number_id": NUMBER_ID},
                "statuses": [{"id": wamid, "status": status, "timestamp": "1765000100", "recipient_id": PHONE}],
            }}]}]})
        };
        for s in ["delivered", "read", "sent"] {
            assert_eq!(post(&app, &status_note(s), APP_SECRET).await.status(), 200);
        }
        let delivery: (Option<String>,) = app
            .db
            .fetch_one(query("SELECT delivery FROM sms_outbox WHERE external_id = $1").bind(&wamid))
            .await
            .unwrap();
        assert_eq!(
            delivery.0.as_deref(),
            Some("read"),
            "a late 'sent' does not undo 'read'"
        );
    }
);

on_both!(
    a_status_change_after_the_day_goes_as_the_template_or_else_by_sms,
    |backend| async move {
        let g = graph().await;
        for template in [true, false] {
            let app = app_with(backend, &g, template).await;
            let report = notification(PHONE, "wamid.kunda.t", words("کنڈا گھنٹہ گھر کے پاس پشاور"));
            assert_eq!(post(&app, &report, APP_SECRET).await.status(), 200);
            let (id,): (i64,) = app
                .db
                .fetch_one(query("SELECT id FROM reports"))
                .await
                .unwrap();
            // The citizen last wrote two days ago.
            app.db
                .execute(
                    query("UPDATE whatsapp_contacts SET last_in_at = $1")
                        .bind(chrono::Utc::now() - chrono::Duration::days(2)),
                )
                .await
                .unwrap();
            let key = app.department_key("pesco").await;
            let resp = app
                .staff_post(
                    &format!("/api/v1/reports/{id}/updates"),
                    &key,
                    &json!({"status": "in_progress", "note": "ٹیم روانہ"}),
                )
                .send()
                .await
                .unwrap();
            assert_eq!(resp.status(), 201);
            let rows: Vec<(String, Option<String>, String)> = app
                .db
                .fetch_all(
                    query("SELECT gateway, payload, body FROM sms_outbox WHERE report_id = $1")
                        .bind(id),
                )
                .await
                .unwrap();
            assert_eq!(rows.len(), 1, "{rows:?}");
            if template {
                assert_eq!(rows[0].0, "whatsapp");
                let p: Value = serde_json::from_str(rows[0].1.as_deref().unwrap()).unwrap();
                assert_eq!(p["type"], "template");
                assert_eq!(p["template"]["name"], "report_status");
                assert_eq!(p["template"]["language"]["code"], "ur");
                let params = &p["template"]["components"][0]["parameters"];
                assert_eq!(params[0]["text"], id.to_string());
                assert_eq!(params[2]["text"], "ٹیم روانہ");
            } else {
                assert_ne!(rows[0].0, "whatsapp", "no template: by SMS");
                assert!(rows[0].2.contains("ٹیم روانہ"), "{rows:?}");
            }
        }
    }
);

on_both!(
    a_citizen_finds_the_nearest_public_toilet_by_sharing_a_location_in_pashto,
    |backend| async move {
        let g = graph().await;
        let app = app_with(backend, &g, false).await;
        let mut chat = Chat::new(&app, "923339998877");
        let out = chat.send(words("پښتو")).await;
        let menu = out.last().unwrap();
        let find = option(menu, "نږدې ځای ومومئ").expect("find a place, on the first menu");
        let out = chat.send(chose(&find)).await;
        let kinds = out.last().unwrap();
        assert!(body(kinds).contains("تاسو څه لټوئ"), "{kinds}");
        let toilets = option(kinds, "عامه تشنابونه").expect("public toilets");
        let out = chat.send(chose(&toilets)).await;
        assert!(
            out.iter()
                .any(|m| m["interactive"]["type"] == "location_request_message"),
            "{out:?}"
        );
        // Standing by Firdous Chowk.
        let out = chat
            .send(json!({"type": "location", "location": {"latitude": 34.0047, "longitude": 71.5590}}))
            .await;
        let answer = body(&out[0]);
        let first = answer.lines().next().unwrap_or("");
        assert!(
            first.starts_with("1) عامه تشناب، فردوس چوک"),
            "nearest first: {answer}"
        );
        assert!(answer.lines().count() <= 3, "{answer}");
        assert_eq!(
            app.count("impact_events WHERE channel = 'whatsapp' AND kind = 'directory_search' AND code = 'public-toilet'")
                .await,
            1
        );
        // The conversation is over: a greeting opens the menus again, in Pashto still (its
        // script alone would say Urdu).
        let out = chat.send(words("سلام")).await;
        assert!(option(out.last().unwrap(), "نږدې ځای ومومئ").is_some());
    }
);

on_both!(
    a_neighbour_follows_a_report_on_whatsapp_and_stops,
    |backend| async move {
        let g = graph().await;
        let app = app_with(backend, &g, false).await;
        let report = notification(PHONE, "wamid.r.1", words("کنڈا گھنٹہ گھر کے پاس پشاور"));
        assert_eq!(post(&app, &report, APP_SECRET).await.status(), 200);
        let (id,): (i64,) = app
            .db
            .fetch_one(query("SELECT id FROM reports"))
            .await
            .unwrap();
        let mut neighbour = Chat::new(&app, "923457776655");
        let out = neighbour.send(words(&format!("باخبر {id}"))).await;
        assert_eq!(out.len(), 1);
        assert!(body(&out[0]).contains(&id.to_string()), "{}", body(&out[0]));
        assert_eq!(
            app.count("report_followers WHERE channel = 'whatsapp' AND confirmed_at IS NOT NULL")
                .await,
            1,
            "the message proves the number: no confirmation to wait for"
        );
        let key = app.department_key("pesco").await;
        let change = |status: &'static str, note: &'static str| {
            app.staff_post(
                &format!("/api/v1/reports/{id}/updates"),
                &key,
                &json!({"status": status, "note": note}),
            )
            .send()
        };
        assert_eq!(
            change("in_progress", "ٹیم روانہ").await.unwrap().status(),
            201
        );
        let told = neighbour.replies().await;
        assert_eq!(told.len(), 1, "{told:?}");
        assert_eq!(told[0]["type"], "text");
        let said = body(&told[0]);
        assert!(
            said.contains("ٹیم روانہ") && said.contains("STOP"),
            "on WhatsApp, with its way out: {said}"
        );
        let sms: i64 = app
            .db
            .scalar(query("SELECT COUNT(*) FROM sms_outbox WHERE phone = '+923457776655' AND gateway <> 'whatsapp'"))
            .await
            .unwrap();
        assert_eq!(sms, 0, "not by SMS");
        // STOP ends it.
        let out = neighbour.send(words(&format!("بند {id}"))).await;
        assert_eq!(out.len(), 1);
        assert_eq!(app.count("report_followers").await, 0);
        assert_eq!(change("fixed", "ہٹا دیا").await.unwrap().status(), 201);
        assert!(neighbour.replies().await.is_empty(), "nothing after STOP");
    }
);
