//! Voice calls (IVR), in the two widespread webhook dialects: Africa's Talking's voice XML
//! (`POST /channels/voice/africastalking?key=…`) and Twilio's TwiML
//! (`POST /channels/voice/twilio?key=…`, with `X-Twilio-Signature` checked when
//! `twilio_auth_token` is set).
//!
//! A call walks the USSD menus (`ussd.rs`, from the same packs): each screen is spoken — a
//! department's recording where it supplied one (a prompt kept in the file store, recorded in
//! the admin pages or loaded by `khidmat voice import`, served to the gateway at
//! `/channels/voice/prompts/…`), else the gateway's own speech — the caller presses digits, and
//! describes the problem after the beep. The recording is fetched by the `voice.fetch` job and
//! kept as the report's voice note; the caller hears the reference digit by digit and gets it by
//! SMS. Calls placed back at a report's change are `platform::calls`; Africa's Talking asks this
//! callback what an answered one says.

use std::collections::HashMap;

use axum::extract::{Path as UrlPath, Query, State};
use axum::http::{header, HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use chrono::{Duration, Utc};
use serde::{Deserialize, Serialize};

use super::{
    gateway_allows, gateway_limit, menus, refuse, store, ussd, Fetched, MenuCall, Outcome, Session,
    SmsEvent,
};
use crate::platform::calls;
use crate::platform::config::Config;
use crate::platform::db::Db;
use crate::platform::error::Error;
use crate::platform::i18n::Lang;
use crate::platform::jobs;
use crate::platform::personal::Phone;
use crate::platform::state::AppState;
use crate::platform::xml::escape;
use crate::t;

/// A call's session outlives any call.
const SESSION_MINUTES: i64 = 30;
/// The longest description recorded.
const RECORD_SECONDS: u32 = 120;
/// Screens a silent caller is asked again before the call ends.
const PATIENCE: u8 = 2;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/channels/voice/africastalking", post(africastalking))
        .route("/channels/voice/twilio", post(twilio))
        .route("/channels/voice/prompts/{lang}/{file}", get(prompt))
}

/// Which webhook dialect a gateway speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Dialect {
    AfricasTalking,
    Twilio,
}

impl Dialect {
    fn name(self) -> &'static str {
        match self {
            Dialect::AfricasTalking => "africastalking",
            Dialect::Twilio => "twilio",
        }
    }
}

#[derive(Deserialize)]
struct KeyQuery {
    key: Option<String>,
}

/// One request of a call, whichever dialect carried it.
struct Turn {
    session: String,
    phone: Phone,
    digits: Option<String>,
    recording: Option<String>,
    /// False once the call is over (Africa's Talking's last notification).
    active: bool,
}

fn field<'a>(f: &'a [(String, String)], name: &str) -> Option<&'a str> {
    f.iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
        .filter(|v| !v.is_empty())
}

fn turn(
    f: &[(String, String)],
    session: &str,
    caller: &str,
    digits: &str,
    recording: &str,
) -> Result<Turn, String> {
    let session = field(f, session)
        .filter(|s| s.len() <= 200)
        .ok_or_else(|| format!("{session} is required (at most 200 characters)"))?;
    let phone = field(f, caller)
        .and_then(Phone::parse)
        .ok_or_else(|| format!("{caller} is not a Pakistani mobile number"))?;
    Ok(Turn {
        session: session.to_owned(),
        phone,
        digits: field(f, digits).map(str::to_owned),
        recording: field(f, recording).map(str::to_owned),
        active: field(f, "isActive") != Some("0"),
    })
}

async fn africastalking(
    State(state): State<AppState>,
    headers: HeaderMap,
    uri: Uri,
    Query(q): Query<KeyQuery>,
    Form(f): Form<Vec<(String, String)>>,
) -> Response {
    if !gateway_allows(
        &state,
        &state.config.africastalking_secret,
        q.key.as_deref(),
    )
    .await
    {
        return refuse(StatusCode::FORBIDDEN, "wrong or missing key");
    }
    if let Err(r) = gateway_limit(&state, "voice").await {
        return r;
    }
    // A call Khidmat placed (a report's change), answered: say its words.
    if field(&f, "direction") == Some("Outbound") {
        return placed(&state, &f).await;
    }
    match turn(
        &f,
        "sessionId",
        "callerNumber",
        "dtmfDigits",
        "recordingUrl",
    ) {
        Ok(t) => answer(&state, &headers, &uri, Dialect::AfricasTalking, t).await,
        Err(why) => refuse(StatusCode::BAD_REQUEST, &why),
    }
}

