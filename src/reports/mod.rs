//! Reports: citizens report problems to the department that owns the service; staff work them.
//!
//! - `model.rs`: service definitions, statuses, attribute checking
//! - `store.rs`: the SQL
//! - `open311.rs`: Open311 GeoReport v2 (JSON and XML) and FixMyStreet's updates extension
//! - `api.rs`: the staff JSON API
//!
//! The operations here (`submit`, `post_update`, `assign`) are what every channel calls: Open311
//! today, web pages and SMS tomorrow.

pub mod alerts;
pub mod api;
pub mod followup;
pub mod model;
pub mod open311;
pub mod store;

// What other services, the pack loader and the channels use of this one: its service
// definitions, one report by id, and the answers to "is it fixed?" for the impact figures. They
// do not reach into `store`.
pub use store::{
    all_services, get as report, outcome_cells, outcome_totals, outcomes_in,
    services as active_services, upsert_service, OutcomeKey, ReportRow, ServiceSpec,
};

use std::collections::BTreeMap;

use axum::Router;
use chrono::{Duration, Utc};
use serde::{Deserialize, Serialize};

use crate::platform::config::Config;
use crate::platform::db::Db;
use crate::platform::error::{Error, Result};
use crate::platform::i18n::Lang;
use crate::platform::identity::Staff;
use crate::platform::personal::{valid_email, Phone};
use crate::platform::questions::{check_answers, MAX_DESCRIPTION};
use crate::platform::state::AppState;
use crate::platform::{audit, files, geo, idempotency, impact, org};
use crate::t;
use model::RichStatus;

pub fn router(config: &Config) -> Router<AppState> {
    open311::router(config).merge(api::router())
}

/// This service's part of the OpenAPI document (Open311 and its staff API), declared beside
/// its handlers.
pub fn openapi() -> utoipa::openapi::OpenApi {
    use utoipa::OpenApi;
    ApiDoc::openapi()
}

/// A report as a channel received it, before any checking.
#[derive(Debug, Default, Clone)]
pub struct Submission {
    pub service_code: Option<String>,
    pub lat: Option<String>,
    pub long: Option<String>,
    pub address: Option<String>,
    pub district: Option<String>,
    pub attributes: BTreeMap<String, Vec<String>>,
    pub description: Option<String>,
    pub media_url: Option<String>,
    /// Photos sent with the report, at most the service's `max_photos`.
    pub photos: Vec<Vec<u8>>,
    /// The problem described aloud (a WhatsApp voice note): kept for staff to listen to.
    pub voice: Option<Vec<u8>>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub device_id: Option<String>,
    pub account_id: Option<String>,
    /// The channel cannot ask every question (SMS, USSD): required answers may be missing.
    pub partial: bool,
    /// The reporter asked that the report not be shown publicly (`private=1`).
    pub private: bool,
}

/// Who sent a submission, and how.
#[derive(Debug, Clone)]
pub struct Origin {
    /// `open311`, `web`, `sms`, `ussd`.
    pub channel: &'static str,
    pub api_key_id: Option<i64>,
    /// `(scope, key, request digest)` when the client sent an `Idempotency-Key`.
    pub idempotency: Option<(String, String, String)>,
}

/// What the citizen gets back: the tracking reference and what to expect.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Receipt {
    pub service_request_id: String,
    pub token: String,
    pub service_notice: String,
    pub account_id: Option<String>,
}

fn nonempty(s: &Option<String>) -> Option<&str> {
    s.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

fn short_field<'a>(
    lang: Lang,
    name: &str,
    v: Option<&'a str>,
    max: usize,
) -> Result<Option<&'a str>> {
    match v {
        Some(s) if s.chars().count() > max => Err(Error::BadRequest(t!(
            lang,
            "err-field-too-long",
            name = name,
            max = max
        ))),
        other => Ok(other),
    }
}

fn parse_coordinate(lang: Lang, name: &str, raw: &str, valid: fn(f64) -> bool) -> Result<f64> {
    match raw.trim().parse::<f64>() {
        Ok(v) if valid(v) => Ok(v),
        _ => Err(Error::BadRequest(t!(
            lang,
            if name == "lat" {
                "err-lat-range"
            } else {
                "err-long-range"
            }
        ))),
    }
}

