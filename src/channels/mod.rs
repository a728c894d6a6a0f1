//! Feature-phone channels: SMS and USSD in (gateway webhooks), SMS out.
//!
//! - `POST /channels/smssync` (SMSSync: `secret, from, message, sent_timestamp, message_id`) and
//!   `GET /channels/smssync?task=send&secret=…` (SMSSync collecting the messages to send)
//! - `POST /channels/africastalking/sms?key=…` (`from, to, text, date, id`)
//! - `POST /channels/africastalking/ussd?key=…` (`sessionId, serviceCode, phoneNumber, text`),
//!   answered `CON …` (more to come) or `END …`
//!
//! A gateway's retry of a message it already delivered creates nothing twice: inbound messages
//! are kept once per gateway and id, and reports filed from them carry that id as their
//! idempotency key. Limits per phone number and per gateway are token buckets in the database.

pub mod sms;
pub mod store;
pub mod ussd;
pub mod voice;
pub mod whatsapp;

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Form, Json, Router};
use chrono::{Duration, Utc};
use serde::Deserialize;
use serde_json::json;

use crate::platform::error::Error;
use crate::platform::i18n::{Lang, Text3};
use crate::platform::impact;
use crate::platform::personal::Phone;
use crate::platform::ratelimit::take_db_token;
use crate::platform::state::AppState;
use crate::quiz;
use crate::reports::{self, Origin, Submission};
use crate::t;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/channels/smssync", post(smssync_in).get(smssync_pull))
        .route("/channels/africastalking/sms", post(africastalking_sms))
        .route("/channels/africastalking/ussd", post(africastalking_ussd))
        .merge(whatsapp::router())
        .merge(voice::router())
}

/// Compare secrets in constant time; a gateway with no secret configured is switched off.
fn secret_ok(expected: Option<&str>, given: Option<&str>) -> bool {
    match (expected, given) {
        (Some(e), Some(g)) if !e.is_empty() => crate::platform::identity::same_secret(e, g),
        _ => false,
    }
}

/// Is `given` a gateway's secret? Once an administrator has generated one in the browser, it is
/// the only one; before that, the gateway's own configured secret, else the shared one.
async fn gateway_allows(state: &AppState, own: &Option<String>, given: Option<&str>) -> bool {
    match (&state.settings().await.gateway_secret_sha256, given) {
        (Some(sha), Some(g)) => crate::platform::settings::secret_matches(sha, g),
        (Some(_), None) => false,
        (None, _) => secret_ok(
            own.as_deref().or(state.config.channel_secret.as_deref()),
            given,
        ),
    }
}

/// A gateway error, as plain text with its status (gateways log it).
fn refuse(status: StatusCode, message: &str) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        message.to_owned(),
    )
        .into_response()
}

/// The gateway's own limit: past it, 429 (gateways try again later).
async fn gateway_limit(state: &AppState, gateway: &str) -> Result<(), Response> {
    match take_db_token(
        &state.db,
        &format!("gateway:{gateway}"),
        state.config.gateway_per_minute,
    )
    .await
    {
        Ok(true) => Ok(()),
        Ok(false) => Err(refuse(
            StatusCode::TOO_MANY_REQUESTS,
            "too many requests from this gateway: try again in a minute",
        )),
        Err(e) => Err(Error::from(e).into_response()),
    }
}

/// Active services, for keywords and menus.
async fn services(state: &AppState) -> Result<Vec<Arc<reports::model::Service>>, sqlx::Error> {
    Ok(reports::active_services(&state.db)
        .await?
        .into_iter()
        .map(Arc::new)
        .collect())
}

/// The district named in a text, if any (the longest name that appears, in any language).
fn district_in(text: &str, districts: &[crate::platform::org::District]) -> Option<String> {
    let lower = text.to_lowercase();
    districts
        .iter()
        .flat_map(|d| {
            [&d.name_en, &d.name_ur, &d.name_ps]
                .into_iter()
                .filter(|n| n.chars().count() >= 3)
                .map(move |n| (n.to_lowercase(), &d.slug))
        })
        .filter(|(n, _)| lower.contains(n.as_str()))
        .max_by_key(|(n, _)| n.chars().count())
        .map(|(_, slug)| slug.clone())
}

/// An inbound message's door: kept once per gateway and id, then held to the number's limit
/// (`(bucket, per minute)`). `false` when it is not to be answered: a repeat of one already
/// answered, or one past the limit (no answer: it could be a loop with another robot).
async fn admit(
    state: &AppState,
    (gateway, external_id): (&str, &str),
    phone: &Phone,
    body: &str,
    (bucket, per_minute): (&str, u32),
) -> Result<bool, Error> {
    if store::claim_message(&state.db, gateway, external_id, phone.e164(), body)
        .await?
        .is_some()
    {
        return Ok(false);
    }
    let key = format!("{bucket}:{}", phone.e164());
    if !take_db_token(&state.db, &key, per_minute).await? {
        let mut tx = state.db.begin().await?;
        store::complete_message(&mut tx, gateway, external_id, "").await?;
        tx.commit().await?;
        return Ok(false);
    }
    Ok(true)
}

/// Handle one inbound SMS: answer it (the answer is queued as an outbound SMS).
async fn inbound_sms(
    state: &AppState,
    gateway: &str,
    external_id: &str,
    phone: &Phone,
    text: &str,
) -> Result<(), Error> {
    let limit = ("sms-in", state.config.sms_per_number_per_minute);
    if !admit(state, (gateway, external_id), phone, text, limit).await? {
        return Ok(());
    }
    let SmsAnswer {
        reply,
        lang,
        report_id,
        event,
    } = answer(state, "sms", (gateway, external_id, text), phone, false)
        .await?
        .expect("SMS always has an answer");
    let mut tx = state.db.begin().await?;
    if store::complete_message(&mut tx, gateway, external_id, &reply).await? {
        crate::platform::sms::queue(&mut tx, &state.config, phone, &reply, lang, report_id).await?;
        if let Some(e) = &event {
            e.record(&mut tx, "sms", phone).await?;
        }
    }
    tx.commit().await?;
    state.job_wake.notify_one();
    Ok(())
}

