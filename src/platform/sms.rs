//! Outbound SMS: every message goes into `sms_outbox` inside the transaction of what caused it
//! (a status change, an inbound message's reply), then out through the configured gateway:
//! `log` writes it to the log, `http` is a job that GETs the gateway's address (retried with
//! back-off; after the last attempt the message is `dead`, for administrators to see),
//! `smssync` waits for the phone running SMSSync to collect it.

use std::time::Duration;

use chrono::{DateTime, Utc};

use http_body_util::BodyExt;
use serde_json::json;

use crate::platform::config::Config;
use crate::platform::db::{query, Db, Tx};
use crate::platform::i18n::Lang;
use crate::platform::jobs;
use crate::platform::outbox::{self, Outbox};
use crate::platform::personal::Phone;

/// The words that ask for a report's status, in any of the languages. These and
/// [`GRANT_KEYWORDS`] are kept by the SMS channel: no pack may use them as a service keyword.
pub const STATUS_KEYWORDS: [&str; 6] = ["status", "stat", "صورتحال", "اسٹیٹس", "حالت", "حال"];

/// The words that ask for a benefit application's status.
pub const GRANT_KEYWORDS: [&str; 3] = ["grant", "امداد", "مرسته"];

/// The words that follow a report (`FOLLOW 123`: this number is told of each change).
pub const FOLLOW_KEYWORDS: [&str; 3] = ["follow", "باخبر", "خبرتیا"];

/// The words that stop following (`STOP 123`; `STOP` alone: every report).
pub const STOP_KEYWORDS: [&str; 3] = ["stop", "بند", "ودروه"];

/// Whether a pack may use a word as a service keyword: the channel keeps these for itself.
pub fn keyword_is_reserved(word: &str) -> bool {
    let w = word.to_lowercase();
    STATUS_KEYWORDS.contains(&w.as_str())
        || GRANT_KEYWORDS.contains(&w.as_str())
        || FOLLOW_KEYWORDS.contains(&w.as_str())
        || STOP_KEYWORDS.contains(&w.as_str())
        || (w.len() == 1 && w.bytes().all(|b| b.is_ascii_digit()))
}

pub const JOB_KIND: &str = "sms.send";

/// The `sms.send` job: one attempt at one message of the outbox.
#[derive(serde::Serialize, serde::Deserialize)]
pub struct Send {
    /// The outbox row.
    pub id: i64,
}

impl jobs::Job for Send {
    const KIND: &'static str = JOB_KIND;
}

/// GSM 03.38: the characters a 160-character SMS can carry (the extension table's count twice).
const GSM_BASIC: &str = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà";
const GSM_EXTENDED: &str = "^{}\\[~]|€\x0c";

/// How many SMS segments `text` takes: GSM-7 (160 characters, 153 per part when split) when
/// every character allows, else UCS-2 (70, 67 per part), as Urdu and Pashto always are.
pub fn segments(text: &str) -> i64 {
    let mut gsm = true;
    let mut septets = 0usize;
    for c in text.chars() {
        if GSM_BASIC.contains(c) {
            septets += 1;
        } else if GSM_EXTENDED.contains(c) {
            septets += 2;
        } else {
            gsm = false;
            break;
        }
    }
    let (units, single, part) = if gsm {
        (septets, 160, 153)
    } else {
        // UCS-2 counts UTF-16 code units: an emoji is two.
        (text.encode_utf16().count(), 70, 67)
    };
    if units <= single {
        1
    } else {
        units.div_ceil(part) as i64
    }
}

/// `head` and `tail` joined, with `tail` shortened (ending "…") so the whole fits in `max`
/// segments where that is possible. The head (which holds the reference) is never cut; the
/// tail is cut after a whole word, so no word reaches the phone half-written.
pub fn fit(head: &str, tail: &str, max: i64) -> String {
    let whole = format!("{head} {tail}");
    if segments(&whole) <= max || tail.is_empty() {
        return whole.trim_end().to_owned();
    }
    let words: Vec<&str> = tail.split_whitespace().collect();
    for n in (1..words.len()).rev() {
        let candidate = format!("{head} {}…", words[..n].join(" "));
        if segments(&candidate) <= max {
            return candidate;
        }
    }
    // Not even the first word fits (one long word): cut it where it must be.
    let mut cut: Vec<char> = tail.chars().collect();
    while !cut.is_empty() {
        cut.pop();
        let candidate = format!("{head} {}…", cut.iter().collect::<String>().trim_end());
        if segments(&candidate) <= max {
            return candidate;
        }
    }
    head.to_owned()
}