async fn twilio(
    State(state): State<AppState>,
    headers: HeaderMap,
    uri: Uri,
    Query(q): Query<KeyQuery>,
    Form(f): Form<Vec<(String, String)>>,
) -> Response {
    if !gateway_allows(&state, &None, q.key.as_deref()).await {
        return refuse(StatusCode::FORBIDDEN, "wrong or missing key");
    }
    if let Some(token) = state
        .config
        .twilio_auth_token
        .as_deref()
        .filter(|t| !t.is_empty())
    {
        let url = format!("{}{}", state.config.base_url(&headers), uri);
        let given = headers
            .get("x-twilio-signature")
            .and_then(|v| v.to_str().ok());
        if !twilio_signature_ok(token, &url, &f, given) {
            return refuse(StatusCode::FORBIDDEN, "X-Twilio-Signature does not match");
        }
    }
    if let Err(r) = gateway_limit(&state, "voice").await {
        return r;
    }
    match turn(&f, "CallSid", "From", "Digits", "RecordingUrl") {
        Ok(t) => answer(&state, &headers, &uri, Dialect::Twilio, t).await,
        Err(why) => refuse(StatusCode::BAD_REQUEST, &why),
    }
}

/// What a call Khidmat placed through Africa's Talking says once answered (found by the
/// `clientRequestId` it was placed with): its words, twice; then it ends.
async fn placed(state: &AppState, f: &[(String, String)]) -> Response {
    if field(f, "isActive") == Some("0") {
        return Speaker::document(String::new());
    }
    match calls::words_of(&state.db, field(f, "clientRequestId").unwrap_or("")).await {
        Ok(Some((words, lang))) => {
            let speaker = Speaker {
                dialect: Dialect::AfricasTalking,
                action: String::new(),
                base: String::new(),
                recorded: &Recorded(HashMap::new()),
            };
            speaker.end(&[Speech::Say(words.clone(), lang), Speech::Say(words, lang)])
        }
        Ok(None) => Speaker::document(String::new()),
        Err(e) => refuse(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()),
    }
}

/// Twilio's signature: Base64 of HMAC-SHA1, under the auth token, of the full address the
/// request was sent to followed by each form field's name and value, sorted by name.
pub fn twilio_signature(token: &str, url: &str, form: &[(String, String)]) -> String {
    use base64::Engine;
    use hmac::{Hmac, Mac};
    let mut fields: Vec<&(String, String)> = form.iter().collect();
    fields.sort();
    let mut data = url.to_owned();
    for (k, v) in fields {
        data.push_str(k);
        data.push_str(v);
    }
    let mut mac = Hmac::<sha1::Sha1>::new_from_slice(token.as_bytes()).expect("any key length");
    mac.update(data.as_bytes());
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

fn twilio_signature_ok(
    token: &str,
    url: &str,
    form: &[(String, String)],
    given: Option<&str>,
) -> bool {
    given.is_some_and(|g| {
        crate::platform::identity::same_secret(&twilio_signature(token, url, form), g.trim())
    })
}

/// Something a call says: a recording, or words for the gateway's speech.
enum Speech {
    Play(String),
    Say(String, Lang),
}

/// A prompt's name is a message's or an item's (`service-kunda`): nothing else reaches a path.
fn prompt_name_ok(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 120
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
}

/// The recordings a call plays: MP3 and WAV, which both gateways take.
fn extension(content_type: &str) -> Option<&'static str> {
    match content_type {
        "audio/mpeg" => Some("mp3"),
        "audio/wav" => Some("wav"),
        _ => None,
    }
}

/// The prompts recorded, by language and name: their file's digest and type.
pub struct Recorded(HashMap<(Lang, String), (String, String)>);

impl Recorded {
    pub async fn load(db: &Db) -> Result<Recorded, sqlx::Error> {
        Ok(Recorded(
            store::prompts(db)
                .await?
                .into_iter()
                .filter_map(|(lang, name, sha, ct)| Some(((Lang::parse(&lang)?, name), (sha, ct))))
                .collect(),
        ))
    }

