//! WhatsApp, as the Business Platform's Cloud API speaks it: the signature on inbound
//! notifications, the messages Khidmat sends (text, interactive lists and reply buttons, a
//! location request, an approved template), media fetched by id, and the 24-hour window in
//! which a free reply may be sent.
//!
//! A message goes out through the phone outbox (`sms_outbox`, gateway `whatsapp`), queued in
//! the transaction of its cause like an SMS; the `sms.send` job posts it to
//! `{whatsapp_api_base}/{whatsapp_phone_number_id}/messages`. WhatsApp's id for it and its
//! delivery status (sent, delivered, read, failed) are kept on the row.

use std::time::Duration;

use axum::body::Bytes;
use chrono::Utc;
use hmac::{Hmac, Mac};
use http_body_util::Full;
use serde_json::{json, Value};
use sha2::Sha256;

use super::config::Config;
use super::db::{query, Db, Tx};
use super::i18n::Lang;
use super::personal::Phone;

/// The gateway name of WhatsApp messages in the phone outbox.
pub const GATEWAY: &str = "whatsapp";

/// How long after a citizen's last message a free (non-template) message may be sent.
pub const WINDOW_HOURS: i64 = 24;

/// WhatsApp's limits: a list's rows, a row's title and description, a button's title, a body.
pub const LIST_ROWS: usize = 10;
const ROW_TITLE: usize = 24;
const ROW_DESCRIPTION: usize = 72;
const BUTTON_TITLE: usize = 20;
const BODY: usize = 1024;
const TEXT: usize = 4096;

/// The largest voice note or recording taken (WhatsApp's own limit for audio).
pub const MAX_AUDIO_BYTES: usize = 16 * 1024 * 1024;

/// Is the channel configured (all four of its settings)?
pub fn enabled(config: &Config) -> bool {
    missing(config).is_empty()
}

/// The channel's settings not given (all four: the channel is off; some: half set up).
pub fn missing(config: &Config) -> Vec<&'static str> {
    [
        ("whatsapp_phone_number_id", &config.whatsapp_phone_number_id),
        ("whatsapp_access_token", &config.whatsapp_access_token),
        ("whatsapp_app_secret", &config.whatsapp_app_secret),
        ("whatsapp_verify_token", &config.whatsapp_verify_token),
    ]
    .into_iter()
    .filter(|(_, v)| !super::config::given(v))
    .map(|(name, _)| name)
    .collect()
}

/// Is `header` (`X-Hub-Signature-256: sha256=<hex>`) the HMAC-SHA256 of `body` under the app
/// secret? Compared in constant time.
pub fn signature_ok(secret: &str, body: &[u8], header: Option<&str>) -> bool {
    let Some(hex_mac) = header.and_then(|h| h.trim().strip_prefix("sha256=")) else {
        return false;
    };
    let Ok(given) = hex::decode(hex_mac) else {
        return false;
    };
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("any key length");
    mac.update(body);
    mac.verify_slice(&given).is_ok()
}

/// The signature header of `body` under `secret` (what Meta sends; tests and fakes sign with it).
pub fn sign(secret: &str, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("any key length");
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

fn cut(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_owned()
    } else {
        s.chars().take(max - 1).collect::<String>() + "…"
    }
}

/// The recipient as the API takes it: E.164 digits without the plus.
fn to(phone: &Phone) -> String {
    phone.e164().trim_start_matches('+').to_owned()
}

/// A message to `phone` of `kind` (`text`, `interactive`, `template`), its content under that
/// name, as the API takes every message.
fn envelope(phone: &Phone, kind: &str, content: Value) -> Value {
    let mut m = json!({
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": to(phone),
        "type": kind,
    });
    m[kind] = content;
    m
}

/// A plain text message.
pub fn text(phone: &Phone, body: &str) -> Value {
    envelope(
        phone,
        "text",
        json!({"preview_url": false, "body": cut(body, TEXT)}),
    )
}