/// Check a submission and store it as a report of the owning department. Nothing is written
/// unless everything is valid; a repeated `Idempotency-Key` returns the first receipt.
pub async fn submit(
    state: &AppState,
    sub: Submission,
    origin: Origin,
    lang: Lang,
) -> Result<Receipt> {
    let bad = |msg: String| Error::BadRequest(msg);
    let code = nonempty(&sub.service_code)
        .ok_or_else(|| bad(t!(lang, "err-missing-param", name = "service_code")))?;
    let service = state
        .service(code)
        .await?
        .ok_or_else(|| Error::NotFound(t!(lang, "err-unknown-service", code = code)))?;

    // Location: a point, or words (an address or landmark), or a district.
    let lat = nonempty(&sub.lat);
    let long = nonempty(&sub.long);
    let point = match (lat, long) {
        (Some(la), Some(lo)) => Some((
            parse_coordinate(lang, "lat", la, geo::valid_lat)?,
            parse_coordinate(lang, "long", lo, geo::valid_long)?,
        )),
        (None, None) => None,
        _ => return Err(bad(t!(lang, "err-lat-long-pair"))),
    };
    let address = short_field(lang, "address_string", nonempty(&sub.address), 500)?;
    let districts = state.districts().await?;
    let district = match (nonempty(&sub.district), point) {
        (Some(slug), _) => Some(
            districts
                .iter()
                .find(|d| d.slug == slug)
                .ok_or_else(|| bad(t!(lang, "err-unknown-district", district = slug)))?
                .slug
                .clone(),
        ),
        (None, Some((la, lo))) => {
            org::nearest_district(&districts, la, lo, 80_000.0).map(|d| d.slug.clone())
        }
        (None, None) => None,
    };
    if point.is_none() && address.is_none() && district.is_none() {
        return Err(bad(t!(lang, "err-location-required")));
    }

    let answers = check_answers(
        &service.attributes,
        service.code.as_str(),
        &sub.attributes,
        lang,
        !sub.partial,
    )?;
    let description = nonempty(&sub.description);
    if let Some(d) = description {
        if d.chars().count() > MAX_DESCRIPTION {
            return Err(bad(t!(
                lang,
                "err-description-too-long",
                max = MAX_DESCRIPTION
            )));
        }
    }
    let media_url = short_field(lang, "media_url", nonempty(&sub.media_url), 2000)?;
    if let Some(u) = media_url {
        if !(u.starts_with("https://") || u.starts_with("http://"))
            || u.contains(char::is_whitespace)
        {
            return Err(bad(t!(lang, "err-media-url")));
        }
    }
    let first = short_field(lang, "first_name", nonempty(&sub.first_name), 100)?;
    let last = short_field(lang, "last_name", nonempty(&sub.last_name), 100)?;
    let name = match (first, last) {
        (Some(f), Some(l)) => Some(format!("{f} {l}")),
        (Some(n), None) | (None, Some(n)) => Some(n.to_owned()),
        (None, None) => None,
    };
    let email = nonempty(&sub.email).map(|e| e.to_lowercase());
    if let Some(e) = &email {
        if !valid_email(e) {
            return Err(bad(t!(lang, "err-email")));
        }
    }
    let phone = match nonempty(&sub.phone) {
        Some(p) => Some(Phone::parse(p).ok_or_else(|| bad(t!(lang, "err-phone")))?),
        None => None,
    };
    let device_id = short_field(lang, "device_id", nonempty(&sub.device_id), 200)?;
    let account_id = short_field(lang, "account_id", nonempty(&sub.account_id), 200)?;

    let sent: Vec<Vec<u8>> = sub.photos.into_iter().filter(|p| !p.is_empty()).collect();
    if sent.len() as i64 > service.max_photos {
        return Err(bad(t!(
            lang,
            "err-photos-too-many",
            max = service.max_photos
        )));
    }
    let mut photos = Vec::with_capacity(sent.len());
    for bytes in sent {
        let encoded = files::encode(bytes, state.config.photo_max_side)
            .await
            .map_err(|e| e.into_error(lang, state.config.max_photo_bytes))?;
        state
            .files
            .put(crate::platform::files::Area::Photos, &encoded)
            .await
            .map_err(|e| e.into_error(lang, state.config.max_photo_bytes))?;
        photos.push(encoded);
    }
    let voice = match sub.voice {
        Some(bytes) => Some(store_voice(&state.files, bytes, lang).await?),
        None => None,
    };

    let now = Utc::now();
    let mut tx = state.db.begin().await?;
    if let Some((scope, key, hash)) = &origin.idempotency {
        match idempotency::claim(&mut tx, scope, key, hash).await? {
            idempotency::Claim::Fresh => {}
            idempotency::Claim::Replay { body, .. } => {
                return serde_json::from_str(&body).map_err(|e| Error::Internal(e.into()));
            }
            idempotency::Claim::Mismatch => {
                return Err(Error::Unprocessable(t!(lang, "err-idempotency-mismatch")))
            }
        }
    }
    // A nearby open report of the same service is linked as a possible duplicate, for staff to
    // confirm. Read in the transaction that files this one: on SQLite the writer's own pages are
    // warm (a reader's cache is dropped whenever another connection has written, so a reader
    // fetched every page again from the file, and the request waited for a reader's turn as
    // well as the writer's); on PostgreSQL it is one connection taken from the pool, not two.
    let possible_duplicate = match point {
        Some(p) => {
            store::nearest_open_report(
                &mut tx,
                &service.code,
                p,
                now,
                state.config.duplicate_radius_m,
                state.config.duplicate_window_hours,
            )
            .await?
        }
        None => None,
    };
    let mut photo_ids = Vec::with_capacity(photos.len());
    for p in &photos {
        photo_ids.push(files::record(&mut tx, p).await?.id);
    }
    let photo_id = photo_ids.first().copied();
    let token = uuid::Uuid::new_v4().simple().to_string();
    let notice = t!(lang, "notice-received", hours = service.response_hours);
    let id = store::insert(
        &mut tx,
        &store::NewReport {
            token: &token,
            service: &service,
            district: district.as_deref(),
            description,
            lat: point.map(|p| p.0),
            long: point.map(|p| p.1),
            address,
            answers: &answers,
            media_url,
            photo_id,
            contact_name: name.as_deref(),
            contact_email: email.as_deref(),
            contact_phone: phone.as_ref().map(Phone::e164),
            device_id,
            account_id,
            channel: origin.channel,
            api_key_id: origin.api_key_id,
            requested_at: now,
            expected_at: now + Duration::hours(service.response_hours),
            status_notes: service.status_notes.get("open").map(|n| n.get(lang)),
            possible_duplicate,
            lang: lang.code(),
            private: sub.private,
        },
    )
    .await?;
    for p in photo_ids {
        store::add_photo(&mut tx, id, p, None).await?;
    }
    if let Some(v) = &voice {
        let file = files::record(&mut tx, v).await?;
        store::set_voice(&mut tx, id, file.id).await?;
    }
    // Alerts for the area hear of it (the job tells only those a public report may be told to).
    if service.public && !sub.private && (district.is_some() || point.is_some()) {
        let news = alerts::News {
            report: id,
            place: Some(alerts::Place {
                service: service.code.clone(),
                district: district.clone(),
                point,
                at: now,
            }),
        };
        crate::platform::jobs::enqueue_job(&mut tx, &news).await?;
    }
    impact::record(
        &mut tx,
        &impact::Event {
            service: "reports",
            kind: "report_submitted",
            code: Some(&service.code),
            channel: origin.channel,
            district: district.as_deref(),
            department_id: Some(service.department_id),
            minutes_saved: service.minutes_saved,
            citizen: match (&phone, &email, device_id, account_id) {
                (Some(p), _, _, _) => Some(impact::Citizen::phone(p)),
                (None, Some(e), _, _) => Some(impact::Citizen::email(e)),
                (None, None, Some(d), _) | (None, None, None, Some(d)) => {
                    Some(impact::Citizen::device(d))
                }
                _ => None,
            },
        },
    )
    .await?;
    let receipt = Receipt {
        service_request_id: id.to_string(),
        token,
        service_notice: notice,
        account_id: account_id.map(str::to_owned),
    };
    if let Some((scope, key, _)) = &origin.idempotency {
        let body = serde_json::to_string(&receipt).map_err(|e| Error::Internal(e.into()))?;
        idempotency::complete(&mut tx, scope, key, 200, &body).await?;
    }
    tx.commit().await?;
    state.job_wake.notify_one();
    if possible_duplicate.is_some() {
        metrics::counter!("khidmat_reports_possible_duplicates_total").increment(1);
    }
    metrics::counter!("khidmat_reports_submitted_total", "service" => service.code.clone(), "channel" => origin.channel).increment(1);
    Ok(receipt)
}