/// Queue an SMS to `phone` in the caller's transaction. The job (for the `http` and `log`
/// gateways) is in the same transaction: a message is never lost, nor sent for a change that
/// did not happen.
pub async fn queue(
    tx: &mut Tx,
    config: &Config,
    phone: &Phone,
    text: &str,
    lang: Lang,
    report_id: Option<i64>,
) -> Result<i64, sqlx::Error> {
    enqueue(tx, config, phone, text, lang, report_id, false).await
}

/// Queue an SMS that carries a secret (a sign-in code): its body is removed from the outbox
/// once it has left.
pub async fn queue_secret(
    tx: &mut Tx,
    config: &Config,
    phone: &Phone,
    text: &str,
    lang: Lang,
) -> Result<i64, sqlx::Error> {
    enqueue(tx, config, phone, text, lang, None, true).await
}

async fn enqueue(
    tx: &mut Tx,
    config: &Config,
    phone: &Phone,
    text: &str,
    lang: Lang,
    report_id: Option<i64>,
    sensitive: bool,
) -> Result<i64, sqlx::Error> {
    let gateway = crate::platform::settings::sms_gateway(tx, config).await?;
    let id = put(
        tx,
        Message {
            phone,
            body: text,
            lang,
            segments: segments(text),
            gateway: &gateway,
            report_id,
            sensitive,
            payload: None,
        },
    )
    .await?;
    metrics::counter!("khidmat_sms_queued_total", "gateway" => gateway).increment(1);
    Ok(id)
}

/// A message for the phone outbox, whatever carries it (an SMS gateway, WhatsApp, a call).
pub(crate) struct Message<'a> {
    pub phone: &'a Phone,
    /// What it says (for a WhatsApp message, its words; `payload` is what is sent).
    pub body: &'a str,
    pub lang: Lang,
    pub segments: i64,
    pub gateway: &'a str,
    pub report_id: Option<i64>,
    /// Its body is removed once it has left (a sign-in code).
    pub sensitive: bool,
    pub payload: Option<String>,
}

/// Put a message in the phone outbox, in the caller's transaction, with the job that sends it
/// (none for `smssync`, whose phone fetches its messages): every gateway's messages go in here.
pub(crate) async fn put(tx: &mut Tx, m: Message<'_>) -> Result<i64, sqlx::Error> {
    let id: i64 = tx
        .scalar(
            query(
                "INSERT INTO sms_outbox (phone, body, lang, segments, gateway, status, attempts, report_id, created_at, sensitive, payload) \
                 VALUES ($1, $2, $3, $4, $5, 'queued', 0, $6, $7, $8, $9) RETURNING id",
            )
            .bind(m.phone.e164())
            .bind(m.body)
            .bind(m.lang.code())
            .bind(m.segments)
            .bind(m.gateway)
            .bind(m.report_id)
            .bind(Utc::now())
            .bind(m.sensitive)
            .bind(m.payload),
        )
        .await?;
    if m.gateway != "smssync" {
        jobs::enqueue_job(tx, &Send { id }).await?;
    }
    Ok(id)
}

/// Send an undeliverable (`dead`) message again, once the gateway is mended: queued afresh,
/// with all its attempts. `false` if it was not dead.
pub async fn retry(db: &Db, actor: &str, id: i64) -> Result<bool, sqlx::Error> {
    let mut tx = db.begin().await?;
    let n = tx
        .execute(
            crate::platform::db::query(
                "UPDATE sms_outbox SET status = 'queued', attempts = 0, last_error = NULL WHERE id = $1 AND status = 'dead'",
            )
            .bind(id),
        )
        .await?;
    if n == 1 {
        let gateway: String = tx
            .scalar(
                crate::platform::db::query("SELECT gateway FROM sms_outbox WHERE id = $1").bind(id),
            )
            .await?;
        if gateway != "smssync" {
            jobs::enqueue_job(&mut tx, &Send { id }).await?;
        }
        crate::platform::audit::record(
            &mut tx,
            actor,
            "sms.retry",
            "sms",
            &id.to_string(),
            json!({"before": "dead", "after": "queued"}),
        )
        .await?;
    }
    tx.commit().await?;
    Ok(n == 1)
}

