//! Calls placed to a citizen: a report made by a voice call hears of its changes the way it was
//! made. A call is a message of the phone outbox (`sms_outbox`, gateway `call`), queued in the
//! transaction of its cause and placed by the `sms.send` job, with its retries:
//!
//! - Twilio (`voice_gateway = "twilio"`): `POST {twilio_api_base}/2010-04-01/Accounts/{sid}/Calls.json`
//!   with the words as inline TwiML, said twice;
//! - Africa's Talking: `POST {africastalking_voice_base}/call` with `clientRequestId`; when the
//!   call is answered, Africa's Talking asks the voice callback what to say, and
//!   [`words_of`] finds the words by that id.

use std::time::Duration;

use axum::body::Bytes;
use base64::Engine;
use http_body_util::Full;
use serde_json::Value;

use super::config::{given, Config};
use super::db::{query, Db, Tx};
use super::i18n::Lang;
use super::personal::Phone;
use super::xml::escape;

/// The gateway name of calls in the phone outbox.
pub const GATEWAY: &str = "call";

/// Can calls be placed (a number to call from, and the gateway's credentials)?
pub fn enabled(config: &Config) -> bool {
    given(&config.voice_call_from) && missing_credentials(config).is_none()
}

/// The voice gateway's credentials, named, when they are not both given.
pub fn missing_credentials(config: &Config) -> Option<&'static str> {
    let (both, names) = match config.voice_gateway.as_str() {
        "twilio" => (
            given(&config.twilio_account_sid) && given(&config.twilio_auth_token),
            "twilio_account_sid and twilio_auth_token",
        ),
        _ => (
            given(&config.africastalking_username) && given(&config.africastalking_api_key),
            "africastalking_username and africastalking_api_key",
        ),
    };
    (!both).then_some(names)
}

/// Queue a call to `phone` that says `words`, in the caller's transaction.
pub async fn queue(
    tx: &mut Tx,
    phone: &Phone,
    words: &str,
    lang: Lang,
    report_id: Option<i64>,
) -> Result<i64, sqlx::Error> {
    super::sms::put(
        tx,
        super::sms::Message {
            phone,
            body: &super::text::for_speech(words),
            lang,
            segments: 0,
            gateway: GATEWAY,
            report_id,
            sensitive: false,
            payload: None,
        },
    )
    .await
}

/// The id Africa's Talking carries back for outbox message `id`.
pub fn request_id(id: i64) -> String {
    format!("khidmat-{id}")
}

/// What the answered call `client_request_id` says, and in which language.
pub async fn words_of(
    db: &Db,
    client_request_id: &str,
) -> Result<Option<(String, Lang)>, sqlx::Error> {
    let Some(id) = client_request_id
        .strip_prefix("khidmat-")
        .and_then(|n| n.parse::<i64>().ok())
    else {
        return Ok(None);
    };
    let row: Option<(String, String)> = db
        .fetch_optional(
            query("SELECT body, lang FROM sms_outbox WHERE id = $1 AND gateway = $2")
                .bind(id)
                .bind(GATEWAY),
        )
        .await?;
    Ok(row.map(|(body, lang)| (body, Lang::parse(&lang).unwrap_or_default())))
}

/// Place the call of outbox message `id` to `to`; returns the gateway's id for it.
pub async fn place(
    config: &Config,
    id: i64,
    to: &str,
    words: &str,
    lang: Lang,
) -> anyhow::Result<String> {
    let from = config
        .voice_call_from
        .as_deref()
        .ok_or_else(|| anyhow::anyhow!("voice_call_from is not set"))?;
    let ca = config.tls_ca_file.as_deref();
    let form = |pairs: &[(&str, &str)]| serde_urlencoded::to_string(pairs).unwrap_or_default();
    match config.voice_gateway.as_str() {
        "twilio" => {
            let sid = config.twilio_account_sid.as_deref().unwrap_or_default();
            let token = config.twilio_auth_token.as_deref().unwrap_or_default();
            let say = match lang {
                Lang::En => format!("<Say language=\"en-IN\">{}</Say>", escape(words)),
                _ => format!("<Say>{}</Say>", escape(words)),
            };
            let twiml = format!("<Response>{say}<Pause length=\"1\"/>{say}</Response>");
            let url = format!(
                "{}/2010-04-01/Accounts/{sid}/Calls.json",
                config.twilio_api_base.trim_end_matches('/')
            );
            let basic = base64::engine::general_purpose::STANDARD.encode(format!("{sid}:{token}"));
            let req = hyper::Request::post(url)
                .header(hyper::header::AUTHORIZATION, format!("Basic {basic}"))
                .header(
                    hyper::header::CONTENT_TYPE,
                    "application/x-www-form-urlencoded",
                )
                .body(Full::new(Bytes::from(form(&[
                    ("To", to),
                    ("From", from),
                    ("Twiml", &twiml),
                ]))))?;
            let answer = super::http::fetch(ca, req, Duration::from_secs(15), 64 * 1024).await?;
            let v: Value = serde_json::from_slice(&answer.body).unwrap_or_default();
            anyhow::ensure!(
                answer.status.is_success(),
                "Twilio answered {}: {}",
                answer.status,
                v["message"].as_str().unwrap_or("")
            );
            v["sid"]
                .as_str()
                .map(str::to_owned)
                .ok_or_else(|| anyhow::anyhow!("Twilio's answer named no call"))
        }
        _ => {
            let username = config
                .africastalking_username
                .as_deref()
                .unwrap_or_default();
            let key = config.africastalking_api_key.as_deref().unwrap_or_default();
            let url = format!(
                "{}/call",
                config.africastalking_voice_base.trim_end_matches('/')
            );
            let req = hyper::Request::post(url)
                .header("apiKey", key)
                .header(hyper::header::ACCEPT, "application/json")
                .header(
                    hyper::header::CONTENT_TYPE,
                    "application/x-www-form-urlencoded",
                )
                .body(Full::new(Bytes::from(form(&[
                    ("username", username),
                    ("from", from),
                    ("to", to),
                    ("clientRequestId", &request_id(id)),
                ]))))?;
            let answer = super::http::fetch(ca, req, Duration::from_secs(15), 64 * 1024).await?;
            let v: Value = serde_json::from_slice(&answer.body).unwrap_or_default();
            let entry = &v["entries"][0];
            anyhow::ensure!(
                answer.status.is_success() && entry["status"] == "Queued",
                "Africa's Talking answered {}: {} {}",
                answer.status,
                v["errorMessage"].as_str().unwrap_or(""),
                entry["status"].as_str().unwrap_or("")
            );
            Ok(entry["sessionId"].as_str().unwrap_or("").to_owned())
        }
    }
}