/// A list message: `body`, a button that opens the list, and its rows `(id, name)` (at most
/// [`LIST_ROWS`]). A name longer than a row's title is shown whole as the row's description.
pub fn list(phone: &Phone, body: &str, button: &str, rows: &[(String, String)]) -> Value {
    let rows: Vec<Value> = rows
        .iter()
        .take(LIST_ROWS)
        .map(|(id, name)| {
            let mut row = json!({"id": id, "title": cut(name, ROW_TITLE)});
            if name.chars().count() > ROW_TITLE {
                row["description"] = json!(cut(name, ROW_DESCRIPTION));
            }
            row
        })
        .collect();
    envelope(
        phone,
        "interactive",
        json!({
            "type": "list",
            "body": {"text": cut(body, BODY)},
            "action": {
                "button": cut(button, BUTTON_TITLE),
                "sections": [{"title": cut(button, ROW_TITLE), "rows": rows}],
            },
        }),
    )
}

/// Reply buttons (at most three) under `body`.
pub fn buttons(phone: &Phone, body: &str, buttons: &[(String, String)]) -> Value {
    let buttons: Vec<Value> = buttons
        .iter()
        .take(3)
        .map(|(id, title)| json!({"type": "reply", "reply": {"id": id, "title": cut(title, BUTTON_TITLE)}}))
        .collect();
    envelope(
        phone,
        "interactive",
        json!({
            "type": "button",
            "body": {"text": cut(body, BODY)},
            "action": {"buttons": buttons},
        }),
    )
}

/// A request for the citizen's location (WhatsApp shows a "Send location" button).
pub fn location_request(phone: &Phone, body: &str) -> Value {
    envelope(
        phone,
        "interactive",
        json!({
            "type": "location_request_message",
            "body": {"text": cut(body, BODY)},
            "action": {"name": "send_location"},
        }),
    )
}

/// An approved template `name` in `lang`, its body's parameters in order.
pub fn template(phone: &Phone, name: &str, lang: Lang, params: &[String]) -> Value {
    let params: Vec<Value> = params
        .iter()
        .map(|p| json!({"type": "text", "text": cut(p, BODY)}))
        .collect();
    envelope(
        phone,
        "template",
        json!({
            "name": name,
            "language": {"code": lang.code()},
            "components": [{"type": "body", "parameters": params}],
        }),
    )
}

/// Queue `payload` to `phone` in the caller's transaction; `words` is what it says, for the
/// staff's list of messages and for the SMS sent instead should WhatsApp fail to deliver it.
pub async fn queue(
    tx: &mut Tx,
    phone: &Phone,
    payload: &Value,
    words: &str,
    lang: Lang,
    report_id: Option<i64>,
) -> Result<i64, sqlx::Error> {
    let id = super::sms::put(
        tx,
        super::sms::Message {
            phone,
            body: words,
            lang,
            segments: 1,
            gateway: GATEWAY,
            report_id,
            sensitive: false,
            payload: Some(payload.to_string()),
        },
    )
    .await?;
    metrics::counter!("khidmat_sms_queued_total", "gateway" => GATEWAY).increment(1);
    Ok(id)
}

/// The citizen wrote (in `lang`): the 24-hour window opens again.
pub async fn seen(tx: &mut Tx, phone: &Phone, lang: Lang) -> Result<(), sqlx::Error> {
    tx.execute(
        query(
            "INSERT INTO whatsapp_contacts (phone, lang, last_in_at) VALUES ($1, $2, $3) \
             ON CONFLICT (phone) DO UPDATE SET lang = excluded.lang, last_in_at = excluded.last_in_at",
        )
        .bind(phone.e164())
        .bind(lang.code())
        .bind(Utc::now()),
    )
    .await?;
    Ok(())
}

/// The language `phone` last wrote in.
pub async fn language(db: &Db, phone: &Phone) -> Result<Option<Lang>, sqlx::Error> {
    let row: Option<(String,)> = db
        .fetch_optional(
            query("SELECT lang FROM whatsapp_contacts WHERE phone = $1").bind(phone.e164()),
        )
        .await?;
    Ok(row.and_then(|(l,)| Lang::parse(&l)))
}

/// May a free message go to `phone` now (they wrote within [`WINDOW_HOURS`])?
pub async fn within_window(tx: &mut Tx, phone: &Phone) -> Result<bool, sqlx::Error> {
    let last: Option<(chrono::DateTime<Utc>,)> = tx
        .fetch_optional(
            query("SELECT last_in_at FROM whatsapp_contacts WHERE phone = $1").bind(phone.e164()),
        )
        .await?;
    Ok(last.is_some_and(|(at,)| Utc::now() - at < chrono::Duration::hours(WINDOW_HOURS)))
}