/// Keep a recording of a report's description, with the staff-only documents (a voice is
/// personal): checked to be a recording, and no larger than a channel's audio may be.
async fn store_voice(store: &files::Store, bytes: Vec<u8>, lang: Lang) -> Result<files::Encoded> {
    let max = crate::platform::whatsapp::MAX_AUDIO_BYTES;
    if bytes.len() > max {
        return Err(files::PhotoError::TooLarge.into_error(lang, max));
    }
    let encoded = files::audio(bytes).map_err(|e| e.into_error(lang, max))?;
    store
        .put(files::Area::Documents, &encoded)
        .await
        .map_err(|e| e.into_error(lang, max))?;
    Ok(encoded)
}

/// A call's recording of report `id`, fetched after the call: kept as its description aloud.
pub async fn attach_voice(db: &Db, store: &files::Store, id: i64, bytes: Vec<u8>) -> Result<()> {
    let encoded = store_voice(store, bytes, Lang::En).await?;
    let mut tx = db.begin().await?;
    let file = files::record(&mut tx, &encoded).await?;
    store::set_voice(&mut tx, id, file.id).await?;
    tx.commit().await?;
    Ok(())
}

/// The recording a report was described in, if any: its digest and type.
pub async fn voice(db: &Db, id: i64) -> Result<Option<(String, String)>> {
    Ok(store::voice(db, id).await?)
}

