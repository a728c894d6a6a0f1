//! What follows a report: the reporter's own updates and photos, people who follow it by SMS
//! or e-mail, everyone told of each change, and "is it fixed?" asked a set time after a fix.
//!
//! Every channel calls these: the tracking page (the reporter holds its link), SMS (`1`/`2`
//! replies, `FOLLOW 123`, `STOP 123`), and the staff's status change (`reports::post_update`).

use chrono::{Duration, Utc};
use serde::{Deserialize, Serialize};

use super::model::RichStatus;
use super::store::{self, ReportRow};
use crate::platform::config::Config;
use crate::platform::db::{Db, Tx};
use crate::platform::error::{Error, Result};
use crate::platform::i18n::Lang;
use crate::platform::personal::{valid_email, Phone};
use crate::platform::state::AppState;
use crate::platform::{audit, calls, files, jobs, mail, push, sms, whatsapp};
use crate::t;

/// The author of a reporter's own update (their status unchanged).
pub const REPORTER: &str = "reporter";
/// The author of the change a reporter's answer made (reopened, or closed as fixed).
pub const REPORTER_ANSWER: &str = "reporter-answer";

/// The longest update a reporter may write.
pub const MAX_UPDATE: usize = 2000;

/// The tracking page of a report, as a full address.
fn tracking_link(base: &str, token: &str) -> String {
    format!("{}/track/{token}", base.trim_end_matches('/'))
}

/// What a reporter is told, as each channel says it.
struct Tell {
    /// The whole message (WhatsApp).
    text: String,
    /// The message fitted to an SMS.
    sms: String,
    /// The message as a call says it (the reference digit by digit); `None`: not worth a call.
    spoken: Option<String>,
    /// The approved WhatsApp template's parameters, for after the 24-hour window.
    template: Option<Vec<String>>,
}

/// A message to a phone about report `id`, on `via`, the channel the report (or the follower)
/// came by. On WhatsApp: freely within 24 hours of the citizen's last message; after that only
/// as the approved template, when one is configured and the message has its parameters;
/// otherwise by SMS. By a call: called back (where calls can be placed) and sent the SMS too,
/// which keeps the reference in writing. Anything else hears by SMS.
async fn tell_phone(
    tx: &mut Tx,
    config: &Config,
    (via, id): (&str, i64),
    phone: &Phone,
    tell: Tell,
    lang: Lang,
) -> Result<()> {
    if via == "whatsapp" && whatsapp::enabled(config) {
        if whatsapp::within_window(tx, phone).await? {
            let payload = whatsapp::text(phone, &tell.text);
            whatsapp::queue(tx, phone, &payload, &tell.text, lang, Some(id)).await?;
            return Ok(());
        }
        if let (Some(name), Some(params)) = (&config.whatsapp_status_template, tell.template) {
            let payload = whatsapp::template(phone, name, lang, &params);
            whatsapp::queue(tx, phone, &payload, &tell.text, lang, Some(id)).await?;
            return Ok(());
        }
    }
    if let (true, true, Some(words)) = (via == "voice", calls::enabled(config), &tell.spoken) {
        calls::queue(tx, phone, words, lang, Some(id)).await?;
    }
    sms::queue(tx, config, phone, &tell.sms, lang, Some(id)).await?;
    Ok(())
}

/// A status change as it is announced.
pub struct Change<'a> {
    pub status: RichStatus,
    pub note: &'a str,
    /// The update that made it.
    pub update_id: i64,
    /// The reporter made it (by answering "is it fixed?"): they are not told of their own.
    pub by_reporter: bool,
}