    /// The file name `name` is served as in `lang`, if recorded (`service-kunda.mp3`).
    fn file(&self, lang: Lang, name: &str) -> Option<String> {
        let (_, ct) = self.0.get(&(lang, name.to_owned()))?;
        Some(format!("{name}.{}", extension(ct)?))
    }

    fn get(&self, lang: Lang, name: &str) -> Option<&(String, String)> {
        self.0.get(&(lang, name.to_owned()))
    }
}

/// One prompt the menus can play: its name, the words it says, and its recording's address
/// (under `/channels/voice/prompts/`) if one is kept.
pub struct Prompt {
    pub name: String,
    pub words: String,
    pub recorded: Option<String>,
    /// The department whose menus it belongs to (a department, a service, its questions and
    /// answers); `None` for the words every department shares.
    pub department: Option<i64>,
}

/// The department a prompt belongs to (its managers record it); `None` for the shared words.
pub(super) fn owner(cat: &ussd::Catalog, name: &str) -> Option<i64> {
    let services = || cat.departments.iter().flat_map(|d| d.1.iter());
    if let Some(slug) = name.strip_prefix("department-") {
        return services()
            .find(|s| s.department_slug == slug)
            .map(|s| s.department_id);
    }
    // The longest service code that starts the rest (codes may hold dashes).
    let rest = ["service-", "question-", "answer-"]
        .iter()
        .find_map(|p| name.strip_prefix(p))?;
    services()
        .filter(|s| rest == s.code || rest.starts_with(&format!("{}-", s.code)))
        .max_by_key(|s| s.code.len())
        .map(|s| s.department_id)
}

/// Every prompt of `lang`, recorded or not.
pub fn prompts(cat: &ussd::Catalog, recorded: &Recorded, lang: Lang) -> Vec<Prompt> {
    ussd::all_prompts(cat, lang)
        .into_iter()
        .map(|(name, words)| Prompt {
            recorded: recorded
                .file(lang, &name)
                .map(|f| format!("/channels/voice/prompts/{}/{f}", lang.code())),
            department: owner(cat, &name),
            name,
            words,
        })
        .collect()
}

