//! Alerts for an area, as FixMyStreet offers them: anyone is told of each new public report in a
//! district, or within a radius of a point, of one service or of any, by e-mail or by Web Push.
//!
//! An e-mail alert waits until the link mailed to the address is opened and confirmed (a form
//! cannot sign up a stranger's mailbox); a push alert is the phone's own subscription, made
//! from the page, and needs no confirming. Every message carries the one-click way out.
//! A report that is private, or of a service that is not public, is never announced: the job
//! reads the report through the public query, which knows both.

use chrono::Utc;
use serde::{Deserialize, Serialize};

use super::store;
use crate::platform::config::Config;
use crate::platform::db::{query, Db, Tx};
use crate::platform::error::{Error, Result};
use crate::platform::i18n::Lang;
use crate::platform::personal::valid_email;
use crate::platform::state::AppState;
use crate::platform::{geo, jobs, mail, push};
use crate::t;

/// Radii a point's alert may have, in metres (the page offers these).
pub const RADII: [i64; 4] = [500, 1_000, 2_000, 5_000];
/// Alerts one e-mail address may hold (so the form cannot be used to bury a mailbox).
const MAX_PER_ADDRESS: i64 = 10;

/// Where and what: a district or a point with a radius; one service or all.
#[derive(Debug, Clone, PartialEq)]
pub struct Area {
    pub district: Option<String>,
    pub point: Option<(f64, f64, i64)>,
    pub service: Option<String>,
}

impl Area {
    /// Checked against the districts and services there are.
    pub async fn check(&self, state: &AppState, lang: Lang) -> Result<()> {
        let bad = |m: String| Err(Error::BadRequest(m));
        match (&self.district, self.point) {
            (Some(d), None) => {
                if !state.districts().await?.iter().any(|x| &x.slug == d) {
                    return bad(t!(lang, "err-unknown-district", district = d.as_str()));
                }
            }
            (None, Some((lat, long, radius))) => {
                if !geo::valid_lat(lat) || !geo::valid_long(long) || !RADII.contains(&radius) {
                    return bad(lang.t("alerts-err-place"));
                }
            }
            _ => return bad(lang.t("alerts-err-place")),
        }
        if let Some(code) = &self.service {
            let public = state
                .service(code)
                .await?
                .is_some_and(|s| s.public && s.active);
            if !public {
                return bad(lang.t("alerts-err-service"));
            }
        }
        Ok(())
    }
}

async fn insert(
    tx: &mut Tx,
    area: &Area,
    channel: &str,
    address: &str,
    lang: Lang,
    base: &str,
    confirmed: bool,
) -> Result<(i64, String)> {
    let token = crate::platform::identity::random_token();
    let now = Utc::now();
    let id: i64 = tx
        .scalar(
            query(
                "INSERT INTO area_alerts (channel, address, service_code, district, lat, long, radius_m, lang, base, token, confirmed_at, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) RETURNING id",
            )
            .bind(channel)
            .bind(address)
            .bind(area.service.as_deref())
            .bind(area.district.as_deref())
            .bind(area.point.map(|p| p.0))
            .bind(area.point.map(|p| p.1))
            .bind(area.point.map(|p| p.2))
            .bind(lang.code())
            .bind(base)
            .bind(&token)
            .bind(confirmed.then_some(now))
            .bind(now),
        )
        .await?;
    Ok((id, token))
}

/// An alert by e-mail: stored unconfirmed, and the confirmation link mailed.
pub async fn subscribe_email(
    state: &AppState,
    area: &Area,
    email: &str,
    base: &str,
    lang: Lang,
) -> Result<()> {
    area.check(state, lang).await?;
    let email = email.trim().to_lowercase();
    if !valid_email(&email) {
        return Err(Error::BadRequest(lang.t("err-email")));
    }
    let mut tx = state.db.begin().await?;
    let held: i64 = tx
        .scalar(
            query("SELECT COUNT(*) FROM area_alerts WHERE channel = 'email' AND address = $1")
                .bind(&email),
        )
        .await?;
    if held >= MAX_PER_ADDRESS {
        return Err(Error::TooManyRequests(t!(
            lang,
            "alerts-err-too-many",
            max = MAX_PER_ADDRESS
        )));
    }
    let (_, token) = insert(&mut tx, area, "email", &email, lang, base, false).await?;
    let link = format!("{}/alerts/{token}", base.trim_end_matches('/'));
    let subject = lang.t("mail-alert-confirm-subject");
    let body = t!(lang, "mail-alert-confirm-body", link = link);
    mail::queue_secret(&mut tx, &state.config, &email, &subject, &body).await?;
    tx.commit().await?;
    state.job_wake.notify_one();
    Ok(())
}