/// What a message in words asks (a keyword and a place, STATUS, GRANT, FIND, a register's
/// keyword, FOLLOW, STOP, a digit answering a question, or anything else: help), answered.
/// `message` is the gateway, its id for the message and the text as sent; `channel` is the
/// channel it came by (`sms`, `whatsapp`). `None` for help when the channel has menus to show
/// instead (`has_menus`).
async fn answer(
    state: &AppState,
    channel: &'static str,
    message: (&str, &str, &str),
    phone: &Phone,
    has_menus: bool,
) -> Result<Option<SmsAnswer>, Error> {
    let clean = sms::normalize(message.2);
    let kinds: Vec<Arc<crate::directory::model::Kind>> = crate::directory::kinds(&state.db)
        .await?
        .into_iter()
        .map(Arc::new)
        .collect();
    let registers: Vec<Arc<crate::registers::Register>> = crate::registers::registers(&state.db)
        .await?
        .into_iter()
        .map(Arc::new)
        .collect();
    let (command, lang) = sms::parse(&clean, &services(state).await?, &kinds, &registers);
    Ok(Some(match command {
        sms::Command::Help if has_menus => return Ok(None),
        sms::Command::Help => sms_help(state, lang).await?,
        sms::Command::Find { kind, rest } => sms_find(state, &kind, &rest, lang).await?,
        sms::Command::Status { reference } => {
            sms_status(state, phone, reference, lang, false).await?
        }
        sms::Command::Lookup { register, rest } => {
            sms_lookup(state, channel, phone, &register, &rest, lang).await?
        }
        sms::Command::Grant { reference, cnic } => sms_grant(state, reference, cnic, lang).await?,
        sms::Command::Report { service, rest } => {
            sms_report(state, channel, phone, message, &service, &rest, lang).await?
        }
        sms::Command::Follow { reference } => {
            sms_follow(state, (channel, phone), reference, lang).await?
        }
        sms::Command::Stop { reference } => {
            reports::followup::unfollow_by_phone(&state.db, (channel, phone), reference).await?;
            let reply = match reference {
                Some(id) => t!(lang, "sms-follow-off", id = id),
                None => lang.t("sms-follow-off-all"),
            };
            SmsAnswer::new(reply, lang)
        }
        sms::Command::Reply { digit, rest } => {
            let base = state.config.public_url.clone().unwrap_or_default();
            match reports::followup::answer_by_sms(state, phone, digit, &rest, &base).await? {
                Some((reply, lang, id)) => SmsAnswer {
                    reply,
                    lang,
                    report_id: Some(id),
                    event: None,
                },
                None if has_menus => return Ok(None),
                None => sms_help(state, lang).await?,
            }
        }
    }))
}

/// What one SMS intent answers: the reply and its language, the report it filed, and the impact
/// event it counts as (an intent that records its own, such as a register lookup, has none).
struct SmsAnswer {
    reply: String,
    lang: Lang,
    report_id: Option<i64>,
    event: Option<SmsEvent>,
}

struct SmsEvent {
    service: &'static str,
    kind: &'static str,
    code: Option<String>,
    department_id: Option<i64>,
    /// The district it was about (a search near a district's centre), when there is one.
    district: Option<String>,
}

impl SmsEvent {
    /// Count it, for the number that asked, on `channel`.
    async fn record(
        &self,
        tx: &mut crate::platform::db::Tx,
        channel: &str,
        phone: &Phone,
    ) -> Result<(), Error> {
        impact::record(
            tx,
            &impact::Event {
                service: self.service,
                kind: self.kind,
                code: self.code.as_deref(),
                channel,
                district: self.district.as_deref(),
                department_id: self.department_id,
                minutes_saved: 0,
                citizen: Some(impact::Citizen::phone(phone)),
            },
        )
        .await?;
        Ok(())
    }
}

impl SmsAnswer {
    fn new(reply: String, lang: Lang) -> Self {
        SmsAnswer {
            reply,
            lang,
            report_id: None,
            event: None,
        }
    }

    fn counted(
        mut self,
        service: &'static str,
        kind: &'static str,
        code: Option<String>,
        department_id: Option<i64>,
    ) -> Self {
        self.event = Some(SmsEvent {
            service,
            kind,
            code,
            department_id,
            district: None,
        });
        self
    }
}

/// `HELP` (or anything we could not read): what can be sent, and to which keywords.
async fn sms_help(state: &AppState, lang: Lang) -> Result<SmsAnswer, Error> {
    Ok(SmsAnswer::new(help(state, lang).await?, lang).counted("reports", "sms_help", None, None))
}

/// `FIND <kind> <district>`: the nearest verified places.
async fn sms_find(
    state: &AppState,
    kind: &crate::directory::model::Kind,
    rest: &str,
    lang: Lang,
) -> Result<SmsAnswer, Error> {
    let reply = find_reply(state, kind, rest, lang).await?;
    Ok(SmsAnswer::new(reply, lang).counted(
        "directory",
        "directory_search",
        Some(kind.code.clone()),
        kind.department_id,
    ))
}

/// The report a number may ask about by SMS: any public report, and a report of a private
/// service (a complaint about a person) only from the phone that made it.
async fn report_for_number(
    state: &AppState,
    phone: &Phone,
    reference: Option<i64>,
) -> Result<Option<reports::ReportRow>, Error> {
    let found = match reference {
        Some(id) => reports::report(&state.db, id).await?,
        None => None,
    };
    Ok(found.filter(|r| r.service_public || r.contact_phone.as_deref() == Some(phone.e164())))
}