/// A report's picture: its uploaded photo if it has one, else the `media_url` it was sent with.
pub fn media_url(base: &str, photo_sha256: Option<&str>, sent: Option<String>) -> Option<String> {
    match photo_sha256 {
        Some(sha) => Some(files::url(base, sha)),
        None => sent,
    }
}

/// A report that `staff` may see, or 404 (never "forbidden": that would confirm it exists).
pub async fn report_for_staff(db: &Db, staff: &Staff, id: i64) -> Result<store::ReportRow> {
    store::get(db, id)
        .await?
        .filter(|r| staff.scope.allows(r.department_id, r.district.as_deref()))
        .ok_or_else(|| Error::NotFound(format!("no report {id} in your department")))
}

/// Add an internal note to a report of the caller's: for colleagues only, never public; audited.
pub async fn add_note(db: &Db, staff: &Staff, id: i64, note: &str) -> Result<i64> {
    let note = note.trim();
    if note.is_empty() || note.chars().count() > 4000 {
        return Err(Error::BadRequest(
            "write a note of up to 4000 characters".into(),
        ));
    }
    report_for_staff(db, staff, id).await?;
    let mut tx = db.begin().await?;
    let note_id = store::add_note(&mut tx, id, &staff.actor(), note).await?;
    audit::record(
        &mut tx,
        &staff.actor(),
        "report.note_added",
        "report",
        &id.to_string(),
        serde_json::json!({ "note_id": note_id }),
    )
    .await?;
    tx.commit().await?;
    Ok(note_id)
}