/// Keep `bytes` as the prompt `name` in `lang` (one the menus say, checked by the caller), for
/// `actor`: an MP3 or WAV recording (by its bytes), stored like any file; audited.
pub async fn save_prompt(
    db: &Db,
    files: &crate::platform::files::Store,
    (actor, lang): (&str, Lang),
    name: &str,
    bytes: Vec<u8>,
) -> Result<(), Error> {
    let max = crate::platform::whatsapp::MAX_AUDIO_BYTES;
    if bytes.len() > max {
        return Err(crate::platform::files::PhotoError::TooLarge.into_error(lang, max));
    }
    let encoded = crate::platform::files::audio(bytes)
        .ok()
        .filter(|e| extension(e.content_type).is_some())
        .ok_or_else(|| Error::BadRequest(lang.t("voice-err-prompt-audio")))?;
    files
        .put(crate::platform::files::Area::Photos, &encoded)
        .await
        .map_err(|e| e.into_error(lang, max))?;
    let mut tx = db.begin().await?;
    let file = crate::platform::files::record(&mut tx, &encoded).await?;
    store::set_prompt(&mut tx, lang.code(), name, file.id).await?;
    crate::platform::audit::record(
        &mut tx,
        actor,
        "voice.prompt",
        "voice_prompt",
        &format!("{}/{name}", lang.code()),
        serde_json::json!({"after": encoded.sha256}),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Forget the prompt `name` in `lang` (a call says its words again); audited.
pub async fn remove_prompt(db: &Db, actor: &str, lang: Lang, name: &str) -> Result<bool, Error> {
    let mut tx = db.begin().await?;
    let removed = store::remove_prompt(&mut tx, lang.code(), name).await?;
    if removed {
        crate::platform::audit::record(
            &mut tx,
            actor,
            "voice.prompt.remove",
            "voice_prompt",
            &format!("{}/{name}", lang.code()),
            serde_json::json!({"after": null}),
        )
        .await?;
    }
    tx.commit().await?;
    Ok(removed)
}

/// A prompt's recording, for the gateway to play.
async fn prompt(
    State(state): State<AppState>,
    UrlPath((lang, file)): UrlPath<(String, String)>,
) -> Response {
    let found = async {
        let lang = Lang::parse(&lang)?;
        let (name, ext) = file.rsplit_once('.')?;
        if !prompt_name_ok(name) {
            return None;
        }
        let recorded = Recorded::load(&state.db).await.ok()?;
        let (sha, ct) = recorded.get(lang, name)?.clone();
        (extension(&ct) == Some(ext)).then_some(())?;
        let bytes = state
            .files
            .get(crate::platform::files::Area::Photos, &sha, &ct)
            .await
            .ok()??;
        Some((ct, bytes))
    };
    match found.await {
        Some((ct, bytes)) => (
            [
                (header::CONTENT_TYPE, ct),
                (header::CACHE_CONTROL, "public, max-age=300".to_owned()),
            ],
            bytes,
        )
            .into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

/// What a call is told, in the dialect's XML.
struct Speaker<'a> {
    dialect: Dialect,
    /// Where the gateway sends the next request (this endpoint, with its key).
    action: String,
    /// The public address prompts are fetched from.
    base: String,
    recorded: &'a Recorded,
}

impl Speaker<'_> {
    /// `name`'s recording in `lang`, else `words` spoken.
    fn speak(&self, lang: Lang, name: Option<&str>, words: &str) -> Speech {
        match name.and_then(|n| self.recorded.file(lang, n)) {
            Some(file) => Speech::Play(format!(
                "{}/channels/voice/prompts/{}/{file}",
                self.base,
                lang.code()
            )),
            None => Speech::Say(words.to_owned(), lang),
        }
    }

    fn verbs(&self, parts: &[Speech]) -> String {
        parts
            .iter()
            .map(|p| match p {
                // Direction marks order text on a screen; a voice would stumble on them.
                Speech::Say(words, lang) => {
                    Speech::Say(crate::platform::text::for_speech(words), *lang)
                }

                Speech::Play(url) => Speech::Play(url.clone()),
            })
            .map(|p| match (self.dialect, &p) {
                (Dialect::AfricasTalking, Speech::Play(url)) => {
                    format!("<Play url=\"{}\"/>", escape(url))
                }
                (Dialect::AfricasTalking, Speech::Say(words, _)) => {
                    format!("<Say voice=\"woman\">{}</Say>", escape(words))
                }
                (Dialect::Twilio, Speech::Play(url)) => format!("<Play>{}</Play>", escape(url)),
                // Twilio's English voice for English; Urdu and Pashto are read as the account's
                // default voice reads them (recorded prompts are the real answer).
                (Dialect::Twilio, Speech::Say(words, Lang::En)) => {
                    format!("<Say language=\"en-IN\">{}</Say>", escape(words))
                }
                (Dialect::Twilio, Speech::Say(words, _)) => {
                    format!("<Say>{}</Say>", escape(words))
                }
            })
            .collect()
    }

    fn document(body: String) -> Response {
        (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "application/xml; charset=utf-8")],
            format!("<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response>{body}</Response>"),
        )
            .into_response()
    }

    /// Say `parts` and collect digits (ended by `#`), then come back; without an answer, come
    /// back all the same (the screen is said again).
    fn gather(&self, parts: &[Speech]) -> Response {
        let action = escape(&self.action);
        let inner = self.verbs(parts);
        Self::document(match self.dialect {
            Dialect::AfricasTalking => format!(
                "<GetDigits timeout=\"15\" finishOnKey=\"#\" callbackUrl=\"{action}\">{inner}</GetDigits><Redirect>{action}</Redirect>"
            ),
            Dialect::Twilio => format!(
                "<Gather input=\"dtmf\" timeout=\"15\" finishOnKey=\"#\" action=\"{action}\" method=\"POST\">{inner}</Gather><Redirect method=\"POST\">{action}</Redirect>"
            ),
        })
    }

    /// Say `parts`, then record after a beep until `#` or silence.
    fn record(&self, parts: &[Speech]) -> Response {
        let action = escape(&self.action);
        let inner = self.verbs(parts);
        Self::document(match self.dialect {
            Dialect::AfricasTalking => format!(
                "<Record finishOnKey=\"#\" maxLength=\"{RECORD_SECONDS}\" trimSilence=\"true\" playBeep=\"true\" callbackUrl=\"{action}\">{inner}</Record>"
            ),
            // Nothing said: Twilio goes on to the next verb, which asks again.
            Dialect::Twilio => format!(
                "{inner}<Record action=\"{action}\" method=\"POST\" maxLength=\"{RECORD_SECONDS}\" finishOnKey=\"#\" playBeep=\"true\" timeout=\"5\"/><Redirect method=\"POST\">{action}</Redirect>"
            ),
        })
    }

    /// Say `parts` and hang up.
    fn end(&self, parts: &[Speech]) -> Response {
        let inner = self.verbs(parts);
        Self::document(match self.dialect {
            Dialect::AfricasTalking => inner,
            Dialect::Twilio => format!("{inner}<Hangup/>"),
        })
    }

    /// The current screen, spoken: its question, then "for X, press N" for each choice on
    /// this page (and "for more, press 0").
    fn screen(&self, s: &ussd::State, cat: &ussd::Catalog, note: Option<&str>) -> Response {
        let lang = s.lang;
        let mut parts = Vec::new();
        if let Some(n) = note {
            parts.push(self.speak(lang, Some("ussd-invalid"), n));
        }
        if s.step == ussd::Step::Theory {
            parts.push(Speech::Say(ussd::screen(s, cat, None), lang));
            return self.gather(&parts);
        }
        let view = ussd::view(s, cat);
        parts.push(self.speak(lang, ussd::head_prompt(s, cat).as_deref(), &view.head));
        if s.step == ussd::Step::Lang {
            // Each language offers itself, in itself.
            for (i, l) in ussd::LANGS.into_iter().enumerate() {
                let words = t!(l, "voice-press", name = l.native_name(), n = i + 1);
                parts.push(self.speak(l, Some(&format!("lang-{}", l.code())), &words));
            }
            return self.gather(&parts);
        }
        let prompts = ussd::item_prompts(s, cat);
        for (n, name) in &view.choices {
            let item = prompts.get(n - 1).map(String::as_str);
            let press = format!("press-{n}");
            match (
                item.and_then(|i| self.recorded.file(lang, i)),
                self.recorded.file(lang, &press),
            ) {
                (Some(_), Some(_)) => {
                    parts.push(self.speak(lang, item, name));
                    parts.push(self.speak(lang, Some(&press), ""));
                }
                _ => parts.push(Speech::Say(
                    t!(lang, "voice-press", name = name.clone(), n = *n),
                    lang,
                )),
            }
        }
        if view.more {
            parts.push(self.speak(lang, Some("voice-more"), &lang.t("voice-more")));
        }
        match s.step {
            ussd::Step::Describe => self.record(&parts),
            _ => self.gather(&parts),
        }
    }
}