/// `STATUS <number>`: where a report stands. Anyone may ask after a public report; a report of
/// a private service (a complaint about a person) answers only the phone that made it.
async fn sms_status(
    state: &AppState,
    phone: &Phone,
    reference: Option<i64>,
    lang: Lang,
    spell: bool,
) -> Result<SmsAnswer, Error> {
    let visible = report_for_number(state, phone, reference).await?;
    let Some(r) = visible else {
        let reply = match reference {
            Some(id) if spell => t!(
                lang,
                "sms-status-unknown",
                id = crate::platform::text::spelled(id)
            ),
            Some(id) => t!(lang, "sms-status-unknown", id = id),
            None => t!(lang, "sms-status-how"),
        };
        return Ok(SmsAnswer::new(reply, lang).counted("reports", "status_checked", None, None));
    };
    // A Latin "STATUS" is answered in the report's own language.
    let lang = if lang == Lang::En {
        Lang::parse(&r.lang).unwrap_or(lang)
    } else {
        lang
    };
    let head = if spell {
        t!(
            lang,
            "sms-status",
            id = crate::platform::text::spelled(r.id),
            status = r.rich_status().label(lang)
        )
    } else {
        t!(
            lang,
            "sms-status",
            id = r.id,
            status = r.rich_status().label(lang)
        )
    };
    let note = r.status_notes.clone().unwrap_or_default();
    Ok(
        SmsAnswer::new(crate::platform::sms::fit(&head, &note, 2), lang).counted(
            "reports",
            "status_checked",
            Some(r.service_code.clone()),
            Some(r.department_id),
        ),
    )
}