/// A message of the outbox WhatsApp reported on.
#[derive(Debug, sqlx::FromRow, khidmat_derive::FromRaw)]
pub struct Reported {
    pub id: i64,
    pub phone: String,
    pub body: String,
    pub lang: String,
    pub report_id: Option<i64>,
    pub delivery: Option<String>,
}

/// Record WhatsApp's delivery status for its message `wamid`. Returns the message when this
/// status is news (a repeated notification changes nothing).
pub async fn delivered(
    db: &Db,
    wamid: &str,
    status: &str,
    error: Option<&str>,
) -> Result<Option<Reported>, sqlx::Error> {
    let mut tx = db.begin().await?;
    let row: Option<Reported> = tx
        .fetch_optional(
            query(
                "SELECT id, phone, body, lang, report_id, delivery FROM sms_outbox \
                 WHERE external_id = $1 AND gateway = $2",
            )
            .bind(wamid)
            .bind(GATEWAY),
        )
        .await?;
    let Some(row) = row else {
        return Ok(None);
    };
    // Statuses may arrive out of order; a later stage is never undone by an earlier one.
    let rank = |s: &str| match s {
        "sent" => 1,
        "delivered" => 2,
        "read" => 3,
        "failed" => 4,
        _ => 0,
    };
    if rank(status) == 0 || row.delivery.as_deref().map_or(0, rank) >= rank(status) {
        return Ok(None);
    }
    tx.execute(
        query("UPDATE sms_outbox SET delivery = $1, last_error = COALESCE($2, last_error) WHERE id = $3")
            .bind(status)
            .bind(error)
            .bind(row.id),
    )
    .await?;
    tx.commit().await?;
    Ok(Some(row))
}

fn bearer(config: &Config) -> anyhow::Result<String> {
    let token = config
        .whatsapp_access_token
        .as_deref()
        .filter(|t| !t.is_empty())
        .ok_or_else(|| anyhow::anyhow!("whatsapp_access_token is not set"))?;
    Ok(format!("Bearer {token}"))
}

/// The API's error, as it words it.
fn api_error(status: hyper::StatusCode, body: &[u8]) -> anyhow::Error {
    let said = serde_json::from_slice::<Value>(body)
        .ok()
        .and_then(|v| v["error"]["message"].as_str().map(str::to_owned))
        .unwrap_or_else(|| String::from_utf8_lossy(&body[..body.len().min(200)]).into_owned());
    anyhow::anyhow!("WhatsApp answered {status}: {said}")
}

/// Post one message; returns WhatsApp's id for it.
pub async fn send(config: &Config, payload: &Value) -> anyhow::Result<String> {
    let phone_id = config
        .whatsapp_phone_number_id
        .as_deref()
        .filter(|t| !t.is_empty())
        .ok_or_else(|| anyhow::anyhow!("whatsapp_phone_number_id is not set"))?;
    let url = format!(
        "{}/{}/messages",
        config.whatsapp_api_base.trim_end_matches('/'),
        phone_id
    );
    let req = hyper::Request::post(url)
        .header(hyper::header::AUTHORIZATION, bearer(config)?)
        .header(hyper::header::CONTENT_TYPE, "application/json")
        .body(Full::new(Bytes::from(payload.to_string())))?;
    let answer = super::http::fetch(
        config.tls_ca_file.as_deref(),
        req,
        Duration::from_secs(15),
        64 * 1024,
    )
    .await?;
    if !answer.status.is_success() {
        return Err(api_error(answer.status, &answer.body));
    }
    let v: Value = serde_json::from_slice(&answer.body)?;
    v["messages"][0]["id"]
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| anyhow::anyhow!("WhatsApp's answer named no message id"))
}

/// A media id as WhatsApp gives them (digits): anything else never reaches a URL.
pub fn media_id_ok(id: &str) -> bool {
    !id.is_empty() && id.len() <= 64 && id.bytes().all(|b| b.is_ascii_alphanumeric())
}