/// The `sms.send` job: one attempt at one message.
pub async fn send_job(
    db: Db,
    config: std::sync::Arc<Config>,
    Send { id }: Send,
) -> anyhow::Result<()> {
    let Some(msg) = outgoing(&db, id).await? else {
        return Ok(());
    };
    if msg.status != "queued" {
        return Ok(());
    }
    if msg.gateway == super::whatsapp::GATEWAY {
        return whatsapp_job(&db, &config, msg).await;
    }
    if msg.gateway == super::calls::GATEWAY {
        return call_job(&db, &config, msg).await;
    }
    // A number gets at most so many messages a minute, whatever asks to send them.
    let key = format!("sms-out:{}", msg.phone);
    if !crate::platform::ratelimit::take_db_token(&db, &key, config.sms_per_number_per_minute)
        .await?
    {
        outbox::mark(
            &db,
            Outbox::Sms,
            id,
            "suppressed",
            Some("rate limit for this number"),
        )
        .await?;
        return Ok(());
    }
    let masked = Phone::parse(&msg.phone)
        .map(|p| p.masked())
        .unwrap_or_else(|| "?".into());
    let result = match msg.gateway.as_str() {
        "log" => {
            tracing::info!(to = %masked, segments = msg.segments, text = %msg.body, "SMS (development gateway)");
            config.delivered.push("sms", id, &msg.phone, &msg.body);
            Ok(())
        }
        "http" => {
            let url = crate::platform::settings::sms_http_url(&db, &config).await?;
            http_send(&url, &msg.phone, &msg.body, config.tls_ca_file.as_deref()).await
        }
        other => Err(anyhow::anyhow!("gateway {other:?} does not send by itself")),
    };
    let status = outbox::settle(&db, Outbox::Sms, id, msg.attempts, &result).await?;
    counted(status, &msg.gateway);
    result
}

/// One attempt at placing a call. No per-number limit: a call tells of a report's change.
async fn call_job(db: &Db, config: &Config, msg: Outgoing) -> anyhow::Result<()> {
    let lang = Lang::parse(&msg.lang).unwrap_or_default();
    let result = super::calls::place(config, msg.id, &msg.phone, &msg.body, lang).await;
    settle_remote(db, &msg, result).await
}

/// Record an attempt at a gateway that names what it took (WhatsApp's message id, a call's id):
/// the name is kept on the message, for the gateway's later word on it.
async fn settle_remote(
    db: &Db,
    msg: &Outgoing,
    result: anyhow::Result<String>,
) -> anyhow::Result<()> {
    if let Ok(name) = &result {
        db.execute(
            query("UPDATE sms_outbox SET external_id = $1 WHERE id = $2")
                .bind(name)
                .bind(msg.id),
        )
        .await?;
    }
    let result = result.map(|_| ());
    let status = outbox::settle(db, Outbox::Sms, msg.id, msg.attempts, &result).await?;
    counted(status, &msg.gateway);
    result
}

/// Count an attempt's outcome.
fn counted(status: &str, gateway: &str) {
    match status {
        "sent" => metrics::counter!("khidmat_sms_sent_total", "gateway" => gateway.to_owned())
            .increment(1),
        "dead" => metrics::counter!("khidmat_sms_dead_total").increment(1),
        _ => {}
    }
}

/// One attempt at a WhatsApp message. No per-number limit: each answers a message the citizen
/// sent (whose own limit applies) or a change of their report.
async fn whatsapp_job(db: &Db, config: &Config, msg: Outgoing) -> anyhow::Result<()> {
    let payload: serde_json::Value = serde_json::from_str(msg.payload.as_deref().unwrap_or(""))
        .map_err(|e| anyhow::anyhow!("message {} has no payload to send: {e}", msg.id))?;
    let result = super::whatsapp::send(config, &payload).await;
    settle_remote(db, &msg, result).await
}

fn encode(s: &str) -> String {
    serde_urlencoded::to_string([("", s)])
        .map(|v| v.trim_start_matches('=').to_owned())
        .unwrap_or_default()
}

/// One GET to the gateway's address; 2xx is success.
async fn http_send(
    template: &str,
    to: &str,
    text: &str,
    ca_file: Option<&std::path::Path>,
) -> anyhow::Result<()> {
    let url = template
        .replace("{to}", &encode(to))
        .replace("{text}", &encode(text));
    let uri: hyper::Uri = url.parse()?;
    let client =
        crate::platform::http::client::<http_body_util::Empty<axum::body::Bytes>>(ca_file)?;
    let resp = tokio::time::timeout(Duration::from_secs(15), client.get(uri))
        .await
        .map_err(|_| anyhow::anyhow!("the gateway did not answer within 15 s"))??;
    let status = resp.status();
    let body = resp.into_body().collect().await?.to_bytes();
    anyhow::ensure!(
        status.is_success(),
        "the gateway answered {status}: {}",
        String::from_utf8_lossy(&body[..body.len().min(200)])
    );
    Ok(())
}

// The outbox's SQL.