/// One request of a call: the input applied, the next screen spoken.
async fn answer(
    state: &AppState,
    headers: &HeaderMap,
    uri: &Uri,
    dialect: Dialect,
    turn: Turn,
) -> Response {
    let base = state.config.base_url(headers);
    let recorded = match Recorded::load(&state.db).await {
        Ok(r) => r,
        Err(e) => return refuse(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()),
    };
    let speaker = Speaker {
        dialect,
        action: format!("{base}{uri}"),
        base,
        recorded: &recorded,
    };
    match call(state, &speaker, turn).await {
        Ok(r) => r,
        Err(e) => {
            tracing::error!(error = %e.message(), "a call's request failed");
            refuse(e.status(), &e.message())
        }
    }
}

async fn call(state: &AppState, speaker: &Speaker<'_>, turn: Turn) -> Result<Response, Error> {
    let key = format!("voice:{}:{}", speaker.dialect.name(), turn.session);
    let menus = menus(state).await?;
    let cat = &menus.catalog;
    let found = store::ussd_session(&state.db, &key)
        .await?
        .and_then(|(json, _)| serde_json::from_str::<Session>(&json).ok());
    if !turn.active {
        return Ok(speaker.end(&[]));
    }
    let fresh = found.is_none();
    let mut session = found.unwrap_or_else(|| Session {
        state: ussd::State::start(ussd::Channel::Voice, None),
        ended: None,
        silent: 0,
    });
    if let Some(ended) = &session.ended {
        return Ok(speaker.end(&[Speech::Say(ended.clone(), session.state.lang)]));
    }
    let call = MenuCall {
        state,
        channel: "voice",
        id: &key,
        phone: &turn.phone,
        catalog: cat,
        registers: &menus.registers,
        banks: &menus.banks,
        kinds: &menus.kinds,
    };
    let s = &mut session.state;
    let reply = match (&turn.recording, &turn.digits) {
        _ if fresh => None,
        (Some(url), _) if s.step == ussd::Step::Describe => {
            Some(ussd::described(s, cat, None, Some(url.clone())))
        }
        // Keys pressed instead of speaking: the question again.
        _ if s.step == ussd::Step::Describe => None,
        (_, Some(digits)) => Some(ussd::advance(s, digits.trim_end_matches('#'), cat)),
        _ => None,
    };
    let lang = s.lang;
    let invalid = lang.t("ussd-invalid");
    let mut ended: Option<String> = None;
    let response = match reply {
        // Nothing pressed (or the call's first request): the screen again, a few times.
        None => {
            if !fresh {
                session.silent += 1;
            }
            if session.silent > PATIENCE {
                let bye = lang.t("voice-goodbye");
                ended = Some(bye.clone());
                speaker.end(&[speaker.speak(lang, Some("voice-goodbye"), &bye)])
            } else {
                speaker.screen(s, cat, None)
            }
        }
        Some(reply) => {
            session.silent = 0;
            match call.carry(s, reply).await? {
                Outcome::Screen(screen) if s.step == ussd::Step::Theory => {
                    speaker.gather(&[Speech::Say(screen, lang)])
                }
                Outcome::Screen(screen) => {
                    let note = screen.starts_with(&invalid).then_some(invalid.as_str());
                    speaker.screen(s, cat, note)
                }
                Outcome::Words(words, false) => speaker.gather(&[Speech::Say(words, lang)]),
                Outcome::Words(words, true) => {
                    ended = Some(words.clone());
                    speaker.end(&[Speech::Say(words, lang)])
                }
                Outcome::Submit => {
                    let (words, id) = call.file(s, Fetched::default()).await?;
                    if let Some(id) = id {
                        let service = s
                            .service
                            .as_deref()
                            .and_then(|c| cat.service(c))
                            .map(|svc| svc.name.get(lang).to_owned())
                            .unwrap_or_default();
                        after_filing(state, &turn.phone, (id, &service), s).await?;
                    }
                    ended = Some(words.clone());
                    speaker.end(&[Speech::Say(words, lang)])
                }
            }
        }
    };
    session.ended = ended;
    let json = serde_json::to_string(&session).map_err(|e| Error::Internal(e.into()))?;
    let mut tx = state.db.begin().await?;
    store::save_ussd_session(
        &mut tx,
        &key,
        turn.phone.e164(),
        &json,
        if fresh { 1 } else { 2 },
        Utc::now() + Duration::minutes(SESSION_MINUTES),
    )
    .await?;
    if fresh {
        let event = SmsEvent {
            service: "reports",
            kind: "menu_session",
            code: None,
            department_id: None,
            district: None,
        };
        event.record(&mut tx, "voice", &turn.phone).await?;
    }
    tx.commit().await?;
    Ok(response)
}