/// Tell everyone who should hear of a status change, inside the transaction that made it: the
/// reporter (SMS and e-mail, unless the change is their own answer), the followers (SMS,
/// e-mail, Web Push), and, for "fixed", book the question whether it is. `base` starts the
/// links in the messages.
pub async fn notify_change(
    tx: &mut Tx,
    state: &AppState,
    report: &ReportRow,
    change: &Change<'_>,
    base: &str,
) -> Result<()> {
    let Change {
        status,
        note,
        update_id,
        by_reporter,
    } = *change;
    let id = report.id;
    let config = &state.config;
    let link = tracking_link(base, &report.token);
    if !by_reporter {
        let lang = Lang::parse(&report.lang).unwrap_or_default();
        // The reporter who gave a phone number hears of it, in the language they reported in:
        // up to two segments, the note read whole in most cases, cut at a word when long.
        if let Some(phone) = report.contact_phone.as_deref().and_then(Phone::parse) {
            let head = t!(lang, "sms-status", id = id, status = status.label(lang));
            let spoken_head = t!(
                lang,
                "sms-status",
                id = crate::platform::text::spelled(id),
                status = status.label(lang)
            );
            let tell = Tell {
                text: format!("{head} {note}").trim_end().to_owned(),
                sms: sms::fit(&head, note, 2),
                spoken: Some(format!("{spoken_head} {note}").trim_end().to_owned()),
                template: Some(vec![id.to_string(), status.label(lang), note.to_owned()]),
            };
            tell_phone(tx, config, (&report.channel, id), &phone, tell, lang).await?;
        }
        if let Some(email) = report.contact_email.as_deref().filter(|e| valid_email(e)) {
            let subject = t!(
                lang,
                "mail-status-subject",
                id = id,
                status = status.label(lang)
            );
            let body = t!(
                lang,
                "mail-status-body",
                note = note.to_owned(),
                link = link.clone()
            );
            mail::queue(tx, config, email, &subject, &body).await?;
        }
    }
    for f in store::followers_of(tx, id).await? {
        let lang = Lang::parse(&f.lang).unwrap_or_default();
        match f.channel.as_str() {
            "sms" | "whatsapp" => {
                if let Some(phone) = Phone::parse(&f.address) {
                    let head = t!(
                        lang,
                        "sms-follower-status",
                        id = id,
                        status = status.label(lang)
                    );
                    let tell = Tell {
                        text: format!("{head} {note}").trim_end().to_owned(),
                        sms: sms::fit(&head, note, 2),
                        spoken: None,
                        template: Some(vec![id.to_string(), status.label(lang), note.to_owned()]),
                    };
                    tell_phone(tx, config, (&f.channel, id), &phone, tell, lang).await?;
                }
            }
            _ => {
                let subject = t!(
                    lang,
                    "mail-status-subject",
                    id = id,
                    status = status.label(lang)
                );
                let stop = format!("{}/unfollow/{}", base.trim_end_matches('/'), f.token);
                let body = format!(
                    "{}\n\n{}",
                    t!(
                        lang,
                        "mail-status-body",
                        note = note.to_owned(),
                        link = link.clone()
                    ),
                    t!(lang, "mail-unfollow", link = stop)
                );
                mail::queue(tx, config, &f.address, &subject, &body).await?;
            }
        }
    }
    // Browsers that follow the report (from its tracking page) are told by Web Push.
    let tracking = format!("/track/{}", report.token);
    push::notify(tx, "report", id, |lang| push::Message {
        title: t!(lang, "push-status-title", id = id),
        body: match note.trim() {
            "" => status.label(lang),
            n => format!("{}: {n}", status.label(lang)),
        },
        url: tracking.clone(),
    })
    .await?;
    if status == RichStatus::Fixed {
        let hours = state
            .service(&report.service_code)
            .await?
            .map_or(24 * 28, |s| s.ask_fixed_after_hours);
        jobs::enqueue_at(
            tx,
            AskFixed::KIND_NAME,
            &serde_json::to_value(AskFixed {
                report: id,
                fix: update_id,
                base: base.to_owned(),
            })
            .expect("a job serialises"),
            Utc::now() + Duration::hours(hours),
        )
        .await?;
    }
    Ok(())
}

/// The job that asks a reporter whether a fix worked.
#[derive(Debug, Serialize, Deserialize)]
pub struct AskFixed {
    pub report: i64,
    /// The update that marked it fixed: a later reopening and fixing asks again, about that fix.
    pub fix: i64,
    /// Where the tracking page is (the address staff used when they marked it fixed).
    pub base: String,
}

impl AskFixed {
    const KIND_NAME: &'static str = "reports.ask_fixed";
}

impl jobs::Job for AskFixed {
    const KIND: &'static str = AskFixed::KIND_NAME;
}