/// `FOLLOW <number>`: this number is told of the report's changes. A report of a private
/// service may be followed only by the number that made it, as its status may.
async fn sms_follow(
    state: &AppState,
    (channel, phone): (&'static str, &Phone),
    reference: Option<i64>,
    lang: Lang,
) -> Result<SmsAnswer, Error> {
    let visible = report_for_number(state, phone, reference).await?;
    let reply = match (visible, reference) {
        (Some(r), _) => {
            reports::followup::follow_by_phone(state, r.id, (channel, phone), lang).await?;
            t!(lang, "sms-follow-on", id = r.id)
        }
        (None, Some(id)) => t!(lang, "sms-status-unknown", id = id),
        (None, None) => lang.t("sms-follow-how"),
    };
    Ok(SmsAnswer::new(reply, lang))
}

/// A register's keyword and a key: the register's answer. The lookup records its own impact
/// event (with the register's minutes saved).
async fn sms_lookup(
    state: &AppState,
    channel: &'static str,
    phone: &Phone,
    register: &crate::registers::Register,
    rest: &str,
    lang: Lang,
) -> Result<SmsAnswer, Error> {
    if rest.trim().is_empty() {
        let keyword = register.spec.sms.first(lang).unwrap_or(&register.spec.code);
        return Ok(SmsAnswer::new(
            t!(lang, "register-sms-how", keyword = keyword.to_owned()),
            lang,
        ));
    }
    let citizen = Some(impact::Citizen::phone(phone));
    let reply = match crate::registers::lookup(state, register, rest, lang, channel, citizen).await
    {
        Ok(a) => a.answer,
        Err(e @ (Error::BadRequest(_) | Error::TooManyRequests(_))) => e.message(),
        Err(e) => return Err(e),
    };
    Ok(SmsAnswer::new(reply, lang))
}

/// `GRANT <reference> <CNIC>`: where an application for a grant stands.
async fn sms_grant(
    state: &AppState,
    reference: Option<String>,
    cnic: Option<String>,
    lang: Lang,
) -> Result<SmsAnswer, Error> {
    let (Some(reference), Some(cnic)) = (reference, cnic) else {
        return Ok(SmsAnswer::new(lang.t("benefit-sms-how"), lang));
    };
    Ok(
        match crate::benefits::apply::status(state, &reference, &cnic, lang).await? {
            Some(s) => {
                let head = format!("{}: {}", s.reference, s.status_text);
                SmsAnswer::new(
                    crate::platform::sms::fit(&head, &s.reasons.join(" "), 1),
                    lang,
                )
                .counted("benefits", "status_checked", Some(s.fund.clone()), None)
            }
            None => SmsAnswer::new(
                t!(lang, "benefit-sms-not-found", reference = reference),
                lang,
            ),
        },
    )
}

/// A service's keyword and the place: a report, filed once however often the gateway delivers
/// the message (`message` is the gateway, its id for the message, and the text as sent).
async fn sms_report(
    state: &AppState,
    channel: &'static str,
    phone: &Phone,
    message: (&str, &str, &str),
    service: &reports::model::Service,
    rest: &str,
    lang: Lang,
) -> Result<SmsAnswer, Error> {
    let (gateway, external_id, text) = message;
    if rest.is_empty() {
        let keyword = service.sms_keywords.first(lang).unwrap_or(&service.code);
        return Ok(SmsAnswer::new(
            t!(lang, "sms-need-place", keyword = keyword.to_owned()),
            lang,
        ));
    }
    let districts = state.districts().await?;
    let sub = Submission {
        service_code: Some(service.code.clone()),
        district: district_in(rest, &districts),
        address: Some(rest.chars().take(500).collect()),
        description: Some(rest.to_owned()),
        phone: Some(phone.e164().to_owned()),
        partial: true,
        ..Default::default()
    };
    let origin = Origin {
        channel,
        api_key_id: None,
        idempotency: Some((
            format!("{channel}:{gateway}"),
            external_id.to_owned(),
            crate::platform::idempotency::request_hash(&[phone.e164().as_bytes(), text.as_bytes()]),
        )),
    };
    match reports::submit(state, sub, origin, lang).await {
        Ok(receipt) => {
            let reply = t!(
                lang,
                "sms-received",
                id = receipt.service_request_id.clone(),
                service = service.name.get(lang).to_owned()
            );
            let mut answer = SmsAnswer::new(reply, lang);
            answer.report_id = receipt.service_request_id.parse().ok();
            Ok(answer)
        }
        Err(Error::Internal(e)) => Err(Error::Internal(e)),
        Err(e) => Ok(SmsAnswer::new(
            crate::platform::sms::fit(&t!(lang, "sms-not-filed"), &e.message(), 1),
            lang,
        )),
    }
}

/// The three nearest verified places of `kind` to the district named in `rest`.
async fn find_reply(
    state: &AppState,
    kind: &crate::directory::model::Kind,
    rest: &str,
    lang: Lang,
) -> Result<String, Error> {
    let keyword = kind
        .sms_keywords
        .first(lang)
        .unwrap_or(&kind.code)
        .to_owned();
    let districts = state.districts().await?;
    let Some(slug) = district_in(rest, &districts) else {
        return Ok(t!(lang, "sms-dir-need-area", keyword = keyword));
    };
    let d = districts
        .iter()
        .find(|d| d.slug == slug)
        .expect("found above");
    nearest_reply(state, kind, (d.hq_lat, d.hq_long), d.name(lang), lang).await
}

/// The three nearest verified places of `kind` to `point` (within 30 km), one a line with its
/// distance and phone; or that there is none near `area`.
async fn nearest_reply(
    state: &AppState,
    kind: &crate::directory::model::Kind,
    (lat, long): (f64, f64),
    area: &str,
    lang: Lang,
) -> Result<String, Error> {
    let query = crate::directory::index::Query {
        kind: kind.code.clone(),
        lat,
        long,
        radius_m: 30_000.0,
        filters: vec![],
        open_at: None,
        limit: 3,
    };
    let found = state.directory().nearest(&state.db, &query).await?;
    if found.is_empty() {
        return Ok(t!(
            lang,
            "sms-dir-none",
            kind = kind.name.get(lang).to_owned(),
            area = area.to_owned()
        ));
    }
    let lines: Vec<String> = found
        .iter()
        .enumerate()
        .map(|(i, (p, m))| {
            let phone = p
                .phone
                .as_deref()
                .map(|n| format!(" {n}"))
                .unwrap_or_default();
            format!("{}) {} {:.1}km{phone}", i + 1, p.name.get(lang), m / 1000.0)
        })
        .collect();
    Ok(lines.join("\n"))
}

/// The help answer: how to report (with a real keyword) and how to ask.
async fn help(state: &AppState, lang: Lang) -> Result<String, sqlx::Error> {
    let services = services(state).await?;
    let number = state.config.sms_number.clone();
    // A keyword this deployment really has; none (no service reports by SMS): say only how to
    // follow a report, rather than name a keyword that would not work.
    Ok(
        match services.iter().find_map(|s| s.sms_keywords.first(lang)) {
            Some(example) => t!(
                lang,
                "sms-help",
                keyword = example.to_owned(),
                number = number
            ),
            None => t!(lang, "sms-help-follow-only", number = number),
        },
    )
}

// ---------------------------------------------------------------------------------------------
// SMSSync

#[derive(Deserialize)]
struct SmsSyncQuery {
    task: Option<String>,
    secret: Option<String>,
}

fn smssync_error(status: StatusCode, message: &str) -> Response {
    (
        status,
        Json(json!({"payload": {"success": false, "error": message}})),
    )
        .into_response()
}

/// The messages waiting for SMSSync to send, as its protocol lists them; they are handed over.
/// (Those queued for it before an administrator chose another gateway still go this way.)
async fn smssync_messages(state: &AppState) -> Result<Vec<serde_json::Value>, sqlx::Error> {
    Ok(crate::platform::sms::take_queued(&state.db, "smssync", 50)
        .await?
        .into_iter()
        .map(|m| json!({"to": m.phone, "message": m.body, "uuid": format!("khidmat-{}", m.id)}))
        .collect())
}

async fn smssync_in(
    State(state): State<AppState>,
    Form(f): Form<HashMap<String, String>>,
) -> Response {
    if !gateway_allows(
        &state,
        &state.config.smssync_secret,
        f.get("secret").map(String::as_str),
    )
    .await
    {
        return smssync_error(StatusCode::FORBIDDEN, "wrong or missing secret");
    }
    if let Err(r) = gateway_limit(&state, "smssync").await {
        return r;
    }
    let (Some(from), Some(message)) = (f.get("from"), f.get("message")) else {
        return smssync_error(StatusCode::BAD_REQUEST, "from and message are required");
    };
    let Some(phone) = Phone::parse(from) else {
        return smssync_error(
            StatusCode::BAD_REQUEST,
            "from is not a Pakistani mobile number",
        );
    };
    // SMSSync sends message_id; without it, the sender, time and text identify the message.
    let id = f
        .get("message_id")
        .filter(|s| !s.is_empty())
        .cloned()
        .unwrap_or_else(|| {
            crate::platform::idempotency::request_hash(&[
                from.as_bytes(),
                f.get("sent_timestamp")
                    .map(String::as_str)
                    .unwrap_or("")
                    .as_bytes(),
                message.as_bytes(),
            ])
        });
    if let Err(e) = inbound_sms(
        &state,
        "smssync",
        &id.chars().take(200).collect::<String>(),
        &phone,
        message,
    )
    .await
    {
        return smssync_error(e.status(), &e.message());
    }
    let messages = match smssync_messages(&state).await {
        Ok(m) => m,
        Err(e) => return Error::from(e).into_response(),
    };
    let mut payload = json!({"success": true, "error": null});
    if !messages.is_empty() {
        payload["task"] = json!("send");
        // SMSSync checks that the answer carries the secret it sent (which matched).
        payload["secret"] = json!(f.get("secret"));
        payload["messages"] = json!(messages);
    }
    Json(json!({"payload": payload})).into_response()
}

async fn smssync_pull(State(state): State<AppState>, Query(q): Query<SmsSyncQuery>) -> Response {
    if !gateway_allows(&state, &state.config.smssync_secret, q.secret.as_deref()).await {
        return smssync_error(StatusCode::FORBIDDEN, "wrong or missing secret");
    }
    if q.task.as_deref() != Some("send") {
        return smssync_error(StatusCode::BAD_REQUEST, "task must be send");
    }
    match smssync_messages(&state).await {
        Ok(messages) => {
            Json(json!({"payload": {"task": "send", "secret": q.secret, "messages": messages}}))
                .into_response()
        }
        Err(e) => Error::from(e).into_response(),
    }
}

// ---------------------------------------------------------------------------------------------
// Africa's-Talking-style callbacks

#[derive(Deserialize)]
struct KeyQuery {
    key: Option<String>,
}

#[derive(Deserialize)]
struct AtSms {
    from: String,
    text: Option<String>,
    id: String,
}

/// The Africa's-Talking-style callbacks' door: the key, then the gateway's limit.
async fn africastalking_gate(state: &AppState, key: Option<&str>) -> Result<(), Response> {
    if !gateway_allows(state, &state.config.africastalking_secret, key).await {
        return Err(refuse(StatusCode::FORBIDDEN, "wrong or missing key"));
    }
    gateway_limit(state, "africastalking").await
}

async fn africastalking_sms(
    State(state): State<AppState>,
    Query(q): Query<KeyQuery>,
    form: Result<Form<AtSms>, axum::extract::rejection::FormRejection>,
) -> Response {
    if let Err(r) = africastalking_gate(&state, q.key.as_deref()).await {
        return r;
    }
    let Ok(Form(f)) = form else {
        return refuse(
            StatusCode::BAD_REQUEST,
            "from, text and id are required form fields",
        );
    };
    let Some(phone) = Phone::parse(&f.from) else {
        return refuse(
            StatusCode::BAD_REQUEST,
            "from is not a Pakistani mobile number",
        );
    };
    if f.id.is_empty() || f.id.len() > 200 {
        return refuse(StatusCode::BAD_REQUEST, "id must be 1 to 200 characters");
    }
    match inbound_sms(
        &state,
        "africastalking",
        &f.id,
        &phone,
        f.text.as_deref().unwrap_or(""),
    )
    .await
    {
        Ok(()) => refuse(StatusCode::OK, "OK"),
        Err(e) => refuse(e.status(), &e.message()),
    }
}

#[derive(Deserialize)]
struct AtUssd {
    #[serde(rename = "sessionId")]
    session_id: String,
    #[serde(rename = "phoneNumber")]
    phone_number: String,
    text: Option<String>,
}

fn ussd_answer(reply: &str, end: bool) -> Response {
    let text = format!("{} {reply}", if end { "END" } else { "CON" });
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        text,
    )
        .into_response()
}