/// Fetch a media file by its id: the API names its address, which is then read with the same
/// token. At most `max_bytes`; returns its type and bytes.
pub async fn media(config: &Config, id: &str, max_bytes: usize) -> anyhow::Result<(String, Bytes)> {
    anyhow::ensure!(media_id_ok(id), "not a media id: {id:?}");
    let base = config.whatsapp_api_base.trim_end_matches('/');
    let req = hyper::Request::get(format!("{base}/{id}"))
        .header(hyper::header::AUTHORIZATION, bearer(config)?)
        .body(Full::new(Bytes::new()))?;
    let ca = config.tls_ca_file.as_deref();
    let answer = super::http::fetch(ca, req, Duration::from_secs(15), 64 * 1024).await?;
    if !answer.status.is_success() {
        return Err(api_error(answer.status, &answer.body));
    }
    let v: Value = serde_json::from_slice(&answer.body)?;
    let url = v["url"]
        .as_str()
        .ok_or_else(|| anyhow::anyhow!("WhatsApp named no address for media {id}"))?;
    // The token goes only where WhatsApp's own answer points, and over https unless the API
    // itself is reached over plain http (a local fake, a staging relay).
    let plain_ok = base.starts_with("http://");
    anyhow::ensure!(
        url.starts_with("https://") || (plain_ok && url.starts_with("http://")),
        "media address is not https: {url}"
    );
    if let Some(size) = v["file_size"].as_u64() {
        anyhow::ensure!(
            size as usize <= max_bytes,
            "media {id} is {size} bytes, more than {max_bytes}"
        );
    }
    let req = hyper::Request::get(url)
        .header(hyper::header::AUTHORIZATION, bearer(config)?)
        .body(Full::new(Bytes::new()))?;
    let file = super::http::fetch(ca, req, Duration::from_secs(60), max_bytes).await?;
    if !file.status.is_success() {
        return Err(api_error(file.status, &file.body));
    }
    let mime = v["mime_type"]
        .as_str()
        .map(str::to_owned)
        .unwrap_or(file.content_type);
    Ok((mime, file.body))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_are_checked_whole() {
        let body = br#"{"object":"whatsapp_business_account"}"#;
        let good = sign("app-secret", body);
        assert!(signature_ok("app-secret", body, Some(&good)));
        assert!(!signature_ok("other-secret", body, Some(&good)));
        assert!(!signature_ok("app-secret", b"{}", Some(&good)));
        assert!(!signature_ok("app-secret", body, None));
        assert!(!signature_ok(
            "app-secret",
            body,
            Some(good.trim_start_matches("sha256="))
        ));
        assert!(!signature_ok(
            "app-secret",
            body,
            Some(&good[..good.len() - 2])
        ));
        assert!(!signature_ok("app-secret", body, Some("sha256=zz")));
    }

    #[test]
    fn lists_keep_to_whatsapps_limits() {
        let phone = Phone::parse("03001234567").unwrap();
        let rows: Vec<(String, String)> = (1..=12)
            .map(|i| {
                (
                    i.to_string(),
                    format!("بجلی کی چوری اور کنڈا کنکشن نمبر {i}"),
                )
            })
            .collect();
        let v = list(&phone, "کون سا مسئلہ؟", "انتخاب کریں اور بھیجیں", &rows);
        assert_eq!(v["to"], "923001234567");
        let rows = v["interactive"]["action"]["sections"][0]["rows"]
            .as_array()
            .unwrap();
        assert_eq!(rows.len(), LIST_ROWS);
        for r in rows {
            assert!(r["title"].as_str().unwrap().chars().count() <= ROW_TITLE);
            assert!(r["description"].as_str().unwrap().chars().count() <= ROW_DESCRIPTION);
        }
        assert!(
            v["interactive"]["action"]["button"]
                .as_str()
                .unwrap()
                .chars()
                .count()
                <= BUTTON_TITLE
        );
    }

    #[test]
    fn media_ids_are_only_ids() {
        assert!(media_id_ok("1234567890"));
        for bad in ["", "../me", "1?x=y", "12/messages", "a b", &"9".repeat(65)] {
            assert!(!media_id_ok(bad), "{bad}");
        }
    }
}