/// Ask, on the channel the reporter used: SMS ("reply 1 or 2") to a number, else e-mail (a link
/// to the tracking page, where the question is), else Web Push to the browsers that follow it.
/// A report no longer fixed (reopened, closed, fixed again later) is not asked about this fix.
async fn ask_fixed(db: Db, config: std::sync::Arc<Config>, job: AskFixed) -> anyhow::Result<()> {
    let Some(report) = store::get(&db, job.report).await? else {
        return Ok(());
    };
    let mut tx = db.begin().await?;
    if report.rich_status() != RichStatus::Fixed
        || store::last_fix(&mut tx, report.id).await? != Some(job.fix)
    {
        return Ok(());
    }
    let lang = Lang::parse(&report.lang).unwrap_or_default();
    let phone = report.contact_phone.as_deref().and_then(Phone::parse);
    let email = report.contact_email.as_deref().filter(|e| valid_email(e));
    let link = tracking_link(&job.base, &report.token);
    let asked_on = match (&phone, email) {
        (Some(_), _) => "sms",
        (None, Some(_)) => "email",
        (None, None) => "web",
    };
    let Some(_) = store::insert_outcome(
        &mut tx,
        report.id,
        job.fix,
        asked_on,
        phone.as_ref().map(Phone::e164),
    )
    .await?
    else {
        return Ok(()); // asked already (the job ran twice)
    };
    if let Some(p) = &phone {
        let text = t!(lang, "sms-ask-fixed", id = report.id);
        // Answered by SMS (1 or 2): a call does not ask it.
        let tell = Tell {
            text: text.clone(),
            sms: text,
            spoken: None,
            template: None,
        };
        tell_phone(
            &mut tx,
            &config,
            (&report.channel, report.id),
            p,
            tell,
            lang,
        )
        .await?;
    } else if let Some(e) = email {
        let subject = t!(lang, "mail-ask-fixed-subject", id = report.id);
        let body = t!(lang, "mail-ask-fixed-body", link = format!("{link}#fixed"));
        mail::queue(&mut tx, &config, e, &subject, &body).await?;
    }
    push::notify(&mut tx, "report", report.id, |lang| push::Message {
        title: t!(lang, "push-status-title", id = report.id),
        body: lang.t("push-ask-fixed"),
        url: format!("/track/{}#fixed", report.token),
    })
    .await?;
    tx.commit().await?;
    metrics::counter!("khidmat_reports_asked_fixed_total", "channel" => asked_on).increment(1);
    Ok(())
}

/// Register the question's job.
pub fn register_jobs(registry: &mut jobs::Registry, config: &std::sync::Arc<Config>) {
    let config = config.clone();
    registry.register_job(move |db, job: AskFixed| ask_fixed(db, config.clone(), job));
}

// ---------------------------------------------------------------------------------------------
// The reporter's answer

/// A reporter's answer: fixed or not, their words, and (perhaps already) a 1–5 rating.
#[derive(Debug, Clone)]
pub struct Answer {
    pub fixed: bool,
    pub words: Option<String>,
    pub rating: Option<i64>,
    /// `web`, `sms`, …
    pub channel: &'static str,
}

/// Take the reporter's answer about the report's latest fix: "not fixed" reopens it for the
/// department with the citizen's words; "fixed" closes it. The report must be marked fixed.
/// Returns the outcome's id.
pub async fn answer(
    state: &AppState,
    report_id: i64,
    a: &Answer,
    base: &str,
    lang: Lang,
) -> Result<i64> {
    let words = a.words.as_deref().map(str::trim).filter(|w| !w.is_empty());
    if words.is_some_and(|w| w.chars().count() > MAX_UPDATE) {
        return Err(Error::BadRequest(t!(
            lang,
            "err-description-too-long",
            max = MAX_UPDATE
        )));
    }
    if a.rating.is_some_and(|r| !(1..=5).contains(&r)) {
        return Err(Error::BadRequest(lang.t("err-rating")));
    }
    let report = store::get(&state.db, report_id)
        .await?
        .ok_or_else(|| Error::NotFound(lang.t("page-not-found")))?;
    if report.rich_status() != RichStatus::Fixed {
        return Err(Error::Conflict(lang.t("err-not-fixed-now")));
    }
    let mut tx = state.db.begin().await?;
    let fix = store::last_fix(&mut tx, report_id)
        .await?
        .ok_or_else(|| Error::Conflict(lang.t("err-not-fixed-now")))?;
    let outcome = match store::outcome_of_fix(&mut tx, fix).await? {
        Some(o) if o.fixed.is_some() => return Err(Error::Conflict(lang.t("err-answered"))),
        Some(o) => o.id,
        None => store::insert_outcome(&mut tx, report_id, fix, a.channel, None)
            .await?
            .ok_or_else(|| Error::Conflict(lang.t("err-answered")))?,
    };
    store::answer_fixed(&mut tx, outcome, a.fixed, words, a.channel, a.rating).await?;
    settle(&mut tx, state, &report, a.fixed, words, base).await?;
    tx.commit().await?;
    state.job_wake.notify_one();
    Ok(outcome)
}