async fn africastalking_ussd(
    State(state): State<AppState>,
    Query(q): Query<KeyQuery>,
    form: Result<Form<AtUssd>, axum::extract::rejection::FormRejection>,
) -> Response {
    if let Err(r) = africastalking_gate(&state, q.key.as_deref()).await {
        return r;
    }
    let Ok(Form(f)) = form else {
        return refuse(
            StatusCode::BAD_REQUEST,
            "sessionId, phoneNumber and text are required form fields",
        );
    };
    let Some(phone) = Phone::parse(&f.phone_number) else {
        return refuse(
            StatusCode::BAD_REQUEST,
            "phoneNumber is not a Pakistani mobile number",
        );
    };
    if f.session_id.is_empty() || f.session_id.len() > 200 {
        return refuse(
            StatusCode::BAD_REQUEST,
            "sessionId must be 1 to 200 characters",
        );
    }
    match ussd(
        &state,
        &format!("africastalking:{}", f.session_id),
        &phone,
        f.text.as_deref().unwrap_or(""),
    )
    .await
    {
        Ok((reply, end)) => ussd_answer(&reply, end),
        Err(e) => refuse(e.status(), &e.message()),
    }
}

/// A session kept between requests: the menus' state, and the answer that ended it (a repeat
/// of the last request gets the same answer).
#[derive(Debug, Default, serde::Serialize, Deserialize)]
struct Session {
    state: ussd::State,
    ended: Option<String>,
    /// Times in a row a caller let a screen pass without an answer (a call asks again, twice).
    #[serde(default)]
    silent: u8,
}

/// What the menus offer now (the packs and the admin pages' services, districts, registers and
/// theory tests), read afresh for each request so that every channel shows a new service at once.
struct Menus {
    catalog: ussd::Catalog,
    kinds: Vec<crate::directory::model::Kind>,
    registers: Vec<crate::registers::Register>,
    banks: Vec<(quiz::BankSpec, i64)>,
}

async fn menus(state: &AppState) -> Result<Menus, Error> {
    menus_of(&state.db, &state.districts().await?).await
}