/// A report filed by a call: the caller gets its reference by SMS, and the recording is
/// fetched by a job (the gateway keeps it a while; the call is not kept waiting).
async fn after_filing(
    state: &AppState,
    phone: &Phone,
    (id, service): (i64, &str),
    s: &ussd::State,
) -> Result<(), Error> {
    let lang = s.lang;
    let mut tx = state.db.begin().await?;
    let text = t!(lang, "sms-received", id = id, service = service.to_owned());
    crate::platform::sms::queue(&mut tx, &state.config, phone, &text, lang, Some(id)).await?;
    if let Some(url) = &s.voice {
        let recording = store::add_recording(&mut tx, id, url).await?;
        jobs::enqueue_job(&mut tx, &Fetch { recording }).await?;
    }
    tx.commit().await?;
    state.job_wake.notify_one();
    Ok(())
}

/// The `voice.fetch` job: fetch a call's recording and keep it with its report.
#[derive(Serialize, Deserialize)]
pub struct Fetch {
    pub recording: i64,
}

impl jobs::Job for Fetch {
    const KIND: &'static str = "voice.fetch";
}

/// A recording's address as a gateway gives it: https, or plain http to this machine only (a
/// local relay). Nothing else is fetched, whatever a request claims.
pub fn recording_url_ok(url: &str) -> bool {
    let Ok(uri) = url.parse::<Uri>() else {
        return false;
    };
    match (uri.scheme_str(), uri.host()) {
        (Some("https"), Some(_)) => true,
        (Some("http"), Some(h)) => matches!(h, "127.0.0.1" | "localhost" | "[::1]"),
        _ => false,
    }
}