/// The report follows the answer: reopened with the citizen's words, or closed.
async fn settle(
    tx: &mut Tx,
    state: &AppState,
    report: &ReportRow,
    fixed: bool,
    words: Option<&str>,
    base: &str,
) -> Result<()> {
    let lang = Lang::parse(&report.lang).unwrap_or_default();
    let (status, default_note, action) = if fixed {
        (
            RichStatus::Closed,
            "outcome-note-fixed",
            "report.confirmed_fixed",
        )
    } else {
        (
            RichStatus::Open,
            "outcome-note-not-fixed",
            "report.reopened",
        )
    };
    let note = match words {
        Some(w) => format!(
            "{} {}",
            lang.t(default_note),
            crate::platform::personal::redact_text(w)
        ),
        None => lang.t(default_note),
    };
    let update =
        store::add_update(tx, report.id, status, &note, REPORTER_ANSWER, None, true).await?;
    audit::record(
        tx,
        "citizen",
        action,
        "report",
        &report.id.to_string(),
        serde_json::json!({ "update_id": update }),
    )
    .await?;
    let change = Change {
        status,
        note: &note,
        update_id: update,
        by_reporter: true,
    };
    notify_change(tx, state, report, &change, base).await?;
    metrics::counter!("khidmat_reports_outcomes_total", "fixed" => if fixed { "yes" } else { "no" })
        .increment(1);
    Ok(())
}

/// A reply by SMS to "is it fixed?" or to "how was it handled?": the digit and any words after
/// it. `None` when the number was asked nothing (the message is then read as anything else).
pub async fn answer_by_sms(
    state: &AppState,
    phone: &Phone,
    digit: u8,
    words: &str,
    base: &str,
) -> Result<Option<(String, Lang, i64)>> {
    let Some(o) = store::awaiting_reply(&state.db, phone.e164()).await? else {
        return Ok(None);
    };
    let report = match store::get(&state.db, o.report_id).await? {
        Some(r) => r,
        None => return Ok(None),
    };
    let lang = Lang::parse(&report.lang).unwrap_or_default();
    let id = report.id;
    match o.awaiting.as_str() {
        "fixed" if digit == 1 || digit == 2 => {
            if report.rich_status() != RichStatus::Fixed {
                // Staff moved it on meanwhile: nothing to settle, the question is void.
                store::stop_awaiting(&state.db, o.id).await?;
                return Ok(Some((t!(lang, "sms-outcome-late", id = id), lang, id)));
            }
            let fixed = digit == 1;
            let words = Some(words.trim()).filter(|w| !w.is_empty());
            let mut tx = state.db.begin().await?;
            store::answer_fixed(&mut tx, o.id, fixed, words, "sms", None).await?;
            settle(&mut tx, state, &report, fixed, words, base).await?;
            tx.commit().await?;
            let head = if fixed {
                t!(lang, "sms-outcome-closed", id = id)
            } else {
                t!(lang, "sms-outcome-reopened", id = id)
            };
            Ok(Some((
                format!("{head} {}", lang.t("sms-ask-rating")),
                lang,
                id,
            )))
        }
        "rating" if (1..=5).contains(&digit) => {
            let mut tx = state.db.begin().await?;
            store::answer_rating(&mut tx, o.id, i64::from(digit)).await?;
            tx.commit().await?;
            Ok(Some((lang.t("sms-thanks-rating"), lang, id)))
        }
        "fixed" => Ok(Some((t!(lang, "sms-ask-fixed", id = id), lang, id))),
        _ => Ok(Some((lang.t("sms-ask-rating"), lang, id))),
    }
}

// ---------------------------------------------------------------------------------------------
// The reporter's update