async fn menus_of(
    db: &crate::platform::db::Db,
    districts: &[crate::platform::org::District],
) -> Result<Menus, Error> {
    let services = reports::active_services(db)
        .await?
        .into_iter()
        .map(Arc::new)
        .collect();
    let districts: Vec<(String, Text3)> = districts
        .iter()
        .map(|d| {
            (
                d.slug.clone(),
                Text3 {
                    en: d.name_en.clone(),
                    ur: d.name_ur.clone(),
                    ps: d.name_ps.clone(),
                },
            )
        })
        .collect();
    let registers = crate::registers::registers(db).await?;
    let banks = quiz::banks(db).await?;
    let kinds = crate::directory::kinds(db).await?;
    let catalog = ussd::Catalog::new(services, districts)
        .with_registers(
            registers
                .iter()
                .map(|r| (r.spec.code.clone(), r.spec.name.clone()))
                .collect(),
        )
        .with_banks(banks.iter().map(|(b, _)| Arc::new(b.clone())).collect())
        .with_kinds(
            kinds
                .iter()
                .map(|k| (k.code.clone(), k.name.clone()))
                .collect(),
        );
    Ok(Menus {
        kinds,
        catalog,
        registers,
        banks,
    })
}

/// The prompts a call can play in `lang`, recorded or not: what `khidmat voice prompts` and
/// the admin page list.
pub async fn voice_prompts(
    db: &crate::platform::db::Db,
    lang: Lang,
) -> Result<Vec<voice::Prompt>, Error> {
    let districts = crate::platform::org::districts(db).await?;
    let menus = menus_of(db, &districts).await?;
    let recorded = voice::Recorded::load(db).await?;
    Ok(voice::prompts(&menus.catalog, &recorded, lang))
}

/// Keep a recording as the prompt `name` in `lang` (`bytes`), or with `None` forget it, for one
/// who administers `power`: a department's managers record their department's prompts (its
/// name, services, questions and answers), platform administrators any.
pub async fn set_voice_prompt(
    db: &crate::platform::db::Db,
    files: &crate::platform::files::Store,
    (actor, power): (&str, crate::admin::Power),
    (lang, name): (Lang, &str),
    bytes: Option<Vec<u8>>,
) -> Result<(), Error> {
    let districts = crate::platform::org::districts(db).await?;
    let menus = menus_of(db, &districts).await?;
    // A prompt the menus say, and one this caller records: a department's own, or for a
    // platform administrator any.
    if !ussd::all_prompts(&menus.catalog, lang)
        .iter()
        .any(|(n, _)| n == name)
    {
        return Err(Error::BadRequest(t!(
            lang,
            "voice-err-prompt-name",
            name = name.to_owned()
        )));
    }
    match (voice::owner(&menus.catalog, name), power) {
        (_, crate::admin::Power::Platform) => {}
        (Some(d), p) => p.over(d)?,
        (None, _) => return Err(Error::NotFound(lang.t("voice-err-prompt-shared"))),
    }
    match bytes {
        Some(b) => voice::save_prompt(db, files, (actor, lang), name, b).await,
        None => voice::remove_prompt(db, actor, lang, name)
            .await
            .map(|_| ()),
    }
}

/// One USSD request: `text` is every input of the session so far, joined by `*`.
async fn ussd(
    state: &AppState,
    id: &str,
    phone: &Phone,
    text: &str,
) -> Result<(String, bool), Error> {
    let inputs: Vec<&str> = if text.is_empty() {
        vec![]
    } else {
        text.split('*').collect()
    };
    let Menus {
        catalog,
        registers,
        banks,
        kinds,
    } = menus(state).await?;
    let (mut session, seen) = match store::ussd_session(&state.db, id).await? {
        Some((json, seen)) => (
            serde_json::from_str::<Session>(&json).unwrap_or_default(),
            seen as usize,
        ),
        None if inputs.is_empty() => (Session::default(), 0),
        None => {
            // The session expired (or never was): say so in the language chosen at its start.
            let lang = match inputs.first().map(|s| s.trim()) {
                Some("1") => Lang::En,
                Some("3") => Lang::Ps,
                _ => Lang::Ur,
            };
            return Ok((t!(lang, "ussd-expired"), true));
        }
    };
    if let Some(ended) = &session.ended {
        return Ok((ended.clone(), true));
    }
    let fresh = seen == 0 && inputs.is_empty();
    let call = MenuCall {
        state,
        channel: "ussd",
        id,
        phone,
        catalog: &catalog,
        registers: &registers,
        banks: &banks,
        kinds: &kinds,
    };
    let mut answer = (ussd::screen(&session.state, &catalog, None), false);
    for input in inputs.iter().skip(seen) {
        let reply = ussd::advance(&mut session.state, input, &catalog);
        answer = match call.carry(&mut session.state, reply).await? {
            Outcome::Screen(s) => (s, false),
            Outcome::Words(w, end) => (ussd::shorten(&w, ussd::LIMIT), end),
            Outcome::Submit => (call.submit(&session.state, Fetched::default()).await?, true),
        };
        if answer.1 {
            break;
        }
    }
    if answer.1 {
        session.ended = Some(answer.0.clone());
    }
    let mut tx = state.db.begin().await?;
    store::save_ussd_session(
        &mut tx,
        id,
        phone.e164(),
        &serde_json::to_string(&session).map_err(|e| Error::Internal(e.into()))?,
        inputs.len().max(seen) as i64,
        Utc::now() + Duration::minutes(state.config.ussd_session_minutes),
    )
    .await?;
    if fresh {
        impact::record(
            &mut tx,
            &impact::Event {
                service: "reports",
                kind: "ussd_session",
                code: None,
                channel: "ussd",
                district: None,
                department_id: None,
                minutes_saved: 0,
                citizen: Some(impact::Citizen::phone(phone)),
            },
        )
        .await?;
    }
    tx.commit().await?;
    Ok(answer)
}

/// One menu request's context (USSD, WhatsApp, a call), for the intents that leave the pure
/// menus: filing a report, a register lookup, a test's start and each answer. Each returns the
/// screen and whether it ends the session.
struct MenuCall<'a> {
    state: &'a AppState,
    /// `ussd`, `whatsapp`, `voice`.
    channel: &'static str,
    /// The session's id: the report's idempotency key.
    id: &'a str,
    phone: &'a Phone,
    catalog: &'a ussd::Catalog,
    registers: &'a [crate::registers::Register],
    banks: &'a [(quiz::BankSpec, i64)],
    kinds: &'a [crate::directory::model::Kind],
}

