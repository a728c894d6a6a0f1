//! WhatsApp in: the Cloud API's webhook (`GET /channels/whatsapp` for the set-up handshake,
//! `POST /channels/whatsapp` for notifications signed with the app secret).
//!
//! A citizen's words are read as an SMS's are (a service keyword and a place, STATUS, GRANT,
//! FIND, a register's keyword, FOLLOW, STOP, a digit answering "is it fixed?"). Anything else
//! opens the menus the USSD code shows, from the same packs (`ussd.rs`), as WhatsApp lists and
//! buttons, in the language of the message's script: the place is a shared location (or a
//! district and a typed landmark), the problem is typed or sent as a voice note, and photos
//! come with it. Every reply goes out through the phone outbox (`platform::whatsapp`).

use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use chrono::{Duration, Utc};
use serde::Deserialize;
use serde_json::Value;

use super::{
    admit, answer, gateway_limit, menus, refuse, store, ussd, Fetched, MenuCall, Menus, Outcome,
    Session, SmsEvent,
};
use crate::platform::error::Error;
use crate::platform::i18n::Lang;
use crate::platform::personal::Phone;
use crate::platform::state::AppState;
use crate::platform::whatsapp as wa;

/// The gateway's name for inbound messages and its limit.
const GATEWAY: &str = "whatsapp";

/// A conversation left idle this long starts again from the menu.
const SESSION_MINUTES: i64 = 60;

pub fn router() -> Router<AppState> {
    Router::new().route("/channels/whatsapp", get(verify).post(notified))
}

#[derive(Deserialize)]
struct Handshake {
    #[serde(rename = "hub.mode")]
    mode: Option<String>,
    #[serde(rename = "hub.verify_token")]
    verify_token: Option<String>,
    #[serde(rename = "hub.challenge")]
    challenge: Option<String>,
}

/// The set-up handshake: with the verify token, the challenge is echoed back.
async fn verify(State(state): State<AppState>, Query(q): Query<Handshake>) -> Response {
    let config = &state.config;
    if !wa::enabled(config) {
        return refuse(
            StatusCode::FORBIDDEN,
            "the WhatsApp channel is not configured",
        );
    }
    let token_ok = match (
        config.whatsapp_verify_token.as_deref(),
        q.verify_token.as_deref(),
    ) {
        (Some(e), Some(g)) => crate::platform::identity::same_secret(e, g),
        _ => false,
    };
    // The challenge is Meta's number; nothing else is echoed (the answer is not a mirror).
    let challenge = q.challenge.filter(|c| {
        !c.is_empty() && c.len() <= 100 && c.bytes().all(|b| b.is_ascii_alphanumeric())
    });
    match (q.mode.as_deref(), token_ok, challenge) {
        (Some("subscribe"), true, Some(c)) => refuse(StatusCode::OK, &c),
        (_, true, None) => refuse(StatusCode::BAD_REQUEST, "hub.challenge is missing"),
        _ => refuse(StatusCode::FORBIDDEN, "wrong verify token"),
    }
}

/// A notification: messages from citizens and the delivery of ours.
async fn notified(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let config = &state.config;
    if !wa::enabled(config) {
        return refuse(
            StatusCode::FORBIDDEN,
            "the WhatsApp channel is not configured",
        );
    }
    let secret = config.whatsapp_app_secret.as_deref().unwrap_or_default();
    let signature = headers
        .get("x-hub-signature-256")
        .and_then(|v| v.to_str().ok());
    if !wa::signature_ok(secret, &body, signature) {
        return refuse(
            StatusCode::UNAUTHORIZED,
            "X-Hub-Signature-256 does not match",
        );
    }
    if let Err(r) = gateway_limit(&state, GATEWAY).await {
        return r;
    }
    let Ok(note) = serde_json::from_slice::<Value>(&body) else {
        return refuse(StatusCode::BAD_REQUEST, "the body is not JSON");
    };
    let values = note["entry"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|e| e["changes"].as_array().into_iter().flatten())
        .map(|c| &c["value"]);
    for value in values {
        for s in value["statuses"].as_array().into_iter().flatten() {
            if let Err(e) = delivery(&state, s).await {
                return refuse(e.status(), &e.message());
            }
        }
        for m in value["messages"].as_array().into_iter().flatten() {
            if let Err(e) = inbound(&state, m).await {
                tracing::error!(error = %e.message(), "a WhatsApp message could not be handled");
                // WhatsApp delivers it again later; it is handled once.
                return refuse(e.status(), &e.message());
            }
        }
    }
    refuse(StatusCode::OK, "OK")
}