async fn fetch_job(
    db: Db,
    config: std::sync::Arc<Config>,
    Fetch { recording }: Fetch,
) -> anyhow::Result<()> {
    let row = store::recording(&db, recording).await?;
    let Some((report, url)) = row else {
        return Ok(());
    };
    anyhow::ensure!(
        recording_url_ok(&url),
        "not a recording address Khidmat fetches: {url}"
    );
    let req =
        hyper::Request::get(&url).body(http_body_util::Full::new(axum::body::Bytes::new()))?;
    let answer = crate::platform::http::fetch(
        config.tls_ca_file.as_deref(),
        req,
        std::time::Duration::from_secs(60),
        crate::platform::whatsapp::MAX_AUDIO_BYTES,
    )
    .await?;
    anyhow::ensure!(
        answer.status.is_success(),
        "the gateway answered {} for the recording",
        answer.status
    );
    let files = crate::platform::files::Store::from_config(&config)?;
    crate::reports::attach_voice(&db, &files, report, answer.body.to_vec())
        .await
        .map_err(|e| anyhow::anyhow!("{}", e.message()))?;
    store::remove_recording(&db, recording).await?;
    Ok(())
}

pub fn register_jobs(registry: &mut jobs::Registry, config: &std::sync::Arc<Config>) {
    let config = config.clone();
    registry.register_job(move |db, job: Fetch| fetch_job(db, config.clone(), job));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn twilios_signature_matches_its_documentation() {
        // The vector of Twilio's own request-validator tests (twilio-python).
        let form: Vec<(String, String)> = [
            ("To", "+18005551212"),
            ("CallSid", "CA1234567890ABCDE"),
            ("Digits", "1234"),
            ("From", "+14158675309"),
            ("Caller", "+14158675309"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        let url = "https://mycompany.com/myapp.php?foo=1&bar=2";
        let expected = "RSOYDt4T1cUTdK1PDd93/VVr8B8=";
        assert_eq!(twilio_signature("12345", url, &form), expected);
        assert!(twilio_signature_ok("12345", url, &form, Some(expected)));
        let other = "https://mycompany.com/myapp.php?foo=1&bar=3";
        assert!(!twilio_signature_ok("12345", other, &form, Some(expected)));
        assert!(!twilio_signature_ok("12346", url, &form, Some(expected)));
        assert!(!twilio_signature_ok("12345", url, &form, None));
    }

    #[test]
    fn only_recordings_at_https_or_this_machine_are_fetched() {
        assert!(recording_url_ok(
            "https://api.twilio.com/2010-04-01/Accounts/AC1/Recordings/RE1"
        ));
        assert!(recording_url_ok("http://127.0.0.1:8080/r.mp3"));
        for bad in [
            "http://169.254.169.254/latest/meta-data",
            "http://10.0.0.5/r.mp3",
            "file:///etc/passwd",
            "ftp://example.com/r.mp3",
            "https:///nohost",
            "not a url",
        ] {
            assert!(!recording_url_ok(bad), "{bad}");
        }
    }

    #[test]
    fn prompt_names_stay_in_their_directory() {
        assert!(prompt_name_ok("service-kunda"));
        assert!(prompt_name_ok("answer-kunda-method-hook"));
        for bad in ["", "../secret", "a/b", "A", "x.mp3", "a b"] {
            assert!(!prompt_name_ok(bad), "{bad}");
        }
    }
}