impl MenuCall<'_> {
    /// A register's answer for `key`, the last screen.
    async fn lookup(&self, register: &str, key: &str, lang: Lang) -> Result<String, Error> {
        let Some(reg) = self.registers.iter().find(|r| r.spec.code == register) else {
            return Ok(lang.t("ussd-invalid"));
        };
        let citizen = Some(impact::Citizen::phone(self.phone));
        let text = match crate::registers::lookup(self.state, reg, key, lang, self.channel, citizen)
            .await
        {
            Ok(a) => a.answer,
            Err(e @ (Error::BadRequest(_) | Error::TooManyRequests(_))) => e.message(),
            Err(e) => return Err(e),
        };
        Ok(ussd::shorten(&text, ussd::LIMIT))
    }

    /// Where report `reference` stands, as STATUS answers it (a call reads the number digit by
    /// digit); counted as a status check on this channel.
    async fn status(&self, reference: i64, lang: Lang) -> Result<String, Error> {
        let spell = self.channel == "voice";
        let a = sms_status(self.state, self.phone, Some(reference), lang, spell).await?;
        if let Some(e) = &a.event {
            let mut tx = self.state.db.begin().await?;
            e.record(&mut tx, self.channel, self.phone).await?;
            tx.commit().await?;
        }
        Ok(a.reply)
    }

    /// The nearest places of `kind`: to a shared location, else to the district's centre;
    /// counted as a directory search on this channel.
    async fn find(
        &self,
        kind: &str,
        district: Option<&str>,
        location: Option<(f64, f64)>,
        lang: Lang,
    ) -> Result<String, Error> {
        let Some(k) = self.kinds.iter().find(|k| k.code == kind) else {
            return Ok(lang.t("ussd-invalid"));
        };
        let districts = self.state.districts().await?;
        let d = district.and_then(|slug| districts.iter().find(|d| d.slug == slug));
        let (point, area) = match (location, d) {
            (Some(p), _) => (p, lang.t("channel-location-shared")),
            (None, Some(d)) => ((d.hq_lat, d.hq_long), d.name(lang).to_owned()),
            (None, None) => return Ok(lang.t("ussd-invalid")),
        };
        let words = nearest_reply(self.state, k, point, &area, lang).await?;
        let event = SmsEvent {
            service: "directory",
            kind: "directory_search",
            code: Some(k.code.clone()),
            department_id: k.department_id,
            district: d.map(|d| d.slug.clone()),
        };
        let mut tx = self.state.db.begin().await?;
        event.record(&mut tx, self.channel, self.phone).await?;
        tx.commit().await?;
        Ok(words)
    }

    /// Start (or resume) a test of `bank` drawn from `pool`: its first unanswered question.
    async fn quiz_start(
        &self,
        s: &mut ussd::State,
        bank: &str,
        mock: bool,
        pool: &[String],
    ) -> Result<(String, bool), Error> {
        let Some((spec, _)) = self.banks.iter().find(|(b, _)| b.code == bank) else {
            return Ok((s.lang.t("ussd-invalid"), true));
        };
        let quiz = start_quiz(self.state, self.channel, self.phone, spec, mock, pool).await?;
        ussd::begin_quiz(s, quiz);
        Ok((ussd::screen(s, self.catalog, None), false))
    }

    /// Record the answer to `question`, then the verdict and the next question, or the score.
    async fn quiz_answer(
        &self,
        s: &mut ussd::State,
        token: &str,
        question: &str,
        chosen: i64,
    ) -> Result<(String, bool), Error> {
        let lang = s.lang;
        let found = quiz::session(&self.state.db, token).await?;
        let bank = found
            .as_ref()
            .and_then(|q| self.banks.iter().find(|(b, _)| b.code == q.bank));
        let (Some(q), Some((spec, department_id))) = (found, bank) else {
            return Ok((lang.t("ussd-expired"), true));
        };
        let given = [(question.to_owned(), chosen)];
        match quiz::answer(
            self.state,
            spec,
            *department_id,
            &q,
            &given,
            false,
            self.channel,
            lang,
        )
        .await
        {
            Ok(()) => {}
            Err(e @ (Error::BadRequest(_) | Error::Conflict(_))) => {
                return Ok((ussd::shorten(&e.message(), ussd::LIMIT), true));
            }
            Err(e) => return Err(e),
        }
        let after = quiz::session(&self.state.db, token)
            .await?
            .ok_or_else(|| Error::Internal(anyhow::anyhow!("the test {token} vanished")))?;
        let right = after.answers.iter().any(|a| a.0 == question && a.2);
        if after.finished {
            let result = quiz_result(&after, spec, lang);
            let text = match ussd::verdict(s, self.catalog, right) {
                Some(v) => format!("{v}\n{result}"),
                None => result,
            };
            return Ok((ussd::shorten(&text, ussd::LIMIT), true));
        }
        Ok(
            match ussd::answered(s, self.catalog, right, after.answers.len()) {
                Some(next) => (next, false),
                None => (quiz_result(&after, spec, lang), true),
            },
        )
    }

    /// File the report the session has built, with what the channel fetched (photos, a
    /// recording); the session id is its idempotency key. The last screen: the reference.
    async fn submit(&self, s: &ussd::State, fetched: Fetched) -> Result<String, Error> {
        Ok(self.file(s, fetched).await?.0)
    }

    /// [`Self::submit`], with the report's id when it was filed.
    async fn file(
        &self,
        s: &ussd::State,
        fetched: Fetched,
    ) -> Result<(String, Option<i64>), Error> {
        let (state, id, phone) = (self.state, self.id, self.phone);
        let lang = s.lang;
        let sub = Submission {
            service_code: s.service.clone(),
            district: s.district.clone(),
            address: s.landmark.clone(),
            lat: s.location.map(|l| l.0.to_string()),
            long: s.location.map(|l| l.1.to_string()),
            description: s.description.clone(),
            attributes: s.answers.clone(),
            phone: Some(phone.e164().to_owned()),
            photos: fetched.photos,
            voice: fetched.voice,
            partial: true,
            ..Default::default()
        };
        let origin = Origin {
            channel: self.channel,
            api_key_id: None,
            idempotency: Some((
                self.channel.into(),
                id.to_owned(),
                crate::platform::idempotency::request_hash(&[id.as_bytes()]),
            )),
        };
        let done = match self.channel {
            "whatsapp" => "whatsapp-done",
            "voice" => "voice-done",
            _ => "ussd-done",
        };
        match reports::submit(state, sub, origin, lang).await {
            Ok(r) => {
                let id = r.service_request_id.parse::<i64>().ok();
                let reference = match (self.channel, id) {
                    ("voice", Some(id)) => crate::platform::text::spelled(id),
                    _ => r.service_request_id.clone(),
                };
                let words = t!(
                    lang,
                    done,
                    id = reference,
                    number = state.config.sms_number.clone()
                );
                Ok((words, id))
            }
            Err(Error::Internal(e)) => Err(Error::Internal(e)),
            Err(e) => Ok((ussd::shorten(&e.message(), ussd::LIMIT), None)),
        }
    }
}