/// An alert on this phone by Web Push: its token, the way out the page keeps.
pub async fn subscribe_push(
    state: &AppState,
    area: &Area,
    sub: &push::Subscription,
    base: &str,
    lang: Lang,
) -> Result<String> {
    area.check(state, lang).await?;
    sub.check(&state.config)?;
    let mut tx = state.db.begin().await?;
    let (id, token) = insert(&mut tx, area, "push", "", lang, base, true).await?;
    tx.commit().await?;
    if let Err(e) = push::subscribe(&state.db, &state.config, "area", id, sub, lang).await {
        state
            .db
            .execute(query("DELETE FROM area_alerts WHERE id = $1").bind(id))
            .await?;
        return Err(e);
    }
    Ok(token)
}

/// What an alert's token names: `(channel, confirmed)`.
pub async fn by_token(db: &Db, token: &str) -> Result<Option<(String, bool)>> {
    let row: Option<(String, Option<chrono::DateTime<Utc>>)> = db
        .fetch_optional(
            query("SELECT channel, confirmed_at FROM area_alerts WHERE token = $1").bind(token),
        )
        .await?;
    Ok(row.map(|(c, at)| (c, at.is_some())))
}

/// The mailed link was opened and confirmed: whether the token names an alert.
pub async fn confirm(db: &Db, token: &str) -> Result<bool> {
    let n = db
        .execute(
            query("UPDATE area_alerts SET confirmed_at = $1 WHERE token = $2 AND confirmed_at IS NULL")
                .bind(Utc::now())
                .bind(token),
        )
        .await?;
    Ok(n > 0 || by_token(db, token).await?.is_some())
}

/// The way out: the alert and its phone's subscription go. Whether there was one.
pub async fn stop(db: &Db, token: &str) -> Result<bool> {
    let mut tx = db.begin().await?;
    let id: Option<(i64,)> = tx
        .fetch_optional(query("SELECT id FROM area_alerts WHERE token = $1").bind(token))
        .await?;
    let Some((id,)) = id else {
        return Ok(false);
    };
    tx.execute(
        query("DELETE FROM push_subscriptions WHERE subject_type = 'area' AND subject_id = $1")
            .bind(id),
    )
    .await?;
    tx.execute(query("DELETE FROM area_alerts WHERE id = $1").bind(id))
        .await?;
    tx.commit().await?;
    Ok(true)
}

/// The job booked with each new report: tell the alerts it falls in.
///
/// It carries where and what the report is, so that the usual case (no alert covers it) costs
/// one read of the alerts and none of the report. Jobs booked before the place was carried
/// (`place` absent) read it from the report.
#[derive(Debug, Serialize, Deserialize)]
pub struct News {
    pub report: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub place: Option<Place>,
}

/// Where and what a report is, as far as alerts care; `at` is when it was made.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Place {
    pub service: String,
    pub district: Option<String>,
    pub point: Option<(f64, f64)>,
    pub at: chrono::DateTime<Utc>,
}

impl jobs::Job for News {
    const KIND: &'static str = "reports.area-news";
}

#[derive(sqlx::FromRow, khidmat_derive::FromRaw)]
struct Alert {
    id: i64,
    channel: String,
    address: String,
    service_code: Option<String>,
    district: Option<String>,
    lat: Option<f64>,
    long: Option<f64>,
    radius_m: Option<i64>,
    lang: String,
    base: String,
    token: String,
}

impl Alert {
    /// Does a report of `service` in `district` at `point` fall in this alert?
    fn covers(&self, service: &str, district: Option<&str>, point: Option<(f64, f64)>) -> bool {
        if self.service_code.as_deref().is_some_and(|s| s != service) {
            return false;
        }
        match (&self.district, self.lat, self.long, self.radius_m, point) {
            (Some(d), ..) => district == Some(d.as_str()),
            (None, Some(la), Some(lo), Some(r), Some((rla, rlo))) => {
                geo::haversine_m(la, lo, rla, rlo) <= r as f64
            }
            _ => false,
        }
    }
}