/// WhatsApp's word on one of our messages. A status change it could not deliver goes by SMS.
async fn delivery(state: &AppState, s: &Value) -> Result<(), Error> {
    let (Some(wamid), Some(status)) = (s["id"].as_str(), s["status"].as_str()) else {
        return Ok(());
    };
    let error = s["errors"][0]["title"]
        .as_str()
        .or(s["errors"][0]["message"].as_str());
    let Some(row) = wa::delivered(&state.db, wamid, status, error).await? else {
        return Ok(());
    };
    if status == "failed" {
        if let (Some(id), Some(phone)) = (row.report_id, Phone::parse(&row.phone)) {
            let lang = Lang::parse(&row.lang).unwrap_or_default();
            let mut tx = state.db.begin().await?;
            let text = crate::platform::sms::fit(&row.body, "", 2);
            crate::platform::sms::queue(&mut tx, &state.config, &phone, &text, lang, Some(id))
                .await?;
            tx.commit().await?;
            state.job_wake.notify_one();
        }
    }
    Ok(())
}

/// What a citizen sent, as the menus read it.
enum Input {
    Words(String),
    /// A row of a list or a reply button: its id.
    Chosen(String),
    Location(f64, f64),
    Photo(String),
    Voice(String),
    /// Something the channel does not take (a sticker, a contact card).
    Other,
}

impl Input {
    fn of(m: &Value) -> Input {
        match m["type"].as_str().unwrap_or("") {
            "text" => Input::Words(m["text"]["body"].as_str().unwrap_or("").to_owned()),
            "interactive" => {
                let i = &m["interactive"];
                let id = i["list_reply"]["id"]
                    .as_str()
                    .or(i["button_reply"]["id"].as_str());
                id.map_or(Input::Other, |id| Input::Chosen(id.to_owned()))
            }
            // A template's quick-reply button.
            "button" => Input::Words(m["button"]["text"].as_str().unwrap_or("").to_owned()),
            "location" => match (
                m["location"]["latitude"].as_f64(),
                m["location"]["longitude"].as_f64(),
            ) {
                (Some(la), Some(lo))
                    if crate::platform::geo::valid_lat(la)
                        && crate::platform::geo::valid_long(lo) =>
                {
                    Input::Location(la, lo)
                }
                _ => Input::Other,
            },
            "image" => m["image"]["id"]
                .as_str()
                .filter(|id| wa::media_id_ok(id))
                .map_or(Input::Other, |id| Input::Photo(id.to_owned())),
            "audio" => m["audio"]["id"]
                .as_str()
                .filter(|id| wa::media_id_ok(id))
                .map_or(Input::Other, |id| Input::Voice(id.to_owned())),
            _ => Input::Other,
        }
    }

    /// What is kept of it with the message (the words, or what kind of thing it was).
    fn summary(&self) -> String {
        match self {
            Input::Words(w) => w.chars().take(1000).collect(),
            Input::Chosen(id) => format!("[chose {id}]"),
            Input::Location(..) => "[location]".into(),
            Input::Photo(_) => "[photo]".into(),
            Input::Voice(_) => "[voice note]".into(),
            Input::Other => "[unsupported]".into(),
        }
    }
}

/// One reply: the message as the API takes it, and its words.
struct Out {
    payload: Value,
    words: String,
}

/// The words that choose a language, in any language.
fn language_word(words: &str) -> Option<Lang> {
    match words.trim().to_lowercase().as_str() {
        "english" | "انگریزی" | "انګلیسي" => Some(Lang::En),
        "urdu" | "اردو" => Some(Lang::Ur),
        "pashto" | "pushto" | "پښتو" | "پشتو" => Some(Lang::Ps),
        _ => None,
    }
}

/// One message from a citizen, handled once however often WhatsApp delivers it.
async fn inbound(state: &AppState, m: &Value) -> Result<(), Error> {
    let (Some(from), Some(id)) = (m["from"].as_str(), m["id"].as_str()) else {
        return Ok(());
    };
    let Some(phone) = Phone::parse(from) else {
        // Khidmat serves Pakistani numbers (its SMS and impact figures count them).
        tracing::info!("WhatsApp message from a number outside Pakistan ignored");
        return Ok(());
    };
    if id.is_empty() || id.len() > 200 {
        return Ok(());
    }
    let input = Input::of(m);
    // A menu is tapped through quickly: three times what a number may text in a minute.
    let limit = (
        "whatsapp-in",
        state.config.sms_per_number_per_minute.saturating_mul(3),
    );
    if !admit(state, (GATEWAY, id), &phone, &input.summary(), limit).await? {
        return Ok(());
    }
    let Conversation { out, lang, event } = converse(state, &phone, id, input).await?;
    let words: Vec<&str> = out.iter().map(|o| o.words.as_str()).collect();
    let mut tx = state.db.begin().await?;
    if store::complete_message(&mut tx, GATEWAY, id, &words.join("\n")).await? {
        wa::seen(&mut tx, &phone, lang).await?;
        for o in &out {
            wa::queue(&mut tx, &phone, &o.payload, &o.words, lang, None).await?;
        }
        if let Some(e) = &event {
            e.record(&mut tx, GATEWAY, &phone).await?;
        }
    }
    tx.commit().await?;
    state.job_wake.notify_one();
    Ok(())
}