/// An outbound SMS.
#[derive(Debug, Clone, sqlx::FromRow, khidmat_derive::FromRaw)]
pub struct Outgoing {
    pub id: i64,
    pub phone: String,
    pub body: String,
    pub lang: String,
    pub segments: i64,
    pub gateway: String,
    pub status: String,
    pub attempts: i64,
    pub last_error: Option<String>,
    pub report_id: Option<i64>,
    pub created_at: DateTime<Utc>,
    pub sent_at: Option<DateTime<Utc>>,
    /// A WhatsApp message's body as the API takes it.
    pub payload: Option<String>,
    /// WhatsApp's last word on delivery: sent, delivered, read, failed.
    pub delivery: Option<String>,
}

const OUT_COLUMNS: &str =
    "id, phone, body, lang, segments, gateway, status, attempts, last_error, report_id, created_at, sent_at, payload, delivery";

pub async fn outgoing(db: &Db, id: i64) -> Result<Option<Outgoing>, sqlx::Error> {
    db.fetch_optional(
        query(format!(
            "SELECT {OUT_COLUMNS} FROM sms_outbox WHERE id = $1"
        ))
        .bind(id),
    )
    .await
}

/// The latest outbound messages, optionally of one status, newest first.
pub async fn outgoing_list(
    db: &Db,
    status: Option<&str>,
    limit: i64,
) -> Result<Vec<Outgoing>, sqlx::Error> {
    let q = match status {
        Some(s) => query(format!(
            "SELECT {OUT_COLUMNS} FROM sms_outbox WHERE status = $1 ORDER BY id DESC LIMIT $2"
        ))
        .bind(s)
        .bind(limit),
        None => query(format!(
            "SELECT {OUT_COLUMNS} FROM sms_outbox ORDER BY id DESC LIMIT $1"
        ))
        .bind(limit),
    };
    db.fetch_all(q).await
}

/// Hand the queued messages of a pull gateway (SMSSync) over: they count as sent.
pub async fn take_queued(db: &Db, gateway: &str, limit: i64) -> Result<Vec<Outgoing>, sqlx::Error> {
    let mut tx = db.begin().await?;
    let rows: Vec<Outgoing> = tx
        .fetch_all(
            query(format!(
                "SELECT {OUT_COLUMNS} FROM sms_outbox WHERE gateway = $1 AND status = 'queued' ORDER BY id LIMIT $2"
            ))
            .bind(gateway)
            .bind(limit),
        )
        .await?;
    let now = Utc::now();
    for r in &rows {
        tx.execute(
            query(
                "UPDATE sms_outbox SET status = 'sent', attempts = attempts + 1, sent_at = $1, \
                 body = CASE WHEN sensitive THEN $3 ELSE body END WHERE id = $2",
            )
            .bind(now)
            .bind(r.id)
            .bind(Outbox::Sms.redacted()),
        )
        .await?;
    }
    tx.commit().await?;
    Ok(rows)
}

/// Register the outbox's send job.
pub fn register_jobs(registry: &mut jobs::Registry, config: &std::sync::Arc<Config>) {
    let config = config.clone();
    registry.register_job(move |db, job: Send| send_job(db, config.clone(), job));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segments_count_gsm_and_ucs2() {
        assert_eq!(segments(&"a".repeat(160)), 1);
        assert_eq!(segments(&"a".repeat(161)), 2);
        assert_eq!(
            segments(&"{".repeat(80)),
            1,
            "extension characters count twice"
        );
        assert_eq!(segments(&"{".repeat(81)), 2);
        assert_eq!(segments(&"ب".repeat(70)), 1);
        assert_eq!(segments(&"ب".repeat(71)), 2);
        assert_eq!(segments(&"ب".repeat(134)), 2);
        assert_eq!(segments(&"ب".repeat(135)), 3);
        assert_eq!(segments("😀"), 1);
    }

    #[test]
    fn fitting_shortens_the_tail_at_a_word_to_the_segments_allowed() {
        let head = "شکایت 12: کام جاری۔";
        let tail = "ٹیم موقع پر روانہ ہو گئی ہے ".repeat(8);
        for max in [1, 2] {
            let s = fit(head, &tail, max);
            assert_eq!(segments(&s), max, "{s}");
            assert!(s.starts_with(head) && s.ends_with('…'), "{s}");
            // Cut after a whole word of the note.
            let kept = s[head.len()..].trim_start().trim_end_matches('…');
            assert!(
                tail.starts_with(kept) && tail[kept.len()..].starts_with(' '),
                "{s}"
            );
        }
        assert!(fit(head, &tail, 2).len() > fit(head, &tail, 1).len());
        assert_eq!(
            fit("Report 12: Fixed.", "Done", 1),
            "Report 12: Fixed. Done"
        );
        // One word longer than a message: cut inside it, the head kept.
        let s = fit("Report 12: Fixed.", &"x".repeat(400), 1);
        assert!(
            s.starts_with("Report 12: Fixed. x") && segments(&s) == 1,
            "{s}"
        );
    }
}