/// The confirmed alerts a report at `place` falls in.
async fn covering(db: &Db, place: &Place) -> Result<Vec<Alert>> {
    // Alerts of the report's district, and those whose point may be near it (the widest radius
    // around the report: a box the index narrows; the exact distance is checked after).
    let widest = *RADII.last().expect("radii") as f64;
    let (s, n, w, e) = match place.point {
        Some((la, lo)) => geo::bounding_box(la, lo, widest),
        None => (0.0, 0.0, 0.0, 0.0),
    };
    let alerts: Vec<Alert> = db
        .fetch_all(
            query(
                "SELECT id, channel, address, service_code, district, lat, long, radius_m, lang, base, token \
                 FROM area_alerts WHERE confirmed_at <= $6 AND (district = $1 \
                 OR (lat BETWEEN $2 AND $3 AND long BETWEEN $4 AND $5))",
            )
            .bind(place.district.as_deref())
            .bind(s)
            .bind(n)
            .bind(w)
            .bind(e)
            // Reports made after the alert was confirmed, not those the job reaches late.
            .bind(place.at),
        )
        .await?;
    Ok(alerts
        .into_iter()
        .filter(|a| a.covers(&place.service, place.district.as_deref(), place.point))
        .collect())
}

/// The report as the public sees it, when the public may see it in full (not private, its
/// service public).
async fn shown(db: &Db, report: i64) -> Result<Option<store::PublicRow>> {
    Ok(store::get_public(db, report, Lang::En)
        .await?
        .filter(store::PublicRow::shown))
}

async fn news(db: Db, config: std::sync::Arc<Config>, job: News) -> anyhow::Result<()> {
    // A job booked without the place (by an older server) reads it from the report, once.
    let (place, read) = match job.place {
        Some(place) => (place, None),
        None => match shown(&db, job.report).await? {
            Some(r) => (
                Place {
                    service: r.service_code.clone(),
                    district: r.district.clone(),
                    point: r.lat.zip(r.long),
                    at: r.requested_at,
                },
                Some(r),
            ),
            None => return Ok(()),
        },
    };
    let covered = covering(&db, &place).await?;
    if covered.is_empty() {
        return Ok(());
    }
    // The report itself, not the job's word for it: it may have been made private since.
    let r = match read {
        Some(r) => r,
        None => match shown(&db, job.report).await? {
            Some(r) => r,
            None => return Ok(()),
        },
    };
    // The service's name in each language an alert reads (the public query names it in the
    // language asked for), read once each; the words are the same in every language.
    let mut service_names: [Option<String>; 3] = Default::default();
    for a in &covered {
        let lang = Lang::parse(&a.lang).unwrap_or_default();
        let slot = &mut service_names[lang as usize];
        if slot.is_none() {
            *slot = store::get_public(&db, r.id, lang)
                .await?
                .map(|shown| shown.service_name);
        }
    }
    let body = r
        .description
        .as_deref()
        .map(|d| crate::platform::personal::redact_text(d).into_owned())
        .unwrap_or_default();
    let districts = crate::platform::org::districts(&db).await?;
    let mut tx = db.begin().await?;
    let mut told = 0u64;
    for a in covered {
        let lang = Lang::parse(&a.lang).unwrap_or_default();
        let service = service_names[lang as usize].as_deref().unwrap_or_default();
        let place = r
            .district
            .as_deref()
            .and_then(|d| districts.iter().find(|x| x.slug == d))
            .map(|d| d.name(lang).to_owned())
            .unwrap_or_default();
        let title = t!(lang, "alert-title", id = r.id, service = service);
        match a.channel.as_str() {
            "email" => {
                let base = a.base.trim_end_matches('/');
                let head = t!(
                    lang,
                    "mail-alert-body",
                    service = service,
                    place = place.as_str(),
                    link = format!("{base}/reports/{}", r.id)
                );
                let stop = t!(
                    lang,
                    "mail-unfollow",
                    link = format!("{base}/alerts/{}/stop", a.token)
                );
                let text = [head, body.clone(), stop]
                    .into_iter()
                    .filter(|p| !p.is_empty())
                    .collect::<Vec<_>>()
                    .join("\n\n");
                mail::queue(&mut tx, &config, &a.address, &title, &text).await?;
            }
            _ => {
                let message = push::Message {
                    title: title.clone(),
                    body: if place.is_empty() {
                        body.clone()
                    } else {
                        format!("{place}: {body}")
                    },
                    url: format!("/reports/{}", r.id),
                };
                push::notify(&mut tx, "area", a.id, |_| message.clone()).await?;
            }
        }
        told += 1;
    }
    tx.commit().await?;
    metrics::counter!("khidmat_area_alerts_sent_total").increment(told);
    Ok(())
}

/// Register the job.
pub fn register_jobs(registry: &mut jobs::Registry, config: &std::sync::Arc<Config>) {
    let config = config.clone();
    registry.register_job(move |db, job: News| news(db, config.clone(), job));
}