/// The answer to one message: the replies, their language, and the impact event it counts as.
struct Conversation {
    out: Vec<Out>,
    lang: Lang,
    event: Option<SmsEvent>,
}

/// The session's key for this number.
fn session_key(phone: &Phone) -> String {
    format!("whatsapp:{}", phone.e164())
}

async fn converse(
    state: &AppState,
    phone: &Phone,
    message_id: &str,
    input: Input,
) -> Result<Conversation, Error> {
    let key = session_key(phone);
    let session = store::ussd_session(&state.db, &key)
        .await?
        .and_then(|(json, _)| serde_json::from_str::<Session>(&json).ok())
        .filter(|s| s.ended.is_none());
    let menus = menus(state).await?;
    // Words outside a menu's free-text step are first read as an SMS would be read.
    let typing = session.as_ref().is_some_and(|s| {
        matches!(
            s.state.step,
            ussd::Step::Landmark | ussd::Step::RegisterKey | ussd::Step::Describe
        )
    });
    if let Input::Words(w) = &input {
        let clean = super::sms::normalize(w);
        if let Some(lang) = language_word(&clean) {
            let s = ussd::State::start(ussd::Channel::WhatsApp, Some(lang));
            return open(state, phone, &key, s, &menus, None).await;
        }
        let menu_number = clean.parse::<usize>().is_ok() && session.is_some();
        if !typing && !menu_number {
            let message = (GATEWAY, message_id, w.as_str());
            if let Some(a) = answer(state, GATEWAY, message, phone, true).await? {
                // Whatever menu was open is closed: the citizen asked something else.
                if session.is_some() {
                    end(state, phone, &key).await?;
                }
                return Ok(Conversation {
                    out: vec![text(phone, &a.reply)],
                    lang: a.lang,
                    event: a.event,
                });
            }
        }
    }
    let Some(mut session) = session else {
        // A new conversation: the menus, in the language of the words (or the last one used).
        // Arabic script without Pashto's own letters ("سلام") is Urdu, unless this number
        // last wrote in Pashto.
        let last = wa::language(&state.db, phone).await?;
        let lang = match &input {
            Input::Words(w) => match (super::sms::script_lang(w), last) {
                (Lang::Ur, Some(Lang::Ps)) => Lang::Ps,
                (script, _) => script,
            },
            _ => last.unwrap_or(Lang::Ur),
        };
        let s = ussd::State::start(ussd::Channel::WhatsApp, Some(lang));
        let event = Some(SmsEvent {
            service: "reports",
            kind: "menu_session",
            code: None,
            department_id: None,
            district: None,
        });
        let mut c = open(state, phone, &key, s, &menus, None).await?;
        c.event = event;
        return Ok(c);
    };
    let s = &mut session.state;
    let lang = s.lang;
    let cat = &menus.catalog;
    let reply = match input {
        Input::Words(w) => ussd::advance(s, &w, cat),
        Input::Chosen(id) if id == "skip" => ussd::described(s, cat, None, None),
        Input::Chosen(id) => ussd::advance(s, &id, cat),
        Input::Location(la, lo) => {
            let districts = state.districts().await?;
            let district = crate::platform::org::nearest_district(&districts, la, lo, 80_000.0)
                .map(|d| d.slug.clone());
            ussd::located(s, cat, (la, lo), district)
        }
        Input::Photo(media) => ussd::photographed(s, cat, media),
        Input::Voice(media) => ussd::described(s, cat, None, Some(media)),
        Input::Other => ussd::Reply::Continue(ussd::screen(s, cat, Some(&lang.t("ussd-invalid")))),
    };
    let call = MenuCall {
        state,
        channel: GATEWAY,
        id: &format!("{key}:{message_id}"),
        phone,
        catalog: cat,
        registers: &menus.registers,
        banks: &menus.banks,
        kinds: &menus.kinds,
    };
    let invalid = lang.t("ussd-invalid");
    let (out, ended) = match call.carry(s, reply).await? {
        Outcome::Screen(screen) if s.step == ussd::Step::Theory => {
            (vec![text(phone, &screen)], false)
        }
        Outcome::Screen(screen) => {
            let note = screen.starts_with(&invalid).then_some(invalid.as_str());
            (show(phone, s, cat, note), false)
        }
        Outcome::Words(words, end) => (vec![text(phone, &words)], end),
        Outcome::Submit => {
            let (fetched, missed) = fetch(state, s).await;
            let mut words = call.submit(s, fetched).await?;
            if missed {
                words = format!("{words}\n{}", lang.t("whatsapp-media-missed"));
            }
            (vec![text(phone, &words)], true)
        }
    };
    let lang = s.lang;
    if ended {
        session.ended = Some(String::new());
    }
    save(state, phone, &key, &session).await?;
    Ok(Conversation {
        out,
        lang,
        event: None,
    })
}