/// What a menu's reply comes to once the intents that leave the pure menus are carried out.
enum Outcome {
    /// The current screen, as USSD shows it (a rich channel shows it its own way; the screen
    /// starts with "not a choice" when the input was not one).
    Screen(String),
    /// Words for the caller; `true` when they end the session.
    Words(String, bool),
    /// File the report (each channel first fetches what it must).
    Submit,
}

impl MenuCall<'_> {
    /// Carry out `reply` (a lookup, a test's start or answer, a status, a search): every
    /// channel's one way from the menus to the services.
    async fn carry(&self, s: &mut ussd::State, reply: ussd::Reply) -> Result<Outcome, Error> {
        let lang = s.lang;
        Ok(match reply {
            ussd::Reply::Continue(screen) => Outcome::Screen(screen),
            ussd::Reply::End(words) => Outcome::Words(words, true),
            ussd::Reply::Submit => Outcome::Submit,
            ussd::Reply::Lookup { register, key } => {
                Outcome::Words(self.lookup(&register, &key, lang).await?, true)
            }
            ussd::Reply::QuizStart { bank, mock, pool } => {
                let (words, end) = self.quiz_start(s, &bank, mock, &pool).await?;
                Outcome::Words(words, end)
            }
            ussd::Reply::QuizAnswer {
                token,
                question,
                chosen,
            } => {
                let (words, end) = self.quiz_answer(s, &token, &question, chosen).await?;
                Outcome::Words(words, end)
            }
            ussd::Reply::Status { reference } => {
                Outcome::Words(self.status(reference, lang).await?, true)
            }
            ussd::Reply::Find {
                kind,
                district,
                location,
            } => Outcome::Words(
                self.find(&kind, district.as_deref(), location, lang)
                    .await?,
                true,
            ),
        })
    }
}

/// What a channel fetched for a report as it is filed: the photos and the recording its
/// session refers to.
#[derive(Default)]
struct Fetched {
    photos: Vec<Vec<u8>>,
    voice: Option<Vec<u8>>,
}

/// Start a test for a USSD caller, filed under their phone's key; or resume the one the
/// network cut off today, where it stopped.
async fn start_quiz(
    state: &AppState,
    channel: &'static str,
    phone: &Phone,
    bank: &quiz::BankSpec,
    mock: bool,
    pool: &[String],
) -> Result<ussd::Quiz, Error> {
    let key = impact::key(&impact::Citizen::phone(phone));
    let kind = if mock {
        quiz::Kind::Mock
    } else {
        quiz::Kind::Practice
    };
    let token = match quiz::unfinished(&state.db, &bank.code, &key, kind, channel).await? {
        Some(t) => t,
        None => {
            let how = quiz::Start {
                kind,
                citizen: Some(&key),
                channel,
                pool: Some(pool),
            };
            quiz::start(state, bank, how).await?
        }
    };
    let s = quiz::session(&state.db, &token)
        .await?
        .ok_or_else(|| Error::Internal(anyhow::anyhow!("the test {token} vanished")))?;
    Ok(ussd::Quiz {
        token,
        done: s.answers.len(),
        questions: s.questions,
        mock,
    })
}

/// A finished test's score, as the last USSD screen.
fn quiz_result(s: &quiz::Session, bank: &quiz::BankSpec, lang: Lang) -> String {
    let correct = s.correct.unwrap_or(0);
    let total = s.questions.len();
    let text = if s.kind == quiz::Kind::Mock {
        t!(
            lang,
            "ussd-quiz-done-mock",
            correct = correct,
            total = total,
            passed = if s.passed == Some(true) { "yes" } else { "no" },
            pass = bank.pass_percent
        )
    } else {
        t!(
            lang,
            "ussd-quiz-done-practice",
            correct = correct,
            total = total
        )
    };
    ussd::shorten(&text, ussd::LIMIT)
}

#[cfg(test)]
mod tests {
    #[test]
    fn secrets_must_match_exactly() {
        assert!(super::secret_ok(Some("s3cret"), Some("s3cret")));
        assert!(!super::secret_ok(Some("s3cret"), Some("s3cre")));
        assert!(!super::secret_ok(Some("s3cret"), None));
        assert!(!super::secret_ok(None, Some("")));
        assert!(!super::secret_ok(Some(""), Some("")));
    }
}