/// The reporter adds to their report: words, and perhaps a photo (up to the service's number
/// of photos). Public at once, numbers redacted, as every public text; staff can hide it.
pub async fn add_update(
    state: &AppState,
    report_id: i64,
    note: &str,
    photo: Option<Vec<u8>>,
    lang: Lang,
) -> Result<i64> {
    let note = note.trim();
    let photo = photo.filter(|p| !p.is_empty());
    if note.is_empty() && photo.is_none() {
        return Err(Error::BadRequest(lang.t("err-update-empty")));
    }
    if note.chars().count() > MAX_UPDATE {
        return Err(Error::BadRequest(t!(
            lang,
            "err-description-too-long",
            max = MAX_UPDATE
        )));
    }
    let report = store::get(&state.db, report_id)
        .await?
        .ok_or_else(|| Error::NotFound(lang.t("page-not-found")))?;
    let max_photos = state
        .service(&report.service_code)
        .await?
        .map_or(1, |s| s.max_photos);
    let encoded = match photo {
        Some(bytes) => {
            let e = files::encode(bytes, state.config.photo_max_side)
                .await
                .map_err(|e| e.into_error(lang, state.config.max_photo_bytes))?;
            state
                .files
                .put(files::Area::Photos, &e)
                .await
                .map_err(|e| e.into_error(lang, state.config.max_photo_bytes))?;
            Some(e)
        }
        None => None,
    };
    let mut tx = state.db.begin().await?;
    if encoded.is_some() && store::photo_count(&mut tx, report_id).await? >= max_photos {
        return Err(Error::BadRequest(t!(
            lang,
            "err-photos-full",
            max = max_photos
        )));
    }
    let update = store::add_citizen_update(&mut tx, report_id, note).await?;
    if let Some(e) = &encoded {
        let photo = files::record(&mut tx, e).await?;
        store::add_photo(&mut tx, report_id, photo.id, Some(update)).await?;
    }
    audit::record(
        &mut tx,
        "citizen",
        "report.citizen_update",
        "report",
        &report_id.to_string(),
        serde_json::json!({ "update_id": update, "photo": encoded.is_some() }),
    )
    .await?;
    tx.commit().await?;
    metrics::counter!("khidmat_reports_citizen_updates_total").increment(1);
    Ok(update)
}

// ---------------------------------------------------------------------------------------------
// Followers

/// Follow a report by e-mail: a confirmation link is mailed; nothing else is sent until it is
/// opened (so nobody can sign up someone else's address).
pub async fn follow_by_email(
    state: &AppState,
    report_id: i64,
    email: &str,
    base: &str,
    lang: Lang,
) -> Result<()> {
    let email = email.trim().to_lowercase();
    if !valid_email(&email) {
        return Err(Error::BadRequest(lang.t("err-email")));
    }
    let mut tx = state.db.begin().await?;
    let token = crate::platform::identity::random_token();
    let f = store::add_follower(
        &mut tx,
        report_id,
        "email",
        &email,
        lang.code(),
        &token,
        false,
    )
    .await?;
    // Mailed once, when the address is first given: asking again does not mail again, so the
    // form cannot be used to fill a stranger's mailbox.
    if f.confirmed_at.is_none() && f.token == token {
        let link = format!("{}/follow/{}", base.trim_end_matches('/'), f.token);
        let subject = t!(lang, "mail-follow-subject", id = report_id);
        let body = t!(lang, "mail-follow-body", id = report_id, link = link);
        mail::queue_secret(&mut tx, &state.config, &email, &subject, &body).await?;
    }
    tx.commit().await?;
    state.job_wake.notify_one();
    Ok(())
}

/// `FOLLOW 123` from a phone, on `channel` (`sms`, `whatsapp`): the number proved itself by
/// sending it, and hears of the changes on the same channel.
pub async fn follow_by_phone(
    state: &AppState,
    report_id: i64,
    (channel, phone): (&str, &Phone),
    lang: Lang,
) -> Result<()> {
    let mut tx = state.db.begin().await?;
    let token = crate::platform::identity::random_token();
    store::add_follower(
        &mut tx,
        report_id,
        channel,
        phone.e164(),
        lang.code(),
        &token,
        true,
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// A follower's confirmation link was opened: the report's id.
pub async fn confirm(db: &Db, token: &str) -> Result<Option<i64>> {
    let Some(f) = store::follower_by_token(db, token).await? else {
        return Ok(None);
    };
    store::confirm_follower(db, f.id).await?;
    Ok(Some(f.report_id))
}

/// The one-click way out of a follower's message: the report's id.
pub async fn unfollow(db: &Db, token: &str) -> Result<Option<i64>> {
    let Some(f) = store::follower_by_token(db, token).await? else {
        return Ok(None);
    };
    store::remove_follower(db, &f.channel, &f.address, Some(f.report_id)).await?;
    Ok(Some(f.report_id))
}

/// `STOP 123` (or `STOP` alone, for every report) from a phone, on the channel it followed on.
pub async fn unfollow_by_phone(
    db: &Db,
    (channel, phone): (&str, &Phone),
    report_id: Option<i64>,
) -> Result<u64> {
    Ok(store::remove_follower(db, channel, phone.e164(), report_id).await?)
}