/// Start the menus at `s` and show its first screen.
async fn open(
    state: &AppState,
    phone: &Phone,
    key: &str,
    s: ussd::State,
    menus: &Menus,
    note: Option<&str>,
) -> Result<Conversation, Error> {
    let lang = s.lang;
    let out = show(phone, &s, &menus.catalog, note);
    save(
        state,
        phone,
        key,
        &Session {
            state: s,
            ended: None,
            silent: 0,
        },
    )
    .await?;
    Ok(Conversation {
        out,
        lang,
        event: None,
    })
}

async fn save(state: &AppState, phone: &Phone, key: &str, session: &Session) -> Result<(), Error> {
    let json = serde_json::to_string(session).map_err(|e| Error::Internal(e.into()))?;
    let mut tx = state.db.begin().await?;
    store::save_ussd_session(
        &mut tx,
        key,
        phone.e164(),
        &json,
        1,
        Utc::now() + Duration::minutes(SESSION_MINUTES),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Close the conversation's menus.
async fn end(state: &AppState, phone: &Phone, key: &str) -> Result<(), Error> {
    save(
        state,
        phone,
        key,
        &Session {
            state: ussd::State::default(),
            ended: Some(String::new()),
            silent: 0,
        },
    )
    .await
}

fn text(phone: &Phone, words: &str) -> Out {
    Out {
        payload: wa::text(phone, words),
        words: words.to_owned(),
    }
}

/// The current screen as WhatsApp shows it: up to three choices as buttons, more as a list
/// (nine a page, then "more"); a location request before the districts; the free-text steps
/// as a question (with "skip" where the answer may be left out).
fn show(phone: &Phone, s: &ussd::State, cat: &ussd::Catalog, note: Option<&str>) -> Vec<Out> {
    let lang = s.lang;
    let view = ussd::view(s, cat);
    let mut head = match note {
        Some(n) => format!("{n}\n{}", view.head),
        None => view.head.clone(),
    };
    if s.step == ussd::Step::Department {
        head = format!("{head}\n\n{}", lang.t("whatsapp-language-hint"));
    }
    let mut out = Vec::new();
    if matches!(s.step, ussd::Step::District | ussd::Step::FindWhere) {
        let ask = lang.t("whatsapp-location-ask");
        out.push(Out {
            payload: wa::location_request(phone, &ask),
            words: ask,
        });
    }
    let mut rows: Vec<(String, String)> = view
        .choices
        .iter()
        .map(|(n, name)| (n.to_string(), name.clone()))
        .collect();
    if view.more {
        rows.push(("0".into(), lang.t("whatsapp-more")));
    }
    let listed = rows
        .iter()
        .map(|(n, name)| format!("{n} {name}"))
        .collect::<Vec<_>>()
        .join("\n");
    let words = if listed.is_empty() {
        head.clone()
    } else {
        format!("{head}\n{listed}")
    };
    let payload = match s.step {
        ussd::Step::Describe => {
            wa::buttons(phone, &head, &[("skip".into(), lang.t("whatsapp-skip"))])
        }
        _ if rows.is_empty() => wa::text(phone, &head),
        _ if rows.len() <= 3 => wa::buttons(phone, &head, &rows),
        _ => wa::list(phone, &head, &lang.t("whatsapp-choose"), &rows),
    };
    out.push(Out { payload, words });
    out
}

/// Fetch the session's photos and voice note from WhatsApp. One that cannot be fetched is left
/// out (the report is filed without it, and the citizen told): `true` when any was.
async fn fetch(state: &AppState, s: &ussd::State) -> (Fetched, bool) {
    let config = &state.config;
    let mut fetched = Fetched::default();
    let mut missed = false;
    for id in &s.photos {
        match wa::media(config, id, config.max_photo_bytes).await {
            Ok((_, bytes)) => fetched.photos.push(bytes.to_vec()),
            Err(e) => {
                tracing::warn!(error = %e, "a WhatsApp photo could not be fetched");
                missed = true;
            }
        }
    }
    if let Some(id) = &s.voice {
        match wa::media(config, id, wa::MAX_AUDIO_BYTES).await {
            Ok((_, bytes)) => fetched.voice = Some(bytes.to_vec()),
            Err(e) => {
                tracing::warn!(error = %e, "a WhatsApp voice note could not be fetched");
                missed = true;
            }
        }
    }
    (fetched, missed)
}