/// Hide a reporter's update from the public (a reason is required), or show it again
/// (`reason` empty). Audited; scoped like the report.
pub async fn moderate_update(
    db: &Db,
    staff: &Staff,
    id: i64,
    update_id: i64,
    reason: &str,
) -> Result<()> {
    report_for_staff(db, staff, id).await?;
    let reason = reason.trim();
    if reason.chars().count() > 500 {
        return Err(Error::BadRequest(
            "the reason is longer than 500 characters".into(),
        ));
    }
    let hide = !reason.is_empty();
    let mut tx = db.begin().await?;
    let changed = store::set_update_hidden(&mut tx, id, update_id, hide.then_some(reason)).await?;
    if changed == 0 {
        return Err(Error::NotFound(format!(
            "no update {update_id} of the reporter's on report {id}"
        )));
    }
    audit::record(
        &mut tx,
        &staff.actor(),
        if hide {
            "report.update_hidden"
        } else {
            "report.update_shown"
        },
        "report",
        &id.to_string(),
        serde_json::json!({ "update_id": update_id, "reason": reason }),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Post a status update with a note. `duplicate_of` names the original when marking a duplicate.
/// Everyone who follows the report hears of it (`followup::notify_change`); `base` is the
/// address the links in their messages start with.
pub async fn post_update(
    state: &AppState,
    staff: &Staff,
    id: i64,
    status: RichStatus,
    note: &str,
    duplicate_of: Option<i64>,
    base: &str,
) -> Result<i64> {
    let db = &state.db;
    let report = report_for_staff(db, staff, id).await?;
    let note = note.trim();
    if note.is_empty() {
        return Err(Error::BadRequest(
            "note: say what was done or decided; citizens read it".into(),
        ));
    }
    if note.chars().count() > 2000 {
        return Err(Error::BadRequest(
            "note is longer than 2000 characters".into(),
        ));
    }
    match (status, duplicate_of) {
        (RichStatus::Duplicate, Some(of)) => {
            if of == id {
                return Err(Error::BadRequest("a report cannot duplicate itself".into()));
            }
            let original = store::get(db, of)
                .await?
                .ok_or_else(|| Error::BadRequest(format!("duplicate_of: no report {of}")))?;
            if original.service_code != report.service_code {
                return Err(Error::BadRequest(
                    "duplicate_of must be a report of the same service".into(),
                ));
            }
        }
        (_, Some(_)) => {
            return Err(Error::BadRequest(
                "duplicate_of goes only with status \"duplicate\"".into(),
            ))
        }
        _ => {}
    }
    let mut tx = db.begin().await?;
    let update_id = store::add_update(
        &mut tx,
        id,
        status,
        note,
        &staff.actor(),
        duplicate_of,
        false,
    )
    .await?;
    audit::record(
        &mut tx,
        &staff.actor(),
        "report.update",
        "report",
        &id.to_string(),
        serde_json::json!({"from": report.rich_status, "to": status.as_str(), "update_id": update_id, "duplicate_of": duplicate_of}),
    )
    .await?;
    let change = followup::Change {
        status,
        note,
        update_id,
        by_reporter: false,
    };
    followup::notify_change(&mut tx, state, &report, &change, base).await?;
    tx.commit().await?;
    metrics::counter!("khidmat_report_updates_total", "status" => status.as_str()).increment(1);
    Ok(update_id)
}

/// The reporter's full phone number, for staff who will call back. Everywhere else the number
/// is masked; every reveal is in the audit log.
pub async fn reveal_phone(db: &Db, staff: &Staff, id: i64) -> Result<Option<String>> {
    let report = report_for_staff(db, staff, id).await?;
    let Some(phone) = report.contact_phone else {
        return Ok(None);
    };
    let mut tx = db.begin().await?;
    audit::record(
        &mut tx,
        &staff.actor(),
        "report.contact_revealed",
        "report",
        &id.to_string(),
        serde_json::json!({}),
    )
    .await?;
    tx.commit().await?;
    Ok(Some(phone))
}

/// A staff member looked for a reporter's phone number in the inbox: like a reveal, it is in the
/// audit log (who, which number, how many reports it found).
pub async fn record_phone_search(db: &Db, staff: &Staff, e164: &str, found: i64) -> Result<()> {
    let mut tx = db.begin().await?;
    audit::record(
        &mut tx,
        &staff.actor(),
        "reports.searched_by_phone",
        "phone",
        e164,
        serde_json::json!({ "found": found }),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// A stored phone number as every list and page shows it: `+92 3** *** **67`.
pub fn masked_phone(stored: Option<&str>) -> Option<String> {
    stored.map(|p| {
        Phone::parse(p)
            .map(|p| p.masked())
            .unwrap_or_else(|| "***".into())
    })
}

/// Staff looked at the report linked as a possible duplicate and found it a different problem.
pub async fn dismiss_duplicate(db: &Db, staff: &Staff, id: i64) -> Result<()> {
    let report = report_for_staff(db, staff, id).await?;
    let Some(was) = report.possible_duplicate_of else {
        return Ok(());
    };
    let mut tx = db.begin().await?;
    store::dismiss_duplicate(&mut tx, id).await?;
    audit::record(
        &mut tx,
        &staff.actor(),
        "report.duplicate_dismissed",
        "report",
        &id.to_string(),
        serde_json::json!({"possible_duplicate_of": was}),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Assign a report to a staff member of its department (who can see it), or unassign (`None`).
pub async fn assign(db: &Db, staff: &Staff, id: i64, user_id: Option<i64>) -> Result<()> {
    let report = report_for_staff(db, staff, id).await?;
    if let Some(uid) = user_id {
        let placement = crate::platform::identity::user_placement(db, uid).await?;
        let fits = match placement {
            Some((Some(dep), district)) => {
                dep == report.department_id
                    && district
                        .as_deref()
                        .is_none_or(|d| Some(d) == report.district.as_deref())
            }
            _ => false,
        };
        if !fits {
            return Err(Error::BadRequest(format!(
                "user {uid} is not an active member of this report's department (and district)"
            )));
        }
    }
    let mut tx = db.begin().await?;
    store::assign(&mut tx, id, user_id).await?;
    audit::record(
        &mut tx,
        &staff.actor(),
        "report.assign",
        "report",
        &id.to_string(),
        serde_json::json!({"from": report.assigned_to, "to": user_id}),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// This node's cache of the active reporting services, registered in the application's state
/// (staff changing a service forget it at once; other nodes within seconds).
pub struct ServiceCache {
    by_code: crate::platform::cache::TtlCache<String, std::sync::Arc<model::Service>>,
    /// Every active service (Open311's `services.json`, asked by every app at start).
    active: crate::platform::cache::TtlCache<(), std::sync::Arc<Vec<model::Service>>>,
    /// When a service last changed (Open311 discovery's `changeset`; none before the first).
    changed: crate::platform::cache::TtlCache<(), Option<chrono::DateTime<chrono::Utc>>>,
}

impl Default for ServiceCache {
    fn default() -> Self {
        let ttl = std::time::Duration::from_secs(10);
        ServiceCache {
            by_code: crate::platform::cache::TtlCache::new(ttl),
            active: crate::platform::cache::TtlCache::new(ttl),
            changed: crate::platform::cache::TtlCache::new(ttl),
        }
    }
}

/// Forget the cached services (after staff changed one).
pub async fn forget_services(state: &AppState) {
    let cache = state.service_state::<ServiceCache>();
    cache.by_code.clear().await;
    cache.active.clear().await;
    cache.changed.clear().await;
}

impl AppState {
    /// An active report service by code (cached for a few seconds).
    pub async fn service(
        &self,
        code: &str,
    ) -> Result<Option<std::sync::Arc<model::Service>>, sqlx::Error> {
        self.service_state::<ServiceCache>()
            .by_code
            .get_or_load(&code.to_owned(), || async {
                Ok::<_, sqlx::Error>(
                    store::service(&self.db, code)
                        .await?
                        .map(std::sync::Arc::new),
                )
            })
            .await
    }

    /// The active services, by group then code (cached for a few seconds, as [`Self::service`]).
    pub async fn active_services(
        &self,
    ) -> Result<std::sync::Arc<Vec<model::Service>>, sqlx::Error> {
        let list = self
            .service_state::<ServiceCache>()
            .active
            .get_or_load(&(), || async {
                Ok::<_, sqlx::Error>(Some(std::sync::Arc::new(store::services(&self.db).await?)))
            })
            .await?;
        Ok(list.unwrap_or_default())
    }

    /// When a service last changed (cached as [`Self::service`]).
    pub async fn services_changed_at(
        &self,
    ) -> Result<Option<chrono::DateTime<chrono::Utc>>, sqlx::Error> {
        let at = self
            .service_state::<ServiceCache>()
            .changed
            .get_or_load(&(), || async {
                Ok::<_, sqlx::Error>(Some(store::services_changed_at(&self.db).await?))
            })
            .await?;
        Ok(at.flatten())
    }
}

/// This service's part of the OpenAPI document: Open311 and the staff API, beside the handlers.
#[derive(utoipa::OpenApi)]
#[openapi(
    paths(
        open311::discovery,
        open311::services,
        open311::service_definition,
        open311::list_requests,
        open311::post_request,
        open311::get_request,
        open311::get_token,
        open311::service_request_updates,
        api::login,
        api::logout,
        api::list,
        api::show,
        api::post_update,
        api::assign,
        api::reveal_contact,
    ),
    components(schemas(
        open311::ServiceOut,
        open311::ServiceDefinitionOut,
        open311::AttributeOut,
        open311::ValueOut,
        open311::RequestOut,
        Receipt,
        open311::TokenOut,
        open311::UpdateOut,
        open311::Open311Error,
        api::StaffReport,
        api::StaffReportPage,
        api::StaffUpdate,
        api::UpdateIn,
        api::AssignIn,
        api::LoginIn,
        model::RichStatus,
    )),
    tags(
        (name = "open311", description = "Open311 GeoReport v2"),
        (name = "staff", description = "Department staff")
    )
)]
pub struct ApiDoc;
